/* Shared by the index and query engine tests: a seeded generator, a log. */
#ifndef PT_TEST_INDEX_COMMON_H
#define PT_TEST_INDEX_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <peertrace/peertrace.h>

/* xorshift64: the same sequence for the same seed, on every platform. */
static uint64_t pt_test_rng_state = 1;
static inline void pt_test_seed(uint64_t seed) {
  pt_test_rng_state = seed != 0 ? seed : 1;
}
static inline uint64_t pt_test_rnd(void) {
  pt_test_rng_state ^= pt_test_rng_state << 13;
  pt_test_rng_state ^= pt_test_rng_state >> 7;
  pt_test_rng_state ^= pt_test_rng_state << 17;
  return pt_test_rng_state;
}

static inline void pt_test_random_bytes(uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    out[i] = (uint8_t)pt_test_rnd();
  }
}

/* A log of `capacity` slots (NULL on failure); no_index as in the config. */
static inline pt_log *pt_test_log(size_t capacity, int no_index) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = capacity;
  cfg.no_index = no_index;
  pt_log *log = NULL;
  return pt_log_create(&log, &cfg) == PT_OK ? log : NULL;
}

#endif
