/*
 * test_quic_qlog: the adapter's qlog record parsers (pt_quic_qlog_parse,
 * pt_quic_qlog_stream_frames, pt_quic_qlog_odcid) on records in the exact
 * form ngtcp2 0.12.1 writes them, on reordered keys, and on untrusted
 * garbage: every truncation and thousands of random mutations, each in a
 * buffer of exactly its size so that ASan would catch a read past the end;
 * and the tracer's recording of them through the qlog hook (connection
 * identity, stream_frame events, their counters).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>

#include <peertrace/pt_quic.h>

#include "test_helpers.h"

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
/* The headers of both ends of one demo connection: the same group_id. */
static const char HEADER_CLIENT[] =
    "\x1e{\"qlog_format\":\"JSON-SEQ\",\"qlog_version\":\"0.3\",\"trace\":{"
    "\"vantage_point\":{\"name\":\"ngtcp2\",\"type\":\"client\"},\"common_"
    "fields\":{\"protocol_type\":[\"QUIC\"],\"time_format\":\"relative\","
    "\"reference_time\":0,\"group_id\":\"e52215773509a2ab7063dd6fc54b4b8a3ccc"
    "\"}}}\n";
static const char HEADER_SERVER[] =
    "\x1e{\"qlog_format\":\"JSON-SEQ\",\"qlog_version\":\"0.3\",\"trace\":{"
    "\"vantage_point\":{\"name\":\"ngtcp2\",\"type\":\"server\"},\"common_"
    "fields\":{\"protocol_type\":[\"QUIC\"],\"time_format\":\"relative\","
    "\"reference_time\":0,\"group_id\":\"e52215773509a2ab7063dd6fc54b4b8a3ccc"
    "\"}}}\n";
static const uint8_t ODCID[18] = {0xe5, 0x22, 0x15, 0x77, 0x35, 0x09,
                                  0xa2, 0xab, 0x70, 0x63, 0xdd, 0x6f,
                                  0xc5, 0x4b, 0x4b, 0x8a, 0x3c, 0xcc};
/* Packets with STREAM frames, as the demo's nodes wrote them. */
static const char SENT_STREAM[] =
    "\x1e{\"time\":24,\"name\":\"transport:packet_sent\",\"data\":{\"frames\""
    ":[{\"frame_type\":\"ack\",\"ack_delay\":0,\"acked_ranges\":[[0,1]]},{"
    "\"frame_type\":\"stream\",\"stream_id\":0,\"offset\":0,\"length\":1361}"
    "],\"header\":{\"packet_type\":\"1RTT\",\"packet_number\":3},\"raw\":{"
    "\"length\":1406}}}\n";
static const char RECEIVED_FIN[] =
    "\x1e{\"time\":24,\"name\":\"transport:packet_received\",\"data\":{"
    "\"frames\":[{\"frame_type\":\"ack\",\"ack_delay\":0,\"acked_ranges\":["
    "[2,6],[0]]},{\"frame_type\":\"stream\",\"stream_id\":4,\"offset\":3476,"
    "\"length\":581,\"fin\":true}],\"header\":{\"packet_type\":\"1RTT\","
    "\"packet_number\":4},\"raw\":{\"length\":623}}}\n";

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

/* f is the stream_frame event these fields describe (conn still 0). */
static void check_frame(const pt_event *f, uint64_t pn, unsigned space,
                        uint64_t stream_id, uint64_t offset, uint32_t length,
                        int fin, int sent) {
  assert_int_equal(f->kind, PT_EV_STREAM_FRAME);
  assert_int_equal(f->data.stream_frame.pn, pn);
  assert_int_equal(f->data.stream_frame.space, space);
  assert_int_equal(f->data.stream_frame.stream_id, stream_id);
  assert_int_equal(f->data.stream_frame.offset, offset);
  assert_int_equal(f->data.stream_frame.length, length);
  assert_int_equal(f->data.stream_frame.fin, fin);
  assert_int_equal(f->data.stream_frame.sent, sent);
  assert_int_equal(pt_event_conn(f), 0);
}

static void test_real_stream_frames(void **state) {
  (void)state;
  pt_event f[4];
  size_t n = 99;
  assert_int_equal(
      pt_quic_qlog_stream_frames(SENT_STREAM, strlen(SENT_STREAM), f, 4, &n),
      1);
  assert_int_equal(n, 1);
  check_frame(&f[0], 3, PT_PN_SPACE_APPLICATION, 0, 0, 1361, 0, 1);

  assert_int_equal(
      pt_quic_qlog_stream_frames(RECEIVED_FIN, strlen(RECEIVED_FIN), f, 4, &n),
      1);
  assert_int_equal(n, 1);
  check_frame(&f[0], 4, PT_PN_SPACE_APPLICATION, 4, 3476, 581, 1, 0);

  /* Packets without STREAM frames, and records that are not packets. */
  const char *none[] = {SENT, RECEIVED};
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(
        pt_quic_qlog_stream_frames(none[i], strlen(none[i]), f, 4, &n), 1);
    assert_int_equal(n, 0);
  }
  const char *other[] = {LOST, METRICS, HEADER_CLIENT};
  for (size_t i = 0; i < 3; i++) {
    n = 99;
    assert_int_equal(
        pt_quic_qlog_stream_frames(other[i], strlen(other[i]), f, 4, &n), 0);
    assert_int_equal(n, 0);
  }
}

/* Several STREAM frames in one packet (another order of keys, blanks):
 * filled up to cap, all counted. */
static void test_stream_frames_cap(void **state) {
  (void)state;
  const char *text =
      "{\"name\":\"transport:packet_sent\",\"data\":{\"header\":{"
      "\"packet_number\":9,\"packet_type\":\"handshake\"},\"raw\":{"
      "\"length\":900},\"frames\": [ {\"length\":10,\"offset\":5,"
      "\"frame_type\":\"stream\",\"stream_id\":8} , {\"frame_type\":"
      "\"padding\"}, {\"frame_type\":\"stream\",\"stream_id\":12,\"offset\":0,"
      "\"length\":0,\"fin\":false},{\"frame_type\":\"stream\",\"stream_id\":"
      "16,\"offset\":4611686018427387900,\"length\":4,\"fin\":true} ] }}";
  pt_event f[3];
  size_t n = 0;
  assert_int_equal(pt_quic_qlog_stream_frames(text, strlen(text), f, 3, &n), 1);
  assert_int_equal(n, 3);
  check_frame(&f[0], 9, PT_PN_SPACE_HANDSHAKE, 8, 5, 10, 0, 1);
  check_frame(&f[1], 9, PT_PN_SPACE_HANDSHAKE, 12, 0, 0, 0, 1);
  check_frame(&f[2], 9, PT_PN_SPACE_HANDSHAKE, 16, 4611686018427387900u, 4, 1,
              1);
  /* A smaller array: the first frames only, every frame counted. */
  memset(f, 0, sizeof f);
  assert_int_equal(pt_quic_qlog_stream_frames(text, strlen(text), f, 1, &n), 1);
  assert_int_equal(n, 3);
  assert_int_equal(f[0].data.stream_frame.stream_id, 8);
  assert_int_equal(f[1].kind, 0); /* untouched */
  assert_int_equal(pt_quic_qlog_stream_frames(text, strlen(text), NULL, 0, &n),
                   1);
  assert_int_equal(n, 3);
  assert_int_equal(pt_quic_qlog_stream_frames(text, strlen(text), NULL, 1, &n),
                   PT_ERR_INVALID);
  assert_int_equal(pt_quic_qlog_stream_frames(NULL, 3, f, 1, &n),
                   PT_ERR_INVALID);
  assert_int_equal(pt_quic_qlog_stream_frames(text, strlen(text), f, 1, NULL),
                   PT_ERR_INVALID);
}

static void test_bad_stream_frames_rejected(void **state) {
  (void)state;
#define PKT(frames)                                                            \
  "{\"name\":\"transport:packet_sent\",\"data\":{\"frames\":" frames           \
  ",\"header\":{\"packet_type\":\"1RTT\",\"packet_number\":5},\"raw\":{"       \
  "\"length\":100}}}"
  static const char *const bad[] = {
      PKT("{}"),                   /* not an array */
      PKT("[1]"),                  /* not an object */
      PKT("[{\"offset\":0}]"),     /* no frame_type */
      PKT("[{\"frame_type\":7}]"), /* not a string */
      PKT("[{\"frame_type\":\"stream\",\"offset\":0,\"length\":1}]"),
      PKT("[{\"frame_type\":\"stream\",\"stream_id\":0,\"length\":1}]"),
      PKT("[{\"frame_type\":\"stream\",\"stream_id\":0,\"offset\":1}]"),
      PKT("[{\"frame_type\":\"stream\",\"stream_id\":-1,\"offset\":0,"
          "\"length\":1}]"),
      PKT("[{\"frame_type\":\"stream\",\"stream_id\":0,\"offset\":0,"
          "\"length\":4294967296}]"), /* length beyond 32 bits */
      PKT("[{\"frame_type\":\"stream\",\"stream_id\":0,\"offset\":"
          "4611686018427387900,\"length\":5}]"), /* past 2^62 */
      PKT("[{\"frame_type\":\"stream\",\"stream_id\":0,\"offset\":0,"
          "\"length\":1,\"fin\":1}]"),
      PKT("[{\"frame_type\":\"stream\",\"stream_id\":0,\"offset\":0,"
          "\"length\":1,\"fin\":\"true\"}]"),
      PKT("[{\"frame_type\":\"ping\"} {\"frame_type\":\"ping\"}]"),
      PKT("[{\"frame_type\":\"ping\"},]"),
  };
#undef PKT
  pt_event f[4], ev;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t n = 99;
    int rv = parse_exact(bad[i], strlen(bad[i]), &ev);
    if (rv != 1) {
      fail_msg("record %zu: the packet itself should parse, got %d", i, rv);
    }
    char *copy = malloc(strlen(bad[i]));
    assert_non_null(copy);
    memcpy(copy, bad[i], strlen(bad[i]));
    rv = pt_quic_qlog_stream_frames(copy, strlen(bad[i]), f, 4, &n);
    free(copy);
    if (rv != PT_ERR_PARSE || n != 0) {
      fail_msg("record %zu: expected PT_ERR_PARSE, got %d (%zu frames)", i, rv,
               n);
    }
  }
  /* A packet record that does not parse has no frames either. */
  size_t n = 0;
  const char *broken = "{\"name\":\"transport:packet_sent\",\"data\":{}}";
  assert_int_equal(pt_quic_qlog_stream_frames(broken, strlen(broken), f, 4, &n),
                   PT_ERR_PARSE);
}

static void test_odcid(void **state) {
  (void)state;
  uint8_t cid[PT_QUIC_MAX_CID_LEN];
  size_t len = 0;
  const char *both[] = {HEADER_CLIENT, HEADER_SERVER};
  for (size_t i = 0; i < 2; i++) {
    memset(cid, 0, sizeof cid);
    assert_int_equal(pt_quic_qlog_odcid(both[i], strlen(both[i]), cid, &len),
                     1);
    assert_int_equal(len, sizeof ODCID);
    assert_memory_equal(cid, ODCID, sizeof ODCID);
  }
  const char *none[] = {HEADER, SENT, LOST, METRICS};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(pt_quic_qlog_odcid(none[i], strlen(none[i]), cid, &len),
                     0);
  }
  static const char *const bad[] = {
      "{\"trace\":{\"common_fields\":{\"group_id\":\"\"}}}",
      "{\"trace\":{\"common_fields\":{\"group_id\":\"abc\"}}}",
      "{\"trace\":{\"common_fields\":{\"group_id\":\"zz\"}}}",
      "{\"trace\":{\"common_fields\":{\"group_id\":12}}}",
      /* 21 bytes: longer than any QUIC v1 cid */
      ("{\"trace\":{\"common_fields\":{\"group_id\":\"000102030405060708090a"
       "0b0c0d0e0f1011121314\"}}}"),
      "{\"trace\":{\"common_fields\":{\"group_id\":\"0001\"}}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *copy = malloc(strlen(bad[i]));
    assert_non_null(copy);
    memcpy(copy, bad[i], strlen(bad[i]));
    int rv = pt_quic_qlog_odcid(copy, strlen(bad[i]), cid, &len);
    free(copy);
    if (rv != PT_ERR_PARSE) {
      fail_msg("header %zu: expected PT_ERR_PARSE, got %d", i, rv);
    }
  }
  /* 20 bytes, upper case: the longest cid. */
  const char *longest = "{\"trace\":{\"common_fields\":{\"group_id\":"
                        "\"000102030405060708090A0B0C0D0E0F10111213\"}}}";
  assert_int_equal(pt_quic_qlog_odcid(longest, strlen(longest), cid, &len), 1);
  assert_int_equal(len, 20);
  assert_int_equal(cid[10], 0x0a);
  assert_int_equal(pt_quic_qlog_odcid(NULL, 1, cid, &len), PT_ERR_INVALID);
  assert_int_equal(pt_quic_qlog_odcid(HEADER, 1, NULL, &len), PT_ERR_INVALID);
  assert_int_equal(pt_quic_qlog_odcid(HEADER, 1, cid, NULL), PT_ERR_INVALID);
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

/* Every parser on text[0..len) in a heap buffer of exactly len bytes;
 * returns the packet parser's result, the others' in *frames_rv, *odcid_rv. */
static int parse_all_exact(const char *text, size_t len, int *frames_rv,
                           int *odcid_rv) {
  pt_event ev, f[2];
  uint8_t cid[PT_QUIC_MAX_CID_LEN];
  size_t n = 0, cid_len = 0;
  char *copy = malloc(len ? len : 1);
  assert_non_null(copy);
  memcpy(copy, text, len);
  int rv = pt_quic_qlog_parse(copy, len, &ev);
  *frames_rv = pt_quic_qlog_stream_frames(copy, len, f, 2, &n);
  assert_true(*frames_rv == 1 || n == 0);
  *odcid_rv = pt_quic_qlog_odcid(copy, len, cid, &cid_len);
  assert_true(*odcid_rv != 1 || (cid_len >= 1 && cid_len <= 20));
  free(copy);
  return rv;
}

static void test_every_truncation_rejected(void **state) {
  (void)state;
  const char *records[] = {SENT,        RECEIVED,     LOST,
                           SENT_STREAM, RECEIVED_FIN, HEADER_SERVER};
  for (size_t r = 0; r < 6; r++) {
    size_t full = strlen(records[r]) - 1; /* without the trailing newline */
    int frames_rv, odcid_rv;
    for (size_t len = 0; len < full; len++) {
      int rv = parse_all_exact(records[r], len, &frames_rv, &odcid_rv);
      if (rv == 1 || frames_rv == 1 || odcid_rv == 1) {
        fail_msg("record %zu truncated to %zu bytes parsed (%d %d %d)", r, len,
                 rv, frames_rv, odcid_rv);
      }
    }
    int rv = parse_all_exact(records[r], full, &frames_rv, &odcid_rv);
    assert_int_equal(rv, r < 5 ? 1 : 0);
    assert_int_equal(frames_rv, r < 5 && r != 2 ? 1 : 0);
    assert_int_equal(odcid_rv, r == 5 ? 1 : 0);
  }
}

static void test_random_mutations(void **state) {
  (void)state;
  uint64_t x = 0x1234567u;
  const char *records[] = {SENT,        RECEIVED,     LOST,
                           SENT_STREAM, RECEIVED_FIN, HEADER_CLIENT};
  pt_event ev, f[2];
  uint8_t cid[PT_QUIC_MAX_CID_LEN];
  size_t n, cid_len;
  for (int i = 0; i < 30000; i++) {
    const char *src = records[i % 6];
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
    rv = pt_quic_qlog_stream_frames(copy, len, f, 2, &n);
    assert_true(rv == 1 || rv == 0 || rv == PT_ERR_PARSE);
    if (rv == 1) {
      for (size_t k = 0; k < n && k < 2; k++) {
        assert_int_equal(f[k].kind, PT_EV_STREAM_FRAME);
        assert_true(f[k].data.stream_frame.offset +
                        f[k].data.stream_frame.length <=
                    (UINT64_C(1) << 62));
      }
    }
    rv = pt_quic_qlog_odcid(copy, len, cid, &cid_len);
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
  pt_log *log = pt_test_log_new(64, 0);
  assert_non_null(log);
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

/* A tracer on a fresh log, its qlog hook installed. */
typedef struct hooked {
  pt_log *log;
  pt_quic_tracer t;
  ngtcp2_settings settings;
  pt_trace_ctx ctx;
  uint8_t peer[32];
} hooked;

static void hooked_init(hooked *h) {
  ngtcp2_callbacks cb;
  memset(h, 0, sizeof *h);
  memset(&cb, 0, sizeof cb);
  h->log = pt_test_log_new(256, 0);
  assert_non_null(h->log);
  h->ctx = pt_trace_ctx_new(PT_FLAG_SAMPLED);
  memset(h->peer, 0x42, sizeof h->peer);
  assert_int_equal(pt_quic_tracer_init(&h->t, h->log, h->peer, h->ctx), PT_OK);
  assert_int_equal(pt_quic_tracer_install(&h->t, &cb, &h->settings), PT_OK);
}

static void hooked_write(hooked *h, const char *text) {
  h->settings.qlog.write(&h->t, 0, text, strlen(text));
}

static pt_event *hooked_events(hooked *h, size_t *count) {
  pt_event *events = NULL;
  assert_int_equal(pt_log_recent(h->log, 256, &events, count), PT_OK);
  return events;
}

/* The qlog header gives the connection identity when none was set; every
 * event from then on carries it, with the connection's trace and peer;
 * each STREAM frame of a packet becomes a stream_frame right after it. */
static void test_tracer_conn_from_header_and_frames(void **state) {
  (void)state;
  hooked h;
  hooked_init(&h);
  uint64_t conn = pt_conn_id_from_cid(ODCID, sizeof ODCID);
  assert_true(conn != 0);
  hooked_write(&h, SENT); /* before the header: conn still unknown */
  hooked_write(&h, HEADER_SERVER);
  assert_true(h.t.conn == conn);
  hooked_write(&h, SENT_STREAM);
  hooked_write(&h, RECEIVED_FIN);
  hooked_write(&h, LOST);
  /* Metrics with no ngtcp2_conn to read them from: counted, no event. */
  hooked_write(&h, METRICS);
  assert_int_equal(h.t.stats.metrics_updates, 1);
  assert_int_equal(h.t.stats.metrics_no_conn, 1);
  assert_int_equal(h.t.stats.recovery_metrics, 0);
  size_t n = 0;
  pt_event *evs = hooked_events(&h, &n);
  assert_int_equal(n, 6);
  static const unsigned kinds[] = {PT_EV_PACKET_SENT,  PT_EV_PACKET_SENT,
                                   PT_EV_STREAM_FRAME, PT_EV_PACKET_RECEIVED,
                                   PT_EV_STREAM_FRAME, PT_EV_PACKET_LOST};
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(evs[i].kind, kinds[i]);
    assert_true(pt_event_conn(&evs[i]) == (i == 0 ? 0 : conn));
    assert_memory_equal(&evs[i].trace_id, &h.ctx.trace_id,
                        sizeof h.ctx.trace_id);
    assert_memory_equal(evs[i].peer_id, h.peer, sizeof h.peer);
    assert_int_equal(evs[i].flags, PT_FLAG_SAMPLED | PT_EVENT_HAS_PEER);
  }
  assert_int_equal(evs[2].data.stream_frame.pn, 3);
  assert_int_equal(evs[2].data.stream_frame.sent, 1);
  assert_int_equal(evs[2].data.stream_frame.length, 1361);
  assert_int_equal(evs[4].data.stream_frame.pn, 4);
  assert_int_equal(evs[4].data.stream_frame.sent, 0);
  assert_int_equal(evs[4].data.stream_frame.fin, 1);
  assert_int_equal(h.t.stats.stream_frames, 2);
  assert_int_equal(h.t.stats.frames_rejected, 0);
  assert_int_equal(h.t.stats.frames_dropped, 0);
  assert_int_equal(h.t.stats.conn_mismatch, 0);
  pt_events_free(evs);
  /* A later header names another ODCID, or a malformed one: counted, the
   * first one stays. */
  hooked_write(&h, "\x1e{\"qlog_format\":\"JSON-SEQ\",\"trace\":{\"common_"
                   "fields\":{\"group_id\":\"0102\"}}}\n");
  hooked_write(&h, "\x1e{\"qlog_format\":\"JSON-SEQ\",\"trace\":{\"common_"
                   "fields\":{\"group_id\":\"01x2\"}}}\n");
  assert_true(h.t.conn == conn);
  assert_int_equal(h.t.stats.conn_mismatch, 2);
  pt_log_destroy(h.log);
}

static int initial_calls;
static int app_client_initial(ngtcp2_conn *conn, void *user_data) {
  (void)conn;
  (void)user_data;
  initial_calls++;
  return 7;
}
static int app_recv_client_initial(ngtcp2_conn *conn, const ngtcp2_cid *dcid,
                                   void *user_data) {
  (void)conn;
  (void)dcid;
  (void)user_data;
  initial_calls += 10;
  return 8;
}

/* client_initial / recv_client_initial: wrapped when set (the wrapper
 * notes the connection the recovery metrics are read from, then calls the
 * application's with its result), left NULL when not. */
static void test_tracer_wraps_initial_callbacks(void **state) {
  (void)state;
  pt_log *log = pt_test_log_new(64, 0);
  assert_non_null(log);
  pt_quic_tracer t;
  ngtcp2_callbacks cb;
  ngtcp2_settings settings;
  memset(&cb, 0, sizeof cb);
  memset(&settings, 0, sizeof settings);
  cb.client_initial = app_client_initial;
  cb.recv_client_initial = app_recv_client_initial;
  assert_int_equal(pt_quic_tracer_init(&t, log, NULL, pt_trace_ctx_new(0)),
                   PT_OK);
  assert_int_equal(pt_quic_tracer_install(&t, &cb, &settings), PT_OK);
  assert_true(cb.client_initial != app_client_initial);
  assert_true(cb.recv_client_initial != app_recv_client_initial);
  ngtcp2_conn *fake = (ngtcp2_conn *)&t; /* only its address is kept */
  initial_calls = 0;
  assert_int_equal(cb.client_initial(fake, &t), 7);
  assert_int_equal(cb.recv_client_initial((ngtcp2_conn *)&cb, NULL, &t), 8);
  assert_int_equal(initial_calls, 11);
  assert_ptr_equal(t.quic_conn, fake); /* the first one stays */
  memset(&cb, 0, sizeof cb);
  memset(&settings, 0, sizeof settings);
  assert_int_equal(pt_quic_tracer_init(&t, log, NULL, pt_trace_ctx_new(0)),
                   PT_OK);
  assert_int_equal(pt_quic_tracer_install(&t, &cb, &settings), PT_OK);
  assert_null(cb.client_initial);
  assert_null(cb.recv_client_initial);
  pt_log_destroy(log);
}

/* An ODCID set by the application wins over the header, which is only
 * checked; conn_init and stream_data carry it; stream_data sent under a
 * request's trace carry that trace id and flags. */
static void test_tracer_set_odcid_and_request_trace(void **state) {
  (void)state;
  hooked h;
  hooked_init(&h);
  const uint8_t mine[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  uint64_t conn = pt_conn_id_from_cid(mine, sizeof mine);
  assert_int_equal(pt_quic_tracer_set_odcid(&h.t, mine, sizeof mine), PT_OK);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(4433);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(pt_quic_tracer_conn_init(&h.t, &sa, sizeof sa), PT_OK);
  hooked_write(&h, HEADER_CLIENT); /* another ODCID: counted, not taken */
  assert_true(h.t.conn == conn);
  assert_int_equal(h.t.stats.conn_mismatch, 1);
  pt_msg_header req = {pt_trace_id_new(),
                       PT_FLAG_SAMPLED | PT_FLAG_APP_INITIATED | 0x40};
  assert_int_equal(pt_quic_tracer_stream_sent_trace(&h.t, &req, 4, 100, 50, 1),
                   PT_OK);
  assert_int_equal(pt_quic_tracer_stream_sent(&h.t, 8, 0, 7, 0), PT_OK);
  assert_int_equal(pt_quic_tracer_stream_sent_trace(NULL, &req, 4, 0, 1, 0),
                   PT_ERR_INVALID);
  size_t n = 0;
  pt_event *evs = hooked_events(&h, &n);
  assert_int_equal(n, 3);
  assert_int_equal(evs[0].kind, PT_EV_CONN_INIT);
  assert_true(pt_event_conn(&evs[0]) == conn);
  /* The request's bytes: its trace id and trace flags, the same peer and
   * connection; sent. */
  assert_int_equal(evs[1].kind, PT_EV_STREAM_DATA);
  assert_memory_equal(&evs[1].trace_id, &req.trace_id, sizeof req.trace_id);
  assert_int_equal(evs[1].flags,
                   PT_FLAG_SAMPLED | PT_FLAG_APP_INITIATED | PT_EVENT_HAS_PEER);
  assert_memory_equal(evs[1].peer_id, h.peer, sizeof h.peer);
  assert_true(pt_event_conn(&evs[1]) == conn);
  assert_int_equal(evs[1].data.stream_data.stream_id, 4);
  assert_int_equal(evs[1].data.stream_data.offset, 100);
  assert_int_equal(evs[1].data.stream_data.length, 50);
  assert_int_equal(evs[1].data.stream_data.fin, 1);
  assert_int_equal(evs[1].data.stream_data.sent, 1);
  /* Without a trace: the connection's. */
  assert_memory_equal(&evs[2].trace_id, &h.ctx.trace_id, sizeof h.ctx.trace_id);
  assert_int_equal(evs[2].data.stream_data.sent, 1);
  assert_true(pt_event_conn(&evs[2]) == conn);
  pt_events_free(evs);

  assert_int_equal(pt_quic_tracer_set_odcid(&h.t, mine, 0), PT_ERR_INVALID);
  assert_int_equal(pt_quic_tracer_set_odcid(&h.t, mine, 21), PT_ERR_INVALID);
  assert_int_equal(pt_quic_tracer_set_odcid(&h.t, NULL, 8), PT_ERR_INVALID);
  assert_int_equal(pt_quic_tracer_set_odcid(NULL, mine, 8), PT_ERR_INVALID);
  pt_log_destroy(h.log);
}

/* A packet with more STREAM frames than PT_QUIC_MAX_STREAM_FRAMES: the
 * first ones recorded, the rest counted; a packet whose frames list does
 * not parse: the packet recorded, no frame, counted. */
static void test_tracer_frame_limits(void **state) {
  (void)state;
  hooked h;
  hooked_init(&h);
  enum { FRAMES = PT_QUIC_MAX_STREAM_FRAMES + 2 };
  char text[8192];
  size_t at = (size_t)snprintf(text, sizeof text,
                               "\x1e{\"name\":\"transport:packet_sent\","
                               "\"data\":{\"frames\":[");
  for (unsigned i = 0; i < FRAMES; i++) {
    at += (size_t)snprintf(text + at, sizeof text - at,
                           "%s{\"frame_type\":\"stream\",\"stream_id\":%u,"
                           "\"offset\":0,\"length\":10}",
                           i ? "," : "", 4 * i);
  }
  snprintf(text + at, sizeof text - at,
           "],\"header\":{\"packet_type\":\"1RTT\",\"packet_number\":7},"
           "\"raw\":{\"length\":1400}}}\n");
  hooked_write(&h, text);
  assert_int_equal(h.t.stats.stream_frames, PT_QUIC_MAX_STREAM_FRAMES);
  assert_int_equal(h.t.stats.frames_dropped, 2);
  hooked_write(&h, "\x1e{\"name\":\"transport:packet_received\",\"data\":{"
                   "\"frames\":[{\"frame_type\":\"stream\",\"stream_id\":0}],"
                   "\"header\":{\"packet_type\":\"1RTT\",\"packet_number\":"
                   "2},\"raw\":{\"length\":40}}}\n");
  assert_int_equal(h.t.stats.frames_rejected, 1);
  assert_int_equal(h.t.stats.packets_received, 1);
  assert_int_equal(h.t.stats.qlog_rejected, 0);
  size_t n = 0;
  pt_event *evs = hooked_events(&h, &n);
  assert_int_equal(n, 1 + PT_QUIC_MAX_STREAM_FRAMES + 1);
  for (size_t i = 1; i <= PT_QUIC_MAX_STREAM_FRAMES; i++) {
    assert_int_equal(evs[i].kind, PT_EV_STREAM_FRAME);
    assert_int_equal(evs[i].data.stream_frame.stream_id, 4 * (i - 1));
    assert_int_equal(evs[i].data.stream_frame.pn, 7);
  }
  assert_int_equal(evs[n - 1].kind, PT_EV_PACKET_RECEIVED);
  pt_events_free(evs);
  pt_log_destroy(h.log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tracer_records_context_flags),
      cmocka_unit_test(test_real_records),
      cmocka_unit_test(test_real_stream_frames),
      cmocka_unit_test(test_stream_frames_cap),
      cmocka_unit_test(test_bad_stream_frames_rejected),
      cmocka_unit_test(test_odcid),
      cmocka_unit_test(test_tracer_conn_from_header_and_frames),
      cmocka_unit_test(test_tracer_set_odcid_and_request_trace),
      cmocka_unit_test(test_tracer_wraps_initial_callbacks),
      cmocka_unit_test(test_tracer_frame_limits),
      cmocka_unit_test(test_key_order_and_spaces),
      cmocka_unit_test(test_bad_values_rejected),
      cmocka_unit_test(test_every_truncation_rejected),
      cmocka_unit_test(test_random_mutations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
