/*
 * pt_log_write: the writing side of the lock-free flight-recorder ring:
 * per-thread cursors, chunk claims and closes, and the write path.  The
 * log's creation, files and readers are in pt_log.c.
 *
 * Why not the specified design: `idx = fetch_add(1); write_volatile(slot)` lets
 * two writers own one slot at once.  A writer preempted between its
 * fetch_add and the end of its copy can be lapped by a writer one lap later
 * that got the same slot; the two copies interleave and a reader sees half
 * of each.  A per-slot seqlock alone does not help: both writers bump it.
 *
 * Our protocol gives every slot exactly one writer at a time:
 *
 *  1. Claim.  A writer takes a chunk number c = fetch_add(next_chunk, 1) and
 *     CASes the chunk's state word from "closed" to "owned, lap of c,
 *     removed += the previous owner's filled count".  If the chunk is still
 *     owned by a lagging writer of an earlier lap, it is skipped and the
 *     lagging writer keeps it: nobody ever writes a slot that someone else
 *     owns.  From the CAS on, the chunk's old events are dead (their lap no
 *     longer matches) and counted, in one atomic step: the overwritten count
 *     is exact by construction, and stays exact in a log file whose writer
 *     is killed at any instruction.
 *  2. Write.  The owner fills its slots in order, one event at a time: mark
 *     the slot's sequence word odd (2t + 1), store the payload with plain
 *     (relaxed atomic) stores, publish with a release store of 2t + 2.  No
 *     atomic read-modify-write per event: one fetch_add and one CAS are
 *     shared by chunk_size events.
 *  3. Close.  When the chunk is full (or its thread exits, or the thread's
 *     cursor is evicted) the owner releases it: state "closed", with the
 *     number of events it completed, which the next claim counts as removed.
 *
 * Readers use the slot's sequence word as a seqlock (Boehm, "Can seqlocks
 * get along with programming language memory models?", 2012): read it,
 * copy, re-read it; an odd or changed value means the copy is discarded.
 * Because only one writer ever touches a slot between two sequence values,
 * an unchanged even value proves the copy is whole.
 *
 * Per-thread cursors (chunk being filled) live in thread-local storage,
 * keyed by the log's never-reused uid, so a cursor of a destroyed log is
 * recognised without touching freed memory.
 *
 * Rules of the hot path (pt__log_write_fast and the PT__HOT_INLINE helpers
 * it inlines: everything a PT_PACKET_SENT runs when its thread's clock
 * anchor is fresh and its cursor has a free slot):
 *  - No call.  Everything is inlined; the only call, the close of a full
 *    chunk (once per chunk), comes after the publish.  Whatever is not
 *    sure of the fast case goes, before the first store to the ring, to
 *    pt__log_write_general, which does the whole write out of line.
 *  - No lock, no atomic read-modify-write, no system call, no allocation.
 *    (The slow path alone claims chunks: one fetch_add per reservation, one
 *    CAS per chunk; takes the registry lock only to evict a cursor that
 *    holds an open chunk, pt__cursor_release; and a hook lock only in the
 *    process's first write, pt__thread_exit_arm.)
 *  - Stores, in this order: the clock anchor's last reading and the
 *    cursor's next ticket (thread-local, plain); the slot's sequence word
 *    2t + 1 (relaxed), then a release fence; the 16 payload words (relaxed
 *    atomic stores, no loop); the sequence word 2t + 2 (release).  Nothing
 *    else is written: no statistic, no index.
 *  - Loads: the thread's clock anchor and cursor (TLS), the clock's
 *    calibration (pt__clock), the log's uid, mask, slots and seqs (the
 *    first cache line of pt_log), and rdtsc.
 * Its cost is held by a test: tests/write_cost.py counts PT_PACKET_SENT's
 * instructions with callgrind (bench preset) and fails over its budget.
 */
#define _GNU_SOURCE
#include "pt_ring.h"

#include <stdlib.h>
#include <string.h>

#include "pt_clock.h"
#include "pt_event.h"
#include "pt_hooks.h"
#include "pt_registry.h"

/* ---- Per-thread cursors ------------------------------------------------- */

/*
 * Logs a thread can write to in turn without closing chunks early: a cursor
 * evicted to make room closes its chunk (events kept, the chunk's unused
 * slots wasted, and the registry lock taken in that write).
 */
#define PT__CURSORS 32

typedef struct pt__cursor {
  uint64_t uid;      /* log uid, 0 = unused */
  uint64_t next;     /* next ticket to write */
  uint64_t end;      /* one past the chunk's last ticket; next == end: none */
  uint64_t chunk;    /* chunk number being filled */
  uint64_t reserved; /* next chunk number of this thread's reservation */
  uint64_t reserved_end; /* one past its last; reserved == end: none left */
  uint64_t reserve_size; /* chunks to reserve next time: 1, 2, 4, ... */
} pt__cursor;

static PT__TLS pt__cursor pt__cursors[PT__CURSORS];

static void pt__chunk_close(pt_log *log, pt__cursor *cur) {
  _Atomic uint64_t *state =
      pt__state_word(log, cur->chunk & (log->chunk_count - 1));
  /* relaxed: we own the chunk; nobody else changes its state word. */
  uint64_t owned = atomic_load_explicit(state, memory_order_relaxed);
  uint64_t filled = cur->next - (cur->end - log->chunk_size);
  /*
   * release: publishes every store to this chunk's slots and sequence words;
   * the next claimer's acquire sees them before it reuses the slots.  Unused
   * slots keep their old events, dead already (their lap is not the chunk's)
   * and counted when this chunk was claimed.
   */
  atomic_store_explicit(state,
                        pt__state_make(pt__state_lap(owned),
                                       pt__state_parity(owned),
                                       pt__state_prev_filled(owned), filled, 0),
                        memory_order_release);
  cur->next = cur->end = 0;
}

static void pt__chunk_close_cb(pt_log *log, void *cur) {
  pt__chunk_close(log, cur);
}

/* Closes a cursor's open chunk if its log still exists (slow path). */
static void pt__cursor_release(pt__cursor *cur) {
  if (cur->uid != 0 && cur->next != cur->end) {
    pt__registry_with(cur->uid, pt__chunk_close_cb, cur);
  }
  memset(cur, 0, sizeof *cur);
}

/* A thread that exits gives back its open chunks. */
static void pt__cursors_release_all(void) {
  for (int i = 0; i < PT__CURSORS; i++) {
    pt__cursor_release(&pt__cursors[i]);
  }
}

/*
 * In a forked child the calling thread's cursors name chunks that its parent
 * still fills; in a shared log file both would write them.  The child forgets
 * them (without closing: they are not its own) and claims fresh chunks.
 */
static void pt__cursors_forget(void) {
  memset(pt__cursors, 0, sizeof pt__cursors);
}

/* Registered by a thread's first cursor: before then it has none to close or
 * forget. */
static pt__hook pt__writers_hook = {.child = pt__cursors_forget,
                                    .thread_exit = pt__cursors_release_all};

/* Slow path: the cursor for `log` in slot 0, evicting the oldest if needed. */
static pt__cursor *pt__cursor_find(const pt_log *log) {
  pt__cursor *cursors = pt__cursors;
  for (int i = 1; i < PT__CURSORS; i++) {
    if (cursors[i].uid == log->uid) {
      pt__cursor found = cursors[i];
      cursors[i] = cursors[0];
      cursors[0] = found;
      return &cursors[0];
    }
  }
  pt__thread_exit_arm(&pt__writers_hook);
  pt__cursor_release(&cursors[PT__CURSORS - 1]);
  memmove(&cursors[1], &cursors[0], (PT__CURSORS - 1) * sizeof cursors[0]);
  memset(&cursors[0], 0, sizeof cursors[0]);
  cursors[0].uid = log->uid;
  return &cursors[0];
}

/* Claims a fresh chunk for `cur`.  Returns 0 if none could be had. */
static int pt__chunk_claim(pt_log *log, pt__cursor *cur) {
  if (PT__UNLIKELY(log->region.read_only)) {
    return 0;
  }
  for (uint64_t attempt = 0; attempt < log->chunk_count; attempt++) {
    /*
     * relaxed: the number only has to be unique; ownership of the chunk is
     * decided by the CAS below, which carries the ordering.
     */
    if (cur->reserved == cur->reserved_end) {
      /*
       * A thread's first reservation is one chunk and each next one twice
       * the last, up to PT__RESERVE: a short-lived thread wastes no number
       * (so the ring stays evenly used), a busy one soon shares the counter
       * only once per PT__RESERVE chunks.
       */
      uint64_t size = cur->reserve_size == 0 ? 1 : cur->reserve_size;
      cur->reserved = atomic_fetch_add_explicit(&log->header->next_chunk, size,
                                                memory_order_relaxed);
      cur->reserved_end = cur->reserved + size;
      cur->reserve_size = size < log->reserve_max ? 2 * size : log->reserve_max;
    }
    uint64_t c = cur->reserved++;
    uint64_t j = c & (log->chunk_count - 1);
    _Atomic uint64_t *state = pt__state_word(log, j);
    /* relaxed: a stale value only makes the CAS below fail. */
    uint64_t seen = atomic_load_explicit(state, memory_order_relaxed);
    if (seen & PT__STATE_OWNED) {
      continue; /* a lagging writer still fills it: leave it to them */
    }
    uint64_t lap = ((c >> log->count_shift) + 1) & PT__LAP_MASK;
    if (seen != 0 && pt__lap_at_or_after(pt__state_lap(seen), lap)) {
      continue; /* we were preempted; this or a later lap already used it */
    }
    uint64_t filled = pt__state_filled(seen);
    uint64_t parity = pt__state_parity(seen) ^ 1u;
    uint64_t claimed = pt__state_make(lap, parity, filled, 0, PT__STATE_OWNED);
    /*
     * acquire on success: synchronises with the previous owner's release in
     * pt__chunk_close, so its slot stores happen before ours.  This CAS kills
     * the chunk's old events (their lap no longer matches) and makes them
     * countable (prev_filled) at once.
     */
    if (!atomic_compare_exchange_strong_explicit(state, &seen, claimed,
                                                 memory_order_acquire,
                                                 memory_order_relaxed)) {
      continue;
    }
    _Atomic uint64_t *removed = pt__removed_word(log, j);
    /* relaxed: only the chunk's owner writes this word. */
    uint64_t count =
        pt__removed_count(atomic_load_explicit(removed, memory_order_relaxed));
    /*
     * release: a reader that sees the new tag also sees the CAS above, so it
     * never adds prev_filled twice (pt__chunk_removed).
     */
    atomic_store_explicit(removed, pt__removed_make(count + filled, parity),
                          memory_order_release);
    uint64_t base = c << log->chunk_shift;
    cur->chunk = c;
    cur->next = base;
    cur->end = base + log->chunk_size;
    return 1;
  }
  return 0;
}

/*
 * Writing an event.  Every write has a fast path, inlined and free of calls,
 * for the common case: this thread's clock anchor is fresh and its cursor
 * for this log has a free slot.  Anything else (a fresh thread, the
 * millisecond anchor to renew, a cursor for another log, a chunk to claim,
 * a clock without TSC) goes to pt__log_write_general, which does the whole
 * write out of line.  The fast path decides before its first store to the
 * ring, so the general path simply starts over.  With no call in its
 * middle (the only one, to close a full chunk, comes last), the fast
 * path sets up no stack frame, though gcc still saves six registers for it;
 * with small events' payload in registers (pt__log_write_small), a
 * PT_PACKET_SENT went from 123 to 94 instructions (BENCHMARKS.md).
 */

/*
 * A slot taken for one event: where it is, its ticket, and whether it is the
 * last of its chunk (whose close then follows the publish).
 */
typedef struct pt__take {
  pt__slot *slot;
  _Atomic uint64_t *seq;
  pt__cursor *cur;
  uint64_t ticket;
  int last;
} pt__take;

/* The next free slot of this thread's open chunk of `log`; 0 if none. */
PT__HOT_INLINE int pt__slot_take_fast(pt_log *log, pt__take *t) {
  pt__cursor *cur = &pt__cursors[0];
  uint64_t next = cur->next;
  uint64_t end = cur->end;
  if (PT__UNLIKELY(cur->uid != log->uid || next == end)) {
    return 0;
  }
  cur->next = next + 1;
  uint64_t index = next & log->mask;
  t->slot = &log->slots[index];
  t->seq = &log->seqs[index];
  t->cur = cur;
  t->ticket = next;
  t->last = next + 1 == end;
  return 1;
}

/*
 * Takes the next slot of this thread's chunk (finding the cursor and
 * claiming a chunk if needed).  Returns 0 if the event must be dropped.
 */
static int pt__slot_take(pt_log *log, pt__take *t) {
  pt__cursor *cur = &pt__cursors[0];
  if (cur->uid != log->uid) {
    cur = pt__cursor_find(log);
  }
  if (cur->next == cur->end && !pt__chunk_claim(log, cur)) {
    /* relaxed: a statistic. */
    if (!log->region.read_only) {
      atomic_fetch_add_explicit(&log->header->dropped, 1, memory_order_relaxed);
    }
    return 0;
  }
  return pt__slot_take_fast(log, t);
}

/*
 * Marks a slot "being written" before its payload stores: a reader copying
 * the old event sees the sequence change and discards its copy.
 */
PT__HOT_INLINE void pt__slot_begin(const pt__take *t) {
  /* relaxed: ordered before the payload stores by the fence below. */
  atomic_store_explicit(t->seq, 2 * t->ticket + 1, memory_order_relaxed);
  /*
   * release fence: a reader that sees any payload store made after this
   * point also sees the odd mark, so its re-check discards the copy.
   * (On x86 this is a compiler barrier only.)
   */
  atomic_thread_fence(memory_order_release);
}

/* Word i of an unaligned byte buffer. */
PT__HOT_INLINE uint64_t pt__load_word(const void *src, size_t i) {
  uint64_t word;
  memcpy(&word, (const unsigned char *)src + 8 * i, sizeof word);
  return word;
}

/* relaxed stores: every payload store is published by pt__slot_publish. */
PT__HOT_INLINE void pt__slot_store(pt__slot *slot, int word, uint64_t value) {
  atomic_store_explicit(&slot->word[word], value, memory_order_relaxed);
}

/*
 * Stores one event into its slot, the words of pt_event in order:
 * 1-2 trace id, 3-6 peer id (zeros if peer_id is NULL), 7 header
 * (sequence | kind << 32 | flags << 48), 8-15 the 64 payload bytes, and
 * word 0, the timestamp, last: it waits on rdtsc.  The only copy loop of
 * the ring: every write comes here.  Straight-line stores, because gcc -O2
 * does not unroll loops; inlined, a constant payload (the zeros after a
 * small event's fields) becomes immediate stores.
 */
PT__HOT_INLINE void pt__slot_fill(pt__slot *slot, uint64_t id0, uint64_t id1,
                                  const void *peer_id, uint64_t header,
                                  const void *payload, uint64_t timestamp_us) {
  pt__slot_store(slot, 1, id0);
  pt__slot_store(slot, 2, id1);
  if (peer_id != NULL) {
    pt__slot_store(slot, 3, pt__load_word(peer_id, 0));
    pt__slot_store(slot, 4, pt__load_word(peer_id, 1));
    pt__slot_store(slot, 5, pt__load_word(peer_id, 2));
    pt__slot_store(slot, 6, pt__load_word(peer_id, 3));
  } else {
    pt__slot_store(slot, 3, 0);
    pt__slot_store(slot, 4, 0);
    pt__slot_store(slot, 5, 0);
    pt__slot_store(slot, 6, 0);
  }
  pt__slot_store(slot, 7, header);
  pt__slot_store(slot, 8, pt__load_word(payload, 0));
  pt__slot_store(slot, 9, pt__load_word(payload, 1));
  pt__slot_store(slot, 10, pt__load_word(payload, 2));
  pt__slot_store(slot, 11, pt__load_word(payload, 3));
  pt__slot_store(slot, 12, pt__load_word(payload, 4));
  pt__slot_store(slot, 13, pt__load_word(payload, 5));
  pt__slot_store(slot, 14, pt__load_word(payload, 6));
  pt__slot_store(slot, 15, pt__load_word(payload, 7));
  pt__slot_store(slot, 0, timestamp_us);
}

/*
 * What follows the publish of a chunk's last slot, out of line: its close.
 * The query indices (PT_TRACE_INDEX) add nothing here: queries index closed
 * chunks themselves (pt_index.c), so the write path is the same with or
 * without them.
 */
static __attribute__((noinline)) void pt__slot_after_publish(pt_log *log,
                                                             pt__cursor *cur) {
  pt__chunk_close(log, cur);
}

/* Publishes the slot's event, then closes a full chunk. */
PT__HOT_INLINE void pt__slot_publish(pt_log *log, const pt__take *t) {
  /* release: the event is complete; readers that acquire this see it all. */
  atomic_store_explicit(t->seq, 2 * t->ticket + 2, memory_order_release);
  if (PT__UNLIKELY(t->last)) {
    pt__slot_after_publish(log, t->cur);
  }
}

/*
 * The whole write, out of line: the slow path of every write, and
 * pt_log_write_at.  timestamp_us NULL: stamp the event now.  Returns PT_OK,
 * or PT_ERR_FULL if the event was dropped.
 */
static __attribute__((noinline)) int
pt__log_write_general(pt_log *log, uint64_t id0, uint64_t id1,
                      const void *peer_id, uint64_t header, const void *payload,
                      const uint64_t *timestamp_us) {
  uint64_t ts =
      timestamp_us != NULL ? *timestamp_us : pt__clock_now_ns() / 1000u;
  pt__take t;
  if (!pt__slot_take(log, &t)) {
    return PT_ERR_FULL;
  }
  pt__slot_begin(&t);
  pt__slot_fill(t.slot, id0, id1, peer_id, header, payload, ts);
  pt__slot_publish(log, &t);
  return PT_OK;
}

/*
 * The fast path of every write (see above).  Returns 1 if the event was
 * recorded, 0 if nothing was stored and pt__log_write_general must run.
 */
PT__HOT_INLINE int pt__log_write_fast(pt_log *log, uint64_t id0, uint64_t id1,
                                      const void *peer_id, uint64_t header,
                                      const void *payload) {
  uint64_t ns;
  if (PT__UNLIKELY(!pt__clock_now_ns_fast(&ns))) {
    return 0;
  }
  pt__take t;
  if (PT__UNLIKELY(!pt__slot_take_fast(log, &t))) {
    return 0;
  }
  pt__slot_begin(&t);
  pt__slot_fill(t.slot, id0, id1, peer_id, header, payload, ns / 1000u);
  pt__slot_publish(log, &t);
  return 1;
}

/*
 * The check of a caller-built event (pt_log_write, pt_log_write_at), on the
 * words the write copies.  The macros' paths skip it: they only write kinds
 * and flags they generated.  Returns PT_OK, or PT_ERR_INVALID for an event
 * a dump could not hold (counted as rejected).
 */
PT__HOT_INLINE int pt__log_write_check(pt_log *log, uint64_t header,
                                       const void *peer_id) {
  if (PT__UNLIKELY(!pt__event_words_valid(header, peer_id))) {
    /* relaxed: a statistic.  A read-only view changes nothing. */
    if (!log->region.read_only) {
      atomic_fetch_add_explicit(&log->header->rejected, 1,
                                memory_order_relaxed);
    }
    return PT_ERR_INVALID;
  }
  return PT_OK;
}

int pt_log_write(pt_log *log, const pt_event *ev) {
  if (PT__UNLIKELY(log == NULL || ev == NULL)) {
    return PT_ERR_INVALID;
  }
  uint64_t id0 = pt__load_word(ev, 1);
  uint64_t id1 = pt__load_word(ev, 2);
  uint64_t header = pt__load_word(ev, 7);
  const unsigned char *bytes = (const unsigned char *)ev;
  if (PT__UNLIKELY(pt__log_write_check(log, header, bytes + 24) != PT_OK)) {
    return PT_ERR_INVALID;
  }
  if (pt__log_write_fast(log, id0, id1, bytes + 24, header, bytes + 64)) {
    return PT_OK;
  }
  return pt__log_write_general(log, id0, id1, bytes + 24, header, bytes + 64,
                               NULL);
}

int pt_log_write_at(pt_log *log, const pt_event *ev) {
  if (log == NULL || ev == NULL) {
    return PT_ERR_INVALID;
  }
  uint64_t header = pt__load_word(ev, 7);
  const unsigned char *bytes = (const unsigned char *)ev;
  if (pt__log_write_check(log, header, bytes + 24) != PT_OK) {
    return PT_ERR_INVALID;
  }
  return pt__log_write_general(log, pt__load_word(ev, 1), pt__load_word(ev, 2),
                               bytes + 24, header, bytes + 64,
                               &ev->timestamp_us);
}

void pt__log_write_parts(pt_log *log, pt_trace_id trace_id,
                         const uint8_t *peer_id, uint64_t header,
                         const uint64_t *payload) {
  if (PT__UNLIKELY(log == NULL)) {
    return;
  }
  uint64_t id[2];
  memcpy(id, trace_id.bytes, sizeof id);
  if (peer_id != NULL) {
    header |= (uint64_t)PT_EVENT_HAS_PEER << 48;
  }
  if (!pt__log_write_fast(log, id[0], id[1], peer_id, header, payload)) {
    pt__log_write_general(log, id[0], id[1], peer_id, header, payload, NULL);
  }
}

/* The slow path of pt__log_write_small: a tail call, so that the fast path
 * keeps no stack frame. */
static __attribute__((noinline)) void
pt__log_write_small_general(pt_log *log, uint64_t id0, uint64_t id1,
                            uint64_t header, uint64_t w0, uint64_t w1) {
  const uint64_t payload[8] = {w0, w1, 0, 0, 0, 0, 0, 0};
  pt__log_write_general(log, id0, id1, NULL, header, payload, NULL);
}

void pt__log_write_small(pt_log *log, pt_trace_id trace_id, uint64_t header,
                         uint64_t w0, uint64_t w1) {
  if (PT__UNLIKELY(log == NULL)) {
    return;
  }
  uint64_t id[2];
  memcpy(id, trace_id.bytes, sizeof id);
  /* Never leaves the fast path: its words become immediate stores. */
  const uint64_t payload[8] = {w0, w1, 0, 0, 0, 0, 0, 0};
  if (PT__UNLIKELY(
          !pt__log_write_fast(log, id[0], id[1], NULL, header, payload))) {
    pt__log_write_small_general(log, id[0], id[1], header, w0, w1);
  }
}
