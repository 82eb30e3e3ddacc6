/*
 * pt_export_otlp: OTLP/JSON traces, the format of the OpenTelemetry
 * Collector's OTLP JSON file receiver (then Jaeger, Tempo, ...).
 *
 * {"resourceSpans":[...]} where each finished span is written as soon as it
 * ends, in a resourceSpans element of its own whose resource names the node
 * (service.name "peertrace", peertrace.node_id, and its clock label:
 * peertrace.clock.times "aligned" or "raw", .status, .reference (the
 * reference node's id), .offset_us, .drift_ppm, .bound_us).  OTLP/JSON
 * specifics: traceId / spanId in hex (not base64), times as decimal strings of
 * Unix nanoseconds, 64-bit integers as strings, enums as integers.
 *
 * A span is one app request: app_start opens it for (node, trace id),
 * app_end with the same app id and command closes it (an app_end without a
 * start gives a span from its duration).  Other events of that trace on
 * that node while it is open become its span events.  Events with a zero
 * trace id, or of a trace with no open request, are not exported (OTLP has
 * no place for them).
 */
#include <stdlib.h>
#include <string.h>

#include "pt_export.h"

#define PT__OTLP_MAX_SPAN_EVENTS 128u

typedef struct pt__otlp_span {
  unsigned node;
  pt_trace_id trace_id;
  uint8_t app_id[4];
  uint16_t cmd;
  uint64_t start_us;
  uint64_t last_us;
  char name[128];
  pt_event *events; /* up to PT__OTLP_MAX_SPAN_EVENTS */
  uint32_t event_count;
  uint32_t dropped;
} pt__otlp_span;

typedef struct pt__otlp_state {
  pt__otlp_span *open; /* requests in progress */
  size_t open_count;
  size_t open_cap;
  uint64_t span_serial;
  int any_written;
} pt__otlp_state;

static int pt__otlp_begin(pt_exporter *ex, const pt_event *first) {
  (void)first;
  ex->state = calloc(1, sizeof(pt__otlp_state));
  if (ex->state == NULL) {
    return PT_ERR_NOMEM;
  }
  fputs("{\"resourceSpans\":[", ex->fp);
  return PT_OK;
}

/* 64-bit FNV-1a, for span ids. */
static uint64_t pt__fnv(uint64_t h, const void *data, size_t len) {
  const uint8_t *p = data;
  for (size_t i = 0; i < len; i++) {
    h = (h ^ p[i]) * 0x100000001b3ull;
  }
  return h;
}

static void pt__otlp_attr_string(FILE *fp, int comma, const char *key,
                                 const char *value) {
  fprintf(fp, "%s{\"key\":\"%s\",\"value\":{\"stringValue\":", comma ? "," : "",
          key);
  pt__export_json_string(fp, value);
  fputs("}}", fp);
}

typedef struct pt__otlp_attrs {
  FILE *fp;
  int comma;
} pt__otlp_attrs;

static void pt__otlp_field(void *ctx, const char *name, pt__field_type type,
                           uint64_t u, const char *text) {
  pt__otlp_attrs *a = ctx;
  if (type == PT__FIELD_TEXT) {
    pt__otlp_attr_string(a->fp, a->comma, name, text);
  } else if (type == PT__FIELD_BOOL) {
    fprintf(a->fp, "%s{\"key\":\"%s\",\"value\":{\"boolValue\":%s}}",
            a->comma ? "," : "", name, u ? "true" : "false");
  } else {
    /* intValue is a signed int64; larger values go as strings of digits. */
    if (u <= (uint64_t)INT64_MAX) {
      fprintf(a->fp, "%s{\"key\":\"%s\",\"value\":{\"intValue\":\"%llu\"}}",
              a->comma ? "," : "", name, (unsigned long long)u);
    } else {
      char digits[24];
      snprintf(digits, sizeof digits, "%llu", (unsigned long long)u);
      pt__otlp_attr_string(a->fp, a->comma, name, digits);
    }
  }
  a->comma = 1;
}

/* A double with `decimals` places, as the JSON export prints the clock. */
static void pt__otlp_attr_double(FILE *fp, const char *key, double value,
                                 int decimals) {
  fprintf(fp, ",{\"key\":\"%s\",\"value\":{\"doubleValue\":%.*f}}", key,
          decimals, value);
}

/* The node's clock label (pt_exporter_set_clock) as resource attributes. */
static void pt__otlp_clock_attrs(pt_exporter *ex, unsigned node) {
  FILE *fp = ex->fp;
  pt__export_clock c;
  pt__export_clock_of(ex, node, &c);
  pt__otlp_attr_string(fp, 1, "peertrace.clock.times", c.times);
  pt__otlp_attr_string(fp, 1, "peertrace.clock.status", c.status);
  if (c.reference >= 0) {
    pt__otlp_attr_string(fp, 1, "peertrace.clock.reference",
                         ex->nodes[c.reference].hex);
  }
  if (c.aligned) {
    /* Finite: pt_exporter_set_clock refuses anything else. */
    pt__otlp_attr_double(fp, "peertrace.clock.offset_us", c.offset_us, 3);
    pt__otlp_attr_double(fp, "peertrace.clock.drift_ppm", c.drift_ppm, 6);
    pt__otlp_attr_double(fp, "peertrace.clock.bound_us", c.bound_us, 3);
  }
}

/* Writes one finished span; status: 0 unset, 1 ok, 2 error. */
static void pt__otlp_write_span(pt_exporter *ex, const pt__otlp_span *s,
                                uint64_t end_us, int status) {
  pt__otlp_state *st = ex->state;
  FILE *fp = ex->fp;
  const pt__export_node *node = &ex->nodes[s->node];
  char trace_hex[33];
  pt__hex_encode(trace_hex, s->trace_id.bytes, 16);
  uint64_t h = 0xcbf29ce484222325ull;
  h = pt__fnv(h, node->id, 32);
  h = pt__fnv(h, &s->trace_id, sizeof s->trace_id);
  h = pt__fnv(h, &s->start_us, sizeof s->start_us);
  st->span_serial++;
  h = pt__fnv(h, &st->span_serial, sizeof st->span_serial);
  h = h != 0 ? h : 1; /* an all-zero span id is invalid */
  uint8_t span_id[8];
  for (int i = 0; i < 8; i++) {
    span_id[i] = (uint8_t)(h >> (8 * i));
  }
  char span_hex[17];
  pt__hex_encode(span_hex, span_id, 8);

  fprintf(fp, "%s\n{\"resource\":{\"attributes\":[",
          st->any_written ? "," : "");
  st->any_written = 1;
  pt__otlp_attr_string(fp, 0, "service.name", "peertrace");
  pt__otlp_attr_string(fp, 1, "peertrace.node_id", node->hex);
  pt__otlp_clock_attrs(ex, s->node);
  fputs("]},\"scopeSpans\":[{\"scope\":{\"name\":\"peertrace\"},\"spans\":[{",
        fp);
  fprintf(fp, "\"traceId\":\"%s\",\"spanId\":\"%s\",\"name\":", trace_hex,
          span_hex);
  pt__export_json_string(fp, s->name);
  fprintf(fp,
          ",\"kind\":1,\"startTimeUnixNano\":\"%llu000\","
          "\"endTimeUnixNano\":\"%llu000\",\"attributes\":[",
          (unsigned long long)s->start_us, (unsigned long long)end_us);
  char app[24];
  pt_event probe;
  memset(&probe, 0, sizeof probe);
  probe.kind = PT_EV_APP_COMMAND;
  memcpy(probe.data.app_command.app_id, s->app_id, 4);
  probe.data.app_command.cmd = s->cmd;
  pt__export_event_title(NULL, &probe, app, sizeof app); /* "APPID/cmd" */
  pt__otlp_attr_string(fp, 0, "peertrace.app_command", app);
  if (status == 0) {
    fputs(",{\"key\":\"peertrace.unfinished\",\"value\":{\"boolValue\":true}}",
          fp);
  }
  fputs("],\"events\":[", fp);
  for (uint32_t i = 0; i < s->event_count; i++) {
    const pt_event *ev = &s->events[i];
    char title[128];
    pt__export_event_title(ex, ev, title, sizeof title);
    fprintf(fp, "%s{\"timeUnixNano\":\"%llu000\",\"name\":", i ? "," : "",
            (unsigned long long)ev->timestamp_us);
    pt__export_json_string(fp, title);
    fputs(",\"attributes\":[", fp);
    pt__otlp_attrs attrs = {fp, 0};
    pt__event_fields(ev, pt__otlp_field, &attrs);
    fputs("]}", fp);
  }
  fprintf(fp, "],\"droppedEventsCount\":%u,\"status\":{\"code\":%d}}]}]}",
          s->dropped, status);
}

static pt__otlp_span *pt__otlp_find(pt__otlp_state *st, unsigned node,
                                    const pt_trace_id *trace_id) {
  for (size_t i = st->open_count; i-- > 0;) {
    pt__otlp_span *s = &st->open[i];
    if (s->node == node && memcmp(&s->trace_id, trace_id, 16) == 0) {
      return s;
    }
  }
  return NULL;
}

static int pt__otlp_open(pt_exporter *ex, unsigned node, const pt_event *ev) {
  pt__otlp_state *st = ex->state;
  if (st->open_count == st->open_cap) {
    size_t cap = st->open_cap ? 2 * st->open_cap : 16;
    pt__otlp_span *open = realloc(st->open, cap * sizeof *open);
    if (open == NULL) {
      return PT_ERR_NOMEM;
    }
    st->open = open;
    st->open_cap = cap;
  }
  pt__otlp_span *s = &st->open[st->open_count];
  memset(s, 0, sizeof *s);
  s->events = malloc(PT__OTLP_MAX_SPAN_EVENTS * sizeof *s->events);
  if (s->events == NULL) {
    return PT_ERR_NOMEM;
  }
  st->open_count++;
  s->node = node;
  s->trace_id = ev->trace_id;
  memcpy(s->app_id, ev->data.app_start.app_id, 4);
  s->cmd = ev->data.app_start.cmd;
  s->start_us = s->last_us = ev->timestamp_us;
  pt__export_event_title(ex, ev, s->name, sizeof s->name);
  return PT_OK;
}

static void pt__otlp_close(pt_exporter *ex, pt__otlp_span *s, uint64_t end_us,
                           int status) {
  pt__otlp_state *st = ex->state;
  pt__otlp_write_span(ex, s, end_us, status);
  free(s->events);
  *s = st->open[--st->open_count];
}

static int pt__otlp_event(pt_exporter *ex, unsigned node, const pt_event *ev) {
  pt__otlp_state *st = ex->state;
  if (pt_trace_id_is_zero(&ev->trace_id)) {
    return PT_OK;
  }
  if (ev->kind == PT_EV_APP_START) {
    return pt__otlp_open(ex, node, ev);
  }
  pt__otlp_span *s = pt__otlp_find(st, node, &ev->trace_id);
  if (ev->kind == PT_EV_APP_END) {
    const struct pt_app_end_data *d = &ev->data.app_end;
    int status = d->ok ? 1 : 2;
    if (s != NULL && memcmp(s->app_id, d->app_id, 4) == 0 && s->cmd == d->cmd) {
      pt__otlp_close(ex, s, ev->timestamp_us, status);
      return PT_OK;
    }
    /* No matching start: the span is known from its duration alone. */
    pt__otlp_span lone;
    memset(&lone, 0, sizeof lone);
    lone.node = node;
    lone.trace_id = ev->trace_id;
    memcpy(lone.app_id, d->app_id, 4);
    lone.cmd = d->cmd;
    lone.start_us = d->duration_us <= ev->timestamp_us
                        ? ev->timestamp_us - d->duration_us
                        : 0;
    pt__export_event_title(ex, ev, lone.name, sizeof lone.name);
    pt__otlp_write_span(ex, &lone, ev->timestamp_us, status);
    return PT_OK;
  }
  if (s != NULL) {
    if (s->event_count < PT__OTLP_MAX_SPAN_EVENTS) {
      s->events[s->event_count++] = *ev;
    } else {
      s->dropped++;
    }
    s->last_us = ev->timestamp_us;
  }
  return PT_OK;
}

static int pt__otlp_finish(pt_exporter *ex) {
  pt__otlp_state *st = ex->state;
  /* Requests still open: written as unfinished, ending at their last event. */
  while (st->open_count > 0) {
    pt__otlp_span *s = &st->open[0];
    pt__otlp_close(ex, s, s->last_us, 0);
  }
  fputs("\n]}\n", ex->fp);
  return PT_OK;
}

static void pt__otlp_free(pt_exporter *ex) {
  pt__otlp_state *st = ex->state;
  if (st != NULL) {
    for (size_t i = 0; i < st->open_count; i++) {
      free(st->open[i].events);
    }
    free(st->open);
    free(st);
    ex->state = NULL;
  }
}

const pt__export_ops pt__export_otlp_ops = {pt__otlp_begin, pt__otlp_event,
                                            pt__otlp_finish, pt__otlp_free, 0};
