/*
 * pt_index: allocation of the query indices (PT_TRACE_INDEX builds).  The
 * write hook and the query-side probes are inline in pt_index.h.
 */
#include "pt_index.h"

#include <stdlib.h>

static uint64_t pt__round_up(uint64_t bytes) {
  return (bytes + PT__CACHE_LINE - 1) & ~(uint64_t)(PT__CACHE_LINE - 1);
}

uint64_t pt__index_memory(uint64_t capacity, uint64_t chunk_size) {
  uint64_t chunks = capacity / chunk_size;
  return sizeof(pt__index) + chunks * sizeof(pt__chunk_summary) +
         2 * pt__round_up(capacity * sizeof(uint16_t));
}

int pt__index_create(pt__index **out, uint64_t capacity, uint64_t chunk_size) {
  *out = NULL;
  pt__index *ix = calloc(1, sizeof *ix);
  if (ix == NULL) {
    goto fail_index;
  }
  ix->capacity = capacity;
  ix->chunk_size = chunk_size;
  ix->chunk_count = capacity / chunk_size;
  while (((uint64_t)1 << ix->chunk_shift) < chunk_size) {
    ix->chunk_shift++;
  }
  size_t summary_bytes = ix->chunk_count * sizeof(pt__chunk_summary);
  ix->chunks = aligned_alloc(PT__CACHE_LINE, summary_bytes);
  if (ix->chunks == NULL) {
    goto fail_chunks;
  }
  size_t tag_bytes = pt__round_up(capacity * sizeof(uint16_t));
  ix->trace_tags = aligned_alloc(PT__CACHE_LINE, tag_bytes);
  if (ix->trace_tags == NULL) {
    goto fail_trace_tags;
  }
  ix->peer_tags = aligned_alloc(PT__CACHE_LINE, tag_bytes);
  if (ix->peer_tags == NULL) {
    goto fail_peer_tags;
  }
  /* Touch every page now, as the ring does: no page faults on writes. */
  memset(ix->chunks, 0, summary_bytes);
  memset(ix->trace_tags, 0, tag_bytes);
  memset(ix->peer_tags, 0, tag_bytes);
  *out = ix;
  return PT_OK;

fail_peer_tags:
  free(ix->trace_tags);
fail_trace_tags:
  free(ix->chunks);
fail_chunks:
  free(ix);
fail_index:
  return PT_ERR_NOMEM;
}

void pt__index_destroy(pt__index *ix) {
  if (ix == NULL) {
    return;
  }
  free(ix->peer_tags);
  free(ix->trace_tags);
  free(ix->chunks);
  free(ix);
}
