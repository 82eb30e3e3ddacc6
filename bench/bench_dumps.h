/*
 * bench_dumps: what bench_align and bench_merge share: the scale of their
 * dumps (NODES dumps of EVENTS events, the issues' target), the peertrace
 * executable they run (PT_CLI_PATH, set by bench/CMakeLists.txt), their
 * command line ([RUNS] [DIR]), the seconds and medians they print, and
 * how they open a dump.  Benchmarks only.
 */
#ifndef BENCH_DUMPS_H
#define BENCH_DUMPS_H

#include <stdio.h>
#include <stdlib.h>

#include <peertrace/peertrace.h>

#include "bench_util.h"

#ifndef PT_CLI_PATH
#error "PT_CLI_PATH (the peertrace executable) must be defined"
#endif

#define NODES 8
#define EVENTS 65536u
#define MAX_RUNS 51

static inline double now_s(void) {
  return (double)bench_now_ns() * 1e-9;
}

static inline double median(double *v, int n) {
  return bench_median(v, (size_t)n);
}

/*
 * `name [RUNS] [DIR]`: *runs (default 7, 1..MAX_RUNS) and dir (DIR, or a
 * fresh /tmp/name.XXXXXX).  0; or the exit status after a message: 2 for a
 * bad RUNS, 1 when there is no directory.
 */
static inline int bench_dumps_args(int argc, char **argv, const char *name,
                                   int *runs, char *dir, size_t size) {
  *runs = argc > 1 ? atoi(argv[1]) : 7;
  if (*runs < 1 || *runs > MAX_RUNS) {
    fprintf(stderr, "usage: %s [RUNS (1..%d)] [DIR]\n", name, MAX_RUNS);
    return 2;
  }
  return bench_work_dir(dir, size, argc > 2 ? argv[2] : NULL, name) == 0 ? 0
                                                                         : 1;
}

/*
 * Opens (and so validates) the dump at path with pt_dump_reader_open: the
 * reader, or NULL after "NAME: PATH: why" on stderr.
 */
static inline pt_dump_reader *bench_dump_open(const char *name,
                                              const char *path) {
  pt_dump_reader *r = NULL;
  pt_dump_error err;
  if (pt_dump_reader_open(&r, path, &err) != PT_OK) {
    fprintf(stderr, "%s: %s: %s\n", name, path, err.message);
    return NULL;
  }
  return r;
}

#endif /* BENCH_DUMPS_H */
