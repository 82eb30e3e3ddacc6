/*
 * pt_query: scan queries over a live log (recent, by trace, by time, by
 * peer).  Each query reads every slot once through the seqlock
 * (pt__log_read_slot), keeps the matching events with their tickets, and
 * sorts them by (timestamp, ticket).  Ring order is not time order: writer
 * threads fill separate chunks, so no query may stop at the first older
 * event, as the seed's time-range scan does.
 */
#include <stdlib.h>
#include <string.h>

#include "pt_log.h"

typedef struct pt__found {
  pt_event event;
  uint64_t ticket;
} pt__found;

typedef int (*pt__match_fn)(const pt_event *ev, const void *arg);

static int pt__found_compare(const void *a, const void *b) {
  const pt__found *x = a;
  const pt__found *y = b;
  if (x->event.timestamp_us != y->event.timestamp_us) {
    return x->event.timestamp_us < y->event.timestamp_us ? -1 : 1;
  }
  if (x->ticket != y->ticket) {
    return x->ticket < y->ticket ? -1 : 1;
  }
  return 0;
}

/*
 * Collects the events matching `match`, sorted, and hands back the newest
 * `limit` of them (all if limit is SIZE_MAX) as a malloc'ed pt_event array.
 */
static int pt__collect(const pt_log *log, pt__match_fn match, const void *arg,
                       size_t limit, pt_event **out, size_t *count) {
  if (log == NULL || out == NULL || count == NULL) {
    return PT_ERR_INVALID;
  }
  *out = NULL;
  *count = 0;
  pt__found *found = malloc(log->capacity * sizeof *found);
  if (found == NULL) {
    return PT_ERR_NOMEM;
  }
  size_t n = 0;
  for (uint64_t i = 0; i < log->capacity; i++) {
    if (pt__log_read_slot(log, i, &found[n].event, &found[n].ticket) &&
        (match == NULL || match(&found[n].event, arg))) {
      n++;
    }
  }
  qsort(found, n, sizeof *found, pt__found_compare);
  size_t first = n > limit ? n - limit : 0;
  size_t kept = n - first;
  if (kept > 0) {
    pt_event *events = malloc(kept * sizeof *events);
    if (events == NULL) {
      free(found);
      return PT_ERR_NOMEM;
    }
    for (size_t i = 0; i < kept; i++) {
      events[i] = found[first + i].event;
    }
    *out = events;
    *count = kept;
  }
  free(found);
  return PT_OK;
}

int pt_log_recent(const pt_log *log, size_t n, pt_event **out, size_t *count) {
  return pt__collect(log, NULL, NULL, n, out, count);
}

static int pt__match_trace(const pt_event *ev, const void *arg) {
  return memcmp(&ev->trace_id, arg, sizeof ev->trace_id) == 0;
}

int pt_log_query_trace(const pt_log *log, const pt_trace_id *trace_id,
                       pt_event **out, size_t *count) {
  if (trace_id == NULL) {
    return PT_ERR_INVALID;
  }
  return pt__collect(log, pt__match_trace, trace_id, SIZE_MAX, out, count);
}

typedef struct pt__time_window {
  uint64_t start_us;
  uint64_t end_us;
} pt__time_window;

static int pt__match_time(const pt_event *ev, const void *arg) {
  const pt__time_window *w = arg;
  return ev->timestamp_us >= w->start_us && ev->timestamp_us < w->end_us;
}

int pt_log_query_time_range(const pt_log *log, uint64_t start_us,
                            uint64_t end_us, pt_event **out, size_t *count) {
  if (start_us > end_us) {
    return PT_ERR_INVALID;
  }
  pt__time_window window = {start_us, end_us};
  return pt__collect(log, pt__match_time, &window, SIZE_MAX, out, count);
}

static int pt__match_peer(const pt_event *ev, const void *arg) {
  return (ev->flags & PT_EVENT_HAS_PEER) != 0 &&
         memcmp(ev->peer_id, arg, sizeof ev->peer_id) == 0;
}

int pt_log_query_peer(const pt_log *log, const uint8_t *peer_id, pt_event **out,
                      size_t *count) {
  if (peer_id == NULL) {
    return PT_ERR_INVALID;
  }
  return pt__collect(log, pt__match_peer, peer_id, SIZE_MAX, out, count);
}

void pt_events_free(pt_event *events) {
  free(events);
}
