/*
 * dmap_store: a fixed-size chunk store serving DMAP requests, traced with
 * PT_APP_START / PT_APP_END (which vanish unless PT_TRACE_APP is on).
 */
#include "dmap.h"

#include <string.h>

void dmap_store_init(dmap_store *store) {
  memset(store->chunks, 0, sizeof store->chunks);
}

static dmap_chunk *dmap_find(dmap_store *store, const uint8_t *hash) {
  for (size_t i = 0; i < DMAP_STORE_CAPACITY; i++) {
    dmap_chunk *c = &store->chunks[i];
    if (c->used && memcmp(c->hash, hash, DMAP_HASH_SIZE) == 0) {
      return c;
    }
  }
  return NULL;
}

static int dmap_store_chunk(dmap_store *store, const dmap_request *req) {
  if (req->payload == NULL || req->len < DMAP_STORE_PAYLOAD_SIZE) {
    return DMAP_ERR_SHORT;
  }
  const uint8_t *size = req->payload + DMAP_HASH_SIZE;
  dmap_chunk *c = dmap_find(store, req->payload);
  for (size_t i = 0; c == NULL && i < DMAP_STORE_CAPACITY; i++) {
    if (!store->chunks[i].used) {
      c = &store->chunks[i];
    }
  }
  if (c == NULL) {
    return DMAP_ERR_FULL;
  }
  memcpy(c->hash, req->payload, DMAP_HASH_SIZE);
  c->size = (uint32_t)size[0] << 24 | (uint32_t)size[1] << 16 |
            (uint32_t)size[2] << 8 | (uint32_t)size[3];
  c->used = 1;
  return DMAP_OK;
}

static int dmap_dispatch(dmap_store *store, const dmap_request *req) {
  if (req->cmd != DMAP_STORE_CHUNK && req->cmd != DMAP_GET_CHUNK &&
      req->cmd != DMAP_DELETE_CHUNK) {
    return DMAP_ERR_COMMAND;
  }
  if (req->cmd == DMAP_STORE_CHUNK) {
    return dmap_store_chunk(store, req);
  }
  if (req->payload == NULL || req->len < DMAP_HASH_SIZE) {
    return DMAP_ERR_SHORT;
  }
  dmap_chunk *c = dmap_find(store, req->payload);
  if (c == NULL) {
    return DMAP_ERR_NOT_FOUND;
  }
  if (req->cmd == DMAP_DELETE_CHUNK) {
    c->used = 0;
  }
  return DMAP_OK;
}

int dmap_handle(dmap_store *store, const dmap_request *req) {
  PT_APP_FIELD(pt_app_span span;)
  PT_APP_START_FLAGS(store->log, store->registry, span, req->trace_id,
                     req->flags, DMAP_APP_ID, req->cmd, req->payload, req->len);
  int rv = dmap_dispatch(store, req);
  PT_APP_END(store->log, span, rv == DMAP_OK);
  return rv;
}
