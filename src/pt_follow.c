/*
 * pt_follow: following a live log, like tail -f, without ever writing to it.
 *
 * The follower remembers, per chunk, the lap it last saw, the chunk's
 * removed count at that time, and how many of that lap's slots it has
 * already delivered (always a prefix: a chunk is filled in order).  When a
 * chunk's lap has moved on, the chunk lost exactly (removed now - removed then)
 * completed events since; those the follower had not delivered are reported as
 * missed.  Nothing is guessed: the counts are the log's own (see pt_log.h).
 * From the start, the baseline is zero, not the counts at creation: what the
 * ring overwrote before the follower existed is missed too.  A damaged slot
 * (pt__slot_corrupt) where no writer can still write is passed over and
 * counted as unreadable (whether or not it held an event), so delivered +
 * missed <= written <= delivered + missed + unreadable, and = with no damage.
 *
 * Order: each poll delivers the events older than a watermark 1 ms before
 * now, sorted by time, so each writer thread's events arrive in its order
 * and, across threads, in time order unless one event's write took more
 * than that margin (a preempted writer).
 */
#include <stdlib.h>
#include <string.h>

#include "pt_log.h"

/* Events younger than this are held back for the next poll (see poll). */
#define PT__FOLLOW_MARGIN_US 1000u

typedef struct pt__follow_item {
  pt_event event;
  uint64_t ticket;
} pt__follow_item;

struct pt_follow {
  const pt_log *log;
  uint64_t *lap;       /* per chunk: lap field seen */
  uint64_t *removed;   /* per chunk: removed count seen */
  uint64_t *delivered; /* per chunk: slots of that lap delivered (prefix) */
  uint64_t pending;    /* missed before creation, for the first poll */
  pt_follow_stats totals;
  pt__follow_item *items;
  pt_event *out;
};

static int pt__follow_item_compare(const void *a, const void *b) {
  const pt__follow_item *x = a;
  const pt__follow_item *y = b;
  if (x->event.timestamp_us != y->event.timestamp_us) {
    return x->event.timestamp_us < y->event.timestamp_us ? -1 : 1;
  }
  return x->ticket < y->ticket ? -1 : (x->ticket > y->ticket);
}

/* One pass over the chunks (a poll, or the creation's marking). */
typedef struct pt__follow_pass {
  int deliver;     /* 0: only mark as delivered (creation) */
  int writer_gone; /* closed or died: nothing is in progress any more */
  uint64_t watermark_us;
  size_t n;            /* items filled */
  uint64_t unreadable; /* corrupt slots passed over */
  int rv;              /* PT_ERR_LOG_CHANGED: a chunk record never held still */
} pt__follow_pass;

/*
 * Whether the slot the scan of chunk j stopped at is corrupt (a damaged
 * file) and to be passed over, counted: only where no writer can still
 * put an event there, i.e. a closed chunk or a writer gone, and if the
 * chunk's state held still around the look.
 */
static int pt__follow_corrupt(const pt_log *log, uint64_t j, uint64_t index,
                              uint64_t state, int writer_gone) {
  if ((state & PT__STATE_OWNED) && !writer_gone) {
    return 0;
  }
  return pt__slot_corrupt(log, index, state) &&
         pt__log_chunk_state(log, j) == state;
}

/*
 * Scans chunk j.  Delivers (into items) the live events not yet delivered if
 * pass->deliver, else only marks them delivered.  Returns the number of
 * events the chunk lost unseen since the last scan.
 */
static uint64_t pt__follow_chunk(pt_follow *f, uint64_t j,
                                 pt__follow_pass *pass) {
  const pt_log *log = f->log;
  uint64_t state, removed;
  if (pt__chunk_removed(log, j, &removed, &state) != PT_OK) {
    pass->rv = PT_ERR_LOG_CHANGED; /* rewritten all the time: not a log */
    return 0;
  }
  uint64_t lap = pt__state_lap(state);
  uint64_t missed = 0;
  if (lap != f->lap[j]) {
    /* A count that went down means the file was replaced or edited: the
     * follower cannot know what it missed, and starts over from here.
     * delivered counts the corrupt slots passed over too: they are
     * reported as unreadable, not again as missed. */
    uint64_t lost = removed >= f->removed[j] ? removed - f->removed[j] : 0;
    missed = lost > f->delivered[j] ? lost - f->delivered[j] : 0;
    f->lap[j] = lap;
    f->removed[j] = removed;
    f->delivered[j] = 0;
  }
  uint64_t first = j << log->chunk_shift;
  for (uint64_t i = f->delivered[j]; i < log->chunk_size; i++) {
    /*
     * The chunk's one writer fills its slots in order: from the first slot
     * that is not a completed event of this lap on, nothing here is
     * delivered this time, or a later event could overtake an earlier one.
     */
    pt__follow_item *item = &f->items[pass->n];
    if (!pt__log_read_slot(log, first + i, &item->event, &item->ticket) ||
        pt__ticket_lap(log, item->ticket) != lap) {
      if (!pt__follow_corrupt(log, j, first + i, state, pass->writer_gone)) {
        break; /* in progress, not yet written, or a newer lap */
      }
      f->delivered[j] = i + 1;
      pass->unreadable++;
      continue;
    }
    if (item->event.timestamp_us >= pass->watermark_us) {
      break; /* too recent: the next poll */
    }
    f->delivered[j] = i + 1;
    if (pass->deliver) {
      pass->n++;
    }
  }
  return missed;
}

int pt_follow_create(pt_follow **out, const pt_log *log, unsigned flags) {
  if (out == NULL || log == NULL) {
    return PT_ERR_INVALID;
  }
  *out = NULL;
  pt_follow *f = calloc(1, sizeof *f);
  if (f == NULL) {
    return PT_ERR_NOMEM;
  }
  f->log = log;
  f->lap = calloc(log->chunk_count, sizeof *f->lap);
  f->removed = calloc(log->chunk_count, sizeof *f->removed);
  f->delivered = calloc(log->chunk_count, sizeof *f->delivered);
  f->items = malloc(log->capacity * sizeof *f->items);
  f->out = malloc(log->capacity * sizeof *f->out);
  if (f->lap == NULL || f->removed == NULL || f->delivered == NULL ||
      f->items == NULL || f->out == NULL) {
    pt_follow_destroy(f);
    return PT_ERR_NOMEM;
  }
  pt__follow_pass mark = {
      0,    pt_log_writer_status(log) != PT_WRITER_RUNNING, UINT64_MAX, 0, 0,
      PT_OK};
  for (uint64_t j = 0; j < log->chunk_count && mark.rv == PT_OK; j++) {
    uint64_t state;
    if (pt__chunk_removed(log, j, &f->removed[j], &state) != PT_OK) {
      mark.rv = PT_ERR_LOG_CHANGED;
      break;
    }
    f->lap[j] = pt__state_lap(state);
    if (flags & PT_FOLLOW_FROM_START) {
      /*
       * From the start means from the log's first event: those the ring
       * overwrote before now were written and will never be seen, so the
       * first poll reports them as missed.  (Counting from the chunks'
       * counts at creation lost them from seen + missed = written whenever
       * the follower started after the writer had lapped the ring, as
       * `peertrace tail --from-start` on a loaded machine did.)
       */
      f->pending += f->removed[j];
    } else {
      /* what is there now counts as seen (corrupt slots too: not ours) */
      pt__follow_chunk(f, j, &mark);
    }
  }
  if (mark.rv != PT_OK) {
    pt_follow_destroy(f);
    return mark.rv;
  }
  *out = f;
  return PT_OK;
}

int pt_follow_poll(pt_follow *f, const pt_event **events, size_t *count,
                   uint64_t *missed) {
  if (f == NULL || events == NULL || count == NULL || missed == NULL) {
    return PT_ERR_INVALID;
  }
  /*
   * Only events older than a watermark a little before now are delivered:
   * an event still being written when its chunk is scanned holds back the
   * rest of its chunk, and any later event of its thread is stamped after
   * the scan, so above the watermark.  Each writer thread's events thus
   * arrive in its order, and across threads in time order unless a write
   * takes longer than the margin.  A writer that closed its log or died
   * writes nothing more: everything is delivered.
   */
  int status = pt_log_writer_status(f->log);
  pt__follow_pass pass = {1,    status != PT_WRITER_RUNNING, UINT64_MAX, 0, 0,
                          PT_OK};
  if (status == PT_WRITER_RUNNING) {
    pass.watermark_us = pt_clock_now_us() - PT__FOLLOW_MARGIN_US;
  }
  uint64_t lost = 0;
  for (uint64_t j = 0; j < f->log->chunk_count; j++) {
    lost += pt__follow_chunk(f, j, &pass);
  }
  size_t n = pass.n;
  /*
   * After the pass: a file truncated or rewritten under it may have fed it
   * zeros or another log's words (pt_region_guard.c); nothing of this pass
   * is delivered then, and the error says why.
   */
  int rv = pt__region_verify(&f->log->region, NULL);
  if (rv == PT_OK) {
    rv = pass.rv; /* a chunk record that never held still */
  }
  if (rv != PT_OK) {
    *events = f->out;
    *count = 0;
    *missed = 0;
    return rv;
  }
  qsort(f->items, n, sizeof *f->items, pt__follow_item_compare);
  for (size_t i = 0; i < n; i++) {
    f->out[i] = f->items[i].event;
  }
  *events = f->out;
  *count = n;
  *missed = lost + f->pending;
  f->pending = 0;
  f->totals.delivered += n;
  f->totals.missed += *missed;
  f->totals.unreadable += pass.unreadable;
  return PT_OK;
}

int pt_follow_get_stats(const pt_follow *f, pt_follow_stats *out) {
  if (f == NULL || out == NULL) {
    return PT_ERR_INVALID;
  }
  *out = f->totals;
  return PT_OK;
}

void pt_follow_destroy(pt_follow *f) {
  if (f == NULL) {
    return;
  }
  free(f->lap);
  free(f->removed);
  free(f->delivered);
  free(f->items);
  free(f->out);
  free(f);
}
