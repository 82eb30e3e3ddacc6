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

/* An app id as text, escaped as above; out_size >= 17 holds any id. */
void pt__appid_text(const uint8_t id[4], char *out, size_t out_size);

#endif /* PT_EVENT_H */
