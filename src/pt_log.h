/*
 * pt_log: the flight-recorder ring (internal view).
 *
 * Memory (pt_region.h): a header, one state word per chunk, one sequence
 * word per slot, and `capacity` slots of 128 bytes.  Writers claim whole
 * chunks of `chunk_size` consecutive slots with one fetch_add and one CAS,
 * then fill them with plain stores; see pt_log.c for the protocol.
 *
 * Sequence word of a slot:
 *   0          empty (never written, or abandoned by an owner that left)
 *   2t + 1     claimed for ticket t, being written: readers skip it
 *   2t + 2     holds the completed event with ticket t
 * Chunk state word:
 *   bit 0       owned: a writer is filling the chunk
 *   bits 1-12   lap field: (lap + 1) mod 2^12 of the chunk's last claim, where
 *               lap = ticket / capacity
 *   bits 13-19  filled: events the last owner completed in it (set at close)
 *   bits 20-63  removed: completed events this chunk has lost to overwriting,
 *               over its whole life (the log's overwritten count is the sum)
 * An event is live iff its sequence word is even and non-zero and its
 * ticket's lap field equals its chunk's.  A claim sets the new lap and adds
 * the previous owner's `filled` to `removed` in one CAS, so the count and the
 * visible events always agree, even in a log file whose writer was killed.
 */
#ifndef PT_LOG_H
#define PT_LOG_H

#include <stdatomic.h>
#include <stdint.h>

#include "pt_common.h"
#include "pt_region.h"

typedef struct pt__slot {
  _Atomic uint64_t word[16];
} pt__slot;

#define PT__LAP_BITS 12
#define PT__LAP_MASK ((UINT64_C(1) << PT__LAP_BITS) - 1)
#define PT__STATE_OWNED UINT64_C(1)

static inline uint64_t pt__state_lap(uint64_t state) {
  return (state >> 1) & PT__LAP_MASK;
}

static inline uint64_t pt__state_filled(uint64_t state) {
  return (state >> 13) & 0x7f;
}

static inline uint64_t pt__state_removed(uint64_t state) {
  return state >> 20;
}

static inline uint64_t pt__state_make(uint64_t removed, uint64_t lap_field,
                                      uint64_t filled, uint64_t owned) {
  return (removed << 20) | (filled << 13) | (lap_field << 1) | owned;
}

struct pt_log {
  /* Read on every write: keep together. */
  uint64_t uid; /* unique per log object ever created; never reused */
  uint64_t mask;
  pt__slot *slots;
  _Atomic uint64_t *seqs;
  _Atomic uint64_t *chunk_state;
  uint64_t capacity;
  uint64_t chunk_size;
  uint64_t chunk_count;
  unsigned chunk_shift;    /* log2(chunk_size) */
  unsigned capacity_shift; /* log2(capacity) */
  unsigned count_shift;    /* log2(chunk_count) */
  pt__region_header *header;
  pt__region region;
#if PT_TRACE_INDEX
  struct pt__index *index; /* NULL if created with no_index */
#endif
  struct pt_log *registry_next;
};

/* Lap field of a ticket: (ticket / capacity + 1) mod 2^12. */
static inline uint64_t pt__ticket_lap(const pt_log *log, uint64_t ticket) {
  return ((ticket >> log->capacity_shift) + 1) & PT__LAP_MASK;
}

/*
 * Reads slot `index` as a reader: copies the event and its ticket if the slot
 * holds a live, completed event that stayed unchanged while it was copied.
 * Returns 1 if copied, 0 if the slot is empty, being written or overwritten.
 */
int pt__log_read_slot(const pt_log *log, uint64_t index, pt_event *out,
                      uint64_t *ticket);

/* The chunk state word of chunk j (acquire). */
uint64_t pt__log_chunk_state(const pt_log *log, uint64_t chunk);

#endif /* PT_LOG_H */
