/*
 * pt_event: names, text and JSON of events, all derived from the event table
 * (include/peertrace/pt_events.h), plus socket address conversion.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "pt_common.h"
#include "pt_event.h"
#include "pt_hex.h"

const char *pt_event_kind_name(unsigned kind) {
  switch (kind) {
#define PT__KIND_NAME(KIND, id, name, desc)                                    \
  case id:                                                                     \
    return #name;
    PT_EVENT_TABLE(PT__KIND_NAME)
#undef PT__KIND_NAME
  default:
    return "unknown";
  }
}

int pt__event_check(const pt_event *ev, char *why, size_t why_size) {
  if (pt__event_valid(ev)) {
    return 1;
  }
  if (why == NULL || why_size == 0) {
    return 0;
  }
  if (ev->kind == PT_EV_NONE || ev->kind >= PT_EV_KIND_LIMIT) {
    snprintf(why, why_size, "unknown event kind %u", ev->kind);
  } else if ((ev->flags & ~PT__EVENT_KNOWN_FLAGS) != 0) {
    snprintf(why, why_size, "unknown flag bits 0x%02x",
             (unsigned)(ev->flags & ~PT__EVENT_KNOWN_FLAGS));
  } else if (ev->reserved != 0) {
    snprintf(why, why_size, "reserved byte 0x%02x (not zero)", ev->reserved);
  } else {
    snprintf(why, why_size, "peer id without the has-peer flag");
  }
  return 0;
}

/* ---- Output to a buffer or a file (pt_event.h) ------------------------- */

void pt__out_write(pt__out *o, const char *text, size_t n) {
  if (o->fp != NULL) {
    fwrite(text, 1, n, o->fp); /* errors: the stream's, seen by ferror */
  } else if (o->len + 1 < o->cap) {
    size_t room = o->cap - 1 - o->len;
    size_t k = n < room ? n : room;
    memcpy(o->buf + o->len, text, k);
    o->buf[o->len + k] = '\0';
  }
  o->len += n;
}

void pt__out_printf(pt__out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n;
  if (o->fp != NULL) {
    n = vfprintf(o->fp, fmt, ap);
  } else {
    char *dst = o->len < o->cap ? o->buf + o->len : NULL;
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    n = vsnprintf(dst, room, fmt, ap);
  }
  va_end(ap);
  if (n > 0) {
    o->len += (size_t)n;
  }
}

void pt__out_json_string(pt__out *o, const char *text, size_t max_len) {
  pt__out_write(o, "\"", 1);
  size_t run = 0; /* bytes before text[i] that need no escape */
  size_t i = 0;
  for (; i < max_len && text[i] != '\0'; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c != '"' && c != '\\' && c >= 0x20 && c < 0x7f) {
      run++;
      continue;
    }
    pt__out_write(o, text + i - run, run);
    run = 0;
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      pt__out_write(o, esc, 2);
    } else {
      /* Bytes >= 0x7f too: our texts are ASCII; anything else is escaped. */
      snprintf(esc, sizeof esc, "\\u%04x", c);
      pt__out_write(o, esc, 6);
    }
  }
  pt__out_write(o, text + i - run, run);
  pt__out_write(o, "\"", 1);
}

/* ---- Fields, by type: one walker for every printer and exporter --------- */

void pt__appid_text(const uint8_t id[4], char *out, size_t out_size) {
  size_t len = 0;
  out[0] = '\0';
  for (size_t i = 0; i < 4 && len + 5 < out_size; i++) {
    if (id[i] >= 0x20 && id[i] < 0x7f && id[i] != '\\' && id[i] != '"') {
      out[len++] = (char)id[i];
      out[len] = '\0';
    } else {
      len += (size_t)snprintf(out + len, out_size - len, "\\x%02x", id[i]);
    }
  }
}

static uint64_t pt__uint_at(const void *p, size_t size) {
  uint64_t v = 0;
  memcpy(&v, p, size); /* little-endian host (see pt_dump.h) */
  return v;
}

static void pt__visit(pt__field_fn fn, void *ctx, const char *name, int tag,
                      const void *p, size_t size) {
  char text[128];
  switch (tag) {
  case 0: /* integers */
    fn(ctx, name, PT__FIELD_UINT, pt__uint_at(p, size), NULL);
    break;
  case 1: /* bool */
    fn(ctx, name, PT__FIELD_BOOL, *(const uint8_t *)p != 0, NULL);
    break;
  case 2: { /* endpoint */
    pt_endpoint ep;
    char addr[INET6_ADDRSTRLEN] = "";
    memcpy(&ep, p, sizeof ep);
    if (ep.family == 4 && inet_ntop(AF_INET, ep.addr, addr, sizeof addr)) {
      snprintf(text, sizeof text, "%s:%u", addr, ep.port);
    } else if (ep.family == 6 &&
               inet_ntop(AF_INET6, ep.addr, addr, sizeof addr)) {
      snprintf(text, sizeof text, "[%s]:%u", addr, ep.port);
    } else {
      snprintf(text, sizeof text, "none");
    }
    fn(ctx, name, PT__FIELD_TEXT, 0, text);
    break;
  }
  case 3: /* app id */
    pt__appid_text(p, text, sizeof text);
    fn(ctx, name, PT__FIELD_TEXT, 0, text);
    break;
  case 5: /* connection identity */
    snprintf(text, sizeof text, "%016llx",
             (unsigned long long)pt__uint_at(p, size));
    fn(ctx, name, PT__FIELD_TEXT, 0, text);
    break;
  default: /* bytes */
    pt__hex_encode(text, p, size < 63 ? size : 63);
    fn(ctx, name, PT__FIELD_TEXT, 0, text);
    break;
  }
}

#define PT__VTAG_U8 0
#define PT__VTAG_U16 0
#define PT__VTAG_U32 0
#define PT__VTAG_U64 0
#define PT__VTAG_BOOL 1
#define PT__VTAG_ENDPOINT 2
#define PT__VTAG_APPID 3
#define PT__VTAG_BYTES42 4
#define PT__VTAG_BYTES44 4
#define PT__VTAG_CONN 5
#define PT__VTAG_BOOL_X 1

void pt__event_fields(const pt_event *ev, pt__field_fn fn, void *ctx) {
  switch (ev->kind) {
#define PT__FIELD_VISIT(tag, fname)                                            \
  pt__visit(fn, ctx, #fname, PT__VTAG_##tag, &d->fname, sizeof d->fname);
#define PT__KIND_VISIT(KIND, id, name, desc)                                   \
  case id: {                                                                   \
    const struct pt_##name##_data *d = &ev->data.name;                         \
    PT__FIELDS_##name(PT__FIELD_VISIT) break;                                  \
  }
    PT_EVENT_TABLE(PT__KIND_VISIT)
#undef PT__KIND_VISIT
#undef PT__FIELD_VISIT
  default:
    break;
  }
}

#define PT__JSON_MAX_SAFE_INTEGER ((UINT64_C(1) << 53) - 1)

typedef struct pt__payload_text {
  pt__out *o;
  int json;
  int first;
} pt__payload_text;

/* A field as " name=value" or, in JSON, as "name":value. */
static void pt__payload_field(void *ctx, const char *name, pt__field_type type,
                              uint64_t u, const char *text) {
  pt__payload_text *p = ctx;
  pt__out *o = p->o;
  if (p->json) {
    pt__out_printf(o, "%s\"%s\":", p->first ? "" : ",", name);
  } else {
    pt__out_printf(o, " %s=", name);
  }
  p->first = 0;
  switch (type) {
  case PT__FIELD_UINT:
    /* JSON numbers beyond 2^53 lose precision in JavaScript: quote them. */
    pt__out_printf(
        o, p->json && u > PT__JSON_MAX_SAFE_INTEGER ? "\"%llu\"" : "%llu",
        (unsigned long long)u);
    break;
  case PT__FIELD_BOOL:
    pt__out_printf(o, "%s", u ? "true" : "false");
    break;
  case PT__FIELD_TEXT:
    if (p->json) {
      pt__out_json_string(o, text, SIZE_MAX);
    } else {
      pt__out_printf(o, "%s", text);
    }
    break;
  }
}

/* Every field of the payload, in table order; raw hex for unknown kinds. */
static void pt__text_payload(pt__out *o, const pt_event *ev, int json,
                             int first) {
  if (ev->kind == PT_EV_NONE || ev->kind >= PT_EV_KIND_LIMIT) {
    char hex[2 * sizeof ev->data.raw + 1];
    pt__hex_encode(hex, ev->data.raw, sizeof ev->data.raw);
    pt__out_printf(o, json ? "%s\"raw\":\"%s\"" : "%s raw=%s",
                   json && !first ? "," : "", hex);
    return;
  }
  pt__payload_text p = {o, json, first};
  pt__event_fields(ev, pt__payload_field, &p);
}

void pt__event_json_fields(pt__out *o, const pt_event *ev, int first) {
  pt__text_payload(o, ev, 1, first);
}

void pt__event_json_members(pt__out *o, const pt_event *ev, const char *command,
                            size_t command_max) {
  char trace_hex[33];
  pt_trace_id_to_hex(&ev->trace_id, trace_hex, sizeof trace_hex);
  pt__out_printf(o,
                 "\"timestamp_us\":%llu,\"kind\":\"%s\",\"trace_id\":\"%s\","
                 "\"sequence\":%u,\"sampled\":%s,\"debug\":%s,"
                 "\"app_initiated\":%s,\"peer_id\":",
                 (unsigned long long)ev->timestamp_us,
                 pt_event_kind_name(ev->kind), trace_hex, ev->sequence,
                 (ev->flags & PT_FLAG_SAMPLED) ? "true" : "false",
                 (ev->flags & PT_FLAG_DEBUG) ? "true" : "false",
                 (ev->flags & PT_FLAG_APP_INITIATED) ? "true" : "false");
  if (ev->flags & PT_EVENT_HAS_PEER) {
    char peer[2 * sizeof ev->peer_id + 1];
    pt__hex_encode(peer, ev->peer_id, sizeof ev->peer_id);
    pt__out_printf(o, "\"%s\"", peer);
  } else {
    pt__out_printf(o, "null");
  }
  pt__out_printf(o, ",\"data\":{");
  pt__text_payload(o, ev, 1, 1);
  if (command != NULL) {
    pt__out_printf(o, ",\"command\":");
    pt__out_json_string(o, command, command_max);
  }
  pt__out_printf(o, "}");
}

static int pt__text_result(const pt__out *o) {
  return o->len > (size_t)INT32_MAX ? INT32_MAX : (int)o->len;
}

int pt_event_format(const pt_event *ev, char *out, size_t out_size) {
  if (ev == NULL || (out == NULL && out_size > 0)) {
    return PT_ERR_INVALID;
  }
  pt__out o = {NULL, out, out_size, 0};
  if (out_size > 0) {
    out[0] = '\0';
  }
  pt__out_printf(&o, "%s", pt_event_kind_name(ev->kind));
  pt__text_payload(&o, ev, 0, 1);
  return pt__text_result(&o);
}

int pt__event_to_json_named(const pt_event *ev, const char *command,
                            size_t command_max, char *out, size_t out_size) {
  if (ev == NULL || (out == NULL && out_size > 0)) {
    return PT_ERR_INVALID;
  }
  pt__out o = {NULL, out, out_size, 0};
  if (out_size > 0) {
    out[0] = '\0';
  }
  pt__out_printf(&o, "{");
  pt__event_json_members(&o, ev, command, command_max);
  pt__out_printf(&o, "}");
  return pt__text_result(&o);
}

int pt_event_to_json(const pt_event *ev, char *out, size_t out_size) {
  return pt__event_to_json_named(ev, NULL, 0, out, out_size);
}

int pt_endpoint_from_sockaddr(const void *sa, size_t sa_len, pt_endpoint *out) {
  if (sa == NULL || out == NULL || sa_len < sizeof(sa_family_t)) {
    return PT_ERR_INVALID;
  }
  sa_family_t family;
  memcpy(&family, (const char *)sa + offsetof(struct sockaddr, sa_family),
         sizeof family);
  pt_endpoint ep;
  memset(&ep, 0, sizeof ep);
  if (family == AF_INET && sa_len >= sizeof(struct sockaddr_in)) {
    struct sockaddr_in in;
    memcpy(&in, sa, sizeof in);
    ep.family = 4;
    ep.port = ntohs(in.sin_port);
    memcpy(ep.addr, &in.sin_addr, 4);
  } else if (family == AF_INET6 && sa_len >= sizeof(struct sockaddr_in6)) {
    struct sockaddr_in6 in6;
    memcpy(&in6, sa, sizeof in6);
    ep.family = 6;
    ep.port = ntohs(in6.sin6_port);
    memcpy(ep.addr, &in6.sin6_addr, 16);
  } else {
    return PT_ERR_INVALID;
  }
  *out = ep;
  return PT_OK;
}

/* ---- Connection identity ------------------------------------------------ */

uint64_t pt_conn_id_from_cid(const uint8_t *cid, size_t len) {
  if (cid == NULL || len == 0) {
    return 0;
  }
  uint64_t h = 0xcbf29ce484222325u; /* FNV-1a 64 offset basis and prime */
  for (size_t i = 0; i < len; i++) {
    h = (h ^ cid[i]) * 0x100000001b3u;
  }
  return h != 0 ? h : 1;
}

/* Where a kind keeps its CONN field, from the event table; NULL if none. */
#define PT__CONN_AT(tag, fname) PT__CONN_AT_##tag(fname)
#define PT__CONN_AT_U8(fname)
#define PT__CONN_AT_U16(fname)
#define PT__CONN_AT_U32(fname)
#define PT__CONN_AT_U64(fname)
#define PT__CONN_AT_BOOL(fname)
#define PT__CONN_AT_BOOL_X(fname)
#define PT__CONN_AT_ENDPOINT(fname)
#define PT__CONN_AT_APPID(fname)
#define PT__CONN_AT_BYTES42(fname)
#define PT__CONN_AT_BYTES44(fname)
#define PT__CONN_AT_CONN(fname) return &d->fname;

static uint64_t *pt__conn_field(pt_event *ev) {
  switch (ev->kind) {
#define PT__KIND_CONN(KIND, id, name, desc)                                    \
  case id: {                                                                   \
    struct pt_##name##_data *d = &ev->data.name;                               \
    (void)d;                                                                   \
    PT__FIELDS_##name(PT__CONN_AT) break;                                      \
  }
    PT_EVENT_TABLE(PT__KIND_CONN)
#undef PT__KIND_CONN
  default:
    break;
  }
  return NULL;
}

uint64_t pt_event_conn(const pt_event *ev) {
  if (ev == NULL) {
    return 0;
  }
  uint64_t *at = pt__conn_field((pt_event *)ev); /* read only */
  return at != NULL ? *at : 0;
}

int pt_event_set_conn(pt_event *ev, uint64_t conn) {
  uint64_t *at = ev != NULL ? pt__conn_field(ev) : NULL;
  if (at == NULL) {
    return PT_ERR_INVALID;
  }
  *at = conn;
  return PT_OK;
}
