/*
 * bench_align: time and peak memory of clock alignment (pt_align.h) at the
 * issue's scale: 8 dumps of 65536 packet events each (8 nodes on a ring,
 * every event a packet_sent or packet_received of a link, clocks apart by
 * up to +-10 s and +-100 ppm), and 64 nodes.  Cases, each run RUNS times in
 * a child process (its peak RSS and CPU time from wait4), medians printed:
 *   read           the 8 dumps opened (validated) and every event streamed
 *                  through pt_dump_reader: the floor of anything on dumps
 *   read+align     the same events into a pt_align, then pt_align_solve;
 *                  the child checks every node aligned, within its bound of
 *                  the injected truth at both ends of its span, and no
 *                  pair received before it was sent
 *   peertrace clocks  the command on the 8 dumps (stdout to /dev/null)
 *   64 nodes       64 simulated nodes (ring + chords, 8192 events each),
 *                  events made in memory first (not timed; their 64 MiB
 *                  are in this case's RSS), then added and solved
 * The merge with alignment as a whole is bench_merge's.
 *
 * Usage: bench_align [RUNS] [DIR]   (defaults: 7, a fresh /tmp directory)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <peertrace/pt_align.h>

#include "align_sim.h"
#include "bench_dumps.h"

#define PATH_SIZE 1100

static sim truth; /* the clocks (no events: the maker child makes those) */
static char paths[NODES][PATH_SIZE];

/* Node k's dump: its ring links to k-1 and k+1, 16384 packets each way. */
static int make_dumps(const char *dir) {
  static sim s;
  s = truth;
  for (unsigned k = 0; k < NODES; k++) {
    sim_link(&s, k, (k + 1) % NODES, EVENTS / 4, 10e6);
  }
  for (unsigned k = 0; k < NODES; k++) {
    pt_log_config cfg;
    pt_log_config_init(&cfg);
    cfg.capacity = EVENTS;
    memset(cfg.node_id, (int)(0x10 * (k + 1)), sizeof cfg.node_id);
    pt_log *log;
    if (s.nev[k] != EVENTS || pt_log_create(&log, &cfg) != PT_OK) {
      return -1;
    }
    for (size_t i = 0; i < s.nev[k]; i++) {
      pt_log_write_at(log, &s.ev[k][i]);
    }
    snprintf(paths[k], sizeof paths[k], "%s/node%u.ptd", dir, k);
    int rc = pt_log_dump_save(log, paths[k]);
    pt_log_destroy(log);
    if (rc != PT_OK) {
      return -1;
    }
  }
  return 0;
}

/* A case run in a child: fills out[0..2) (seconds), 0 or -1. */
typedef int (*case_fn)(double out[2]);

typedef struct result {
  double wall, cpu, rss_mib, t[2];
} result;

static int in_child(case_fn fn, result *r) {
  int fds[2];
  if (pipe(fds) != 0) {
    return -1;
  }
  double t0 = now_s();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    double out[2] = {0, 0};
    int ok = fn(out) == 0;
    ssize_t n = write(fds[1], out, sizeof out);
    _exit(ok && n == (ssize_t)sizeof out ? 0 : 1);
  }
  close(fds[1]);
  ssize_t n = pid > 0 ? read(fds[0], r->t, sizeof r->t) : -1;
  close(fds[0]);
  if (pid < 0 ||
      bench_wait_child(pid, "bench_align: a case", &r->cpu, &r->rss_mib) != 0 ||
      n != (ssize_t)sizeof r->t) {
    return -1;
  }
  r->wall = now_s() - t0;
  return 0;
}

static int stream_dumps(pt_align *a, uint64_t *events) {
  *events = 0;
  for (unsigned k = 0; k < NODES; k++) {
    pt_dump_reader *r = bench_dump_open("bench_align", paths[k]);
    if (r == NULL) {
      return -1;
    }
    unsigned node = k;
    if (a != NULL &&
        pt_align_add_node(a, pt_dump_reader_info(r)->node_id, &node) != PT_OK) {
      pt_dump_reader_close(r);
      return -1;
    }
    pt_event ev;
    while (pt_dump_reader_next(r, &ev, NULL, NULL) == 1) {
      (*events)++;
      if (a != NULL && pt_align_add_event(a, node, &ev) != PT_OK) {
        pt_dump_reader_close(r);
        return -1;
      }
    }
    pt_dump_reader_close(r);
  }
  return *events == (uint64_t)NODES * EVENTS ? 0 : -1;
}

static int case_read(double out[2]) {
  uint64_t events;
  double t0 = now_s();
  int rc = stream_dumps(NULL, &events);
  out[0] = now_s() - t0;
  return rc;
}

/*
 * Every node aligned, within its bound of the truth at its span's ends, and
 * no pair received before it was sent (the joint pass met every
 * constraint: the ring's links are not all on the paths).
 */
static int check(const pt_align *a, const sim *s, unsigned n,
                 const uint64_t *first, const uint64_t *last) {
  pt_align_stats st;
  if (pt_align_stats_get(a, &st) != PT_OK || st.pairs_reversed != 0 ||
      st.joint_unmet != 0) {
    fprintf(stderr, "bench_align: pairs received before sent\n");
    return -1;
  }
  for (unsigned v = 0; v < n; v++) {
    pt_clock_estimate e;
    pt_align_estimate(a, v, &e);
    if (e.status != (v == 0 ? PT_CLOCK_REFERENCE : PT_CLOCK_ALIGNED)) {
      fprintf(stderr, "bench_align: node %u not aligned\n", v);
      return -1;
    }
    uint64_t ends[2] = {first[v], last[v]};
    for (int i = 0; i < 2; i++) {
      double dt = (double)(int64_t)(ends[i] - e.t0_us);
      double est = e.offset_us + e.drift_ppm * 1e-6 * dt;
      if (fabs(est - sim_true_offset(s, v, 0, ends[i])) > e.bound_us + 1e-3) {
        fprintf(stderr, "bench_align: node %u outside its bound\n", v);
        return -1;
      }
    }
  }
  return 0;
}

static int case_align(double out[2]) {
  pt_align *a;
  uint64_t events;
  if (pt_align_new(&a) != PT_OK) {
    return -1;
  }
  double t0 = now_s();
  int rc = stream_dumps(a, &events);
  double t1 = now_s();
  rc = rc == 0 ? pt_align_solve(a, 0) : rc;
  out[0] = t1 - t0;
  out[1] = now_s() - t1;
  uint64_t first[NODES], last[NODES];
  for (unsigned k = 0; rc == 0 && k < NODES; k++) {
    pt_dump_reader *r;
    rc = pt_dump_reader_open(&r, paths[k], NULL);
    if (rc == PT_OK) {
      first[k] = pt_dump_reader_info(r)->first_us;
      last[k] = pt_dump_reader_info(r)->last_us;
      pt_dump_reader_close(r);
    }
  }
  rc = rc == 0 ? check(a, &truth, NODES, first, last) : rc;
  pt_align_free(a);
  return rc;
}

static int case_64(double out[2]) {
  static sim s;
  sim_init(&s, 64, 64);
  for (unsigned v = 0; v < 64; v++) {
    s.off[v] = v ? (sim_unif(&s) * 2 - 1) * 10e6 : 0;
    s.drift[v] = v ? (sim_unif(&s) * 2 - 1) * 100e-6 : 0;
  }
  for (unsigned v = 0; v < 64; v++) {
    sim_link(&s, v, (v + 1) % 64, 1024, 10e6);
    sim_link(&s, v, (v + 19) % 64, 1024, 10e6);
  }
  pt_align *a;
  if (pt_align_new(&a) != PT_OK) {
    return -1;
  }
  uint64_t first[64], last[64];
  double t0 = now_s();
  int rc = 0;
  for (unsigned v = 0; v < 64 && rc == 0; v++) {
    uint8_t id[32] = {(uint8_t)v, 0x64};
    unsigned node;
    rc = pt_align_add_node(a, id, &node);
    first[v] = UINT64_MAX;
    last[v] = 0;
    for (size_t i = 0; i < s.nev[v] && rc == 0; i++) {
      rc = pt_align_add_event(a, v, &s.ev[v][i]);
      uint64_t t = s.ev[v][i].timestamp_us;
      first[v] = t < first[v] ? t : first[v];
      last[v] = t > last[v] ? t : last[v];
    }
  }
  double t1 = now_s();
  rc = rc == 0 ? pt_align_solve(a, 0) : rc;
  out[0] = t1 - t0;
  out[1] = now_s() - t1;
  rc = rc == 0 ? check(a, &s, 64, first, last) : rc;
  pt_align_free(a);
  return rc;
}

/* `peertrace clocks` on the dumps. */
static int case_cli(double out[2]) {
  char *args[3 + NODES] = {(char *)PT_CLI_PATH, (char *)"clocks"};
  for (int k = 0; k < NODES; k++) {
    args[2 + k] = paths[k];
  }
  args[2 + NODES] = NULL;
  pid_t pid;
  double t0 = now_s();
  if (bench_spawn_quiet(args, &pid) != 0 ||
      bench_wait_child(pid, "peertrace clocks", NULL, NULL) != 0) {
    return -1;
  }
  out[0] = now_s() - t0;
  return 0;
}

int main(int argc, char **argv) {
  int runs;
  char dir[1024];
  int bad = bench_dumps_args(argc, argv, "bench_align", &runs, dir, sizeof dir);
  if (bad != 0) {
    return bad;
  }
  sim_init(&truth, NODES, 8);
  for (unsigned k = 1; k < NODES; k++) {
    truth.off[k] = (sim_unif(&truth) * 2 - 1) * 10e6;
    truth.drift[k] = (sim_unif(&truth) * 2 - 1) * 100e-6;
  }
  pid_t maker = fork();
  if (maker == 0) {
    _exit(make_dumps(dir) == 0 ? 0 : 1);
  }
  if (maker < 0 || bench_wait_child(maker, "writing the dumps", NULL, NULL)) {
    fprintf(stderr, "bench_align: cannot write the dumps in %s\n", dir);
    return 1;
  }
  for (unsigned k = 0; k < NODES; k++) {
    snprintf(paths[k], sizeof paths[k], "%s/node%u.ptd", dir, k);
  }
  printf("%d nodes x %u packet events (a ring, +-10 s, +-100 ppm) in %s; "
         "medians of %d runs\n",
         NODES, EVENTS, dir, runs);
  struct {
    const char *label, *t0, *t1;
    case_fn fn;
  } cases[] = {
      {"read (floor)", "read_s", "", case_read},
      {"read+align", "read+add_s", "solve_s", case_align},
      {"peertrace clocks", "wall_s", "", case_cli},
      {"64 nodes x 8192 (memory)", "add_s", "solve_s", case_64},
  };
  printf("%-26s %8s %8s %12s  %s\n", "case", "wall_s", "cpu_s", "peak_rss_MiB",
         "inside the child");
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    double wall[MAX_RUNS], cpu[MAX_RUNS], rss[MAX_RUNS], t0[MAX_RUNS],
        t1[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
      result res;
      if (in_child(cases[c].fn, &res) != 0) {
        return 1;
      }
      wall[r] = res.wall;
      cpu[r] = res.cpu;
      rss[r] = res.rss_mib;
      t0[r] = res.t[0];
      t1[r] = res.t[1];
    }
    printf("%-26s %8.3f %8.3f %12.1f  %s %.3f", cases[c].label,
           median(wall, runs), median(cpu, runs), median(rss, runs),
           cases[c].t0, median(t0, runs));
    if (cases[c].t1[0]) {
      printf(", %s %.3f", cases[c].t1, median(t1, runs));
    }
    printf("\n");
  }
  return 0;
}
