/*
 * pt_index: query indices of a log (PT_TRACE_INDEX builds only).
 *
 * One summary per ring chunk, plus one small tag per slot.  The ring gives
 * every chunk exactly one writer at a time (see pt_log.c), so the summary of
 * a chunk is written by that writer alone: plain relaxed loads and stores,
 * no read-modify-write, no lock, no allocation.  When a later lap claims the
 * chunk, its writer resets the summary with its first event; the events the
 * old summary described were removed by that claim.
 *
 * Per chunk (192 bytes, on cache lines of its own):
 *   trace_filter  512-bit bloom filter of the trace ids of the chunk's events
 *                 (3 bits in one 64-bit word per id)
 *   peer_filter   the same for peer ids (events with PT_EVENT_HAS_PEER)
 *   ts_min/ts_max the smallest and largest timestamp of the chunk's events
 * Per slot: a 16-bit tag of the trace id hash and one of the peer id hash.
 *
 * Together the chunk filters are the log's bloom filter of trace ids,
 * partitioned by chunk: a partition is emptied when its chunk is reused, so
 * the filter never fills up with ids that left the ring.
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

#define PT__FILTER_WORDS 8

typedef struct pt__chunk_summary {
  _Alignas(PT__CACHE_LINE) _Atomic uint64_t trace_filter[PT__FILTER_WORDS];
  _Alignas(PT__CACHE_LINE) _Atomic uint64_t peer_filter[PT__FILTER_WORDS];
  _Alignas(PT__CACHE_LINE) _Atomic uint64_t ts_min;
  _Atomic uint64_t ts_max;
} pt__chunk_summary;

typedef struct pt__index {
  uint64_t forks_at_create; /* pt__index_forks() when created */
  uint64_t capacity;
  uint64_t chunk_size; /* slots per chunk, as in the log */
  uint64_t chunk_count;
  unsigned chunk_shift;
  pt__chunk_summary *chunks;    /* chunk_count summaries */
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
 * candidate is checked against the slot), and this runs on every write.
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

/* ---- The write hook --------------------------------------------------- */

/*
 * Adds the owner's filter bits to one filter.  Only the chunk's owner
 * writes it, so load + store is enough (no read-modify-write).
 */
static inline void pt__filter_add(_Atomic uint64_t *filter, uint64_t h) {
  _Atomic uint64_t *word = &filter[pt__filter_word(h)];
  uint64_t bits = pt__filter_bits(h);
  /* relaxed: only this chunk's owner writes the word. */
  uint64_t old = atomic_load_explicit(word, memory_order_relaxed);
  if ((old & bits) != bits) {
    /* relaxed: read by queries only for events this call has published. */
    atomic_store_explicit(word, old | bits, memory_order_relaxed);
  }
}

/*
 * Indexes the event just published in `slot` with `ticket`; called by the
 * slot's owner right after the release store of its sequence word.  Reads
 * the event back from the slot (its own recent stores, in L1).
 */
static inline void pt__index_note(pt__index *ix, const _Atomic uint64_t *slot,
                                  uint64_t ticket) {
  /* relaxed: the caller's own stores to its own slot. */
  uint64_t ts = atomic_load_explicit(&slot[0], memory_order_relaxed);
  uint64_t t0 = atomic_load_explicit(&slot[1], memory_order_relaxed);
  uint64_t t1 = atomic_load_explicit(&slot[2], memory_order_relaxed);
  uint64_t header = atomic_load_explicit(&slot[7], memory_order_relaxed);
  uint64_t index = ticket & (ix->capacity - 1);
  pt__chunk_summary *sum = &ix->chunks[index >> ix->chunk_shift];
  if (PT__UNLIKELY((ticket & (ix->chunk_size - 1)) == 0)) {
    /*
     * First event of a freshly claimed chunk (a claimed chunk is always
     * filled from its first slot): the old summary described events the
     * claim removed.  relaxed: the claim's release fence (pt__chunk_claim)
     * orders its odd marks before these stores for queries that acquire-load
     * the summary.
     */
    for (int i = 0; i < PT__FILTER_WORDS; i++) {
      atomic_store_explicit(&sum->trace_filter[i], 0, memory_order_relaxed);
      atomic_store_explicit(&sum->peer_filter[i], 0, memory_order_relaxed);
    }
    atomic_store_explicit(&sum->ts_min, ts, memory_order_relaxed);
    atomic_store_explicit(&sum->ts_max, ts, memory_order_relaxed);
  } else {
    /* relaxed: only this chunk's owner writes ts_min / ts_max. */
    if (ts < atomic_load_explicit(&sum->ts_min, memory_order_relaxed)) {
      atomic_store_explicit(&sum->ts_min, ts, memory_order_relaxed);
    }
    if (ts > atomic_load_explicit(&sum->ts_max, memory_order_relaxed)) {
      atomic_store_explicit(&sum->ts_max, ts, memory_order_relaxed);
    }
  }
  uint64_t h = pt__index_hash_trace(t0, t1);
  pt__filter_add(sum->trace_filter, h);
  /* relaxed: a tag is a hint, checked against the slot by every query. */
  atomic_store_explicit(&ix->trace_tags[index], pt__filter_tag(h),
                        memory_order_relaxed);
  /* flags is byte 62 of the event: bits 48..55 of header word 7. */
  if ((header >> 48) & PT_EVENT_HAS_PEER) {
    h = pt__index_hash_peer(
        atomic_load_explicit(&slot[3], memory_order_relaxed),
        atomic_load_explicit(&slot[4], memory_order_relaxed),
        atomic_load_explicit(&slot[5], memory_order_relaxed),
        atomic_load_explicit(&slot[6], memory_order_relaxed));
    pt__filter_add(sum->peer_filter, h);
    /* relaxed: a hint, as above. */
    atomic_store_explicit(&ix->peer_tags[index], pt__filter_tag(h),
                          memory_order_relaxed);
  }
}

/* ---- Query side --------------------------------------------------------- */

/*
 * acquire loads: a query that sees a summary reset also sees the odd marks
 * the claim made before it (see pt__index_note).
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
