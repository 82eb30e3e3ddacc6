/* bench_util: see bench_util.h. */
#define _GNU_SOURCE
#include "bench_util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench_compare_double(const void *a, const void *b) {
  double x = *(const double *)a;
  double y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *values, size_t n) {
  if (n == 0) {
    return 0;
  }
  qsort(values, n, sizeof values[0], bench_compare_double);
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double bench_min(const double *values, size_t n) {
  double m = n ? values[0] : 0;
  for (size_t i = 1; i < n; i++) {
    m = values[i] < m ? values[i] : m;
  }
  return m;
}

double bench_max(const double *values, size_t n) {
  double m = n ? values[0] : 0;
  for (size_t i = 1; i < n; i++) {
    m = values[i] > m ? values[i] : m;
  }
  return m;
}

typedef struct bench_thread {
  pthread_t handle;
  bench_writer_fn writer;
  void *arg;
  unsigned index;
  uint64_t events;
  pthread_barrier_t *start;
  uint64_t begin_ns;
  uint64_t end_ns;
  uint64_t cpu_ns;
} bench_thread;

static void *bench_thread_main(void *p) {
  bench_thread *t = p;
  pthread_barrier_wait(t->start);
  uint64_t cpu = bench_thread_cpu_ns();
  t->begin_ns = bench_now_ns();
  t->writer(t->arg, t->index, t->events);
  t->end_ns = bench_now_ns();
  t->cpu_ns = bench_thread_cpu_ns() - cpu;
  return NULL;
}

uint64_t bench_run_threads(bench_writer_fn writer, void *arg, unsigned threads,
                           uint64_t events_per_thread, uint64_t *cpu_ns) {
  if (threads == 0 || threads > BENCH_MAX_THREADS) {
    return 0;
  }
  if (threads == 1) {
    /* No thread of its own: the caller's thread is already warm. */
    uint64_t cpu = bench_thread_cpu_ns();
    uint64_t begin = bench_now_ns();
    writer(arg, 0, events_per_thread);
    uint64_t wall = bench_now_ns() - begin;
    if (cpu_ns != NULL) {
      *cpu_ns = bench_thread_cpu_ns() - cpu;
    }
    return wall;
  }
  bench_thread t[BENCH_MAX_THREADS];
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, threads);
  unsigned created = 0;
  for (; created < threads; created++) {
    t[created] = (bench_thread){.writer = writer,
                                .arg = arg,
                                .index = created,
                                .events = events_per_thread,
                                .start = &start};
    if (pthread_create(&t[created].handle, NULL, bench_thread_main,
                       &t[created]) != 0) {
      break;
    }
  }
  if (created < threads) {
    /* The barrier can never open: nothing was started yet, report it. */
    fprintf(stderr, "bench: pthread_create failed\n");
    exit(1);
  }
  uint64_t first = UINT64_MAX;
  uint64_t last = 0;
  uint64_t cpu = 0;
  for (unsigned i = 0; i < threads; i++) {
    pthread_join(t[i].handle, NULL);
    cpu += t[i].cpu_ns;
    first = t[i].begin_ns < first ? t[i].begin_ns : first;
    last = t[i].end_ns > last ? t[i].end_ns : last;
  }
  pthread_barrier_destroy(&start);
  if (cpu_ns != NULL) {
    *cpu_ns = cpu;
  }
  return last - first;
}

int bench_measure(bench_contender *contenders, size_t count, unsigned reps,
                  uint64_t events) {
  if (count == 0 || reps == 0 || events == 0) {
    return -1;
  }
  for (size_t c = 0; c < count; c++) {
    contenders[c].one = calloc(reps, sizeof(double));
    contenders[c].two = calloc(reps, sizeof(double));
    contenders[c].cpu = calloc(reps, sizeof(double));
    if (contenders[c].one == NULL || contenders[c].two == NULL ||
        contenders[c].cpu == NULL) {
      return -1;
    }
  }
  for (unsigned r = 0; r < reps; r++) {
    for (size_t k = 0; k < count; k++) {
      bench_contender *c = &contenders[(k + r) % count];
      uint64_t cpu1 = 0;
      uint64_t ns1 = bench_run_threads(c->writer, c->arg, 1, events, &cpu1);
      uint64_t ns2 = bench_run_threads(c->writer, c->arg, 2, events, NULL);
      c->one[r] = (double)ns1 / (double)events;
      c->cpu[r] = (double)cpu1 / (double)events;
      c->two[r] = 2.0 * (double)events / ((double)ns2 * 1e-9);
    }
  }
  for (size_t k = 0; k < count; k++) {
    bench_contender *c = &contenders[k];
    c->ns_per_event_1t_min = bench_min(c->one, reps);
    c->ns_per_event_1t_max = bench_max(c->one, reps);
    c->events_per_s_2t_min = bench_min(c->two, reps);
    c->events_per_s_2t_max = bench_max(c->two, reps);
    c->ns_per_event_1t = bench_median(c->one, reps);
    c->cpu_ns_per_event_1t = bench_median(c->cpu, reps);
    c->events_per_s_1t = 1e9 / c->ns_per_event_1t;
    c->events_per_s_2t = bench_median(c->two, reps);
  }
  return 0;
}

void bench_contenders_free(bench_contender *contenders, size_t count) {
  for (size_t k = 0; k < count; k++) {
    free(contenders[k].one);
    free(contenders[k].two);
    free(contenders[k].cpu);
    contenders[k].one = contenders[k].two = contenders[k].cpu = NULL;
  }
}

uint64_t bench_parse_count(const char *option, const char *text) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v == 0) {
    fprintf(stderr, "bench: %s needs a positive integer, got '%s'\n", option,
            text);
    exit(2);
  }
  return (uint64_t)v;
}

int bench_wait_child(pid_t pid, const char *what, double *cpu_s,
                     double *rss_mib) {
  int status;
  struct rusage u;
  if (wait4(pid, &status, 0, &u) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    fprintf(stderr, "%s failed\n", what);
    return -1;
  }
  if (cpu_s != NULL) {
    *cpu_s = (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 +
             (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec * 1e-6;
  }
  if (rss_mib != NULL) {
    *rss_mib = (double)u.ru_maxrss / 1024.0; /* ru_maxrss is in KiB */
  }
  return 0;
}

int bench_spawn_quiet(char *const *argv, pid_t *pid) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
                                   O_WRONLY, 0);
  int rc = posix_spawn(pid, argv[0], &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    fprintf(stderr, "cannot run %s\n", argv[0]);
    return -1;
  }
  return 0;
}

int bench_work_dir(char *dir, size_t size, const char *given,
                   const char *name) {
  int n = given != NULL ? snprintf(dir, size, "%s", given)
                        : snprintf(dir, size, "/tmp/%s.XXXXXX", name);
  if (n < 0 || (size_t)n >= size) {
    fprintf(stderr, "%s: directory name too long\n", name);
    return -1;
  }
  if (given == NULL && mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return -1;
  }
  return 0;
}
