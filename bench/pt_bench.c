/*
 * pt_bench: peertrace against its peers, in one run.
 *
 * Contenders, all recording the same "packet sent" events (bench_events.h)
 * into an 8 MiB flight recorder of 65536 x 128-byte events:
 *   - peertrace: PT_PACKET_SENT into a pt_log of 65536 events;
 *   - a plain mutex-protected ring (bench_mutex_ring.h), stamped with
 *     clock_gettime, and the same ring stamped with raw rdtsc;
 *   - LTTng-UST (if built with it): a tracepoint recorded into a running
 *     snapshot session (overwrite mode: a flight recorder too) of a session
 *     daemon this program starts and stops itself;
 * and two reference rows: building the event without recording it, and one
 * rdtsc per event (the floor of a recorder that stamps with the TSC).
 * Each repetition runs every contender once with one thread and once with
 * two threads writing concurrently into the same log; the table shows the
 * medians and the ratios of medians.
 *
 * Usage: pt_bench [--events N] [--reps R] [--capacity N] [--no-lttng]
 *   --events N   events per thread per run (default 1048576)
 *   --reps R     repetitions (default 21)
 *   --capacity N ring slots of peertrace and the mutex rings, a power of
 *                two (default 65536; LTTng's buffers stay 8 MiB)
 *   --no-lttng   skip LTTng-UST
 *
 * Process layout: LTTng-UST registers an application with the session
 * daemon when the application starts, so the measuring is done by a child
 * (this program with --measure) started after the daemon and the session
 * are ready.  The parent destroys the session and kills its daemon at the
 * end, also when something fails or it is interrupted.  Without LTTng the
 * measuring is done in-process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "bench_events.h"
#include "bench_mutex_ring.h"
#include "bench_util.h"
#ifndef PT_BENCH_HAVE_LTTNG
#define PT_BENCH_HAVE_LTTNG 0 /* CMake sets 1 where pkg-config finds it */
#endif
#if PT_BENCH_HAVE_LTTNG
#include "bench_lttng.h"
#endif

extern char **environ;

/* ---- The contenders' writers --------------------------------------------- */

static void bench_pt_writer(void *arg, unsigned thread, uint64_t events) {
  pt_log *log = arg;
  pt_trace_id trace_id = bench_trace_id(thread);
  for (uint64_t i = 0; i < events; i++) {
    PT_PACKET_SENT(log, trace_id, BENCH_SIZE(i), BENCH_PN(thread, i));
  }
}

/*
 * Not a target figure: each thread writes into a log of its own.  Next to
 * the one-log row it shows what sharing one ring between threads costs.
 */
static void bench_pt_own_log_writer(void *arg, unsigned thread,
                                    uint64_t events) {
  pt_log **logs = arg;
  bench_pt_writer(logs[thread % 2], thread, events);
}

/*
 * Baseline: builds each event as the others do and records nothing; the
 * empty asm makes the compiler materialise the event.  It shows what part
 * of every figure is building the event, and its 2-thread scaling shows how
 * much of the second core the shared machine left us during the run.
 */
static void bench_baseline_writer(void *arg, unsigned thread, uint64_t events) {
  (void)arg;
  pt_trace_id trace_id = bench_trace_id(thread);
  for (uint64_t i = 0; i < events; i++) {
    pt_event ev;
    bench_make_event(&ev, trace_id, BENCH_SIZE(i), BENCH_PN(thread, i));
    __asm__ volatile("" : : "r"(&ev) : "memory");
  }
}

/*
 * Floor: the timestamp alone.  pt_log stamps every event with rdtsc; what
 * one rdtsc costs during the run bounds what any per-event-stamped recorder
 * can reach (FIELD-NOTES measured ~9.6 ns on a quiet machine).
 */
static void bench_rdtsc_writer(void *arg, unsigned thread, uint64_t events) {
  (void)arg;
  (void)thread;
  uint64_t sum = 0;
  for (uint64_t i = 0; i < events; i++) {
#if defined(__x86_64__) || defined(__i386__)
    sum += __rdtsc();
#else
    sum += bench_now_ns();
#endif
  }
  __asm__ volatile("" : : "r"(sum) : "memory");
}

static void bench_mutex_writer(void *arg, unsigned thread, uint64_t events) {
  bench_mutex_ring *ring = arg;
  pt_trace_id trace_id = bench_trace_id(thread);
  for (uint64_t i = 0; i < events; i++) {
    pt_event ev;
    bench_make_event(&ev, trace_id, BENCH_SIZE(i), BENCH_PN(thread, i));
    bench_mutex_ring_write(ring, &ev);
  }
}

/* ---- Measuring and the table --------------------------------------------- */

typedef struct bench_options {
  uint64_t events;
  uint64_t capacity; /* ring slots, a power of two */
  unsigned reps;
  int lttng;              /* measure LTTng-UST in this process */
  const char *lttng_note; /* why LTTng-UST is not measured */
} bench_options;

static const char *bench_verdict(int met) {
  return met ? "MET" : "NOT MET";
}

static void bench_print_row(const bench_contender *c) {
  printf("%-33s %7.2f (%6.2f..%6.2f) %7.2f %8.1f %7.1f (%5.1f..%5.1f) %5.2fx\n",
         c->name, c->ns_per_event_1t, c->ns_per_event_1t_min,
         c->ns_per_event_1t_max, c->cpu_ns_per_event_1t,
         c->events_per_s_1t / 1e6, c->events_per_s_2t / 1e6,
         c->events_per_s_2t_min / 1e6, c->events_per_s_2t_max / 1e6,
         c->events_per_s_2t / c->events_per_s_1t);
}

static void bench_print_ratio(const bench_contender *pt,
                              const bench_contender *other) {
  printf("peertrace vs %-28s %6.2fx %9.2fx %13.2fx\n", other->name,
         other->ns_per_event_1t / pt->ns_per_event_1t,
         other->cpu_ns_per_event_1t / pt->cpu_ns_per_event_1t,
         pt->events_per_s_2t / other->events_per_s_2t);
}

static void bench_print_targets(const bench_contender *pt,
                                const bench_contender *lttng) {
  printf("targets (issue 2), %s:\n", pt->name);
  printf("  <= 12 ns/event, 1 thread:        %-7s (median %.2f ns wall, "
         "%.2f ns CPU)\n",
         bench_verdict(pt->ns_per_event_1t <= 12.0), pt->ns_per_event_1t,
         pt->cpu_ns_per_event_1t);
  printf("  >= 150 M events/s, 2 threads:    %-7s (%.1f M/s)\n",
         bench_verdict(pt->events_per_s_2t >= 150e6),
         pt->events_per_s_2t / 1e6);
  if (lttng != NULL) {
    double r1 = lttng->ns_per_event_1t / pt->ns_per_event_1t;
    double r2 = pt->events_per_s_2t / lttng->events_per_s_2t;
    double r3 = lttng->cpu_ns_per_event_1t / pt->cpu_ns_per_event_1t;
    printf("  >= 10x faster than LTTng-UST:    %-7s (%.1fx 1 thread wall, "
           "%.1fx CPU, %.1fx 2 threads)\n",
           bench_verdict(r1 >= 10.0 && r2 >= 10.0), r1, r3, r2);
  } else {
    printf("  >= 10x faster than LTTng-UST:    not measured\n");
  }
}

static int bench_measure_main(const bench_options *opt) {
  /* The log as pt_log_create makes it by default (indices on, if built). */
  pt_log *log = bench_log_new(opt->capacity, 0);
  /* Compared with the ring-alone row: what sharing one ring costs. */
  pt_log *own_logs[2] = {bench_log_new(opt->capacity, 1),
                         bench_log_new(opt->capacity, 1)};
  /* Index builds: also the ring alone, the part issue 2 is about. */
  pt_log *ring_log = PT_TRACE_INDEX ? bench_log_new(opt->capacity, 1) : NULL;
  bench_mutex_ring plain, tsc;
  if (bench_mutex_ring_init(&plain, opt->capacity, BENCH_STAMP_REALTIME) != 0 ||
      bench_mutex_ring_init(&tsc, opt->capacity, BENCH_STAMP_TSC) != 0) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  bench_contender c[8];
  size_t count = 0;
  c[count++] = (bench_contender){
      .name = PT_TRACE_INDEX ? "peertrace PT_PACKET_SENT, indices"
                             : "peertrace PT_PACKET_SENT",
      .writer = bench_pt_writer,
      .arg = log};
  const bench_contender *pt_default = &c[0];
  const bench_contender *pt_ring = NULL;
  if (ring_log != NULL) {
    pt_ring = &c[count];
    c[count++] = (bench_contender){.name = "peertrace, no_index (ring alone)",
                                   .writer = bench_pt_writer,
                                   .arg = ring_log};
  }
  c[count++] = (bench_contender){.name = PT_TRACE_INDEX
                                             ? "peertrace, no_index, log/thread"
                                             : "peertrace, a log per thread",
                                 .writer = bench_pt_own_log_writer,
                                 .arg = own_logs};
  c[count++] = (bench_contender){.name = "mutex ring (clock_gettime)",
                                 .writer = bench_mutex_writer,
                                 .arg = &plain};
  c[count++] = (bench_contender){.name = "mutex ring (rdtsc stamp)",
                                 .writer = bench_mutex_writer,
                                 .arg = &tsc};
  c[count++] = (bench_contender){.name = "baseline: build event, no record",
                                 .writer = bench_baseline_writer};
  c[count++] = (bench_contender){.name = "floor: rdtsc alone",
                                 .writer = bench_rdtsc_writer};
  const bench_contender *lttng = NULL;
#if PT_BENCH_HAVE_LTTNG
  if (opt->lttng) {
    lttng = &c[count];
    c[count++] = (bench_contender){.name = "LTTng-UST snapshot session",
                                   .writer = bench_lttng_writer};
  }
#endif
  /* Warm-up: one lap of every ring, so that no run pays page faults. */
  for (size_t k = 0; k < count; k++) {
    c[k].writer(c[k].arg, 0, 2 * opt->capacity);
  }
  if (bench_measure(c, count, opt->reps, opt->events) != 0) {
    fprintf(stderr, "bench_measure failed\n");
    return 1;
  }

  printf("pt_bench: %llu events per thread per run, %u repetitions, "
         "ring %llu x 128 B\n",
         (unsigned long long)opt->events, opt->reps,
         (unsigned long long)opt->capacity);
  printf("medians (min..max over repetitions); CPU ns: thread CPU time per "
         "event (excludes time the scheduler gave to other processes)\n\n");
  printf("%-33s %-24s %7s %8s %-22s %s\n", "", "wall ns/event, 1 thread",
         "CPU ns", "Mev/s 1T", "Mev/s, 2 threads", "2T/1T");
  for (size_t k = 0; k < count; k++) {
    bench_print_row(&c[k]);
  }
  if (!opt->lttng) {
    printf("%-34s not measured: %s\n", "LTTng-UST",
           opt->lttng_note ? opt->lttng_note : "disabled");
  }
  const bench_contender *pts[2] = {pt_default, pt_ring};
  for (int p = 0; p < 2 && pts[p] != NULL; p++) {
    printf("\nratios of medians, %s\n(>1: peertrace faster)"
           "                     1T wall   1T CPU   2T events/s\n",
           pts[p]->name);
    for (size_t k = 0; k < count; k++) {
      if (c[k].writer == bench_mutex_writer ||
          (lttng != NULL && &c[k] == lttng)) {
        bench_print_ratio(pts[p], &c[k]);
      }
    }
  }

  pt_log_stats st;
  pt_log_get_stats(log, &st);
  printf("\npeertrace log: overwritten %llu, dropped %llu (chunk %llu)\n",
         (unsigned long long)st.overwritten, (unsigned long long)st.dropped,
         (unsigned long long)st.chunk_size);
  printf("mutex rings: overwritten %llu and %llu\n",
         (unsigned long long)plain.overwritten,
         (unsigned long long)tsc.overwritten);
  for (int p = 0; p < 2 && pts[p] != NULL; p++) {
    printf("\n");
    bench_print_targets(pts[p], lttng);
  }
  bench_contenders_free(c, count);
  bench_mutex_ring_free(&plain);
  bench_mutex_ring_free(&tsc);
  pt_log_destroy(log);
  pt_log_destroy(own_logs[0]);
  pt_log_destroy(own_logs[1]);
  pt_log_destroy(ring_log);
  return 0;
}

/* ---- LTTng session management (parent) ----------------------------------- */
#if PT_BENCH_HAVE_LTTNG

/* snprintf that may truncate on purpose (messages, paths). */
__attribute__((format(printf, 3, 4))) static void
bench_format(char *out, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out, size, fmt, ap);
  va_end(ap);
}

static pid_t bench_sessiond_pid;       /* the daemon we started, 0: none */
static volatile pid_t bench_child_pid; /* the measuring child, 0: none */
static char bench_session[64];         /* our session, "" until created */
static char bench_note[512];           /* why LTTng is not measured */

/*
 * Runs argv (searched in PATH), waits for it, keeps its combined output in
 * out (NUL-terminated, truncated).  Returns its exit status, or -1 if it
 * could not be run or died by a signal.
 */
static int bench_run(char *const argv[], char *out, size_t out_size) {
  int fds[2];
  if (pipe(fds) != 0) {
    bench_format(out, out_size, "pipe: %s", strerror(errno));
    return -1;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  pid_t pid;
  int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  size_t used = 0;
  out[0] = '\0';
  if (err != 0) {
    close(fds[0]);
    bench_format(out, out_size, "cannot run %s: %s", argv[0], strerror(err));
    return -1;
  }
  for (;;) {
    char buf[512];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    size_t take = (size_t)n;
    if (used + take >= out_size) {
      take = out_size - 1 - used;
    }
    memcpy(out + used, buf, take);
    used += take;
    out[used] = '\0';
  }
  close(fds[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs an lttng command; on failure records why in bench_note. */
static int bench_lttng_cmd(char *const argv[]) {
  char out[2048];
  int rc = bench_run(argv, out, sizeof out);
  if (rc != 0) {
    char *nl = strchr(out, '\n');
    if (nl != NULL && nl[1] == '\0') {
      *nl = '\0';
    }
    bench_format(bench_note, sizeof bench_note, "'%s %s' failed (%d): %s",
                 argv[0], argv[1], rc, out);
    return -1;
  }
  return 0;
}

/* Where a session daemon of this user keeps its pid file. */
static void bench_sessiond_pidfile(char *path, size_t size) {
  if (geteuid() == 0) {
    bench_format(path, size, "/var/run/lttng/lttng-sessiond.pid");
  } else {
    const char *home = getenv("LTTNG_HOME");
    if (home == NULL) {
      home = getenv("HOME");
    }
    bench_format(path, size, "%s/.lttng/lttng-sessiond.pid", home ? home : ".");
  }
}

static pid_t bench_read_pid(const char *path) {
  FILE *f = fopen(path, "r");
  long pid = 0;
  if (f != NULL) {
    if (fscanf(f, "%ld", &pid) != 1) {
      pid = 0;
    }
    fclose(f);
  }
  return (pid_t)pid;
}

/* 1 while pid exists and is not a zombie. */
static int bench_alive(pid_t pid) {
  char path[64];
  bench_format(path, sizeof path, "/proc/%ld/stat", (long)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    return 0;
  }
  char state = '?';
  if (fscanf(f, "%*d %*s %c", &state) != 1) {
    state = '?';
  }
  fclose(f);
  return state != 'Z' && state != 'X';
}

/* Destroys our session and stops our daemon; safe to call more than once. */
static void bench_lttng_teardown(void) {
  if (bench_session[0] != '\0') {
    char *destroy[] = {"lttng", "destroy", bench_session, NULL};
    char out[1024];
    if (bench_run(destroy, out, sizeof out) != 0) {
      fprintf(stderr, "lttng destroy %s failed: %s\n", bench_session, out);
    }
    bench_session[0] = '\0';
  }
  if (bench_sessiond_pid > 0) {
    kill(bench_sessiond_pid, SIGTERM);
    for (int i = 0; i < 100 && bench_alive(bench_sessiond_pid); i++) {
      struct timespec pause = {0, 50000000};
      nanosleep(&pause, NULL);
    }
    if (bench_alive(bench_sessiond_pid)) {
      kill(bench_sessiond_pid, SIGKILL);
    }
    bench_sessiond_pid = 0;
  }
}

static void bench_on_signal(int sig) {
  /* Only what is async-signal-safe: the daemon takes its sessions along. */
  if (bench_child_pid > 0) {
    kill(bench_child_pid, SIGTERM);
  }
  if (bench_sessiond_pid > 0) {
    kill(bench_sessiond_pid, SIGTERM);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Starts a daemon and a session recording pt_bench:packet_sent. */
static int bench_lttng_setup(void) {
  char pidfile[512];
  bench_sessiond_pidfile(pidfile, sizeof pidfile);
  pid_t running = bench_read_pid(pidfile);
  if (running > 0 && bench_alive(running)) {
    bench_format(bench_note, sizeof bench_note,
                 "a session daemon is already running (pid %ld, %s); "
                 "pt_bench starts and stops its own and leaves others alone",
                 (long)running, pidfile);
    return -1;
  }
  char *sessiond[] = {"lttng-sessiond", "--daemonize", "--no-kernel", NULL};
  if (bench_lttng_cmd(sessiond) != 0) {
    return -1;
  }
  bench_sessiond_pid = bench_read_pid(pidfile);
  if (bench_sessiond_pid <= 0) {
    bench_format(bench_note, sizeof bench_note,
                 "lttng-sessiond started but %s holds no pid; it may still run",
                 pidfile);
    return -1;
  }
  bench_format(bench_session, sizeof bench_session, "pt_bench_%ld",
               (long)getpid());
  /*
   * Snapshot mode: channels overwrite the oldest sub-buffers and nothing is
   * streamed to disk, i.e. a flight recorder like pt_log.  Every event is
   * really written to the buffers: none is discarded as "buffer full".
   */
  char *create[] = {"lttng", "create", bench_session, "--snapshot", NULL};
  if (bench_lttng_cmd(create) != 0) {
    bench_session[0] = '\0';
    return -1;
  }
  /* 4 x 1 MiB per CPU: 8 MiB on this 2-CPU machine, as pt_log's ring. */
  char session_opt[96];
  bench_format(session_opt, sizeof session_opt, "--session=%s", bench_session);
  char *channel[] = {"lttng",          "enable-channel", "--userspace",
                     session_opt,      "--overwrite",    "--subbuf-size=1M",
                     "--num-subbuf=4", "bench",          NULL};
  char *event[] = {"lttng",     "enable-event",    "--userspace",
                   session_opt, "--channel=bench", "pt_bench:packet_sent",
                   NULL};
  char *start[] = {"lttng", "start", bench_session, NULL};
  if (bench_lttng_cmd(channel) != 0 || bench_lttng_cmd(event) != 0 ||
      bench_lttng_cmd(start) != 0) {
    return -1;
  }
  return 0;
}

/*
 * Proof that LTTng really recorded the events: stops the session, takes a
 * snapshot of its buffers and counts the pt_bench:packet_sent records in it
 * with babeltrace (if installed).  An overwrite-mode ring keeps only the
 * newest events, so the count is what fits in the buffers, not the total.
 */
static void bench_lttng_report(void) {
  char *stop[] = {"lttng", "stop", bench_session, NULL};
  if (bench_lttng_cmd(stop) != 0) {
    printf("LTTng: %s\n", bench_note);
    return;
  }
  char dir[128], url[160], session_opt[96], count_cmd[512], out[1024];
  bench_format(dir, sizeof dir, "/tmp/pt_bench_snapshot_%ld", (long)getpid());
  bench_format(url, sizeof url, "file://%s", dir);
  bench_format(session_opt, sizeof session_opt, "--session=%s", bench_session);
  char *record[] = {"lttng", "snapshot", "record", session_opt, url, NULL};
  if (bench_lttng_cmd(record) != 0) {
    printf("LTTng snapshot: %s\n", bench_note);
    return;
  }
  bench_format(count_cmd, sizeof count_cmd,
               "command -v babeltrace >/dev/null || "
               "{ echo 'babeltrace not installed'; exit 0; }; "
               "n=$(babeltrace '%s' 2>/dev/null | grep -c "
               "'pt_bench:packet_sent'); "
               "echo \"$n events pt_bench:packet_sent in $(du -sk '%s' | "
               "cut -f1) KiB\"",
               dir, dir);
  char *count[] = {"sh", "-c", count_cmd, NULL};
  bench_run(count, out, sizeof out);
  out[strcspn(out, "\n")] = '\0';
  printf("LTTng snapshot of the buffers after the run: %s\n", out);
  char rm_cmd[256];
  bench_format(rm_cmd, sizeof rm_cmd, "rm -rf '%s'", dir);
  char *rm[] = {"sh", "-c", rm_cmd, NULL};
  bench_run(rm, out, sizeof out);
}

static int bench_parent_main(const bench_options *opt, const char *self) {
  signal(SIGINT, bench_on_signal);
  signal(SIGTERM, bench_on_signal);
  signal(SIGHUP, bench_on_signal);
  atexit(bench_lttng_teardown);
  if (bench_lttng_setup() != 0) {
    bench_lttng_teardown();
    fprintf(stderr, "pt_bench: LTTng-UST not measured: %s\n", bench_note);
    bench_options without = *opt;
    without.lttng = 0;
    without.lttng_note = bench_note;
    return bench_measure_main(&without);
  }
  printf("LTTng-UST %s: own session daemon (pid %ld), snapshot session %s\n",
         bench_lttng_version(), (long)bench_sessiond_pid, bench_session);
  char events[32], reps[32], capacity[32];
  bench_format(events, sizeof events, "%llu", (unsigned long long)opt->events);
  bench_format(reps, sizeof reps, "%u", opt->reps);
  bench_format(capacity, sizeof capacity, "%llu",
               (unsigned long long)opt->capacity);
  char *child_argv[] = {(char *)self, "--measure", "--events",
                        events,       "--reps",    reps,
                        "--capacity", capacity,    NULL};
  fflush(stdout);
  pid_t pid;
  int err = posix_spawn(&pid, self, NULL, NULL, child_argv, environ);
  int status = 0;
  bench_child_pid = err == 0 ? pid : 0;
  if (err != 0) {
    bench_lttng_teardown();
    bench_format(bench_note, sizeof bench_note, "cannot start %s: %s", self,
                 strerror(err));
    fprintf(stderr, "pt_bench: LTTng-UST not measured: %s\n", bench_note);
    bench_options without = *opt;
    without.lttng = 0;
    without.lttng_note = bench_note;
    return bench_measure_main(&without);
  } else {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    bench_child_pid = 0;
  }
  if (status == 0) {
    bench_lttng_report();
  }
  bench_lttng_teardown();
  return status;
}

/*
 * In the measuring child: the application registers with the session daemon
 * in its constructor (up to LTTNG_UST_REGISTER_TIMEOUT, 3 s by default);
 * allow a few more seconds before concluding that it never will.
 */
static int bench_lttng_wait_enabled(void) {
  for (int i = 0; i < 500 && !bench_lttng_enabled(); i++) {
    struct timespec pause = {0, 10000000};
    nanosleep(&pause, NULL);
  }
  return bench_lttng_enabled();
}
#endif /* PT_BENCH_HAVE_LTTNG */

static void bench_usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s [--events N] [--reps R] [--capacity N] [--no-lttng]\n",
          argv0);
  exit(2);
}

int main(int argc, char **argv) {
  bench_options opt = {
      .events = 1u << 20, .capacity = 65536, .reps = 21, .lttng = 1};
  int measure = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
      opt.events = bench_parse_count("--events", argv[++i]);
    } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      uint64_t reps = bench_parse_count("--reps", argv[++i]);
      opt.reps = reps > 1001 ? 1001u : (unsigned)reps;
    } else if (strcmp(argv[i], "--capacity") == 0 && i + 1 < argc) {
      opt.capacity = bench_parse_count("--capacity", argv[++i]);
      if ((opt.capacity & (opt.capacity - 1)) != 0 || opt.capacity < 16) {
        bench_usage(argv[0]);
      }
    } else if (strcmp(argv[i], "--no-lttng") == 0) {
      opt.lttng = 0;
      opt.lttng_note = "--no-lttng";
    } else if (strcmp(argv[i], "--measure") == 0) {
      measure = 1;
    } else {
      bench_usage(argv[0]);
    }
  }
#if PT_BENCH_HAVE_LTTNG
  if (measure) {
    /* Die with the parent, which owns the session daemon. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) {
      return 1;
    }
    if (opt.lttng && !bench_lttng_wait_enabled()) {
      /* Measuring a disabled tracepoint would flatter LTTng: leave it out. */
      opt.lttng = 0;
      opt.lttng_note = "tracepoint pt_bench:packet_sent never got enabled "
                       "in the measuring process (not registered with the "
                       "session daemon, or no matching event rule)";
      fprintf(stderr, "pt_bench: %s\n", opt.lttng_note);
    }
    return bench_measure_main(&opt);
  }
  if (opt.lttng) {
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
      fprintf(stderr, "pt_bench: readlink /proc/self/exe: %s\n",
              strerror(errno));
      return 1;
    }
    self[len] = '\0';
    return bench_parent_main(&opt, self);
  }
  return bench_measure_main(&opt);
#else
  (void)measure;
  opt.lttng = 0;
  if (opt.lttng_note == NULL) {
    opt.lttng_note = "not built: pkg-config found no lttng-ust at configure";
  }
  return bench_measure_main(&opt);
#endif
}
