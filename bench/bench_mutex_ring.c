/* bench_mutex_ring: see bench_mutex_ring.h. */
#define _GNU_SOURCE
#include "bench_mutex_ring.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define BENCH_HAVE_TSC 1
#else
#define BENCH_HAVE_TSC 0
#endif

int bench_mutex_ring_init(bench_mutex_ring *ring, uint64_t capacity,
                          bench_stamp stamp) {
  memset(ring, 0, sizeof *ring);
  ring->slots = aligned_alloc(128, capacity * sizeof(pt_event));
  if (ring->slots == NULL) {
    return -1;
  }
  /* Touch every page now so that no run pays the page faults. */
  memset(ring->slots, 0, capacity * sizeof(pt_event));
  ring->mask = capacity - 1;
  ring->stamp = stamp;
  pthread_mutex_init(&ring->lock, NULL);
  return 0;
}

void bench_mutex_ring_free(bench_mutex_ring *ring) {
  pthread_mutex_destroy(&ring->lock);
  free(ring->slots);
  ring->slots = NULL;
}

static uint64_t bench_stamp_now(bench_stamp stamp) {
#if BENCH_HAVE_TSC
  if (stamp == BENCH_STAMP_TSC) {
    return __rdtsc();
  }
#else
  (void)stamp;
#endif
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) / 1000u;
}

void bench_mutex_ring_write(bench_mutex_ring *ring, const pt_event *ev) {
  /* Stamped before the lock, so the clock read is not serialised. */
  uint64_t now = bench_stamp_now(ring->stamp);
  pthread_mutex_lock(&ring->lock);
  pt_event *slot = &ring->slots[ring->head & ring->mask];
  ring->overwritten += ring->head > ring->mask;
  memcpy(slot, ev, sizeof *slot);
  slot->timestamp_us = now;
  ring->head++;
  pthread_mutex_unlock(&ring->lock);
}
