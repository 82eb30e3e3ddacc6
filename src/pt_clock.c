/* pt_clock: TSC calibration and per-thread anchors (see pt_clock.h). */
#define _GNU_SOURCE
#include "pt_clock.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if PT__HAVE_TSC
#include <cpuid.h>
#endif

pt__clock_params pt__clock;
PT__TLS pt__clock_anchor pt__anchor;

static pthread_once_t pt__clock_once = PTHREAD_ONCE_INIT;

/* Reads of an anchor's clock pair at most (pt__clock_reanchor). */
#define PT__ANCHOR_TRIES 8

static uint64_t pt__timespec_ns(const struct timespec *ts) {
  return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

uint64_t pt__clock_realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return pt__timespec_ns(&ts);
}

#if PT__HAVE_TSC
static int pt__tsc_is_invariant(void) {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(0x80000000u, &eax, &ebx, &ecx, &edx) || eax < 0x80000007u) {
    return 0;
  }
  __get_cpuid(0x80000007u, &eax, &ebx, &ecx, &edx);
  return (edx >> 8) & 1u; /* "Invariant TSC": constant rate, never stops */
}

/*
 * One (tsc, monotonic ns) pair, taken where the two TSC reads around the
 * clock_gettime are closest together, so a preemption in between cannot
 * skew it.
 */
static void pt__clock_pair(uint64_t *tsc, uint64_t *ns) {
  uint64_t best = UINT64_MAX;
  for (int i = 0; i < 16; i++) {
    struct timespec ts;
    uint64_t before = __rdtsc();
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    uint64_t after = __rdtsc();
    if (after - before < best) {
      best = after - before;
      *tsc = before + (after - before) / 2;
      *ns = pt__timespec_ns(&ts);
    }
  }
}

static void pt__clock_calibrate(void) {
  uint64_t tsc0, ns0, tsc1, ns1;
  pt__clock_pair(&tsc0, &ns0);
  struct timespec pause = {0, 2000000}; /* 2 ms: error ~1e-5, see header */
  nanosleep(&pause, NULL);
  pt__clock_pair(&tsc1, &ns1);
  if (tsc1 <= tsc0 || ns1 <= ns0) {
    return; /* TSC unusable: stay on clock_gettime */
  }
  double ns_per_tick = (double)(ns1 - ns0) / (double)(tsc1 - tsc0);
  pt__clock.ns_per_tick_q32 = (uint64_t)(ns_per_tick * 4294967296.0);
  /* 1 ms of ticks: keeps delta * ns_per_tick_q32 far below 2^64. */
  pt__clock.anchor_ticks = (uint64_t)(1000000.0 / ns_per_tick);
  pt__clock.use_tsc =
      pt__clock.ns_per_tick_q32 > 0 && pt__clock.anchor_ticks > 0;
}
#endif

static void pt__clock_setup(void) {
  memset(&pt__clock, 0, sizeof pt__clock);
#if PT__HAVE_TSC
  const char *choice = getenv("PT_CLOCK");
  if ((choice == NULL || strcmp(choice, "realtime") != 0) &&
      pt__tsc_is_invariant()) {
    pt__clock_calibrate();
  }
#endif
}

void pt__clock_init(void) {
  pthread_once(&pt__clock_once, pt__clock_setup);
}

uint64_t pt__clock_realtime_monotone_ns(void) {
  uint64_t now = pt__clock_realtime_ns();
  if (now < pt__anchor.last) {
    now = pt__anchor.last;
  }
  pt__anchor.last = now;
  return now;
}

uint64_t pt__clock_reanchor(void) {
#if PT__HAVE_TSC
  /*
   * The anchor pairs a TSC value with CLOCK_REALTIME.  Read one after the
   * other, a preemption between the two would make this thread's times
   * early by its length until the next anchor: a receive could then be
   * stamped before its send.  So the clock read is bracketed by two TSC
   * reads and the anchor is the bracket's middle; a bracket wider than
   * ~2 us (a preemption) is read again, up to PT__ANCHOR_TRIES times, the
   * tightest kept.
   */
  uint64_t best = UINT64_MAX, tsc = 0, now = 0;
  uint64_t tight = pt__clock.anchor_ticks / 500; /* 2 us of ticks */
  for (int i = 0; i < PT__ANCHOR_TRIES && best > tight; i++) {
    uint64_t before = __rdtsc();
    uint64_t ns = pt__clock_realtime_ns();
    uint64_t after = __rdtsc();
    if (after - before < best) {
      best = after - before;
      tsc = before + best / 2;
      now = ns;
    }
  }
  if (now < pt__anchor.last) {
    now = pt__anchor.last; /* time never goes back in a thread */
  }
  pt__anchor.last = now;
  pt__anchor.tsc = tsc;
  pt__anchor.ns = now;
  return now;
#else
  return pt__clock_realtime_monotone_ns();
#endif
}

uint64_t pt_clock_now_us(void) {
  pt__clock_init();
  return pt__clock_now_ns() / 1000u;
}
