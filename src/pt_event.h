/*
 * pt_event (internal view): one walker over an event's payload fields, from
 * the event table, shared by the text and JSON printers (pt_event.c) and by
 * the exporters (qlog, OTLP, ...), so each field type is rendered in one
 * place.
 */
#ifndef PT_EVENT_H
#define PT_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pt_common.h"

typedef enum pt__field_type {
  PT__FIELD_UINT, /* u: the value */
  PT__FIELD_BOOL, /* u: 0 or 1 */
  PT__FIELD_TEXT  /* text: endpoint, app id or hex bytes */
} pt__field_type;

typedef void (*pt__field_fn)(void *ctx, const char *name, pt__field_type type,
                             uint64_t u, const char *text);

/*
 * Calls fn once per payload field of the event's kind, in table order
 * (nothing for an unknown kind).  Texts: an endpoint as "1.2.3.4:5",
 * "[::1]:5" or "none"; an app id as its 4 characters, a byte that is not
 * printable ASCII (or is '"' or '\\') as \xNN; bytes as lowercase hex.
 */
void pt__event_fields(const pt_event *ev, pt__field_fn fn, void *ctx);

/*
 * What every recorded event must be (pt_log_write checks it, a dump save
 * leaves out and a dump loader rejects what is not): a known kind, no flag
 * bits beyond the trace flags and PT_EVENT_HAS_PEER, a zero reserved byte,
 * and an all-zero peer id unless PT_EVENT_HAS_PEER says there is one.
 * pt__event_valid is the cheap test (the write path's); pt__event_check
 * also says why not, in why[0..why_size) (why may be NULL).
 */
#define PT__EVENT_KNOWN_FLAGS (PT_TRACE_FLAGS_MASK | PT_EVENT_HAS_PEER)

static inline int pt__event_valid(const pt_event *ev) {
  uint64_t peer[4];
  memcpy(peer, ev->peer_id, sizeof peer);
  return ev->kind != PT_EV_NONE && ev->kind < PT_EV_KIND_LIMIT &&
         (ev->flags & ~PT__EVENT_KNOWN_FLAGS) == 0 && ev->reserved == 0 &&
         ((ev->flags & PT_EVENT_HAS_PEER) ||
          (peer[0] | peer[1] | peer[2] | peer[3]) == 0);
}

int pt__event_check(const pt_event *ev, char *why, size_t why_size);

/* An app id as text, escaped as above; out_size >= 17 holds any id. */
void pt__appid_text(const uint8_t id[4], char *out, size_t out_size);

#endif /* PT_EVENT_H */
