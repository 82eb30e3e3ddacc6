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
 * as recorded: never guessed.  A joint pass then moves the aligned nodes'
 * lines, as little as it finds, until no packet between any two of them
 * (on a path or not) is received before it was sent, and widens each
 * node's bound by how far it moved it.
 *
 * Use: pt_align_new, pt_align_add_node for every node, pt_align_add_event
 * for their events (any order), pt_align_solve, then the queries below;
 * pt_align_free.  Memory grows with the packet events added (40 bytes
 * each, about 75 at the peak of pt_align_solve); other events are not
 * kept.
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
   * recorded span, provided the clocks kept a constant rate (rates apart by
   * at most the max drift, PT_ALIGN_MAX_DRIFT_PPM by default, on every
   * link of the path).  0 for the
   * reference; INFINITY for a node left as recorded.
   */
  double bound_us;
  /*
   * The least bound over the node's recorded span (pt_align_bound_at's
   * smallest value) and the node's raw time where it is reached: the
   * instant its clock is known best, at most bound_us.  Where the packets
   * of each link pin the offset best, about half the smallest round trip
   * of the path (min_rtt_us / 2, the bound of one NTP exchange; more by
   * the growth factor of the max drift).  0 and t0_us for the reference;
   * INFINITY and t0_us for a node left as recorded.
   */
  double best_bound_us;
  uint64_t best_at_us;
  /* Smallest round trip (NTP-style, the peer's turnaround taken out) of
   * each link of the path, summed: 0 for the reference, NaN for a node left
   * as recorded.  One exchange alone bounds the offset by half of it. */
  double min_rtt_us;
  unsigned via;   /* next node on the path to the reference (self if
                     reference or not aligned) */
  unsigned hops;  /* links on that path (0 for the reference) */
  uint64_t pairs; /* packet pairs on the path's links */
  /* The most the joint pass (pt_align_solve) moved this node's aligned
   * times from its path's estimate over its recorded span, microseconds;
   * already part of bound_us.  0 for the reference and nodes left as
   * recorded. */
  double joint_shift_us;
  /* This node's pairs (sent or received, with an aligned peer) whose
   * aligned receipt precedes its aligned send: 0 unless the joint pass
   * could not order every pair (pt_align_stats.joint_unmet). */
  uint64_t pairs_reversed;
} pt_clock_estimate;

/* pt_align_new: an empty aligner.  PT_OK; PT_ERR_INVALID; PT_ERR_NOMEM. */
PT_API int pt_align_new(pt_align **out);

/* pt_align_free: frees it.  NULL is ignored. */
PT_API void pt_align_free(pt_align *a);

/*
 * The largest rate difference between two nodes that exchanged packets
 * (parts per million) the estimate allows, unless pt_align_set_max_drift
 * says otherwise.  Quartz clocks are within +-100 ppm of true (so two of
 * them within 200 ppm of each other); 500 ppm is ntpd's limit of what it
 * can correct.  A link whose packets need more is inconsistent.
 */
#define PT_ALIGN_MAX_DRIFT_PPM 500.0

/*
 * pt_align_set_max_drift: the largest rate difference (ppm, > 0 and <=
 * 10000) allowed between two nodes that exchanged packets.  Where packets
 * do not pin the drift (a short trace, sparse traffic), the bounds grow
 * with it: a smaller value that every pair of clocks really keeps to
 * gives tighter bounds; one they do not keep to makes the bounds wrong.
 * Before pt_align_solve.  PT_OK; PT_ERR_INVALID (NULL, out of range or
 * NaN); PT_ERR_STATE (after pt_align_solve).
 */
PT_API int pt_align_set_max_drift(pt_align *a, double ppm);

/*
 * pt_align_add_node: declares a node (its events come from one clock);
 * *index receives its number (0, 1, ... in the order of the calls).
 * PT_OK; PT_ERR_INVALID (NULL); PT_ERR_STATE (after pt_align_solve);
 * PT_ERR_EXISTS (a node with this id was declared already: *index receives
 * that node's number, and events of the same clock may be added to it);
 * PT_ERR_NOMEM.
 */
PT_API int pt_align_add_node(pt_align *a, const uint8_t node_id[32],
                             unsigned *index);

/*
 * pt_align_add_event: offers one event of node `node`.  Keeps packet_sent,
 * packet_received and packet_lost with a connection identity (conn != 0);
 * every event (kept or not) widens the node's recorded span (its first and
 * last timestamp), over which bounds hold and unreceived packets are
 * judged.  PT_OK (also for an ignored event); PT_ERR_INVALID (NULL,
 * unknown node); PT_ERR_STATE (after pt_align_solve); PT_ERR_NOMEM (also
 * past 2^32 - 2 packet events).
 */
PT_API int pt_align_add_event(pt_align *a, unsigned node, const pt_event *ev);

/*
 * pt_align_solve: pairs the packets and estimates every node's clock
 * against node `reference`.  PT_OK (also when nodes stay unaligned: see
 * their status); PT_ERR_INVALID (NULL, unknown reference); PT_ERR_STATE
 * (solved already, also after a failed solve); PT_ERR_NOMEM (the aligner
 * cannot be used further: free it).
 */
PT_API int pt_align_solve(pt_align *a, unsigned reference);

/* What pt_align_solve found and what it set aside (pt_align_stats). */
typedef struct pt_align_stats {
  uint64_t packet_events;   /* packet events kept by pt_align_add_event */
  uint64_t conns;           /* connection identities seen */
  uint64_t conns_one_node;  /* seen on one node only: nothing to pair */
  uint64_t conns_ambiguous; /* claimed by more than two nodes: skipped */
  uint64_t pairs;
  uint64_t unreceived;
  uint64_t received_unmatched; /* received, no packet_sent recorded */
  uint64_t duplicate_sends;    /* (conn, space, pn) sent more than once by
                                  one node: none of the sends paired */
  uint64_t duplicate_receives; /* received more than once: the earliest
                                  receipt paired.  One event given twice
                                  (same time; two overlapping files of a
                                  node) is neither: it counts once */
  uint64_t links;              /* node pairs with packets both ways */
  uint64_t links_inconsistent; /* of those, contradicting a linear clock */
  uint64_t links_one_way;      /* node pairs with packets one way only */
  /*
   * Pairs whose aligned receipt precedes their aligned send (as
   * pt_align_time rounds them), between two aligned nodes.  0 when the
   * joint pass succeeded (joint_unmet 0) and no link between two aligned
   * nodes is inconsistent; else the pairs of the links it could not order
   * (the paths' estimates are kept then, and a pair off the paths can come
   * out reversed by up to the sum of its two nodes' bounds).  Counted,
   * never hidden: docs/clocks.md.
   */
  uint64_t pairs_reversed;
  /*
   * The joint pass: its constraints (the hull vertices of the packets of
   * each node pair whose ends are both aligned, its link consistent), the
   * sweeps it made over them (at most 2000, and about 2^26 constraint
   * visits in all), and how many it left unmet when that budget ran out
   * (all of them if its solution would make a node's map decreasing): 0
   * when every constraint holds; otherwise the packets of some cycle of
   * links contradict clocks of constant rate (a node's clock stepped, two
   * runs under one node id), no node is moved, and the reversed pairs are
   * counted above and per node.
   */
  uint64_t joint_rows;
  uint64_t joint_rounds;
  uint64_t joint_unmet;
} pt_align_stats;

/* pt_align_stats: the counts above.  PT_OK; PT_ERR_INVALID (NULL);
 * PT_ERR_STATE (before pt_align_solve). */
PT_API int pt_align_stats_get(const pt_align *a, pt_align_stats *out);

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

/*
 * pt_align_bound_at: the bound of node's estimate at its raw time raw_us
 * (|true offset - estimate| there, same proviso as bound_us).  The bound
 * is smallest where packets pinned the clocks best and grows towards the
 * ends of the span, where an unknown drift weighs most; bound_us is its
 * largest value over the recorded span.  0 for the reference, INFINITY for
 * a node left as recorded (and before pt_align_solve, or for an unknown
 * node).
 */
PT_API double pt_align_bound_at(const pt_align *a, unsigned node,
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
  uint8_t lost;              /* the sender recorded packet_lost for it */
} pt_packet_pair;

/*
 * pt_align_pairs: calls fn for every pair, in the order of the sends on
 * the aligned clocks (pt_align_time of the sender: raw times for nodes
 * left as recorded), then sender index, conn, space and packet number;
 * fn returns 0 to go on, anything else
 * stops the walk and is returned.  pt_align_unreceived: the same for the
 * packets sent to a node that is present but that it never recorded as
 * received (received_us 0, delay NaN), where the receiver's recorded span
 * covers the time they were sent.  Both need pt_align_solve first.
 * Returns PT_OK, fn's value, PT_ERR_INVALID (NULL) or PT_ERR_STATE (before
 * pt_align_solve).
 */
typedef int (*pt_packet_pair_fn)(const pt_packet_pair *pair, void *user);
PT_API int pt_align_pairs(const pt_align *a, pt_packet_pair_fn fn, void *user);
PT_API int pt_align_unreceived(const pt_align *a, pt_packet_pair_fn fn,
                               void *user);

/* One direction's packets, sender -> receiver (pt_align_delays). */
typedef struct pt_link_delays {
  unsigned sender, receiver; /* node indices */
  uint64_t pairs;            /* packets recorded at both ends */
  uint64_t delays;           /* of those, with a delay (both nodes aligned) */
  double p50_us, p95_us;     /* the median and 95th percentile (nearest
                                rank) of those delays; NaN with none */
  uint64_t unreceived;       /* packets never received (as
                                pt_align_unreceived gives them) */
  uint64_t unreceived_lost;  /* of those, declared lost by the sender */
} pt_link_delays;

/*
 * pt_align_delays: the pairs and the unreceived packets counted per
 * direction, with the median and 95th percentile of the one-way delays.
 * *out receives an array of *count, one per direction with a pair or an
 * unreceived packet, by sender then receiver index; the caller frees *out
 * with free().  Needs pt_align_solve first.  PT_OK (with no packets, *out
 * NULL and *count 0); PT_ERR_INVALID (NULL); PT_ERR_STATE (before
 * pt_align_solve); PT_ERR_NOMEM.  On an error *out is NULL and *count 0.
 */
PT_API int pt_align_delays(const pt_align *a, pt_link_delays **out,
                           size_t *count);

#endif /* PT_TRACE */

#ifdef __cplusplus
}
#endif

#endif /* PEERTRACE_PT_ALIGN_H */
