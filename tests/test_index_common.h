/* Shared by the query, index and query engine tests: a seeded generator,
 * a log, the events of the model tests, answer comparison, file logs. */
#ifndef PT_TEST_INDEX_COMMON_H
#define PT_TEST_INDEX_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <peertrace/peertrace.h>

#include "test_helpers.h"

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

/*
 * Event i of a randomized model test: a packet_sent of one of the first
 * ntraces trace ids, with one of the first npeers peer ids or (1 time in
 * npeers + 2 times 2) none, sequence i, stamped to rise 3 us per event with
 * up to 40 us of jitter (ties and disorder, as with several writers) and,
 * if far_one_in is not 0, one time in far_one_in anywhere in the first
 * 3 x span_events events' time.
 */
static inline void pt_test_model_event(pt_event *ev, size_t i,
                                       const pt_trace_id *traces,
                                       size_t ntraces, uint8_t (*peers)[32],
                                       size_t npeers, uint64_t base_time,
                                       unsigned far_one_in,
                                       size_t span_events) {
  size_t peer = (size_t)(pt_test_rnd() % (npeers + 2));
  pt_event_begin(ev, traces[pt_test_rnd() % ntraces],
                 peer < npeers ? peers[peer] : NULL);
  pt_event_set_packet_sent(ev, i, (uint32_t)(pt_test_rnd() % 1500),
                           (uint8_t)(pt_test_rnd() % 3));
  ev->sequence = (uint32_t)i;
  ev->timestamp_us = base_time + i * 3 - (pt_test_rnd() % 40);
  if (far_one_in != 0 && pt_test_rnd() % far_one_in == 0) {
    ev->timestamp_us = base_time + pt_test_rnd() % (3 * span_events);
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

/*
 * The helpers below use cmocka's assertions: include this header after
 * <cmocka.h>.
 */

/* Two answers are the same events in the same order (NULL when empty). */
static inline void pt_test_expect_same(const pt_event *want, size_t want_count,
                                       const pt_event *got, size_t got_count) {
  assert_int_equal(got_count, want_count);
  if (want_count == 0) {
    assert_null(got);
  }
  for (size_t i = 0; i < want_count; i++) {
    assert_memory_equal(&got[i], &want[i], sizeof(pt_event));
  }
}

/* A file-backed log in a fresh directory dir (a mkdtemp template). */
typedef struct pt_test_file_log {
  char dir[64];
  char path[80];
  pt_log *log;
} pt_test_file_log;

static inline void pt_test_file_log_create(pt_test_file_log *f,
                                           const char *name, size_t capacity) {
  snprintf(f->dir, sizeof f->dir, "/tmp/%s.XXXXXX", name);
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->path, sizeof f->path, "%s/log", f->dir);
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = capacity;
  cfg.file_path = f->path;
  f->log = NULL;
  assert_int_equal(pt_log_create(&f->log, &cfg), PT_OK);
}

/*
 * The start of a model test of `total` writes into `log`, made with
 * `capacity` slots: *m empty, with room for them all and log's chunk size.
 * Returns an answer buffer as large.  Free both with free(m->events) and
 * free() of the buffer.
 */
static inline pt_event *pt_test_model_start(pt_test_model *m, pt_log *log,
                                            size_t capacity, size_t total) {
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(log, &stats), PT_OK);
  m->events = calloc(total, sizeof(pt_event));
  m->count = 0;
  m->capacity = capacity;
  m->chunk = stats.chunk_size;
  pt_event *want = calloc(total, sizeof(pt_event));
  assert_non_null(m->events);
  assert_non_null(want);
  return want;
}

/* Writes ev into the log (its own timestamp) and into the model. */
static inline void pt_test_model_write(pt_log *log, pt_test_model *m,
                                       const pt_event *ev) {
  pt_log_write_at(log, ev);
  m->events[m->count++] = *ev;
}

/* The ids a model test's events take (pt_test_model_event). */
typedef struct pt_test_model_ids {
  const pt_trace_id *traces;
  size_t trace_count;
  uint8_t (*peers)[32];
  size_t peer_count;
  unsigned far_one_in;
} pt_test_model_ids;

/* Where a model test's event times start. */
#define PT_TEST_MODEL_BASE_TIME 1700000000000000u

/* A model test's questions to the log and its model; want has room for
 * every write. */
typedef void pt_test_model_ask(const pt_test_model *m, pt_event *want,
                               void *user);

/*
 * A model test: `laps` times capacity writes and a random part of one more
 * into `log` (made with `capacity` slots) and the model, event i by
 * pt_test_model_event with `ids`; now and then (one write in capacity / 2,
 * mid-stream and across wraps) ask(m, want, user).  At the end the log
 * counts as overwritten what the model does.
 */
static inline void pt_test_model_run(pt_log *log, size_t capacity, size_t laps,
                                     const pt_test_model_ids *ids,
                                     pt_test_model_ask *ask, void *user) {
  size_t total = capacity * laps + (size_t)(pt_test_rnd() % capacity);
  pt_test_model m;
  pt_event *want = pt_test_model_start(&m, log, capacity, total);
  for (size_t i = 0; i < total; i++) {
    pt_event ev;
    pt_test_model_event(&ev, i, ids->traces, ids->trace_count, ids->peers,
                        ids->peer_count, PT_TEST_MODEL_BASE_TIME,
                        ids->far_one_in, total);
    pt_test_model_write(log, &m, &ev);
    if (pt_test_rnd() % (capacity / 2) == 0) {
      ask(&m, want, user);
    }
  }
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(log, &stats), PT_OK);
  assert_int_equal(stats.overwritten, pt_test_model_first_live(&m));
  free(want);
  free(m.events);
}

/* Destroys the log and removes its file and directory. */
static inline void pt_test_file_log_remove(pt_test_file_log *f) {
  pt_log_destroy(f->log);
  assert_int_equal(unlink(f->path), 0);
  assert_int_equal(rmdir(f->dir), 0);
}

#endif
