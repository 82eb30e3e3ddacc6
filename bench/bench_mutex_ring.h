/*
 * bench_mutex_ring: the plain baseline a flight recorder is compared with.
 *
 * A fixed ring of 128-byte pt_event slots behind one pthread mutex: stamp
 * the event, lock, copy it into the slot at head, advance head, unlock.
 * When full it overwrites the oldest slot and counts it, like pt_log.  It is
 * what one writes in ten minutes, and it is correct: no torn events, no
 * lost counts.  Two stamping clocks, so the table can separate the cost of
 * the lock from the cost of the clock:
 *   BENCH_STAMP_REALTIME  clock_gettime(CLOCK_REALTIME), the plain way
 *   BENCH_STAMP_TSC       raw rdtsc ticks (no conversion), as cheap as
 *                         pt_log's clock, to show the lock alone
 */
#ifndef BENCH_MUTEX_RING_H
#define BENCH_MUTEX_RING_H

#include <pthread.h>
#include <stdint.h>

#include <peertrace/peertrace.h>

typedef enum bench_stamp { BENCH_STAMP_REALTIME, BENCH_STAMP_TSC } bench_stamp;

typedef struct bench_mutex_ring {
  pthread_mutex_t lock;
  pt_event *slots;
  uint64_t mask;
  uint64_t head;        /* guarded by lock */
  uint64_t overwritten; /* guarded by lock */
  bench_stamp stamp;
} bench_mutex_ring;

/* capacity: a power of two.  Returns 0, or -1 if out of memory. */
int bench_mutex_ring_init(bench_mutex_ring *ring, uint64_t capacity,
                          bench_stamp stamp);
void bench_mutex_ring_free(bench_mutex_ring *ring);

/* Records a copy of *ev stamped with the current time.  Thread-safe. */
void bench_mutex_ring_write(bench_mutex_ring *ring, const pt_event *ev);

#endif /* BENCH_MUTEX_RING_H */
