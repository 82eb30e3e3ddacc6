/*
 * pt_follow: following a live log, like tail -f, without ever writing to it.
 *
 * The follower reads the ring through a cursor (pt__ring_cursor,
 * pt_ring_read.h), which remembers, per chunk, the lap it last saw, the
 * chunk's removed count at that time, and how many of that lap's slots it
 * has already delivered (always a prefix: a chunk is filled in order).  When
 * a chunk's lap has moved on, the chunk lost exactly (removed now - removed
 * then) completed events since; those the follower had not delivered are
 * reported as missed.  Nothing is guessed: the counts are the log's own (see
 * pt_ring.h).
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

#include "pt_ring.h"
#include "pt_ring_read.h"

/* Events younger than this are held back for the next poll (see poll). */
#define PT__FOLLOW_MARGIN_US 1000u

struct pt_follow {
  const pt_log *log;
  pt__ring_cursor cursor; /* where each chunk was left (pt_ring_read.h) */
  uint64_t pending;       /* missed before creation, for the first poll */
  pt_follow_stats totals;
  pt__records items; /* a poll's events; room for the whole ring */
  pt_event *out;
};

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
  /* A poll reads each slot at most once: room for the whole ring (its sort
   * takes scratch, and sorts in place without it: a poll cannot fail for
   * memory). */
  f->out = malloc(log->capacity * sizeof *f->out);
  if (f->out == NULL || pt__records_grow(&f->items, log->capacity) != PT_OK) {
    pt_follow_destroy(f);
    return PT_ERR_NOMEM;
  }
  uint64_t overwritten = 0;
  int rv = pt__ring_cursor_init(&f->cursor, log, &overwritten);
  if (rv == PT_OK && (flags & PT_FOLLOW_FROM_START)) {
    /*
     * From the start means from the log's first event: those the ring
     * overwrote before now were written and will never be seen, so the
     * first poll reports them as missed.  (Counting from the chunks'
     * counts at creation lost them from seen + missed = written whenever
     * the follower started after the writer had lapped the ring, as
     * `peertrace tail --from-start` on a loaded machine did.)
     */
    f->pending = overwritten;
  } else if (rv == PT_OK) {
    /* What is there now counts as seen (corrupt slots too: not ours). */
    pt__ring_step mark = {pt_log_writer_status(log) != PT_WRITER_RUNNING,
                          UINT64_MAX, NULL, 0, 0};
    for (uint64_t j = 0; j < log->chunk_count && rv == PT_OK; j++) {
      rv = pt__ring_cursor_read(&f->cursor, j, &mark);
    }
  }
  if (rv != PT_OK) {
    pt_follow_destroy(f);
    return rv;
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
  pt__ring_step step = {status != PT_WRITER_RUNNING, UINT64_MAX, &f->items, 0,
                        0};
  if (status == PT_WRITER_RUNNING) {
    step.watermark_us = pt_clock_now_us() - PT__FOLLOW_MARGIN_US;
  }
  f->items.count = 0;
  int pass_rv = PT_OK; /* PT_ERR_LOG_CHANGED: a chunk record never held still */
  for (uint64_t j = 0; j < f->log->chunk_count; j++) {
    int rc = pt__ring_cursor_read(&f->cursor, j, &step);
    if (rc != PT_OK && pass_rv == PT_OK) {
      pass_rv = rc;
    }
  }
  /*
   * After the pass: a file truncated or rewritten under it may have fed it
   * zeros or another log's words (pt_region_guard.c); nothing of this pass
   * is delivered then, and the error says why.
   */
  int rv = pt__region_verify(&f->log->region, NULL);
  if (rv == PT_OK) {
    rv = pass_rv;
  }
  if (rv != PT_OK) {
    *events = f->out;
    *count = 0;
    *missed = 0;
    return rv;
  }
  pt__records_sort(&f->items);
  size_t n = f->items.count;
  for (size_t i = 0; i < n; i++) {
    f->out[i] = pt__records_at(&f->items, i)->event;
  }
  *events = f->out;
  *count = n;
  *missed = step.missed + f->pending;
  f->pending = 0;
  f->totals.delivered += n;
  f->totals.missed += *missed;
  f->totals.unreadable += step.unreadable;
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
  pt__ring_cursor_release(&f->cursor);
  pt__records_release(&f->items);
  free(f->out);
  free(f);
}
