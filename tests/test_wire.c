/*
 * test_wire: the trace header on the wire.  Built in every configuration:
 * in trace builds the header is 19 bytes and its decoder rejects malformed
 * input; in release builds it is zero bytes, so a release node sends
 * exactly its application message.  The same message is encoded here in
 * both builds and its size checked against the payload size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <peertrace/peertrace.h>
#include <peertrace/pt_wire.h>

#include "dmap_wire.h"

/* The demo's request framing: [wire header][DMAP request]. */
static size_t encode_store(uint8_t *out, size_t cap) {
  pt_msg_header h;
  dmap_msg req;
  static const uint8_t chunk[100] = {1, 2, 3};
  memset(&h, 0, sizeof h);
  h.trace_id.bytes[0] = 0xab;
  h.flags = PT_FLAG_SAMPLED;
  memset(&req, 0, sizeof req);
  req.cmd = DMAP_STORE_CHUNK;
  req.size = sizeof chunk;
  req.data = chunk;
  int hlen = pt_wire_header_encode(&h, out, cap);
  assert_true(hlen >= 0);
  int blen = dmap_msg_encode(&req, out + hlen, cap - (size_t)hlen);
  assert_true(blen > 0);
  return (size_t)hlen + (size_t)blen;
}

static void test_encoded_size_per_build(void **state) {
  (void)state;
  uint8_t buf[512];
  size_t payload = DMAP_MSG_HEADER + 100;
  size_t total = encode_store(buf, sizeof buf);
#if PT_TRACE
  assert_int_equal(PT_WIRE_HEADER_SIZE, 19);
  assert_int_equal(total, payload + 19);
  assert_string_equal(PT_WIRE_ALPN, PT_WIRE_ALPN_TRACE);
#else
  /* Release: zero extra bytes on the wire. */
  assert_int_equal(PT_WIRE_HEADER_SIZE, 0);
  assert_int_equal(total, payload);
  assert_string_equal(PT_WIRE_ALPN, PT_WIRE_ALPN_RELEASE);
#endif
  assert_true(strcmp(PT_WIRE_ALPN_TRACE, PT_WIRE_ALPN_RELEASE) != 0);
}

#if PT_TRACE
static void test_round_trip(void **state) {
  (void)state;
  pt_msg_header h, back;
  uint8_t buf[PT_WIRE_HEADER_SIZE];
  h.trace_id = pt_trace_id_new();
  h.flags = PT_FLAG_SAMPLED | PT_FLAG_APP_INITIATED;
  assert_int_equal(pt_wire_header_encode(&h, buf, sizeof buf), 19);
  assert_int_equal(pt_wire_header_decode(buf, sizeof buf, &back), 19);
  assert_memory_equal(back.trace_id.bytes, h.trace_id.bytes, 16);
  assert_int_equal(back.flags, h.flags);
}

static void test_encode_errors(void **state) {
  (void)state;
  pt_msg_header h;
  uint8_t buf[32];
  memset(&h, 0, sizeof h);
  assert_int_equal(pt_wire_header_encode(NULL, buf, sizeof buf),
                   PT_ERR_INVALID);
  assert_int_equal(pt_wire_header_encode(&h, NULL, 19), PT_ERR_INVALID);
  assert_int_equal(pt_wire_header_encode(&h, buf, 18), PT_ERR_BUFFER);
  h.flags = 0x80;
  assert_int_equal(pt_wire_header_encode(&h, buf, sizeof buf), PT_ERR_INVALID);
}

/* Every truncation, in a buffer of exactly that size (ASan sees overreads). */
static void test_truncated_rejected(void **state) {
  (void)state;
  pt_msg_header h, out;
  uint8_t full[PT_WIRE_HEADER_SIZE];
  memset(&h, 0, sizeof h);
  h.trace_id.bytes[3] = 7;
  assert_int_equal(pt_wire_header_encode(&h, full, sizeof full), 19);
  for (size_t len = 0; len < sizeof full; len++) {
    uint8_t *exact = malloc(len ? len : 1);
    assert_non_null(exact);
    memcpy(exact, full, len);
    memset(&out, 0x5a, sizeof out);
    assert_int_equal(pt_wire_header_decode(exact, len, &out), PT_ERR_PARSE);
    assert_int_equal(out.flags, 0x5a); /* untouched on error */
    free(exact);
  }
}

static void test_malformed_rejected(void **state) {
  (void)state;
  pt_msg_header h, out;
  uint8_t buf[PT_WIRE_HEADER_SIZE];
  memset(&h, 0, sizeof h);
  assert_int_equal(pt_wire_header_encode(&h, buf, sizeof buf), 19);
  buf[0] ^= 0xff; /* magic */
  assert_int_equal(pt_wire_header_decode(buf, sizeof buf, &out), PT_ERR_PARSE);
  buf[0] ^= 0xff;
  buf[1] = 2; /* version */
  assert_int_equal(pt_wire_header_decode(buf, sizeof buf, &out), PT_ERR_PARSE);
  buf[1] = 1;
  buf[18] = 0x40; /* unknown flag */
  assert_int_equal(pt_wire_header_decode(buf, sizeof buf, &out), PT_ERR_PARSE);
  buf[18] = 0;
  assert_int_equal(pt_wire_header_decode(buf, sizeof buf, &out), 19);
  assert_int_equal(pt_wire_header_decode(NULL, 19, &out), PT_ERR_INVALID);
  assert_int_equal(pt_wire_header_decode(buf, 19, NULL), PT_ERR_INVALID);
  /* A release node's message (plain DMAP) is not a trace header. */
  uint8_t plain[DMAP_MSG_HEADER] = {DMAP_GET_CHUNK};
  assert_int_equal(pt_wire_header_decode(plain, sizeof plain, &out),
                   PT_ERR_PARSE);
}
#else
static void test_release_decode_consumes_nothing(void **state) {
  (void)state;
  pt_msg_header out;
  uint8_t plain[4] = {1, 2, 3, 4};
  assert_int_equal(pt_wire_header_decode(plain, sizeof plain, &out), 0);
  assert_int_equal(pt_wire_header_encode(NULL, NULL, 0), 0);
}
#endif

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_encoded_size_per_build),
#if PT_TRACE
    cmocka_unit_test(test_round_trip),
    cmocka_unit_test(test_encode_errors),
    cmocka_unit_test(test_truncated_rejected),
    cmocka_unit_test(test_malformed_rejected),
#else
    cmocka_unit_test(test_release_decode_consumes_nothing),
#endif
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
