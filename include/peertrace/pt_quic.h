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
 *   stream_data       received (sent=0): the recv_stream_data callback
 *                     (offset, length, fin), under the connection's trace;
 *                     sent (sent=1): pt_quic_tracer_stream_sent(), or
 *                     pt_quic_tracer_stream_sent_trace() under the trace of
 *                     the request or reply those bytes carry
 *   packet_sent       packet number, size, pn space  } parsed from ngtcp2's
 *   packet_received   packet number, size, pn space  } own qlog records
 *   packet_lost       packet number, pn space        } (settings.qlog.write)
 *   stream_frame      one per STREAM frame of a packet_sent (sent=1) or
 *                     packet_received (sent=0) record, right after the
 *                     packet's event: stream id, offset, length, fin, and
 *                     the packet's number and space.  At most
 *                     PT_QUIC_MAX_STREAM_FRAMES per packet; the rest are
 *                     counted in pt_quic_stats.frames_dropped.
 *   recovery_metrics  latest, min and smoothed RTT, RTT variance (us),
 *                     congestion window and bytes in flight, from
 *                     ngtcp2_conn_get_conn_stat (ns, so the RTTs keep
 *                     their microseconds, which the qlog's whole
 *                     milliseconds lose), read each time ngtcp2 writes a
 *                     qlog recovery:metrics_updated record, and recorded
 *                     only if one of the six values differs from the
 *                     connection's previous recovery_metrics (at most one
 *                     per such record).  The adapter learns the
 *                     ngtcp2_conn in the client_initial (client) or
 *                     recv_client_initial (server) callback, which ngtcp2
 *                     calls before any packet is sent, or failing those in
 *                     the first other callback it wraps; records before
 *                     that are counted in pt_quic_stats.metrics_no_conn.
 *
 * ngtcp2 0.12 has no per-packet callback: packet numbers, sizes, frames and
 * losses exist only in its qlog output, so the adapter installs a qlog
 * writer and parses the few fields it needs with a bounds-checked parser
 * (the text is treated as untrusted input; records it cannot parse are
 * counted in pt_quic_stats.qlog_rejected / frames_rejected, never guessed).
 * Your own qlog writer, if you had one, is still called with every record.
 *
 * Connection identity: every event above carries conn =
 * pt_conn_id_from_cid(original destination connection id), the same value
 * on both ends of the connection (see pt_events.h).  The tracer learns the
 * ODCID in one of two ways:
 *   - pt_quic_tracer_set_odcid(): the client's first dcid (the one it gives
 *     ngtcp2_conn_client_new), or on a server the client's dcid of the
 *     first Initial (hd.dcid of ngtcp2_accept).  Call it before the first
 *     event the application records itself (conn_init), since those come
 *     before ngtcp2 writes anything;
 *   - the qlog header record ngtcp2 writes when the connection is created:
 *     its trace.common_fields.group_id is the ODCID in hex (on a server,
 *     the settings.qlog.odcid it was given).  Used when the tracer has no
 *     ODCID yet; if it has one and the header disagrees, it keeps its own
 *     and counts the disagreement (pt_quic_stats.conn_mismatch).
 * Events recorded before either carry conn 0 (unknown).
 *
 * Every event carries the log's node id (the log belongs to one node), the
 * peer id given to the tracer and the tracer's trace context (except the
 * stream_data of pt_quic_tracer_stream_sent_trace, under the message's).
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
 *               pt_quic_tracer_set_odcid(&c->tracer, dcid.data,
 *                                        dcid.datalen);
 *               pt_quic_tracer_install(&c->tracer, &cb, &settings);)
 *   ngtcp2_conn_client_new(&c->conn, ..., &cb, &settings, ..., c);
 *
 * The user_data given to ngtcp2_conn_{client,server}_new must point to a
 * struct whose first member is the pt_quic_tracer (C guarantees that a
 * pointer to a struct points to its first member): qlog writers and
 * callbacks receive only that pointer.  A server must set
 * settings.qlog.odcid itself (to the client's original destination cid), as
 * ngtcp2 requires for qlog; that is also the conn its events carry if
 * pt_quic_tracer_set_odcid was not called.
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
  uint64_t stream_frames;    /* stream_frame events recorded */
  uint64_t frames_rejected;  /* packet records whose frames list did not
                                parse: the packet event is recorded, none of
                                its frames */
  uint64_t frames_dropped;   /* STREAM frames beyond
                                PT_QUIC_MAX_STREAM_FRAMES in one packet */
  uint64_t conn_mismatch;    /* qlog headers whose ODCID differs from the
                                tracer's (set, or from an earlier header),
                                or whose group_id did not parse */
  uint64_t metrics_updates;  /* qlog recovery:metrics_updated records */
  uint64_t recovery_metrics; /* recovery_metrics events recorded (those
                                updates that changed a value) */
  uint64_t metrics_no_conn;  /* updates before the tracer knew the
                                ngtcp2_conn: nothing recorded */
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
  uint64_t conn;            /* connection identity (0: unknown yet) */
  pt_quic_stats stats;      /* counters, see above */
  ngtcp2_duration last_rtt; /* smoothed rtt (ns) at handshake completion */
  /* The application's own callbacks, called by the adapter's wrappers. */
  ngtcp2_handshake_completed app_handshake_completed;
  ngtcp2_stream_open app_stream_open;
  ngtcp2_recv_stream_data app_recv_stream_data;
  ngtcp2_qlog_write app_qlog_write;
  ngtcp2_client_initial app_client_initial;
  ngtcp2_recv_client_initial app_recv_client_initial;
  ngtcp2_conn *quic_conn; /* the traced connection, once a callback gave it */
  /* The last recovery_metrics recorded (valid if has_metrics). */
  struct pt_recovery_metrics_data metrics;
  int has_metrics;
} pt_quic_tracer;

/* Longest qlog record the parser examines; longer ones are rejected. */
#define PT_QUIC_QLOG_MAX_RECORD 65536u

/*
 * Most STREAM frames recorded per packet.  ngtcp2 puts one STREAM frame per
 * stream in a packet, so a packet over the limit carried more than this many
 * streams at once; its further frames are counted in
 * pt_quic_stats.frames_dropped, not recorded.
 */
#define PT_QUIC_MAX_STREAM_FRAMES 32u

/* Longest connection id QUIC v1 allows (bytes). */
#define PT_QUIC_MAX_CID_LEN 20u

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
 * pt_quic_tracer_set_odcid: sets the connection's original destination
 * connection id cid[0..len) (see "Connection identity" above); every event
 * recorded from now on carries conn = pt_conn_id_from_cid(cid, len)
 * (replacing any earlier one), and the qlog header's group_id is only
 * checked against it.
 * Returns PT_OK; PT_ERR_INVALID if t or cid is NULL or len is not
 * 1..PT_QUIC_MAX_CID_LEN.  Thread-safety: touches only *t.
 */
PT_API int pt_quic_tracer_set_odcid(pt_quic_tracer *t, const uint8_t *cid,
                                    size_t len);

/*
 * pt_quic_tracer_install: hooks the tracer into a connection about to be
 * created.  Saves the application's handshake_completed, stream_open,
 * recv_stream_data and qlog.write (any may be NULL) in *t and replaces them
 * with the adapter's wrappers, which record and then call the saved ones
 * with unchanged arguments; client_initial and recv_client_initial too,
 * if set (a wrapper only notes the connection and calls the saved one).  Call
 * it after filling *callbacks and *settings and before
 * ngtcp2_conn_{client,server}_new; the connection's user_data must point to *t
 * (see above). Returns PT_OK; PT_ERR_INVALID if an argument is NULL or
 * callbacks are already the adapter's (installed twice). Thread-safety: touches
 * only its arguments.
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
 * pt_quic_tracer_stream_sent: records stream_data (sent=1) under the
 * connection's trace context for bytes ngtcp2 accepted from the application
 * (the pdatalen of ngtcp2_conn_writev_stream) at the given stream offset;
 * fin: 1 if this write carried the FIN.  For bytes of a request or reply
 * of a trace, use pt_quic_tracer_stream_sent_trace.
 * Returns PT_OK; PT_ERR_INVALID if t is NULL.
 */
PT_API int pt_quic_tracer_stream_sent(pt_quic_tracer *t, int64_t stream_id,
                                      uint64_t offset, uint64_t length,
                                      int fin);

/*
 * pt_quic_tracer_stream_sent_trace: as pt_quic_tracer_stream_sent, but the
 * stream_data (sent=1) is recorded under trace->trace_id and the trace flag
 * bits of trace->flags instead of the connection's context, with the same
 * peer and conn: the bytes of a request or reply that belongs to a trace,
 * so that the trace says which connection and stream carried that hop and
 * which byte range (the stream_frame events of the same conn and stream
 * then tell which packets carried those bytes).  trace NULL: the
 * connection's context (pt_quic_tracer_stream_sent is that call).
 * Returns PT_OK; PT_ERR_INVALID if t is NULL.  Thread-safety: as the
 * tracer.
 */
PT_API int pt_quic_tracer_stream_sent_trace(pt_quic_tracer *t,
                                            const pt_msg_header *trace,
                                            int64_t stream_id, uint64_t offset,
                                            uint64_t length, int fin);

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

/*
 * pt_quic_qlog_stream_frames: the STREAM frames of one packet_sent or
 * packet_received record data[0..len) (untrusted, as for
 * pt_quic_qlog_parse): its "frames" array of
 *   {"frame_type":"stream","stream_id":S,"offset":O,"length":L,"fin":true}
 * objects ("fin" optional, other frame types skipped).  Fills
 * frames[0..min(n, cap)) with stream_frame events in record order (pn and
 * space of the packet, sent 1 for packet_sent, 0 for packet_received;
 * trace id, peer and conn zero) and sets *count to n, the number of STREAM
 * frames in the record, which may exceed cap (those are not filled).
 * Returns 1 for a packet_sent/packet_received record whose frames all
 * parsed (n may be 0, also when it has no "frames"); 0 for a well-formed
 * record of another kind (packet_lost included), *count 0; PT_ERR_PARSE if
 * pt_quic_qlog_parse rejects the record, or "frames" is not an array of
 * objects each with a string frame_type, or a STREAM frame lacks stream_id,
 * offset or length, has one that is not a decimal below 2^62, a length
 * above UINT32_MAX, offset + length above 2^62, or a fin that is neither
 * true nor false (*count is then 0 and nothing is filled that the caller
 * should use).  PT_ERR_INVALID if data or count is NULL, or frames is NULL
 * with cap > 0.  Reads no byte outside data[0..len).  Thread-safety: safe.
 */
PT_API int pt_quic_qlog_stream_frames(const void *data, size_t len,
                                      pt_event *frames, size_t cap,
                                      size_t *count);

/*
 * pt_quic_qlog_odcid: the original destination connection id of a qlog
 * header record data[0..len) (untrusted): the hex string
 * trace.common_fields.group_id ngtcp2 writes in the record that opens a
 * connection's qlog.  Fills cid[0..*cid_len) (cid holds
 * PT_QUIC_MAX_CID_LEN bytes).
 * Returns 1 if found; 0 for a well-formed record without a group_id (every
 * record but the header); PT_ERR_PARSE if the record is malformed or
 * longer than PT_QUIC_QLOG_MAX_RECORD, or its group_id is not 2 to
 * 2 * PT_QUIC_MAX_CID_LEN hex digits in an even number; PT_ERR_INVALID on
 * NULL.  Reads no byte outside data[0..len).  Thread-safety: safe.
 */
PT_API int pt_quic_qlog_odcid(const void *data, size_t len, uint8_t *cid,
                              size_t *cid_len);

#endif /* PT_TRACE */

#ifdef __cplusplus
}
#endif

#endif /* PEERTRACE_PT_QUIC_H */
