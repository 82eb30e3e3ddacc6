/*
 * pt_quic: the ngtcp2 adapter (see include/peertrace/pt_quic.h).
 *
 * ngtcp2 0.12 reports packet numbers, sizes and losses only through its qlog
 * writer, one JSON record per call (qlog 0.3, JSON-SEQ: each record starts
 * with 0x1e).  The parser below reads just what it needs from a record:
 *
 *   {"time":..,"name":"transport:packet_sent",
 *    "data":{"header":{"packet_type":"1RTT","packet_number":7,..},
 *            "raw":{"length":1252},..}}
 *
 * It is a small JSON walker: it finds keys of an object by scanning its
 * members, skipping values (strings with escapes, nested objects and arrays)
 * without recursion, and checks every index against the record's end.  Key
 * order does not matter.  It validates only the structure on the path it
 * walks; anything it cannot make sense of is rejected, never guessed.
 */
#include "pt_common.h"

#include <peertrace/pt_quic.h>

#include <stdbool.h>

/* ---- A bounded JSON walker --------------------------------------------- */

typedef struct pt__span {
  const char *p;
  const char *end;
} pt__span;

static const char *pt__skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
    p++;
  }
  return p;
}

/* p at '"': returns the position after the closing quote, or NULL. */
static const char *pt__skip_string(const char *p, const char *end) {
  if (p >= end || *p != '"') {
    return NULL;
  }
  for (p++; p < end; p++) {
    if (*p == '\\') {
      p++; /* the escaped character; the loop's p++ passes it */
      if (p >= end) {
        return NULL;
      }
    } else if (*p == '"') {
      return p + 1;
    }
  }
  return NULL;
}

/* Returns the position after the value starting at p, or NULL. */
static const char *pt__skip_value(const char *p, const char *end) {
  size_t depth = 0;
  if (p >= end) {
    return NULL;
  }
  if (*p != '{' && *p != '[') {
    if (*p == '"') {
      return pt__skip_string(p, end);
    }
    /* number, true, false, null: up to a delimiter */
    const char *start = p;
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' &&
           *p != '\n' && *p != '\r' && *p != '\t') {
      p++;
    }
    return p > start ? p : NULL;
  }
  while (p < end) {
    char ch = *p;
    if (ch == '"') {
      p = pt__skip_string(p, end);
      if (p == NULL) {
        return NULL;
      }
      continue;
    }
    if (ch == '{' || ch == '[') {
      depth++;
    } else if (ch == '}' || ch == ']') {
      if (depth == 0) {
        return NULL;
      }
      if (--depth == 0) {
        return p + 1;
      }
    }
    p++;
  }
  return NULL;
}

/*
 * obj spans an object (starting at '{').  Finds the member named key and
 * sets *value to its value's span.  Returns true if found.
 */
static bool pt__object_get(pt__span obj, const char *key, pt__span *value) {
  size_t key_len = strlen(key);
  const char *p = pt__skip_ws(obj.p, obj.end);
  if (p >= obj.end || *p != '{') {
    return false;
  }
  p = pt__skip_ws(p + 1, obj.end);
  if (p < obj.end && *p == '}') {
    return false;
  }
  while (p < obj.end) {
    const char *name = p;
    const char *after = pt__skip_string(p, obj.end);
    if (after == NULL) {
      return false;
    }
    p = pt__skip_ws(after, obj.end);
    if (p >= obj.end || *p != ':') {
      return false;
    }
    p = pt__skip_ws(p + 1, obj.end);
    const char *value_end = pt__skip_value(p, obj.end);
    if (value_end == NULL) {
      return false;
    }
    /* name spans "key" including quotes: compare the inside */
    if ((size_t)(after - name) == key_len + 2 &&
        memcmp(name + 1, key, key_len) == 0) {
      value->p = p;
      value->end = value_end;
      return true;
    }
    p = pt__skip_ws(value_end, obj.end);
    if (p >= obj.end || *p != ',') {
      return false;
    }
    p = pt__skip_ws(p + 1, obj.end);
  }
  return false;
}

/* A JSON string value equal to text (no escapes in the value). */
static bool pt__string_is(pt__span v, const char *text) {
  size_t n = strlen(text);
  return (size_t)(v.end - v.p) == n + 2 && v.p[0] == '"' &&
         memcmp(v.p + 1, text, n) == 0;
}

/* A non-negative decimal integer that fits in 62 bits (QUIC's varint). */
static bool pt__parse_u62(pt__span v, uint64_t *out) {
  uint64_t x = 0;
  if (v.p >= v.end || (size_t)(v.end - v.p) > 19) {
    return false;
  }
  for (const char *p = v.p; p < v.end; p++) {
    if (*p < '0' || *p > '9') {
      return false;
    }
    x = x * 10u + (uint64_t)(*p - '0');
  }
  if (x >= (UINT64_C(1) << 62)) {
    return false;
  }
  *out = x;
  return true;
}

/* ---- The qlog record parser -------------------------------------------- */

/* Packet number space of a qlog packet_type; -1 for types without one. */
static int pt__pn_space(pt__span type) {
  if (pt__string_is(type, "initial")) {
    return (int)PT_PN_SPACE_INITIAL;
  }
  if (pt__string_is(type, "handshake")) {
    return (int)PT_PN_SPACE_HANDSHAKE;
  }
  if (pt__string_is(type, "1RTT") || pt__string_is(type, "0RTT")) {
    return (int)PT_PN_SPACE_APPLICATION;
  }
  return -1;
}

int pt_quic_qlog_parse(const void *data, size_t len, pt_event *ev) {
  pt__span rec, name, body, header, type, pn_text, raw, length_text;
  uint64_t pn = 0, size = 0;
  unsigned kind;
  int space;

  if (data == NULL || ev == NULL) {
    return PT_ERR_INVALID;
  }
  if (len > PT_QUIC_QLOG_MAX_RECORD) {
    return PT_ERR_PARSE;
  }
  rec.p = data;
  rec.end = rec.p + len;
  while (rec.p < rec.end && (*rec.p == '\x1e' || *rec.p == ' ' ||
                             *rec.p == '\n' || *rec.p == '\r')) {
    rec.p++;
  }
  /* The record must be one complete object, followed by blanks only. */
  if (rec.p >= rec.end || *rec.p != '{') {
    return PT_ERR_PARSE;
  }
  const char *object_end = pt__skip_value(rec.p, rec.end);
  if (object_end == NULL || pt__skip_ws(object_end, rec.end) != rec.end) {
    return PT_ERR_PARSE;
  }
  rec.end = object_end;
  if (!pt__object_get(rec, "name", &name)) {
    return 0; /* the header record, or another record without a name */
  }
  if (pt__string_is(name, "transport:packet_sent")) {
    kind = PT_EV_PACKET_SENT;
  } else if (pt__string_is(name, "transport:packet_received")) {
    kind = PT_EV_PACKET_RECEIVED;
  } else if (pt__string_is(name, "recovery:packet_lost")) {
    kind = PT_EV_PACKET_LOST;
  } else {
    return 0;
  }
  if (!pt__object_get(rec, "data", &body) ||
      !pt__object_get(body, "header", &header) ||
      !pt__object_get(header, "packet_type", &type)) {
    return PT_ERR_PARSE;
  }
  space = pt__pn_space(type);
  if (space < 0) {
    return 0; /* retry, version negotiation, stateless reset: no pn */
  }
  if (!pt__object_get(header, "packet_number", &pn_text) ||
      !pt__parse_u62(pn_text, &pn)) {
    return PT_ERR_PARSE;
  }
  if (kind != PT_EV_PACKET_LOST) {
    if (!pt__object_get(body, "raw", &raw) ||
        !pt__object_get(raw, "length", &length_text) ||
        !pt__parse_u62(length_text, &size) || size > UINT32_MAX) {
      return PT_ERR_PARSE;
    }
  }
  pt_event_begin(ev, (pt_trace_id){{0}}, NULL);
  if (kind == PT_EV_PACKET_SENT) {
    pt_event_set_packet_sent(ev, pn, size, (uint64_t)space);
  } else if (kind == PT_EV_PACKET_RECEIVED) {
    pt_event_set_packet_received(ev, pn, size, (uint64_t)space);
  } else {
    pt_event_set_packet_lost(ev, pn, (uint64_t)space);
  }
  return 1;
}

/* ---- Recording --------------------------------------------------------- */

/* Writes an event of the connection; a trace that compile-time sampling
 * (PT_TRACE_SAMPLE) drops is dropped whole, as by every event macro. */
static void pt__record(pt_quic_tracer *t, const pt_event *ev) {
  if (PT_TRACE_SAMPLED(t->ctx.trace_id)) {
    pt_log_write(t->log, ev);
  }
}

static void pt__begin(const pt_quic_tracer *t, pt_event *ev) {
  pt_event_begin(ev, t->ctx.trace_id, t->has_peer ? t->peer_id : NULL);
  ev->flags = (uint8_t)(ev->flags | (t->ctx.flags & PT_TRACE_FLAGS_MASK));
}

static void pt__record_packet(pt_quic_tracer *t, const char *rec, size_t len) {
  pt_event ev;
  t->stats.qlog_records++;
  int rv = pt_quic_qlog_parse(rec, len, &ev);
  if (rv < 0) {
    t->stats.qlog_rejected++;
    return;
  }
  if (rv == 0) {
    return;
  }
  ev.trace_id = t->ctx.trace_id;
  if (t->has_peer) {
    memcpy(ev.peer_id, t->peer_id, sizeof ev.peer_id);
    ev.flags = (uint8_t)PT_EVENT_HAS_PEER;
  }
  /* Only the trace flag bits: the others are the event's (pt_log_write
   * refuses an event with a reserved one). */
  ev.flags = (uint8_t)(ev.flags | (t->ctx.flags & PT_TRACE_FLAGS_MASK));
  switch (ev.kind) {
  case PT_EV_PACKET_SENT:
    t->stats.packets_sent++;
    t->stats.bytes_sent += ev.data.packet_sent.size;
    break;
  case PT_EV_PACKET_RECEIVED:
    t->stats.packets_received++;
    t->stats.bytes_received += ev.data.packet_received.size;
    break;
  default:
    t->stats.packets_lost++;
    break;
  }
  pt__record(t, &ev);
}

/* The qlog hook: splits a write into JSON-SEQ records and parses each. */
static void pt__qlog_write(void *user_data, uint32_t flags, const void *data,
                           size_t len) {
  pt_quic_tracer *t = user_data;
  const char *p = data;
  const char *end = p + len;
  while (p != NULL && p < end) {
    const char *next = memchr(p + 1, '\x1e', (size_t)(end - p - 1));
    const char *stop = next ? next : end;
    /* A lone separator or newline between records is not a record. */
    if (stop - p > 2) {
      pt__record_packet(t, p, (size_t)(stop - p));
    }
    p = next;
  }
  if (t->app_qlog_write != NULL) {
    t->app_qlog_write(user_data, flags, data, len);
  }
}

static int pt__handshake_completed(ngtcp2_conn *conn, void *user_data) {
  pt_quic_tracer *t = user_data;
  ngtcp2_conn_stat st;
  pt_event ev;
  ngtcp2_conn_get_conn_stat(conn, &st);
  t->last_rtt = st.smoothed_rtt;
  pt__begin(t, &ev);
  pt_event_set_conn_established(&ev, st.smoothed_rtt / 1000u);
  pt__record(t, &ev);
  return t->app_handshake_completed
             ? t->app_handshake_completed(conn, user_data)
             : 0;
}

static int pt__stream_open(ngtcp2_conn *conn, int64_t stream_id,
                           void *user_data) {
  pt_quic_tracer *t = user_data;
  pt_event ev;
  pt__begin(t, &ev);
  pt_event_set_stream_opened(&ev, (uint64_t)stream_id, 0);
  pt__record(t, &ev);
  return t->app_stream_open ? t->app_stream_open(conn, stream_id, user_data)
                            : 0;
}

static int pt__recv_stream_data(ngtcp2_conn *conn, uint32_t flags,
                                int64_t stream_id, uint64_t offset,
                                const uint8_t *data, size_t datalen,
                                void *user_data, void *stream_user_data) {
  pt_quic_tracer *t = user_data;
  pt_event ev;
  pt__begin(t, &ev);
  pt_event_set_stream_data(&ev, (uint64_t)stream_id, offset, datalen,
                           (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
  pt__record(t, &ev);
  return t->app_recv_stream_data
             ? t->app_recv_stream_data(conn, flags, stream_id, offset, data,
                                       datalen, user_data, stream_user_data)
             : 0;
}

/* ---- Public ------------------------------------------------------------ */

int pt_quic_tracer_init(pt_quic_tracer *t, pt_log *log, const uint8_t *peer_id,
                        pt_trace_ctx ctx) {
  if (t == NULL || log == NULL) {
    return PT_ERR_INVALID;
  }
  memset(t, 0, sizeof *t);
  t->log = log;
  t->ctx = ctx;
  if (peer_id != NULL) {
    memcpy(t->peer_id, peer_id, sizeof t->peer_id);
    t->has_peer = 1;
  }
  return PT_OK;
}

int pt_quic_tracer_set_peer(pt_quic_tracer *t, const uint8_t *peer_id) {
  if (t == NULL || peer_id == NULL) {
    return PT_ERR_INVALID;
  }
  memcpy(t->peer_id, peer_id, sizeof t->peer_id);
  t->has_peer = 1;
  return PT_OK;
}

int pt_quic_tracer_install(pt_quic_tracer *t, ngtcp2_callbacks *callbacks,
                           ngtcp2_settings *settings) {
  if (t == NULL || callbacks == NULL || settings == NULL ||
      callbacks->handshake_completed == pt__handshake_completed ||
      settings->qlog.write == pt__qlog_write) {
    return PT_ERR_INVALID;
  }
  t->app_handshake_completed = callbacks->handshake_completed;
  t->app_stream_open = callbacks->stream_open;
  t->app_recv_stream_data = callbacks->recv_stream_data;
  t->app_qlog_write = settings->qlog.write;
  callbacks->handshake_completed = pt__handshake_completed;
  callbacks->stream_open = pt__stream_open;
  callbacks->recv_stream_data = pt__recv_stream_data;
  settings->qlog.write = pt__qlog_write;
  return PT_OK;
}

int pt_quic_tracer_conn_init(pt_quic_tracer *t, const void *remote_sa,
                             size_t remote_sa_len) {
  pt_endpoint endpoint;
  pt_event ev;
  if (t == NULL) {
    return PT_ERR_INVALID;
  }
  int rv = pt_endpoint_from_sockaddr(remote_sa, remote_sa_len, &endpoint);
  if (rv != PT_OK) {
    return rv;
  }
  pt__begin(t, &ev);
  pt_event_set_conn_init(&ev, endpoint);
  pt__record(t, &ev);
  return PT_OK;
}

int pt_quic_tracer_stream_opened(pt_quic_tracer *t, int64_t stream_id) {
  pt_event ev;
  if (t == NULL) {
    return PT_ERR_INVALID;
  }
  pt__begin(t, &ev);
  pt_event_set_stream_opened(&ev, (uint64_t)stream_id, 1);
  pt__record(t, &ev);
  return PT_OK;
}

int pt_quic_tracer_stream_sent(pt_quic_tracer *t, int64_t stream_id,
                               uint64_t offset, uint64_t length, int fin) {
  pt_event ev;
  if (t == NULL) {
    return PT_ERR_INVALID;
  }
  pt__begin(t, &ev);
  pt_event_set_stream_data(&ev, (uint64_t)stream_id, offset, length, fin);
  pt__record(t, &ev);
  return PT_OK;
}
