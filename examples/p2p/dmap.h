/*
 * dmap - the DataMap chunk protocol of the P2P demo, kept minimal and in
 * one place so that it can be swapped for the shared app layer
 * (include/peertrace/pt_app.h) when that lands.
 *
 * Request  (big-endian integers):
 *   0      command: DMAP_STORE_CHUNK 0x01, DMAP_GET_CHUNK 0x02,
 *          DMAP_DELETE_CHUNK 0x03
 *   1      hops: nodes the request has passed so far (loop guard)
 *   2..33  chunk hash, 32 bytes (SHA-256 of the chunk)
 *   34..37 size: chunk length (STORE), 0 otherwise
 *   38..   the chunk (STORE only), exactly `size` bytes
 * Response:
 *   0      status: DMAP_OK, DMAP_NOT_FOUND, DMAP_BAD_REQUEST, DMAP_BAD_HASH,
 *          DMAP_FULL, DMAP_UNREACHABLE
 *   1      hops: nodes the request passed, counting the one that answered
 *   2..5   size of the chunk that follows (GET), 0 otherwise
 *   6..    the chunk
 * Decoders treat their input as untrusted: exact lengths, known commands.
 */
#ifndef DMAP_H
#define DMAP_H

#include <stddef.h>
#include <stdint.h>

#define DMAP_APP_ID "DMAP"
#define DMAP_STORE_CHUNK 0x01u
#define DMAP_GET_CHUNK 0x02u
#define DMAP_DELETE_CHUNK 0x03u

#define DMAP_OK 0u
#define DMAP_NOT_FOUND 1u
#define DMAP_BAD_REQUEST 2u
#define DMAP_BAD_HASH 3u
#define DMAP_FULL 4u
#define DMAP_UNREACHABLE 5u

#define DMAP_HASH_SIZE 32u
#define DMAP_REQUEST_HEADER 38u
#define DMAP_RESPONSE_HEADER 6u
#define DMAP_MAX_CHUNK (256u * 1024u)

typedef struct dmap_request {
  uint8_t cmd;
  uint8_t hops;
  uint8_t hash[DMAP_HASH_SIZE];
  uint32_t size;
  const uint8_t *data; /* STORE: size bytes; points into the decoded buffer */
} dmap_request;

typedef struct dmap_response {
  uint8_t status;
  uint8_t hops;
  uint32_t size;
  const uint8_t *data;
} dmap_response;

/* Encoders return the encoded length, or -1 if out is too small/invalid. */
int dmap_request_encode(const dmap_request *req, uint8_t *out, size_t cap);
int dmap_response_encode(const dmap_response *res, uint8_t *out, size_t cap);
/* Decoders return 0, or -1 for a malformed message. */
int dmap_request_decode(const uint8_t *in, size_t len, dmap_request *req);
int dmap_response_decode(const uint8_t *in, size_t len, dmap_response *res);

const char *dmap_cmd_name(unsigned cmd);
const char *dmap_status_name(unsigned status);

#endif /* DMAP_H */
