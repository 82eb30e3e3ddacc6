/*
 * peertrace - dumps (files holding a snapshot of a log, their
 * readers) and exports (JSON, Chrome, qlog, OTLP, SVG) of logs and dumps.
 *
 * Included by peertrace.h, the header to include; it needs pt_core.h only.
 * Trace builds only: in release builds it declares nothing.
 */
#ifndef PEERTRACE_PT_EXPORTER_H
#define PEERTRACE_PT_EXPORTER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <peertrace/pt_core.h>

#ifdef __cplusplus
extern "C" {
#endif

#if PT_TRACE

/* ======================================================================== */
/* Dumps and exports (trace builds only)                                     */
/* ======================================================================== */
/*
 * A dump is a file holding a snapshot of one log: a versioned header (node
 * id, capacity, loss counters, clock), the events sorted by time, and CRC-32C
 * checksums.  The format is in docs/dump-format.md.  Exports turn events
 * (from a live log or from dumps) into formats other tools read.
 */

/* Clock sources recorded in a dump header (pt_dump_info.clock_source) and,
 * with the same values, in a log file's header. */
#define PT_CLOCK_SOURCE_TSC 1u      /* invariant TSC anchored to REALTIME */
#define PT_CLOCK_SOURCE_REALTIME 2u /* clock_gettime(CLOCK_REALTIME) */

/* What a dump header says. */
typedef struct pt_dump_info {
  uint32_t format_version; /* PT_DUMP_FORMAT_VERSION */
  uint32_t event_size;     /* 128 */
  uint64_t capacity;       /* ring slots of the log that was dumped */
  uint64_t event_count;    /* events in the file */
  uint64_t overwritten;    /* the log's counters when the dump was taken */
  uint64_t dropped;
  uint64_t created_us;   /* Unix microseconds when the dump was taken */
  uint64_t first_us;     /* timestamp of the first event (0: no events) */
  uint64_t last_us;      /* timestamp of the last event (0: no events) */
  uint32_t clock_source; /* PT_CLOCK_SOURCE_* */
  uint8_t node_id[32];   /* the log's node id */
} pt_dump_info;

/*
 * The version dumps are written with, and the oldest one read.  Version 2
 * added the stream_frame kind and the CONN / BOOL_X fields (pt_events.h),
 * which version-1 files read as 0; version 3 the recovery_metrics kind.
 */
#define PT_DUMP_FORMAT_VERSION 3u
#define PT_DUMP_FORMAT_VERSION_OLDEST 1u

/*
 * Why a dump could not be read, for people: e.g. "record 17 at offset 2440:
 * unknown event kind 99".  Every dump function that takes a pt_dump_error *
 * fills it on failure (NULL is allowed).
 */
typedef struct pt_dump_error {
  char message[192];
} pt_dump_error;

/*
 * pt_log_dump_save: writes a snapshot of the log to `path`.
 * Every event that is completely written when its slot is read is saved
 * whole (never torn); writers are never blocked and keep writing, so events
 * written during the save may or may not be in it.  Events a dump cannot
 * hold (the checks of pt_log_write, which refuses them; only a log file of
 * an older writer, or a damaged one, has them) are left out and counted in
 * the dump's dropped counter, which is the log's dropped + rejected + those:
 * a bad event never makes the dump unreadable.  The file is written to a
 * new temporary file (mode 0600, O_EXCL) beside `path` and then renamed over
 * `path`: readers never see a half-written dump, and a symlink at `path` is
 * replaced, never followed.
 * Returns PT_OK; PT_ERR_INVALID for NULL arguments; PT_ERR_NOMEM;
 * PT_ERR_IO if the file cannot be created or written (errno tells why).
 * Thread-safety: safe with concurrent writers and queries.
 */
PT_API int pt_log_dump_save(const pt_log *log, const char *path);

/* A streaming dump reader: events one at a time, in time order. */
typedef struct pt_dump_reader pt_dump_reader;

/*
 * pt_dump_reader_open: opens a dump and validates all of it before the first
 * event is handed out: header fields, sizes against the file's length,
 * checksums, and every record (known kind, zero reserved bits, time order).
 * Memory use is constant whatever the file holds.
 * Returns PT_OK; PT_ERR_INVALID for NULL out/path; PT_ERR_IO (cannot open or
 * read, errno tells why); PT_ERR_DUMP_MAGIC; PT_ERR_DUMP_VERSION;
 * PT_ERR_DUMP_TRUNCATED; PT_ERR_DUMP_HEADER; PT_ERR_DUMP_EVENT;
 * PT_ERR_DUMP_CHECKSUM; PT_ERR_NOMEM.  err (may be NULL) says more.
 * Thread-safety: a reader is used by one thread at a time.
 */
PT_API int pt_dump_reader_open(pt_dump_reader **out, const char *path,
                               pt_dump_error *err);

/*
 * pt_dump_reader_open_memory: as pt_dump_reader_open, over data[0..size)
 * (which must stay valid until the reader is closed).
 */
PT_API int pt_dump_reader_open_memory(pt_dump_reader **out, const void *data,
                                      size_t size, pt_dump_error *err);

/* pt_dump_reader_info: the header of an open dump. */
PT_API const pt_dump_info *pt_dump_reader_info(const pt_dump_reader *reader);

/*
 * pt_dump_reader_next: the next event and its ticket (write order in the
 * log; ticket may be NULL).  Returns 1 with an event, 0 at the end, or
 * PT_ERR_IO / PT_ERR_DUMP_EVENT if the file changed under the reader since
 * it was validated.
 */
PT_API int pt_dump_reader_next(pt_dump_reader *reader, pt_event *ev,
                               uint64_t *ticket, pt_dump_error *err);

/* pt_dump_reader_rewind: back to the first event.  Returns PT_OK/PT_ERR_IO. */
PT_API int pt_dump_reader_rewind(pt_dump_reader *reader);

/* pt_dump_reader_close: closes the reader.  NULL is ignored. */
PT_API void pt_dump_reader_close(pt_dump_reader *reader);

/* A whole dump in memory. */
typedef struct pt_dump {
  pt_dump_info info;
  pt_event *events; /* info.event_count events, sorted by time */
  size_t count;
} pt_dump;

/*
 * pt_dump_load: reads a whole dump into memory (events: malloc'ed), with
 * the validation of pt_dump_reader_open.  Returns as pt_dump_reader_open.
 * Thread-safety: safe (touches only *out).
 */
PT_API int pt_dump_load(const char *path, pt_dump *out, pt_dump_error *err);

/* pt_dump_release: frees what pt_dump_load allocated; *dump is zeroed. */
PT_API void pt_dump_release(pt_dump *dump);

/* ---- Exports ------------------------------------------------------------ */
/*
 * An exporter turns a time-ordered stream of events from one or more nodes
 * into one of the formats below, writing as it goes: memory stays small
 * whatever the number of events (except where a format says otherwise).
 * Use: pt_exporter_new, pt_exporter_add_node for every node (and
 * pt_exporter_set_clock for each, when the times are aligned), then
 * pt_exporter_write for each event in time order, then pt_exporter_finish
 * and pt_exporter_free.  Every format labels each node's times as aligned
 * or raw (see pt_exporter_set_clock); events are written from their
 * fields, as the event table (pt_events.h) names them.
 */
typedef enum pt_export_format {
  /*
   * {"nodes":[{"index","node_id","clock"}],"events":[...]}: every field
   * named and decoded, as pt_event_to_json writes it, plus node and title.
   */
  PT_EXPORT_JSON = 1,
  /*
   * qlog 0.3 JSON-SEQ (what qvis reads): one qlog trace for the events of
   * one node on one connection (pt_exporter_write refuses another node's
   * event, or one of a second non-zero conn, with PT_ERR_STATE; events
   * without a conn go with the trace).  vantage_point.type is "client" if
   * the node's first packet event is a sent Initial, "server" if a
   * received one, else "unknown"; group_id is the conn (16 hex digits:
   * the same at both ends) or, without one, the first event's trace id.
   * A finish without any event is refused (PT_ERR_NOT_FOUND): no
   * header-only file.  recovery:metrics_updated carries conn_established's
   * rtt_us as smoothed_rtt.  transport:,
   * recovery:, connectivity: event names; app and custom events appear as
   * peertrace: events.  The stream_frame events right after a packet_sent
   * or packet_received (same side, conn, space and pn) are the packet's
   * "frames"; other stream_frame events are peertrace: events.
   */
  PT_EXPORT_QLOG = 2,
  /*
   * Chrome trace JSON (ui.perfetto.dev, chrome://tracing, DevTools): one
   * process per node, with a track per connection (its events as instants,
   * packet and RTT counters), a "network" track for events without one,
   * and request lanes where each request (app_start .. app_end) is one
   * complete slice that nests with the rest of its lane; flow events (s/f)
   * draw each request hop, reply and delivered packet as an arrow across
   * nodes.  Times in us since the first event (docs/cli.md).
   */
  PT_EXPORT_CHROME = 3,
  /*
   * OTLP/JSON (OpenTelemetry Collector, file receiver): each app request
   * (app_start .. app_end of one trace id on one node) is a span, the
   * trace's other events on that node during the request are its span
   * events (at most 128; more are counted in droppedEventsCount).  Memory
   * grows with the requests open at the same time.
   */
  PT_EXPORT_OTLP = 4,
  /*
   * SVG sequence diagram of one trace: a lane per node, arrows for packets
   * matched across nodes (sent -> received by packet number), lost packets
   * marked.  Given also the events of the connections a request's
   * stream_data name, it draws each hop's packets, losses and
   * retransmissions (pt_request.h; rows are then the events of the first
   * app event's trace only).  Buffers the trace (at most 4096 events; the
   * rest are counted in the picture's footer).
   */
  PT_EXPORT_SVG = 5
} pt_export_format;

typedef struct pt_exporter pt_exporter;

/*
 * pt_app_namer: names an application command, e.g. ("DMAP", 1) ->
 * "STORE_CHUNK".  Writes a NUL-terminated name into out and returns 1, or
 * returns 0 to leave the command unnamed (shown as app id and number).
 */
typedef int (*pt_app_namer)(const uint8_t app_id[4], uint16_t cmd, char *out,
                            size_t out_size, void *user);

/*
 * pt_exporter_new: an exporter writing `format` to fp (not closed by it).
 * Returns PT_OK; PT_ERR_INVALID for NULL out/fp or an unknown format;
 * PT_ERR_NOMEM.  Thread-safety: an exporter is used by one thread.
 */
PT_API int pt_exporter_new(pt_exporter **out, pt_export_format format,
                           FILE *fp);

/* pt_exporter_set_app_namer: sets the command namer (NULL: none). */
PT_API int pt_exporter_set_app_namer(pt_exporter *ex, pt_app_namer namer,
                                     void *user);

/*
 * pt_exporter_add_node: declares a node before the first event; *index
 * receives its number for pt_exporter_write.  Returns PT_OK;
 * PT_ERR_INVALID for NULL arguments or past 65536 nodes; PT_ERR_STATE after
 * the first event (or pt_exporter_finish); PT_ERR_NOMEM.
 */
PT_API int pt_exporter_add_node(pt_exporter *ex, const uint8_t node_id[32],
                                unsigned *index);

/* The estimate of a node's clock: pt_align.h defines it (pt_align_estimate). */
struct pt_clock_estimate;

/*
 * pt_exporter_set_clock: says that node `node`'s events will come with
 * aligned timestamps (mapped onto the reference node's clock, e.g. with
 * pt_align_time) and how: *est is the node's estimate from
 * pt_align_estimate.  Call it after pt_exporter_add_node and before the
 * first event, once per node, the reference node included (its status
 * PT_CLOCK_REFERENCE names the reference in the labels).  The exporter
 * does not move any time; it labels each node's times in the output:
 *   - "aligned" for PT_CLOCK_ALIGNED and PT_CLOCK_REFERENCE, with the
 *     offset, drift and uncertainty bound (JSON: nodes[i].clock; qlog:
 *     common_fields.peertrace_clock; Chrome: the process name and
 *     process_labels; OTLP: peertrace.clock.* resource attributes);
 *   - "raw" (times as recorded) for nodes that could not be aligned
 *     (PT_CLOCK_UNALIGNED, PT_CLOCK_INCONSISTENT, PT_CLOCK_UNSOLVED), with
 *     the reason, and for every node without this call.
 * So do not call it for an export of recorded times.  *est is copied.
 * The numbers are shown for aligned times only; a node left as recorded
 * may have any (pt_align gives it an infinite bound).
 * Returns PT_OK; PT_ERR_INVALID for NULL, an unknown node, an unknown
 * status, or an estimate with status PT_CLOCK_ALIGNED or PT_CLOCK_REFERENCE
 * whose offset, drift or bound is not a finite number (bound < 0 too);
 * PT_ERR_STATE after the first event or pt_exporter_finish.
 */
PT_API int pt_exporter_set_clock(pt_exporter *ex, unsigned node,
                                 const struct pt_clock_estimate *est);

/*
 * pt_exporter_set_service: the name node `node` goes by as a service in
 * formats that have services (OTLP: the resource's service.name; default
 * "peertrace-<first 8 hex digits of the node id>").  Other formats ignore
 * it.  name: 1 to 63 bytes of printable ASCII, copied.  Call it after
 * pt_exporter_add_node and before the first event.  Returns PT_OK;
 * PT_ERR_INVALID for NULL, an unknown node, a name empty, too long or not
 * printable; PT_ERR_STATE after the first event.
 */
PT_API int pt_exporter_set_service(pt_exporter *ex, unsigned node,
                                   const char *name);

/*
 * pt_exporter_set_service_prefix: the default service name of every node
 * without pt_exporter_set_service becomes "<prefix>-<first 8 hex digits of
 * the node id>" (default prefix "peertrace").  Any time before the first
 * event.  prefix: 1 to 54 bytes of printable ASCII, copied.  Returns PT_OK;
 * PT_ERR_INVALID (NULL, empty, too long, not printable); PT_ERR_STATE
 * after the first event.
 */
PT_API int pt_exporter_set_service_prefix(pt_exporter *ex, const char *prefix);

/*
 * pt_exporter_write: exports one event of node `node`.  Events must come in
 * time order (non-decreasing timestamp_us across all nodes).
 * Returns PT_OK; PT_ERR_INVALID for NULL or an unknown node; PT_ERR_STATE
 * for an event older than the previous one, any event after
 * pt_exporter_finish, and (PT_EXPORT_QLOG) an event of a second node or
 * connection; PT_ERR_IO if writing failed; PT_ERR_NOMEM.
 */
PT_API int pt_exporter_write(pt_exporter *ex, unsigned node,
                             const pt_event *ev);

/*
 * pt_exporter_finish: writes what remains and closes the document; then
 * flushes fp.  Returns PT_OK or PT_ERR_IO (also for an earlier write error);
 * PT_ERR_NOT_FOUND for PT_EXPORT_QLOG without any event (nothing written);
 * PT_ERR_INVALID for NULL; PT_ERR_STATE if called before (nothing more is
 * written).
 */
PT_API int pt_exporter_finish(pt_exporter *ex);

/* pt_exporter_free: frees the exporter.  NULL is ignored. */
PT_API void pt_exporter_free(pt_exporter *ex);

/*
 * pt_log_export: exports the events of a live log in one call: those of
 * trace *trace_id, or every event if trace_id is NULL, in time order, as
 * one node (the log's node id), to fp.  Takes the same consistent look at
 * the ring as the queries (writers go on).  namer may be NULL.
 * Returns PT_OK; PT_ERR_INVALID for NULL log/fp or an unknown format, or
 * for PT_EXPORT_QLOG events of more than one connection (one qlog trace is
 * one connection: give the trace); PT_ERR_NOT_FOUND for PT_EXPORT_QLOG
 * without any event; PT_ERR_NOMEM; PT_ERR_IO.  Thread-safety: safe with
 * concurrent writers.
 */
PT_API int pt_log_export(const pt_log *log, const pt_trace_id *trace_id,
                         pt_export_format format, pt_app_namer namer,
                         void *namer_user, FILE *fp);

/*
 * pt_log_export_json: the events of one trace (or
 * all, if trace_id is NULL) as a PT_EXPORT_JSON document in a malloc'ed,
 * NUL-terminated string; the caller frees *out with free().
 * Returns PT_OK (and *out, *len); PT_ERR_INVALID; PT_ERR_NOMEM; PT_ERR_IO
 * (writing the string failed otherwise: never reported as PT_ERR_NOMEM).
 * Thread-safety: safe with concurrent writers.
 */
PT_API int pt_log_export_json(const pt_log *log, const pt_trace_id *trace_id,
                              char **out, size_t *len);

#endif /* PT_TRACE */

#ifdef __cplusplus
}
#endif

#endif /* PEERTRACE_PT_EXPORTER_H */
