/* Internal to peertrace: users never include this file (peertrace.h does). */
/*
 * Generator machinery, part 2: what the macros of peertrace.h expand to.
 * The per-kind setters pt_event_set_<kind>() and emitters pt__emit_<kind>(),
 * generated from the event table, and the two internal write entry points
 * they call.  It is installed because the public macros expand to it.
 */
#ifndef PEERTRACE_DETAIL_PT__EMIT_H
#define PEERTRACE_DETAIL_PT__EMIT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <peertrace/pt_core.h>

#ifdef __cplusplus
extern "C" {
#endif

#if PT_TRACE

/* Copies at most dst_size bytes of untrusted src[0..len), zero-filling. */
static inline void pt__copy_bytes(uint8_t *dst, size_t dst_size,
                                  const void *src, size_t len) {
  size_t n = (src == NULL) ? 0 : (len < dst_size ? len : dst_size);
  if (n > 0) {
    memcpy(dst, src, n);
  }
  if (n < dst_size) {
    memset(dst + n, 0, dst_size - n);
  }
}

/*
 * pt_event_set_<kind>(ev, fields...): one setter per event kind, generated
 * from the event table, with the table's fields in order.  Integer fields
 * take uint64_t and are truncated to their width; BOOL takes int; ENDPOINT a
 * pt_endpoint; APPID a pointer to 4 bytes; BYTES<n> a pointer and a length
 * (at most n bytes are read).
 */
#define PT__PARAM_U8(name) , uint64_t name
#define PT__PARAM_U16(name) , uint64_t name
#define PT__PARAM_U32(name) , uint64_t name
#define PT__PARAM_U64(name) , uint64_t name
#define PT__PARAM_BOOL(name) , int name
#define PT__PARAM_ENDPOINT(name) , pt_endpoint name
#define PT__PARAM_APPID(name) , const void *name
#define PT__PARAM_BYTES42(name) , const void *name, size_t name##_len
#define PT__PARAM_BYTES44(name) , const void *name, size_t name##_len
#define PT__PARAM_CONN(name)
#define PT__PARAM_BOOL_X(name)
#define PT__PARAM(tag, name) PT__PARAM_##tag(name)

#define PT__ASSIGN_U8(name) d->name = (uint8_t)name;
#define PT__ASSIGN_U16(name) d->name = (uint16_t)name;
#define PT__ASSIGN_U32(name) d->name = (uint32_t)name;
#define PT__ASSIGN_U64(name) d->name = name;
#define PT__ASSIGN_BOOL(name) d->name = (uint8_t)(name != 0);
#define PT__ASSIGN_ENDPOINT(name) d->name = name;
#define PT__ASSIGN_APPID(name) pt__copy_bytes(d->name, 4, name, 4);
#define PT__ASSIGN_BYTES42(name)                                               \
  pt__copy_bytes(d->name, sizeof d->name, name, name##_len);
#define PT__ASSIGN_BYTES44(name) PT__ASSIGN_BYTES42(name)
#define PT__ASSIGN_CONN(name)
#define PT__ASSIGN_BOOL_X(name)
#define PT__ASSIGN(tag, name) PT__ASSIGN_##tag(name)

#define PT__SETTER(KIND, id, name, desc)                                       \
  static inline void pt_event_set_##name(                                      \
      pt_event *ev PT__FIELDS_##name(PT__PARAM)) {                             \
    struct pt_##name##_data *d = &ev->data.name;                               \
    ev->kind = (uint16_t)PT_EV_##KIND;                                         \
    PT__FIELDS_##name(PT__ASSIGN)                                              \
  }
PT_EVENT_TABLE(PT__SETTER)
#undef PT__SETTER

/*
 * Internal: records an event given as parts, so that the PT_EMIT macros can
 * assemble its 8-byte words in registers instead of building a pt_event on
 * the stack with narrow stores and reading it back (a store-forwarding stall
 * that doubles the cost of an event).  header = sequence | kind << 32 |
 * flags << 48; payload = the 64 payload bytes as 8 words.  Same guarantees
 * as pt_log_write, but the event is not checked: the macros generate only
 * known kinds and trace flags (pt__event_header), and this path is the one
 * measured to the instruction (BENCHMARKS.md).  Use the macros, not this
 * function.
 */
PT_API void pt__log_write_parts(pt_log *log, pt_trace_id trace_id,
                                const uint8_t *peer_id, uint64_t header,
                                const uint64_t *payload);
/*
 * Internal: the same for an event with no peer whose payload fits in its
 * first two words (packet_sent/received/lost, stream_opened, and
 * conn_established and app_end when they name no peer): the words travel in
 * registers and the library stores the other six as zeros.
 */
PT_API void pt__log_write_small(pt_log *log, pt_trace_id trace_id,
                                uint64_t header, uint64_t w0, uint64_t w1);

/* Puts an integer field at byte offset `offset` of the payload words. */
static inline void pt__put_uint(uint64_t *words, size_t offset,
                                uint64_t value) {
  words[offset >> 3] |= value << ((offset & 7u) * 8u);
}

#define PT__PUT_U8(name)                                                       \
  pt__put_uint(w, offsetof(pt__data, name), (uint8_t)name);
#define PT__PUT_U16(name)                                                      \
  pt__put_uint(w, offsetof(pt__data, name), (uint16_t)name);
#define PT__PUT_U32(name)                                                      \
  pt__put_uint(w, offsetof(pt__data, name), (uint32_t)name);
#define PT__PUT_U64(name) pt__put_uint(w, offsetof(pt__data, name), name);
#define PT__PUT_BOOL(name)                                                     \
  pt__put_uint(w, offsetof(pt__data, name), (uint64_t)(name != 0));
#define PT__PUT_ENDPOINT(name)                                                 \
  memcpy((unsigned char *)w + offsetof(pt__data, name), &name, sizeof name);
#define PT__PUT_APPID(name)                                                    \
  pt__copy_bytes((uint8_t *)w + offsetof(pt__data, name), 4, name, 4);
#define PT__PUT_BYTES42(name)                                                  \
  pt__copy_bytes((uint8_t *)w + offsetof(pt__data, name), 42, name, name##_len);
#define PT__PUT_BYTES44(name)                                                  \
  pt__copy_bytes((uint8_t *)w + offsetof(pt__data, name), 44, name, name##_len);
#define PT__PUT_CONN(name)
#define PT__PUT_BOOL_X(name)
#define PT__PUT(tag, name) PT__PUT_##tag(name)

/* The header word of an event: kind, and the trace flags it may carry. */
static inline uint64_t pt__event_header(unsigned kind, pt_trace_flags flags) {
  return (uint64_t)kind << 32 | (uint64_t)(flags & PT_TRACE_FLAGS_MASK) << 48;
}

/*
 * pt__emit_<kind>(log, trace_id, flags, peer_id, fields...): generated from
 * the event table; records one event of that kind.  Used by PT_EMIT (flags
 * 0, a constant: the header word stays an immediate).
 */
#define PT__EMITTER(KIND, id, name, desc)                                      \
  static inline void pt__emit_##name(                                          \
      pt_log *log, pt_trace_id trace_id, pt_trace_flags flags,                 \
      const uint8_t *peer_id PT__FIELDS_##name(PT__PARAM)) {                   \
    typedef struct pt_##name##_data pt__data;                                  \
    if (!PT_TRACE_SAMPLED(trace_id)) {                                         \
      return;                                                                  \
    }                                                                          \
    uint64_t w[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                  \
    PT__FIELDS_##name(PT__PUT);                                                \
    uint64_t header = pt__event_header(id, flags);                             \
    if (sizeof(struct pt__##name##_args) <= 16 && peer_id == NULL) {           \
      pt__log_write_small(log, trace_id, header, w[0], w[1]);                  \
    } else {                                                                   \
      pt__log_write_parts(log, trace_id, peer_id, header, w);                  \
    }                                                                          \
  }
PT_EVENT_TABLE(PT__EMITTER)
#undef PT__EMITTER

#endif /* PT_TRACE */

#ifdef __cplusplus
}
#endif

#endif /* PEERTRACE_DETAIL_PT__EMIT_H */
