/*
 * pt_bench_ir: a fixed workload for instruction counting with callgrind,
 * the figure that repeats on a shared, noisy machine.  Writes EVENTS events
 * from one thread through PT_PACKET_SENT (or, with --mutex, into the mutex
 * ring) inside bench_ir_measured(), after a warm-up of two laps of the ring
 * in bench_ir_warm().  bench/run.sh runs it as
 *   valgrind --tool=callgrind --toggle-collect=bench_ir_measured ...
 * and divides the instructions collected by EVENTS.
 *
 * Usage: pt_bench_ir [--events N] [--mutex]
 */
#include <stdio.h>
#include <string.h>

#include "bench_events.h"
#include "bench_mutex_ring.h"
#include "bench_util.h"

#define BENCH_CAPACITY 65536u

static void bench_ir_loop(pt_log *log, bench_mutex_ring *ring, uint64_t first,
                          uint64_t events) {
  pt_trace_id trace_id = bench_trace_id(0);
  for (uint64_t i = first; i < first + events; i++) {
    if (ring == NULL) {
      PT_PACKET_SENT(log, trace_id, BENCH_SIZE(i), BENCH_PN(0, i));
    } else {
      pt_event ev;
      bench_make_event(&ev, trace_id, BENCH_SIZE(i), BENCH_PN(0, i));
      bench_mutex_ring_write(ring, &ev);
    }
  }
}

__attribute__((noinline)) static void
bench_ir_warm(pt_log *log, bench_mutex_ring *ring, uint64_t events) {
  bench_ir_loop(log, ring, 0, events);
}

__attribute__((noinline)) static void
bench_ir_measured(pt_log *log, bench_mutex_ring *ring, uint64_t events) {
  bench_ir_loop(log, ring, 1u << 30, events);
}

int main(int argc, char **argv) {
  uint64_t events = 1u << 18;
  int mutex = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
      events = bench_parse_count("--events", argv[++i]);
    } else if (strcmp(argv[i], "--mutex") == 0) {
      mutex = 1;
    } else {
      fprintf(stderr, "usage: %s [--events N] [--mutex]\n", argv[0]);
      return 2;
    }
  }
  pt_log *log = NULL;
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = BENCH_CAPACITY;
  if (pt_log_create(&log, &cfg) != PT_OK) {
    fprintf(stderr, "pt_log_create failed\n");
    return 1;
  }
  bench_mutex_ring ring;
  if (mutex &&
      bench_mutex_ring_init(&ring, BENCH_CAPACITY, BENCH_STAMP_REALTIME) != 0) {
    return 1;
  }
  bench_ir_warm(log, mutex ? &ring : NULL, 2 * BENCH_CAPACITY);
  bench_ir_measured(log, mutex ? &ring : NULL, events);
  pt_log_stats st;
  pt_log_get_stats(log, &st);
  printf("pt_bench_ir: %llu events measured (%s); log overwritten %llu, "
         "dropped %llu\n",
         (unsigned long long)events, mutex ? "mutex ring" : "peertrace",
         (unsigned long long)st.overwritten, (unsigned long long)st.dropped);
  if (mutex) {
    bench_mutex_ring_free(&ring);
  }
  pt_log_destroy(log);
  return 0;
}
