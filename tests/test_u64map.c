/*
 * test_u64map: the exporters' hash map (src/pt_u64map.h) against a plain
 * array, under inserts and deletes of keys that collide on purpose (same
 * low bits, so long probe runs that wrap around the table), which is where
 * backward-shift deletion goes wrong if it does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pt_u64map.h"

#define KEYS 3000

static uint64_t rng = 88172645463325252ull;
static uint64_t next_random(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void test_against_array(void **state) {
  (void)state;
  pt__u64map m = {0};
  static uint64_t keys[KEYS];
  static int present[KEYS];
  static uint32_t values[KEYS];
  for (unsigned i = 0; i < KEYS; i++) {
    /* A few home slots only: low 6 bits from 0..3, the rest distinct. */
    keys[i] =
        ((uint64_t)(i + 1) << 20) | (next_random() & 3u) | ((uint64_t)1 << 63);
  }
  for (unsigned round = 0; round < 200000; round++) {
    unsigned i = (unsigned)(next_random() % KEYS);
    if (next_random() % 3 != 0) {
      pt__u64slot *s = pt__u64map_get(&m, keys[i]);
      assert_non_null(s);
      assert_int_equal(s->a, present[i] ? values[i] : 0);
      s->a = values[i] = (uint32_t)round + 1;
      present[i] = 1;
    } else {
      pt__u64map_delete(&m, keys[i]);
      present[i] = 0;
    }
    if (round % 5000 == 0) {
      size_t count = 0;
      for (unsigned k = 0; k < KEYS; k++) {
        pt__u64slot *s = pt__u64map_find(&m, keys[k]);
        if (present[k]) {
          assert_non_null(s);
          assert_int_equal(s->a, values[k]);
          count++;
        } else {
          assert_null(s);
        }
      }
      assert_int_equal(m.count, count);
    }
  }
  pt__u64map_free(&m);
  assert_null(pt__u64map_find(&m, keys[0]));
}

static void test_key_zero(void **state) {
  (void)state;
  pt__u64map m = {0};
  /* Key 0 marks an empty slot: it is stored as key 1. */
  pt__u64slot *s = pt__u64map_get(&m, 0);
  assert_non_null(s);
  s->b = 7;
  assert_int_equal(pt__u64map_find(&m, 1)->b, 7);
  assert_int_equal(pt__u64map_find(&m, 0)->b, 7);
  pt__u64map_delete(&m, 0);
  assert_null(pt__u64map_find(&m, 1));
  assert_int_equal(m.count, 0);
  pt__u64map_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_against_array),
      cmocka_unit_test(test_key_zero),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
