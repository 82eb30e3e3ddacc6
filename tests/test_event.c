/* test_event: the event table's derived parts: sizes, setters, PT_EMIT
 * layouts, names, text and JSON (checked with a real JSON parser). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <jansson.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "test_helpers.h"

static void test_layout(void **state) {
  (void)state;
  assert_int_equal(sizeof(pt_event), 128);
  assert_int_equal(offsetof(pt_event, data), 64);
#define CHECK_PAYLOAD(KIND, id, name, desc)                                    \
  assert_true(sizeof(struct pt_##name##_data) <= 64);                          \
  assert_string_equal(pt_event_kind_name(id), #name);
  PT_EVENT_TABLE(CHECK_PAYLOAD)
#undef CHECK_PAYLOAD
  assert_string_equal(pt_event_kind_name(0), "unknown");
  assert_string_equal(pt_event_kind_name(999), "unknown");
}

/* Records one event of every kind with the convenience macros, in the
 * order of the table. */
static void emit_every_kind(pt_log *log, pt_trace_id tid, const uint8_t *peer,
                            pt_endpoint ep, const uint8_t *blob,
                            size_t blob_len) {
  PT_CONN_INIT(log, tid, peer, ep);
  PT_CONN_ESTABLISHED(log, tid, peer, 1234);
  PT_STREAM_OPENED(log, tid, 4, 1);
  PT_STREAM_DATA(log, tid, 8, 1u << 20, 777, 1);
  PT_PACKET_SENT(log, tid, 1350, 0x1122334455667788u);
  PT_PACKET_RECEIVED(log, tid, 60, 9);
  PT_PACKET_LOST(log, tid, 10);
  PT_EMIT_PEER(log, app_command, tid, peer, "DMAP", 2, blob, 5);
  PT_EMIT(log, app_start, tid, "DMAP", 1, blob, blob_len);
  PT_EMIT(log, app_end, tid, "DMAP", 1, 1, 250);
  PT_CUSTOM(log, tid, 7, 9, NULL, 30);
}

/* Rounds of emit_every_kind in test_emit_matches_setters: with 11 kinds
 * (prime to the chunk size, 256), every kind lands at least once on the
 * first slot of a chunk, written by the out-of-line path that claims it,
 * and many times on the inlined fast path. */
#define EMIT_ROUNDS 300

/* PT_EMIT (word assembly) and pt_event_set_* (struct stores) must produce
 * byte-identical events for every kind, on every write path. */
static void test_emit_matches_setters(void **state) {
  (void)state;
  pt_log *log = NULL;
  assert_int_equal(pt_log_create(&log, NULL), PT_OK);
  pt_trace_id tid = pt_trace_id_new();
  uint8_t peer[32];
  for (int i = 0; i < 32; i++) {
    peer[i] = (uint8_t)(i * 3 + 1);
  }
  pt_endpoint ep;
  memset(&ep, 0, sizeof ep);
  ep.family = 6;
  ep.port = 443;
  ep.addr[15] = 1;
  uint8_t blob[60];
  for (int i = 0; i < 60; i++) {
    blob[i] = (uint8_t)(0xa0 + i);
  }

  pt_event want[11];
  size_t n = 0;
#define BEGIN(p) pt_event_begin(&want[n], tid, p)
  BEGIN(peer);
  pt_event_set_conn_init(&want[n++], ep);
  BEGIN(peer);
  pt_event_set_conn_established(&want[n++], 1234);
  BEGIN(NULL);
  pt_event_set_stream_opened(&want[n++], 4, 1);
  BEGIN(NULL);
  pt_event_set_stream_data(&want[n++], 8, 1u << 20, 777, 1);
  BEGIN(NULL);
  pt_event_set_packet_sent(&want[n++], 0x1122334455667788u, 1350,
                           PT_PN_SPACE_APPLICATION);
  BEGIN(NULL);
  pt_event_set_packet_received(&want[n++], 9, 60, PT_PN_SPACE_APPLICATION);
  BEGIN(NULL);
  pt_event_set_packet_lost(&want[n++], 10, PT_PN_SPACE_APPLICATION);
  BEGIN(peer);
  pt_event_set_app_command(&want[n++], "DMAP", 2, blob, 5);
  BEGIN(NULL);
  pt_event_set_app_start(&want[n++], "DMAP", 1, blob, sizeof blob);
  BEGIN(NULL);
  pt_event_set_app_end(&want[n++], "DMAP", 1, 1, 250);
  BEGIN(NULL);
  pt_event_set_custom(&want[n++], 7, 9, NULL, 30); /* NULL data: zeros */
#undef BEGIN
  for (int round = 0; round < EMIT_ROUNDS; round++) {
    emit_every_kind(log, tid, peer, ep, blob, sizeof blob);
  }

  pt_event *got = NULL;
  size_t count = 0;
  assert_int_equal(pt_log_query_trace(log, &tid, &got, &count), PT_OK);
  assert_int_equal(count, n * EMIT_ROUNDS);
  for (size_t i = 0; i < count; i++) {
    want[i % n].timestamp_us = got[i].timestamp_us;
    assert_memory_equal(&got[i], &want[i % n], sizeof(pt_event));
  }
  /* Byte fields copy at most their size and zero-fill the rest. */
  assert_memory_equal(got[7].data.app_command.data, blob, 5);
  assert_int_equal(got[7].data.app_command.data[5], 0);
  assert_memory_equal(got[8].data.app_start.data, blob, 42);
  assert_true(got[0].flags & PT_EVENT_HAS_PEER);
  assert_false(got[2].flags & PT_EVENT_HAS_PEER);
  pt_events_free(got);
  pt_log_destroy(log);
}

/* pt_event_begin leaves no byte of what was there before. */
static void test_begin_clears_everything(void **state) {
  (void)state;
  pt_trace_id tid;
  memset(tid.bytes, 0x5a, sizeof tid.bytes);
  uint8_t peer[32];
  memset(peer, 0x33, sizeof peer);
  for (int with_peer = 0; with_peer <= 1; with_peer++) {
    pt_event ev;
    memset(&ev, 0xff, sizeof ev);
    pt_event_begin(&ev, tid, with_peer ? peer : NULL);
    pt_event want;
    memset(&want, 0, sizeof want);
    want.trace_id = tid;
    if (with_peer) {
      memcpy(want.peer_id, peer, sizeof peer);
      want.flags = PT_EVENT_HAS_PEER;
    }
    assert_memory_equal(&ev, &want, sizeof ev);
  }
}

/* The connection identity: a known FNV-1a vector, never 0, and a CONN field
 * on exactly the connection kinds, which setters and PT_EMIT leave 0. */
static void test_conn(void **state) {
  (void)state;
  const uint8_t a = 'a';
  assert_true(pt_conn_id_from_cid(&a, 1) == 0xaf63dc4c8601ec8cu);
  const uint8_t cid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  assert_true(pt_conn_id_from_cid(cid, sizeof cid) != 0);
  assert_true(pt_conn_id_from_cid(cid, sizeof cid) !=
              pt_conn_id_from_cid(cid, sizeof cid - 1));
  assert_true(pt_conn_id_from_cid(NULL, 8) == 0);
  assert_true(pt_conn_id_from_cid(cid, 0) == 0);

  pt_event ev;
  pt_event_begin(&ev, pt_trace_id_new(), NULL);
  pt_event_set_stream_frame(&ev, 7, 4, 100, 50, PT_PN_SPACE_APPLICATION, 1, 1);
  assert_true(pt_event_conn(&ev) == 0);
  assert_int_equal(pt_event_set_conn(&ev, 42), PT_OK);
  assert_true(pt_event_conn(&ev) == 42);
  assert_true(ev.data.stream_frame.conn == 42);
  assert_true(ev.data.stream_frame.pn == 7);
  assert_true(ev.data.stream_frame.length == 50);
  pt_event_set_stream_data(&ev, 4, 0, 10, 0);
  assert_int_equal(pt_event_set_conn(&ev, 43), PT_OK);
  assert_true(ev.data.stream_data.conn == 43 && ev.data.stream_data.sent == 0);
  pt_event_set_app_start(&ev, "DMAP", 1, NULL, 0);
  assert_int_equal(pt_event_set_conn(&ev, 1), PT_ERR_INVALID);
  assert_true(pt_event_conn(&ev) == 0);
  assert_int_equal(pt_event_set_conn(NULL, 1), PT_ERR_INVALID);
  assert_true(pt_event_conn(NULL) == 0);

  /* Fields older dumps have are where they were. */
  assert_int_equal(offsetof(struct pt_packet_sent_data, conn), 16);
  assert_int_equal(offsetof(struct pt_stream_data_data, sent), 21);
  assert_int_equal(offsetof(struct pt_stream_data_data, conn), 24);
  /* The layout docs/dump-format.md gives. */
  assert_int_equal(offsetof(struct pt_packet_lost_data, conn), 16);
  assert_int_equal(offsetof(struct pt_conn_init_data, conn), 24);
  assert_int_equal(offsetof(struct pt_conn_established_data, conn), 8);
  assert_int_equal(offsetof(struct pt_stream_opened_data, conn), 16);
  assert_int_equal(offsetof(struct pt_stream_frame_data, length), 24);
  assert_int_equal(offsetof(struct pt_stream_frame_data, sent), 30);
  assert_int_equal(offsetof(struct pt_stream_frame_data, conn), 32);
  assert_int_equal(offsetof(struct pt_recovery_metrics_data, rtt_variance_us),
                   12);
  assert_int_equal(offsetof(struct pt_recovery_metrics_data, cwnd), 16);
  assert_int_equal(offsetof(struct pt_recovery_metrics_data, bytes_in_flight),
                   24);
  assert_int_equal(offsetof(struct pt_recovery_metrics_data, conn), 32);
  pt_event_set_recovery_metrics(&ev, 250, 200, 240, 30, 14720, 2400);
  assert_int_equal(pt_event_set_conn(&ev, 44), PT_OK);
  char line[160];
  pt_event_format(&ev, line, sizeof line);
  assert_string_equal(line, "recovery_metrics latest_rtt_us=250 min_rtt_us=200 "
                            "smoothed_rtt_us=240 rtt_variance_us=30 "
                            "cwnd=14720 bytes_in_flight=2400 "
                            "conn=000000000000002c");
}

static void test_format(void **state) {
  (void)state;
  pt_event ev;
  pt_event_begin(&ev, pt_trace_id_new(), NULL);
  pt_event_set_packet_sent(&ev, 5, 1200, 2);
  char line[128];
  int len = pt_event_format(&ev, line, sizeof line);
  assert_string_equal(
      line, "packet_sent pn=5 size=1200 space=2 conn=0000000000000000");
  assert_int_equal(len, (int)strlen(line));
  /* Truncation reports the full length, like snprintf. */
  char small[8];
  assert_int_equal(pt_event_format(&ev, small, sizeof small), len);
  assert_string_equal(small, "packet_");
  assert_int_equal(pt_event_set_conn(&ev, 0x0123456789abcdefu), PT_OK);
  pt_event_format(&ev, line, sizeof line);
  assert_string_equal(
      line, "packet_sent pn=5 size=1200 space=2 conn=0123456789abcdef");
  assert_int_equal(pt_event_format(&ev, NULL, 0), len);
  assert_int_equal(pt_event_format(NULL, line, sizeof line), PT_ERR_INVALID);

  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(4433);
  inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
  pt_endpoint ep;
  assert_int_equal(pt_endpoint_from_sockaddr(&sin, sizeof sin, &ep), PT_OK);
  pt_event_set_conn_init(&ev, ep);
  pt_event_format(&ev, line, sizeof line);
  assert_string_equal(line,
                      "conn_init endpoint=10.1.2.3:4433 conn=0000000000000000");
  assert_int_equal(pt_endpoint_from_sockaddr(&sin, 4, &ep), PT_ERR_INVALID);
  sin.sin_family = AF_UNIX;
  assert_int_equal(pt_endpoint_from_sockaddr(&sin, sizeof sin, &ep),
                   PT_ERR_INVALID);

  pt_event_set_app_command(&ev, "D\"\n\x01", 3, NULL, 0);
  pt_event_format(&ev, line, sizeof line);
  assert_non_null(strstr(line, "app_id=D\\x22\\x0a\\x01 cmd=3"));
}

static void test_json_parses(void **state) {
  (void)state;
  pt_event ev;
  uint8_t peer[32];
  memset(peer, 0xcd, sizeof peer);
  pt_event_begin(&ev, pt_trace_id_new(), peer);
  ev.flags |= PT_FLAG_SAMPLED;
  ev.sequence = 17;
  ev.timestamp_us = 1700000000123456u;
  pt_event_set_app_command(&ev, "D\"\\\x01", 0x0102, "abc", 3);
  char buf[1024];
  int len = pt_event_to_json(&ev, buf, sizeof buf);
  assert_true(len > 0 && (size_t)len < sizeof buf);
  json_error_t err;
  json_t *root = json_loads(buf, 0, &err);
  if (root == NULL) {
    fail_msg("invalid JSON (%s): %s", err.text, buf);
  }
  assert_string_equal(json_string_value(json_object_get(root, "kind")),
                      "app_command");
  assert_int_equal(json_integer_value(json_object_get(root, "timestamp_us")),
                   1700000000123456);
  assert_int_equal(json_integer_value(json_object_get(root, "sequence")), 17);
  assert_true(json_is_true(json_object_get(root, "sampled")));
  assert_int_equal(strlen(json_string_value(json_object_get(root, "peer_id"))),
                   64);
  json_t *data = json_object_get(root, "data");
  /* The app id as in every printer and export: unprintable, '"' and '\\'
   * bytes as \xNN. */
  assert_string_equal(json_string_value(json_object_get(data, "app_id")),
                      "D\\x22\\x5c\\x01");
  assert_int_equal(json_integer_value(json_object_get(data, "cmd")), 0x0102);
  assert_string_equal(json_string_value(json_object_get(data, "data")) + 0,
                      "616263000000000000000000000000000000000000000000000000"
                      "000000000000000000000000000000");
  json_decref(root);

  /* Every kind, no peer: valid JSON with a null peer. */
  for (unsigned kind = 0; kind <= PT_EV_KIND_LIMIT; kind++) {
    pt_event_begin(&ev, pt_trace_id_new(), NULL);
    ev.kind = (uint16_t)kind;
    memset(ev.data.raw, 0xff, sizeof ev.data.raw);
    pt_event_to_json(&ev, buf, sizeof buf);
    root = json_loads(buf, 0, &err);
    if (root == NULL) {
      fail_msg("kind %u: invalid JSON (%s): %s", kind, err.text, buf);
    }
    assert_true(json_is_null(json_object_get(root, "peer_id")));
    if (kind == PT_EV_STREAM_DATA) { /* u64 all-ones: quoted, exact */
      json_t *offset = json_object_get(json_object_get(root, "data"), "offset");
      assert_string_equal(json_string_value(offset), "18446744073709551615");
    }
    json_decref(root);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layout),
      cmocka_unit_test(test_emit_matches_setters),
      cmocka_unit_test(test_begin_clears_everything),
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_conn),
      cmocka_unit_test(test_json_parses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
