/*
 * pt_ring_read: records, their order, snapshots and cursors over a ring
 * (see pt_ring_read.h for what each is for).
 */
#include "pt_ring_read.h"

#include <stdlib.h>
#include <string.h>

#include "pt_clock.h"
#include "pt_event.h"
#include "pt_ring.h"

/* ---- Records and their order -------------------------------------------- */

/* Whether x comes before y: the one definition of the order. */
static inline int pt__key_before(const pt__order_key *x,
                                 const pt__order_key *y) {
  if (x->timestamp_us != y->timestamp_us) {
    return x->timestamp_us < y->timestamp_us;
  }
  return x->ticket < y->ticket;
}

int pt__record_order(const void *a, const void *b) {
  const pt__order_key *x = a;
  const pt__order_key *y = b;
  return pt__key_before(x, y) ? -1 : pt__key_before(y, x);
}

int pt__records_grow(pt__records *r, size_t cap) {
  pt__record *items = realloc(r->items, cap * sizeof *items);
  if (items == NULL) {
    return PT_ERR_NOMEM;
  }
  r->items = items;
  pt__order_key *order = realloc(r->order, cap * sizeof *order);
  if (order == NULL) {
    /* Both hold count entries: the records are whole, only cap stays. */
    return PT_ERR_NOMEM;
  }
  r->order = order;
  r->cap = cap;
  return PT_OK;
}

/* One past the end of the ascending run of a[0..n) that starts at `from`. */
static size_t pt__run_end(const pt__order_key *a, size_t from, size_t n) {
  size_t i = from + 1;
  while (i < n && !pt__key_before(&a[i], &a[i - 1])) {
    i++;
  }
  return i;
}

/* Merges the ascending runs src[lo..mid) and src[mid..hi) into dst[lo..hi). */
static void pt__merge(const pt__order_key *src, size_t lo, size_t mid,
                      size_t hi, pt__order_key *dst) {
  size_t i = lo, j = mid, o = lo;
  while (i < mid && j < hi) {
    dst[o++] = pt__key_before(&src[j], &src[i]) ? src[j++] : src[i++];
  }
  while (i < mid) {
    dst[o++] = src[i++];
  }
  while (j < hi) {
    dst[o++] = src[j++];
  }
}

/*
 * A natural merge sort: each pass merges neighbouring ascending runs, as
 * they are in the data, into tmp and back.  Records read in slot order come
 * in few runs (each chunk's events are in order; a ring read after it
 * wrapped is two), so this takes a pass or a few where qsort takes log2(n);
 * in random order it is an ordinary merge sort.  Measured (sorting 65536
 * keys, then copying the records out in order): 13 ns a record in ring
 * order and 46 in random order, against 48 and 87 with glibc's qsort of
 * the keys, and 42 and 78 with its qsort of the 136-byte records.
 */
static void pt__order_sort(pt__order_key *keys, pt__order_key *tmp, size_t n) {
  pt__order_key *src = keys;
  pt__order_key *dst = tmp;
  for (;;) {
    size_t runs = 0;
    for (size_t lo = 0; lo < n;) {
      size_t mid = pt__run_end(src, lo, n);
      size_t hi = mid < n ? pt__run_end(src, mid, n) : n;
      pt__merge(src, lo, mid, hi, dst);
      runs++;
      lo = hi;
    }
    pt__order_key *swap = src;
    src = dst;
    dst = swap;
    if (runs <= 1) {
      break;
    }
  }
  if (src != keys) {
    memcpy(keys, src, n * sizeof *keys);
  }
}

void pt__records_sort(pt__records *r) {
  size_t n = r->count;
  for (size_t i = 1; i < n; i++) {
    if (pt__key_before(&r->order[i], &r->order[i - 1])) {
      /* Scratch for the merges, as qsort would allocate; without it,
       * qsort (which then sorts in place). */
      pt__order_key *tmp = malloc(n * sizeof *tmp);
      if (tmp == NULL) {
        qsort(r->order, n, sizeof *r->order, pt__record_order);
        return;
      }
      pt__order_sort(r->order, tmp, n);
      free(tmp);
      return;
    }
  }
}

void pt__records_release(pt__records *r) {
  free(r->items);
  free(r->order);
  memset(r, 0, sizeof *r);
}

/* ---- Snapshots ---------------------------------------------------------- */

struct pt__ring_snapshot {
  pt__records records; /* order[0..kept) is the snapshot */
  size_t kept;
  size_t next; /* of pt__ring_snapshot_next */
  pt__ring_counts counts;
  pt_dump_info info;
};

/* Reads every slot; counts the complete events a dump cannot hold. */
static int pt__snapshot_scan(pt__ring_snapshot *s, const pt_log *log) {
  pt__records *r = &s->records;
  for (uint64_t i = 0; i < log->capacity; i++) {
    if (pt__records_read(r, log, i) != 1) {
      continue; /* room was made for every slot: never PT_ERR_NOMEM */
    }
    /* Only what a dump can hold: pt_log_write refuses other events, so only
     * a log file of an older writer (or a damaged one) has them. */
    if (pt__event_valid(&r->items[r->count].event)) {
      pt__records_keep(r);
    } else {
      s->counts.left_out++;
    }
  }
  pt__records_sort(r);
  return PT_OK;
}

/* Drops repeats of a (time, ticket) pair: a ticket is one write of one slot,
 * so they come only from a corrupted log file, and a dump's loader requires
 * the pairs increasing. */
static void pt__snapshot_dedup(pt__ring_snapshot *s) {
  pt__records *r = &s->records;
  size_t kept = 0;
  for (size_t i = 0; i < r->count; i++) {
    if (kept == 0 || pt__record_order(&r->order[kept - 1], &r->order[i]) != 0) {
      r->order[kept++] = r->order[i];
    }
  }
  s->counts.left_out += r->count - kept;
  s->kept = kept;
}

static void pt__snapshot_describe(pt__ring_snapshot *s, const pt_log *log) {
  pt_log_stats stats;
  pt_log_get_stats(log, &stats); /* after the scan: covers what it missed */
  s->counts.overwritten = stats.overwritten;
  s->counts.dropped = stats.dropped;
  s->counts.rejected = stats.rejected;
  s->counts.unreadable = stats.unreadable;
  pt_dump_info *info = &s->info;
  info->format_version = PT_DUMP_FORMAT_VERSION;
  info->event_size = (uint32_t)sizeof(pt_event);
  info->capacity = log->capacity;
  info->event_count = s->kept;
  info->overwritten = stats.overwritten;
  /* Every event the log was given that is in neither the snapshot nor the
   * overwritten count (a dump has one counter for them). */
  info->dropped = stats.dropped + stats.rejected + s->counts.left_out;
  info->created_us = pt__clock_realtime_ns() / 1000u;
  /* The clock of the process that wrote the events (a log file may be
   * another process's). */
  info->clock_source = log->region.info.clock_source == PT_CLOCK_SOURCE_TSC
                           ? PT_CLOCK_SOURCE_TSC
                           : PT_CLOCK_SOURCE_REALTIME;
  pt_log_node_id(log, info->node_id);
  if (s->kept > 0) {
    info->first_us = pt__ring_snapshot_at(s, 0)->event.timestamp_us;
    info->last_us = pt__ring_snapshot_at(s, s->kept - 1)->event.timestamp_us;
  }
}

int pt__ring_snapshot_take(const pt_log *log, pt__ring_snapshot **out) {
  if (out == NULL) {
    return PT_ERR_INVALID;
  }
  *out = NULL;
  if (log == NULL) {
    return PT_ERR_INVALID;
  }
  pt__ring_snapshot *s = calloc(1, sizeof *s);
  if (s == NULL) {
    return PT_ERR_NOMEM;
  }
  if (pt__records_grow(&s->records, log->capacity) != PT_OK ||
      pt__snapshot_scan(s, log) != PT_OK) {
    pt__ring_snapshot_free(s);
    return PT_ERR_NOMEM;
  }
  pt__snapshot_dedup(s);
  pt__snapshot_describe(s, log);
  *out = s;
  return PT_OK;
}

size_t pt__ring_snapshot_count(const pt__ring_snapshot *s) {
  return s == NULL ? 0 : s->kept;
}

const pt__record *pt__ring_snapshot_at(const pt__ring_snapshot *s, size_t i) {
  if (s == NULL || i >= s->kept) {
    return NULL;
  }
  return pt__records_at(&s->records, i);
}

int pt__ring_snapshot_next(pt__ring_snapshot *s, pt_event *ev,
                           uint64_t *ticket) {
  if (s == NULL || ev == NULL) {
    return PT_ERR_INVALID;
  }
  if (s->next >= s->kept) {
    return 0;
  }
  const pt__record *rec = pt__records_at(&s->records, s->next++);
  *ev = rec->event;
  if (ticket != NULL) {
    *ticket = rec->ticket;
  }
  return 1;
}

void pt__ring_snapshot_rewind(pt__ring_snapshot *s) {
  if (s != NULL) {
    s->next = 0;
  }
}

const pt__ring_counts *pt__ring_snapshot_counts(const pt__ring_snapshot *s) {
  return s == NULL ? NULL : &s->counts;
}

const pt_dump_info *pt__ring_snapshot_info(const pt__ring_snapshot *s) {
  return s == NULL ? NULL : &s->info;
}

void pt__ring_snapshot_free(pt__ring_snapshot *s) {
  if (s != NULL) {
    pt__records_release(&s->records);
    free(s);
  }
}

/* ---- Cursors ------------------------------------------------------------ */

int pt__ring_cursor_init(pt__ring_cursor *c, const pt_log *log,
                         uint64_t *overwritten) {
  memset(c, 0, sizeof *c);
  c->log = log;
  c->lap = calloc(log->chunk_count, sizeof *c->lap);
  c->removed = calloc(log->chunk_count, sizeof *c->removed);
  c->passed = calloc(log->chunk_count, sizeof *c->passed);
  if (c->lap == NULL || c->removed == NULL || c->passed == NULL) {
    pt__ring_cursor_release(c);
    return PT_ERR_NOMEM;
  }
  uint64_t total = 0;
  for (uint64_t j = 0; j < log->chunk_count; j++) {
    uint64_t state;
    if (pt__chunk_removed(log, j, &c->removed[j], &state) != PT_OK) {
      pt__ring_cursor_release(c);
      return PT_ERR_LOG_CHANGED;
    }
    c->lap[j] = pt__state_lap(state);
    total += c->removed[j];
  }
  if (overwritten != NULL) {
    *overwritten = total;
  }
  return PT_OK;
}

/*
 * Whether the slot the read of chunk j stopped at is corrupt (a damaged
 * file) and to be passed over, counted: only where no writer can still
 * put an event there, i.e. a closed chunk or a writer gone, and if the
 * chunk's state held still around the look.
 */
static int pt__cursor_corrupt(const pt_log *log, uint64_t j, uint64_t index,
                              uint64_t state, int writer_gone) {
  if ((state & PT__STATE_OWNED) && !writer_gone) {
    return 0;
  }
  return pt__slot_corrupt(log, index, state) &&
         pt__log_chunk_state(log, j) == state;
}

int pt__ring_cursor_read(pt__ring_cursor *c, uint64_t j, pt__ring_step *step) {
  const pt_log *log = c->log;
  uint64_t state, removed;
  if (pt__chunk_removed(log, j, &removed, &state) != PT_OK) {
    return PT_ERR_LOG_CHANGED; /* rewritten all the time: not a log */
  }
  uint64_t lap = pt__state_lap(state);
  if (lap != c->lap[j]) {
    /* A count that went down means the file was replaced or edited: the
     * cursor cannot know what it missed, and starts over from here.
     * passed counts the corrupt slots passed over too: they are
     * reported as unreadable, not again as missed. */
    uint64_t lost = removed >= c->removed[j] ? removed - c->removed[j] : 0;
    step->missed += lost > c->passed[j] ? lost - c->passed[j] : 0;
    c->lap[j] = lap;
    c->removed[j] = removed;
    c->passed[j] = 0;
  }
  uint64_t first = j << log->chunk_shift;
  pt__record scratch;
  for (uint64_t i = c->passed[j]; i < log->chunk_size; i++) {
    /*
     * The chunk's one writer fills its slots in order: from the first slot
     * that is not a completed event of this lap on, nothing here is
     * passed this time, or a later event could overtake an earlier one.
     */
    pt__record *rec = &scratch;
    if (step->out != NULL) {
      if (pt__records_reserve(step->out) != PT_OK) {
        return PT_ERR_NOMEM;
      }
      rec = &step->out->items[step->out->count];
    }
    if (!pt__ring_read(log, first + i, rec) ||
        pt__ticket_lap(log, rec->ticket) != lap) {
      if (!pt__cursor_corrupt(log, j, first + i, state, step->writer_gone)) {
        break; /* in progress, not yet written, or a newer lap */
      }
      c->passed[j] = i + 1;
      step->unreadable++;
      continue;
    }
    if (rec->event.timestamp_us >= step->watermark_us) {
      break; /* too recent: the next read */
    }
    c->passed[j] = i + 1;
    if (step->out != NULL) {
      pt__records_keep(step->out);
    }
  }
  return PT_OK;
}

void pt__ring_cursor_release(pt__ring_cursor *c) {
  free(c->lap);
  free(c->removed);
  free(c->passed);
  c->lap = c->removed = c->passed = NULL;
}
