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

/* ---- An snprintf-like appender that remembers the length it needed ------ */

typedef struct pt__text {
  char *out;
  size_t cap;
  size_t len; /* length of the full text, even past cap */
} pt__text;

__attribute__((format(printf, 2, 3))) static void
pt__text_printf(pt__text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *dst = t->len < t->cap ? t->out + t->len : NULL;
  size_t room = t->len < t->cap ? t->cap - t->len : 0;
  int n = vsnprintf(dst, room, fmt, ap);
  va_end(ap);
  if (n > 0) {
    t->len += (size_t)n;
  }
}

static void pt__text_hex(pt__text *t, const uint8_t *bytes, size_t n) {
  for (size_t i = 0; i < n; i++) {
    pt__text_printf(t, "%02x", bytes[i]);
  }
}

/* Text of an app id: printable ASCII as is, other bytes escaped. */
static void pt__text_appid(pt__text *t, const uint8_t *id, int json) {
  for (size_t i = 0; i < 4; i++) {
    uint8_t c = id[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      pt__text_printf(t, "%c", c);
    } else if (json) {
      pt__text_printf(t, "\\u%04x", c);
    } else {
      pt__text_printf(t, "\\x%02x", c);
    }
  }
}

static void pt__text_endpoint(pt__text *t, const pt_endpoint *ep) {
  char addr[INET6_ADDRSTRLEN] = "-";
  if (ep->family == 4) {
    inet_ntop(AF_INET, ep->addr, addr, sizeof addr);
    pt__text_printf(t, "%s:%u", addr, ep->port);
  } else if (ep->family == 6) {
    inet_ntop(AF_INET6, ep->addr, addr, sizeof addr);
    pt__text_printf(t, "[%s]:%u", addr, ep->port);
  } else {
    pt__text_printf(t, "none");
  }
}

/* ---- Fields, by type tag ------------------------------------------------- */

enum pt__tag {
  PT__TAG_U8,
  PT__TAG_U16,
  PT__TAG_U32,
  PT__TAG_U64,
  PT__TAG_BOOL,
  PT__TAG_ENDPOINT,
  PT__TAG_APPID,
  PT__TAG_BYTES42,
  PT__TAG_BYTES44
};

#define PT__JSON_MAX_SAFE_INTEGER ((UINT64_C(1) << 53) - 1)

static uint64_t pt__field_uint(const void *p, size_t size) {
  uint8_t u8;
  uint16_t u16;
  uint32_t u32;
  uint64_t u64 = 0;
  switch (size) {
  case 1:
    memcpy(&u8, p, 1);
    return u8;
  case 2:
    memcpy(&u16, p, 2);
    return u16;
  case 4:
    memcpy(&u32, p, 4);
    return u32;
  default:
    memcpy(&u64, p, 8);
    return u64;
  }
}

static void pt__text_field(pt__text *t, int json, int first, enum pt__tag tag,
                           const char *name, const void *p, size_t size) {
  if (json) {
    pt__text_printf(t, "%s\"%s\":", first ? "" : ",", name);
  } else {
    pt__text_printf(t, " %s=", name);
  }
  switch (tag) {
  case PT__TAG_U8:
  case PT__TAG_U16:
  case PT__TAG_U32:
  case PT__TAG_U64: {
    uint64_t value = pt__field_uint(p, size);
    /* JSON numbers beyond 2^53 lose precision in JavaScript: quote them. */
    int quote = json && value > PT__JSON_MAX_SAFE_INTEGER;
    pt__text_printf(t, quote ? "\"%llu\"" : "%llu", (unsigned long long)value);
    break;
  }
  case PT__TAG_BOOL:
    pt__text_printf(t, "%s", *(const uint8_t *)p ? "true" : "false");
    break;
  case PT__TAG_ENDPOINT: {
    pt_endpoint ep;
    memcpy(&ep, p, sizeof ep);
    pt__text_printf(t, "%s", json ? "\"" : "");
    pt__text_endpoint(t, &ep);
    pt__text_printf(t, "%s", json ? "\"" : "");
    break;
  }
  case PT__TAG_APPID:
    pt__text_printf(t, "%s", json ? "\"" : "");
    pt__text_appid(t, p, json);
    pt__text_printf(t, "%s", json ? "\"" : "");
    break;
  case PT__TAG_BYTES42:
  case PT__TAG_BYTES44:
    pt__text_printf(t, "%s", json ? "\"" : "");
    pt__text_hex(t, p, size);
    pt__text_printf(t, "%s", json ? "\"" : "");
    break;
  }
}

/* Every field of the payload, in table order. */
static void pt__text_payload(pt__text *t, const pt_event *ev, int json) {
  int first = 1;
  switch (ev->kind) {
#define PT__FIELD_TEXT(tag, fname)                                             \
  pt__text_field(t, json, first, PT__TAG_##tag, #fname, &d->fname,             \
                 sizeof d->fname);                                             \
  first = 0;
#define PT__PAYLOAD_TEXT(KIND, id, name, desc)                                 \
  case id: {                                                                   \
    const struct pt_##name##_data *d = &ev->data.name;                         \
    PT__FIELDS_##name(PT__FIELD_TEXT) break;                                   \
  }
    PT_EVENT_TABLE(PT__PAYLOAD_TEXT)
#undef PT__PAYLOAD_TEXT
#undef PT__FIELD_TEXT
  default:
    pt__text_printf(t, json ? "\"raw\":\"" : " raw=");
    pt__text_hex(t, ev->data.raw, sizeof ev->data.raw);
    pt__text_printf(t, json ? "\"" : "");
    break;
  }
  (void)first;
}

static int pt__text_result(const pt__text *t) {
  return t->len > (size_t)INT32_MAX ? INT32_MAX : (int)t->len;
}

int pt_event_format(const pt_event *ev, char *out, size_t out_size) {
  if (ev == NULL || (out == NULL && out_size > 0)) {
    return PT_ERR_INVALID;
  }
  pt__text t = {out, out_size, 0};
  if (out_size > 0) {
    out[0] = '\0';
  }
  pt__text_printf(&t, "%s", pt_event_kind_name(ev->kind));
  pt__text_payload(&t, ev, 0);
  return pt__text_result(&t);
}

int pt_event_to_json(const pt_event *ev, char *out, size_t out_size) {
  if (ev == NULL || (out == NULL && out_size > 0)) {
    return PT_ERR_INVALID;
  }
  pt__text t = {out, out_size, 0};
  if (out_size > 0) {
    out[0] = '\0';
  }
  char trace_hex[33];
  pt_trace_id_to_hex(&ev->trace_id, trace_hex, sizeof trace_hex);
  pt__text_printf(&t,
                  "{\"timestamp_us\":%llu,\"kind\":\"%s\",\"trace_id\":\"%s\","
                  "\"sequence\":%u,\"sampled\":%s,\"debug\":%s,"
                  "\"app_initiated\":%s,\"peer_id\":",
                  (unsigned long long)ev->timestamp_us,
                  pt_event_kind_name(ev->kind), trace_hex, ev->sequence,
                  (ev->flags & PT_FLAG_SAMPLED) ? "true" : "false",
                  (ev->flags & PT_FLAG_DEBUG) ? "true" : "false",
                  (ev->flags & PT_FLAG_APP_INITIATED) ? "true" : "false");
  if (ev->flags & PT_EVENT_HAS_PEER) {
    pt__text_printf(&t, "\"");
    pt__text_hex(&t, ev->peer_id, sizeof ev->peer_id);
    pt__text_printf(&t, "\"");
  } else {
    pt__text_printf(&t, "null");
  }
  pt__text_printf(&t, ",\"data\":{");
  pt__text_payload(&t, ev, 1);
  pt__text_printf(&t, "}}");
  return pt__text_result(&t);
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
