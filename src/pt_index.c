/*
 * pt_index: allocation of the query indices and their building
 * (PT_TRACE_INDEX builds).  The query-side probes are inline in pt_index.h.
 */
#include "pt_index.h"

#include <stdlib.h>

#include "pt_hooks.h"
#include "pt_ring_read.h"

/* fork() calls since the first index was made (see pt__index_usable). */
static _Atomic uint64_t pt__forks;

/* Runs in the parent before every fork(): parent and child see the count. */
static void pt__index_count_fork(void) {
  /* relaxed: read by this process's queries after fork() returns. */
  atomic_fetch_add_explicit(&pt__forks, 1, memory_order_relaxed);
}

static pt__hook pt__index_hook = {.prepare = pt__index_count_fork};

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
         pt__round_up(chunks * sizeof(uint64_t)) +
         2 * pt__round_up(capacity * sizeof(uint16_t));
}

int pt__index_create(pt__index **out, uint64_t capacity, uint64_t chunk_size) {
  *out = NULL;
  pt__hook_add(&pt__index_hook);
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
  size_t built_bytes = pt__round_up(ix->chunk_count * sizeof(uint64_t));
  ix->built = aligned_alloc(PT__CACHE_LINE, built_bytes);
  if (ix->built == NULL) {
    goto fail_built;
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
  memset(ix->built, 0, built_bytes);
  memset(ix->trace_tags, 0, tag_bytes);
  memset(ix->peer_tags, 0, tag_bytes);
  *out = ix;
  return PT_OK;

fail_peer_tags:
  free(ix->trace_tags);
fail_trace_tags:
  free(ix->built);
fail_built:
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
  free(ix->built);
  free(ix->chunks);
  free(ix);
}

/* ---- Building a block's summary, by a query ----------------------------- */

/*
 * Indexes block `block` from its slots, as its ring chunk holds them in
 * the closed state `state`.  The caller owns the block's `built` word (it
 * is PT__BLOCK_BUILDING).  Relaxed stores: published by the release store
 * of `built` in pt__index_block_update.  Returns 1 if it read every event the
 * state says the chunk holds in this block, 0 if one could not be read
 * (being overwritten, or a corrupt file): then the block is read whole.
 */
static int pt__index_build(pt__index *ix, const pt_log *log, uint64_t block,
                           uint64_t state) {
  uint64_t filled = pt__state_filled(state);
  int complete = 1;
  uint64_t trace[PT__FILTER_WORDS] = {0};
  uint64_t peer[PT__FILTER_WORDS] = {0};
  uint64_t ts_min = UINT64_MAX;
  uint64_t ts_max = 0;
  uint64_t base = block << ix->chunk_shift;
  for (uint64_t i = base; i < base + ix->chunk_size; i++) {
    pt__record rec;
    const pt_event *ev = &rec.event;
    uint16_t trace_tag = 0;
    uint16_t peer_tag = 0;
    if (pt__ring_read(log, i, &rec)) {
      ts_min = ev->timestamp_us < ts_min ? ev->timestamp_us : ts_min;
      ts_max = ev->timestamp_us > ts_max ? ev->timestamp_us : ts_max;
      uint64_t h = pt__index_hash_trace_id(&ev->trace_id);
      trace[pt__filter_word(h)] |= pt__filter_bits(h);
      trace_tag = pt__filter_tag(h);
      if (ev->flags & PT_EVENT_HAS_PEER) {
        h = pt__index_hash_peer_id(ev->peer_id);
        peer[pt__filter_word(h)] |= pt__filter_bits(h);
        peer_tag = pt__filter_tag(h);
      }
    } else if ((i & (log->chunk_size - 1)) < filled) {
      complete = 0; /* an event the closed chunk holds, unreadable */
    }
    /* relaxed: see above.  A tag is only a hint; queries check the slot. */
    atomic_store_explicit(&ix->trace_tags[i], trace_tag, memory_order_relaxed);
    atomic_store_explicit(&ix->peer_tags[i], peer_tag, memory_order_relaxed);
  }
  pt__chunk_summary *sum = &ix->chunks[block];
  for (int w = 0; w < PT__FILTER_WORDS; w++) {
    /* relaxed: see above. */
    atomic_store_explicit(&sum->trace_filter[w], trace[w],
                          memory_order_relaxed);
    atomic_store_explicit(&sum->peer_filter[w], peer[w], memory_order_relaxed);
  }
  /* relaxed: see above.  An empty block has ts_min > ts_max: no window. */
  atomic_store_explicit(&sum->ts_min, ts_min, memory_order_relaxed);
  atomic_store_explicit(&sum->ts_max, ts_max, memory_order_relaxed);
  return complete;
}

/*
 * Why a PT__BLOCK_INDEXED answer is never stale and misses nothing.  Take an
 * event E published in the block before the query began and not
 * overwritten before it ended.  When the query reads the chunk's state word
 * S: if S is owned, the block is read whole (PT__BLOCK_SCAN).  If S is
 * closed, E is in it (a chunk is closed after its events are published,
 * with a release that our acquire of S pairs with), and the summary the
 * query uses was built for S, from slots read after S was seen; the build
 * is kept only if it read every one of the first filled(S) slots of the
 * chunk that lie in the block and S still held after it, so E went in.
 * Another query may rebuild the summary while this one reads it only after
 * seeing a state after S, i.e. after E's chunk was claimed again: then E is
 * overwritten (allowed to be missed), and events of the new lap were
 * published after this query read S, so after it began (allowed too).
 * Either way every candidate slot is read through the seqlock and checked
 * on its full key, so a mixed summary can cost reads, not wrong events.
 */
pt__block_view pt__index_block_update(pt__index *ix, const pt_log *log,
                                      uint64_t block, uint64_t seen,
                                      uint64_t state) {
  uint64_t chunk = (block << ix->chunk_shift) >> log->chunk_shift;
  _Atomic uint64_t *built = &ix->built[block];
  if (state == 0) {
    return PT__BLOCK_EMPTY; /* never claimed: no writer ever wrote it */
  }
  if (state & PT__STATE_OWNED) {
    return PT__BLOCK_SCAN; /* being written: the summary would lag */
  }
  /*
   * acquire on success: the previous builder's stores happen before ours,
   * so none of its older values can show through ours.  A block another
   * query is building is read whole by this one.
   */
  if (seen == PT__BLOCK_BUILDING ||
      !atomic_compare_exchange_strong_explicit(built, &seen, PT__BLOCK_BUILDING,
                                               memory_order_acquire,
                                               memory_order_relaxed)) {
    return PT__BLOCK_SCAN;
  }
  int complete = pt__index_build(ix, log, block, state);
  /* The chunk held still (a state word never repeats): the build is S's. */
  int held = complete && pt__log_chunk_state(log, chunk) == state;
  /* release: publishes the summary and tags to queries that acquire it. */
  atomic_store_explicit(built, held ? state : 0, memory_order_release);
  return held ? PT__BLOCK_INDEXED : PT__BLOCK_SCAN;
}
