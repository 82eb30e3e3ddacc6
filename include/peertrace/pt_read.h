/*
 * peertrace - reading a log back: queries (pt_log_query_*, the
 * pt_query engine) and followers of a live log (pt_follow_*).
 *
 * Included by peertrace.h, the header to include; it needs pt_core.h only.
 * Trace builds only: in release builds it declares nothing.
 */
#ifndef PEERTRACE_PT_READ_H
#define PEERTRACE_PT_READ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <peertrace/pt_core.h>

#ifdef __cplusplus
extern "C" {
#endif

#if PT_TRACE

/* ---- Queries (trace builds only) ---------------------------------------- */
/*
 * Every query takes a consistent look at the ring while writers go on: it
 * returns only events that were completely written (never a torn one) and
 * still in the ring when read, sorted by time (timestamp_us, ties broken by
 * write order).  Results are allocated with malloc: the caller owns *out and
 * frees it with pt_events_free().  With no match, *out is NULL and *count 0.
 * Errors: PT_ERR_INVALID for a NULL log, out or count; PT_ERR_NOMEM.
 * Thread-safety: safe with concurrent writers and other queries.
 */

/* pt_log_recent: the newest n events (fewer if the log holds fewer). */
PT_API int pt_log_recent(const pt_log *log, size_t n, pt_event **out,
                         size_t *count);

/* pt_log_query_trace: every event of one trace id. */
PT_API int pt_log_query_trace(const pt_log *log, const pt_trace_id *trace_id,
                              pt_event **out, size_t *count);

/*
 * pt_log_query_time_range: every event with start_us <= timestamp_us <
 * end_us.  Ring order is not time order under concurrent writers, so the
 * whole ring is examined.  PT_ERR_INVALID also if start_us > end_us.
 */
PT_API int pt_log_query_time_range(const pt_log *log, uint64_t start_us,
                                   uint64_t end_us, pt_event **out,
                                   size_t *count);

/* pt_log_query_peer: every event whose peer id equals peer_id[0..32). */
PT_API int pt_log_query_peer(const pt_log *log, const uint8_t *peer_id,
                             pt_event **out, size_t *count);

/* pt_events_free: frees a query result.  NULL is ignored. */
PT_API void pt_events_free(pt_event *events);

/* ---- Query engine: pt_query (trace builds only) ------------------------- */
/*
 * A pt_query answers repeated questions about one log.  It uses
 * the log's indices when the build has PT_TRACE_INDEX and the log was
 * created without no_index (see docs/indices.md), and scans the ring
 * otherwise or when created with PT_QUERY_SCAN.  Both ways give the answers
 * the scan queries above give: whole events still in the ring, exact
 * matches, sorted by time (timestamp_us, ties in write order).  Events
 * written while a query runs may or may not be in its answer; an event
 * completely written before the query began and not overwritten before it
 * ended always is.
 *
 * Memory: results are allocated with malloc; the caller owns *out and frees
 * it with pt_events_free().  With no match, *out is NULL and *count 0.  A
 * pt_query keeps scratch memory between calls (at most 160 bytes per ring
 * slot, grown on demand, freed by pt_query_destroy).
 *
 * Errors of every pt_query_* call: PT_ERR_INVALID for NULL arguments,
 * PT_ERR_NOMEM if memory is short.
 * Thread-safety: one thread at a time per pt_query (the scratch memory);
 * any number of pt_query objects may read one log while threads write it.
 * The log must outlive its pt_query objects.
 */
typedef struct pt_query pt_query;

/* pt_query_create flags. */
#define PT_QUERY_SCAN 0x1u /* never use indices: scan the ring */

/*
 * pt_query_create: a query object over `log`.  flags: 0 or PT_QUERY_SCAN.
 * Returns PT_OK and sets *out; PT_ERR_INVALID for NULL or unknown flags;
 * PT_ERR_NOMEM.
 */
PT_API int pt_query_create(pt_query **out, const pt_log *log, unsigned flags);

/* pt_query_destroy: frees the query object.  NULL is ignored. */
PT_API void pt_query_destroy(pt_query *query);

/* pt_query_is_indexed: 1 if the query uses indices, 0 if it scans. */
PT_API int pt_query_is_indexed(const pt_query *query);

/* pt_query_get_trace: every event of one trace id. */
PT_API int pt_query_get_trace(pt_query *query, const pt_trace_id *trace_id,
                              pt_event **out, size_t *count);

/* pt_query_recent: the newest n events (fewer if the log holds fewer). */
PT_API int pt_query_recent(pt_query *query, size_t n, pt_event **out,
                           size_t *count);

/*
 * pt_query_time_range: every event with start_us <= timestamp_us < end_us.
 * PT_ERR_INVALID also if start_us > end_us.
 */
PT_API int pt_query_time_range(pt_query *query, uint64_t start_us,
                               uint64_t end_us, pt_event **out, size_t *count);

/* pt_query_by_peer: every event whose peer id equals peer_id[0..32). */
PT_API int pt_query_by_peer(pt_query *query, const uint8_t *peer_id,
                            pt_event **out, size_t *count);

/*
 * pt_query_contains_trace: whether the log holds an event of the trace.
 * Indexed, the trace id bloom filters answer "no" for most absent ids
 * without reading the ring; a "maybe" is confirmed by reading the slot.
 * Returns 1 (yes), 0 (no), or PT_ERR_INVALID.
 */
PT_API int pt_query_contains_trace(pt_query *query,
                                   const pt_trace_id *trace_id);

/* Connection summary of one peer (pt_query_analyze_peer). */
typedef struct pt_peer_stats {
  uint64_t events;           /* events with this peer id */
  uint64_t packets_sent;     /* packet_sent events */
  uint64_t packets_received; /* packet_received events */
  uint64_t packets_lost;     /* packet_lost events */
  uint64_t bytes_sent;       /* sum of packet_sent sizes */
  uint64_t bytes_received;   /* sum of packet_received sizes */
  double loss_rate;          /* packets_lost / packets_sent; 0 if none sent */
  uint32_t last_rtt_us;      /* rtt of the newest conn_established; 0: none */
  uint64_t first_seen_us;    /* timestamp of the oldest event; 0: none */
  uint64_t last_seen_us;     /* timestamp of the newest event; 0: none */
} pt_peer_stats;

/*
 * pt_query_analyze_peer: the health of the connection to one peer: counts
 * the peer's events still in the ring into *out (all zero if none).
 */
PT_API int pt_query_analyze_peer(pt_query *query, const uint8_t *peer_id,
                                 pt_peer_stats *out);

/*
 * pt_peer_stats_add: counts one event into *stats the way
 * pt_query_analyze_peer counts each of the peer's events, for a caller
 * that gathers a peer's events its own way (from dumps, say): start from a
 * zeroed pt_peer_stats and give the events in time order.  The event's
 * peer id is not looked at.  PT_OK; PT_ERR_INVALID (NULL).
 */
PT_API int pt_peer_stats_add(pt_peer_stats *stats, const pt_event *ev);

/* ---- Following a live log (like tail -f) -------------------------------- */

typedef struct pt_follow pt_follow;

/*
 * pt_follow_create flags: follow from the log's first event: deliver the
 * events already in the log, and count those it overwrote before the
 * follower was created as missed (in the first poll), so that delivered +
 * missed = every event written.  Without it the follower starts at now.
 */
#define PT_FOLLOW_FROM_START 1u

/*
 * pt_follow_create: a follower of a log (typically a pt_log_open view of a
 * running process's file).  It only reads: writers are never blocked or
 * slowed.  Returns PT_OK; PT_ERR_INVALID; PT_ERR_NOMEM; PT_ERR_LOG_CHANGED
 * if a chunk's record kept changing through thousands of looks (a process
 * rewriting the file all the time; the look is bounded, never a hang).
 * Thread-safety: one follower per thread; many followers may share a log.
 */
PT_API int pt_follow_create(pt_follow **out, const pt_log *log, unsigned flags);

/*
 * pt_follow_poll: the events completed since the previous poll, in time
 * order, in an array owned by the follower (valid until the next poll or
 * pt_follow_destroy).  While the writer runs, events of the last
 * millisecond are held back for the next poll (so that each writer thread's
 * events arrive in order); once it closed its log or died
 * (pt_log_writer_status), everything is delivered.  *missed receives the number
 * of events that were written and overwritten between two polls, unseen (the
 * follower was lapped), plus in the first poll of a PT_FOLLOW_FROM_START
 * follower those overwritten before it was created: exact, from the log's
 * per-chunk overwrite counts.  Over the follower's life, delivered + missed
 * = events written since its start (the log's first event with
 * PT_FOLLOW_FROM_START), dropped events aside.
 * Returns PT_OK; PT_ERR_INVALID for NULL arguments; for a log file, the
 * errors of pt_log_check (checked after each pass: the file was truncated
 * or rewritten while read; *count and *missed are then 0, and the log
 * cannot be followed further); PT_ERR_LOG_CHANGED also, the same way, if a
 * chunk's record kept changing through thousands of looks (see
 * pt_follow_create).
 */
PT_API int pt_follow_poll(pt_follow *follow, const pt_event **events,
                          size_t *count, uint64_t *missed);

/* What a follower has seen since it was created (pt_follow_get_stats). */
typedef struct pt_follow_stats {
  uint64_t delivered; /* events returned by pt_follow_poll */
  uint64_t missed;    /* events overwritten unseen (sum of *missed) */
  /*
   * Slots of a damaged log file passed over: their sequence word is one no
   * writer leaves there, or their closed chunk says they hold an event that
   * is not there (as pt_log_stats.unreadable), whether or not it held an
   * event: delivered + missed <= events written since the follower's start
   * <= delivered + missed + unreadable (equal when nothing is damaged).
   */
  uint64_t unreadable;
} pt_follow_stats;

/*
 * pt_follow_get_stats: the follower's totals so far.  Returns PT_OK;
 * PT_ERR_INVALID for NULL.  Thread-safety: the follower's thread.
 */
PT_API int pt_follow_get_stats(const pt_follow *follow, pt_follow_stats *out);

/* pt_follow_destroy: frees the follower.  NULL is ignored. */
PT_API void pt_follow_destroy(pt_follow *follow);

#endif /* PT_TRACE */

#ifdef __cplusplus
}
#endif

#endif /* PEERTRACE_PT_READ_H */
