/*
 * bench_merge: time and peak memory of the pipeline (pt_pipeline.h: merge
 * with clock alignment), `peertrace merge` (aligned, and --raw-time) and
 * `peertrace export` over 8 dumps of 65536 events each, from nodes whose
 * clocks disagree (the scale target: under 2 s and 64 MiB), with
 * the floors measured in the same run:
 *   cat        reading the 8 files, nothing else (I/O floor)
 *   validate   opening the 8 dumps (full validation pass) and streaming
 *              every event once through pt_dump_reader, in this process
 * Everything measured runs in a child process (commands with stdout to
 * /dev/null); wall time, the child's CPU time (user + system) and its peak
 * RSS (wait4) are reported as medians of RUNS runs.  The parent stays small
 * (the dumps are written by a child too), because a child's peak RSS starts
 * from its parent's: fork copies the counters and exec keeps the old high-water
 * mark.
 *
 * Usage: bench_merge [RUNS] [DIR]   (defaults: 7, a fresh /tmp directory)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <peertrace/peertrace.h>
#include <peertrace/pt_pipeline.h>

#include "bench_dumps.h"

#define DIR_SIZE 1024
#define PATH_SIZE (DIR_SIZE + 32)
#define T0 1764115200000000ull

/* Node k's clock: offset (k - 4) * 250 ms and drift (k - 4) * 10 ppm
 * against true time, so every node but one must be aligned. */
static uint64_t node_clock(unsigned k, uint64_t t) {
  double d = (double)(t - T0);
  return (uint64_t)((double)t + ((double)k - 4.0) * 250000.0 +
                    ((double)k - 4.0) * 10e-6 * d);
}

/* The connection between nodes k and k + 1 (mod NODES): its identity. */
static uint64_t conn_of(unsigned k) {
  return 0xbe0c0000u + k % NODES;
}

/*
 * Node k's log: events interleaved in time with the other nodes' (event i
 * at true time T0 + 8 i + k); traces of 16 events (an app request, packets,
 * one loss) that visit every node, so the OTLP export has 4096 spans per
 * node to write.  The nodes form a ring of QUIC connections: at even i a
 * node sends to its right neighbour (i / 2 even) or its left one (odd),
 * and at i + 1 the neighbour records it received (1 to 15 us later), so
 * every link carries packets both ways and alignment has pairs to use.
 */
static int make_dump(const char *dir, unsigned k, char *path, size_t size) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = EVENTS;
  memset(cfg.node_id, (int)(0x10 * (k + 1)), sizeof cfg.node_id);
  pt_log *log;
  if (pt_log_create(&log, &cfg) != PT_OK) {
    return -1;
  }
  for (uint32_t i = 0; i < EVENTS; i++) {
    pt_event ev;
    pt_trace_id id;
    memset(&id, 0, sizeof id);
    uint32_t trace = i / 16 + 1;
    memcpy(id.bytes, &trace, sizeof trace);
    pt_event_begin(&ev, id, NULL);
    uint32_t sent_at = i - 1; /* for a receive: when its packet was sent */
    int right = (i / 2) % 2 == 0;
    if (i % 16 == 0) {
      pt_event_set_app_start(&ev, "DMAP", 1, "chunk", 5);
    } else if (i % 16 == 14) {
      pt_event_set_app_end(&ev, "DMAP", 1, 1, 14 * 8);
    } else if (i % 16 == 15) {
      pt_event_set_packet_lost(&ev, i, PT_PN_SPACE_APPLICATION);
      pt_event_set_conn(&ev, conn_of(k));
    } else if (i % 2 == 0) {
      pt_event_set_packet_sent(&ev, i, 1200, PT_PN_SPACE_APPLICATION);
      pt_event_set_conn(&ev, conn_of(right ? k : k + NODES - 1));
    } else if (sent_at % 16 == 0) {
      pt_event_set_conn_established(&ev, 900); /* nothing sent at i - 1 */
    } else {
      /* Sent at i - 1 by the left neighbour (to its right) or the right
       * one (to its left). */
      int from_left = (sent_at / 2) % 2 == 0;
      pt_event_set_packet_received(&ev, sent_at, 1200, PT_PN_SPACE_APPLICATION);
      pt_event_set_conn(&ev, conn_of(from_left ? k + NODES - 1 : k));
    }
    ev.timestamp_us = node_clock(k, T0 + (uint64_t)i * 8 + k);
    pt_log_write_at(log, &ev);
  }
  int n = snprintf(path, size, "%s/node%u.ptd", dir, k);
  int rc = (n > 0 && (size_t)n < size) ? pt_log_dump_save(log, path)
                                       : PT_ERR_INVALID;
  pt_log_destroy(log);
  return rc;
}

/*
 * The pipeline alone, in-process (no text): the 8 dumps merged and aligned
 * onto node 0's clock, every event pulled once.  Checks that every node
 * was aligned and that the estimates are within their bounds of the
 * injected offsets.  0, or -1 (said why).
 */
static int pipeline_all(char paths[NODES][PATH_SIZE], uint64_t *events,
                        int report) {
  pt_pipeline *p;
  int rc = pt_pipeline_new(&p);
  for (int k = 0; rc == PT_OK && k < NODES; k++) {
    rc = pt_pipeline_add_dump(p, paths[k], NULL);
  }
  if (rc == PT_OK) {
    rc = pt_pipeline_start(p);
  }
  if (rc != PT_OK) {
    fprintf(stderr, "bench_merge: %s\n", pt_pipeline_message(p, NULL));
    pt_pipeline_free(p);
    return -1;
  }
  for (unsigned k = 1; k < NODES; k++) {
    pt_clock_estimate est;
    pt_pipeline_clock(p, k, &est);
    /* Injected: node k's clock minus node 0's, at the true time when node
     * k's clock read t0_us; and its rate, per unit of node k's time. */
    double o_k = ((double)k - 4.0) * 250000.0, o_0 = -4.0 * 250000.0;
    double d_k = ((double)k - 4.0) * 10e-6, d_0 = -4.0 * 10e-6;
    double tau = ((double)est.t0_us - (double)T0 - o_k) / (1.0 + d_k);
    double injected = o_k - o_0 + (d_k - d_0) * tau;
    double drift = (d_k - d_0) / (1.0 + d_k) * 1e6;
    if (est.status != PT_CLOCK_ALIGNED) {
      fprintf(stderr, "bench_merge: node %u not aligned (status %d)\n", k,
              (int)est.status);
      pt_pipeline_free(p);
      return -1;
    }
    if (report) {
      printf("  node %u: offset %+.1f us (injected %+.1f), drift %+.2f ppm "
             "(injected %+.1f), bound %.1f us, %u links\n",
             k, est.offset_us, injected, est.drift_ppm, drift, est.bound_us,
             est.hops);
    }
  }
  fflush(stdout); /* the child leaves by _exit */
  pt_event ev;
  unsigned node;
  *events = 0;
  while ((rc = pt_pipeline_next(p, &ev, &node, NULL)) == 1) {
    (*events)++;
  }
  pt_pipeline_free(p);
  return rc == 0 ? 0 : -1;
}

static double last_cpu_s; /* user + system time of the last child */

/* Waits for pid; its peak RSS in MiB, or -1 if it failed. */
static double wait_child(pid_t pid, const char *what) {
  double rss;
  return bench_wait_child(pid, what, &last_cpu_s, &rss) == 0 ? rss : -1;
}

/* Runs argv with stdout to /dev/null; wall seconds and peak RSS in MiB. */
static int run_child(char **argv, double *seconds, double *rss_mib) {
  pid_t pid;
  double t0 = now_s();
  if (bench_spawn_quiet(argv, &pid) != 0) {
    return -1;
  }
  *rss_mib = wait_child(pid, argv[1] != NULL ? argv[1] : argv[0]);
  *seconds = now_s() - t0;
  return *rss_mib < 0 ? -1 : 0;
}

/* The in-process floor: validate and stream every event of every dump. */
static int validate_all(char paths[NODES][PATH_SIZE], uint64_t *events) {
  *events = 0;
  for (int k = 0; k < NODES; k++) {
    pt_dump_reader *r = bench_dump_open("bench_merge", paths[k]);
    if (r == NULL) {
      return -1;
    }
    pt_event ev;
    while (pt_dump_reader_next(r, &ev, NULL, NULL) == 1) {
      (*events)++;
    }
    pt_dump_reader_close(r);
  }
  struct rusage self;
  getrusage(RUSAGE_SELF, &self);
  printf("(bench parent's own peak RSS: %.1f MiB)\n",
         (double)self.ru_maxrss / 1024.0);
  return 0;
}

/* An in-process case, run r of a series: 0 when it saw every event. */
typedef int (*child_case)(char paths[NODES][PATH_SIZE], int r);

static int validate_case(char paths[NODES][PATH_SIZE], int r) {
  (void)r;
  uint64_t total;
  return validate_all(paths, &total) == 0 && total == NODES * EVENTS ? 0 : -1;
}

/* The first run prints the pipeline's estimates. */
static int pipeline_case(char paths[NODES][PATH_SIZE], int r) {
  uint64_t total;
  return pipeline_all(paths, &total, r == 0) == 0 && total == NODES * EVENTS
             ? 0
             : -1;
}

/* fn `runs` times, each in a child: wall and CPU seconds and peak RSS (MiB)
 * of each run.  0, or -1 when a run failed. */
static int in_child_runs(child_case fn, const char *what,
                         char paths[NODES][PATH_SIZE], int runs, double *secs,
                         double *cpu, double *rss) {
  for (int r = 0; r < runs; r++) {
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
      _exit(fn(paths, r) == 0 ? 0 : 1);
    }
    rss[r] = pid < 0 ? -1 : wait_child(pid, what);
    secs[r] = now_s() - t0;
    cpu[r] = last_cpu_s;
    if (rss[r] < 0) {
      return -1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  int runs;
  char dir[DIR_SIZE];
  int bad = bench_dumps_args(argc, argv, "bench_merge", &runs, dir, sizeof dir);
  if (bad != 0) {
    return bad;
  }
  char paths[NODES][PATH_SIZE];
  pid_t maker = fork();
  if (maker == 0) {
    for (unsigned k = 0; k < NODES; k++) {
      if (make_dump(dir, k, paths[k], sizeof paths[k]) != PT_OK) {
        fprintf(stderr, "bench_merge: cannot write the dumps in %s\n", dir);
        _exit(1);
      }
    }
    _exit(0);
  }
  if (maker < 0 || wait_child(maker, "writing the dumps") < 0) {
    return 1;
  }
  for (unsigned k = 0; k < NODES; k++) {
    snprintf(paths[k], sizeof paths[k], "%s/node%u.ptd", dir, k);
  }
  printf("8 dumps of %u events (%u bytes each) in %s\n", EVENTS,
         128 + EVENTS * 136 + 16, dir);

  const char *cli = PT_CLI_PATH;
  struct {
    const char *label;
    const char *args[5];
  } cases[] = {
      {"cat (I/O floor)", {"/bin/cat", NULL}},
      {"peertrace merge", {cli, "merge", NULL}},
      {"peertrace merge --raw-time", {cli, "merge", "--raw-time", NULL}},
      {"peertrace export json", {cli, "export", "json", NULL}},
      {"peertrace export chrome", {cli, "export", "chrome", NULL}},
      {"peertrace export otlp", {cli, "export", "otlp", NULL}},
  };
  size_t ncases = sizeof cases / sizeof cases[0];
  double floor_s[MAX_RUNS], floor_rss[MAX_RUNS], floor_cpu[MAX_RUNS];
  if (in_child_runs(validate_case, "validate", paths, runs, floor_s, floor_cpu,
                    floor_rss) != 0) {
    return 1;
  }
  double validate_median = median(floor_s, runs);
  printf("the pipeline's estimates (node 0 is the reference):\n");
  fflush(stdout);
  double pipe_s[MAX_RUNS], pipe_rss[MAX_RUNS], pipe_cpu[MAX_RUNS];
  if (in_child_runs(pipeline_case, "pipeline", paths, runs, pipe_s, pipe_cpu,
                    pipe_rss) != 0) {
    return 1;
  }
  printf("%-26s %10s %10s %10s %12s\n", "case", "wall_s", "ratio", "cpu_s",
         "peak_rss_MiB");
  printf("%-26s %10.3f %10.2f %10.3f %12.1f\n", "validate+stream (floor)",
         validate_median, 1.0, median(floor_cpu, runs),
         median(floor_rss, runs));
  double pipe_median = median(pipe_s, runs);
  printf("%-26s %10.3f %10.2f %10.3f %12.1f\n", "pt_pipeline (aligned)",
         pipe_median, pipe_median / validate_median, median(pipe_cpu, runs),
         median(pipe_rss, runs));
  for (size_t c = 0; c < ncases; c++) {
    char *args[5 + NODES];
    int n = 0;
    for (; cases[c].args[n] != NULL; n++) {
      args[n] = (char *)(uintptr_t)cases[c].args[n];
    }
    for (int k = 0; k < NODES; k++) {
      args[n++] = paths[k];
    }
    args[n] = NULL;
    double secs[MAX_RUNS], rss[MAX_RUNS], cpu[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
      if (run_child(args, &secs[r], &rss[r]) != 0) {
        return 1;
      }
      cpu[r] = last_cpu_s;
    }
    double s = median(secs, runs);
    printf("%-26s %10.3f %10.2f %10.3f %12.1f\n", cases[c].label, s,
           s / validate_median, median(cpu, runs), median(rss, runs));
  }
  struct rusage self;
  getrusage(RUSAGE_SELF, &self);
  printf("(bench parent's own peak RSS: %.1f MiB)\n",
         (double)self.ru_maxrss / 1024.0);
  return 0;
}
