/*
 * dmap_wire - how the P2P demo's nodes frame DataMap requests between each
 * other.  The protocol itself (command codes, the app id "DMAP", the
 * payload layout and its trace descriptor) is the shared one of
 * examples/datamap/dmap.h; this adds what a network of nodes needs around
 * it: a hop count for forwarding, the chunk bytes, and a reply.
 *
 * Request (big-endian integers):
 *   0      command: DMAP_STORE_CHUNK 0x01, DMAP_GET_CHUNK 0x02,
 *          DMAP_DELETE_CHUNK 0x03
 *   1      hops: nodes the request has passed so far (loop guard)
 *   2..    the DMAP payload of examples/datamap/dmap.h:
 *   2..33    chunk hash, 32 bytes (SHA-256 of the chunk)
 *   34..37   size: chunk length (STORE), 0 otherwise
 *   38..   the chunk (STORE only), exactly `size` bytes
 * Reply:
 *   0      status: DMAP_STATUS_OK, _NOT_FOUND, _BAD_REQUEST, _BAD_HASH,
 *          _FULL, _UNREACHABLE
 *   1      hops: nodes the request passed, counting the one that answered
 *   2..5   size of the chunk that follows (GET), 0 otherwise
 *   6..    the chunk
 * Decoders treat their input as untrusted: exact lengths, known commands.
 */
#ifndef DMAP_WIRE_H
#define DMAP_WIRE_H

#include "dmap.h" /* examples/datamap: command codes, DMAP_APP_ID */

#include <stddef.h>
#include <stdint.h>

#define DMAP_STATUS_OK 0u
#define DMAP_STATUS_NOT_FOUND 1u
#define DMAP_STATUS_BAD_REQUEST 2u
#define DMAP_STATUS_BAD_HASH 3u
#define DMAP_STATUS_FULL 4u
#define DMAP_STATUS_UNREACHABLE 5u

/* Offset of the DMAP payload (examples/datamap/dmap.h) in a request. */
#define DMAP_MSG_PAYLOAD 2u
#define DMAP_MSG_HEADER 38u
#define DMAP_REPLY_HEADER 6u
#define DMAP_MAX_CHUNK (256u * 1024u)

typedef struct dmap_msg {
  uint8_t cmd;
  uint8_t hops;
  uint8_t hash[DMAP_HASH_SIZE];
  uint32_t size;
  const uint8_t *data; /* STORE: size bytes; points into the decoded buffer */
} dmap_msg;

typedef struct dmap_reply {
  uint8_t status;
  uint8_t hops;
  uint32_t size;
  const uint8_t *data;
} dmap_reply;

/* Encoders return the encoded length, or -1 if out is too small/invalid. */
int dmap_msg_encode(const dmap_msg *req, uint8_t *out, size_t cap);
int dmap_reply_encode(const dmap_reply *res, uint8_t *out, size_t cap);
/* Decoders return 0, or -1 for a malformed message. */
int dmap_msg_decode(const uint8_t *in, size_t len, dmap_msg *req);
int dmap_reply_decode(const uint8_t *in, size_t len, dmap_reply *res);

const char *dmap_cmd_name(unsigned cmd);
const char *dmap_status_name(unsigned status);

#endif /* DMAP_WIRE_H */
