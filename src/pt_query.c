/*
 * pt_query: queries over a live log.
 *
 * Two ways to find events, one way to return them.  The scan path reads
 * every slot once through the ring's reader (pt__ring_read, see
 * pt_ring_read.h).  The indexed path (PT_TRACE_INDEX, see pt_index.h) reads
 * only the slots the block summaries and slot tags point at, and the blocks
 * of chunks still being written whole; it first indexes the blocks of chunks
 * closed since the last query (pt__index_block_view), the work the writers
 * do not do.  Both keep a slot only if the copy is whole and its full key
 * matches, then sort by (timestamp, ticket) (pt__records_sort).  Ring order
 * is not time order: writer threads fill separate chunks, so no query stops
 * at the first older event.
 *
 * The pt_log_* functions are the scan path over a throw-away pt_query.
 */
#include <stdlib.h>
#include <string.h>

#include "pt_common.h"
#include "pt_ring.h"
#include "pt_ring_read.h"
#if PT_TRACE_INDEX
#include "pt_index.h"
#endif

struct pt_query {
  const pt_log *log;
#if PT_TRACE_INDEX
  pt__index *index; /* NULL: scan.  Queries build it (pt_index.c). */
#endif
  pt__records found; /* scratch: the matches of the current query */
};

/* What a query keeps: one key, or a time window. */
typedef enum pt__key_kind {
  PT__KEY_ALL,
  PT__KEY_TRACE,
  PT__KEY_PEER,
  PT__KEY_TIME
} pt__key_kind;

typedef struct pt__key {
  pt__key_kind kind;
  const pt_trace_id *trace_id;
  const uint8_t *peer_id;
  uint64_t start_us;
  uint64_t end_us;
} pt__key;

static int pt__key_match(const pt__key *key, const pt_event *ev) {
  switch (key->kind) {
  case PT__KEY_TRACE:
    return memcmp(&ev->trace_id, key->trace_id, sizeof ev->trace_id) == 0;
  case PT__KEY_PEER:
    return (ev->flags & PT_EVENT_HAS_PEER) != 0 &&
           memcmp(ev->peer_id, key->peer_id, sizeof ev->peer_id) == 0;
  case PT__KEY_TIME:
    return ev->timestamp_us >= key->start_us && ev->timestamp_us < key->end_us;
  case PT__KEY_ALL:
    break;
  }
  return 1;
}

/* Reads slot `index` and keeps its event if whole and matching `key`.
 * Returns 1 if kept, 0 if not, PT_ERR_NOMEM. */
static int pt__read_keep(pt_query *q, uint64_t index, const pt__key *key) {
  if (pt__records_reserve(&q->found) != PT_OK) {
    return PT_ERR_NOMEM;
  }
  pt__record *f = &q->found.items[q->found.count];
  if (pt__ring_read(q->log, index, f) && pt__key_match(key, &f->event)) {
    pt__records_keep(&q->found);
    return 1;
  }
  return 0;
}

/* Scan path: every slot.  stop_at_first: for contains_trace. */
static int pt__scan(pt_query *q, const pt__key *key, int stop_at_first) {
  for (uint64_t i = 0; i < q->log->capacity; i++) {
    int kept = pt__read_keep(q, i, key);
    if (kept < 0) {
      return kept;
    }
    if (kept && stop_at_first) {
      break;
    }
  }
  return PT_OK;
}

#if PT_TRACE_INDEX
/*
 * Reads every slot of index block `block` (one the index cannot answer
 * for).  Returns 1 if stop_at_first and a match was kept, else PT_OK or
 * PT_ERR_NOMEM.
 */
static int pt__read_block(pt_query *q, uint64_t block, const pt__key *key,
                          int stop_at_first) {
  uint64_t base = block << q->index->chunk_shift;
  for (uint64_t i = base; i < base + q->index->chunk_size; i++) {
    int kept = pt__read_keep(q, i, key);
    if (kept < 0) {
      return kept;
    }
    if (kept && stop_at_first) {
      return 1;
    }
  }
  return PT_OK;
}

/* Indexed path for one trace or peer id: filters, then tags, then slots. */
static int pt__index_find(pt_query *q, const pt__key *key, int stop_at_first) {
  pt__index *ix = q->index;
  int peer = key->kind == PT__KEY_PEER;
  uint64_t h = peer ? pt__index_hash_peer_id(key->peer_id)
                    : pt__index_hash_trace_id(key->trace_id);
  uint16_t tag = pt__filter_tag(h);
  for (uint64_t chunk = 0; chunk < ix->chunk_count; chunk++) {
    pt__block_view view = pt__index_block_view(ix, q->log, chunk);
    if (view == PT__BLOCK_SCAN) {
      int rc = pt__read_block(q, chunk, key, stop_at_first);
      if (rc != PT_OK) {
        return rc < 0 ? rc : PT_OK;
      }
      continue;
    }
    if (view == PT__BLOCK_EMPTY ||
        !pt__index_chunk_may_hold(ix, chunk, peer, h)) {
      continue;
    }
    uint64_t base = chunk << ix->chunk_shift;
    for (uint64_t i = base; i < base + ix->chunk_size; i++) {
      if (pt__index_tag(ix, i, peer) != tag) {
        continue;
      }
      int kept = pt__read_keep(q, i, key);
      if (kept < 0) {
        return kept;
      }
      if (kept && stop_at_first) {
        return PT_OK;
      }
    }
  }
  return PT_OK;
}

/* Reads every slot of the blocks whose time bounds meet [start, end). */
static int pt__index_time(pt_query *q, const pt__key *key) {
  pt__index *ix = q->index;
  for (uint64_t chunk = 0; chunk < ix->chunk_count; chunk++) {
    pt__block_view view = pt__index_block_view(ix, q->log, chunk);
    if (view == PT__BLOCK_EMPTY) {
      continue;
    }
    if (view == PT__BLOCK_INDEXED) {
      uint64_t min, max;
      pt__index_chunk_times(ix, chunk, &min, &max);
      if (max < key->start_us || min >= key->end_us) {
        continue;
      }
    }
    if (pt__read_block(q, chunk, key, 0) < 0) {
      return PT_ERR_NOMEM;
    }
  }
  return PT_OK;
}

typedef struct pt__chunk_order {
  uint64_t ts_max;
  uint64_t chunk;
} pt__chunk_order;

static int pt__chunk_order_newest_first(const void *a, const void *b) {
  const pt__chunk_order *x = a;
  const pt__chunk_order *y = b;
  PT__CMP(y->ts_max, x->ts_max); /* the larger first */
  return 0;
}

/*
 * The newest n: visits chunks by falling ts_max and stops at the first
 * chunk whose every event is older than the n-th newest event found so far
 * (a tie could still win on ticket order, so ties are visited).
 */
static int pt__index_recent(pt_query *q, size_t n) {
  pt__index *ix = q->index;
  pt__chunk_order *order = malloc(ix->chunk_count * sizeof *order);
  if (order == NULL) {
    return PT_ERR_NOMEM;
  }
  uint64_t blocks = 0;
  for (uint64_t chunk = 0; chunk < ix->chunk_count; chunk++) {
    pt__block_view view = pt__index_block_view(ix, q->log, chunk);
    if (view == PT__BLOCK_EMPTY) {
      continue;
    }
    uint64_t min;
    order[blocks].chunk = chunk;
    /* A block the index cannot answer for may hold the newest events. */
    order[blocks].ts_max = UINT64_MAX;
    if (view == PT__BLOCK_INDEXED) {
      pt__index_chunk_times(ix, chunk, &min, &order[blocks].ts_max);
    }
    blocks++;
  }
  qsort(order, blocks, sizeof *order, pt__chunk_order_newest_first);
  pt__key all = {.kind = PT__KEY_ALL};
  int have_threshold = 0;
  uint64_t threshold = 0;
  int rc = PT_OK;
  for (uint64_t k = 0; k < blocks; k++) {
    if (have_threshold && order[k].ts_max < threshold) {
      break;
    }
    uint64_t base = order[k].chunk << ix->chunk_shift;
    for (uint64_t i = base; i < base + ix->chunk_size && rc == PT_OK; i++) {
      rc = pt__read_keep(q, i, &all) < 0 ? PT_ERR_NOMEM : PT_OK;
    }
    if (rc != PT_OK) {
      break;
    }
    if (!have_threshold && q->found.count >= n) {
      /* More events can only raise the n-th newest: a safe bound. */
      pt__records_sort(&q->found);
      threshold = q->found.order[q->found.count - n].timestamp_us;
      have_threshold = 1;
    }
  }
  free(order);
  return rc;
}
#endif /* PT_TRACE_INDEX */

static int pt__query_uses_index(const pt_query *q) {
#if PT_TRACE_INDEX
  return q->index != NULL && pt__index_usable(q->index, q->log->region.fd >= 0);
#else
  (void)q;
  return 0;
#endif
}

/*
 * Sorts the matches and hands back the newest `limit` of them as a
 * malloc'ed array.
 */
static int pt__finish(pt_query *q, size_t limit, pt_event **out,
                      size_t *count) {
  size_t n = q->found.count;
  pt__records_sort(&q->found);
  size_t first = n > limit ? n - limit : 0;
  size_t kept = n - first;
  if (kept > 0) {
    pt_event *events = malloc(kept * sizeof *events);
    if (events == NULL) {
      return PT_ERR_NOMEM;
    }
    for (size_t i = 0; i < kept; i++) {
      events[i] = pt__records_at(&q->found, first + i)->event;
    }
    *out = events;
    *count = kept;
  }
  return PT_OK;
}

/* Runs one query: finds the matches of `key` and returns the newest limit. */
static int pt__run(pt_query *q, const pt__key *key, size_t limit,
                   pt_event **out, size_t *count) {
  if (out == NULL || count == NULL) {
    return PT_ERR_INVALID;
  }
  *out = NULL;
  *count = 0;
  q->found.count = 0;
  if (limit == 0) {
    return PT_OK;
  }
  int rc;
#if PT_TRACE_INDEX
  if (pt__query_uses_index(q)) {
    if (key->kind == PT__KEY_TIME) {
      rc = pt__index_time(q, key);
    } else if (key->kind == PT__KEY_ALL) {
      rc = pt__index_recent(q, limit);
    } else {
      rc = pt__index_find(q, key, 0);
    }
  } else
#endif
  {
    rc = pt__scan(q, key, 0);
  }
  if (rc == PT_OK) {
    rc = pt__finish(q, limit, out, count);
  }
  return rc;
}

/* ---- pt_query ----------------------------------------------------------- */

int pt_query_create(pt_query **out, const pt_log *log, unsigned flags) {
  if (out == NULL) {
    return PT_ERR_INVALID;
  }
  *out = NULL;
  if (log == NULL || (flags & ~PT_QUERY_SCAN) != 0) {
    return PT_ERR_INVALID;
  }
  pt_query *q = calloc(1, sizeof *q);
  if (q == NULL) {
    return PT_ERR_NOMEM;
  }
  q->log = log;
#if PT_TRACE_INDEX
  q->index = (flags & PT_QUERY_SCAN) ? NULL : log->index;
#endif
  *out = q;
  return PT_OK;
}

void pt_query_destroy(pt_query *query) {
  if (query != NULL) {
    pt__records_release(&query->found);
    free(query);
  }
}

int pt_query_is_indexed(const pt_query *query) {
  return query != NULL && pt__query_uses_index(query);
}

int pt_query_get_trace(pt_query *query, const pt_trace_id *trace_id,
                       pt_event **out, size_t *count) {
  if (query == NULL || trace_id == NULL) {
    return PT_ERR_INVALID;
  }
  pt__key key = {.kind = PT__KEY_TRACE, .trace_id = trace_id};
  return pt__run(query, &key, SIZE_MAX, out, count);
}

int pt_query_recent(pt_query *query, size_t n, pt_event **out, size_t *count) {
  if (query == NULL) {
    return PT_ERR_INVALID;
  }
  pt__key key = {.kind = PT__KEY_ALL};
  return pt__run(query, &key, n, out, count);
}

int pt_query_time_range(pt_query *query, uint64_t start_us, uint64_t end_us,
                        pt_event **out, size_t *count) {
  if (query == NULL || start_us > end_us) {
    return PT_ERR_INVALID;
  }
  pt__key key = {.kind = PT__KEY_TIME, .start_us = start_us, .end_us = end_us};
  return pt__run(query, &key, SIZE_MAX, out, count);
}

int pt_query_by_peer(pt_query *query, const uint8_t *peer_id, pt_event **out,
                     size_t *count) {
  if (query == NULL || peer_id == NULL) {
    return PT_ERR_INVALID;
  }
  pt__key key = {.kind = PT__KEY_PEER, .peer_id = peer_id};
  return pt__run(query, &key, SIZE_MAX, out, count);
}

int pt_query_contains_trace(pt_query *query, const pt_trace_id *trace_id) {
  if (query == NULL || trace_id == NULL) {
    return PT_ERR_INVALID;
  }
  pt__key key = {.kind = PT__KEY_TRACE, .trace_id = trace_id};
  query->found.count = 0;
  int rc;
#if PT_TRACE_INDEX
  if (pt__query_uses_index(query)) {
    rc = pt__index_find(query, &key, 1);
  } else
#endif
  {
    rc = pt__scan(query, &key, 1);
  }
  if (rc < 0) {
    return rc;
  }
  return query->found.count > 0;
}

int pt_peer_stats_add(pt_peer_stats *stats, const pt_event *ev) {
  if (stats == NULL || ev == NULL) {
    return PT_ERR_INVALID;
  }
  if (stats->events++ == 0) {
    stats->first_seen_us = ev->timestamp_us;
  }
  stats->last_seen_us = ev->timestamp_us;
  switch (ev->kind) {
  case PT_EV_PACKET_SENT:
    stats->packets_sent++;
    stats->bytes_sent += ev->data.packet_sent.size;
    break;
  case PT_EV_PACKET_RECEIVED:
    stats->packets_received++;
    stats->bytes_received += ev->data.packet_received.size;
    return PT_OK;
  case PT_EV_PACKET_LOST:
    stats->packets_lost++;
    break;
  case PT_EV_CONN_ESTABLISHED:
    stats->last_rtt_us = ev->data.conn_established.rtt_us; /* time order */
    return PT_OK;
  default:
    return PT_OK;
  }
  if (stats->packets_sent > 0) {
    stats->loss_rate =
        (double)stats->packets_lost / (double)stats->packets_sent;
  }
  return PT_OK;
}

int pt_query_analyze_peer(pt_query *query, const uint8_t *peer_id,
                          pt_peer_stats *out) {
  if (query == NULL || peer_id == NULL || out == NULL) {
    return PT_ERR_INVALID;
  }
  memset(out, 0, sizeof *out);
  pt_event *events;
  size_t n;
  int rc = pt_query_by_peer(query, peer_id, &events, &n);
  if (rc != PT_OK) {
    return rc;
  }
  for (size_t i = 0; i < n; i++) {
    pt_peer_stats_add(out, &events[i]);
  }
  pt_events_free(events);
  return PT_OK;
}

/* ---- The scan queries: pt_log_* ----------------------------------------- */

/* Runs `key` over a throw-away scanning query of `log`. */
static int pt__log_scan(const pt_log *log, const pt__key *key, size_t limit,
                        pt_event **out, size_t *count) {
  if (log == NULL || out == NULL || count == NULL) {
    return PT_ERR_INVALID;
  }
  pt_query q;
  memset(&q, 0, sizeof q);
  q.log = log;
  int rc = pt__run(&q, key, limit, out, count);
  pt__records_release(&q.found);
  return rc;
}

int pt_log_recent(const pt_log *log, size_t n, pt_event **out, size_t *count) {
  pt__key key = {.kind = PT__KEY_ALL};
  return pt__log_scan(log, &key, n, out, count);
}

int pt_log_query_trace(const pt_log *log, const pt_trace_id *trace_id,
                       pt_event **out, size_t *count) {
  if (trace_id == NULL) {
    return PT_ERR_INVALID;
  }
  pt__key key = {.kind = PT__KEY_TRACE, .trace_id = trace_id};
  return pt__log_scan(log, &key, SIZE_MAX, out, count);
}

int pt_log_query_time_range(const pt_log *log, uint64_t start_us,
                            uint64_t end_us, pt_event **out, size_t *count) {
  if (start_us > end_us) {
    return PT_ERR_INVALID;
  }
  pt__key key = {.kind = PT__KEY_TIME, .start_us = start_us, .end_us = end_us};
  return pt__log_scan(log, &key, SIZE_MAX, out, count);
}

int pt_log_query_peer(const pt_log *log, const uint8_t *peer_id, pt_event **out,
                      size_t *count) {
  if (peer_id == NULL) {
    return PT_ERR_INVALID;
  }
  pt__key key = {.kind = PT__KEY_PEER, .peer_id = peer_id};
  return pt__log_scan(log, &key, SIZE_MAX, out, count);
}

void pt_events_free(pt_event *events) {
  free(events);
}
