/* test_traceparent: W3C traceparent formatting and parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <peertrace/peertrace.h>

static const char *sample =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

static void test_format_w3c_example(void **state) {
  (void)state;
  pt_trace_id id;
  assert_int_equal(
      pt_trace_id_from_hex("4bf92f3577b34da6a3ce929d0e0e4736", 32, &id), PT_OK);
  uint8_t parent[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
  char out[PT_TRACEPARENT_SIZE];
  assert_int_equal(pt_traceparent_format(&id, parent,
                                         PT_FLAG_SAMPLED | PT_FLAG_DEBUG, out,
                                         sizeof out),
                   PT_OK);
  assert_string_equal(out, sample);
  assert_int_equal(pt_traceparent_format(&id, parent, 0, out, sizeof out),
                   PT_OK);
  assert_string_equal(out + 53, "00");
  assert_int_equal(pt_traceparent_format(&id, parent, 0, out, 55),
                   PT_ERR_BUFFER);
}

static void test_format_rejects_zero_ids(void **state) {
  (void)state;
  pt_trace_id zero;
  memset(&zero, 0, sizeof zero);
  pt_trace_id id = pt_trace_id_new();
  uint8_t parent[8] = {1};
  uint8_t zero_parent[8] = {0};
  char out[PT_TRACEPARENT_SIZE];
  assert_int_equal(pt_traceparent_format(&zero, parent, 0, out, sizeof out),
                   PT_ERR_INVALID);
  assert_int_equal(pt_traceparent_format(&id, zero_parent, 0, out, sizeof out),
                   PT_ERR_INVALID);
  assert_int_equal(pt_traceparent_format(NULL, parent, 0, out, sizeof out),
                   PT_ERR_INVALID);
}

static void test_parse_roundtrip(void **state) {
  (void)state;
  for (int i = 0; i < 100; i++) {
    pt_trace_id id = pt_trace_id_new(), got;
    uint8_t parent[8], got_parent[8];
    for (int k = 0; k < 8; k++) {
      parent[k] = (uint8_t)(i * 8 + k + 1);
    }
    pt_trace_flags flags = (pt_trace_flags)(i & 1), got_flags = 0xff;
    char text[PT_TRACEPARENT_SIZE];
    assert_int_equal(
        pt_traceparent_format(&id, parent, flags, text, sizeof text), PT_OK);
    assert_int_equal(
        pt_traceparent_parse(text, strlen(text), &got, got_parent, &got_flags),
        PT_OK);
    assert_memory_equal(&got, &id, sizeof id);
    assert_memory_equal(got_parent, parent, 8);
    assert_int_equal(got_flags, flags);
  }
}

static int parse(const char *text) {
  pt_trace_id id;
  uint8_t parent[8];
  pt_trace_flags flags;
  return pt_traceparent_parse(text, strlen(text), &id, parent, &flags);
}

static void test_parse_rejects(void **state) {
  (void)state;
  assert_int_equal(parse(sample), PT_OK);
  const char *bad[] = {
      "",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
      "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (parse(bad[i]) != PT_ERR_PARSE) {
      fail_msg("accepted: \"%s\"", bad[i]);
    }
  }
  /* A future version may append fields after a dash. */
  assert_int_equal(
      parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-abc"),
      PT_OK);
  /* Unknown flag bits are ignored, only "sampled" is kept. */
  pt_trace_id id;
  uint8_t parent[8];
  pt_trace_flags flags;
  assert_int_equal(
      pt_traceparent_parse(
          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", 55, &id,
          parent, &flags),
      PT_OK);
  assert_int_equal(flags, PT_FLAG_SAMPLED);
  assert_int_equal(pt_traceparent_parse(NULL, 0, &id, parent, &flags),
                   PT_ERR_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format_w3c_example),
      cmocka_unit_test(test_format_rejects_zero_ids),
      cmocka_unit_test(test_parse_roundtrip),
      cmocka_unit_test(test_parse_rejects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
