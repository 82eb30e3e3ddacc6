/* test_clock_anchor: a preemption between the two reads of a thread's clock
 * anchor (CLOCK_REALTIME, then the TSC) does not make that thread's times
 * early.  clock_gettime is wrapped (-Wl,--wrap, static library only): armed,
 * its next CLOCK_REALTIME read stalls 300 us after reading the clock, as a
 * preemption there would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "pt_clock.h"
#include "test_helpers.h"

int __real_clock_gettime(clockid_t clock, struct timespec *ts);
int __wrap_clock_gettime(clockid_t clock, struct timespec *ts);

static int stall_next; /* one thread only: no atomics needed */

static int64_t ts_us(const struct timespec *ts) {
  return (int64_t)ts->tv_sec * 1000000 + ts->tv_nsec / 1000;
}

int __wrap_clock_gettime(clockid_t clock, struct timespec *ts) {
  int rc = __real_clock_gettime(clock, ts);
  if (clock == CLOCK_REALTIME && stall_next) {
    stall_next = 0;
    struct timespec start, now;
    __real_clock_gettime(CLOCK_MONOTONIC, &start);
    do {
      __real_clock_gettime(CLOCK_MONOTONIC, &now);
    } while (ts_us(&now) - ts_us(&start) < 300);
  }
  return rc;
}

static int64_t realtime_us(void) {
  struct timespec ts;
  __real_clock_gettime(CLOCK_REALTIME, &ts);
  return ts_us(&ts);
}

static void test_stalled_anchor_is_not_kept(void **state) {
  (void)state;
  pt__clock_init();
  if (!pt__clock.use_tsc) {
    skip(); /* no invariant TSC: every read is a clock_gettime */
  }
  int64_t worst = 0;
  for (int round = 0; round < 5; round++) {
    /* An anchor over a millisecond old is renewed by the next read. */
    struct timespec pause = {0, 2000000};
    nanosleep(&pause, NULL);
    stall_next = 1;
    (void)pt_clock_now_us(); /* renews the anchor: its clock read stalls */
    assert_int_equal(stall_next, 0);
    /* Within the anchor's millisecond: the fast path, from that anchor. */
    int64_t before = realtime_us();
    int64_t pt = (int64_t)pt_clock_now_us();
    int64_t after = realtime_us();
    int64_t early = before - pt;
    int64_t late = pt - after;
    if (early > worst) {
      worst = early;
    }
    if (late > worst) {
      worst = late;
    }
  }
  print_message("worst distance outside the realtime bracket after a "
                "stalled anchor read: %lld us\n",
                (long long)worst);
  /* A kept stalled anchor would be ~300 us early. */
  assert_true(worst <= 20);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stalled_anchor_is_not_kept),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
