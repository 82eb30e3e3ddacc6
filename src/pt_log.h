/*
 * pt_log: the flight-recorder ring (internal view).
 *
 * Layout: `capacity` slots of 128 bytes plus, beside them, one 64-bit
 * sequence word per slot.  Writers claim whole chunks of `chunk_size`
 * consecutive slots with one fetch_add on `next_chunk` and one CAS on the
 * chunk's state word, then fill the chunk with plain stores; see pt_log.c for
 * the protocol and why it never tears.
 *
 * Sequence word of a slot (seqs[i]):
 *   0          empty (never written, or abandoned by an owner that left)
 *   2t + 1     claimed for ticket t, being written: readers skip it
 *   2t + 2     holds the completed event with ticket t
 * Chunk state word (chunk_state[j]):
 *   0          never claimed
 *   2(c+1)     closed after being filled as chunk number c
 *   2(c+1) + 1 owned by the writer filling chunk number c
 */
#ifndef PT_LOG_H
#define PT_LOG_H

#include <stdatomic.h>
#include <stdint.h>

#include "pt_common.h"

typedef struct pt__slot {
  _Atomic uint64_t word[16];
} pt__slot;

struct pt_log {
  uint64_t uid; /* unique per log ever created; never reused */
  uint64_t capacity;
  uint64_t mask;
  uint64_t chunk_size;
  uint64_t chunk_count;
  unsigned chunk_shift;
  pt__slot *slots;
  _Atomic uint64_t *seqs;
  _Atomic uint64_t *chunk_state;
#if PT_TRACE_INDEX
  struct pt__index *index; /* NULL if created with no_index */
#endif
  uint8_t node_id[32];
  struct pt_log *registry_next;
  /* Hot shared counters, each on its own cache line. */
  _Alignas(PT__CACHE_LINE) _Atomic uint64_t next_chunk;
  _Alignas(PT__CACHE_LINE) _Atomic uint64_t overwritten;
  _Alignas(PT__CACHE_LINE) _Atomic uint64_t dropped;
  char tail_pad[PT__CACHE_LINE - sizeof(uint64_t)];
};

/*
 * Reads slot `index` as a reader: copies the event and its ticket if the slot
 * holds a completed event that stayed unchanged while it was copied.
 * Returns 1 if copied, 0 if the slot is empty, being written or was being
 * overwritten.
 */
int pt__log_read_slot(const pt_log *log, uint64_t index, pt_event *out,
                      uint64_t *ticket);

#endif /* PT_LOG_H */
