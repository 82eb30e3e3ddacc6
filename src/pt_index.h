/*
 * pt_index: query indices of a log (PT_TRACE_INDEX builds only).
 *
 * One summary per block of at most 64 slots (a block lies inside one ring
 * chunk), plus one small tag per slot:
 *   trace_filter  512-bit bloom filter of the trace ids of the block's events
 *                 (3 bits in one 64-bit word per id)
 *   peer_filter   the same for peer ids (events with PT_EVENT_HAS_PEER)
 *   ts_min/ts_max the smallest and largest timestamp of the block's events
 *   built         which closed state of the block's ring chunk they describe
 *                 (in an array of its own)
 * Per slot: a 16-bit tag of the trace id hash and one of the peer id hash.
 *
 * Writers never touch any of it: the write path costs the same with or
 * without an index.  Queries build a block's summary and tags, in one pass
 * over its slots, the first time they meet the block's ring chunk closed
 * in a state it was not indexed for (pt__index_block_view), and read the
 * blocks of open chunks whole.  Once indexed, a block stays indexed until
 * its chunk is claimed again, which changes the state word.
 *
 * Never stale: an index only says where an event *may* be.  A query reads
 * every candidate slot through the seqlock (pt__log_read_slot) and compares
 * the full key, so a stale or colliding entry costs a slot read and never
 * yields a wrong event.  Nothing is ever left out of the index (there is no
 * bucket to overflow): saturated filters and colliding tags only make a
 * query read more slots, up to a full scan.
 */
#ifndef PT_INDEX_H
#define PT_INDEX_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "pt_common.h"
#include "pt_ring.h"

#define PT__FILTER_WORDS 8

typedef struct pt__chunk_summary {
  _Alignas(PT__CACHE_LINE) _Atomic uint64_t trace_filter[PT__FILTER_WORDS];
  _Alignas(PT__CACHE_LINE) _Atomic uint64_t peer_filter[PT__FILTER_WORDS];
  _Alignas(PT__CACHE_LINE) _Atomic uint64_t ts_min;
  _Atomic uint64_t ts_max;
} pt__chunk_summary;

/* Never a closed state word (those have PT__STATE_OWNED clear). */
#define PT__BLOCK_BUILDING UINT64_C(1)

typedef struct pt__index {
  uint64_t forks_at_create; /* pt_index.c's fork count when created */
  uint64_t capacity;
  uint64_t chunk_size;  /* slots per block: the log's chunk, at most 64 */
  uint64_t chunk_count; /* blocks */
  unsigned chunk_shift;
  pt__chunk_summary *chunks; /* chunk_count summaries */
  /*
   * By block: the ring chunk state word (a closed one) its summary and tags
   * were built for, PT__BLOCK_BUILDING while a query builds them, 0: none
   * yet.  Dense (8 blocks a cache line): every indexed query reads them all.
   */
  _Atomic uint64_t *built;
  _Atomic uint16_t *trace_tags; /* capacity tags, by slot */
  _Atomic uint16_t *peer_tags;  /* capacity tags, by slot */
} pt__index;

/*
 * Allocates an index for a ring of `capacity` slots in chunks of
 * `chunk_size` (both powers of two).  Returns PT_OK or PT_ERR_NOMEM.
 */
int pt__index_create(pt__index **out, uint64_t capacity, uint64_t chunk_size);
void pt__index_destroy(pt__index *ix);
/* Bytes of memory an index for this ring uses (for docs and tests). */
uint64_t pt__index_memory(uint64_t capacity, uint64_t chunk_size);

/*
 * Whether queries may trust the index of a log whose ring is `shared` (a
 * file mapping).  The index lives in private memory: after a fork(), parent
 * and child both write the shared ring but each updates only its own copy
 * of the index, so neither copy sees every event any more and queries must
 * scan.  A private ring is copied by fork() along with its index.
 */
int pt__index_usable(const pt__index *ix, int shared);

/* ---- Hashing (shared by writers and queries) ---------------------------- */

/*
 * One multiply-xorshift round: hash quality only affects speed (every
 * candidate is checked against the slot), and this runs once per event
 * a query indexes.
 */
static inline uint64_t pt__index_mix(uint64_t h) {
  h ^= h >> 31;
  h *= 0xd6e8feb86659fd93u;
  h ^= h >> 32;
  return h;
}

static inline uint64_t pt__index_hash_trace(uint64_t w0, uint64_t w1) {
  return pt__index_mix(w0 ^ (w1 * 0x9e3779b97f4a7c15u));
}

static inline uint64_t pt__index_hash_peer(uint64_t w0, uint64_t w1,
                                           uint64_t w2, uint64_t w3) {
  return pt__index_mix(w0 ^ (w1 * 0x9e3779b97f4a7c15u) ^
                       (w2 * 0xc2b2ae3d27d4eb4fu) ^ (w3 * 0x165667b19e3779f9u));
}

static inline uint64_t pt__index_hash_trace_id(const pt_trace_id *id) {
  uint64_t w[2];
  memcpy(w, id->bytes, sizeof w);
  return pt__index_hash_trace(w[0], w[1]);
}

static inline uint64_t pt__index_hash_peer_id(const uint8_t *peer_id) {
  uint64_t w[4];
  memcpy(w, peer_id, sizeof w);
  return pt__index_hash_peer(w[0], w[1], w[2], w[3]);
}

/* Filter word of a hash: bits 0..2; its 3 bits: bits 3..20; tag: 48..63. */
static inline unsigned pt__filter_word(uint64_t h) {
  return (unsigned)(h & (PT__FILTER_WORDS - 1));
}
static inline uint64_t pt__filter_bits(uint64_t h) {
  return (UINT64_C(1) << ((h >> 3) & 63)) | (UINT64_C(1) << ((h >> 9) & 63)) |
         (UINT64_C(1) << ((h >> 15) & 63));
}
static inline uint16_t pt__filter_tag(uint64_t h) {
  return (uint16_t)(h >> 48);
}

/* ---- Building (by queries, see pt_index.c) ---------------------------- */

/* What a query may use for one block (pt__index_block_view). */
typedef enum pt__block_view {
  PT__BLOCK_EMPTY,  /* its ring chunk was never claimed: no events */
  PT__BLOCK_SCAN,   /* open (being written), or being indexed: read it all */
  PT__BLOCK_INDEXED /* its summary and tags describe the events it holds */
} pt__block_view;

/*
 * The slow part of pt__index_block_view: `seen` (the block's built word) is
 * not `state` (its ring chunk's state word), both as loaded there.
 */
pt__block_view pt__index_block_update(pt__index *ix, const pt_log *log,
                                      uint64_t block, uint64_t seen,
                                      uint64_t state);

/*
 * How a query may read index block `block` of `log`, indexing it first if
 * its ring chunk was closed since it was last indexed.  Safe to call from
 * any number of query threads at once, concurrently with writers; the
 * writers never call it.  See pt_index.c for why the answer is never stale.
 */
static inline pt__block_view
pt__index_block_view(pt__index *ix, const pt_log *log, uint64_t block) {
  /* acquire: pairs with the builder's release; the summary is visible. */
  uint64_t seen = atomic_load_explicit(&ix->built[block], memory_order_acquire);
  /* acquire: pairs with the release in pt__chunk_close (its events). */
  uint64_t state = atomic_load_explicit(
      pt__state_word(log, (block << ix->chunk_shift) >> log->chunk_shift),
      memory_order_acquire);
  if (PT__LIKELY(seen == state && (state & PT__STATE_OWNED) == 0 &&
                 state != 0)) {
    return PT__BLOCK_INDEXED; /* built for this very state */
  }
  return pt__index_block_update(ix, log, block, seen, state);
}

/* ---- Query side --------------------------------------------------------- */

/*
 * The probes below read a summary that pt__index_block_view returned as
 * PT__BLOCK_INDEXED: its acquire load of `built` made the builder's stores
 * visible, so these loads could be relaxed; acquire costs nothing on x86.
 */
static inline int pt__index_chunk_may_hold(const pt__index *ix, uint64_t chunk,
                                           int peer, uint64_t h) {
  const pt__chunk_summary *sum = &ix->chunks[chunk];
  const _Atomic uint64_t *filter = peer ? sum->peer_filter : sum->trace_filter;
  uint64_t bits = pt__filter_bits(h);
  /* acquire: see above. */
  uint64_t word =
      atomic_load_explicit(&filter[pt__filter_word(h)], memory_order_acquire);
  return (word & bits) == bits;
}

static inline uint16_t pt__index_tag(const pt__index *ix, uint64_t index,
                                     int peer) {
  /* acquire: see above. */
  return atomic_load_explicit(peer ? &ix->peer_tags[index]
                                   : &ix->trace_tags[index],
                              memory_order_acquire);
}

/* The chunk's timestamp bounds, read as a query (acquire, see above). */
static inline void pt__index_chunk_times(const pt__index *ix, uint64_t chunk,
                                         uint64_t *min, uint64_t *max) {
  *min = atomic_load_explicit(&ix->chunks[chunk].ts_min, memory_order_acquire);
  *max = atomic_load_explicit(&ix->chunks[chunk].ts_max, memory_order_acquire);
}

#endif /* PT_INDEX_H */
