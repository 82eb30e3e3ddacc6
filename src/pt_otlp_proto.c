/*
 * pt_otlp_proto: one ExportTraceServiceRequest line of the OTLP/JSON
 * export (pt_export_otlp.c) in protobuf, for the push's
 * application/x-protobuf encoding.  The JSON is walked once against a table
 * of the few opentelemetry-proto messages and fields the export writes
 * (trace/v1, common/v1, resource/v1: field numbers and wire types from the
 * .proto definitions), so each value goes to the wire as its field's type
 * says: ids from hex to bytes, times as fixed64, intValue as varint int64,
 * doubles as fixed64.  Unknown keys or malformed text: PT_ERR_PARSE.
 */
#include "pt_otlp_proto.h"

#include <stdlib.h>
#include <string.h>

enum pt__pb_type {
  PB_MSG,     /* nested message (object, or array of objects) */
  PB_STR,     /* string */
  PB_HEX,     /* bytes, written in JSON as hex */
  PB_FIXED64, /* fixed64, written as a decimal string */
  PB_INT64,   /* int64 varint, a decimal string */
  PB_VARINT,  /* uint32 / enum, a JSON number */
  PB_BOOL,
  PB_DOUBLE
};

typedef struct pt__pb_field {
  const char *key;
  unsigned number;
  enum pt__pb_type type;
  int child; /* PB_MSG: index in pt__pb_messages */
} pt__pb_field;

enum {
  M_REQUEST,
  M_RESOURCE_SPANS,
  M_RESOURCE,
  M_SCOPE_SPANS,
  M_SCOPE,
  M_SPAN,
  M_EVENT,
  M_KEY_VALUE,
  M_ANY_VALUE,
  M_STATUS,
  M_COUNT
};

static const pt__pb_field pt__pb_request[] = {
    {"resourceSpans", 1, PB_MSG, M_RESOURCE_SPANS}, {NULL, 0, PB_MSG, 0}};
static const pt__pb_field pt__pb_resource_spans[] = {
    {"resource", 1, PB_MSG, M_RESOURCE},
    {"scopeSpans", 2, PB_MSG, M_SCOPE_SPANS},
    {NULL, 0, PB_MSG, 0}};
static const pt__pb_field pt__pb_resource[] = {
    {"attributes", 1, PB_MSG, M_KEY_VALUE}, {NULL, 0, PB_MSG, 0}};
static const pt__pb_field pt__pb_scope_spans[] = {{"scope", 1, PB_MSG, M_SCOPE},
                                                  {"spans", 2, PB_MSG, M_SPAN},
                                                  {NULL, 0, PB_MSG, 0}};
static const pt__pb_field pt__pb_scope[] = {{"name", 1, PB_STR, 0},
                                            {NULL, 0, PB_MSG, 0}};
static const pt__pb_field pt__pb_span[] = {
    {"traceId", 1, PB_HEX, 0},
    {"spanId", 2, PB_HEX, 0},
    {"parentSpanId", 4, PB_HEX, 0},
    {"name", 5, PB_STR, 0},
    {"kind", 6, PB_VARINT, 0},
    {"startTimeUnixNano", 7, PB_FIXED64, 0},
    {"endTimeUnixNano", 8, PB_FIXED64, 0},
    {"attributes", 9, PB_MSG, M_KEY_VALUE},
    {"events", 11, PB_MSG, M_EVENT},
    {"droppedEventsCount", 12, PB_VARINT, 0},
    {"status", 15, PB_MSG, M_STATUS},
    {NULL, 0, PB_MSG, 0}};
static const pt__pb_field pt__pb_event[] = {
    {"timeUnixNano", 1, PB_FIXED64, 0},
    {"name", 2, PB_STR, 0},
    {"attributes", 3, PB_MSG, M_KEY_VALUE},
    {NULL, 0, PB_MSG, 0}};
static const pt__pb_field pt__pb_key_value[] = {
    {"key", 1, PB_STR, 0},
    {"value", 2, PB_MSG, M_ANY_VALUE},
    {NULL, 0, PB_MSG, 0}};
static const pt__pb_field pt__pb_any_value[] = {
    {"stringValue", 1, PB_STR, 0},
    {"boolValue", 2, PB_BOOL, 0},
    {"intValue", 3, PB_INT64, 0},
    {"doubleValue", 4, PB_DOUBLE, 0},
    {NULL, 0, PB_MSG, 0}};
static const pt__pb_field pt__pb_status[] = {
    {"message", 2, PB_STR, 0}, {"code", 3, PB_VARINT, 0}, {NULL, 0, PB_MSG, 0}};

static const pt__pb_field *const pt__pb_messages[M_COUNT] = {
    pt__pb_request,     pt__pb_resource_spans, pt__pb_resource,
    pt__pb_scope_spans, pt__pb_scope,          pt__pb_span,
    pt__pb_event,       pt__pb_key_value,      pt__pb_any_value,
    pt__pb_status};

typedef struct pt__pb {
  const char *p, *end; /* JSON still to read */
  pt__pb_buf *out;
  int error; /* PT_ERR_PARSE or PT_ERR_NOMEM */
} pt__pb;

int pt__pb_buf_reserve(pt__pb_buf *b, size_t n) {
  if (b->len + n <= b->cap) {
    return PT_OK;
  }
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + n) {
    cap *= 2;
  }
  uint8_t *data = realloc(b->data, cap);
  if (data == NULL) {
    return PT_ERR_NOMEM;
  }
  b->data = data;
  b->cap = cap;
  return PT_OK;
}

static int pt__pb_room(pt__pb *pb, size_t n) {
  if (pt__pb_buf_reserve(pb->out, n) != PT_OK) {
    pb->error = PT_ERR_NOMEM;
    return -1;
  }
  return 0;
}

static void pt__pb_varint(pt__pb *pb, uint64_t v) {
  if (pt__pb_room(pb, 10) != 0) {
    return;
  }
  pt__pb_buf *b = pb->out;
  do {
    uint8_t byte = (uint8_t)(v & 0x7f);
    v >>= 7;
    b->data[b->len++] = (uint8_t)(byte | (v ? 0x80 : 0));
  } while (v);
}

static void pt__pb_fixed64(pt__pb *pb, uint64_t v) {
  if (pt__pb_room(pb, 8) != 0) {
    return;
  }
  for (int i = 0; i < 8; i++) {
    pb->out->data[pb->out->len++] = (uint8_t)(v >> (8 * i));
  }
}

static void pt__pb_skip_ws(pt__pb *pb) {
  while (pb->p < pb->end && (*pb->p == ' ' || *pb->p == '\n' ||
                             *pb->p == '\t' || *pb->p == '\r')) {
    pb->p++;
  }
}

static int pt__pb_expect(pt__pb *pb, char c) {
  pt__pb_skip_ws(pb);
  if (pb->p < pb->end && *pb->p == c) {
    pb->p++;
    return 0;
  }
  pb->error = PT_ERR_PARSE;
  return -1;
}

static int pt__pb_hexval(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/*
 * A JSON string, unescaped, appended to the output (the caller has made it
 * a length-delimited field by writing its length after).  Returns the
 * number of bytes appended, or -1.
 */
static long pt__pb_string(pt__pb *pb) {
  if (pt__pb_expect(pb, '"') != 0) {
    return -1;
  }
  size_t start = pb->out->len;
  while (pb->p < pb->end && *pb->p != '"') {
    char c = *pb->p++;
    uint32_t u = (uint8_t)c;
    if (c == '\\') {
      if (pb->p >= pb->end) {
        break;
      }
      char e = *pb->p++;
      static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
      const char *k = strchr(from, e);
      if (e == 'u' && pb->end - pb->p >= 4) {
        u = 0;
        for (int i = 0; i < 4; i++) {
          int h = pt__pb_hexval(*pb->p++);
          if (h < 0) {
            pb->error = PT_ERR_PARSE;
            return -1;
          }
          u = u << 4 | (uint32_t)h;
        }
      } else if (k != NULL && e != '\0') {
        u = (uint8_t)to[k - from];
      } else {
        pb->error = PT_ERR_PARSE;
        return -1;
      }
    }
    /* UTF-8 (the export writes ASCII; \u escapes of the BMP are encoded). */
    if (pt__pb_room(pb, 3) != 0) {
      return -1;
    }
    uint8_t *d = pb->out->data;
    if (u < 0x80 || c != '\\') {
      d[pb->out->len++] = (uint8_t)u;
    } else if (u < 0x800) {
      d[pb->out->len++] = (uint8_t)(0xc0 | u >> 6);
      d[pb->out->len++] = (uint8_t)(0x80 | (u & 0x3f));
    } else {
      d[pb->out->len++] = (uint8_t)(0xe0 | u >> 12);
      d[pb->out->len++] = (uint8_t)(0x80 | ((u >> 6) & 0x3f));
      d[pb->out->len++] = (uint8_t)(0x80 | (u & 0x3f));
    }
  }
  if (pt__pb_expect(pb, '"') != 0) {
    return -1;
  }
  return (long)(pb->out->len - start);
}

/* The bytes from `start` on become a length-delimited field's payload:
 * the tag and length go before them. */
static void pt__pb_wrap(pt__pb *pb, unsigned number, size_t start) {
  if (pb->error) {
    return;
  }
  size_t n = pb->out->len - start;
  uint8_t head[20];
  size_t h = 0;
  uint64_t v = (uint64_t)number << 3 | 2u;
  do {
    head[h++] = (uint8_t)((v & 0x7f) | (v >> 7 ? 0x80 : 0));
    v >>= 7;
  } while (v);
  v = n;
  do {
    head[h++] = (uint8_t)((v & 0x7f) | (v >> 7 ? 0x80 : 0));
    v >>= 7;
  } while (v);
  if (pt__pb_room(pb, h) != 0) {
    return;
  }
  uint8_t *d = pb->out->data;
  memmove(d + start + h, d + start, n);
  memcpy(d + start, head, h);
  pb->out->len += h;
}

/* A JSON number or a string of digits (64-bit values are strings). */
static int pt__pb_integer(pt__pb *pb, uint64_t *out) {
  pt__pb_skip_ws(pb);
  int quoted = pb->p < pb->end && *pb->p == '"';
  pb->p += quoted;
  uint64_t v = 0;
  const char *digits = pb->p;
  while (pb->p < pb->end && *pb->p >= '0' && *pb->p <= '9') {
    v = v * 10 + (uint64_t)(*pb->p++ - '0');
  }
  if (pb->p == digits || (quoted && pt__pb_expect(pb, '"') != 0)) {
    pb->error = PT_ERR_PARSE;
    return -1;
  }
  *out = v;
  return 0;
}

/* After an element: 1 if a ',' follows (consumed), 0 if `close` does
 * (consumed), -1 otherwise or after an error. */
static int pt__pb_more(pt__pb *pb, char close) {
  if (pb->error) {
    return -1;
  }
  pt__pb_skip_ws(pb);
  if (pb->p < pb->end && *pb->p == ',') {
    pb->p++;
    return 1;
  }
  return pt__pb_expect(pb, close) == 0 ? 0 : -1;
}

static void pt__pb_message(pt__pb *pb, int message);

static void pt__pb_value(pt__pb *pb, const pt__pb_field *f) {
  uint64_t v = 0;
  size_t start;
  switch (f->type) {
  case PB_MSG:
    start = pb->out->len;
    pt__pb_message(pb, f->child);
    pt__pb_wrap(pb, f->number, start);
    return;
  case PB_STR:
    start = pb->out->len;
    if (pt__pb_string(pb) >= 0) {
      pt__pb_wrap(pb, f->number, start);
    }
    return;
  case PB_HEX: {
    start = pb->out->len;
    long n = pt__pb_string(pb);
    if (n < 0 || n % 2 != 0) {
      pb->error = PT_ERR_PARSE;
      return;
    }
    /* The hex digits, in place, become their bytes. */
    uint8_t *d = pb->out->data + start;
    for (long i = 0; i < n / 2; i++) {
      int hi = pt__pb_hexval((char)d[2 * i]),
          lo = pt__pb_hexval((char)d[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        pb->error = PT_ERR_PARSE;
        return;
      }
      d[i] = (uint8_t)(hi << 4 | lo);
    }
    pb->out->len = start + (size_t)(n / 2);
    pt__pb_wrap(pb, f->number, start);
    return;
  }
  case PB_FIXED64:
    if (pt__pb_integer(pb, &v) == 0) {
      pt__pb_varint(pb, (uint64_t)f->number << 3 | 1u);
      pt__pb_fixed64(pb, v);
    }
    return;
  case PB_INT64:
  case PB_VARINT:
    if (pt__pb_integer(pb, &v) == 0) {
      pt__pb_varint(pb, (uint64_t)f->number << 3);
      pt__pb_varint(pb, v);
    }
    return;
  case PB_BOOL:
    pt__pb_skip_ws(pb);
    if (pb->end - pb->p >= 4 && memcmp(pb->p, "true", 4) == 0) {
      pb->p += 4;
      v = 1;
    } else if (pb->end - pb->p >= 5 && memcmp(pb->p, "false", 5) == 0) {
      pb->p += 5;
    } else {
      pb->error = PT_ERR_PARSE;
      return;
    }
    pt__pb_varint(pb, (uint64_t)f->number << 3);
    pt__pb_varint(pb, v);
    return;
  case PB_DOUBLE: {
    pt__pb_skip_ws(pb);
    char text[64];
    size_t n = 0;
    while (pb->p < pb->end && n < sizeof text - 1 &&
           strchr("+-0123456789.eE", *pb->p) != NULL && *pb->p != '\0') {
      text[n++] = *pb->p++;
    }
    text[n] = '\0';
    char *end;
    double d = strtod(text, &end);
    if (n == 0 || *end != '\0') {
      pb->error = PT_ERR_PARSE;
      return;
    }
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    pt__pb_varint(pb, (uint64_t)f->number << 3 | 1u);
    pt__pb_fixed64(pb, bits);
    return;
  }
  }
}

/* An object of `message`, or an array of them (repeated fields). */
static void pt__pb_message(pt__pb *pb, int message) {
  pt__pb_skip_ws(pb);
  if (pb->error || pb->p >= pb->end) {
    pb->error = PT_ERR_PARSE;
    return;
  }
  if (pt__pb_expect(pb, '{') != 0) {
    return;
  }
  pt__pb_skip_ws(pb);
  if (pb->p < pb->end && *pb->p == '}') {
    pb->p++;
    return;
  }
  for (;;) {
    /* The key, looked up in the message's fields. */
    size_t mark = pb->out->len;
    long n = pt__pb_string(pb);
    if (n < 0 || pt__pb_expect(pb, ':') != 0) {
      pb->error = PT_ERR_PARSE;
      return;
    }
    const pt__pb_field *f = pt__pb_messages[message];
    while (f->key != NULL &&
           ((long)strlen(f->key) != n ||
            memcmp(f->key, pb->out->data + mark, (size_t)n) != 0)) {
      f++;
    }
    pb->out->len = mark;
    if (f->key == NULL) {
      pb->error = PT_ERR_PARSE;
      return;
    }
    pt__pb_skip_ws(pb);
    if (pb->p < pb->end && *pb->p == '[') {
      /* A repeated field: each element is one occurrence. */
      pb->p++;
      pt__pb_skip_ws(pb);
      if (pb->p < pb->end && *pb->p == ']') {
        pb->p++;
      } else {
        do {
          pt__pb_value(pb, f);
        } while (pt__pb_more(pb, ']') == 1);
      }
    } else {
      pt__pb_value(pb, f);
    }
    if (pt__pb_more(pb, '}') != 1) {
      return;
    }
  }
}

int pt__otlp_json_to_proto(const char *json, size_t len, pt__pb_buf *out) {
  pt__pb pb = {json, json + len, out, 0};
  out->len = 0;
  pt__pb_message(&pb, M_REQUEST);
  pt__pb_skip_ws(&pb);
  if (pb.error == 0 && pb.p != pb.end) {
    pb.error = PT_ERR_PARSE;
  }
  return pb.error ? pb.error : PT_OK;
}
