/*
 * pt_clock: Unix time in nanoseconds, cheaply.
 *
 * The event clock is the CPU's invariant TSC (rdtsc, ~10 ns here, against
 * ~23 ns for clock_gettime through the vDSO).  Each thread keeps an anchor
 * pairing a TSC value with CLOCK_REALTIME (the clock read between two TSC
 * reads, read again when a preemption widened them) and renews it once per
 * millisecond of TSC time, so the conversion error stays in nanoseconds
 * however long the process runs and NTP adjustments are followed.  Without
 * an invariant TSC (or with PT_CLOCK=realtime in the environment) every
 * read is a clock_gettime(CLOCK_REALTIME).
 *
 * Per thread, time never goes backwards: a renewed anchor (or a stepped-back
 * CLOCK_REALTIME) starts no earlier than the thread's previous reading, so
 * one thread's events keep their program order when sorted by time.  The
 * calibration error (~1e-5) bounds how far that can hold the clock ahead of
 * CLOCK_REALTIME: a few tens of nanoseconds per millisecond window, never
 * accumulating.
 */
#ifndef PT_CLOCK_H
#define PT_CLOCK_H

#include <stdint.h>

#include "pt_common.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define PT__HAVE_TSC 1
#else
#define PT__HAVE_TSC 0
#endif

typedef struct pt__clock_params {
  int use_tsc;              /* 1: TSC + anchor, 0: clock_gettime per read */
  uint64_t ns_per_tick_q32; /* nanoseconds per tick, 32.32 fixed point */
  uint64_t anchor_ticks;    /* renew the anchor after this many ticks */
} pt__clock_params;

typedef struct pt__clock_anchor {
  uint64_t tsc;
  uint64_t ns;
  uint64_t last; /* last value returned to this thread: time never goes back */
} pt__clock_anchor;

extern pt__clock_params pt__clock;
extern PT__TLS pt__clock_anchor pt__anchor;

/* Calibrates once per process (pthread_once); cheap after the first call. */
void pt__clock_init(void);
/* Slow path: renews this thread's anchor and returns the current time. */
uint64_t pt__clock_reanchor(void);
/* CLOCK_REALTIME in ns, raw. */
uint64_t pt__clock_realtime_ns(void);
/* CLOCK_REALTIME in ns, never below this thread's previous reading. */
uint64_t pt__clock_realtime_monotone_ns(void);

/*
 * The TSC fast path alone: returns 1 with the current Unix time in *ns, or 0
 * when only pt__clock_now_ns can tell (a fresh thread, an anchor over a
 * millisecond old, a TSC that went backwards, or no usable TSC).  Lets the
 * writers keep every call out of their fast path.
 */
static inline int pt__clock_now_ns_fast(uint64_t *ns) {
#if PT__HAVE_TSC
  if (PT__LIKELY(pt__clock.use_tsc)) {
    uint64_t delta = __rdtsc() - pt__anchor.tsc;
    /* A fresh thread (tsc 0) or a TSC that went backwards fails this too. */
    if (PT__LIKELY(delta < pt__clock.anchor_ticks)) {
      *ns = pt__anchor.ns + ((delta * pt__clock.ns_per_tick_q32) >> 32);
      pt__anchor.last = *ns;
      return 1;
    }
  }
#else
  (void)ns;
#endif
  return 0;
}

/* Current Unix time in ns.  pt__clock_init() must have run. */
static inline uint64_t pt__clock_now_ns(void) {
  uint64_t ns;
  if (PT__LIKELY(pt__clock_now_ns_fast(&ns))) {
    return ns;
  }
#if PT__HAVE_TSC
  if (PT__LIKELY(pt__clock.use_tsc)) {
    return pt__clock_reanchor();
  }
#endif
  return pt__clock_realtime_monotone_ns();
}

#endif /* PT_CLOCK_H */
