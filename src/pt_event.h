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
#include <stdio.h>
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
 * Where the printers and exporters write: a FILE (fp != NULL; its errors
 * stay in the stream for ferror), or buf[0..cap), which keeps what fits,
 * NUL-terminated, as snprintf does.  len counts the full text either way.
 */
typedef struct pt__out {
  FILE *fp;
  char *buf;
  size_t cap;
  size_t len;
} pt__out;

void pt__out_write(pt__out *o, const char *text, size_t n);
__attribute__((format(printf, 2, 3))) void pt__out_printf(pt__out *o,
                                                          const char *fmt, ...);

/*
 * The one JSON string escaper: text (its first max_len bytes at most) as a
 * JSON string literal, quotes included; '"' and '\\' escaped, other bytes
 * below 0x20 or from 0x7f on as \u00NN (our texts are ASCII).
 */
void pt__out_json_string(pt__out *o, const char *text, size_t max_len);

/*
 * An event as JSON, from the event table: pt__event_json_members writes the
 * members of pt_event_to_json's object without its braces ("timestamp_us"
 * .. "data":{...}), with command (if not NULL; at most command_max bytes)
 * as data's last member "command".  pt__event_json_fields writes only the
 * payload's members, as in "data" ("raw" hex for an unknown kind), the
 * first after a comma unless `first`.  pt__event_to_json_named is
 * pt_event_to_json with that command.
 */
void pt__event_json_members(pt__out *o, const pt_event *ev, const char *command,
                            size_t command_max);
void pt__event_json_fields(pt__out *o, const pt_event *ev, int first);
int pt__event_to_json_named(const pt_event *ev, const char *command,
                            size_t command_max, char *out, size_t out_size);

/*
 * What every recorded event must be (pt_log_write checks it, a dump save
 * leaves out and a dump loader rejects what is not): a known kind, no flag
 * bits beyond the trace flags and PT_EVENT_HAS_PEER, a zero reserved byte,
 * and an all-zero peer id unless PT_EVENT_HAS_PEER says there is one.
 * pt__event_words_valid is the test (the write path's, on the words it
 * holds), pt__event_valid the same on a pt_event (the save's), and
 * pt__event_check also says why not, in why[0..why_size) (why may be NULL;
 * the loader's).  Returns 1 if valid, else 0.
 */
#define PT__EVENT_KNOWN_FLAGS (PT_TRACE_FLAGS_MASK | PT_EVENT_HAS_PEER)

/*
 * The test on an event's words as the write path holds them: header is
 * bytes 56..63 (sequence | kind << 32 | flags << 48 | reserved << 56, on
 * this little-endian host), peer_id its 32 peer bytes.
 */
static inline int pt__event_words_valid(uint64_t header, const void *peer_id) {
  unsigned kind = (unsigned)(header >> 32) & 0xffffu;
  unsigned bits = (unsigned)(header >> 48); /* flags | reserved << 8 */
  if (kind - 1u >= PT_EV_KIND_LIMIT - 1u ||
      (bits & ~PT__EVENT_KNOWN_FLAGS) != 0) {
    return 0;
  }
  if (bits & PT_EVENT_HAS_PEER) {
    return 1;
  }
  /* Four loads, straight: gcc -O2 copies an array through the stack and
   * does not unroll a loop. */
  const unsigned char *p = (const unsigned char *)peer_id;
  uint64_t w0, w1, w2, w3;
  memcpy(&w0, p, 8);
  memcpy(&w1, p + 8, 8);
  memcpy(&w2, p + 16, 8);
  memcpy(&w3, p + 24, 8);
  return (w0 | w1 | w2 | w3) == 0;
}

static inline int pt__event_valid(const pt_event *ev) {
  uint64_t header;
  memcpy(&header, &ev->sequence, sizeof header);
  return pt__event_words_valid(header, ev->peer_id);
}

int pt__event_check(const pt_event *ev, char *why, size_t why_size);

/* An app id as text, escaped as above; out_size >= 17 holds any id. */
void pt__appid_text(const uint8_t id[4], char *out, size_t out_size);

#endif /* PT_EVENT_H */
