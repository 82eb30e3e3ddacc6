/*
 * peertrace - the event table.
 *
 * Every event kind is defined here once.  From this table the library
 * derives the kind enum, the payload structs, the setters used by the
 * convenience macros (PT_EMIT and friends), the names, the text printer and
 * the JSON exporter.  Adding a kind is one edit in this file: a line in
 * PT_EVENT_TABLE and, right below it, the PT__FIELDS_<name> list of its
 * fields.  Nothing else in the code base lists event kinds.
 *
 * Field types (the first argument of F):
 *   U8 U16 U32 U64  unsigned integers, printed in decimal
 *   BOOL            0 or 1, printed as true/false
 *   ENDPOINT        pt_endpoint (IPv4/IPv6 address and port)
 *   APPID           4-byte application id, printed as text ("DMAP")
 *   BYTES42 BYTES44 opaque bytes, printed in hex; setters take (ptr, len)
 *                   and copy at most the field's size, zero-filling the rest
 *   CONN            the connection identity (uint64_t, printed as 16 hex
 *                   digits; 0: unknown), see below
 *   BOOL_X          a BOOL that, like CONN, is not a setter parameter
 *
 * CONN and BOOL_X fields are not parameters of the setters, of PT_EMIT and
 * of the convenience macros: those leave them 0, so a PT_PACKET_SENT costs
 * what it did before they existed.  The ngtcp2 adapter (pt_quic.h) sets
 * them; so can anyone who builds a pt_event (pt_event_set_conn(), or the
 * field itself).  They sit after the other fields of their kind, so a dump
 * written before they existed reads them as 0.
 *
 * The connection identity is what both ends of a QUIC connection know
 * alike: pt_conn_id_from_cid() of the connection's original destination
 * connection id (the one the client chose for its first Initial).  Both
 * halves of a connection therefore carry the same conn on every connection
 * event (conn_init .. packet_lost, stream_frame, recovery_metrics),
 * whatever trace ids their nodes gave them, and tools pair the two halves
 * by it.
 *
 * This header is included by peertrace.h; do not include it directly.
 */
#ifndef PEERTRACE_PT_EVENTS_H
#define PEERTRACE_PT_EVENTS_H

/* X(ENUM_SUFFIX, numeric id, lower_name, "description") */
#define PT_EVENT_TABLE(X)                                                      \
  X(CONN_INIT, 1, conn_init, "QUIC connection initiated with an endpoint")     \
  X(CONN_ESTABLISHED, 2, conn_established, "QUIC handshake completed")         \
  X(STREAM_OPENED, 3, stream_opened, "stream opened (locally or by the peer)") \
  X(STREAM_DATA, 4, stream_data, "stream data received or sent")               \
  X(PACKET_SENT, 5, packet_sent, "QUIC packet handed to the socket")           \
  X(PACKET_RECEIVED, 6, packet_received, "QUIC packet read from the socket")   \
  X(PACKET_LOST, 7, packet_lost, "QUIC packet declared lost")                  \
  X(APP_COMMAND, 8, app_command, "application protocol command")               \
  X(APP_START, 9, app_start, "application request started")                    \
  X(APP_END, 10, app_end, "application request finished")                      \
  X(CUSTOM, 11, custom, "user-defined event")                                  \
  X(STREAM_FRAME, 12, stream_frame, "stream frame carried by a QUIC packet")   \
  X(RECOVERY_METRICS, 13, recovery_metrics,                                    \
    "QUIC recovery metrics changed (RTT, congestion window, bytes in flight)")

#define PT__FIELDS_conn_init(F) F(ENDPOINT, endpoint) F(CONN, conn)
#define PT__FIELDS_conn_established(F) F(U32, rtt_us) F(CONN, conn)
#define PT__FIELDS_stream_opened(F)                                            \
  F(U64, stream_id) F(BOOL, local) F(CONN, conn)
/* sent: 1 for bytes the node wrote, 0 for bytes it received. */
#define PT__FIELDS_stream_data(F)                                              \
  F(U64, stream_id)                                                            \
  F(U64, offset) F(U32, length) F(BOOL, fin) F(BOOL_X, sent) F(CONN, conn)
#define PT__FIELDS_packet_sent(F)                                              \
  F(U64, pn) F(U32, size) F(U8, space) F(CONN, conn)
#define PT__FIELDS_packet_received(F)                                          \
  F(U64, pn) F(U32, size) F(U8, space) F(CONN, conn)
#define PT__FIELDS_packet_lost(F) F(U64, pn) F(U8, space) F(CONN, conn)
#define PT__FIELDS_app_command(F) F(APPID, app_id) F(U16, cmd) F(BYTES42, data)
#define PT__FIELDS_app_start(F) F(APPID, app_id) F(U16, cmd) F(BYTES42, data)
#define PT__FIELDS_app_end(F)                                                  \
  F(APPID, app_id) F(U16, cmd) F(BOOL, ok) F(U64, duration_us)
#define PT__FIELDS_custom(F) F(U16, category) F(U16, code) F(BYTES44, data)
/*
 * One STREAM frame of a QUIC packet (packet pn of pn space `space`), as the
 * packet's sender or receiver saw it: which bytes of which stream the packet
 * carried.  sent: 1 on the sender's side (the frame was in a packet_sent),
 * 0 on the receiver's.  A retransmission is a later frame with the same
 * stream bytes in another packet.  The ngtcp2 adapter records one per frame
 * right after the packet's packet_sent / packet_received.
 */
#define PT__FIELDS_stream_frame(F)                                             \
  F(U64, pn)                                                                   \
  F(U64, stream_id)                                                            \
  F(U64, offset)                                                               \
  F(U32, length) F(U8, space) F(BOOL, fin) F(BOOL, sent) F(CONN, conn)
/*
 * The connection's recovery state after it changed, as the sender's
 * congestion controller holds it (RFC 9002): latest_rtt_us the latest RTT
 * sample (not adjusted for ack delay), min_rtt_us the smallest sample so
 * far, smoothed_rtt_us and rtt_variance_us the smoothed RTT and its mean
 * deviation, all in microseconds (UINT32_MAX: that or more); cwnd the
 * congestion window and bytes_in_flight the bytes sent and neither acked
 * nor declared lost, in bytes.  Before the first RTT sample latest_rtt_us
 * and min_rtt_us are 0 (no sample yet) and smoothed_rtt_us is the initial
 * RTT the stack assumes.  The ngtcp2 adapter records one each time
 * ngtcp2 reports its metrics (qlog recovery:metrics_updated) and one of
 * these six values differs from the connection's previous recovery_metrics.
 */
#define PT__FIELDS_recovery_metrics(F)                                         \
  F(U32, latest_rtt_us)                                                        \
  F(U32, min_rtt_us)                                                           \
  F(U32, smoothed_rtt_us)                                                      \
  F(U32, rtt_variance_us) F(U64, cwnd) F(U64, bytes_in_flight) F(CONN, conn)

#endif /* PEERTRACE_PT_EVENTS_H */
