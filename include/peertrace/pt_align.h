/*
 * peertrace - packets matched across nodes, and the nodes' clocks aligned
 * from them.
 *
 * Every QUIC packet a node sends is recorded as packet_sent on that node and,
 * if it arrives, as packet_received on its peer, both with the connection
 * identity (the CONN field, see pt_events.h), the packet number space and
 * the packet number.  A pt_align collects those events from any number of
 * nodes and answers:
 *
 *   - the pairs: each packet_sent with the peer's packet_received of the
 *     same connection, space and number, and its one-way delay;
 *   - the packets sent but never received (where the receiver's trace
 *     covers the time they were sent);
 *   - each node's clock offset and drift against a reference node, with an
 *     uncertainty bound, and the aligned time of any of its timestamps.
 *
 * How the clocks are estimated (docs/clocks.md says more): nothing is
 * received before it is sent, so every packet from A to B bounds B's clock
 * offset against A's from above, and every packet from B to A from below.
 * With offset(t) = offset + drift * (t - t0), the estimate is the middle of
 * the lines that satisfy every bound; the bound is how far the extreme
 * lines that still satisfy them stray from it over the node's recorded
 * span.  A pair of nodes that exchanged packets in both directions is a
 * link; nodes that never talked are aligned through a path of links to the
 * reference (the path with the smallest summed bound; the bounds add up).
 * A node with no such path is reported as unaligned and its times are left
 * as recorded: never guessed.
 *
 * Use: pt_align_new, pt_align_add_node for every node, pt_align_add_event
 * for their events (any order), pt_align_solve, then the queries below;
 * pt_align_free.  Memory grows with the packet events added (about 40 bytes
 * each); other events are ignored.
 * Thread-safety: one pt_align is used by one thread at a time.
 *
 * Trace builds only (PT_TRACE), like the rest of the read side.
 */
#ifndef PEERTRACE_PT_ALIGN_H
#define PEERTRACE_PT_ALIGN_H

#include <peertrace/peertrace.h>

#ifdef __cplusplus
extern "C" {
#endif

#if PT_TRACE

typedef struct pt_align pt_align;

/* What is known of a node's clock (pt_clock_estimate.status). */
typedef enum pt_clock_status {
  PT_CLOCK_UNSOLVED = 0,    /* pt_align_solve not called yet */
  PT_CLOCK_REFERENCE = 1,   /* the reference node: its times are kept */
  PT_CLOCK_ALIGNED = 2,     /* estimated through a path of links */
  PT_CLOCK_UNALIGNED = 3,   /* no path of two-way links to the reference */
  PT_CLOCK_INCONSISTENT = 4 /* its packets contradict a linear clock
                               (e.g. the clock was stepped): left as is */
} pt_clock_status;

/*
 * A node's clock against the reference's:
 *   node_time - reference_time = offset_us + drift_ppm * 1e-6 * (t - t0_us)
 * where t is the node's raw time.  For the reference, and for nodes left
 * as recorded, offset and drift are 0.
 */
typedef struct pt_clock_estimate {
  pt_clock_status status;
  double offset_us; /* at t0_us */
  double drift_ppm; /* rate difference, parts per million */
  uint64_t t0_us;   /* node's raw time the offset refers to */
  /*
   * |true offset - estimate| <= bound_us at every time of the node's
   * recorded span, provided the clocks kept a constant rate.
   */
  double bound_us;
  double min_rtt_us; /* smallest round trip on the path's links, summed */
  unsigned via;      /* next node on the path to the reference (self if
                        reference or not aligned) */
  unsigned hops;     /* links on that path (0 for the reference) */
  uint64_t pairs;    /* packet pairs on the path's links */
} pt_clock_estimate;

/* pt_align_new: an empty aligner.  PT_OK; PT_ERR_INVALID; PT_ERR_NOMEM. */
PT_API int pt_align_new(pt_align **out);

/* pt_align_free: frees it.  NULL is ignored. */
PT_API void pt_align_free(pt_align *a);

/*
 * pt_align_add_node: declares a node (its events come from one clock);
 * *index receives its number.  PT_OK; PT_ERR_INVALID (NULL, after
 * pt_align_solve); PT_ERR_NOMEM.
 */
PT_API int pt_align_add_node(pt_align *a, const uint8_t node_id[32],
                             unsigned *index);

/*
 * pt_align_add_event: offers one event of node `node`.  Keeps packet_sent
 * and packet_received with a connection identity (conn != 0) and
 * packet_lost; ignores every other event.  PT_OK; PT_ERR_INVALID (NULL,
 * unknown node, after pt_align_solve); PT_ERR_NOMEM.
 */
PT_API int pt_align_add_event(pt_align *a, unsigned node, const pt_event *ev);

/*
 * pt_align_solve: pairs the packets and estimates every node's clock
 * against node `reference`.  PT_OK; PT_ERR_INVALID (NULL, unknown
 * reference, solved twice); PT_ERR_NOMEM.
 */
PT_API int pt_align_solve(pt_align *a, unsigned reference);

/* pt_align_estimate: node's estimate.  PT_OK; PT_ERR_INVALID. */
PT_API int pt_align_estimate(const pt_align *a, unsigned node,
                             pt_clock_estimate *out);

/*
 * pt_align_time: node's raw timestamp on the reference's clock (rounded to
 * a microsecond); raw_us itself for the reference and for nodes not
 * aligned.  Monotone in raw_us, so a node's event order is kept.
 */
PT_API uint64_t pt_align_time(const pt_align *a, unsigned node,
                              uint64_t raw_us);

/* One packet as both ends recorded it. */
typedef struct pt_packet_pair {
  unsigned sender, receiver; /* node indices */
  uint64_t conn;             /* connection identity */
  uint64_t pn;               /* packet number */
  uint8_t space;             /* PT_PN_SPACE_* */
  uint32_t size;             /* bytes, as the sender recorded them */
  uint64_t sent_us;          /* raw, on the sender's clock */
  uint64_t received_us;      /* raw, on the receiver's clock */
  double delay_us;           /* one-way delay on aligned clocks; NaN if
                                either node is not aligned */
} pt_packet_pair;

/*
 * pt_align_pairs: calls fn for every pair, in the sender's time order of
 * the packets (then sender index); fn returns 0 to go on, anything else
 * stops the walk and is returned.  pt_align_unreceived: the same for the
 * packets sent to a node that is present but that it never recorded as
 * received (received_us 0, delay NaN), where the receiver's recorded span
 * covers the time they were sent.  Both need pt_align_solve first.
 * Returns PT_OK, fn's value, or PT_ERR_INVALID.
 */
typedef int (*pt_packet_pair_fn)(const pt_packet_pair *pair, void *user);
PT_API int pt_align_pairs(const pt_align *a, pt_packet_pair_fn fn, void *user);
PT_API int pt_align_unreceived(const pt_align *a, pt_packet_pair_fn fn,
                               void *user);

#endif /* PT_TRACE */

#ifdef __cplusplus
}
#endif

#endif /* PEERTRACE_PT_ALIGN_H */
