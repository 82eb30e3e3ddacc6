/*
 * peertrace - the ngtcp2 adapter (optional component, library
 * peertrace_quic, built when ngtcp2 and GnuTLS are found).
 *
 * It records the transport events of one ngtcp2 connection into a pt_log
 * with real values:
 *
 *   conn_init         the remote endpoint          pt_quic_tracer_conn_init()
 *   conn_established  smoothed rtt, from ngtcp2_conn_get_conn_stat, in the
 *                     handshake_completed callback
 *   stream_opened     peer-opened: the stream_open callback; locally opened:
 *                     pt_quic_tracer_stream_opened()
 *   stream_data       received: the recv_stream_data callback (offset,
 *                     length, fin); sent: pt_quic_tracer_stream_sent()
 *   packet_sent       packet number, size, pn space  } parsed from ngtcp2's
 *   packet_received   packet number, size, pn space  } own qlog records
 *   packet_lost       packet number, pn space        } (settings.qlog.write)
 *
 * ngtcp2 0.12 has no per-packet callback: packet numbers, sizes and losses
 * exist only in its qlog output, so the adapter installs a qlog writer and
 * parses the few fields it needs with a bounds-checked parser (the text is
 * treated as untrusted input; records it cannot parse are counted in
 * pt_quic_stats.qlog_rejected, never guessed).  Your own qlog writer, if you
 * had one, is still called with every record.
 *
 * Every event carries the log's node id (the log belongs to one node), the
 * peer id given to the tracer and the tracer's trace context.
 *
 * How to adopt it (see docs/quic-guide.md for the whole walk-through):
 *
 *   struct my_conn {
 *     PT_TRACE_FIELD(pt_quic_tracer tracer;)  // MUST be the first member
 *     ngtcp2_conn *conn;
 *     ...
 *   };
 *   ...fill ngtcp2_callbacks cb and ngtcp2_settings settings as usual...
 *   PT_IF_TRACE(pt_quic_tracer_init(&c->tracer, log, peer_id, ctx);
 *               pt_quic_tracer_install(&c->tracer, &cb, &settings);)
 *   ngtcp2_conn_client_new(&c->conn, ..., &cb, &settings, ..., c);
 *
 * The user_data given to ngtcp2_conn_{client,server}_new must point to a
 * struct whose first member is the pt_quic_tracer (C guarantees that a
 * pointer to a struct points to its first member): qlog writers and
 * callbacks receive only that pointer.  A server must set
 * settings.qlog.odcid itself (to the client's original destination cid), as
 * ngtcp2 requires for qlog.
 *
 * Release builds (PT_TRACE 0): no function here is declared or linked; the
 * type pt_quic_tracer still exists but code should declare its instances
 * with PT_TRACE_FIELD and call the functions inside PT_IF_TRACE, so that
 * nothing is installed, parsed or stored.
 */
#ifndef PEERTRACE_PT_QUIC_H
#define PEERTRACE_PT_QUIC_H

#include <peertrace/peertrace.h>

#include <ngtcp2/ngtcp2.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the tracer saw on its connection (pt_quic_tracer.stats). */
typedef struct pt_quic_stats {
  uint64_t packets_sent;     /* qlog packet_sent records recorded */
  uint64_t packets_received; /* qlog packet_received records recorded */
  uint64_t packets_lost;     /* qlog packet_lost records recorded */
  uint64_t bytes_sent;       /* sum of recorded packet_sent sizes */
  uint64_t bytes_received;   /* sum of recorded packet_received sizes */
  uint64_t qlog_records;     /* qlog records seen (all names) */
  uint64_t qlog_rejected;    /* packet records that did not parse */
} pt_quic_stats;

/*
 * One per ngtcp2 connection.  Fields are public so it can be embedded; set
 * them through the functions below.  Not thread-safe: like the ngtcp2_conn
 * it traces, it belongs to the thread driving that connection.
 */
typedef struct pt_quic_tracer {
  pt_log *log;              /* where events go */
  pt_trace_ctx ctx;         /* trace context of the connection */
  uint8_t peer_id[32];      /* remote node id, if has_peer */
  int has_peer;             /* 1 if peer_id is set */
  pt_quic_stats stats;      /* counters, see above */
  ngtcp2_duration last_rtt; /* smoothed rtt (ns) at handshake completion */
  /* The application's own callbacks, called by the adapter's wrappers. */
  ngtcp2_handshake_completed app_handshake_completed;
  ngtcp2_stream_open app_stream_open;
  ngtcp2_recv_stream_data app_recv_stream_data;
  ngtcp2_qlog_write app_qlog_write;
} pt_quic_tracer;

/* Longest qlog record the parser examines; longer ones are rejected. */
#define PT_QUIC_QLOG_MAX_RECORD 65536u

#if PT_TRACE

/*
 * pt_quic_tracer_init: prepares a tracer for one connection.
 * log: the node's log (must outlive the tracer); peer_id: the remote node's
 * 32-byte id, or NULL if not known yet (pt_quic_tracer_set_peer later);
 * ctx: trace context under which the connection's events are recorded.
 * Returns PT_OK; PT_ERR_INVALID if t or log is NULL.
 * Thread-safety: touches only *t.
 */
PT_API int pt_quic_tracer_init(pt_quic_tracer *t, pt_log *log,
                               const uint8_t *peer_id, pt_trace_ctx ctx);

/*
 * pt_quic_tracer_set_peer: sets (or replaces) the remote node id; events
 * recorded from now on carry it.  Returns PT_OK; PT_ERR_INVALID on NULL.
 */
PT_API int pt_quic_tracer_set_peer(pt_quic_tracer *t, const uint8_t *peer_id);

/*
 * pt_quic_tracer_install: hooks the tracer into a connection about to be
 * created.  Saves the application's handshake_completed, stream_open,
 * recv_stream_data and qlog.write (any may be NULL) in *t and replaces them
 * with the adapter's wrappers, which record and then call the saved ones
 * with unchanged arguments.  Call it after filling *callbacks and *settings
 * and before ngtcp2_conn_{client,server}_new; the connection's user_data
 * must point to *t (see above).
 * Returns PT_OK; PT_ERR_INVALID if an argument is NULL or callbacks are
 * already the adapter's (installed twice).
 * Thread-safety: touches only its arguments.
 */
PT_API int pt_quic_tracer_install(pt_quic_tracer *t,
                                  ngtcp2_callbacks *callbacks,
                                  ngtcp2_settings *settings);

/*
 * pt_quic_tracer_conn_init: records conn_init with the remote address
 * (struct sockaddr_in / sockaddr_in6 and its length).
 * Returns PT_OK; PT_ERR_INVALID for NULL or an unsupported address.
 */
PT_API int pt_quic_tracer_conn_init(pt_quic_tracer *t, const void *remote_sa,
                                    size_t remote_sa_len);

/*
 * pt_quic_tracer_stream_opened: records stream_opened for a stream the
 * application opened itself (ngtcp2 calls stream_open only for streams the
 * peer opens).  Returns PT_OK; PT_ERR_INVALID if t is NULL.
 */
PT_API int pt_quic_tracer_stream_opened(pt_quic_tracer *t, int64_t stream_id);

/*
 * pt_quic_tracer_stream_sent: records stream_data for bytes ngtcp2 accepted
 * from the application (the pdatalen of ngtcp2_conn_writev_stream) at the
 * given stream offset; fin: 1 if this write carried the FIN.
 * Returns PT_OK; PT_ERR_INVALID if t is NULL.
 */
PT_API int pt_quic_tracer_stream_sent(pt_quic_tracer *t, int64_t stream_id,
                                      uint64_t offset, uint64_t length,
                                      int fin);

/*
 * pt_quic_qlog_parse: the parser behind the qlog hook, exposed for tests
 * and for tools that read ngtcp2 qlog files.  Parses one qlog record
 * data[0..len) (untrusted; no NUL needed) and, if it is a packet_sent,
 * packet_received or packet_lost record, fills *ev with that kind and its
 * real packet number, size and pn space (trace id and peer left zero).
 * Returns 1 if *ev was filled; 0 for a well-formed record of another kind;
 * PT_ERR_PARSE for a packet record missing a field or out of range, or a
 * record longer than PT_QUIC_QLOG_MAX_RECORD; PT_ERR_INVALID on NULL.
 * Reads no byte outside data[0..len).  Thread-safety: safe.
 */
PT_API int pt_quic_qlog_parse(const void *data, size_t len, pt_event *ev);

#endif /* PT_TRACE */

#ifdef __cplusplus
}
#endif

#endif /* PEERTRACE_PT_QUIC_H */
