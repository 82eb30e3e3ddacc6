/*
 * test_quic_qlog: the adapter's qlog record parser (pt_quic_qlog_parse) on
 * records in the exact form ngtcp2 0.12.1 writes them, on reordered keys,
 * and on untrusted garbage: every truncation and thousands of random
 * mutations, each in a buffer of exactly its size so that ASan would catch
 * a read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <peertrace/pt_quic.h>

/* Records captured from ngtcp2 0.12.1 (the demo's qlog tap). */
static const char SENT[] =
    "\x1e{\"time\":23,\"name\":\"transport:packet_sent\",\"data\":{\"frames\":["
    "{\"frame_type\":\"crypto\",\"offset\":0,\"length\":372},{\"frame_type\":"
    "\"padding\"}],\"header\":{\"packet_type\":\"initial\",\"packet_number\":"
    "0},\"raw\":{\"length\":1200}}}\n";
static const char RECEIVED[] =
    "\x1e{\"time\":0,\"name\":\"transport:packet_received\",\"data\":{\"frames"
    "\":[{\"frame_type\":\"ping\"},{\"frame_type\":\"padding\"}],\"header\":{"
    "\"packet_type\":\"1RTT\",\"packet_number\":17},\"raw\":{\"length\":1406}"
    "}}\n";
static const char LOST[] =
    "\x1e{\"time\":1000,\"name\":\"recovery:packet_lost\",\"data\":{\"header\":"
    "{\"packet_type\":\"handshake\",\"packet_number\":3}}}\n";
static const char METRICS[] =
    "\x1e{\"time\":5,\"name\":\"recovery:metrics_updated\",\"data\":{"
    "\"min_rtt\":1,\"smoothed_rtt\":1}}\n";
static const char HEADER[] =
    "\x1e{\"qlog_format\":\"JSON-SEQ\",\"qlog_version\":\"0.3\",\"trace\":{"
    "\"vantage_point\":{\"name\":\"ngtcp2\",\"type\":\"client\"}}}\n";

/* Parses text from a heap buffer of exactly len bytes. */
static int parse_exact(const char *text, size_t len, pt_event *ev) {
  char *copy = malloc(len ? len : 1);
  assert_non_null(copy);
  memcpy(copy, text, len);
  int rv = pt_quic_qlog_parse(copy, len, ev);
  free(copy);
  return rv;
}

static void test_real_records(void **state) {
  (void)state;
  pt_event ev;
  assert_int_equal(parse_exact(SENT, strlen(SENT), &ev), 1);
  assert_int_equal(ev.kind, PT_EV_PACKET_SENT);
  assert_int_equal(ev.data.packet_sent.pn, 0);
  assert_int_equal(ev.data.packet_sent.size, 1200);
  assert_int_equal(ev.data.packet_sent.space, PT_PN_SPACE_INITIAL);

  assert_int_equal(parse_exact(RECEIVED, strlen(RECEIVED), &ev), 1);
  assert_int_equal(ev.kind, PT_EV_PACKET_RECEIVED);
  assert_int_equal(ev.data.packet_received.pn, 17);
  assert_int_equal(ev.data.packet_received.size, 1406);
  assert_int_equal(ev.data.packet_received.space, PT_PN_SPACE_APPLICATION);

  assert_int_equal(parse_exact(LOST, strlen(LOST), &ev), 1);
  assert_int_equal(ev.kind, PT_EV_PACKET_LOST);
  assert_int_equal(ev.data.packet_lost.pn, 3);
  assert_int_equal(ev.data.packet_lost.space, PT_PN_SPACE_HANDSHAKE);

  assert_int_equal(parse_exact(METRICS, strlen(METRICS), &ev), 0);
  assert_int_equal(parse_exact(HEADER, strlen(HEADER), &ev), 0);
}

static void test_key_order_and_spaces(void **state) {
  (void)state;
  pt_event ev;
  const char *text =
      "{ \"data\" : { \"raw\" : { \"payload_length\" : 3, \"length\" : 77 } ,"
      " \"header\" : { \"packet_number\" : 4611686018427387903 , "
      "\"dcid\":\"a\\\"}\", \"packet_type\" : \"0RTT\" } } , \"name\" : "
      "\"transport:packet_sent\" }";
  assert_int_equal(parse_exact(text, strlen(text), &ev), 1);
  assert_int_equal(ev.data.packet_sent.size, 77);
  assert_true(ev.data.packet_sent.pn == 4611686018427387903ull); /* 2^62-1 */
  assert_int_equal(ev.data.packet_sent.space, PT_PN_SPACE_APPLICATION);
}

static void test_bad_values_rejected(void **state) {
  (void)state;
  pt_event ev;
  static const char *const bad[] = {
      /* pn beyond 2^62-1 */
      "{\"name\":\"recovery:packet_lost\",\"data\":{\"header\":{\"packet_type\""
      ":\"1RTT\",\"packet_number\":4611686018427387904}}}",
      /* 20 digits would overflow 64 bits */
      "{\"name\":\"recovery:packet_lost\",\"data\":{\"header\":{\"packet_type\""
      ":\"1RTT\",\"packet_number\":99999999999999999999}}}",
      "{\"name\":\"recovery:packet_lost\",\"data\":{\"header\":{\"packet_type\""
      ":\"1RTT\",\"packet_number\":-1}}}",
      "{\"name\":\"recovery:packet_lost\",\"data\":{\"header\":{\"packet_type\""
      ":\"1RTT\",\"packet_number\":\"5\"}}}",
      /* no raw length on a sent packet */
      "{\"name\":\"transport:packet_sent\",\"data\":{\"header\":{"
      "\"packet_type\":\"1RTT\",\"packet_number\":5}}}",
      /* size beyond 32 bits */
      "{\"name\":\"transport:packet_sent\",\"data\":{\"header\":{"
      "\"packet_type\":\"1RTT\",\"packet_number\":5},\"raw\":{\"length\":"
      "4294967296}}}",
      /* no header */
      "{\"name\":\"transport:packet_received\",\"data\":{}}",
      /* unbalanced */
      "{\"name\":\"transport:packet_received\",\"data\":{\"header\":{]}}",
      "not json at all",
      "",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rv = parse_exact(bad[i], strlen(bad[i]), &ev);
    if (rv != PT_ERR_PARSE) {
      fail_msg("record %zu: expected PT_ERR_PARSE, got %d", i, rv);
    }
  }
  assert_int_equal(pt_quic_qlog_parse(NULL, 3, &ev), PT_ERR_INVALID);
  assert_int_equal(pt_quic_qlog_parse(SENT, 3, NULL), PT_ERR_INVALID);
  assert_int_equal(pt_quic_qlog_parse(SENT, PT_QUIC_QLOG_MAX_RECORD + 1u, &ev),
                   PT_ERR_PARSE);
}

static void test_every_truncation_rejected(void **state) {
  (void)state;
  const char *records[] = {SENT, RECEIVED, LOST};
  pt_event ev;
  for (size_t r = 0; r < 3; r++) {
    size_t full = strlen(records[r]) - 1; /* without the trailing newline */
    for (size_t len = 0; len < full; len++) {
      int rv = parse_exact(records[r], len, &ev);
      if (rv == 1) {
        fail_msg("record %zu truncated to %zu bytes parsed as a packet", r,
                 len);
      }
    }
    assert_int_equal(parse_exact(records[r], full, &ev), 1);
  }
}

static void test_random_mutations(void **state) {
  (void)state;
  uint64_t x = 0x1234567u;
  const char *records[] = {SENT, RECEIVED, LOST};
  pt_event ev;
  for (int i = 0; i < 20000; i++) {
    const char *src = records[i % 3];
    size_t len = strlen(src);
    char *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, src, len);
    for (int m = 0; m < 1 + i % 4; m++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      copy[x % len] = (char)(x >> 32);
    }
    int rv = pt_quic_qlog_parse(copy, len, &ev);
    assert_true(rv == 1 || rv == 0 || rv == PT_ERR_PARSE);
    free(copy);
  }
}

/*
 * The adapter's events carry the trace flags of the connection's context,
 * only the trace flag bits of it (a reserved event flag bit would make the
 * event invalid, refused by pt_log_write).
 */
static void test_tracer_records_context_flags(void **state) {
  (void)state;
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 64;
  pt_log *log = NULL;
  assert_int_equal(pt_log_create(&log, &cfg), PT_OK);
  pt_trace_ctx ctx = pt_trace_ctx_new(0xff);
  uint8_t peer[32];
  memset(peer, 0x31, sizeof peer);
  pt_quic_tracer t;
  assert_int_equal(pt_quic_tracer_init(&t, log, peer, ctx), PT_OK);
  assert_int_equal(pt_quic_tracer_stream_opened(&t, 4), PT_OK);
  pt_event *events = NULL;
  size_t count = 0;
  assert_int_equal(pt_log_recent(log, 8, &events, &count), PT_OK);
  assert_int_equal(count, 1);
  assert_int_equal(events[0].kind, PT_EV_STREAM_OPENED);
  assert_int_equal(events[0].flags, PT_TRACE_FLAGS_MASK | PT_EVENT_HAS_PEER);
  pt_events_free(events);
  pt_log_destroy(log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tracer_records_context_flags),
      cmocka_unit_test(test_real_records),
      cmocka_unit_test(test_key_order_and_spaces),
      cmocka_unit_test(test_bad_values_rejected),
      cmocka_unit_test(test_every_truncation_rejected),
      cmocka_unit_test(test_random_mutations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
