/* test_clock_faketime: run under libfaketime (CMake sets LD_PRELOAD,
 * FAKETIME="+5s x1.0001" and FAKETIME_DONT_FAKE_MONOTONIC=1), the event
 * clock follows the process's shifted and rate-changed CLOCK_REALTIME, in
 * offset and in rate: what the P2P demo's injected clock skew relies on
 * (examples/p2p/demo_skew.h, tests/p2p/clock_skew.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_helpers.h"

#define SAMPLES 150 /* every 10 ms: 1.5 s, 150 us of drift at 100 ppm */

static int64_t ts_us(const struct timespec *ts) {
  return (int64_t)ts->tv_sec * 1000000 + ts->tv_nsec / 1000;
}

/* The kernel's clock: the system call itself, which libfaketime does not
 * wrap (it replaces libc's clock_gettime). */
static int64_t kernel_us(void) {
  struct timespec ts;
  syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
  return ts_us(&ts);
}

/* libc's, shifted by libfaketime. */
static int64_t libc_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts_us(&ts);
}

/* Least-squares slope of y over x. */
static double slope(const double *x, const double *y, size_t n) {
  double mx = 0, my = 0, sxy = 0, sxx = 0;
  for (size_t i = 0; i < n; i++) {
    mx += x[i] / (double)n;
    my += y[i] / (double)n;
  }
  for (size_t i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  return sxy / sxx;
}

static void test_follows_offset_and_rate(void **state) {
  (void)state;
  const char *spec = getenv("FAKETIME");
  double offset_s = 0, rate = 0;
  if (spec == NULL || sscanf(spec, "%lfs x%lf", &offset_s, &rate) != 2 ||
      getenv("LD_PRELOAD") == NULL) {
    fail_msg("run under libfaketime: FAKETIME=\"OFFs xRATE\", LD_PRELOAD");
  }
  static double x[SAMPLES], pt_off[SAMPLES];
  (void)pt_clock_now_us(); /* the first call calibrates (2 ms): not timed */
  int64_t worst_vs_libc = 0, worst_gap = 0, worst_bracket = 0;
  int worst_tries = 0;
  size_t late = 0;
  double first_libc_off = 0;
  for (size_t i = 0; i < SAMPLES; i++) {
    int64_t k0, pt, lc, k1;
    int tries = 0;
    /* A bracket that a preemption widened would weigh on the fit (a 5 ms
     * outlier at an end moves the slope by ~100 ppm): taken again, up to
     * 1000 times (a machine that slow fails the checks, never hangs), after
     * 2 ms, so that pt renews its anchor inside the new bracket: an anchor
     * whose two reads (CLOCK_REALTIME, then the TSC) a preemption split
     * lags by that preemption until it is renewed, faked clock or not. */
    struct timespec renew = {0, 2000000};
    do {
      if (tries > 0) {
        nanosleep(&renew, NULL);
      }
      k0 = kernel_us();
      pt = (int64_t)pt_clock_now_us();
      lc = libc_us();
      k1 = kernel_us();
    } while (k1 - k0 > 20 && ++tries < 1000);
    int64_t mid = (k0 + k1) / 2;
    /* pt's reading came just before libc's: within the bracket's width
     * plus a microsecond of truncation. */
    int64_t gap = lc - pt;
    int64_t slack = k1 - k0 + 1;
    int64_t outside = gap < -1 ? -1 - gap : (gap > slack ? gap - slack : 0);
    if (outside > worst_vs_libc) {
      worst_vs_libc = outside;
      worst_gap = gap;
      worst_tries = tries;
      worst_bracket = k1 - k0;
    }
    late += outside > 5;
    if (i == 0) {
      first_libc_off = (double)(lc - mid);
    }
    x[i] = (double)mid;
    pt_off[i] = (double)(pt - mid);
    struct timespec pause = {0, 10000000};
    nanosleep(&pause, NULL);
  }
  double drift_ppm = slope(x, pt_off, SAMPLES) * 1e6;
  double want_ppm = (rate - 1) * 1e6;
  print_message("FAKETIME \"%s\": libc offset %+.6f s at the first sample; "
                "event clock: drift %+.2f ppm (want %+.2f), at most %lld us "
                "from libc's clock (libc - pt %lld us, bracket %lld us, try "
                "%d; %zu of %d readings over 5 us)\n",
                spec, first_libc_off / 1e6, drift_ppm, want_ppm,
                (long long)worst_vs_libc, (long long)worst_gap,
                (long long)worst_bracket, worst_tries, late, SAMPLES);
  /* The preload acts: the offset is the nominal one plus the drift since
   * the process started (well under a second ago). */
  assert_true(first_libc_off / 1e6 > offset_s - 0.01);
  assert_true(first_libc_off / 1e6 < offset_s + 0.01);
  /* The event clock follows the rate (1.5 s of 1 us readings: the slope
   * is good to ~0.1 ppm; 2 ppm leaves room for a preempted sample)... */
  assert_true(drift_ppm > want_ppm - 2 && drift_ppm < want_ppm + 2);
  /* ...and the readings (anchor renewed each millisecond).  One in a
   * hundred may be late: under load (8 copies of this test on 2 cores) a
   * reading 22-26 us behind libc's clock inside a 20 us bracket was seen,
   * twice in about 60 runs, cause not found. */
  assert_true(late <= SAMPLES / 100);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_follows_offset_and_rate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
