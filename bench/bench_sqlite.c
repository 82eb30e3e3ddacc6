/*
 * bench_sqlite: pt_sqlite_export (include/peertrace/pt_sqlite.h) of the 8
 * dumps x 65536 events bench_merge writes (8 skewed nodes in a ring of
 * connections), into a file database (journal off, as `peertrace export
 * sqlite` opens it) and into memory (as `peertrace sql`).  Per run, on one
 * pipeline started once (clock alignment, timed apart):
 *   read     pt_pipeline_run with a callback that only counts: the cost of
 *            reading and aligning the events, which the export pays too
 *   file     pt_sqlite_export into DIR/bench.db (a new file each run)
 *   memory   pt_sqlite_export into ":memory:"
 * Reported: median wall and CPU seconds, events/s of the whole export, and
 * of the insertion alone (export minus read; per wall and per CPU second:
 * on a loaded machine the wall figure is the lower one), and the process's
 * peak RSS.
 *
 * Usage: bench_sqlite DIR [RUNS]   (DIR: where `bench_merge 1 DIR` wrote
 * node0.ptd .. node7.ptd; RUNS default 5)
 */
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <peertrace/pt_pipeline.h>
#include <peertrace/pt_sqlite.h>

#include "bench_util.h"

#define NODES 8
#define MAX_RUNS 21

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void) {
  return clock_s(CLOCK_MONOTONIC);
}

/* This process's CPU time: what a loaded machine's wall time hides. */
static double cpu_s(void) {
  return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static int count_event(unsigned node, const pt_event *ev, uint64_t raw_us,
                       void *user) {
  (void)node;
  (void)ev;
  (void)raw_us;
  (*(uint64_t *)user)++;
  return 0;
}

/* One export into db_path (removed first); seconds, or -1; *cpu: its CPU
 * seconds. */
static double export_once(pt_pipeline *p, const char *db_path, double *cpu) {
  sqlite3 *db;
  unlink(db_path);
  if (sqlite3_open_v2(db_path, &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK ||
      sqlite3_exec(db, PT_SQLITE_NEW_FILE_PRAGMAS, NULL, NULL, NULL) !=
          SQLITE_OK) {
    fprintf(stderr, "bench_sqlite: %s: %s\n", db_path, sqlite3_errmsg(db));
    return -1;
  }
  char message[256];
  double t0 = now_s(), c0 = cpu_s();
  int rc = pt_sqlite_export(p, db, NULL, NULL, message, sizeof message);
  double s = now_s() - t0;
  *cpu = cpu_s() - c0;
  sqlite3_close(db);
  if (rc != PT_OK) {
    fprintf(stderr, "bench_sqlite: export: %s %s\n", pt_strerror(rc), message);
    return -1;
  }
  return s;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_sqlite DIR [RUNS]  (DIR: bench_merge's)\n");
    return 2;
  }
  const char *dir = argv[1];
  int runs = argc > 2 ? atoi(argv[2]) : 5;
  if (runs < 1 || runs > MAX_RUNS) {
    fprintf(stderr, "bench_sqlite: RUNS is 1..%d\n", MAX_RUNS);
    return 2;
  }
  pt_pipeline *p;
  int rc = pt_pipeline_new(&p);
  char path[4096];
  for (int k = 0; rc == PT_OK && k < NODES; k++) {
    snprintf(path, sizeof path, "%s/node%d.ptd", dir, k);
    rc = pt_pipeline_add_dump(p, path, NULL);
  }
  double t0 = now_s();
  if (rc == PT_OK) {
    rc = pt_pipeline_start(p);
  }
  double start_s = now_s() - t0;
  if (rc != PT_OK) {
    fprintf(stderr, "bench_sqlite: %s (run bench_merge 1 %s first)\n",
            pt_pipeline_message(p, NULL), dir);
    pt_pipeline_free(p);
    return 1;
  }
  double read_s[MAX_RUNS], file_s[MAX_RUNS], mem_s[MAX_RUNS];
  double read_c[MAX_RUNS], file_c[MAX_RUNS], mem_c[MAX_RUNS];
  uint64_t events = 0;
  snprintf(path, sizeof path, "%s/bench.db", dir);
  for (int r = 0; r < runs; r++) {
    events = 0;
    t0 = now_s();
    double c0 = cpu_s();
    if (pt_pipeline_run(p, count_event, &events) != PT_OK) {
      return 1;
    }
    read_s[r] = now_s() - t0;
    read_c[r] = cpu_s() - c0;
    if ((file_s[r] = export_once(p, path, &file_c[r])) < 0 ||
        (mem_s[r] = export_once(p, ":memory:", &mem_c[r])) < 0) {
      return 1;
    }
  }
  double read = bench_median(read_s, (size_t)runs),
         read_cpu = bench_median(read_c, (size_t)runs);
  printf("%llu events from %d dumps in %s; pipeline start (alignment) "
         "%.3f s; median of %d runs\n",
         (unsigned long long)events, NODES, dir, start_s, runs);
  printf("%-8s %9s %12s %14s %14s %16s\n", "case", "wall_s", "cpu_s",
         "events/s", "inserted/s", "inserted/cpu_s");
  printf("%-8s %9.3f %12.3f %14.0f %14s %16s\n", "read", read, read_cpu,
         (double)events / read, "-", "-");
  const char *names[] = {"file", "memory"};
  double *sets[] = {file_s, mem_s}, *cpus[] = {file_c, mem_c};
  for (int c = 0; c < 2; c++) {
    double s = bench_median(sets[c], (size_t)runs),
           cpu = bench_median(cpus[c], (size_t)runs);
    printf("%-8s %9.3f %12.3f %14.0f %14.0f %16.0f\n", names[c], s, cpu,
           (double)events / s, (double)events / (s - read),
           (double)events / (cpu - read_cpu));
  }
  struct rusage self;
  getrusage(RUSAGE_SELF, &self);
  printf("peak RSS %.1f MiB; database file ", (double)self.ru_maxrss / 1024.0);
  FILE *f = fopen(path, "rb");
  if (f != NULL && fseek(f, 0, SEEK_END) == 0) {
    printf("%.1f MiB\n", (double)ftell(f) / 1048576.0);
  } else {
    printf("?\n");
  }
  if (f != NULL) {
    fclose(f);
  }
  unlink(path);
  pt_pipeline_free(p);
  return 0;
}
