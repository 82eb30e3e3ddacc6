/*
 * pt_export_otlp: OTLP/JSON traces as JSON Lines, what the OpenTelemetry
 * Collector's otlpjsonfile receiver reads (then Jaeger, Tempo, ...).
 *
 * Every line is one whole ExportTraceServiceRequest, {"resourceSpans":[..]},
 * under 1 MiB (the receiver's default line limit): spans are written in
 * batches as they finish, a resourceSpans element per node in the batch,
 * whose resource names the node: service.name (pt_exporter_set_service,
 * default "<prefix>-<first 8 hex digits of the node id>", prefix
 * "peertrace" unless pt_exporter_set_service_prefix),
 * service.instance.id and peertrace.node_id (the node id in hex), and its
 * clock label (peertrace.clock.times "aligned" or "raw", .status,
 * .reference, .offset_us, .drift_ppm, .bound_us).  OTLP/JSON specifics:
 * traceId / spanId in hex, times as decimal strings of Unix nanoseconds,
 * 64-bit integers as strings, enums as integers.
 *
 * Spans, per node and trace id:
 *   - a request, app_start .. app_end: kind SERVER if its app_start names
 *     the peer that asked, else INTERNAL (a request the node began);
 *   - a call, from an app_command naming a peer to the end of the request
 *     it was sent from (or the node's next app_end of the trace): kind
 *     CLIENT, child of that request.  Its events are the packets that
 *     carried the call's bytes and the reply's (pt_request.h): one event per
 *     packet, "packet_sent" or "packet_lost", with pn, space, size, the hop
 *     (request / reply), the receive time and what it retransmits;
 *     attributes peertrace.packets / .lost / .retransmissions / .recovery_us.
 *     Without the callee's events, the request's packets only (the caller's
 *     own, never received as far as the export knows).
 * The responder's SERVER span is a child of the caller's CLIENT span (the
 * command naming it, matched to its app_start naming the caller), so a
 * request across nodes is one tree.  When the caller's events are not in
 * the export (each node exports or pushes its own), the parent id is the
 * one the caller's export gives its call (its rank among the caller's calls
 * to this node of the trace is the request's rank among this node's from
 * the caller), so the collector still joins the tree.  Span ids are derived
 * from the events: the node id, the trace id, the kind, the peer's id and the
 * span's rank among the node's spans of that kind, trace and peer, so the same
 * span gets the same id in every export that holds its node's events, whatever
 * else the export holds.  Status: OK, or ERROR with the message "<command>
 * failed" from app_end's ok; unfinished spans (no app_end) have status
 * UNSET and peertrace.unfinished.  A request's other events of its trace
 * on its node are its span events (stream_data, ...), 128 at most per span
 * (the rest counted in droppedEventsCount).  Events with a zero trace id, or
 * of a trace with no open span on their node, are not exported: OTLP has no
 * place for them.
 */
#define _GNU_SOURCE /* open_memstream */
#include <stdlib.h>
#include <string.h>

#include "pt_export.h"
#include "pt_grow.h"
#include "pt_u64map.h"

#include <peertrace/pt_request.h>

#define PT__OTLP_MAX_SPAN_EVENTS 128u
/* Lines stay under 1 MiB; a resource's text is bounded by this. */
#define PT__OTLP_LINE_BYTES (1024u * 1024u - 1024u)
#define PT__OTLP_RESOURCE_BYTES 4096u
/* Spans that wait for their batch (and a pt_request query per batch). */
#define PT__OTLP_BATCH_SPANS 2048u
/* ... or fewer when they hold this many events (128 bytes each: 8 MiB). */
#define PT__OTLP_BATCH_EVENTS 65536u

enum { PT__OTLP_INTERNAL = 1, PT__OTLP_SERVER = 2, PT__OTLP_CLIENT = 3 };

typedef struct pt__otlp_span {
  unsigned node;
  int kind;
  pt_trace_id trace_id;
  uint8_t app_id[4];
  uint16_t cmd;
  uint64_t start_us, end_us, last_us;
  uint8_t span_id[8], parent_id[8];
  uint32_t rank; /* among the node's spans of (trace, kind, peer) */
  int has_parent;
  long peer;         /* CLIENT: the callee's node index, or -1 */
  char peer_hex[65]; /* CLIENT: the callee's id in hex */
  int status;        /* 0 unset (unfinished), 1 ok, 2 error */
  char name[128];    /* the command's name */
  pt_event *events;
  size_t event_count, event_cap;
  uint32_t dropped;
} pt__otlp_span;

typedef struct pt__otlp_state {
  pt__otlp_span *open; /* requests and calls in progress */
  size_t open_count, open_cap;
  pt__otlp_span *done; /* finished, waiting for their batch */
  size_t done_count, done_cap;
  size_t done_events; /* span events the finished spans hold */
  pt__u64map ranks;   /* (node, trace, kind, peer) -> a = spans so far */
  pt__u64map calls;   /* (trace, caller, callee) -> a = calls, b = answered */
  /*
   * The events since the first call still open or unwritten, for the
   * calls' packets: a call's packets come after its command, so nothing
   * is kept while there is no call, and it starts afresh after a batch
   * when none is left.
   */
  pt_request *req;
  size_t calls_open; /* CLIENT spans open or finished but unwritten */
  int req_used;      /* req holds events */
} pt__otlp_state;

/* A new, empty pt_request with the exporter's nodes. */
static int pt__otlp_request_new(pt_exporter *ex) {
  pt__otlp_state *st = ex->state;
  pt_request_free(st->req);
  st->req = NULL;
  st->req_used = 0;
  int rc = pt_request_new(&st->req);
  for (unsigned i = 0; rc == PT_OK && i < ex->node_count; i++) {
    unsigned index;
    rc = pt_request_add_node(st->req, ex->nodes[i].id, &index);
  }
  return rc == PT_ERR_EXISTS ? PT_ERR_INVALID : rc;
}

static int pt__otlp_begin(pt_exporter *ex, const pt_event *first) {
  (void)first;
  pt__otlp_state *st = calloc(1, sizeof *st);
  if (st == NULL) {
    return PT_ERR_NOMEM;
  }
  ex->state = st;
  return pt__otlp_request_new(ex);
}

/* ---- Attributes ---------------------------------------------------------- */

static void pt__otlp_attr_string(FILE *fp, int comma, const char *key,
                                 const char *value) {
  fprintf(fp, "%s{\"key\":\"%s\",\"value\":{\"stringValue\":", comma ? "," : "",
          key);
  pt__export_json_string(fp, value);
  fputs("}}", fp);
}

static void pt__otlp_attr_int(FILE *fp, int comma, const char *key,
                              uint64_t u) {
  /* intValue is a signed int64; larger values go as strings of digits. */
  if (u <= (uint64_t)INT64_MAX) {
    fprintf(fp, "%s{\"key\":\"%s\",\"value\":{\"intValue\":\"%llu\"}}",
            comma ? "," : "", key, (unsigned long long)u);
  } else {
    char digits[24];
    snprintf(digits, sizeof digits, "%llu", (unsigned long long)u);
    pt__otlp_attr_string(fp, comma, key, digits);
  }
}

static void pt__otlp_attr_bool(FILE *fp, int comma, const char *key, int b) {
  fprintf(fp, "%s{\"key\":\"%s\",\"value\":{\"boolValue\":%s}}",
          comma ? "," : "", key, b ? "true" : "false");
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
    pt__otlp_attr_bool(a->fp, a->comma, name, (int)u);
  } else {
    pt__otlp_attr_int(a->fp, a->comma, name, u);
  }
  a->comma = 1;
}

/* A double with `decimals` places, as the JSON export prints the clock. */
static void pt__otlp_attr_double(FILE *fp, const char *key, double value,
                                 int decimals) {
  fprintf(fp, ",{\"key\":\"%s\",\"value\":{\"doubleValue\":%.*f}}", key,
          decimals, value);
}

/* The node's resource: service, ids and clock label. */
static void pt__otlp_resource(pt_exporter *ex, unsigned node) {
  FILE *fp = ex->fp;
  const pt__export_node *n = &ex->nodes[node];
  char service[80];
  pt__export_service(ex, node, service, sizeof service);
  fputs("{\"resource\":{\"attributes\":[", fp);
  pt__otlp_attr_string(fp, 0, "service.name", service);
  pt__otlp_attr_string(fp, 1, "service.instance.id", n->hex);
  pt__otlp_attr_string(fp, 1, "peertrace.node_id", n->hex);
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
  fputs("]},\"scopeSpans\":[{\"scope\":{\"name\":\"peertrace\"},\"spans\":[",
        fp);
}

/* ---- A call's packets ------------------------------------------------------
 */

typedef struct pt__otlp_packets {
  pt_exporter *ex;
  const pt__otlp_span *s;
  const char *hop; /* "request" or "reply" */
  unsigned shown;  /* events written so far */
  unsigned packets, lost, retransmissions;
  uint64_t recovery_us;
  uint32_t dropped;
} pt__otlp_packets;

static int pt__otlp_packet(const pt_request_packet *p, void *user) {
  pt__otlp_packets *w = user;
  FILE *fp = w->ex->fp;
  w->packets++;
  w->lost += p->lost ? 1u : 0u;
  w->retransmissions += p->retransmits_lost ? 1u : 0u;
  if (w->shown >= PT__OTLP_MAX_SPAN_EVENTS) {
    w->dropped++;
    return 0;
  }
  /* An event time must lie within its span. */
  uint64_t t = p->sent_us < w->s->start_us ? w->s->start_us : p->sent_us;
  t = t > w->s->end_us ? w->s->end_us : t;
  fprintf(fp,
          "%s{\"timeUnixNano\":\"%llu000\",\"name\":\"%s\",\"attributes\":[",
          w->shown ? "," : "", (unsigned long long)t,
          p->lost ? "packet_lost" : "packet_sent");
  w->shown++;
  pt__otlp_attr_string(fp, 0, "peertrace.hop", w->hop);
  pt__otlp_attr_int(fp, 1, "pn", p->pn);
  pt__otlp_attr_int(fp, 1, "space", p->space);
  pt__otlp_attr_int(fp, 1, "size", p->size);
  pt__otlp_attr_int(fp, 1, "offset", p->offset);
  pt__otlp_attr_int(fp, 1, "length", p->length);
  pt__otlp_attr_bool(fp, 1, "lost", p->lost);
  if (p->received_us != 0) {
    pt__otlp_attr_int(fp, 1, "received_unix_us", p->received_us);
  }
  if (p->retransmits) {
    pt__otlp_attr_int(fp, 1, "retransmits_pn", p->retransmits_pn);
    pt__otlp_attr_bool(fp, 1, "retransmits_lost", p->retransmits_lost);
  }
  if (p->lost && p->recovered) {
    pt__otlp_attr_int(fp, 1, "recovery_us", p->recovery_us);
  }
  fputs("]}", fp);
  return 0;
}

typedef struct pt__otlp_hops {
  pt__otlp_packets *w;
  int seen_request; /* the call's request hop was found */
  int seen_reply;
} pt__otlp_hops;

/* The call's request hop (its command) and the first reply after it. */
static int pt__otlp_hop(const pt_request_hop *hop, void *user) {
  pt__otlp_hops *h = user;
  pt__otlp_packets *w = h->w;
  const pt__otlp_span *s = w->s;
  pt__otlp_state *st = w->ex->state;
  int mine = 0;
  if (hop->kind == PT_HOP_REQUEST && !h->seen_request &&
      hop->sender == s->node &&
      (s->peer >= 0 ? (long)hop->receiver == s->peer
                    : hop->receiver == PT_REQUEST_NO_NODE) &&
      hop->sent_us == s->start_us) {
    h->seen_request = mine = 1;
    w->hop = "request";
  } else if (hop->kind == PT_HOP_REPLY && h->seen_request && !h->seen_reply &&
             (long)hop->sender == s->peer && hop->receiver == s->node &&
             hop->sent_us >= s->start_us && hop->received_us <= s->end_us) {
    h->seen_reply = mine = 1;
    w->hop = "reply";
  }
  if (mine) {
    if (hop->recovered && hop->recovery_us > w->recovery_us) {
      w->recovery_us = hop->recovery_us;
    }
    int rc = pt_request_packets(st->req, hop, pt__otlp_packet, w);
    if (rc != PT_OK) {
      return rc;
    }
  }
  return h->seen_reply ? 1 : 0; /* 1: done */
}

/* ---- Writing spans ----------------------------------------------------------
 */

static void pt__otlp_write_span(pt_exporter *ex, const pt__otlp_span *s) {
  pt__otlp_state *st = ex->state;
  FILE *fp = ex->fp;
  char trace_hex[33], span_hex[17], parent_hex[17];
  pt__hex_encode(trace_hex, s->trace_id.bytes, 16);
  pt__hex_encode(span_hex, s->span_id, 8);
  fprintf(fp, "{\"traceId\":\"%s\",\"spanId\":\"%s\",", trace_hex, span_hex);
  if (s->has_parent) {
    pt__hex_encode(parent_hex, s->parent_id, 8);
    fprintf(fp, "\"parentSpanId\":\"%s\",", parent_hex);
  }
  char name[160];
  if (s->kind == PT__OTLP_CLIENT) {
    snprintf(name, sizeof name, "%s -> %.8s", s->name, s->peer_hex);
  } else {
    snprintf(name, sizeof name, "%s", s->name);
  }
  fputs("\"name\":", fp);
  pt__export_json_string(fp, name);
  fprintf(fp,
          ",\"kind\":%d,\"startTimeUnixNano\":\"%llu000\","
          "\"endTimeUnixNano\":\"%llu000\",\"events\":[",
          s->kind, (unsigned long long)s->start_us,
          (unsigned long long)s->end_us);
  uint32_t dropped = s->dropped;
  for (size_t i = 0; i < s->event_count; i++) {
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
  pt__otlp_packets w = {ex, s, "request", 0, 0, 0, 0, 0, 0};
  int rc = PT_OK;
  if (s->kind == PT__OTLP_CLIENT) {
    pt__otlp_hops h = {&w, 0, 0};
    rc = pt_request_hops(st->req, &s->trace_id, pt__otlp_hop, &h);
    dropped += w.dropped;
  }
  fputs("],\"attributes\":[", fp);
  char app[24];
  pt__export_app_title(NULL, s->app_id, s->cmd, app, sizeof app);
  pt__otlp_attr_string(fp, 0, "peertrace.app_command", app);
  if (s->kind == PT__OTLP_CLIENT) {
    pt__otlp_attr_string(fp, 1, "peertrace.peer", s->peer_hex);
    pt__otlp_attr_int(fp, 1, "peertrace.packets", w.packets);
    pt__otlp_attr_int(fp, 1, "peertrace.lost", w.lost);
    pt__otlp_attr_int(fp, 1, "peertrace.retransmissions", w.retransmissions);
    pt__otlp_attr_int(fp, 1, "peertrace.recovery_us", w.recovery_us);
    if (rc != PT_OK && rc != 1) {
      /* Said, not hidden: the packets could not be worked out. */
      pt__otlp_attr_string(fp, 1, "peertrace.packets_error", pt_strerror(rc));
    }
  }
  if (s->status == 0) {
    pt__otlp_attr_bool(fp, 1, "peertrace.unfinished", 1);
  }
  fprintf(fp, "],\"droppedEventsCount\":%u,\"status\":{\"code\":%d",
          (unsigned)dropped, s->status);
  if (s->status == 2) {
    char message[160];
    snprintf(message, sizeof message, "%s failed", s->name);
    fputs(",\"message\":", fp);
    pt__export_json_string(fp, message);
  }
  fputs("}}", fp);
}

/*
 * A span's text in a malloc'ed buffer (*size bytes), written by
 * pt__otlp_write_span into a memory stream: its size decides the line it
 * goes on.  NULL without memory.
 */
static char *pt__otlp_render(pt_exporter *ex, const pt__otlp_span *s,
                             size_t *size) {
  char *text = NULL;
  FILE *mem = open_memstream(&text, size);
  if (mem == NULL) {
    return NULL;
  }
  FILE *out = ex->fp;
  ex->fp = mem;
  pt__otlp_write_span(ex, s);
  ex->fp = out;
  if (ferror(mem)) {
    fclose(mem);
    free(text);
    return NULL;
  }
  if (fclose(mem) != 0) {
    free(text);
    return NULL;
  }
  return text;
}

/*
 * Writes the finished spans as lines, a resourceSpans per node, a line
 * never over PT__OTLP_LINE_BYTES (a span's text is bounded well below: 128
 * events).  PT_OK or PT_ERR_NOMEM.
 */
static int pt__otlp_flush(pt_exporter *ex) {
  pt__otlp_state *st = ex->state;
  FILE *fp = ex->fp;
  size_t line = 0; /* bytes of the open line (an upper bound); 0: none */
  int rc = PT_OK;
  for (unsigned node = 0; node < ex->node_count && rc == PT_OK; node++) {
    int in_node = 0;
    for (size_t i = 0; i < st->done_count; i++) {
      const pt__otlp_span *s = &st->done[i];
      if (s->node != node) {
        continue;
      }
      size_t bytes = 0;
      char *text = pt__otlp_render(ex, s, &bytes);
      if (text == NULL) {
        rc = PT_ERR_NOMEM;
        break;
      }
      if (line != 0 && line + bytes + 16 > PT__OTLP_LINE_BYTES) {
        fputs("]}]}]}\n", fp); /* the line is full: end it */
        line = 0;
        in_node = 0;
      }
      if (line == 0) {
        fputs("{\"resourceSpans\":[", fp);
        line = 64;
      }
      if (!in_node) {
        if (line > 64) {
          fputs("]}]},", fp); /* the previous node's element */
        }
        pt__otlp_resource(ex, node);
        line += PT__OTLP_RESOURCE_BYTES;
        in_node = 1;
      } else {
        fputc(',', fp);
      }
      fwrite(text, 1, bytes, fp);
      free(text);
      line += bytes + 1;
    }
  }
  if (line != 0) {
    fputs("]}]}]}\n", fp);
  }
  for (size_t i = 0; i < st->done_count; i++) {
    st->calls_open -= st->done[i].kind == PT__OTLP_CLIENT ? 1u : 0u;
    free(st->done[i].events);
  }
  st->done_count = 0;
  st->done_events = 0;
  if (rc == PT_OK && st->calls_open == 0 && st->req_used) {
    rc = pt__otlp_request_new(ex); /* no call left to need them */
  }
  return rc;
}

/* ---- Spans in progress ------------------------------------------------------
 */

/* The span id of node_id's rank-th span of (kind, trace, peer id). */
static void pt__otlp_span_id(const uint8_t node_id[32], int kind,
                             const pt_trace_id *trace, const uint8_t *peer,
                             uint32_t rank, uint8_t out[8]) {
  uint64_t h = pt__u64_fnv(PT__FNV_START, node_id, 32);
  h = pt__u64_fnv(h, trace->bytes, 16);
  uint8_t k = (uint8_t)kind;
  h = pt__u64_fnv(h, &k, 1);
  if (peer != NULL) {
    h = pt__u64_fnv(h, peer, 32);
  }
  h = pt__u64_mix(pt__u64_fnv(h, &rank, sizeof rank));
  for (int i = 0; i < 8; i++) {
    out[i] = (uint8_t)(h >> (8 * i)); /* pt__u64_mix is never 0 */
  }
}

/* The key of a (trace, caller, callee) call, for the callee's parent. */
static uint64_t pt__otlp_call_key(const pt_trace_id *trace, unsigned caller,
                                  unsigned callee) {
  unsigned nodes[2] = {caller, callee};
  uint64_t h = pt__u64_fnv(PT__FNV_START, trace->bytes, 16);
  return pt__u64_mix(pt__u64_fnv(h, nodes, sizeof nodes));
}

/*
 * A new span of node for ev's trace: its id from its rank, kind and peer
 * (NULL: none).  NULL without memory.
 */
static pt__otlp_span *pt__otlp_open(pt_exporter *ex, unsigned node, int kind,
                                    const pt_event *ev, const uint8_t *peer) {
  pt__otlp_state *st = ex->state;
  uint64_t key = pt__u64_fnv(PT__FNV_START, &node, sizeof node);
  key = pt__u64_fnv(key, ev->trace_id.bytes, 16);
  key = pt__u64_fnv(key, &kind, sizeof kind);
  if (peer != NULL) {
    key = pt__u64_fnv(key, peer, 32);
  }
  pt__u64slot *rank = pt__u64map_get(&st->ranks, pt__u64_mix(key));
  if (rank == NULL) {
    return NULL;
  }
  void *v = st->open;
  pt__otlp_span *s = pt__grow(&v, &st->open_count, &st->open_cap, sizeof *s, 1);
  st->open = v;
  if (s == NULL) {
    return NULL;
  }
  memset(s, 0, sizeof *s);
  s->node = node;
  s->kind = kind;
  s->peer = -1;
  s->trace_id = ev->trace_id;
  s->start_us = s->last_us = ev->timestamp_us;
  pt__export_event_title(ex, ev, s->name, sizeof s->name);
  s->rank = (uint32_t)rank->a++;
  pt__otlp_span_id(ex->nodes[node].id, kind, &ev->trace_id, peer, s->rank,
                   s->span_id);
  return s;
}

/* Moves open span i to the finished ones.  PT_OK or NOMEM. */
static int pt__otlp_close(pt_exporter *ex, size_t i, uint64_t end_us,
                          int status) {
  pt__otlp_state *st = ex->state;
  pt__otlp_span *s = &st->open[i];
  s->end_us = end_us < s->start_us ? s->start_us : end_us;
  s->status = status;
  void *v = st->done;
  pt__otlp_span *d = pt__grow(&v, &st->done_count, &st->done_cap, sizeof *d, 1);
  st->done = v;
  if (d == NULL) {
    return PT_ERR_NOMEM;
  }
  *d = *s;
  st->open[i] = st->open[--st->open_count];
  st->done_events += d->event_count;
  return st->done_count >= PT__OTLP_BATCH_SPANS ||
                 st->done_events >= PT__OTLP_BATCH_EVENTS
             ? pt__otlp_flush(ex)
             : PT_OK;
}

/* The latest open span of (node, trace) of the given kinds (bit 1 << kind). */
static long pt__otlp_find(const pt__otlp_state *st, unsigned node,
                          const pt_trace_id *trace, unsigned kinds) {
  for (size_t i = st->open_count; i-- > 0;) {
    const pt__otlp_span *s = &st->open[i];
    if (s->node == node && (kinds & (1u << s->kind)) &&
        memcmp(&s->trace_id, trace, 16) == 0) {
      return (long)i;
    }
  }
  return -1;
}

#define PT__OTLP_REQUESTS (1u << PT__OTLP_SERVER | 1u << PT__OTLP_INTERNAL)

/* A request span: SERVER under the caller's CLIENT span if ev names it. */
static pt__otlp_span *pt__otlp_open_request(pt_exporter *ex, unsigned node,
                                            const pt_event *ev,
                                            const uint8_t app_id[4],
                                            uint16_t cmd) {
  pt__otlp_state *st = ex->state;
  int server = (ev->flags & PT_EVENT_HAS_PEER) != 0;
  pt__otlp_span *s =
      pt__otlp_open(ex, node, server ? PT__OTLP_SERVER : PT__OTLP_INTERNAL, ev,
                    server ? ev->peer_id : NULL);
  if (s == NULL) {
    return NULL;
  }
  memcpy(s->app_id, app_id, 4);
  s->cmd = cmd;
  long caller = pt__export_peer_node(ex, ev);
  if (caller >= 0) {
    pt__u64slot *c = pt__u64map_find(
        &st->calls, pt__otlp_call_key(&ev->trace_id, (unsigned)caller, node));
    if (c != NULL && c->b < c->a) {
      /* The caller's CLIENT span of this call: its rank among the caller's
       * calls to this node of the trace. */
      pt__otlp_span_id(ex->nodes[caller].id, PT__OTLP_CLIENT, &ev->trace_id,
                       ex->nodes[node].id, c->b++, s->parent_id);
      s->has_parent = 1;
    }
  } else if (server) {
    /*
     * The caller's events are not in this export (each node exporting or
     * pushing its own): the k-th request of this trace from the caller is
     * the caller's k-th call to this node, so its CLIENT span's id is the
     * one the caller's own export gives it, and a collector joins the two.
     */
    pt__otlp_span_id(ev->peer_id, PT__OTLP_CLIENT, &ev->trace_id,
                     ex->nodes[node].id, s->rank, s->parent_id);
    s->has_parent = 1;
  }
  return s;
}

static int pt__otlp_command(pt_exporter *ex, unsigned node,
                            const pt_event *ev) {
  pt__otlp_state *st = ex->state;
  long callee = pt__export_peer_node(ex, ev);
  if (!(ev->flags & PT_EVENT_HAS_PEER)) {
    return PT_OK;
  }
  long parent = pt__otlp_find(st, node, &ev->trace_id, PT__OTLP_REQUESTS);
  pt__otlp_span *s = pt__otlp_open(ex, node, PT__OTLP_CLIENT, ev, ev->peer_id);
  if (s == NULL) {
    return PT_ERR_NOMEM;
  }
  st->calls_open++;
  memcpy(s->app_id, ev->data.app_command.app_id, 4);
  s->cmd = ev->data.app_command.cmd;
  s->peer = callee;
  pt__hex_encode(s->peer_hex, ev->peer_id, 32);
  if (parent >= 0) {
    memcpy(s->parent_id, st->open[parent].span_id, 8);
    s->has_parent = 1;
  }
  if (callee >= 0) {
    pt__u64slot *c = pt__u64map_get(
        &st->calls, pt__otlp_call_key(&ev->trace_id, node, (unsigned)callee));
    if (c == NULL) {
      return PT_ERR_NOMEM;
    }
    c->a++;
  }
  return PT_OK;
}

static int pt__otlp_end(pt_exporter *ex, unsigned node, const pt_event *ev) {
  pt__otlp_state *st = ex->state;
  const struct pt_app_end_data *d = &ev->data.app_end;
  int status = d->ok ? 1 : 2;
  /* The calls the request made end with it. */
  long i;
  while ((i = pt__otlp_find(st, node, &ev->trace_id, 1u << PT__OTLP_CLIENT)) >=
         0) {
    int rc = pt__otlp_close(ex, (size_t)i, ev->timestamp_us, status);
    if (rc != PT_OK) {
      return rc;
    }
  }
  i = pt__otlp_find(st, node, &ev->trace_id, PT__OTLP_REQUESTS);
  if (i < 0 || memcmp(st->open[i].app_id, d->app_id, 4) != 0 ||
      st->open[i].cmd != d->cmd) {
    /* No matching start: the span is known from its duration alone. */
    pt__otlp_span *s = pt__otlp_open_request(ex, node, ev, d->app_id, d->cmd);
    if (s == NULL) {
      return PT_ERR_NOMEM;
    }
    s->start_us = d->duration_us <= ev->timestamp_us
                      ? ev->timestamp_us - d->duration_us
                      : 0;
    i = (long)st->open_count - 1;
  }
  return pt__otlp_close(ex, (size_t)i, ev->timestamp_us, status);
}

static int pt__otlp_event(pt_exporter *ex, unsigned node, const pt_event *ev) {
  pt__otlp_state *st = ex->state;
  int call = ev->kind == PT_EV_APP_COMMAND && (ev->flags & PT_EVENT_HAS_PEER) &&
             !pt_trace_id_is_zero(&ev->trace_id);
  if (st->calls_open > 0 || call) {
    int rc = pt_request_add_event(st->req, node, ev);
    if (rc != PT_OK) {
      return rc;
    }
    st->req_used = 1;
  }
  if (pt_trace_id_is_zero(&ev->trace_id)) {
    return PT_OK;
  }
  switch (ev->kind) {
  case PT_EV_APP_START:
    return pt__otlp_open_request(ex, node, ev, ev->data.app_start.app_id,
                                 ev->data.app_start.cmd) != NULL
               ? PT_OK
               : PT_ERR_NOMEM;
  case PT_EV_APP_COMMAND:
    return pt__otlp_command(ex, node, ev);
  case PT_EV_APP_END:
    return pt__otlp_end(ex, node, ev);
  default:
    break;
  }
  long i = pt__otlp_find(st, node, &ev->trace_id, PT__OTLP_REQUESTS);
  if (i >= 0) {
    pt__otlp_span *s = &st->open[i];
    s->last_us = ev->timestamp_us;
    if (s->event_count >= PT__OTLP_MAX_SPAN_EVENTS) {
      s->dropped++;
      return PT_OK;
    }
    void *v = s->events;
    pt_event *e = pt__grow(&v, &s->event_count, &s->event_cap, sizeof *e, 1);
    s->events = v;
    if (e == NULL) {
      return PT_ERR_NOMEM;
    }
    *e = *ev;
  }
  return PT_OK;
}

static int pt__otlp_finish(pt_exporter *ex) {
  pt__otlp_state *st = ex->state;
  /* Spans still open: unfinished, ending at their last event. */
  while (st->open_count > 0) {
    pt__otlp_span *s = &st->open[st->open_count - 1];
    int rc = pt__otlp_close(ex, st->open_count - 1, s->last_us, 0);
    if (rc != PT_OK) {
      return rc;
    }
  }
  return pt__otlp_flush(ex);
}

static void pt__otlp_free(pt_exporter *ex) {
  pt__otlp_state *st = ex->state;
  if (st == NULL) {
    return;
  }
  for (size_t i = 0; i < st->open_count; i++) {
    free(st->open[i].events);
  }
  for (size_t i = 0; i < st->done_count; i++) {
    free(st->done[i].events);
  }
  free(st->open);
  free(st->done);
  pt__u64map_free(&st->ranks);
  pt__u64map_free(&st->calls);
  pt_request_free(st->req);
  free(st);
  ex->state = NULL;
}

const pt__export_ops pt__export_otlp_ops = {pt__otlp_begin, pt__otlp_event,
                                            pt__otlp_finish, pt__otlp_free, 0};
