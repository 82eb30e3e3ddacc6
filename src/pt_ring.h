/*
 * pt_ring: the ring's layout (slots, sequence words, chunk records and
 * their state helpers) and the log's internal struct (struct pt_log).
 *
 * Memory (pt_region.h): a header, one chunk record (a state word and a
 * removed word, on a cache line of their own) per chunk, one sequence word
 * per slot, and `capacity` slots of 128 bytes.  Writers claim whole chunks
 * of `chunk_size` consecutive slots with one fetch_add and one CAS, then
 * fill them with plain stores; see pt_log_write.c for the protocol.
 *
 * Sequence word of a slot:
 *   0          empty (never written, or abandoned by an owner that left)
 *   2t + 1     claimed for ticket t, being written: readers skip it
 *   2t + 2     holds the completed event with ticket t
 * Chunk record: one cache line per chunk, two words.
 *   state    bit 0       owned: a writer is filling the chunk
 *            bits 1-10   filled: events its owner completed (set at close)
 *            bits 11-20  prev_filled: the previous owner's filled count
 *            bit 21      parity: flips at every claim of this chunk
 *            bits 22-63  lap field: (lap + 1) mod 2^42 of the chunk's last
 *                        claim, where lap = ticket / capacity (0: never)
 *   removed  bit 0       tag: the parity of the claim it was last updated for
 *            bits 8-63   completed events this chunk has lost to overwriting
 * A claim CASes `state` (new lap, flipped parity, prev_filled = filled,
 * owned), then stores `removed` += prev_filled tagged with the new parity.
 * Until that store lands the tag differs from the state's parity, and
 * whoever reads the pair adds prev_filled itself (pt__chunk_removed), so the
 * count is exact at every instant, even in a log file whose writer was
 * killed between the two.  (A parity cannot alias: claims of one chunk are
 * sequential, so the tag is either this claim's or the one before.)
 * An event is live iff its sequence word is even and non-zero and its
 * ticket's lap field equals its chunk's: the CAS kills a chunk's old events
 * at the same instant as it makes them countable.
 */
#ifndef PT_RING_H
#define PT_RING_H

#include <stdatomic.h>
#include <stdint.h>

#include "pt_common.h"
#include "pt_region.h"

typedef struct pt__slot {
  _Atomic uint64_t word[16];
} pt__slot;

#define PT__STATE_OWNED UINT64_C(1)
#define PT__FILLED_MASK UINT64_C(0x3ff)
#define PT__TAG_MASK UINT64_C(1)
/* Largest chunk the 10-bit filled fields can count. */
#define PT__MAX_CHUNK 512u

static inline uint64_t pt__state_filled(uint64_t state) {
  return (state >> 1) & PT__FILLED_MASK;
}

static inline uint64_t pt__state_prev_filled(uint64_t state) {
  return (state >> 11) & PT__FILLED_MASK;
}

#define PT__LAP_BITS 42
#define PT__LAP_MASK ((UINT64_C(1) << PT__LAP_BITS) - 1)

static inline uint64_t pt__state_lap(uint64_t state) {
  return state >> 22;
}

static inline uint64_t pt__state_parity(uint64_t state) {
  return (state >> 21) & 1u;
}

/* Whether two state words belong to the same claim (same lap field and
 * parity: every claim of a chunk changes both). */
static inline int pt__state_same_claim(uint64_t a, uint64_t b) {
  return pt__state_lap(a) == pt__state_lap(b) &&
         pt__state_parity(a) == pt__state_parity(b);
}

static inline uint64_t pt__state_make(uint64_t lap_field, uint64_t parity,
                                      uint64_t prev_filled, uint64_t filled,
                                      uint64_t owned) {
  return ((lap_field & PT__LAP_MASK) << 22) | (parity << 21) |
         (prev_filled << 11) | (filled << 1) | owned;
}

static inline uint64_t pt__removed_make(uint64_t count, uint64_t parity) {
  return (count << 8) | parity;
}

static inline uint64_t pt__removed_count(uint64_t removed) {
  return removed >> 8;
}

/*
 * Chunk numbers a writer reserves at a time: one shared fetch_add per
 * PT__RESERVE chunks, and a thread's consecutive chunks are neighbours in
 * memory.  A reserved number is only a right to try: each chunk is still
 * claimed by its own CAS when its turn comes (a later lap may have taken it
 * meanwhile; the number is then skipped).
 */
#ifndef PT__RESERVE
#define PT__RESERVE 64u
#endif

/* Slots a writer claims at a time (at most PT__MAX_CHUNK). */
#ifndef PT__CHUNK
#define PT__CHUNK 256u
#endif
_Static_assert(PT__CHUNK <= PT__MAX_CHUNK, "filled fields count to 1023");

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
  uint64_t reserve_max;    /* chunk numbers a writer reserves at most */
  pt__region_header *header;
  pt__region region;
#if PT_TRACE_INDEX
  struct pt__index *index; /* NULL if created with no_index */
#endif
  struct pt_log *registry_next;
};

/*
 * Chunk records are one per cache line: a claim's CAS and a close's store
 * then never bounce a line between two writers filling neighbouring chunks.
 */
#define PT__STATE_STRIDE (PT__CACHE_LINE / sizeof(uint64_t))

static inline _Atomic uint64_t *pt__state_word(const pt_log *log,
                                               uint64_t chunk) {
  return &log->chunk_state[chunk * PT__STATE_STRIDE];
}

static inline _Atomic uint64_t *pt__removed_word(const pt_log *log,
                                                 uint64_t chunk) {
  return &log->chunk_state[chunk * PT__STATE_STRIDE + 1];
}

/* Lap field of a ticket: (ticket / capacity + 1) mod 2^42. */
static inline uint64_t pt__ticket_lap(const pt_log *log, uint64_t ticket) {
  return ((ticket >> log->capacity_shift) + 1) & PT__LAP_MASK;
}

/* Whether lap field a is b or later, modulo 2^42 (laps only move forward,
 * and never by 2^41 between two looks at one chunk). */
static inline int pt__lap_at_or_after(uint64_t a, uint64_t b) {
  return ((a - b) & PT__LAP_MASK) < (PT__LAP_MASK + 1) / 2;
}

/*
 * Reads slot `index` as a reader: copies the event and its ticket if the slot
 * holds a live, completed event that stayed unchanged while it was copied.
 * Returns 1 if copied, 0 if the slot is empty, being written or overwritten.
 */
int pt__log_read_slot(const pt_log *log, uint64_t index, pt_event *out,
                      uint64_t *ticket);

/*
 * Whether slot `index` holds what no writer leaves in a chunk whose state
 * word is `state`: a sequence word with another slot's ticket or a later
 * lap's, a missing or unfinished event where a closed chunk says it has
 * one, anything in a chunk whose state no writer makes.  (A corrupt file;
 * meaningful only if the chunk's state did not change meanwhile.)
 */
int pt__slot_corrupt(const pt_log *log, uint64_t index, uint64_t state);

/* Corrupt slots of chunk j (pt__slot_corrupt), 0 if it kept changing. */
uint64_t pt__chunk_unreadable(const pt_log *log, uint64_t chunk);

/* The chunk state word of chunk j (acquire). */
uint64_t pt__log_chunk_state(const pt_log *log, uint64_t chunk);

/*
 * Looks pt__chunk_removed takes at a chunk record before giving up.  A
 * writer claims a given chunk once per lap of the ring (capacity events
 * apart), so a look (three loads, nanoseconds) rarely straddles a claim and
 * thousands in a row never do; only a process rewriting the state word all
 * the time (a damaged or hostile file) gets there, and the reader stops.
 */
#define PT__REMOVED_TRIES 4096

/* Loads a word of a chunk record (acquire in the library); a parameter of
 * pt__chunk_removed_with so that a test can change it at every look. */
typedef uint64_t (*pt__record_load)(_Atomic uint64_t *word);

/*
 * The exact number of completed events chunk j has lost to overwriting (in
 * *removed), and (in *state) the state word it goes with: PT_OK.
 * PT_ERR_LOG_CHANGED if the chunk's lap changed during each of
 * PT__REMOVED_TRIES looks: *removed is then the count its removed word
 * holds (short of the last claim's events, if any) and *state the last
 * state read.  Never writes.
 */
int pt__chunk_removed(const pt_log *log, uint64_t chunk, uint64_t *removed,
                      uint64_t *state);
int pt__chunk_removed_with(const pt_log *log, uint64_t chunk,
                           pt__record_load load, uint64_t *removed,
                           uint64_t *state);

#endif /* PT_RING_H */
