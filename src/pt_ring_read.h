/*
 * pt_ring_read: the one way the library reads a ring (internal, stable).
 *
 * Everything that reads events out of a pt_log goes through here: queries
 * (pt_query.c), dumps (pt_dump.c), followers (pt_follow.c), and whoever
 * wants a live log as a time-ordered stream (a snapshot).  Readers never
 * write to the log and never block its writers: every slot is read through
 * its sequence word as a seqlock (pt__log_read_slot, pt_log.c), so an event
 * is copied whole or not at all, and one caught mid-write is skipped.
 *
 * The pieces:
 *   pt__record          one event read from the ring, with its ticket
 *   pt__record_order    the one order: (timestamp, ticket)
 *   pt__ring_read       the one way to read a slot
 *   pt__records         a growable array of records that sorts itself
 *   pt__ring_snapshot   all complete events of a log, sorted, with the
 *                       counters a dump records (for dumps and pipelines)
 *   pt__ring_cursor     per-chunk positions for reading a ring as it grows,
 *                       counting what was overwritten unseen (followers)
 *
 * Threads: a log may be read by any number of these at once, in any thread,
 * while its writers write.  One pt__records, snapshot or cursor is used by
 * one thread at a time.
 */
#ifndef PT_RING_READ_H
#define PT_RING_READ_H

#include <stddef.h>
#include <stdint.h>

#include "pt_common.h"
#include "pt_ring.h"

/*
 * One event as read from the ring.  ticket: the number of the write that
 * put it there (the log's claim counter; unique per event of one log, and
 * increasing in write order within one writer thread).  It breaks ties
 * between events of equal timestamp, so the order below is total.
 */
typedef struct pt__record {
  pt_event event;
  uint64_t ticket;
} pt__record;

/*
 * Where a record stands in (timestamp, ticket) order: records are sorted
 * through these (24 bytes moved, not 136).  at: index into pt__records.items.
 */
typedef struct pt__order_key {
  uint64_t timestamp_us;
  uint64_t ticket;
  size_t at;
} pt__order_key;

/*
 * The order of events read from a ring: by timestamp, then ticket.  A qsort
 * comparator over pt__order_key: <0, 0 (same time and ticket: only in a
 * corrupt file) or >0.
 */
int pt__record_order(const void *a, const void *b);

/*
 * Reads slot `index` (0 <= index < capacity) of `log` into *out.  Returns
 * 1 if the slot holds a live, completed event that stayed unchanged while it
 * was copied; 0 if the slot is empty, being written, overwritten, or holds
 * a ticket no writer puts there (a corrupt file).  Never writes.
 */
static inline int pt__ring_read(const pt_log *log, uint64_t index,
                                pt__record *out) {
  return pt__log_read_slot(log, index, &out->event, &out->ticket);
}

/* ---- pt__records: read, then sort ---------------------------------------- */

/*
 * A growable array of records and their order keys.  A record is read into
 * items[count] and kept with pt__records_keep, which appends its key to
 * order while the record is still in the cache; pt__records_sort then sorts
 * the keys.  Zero-initialise it ({0}); release with pt__records_release.
 * The arrays are kept between uses (set count = 0 to reuse): a query or a
 * follower allocates once, not per call.
 */
typedef struct pt__records {
  pt__record *items;
  pt__order_key *order; /* count keys; in order after pt__records_sort */
  size_t count;
  size_t cap; /* of both arrays */
} pt__records;

/* Grows both arrays to `cap` (cap >= count).  PT_OK or PT_ERR_NOMEM (the
 * records are unchanged). */
int pt__records_grow(pt__records *r, size_t cap);

/* Makes room for one more record at items[count] (doubling, from 64).
 * Returns PT_OK or PT_ERR_NOMEM (the array is unchanged). */
static inline int pt__records_reserve(pt__records *r) {
  if (PT__LIKELY(r->count < r->cap)) {
    return PT_OK;
  }
  return pt__records_grow(r, r->cap == 0 ? 64 : 2 * r->cap);
}

/*
 * Reads slot `index` into the next free record, items[count], without
 * keeping it: the caller keeps it (pt__records_keep) or not, e.g. after a
 * match.  Returns 1 if the read succeeded (pt__ring_read), 0 if not,
 * PT_ERR_NOMEM.
 */
static inline int pt__records_read(pt__records *r, const pt_log *log,
                                   uint64_t index) {
  if (pt__records_reserve(r) != PT_OK) {
    return PT_ERR_NOMEM;
  }
  return pt__ring_read(log, index, &r->items[r->count]);
}

/* Keeps the record at items[count] (room made by pt__records_reserve). */
static inline void pt__records_keep(pt__records *r) {
  const pt__record *rec = &r->items[r->count];
  pt__order_key *key = &r->order[r->count];
  key->timestamp_us = rec->event.timestamp_us;
  key->ticket = rec->ticket;
  key->at = r->count++;
}

/*
 * Puts order[0..count) in (timestamp, ticket) order: a natural merge sort
 * (a pass or a few for records read in slot order, which come in few
 * ascending runs).  Already in order: no sort.  The merges take scratch of
 * 24 bytes a record, freed before it returns; without memory for it, qsort
 * sorts in place: never fails.  Records kept after a sort are sorted in by
 * the next one.
 */
void pt__records_sort(pt__records *r);

/* The i-th record in order (after pt__records_sort; i < count). */
static inline const pt__record *pt__records_at(const pt__records *r, size_t i) {
  return &r->items[r->order[i].at];
}

void pt__records_release(pt__records *r);

/* ---- pt__ring_snapshot: a live log as a sorted stream ---------------------
 */

/*
 * The counters that go with a snapshot.  The log's counters are read after
 * the scan of the slots, so they cover what the scan missed.  Of a log no
 * one writes to any more, every event it was ever given is in the snapshot
 * or in exactly one of overwritten, dropped, rejected, left_out, or
 * (damaged files only) among the unreadable slots.  While writers write,
 * an event read by the scan may be overwritten (and counted) before the
 * counters are read, and one written after the scan of its slot is in
 * neither.
 */
typedef struct pt__ring_counts {
  uint64_t overwritten; /* pt_log_stats.overwritten */
  uint64_t dropped;     /* pt_log_stats.dropped: never recorded */
  uint64_t rejected;    /* pt_log_stats.rejected: refused by pt_log_write */
  uint64_t unreadable;  /* pt_log_stats.unreadable: damaged slots (files) */
  /* Complete events left out: ones a dump cannot hold (pt__event_valid
   * fails: a log file of an older writer, or a damaged one) and repeats of
   * an earlier (time, ticket) pair (a corrupt file). */
  uint64_t left_out;
} pt__ring_counts;

typedef struct pt__ring_snapshot pt__ring_snapshot;

/*
 * Takes a snapshot of `log` (created with pt_log_create, or a log file
 * opened with pt_log_open, whose writer may be running, exited or dead):
 * every event completely written when its slot was read, each whole, each
 * valid for a dump, no two with the same (time, ticket), in (timestamp,
 * ticket) order.  Writers are not blocked; events written meanwhile may or
 * may not be in it.  This is exactly what pt_log_dump_save writes.
 *
 * It does not check whether a log file was truncated or rewritten while it
 * was read (such a file reads as zeros, so the snapshot is short, never
 * wrong in what it holds): call pt_log_check(log) after taking it, as the
 * CLI does, if that matters.
 *
 * Cost: one pass over the ring's slots, a sort of 24-byte keys, and
 * pt_log_get_stats; memory: 160 bytes per slot of capacity, until freed
 * (and 24 a record while it sorts).
 * Returns PT_OK (*out set), PT_ERR_INVALID (NULL argument), PT_ERR_NOMEM.
 */
int pt__ring_snapshot_take(const pt_log *log, pt__ring_snapshot **out);

/* Events in the snapshot. */
size_t pt__ring_snapshot_count(const pt__ring_snapshot *s);

/* The i-th event in (time, ticket) order, i < count; NULL past the end. */
const pt__record *pt__ring_snapshot_at(const pt__ring_snapshot *s, size_t i);

/*
 * Iterates: copies the next event (and its ticket, if ticket is not NULL).
 * Returns 1 with an event, 0 at the end (and after it), PT_ERR_INVALID for
 * NULL s or ev.  pt__ring_snapshot_rewind starts again from the first.
 */
int pt__ring_snapshot_next(pt__ring_snapshot *s, pt_event *ev,
                           uint64_t *ticket);
void pt__ring_snapshot_rewind(pt__ring_snapshot *s);

/* The counters of the snapshot (see pt__ring_counts). */
const pt__ring_counts *pt__ring_snapshot_counts(const pt__ring_snapshot *s);

/*
 * What a dump of this snapshot says in its header: capacity, event_count,
 * overwritten, dropped (= dropped + rejected + left_out: the format has one
 * counter for them), created_us (when taken), first_us / last_us, the
 * clock source of the process that wrote the events, node id.
 */
const pt_dump_info *pt__ring_snapshot_info(const pt__ring_snapshot *s);

/* Frees the snapshot (NULL is ignored).  The log may be closed before. */
void pt__ring_snapshot_free(pt__ring_snapshot *s);

/* ---- pt__ring_cursor: reading a ring as it grows ------------------------- */

/*
 * Per chunk: the lap the cursor last saw, the chunk's removed count then,
 * and how many of that lap's slots it has passed (always a prefix: a
 * chunk's one writer fills it in order).  When a chunk's lap has moved on,
 * the chunk lost exactly (removed now - removed then) completed events in
 * between (the log's own count, see pt_ring.h); those the cursor had not
 * passed are reported as missed.
 */
typedef struct pt__ring_cursor {
  const pt_log *log;
  uint64_t *lap;
  uint64_t *removed;
  uint64_t *passed;
} pt__ring_cursor;

/*
 * Positions the cursor at the log as it is now: each chunk's current lap
 * and removed count, none of its slots passed.  *overwritten (if not NULL):
 * the sum of the removed counts, i.e. what the ring overwrote before now.
 * Returns PT_OK, PT_ERR_NOMEM, or PT_ERR_LOG_CHANGED (a chunk record never
 * held still: not a log; see pt__chunk_removed).  On error the cursor is
 * released.
 */
int pt__ring_cursor_init(pt__ring_cursor *c, const pt_log *log,
                         uint64_t *overwritten);

/* One read of chunks through a cursor (pt__ring_cursor_read). */
typedef struct pt__ring_step {
  /* in */
  int writer_gone;       /* the writer closed or died: nothing in progress */
  uint64_t watermark_us; /* stop at the first event at or after this time */
  pt__records *out;      /* where events go; NULL: only pass over them */
  /* out: added to by each read */
  uint64_t missed;     /* completed events lost unseen */
  uint64_t unreadable; /* corrupt slots passed over */
} pt__ring_step;

/*
 * Reads chunk `chunk` from the cursor's position on: appends to step->out
 * the events of the chunk's current lap not yet passed, in slot order, up to
 * the first slot that is not (yet) a completed event of this lap, or whose
 * event is at or after the watermark; moves the position past them.  A
 * damaged slot (pt__slot_corrupt) where no writer can still write (a closed
 * chunk, or writer_gone) is passed over and counted as unreadable.  So,
 * over a cursor's life: passed + missed <= written <= passed + missed +
 * unreadable, with = when nothing is damaged.
 * Returns PT_OK, PT_ERR_NOMEM (out could not grow), or PT_ERR_LOG_CHANGED
 * (the chunk's record never held still; the chunk is left as it was).
 */
int pt__ring_cursor_read(pt__ring_cursor *c, uint64_t chunk,
                         pt__ring_step *step);

/* Frees the cursor's arrays (a zeroed cursor is fine). */
void pt__ring_cursor_release(pt__ring_cursor *c);

#endif /* PT_RING_READ_H */
