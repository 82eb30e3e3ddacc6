/*
 * peertrace - trace context on the wire.
 *
 * A message between nodes starts with a small header that carries the trace
 * id and the trace flags, so that the receiving node records its events
 * under the sender's trace.  The header exists only in trace builds: in a
 * release build PT_WIRE_HEADER_SIZE is 0, pt_wire_header_encode writes
 * nothing and pt_wire_header_decode consumes nothing, so a release node sends
 * exactly the bytes of its application message and not one more.
 *
 * Because the two builds put different bytes on the wire, they must never
 * talk to each other: use PT_WIRE_ALPN (different in the two builds) as the
 * TLS ALPN of the connection, and the handshake of a mismatched pair fails
 * with TLS alert no_application_protocol (120).
 *
 * Layout (trace builds), 19 bytes:
 *   0      magic 0x54 ('T')
 *   1      version 1
 *   2..17  trace id, 16 bytes
 *   18     trace flags; only PT_WIRE_KNOWN_FLAGS may be set
 *
 * Incoming headers are untrusted: the decoder reads only within the given
 * length and rejects a short buffer, a wrong magic or version, and unknown
 * flag bits with PT_ERR_PARSE.
 *
 * Everything here is static inline: nothing needs linking, in either build.
 */
#ifndef PEERTRACE_PT_WIRE_H
#define PEERTRACE_PT_WIRE_H

#include <peertrace/peertrace.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ALPN protocol ids; a node offers and accepts only its own build's id. */
#define PT_WIRE_ALPN_TRACE "peertrace-trace/1"
#define PT_WIRE_ALPN_RELEASE "peertrace/1"

#define PT_WIRE_MAGIC 0x54u
#define PT_WIRE_VERSION 1u
#define PT_WIRE_KNOWN_FLAGS                                                    \
  (PT_FLAG_SAMPLED | PT_FLAG_DEBUG | PT_FLAG_APP_INITIATED)

#if PT_TRACE
#define PT_WIRE_ALPN PT_WIRE_ALPN_TRACE
#define PT_WIRE_HEADER_SIZE 19u
#else
#define PT_WIRE_ALPN PT_WIRE_ALPN_RELEASE
#define PT_WIRE_HEADER_SIZE 0u
#endif

/*
 * pt_wire_header_encode: writes the header for h into out[0..out_size).
 * Returns the number of bytes written (PT_WIRE_HEADER_SIZE: 19 in trace
 * builds, 0 in release builds, where h may be NULL); PT_ERR_INVALID if
 * (trace builds) h or out is NULL or h->flags has unknown bits;
 * PT_ERR_BUFFER if out_size < PT_WIRE_HEADER_SIZE.
 * Thread-safety: touches only its arguments.
 */
static inline int pt_wire_header_encode(const pt_msg_header *h, uint8_t *out,
                                        size_t out_size) {
#if PT_TRACE
  if (h == NULL || out == NULL || (h->flags & ~PT_WIRE_KNOWN_FLAGS) != 0) {
    return PT_ERR_INVALID;
  }
  if (out_size < PT_WIRE_HEADER_SIZE) {
    return PT_ERR_BUFFER;
  }
  out[0] = (uint8_t)PT_WIRE_MAGIC;
  out[1] = (uint8_t)PT_WIRE_VERSION;
  memcpy(out + 2, h->trace_id.bytes, 16);
  out[18] = h->flags;
  return (int)PT_WIRE_HEADER_SIZE;
#else
  (void)h;
  (void)out;
  (void)out_size;
  return 0;
#endif
}

/*
 * pt_wire_header_decode: parses a header from the untrusted in[0..len).
 * Returns the number of bytes consumed (PT_WIRE_HEADER_SIZE) and fills *h;
 * PT_ERR_INVALID if (trace builds) in or h is NULL; PT_ERR_PARSE if len is
 * shorter than the header, the magic or version is wrong or unknown flag
 * bits are set (*h is then untouched).  Release builds: returns 0 and, if h
 * is not NULL, zeroes it.
 * Thread-safety: touches only its arguments.
 */
static inline int pt_wire_header_decode(const uint8_t *in, size_t len,
                                        pt_msg_header *h) {
#if PT_TRACE
  if (in == NULL || h == NULL) {
    return PT_ERR_INVALID;
  }
  if (len < PT_WIRE_HEADER_SIZE || in[0] != PT_WIRE_MAGIC ||
      in[1] != PT_WIRE_VERSION || (in[18] & ~PT_WIRE_KNOWN_FLAGS) != 0) {
    return PT_ERR_PARSE;
  }
  memcpy(h->trace_id.bytes, in + 2, 16);
  h->flags = in[18];
  return (int)PT_WIRE_HEADER_SIZE;
#else
  (void)in;
  (void)len;
  if (h != NULL) {
    memset(h, 0, sizeof *h);
  }
  return 0;
#endif
}

#ifdef __cplusplus
}
#endif

#endif /* PEERTRACE_PT_WIRE_H */
