/*
 * DataMap (DMAP): the example application protocol, a tiny
 * content-addressed chunk store, and how it is traced.
 *
 * Wire format of a request's payload (all of it comes from a remote peer and
 * is untrusted):
 *   STORE_CHUNK  0x01  chunk hash [32] | chunk size, u32 big-endian [4]
 *   GET_CHUNK    0x02  chunk hash [32]
 *   DELETE_CHUNK 0x03  chunk hash [32]
 * Extra bytes are ignored; shorter payloads are rejected (DMAP_ERR_SHORT).
 *
 * Trace data of a DMAP command (the 42 bytes of APP_COMMAND / APP_START):
 *   [0, 32)   chunk hash, as much of payload[0..32) as the payload holds
 *   [32, 36)  STORE_CHUNK only: the size field, payload[32..36), same rule
 *   [36, 40)  the payload length, u32 little-endian, saturating at 2^32-1
 *   [40, 42)  zero
 * Missing bytes stay zero: the length at [36, 40) tells a short payload from
 * a zero hash.  (An unchecked copy of payload[0..36) would read past a short
 * payload; this never reads past the payload, for any length.)
 */
#ifndef DMAP_H
#define DMAP_H

#include <peertrace/peertrace.h>

#include <stddef.h>
#include <stdint.h>

#include "dmap_commands.h" /* DMAP_APP_ID, the commands, their names */

#define DMAP_HASH_SIZE 32u
#define DMAP_STORE_PAYLOAD_SIZE 36u /* hash + u32 size */

/* Offsets in the trace data. */
#define DMAP_TRACE_HASH 0u
#define DMAP_TRACE_SIZE 32u
#define DMAP_TRACE_PAYLOAD_LEN 36u

#define DMAP_OK 0
#define DMAP_ERR_SHORT -1     /* payload shorter than the command needs */
#define DMAP_ERR_NOT_FOUND -2 /* no chunk with that hash */
#define DMAP_ERR_FULL -3      /* the store has no room left */
#define DMAP_ERR_COMMAND -4   /* unknown command */

#if PT_TRACE_APP
/* The protocol descriptor to register (static storage: see pt_app.h). */
extern const pt_app_protocol dmap_protocol;
#endif

#define DMAP_STORE_CAPACITY 64u

typedef struct dmap_chunk {
  uint8_t hash[DMAP_HASH_SIZE];
  uint32_t size;
  int used;
} dmap_chunk;

/* A chunk store serving DMAP requests; trace members exist only in trace
 * builds. */
typedef struct dmap_store {
  dmap_chunk chunks[DMAP_STORE_CAPACITY];
  PT_TRACE_FIELD(pt_log *log;)
  PT_APP_FIELD(const pt_app_registry *registry;)
} dmap_store;

/* One request as received: command, untrusted payload, trace context. */
typedef struct dmap_request {
  uint16_t cmd;
  const uint8_t *payload;
  size_t len;
  /* The request's trace context: its id and trace flags (as on the wire). */
  PT_TRACE_FIELD(pt_trace_id trace_id; pt_trace_flags flags;)
} dmap_request;

/* dmap_store_init: an empty store (trace members left to the caller). */
void dmap_store_init(dmap_store *store);

/*
 * dmap_handle: serves one request.  Returns DMAP_OK or a DMAP_ERR_* code.
 * In PT_TRACE_APP builds the request is recorded as an APP_START / APP_END
 * pair sharing req->trace_id and carrying req->flags; APP_END says whether
 * it succeeded and how long it took.
 */
int dmap_handle(dmap_store *store, const dmap_request *req);

#endif /* DMAP_H */
