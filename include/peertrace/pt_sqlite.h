/*
 * peertrace - the events of a pipeline as an SQLite database.
 *
 * pt_sqlite_export runs a pt_pipeline (pt_pipeline.h) into an SQLite
 * database the caller opened (a file, or ":memory:" to answer one query):
 * the schema below, every event that passes the pipeline's filter, and the
 * hops of every request as pt_request (pt_request.h) finds them, in one
 * transaction with prepared statements.  It is a sink of its own, not a
 * pt_export_format: the exporters write text to a FILE *, a database is
 * not a stream of text.  It lives in the library peertrace_sqlite (built
 * when CMake finds libsqlite3 and PT_SQLITE is ON), so that libpeertrace
 * itself does not depend on SQLite.
 *
 * Schema (docs/cli.md "SQL" has example queries):
 *
 *   nodes(node, node_id, clock_status, times, offset_us, drift_ppm,
 *         bound_us, t0_us)
 *       node: the pipeline's source index; node_id: 64 hex digits;
 *       clock_status: reference, aligned, unaligned, inconsistent, unsolved
 *       (or raw for a pipeline on recorded times); times: aligned or raw;
 *       offset_us, drift_ppm, bound_us, t0_us: the estimate, for aligned
 *       nodes only (NULL otherwise).
 *   events(id, node, time_us, raw_time_us, kind, trace, peer, peer_node,
 *          conn, pn, space, size, stream_id, offset, length, fin, sent,
 *          command, ok, duration_us, rtt_us, latest_rtt_us, min_rtt_us,
 *          smoothed_rtt_us, rtt_variance_us, cwnd, bytes_in_flight)
 *       id: 1, 2, ... in the pipeline's (time) order; time_us: on the
 *       timeline (aligned unless the pipeline is on raw time); raw_time_us:
 *       as recorded; kind: pt_event_kind_name; trace: 32 hex digits (NULL:
 *       none); peer: the peer id, 64 hex digits (NULL: none); peer_node:
 *       the node whose id that is, if it is one of the inputs; conn: 16 hex
 *       digits (NULL: none); space: initial, handshake, application; the
 *       other columns hold the event's field of that name, NULL for kinds
 *       without it (size: a packet's bytes; command: an app event's command
 *       by name, "APPID/cmd" without a name; ok, duration_us: app_end;
 *       rtt_us: conn_established; latest_rtt_us .. bytes_in_flight:
 *       recovery_metrics, latest_rtt_us and min_rtt_us NULL before the
 *       connection's first RTT sample, smoothed_rtt_us then the stack's
 *       initial guess).
 *   connections(conn, node, role, peer_node, first_us, last_us, sent,
 *               received, lost)
 *       one row per connection and node that recorded events of it: role
 *       client if the node's first packet event of it is a sent Initial,
 *       server if a received one, else unknown; packet counts.
 *   hops(trace, hop, kind, sender, receiver, command, sent_us,
 *        received_us, end_us, ok, conn, stream_id, packets, lost,
 *        retransmissions, repeats, recovered, recovery_us)
 *       pt_request_hops of every trace with an app_command (hop: 1, 2, ...
 *       as peertrace request numbers them; kind request
 *       or reply; sender, receiver: node indices, NULL if not an input).
 *   hop_packets(trace, hop, pn, space, size, sent_us, received_us, lost,
 *               retransmits_pn, retransmits_lost, recovery_us)
 *       pt_request_packets of each hop (retransmits_pn NULL if the packet
 *       repeats no earlier one).
 * Views:
 *   packet_pairs(conn, space, pn, from_node, to_node, size, sent_us,
 *                received_us, delay_us): each packet_sent joined with the
 *                peer's packet_received of the same conn, space and pn.
 *   request_hops: hops with the sender's and receiver's node ids and
 *                 latency_us (received_us - sent_us).
 *
 * Trace builds only (PT_TRACE).  Thread-safety: as the pipeline and db.
 */
#ifndef PEERTRACE_PT_SQLITE_H
#define PEERTRACE_PT_SQLITE_H

#include <peertrace/pt_pipeline.h>

#ifdef __cplusplus
extern "C" {
#endif

#if PT_TRACE

struct sqlite3;

/*
 * The settings for a new database file that nothing else reads until the
 * export is done (what `peertrace export sqlite` runs before
 * pt_sqlite_export): 16 KiB pages (an eighth less CPU than the default
 * 4 KiB in bench_sqlite), no rollback journal and no fsync (a failed
 * export is thrown away whole, not repaired), the file locked for the
 * connection alone.
 */
#define PT_SQLITE_NEW_FILE_PRAGMAS                                             \
  "PRAGMA page_size=16384; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"   \
  " PRAGMA locking_mode=EXCLUSIVE"

/*
 * pt_sqlite_export: creates the schema above in db (which must not have
 * these tables yet) and fills it from every event of p that passes its
 * filter, from the first, in one transaction (rolled back on failure).
 * namer (may be NULL) names app commands.  message (may be NULL) receives
 * SQLite's message for PT_ERR_IO ("" otherwise).  Returns PT_OK;
 * PT_ERR_INVALID (NULL p or db); PT_ERR_NOMEM; PT_ERR_IO for an SQLite
 * error; the pipeline's errors (pt_pipeline_message says which source).
 */
PT_API int pt_sqlite_export(pt_pipeline *p, struct sqlite3 *db,
                            pt_app_namer namer, void *namer_user, char *message,
                            size_t message_size);

#endif /* PT_TRACE */

#ifdef __cplusplus
}
#endif

#endif /* PEERTRACE_PT_SQLITE_H */
