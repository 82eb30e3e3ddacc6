/*
 * test_query_engine: every pt_query call against a reference model,
 * randomized with fixed seeds, across many wraparounds, with timestamps out
 * of write order.  Each query runs twice: on an indexed pt_query (when the
 * build has PT_TRACE_INDEX) and on a scanning one (PT_QUERY_SCAN); both must
 * equal the model exactly.  Also: analyze_peer on a known history, argument
 * errors, and a log created with no_index.
 *
 * The model keeps every event written, in write order; with one writer
 * thread the live ones are the newest `capacity` writes minus the slots the
 * current chunk has already reclaimed (the ring reuses a chunk at a time).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_helpers.h"
#include "test_index_common.h"

#include <peertrace/peertrace.h>

typedef pt_test_model model;

typedef struct filter {
  enum { F_ALL, F_TRACE, F_PEER, F_TIME } kind;
  const pt_trace_id *trace;
  const uint8_t *peer;
  uint64_t start, end;
} filter;

static int filter_match(const filter *f, const pt_event *ev) {
  switch (f->kind) {
  case F_TRACE:
    return memcmp(&ev->trace_id, f->trace, 16) == 0;
  case F_PEER:
    return (ev->flags & PT_EVENT_HAS_PEER) &&
           memcmp(ev->peer_id, f->peer, 32) == 0;
  case F_TIME:
    return ev->timestamp_us >= f->start && ev->timestamp_us < f->end;
  case F_ALL:
    break;
  }
  return 1;
}

/* Live events passing `f`, sorted by (timestamp, write order). */
static size_t model_query(const model *m, const filter *f, pt_event *out) {
  size_t n = 0;
  for (size_t i = pt_test_model_first_live(m); i < m->count; i++) {
    if (filter_match(f, &m->events[i])) {
      out[n++] = m->events[i];
    }
  }
  pt_test_sort_by_time(out, n);
  return n;
}

/* The same questions to the model and to one pt_query. */
static void check_queries(pt_query *q, const model *m, pt_event *want,
                          const pt_trace_id *traces, size_t trace_count,
                          uint8_t (*peers)[32], size_t peer_count) {
  pt_event *got = NULL;
  size_t got_count = 0;
  size_t want_count;
  filter f;

  size_t n = (size_t)(pt_test_rnd() % (m->capacity + 10));
  assert_int_equal(pt_query_recent(q, n, &got, &got_count), PT_OK);
  f.kind = F_ALL;
  want_count = model_query(m, &f, want);
  if (want_count > n) {
    memmove(want, want + (want_count - n), n * sizeof(pt_event));
    want_count = n;
  }
  pt_test_expect_same(want, want_count, got, got_count);
  pt_events_free(got);

  /* Every trace, including one never written (the last). */
  for (size_t t = 0; t < trace_count; t++) {
    f.kind = F_TRACE;
    f.trace = &traces[t];
    assert_int_equal(pt_query_get_trace(q, f.trace, &got, &got_count), PT_OK);
    want_count = model_query(m, &f, want);
    pt_test_expect_same(want, want_count, got, got_count);
    pt_events_free(got);
    assert_int_equal(pt_query_contains_trace(q, f.trace), want_count > 0);
  }

  for (size_t p = 0; p < peer_count; p++) {
    f.kind = F_PEER;
    f.peer = peers[p];
    assert_int_equal(pt_query_by_peer(q, f.peer, &got, &got_count), PT_OK);
    want_count = model_query(m, &f, want);
    pt_test_expect_same(want, want_count, got, got_count);
    pt_events_free(got);
  }

  f.kind = F_TIME;
  f.start = PT_TEST_MODEL_BASE_TIME + (pt_test_rnd() % (3 * m->count + 1)) - 20;
  f.end = f.start + pt_test_rnd() % (3 * m->capacity / 4 + 1);
  assert_int_equal(pt_query_time_range(q, f.start, f.end, &got, &got_count),
                   PT_OK);
  want_count = model_query(m, &f, want);
  pt_test_expect_same(want, want_count, got, got_count);
  pt_events_free(got);
}

/* An engine test: an indexed and a scanning pt_query of one log, and the
 * ids its events take (the last trace and peer never written). */
typedef struct engine_test {
  pt_query *indexed, *scan;
  const pt_trace_id *traces;
  uint8_t (*peers)[32];
  size_t trace_count, peer_count;
} engine_test;

/* The same questions to the model and to each pt_query. */
static void ask_both(const model *m, pt_event *want, void *user) {
  const engine_test *t = user;
  uint64_t saved = pt_test_rng_state;
  check_queries(t->indexed, m, want, t->traces, t->trace_count, t->peers,
                t->peer_count);
  pt_test_seed(saved); /* the same questions to the scanning query */
  check_queries(t->scan, m, want, t->traces, t->trace_count, t->peers,
                t->peer_count);
}

static void run_seed(uint64_t seed, size_t capacity) {
  pt_test_seed(seed);
  pt_log *log = pt_test_log(capacity, 0);
  assert_non_null(log);
  pt_query *indexed = NULL;
  pt_query *scan = NULL;
  assert_int_equal(pt_query_create(&indexed, log, 0), PT_OK);
  assert_int_equal(pt_query_create(&scan, log, PT_QUERY_SCAN), PT_OK);
  assert_int_equal(pt_query_is_indexed(indexed), PT_TRACE_INDEX);
  assert_int_equal(pt_query_is_indexed(scan), 0);

  enum { TRACES = 12, PEERS = 6 };
  pt_trace_id traces[TRACES + 1]; /* the last is never written */
  uint8_t peers[PEERS + 1][32];   /* the last is never written */
  for (int i = 0; i <= TRACES; i++) {
    traces[i] = pt_trace_id_new();
  }
  for (int i = 0; i <= PEERS; i++) {
    for (int b = 0; b < 32; b++) {
      peers[i][b] = (uint8_t)pt_test_rnd();
    }
  }
  /* Mostly rising time with jitter and ties, now and then far away. */
  const pt_test_model_ids ids = {traces, TRACES, peers, PEERS, 64};
  engine_test t = {indexed, scan, traces, peers, TRACES + 1, PEERS + 1};
  pt_test_model_run(log, capacity, 6, &ids, ask_both, &t);
  pt_query_destroy(indexed);
  pt_query_destroy(scan);
  pt_log_destroy(log);
}

static void test_queries_match_model(void **state) {
  (void)state;
  const uint64_t seeds[] = {1, 2, 3, 0x9e3779b97f4a7c15u, 12345, 777};
  const size_t capacities[] = {16, 64, 256, 1024, 4096};
  for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
    for (size_t c = 0; c < sizeof capacities / sizeof capacities[0]; c++) {
      if (capacities[c] > 1024 && s >= 2) {
        continue; /* the largest ring for two seeds only: time */
      }
      run_seed(seeds[s], capacities[c]);
    }
  }
}

static void write_peer_event(pt_log *log, pt_event *ev, uint64_t ts) {
  ev->timestamp_us = ts;
  pt_log_write_at(log, ev);
}

static void test_analyze_peer(void **state) {
  (void)state;
  pt_log *log = NULL;
  assert_int_equal(pt_log_create(&log, NULL), PT_OK);
  pt_query *q = NULL;
  assert_int_equal(pt_query_create(&q, log, 0), PT_OK);
  uint8_t peer[32], other[32];
  memset(peer, 0xab, sizeof peer);
  memset(other, 0xcd, sizeof other);
  pt_trace_id trace = pt_trace_id_new();
  pt_event ev;

  pt_peer_stats st;
  assert_int_equal(pt_query_analyze_peer(q, peer, &st), PT_OK);
  assert_int_equal(st.events, 0);
  assert_int_equal(st.first_seen_us, 0);
  assert_true(st.loss_rate == 0.0);

  /* Written out of time order on purpose: stats follow timestamps. */
  pt_event_begin(&ev, trace, peer);
  pt_event_set_conn_established(&ev, 900);
  write_peer_event(log, &ev, 5000);
  pt_event_set_conn_established(&ev, 1500);
  write_peer_event(log, &ev, 1000);
  for (uint64_t pn = 0; pn < 8; pn++) {
    pt_event_set_packet_sent(&ev, pn, 1000 + pn, PT_PN_SPACE_APPLICATION);
    write_peer_event(log, &ev, 2000 + pn);
  }
  for (uint64_t pn = 0; pn < 3; pn++) {
    pt_event_set_packet_received(&ev, pn, 500, PT_PN_SPACE_APPLICATION);
    write_peer_event(log, &ev, 3000 + pn);
  }
  pt_event_set_packet_lost(&ev, 4, PT_PN_SPACE_APPLICATION);
  write_peer_event(log, &ev, 4000);
  pt_event_set_packet_lost(&ev, 5, PT_PN_SPACE_APPLICATION);
  write_peer_event(log, &ev, 4001);
  /* Another peer's events and peerless events do not count. */
  pt_event_begin(&ev, trace, other);
  pt_event_set_packet_lost(&ev, 1, PT_PN_SPACE_APPLICATION);
  write_peer_event(log, &ev, 4500);
  pt_event_begin(&ev, trace, NULL);
  pt_event_set_packet_sent(&ev, 1, 1, PT_PN_SPACE_APPLICATION);
  write_peer_event(log, &ev, 4600);

  assert_int_equal(pt_query_analyze_peer(q, peer, &st), PT_OK);
  assert_int_equal(st.events, 15);
  assert_int_equal(st.packets_sent, 8);
  assert_int_equal(st.packets_received, 3);
  assert_int_equal(st.packets_lost, 2);
  assert_int_equal(st.bytes_sent, 8 * 1000 + 28);
  assert_int_equal(st.bytes_received, 1500);
  assert_true(st.loss_rate == 0.25);
  assert_int_equal(st.last_rtt_us, 900); /* newest by time, not by write */
  assert_int_equal(st.first_seen_us, 1000);
  assert_int_equal(st.last_seen_us, 5000);
  /* The peer's events counted one at a time (as the CLI counts a dump's):
   * the same summary; the loss rate follows every packet event. */
  pt_event *events;
  size_t n;
  assert_int_equal(pt_query_by_peer(q, peer, &events, &n), PT_OK);
  assert_int_equal(n, 15);
  pt_peer_stats one;
  memset(&one, 0, sizeof one);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(pt_peer_stats_add(&one, &events[i]), PT_OK);
    assert_true(one.loss_rate ==
                (one.packets_sent > 0
                     ? (double)one.packets_lost / (double)one.packets_sent
                     : 0.0));
  }
  assert_memory_equal(&one, &st, sizeof st);
  assert_int_equal(pt_peer_stats_add(NULL, &events[0]), PT_ERR_INVALID);
  assert_int_equal(pt_peer_stats_add(&one, NULL), PT_ERR_INVALID);
  assert_memory_equal(&one, &st, sizeof st);
  pt_events_free(events);
  pt_query_destroy(q);
  pt_log_destroy(log);
}

static void test_query_bad_input(void **state) {
  (void)state;
  pt_log *log = NULL;
  assert_int_equal(pt_log_create(&log, NULL), PT_OK);
  pt_query *q = NULL;
  assert_int_equal(pt_query_create(NULL, log, 0), PT_ERR_INVALID);
  assert_int_equal(pt_query_create(&q, NULL, 0), PT_ERR_INVALID);
  assert_null(q);
  assert_int_equal(pt_query_create(&q, log, 0x80), PT_ERR_INVALID);
  assert_null(q);
  assert_int_equal(pt_query_create(&q, log, 0), PT_OK);
  pt_event *got = (pt_event *)1;
  size_t count = 7;
  pt_trace_id id = pt_trace_id_new();
  uint8_t peer[32] = {0};
  pt_peer_stats st;
  assert_int_equal(pt_query_get_trace(NULL, &id, &got, &count), PT_ERR_INVALID);
  assert_int_equal(pt_query_get_trace(q, NULL, &got, &count), PT_ERR_INVALID);
  assert_int_equal(pt_query_get_trace(q, &id, NULL, &count), PT_ERR_INVALID);
  assert_int_equal(pt_query_get_trace(q, &id, &got, NULL), PT_ERR_INVALID);
  assert_int_equal(pt_query_by_peer(q, NULL, &got, &count), PT_ERR_INVALID);
  assert_int_equal(pt_query_recent(NULL, 3, &got, &count), PT_ERR_INVALID);
  assert_int_equal(pt_query_time_range(q, 10, 5, &got, &count), PT_ERR_INVALID);
  assert_int_equal(pt_query_contains_trace(q, NULL), PT_ERR_INVALID);
  assert_int_equal(pt_query_contains_trace(NULL, &id), PT_ERR_INVALID);
  assert_int_equal(pt_query_analyze_peer(q, peer, NULL), PT_ERR_INVALID);
  assert_int_equal(pt_query_analyze_peer(q, NULL, &st), PT_ERR_INVALID);
  assert_int_equal(pt_query_is_indexed(NULL), 0);
  /* Empty log: empty answers, NULL arrays. */
  assert_int_equal(pt_query_get_trace(q, &id, &got, &count), PT_OK);
  assert_null(got);
  assert_int_equal(count, 0);
  assert_int_equal(pt_query_recent(q, 0, &got, &count), PT_OK);
  assert_null(got);
  assert_int_equal(pt_query_contains_trace(q, &id), 0);
  pt_query_destroy(NULL);
  pt_query_destroy(q);
  pt_log_destroy(log);
}

/* A log created with no_index: queries scan and still answer right. */
static void test_log_without_index(void **state) {
  (void)state;
  pt_log *log = pt_test_log(256, 1);
  assert_non_null(log);
  pt_query *q = NULL;
  assert_int_equal(pt_query_create(&q, log, 0), PT_OK);
  assert_int_equal(pt_query_is_indexed(q), 0);
  pt_trace_id id = pt_trace_id_new();
  pt_event ev;
  pt_event_begin(&ev, id, NULL);
  pt_event_set_stream_opened(&ev, 4, 1);
  for (int i = 0; i < 1000; i++) {
    pt_log_write(log, &ev);
  }
  pt_event *got = NULL;
  size_t count = 0;
  assert_int_equal(pt_query_get_trace(q, &id, &got, &count), PT_OK);
  assert_true(count > 256 - 16 && count <= 256);
  for (size_t i = 1; i < count; i++) {
    assert_true(got[i - 1].timestamp_us <= got[i].timestamp_us);
  }
  pt_events_free(got);
  assert_int_equal(pt_query_contains_trace(q, &id), 1);
  pt_query_destroy(q);
  pt_log_destroy(log);
}

/*
 * A file-backed log: the writer's pt_query (indexed in index builds) and a
 * pt_query over a read-only pt_log_open view (which has no index: it scans)
 * give the same answers.
 */
static void test_file_log_view(void **state) {
  (void)state;
  pt_test_file_log file;
  pt_test_file_log_create(&file, "pt_test_query_engine", 1024);
  pt_log *log = file.log;
  pt_test_seed(99);
  pt_trace_id traces[5];
  uint8_t peers[3][32];
  for (int i = 0; i < 5; i++) {
    traces[i] = pt_trace_id_new();
  }
  for (int i = 0; i < 3; i++) {
    pt_test_random_bytes(peers[i], 32);
  }
  for (uint64_t i = 0; i < 3000; i++) {
    pt_event ev;
    pt_event_begin(&ev, traces[pt_test_rnd() % 5],
                   (i % 4) ? peers[pt_test_rnd() % 3] : NULL);
    pt_event_set_packet_received(&ev, i, 1000, 2);
    ev.timestamp_us = 5000 + i * 2 - pt_test_rnd() % 50;
    pt_log_write_at(log, &ev);
  }
  const pt_log *view = NULL;
  assert_int_equal(pt_log_open(&view, file.path), PT_OK);
  pt_query *writer_q = NULL, *view_q = NULL;
  assert_int_equal(pt_query_create(&writer_q, log, 0), PT_OK);
  assert_int_equal(pt_query_create(&view_q, view, 0), PT_OK);
  assert_int_equal(pt_query_is_indexed(writer_q), PT_TRACE_INDEX);
  assert_int_equal(pt_query_is_indexed(view_q), 0);
  for (int k = 0; k < 12; k++) {
    pt_event *a, *b;
    size_t na, nb;
    if (k < 5) {
      assert_int_equal(pt_query_get_trace(writer_q, &traces[k], &a, &na),
                       PT_OK);
      assert_int_equal(pt_query_get_trace(view_q, &traces[k], &b, &nb), PT_OK);
    } else if (k < 8) {
      assert_int_equal(pt_query_by_peer(writer_q, peers[k - 5], &a, &na),
                       PT_OK);
      assert_int_equal(pt_query_by_peer(view_q, peers[k - 5], &b, &nb), PT_OK);
    } else if (k < 11) {
      uint64_t start = 9000 + (uint64_t)(k - 8) * 800; /* live part */
      assert_int_equal(
          pt_query_time_range(writer_q, start, start + 900, &a, &na), PT_OK);
      assert_int_equal(pt_query_time_range(view_q, start, start + 900, &b, &nb),
                       PT_OK);
    } else {
      assert_int_equal(pt_query_recent(writer_q, 77, &a, &na), PT_OK);
      assert_int_equal(pt_query_recent(view_q, 77, &b, &nb), PT_OK);
    }
    assert_true(na > 0);
    pt_test_expect_same(b, nb, a, na);
    pt_events_free(a);
    pt_events_free(b);
  }
  pt_query_destroy(writer_q);
  pt_query_destroy(view_q);
  pt_log_close(view);
  pt_test_file_log_remove(&file);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_queries_match_model),
      cmocka_unit_test(test_analyze_peer),
      cmocka_unit_test(test_query_bad_input),
      cmocka_unit_test(test_log_without_index),
      cmocka_unit_test(test_file_log_view),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
