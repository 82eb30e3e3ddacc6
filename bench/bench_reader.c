/*
 * bench_reader: what reading a whole ring costs through the ring's reader
 * (src/pt_ring_read.h): pt_log_dump_save (a snapshot, sorted, written to a
 * file in /dev/shm or the directory given) and a follower's first poll from
 * the start (every slot, sorted).  The ring is full and has wrapped, so a
 * read in slot order is two ascending runs, as a real ring is.  Thread CPU
 * time (less disturbed by other jobs on a shared machine), median of runs,
 * nanoseconds per slot.
 *
 * Usage: bench_reader [runs] [dir]   (default 9, /dev/shm)
 */
#define _GNU_SOURCE
#include <peertrace/peertrace.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"

enum { MAX_RUNS = 101 };

/* A ring of `capacity` slots written 1.5 times, times 2 us apart with
 * jitter (pt_log_write_at), as bench_index writes its ring. */
static pt_log *filled_log(size_t capacity) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = capacity;
  cfg.no_index = 1;
  pt_log *log = NULL;
  if (pt_log_create(&log, &cfg) != PT_OK) {
    fprintf(stderr, "bench_reader: cannot create a %zu-slot log\n", capacity);
    exit(1);
  }
  pt_trace_id id = pt_trace_id_new();
  uint64_t rng = 0x2545f4914f6cdd1du;
  for (size_t i = 0; i < capacity + capacity / 2; i++) {
    pt_event ev;
    pt_event_begin(&ev, id, NULL);
    pt_event_set_packet_sent(&ev, i, 1200, PT_PN_SPACE_APPLICATION);
    ev.timestamp_us = 1700000000000000u + 2 * i + bench_xorshift64(&rng) % 3;
    pt_log_write_at(log, &ev);
  }
  return log;
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 9;
  const char *dir = argc > 2 ? argv[2] : "/dev/shm";
  if (runs < 1 || runs > MAX_RUNS) {
    fprintf(stderr, "usage: bench_reader [runs 1-%d] [dir]\n", MAX_RUNS);
    return 2;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/bench_reader.%d.ptd", dir, (int)getpid());
  printf("bench_reader: median of %d runs, thread CPU ns per slot\n", runs);
  printf("%-10s %14s %20s\n", "slots", "dump_save", "follow first poll");
  const size_t sizes[] = {4096, 65536, 1048576};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t capacity = sizes[s];
    pt_log *log = filled_log(capacity);
    double save[MAX_RUNS], poll[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
      uint64_t t0 = bench_thread_cpu_ns();
      if (pt_log_dump_save(log, path) != PT_OK) {
        fprintf(stderr, "bench_reader: cannot save %s\n", path);
        return 1;
      }
      save[r] = (double)(bench_thread_cpu_ns() - t0) / (double)capacity;
      pt_follow *f = NULL;
      if (pt_follow_create(&f, log, PT_FOLLOW_FROM_START) != PT_OK) {
        fprintf(stderr, "bench_reader: cannot follow\n");
        return 1;
      }
      const pt_event *events;
      size_t count;
      uint64_t missed;
      t0 = bench_thread_cpu_ns();
      if (pt_follow_poll(f, &events, &count, &missed) != PT_OK ||
          count + missed != capacity + capacity / 2) {
        fprintf(stderr, "bench_reader: the poll did not account for every "
                        "event\n");
        return 1;
      }
      poll[r] = (double)(bench_thread_cpu_ns() - t0) / (double)capacity;
      pt_follow_destroy(f);
    }
    unlink(path);
    printf("%-10zu %14.1f %20.1f\n", capacity, bench_median(save, (size_t)runs),
           bench_median(poll, (size_t)runs));
    pt_log_destroy(log);
  }
  return 0;
}
