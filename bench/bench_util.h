/*
 * bench_util: timing, medians and a thread harness shared by the benchmark
 * programs.  Benchmarks only; nothing here is part of the library.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC). */
uint64_t bench_now_ns(void);

/* CPU time of the calling thread in ns (CLOCK_THREAD_CPUTIME_ID). */
uint64_t bench_thread_cpu_ns(void);

/*
 * The next number of the xorshift64 sequence kept in *state (never 0): a
 * cheap pseudo-random sequence, the same on every run for the same seed.
 */
static inline uint64_t bench_xorshift64(uint64_t *state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *state = x;
  return x;
}

/* Median of values[0..n) (sorts the array in place); 0 for n == 0. */
double bench_median(double *values, size_t n);

/* Smallest and largest of values[0..n). */
double bench_min(const double *values, size_t n);
double bench_max(const double *values, size_t n);

/*
 * A writer: records `events` events from thread number `thread`, using
 * `arg` (the contender under test).
 */
typedef void (*bench_writer_fn)(void *arg, unsigned thread, uint64_t events);

#define BENCH_MAX_THREADS 8

/*
 * Runs `writer` on `threads` threads at once, each recording
 * `events_per_thread` events.  The threads start together (barrier) and each
 * times itself; returns the wall time in ns from the earliest start to the
 * latest end, and in *cpu_ns (if not NULL) the CPU time the threads used,
 * summed: time the scheduler gave to other processes is not in it.  Exits the
 * process if a thread cannot be created (the others would wait at the barrier
 * forever); 0 for a bad thread count.
 */
uint64_t bench_run_threads(bench_writer_fn writer, void *arg, unsigned threads,
                           uint64_t events_per_thread, uint64_t *cpu_ns);

/* One contender: a writer, its argument, and its samples. */
typedef struct bench_contender {
  const char *name;
  bench_writer_fn writer;
  void *arg;
  double *one;                /* ns/event, one thread, per repetition */
  double *cpu;                /* CPU ns/event, one thread, per repetition */
  double *two;                /* events/s, two threads, per repetition */
  double ns_per_event_1t;     /* median */
  double cpu_ns_per_event_1t; /* median of CPU time per event */
  double events_per_s_1t;     /* from the one-thread median */
  double events_per_s_2t;     /* median aggregate of both threads */
  double ns_per_event_1t_min, ns_per_event_1t_max;
  double events_per_s_2t_min, events_per_s_2t_max;
} bench_contender;

/*
 * Measures every contender `reps` times: in each repetition, each contender
 * runs once with one thread and once with two threads writing concurrently
 * into the same log, each thread recording `events` events.  Contenders are
 * interleaved run by run (and their order rotates), so that slow phases of
 * the shared machine hit all of them alike.  Fills the medians.
 * Returns 0, or -1 for bad arguments or out of memory.
 */
int bench_measure(bench_contender *contenders, size_t count, unsigned reps,
                  uint64_t events);

/* Frees the samples bench_measure allocated. */
void bench_contenders_free(bench_contender *contenders, size_t count);

/*
 * Child processes, for benchmarks that measure a whole process (its peak RSS
 * and CPU time come from wait4, which a thread cannot give).
 *
 * bench_wait_child: waits for pid; 0 if it exited with status 0, with its
 * CPU time (user + system, seconds) in *cpu_s and its peak RSS in MiB in
 * *rss_mib (either may be NULL), else -1 after a message naming `what`.
 */
int bench_wait_child(pid_t pid, const char *what, double *cpu_s,
                     double *rss_mib);

/* Starts argv[0] (a path) with argv, its stdout to /dev/null: 0 and *pid,
 * or -1 after a message. */
int bench_spawn_quiet(char *const *argv, pid_t *pid);

/*
 * The directory a benchmark writes its files in: `given` if not NULL, else a
 * fresh /tmp/<name>.XXXXXX (mkdtemp).  0, or -1 after a message (too long a
 * path, or mkdtemp failed).
 */
int bench_work_dir(char *dir, size_t size, const char *given, const char *name);

/* Parses a positive integer option value; exits with a message if bad. */
uint64_t bench_parse_count(const char *option, const char *text);

#endif /* BENCH_UTIL_H */
