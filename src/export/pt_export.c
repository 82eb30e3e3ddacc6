/*
 * pt_export: the exporter object, shared helpers, and the plain JSON format.
 *
 * Every format writes as events arrive; the checks that protect the formats
 * (nodes declared first, time order, sticky I/O errors) live here once.
 */
#define _GNU_SOURCE
#include "pt_export.h"

#include <arpa/inet.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PT__EXPORT_MAX_NODES 65536u

/* ---- Helpers ------------------------------------------------------------ */

void pt__export_json_string(FILE *fp, const char *text) {
  pt__out o = {fp, NULL, 0, 0};
  pt__out_json_string(&o, text, SIZE_MAX);
}

/* The characters XML text must not hold as they are, and what stands for
 * them; NULL for the others. */
static const char *const pt__export_xml_entities[UCHAR_MAX + 1] = {
    ['<'] = "&lt;", ['>'] = "&gt;", ['&'] = "&amp;", ['"'] = "&quot;"};

void pt__export_xml_text(FILE *fp, const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
    if (pt__export_xml_entities[*p] != NULL) {
      fputs(pt__export_xml_entities[*p], fp);
    } else if (*p < 0x20 || *p >= 0x7f) {
      fputc('?', fp); /* not representable safely in XML 1.0 */
    } else {
      fputc(*p, fp);
    }
  }
}

/* One row per PT_PN_SPACE_*, one column per pt__space_style. */
static const char *const pt__export_spaces[][PT__SPACE_STYLES] = {
    [PT_PN_SPACE_INITIAL] = {"initial", "initial"},
    [PT_PN_SPACE_HANDSHAKE] = {"handshake", "handshake"},
    [PT_PN_SPACE_APPLICATION] = {"1RTT", "application"},
};

const char *pt__export_space_name(unsigned space, pt__space_style style) {
  if (space >= sizeof pt__export_spaces / sizeof pt__export_spaces[0]) {
    return "unknown";
  }
  return pt__export_spaces[space][style];
}

/* An app id as text: printable ASCII kept, other bytes as \xNN. */
void pt__export_event_title(const pt_exporter *ex, const pt_event *ev,
                            char *out, size_t out_size) {
  const uint8_t *app_id = NULL;
  uint16_t cmd = 0;
  switch (ev->kind) {
  case PT_EV_APP_COMMAND:
    app_id = ev->data.app_command.app_id;
    cmd = ev->data.app_command.cmd;
    break;
  case PT_EV_APP_START:
    app_id = ev->data.app_start.app_id;
    cmd = ev->data.app_start.cmd;
    break;
  case PT_EV_APP_END:
    app_id = ev->data.app_end.app_id;
    cmd = ev->data.app_end.cmd;
    break;
  default:
    snprintf(out, out_size, "%s", pt_event_kind_name(ev->kind));
    return;
  }
  pt__export_app_title(ex, app_id, cmd, out, out_size);
}

void pt__export_app_title(const pt_exporter *ex, const uint8_t app_id[4],
                          uint16_t cmd, char *out, size_t out_size) {
  if (ex != NULL && ex->namer != NULL &&
      ex->namer(app_id, cmd, out, out_size, ex->namer_user) == 1) {
    out[out_size - 1] = '\0';
    return;
  }
  char app[20];
  pt__appid_text(app_id, app, sizeof app);
  snprintf(out, out_size, "%s/%u", app, cmd);
}

/* ---- Clock labels ------------------------------------------------------- */

const char *pt__clock_status_name(pt_clock_status status) {
  switch (status) {
  case PT_CLOCK_REFERENCE:
    return "reference";
  case PT_CLOCK_ALIGNED:
    return "aligned";
  case PT_CLOCK_UNALIGNED:
    return "unaligned";
  case PT_CLOCK_INCONSISTENT:
    return "inconsistent";
  case PT_CLOCK_UNSOLVED:
    return "unsolved";
  }
  return NULL;
}

void pt__export_clock_of(const pt_exporter *ex, unsigned node,
                         pt__export_clock *out) {
  memset(out, 0, sizeof *out);
  out->reference = -1;
  for (unsigned i = 0; i < ex->node_count; i++) {
    if (ex->nodes[i].has_clock &&
        ex->nodes[i].clock.status == PT_CLOCK_REFERENCE) {
      out->reference = (int)i;
      break;
    }
  }
  const pt__export_node *n = &ex->nodes[node];
  if (!n->has_clock) {
    out->times = "raw";
    out->status = "none";
    return;
  }
  const pt_clock_estimate *c = &n->clock;
  out->estimated = 1;
  out->status = pt__clock_status_name(c->status);
  out->aligned =
      c->status == PT_CLOCK_REFERENCE || c->status == PT_CLOCK_ALIGNED;
  out->times = out->aligned ? "aligned" : "raw";
  out->offset_us = c->offset_us;
  out->drift_ppm = c->drift_ppm;
  out->bound_us = c->bound_us;
  out->t0_us = c->t0_us;
}

void pt__export_clock_json(const pt_exporter *ex, unsigned node, FILE *fp) {
  pt__export_clock c;
  pt__export_clock_of(ex, node, &c);
  fprintf(fp, "{\"times\":\"%s\",\"status\":\"%s\"", c.times, c.status);
  if (c.reference >= 0) {
    fprintf(fp, ",\"reference\":%d", c.reference);
  }
  if (c.aligned) {
    /* Finite: pt_exporter_set_clock refuses anything else. */
    fprintf(fp,
            ",\"offset_us\":%.3f,\"drift_ppm\":%.6f,\"t0_us\":%llu,"
            "\"bound_us\":%.3f",
            c.offset_us, c.drift_ppm, (unsigned long long)c.t0_us, c.bound_us);
  }
  fputc('}', fp);
}

void pt__export_clock_text(const pt_exporter *ex, unsigned node, int brief,
                           char *out, size_t out_size) {
  pt__export_clock c;
  pt__export_clock_of(ex, node, &c);
  const pt__export_node *n = &ex->nodes[node];
  if (!c.estimated) {
    snprintf(out, out_size, "%s",
             brief ? "raw times" : "times as recorded (no clock estimate)");
  } else if (n->clock.status == PT_CLOCK_REFERENCE) {
    snprintf(out, out_size, "%s",
             brief ? "reference clock"
                   : "times as recorded: the reference clock of the timeline");
  } else if (n->clock.status == PT_CLOCK_ALIGNED && brief) {
    snprintf(out, out_size, "aligned +/-%.1f us", c.bound_us);
  } else if (n->clock.status == PT_CLOCK_ALIGNED) {
    char ref[24] = "the reference";
    if (c.reference >= 0) {
      snprintf(ref, sizeof ref, "node %s", ex->nodes[c.reference].short_hex);
    }
    snprintf(out, out_size,
             "times aligned to %s: offset %+.1f us, drift %+.3f ppm, bound "
             "+/-%.1f us",
             ref, c.offset_us, c.drift_ppm, c.bound_us);
  } else if (brief) {
    snprintf(out, out_size, "raw times, %s", c.status);
  } else {
    snprintf(out, out_size, "times as recorded: clock %s (%s)", c.status,
             n->clock.status == PT_CLOCK_UNALIGNED
                 ? "no two-way path of packets to the reference"
             : n->clock.status == PT_CLOCK_INCONSISTENT
                 ? "its packets contradict a steady clock"
                 : "not estimated yet");
  }
}

/* ---- The exporter object ------------------------------------------------ */

int pt_exporter_new(pt_exporter **out, pt_export_format format, FILE *fp) {
  if (out == NULL || fp == NULL) {
    return PT_ERR_INVALID;
  }
  *out = NULL;
  const pt__export_ops *ops;
  switch (format) {
  case PT_EXPORT_JSON:
    ops = &pt__export_json_ops;
    break;
  case PT_EXPORT_QLOG:
    ops = &pt__export_qlog_ops;
    break;
  case PT_EXPORT_CHROME:
    ops = &pt__export_chrome_ops;
    break;
  case PT_EXPORT_OTLP:
    ops = &pt__export_otlp_ops;
    break;
  case PT_EXPORT_SVG:
    ops = &pt__export_svg_ops;
    break;
  default:
    return PT_ERR_INVALID;
  }
  pt_exporter *ex = calloc(1, sizeof *ex);
  if (ex == NULL) {
    return PT_ERR_NOMEM;
  }
  ex->format = format;
  ex->ops = ops;
  ex->fp = fp;
  *out = ex;
  return PT_OK;
}

int pt_exporter_set_app_namer(pt_exporter *ex, pt_app_namer namer, void *user) {
  if (ex == NULL) {
    return PT_ERR_INVALID;
  }
  ex->namer = namer;
  ex->namer_user = user;
  return PT_OK;
}

int pt_exporter_add_node(pt_exporter *ex, const uint8_t node_id[32],
                         unsigned *index) {
  if (ex == NULL || node_id == NULL || index == NULL) {
    return PT_ERR_INVALID;
  }
  if (ex->started) {
    return PT_ERR_STATE; /* the nodes were written with the first event */
  }
  unsigned max = ex->ops->max_nodes ? ex->ops->max_nodes : PT__EXPORT_MAX_NODES;
  if (ex->node_count >= max) {
    return PT_ERR_INVALID;
  }
  pt__export_node *nodes =
      realloc(ex->nodes, (ex->node_count + 1) * sizeof *nodes);
  if (nodes == NULL) {
    return PT_ERR_NOMEM;
  }
  ex->nodes = nodes;
  pt__export_node *n = &nodes[ex->node_count];
  memset(n, 0, sizeof *n);
  memcpy(n->id, node_id, 32);
  pt__hex_encode(n->hex, node_id, 32);
  memcpy(n->short_hex, n->hex, 8);
  n->short_hex[8] = '\0';
  *index = ex->node_count++;
  return PT_OK;
}

int pt_exporter_set_clock(pt_exporter *ex, unsigned node,
                          const struct pt_clock_estimate *est) {
  if (ex == NULL || est == NULL || node >= ex->node_count ||
      pt__clock_status_name(est->status) == NULL) {
    return PT_ERR_INVALID;
  }
  if (ex->started) {
    return PT_ERR_STATE; /* the labels were written with the first event */
  }
  /*
   * Labels print the numbers of aligned times: NaN or infinity would make
   * invalid JSON.  A node left as recorded has none to print (pt_align
   * gives it an infinite bound).
   */
  int aligned =
      est->status == PT_CLOCK_REFERENCE || est->status == PT_CLOCK_ALIGNED;
  if (aligned && (!isfinite(est->offset_us) || !isfinite(est->drift_ppm) ||
                  !isfinite(est->bound_us) || est->bound_us < 0)) {
    return PT_ERR_INVALID;
  }
  ex->nodes[node].clock = *est;
  ex->nodes[node].has_clock = 1;
  return PT_OK;
}

/* Copies printable ASCII text of 1 .. cap-1 bytes.  PT_OK or INVALID. */
static int pt__export_copy_name(char *dst, size_t cap, const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n >= cap) {
    return PT_ERR_INVALID;
  }
  for (size_t i = 0; i < n; i++) {
    if (name[i] < 0x20 || name[i] > 0x7e) {
      return PT_ERR_INVALID;
    }
  }
  memcpy(dst, name, n + 1);
  return PT_OK;
}

int pt_exporter_set_service(pt_exporter *ex, unsigned node, const char *name) {
  if (ex == NULL || name == NULL || node >= ex->node_count) {
    return PT_ERR_INVALID;
  }
  if (ex->started) {
    return PT_ERR_STATE;
  }
  return pt__export_copy_name(ex->nodes[node].service,
                              sizeof ex->nodes[node].service, name);
}

int pt_exporter_set_service_prefix(pt_exporter *ex, const char *prefix) {
  if (ex == NULL || prefix == NULL) {
    return PT_ERR_INVALID;
  }
  if (ex->started) {
    return PT_ERR_STATE;
  }
  return pt__export_copy_name(ex->service_prefix, sizeof ex->service_prefix,
                              prefix);
}

long pt__export_peer_node(const pt_exporter *ex, const pt_event *ev) {
  if (!(ev->flags & PT_EVENT_HAS_PEER)) {
    return -1;
  }
  for (unsigned i = 0; i < ex->node_count; i++) {
    if (memcmp(ex->nodes[i].id, ev->peer_id, 32) == 0) {
      return (long)i;
    }
  }
  return -1;
}

void pt__export_service(const pt_exporter *ex, unsigned node, char *out,
                        size_t out_size) {
  const pt__export_node *n = &ex->nodes[node];
  if (n->service[0] != '\0') {
    snprintf(out, out_size, "%s", n->service);
  } else {
    snprintf(out, out_size, "%s-%s",
             ex->service_prefix[0] ? ex->service_prefix : "peertrace",
             n->short_hex);
  }
}

static int pt__exporter_check_io(pt_exporter *ex) {
  if (ex->error == PT_OK && ferror(ex->fp)) {
    ex->error = PT_ERR_IO;
  }
  return ex->error;
}

int pt_exporter_write(pt_exporter *ex, unsigned node, const pt_event *ev) {
  if (ex == NULL || ev == NULL || node >= ex->node_count) {
    return PT_ERR_INVALID;
  }
  if (ex->error != PT_OK) {
    return ex->error;
  }
  if (ex->finished || (ex->event_count > 0 && ev->timestamp_us < ex->last_us)) {
    return PT_ERR_STATE; /* after the end, or older than the last event */
  }
  if (!ex->started) {
    ex->started = 1;
    ex->first_us = ev->timestamp_us;
    ex->error = ex->ops->begin(ex, ev);
    if (ex->error != PT_OK) {
      return ex->error;
    }
  }
  ex->last_us = ev->timestamp_us;
  ex->event_count++;
  int rc = ex->ops->event(ex, node, ev);
  if (rc != PT_OK) {
    ex->error = rc;
  }
  return pt__exporter_check_io(ex);
}

int pt_exporter_finish(pt_exporter *ex) {
  if (ex == NULL) {
    return PT_ERR_INVALID;
  }
  if (ex->finished) {
    return PT_ERR_STATE; /* the end was written once */
  }
  ex->finished = 1;
  if (ex->error == PT_OK && !ex->started) {
    ex->started = 1;
    ex->error = ex->ops->begin(ex, NULL);
  }
  if (ex->error == PT_OK) {
    ex->error = ex->ops->finish(ex);
  }
  if (fflush(ex->fp) != 0 && ex->error == PT_OK) {
    ex->error = PT_ERR_IO;
  }
  return pt__exporter_check_io(ex);
}

void pt_exporter_free(pt_exporter *ex) {
  if (ex == NULL) {
    return;
  }
  if (ex->ops->free_state != NULL) {
    ex->ops->free_state(ex);
  }
  free(ex->nodes);
  free(ex);
}

/* ---- Plain JSON --------------------------------------------------------- */
/*
 * {"format":"peertrace","version":1,"nodes":[{"index":0,"node_id":"…",
 *  "clock":{"times":"aligned"|"raw",…}}],
 *  "events":[{"node":0,"title":"…",<pt_event_to_json members>}, …]}
 */

static int pt__json_begin(pt_exporter *ex, const pt_event *first) {
  (void)first;
  fputs("{\"format\":\"peertrace\",\"version\":1,\"nodes\":[", ex->fp);
  for (unsigned i = 0; i < ex->node_count; i++) {
    fprintf(ex->fp,
            "%s{\"index\":%u,\"node_id\":\"%s\",\"clock\":", i ? "," : "", i,
            ex->nodes[i].hex);
    pt__export_clock_json(ex, i, ex->fp);
    fputc('}', ex->fp);
  }
  fputs("],\"events\":[\n", ex->fp);
  return PT_OK;
}

static int pt__json_event(pt_exporter *ex, unsigned node, const pt_event *ev) {
  char title[128];
  pt__export_event_title(ex, ev, title, sizeof title);
  fprintf(ex->fp, "%s{\"node\":%u,\"title\":", ex->event_count > 1 ? ",\n" : "",
          node);
  pt__export_json_string(ex->fp, title);
  fputc(',', ex->fp);
  pt__out o = {ex->fp, NULL, 0, 0};
  pt__event_json_members(&o, ev, NULL, 0);
  fputc('}', ex->fp);
  return PT_OK;
}

static int pt__json_finish(pt_exporter *ex) {
  fputs("\n]}\n", ex->fp);
  return PT_OK;
}

const pt__export_ops pt__export_json_ops = {pt__json_begin, pt__json_event,
                                            pt__json_finish, NULL, 0};
