/* test_clock: the event clock agrees with CLOCK_REALTIME and never goes
 * backwards within a thread, on the TSC path and the fallback path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "test_helpers.h"

static uint64_t realtime_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void test_agrees_with_realtime_and_is_monotonic(void **state) {
  (void)state;
  uint64_t prev = 0;
  uint64_t worst = 0;
  /* ~50 ms of readings spans many anchor renewals (one per ms). */
  uint64_t end = realtime_us() + 50000;
  while (realtime_us() < end) {
    uint64_t before = realtime_us();
    uint64_t now = pt_clock_now_us();
    uint64_t after = realtime_us();
    assert_true(now >= prev);
    prev = now;
    /* Within a few us of the realtime bracket (calibration error is ~ns
     * per ms; a preemption can only widen the bracket). */
    uint64_t off =
        now + 5 < before ? before - now : (now > after + 5 ? now - after : 0);
    if (off > worst) {
      worst = off;
    }
  }
  print_message("worst distance outside the realtime bracket: %llu us\n",
                (unsigned long long)worst);
  assert_true(worst == 0);
}

static void test_event_timestamps_in_bracket(void **state) {
  (void)state;
  pt_log *log = NULL;
  assert_int_equal(pt_log_create(&log, NULL), PT_OK);
  pt_event ev;
  pt_test_make_event(&ev, 0, 0);
  uint64_t before = realtime_us();
  pt_log_write(log, &ev);
  uint64_t after = realtime_us();
  pt_event *events = NULL;
  size_t count = 0;
  assert_int_equal(pt_log_recent(log, 1, &events, &count), PT_OK);
  assert_int_equal(count, 1);
  assert_true(events[0].timestamp_us + 5 >= before);
  assert_true(events[0].timestamp_us <= after + 5);
  pt_events_free(events);
  pt_log_destroy(log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_agrees_with_realtime_and_is_monotonic),
      cmocka_unit_test(test_event_timestamps_in_bracket),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
