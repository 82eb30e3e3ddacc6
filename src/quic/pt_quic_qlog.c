/*
 * pt_quic_qlog: the parser of ngtcp2's qlog records behind the ngtcp2
 * adapter (see include/peertrace/pt_quic.h; the recording is in pt_quic.c).
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

#include "pt_hex.h"
#include "pt_quic_qlog.h"

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

/*
 * The one JSON object of a record data[0..len): leading JSON-SEQ separators
 * and blanks skipped, nothing but blanks after it.  Returns 0 and sets *rec,
 * or PT_ERR_PARSE.
 */
static int pt__record_object(const void *data, size_t len, pt__span *rec) {
  if (len > PT_QUIC_QLOG_MAX_RECORD) {
    return PT_ERR_PARSE;
  }
  rec->p = data;
  rec->end = rec->p + len;
  while (rec->p < rec->end && (*rec->p == '\x1e' || *rec->p == ' ' ||
                               *rec->p == '\n' || *rec->p == '\r')) {
    rec->p++;
  }
  if (rec->p >= rec->end || *rec->p != '{') {
    return PT_ERR_PARSE;
  }
  const char *object_end = pt__skip_value(rec->p, rec->end);
  if (object_end == NULL || pt__skip_ws(object_end, rec->end) != rec->end) {
    return PT_ERR_PARSE;
  }
  rec->end = object_end;
  return 0;
}

/*
 * The packet record behind pt_quic_qlog_parse; also gives the record's
 * "data" object (*body) to the frame parser.
 */
static int pt__parse_packet(const void *data, size_t len, pt_event *ev,
                            pt__span *body) {
  pt__span rec, name, header, type, pn_text, raw, length_text;
  uint64_t pn = 0, size = 0;
  unsigned kind;
  int space;

  int rv = pt__record_object(data, len, &rec);
  if (rv != 0) {
    return rv;
  }
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
  if (!pt__object_get(rec, "data", body) ||
      !pt__object_get(*body, "header", &header) ||
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
    if (!pt__object_get(*body, "raw", &raw) ||
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

int pt_quic_qlog_parse(const void *data, size_t len, pt_event *ev) {
  pt__span body;
  if (data == NULL || ev == NULL) {
    return PT_ERR_INVALID;
  }
  return pt__parse_packet(data, len, ev, &body);
}

int pt__quic_qlog_named(const void *data, size_t len, const char *name) {
  pt__span rec, value;
  int rv = pt__record_object(data, len, &rec);
  if (rv != 0) {
    return rv;
  }
  return pt__object_get(rec, "name", &value) && pt__string_is(value, name);
}

/* ---- STREAM frames of a packet record ---------------------------------- */

/* A JSON true or false; returns false for anything else. */
static bool pt__parse_bool(pt__span v, int *out) {
  if ((size_t)(v.end - v.p) == 4 && memcmp(v.p, "true", 4) == 0) {
    *out = 1;
    return true;
  }
  if ((size_t)(v.end - v.p) == 5 && memcmp(v.p, "false", 5) == 0) {
    *out = 0;
    return true;
  }
  return false;
}

/*
 * One frame object f of packet `packet`: if it is a STREAM frame, fills
 * *out (when out is not NULL) and returns 1; 0 for another frame type;
 * PT_ERR_PARSE for a malformed one.
 */
static int pt__parse_frame(pt__span f, const pt_event *packet, pt_event *out) {
  pt__span type, v;
  uint64_t stream_id, offset, length;
  int fin = 0;
  if (!pt__object_get(f, "frame_type", &type) || type.p >= type.end ||
      *type.p != '"') {
    return PT_ERR_PARSE;
  }
  if (!pt__string_is(type, "stream")) {
    return 0;
  }
  if (!pt__object_get(f, "stream_id", &v) || !pt__parse_u62(v, &stream_id) ||
      !pt__object_get(f, "offset", &v) || !pt__parse_u62(v, &offset) ||
      !pt__object_get(f, "length", &v) || !pt__parse_u62(v, &length) ||
      length > UINT32_MAX || offset + length > (UINT64_C(1) << 62)) {
    return PT_ERR_PARSE;
  }
  if (pt__object_get(f, "fin", &v) && !pt__parse_bool(v, &fin)) {
    return PT_ERR_PARSE;
  }
  if (out != NULL) {
    int sent = packet->kind == PT_EV_PACKET_SENT;
    uint64_t pn =
        sent ? packet->data.packet_sent.pn : packet->data.packet_received.pn;
    uint64_t space = sent ? packet->data.packet_sent.space
                          : packet->data.packet_received.space;
    pt_event_begin(out, (pt_trace_id){{0}}, NULL);
    pt_event_set_stream_frame(out, pn, stream_id, offset, length, space, fin,
                              sent);
  }
  return 1;
}

int pt_quic_qlog_stream_frames(const void *data, size_t len, pt_event *frames,
                               size_t cap, size_t *count) {
  pt__span body, list;
  pt_event packet;
  size_t n = 0;
  if (data == NULL || count == NULL || (frames == NULL && cap > 0)) {
    return PT_ERR_INVALID;
  }
  *count = 0;
  int rv = pt__parse_packet(data, len, &packet, &body);
  if (rv != 1 || packet.kind == PT_EV_PACKET_LOST) {
    return rv < 0 ? rv : 0;
  }
  if (!pt__object_get(body, "frames", &list)) {
    return 1; /* no frames listed: no STREAM frames */
  }
  /* list spans a value; walk its elements (each must be an object). */
  const char *p = pt__skip_ws(list.p, list.end);
  if (p >= list.end || *p != '[') {
    return PT_ERR_PARSE;
  }
  p = pt__skip_ws(p + 1, list.end);
  if (p < list.end && *p == ']') {
    return 1;
  }
  while (p < list.end) {
    pt__span f;
    if (*p != '{') {
      return PT_ERR_PARSE;
    }
    f.p = p;
    f.end = pt__skip_value(p, list.end);
    if (f.end == NULL) {
      return PT_ERR_PARSE;
    }
    rv = pt__parse_frame(f, &packet, n < cap ? &frames[n] : NULL);
    if (rv < 0) {
      return rv;
    }
    n += (size_t)rv;
    p = pt__skip_ws(f.end, list.end);
    if (p < list.end && *p == ']') {
      *count = n;
      return 1;
    }
    if (p >= list.end || *p != ',') {
      return PT_ERR_PARSE;
    }
    p = pt__skip_ws(p + 1, list.end);
  }
  return PT_ERR_PARSE;
}

/* ---- The header record: the connection's ODCID ------------------------- */

int pt_quic_qlog_odcid(const void *data, size_t len, uint8_t *cid,
                       size_t *cid_len) {
  pt__span rec, trace, common, group;
  uint8_t tmp[PT_QUIC_MAX_CID_LEN];
  if (data == NULL || cid == NULL || cid_len == NULL) {
    return PT_ERR_INVALID;
  }
  int rv = pt__record_object(data, len, &rec);
  if (rv != 0) {
    return rv;
  }
  if (!pt__object_get(rec, "trace", &trace) ||
      !pt__object_get(trace, "common_fields", &common) ||
      !pt__object_get(common, "group_id", &group)) {
    return 0;
  }
  /* "hex": 2..2*PT_QUIC_MAX_CID_LEN digits, an even number of them */
  size_t digits = (size_t)(group.end - group.p);
  if (digits < 4 || group.p[0] != '"' || group.end[-1] != '"') {
    return PT_ERR_PARSE;
  }
  digits -= 2;
  if (digits % 2 != 0 || digits > 2u * PT_QUIC_MAX_CID_LEN ||
      pt__hex_decode(group.p + 1, tmp, digits / 2, 0) != 0) {
    return PT_ERR_PARSE;
  }
  memcpy(cid, tmp, digits / 2);
  *cid_len = digits / 2;
  return 1;
}
