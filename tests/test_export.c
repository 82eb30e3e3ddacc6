/*
 * test_export: the exporter API's contract (argument checks, node rules,
 * time order, sticky I/O errors, app command naming).  The formats
 * themselves are validated by real parsers in tests/export/ and tests/js/.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <peertrace/peertrace.h>

static const uint8_t node_a[32] = {0xaa};
static const uint8_t node_b[32] = {0xbb};

static pt_event app_event(unsigned kind, uint64_t ts) {
  pt_event ev;
  pt_trace_id id = {{1, 2, 3}};
  pt_event_begin(&ev, id, NULL);
  if (kind == PT_EV_APP_START) {
    pt_event_set_app_start(&ev, "DMAP", 1, "x", 1);
  } else {
    pt_event_set_app_end(&ev, "DMAP", 1, 1, 10);
  }
  ev.timestamp_us = ts;
  return ev;
}

static void test_arguments(void **state) {
  (void)state;
  pt_exporter *ex;
  assert_int_equal(pt_exporter_new(NULL, PT_EXPORT_JSON, stdout),
                   PT_ERR_INVALID);
  assert_int_equal(pt_exporter_new(&ex, PT_EXPORT_JSON, NULL), PT_ERR_INVALID);
  assert_int_equal(pt_exporter_new(&ex, (pt_export_format)99, stdout),
                   PT_ERR_INVALID);
  assert_null(ex);
  FILE *fp = tmpfile();
  assert_int_equal(pt_exporter_new(&ex, PT_EXPORT_JSON, fp), PT_OK);
  unsigned a;
  assert_int_equal(pt_exporter_add_node(ex, NULL, &a), PT_ERR_INVALID);
  assert_int_equal(pt_exporter_add_node(ex, node_a, &a), PT_OK);
  assert_int_equal(a, 0);
  pt_event ev = app_event(PT_EV_APP_START, 100);
  assert_int_equal(pt_exporter_write(ex, 1, &ev), PT_ERR_INVALID);
  assert_int_equal(pt_exporter_write(ex, 0, NULL), PT_ERR_INVALID);
  assert_int_equal(pt_exporter_write(ex, 0, &ev), PT_OK);
  /* No nodes after the first event; no going back in time. */
  unsigned b;
  assert_int_equal(pt_exporter_add_node(ex, node_b, &b), PT_ERR_INVALID);
  ev.timestamp_us = 99;
  assert_int_equal(pt_exporter_write(ex, 0, &ev), PT_ERR_INVALID);
  ev.timestamp_us = 100;
  assert_int_equal(pt_exporter_write(ex, 0, &ev), PT_OK);
  assert_int_equal(pt_exporter_finish(ex), PT_OK);
  pt_exporter_free(ex);
  fclose(fp);
  pt_exporter_free(NULL);
}

static void test_qlog_one_node(void **state) {
  (void)state;
  pt_exporter *ex;
  FILE *fp = tmpfile();
  assert_int_equal(pt_exporter_new(&ex, PT_EXPORT_QLOG, fp), PT_OK);
  unsigned index;
  assert_int_equal(pt_exporter_add_node(ex, node_a, &index), PT_OK);
  assert_int_equal(pt_exporter_add_node(ex, node_b, &index), PT_ERR_INVALID);
  pt_exporter_free(ex);
  fclose(fp);
}

static void test_io_error_sticks(void **state) {
  (void)state;
  FILE *fp = fopen("/dev/full", "w");
  assert_non_null(fp);
  setvbuf(fp, NULL, _IONBF, 0); /* every write reaches the device */
  pt_exporter *ex;
  assert_int_equal(pt_exporter_new(&ex, PT_EXPORT_CHROME, fp), PT_OK);
  unsigned index;
  assert_int_equal(pt_exporter_add_node(ex, node_a, &index), PT_OK);
  pt_event ev = app_event(PT_EV_APP_START, 1);
  assert_int_equal(pt_exporter_write(ex, 0, &ev), PT_ERR_IO);
  assert_int_equal(pt_exporter_write(ex, 0, &ev), PT_ERR_IO);
  assert_int_equal(pt_exporter_finish(ex), PT_ERR_IO);
  pt_exporter_free(ex);
  fclose(fp);
}

static int namer(const uint8_t app_id[4], uint16_t cmd, char *out,
                 size_t out_size, void *user) {
  (*(int *)user)++;
  if (memcmp(app_id, "DMAP", 4) == 0 && cmd == 1) {
    snprintf(out, out_size, "STORE_CHUNK");
    return 1;
  }
  return 0;
}

static void test_app_namer(void **state) {
  (void)state;
  char *text = NULL;
  size_t size = 0;
  FILE *fp = open_memstream(&text, &size);
  pt_exporter *ex;
  int calls = 0;
  assert_int_equal(pt_exporter_new(&ex, PT_EXPORT_JSON, fp), PT_OK);
  assert_int_equal(pt_exporter_set_app_namer(ex, namer, &calls), PT_OK);
  unsigned index;
  assert_int_equal(pt_exporter_add_node(ex, node_a, &index), PT_OK);
  pt_event ev = app_event(PT_EV_APP_START, 5);
  assert_int_equal(pt_exporter_write(ex, 0, &ev), PT_OK);
  ev.data.app_start.cmd = 2;
  assert_int_equal(pt_exporter_write(ex, 0, &ev), PT_OK);
  assert_int_equal(pt_exporter_finish(ex), PT_OK);
  pt_exporter_free(ex);
  fclose(fp);
  assert_true(calls >= 2);
  assert_non_null(strstr(text, "\"title\":\"STORE_CHUNK\""));
  assert_non_null(strstr(text, "\"title\":\"DMAP/2\""));
  free(text);
}

static void test_empty_exports_are_complete(void **state) {
  (void)state;
  /* No events: each format still writes a complete document. */
  const char *ends[] = {"]}\n", NULL, "]}\n", "]}\n", "</svg>\n"};
  for (int f = PT_EXPORT_JSON; f <= PT_EXPORT_SVG; f++) {
    char *text = NULL;
    size_t size = 0;
    FILE *fp = open_memstream(&text, &size);
    pt_exporter *ex;
    assert_int_equal(pt_exporter_new(&ex, (pt_export_format)f, fp), PT_OK);
    assert_int_equal(pt_exporter_finish(ex), PT_OK);
    pt_exporter_free(ex);
    fclose(fp);
    if (ends[f - 1] != NULL) {
      size_t n = strlen(ends[f - 1]);
      assert_true(size >= n);
      assert_string_equal(text + size - n, ends[f - 1]);
    } else {
      assert_true(size > 0 && text[0] == '\x1e');
    }
    free(text);
  }
}

static void test_log_export_json(void **state) {
  (void)state;
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 64;
  memset(cfg.node_id, 0x42, sizeof cfg.node_id);
  pt_log *log;
  assert_int_equal(pt_log_create(&log, &cfg), PT_OK);
  pt_trace_id mine = pt_trace_id_new(), other = pt_trace_id_new();
  for (uint64_t i = 0; i < 6; i++) {
    pt_event ev;
    pt_event_begin(&ev, (i % 2) ? other : mine, NULL);
    pt_event_set_packet_sent(&ev, i, 100 + i, PT_PN_SPACE_APPLICATION);
    ev.timestamp_us = 1000 - i; /* written newest first */
    pt_log_write_at(log, &ev);
  }
  char *text;
  size_t len;
  assert_int_equal(pt_log_export_json(log, &mine, &text, &len), PT_OK);
  assert_int_equal(strlen(text), len);
  char hex[33];
  pt_trace_id_to_hex(&other, hex, sizeof hex);
  assert_null(strstr(text, hex)); /* only the asked trace */
  assert_non_null(strstr(text, "\"node_id\":\"4242"));
  /* pn 4, 2, 0 in time order (times 996, 998, 1000). */
  const char *p4 = strstr(text, "\"pn\":4"), *p2 = strstr(text, "\"pn\":2"),
             *p0 = strstr(text, "\"pn\":0");
  assert_true(p4 != NULL && p2 != NULL && p0 != NULL && p4 < p2 && p2 < p0);
  free(text);
  assert_int_equal(pt_log_export_json(log, NULL, &text, &len), PT_OK);
  assert_non_null(strstr(text, hex)); /* all traces */
  free(text);
  assert_int_equal(pt_log_export_json(NULL, NULL, &text, &len), PT_ERR_INVALID);
  assert_int_equal(
      pt_log_export(log, NULL, (pt_export_format)0, NULL, NULL, stdout),
      PT_ERR_INVALID);
  pt_log_destroy(log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arguments),
      cmocka_unit_test(test_qlog_one_node),
      cmocka_unit_test(test_io_error_sticks),
      cmocka_unit_test(test_app_namer),
      cmocka_unit_test(test_empty_exports_are_complete),
      cmocka_unit_test(test_log_export_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
