/*
 * peertrace - one pipeline from the traces of several nodes to one timeline.
 *
 * A pt_pipeline takes sources, each one node's events:
 *   - dump files (pt_log_dump_save),
 *   - log files of running, exited or crashed processes (pt_log_config.
 *     file_path), read through a snapshot taken when they are added,
 *   - live logs of this process (pt_log_create), snapshotted likewise;
 * merges them by time, aligns their clocks, filters the events (trace id,
 * peer id, kinds, time range, connection identity) and hands them on, one
 * at a time, to an exporter (pt_pipeline_export), a callback
 * (pt_pipeline_run) or the caller (pt_pipeline_next).  Everything stays in
 * memory and streams: dumps are read as they go (constant memory), a log's
 * snapshot holds that log's events (160 bytes a slot of its capacity),
 * and alignment keeps the packet events (pt_align.h; ~70 bytes each in
 * bench_merge).
 *
 * Times.  By default the timeline is on the clock of a reference node (the
 * first source, or pt_pipeline_set_reference): pt_pipeline_start reads every
 * source once and gives its packet events to a pt_align (pt_align.h), which
 * estimates each node's clock offset and drift from the packets the nodes
 * exchanged; each event's timestamp is then mapped with pt_align_time.  A
 * node that cannot be aligned (no path of two-way connections to the
 * reference, or packets that contradict a linear clock) keeps its recorded
 * times; pt_pipeline_clock says, per node, which it is and with what
 * estimate and bound, so that a tool never moves a timestamp silently.
 * With pt_pipeline_set_raw_time the recorded times are used throughout and
 * nothing is estimated.  The raw time of every event is handed out next to
 * the timeline's.
 *
 * Sources with the same node id (two dumps of one node) are one clock:
 * aligned together, with the same estimate.
 *
 * Order: by time on the timeline, then source index, then the source's own
 * order (recorded time, then ticket: the write order).  Deterministic:
 * the same sources and options give the same stream.
 *
 * Use: pt_pipeline_new; pt_pipeline_add_* for every source (its index is
 * its node index everywhere below, in order of adding); options
 * (set_reference, set_raw_time, set_filter); pt_pipeline_start (optional:
 * the first next/run/export starts it); then the events; pt_pipeline_free.
 *
 * Errors: functions return PT_OK (or 1/0 where said) or a negative
 * PT_ERR_* code; after a failure pt_pipeline_message says what and names
 * the source ("node1.ptd: dump checksum mismatch: ...").
 * Thread-safety: one pipeline is used by one thread at a time; adding a
 * live log is safe while its writers write (pt__ring_snapshot_take).
 * Trace builds only (PT_TRACE), like the rest of the read side.
 */
#ifndef PEERTRACE_PT_PIPELINE_H
#define PEERTRACE_PT_PIPELINE_H

#include <peertrace/peertrace.h>
#include <peertrace/pt_align.h>

#ifdef __cplusplus
extern "C" {
#endif

#if PT_TRACE

typedef struct pt_pipeline pt_pipeline;

/*
 * Which events go through.  Every condition given must hold; zero-filled
 * (and pt_pipeline_filter_init) means every event.
 */
typedef struct pt_pipeline_filter {
  /* The first trace_nibbles hex digits of the trace id (32: the whole id;
   * 0: any).  Events without a trace id never match a trace filter. */
  pt_trace_id trace;
  unsigned trace_nibbles;
  /* With a trace filter: the events of these connections (pt_event_conn)
   * pass it too, whatever their trace id: a request's packets are recorded
   * under their connection's trace, not the request's (pt_request.h).  The
   * array is not copied: it must stay valid while the filter is used. */
  const uint64_t *trace_conns;
  size_t trace_conn_count;
  /* The first peer_nibbles hex digits of the peer id (64: whole; 0: any);
   * events without a peer id (PT_EVENT_HAS_PEER) do not match. */
  uint8_t peer[32];
  unsigned peer_nibbles;
  uint64_t kinds; /* bit (1 << kind) per kind let through; 0: any */
  /* since_us <= t < until_us, t on the timeline (aligned unless raw). */
  uint64_t since_us;
  uint64_t until_us;
  uint64_t conn; /* connection identity (pt_event_conn); 0: any */
} pt_pipeline_filter;

/* pt_pipeline_filter_init: the filter of every event (until_us max). */
PT_API void pt_pipeline_filter_init(pt_pipeline_filter *f);

/*
 * pt_pipeline_filter_match: whether ev passes f (its timestamp_us taken as
 * the timeline's), as the pipeline decides it; for events that come from
 * elsewhere (a follower).  0 for NULL.
 */
PT_API int pt_pipeline_filter_match(const pt_pipeline_filter *f,
                                    const pt_event *ev);

/* pt_pipeline_new: an empty pipeline.  PT_OK; PT_ERR_INVALID; NOMEM. */
PT_API int pt_pipeline_new(pt_pipeline **out);

/* pt_pipeline_free: frees it and closes its sources.  NULL is ignored. */
PT_API void pt_pipeline_free(pt_pipeline *p);

/*
 * Adding sources (before pt_pipeline_start; *index, if not NULL, receives
 * the source's index; at most 65536 sources).  `name` is how messages name
 * the source (copied; NULL: "source N").
 *
 * pt_pipeline_add_dump: opens and validates the dump at path (as
 * pt_dump_reader_open) and names it by path.  Returns PT_OK, PT_ERR_INVALID
 * (NULL, too many), PT_ERR_STATE (started), PT_ERR_NOMEM, or the errors of
 * pt_dump_reader_open.
 *
 * pt_pipeline_add_dump_reader: takes an open reader (the pipeline closes it,
 * also on failure).  PT_OK, PT_ERR_INVALID (NULL, too many), PT_ERR_STATE
 * (started), PT_ERR_NOMEM.
 *
 * pt_pipeline_add_log: a snapshot of log (a pt_log_create log or a
 * pt_log_open view) taken now; the log may be closed afterwards.  Writers
 * go on and are never blocked.  A view's file is not checked here: call
 * pt_log_check(log) after this if it may have been truncated meanwhile.
 * PT_OK, PT_ERR_INVALID (NULL, too many), PT_ERR_STATE (started),
 * PT_ERR_NOMEM.
 *
 * pt_pipeline_add_log_file: opens the log file at path (pt_log_open: of
 * this user, any writer state), snapshots it, checks that the file did not
 * change meanwhile (pt_log_check), closes it.  Returns PT_OK, the errors
 * of pt_log_open and pt_log_check, PT_ERR_INVALID (NULL, too many),
 * PT_ERR_STATE (started), PT_ERR_NOMEM.
 */
PT_API int pt_pipeline_add_dump(pt_pipeline *p, const char *path,
                                unsigned *index);
PT_API int pt_pipeline_add_dump_reader(pt_pipeline *p, pt_dump_reader *reader,
                                       const char *name, unsigned *index);
PT_API int pt_pipeline_add_log(pt_pipeline *p, const pt_log *log,
                               const char *name, unsigned *index);
PT_API int pt_pipeline_add_log_file(pt_pipeline *p, const char *path,
                                    unsigned *index);

/* How many sources; a source's name and header (a log's: its snapshot's,
 * as a dump of it would say); NULL for an unknown index. */
PT_API unsigned pt_pipeline_source_count(const pt_pipeline *p);
PT_API const char *pt_pipeline_source_name(const pt_pipeline *p,
                                           unsigned index);
PT_API const pt_dump_info *pt_pipeline_source_info(const pt_pipeline *p,
                                                   unsigned index);

/*
 * Options, before pt_pipeline_start.  set_reference: the node whose clock
 * is the timeline's (default 0).  set_raw_time: nonzero = recorded times,
 * no alignment.  PT_OK; PT_ERR_INVALID (NULL, unknown index); PT_ERR_STATE
 * (started).
 */
PT_API int pt_pipeline_set_reference(pt_pipeline *p, unsigned index);
PT_API int pt_pipeline_set_raw_time(pt_pipeline *p, int raw);

/*
 * pt_pipeline_set_max_drift: the largest rate difference between two
 * clocks the alignment allows (pt_align_set_max_drift: ppm, > 0 and <=
 * 10000; default PT_ALIGN_MAX_DRIFT_PPM).  Before start.  PT_OK;
 * PT_ERR_INVALID (NULL, out of range or NaN); PT_ERR_STATE (started).
 */
PT_API int pt_pipeline_set_max_drift(pt_pipeline *p, double ppm);

/*
 * pt_pipeline_set_filter: the events handed out from now on (the filter is
 * copied; NULL: every event).  May change between passes (after
 * pt_pipeline_rewind).  PT_OK; PT_ERR_INVALID (NULL p, since >= until).
 */
PT_API int pt_pipeline_set_filter(pt_pipeline *p, const pt_pipeline_filter *f);

/*
 * pt_pipeline_start: aligns the clocks (unless raw time, or one source: a
 * pass over every event of every source, then pt_align_solve) and
 * positions the pipeline at the first event.  PT_OK; PT_ERR_INVALID (NULL);
 * PT_ERR_STATE (no source yet, started twice); PT_ERR_NOMEM; a source's
 * read error (IO, DUMP_EVENT: the dump changed since it was validated).
 */
PT_API int pt_pipeline_start(pt_pipeline *p);

/*
 * pt_pipeline_clock: node index's clock as the timeline uses it (after
 * start).  Status PT_CLOCK_REFERENCE for the reference node (and the one
 * source of a one-source pipeline: t0_us the middle of its span, as
 * pt_align gives a reference), PT_CLOCK_ALIGNED if its times are
 * mapped, PT_CLOCK_UNALIGNED / PT_CLOCK_INCONSISTENT if they are left as
 * recorded, PT_CLOCK_UNSOLVED for every node with raw time.  PT_OK;
 * PT_ERR_INVALID (NULL, unknown index); PT_ERR_STATE (not started).
 */
PT_API int pt_pipeline_clock(const pt_pipeline *p, unsigned index,
                             pt_clock_estimate *out);

/* The reference node (the timeline's clock), after start. */
PT_API unsigned pt_pipeline_reference(const pt_pipeline *p);

/*
 * pt_pipeline_aligner: the aligner the pipeline solved (for its packet
 * pairs: pt_align_pairs, pt_align_unreceived), node indices as the
 * sources' (but sources with the node id of an earlier one, e.g. two dumps
 * of one node, are one clock: they share the earlier one's index, and the
 * indices of the later sources shift down); NULL before start, with raw
 * time, or with one source.  Owned by the pipeline.
 */
PT_API const pt_align *pt_pipeline_aligner(const pt_pipeline *p);

/*
 * pt_pipeline_span: the first and last timestamp on the timeline of every
 * event of every source, filters aside (0, 0 if there are none).  PT_OK;
 * PT_ERR_INVALID (NULL); PT_ERR_STATE (not started).
 */
PT_API int pt_pipeline_span(const pt_pipeline *p, uint64_t *first_us,
                            uint64_t *last_us);

/*
 * pt_pipeline_next: the next event that passes the filter: *ev with its
 * timestamp on the timeline, *node its source, *raw_us (may be NULL) its
 * recorded timestamp.  Starts the pipeline if needed.  Returns 1 with an
 * event, 0 at the end, or an error (see pt_pipeline_start).
 */
PT_API int pt_pipeline_next(pt_pipeline *p, pt_event *ev, unsigned *node,
                            uint64_t *raw_us);

/* pt_pipeline_rewind: back to the first event.  PT_OK, PT_ERR_INVALID
 * (NULL), PT_ERR_STATE (not started) or a read error. */
PT_API int pt_pipeline_rewind(pt_pipeline *p);

/*
 * pt_pipeline_run: from the first event, calls fn for every event that
 * passes the filter (as pt_pipeline_next hands them out); fn returns 0 to
 * go on, anything else stops the run and is returned.  Returns PT_OK, fn's
 * value, or an error (see pt_pipeline_start).
 */
typedef int (*pt_pipeline_fn)(unsigned node, const pt_event *ev,
                              uint64_t raw_us, void *user);
PT_API int pt_pipeline_run(pt_pipeline *p, pt_pipeline_fn fn, void *user);

/*
 * pt_pipeline_exporter_nodes: declares every source to ex, in order, as
 * its nodes (exporter node i = source i; the exporter must have none yet),
 * each with its clock (pt_exporter_set_clock with pt_pipeline_clock's
 * estimate; not with raw time), so the export labels each node's times as
 * aligned, the reference's, or as recorded.  Starts the pipeline if needed.
 * PT_OK, PT_ERR_INVALID (NULL), PT_ERR_STATE (ex had other nodes already),
 * the exporter's errors, or a start error.
 *
 * pt_pipeline_export: pt_pipeline_exporter_nodes, then every event that
 * passes the filter, from the first, to pt_exporter_write, then
 * pt_exporter_finish.  Returns PT_OK or the first error (the exporter's:
 * PT_ERR_IO if writing failed; or the pipeline's).
 */
PT_API int pt_pipeline_exporter_nodes(pt_pipeline *p, pt_exporter *ex);
PT_API int pt_pipeline_export(pt_pipeline *p, pt_exporter *ex);

/*
 * pt_pipeline_message: what the last failure was, naming its source (""
 * if none); *source (may be NULL) receives its index, or UINT_MAX if the
 * failure was not a source's.  Valid until the next call on p.
 */
PT_API const char *pt_pipeline_message(const pt_pipeline *p, unsigned *source);

#endif /* PT_TRACE */

#ifdef __cplusplus
}
#endif

#endif /* PEERTRACE_PT_PIPELINE_H */
