/*
 * pt_bench_ir: a fixed workload for instruction counting with callgrind,
 * the figure that repeats on a shared, noisy machine.  Records EVENTS events
 * from one thread inside bench_ir_measured(), after a warm-up of two laps
 * of the ring in bench_ir_warm(), in one of three ways:
 *   --macro  PT_PACKET_SENT (default): what instrumented code runs
 *   --write  a pt_event built by the caller, recorded with PT_EVENT, which
 *            calls pt_log_write
 *   --mutex  the same pt_event into the mutex ring, for comparison
 * and, with --no-index (index builds), into a log created with no_index:
 * the ring alone.
 * bench/run.sh runs it as
 *   valgrind --tool=callgrind --toggle-collect=bench_ir_measured ...
 * and divides the instructions collected by EVENTS.
 *
 * Usage: pt_bench_ir [--events N] [--macro | --write | --mutex] [--no-index]
 */
#include <stdio.h>
#include <string.h>

#include "bench_events.h"
#include "bench_mutex_ring.h"
#include "bench_util.h"

#define BENCH_CAPACITY 65536u

typedef enum bench_ir_mode {
  BENCH_IR_MACRO,
  BENCH_IR_WRITE,
  BENCH_IR_MUTEX
} bench_ir_mode;

static void bench_ir_loop(bench_ir_mode mode, pt_log *log,
                          bench_mutex_ring *ring, uint64_t first,
                          uint64_t events) {
  pt_trace_id trace_id = bench_trace_id(0);
  for (uint64_t i = first; i < first + events; i++) {
    if (mode == BENCH_IR_MACRO) {
      PT_PACKET_SENT(log, trace_id, BENCH_SIZE(i), BENCH_PN(0, i));
      continue;
    }
    pt_event ev;
    bench_make_event(&ev, trace_id, BENCH_SIZE(i), BENCH_PN(0, i));
    if (mode == BENCH_IR_WRITE) {
      PT_EVENT(log, ev);
    } else {
      bench_mutex_ring_write(ring, &ev);
    }
  }
}

__attribute__((noinline)) static void bench_ir_warm(bench_ir_mode mode,
                                                    pt_log *log,
                                                    bench_mutex_ring *ring,
                                                    uint64_t events) {
  bench_ir_loop(mode, log, ring, 0, events);
}

__attribute__((noinline)) static void bench_ir_measured(bench_ir_mode mode,
                                                        pt_log *log,
                                                        bench_mutex_ring *ring,
                                                        uint64_t events) {
  bench_ir_loop(mode, log, ring, 1u << 30, events);
}

int main(int argc, char **argv) {
  static const char *const names[] = {"PT_PACKET_SENT", "PT_EVENT",
                                      "mutex ring"};
  uint64_t events = 1u << 18;
  bench_ir_mode mode = BENCH_IR_MACRO;
  int no_index = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
      events = bench_parse_count("--events", argv[++i]);
    } else if (strcmp(argv[i], "--macro") == 0) {
      mode = BENCH_IR_MACRO;
    } else if (strcmp(argv[i], "--write") == 0) {
      mode = BENCH_IR_WRITE;
    } else if (strcmp(argv[i], "--mutex") == 0) {
      mode = BENCH_IR_MUTEX;
    } else if (strcmp(argv[i], "--no-index") == 0) {
      no_index = 1;
    } else {
      fprintf(stderr,
              "usage: %s [--events N] [--macro | --write | --mutex] "
              "[--no-index]\n",
              argv[0]);
      return 2;
    }
  }
  pt_log *log = bench_log_new(BENCH_CAPACITY, no_index);
  bench_mutex_ring ring;
  if (bench_mutex_ring_init(&ring, BENCH_CAPACITY, BENCH_STAMP_REALTIME) != 0) {
    pt_log_destroy(log);
    return 1;
  }
  bench_ir_warm(mode, log, &ring, 2 * BENCH_CAPACITY);
  bench_ir_measured(mode, log, &ring, events);
  pt_log_stats st;
  pt_log_get_stats(log, &st);
  printf("pt_bench_ir: %llu events measured (%s); log overwritten %llu, "
         "dropped %llu; mutex ring overwritten %llu\n",
         (unsigned long long)events, names[mode],
         (unsigned long long)st.overwritten, (unsigned long long)st.dropped,
         (unsigned long long)ring.overwritten);
  bench_mutex_ring_free(&ring);
  pt_log_destroy(log);
  return 0;
}
