/*
 * pt_index: allocation of the query indices (PT_TRACE_INDEX builds).  The
 * write hook and the query-side probes are inline in pt_index.h.
 */
#include "pt_index.h"

#include <pthread.h>
#include <stdlib.h>

/* fork() calls since the first index was made (see pt__index_usable). */
static _Atomic uint64_t pt__forks;
static pthread_once_t pt__fork_hook_once = PTHREAD_ONCE_INIT;

/* Runs in the parent before every fork(): parent and child see the count. */
static void pt__index_count_fork(void) {
  /* relaxed: read by this process's queries after fork() returns. */
  atomic_fetch_add_explicit(&pt__forks, 1, memory_order_relaxed);
}

static void pt__index_register_fork_hook(void) {
  pthread_atfork(pt__index_count_fork, NULL, NULL);
}

int pt__index_usable(const pt__index *ix, int shared) {
  /* relaxed: a fork() is ordered before the queries that follow it. */
  return !shared || atomic_load_explicit(&pt__forks, memory_order_relaxed) ==
                        ix->forks_at_create;
}

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
  pthread_once(&pt__fork_hook_once, pt__index_register_fork_hook);
  pt__index *ix = calloc(1, sizeof *ix);
  if (ix == NULL) {
    goto fail_index;
  }
  /* relaxed: as in pt__index_usable. */
  ix->forks_at_create = atomic_load_explicit(&pt__forks, memory_order_relaxed);
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
