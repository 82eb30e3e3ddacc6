/*
 * bench_index: what the indices buy (queries) and cost (writes).
 *
 * A full 65536-event ring (filled 1.5 times, so it has wrapped) holds 6554
 * traces of ~10 events each, interleaved at random, 256 peers and
 * timestamps 2 us apart with jitter.  The same log is asked the same
 * questions by an indexed pt_query and by a scanning one (PT_QUERY_SCAN,
 * which reuses its scratch memory: the fairest scan we have); the core's
 * pt_log_query_* scan is shown too.  Writes: pt_log_write into a log with
 * indices and into one created with no_index, in alternating batches.
 * Queries build the index (the writers do not): the first query after
 * writes indexes the blocks closed since the last one, timed separately
 * (report_build).
 *
 * Every figure is the median of `runs` samples; ratios are taken between
 * medians measured in the same run.  Usage: bench_index [runs] (default 11).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <peertrace/peertrace.h>

#include "bench_util.h"
#include "pt_index.h"
#include "pt_ring.h"

enum {
  CAPACITY = 65536,
  EVENTS_PER_TRACE = 10,
  TRACES = CAPACITY / EVENTS_PER_TRACE + 1,
  PEERS = 256,
  MAX_RUNS = 101,
};
static const uint64_t base_time = 1700000000000000u;

static uint64_t rng_state = 0x2545f4914f6cdd1du;
static uint64_t rnd(void) {
  return bench_xorshift64(&rng_state);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* CPU time of this thread: less disturbed by other load on a shared box. */
static double cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, compare_double);
  return v[n / 2];
}

static pt_trace_id traces[TRACES];
static uint8_t peers[PEERS][32];

static void make_event(pt_event *ev, uint64_t i, const uint32_t *trace_of) {
  pt_event_begin(ev, traces[trace_of[i % CAPACITY]], peers[rnd() % PEERS]);
  pt_event_set_packet_sent(ev, i, 1200, PT_PN_SPACE_APPLICATION);
  ev->timestamp_us = base_time + 2 * i + rnd() % 3;
}

/* Fills the log: 1.5 rings, traces interleaved at random. */
static void fill(pt_log *log, const uint32_t *trace_of) {
  rng_state = 0x2545f4914f6cdd1du;
  for (uint64_t i = 0; i < CAPACITY + CAPACITY / 2; i++) {
    pt_event ev;
    make_event(&ev, i, trace_of);
    pt_log_write_at(log, &ev);
  }
}

typedef enum question_kind { Q_TRACE, Q_TIME, Q_PEER, Q_RECENT } question_kind;

/* Question number `pick`, to q (or to the core scan if q is NULL). */
static void ask(pt_query *q, const pt_log *core, question_kind kind,
                uint64_t pick, pt_event **got, size_t *count) {
  /* Every trace has its ~10 events in the ring; so has time 2C..3C. */
  const pt_trace_id *trace = &traces[pick % TRACES];
  uint64_t start = base_time + 2 * (CAPACITY + pick % (CAPACITY / 2 - 700));
  uint64_t end = start + 2 * (CAPACITY / 100); /* 1% of the ring */
  int rc = PT_OK;
  switch (kind) {
  case Q_TRACE:
    rc = q ? pt_query_get_trace(q, trace, got, count)
           : pt_log_query_trace(core, trace, got, count);
    break;
  case Q_TIME:
    rc = q ? pt_query_time_range(q, start, end, got, count)
           : pt_log_query_time_range(core, start, end, got, count);
    break;
  case Q_PEER:
    rc = q ? pt_query_by_peer(q, peers[pick % PEERS], got, count)
           : pt_log_query_peer(core, peers[pick % PEERS], got, count);
    break;
  case Q_RECENT:
    rc = q ? pt_query_recent(q, 100, got, count)
           : pt_log_recent(core, 100, got, count);
    break;
  }
  if (rc != PT_OK) {
    fprintf(stderr, "query failed: %s\n", pt_strerror(rc));
    exit(1);
  }
}

/* ns per query, median of runs samples of `batch` queries each. */
static double time_queries(pt_query *q, const pt_log *core, question_kind kind,
                           int batch, int runs) {
  double samples[MAX_RUNS];
  for (int r = 0; r < runs; r++) {
    double t0 = now_ns();
    for (int b = 0; b < batch; b++) {
      pt_event *got = NULL;
      size_t count = 0;
      ask(q, core, kind, (uint64_t)(r * batch + b) * 7919u, &got, &count);
      pt_events_free(got);
    }
    samples[r] = (now_ns() - t0) / batch;
  }
  return median(samples, runs);
}

/* The indexed answers must equal the scans (checked before timing). */
static size_t check_answers(pt_query *indexed, pt_query *scan,
                            const pt_log *log, question_kind kind) {
  size_t total = 0;
  for (uint64_t pick = 0; pick < 20; pick++) {
    pt_event *a, *b, *c;
    size_t na, nb, nc;
    ask(indexed, NULL, kind, pick * 7919u, &a, &na);
    ask(scan, NULL, kind, pick * 7919u, &b, &nb);
    ask(NULL, log, kind, pick * 7919u, &c, &nc);
    if (na != nb || nb != nc ||
        (na > 0 && (memcmp(a, b, na * sizeof *a) != 0 ||
                    memcmp(b, c, na * sizeof *a) != 0))) {
      fprintf(stderr, "answers differ\n");
      exit(1);
    }
    total += na;
    pt_events_free(a);
    pt_events_free(b);
    pt_events_free(c);
  }
  return total / 20;
}

static double time_contains(pt_query *q, int present, int batch, int runs) {
  double samples[MAX_RUNS];
  int hits = 0;
  for (int r = 0; r < runs; r++) {
    double t0 = now_ns();
    for (int b = 0; b < batch; b++) {
      uint64_t pick = (uint64_t)(r * batch + b) * 7919u;
      pt_trace_id absent;
      memset(&absent, 0, sizeof absent);
      memcpy(absent.bytes, &pick, sizeof pick);
      absent.bytes[15] = 0xa5;
      hits += pt_query_contains_trace(q, present ? &traces[pick % TRACES]
                                                 : &absent);
    }
    samples[r] = (now_ns() - t0) / batch;
  }
  if (hits != (present ? runs * batch : 0)) {
    fprintf(stderr, "contains_trace gave a wrong answer\n");
    exit(1);
  }
  return median(samples, runs);
}

static void report_query(const char *name, pt_query *indexed, pt_query *scan,
                         const pt_log *log, question_kind kind, int runs) {
  size_t n_indexed = check_answers(indexed, scan, log, kind);
  double t_indexed = time_queries(indexed, NULL, kind, 200, runs);
  double t_scan = time_queries(scan, NULL, kind, 3, runs);
  double t_core = time_queries(NULL, log, kind, 3, runs);
  printf("%-22s %8zu %12.1f %12.1f %12.1f %9.1fx\n", name, n_indexed,
         t_indexed / 1000, t_scan / 1000, t_core / 1000, t_scan / t_indexed);
}

/*
 * What the writers no longer do, paid by the next query: after the whole
 * ring was rewritten (every block to index again) and after 1 % of it was
 * (a few blocks), the first get_trace, then the same query again.
 */
static void report_build(const uint32_t *trace_of, int runs) {
  pt_log *log = NULL;
  if (pt_log_create(&log, NULL) != PT_OK) {
    exit(1);
  }
  pt_query *q = NULL;
  if (pt_query_create(&q, log, 0) != PT_OK) {
    exit(1);
  }
  fill(log, trace_of);
  uint64_t next = CAPACITY + CAPACITY / 2;
  double full[MAX_RUNS], part[MAX_RUNS], again[MAX_RUNS];
  const uint64_t sizes[2] = {CAPACITY, CAPACITY / 100};
  double *firsts[2] = {full, part};
  for (int r = 0; r < runs; r++) {
    for (int k = 0; k < 2; k++) {
      for (uint64_t i = 0; i < sizes[k]; i++, next++) {
        pt_event ev;
        make_event(&ev, next, trace_of);
        pt_log_write_at(log, &ev);
      }
      pt_event *got = NULL;
      size_t count = 0;
      double t0 = now_ns();
      ask(q, NULL, Q_TRACE, (uint64_t)r * 7919u, &got, &count);
      firsts[k][r] = now_ns() - t0;
      pt_events_free(got);
      t0 = now_ns();
      ask(q, NULL, Q_TRACE, (uint64_t)r * 7919u, &got, &count);
      again[r] = now_ns() - t0;
      pt_events_free(got);
    }
  }
  printf("\nqueries build the index: get_trace, microseconds, median of %d\n",
         runs);
  printf("  first after %d events (whole ring to index) %10.1f\n", CAPACITY,
         median(full, runs) / 1000);
  printf("  first after %d events (1 %% of the ring)     %10.1f\n",
         CAPACITY / 100, median(part, runs) / 1000);
  printf("  the same query again (nothing to index)        %10.1f\n",
         median(again, runs) / 1000);
  pt_query_destroy(q);
  pt_log_destroy(log);
}

/* A writer of bench_run_threads: `count` of the 4096 events from
 * (thread * 2048). */
typedef struct writers_job {
  pt_log *log;
  const pt_event *events; /* 4096 of them */
} writers_job;

static void write_events(void *arg, unsigned thread, uint64_t count) {
  const writers_job *job = arg;
  for (uint64_t i = 0; i < count; i++) {
    pt_log_write(job->log, &job->events[(thread * 2048 + i) & 4095]);
  }
}

/* Two writer threads, each writing `count` events: CPU ns/event per thread. */
static double two_writers(pt_log *log, const pt_event *events, int count) {
  writers_job job = {log, events};
  uint64_t cpu = 0;
  bench_run_threads(write_events, &job, 2, (uint64_t)count, &cpu);
  return (double)cpu / 2 / count;
}

/* Write cost: alternating batches into an indexed and a plain log. */
static void report_writes(int runs) {
  enum { BATCH = 1 << 20, VARIANTS = 4096 };
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  pt_log *indexed = NULL, *plain = NULL;
  if (pt_log_create(&indexed, &cfg) != PT_OK) {
    exit(1);
  }
  cfg.no_index = 1;
  if (pt_log_create(&plain, &cfg) != PT_OK) {
    exit(1);
  }
  /* Varied ids, as in real traffic: every trace id new in its chunk. */
  pt_event *events = malloc(VARIANTS * sizeof *events);
  if (events == NULL) {
    exit(1);
  }
  for (int i = 0; i < VARIANTS; i++) {
    pt_trace_id id = pt_trace_id_new();
    uint8_t peer[32];
    for (int b = 0; b < 32; b++) {
      peer[b] = (uint8_t)rnd();
    }
    pt_event_begin(&events[i], id, (i % 4 != 0) ? peer : NULL);
    pt_event_set_packet_sent(&events[i], (uint64_t)i, 1200, 2);
  }
  double with[MAX_RUNS], without[MAX_RUNS], ratio[MAX_RUNS];
  double cpu_with[MAX_RUNS], cpu_without[MAX_RUNS], cpu_ratio[MAX_RUNS];
  for (int r = 0; r < runs + 1; r++) {
    double t0 = now_ns(), c0 = cpu_ns();
    for (int i = 0; i < BATCH; i++) {
      pt_log_write(plain, &events[i & (VARIANTS - 1)]);
    }
    double t1 = now_ns(), c1 = cpu_ns();
    for (int i = 0; i < BATCH; i++) {
      pt_log_write(indexed, &events[i & (VARIANTS - 1)]);
    }
    double t2 = now_ns(), c2 = cpu_ns();
    if (r == 0) {
      continue; /* warm-up */
    }
    without[r - 1] = (t1 - t0) / BATCH;
    with[r - 1] = (t2 - t1) / BATCH;
    ratio[r - 1] = with[r - 1] / without[r - 1];
    cpu_without[r - 1] = (c1 - c0) / BATCH;
    cpu_with[r - 1] = (c2 - c1) / BATCH;
    cpu_ratio[r - 1] = cpu_with[r - 1] / cpu_without[r - 1];
  }
  printf("\npt_log_write, one thread, ns/event (median of %d x %d events):\n",
         runs, BATCH);
  double m_without = median(without, runs), m_with = median(with, runs);
  printf("  wall: no index %.2f   with indices %.2f   ratio of medians %.2fx"
         "   median of per-run ratios %.2fx\n",
         m_without, m_with, m_with / m_without, median(ratio, runs));
  m_without = median(cpu_without, runs);
  m_with = median(cpu_with, runs);
  printf("  cpu:  no index %.2f   with indices %.2f   ratio of medians %.2fx"
         "   median of per-run ratios %.2fx\n",
         m_without, m_with, m_with / m_without, median(cpu_ratio, runs));
  for (int r = 0; r < runs; r++) {
    cpu_without[r] = two_writers(plain, events, BATCH / 2);
    cpu_with[r] = two_writers(indexed, events, BATCH / 2);
    cpu_ratio[r] = cpu_with[r] / cpu_without[r];
  }
  m_without = median(cpu_without, runs);
  m_with = median(cpu_with, runs);
  printf("  two writer threads, cpu per thread: no index %.2f   with indices "
         "%.2f   ratio of medians %.2fx   median of per-run ratios %.2fx\n",
         m_without, m_with, m_with / m_without, median(cpu_ratio, runs));
  free(events);
  pt_log_destroy(indexed);
  pt_log_destroy(plain);
}

/*
 * `bench_index write index|plain [0..4]`: only writes 2^20 events, for
 * counting instructions under callgrind; by default 3 in 4 with a peer,
 * as in report_writes.
 */
static int write_only(int indexed, int peer_every) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.no_index = !indexed;
  pt_log *log = NULL;
  if (pt_log_create(&log, &cfg) != PT_OK) {
    return 1;
  }
  pt_event ev[4];
  for (int i = 0; i < 4; i++) {
    uint8_t peer[32];
    for (int b = 0; b < 32; b++) {
      peer[b] = (uint8_t)rnd();
    }
    pt_event_begin(&ev[i], pt_trace_id_new(),
                   (i % 4) < peer_every ? peer : NULL);
    pt_event_set_packet_sent(&ev[i], (uint64_t)i, 1200, 2);
  }
  for (int i = 0; i < (1 << 20); i++) {
    pt_log_write(log, &ev[i & 3]);
  }
  pt_log_destroy(log);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "write") == 0) {
    /* argv[3]: how many of every 4 events have a peer (default 3). */
    int peer_every = argc > 3 ? atoi(argv[3]) : 3;
    return write_only(strcmp(argv[2], "index") == 0, peer_every);
  }
  int runs = argc > 1 ? atoi(argv[1]) : 11;
  if (runs < 1 || runs > MAX_RUNS) {
    fprintf(stderr, "usage: bench_index [runs 1..%d]\n", MAX_RUNS);
    return 2;
  }
  for (int i = 0; i < TRACES; i++) {
    traces[i] = pt_trace_id_new();
  }
  for (int p = 0; p < PEERS; p++) {
    for (int b = 0; b < 32; b++) {
      peers[p][b] = (uint8_t)rnd();
    }
  }
  /* trace_of[i]: event i's trace, each trace ~10 times, shuffled. */
  uint32_t *trace_of = malloc(CAPACITY * sizeof *trace_of);
  if (trace_of == NULL) {
    return 1;
  }
  for (uint32_t i = 0; i < CAPACITY; i++) {
    trace_of[i] = i / EVENTS_PER_TRACE;
  }
  for (uint32_t i = CAPACITY - 1; i > 0; i--) {
    uint32_t j = (uint32_t)(rnd() % (i + 1));
    uint32_t t = trace_of[i];
    trace_of[i] = trace_of[j];
    trace_of[j] = t;
  }
  /* Event i has trace trace_of[i % CAPACITY]: the live ring (the newest
   * CAPACITY events) holds every trace ~10 times. */
  pt_log *log = NULL;
  if (pt_log_create(&log, NULL) != PT_OK) {
    return 1;
  }
  fill(log, trace_of);
  pt_query *indexed = NULL, *scan = NULL;
  if (pt_query_create(&indexed, log, 0) != PT_OK ||
      pt_query_create(&scan, log, PT_QUERY_SCAN) != PT_OK ||
      !pt_query_is_indexed(indexed)) {
    fprintf(stderr, "needs a PT_TRACE_INDEX build\n");
    return 1;
  }
  pt_log_stats stats;
  pt_log_get_stats(log, &stats);
  printf("ring %llu events (chunks of %llu, index blocks of %llu), index "
         "memory %llu bytes (ring: %llu bytes)\n",
         (unsigned long long)stats.capacity,
         (unsigned long long)stats.chunk_size,
         (unsigned long long)log->index->chunk_size,
         (unsigned long long)pt__index_memory(stats.capacity,
                                              log->index->chunk_size),
         (unsigned long long)(stats.capacity * 136));
  printf("median of %d runs, microseconds per query\n\n", runs);
  printf("%-22s %8s %12s %12s %12s %10s\n", "query", "events", "indexed",
         "scan(query)", "scan(pt_log)", "speed-up");
  report_query("get_trace (~10 ev)", indexed, scan, log, Q_TRACE, runs);
  report_query("time_range (1%)", indexed, scan, log, Q_TIME, runs);
  report_query("by_peer (1/256)", indexed, scan, log, Q_PEER, runs);
  report_query("recent(100)", indexed, scan, log, Q_RECENT, runs);

  double c_in = time_contains(indexed, 1, 200, runs);
  double c_out = time_contains(indexed, 0, 200, runs);
  double s_in = time_contains(scan, 1, 3, runs);
  double s_out = time_contains(scan, 0, 3, runs);
  printf("%-22s %8s %12.2f %12.1f %12s %9.1fx\n", "contains (present)", "-",
         c_in / 1000, s_in / 1000, "-", s_in / c_in);
  printf("%-22s %8s %12.2f %12.1f %12s %9.1fx\n", "contains (absent)", "-",
         c_out / 1000, s_out / 1000, "-", s_out / c_out);

  /* Block filter false positives on this ring, for absent ids. */
  pt__index *ix = log->index;
  uint64_t probes = 0, maybes = 0;
  for (int k = 0; k < 10000; k++) {
    pt_trace_id absent = pt_trace_id_new();
    uint64_t h = pt__index_hash_trace_id(&absent);
    for (uint64_t c = 0; c < ix->chunk_count; c++) {
      if (pt__index_block_view(ix, log, c) != PT__BLOCK_INDEXED) {
        continue;
      }
      probes++;
      maybes += (uint64_t)pt__index_chunk_may_hold(ix, c, 0, h);
    }
  }
  printf("\ntrace filter false-positive rate per index block (absent ids): "
         "%.4f\n",
         (double)maybes / (double)probes);

  report_build(trace_of, runs);
  report_writes(runs);
  pt_query_destroy(indexed);
  pt_query_destroy(scan);
  pt_log_destroy(log);
  free(trace_of);
  return 0;
}
