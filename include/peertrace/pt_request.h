/*
 * peertrace - one request followed down to its packets.
 *
 * A request crosses nodes in hops: node A's app_command towards B causes
 * B's app_start (the request hop A -> B), and B's app_end towards A sends
 * the reply that ends A's wait (the reply hop B -> A).  The sender of each
 * hop records, under the request's trace id, a stream_data event with
 * sent=1 naming the connection (conn), the stream and the byte range it
 * wrote; every packet's STREAM frames are stream_frame events of the
 * connection, and packet_sent / packet_received / packet_lost say when
 * each packet left, arrived, or was declared lost.  A pt_request collects
 * those events from any number of nodes and answers, for a trace id:
 *
 *   - its hops in order (sender, receiver, the app events, ok, the stream);
 *   - for each hop, the packets that carried its bytes: number, space,
 *     size, sent and received time, lost or not, and for a packet that
 *     repeats bytes of an earlier lost packet, which packet and bytes;
 *   - how long the hop took to recover from its losses.
 *
 * Use: pt_request_new, pt_request_add_node for every node (in the order
 * of a pt_align's nodes, if times are to be aligned), pt_request_add_event
 * for their events (any order), optionally pt_request_set_time, then
 * pt_request_hops and pt_request_packets; pt_request_free.
 *
 * Memory: only these events are kept, as compact records: app_command,
 * app_start and app_end with a trace id (80 bytes each); stream_data with
 * sent=1, a trace id and a connection (64 bytes); stream_frame with sent=1
 * and a connection (48 bytes; the receiver's frames, sent=0, say nothing
 * its packet_received does not); packet_sent, packet_received and
 * packet_lost with a connection (40 bytes; sizes on 64-bit targets).
 * Every other event is ignored, and so are stream_data and stream_frame
 * events whose bytes go past 2^62 (no QUIC stream has them).
 * The first query after an add sorts the records in place; a query needs
 * memory for one hop's packets and the trace's hops on top.
 *
 * Thread-safety: one pt_request is used by one thread at a time.
 * Trace builds only (PT_TRACE), like the rest of the read side.
 */
#ifndef PEERTRACE_PT_REQUEST_H
#define PEERTRACE_PT_REQUEST_H

#include <peertrace/peertrace.h>

#ifdef __cplusplus
extern "C" {
#endif

#if PT_TRACE

typedef struct pt_request pt_request;

/* A node index for "not among the nodes given" (peer id unknown). */
#define PT_REQUEST_NO_NODE 0xffffffffu

/* pt_request_hop.kind */
typedef enum pt_request_hop_kind {
  PT_HOP_REQUEST = 1, /* app_command on sender -> app_start on receiver */
  PT_HOP_REPLY = 2    /* app_end on sender -> app_end on receiver */
} pt_request_hop_kind;

/*
 * One hop.  Times are on the clock pt_request_set_time gives (aligned),
 * else as recorded; 0 means the event is not in the trace.
 */
typedef struct pt_request_hop {
  unsigned index; /* 0, 1, ... in the order of the walk */
  pt_request_hop_kind kind;
  unsigned sender, receiver; /* node indices, or PT_REQUEST_NO_NODE */
  uint8_t app_id[4];
  uint16_t cmd;
  /*
   * REQUEST: sent_us = app_command on the sender, received_us = app_start
   * on the receiver, end_us = the receiver's app_end answering the sender.
   * REPLY: sent_us = that app_end on the sender (the replier),
   * received_us = end_us = the receiver's next app_end.
   * If the hop's first packet left before that app event (an app that
   * logs its app_end after writing the reply), sent_us is that packet's
   * send: the time the hop left.
   */
  uint64_t sent_us, received_us, end_us;
  int ok; /* the app_end of sent/end says ok (1), failed (0), unknown (-1) */
  /*
   * The stream that carried the hop: the sender's stream_data events with
   * sent=1 of this trace on a connection to the receiver (the one nearest
   * in time to sent_us, merged with the others of the same stream).
   * has_stream 0: none recorded (then the packet fields are 0).
   */
  int has_stream;
  uint64_t conn, stream_id;
  uint64_t offset, length; /* bytes offset .. offset + length - 1 */
  /*
   * Summary of pt_request_packets for this hop: packets, those declared
   * lost, those repeating bytes of a lost packet (retransmissions) and
   * those repeating bytes of an earlier packet not declared lost (repeats:
   * e.g. a probe sent on a timeout).
   */
  unsigned packets, lost, retransmissions, repeats;
  uint64_t uncovered; /* bytes of the range in no recorded frame */
  /*
   * 1 if every byte of the hop's lost packets arrived (in a retransmission,
   * in the lost packet itself if it arrived after all, or in an earlier
   * packet when the lost one only repeated them); recovery_us: from the
   * first lost packet's send to the first arrival of the last such byte
   * (0 if they had all arrived before it was sent).  0 and 0 if nothing
   * was lost or recovery was not seen.
   */
  int recovered;
  uint64_t recovery_us;
} pt_request_hop;

/* One packet that carried bytes of a hop (pt_request_packets). */
typedef struct pt_request_packet {
  uint64_t pn;
  uint8_t space;           /* PT_PN_SPACE_* */
  uint32_t size;           /* bytes; 0 if its packet_sent is not recorded */
  uint64_t sent_us;        /* 0 if its packet_sent is not recorded */
  uint64_t received_us;    /* 0: never received (or the receiver's trace is
                              missing) */
  int lost;                /* the sender declared it lost */
  uint64_t offset, length; /* the hop's bytes it carried (clipped to the
                              hop's range; several frames: first..last) */
  /*
   * A packet carrying bytes an earlier packet of the hop carried already:
   * retransmits 1, that packet (the earliest declared lost that holds
   * some of them, else the earliest that does), whether it was declared
   * lost (0: a repeat, such as a probe), and the bytes repeated (offset ..
   * offset+length-1).  A retransmission of a lost packet has
   * retransmits_lost 1.
   */
  int retransmits, retransmits_lost;
  uint64_t retransmits_pn;
  uint64_t retransmits_offset, retransmits_length;
  /* A lost packet: 1 and the recovery time as for the hop. */
  int recovered;
  uint64_t recovery_us;
} pt_request_packet;

/* pt_request_new: empty.  PT_OK; PT_ERR_INVALID; PT_ERR_NOMEM. */
PT_API int pt_request_new(pt_request **out);

/* pt_request_free: frees it.  NULL is ignored. */
PT_API void pt_request_free(pt_request *r);

/*
 * pt_request_add_node: declares a node; *index receives its number (0, 1,
 * ... in call order).  A second node with the same id is refused.
 * PT_OK; PT_ERR_INVALID (NULL); PT_ERR_EXISTS; PT_ERR_NOMEM.
 */
PT_API int pt_request_add_node(pt_request *r, const uint8_t node_id[32],
                               unsigned *index);

/*
 * pt_request_add_event: offers one event of node `node`; keeps the kinds
 * listed above and ignores the rest.  May be called after a query (the
 * next query sorts again).  PT_OK; PT_ERR_INVALID (NULL, unknown node);
 * PT_ERR_NOMEM.
 */
PT_API int pt_request_add_event(pt_request *r, unsigned node,
                                const pt_event *ev);

/*
 * pt_request_set_time: the clock results are given on: fn(user, node,
 * raw_us) maps a node's recorded time, e.g. to pt_align_time of a solved
 * pt_align whose nodes were added in the same order.  NULL: times as
 * recorded, which across nodes only compare if the nodes share a clock.
 * PT_OK; PT_ERR_INVALID.
 */
typedef uint64_t (*pt_request_time_fn)(void *user, unsigned node,
                                       uint64_t raw_us);
PT_API int pt_request_set_time(pt_request *r, pt_request_time_fn fn,
                               void *user);

/*
 * pt_request_hops: calls fn for each hop of the trace, in order of
 * sent_us (then of the walk: a request hop before its reply).  Hops are
 * found from app_command events with a peer among the nodes (a hop whose
 * sender's trace is missing is not seen; one whose receiver is missing
 * has receiver PT_REQUEST_NO_NODE or no start).  fn returns 0 to go on;
 * anything else stops the walk and is returned.
 * Returns PT_OK (also for a trace with events but no hop), fn's value,
 * PT_ERR_NOT_FOUND (no kept event has this trace id), PT_ERR_INVALID,
 * PT_ERR_NOMEM.
 */
typedef int (*pt_request_hop_fn)(const pt_request_hop *hop, void *user);
PT_API int pt_request_hops(pt_request *r, const pt_trace_id *trace,
                           pt_request_hop_fn fn, void *user);

/*
 * pt_request_packets: calls fn for each packet that carried bytes of the
 * hop (as pt_request_hops gave it), in the sender's time order.  A packet
 * with several frames of the stream is given once.  Nothing for a hop
 * without a stream.  Returns PT_OK, fn's value, PT_ERR_INVALID,
 * PT_ERR_NOMEM.
 */
typedef int (*pt_request_packet_fn)(const pt_request_packet *packet,
                                    void *user);
PT_API int pt_request_packets(pt_request *r, const pt_request_hop *hop,
                              pt_request_packet_fn fn, void *user);

#endif /* PT_TRACE */

#ifdef __cplusplus
}
#endif

#endif /* PEERTRACE_PT_REQUEST_H */
