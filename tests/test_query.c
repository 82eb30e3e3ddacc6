/*
 * test_query: every scan query against a reference model, randomized with
 * fixed seeds, across wraparound, with timestamps that are not in write
 * order (as with several writer threads, or imported events).
 *
 * The model keeps every event ever written; the live ones are the newest
 * `capacity` writes minus the slots the writer's current chunk has already
 * reclaimed (the ring reuses space a chunk at a time: see pt_log_write.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "test_helpers.h"
#include "test_index_common.h"

typedef pt_test_model model;

typedef int (*filter_fn)(const pt_event *ev, const void *arg);

/* Live events passing `filter`, sorted by (timestamp, write order). */
static size_t model_query(const model *m, filter_fn filter, const void *arg,
                          pt_event *out) {
  size_t n = 0;
  for (size_t i = pt_test_model_first_live(m); i < m->count; i++) {
    if (filter == NULL || filter(&m->events[i], arg)) {
      out[n++] = m->events[i];
    }
  }
  pt_test_sort_by_time(out, n);
  return n;
}

static int by_trace(const pt_event *ev, const void *arg) {
  return memcmp(&ev->trace_id, arg, 16) == 0;
}

static int by_peer(const pt_event *ev, const void *arg) {
  return (ev->flags & PT_EVENT_HAS_PEER) && memcmp(ev->peer_id, arg, 32) == 0;
}

typedef struct window {
  uint64_t start, end;
} window;

static int by_time(const pt_event *ev, const void *arg) {
  const window *w = arg;
  return ev->timestamp_us >= w->start && ev->timestamp_us < w->end;
}

/* A scan test: the log, and the ids its events take. */
typedef struct scan_test {
  pt_log *log;
  const pt_trace_id *traces; /* 8 */
  uint8_t (*peers)[32];      /* 4 */
} scan_test;

/* One question of each kind, to the log and to the model. */
static void ask_scans(const model *m, pt_event *want, void *user) {
  const scan_test *t = user;
  pt_event *got = NULL;
  size_t got_count = 0;
  size_t want_count;

  size_t n = (size_t)(pt_test_rnd() % (m->capacity + 10));
  assert_int_equal(pt_log_recent(t->log, n, &got, &got_count), PT_OK);
  want_count = model_query(m, NULL, NULL, want);
  if (want_count > n) {
    memmove(want, want + (want_count - n), n * sizeof(pt_event));
    want_count = n;
  }
  pt_test_expect_same(want, want_count, got, got_count);
  pt_events_free(got);

  const pt_trace_id *trace = &t->traces[pt_test_rnd() % 8];
  assert_int_equal(pt_log_query_trace(t->log, trace, &got, &got_count), PT_OK);
  want_count = model_query(m, by_trace, trace, want);
  pt_test_expect_same(want, want_count, got, got_count);
  pt_events_free(got);

  const uint8_t *peer_id = t->peers[pt_test_rnd() % 4];
  assert_int_equal(pt_log_query_peer(t->log, peer_id, &got, &got_count), PT_OK);
  want_count = model_query(m, by_peer, peer_id, want);
  pt_test_expect_same(want, want_count, got, got_count);
  pt_events_free(got);

  window w;
  w.start = PT_TEST_MODEL_BASE_TIME + (pt_test_rnd() % (3 * m->count + 1)) - 20;
  w.end = w.start + pt_test_rnd() % (3 * m->capacity / 4 + 1);
  assert_int_equal(
      pt_log_query_time_range(t->log, w.start, w.end, &got, &got_count), PT_OK);
  want_count = model_query(m, by_time, &w, want);
  pt_test_expect_same(want, want_count, got, got_count);
  pt_events_free(got);
}

static void run_seed(uint64_t seed, size_t capacity) {
  pt_test_seed(seed);
  pt_log *log = pt_test_log(capacity, 0);
  assert_non_null(log);

  pt_trace_id traces[8];
  uint8_t peers[4][32];
  for (int i = 0; i < 8; i++) {
    traces[i] = pt_trace_id_new();
  }
  for (int i = 0; i < 4; i++) {
    memset(peers[i], 0x10 + i, 32);
  }
  /* Mostly increasing time with jitter and duplicates, like 2 threads. */
  const pt_test_model_ids ids = {traces, 8, peers, 4, 0};
  scan_test t = {log, traces, peers};
  pt_test_model_run(log, capacity, 3, &ids, ask_scans, &t);
  pt_log_destroy(log);
}

static void test_queries_match_model(void **state) {
  (void)state;
  const uint64_t seeds[] = {1, 2, 3, 0x9e3779b97f4a7c15u, 12345, 777};
  const size_t capacities[] = {16, 64, 256, 1024};
  for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
    for (size_t c = 0; c < sizeof capacities / sizeof capacities[0]; c++) {
      run_seed(seeds[s], capacities[c]);
    }
  }
}

static void test_query_bad_input(void **state) {
  (void)state;
  pt_log *log = NULL;
  assert_int_equal(pt_log_create(&log, NULL), PT_OK);
  pt_event *got = NULL;
  size_t count = 0;
  pt_trace_id id = pt_trace_id_new();
  uint8_t peer[32] = {0};
  assert_int_equal(pt_log_query_trace(log, NULL, &got, &count), PT_ERR_INVALID);
  assert_int_equal(pt_log_query_trace(NULL, &id, &got, &count), PT_ERR_INVALID);
  assert_int_equal(pt_log_query_trace(log, &id, NULL, &count), PT_ERR_INVALID);
  assert_int_equal(pt_log_query_peer(log, NULL, &got, &count), PT_ERR_INVALID);
  assert_int_equal(pt_log_query_peer(log, peer, &got, NULL), PT_ERR_INVALID);
  assert_int_equal(pt_log_query_time_range(log, 10, 5, &got, &count),
                   PT_ERR_INVALID);
  assert_int_equal(pt_log_recent(log, 5, NULL, &count), PT_ERR_INVALID);
  pt_events_free(NULL);
  pt_log_destroy(log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_queries_match_model),
      cmocka_unit_test(test_query_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
