/*
 * peertrace - a local flight recorder for QUIC / peer-to-peer nodes.
 *
 * The one header to include, and the usage guide.  It holds the macros you
 * call; the types and functions they use are in <peertrace/pt_core.h>, the
 * application layer (PT_APP_*) in <peertrace/pt_app.h>, both included here.
 *
 * Quick start (trace build, i.e. compiled with PT_TRACE=1, which linking the
 * CMake target peertrace::peertrace from a tracing build does for you):
 *
 *   struct node {
 *     int fd;
 *     PT_TRACE_FIELD(pt_log *log;)           // member only in trace builds
 *   };
 *
 *   PT_IF_TRACE(pt_log_create(&node.log, NULL);)
 *   PT_PACKET_SENT(node.log, trace_id, len, pn);   // ~10 ns, or nothing
 *   PT_IF_TRACE(pt_log_destroy(node.log);)
 *
 * In a release build (PT_TRACE=0) every macro below expands to nothing and
 * its arguments are not compiled, so they may name trace-only members.
 *
 * Conventions: functions return 0 (PT_OK) or a negative PT_ERR_* code; the
 * hot path (pt_log_write and the PT_* event macros) never blocks, never
 * allocates, and needs no error handling: what it cannot record it counts.
 *
 * Where to read on: <peertrace/pt_core.h> for build switches (PT_TRACE,
 * PT_TRACE_APP, PT_TRACE_INDEX, PT_TRACE_SAMPLE, ...), the event and its
 * kinds, pt_log_create and its configuration, W3C traceparent;
 * <peertrace/pt_read.h> for queries (pt_log_query_*, pt_query) and
 * followers (pt_follow_*); <peertrace/pt_exporter.h> for dumps and exports.
 */
#ifndef PEERTRACE_PEERTRACE_H
#define PEERTRACE_PEERTRACE_H

#include <peertrace/pt_core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* The macros you call                                                       */
/* ======================================================================== */

/* ---- PT_PACKET_SENT and siblings: one macro per common event ----------- */
/* They are written in terms of PT_EMIT (below), so they vanish with it. */
#define PT_CONN_INIT(log, trace_id, peer_id, endpoint)                         \
  PT_EMIT_PEER(log, conn_init, trace_id, peer_id, endpoint)
#define PT_CONN_ESTABLISHED(log, trace_id, peer_id, rtt_us)                    \
  PT_EMIT_PEER(log, conn_established, trace_id, peer_id, rtt_us)
#define PT_STREAM_OPENED(log, trace_id, stream_id, local)                      \
  PT_EMIT(log, stream_opened, trace_id, stream_id, local)
#define PT_STREAM_DATA(log, trace_id, stream_id, offset, length, fin)          \
  PT_EMIT(log, stream_data, trace_id, stream_id, offset, length, fin)
#define PT_PACKET_SENT(log, trace_id, size, pn)                                \
  PT_EMIT(log, packet_sent, trace_id, pn, size, PT_PN_SPACE_APPLICATION)
#define PT_PACKET_RECEIVED(log, trace_id, size, pn)                            \
  PT_EMIT(log, packet_received, trace_id, pn, size, PT_PN_SPACE_APPLICATION)
#define PT_PACKET_LOST(log, trace_id, pn)                                      \
  PT_EMIT(log, packet_lost, trace_id, pn, PT_PN_SPACE_APPLICATION)
#define PT_CUSTOM(log, trace_id, category, code, data, len)                    \
  PT_EMIT(log, custom, trace_id, category, code, data, len)

#if PT_TRACE

/* ---- Trace builds: the macros record ------------------------------------ */

/* PT_IF_TRACE(stmts): the statements, in trace builds only. */
#define PT_IF_TRACE(...) __VA_ARGS__
/* PT_TRACE_FIELD(decls): struct members / declarations for trace builds. */
#define PT_TRACE_FIELD(...) __VA_ARGS__

/* PT_EVENT(log, ev): records a prepared pt_event (see pt_event_begin). */
#define PT_EVENT(log, ev)                                                      \
  do {                                                                         \
    pt_event pt__event_copy = (ev);                                            \
    if (PT_TRACE_SAMPLED(pt__event_copy.trace_id)) {                           \
      pt_log_write((log), &pt__event_copy);                                    \
    }                                                                          \
  } while (0)

/*
 * PT_EMIT(log, kind, trace_id, fields...): records an event of the given
 * kind (lower-case table name) with no peer; PT_EMIT_PEER also sets the
 * 32-byte peer id (a NULL peer_id means none).  Every kind in the table
 * works here with no extra code.  Fields as for pt_event_set_<kind>.
 * The event's trace flags are 0.
 */
#define PT_EMIT_PEER(log, kind, trace_id, peer_id, ...)                        \
  pt__emit_##kind((log), (trace_id), 0, (peer_id), __VA_ARGS__)
#define PT_EMIT(log, kind, trace_id, ...)                                      \
  pt__emit_##kind((log), (trace_id), 0, NULL, __VA_ARGS__)

/*
 * PT_EMIT_FLAGS(log, kind, trace_id, flags, fields...) and
 * PT_EMIT_PEER_FLAGS(log, kind, trace_id, flags, peer_id, fields...): the
 * same, for an event of a trace whose context is known: the event carries
 * its trace flags (a pt_trace_ctx's or a pt_msg_header's `flags`; only the
 * bits of PT_TRACE_FLAGS_MASK are kept), so that every event of a trace has
 * the flags its context has.
 */
#define PT_EMIT_PEER_FLAGS(log, kind, trace_id, flags, peer_id, ...)           \
  pt__emit_##kind((log), (trace_id), (pt_trace_flags)(flags), (peer_id),       \
                  __VA_ARGS__)
#define PT_EMIT_FLAGS(log, kind, trace_id, flags, ...)                         \
  pt__emit_##kind((log), (trace_id), (pt_trace_flags)(flags), NULL, __VA_ARGS__)

#else /* !PT_TRACE */

/* ---- Release builds: every macro expands to nothing --------------------- */
/*
 * Arguments are not evaluated (they are not even compiled), so they may name
 * variables and struct members that exist only in trace builds.  No function
 * of the library is declared: code that calls one belongs in PT_IF_TRACE.
 */
#define PT_IF_TRACE(...)
#define PT_TRACE_FIELD(...)
#define PT_EVENT(log, ev) ((void)0)
#define PT_EMIT_PEER(log, kind, trace_id, peer_id, ...) ((void)0)
#define PT_EMIT(log, kind, trace_id, ...) ((void)0)
#define PT_EMIT_PEER_FLAGS(log, kind, trace_id, flags, peer_id, ...) ((void)0)
#define PT_EMIT_FLAGS(log, kind, trace_id, flags, ...) ((void)0)

#endif /* PT_TRACE */

#ifdef __cplusplus
}
#endif

/* What the macros expand to (generated from the event table). */
#include <peertrace/detail/pt__emit.h>
/* Reading a log back: queries and followers. */
#include <peertrace/pt_read.h>
/* Dumps and exports. */
#include <peertrace/pt_exporter.h>
/* The application protocol layer (PT_APP_*, PT_TRACE_APP builds). */
#include <peertrace/pt_app.h>

#endif /* PEERTRACE_PEERTRACE_H */
