/*
 * test_p2p_packets: a request's packets, as the ngtcp2 adapter records them
 * on real QUIC over loopback (the demo's DataMap ring, seeded loss):
 *
 *  - every stream_frame follows the packet_sent / packet_received of its
 *    packet (same conn, pn and space) in the node's log, and a node has as
 *    many, in each direction, as ngtcp2's own qlog lists STREAM frames;
 *  - the STREAM frames of sent packets cover, per (conn, stream), every
 *    byte of every stream_data the node sent (retransmissions included),
 *    and carry the FIN where it ended;
 *  - each hop of a request (app_command on A -> app_start on B, and B's
 *    reply) has stream_data sent=1 under the request's trace id, on the
 *    connection between A and B (same conn on both ends) and on one
 *    stream, from offset 0 to the FIN; B received exactly those bytes on
 *    that stream;
 *  - a packet a node declared lost never reached the peer (no
 *    packet_received of that conn, space and pn there), and every stream
 *    byte it carried reached the peer in another packet; the test runs
 *    until some lost packet's bytes were sent again in a later packet (a
 *    retransmission) and checks there was one;
 *  - recovery_metrics: every connection has them, with an RTT sample; in
 *    each, min RTT <= latest and <= smoothed, all below a second on
 *    loopback, a congestion window of at least two datagrams; consecutive
 *    ones of a connection differ (only changes are recorded); each is, in
 *    whole milliseconds, the values of a recovery:metrics_updated record
 *    ngtcp2 wrote (read from the raw qlog text by a separate path), in
 *    record order; the last one of each connection holds, to the
 *    microsecond, what ngtcp2_conn_get_conn_stat gives at the end.
 *
 * Every wait is bounded; nothing asserts on timings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <peertrace/pt_quic.h>

#include "demo_net.h"
#include "test_p2p_common.h"

#define NODES 4
#define CHUNKS 12
#define CHUNK_SIZE 6000
#define ROUNDS 10

/* ngtcp2's own count of STREAM frames per node, sent and received, read
 * from the raw qlog text by a separate path (strstr). */
typedef struct frame_tap {
  size_t frames[NODES][2]; /* [node][1: in packet_sent, 0: packet_received] */
} frame_tap;

static void tap_frames(size_t node, const void *data, size_t len, void *arg) {
  frame_tap *tap = arg;
  char *text = p2p_test_qlog_text(data, len);
  int sent = strstr(text, "\"name\":\"transport:packet_sent\"") != NULL;
  int received = strstr(text, "\"name\":\"transport:packet_received\"") != NULL;
  if (node < NODES && (sent || received)) {
    for (const char *p = text; (p = strstr(p, "\"frame_type\":\"stream\""));
         p++) {
      tap->frames[node][sent]++;
    }
  }
  free(text);
}

/* ---- Recovery metrics ---------------------------------------------------- */

#define MAX_METRICS 4096

/* The values of one recovery:metrics_updated record, as ngtcp2 wrote them
 * (RTTs in whole ms; a field it left out, as min_rtt before any sample, is
 * 0). */
typedef struct metrics_record {
  uint64_t latest_ms, min_ms, smoothed_ms, cwnd, bytes_in_flight;
} metrics_record;

typedef struct metrics_tap {
  metrics_record recs[NODES][MAX_METRICS];
  size_t n[NODES];
} metrics_tap;

static uint64_t record_number(const char *text, const char *key) {
  const char *p = strstr(text, key);
  return p != NULL ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static void tap_metrics(size_t node, const void *data, size_t len, void *arg) {
  metrics_tap *tap = arg;
  char *text = p2p_test_qlog_text(data, len);
  if (node < NODES &&
      strstr(text, "\"name\":\"recovery:metrics_updated\"") != NULL) {
    assert_true(tap->n[node] < MAX_METRICS);
    metrics_record *r = &tap->recs[node][tap->n[node]++];
    r->latest_ms = record_number(text, "\"latest_rtt\":");
    r->min_ms = record_number(text, "\"min_rtt\":");
    r->smoothed_ms = record_number(text, "\"smoothed_rtt\":");
    r->cwnd = record_number(text, "\"congestion_window\":");
    r->bytes_in_flight = record_number(text, "\"bytes_in_flight\":");
  }
  free(text);
}

static int record_matches(const metrics_record *r,
                          const struct pt_recovery_metrics_data *m) {
  return r->latest_ms == m->latest_rtt_us / 1000u &&
         r->min_ms == m->min_rtt_us / 1000u &&
         r->smoothed_ms == m->smoothed_rtt_us / 1000u && r->cwnd == m->cwnd &&
         r->bytes_in_flight == m->bytes_in_flight;
}

typedef struct node_log {
  pt_event *evs;
  size_t n;
} node_log;

static int is_frame(const pt_event *e, uint64_t conn, uint64_t stream,
                    int sent) {
  return e->kind == PT_EV_STREAM_FRAME && pt_event_conn(e) == conn &&
         e->data.stream_frame.stream_id == stream &&
         e->data.stream_frame.sent == sent;
}

/*
 * Whether the stream_frame events of (conn, stream, sent) of a log, other
 * than those of packet skip_pn (UINT64_MAX: none) and only those of packets
 * above min_pn, cover [lo, hi) together.
 */
static int covered(const node_log *l, uint64_t conn, uint64_t stream, int sent,
                   uint64_t lo, uint64_t hi, uint64_t skip_pn,
                   uint64_t min_pn) {
  uint64_t at = lo;
  while (at < hi) {
    uint64_t reach = at;
    for (size_t i = 0; i < l->n; i++) {
      const pt_event *e = &l->evs[i];
      if (!is_frame(e, conn, stream, sent) ||
          e->data.stream_frame.pn == skip_pn ||
          (min_pn != UINT64_MAX && e->data.stream_frame.pn <= min_pn)) {
        continue;
      }
      uint64_t end = e->data.stream_frame.offset + e->data.stream_frame.length;
      if (e->data.stream_frame.offset <= at && end > reach) {
        reach = end;
      }
    }
    if (reach == at) {
      return 0;
    }
    at = reach;
  }
  return 1;
}

/* A frame of (conn, stream, sent) that ends the stream at `end`. */
static int has_fin(const node_log *l, uint64_t conn, uint64_t stream, int sent,
                   uint64_t end) {
  for (size_t i = 0; i < l->n; i++) {
    const pt_event *e = &l->evs[i];
    if (is_frame(e, conn, stream, sent) && e->data.stream_frame.fin &&
        e->data.stream_frame.offset + e->data.stream_frame.length == end) {
      return 1;
    }
  }
  return 0;
}

/* The connection identity of node a's connection to node b. */
static uint64_t conn_between(demo_net *net, size_t a, size_t b) {
  p2p_conn *c =
      p2p_node_find_conn(demo_net_node(net, a), demo_net_port(net, b));
  assert_non_null(c);
  uint64_t conn = p2p_conn_tracer(c)->conn;
  assert_true(conn != 0);
  return conn;
}

/* ---- Frames and the bytes the node sent ------------------------------- */

static void check_frames(const node_log *l, size_t node) {
  size_t frames = 0, sent_data = 0;
  for (size_t i = 0; i < l->n; i++) {
    const pt_event *e = &l->evs[i];
    if (e->kind == PT_EV_STREAM_FRAME) {
      /* Right after its packet's event (or its packet's other frames). */
      size_t j = i;
      while (j > 0 && l->evs[j - 1].kind == PT_EV_STREAM_FRAME) {
        j--;
      }
      assert_true(j > 0);
      const pt_event *p = &l->evs[j - 1];
      unsigned want =
          e->data.stream_frame.sent ? PT_EV_PACKET_SENT : PT_EV_PACKET_RECEIVED;
      assert_int_equal(p->kind, want);
      uint64_t pn = want == PT_EV_PACKET_SENT ? p->data.packet_sent.pn
                                              : p->data.packet_received.pn;
      unsigned space = want == PT_EV_PACKET_SENT
                           ? p->data.packet_sent.space
                           : p->data.packet_received.space;
      assert_int_equal(e->data.stream_frame.pn, pn);
      assert_int_equal(e->data.stream_frame.space, space);
      assert_true(pt_event_conn(e) == pt_event_conn(p));
      assert_memory_equal(&e->trace_id, &p->trace_id, sizeof e->trace_id);
      frames++;
    } else if (e->kind == PT_EV_STREAM_DATA && e->data.stream_data.sent) {
      const struct pt_stream_data_data *d = &e->data.stream_data;
      uint64_t conn = pt_event_conn(e);
      if (!covered(l, conn, d->stream_id, 1, d->offset, d->offset + d->length,
                   UINT64_MAX, UINT64_MAX)) {
        fail_msg("node %zu: stream %llu bytes %llu..%llu sent on conn %016llx "
                 "are in no sent STREAM frame",
                 node, (unsigned long long)d->stream_id,
                 (unsigned long long)d->offset,
                 (unsigned long long)(d->offset + d->length),
                 (unsigned long long)conn);
      }
      if (d->fin) {
        assert_true(has_fin(l, conn, d->stream_id, 1, d->offset + d->length));
      }
      sent_data++;
    }
  }
  assert_true(frames > 0);
  assert_true(sent_data > 0);
}

/* ---- A request's hops ------------------------------------------------- */

/* The stream of trace T's stream_data sent=1 on conn, checked to run from
 * 0 to a FIN on one stream; returns its length and sets *stream. */
static uint64_t hop_bytes(const node_log *l, const pt_trace_id *trace,
                          uint64_t conn, int64_t *stream) {
  uint64_t next = 0;
  int fin = 0;
  *stream = -1;
  for (size_t i = 0; i < l->n; i++) {
    const pt_event *e = &l->evs[i];
    if (e->kind != PT_EV_STREAM_DATA || !e->data.stream_data.sent ||
        pt_event_conn(e) != conn ||
        memcmp(&e->trace_id, trace, sizeof *trace) != 0) {
      continue;
    }
    const struct pt_stream_data_data *d = &e->data.stream_data;
    if (*stream < 0) {
      *stream = (int64_t)d->stream_id;
    }
    assert_int_equal(d->stream_id, *stream); /* one stream per hop */
    assert_int_equal(d->offset, next);       /* in order, no gap */
    assert_false(fin);
    next += d->length;
    fin = d->fin;
  }
  assert_true(*stream >= 0);
  assert_true(fin);
  return next;
}

/* What b received on (conn, stream): sent=0 stream_data, in order. */
static uint64_t received_bytes(const node_log *l, uint64_t conn,
                               int64_t stream) {
  uint64_t next = 0;
  int fin = 0;
  for (size_t i = 0; i < l->n; i++) {
    const pt_event *e = &l->evs[i];
    if (e->kind == PT_EV_STREAM_DATA && !e->data.stream_data.sent &&
        pt_event_conn(e) == conn &&
        e->data.stream_data.stream_id == (uint64_t)stream) {
      assert_int_equal(e->data.stream_data.offset, next);
      next += e->data.stream_data.length;
      fin |= e->data.stream_data.fin;
    }
  }
  assert_true(fin);
  return next;
}

static size_t check_hops(demo_net *net, const node_log *logs,
                         const demo_request *r) {
  size_t hops = 0;
  for (size_t a = 0; a < NODES; a++) {
    const node_log *la = &logs[a];
    for (size_t i = 0; i < la->n; i++) {
      const pt_event *cmd = &la->evs[i];
      if (cmd->kind != PT_EV_APP_COMMAND ||
          memcmp(&cmd->trace_id, &r->ctx.trace_id, sizeof cmd->trace_id) != 0) {
        continue;
      }
      size_t b = demo_net_index_of(net, cmd->peer_id);
      assert_true(b < NODES);
      uint64_t conn = conn_between(net, a, b);
      assert_true(conn == conn_between(net, b, a)); /* one identity */
      /* The request: a's bytes on one stream of that connection, under the
       * trace; b received them all on that stream. */
      int64_t stream = -1, reply_stream = -1;
      uint64_t len = hop_bytes(la, &r->ctx.trace_id, conn, &stream);
      assert_int_equal(received_bytes(&logs[b], conn, stream), len);
      /* The reply: b's bytes back on the same stream, under the trace. */
      uint64_t reply =
          hop_bytes(&logs[b], &r->ctx.trace_id, conn, &reply_stream);
      assert_int_equal(reply_stream, stream);
      assert_int_equal(received_bytes(la, conn, stream), reply);
      hops++;
    }
  }
  return hops;
}

/* ---- Losses and retransmissions --------------------------------------- */

/* The node (other than self) whose log has events of conn. */
static size_t peer_of(const node_log *logs, size_t self, uint64_t conn) {
  for (size_t b = 0; b < NODES; b++) {
    for (size_t i = 0; b != self && i < logs[b].n; i++) {
      if (pt_event_conn(&logs[b].evs[i]) == conn) {
        return b;
      }
    }
  }
  fail_msg("conn %016llx has no other half", (unsigned long long)conn);
  return SIZE_MAX;
}

/*
 * Checks every lost packet that carried stream bytes; returns how many
 * there were and, in *resent, how many had all their bytes sent again in
 * later packets (higher pn) of the same connection.
 */
static size_t check_losses(const node_log *logs, size_t *resent) {
  size_t lost_with_data = 0;
  *resent = 0;
  for (size_t a = 0; a < NODES; a++) {
    const node_log *la = &logs[a];
    for (size_t i = 0; i < la->n; i++) {
      const pt_event *lost = &la->evs[i];
      if (lost->kind != PT_EV_PACKET_LOST ||
          lost->data.packet_lost.space != PT_PN_SPACE_APPLICATION) {
        continue;
      }
      uint64_t conn = pt_event_conn(lost), pn = lost->data.packet_lost.pn;
      size_t b = peer_of(logs, a, conn);
      /* The peer never got it (the loss was injected on its side). */
      for (size_t k = 0; k < logs[b].n; k++) {
        const pt_event *e = &logs[b].evs[k];
        assert_false(e->kind == PT_EV_PACKET_RECEIVED &&
                     pt_event_conn(e) == conn &&
                     e->data.packet_received.space == PT_PN_SPACE_APPLICATION &&
                     e->data.packet_received.pn == pn);
      }
      int frames = 0, all_later = 1;
      for (size_t k = 0; k < la->n; k++) {
        const pt_event *f = &la->evs[k];
        if (f->kind != PT_EV_STREAM_FRAME || !f->data.stream_frame.sent ||
            pt_event_conn(f) != conn || f->data.stream_frame.pn != pn ||
            f->data.stream_frame.space != PT_PN_SPACE_APPLICATION ||
            f->data.stream_frame.length == 0) {
          continue;
        }
        const struct pt_stream_frame_data *d = &f->data.stream_frame;
        uint64_t lo = d->offset, hi = d->offset + d->length;
        frames++;
        /* Its bytes reached the peer in other packets. */
        if (!covered(&logs[b], conn, d->stream_id, 0, lo, hi, pn, UINT64_MAX)) {
          fail_msg("node %zu: bytes %llu..%llu of stream %llu, lost in pn "
                   "%llu, never reached node %zu in another packet",
                   a, (unsigned long long)lo, (unsigned long long)hi,
                   (unsigned long long)d->stream_id, (unsigned long long)pn, b);
        }
        all_later &= covered(la, conn, d->stream_id, 1, lo, hi, UINT64_MAX, pn);
      }
      if (frames > 0) {
        lost_with_data++;
        *resent += (size_t)all_later;
      }
    }
  }
  return lost_with_data;
}

static void load_logs(demo_net *net, node_log *logs) {
  for (size_t i = 0; i < NODES; i++) {
    logs[i].evs = p2p_test_events(demo_net_log(net, i), &logs[i].n);
  }
}

static void free_logs(node_log *logs) {
  for (size_t i = 0; i < NODES; i++) {
    pt_events_free(logs[i].evs);
    logs[i].evs = NULL;
  }
}

/*
 * The recovery_metrics of node i's log: plausible, only changes, each
 * the values of one of ngtcp2's metrics_updated records in record order;
 * the last of each connection what ngtcp2 holds now.  Returns how many.
 */
static size_t check_metrics(demo_net *net, const node_log *l, size_t i,
                            const metrics_tap *tap) {
  size_t count = 0, rec = 0;
  for (size_t j = 0; j < NODES; j++) {
    p2p_conn *c =
        p2p_node_find_conn(demo_net_node(net, i), demo_net_port(net, j));
    if (i == j || c == NULL) {
      continue;
    }
    const pt_quic_tracer *t = p2p_conn_tracer(c);
    const struct pt_recovery_metrics_data *last = NULL;
    size_t sampled = 0, of_conn = 0;
    for (size_t k = 0; k < l->n; k++) {
      const pt_event *e = &l->evs[k];
      if (e->kind != PT_EV_RECOVERY_METRICS || pt_event_conn(e) != t->conn) {
        continue;
      }
      const struct pt_recovery_metrics_data *m = &e->data.recovery_metrics;
      if (m->min_rtt_us > 0) {
        assert_true(m->min_rtt_us <= m->latest_rtt_us);
        assert_true(m->min_rtt_us <= m->smoothed_rtt_us);
        assert_true(m->latest_rtt_us < 1000000u);
        sampled++;
      } else {
        assert_int_equal(m->latest_rtt_us, 0); /* no sample yet */
      }
      assert_true(m->smoothed_rtt_us > 0 && m->smoothed_rtt_us < 1000000u);
      assert_true(m->cwnd >= 2 * 1200u);
      if (last != NULL) {
        assert_memory_not_equal(m, last, sizeof *m);
      }
      last = m;
      of_conn++;
    }
    assert_true(sampled > 0);
    assert_int_equal(of_conn, t->stats.recovery_metrics);
    assert_int_equal(t->stats.metrics_no_conn, 0);
    assert_true(t->stats.metrics_updates >= of_conn);
    /* The last one: ngtcp2's state now, to the microsecond. */
    ngtcp2_conn_stat st;
    assert_non_null(t->quic_conn);
    ngtcp2_conn_get_conn_stat(t->quic_conn, &st);
    assert_int_equal(last->latest_rtt_us, st.latest_rtt / 1000u);
    assert_int_equal(last->min_rtt_us, st.min_rtt / 1000u);
    assert_int_equal(last->smoothed_rtt_us, st.smoothed_rtt / 1000u);
    assert_int_equal(last->rtt_variance_us, st.rttvar / 1000u);
    assert_int_equal(last->cwnd, st.cwnd);
    assert_int_equal(last->bytes_in_flight, st.bytes_in_flight);
    count += of_conn;
  }
  /* Each event, in log order, is one of the node's records, in order. */
  for (size_t k = 0; k < l->n; k++) {
    const pt_event *e = &l->evs[k];
    if (e->kind != PT_EV_RECOVERY_METRICS) {
      continue;
    }
    while (rec < tap->n[i] &&
           !record_matches(&tap->recs[i][rec], &e->data.recovery_metrics)) {
      rec++;
    }
    if (rec == tap->n[i]) {
      fail_msg("node %zu: recovery_metrics event %zu matches no later "
               "metrics_updated record of ngtcp2's qlog",
               i, k);
    }
    rec++;
  }
  return count;
}

/* The chunks both tests store and read: chunk k on node 1 + k % 3. */
static uint8_t chunks[CHUNKS][CHUNK_SIZE];
static uint8_t hashes[CHUNKS][32];

/* The ring of NODES nodes with 5 % loss and the qlog tap, and the chunks
 * made for it. */
static demo_net *
start_ring(void (*on_qlog)(size_t, const void *, size_t, void *), void *tap) {
  demo_net *net = p2p_test_start(NODES, 0.05, on_qlog, tap, NULL);
  for (size_t k = 0; k < CHUNKS; k++) {
    p2p_test_chunk(net, 1 + k % (NODES - 1), (uint32_t)k, chunks[k], CHUNK_SIZE,
                   hashes[k]);
  }
  return net;
}

static void test_recovery_metrics(void **state) {
  (void)state;
  metrics_tap *tap = calloc(1, sizeof *tap);
  assert_non_null(tap);
  demo_net *net = start_ring(tap_metrics, tap);
  demo_request reqs[2][CHUNKS];
  demo_request *ptrs[CHUNKS];
  node_log logs[NODES];
  memset(reqs, 0, sizeof reqs);
  for (size_t round = 0; round < 2; round++) {
    for (size_t k = 0; k < CHUNKS; k++) {
      assert_int_equal(
          demo_net_submit(net, 0,
                          round == 0 ? DMAP_STORE_CHUNK : DMAP_GET_CHUNK,
                          hashes[k], round == 0 ? chunks[k] : NULL,
                          round == 0 ? CHUNK_SIZE : 0, &reqs[round][k]),
          0);
      ptrs[k] = &reqs[round][k];
    }
    assert_int_equal(demo_net_wait(net, ptrs, CHUNKS, 20000), 0);
  }
  load_logs(net, logs);
  size_t total = 0, records = 0;
  for (size_t i = 0; i < NODES; i++) {
    total += check_metrics(net, &logs[i], i, tap);
    records += tap->n[i];
  }
  free_logs(logs);
  print_message("%zu recovery_metrics events from %zu metrics_updated "
                "records\n",
                total, records);
  demo_net_shutdown(net);
  demo_net_destroy(net);
  free(tap);
}

static void test_request_packets(void **state) {
  (void)state;
  frame_tap *tap = calloc(1, sizeof *tap);
  assert_non_null(tap);
  demo_net *net = start_ring(tap_frames, tap);
  demo_request *reqs = calloc(CHUNKS * (ROUNDS + 1), sizeof *reqs);
  demo_request *ptrs[CHUNKS];
  node_log logs[NODES];
  size_t lost = 0, resent = 0, hops = 0, requests = 0;
  assert_non_null(reqs);
  /* Round 0 stores the chunks, the others read them back: at least two
   * rounds of reads, more until a lost packet's bytes were retransmitted in
   * a later one (loss is random). */
  for (size_t round = 0; round <= ROUNDS && (round < 3 || resent == 0);
       round++) {
    for (size_t k = 0; k < CHUNKS; k++) {
      demo_request *r = &reqs[round * CHUNKS + k];
      uint8_t cmd = round == 0 ? DMAP_STORE_CHUNK : DMAP_GET_CHUNK;
      assert_int_equal(demo_net_submit(net, 0, cmd, hashes[k],
                                       round == 0 ? chunks[k] : NULL,
                                       round == 0 ? CHUNK_SIZE : 0, r),
                       0);
      ptrs[k] = r;
    }
    assert_int_equal(demo_net_wait(net, ptrs, CHUNKS, 20000), 0);
    load_logs(net, logs);
    for (size_t k = 0; k < CHUNKS; k++) {
      assert_int_equal(ptrs[k]->status, DMAP_STATUS_OK);
      /* Node 0 asks node 1; each node on to the responsible one. */
      size_t n = check_hops(net, logs, ptrs[k]);
      assert_int_equal(n, 1 + k % (NODES - 1));
      hops += n;
      requests++;
    }
    lost = check_losses(logs, &resent);
    free_logs(logs);
  }
  load_logs(net, logs);
  for (size_t i = 0; i < NODES; i++) {
    check_frames(&logs[i], i);
    /* One stream_frame per STREAM frame ngtcp2 logged, in each direction. */
    size_t recorded[2] = {0, 0};
    for (size_t k = 0; k < logs[i].n; k++) {
      const pt_event *e = &logs[i].evs[k];
      if (e->kind == PT_EV_STREAM_FRAME) {
        recorded[e->data.stream_frame.sent ? 1 : 0]++;
      }
    }
    assert_int_equal(recorded[1], tap->frames[i][1]);
    assert_int_equal(recorded[0], tap->frames[i][0]);
    for (size_t j = 0; j < NODES; j++) {
      p2p_conn *c =
          p2p_node_find_conn(demo_net_node(net, i), demo_net_port(net, j));
      if (i != j && c != NULL) {
        assert_int_equal(p2p_conn_tracer(c)->stats.frames_rejected, 0);
        assert_int_equal(p2p_conn_tracer(c)->stats.frames_dropped, 0);
      }
    }
  }
  free_logs(logs);
  print_message("%zu requests, %zu hops each with its stream under its trace; "
                "%zu lost packets with stream bytes, %zu of them resent in "
                "later packets\n",
                requests, hops, lost, resent);
  assert_true(lost > 0);
  assert_true(resent > 0);
  demo_net_shutdown(net);
  demo_net_destroy(net);
  free(reqs);
  free(tap);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_request_packets),
      cmocka_unit_test(test_recovery_metrics),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
