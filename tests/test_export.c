/*
 * test_export: the exporter API's contract (argument checks, node rules,
 * time order, sticky I/O errors, app command naming).  The formats
 * themselves are validated by real parsers in tests/export/ and tests/js/;
 * the clock labels here are read back with jansson.
 */
#ifndef _GNU_SOURCE /* pt_add_test defines it */
#define _GNU_SOURCE
#endif
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include <peertrace/peertrace.h>
#include <peertrace/pt_align.h>

#include "test_helpers.h"

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

/* An exporter of `format` writing into memory (open_memstream); after
 * sink_close, text (the caller frees it) holds the size bytes written. */
typedef struct sink {
  char *text;
  size_t size;
  FILE *fp;
  pt_exporter *ex;
} sink;

static pt_exporter *sink_open(sink *s, pt_export_format format) {
  s->text = NULL;
  s->size = 0;
  s->fp = open_memstream(&s->text, &s->size);
  assert_non_null(s->fp);
  assert_int_equal(pt_exporter_new(&s->ex, format, s->fp), PT_OK);
  return s->ex;
}

static void sink_close(sink *s) {
  pt_exporter_free(s->ex);
  assert_int_equal(fclose(s->fp), 0);
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
  /* No nodes, services or prefix after the first event; no going back in
   * time: calls valid in themselves, refused now (PT_ERR_STATE). */
  unsigned b;
  assert_int_equal(pt_exporter_add_node(ex, node_b, &b), PT_ERR_STATE);
  assert_int_equal(pt_exporter_set_service(ex, 0, "svc"), PT_ERR_STATE);
  assert_int_equal(pt_exporter_set_service_prefix(ex, "svc"), PT_ERR_STATE);
  ev.timestamp_us = 99;
  assert_int_equal(pt_exporter_write(ex, 0, &ev), PT_ERR_STATE);
  ev.timestamp_us = 100;
  assert_int_equal(pt_exporter_write(ex, 0, &ev), PT_OK);
  assert_int_equal(pt_exporter_finish(ex), PT_OK);
  /* After the end nothing more is written: no event, no second end. */
  long size = ftell(fp);
  assert_int_equal(pt_exporter_write(ex, 0, &ev), PT_ERR_STATE);
  assert_int_equal(pt_exporter_finish(ex), PT_ERR_STATE);
  assert_int_equal(ftell(fp), size);
  pt_exporter_free(ex);
  fclose(fp);
  pt_exporter_free(NULL);
}

/* One qlog trace is one node's events: a second node's are refused. */
static void test_qlog_one_node(void **state) {
  (void)state;
  sink out;
  pt_exporter *ex = sink_open(&out, PT_EXPORT_QLOG);
  unsigned a, b;
  assert_int_equal(pt_exporter_add_node(ex, node_a, &a), PT_OK);
  assert_int_equal(pt_exporter_add_node(ex, node_b, &b), PT_OK);
  pt_event ev = app_event(PT_EV_APP_START, 1);
  assert_int_equal(pt_exporter_write(ex, b, &ev), PT_OK);
  assert_int_equal(pt_exporter_write(ex, a, &ev), PT_ERR_STATE);
  sink_close(&out);
  free(out.text);
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
  sink out;
  pt_exporter *ex = sink_open(&out, PT_EXPORT_JSON);
  int calls = 0;
  assert_int_equal(pt_exporter_set_app_namer(ex, namer, &calls), PT_OK);
  unsigned index;
  assert_int_equal(pt_exporter_add_node(ex, node_a, &index), PT_OK);
  pt_event ev = app_event(PT_EV_APP_START, 5);
  assert_int_equal(pt_exporter_write(ex, 0, &ev), PT_OK);
  ev.data.app_start.cmd = 2;
  assert_int_equal(pt_exporter_write(ex, 0, &ev), PT_OK);
  assert_int_equal(pt_exporter_finish(ex), PT_OK);
  sink_close(&out);
  assert_true(calls >= 2);
  assert_non_null(strstr(out.text, "\"title\":\"STORE_CHUNK\""));
  assert_non_null(strstr(out.text, "\"title\":\"DMAP/2\""));
  free(out.text);
}

static void test_empty_exports_are_complete(void **state) {
  (void)state;
  /* No events: each format still writes a complete document, except qlog,
   * which refuses (no header-only file), and OTLP, whose JSON Lines hold no
   * line (a line is a request of one span at least). */
  const char *ends[] = {"]}\n", NULL, "]}\n", "", "</svg>\n"};
  for (int f = PT_EXPORT_JSON; f <= PT_EXPORT_SVG; f++) {
    sink out;
    pt_exporter *ex = sink_open(&out, (pt_export_format)f);
    assert_int_equal(pt_exporter_finish(ex),
                     ends[f - 1] != NULL ? PT_OK : PT_ERR_NOT_FOUND);
    sink_close(&out);
    if (f == PT_EXPORT_OTLP) {
      assert_int_equal(out.size, 0);
    } else if (ends[f - 1] != NULL) {
      size_t n = strlen(ends[f - 1]);
      assert_true(out.size >= n);
      assert_string_equal(out.text + out.size - n, ends[f - 1]);
    } else {
      assert_int_equal(out.size, 0);
    }
    free(out.text);
  }
}

static void test_log_export_json(void **state) {
  (void)state;
  pt_log *log = pt_test_log_new(64, 0x42);
  assert_non_null(log);
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

/* ---- Clock labels (pt_exporter_set_clock) -------------------------------- */

static const uint8_t node_c[32] = {0xcc};
static const uint8_t node_d[32] = {0xdd};

static pt_clock_estimate estimate(pt_clock_status status, double offset,
                                  double drift, double bound) {
  pt_clock_estimate e;
  memset(&e, 0, sizeof e);
  e.status = status;
  e.offset_us = offset;
  e.drift_ppm = drift;
  e.bound_us = bound;
  e.t0_us = 1000;
  return e;
}

/*
 * Exports a request on each of `nodes` nodes (a, b, c, d): a is the
 * reference, b aligned (offset -2500000.25 us, drift 50 ppm, bound 41.5
 * us), c unaligned, d without pt_exporter_set_clock.  Returns the text.
 */
static char *export_with_clocks(pt_export_format format, unsigned nodes) {
  const uint8_t *ids[] = {node_a, node_b, node_c, node_d};
  pt_clock_estimate est[] = {estimate(PT_CLOCK_REFERENCE, 0, 0, 0),
                             estimate(PT_CLOCK_ALIGNED, -2500000.25, 50, 41.5),
                             /* as pt_align leaves it */
                             estimate(PT_CLOCK_UNALIGNED, 0, 0, INFINITY)};
  sink out;
  pt_exporter *ex = sink_open(&out, format);
  for (unsigned i = 0; i < nodes; i++) {
    unsigned index;
    assert_int_equal(pt_exporter_add_node(ex, ids[i], &index), PT_OK);
    if (i < 3) {
      assert_int_equal(pt_exporter_set_clock(ex, index, &est[i]), PT_OK);
    }
  }
  uint64_t t = 100;
  for (unsigned i = 0; i < nodes; i++) {
    pt_event ev = app_event(PT_EV_APP_START, t++);
    assert_int_equal(pt_exporter_write(ex, i, &ev), PT_OK);
    ev = app_event(PT_EV_APP_END, t++);
    assert_int_equal(pt_exporter_write(ex, i, &ev), PT_OK);
  }
  assert_int_equal(pt_exporter_finish(ex), PT_OK);
  sink_close(&out);
  return out.text;
}

static json_t *parse(const char *text) {
  json_error_t err;
  json_t *doc = json_loads(text, 0, &err);
  if (doc == NULL) {
    fail_msg("not JSON: %s at line %d", err.text, err.line);
  }
  return doc;
}

/*
 * With PT_EXPORT_TEST_OUT set, the exports read back here are also saved
 * in that directory, for the consumers' own readers (tests/export/
 * check_labels.sh runs ajv and the OTLP protobuf types on them).
 */
static void save(const char *name, const char *text) {
  const char *dir = getenv("PT_EXPORT_TEST_OUT");
  if (dir == NULL) {
    return;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  assert_int_equal(fputs(text, fp) >= 0, 1);
  assert_int_equal(fclose(fp), 0);
}

/* Checks one clock object of node i of export_with_clocks. */
static void check_clock_object(json_t *clock, unsigned i) {
  static const char *times[] = {"aligned", "aligned", "raw", "raw"};
  static const char *status[] = {"reference", "aligned", "unaligned", "none"};
  assert_non_null(clock);
  assert_string_equal(json_string_value(json_object_get(clock, "times")),
                      times[i]);
  assert_string_equal(json_string_value(json_object_get(clock, "status")),
                      status[i]);
  assert_int_equal(json_integer_value(json_object_get(clock, "reference")), 0);
  json_t *offset = json_object_get(clock, "offset_us");
  if (i >= 2) {
    /* Raw times: no numbers (for c, pt_align's bound is infinite). */
    assert_null(offset);
    assert_null(json_object_get(clock, "bound_us"));
    return;
  }
  assert_true(json_is_real(offset));
  double want[] = {0, -2500000.25};
  assert_true(json_real_value(offset) == want[i]);
  assert_true(json_real_value(json_object_get(clock, "drift_ppm")) ==
              (i == 1 ? 50 : 0));
  assert_true(json_real_value(json_object_get(clock, "bound_us")) ==
              (i == 1 ? 41.5 : 0));
  assert_int_equal(json_integer_value(json_object_get(clock, "t0_us")), 1000);
}

static void test_clock_label_json(void **state) {
  (void)state;
  char *text = export_with_clocks(PT_EXPORT_JSON, 4);
  save("clock.json", text);
  json_t *doc = parse(text);
  json_t *nodes = json_object_get(doc, "nodes");
  assert_int_equal(json_array_size(nodes), 4);
  for (unsigned i = 0; i < 4; i++) {
    check_clock_object(json_object_get(json_array_get(nodes, i), "clock"), i);
  }
  json_decref(doc);
  free(text);
}

static void test_clock_label_chrome(void **state) {
  (void)state;
  static const char *names[] = {
      "node aa000000 (reference clock)", "node bb000000 (aligned +/-41.5 us)",
      "node cc000000 (raw times, unaligned)", "node dd000000 (raw times)"};
  static const char *labels[] = {
      "times as recorded: the reference clock of the timeline",
      "times aligned to node aa000000: offset -2500000.2 us, drift +50.000 "
      "ppm, bound +/-41.5 us",
      "times as recorded: clock unaligned (no two-way path of packets to the "
      "reference)",
      "times as recorded (no clock estimate)"};
  char *text = export_with_clocks(PT_EXPORT_CHROME, 4);
  save("clock.trace.json", text);
  json_t *doc = parse(text);
  json_t *events = json_object_get(doc, "traceEvents");
  unsigned seen_names = 0, seen_labels = 0;
  size_t k;
  json_t *e;
  json_array_foreach(events, k, e) {
    const char *name = json_string_value(json_object_get(e, "name"));
    json_int_t pid = json_integer_value(json_object_get(e, "pid"));
    json_t *args = json_object_get(e, "args");
    assert_true(pid >= 1 && pid <= 4);
    if (strcmp(name, "process_name") == 0) {
      assert_string_equal(json_string_value(json_object_get(args, "name")),
                          names[pid - 1]);
      seen_names |= 1u << (pid - 1);
    } else if (strcmp(name, "process_labels") == 0) {
      assert_string_equal(json_string_value(json_object_get(args, "labels")),
                          labels[pid - 1]);
      check_clock_object(json_object_get(args, "clock"), (unsigned)pid - 1);
      seen_labels |= 1u << (pid - 1);
    }
  }
  assert_int_equal(seen_names, 0xf);
  assert_int_equal(seen_labels, 0xf);
  json_decref(doc);
  free(text);
}

/* The value of resource attribute key, as JSON (NULL if absent). */
static json_t *otlp_attr(json_t *resource, const char *key) {
  size_t k;
  json_t *a;
  json_array_foreach(json_object_get(resource, "attributes"), k, a) {
    if (strcmp(json_string_value(json_object_get(a, "key")), key) == 0) {
      return json_object_get(a, "value");
    }
  }
  return NULL;
}

static void test_clock_label_otlp(void **state) {
  (void)state;
  static const char *ids[] = {"aa", "bb", "cc", "dd"};
  static const char *times[] = {"aligned", "aligned", "raw", "raw"};
  static const char *status[] = {"reference", "aligned", "unaligned", "none"};
  char *text = export_with_clocks(PT_EXPORT_OTLP, 4);
  save("clock.otlp.json", text);
  json_t *doc = parse(text);
  json_t *spans = json_object_get(doc, "resourceSpans");
  assert_int_equal(json_array_size(spans), 4); /* a span per node */
  size_t k;
  json_t *rs;
  unsigned seen = 0;
  json_array_foreach(spans, k, rs) {
    json_t *res = json_object_get(rs, "resource");
    const char *id = json_string_value(
        json_object_get(otlp_attr(res, "peertrace.node_id"), "stringValue"));
    unsigned i = 0;
    while (i < 4 && strncmp(id, ids[i], 2) != 0) {
      i++;
    }
    assert_true(i < 4);
    seen |= 1u << i;
    assert_string_equal(
        json_string_value(json_object_get(
            otlp_attr(res, "peertrace.clock.times"), "stringValue")),
        times[i]);
    assert_string_equal(
        json_string_value(json_object_get(
            otlp_attr(res, "peertrace.clock.status"), "stringValue")),
        status[i]);
    const char *ref = json_string_value(json_object_get(
        otlp_attr(res, "peertrace.clock.reference"), "stringValue"));
    assert_non_null(ref);
    assert_int_equal(strncmp(ref, "aa000000", 8), 0);
    json_t *offset = otlp_attr(res, "peertrace.clock.offset_us");
    if (i >= 2) {
      assert_null(offset); /* raw times: no numbers */
      assert_null(otlp_attr(res, "peertrace.clock.bound_us"));
      continue;
    }
    double want_offset = i == 1 ? -2500000.25 : 0;
    double got = json_number_value(json_object_get(offset, "doubleValue"));
    assert_true(got == want_offset); /* printed with enough digits */
    assert_true(json_number_value(
                    json_object_get(otlp_attr(res, "peertrace.clock.drift_ppm"),
                                    "doubleValue")) == (i == 1 ? 50 : 0));
    assert_true(json_number_value(
                    json_object_get(otlp_attr(res, "peertrace.clock.bound_us"),
                                    "doubleValue")) == (i == 1 ? 41.5 : 0));
  }
  assert_int_equal(seen, 0xf);
  json_decref(doc);
  free(text);
}

/* A qlog export of events evs[0..n) of one node; returns the text. */
static char *export_qlog(const uint8_t node[32], const pt_event *evs,
                         size_t n) {
  sink out;
  pt_exporter *ex = sink_open(&out, PT_EXPORT_QLOG);
  unsigned index;
  assert_int_equal(pt_exporter_add_node(ex, node, &index), PT_OK);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(pt_exporter_write(ex, index, &evs[i]), PT_OK);
  }
  assert_int_equal(pt_exporter_finish(ex), PT_OK);
  sink_close(&out);
  return out.text;
}

/* The qlog header: the first JSON-SEQ record. */
static json_t *qlog_header(char *text) {
  assert_int_equal(text[0], '\x1e');
  char *end = strchr(text, '\n');
  assert_non_null(end);
  *end = '\0';
  return parse(text + 1);
}

static void test_clock_label_qlog(void **state) {
  (void)state;
  /* One node per qlog: node a (the reference), then a lone node d. */
  char *text = export_with_clocks(PT_EXPORT_QLOG, 1);
  save("clock.sqlog", text);
  json_t *head = qlog_header(text);
  json_t *common =
      json_object_get(json_object_get(head, "trace"), "common_fields");
  check_clock_object(json_object_get(common, "peertrace_clock"), 0);
  assert_non_null(
      strstr(json_string_value(json_object_get(head, "description")),
             "the reference clock"));
  json_decref(head);
  free(text);

  pt_event one = app_event(PT_EV_APP_START, 5);
  char *raw = export_qlog(node_d, &one, 1);
  head = qlog_header(raw);
  json_t *clock = json_object_get(
      json_object_get(json_object_get(head, "trace"), "common_fields"),
      "peertrace_clock");
  assert_string_equal(json_string_value(json_object_get(clock, "times")),
                      "raw");
  assert_null(json_object_get(clock, "reference"));
  assert_non_null(
      strstr(json_string_value(json_object_get(head, "description")),
             "times as recorded"));
  json_decref(head);
  free(raw);
}

static void test_set_clock_arguments(void **state) {
  (void)state;
  sink out;
  pt_exporter *ex = sink_open(&out, PT_EXPORT_JSON);
  pt_clock_estimate ok = estimate(PT_CLOCK_ALIGNED, 1, 2, 3);
  assert_int_equal(pt_exporter_set_clock(ex, 0, &ok), PT_ERR_INVALID);
  unsigned index;
  assert_int_equal(pt_exporter_add_node(ex, node_a, &index), PT_OK);
  assert_int_equal(pt_exporter_set_clock(NULL, 0, &ok), PT_ERR_INVALID);
  assert_int_equal(pt_exporter_set_clock(ex, 0, NULL), PT_ERR_INVALID);
  assert_int_equal(pt_exporter_set_clock(ex, 1, &ok), PT_ERR_INVALID);
  pt_clock_estimate bad = ok;
  bad.status = (pt_clock_status)99;
  assert_int_equal(pt_exporter_set_clock(ex, 0, &bad), PT_ERR_INVALID);
  bad = ok;
  bad.offset_us = NAN;
  assert_int_equal(pt_exporter_set_clock(ex, 0, &bad), PT_ERR_INVALID);
  bad = ok;
  bad.drift_ppm = INFINITY;
  assert_int_equal(pt_exporter_set_clock(ex, 0, &bad), PT_ERR_INVALID);
  bad = ok;
  bad.bound_us = -1;
  assert_int_equal(pt_exporter_set_clock(ex, 0, &bad), PT_ERR_INVALID);
  bad.status = PT_CLOCK_REFERENCE;
  assert_int_equal(pt_exporter_set_clock(ex, 0, &bad), PT_ERR_INVALID);
  /* A node left as recorded: pt_align gives it an infinite bound. */
  pt_clock_estimate raw = estimate(PT_CLOCK_UNALIGNED, 0, 0, INFINITY);
  assert_int_equal(pt_exporter_set_clock(ex, 0, &raw), PT_OK);
  raw.status = PT_CLOCK_INCONSISTENT;
  raw.offset_us = NAN;
  assert_int_equal(pt_exporter_set_clock(ex, 0, &raw), PT_OK);
  assert_int_equal(pt_exporter_set_clock(ex, 0, &ok), PT_OK);
  pt_event ev = app_event(PT_EV_APP_START, 100);
  assert_int_equal(pt_exporter_write(ex, 0, &ev), PT_OK);
  /* Labels are written with the first event: too late now. */
  assert_int_equal(pt_exporter_set_clock(ex, 0, &ok), PT_ERR_STATE);
  assert_int_equal(pt_exporter_finish(ex), PT_OK);
  sink_close(&out);
  free(out.text);
}

/* ---- qlog: a packet's stream frames ---------------------------------------
 */

static pt_event packet(unsigned kind, uint64_t pn, uint64_t conn, uint64_t ts) {
  pt_event ev;
  pt_event_begin(&ev, (pt_trace_id){{9}}, NULL);
  if (kind == PT_EV_PACKET_SENT) {
    pt_event_set_packet_sent(&ev, pn, 1200, PT_PN_SPACE_APPLICATION);
  } else {
    pt_event_set_packet_received(&ev, pn, 1200, PT_PN_SPACE_APPLICATION);
  }
  pt_event_set_conn(&ev, conn);
  ev.timestamp_us = ts;
  return ev;
}

static pt_event frame(uint64_t pn, uint64_t offset, int sent, uint64_t conn,
                      uint64_t ts) {
  pt_event ev;
  pt_event_begin(&ev, (pt_trace_id){{9}}, NULL);
  pt_event_set_stream_frame(&ev, pn, 4, offset, 100, PT_PN_SPACE_APPLICATION,
                            offset == 200, (uint8_t)sent);
  pt_event_set_conn(&ev, conn);
  ev.timestamp_us = ts;
  return ev;
}

/* Splits a JSON-SEQ text into its records, parsed; returns the count. */
static size_t qlog_records(char *text, json_t **out, size_t max) {
  size_t n = 0;
  for (char *p = strtok(text, "\x1e"); p != NULL && n < max;
       p = strtok(NULL, "\x1e")) {
    out[n++] = parse(p);
  }
  return n;
}

static const char *record_name(json_t *r) {
  return json_string_value(json_object_get(r, "name"));
}

/* The header of a qlog export of evs: vantage type and group id. */
static void check_vantage(const pt_event *evs, size_t n, const char *type,
                          const char *group) {
  char *text = export_qlog(node_a, evs, n);
  json_t *r[16];
  size_t count = qlog_records(text, r, 16);
  assert_int_equal(count, 1 + n); /* held events follow the header */
  json_t *trace = json_object_get(r[0], "trace");
  assert_string_equal(json_string_value(json_object_get(
                          json_object_get(trace, "vantage_point"), "type")),
                      type);
  assert_string_equal(json_string_value(json_object_get(
                          json_object_get(trace, "common_fields"), "group_id")),
                      group);
  for (size_t i = 0; i < count; i++) {
    json_decref(r[i]);
  }
  free(text);
}

static void test_qlog_vantage(void **state) {
  (void)state;
  const uint64_t conn = 0xc0ffee;
  pt_event init;
  pt_event_begin(&init, (pt_trace_id){{9}}, NULL);
  pt_event_set_conn_init(&init, (pt_endpoint){0});
  pt_event_set_conn(&init, conn);
  init.timestamp_us = 1;
  pt_event evs[3] = {init, packet(PT_EV_PACKET_SENT, 0, conn, 2),
                     packet(PT_EV_PACKET_RECEIVED, 0, conn, 3)};
  /* The client sent the first packet, an Initial. */
  evs[1].data.packet_sent.space = PT_PN_SPACE_INITIAL;
  evs[2].data.packet_received.space = PT_PN_SPACE_INITIAL;
  check_vantage(evs, 3, "client", "0000000000c0ffee");
  /* The server received it first. */
  evs[1].kind = PT_EV_PACKET_RECEIVED;
  evs[2].kind = PT_EV_PACKET_SENT;
  check_vantage(evs, 3, "server", "0000000000c0ffee");
  /* A first packet past the handshake says nothing: unknown. */
  evs[1].data.packet_sent.space = PT_PN_SPACE_APPLICATION;
  check_vantage(evs, 3, "unknown", "0000000000c0ffee");
  /* No packet at all, no conn: the trace id is the group. */
  pt_event app = app_event(PT_EV_APP_START, 4);
  check_vantage(&app, 1, "unknown", "01020300000000000000000000000000");
}

/* A second connection's event does not go into a connection's trace. */
static void test_qlog_one_connection(void **state) {
  (void)state;
  sink out;
  pt_exporter *ex = sink_open(&out, PT_EXPORT_QLOG);
  unsigned index;
  assert_int_equal(pt_exporter_add_node(ex, node_a, &index), PT_OK);
  pt_event a = packet(PT_EV_PACKET_SENT, 1, 0x11, 1);
  pt_event none = app_event(PT_EV_APP_START, 2);
  pt_event b = packet(PT_EV_PACKET_SENT, 2, 0x22, 3);
  assert_int_equal(pt_exporter_write(ex, index, &a), PT_OK);
  assert_int_equal(pt_exporter_write(ex, index, &none), PT_OK);
  assert_int_equal(pt_exporter_write(ex, index, &b), PT_ERR_STATE);
  sink_close(&out);
  free(out.text);
}

static void test_qlog_frames_of_packets(void **state) {
  (void)state;
  const uint64_t conn = 0x1234;
  pt_event evs[] = {
      packet(PT_EV_PACKET_SENT, 5, conn, 10),
      frame(5, 0, 1, conn, 11),
      frame(5, 100, 1, conn, 11),
      frame(6, 0, 1, conn, 12), /* no packet 6: its own event */
      packet(PT_EV_PACKET_RECEIVED, 9, conn, 13),
      frame(9, 200, 1, conn, 14), /* a sent frame: not the received packet's */
      packet(PT_EV_PACKET_RECEIVED, 10, conn, 15),
      frame(10, 0, 0, 0, 16), /* no known connection */
      packet(PT_EV_PACKET_SENT, 11, conn, 17),
      frame(11, 200, 1, conn, 18)};
  /* Finishing writes the held packet 11. */
  char *text = export_qlog(node_a, evs, sizeof evs / sizeof evs[0]);
  save("frames.sqlog", text);
  json_t *r[16];
  size_t n = qlog_records(text, r, 16);
  const char *want[] = {"transport:packet_sent",     "peertrace:stream_frame",
                        "transport:packet_received", "peertrace:stream_frame",
                        "transport:packet_received", "peertrace:stream_frame",
                        "transport:packet_sent"};
  assert_int_equal(n, 1 + 7); /* the header, then the events */
  double last = 0;
  for (size_t i = 1; i < n; i++) {
    assert_string_equal(record_name(r[i]), want[i - 1]);
    double t = json_number_value(json_object_get(r[i], "time"));
    assert_true(t >= last); /* held packets keep the time order */
    last = t;
  }
  json_t *frames = json_object_get(json_object_get(r[1], "data"), "frames");
  assert_int_equal(json_array_size(frames), 2);
  json_t *f1 = json_array_get(frames, 1);
  assert_string_equal(json_string_value(json_object_get(f1, "frame_type")),
                      "stream");
  assert_int_equal(json_integer_value(json_object_get(f1, "stream_id")), 4);
  assert_int_equal(json_integer_value(json_object_get(f1, "offset")), 100);
  assert_int_equal(json_integer_value(json_object_get(f1, "length")), 100);
  assert_null(json_object_get(f1, "fin"));
  assert_null(json_object_get(json_object_get(r[3], "data"), "frames"));
  assert_null(json_object_get(json_object_get(r[5], "data"), "frames"));
  json_t *last_frames =
      json_object_get(json_object_get(r[7], "data"), "frames");
  assert_int_equal(json_array_size(last_frames), 1);
  assert_true(
      json_is_true(json_object_get(json_array_get(last_frames, 0), "fin")));
  /* A lone frame keeps its fields, conn as 16 hex digits. */
  json_t *lone = json_object_get(r[2], "data");
  assert_int_equal(json_integer_value(json_object_get(lone, "pn")), 6);
  assert_string_equal(json_string_value(json_object_get(lone, "conn")),
                      "0000000000001234");
  for (size_t i = 0; i < n; i++) {
    json_decref(r[i]);
  }
  free(text);
}

/* ---- The event table's newer fields, named in JSON and Chrome ----------- */

static void test_conn_sent_and_frames_named(void **state) {
  (void)state;
  pt_event evs[2];
  pt_event_begin(&evs[0], (pt_trace_id){{9}}, NULL);
  pt_event_set_stream_data(&evs[0], 4, 100, 200, 0);
  evs[0].data.stream_data.sent = 1; /* a BOOL_X field: not a setter's */
  pt_event_set_conn(&evs[0], 0xfedcba9876543210u);
  evs[0].timestamp_us = 10;
  evs[1] = frame(7, 100, 0, 0x12, 11);
  for (int f = PT_EXPORT_JSON; f <= PT_EXPORT_CHROME; f += 2) {
    sink out;
    pt_exporter *ex = sink_open(&out, (pt_export_format)f);
    unsigned index;
    assert_int_equal(pt_exporter_add_node(ex, node_a, &index), PT_OK);
    for (int i = 0; i < 2; i++) {
      assert_int_equal(pt_exporter_write(ex, index, &evs[i]), PT_OK);
    }
    assert_int_equal(pt_exporter_finish(ex), PT_OK);
    sink_close(&out);
    json_t *doc = parse(out.text);
    json_t *list =
        json_object_get(doc, f == PT_EXPORT_JSON ? "events" : "traceEvents");
    /* Chrome: the events, without the metadata records (the node's 3, and
     * one naming each connection's track where it is first used). */
    json_t *evs_out[2];
    size_t count = 0, meta = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
      json_t *e = json_array_get(list, i);
      const char *ph = json_string_value(json_object_get(e, "ph"));
      if (f == PT_EXPORT_CHROME && ph != NULL && strcmp(ph, "M") == 0) {
        meta++;
      } else {
        assert_true(count < 2);
        evs_out[count++] = e;
      }
    }
    assert_int_equal(count, 2);
    assert_int_equal(meta, f == PT_EXPORT_JSON ? 0 : 3 + 2);
    json_t *data[2];
    for (size_t i = 0; i < 2; i++) {
      json_t *e = evs_out[i];
      if (f == PT_EXPORT_CHROME) {
        /* An instant on its connection's track (two conns: two tracks), in
         * category transport. */
        assert_string_equal(json_string_value(json_object_get(e, "ph")), "i");
        assert_int_equal(json_integer_value(json_object_get(e, "pid")), 1);
        assert_int_equal(json_integer_value(json_object_get(e, "tid")),
                         100000 + (json_int_t)i);
        assert_string_equal(json_string_value(json_object_get(e, "cat")),
                            "transport");
        e = json_object_get(e, "args");
      }
      data[i] = json_object_get(e, "data");
    }
    assert_string_equal(json_string_value(json_object_get(data[0], "conn")),
                        "fedcba9876543210");
    assert_true(json_is_true(json_object_get(data[0], "sent")));
    assert_int_equal(json_integer_value(json_object_get(data[1], "pn")), 7);
    assert_int_equal(json_integer_value(json_object_get(data[1], "offset")),
                     100);
    assert_true(json_is_false(json_object_get(data[1], "sent")));
    assert_string_equal(json_string_value(json_object_get(data[1], "conn")),
                        "0000000000000012");
    json_decref(doc);
    free(out.text);
  }
}

/* ---- OTLP: JSON Lines of whole requests, each under 1 MiB ---------------- */

static void test_otlp_lines_under_1mib(void **state) {
  (void)state;
  /* 600 spans of 128 kept events: two batches (PT__OTLP_BATCH_EVENTS). */
  enum { SPANS = 600, EVENTS = 130 };
  sink out;
  pt_exporter *ex = sink_open(&out, PT_EXPORT_OTLP);
  unsigned index;
  assert_int_equal(pt_exporter_add_node(ex, node_a, &index), PT_OK);
  uint64_t t = 1000;
  for (unsigned i = 0; i < SPANS; i++) {
    pt_event ev = app_event(PT_EV_APP_START, t++);
    ev.trace_id.bytes[15] = (uint8_t)i;
    ev.trace_id.bytes[14] = (uint8_t)(i >> 8);
    ev.trace_id.bytes[13] = 1; /* never all zero */
    assert_int_equal(pt_exporter_write(ex, index, &ev), PT_OK);
    pt_trace_id trace = ev.trace_id;
    for (unsigned k = 0; k < EVENTS; k++) {
      pt_event_begin(&ev, trace, NULL);
      pt_event_set_stream_data(&ev, 4, 100 * k, 100, 0);
      ev.timestamp_us = t++;
      assert_int_equal(pt_exporter_write(ex, index, &ev), PT_OK);
    }
    ev = app_event(PT_EV_APP_END, t++);
    ev.trace_id = trace;
    assert_int_equal(pt_exporter_write(ex, index, &ev), PT_OK);
  }
  assert_int_equal(pt_exporter_finish(ex), PT_OK);
  sink_close(&out);
  assert_true(out.size > 2u * 1024 * 1024); /* more than fits in two lines */
  size_t lines = 0, spans = 0;
  for (char *line = out.text; *line != '\0';) {
    char *end = strchr(line, '\n');
    assert_non_null(end); /* every line ends */
    assert_true((size_t)(end - line) < 1024u * 1024u);
    *end = '\0';
    json_t *doc = parse(line);
    json_t *rs = json_array_get(json_object_get(doc, "resourceSpans"), 0);
    json_t *list = json_object_get(
        json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans");
    for (size_t i = 0; i < json_array_size(list); i++) {
      json_t *span = json_array_get(list, i);
      /* 128 events kept, the rest counted. */
      assert_int_equal(json_array_size(json_object_get(span, "events")), 128);
      assert_int_equal(
          json_integer_value(json_object_get(span, "droppedEventsCount")),
          EVENTS - 128);
    }
    spans += json_array_size(list);
    json_decref(doc);
    lines++;
    line = end + 1;
  }
  assert_true(lines > 2);
  assert_int_equal(spans, SPANS);
  free(out.text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arguments),
      cmocka_unit_test(test_qlog_one_node),
      cmocka_unit_test(test_qlog_vantage),
      cmocka_unit_test(test_qlog_one_connection),
      cmocka_unit_test(test_io_error_sticks),
      cmocka_unit_test(test_app_namer),
      cmocka_unit_test(test_empty_exports_are_complete),
      cmocka_unit_test(test_log_export_json),
      cmocka_unit_test(test_set_clock_arguments),
      cmocka_unit_test(test_clock_label_json),
      cmocka_unit_test(test_clock_label_chrome),
      cmocka_unit_test(test_otlp_lines_under_1mib),
      cmocka_unit_test(test_clock_label_otlp),
      cmocka_unit_test(test_clock_label_qlog),
      cmocka_unit_test(test_qlog_frames_of_packets),
      cmocka_unit_test(test_conn_sent_and_frames_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
