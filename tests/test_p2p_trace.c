/*
 * test_p2p_trace: integration tests over real QUIC on loopback (ngtcp2 +
 * GnuTLS), with the demo's DataMap nodes and injected, seeded datagram loss.
 *
 *  - QUIC event tracing: each node's packet_lost events are exactly the
 *    loss records of ngtcp2's own qlog (same packet numbers and spaces);
 *    packet numbers of packet_sent rise strictly per connection and pn space;
 *    the packet_sent sizes add up to the bytes handed to the socket.
 *  - Connection identity: both halves of each ring connection carry the
 *    same non-zero conn on every connection event, different connections
 *    different ones (the stream bytes and packets of a request are in
 *    test_p2p_packets.c).
 *  - App protocol tracing: every DMAP request yields app_start/app_end with
 *    the right command and outcome on the client and on the storing node.
 *  - Trace correlation: one trace id links the client, each forwarding node
 *    and the storing node, and every receive is preceded by the matching
 *    send on the sending node.
 *  - Untrusted input: malformed trace headers from a remote peer are
 *    rejected with an error response, and the node keeps serving.
 *  - Files: node logs in files (demo_config.log_dir) read by another reader,
 *    and the dumps the demo writes, read back by its report.
 *
 * Ports: every node binds 127.0.0.1:0.  Every wait is bounded (demo_net_wait
 * with a timeout); nothing asserts on timings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include <peertrace/pt_quic.h>

#include "demo_net.h"
#include "demo_report.h"
#include "test_p2p_common.h"

#define NODES 4
#define CHUNKS 16
#define CHUNK_SIZE 4000
#define MAX_LOST 4096

/* ngtcp2's own view, read from the raw qlog text by a separate path. */
typedef struct qlog_tap {
  uint64_t lost[NODES][MAX_LOST]; /* space << 62 | pn */
  size_t lost_count[NODES];
  int overflow;
} qlog_tap;

static void tap_qlog(size_t node, const void *data, size_t len, void *arg) {
  qlog_tap *tap = arg;
  char *text = p2p_test_qlog_text(data, len);
  if (node < NODES && strstr(text, "\"name\":\"recovery:packet_lost\"")) {
    const char *type = strstr(text, "\"packet_type\":\"");
    const char *pn = strstr(text, "\"packet_number\":");
    assert_non_null(type);
    assert_non_null(pn);
    type += strlen("\"packet_type\":\"");
    uint64_t space = strncmp(type, "initial", 7) == 0     ? 0
                     : strncmp(type, "handshake", 9) == 0 ? 1
                                                          : 2;
    uint64_t number = strtoull(pn + strlen("\"packet_number\":"), NULL, 10);
    if (tap->lost_count[node] < MAX_LOST) {
      tap->lost[node][tap->lost_count[node]++] = space << 62 | number;
    } else {
      tap->overflow = 1;
    }
  }
  free(text);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* A connected ring; log_dir: see demo_config (NULL: logs in memory). */
static demo_net *start_in(double loss, qlog_tap *tap, const char *log_dir) {
  return p2p_test_start(NODES, loss, tap != NULL ? tap_qlog : NULL, tap,
                        log_dir);
}

static demo_net *start(double loss, qlog_tap *tap) {
  return start_in(loss, tap, NULL);
}

/* Node 0 stores a chunk that belongs to the last node, then reads it back:
 * both requests cross every node of the ring. */
static void store_then_get(demo_net *net, uint32_t seed, demo_request *store,
                           demo_request *get) {
  static uint8_t chunk[CHUNK_SIZE];
  uint8_t hash[32];
  p2p_test_chunk(net, NODES - 1, seed, chunk, sizeof chunk, hash);
  demo_request *p = store;
  assert_int_equal(demo_net_submit(net, 0, DMAP_STORE_CHUNK, hash, chunk,
                                   sizeof chunk, store),
                   0);
  assert_int_equal(demo_net_wait(net, &p, 1, 20000), 0);
  p = get;
  assert_int_equal(demo_net_submit(net, 0, DMAP_GET_CHUNK, hash, NULL, 0, get),
                   0);
  assert_int_equal(demo_net_wait(net, &p, 1, 20000), 0);
  assert_int_equal(get->status, DMAP_STATUS_OK);
  assert_int_equal(get->hops, NODES); /* 0 -> 1 -> 2 -> 3 */
}

/* ---- QUIC event tracing ------------------------------------------------ */

static void test_quic_events_match_ngtcp2(void **state) {
  (void)state;
  qlog_tap *tap = calloc(1, sizeof *tap);
  assert_non_null(tap);
  demo_net *net = start(0.05, tap);
  static uint8_t chunks[CHUNKS][CHUNK_SIZE];
  uint8_t hashes[CHUNKS][32];
  demo_request reqs[2 * CHUNKS];
  demo_request *ptrs[2 * CHUNKS];
  for (size_t k = 0; k < CHUNKS; k++) {
    p2p_test_chunk(net, 1 + k % (NODES - 1), (uint32_t)k, chunks[k], CHUNK_SIZE,
                   hashes[k]);
    assert_int_equal(demo_net_submit(net, 0, DMAP_STORE_CHUNK, hashes[k],
                                     chunks[k], CHUNK_SIZE, &reqs[k]),
                     0);
    ptrs[k] = &reqs[k];
  }
  assert_int_equal(demo_net_wait(net, ptrs, CHUNKS, 20000), 0);
  for (size_t k = 0; k < CHUNKS; k++) {
    assert_int_equal(demo_net_submit(net, 1, DMAP_GET_CHUNK, hashes[k], NULL, 0,
                                     &reqs[CHUNKS + k]),
                     0);
    ptrs[CHUNKS + k] = &reqs[CHUNKS + k];
  }
  assert_int_equal(demo_net_wait(net, ptrs + CHUNKS, CHUNKS, 20000), 0);
  for (size_t k = 0; k < 2 * CHUNKS; k++) {
    assert_int_equal(reqs[k].status, DMAP_STATUS_OK);
  }
  /* Loss is random: if ngtcp2 has not declared any loss yet, read the
   * chunks again (at most 10 more rounds) so there is something to compare.
   * The comparisons below hold whatever the number of losses. */
  for (int round = 0; round < 10; round++) {
    size_t seen = 0;
    for (size_t node = 0; node < NODES; node++) {
      seen += tap->lost_count[node];
    }
    if (seen > 0) {
      break;
    }
    for (size_t k = 0; k < CHUNKS; k++) {
      assert_int_equal(demo_net_submit(net, 1, DMAP_GET_CHUNK, hashes[k], NULL,
                                       0, &reqs[CHUNKS + k]),
                       0);
    }
    assert_int_equal(demo_net_wait(net, ptrs + CHUNKS, CHUNKS, 20000), 0);
  }

  size_t total_lost = 0;
  for (size_t node = 0; node < NODES; node++) {
    size_t n = 0;
    pt_event *evs = p2p_test_events(demo_net_log(net, node), &n);
    uint64_t sent_bytes = 0;
    uint64_t *lost = calloc(MAX_LOST, sizeof *lost);
    size_t lost_n = 0;
    assert_non_null(lost);

    for (size_t i = 0; i < n; i++) {
      const pt_event *e = &evs[i];
      if (e->kind == PT_EV_PACKET_SENT) {
        sent_bytes += e->data.packet_sent.size;
        assert_true(e->data.packet_sent.size > 0);
        /* Strictly rising pn per connection (trace id) and space: compare
         * with the previous packet_sent of the same connection and space. */
        for (size_t j = i; j-- > 0;) {
          const pt_event *p = &evs[j];
          if (p->kind == PT_EV_PACKET_SENT &&
              memcmp(&p->trace_id, &e->trace_id, sizeof e->trace_id) == 0 &&
              p->data.packet_sent.space == e->data.packet_sent.space) {
            if (!(e->data.packet_sent.pn > p->data.packet_sent.pn)) {
              fail_msg("node %zu: pn %llu after %llu in space %u", node,
                       (unsigned long long)e->data.packet_sent.pn,
                       (unsigned long long)p->data.packet_sent.pn,
                       e->data.packet_sent.space);
            }
            break;
          }
        }
      } else if (e->kind == PT_EV_PACKET_LOST) {
        assert_true(lost_n < MAX_LOST);
        lost[lost_n++] =
            (uint64_t)e->data.packet_lost.space << 62 | e->data.packet_lost.pn;
      }
      if (e->kind >= PT_EV_CONN_INIT && e->kind <= PT_EV_PACKET_LOST) {
        /* Transport events carry the connection's trace context. */
        assert_false(pt_trace_id_is_zero(&e->trace_id));
      }
    }
    p2p_node_stats st;
    p2p_node_get_stats(demo_net_node(net, node), &st);
    assert_true(st.bytes_sent > 0);
    if (sent_bytes != st.bytes_sent) {
      fail_msg("node %zu: packet_sent sizes sum to %llu, socket got %llu", node,
               (unsigned long long)sent_bytes,
               (unsigned long long)st.bytes_sent);
    }
    /* The same losses as ngtcp2's own qlog, pn for pn. */
    assert_false(tap->overflow);
    assert_int_equal(lost_n, tap->lost_count[node]);
    qsort(lost, lost_n, sizeof *lost, cmp_u64);
    qsort(tap->lost[node], lost_n, sizeof *lost, cmp_u64);
    assert_memory_equal(lost, tap->lost[node], lost_n * sizeof *lost);
    total_lost += lost_n;
    print_message("node %zu: %zu events, %llu bytes sent in packets = "
                  "socket bytes, %zu packets lost (= qlog)\n",
                  node, n, (unsigned long long)sent_bytes, lost_n);
    free(lost);
    pt_events_free(evs);
  }
  /* The parser understood every packet record ngtcp2 wrote, and each
   * connection's own counters agree with its events. */
  for (size_t a = 0; a < NODES; a++) {
    for (size_t b = 0; b < NODES; b++) {
      p2p_conn *c = p2p_node_find_conn(demo_net_node(net, a),
                                       p2p_node_port(demo_net_node(net, b)));
      if (a == b || c == NULL) {
        continue;
      }
      const pt_quic_tracer *t = p2p_conn_tracer(c);
      assert_int_equal(t->stats.qlog_rejected, 0);
      assert_true(t->stats.packets_sent > 0);
      assert_true(t->stats.packets_received > 0);
      assert_true(t->stats.qlog_records >
                  t->stats.packets_sent + t->stats.packets_received);
    }
  }
  /* 5% loss on ~200 KB of traffic: QUIC must have declared losses. */
  assert_true(total_lost > 0);
  demo_net_shutdown(net);
  demo_net_destroy(net);
  free(tap);
}

/* ---- Connection identity ----------------------------------------------- */

static int is_conn_kind(unsigned kind) {
  return (kind >= PT_EV_CONN_INIT && kind <= PT_EV_PACKET_LOST) ||
         kind == PT_EV_STREAM_FRAME;
}

/*
 * Both halves of every ring connection carry the same non-zero conn on
 * every connection event (conn_init included), the four connections carry
 * four different ones, and an event's conn always goes with the same peer.
 */
static void test_connection_identity(void **state) {
  (void)state;
  demo_net *net = start(0.03, NULL);
  demo_request store, get;
  store_then_get(net, 11, &store, &get);
  uint64_t conns[NODES][2]; /* per node, the distinct conns of its events */
  for (size_t node = 0; node < NODES; node++) {
    size_t n = 0, distinct = 0, inits = 0;
    pt_event *evs = p2p_test_events(demo_net_log(net, node), &n);
    for (size_t i = 0; i < n; i++) {
      const pt_event *e = &evs[i];
      if (!is_conn_kind(e->kind)) {
        continue;
      }
      uint64_t c = pt_event_conn(e);
      if (c == 0) {
        fail_msg("node %zu: event %zu (kind %u) without a conn", node, i,
                 e->kind);
      }
      inits += e->kind == PT_EV_CONN_INIT;
      /* Each conn is the connection to one peer: the ring neighbours. */
      size_t peer = demo_net_index_of(net, e->peer_id);
      assert_true(peer == (node + 1) % NODES ||
                  peer == (node + NODES - 1) % NODES);
      size_t k = 0;
      while (k < distinct && conns[node][k] != c) {
        k++;
      }
      if (k == distinct) {
        assert_true(distinct < 2); /* a client and a server half */
        conns[node][distinct++] = c;
      }
    }
    assert_int_equal(distinct, 2);
    assert_int_equal(inits, 2);
    pt_events_free(evs);
  }
  /* Node i and node i+1 share exactly one conn: their connection's. */
  uint64_t ring[NODES];
  for (size_t i = 0; i < NODES; i++) {
    size_t j = (i + 1) % NODES, shared = 0;
    for (size_t a = 0; a < 2; a++) {
      for (size_t b = 0; b < 2; b++) {
        if (conns[i][a] == conns[j][b]) {
          ring[i] = conns[i][a];
          shared++;
        }
      }
    }
    assert_int_equal(shared, 1);
    /* The same value the tracers of both ends hold, from the ODCID each
     * was given, and ngtcp2's qlog header agreed on both ends. */
    p2p_conn *ab =
        p2p_node_find_conn(demo_net_node(net, i), demo_net_port(net, j));
    p2p_conn *ba =
        p2p_node_find_conn(demo_net_node(net, j), demo_net_port(net, i));
    assert_non_null(ab);
    assert_non_null(ba);
    assert_true(p2p_conn_tracer(ab)->conn == ring[i]);
    assert_true(p2p_conn_tracer(ba)->conn == ring[i]);
    assert_int_equal(p2p_conn_tracer(ab)->stats.conn_mismatch, 0);
    assert_int_equal(p2p_conn_tracer(ba)->stats.conn_mismatch, 0);
  }
  for (size_t i = 0; i < NODES; i++) {
    for (size_t j = i + 1; j < NODES; j++) {
      assert_true(ring[i] != ring[j]);
    }
  }
  demo_net_shutdown(net);
  demo_net_destroy(net);
}

/* ---- App protocol tracing ---------------------------------------------- */

static size_t count_kind(const pt_event *evs, size_t n, unsigned kind,
                         unsigned cmd, int ok, int with_peer) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const pt_event *e = &evs[i];
    if (e->kind != kind) {
      continue;
    }
    int has_peer = (e->flags & PT_EVENT_HAS_PEER) != 0;
    if (with_peer >= 0 && has_peer != with_peer) {
      continue;
    }
    if (kind == PT_EV_APP_START) {
      if (memcmp(e->data.app_start.app_id, "DMAP", 4) == 0 &&
          e->data.app_start.cmd == cmd) {
        k++;
      }
    } else if (kind == PT_EV_APP_END) {
      if (memcmp(e->data.app_end.app_id, "DMAP", 4) == 0 &&
          e->data.app_end.cmd == cmd && e->data.app_end.ok == ok) {
        k++;
      }
    }
  }
  return k;
}

/*
 * Every app event of a trace, on every node, carries the trace flags of the
 * request's context: those the client set and the wire header carried.
 * Returns how many app events the trace has.
 */
static size_t check_app_flags(demo_net *net, const pt_trace_ctx *ctx) {
  size_t app_events = 0;
  for (size_t node = 0; node < demo_net_size(net); node++) {
    pt_event *evs = NULL;
    size_t n = 0;
    assert_int_equal(
        pt_log_query_trace(demo_net_log(net, node), &ctx->trace_id, &evs, &n),
        PT_OK);
    for (size_t k = 0; k < n; k++) {
      if (evs[k].kind == PT_EV_APP_START || evs[k].kind == PT_EV_APP_COMMAND ||
          evs[k].kind == PT_EV_APP_END) {
        assert_int_equal(evs[k].flags & PT_TRACE_FLAGS_MASK, ctx->flags);
        app_events++;
      }
    }
    pt_events_free(evs);
  }
  return app_events;
}

static void test_app_protocol_events(void **state) {
  (void)state;
  demo_net *net = start(0.02, NULL);
  static uint8_t chunk[CHUNK_SIZE];
  uint8_t hash[32], missing[32];
  p2p_test_chunk(net, 2, 7, chunk, sizeof chunk, hash);
  memcpy(missing, hash, 32);
  missing[31] ^= 1; /* same responsible node, never stored */
  struct {
    uint8_t cmd;
    const uint8_t *hash;
    uint8_t status;
  } plan[] = {
      {DMAP_STORE_CHUNK, hash, DMAP_STATUS_OK},
      {DMAP_GET_CHUNK, hash, DMAP_STATUS_OK},
      {DMAP_GET_CHUNK, missing, DMAP_STATUS_NOT_FOUND},
      {DMAP_DELETE_CHUNK, hash, DMAP_STATUS_OK},
      {DMAP_DELETE_CHUNK, hash, DMAP_STATUS_NOT_FOUND},
  };
  enum { PLAN = sizeof plan / sizeof plan[0] };
  demo_request reqs[PLAN];
  for (size_t i = 0; i < PLAN; i++) {
    demo_request *p = &reqs[i];
    assert_int_equal(
        demo_net_submit(net, 0, plan[i].cmd, plan[i].hash,
                        plan[i].cmd == DMAP_STORE_CHUNK ? chunk : NULL,
                        plan[i].cmd == DMAP_STORE_CHUNK ? sizeof chunk : 0, p),
        0);
    assert_int_equal(demo_net_wait(net, &p, 1, 20000), 0);
    assert_int_equal(p->status, plan[i].status);
  }
  for (size_t i = 0; i < PLAN; i++) {
    int ok = plan[i].status == DMAP_STATUS_OK;
    /* The demo's requests are sampled and app-initiated (0x05). */
    assert_int_equal(reqs[i].ctx.flags,
                     PT_FLAG_SAMPLED | PT_FLAG_APP_INITIATED);
    /* Client start/end, one forward, storing node's start/end at least. */
    assert_true(check_app_flags(net, &reqs[i].ctx) >= 5);
    /* Client (node 0): one start and one end without a peer. */
    pt_event *evs = NULL;
    size_t n = 0;
    assert_int_equal(pt_log_query_trace(demo_net_log(net, 0),
                                        &reqs[i].ctx.trace_id, &evs, &n),
                     PT_OK);
    assert_int_equal(count_kind(evs, n, PT_EV_APP_START, plan[i].cmd, 0, 0), 1);
    assert_int_equal(count_kind(evs, n, PT_EV_APP_END, plan[i].cmd, ok, 0), 1);
    assert_int_equal(count_kind(evs, n, PT_EV_APP_END, plan[i].cmd, !ok, -1),
                     0);
    pt_events_free(evs);
    /* Storing node (node 2): one start and one end, from node 1. */
    assert_int_equal(pt_log_query_trace(demo_net_log(net, 2),
                                        &reqs[i].ctx.trace_id, &evs, &n),
                     PT_OK);
#if PT_TRACE_APP
    /* The trace data is what the shared DMAP descriptor (examples/datamap,
     * registered with pt_app) makes of the payload: hash, STORE size
     * (big-endian), payload length (little-endian). */
    for (size_t k = 0; k < n; k++) {
      if (evs[k].kind != PT_EV_APP_START) {
        continue;
      }
      const uint8_t *d = evs[k].data.app_start.data;
      assert_memory_equal(d + DMAP_TRACE_HASH, plan[i].hash, DMAP_HASH_SIZE);
      uint32_t size = (uint32_t)d[32] << 24 | (uint32_t)d[33] << 16 |
                      (uint32_t)d[34] << 8 | d[35];
      uint32_t plen = (uint32_t)d[36] | (uint32_t)d[37] << 8 |
                      (uint32_t)d[38] << 16 | (uint32_t)d[39] << 24;
      if (plan[i].cmd == DMAP_STORE_CHUNK) {
        assert_int_equal(size, sizeof chunk);
        assert_int_equal(plen, DMAP_STORE_PAYLOAD_SIZE);
      } else {
        assert_int_equal(size, 0);
        assert_int_equal(plen, DMAP_HASH_SIZE);
      }
    }
#endif
    assert_int_equal(count_kind(evs, n, PT_EV_APP_START, plan[i].cmd, 0, 1), 1);
    assert_int_equal(count_kind(evs, n, PT_EV_APP_END, plan[i].cmd, ok, 1), 1);
    pt_events_free(evs);
  }
  demo_net_shutdown(net);
  demo_net_destroy(net);
}

/* ---- Trace correlation across nodes ------------------------------------ */

static void test_trace_links_nodes(void **state) {
  (void)state;
  demo_net *net = start(0.03, NULL);
  demo_request store, get;
  store_then_get(net, 99, &store, &get);

  const demo_request *reqs[2] = {&store, &get};
  for (size_t r = 0; r < 2; r++) {
    pt_event *evs[NODES];
    size_t n[NODES];
    for (size_t i = 0; i < NODES; i++) {
      assert_int_equal(pt_log_query_trace(demo_net_log(net, i),
                                          &reqs[r]->ctx.trace_id, &evs[i],
                                          &n[i]),
                       PT_OK);
      /* Every node on the path recorded the request under this trace. */
      assert_true(n[i] >= 2);
    }
    size_t receives = 0;
    for (size_t b = 0; b < NODES; b++) {
      for (size_t k = 0; k < n[b]; k++) {
        const pt_event *recv = &evs[b][k];
        if (recv->kind != PT_EV_APP_START ||
            !(recv->flags & PT_EVENT_HAS_PEER)) {
          continue;
        }
        receives++;
        size_t a = demo_net_index_of(net, recv->peer_id);
        assert_true(a < NODES);
        assert_int_equal(a, (b + NODES - 1) % NODES); /* ring predecessor */
        /* The matching send on node a, towards b, before the receive. */
        int found = 0;
        for (size_t j = 0; j < n[a]; j++) {
          const pt_event *send = &evs[a][j];
          if (send->kind == PT_EV_APP_COMMAND &&
              (send->flags & PT_EVENT_HAS_PEER) &&
              demo_net_index_of(net, send->peer_id) == b &&
              send->data.app_command.cmd == recv->data.app_start.cmd &&
              send->timestamp_us <= recv->timestamp_us) {
            found = 1;
          }
        }
        if (!found) {
          fail_msg("receive on node %zu has no earlier send on node %zu", b, a);
        }
      }
    }
    assert_int_equal(receives, NODES - 1); /* nodes 1, 2 and 3 */
    for (size_t i = 0; i < NODES; i++) {
      pt_events_free(evs[i]);
    }
  }
  demo_net_shutdown(net);
  demo_net_destroy(net);
}

/* ---- Malformed trace headers from a remote peer ------------------------ */

typedef struct raw_client {
  int responses;
  uint8_t status[8];
} raw_client;

static void raw_on_response(p2p_node *node, p2p_conn *conn, int64_t stream,
                            const uint8_t *msg, size_t len, void *ctx,
                            void *arg) {
  raw_client *rc = arg;
  dmap_reply res;
  (void)node;
  (void)conn;
  (void)stream;
  (void)ctx;
  assert_int_equal(dmap_reply_decode(msg, len, &res), 0);
  if (rc->responses < 8) {
    rc->status[rc->responses] = res.status;
  }
  rc->responses++;
}

static void test_malformed_headers_rejected(void **state) {
  (void)state;
  demo_net *net = start(0.0, NULL);
  raw_client rc = {0};
  p2p_config cfg;
  p2p_node *raw;
  p2p_conn *conn;
  pt_log *log;
  memset(&cfg, 0, sizeof cfg);
  cfg.cb.on_response = raw_on_response;
  cfg.cb.arg = &rc;
  assert_int_equal(pt_log_create(&log, NULL), PT_OK);
  cfg.log = log;
  assert_int_equal(p2p_node_create(&raw, &cfg), 0);
  assert_int_equal(
      p2p_node_connect(raw, p2p_node_port(demo_net_node(net, 0)), &conn), 0);

  uint8_t good[PT_WIRE_HEADER_SIZE + DMAP_MSG_HEADER];
  pt_msg_header h = {pt_trace_id_new(), PT_FLAG_SAMPLED};
  dmap_msg req;
  memset(&req, 0, sizeof req);
  req.cmd = DMAP_GET_CHUNK;
  req.hash[0] = 0; /* responsible: node 0 itself */
  assert_int_equal(pt_wire_header_encode(&h, good, sizeof good), 19);
  assert_int_equal(dmap_msg_encode(&req, good + 19, sizeof good - 19),
                   DMAP_MSG_HEADER);
  uint8_t bad_magic[sizeof good], bad_flags[sizeof good];
  memcpy(bad_magic, good, sizeof good);
  bad_magic[0] = 0x00;
  memcpy(bad_flags, good, sizeof good);
  bad_flags[18] = 0xf0;
  assert_int_equal(p2p_conn_request(conn, good, 5, NULL, NULL),
                   0); /* truncated */
  assert_int_equal(p2p_conn_request(conn, bad_magic, sizeof good, NULL, NULL),
                   0);
  assert_int_equal(p2p_conn_request(conn, bad_flags, sizeof good, NULL, NULL),
                   0);
  assert_int_equal(p2p_conn_request(conn, good, 19 + 10, NULL, NULL), 0);

  p2p_node *nodes[NODES + 1];
  for (size_t i = 0; i < NODES; i++) {
    nodes[i] = demo_net_node(net, i);
  }
  nodes[NODES] = raw;
  uint64_t deadline = demo_now_us() + 10000000u;
  while (rc.responses < 4 && demo_now_us() < deadline) {
    assert_int_equal(p2p_net_poll(nodes, NODES + 1, 20), 0);
  }
  assert_int_equal(rc.responses, 4);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(rc.status[i], DMAP_STATUS_BAD_REQUEST);
  }
  /* Still serving: a well-formed request gets a real answer. */
  assert_int_equal(p2p_conn_request(conn, good, sizeof good, NULL, NULL), 0);
  while (rc.responses < 5 && demo_now_us() < deadline) {
    assert_int_equal(p2p_net_poll(nodes, NODES + 1, 20), 0);
  }
  assert_int_equal(rc.responses, 5);
  assert_int_equal(rc.status[4], DMAP_STATUS_NOT_FOUND);
  p2p_node_destroy(raw);
  pt_log_destroy(log);
  demo_net_shutdown(net);
  demo_net_destroy(net);
}

/* ---- Log files and dumps of the demo ---------------------------------- */

static int cmp_event(const void *a, const void *b) {
  return memcmp(a, b, sizeof(pt_event));
}

/* Loads each node's events from the log file (pt_log_open view). */
static size_t view_count(const char *dir, size_t i, int *writer) {
  char path[512];
  const pt_log *view = NULL;
  pt_event *evs = NULL;
  size_t n = 0;
  pt_log_stats st;
  demo_log_file_path(path, sizeof path, dir, i);
  assert_int_equal(pt_log_open(&view, path), PT_OK);
  *writer = pt_log_writer_status(view);
  assert_int_equal(pt_log_get_stats(view, &st), PT_OK);
  assert_int_equal(pt_log_recent(view, (size_t)st.capacity, &evs, &n), PT_OK);
  pt_events_free(evs);
  pt_log_close(view);
  return n;
}

/* File-backed node logs (demo_config.log_dir) and the dumps the demo saves
 * hold every event of each node; the report reads the dumps back and shows
 * the request that crossed every node; a damaged dump is refused. */
static void test_demo_log_files_and_dumps(void **state) {
  (void)state;
  char dir[] = "/tmp/pt_test_p2p_dumps_XXXXXX";
  assert_non_null(mkdtemp(dir));
  demo_net *net = start_in(0.03, NULL, dir);
  demo_request store, get;
  store_then_get(net, 7, &store, &get);

  /* Nothing polls now, so the logs stand still while they are compared. */
  pt_dump dumps[NODES];
  pt_event *live[NODES];
  size_t live_count[NODES];
  for (size_t i = 0; i < NODES; i++) {
    int writer = 0;
    live[i] = p2p_test_events(demo_net_log(net, i), &live_count[i]);
    assert_true(live_count[i] > 0);
    /* Another reader of the node's log file sees the same events. */
    assert_int_equal(view_count(dir, i, &writer), live_count[i]);
    assert_int_equal(writer, PT_WRITER_RUNNING);
    assert_int_equal(demo_dump_save(demo_net_log(net, i), dir, i), 0);
  }
  assert_int_equal(demo_dumps_load(dir, NODES, dumps), 0);
  for (size_t i = 0; i < NODES; i++) {
    assert_memory_equal(dumps[i].info.node_id, demo_net_node_id(net, i),
                        PT_NODE_ID_SIZE);
    assert_int_equal(dumps[i].count, live_count[i]);
    /* The same events (the dump orders them by time): compare as sets. */
    qsort(live[i], live_count[i], sizeof(pt_event), cmp_event);
    qsort(dumps[i].events, dumps[i].count, sizeof(pt_event), cmp_event);
    assert_memory_equal(dumps[i].events, live[i],
                        live_count[i] * sizeof(pt_event));
    pt_events_free(live[i]);
  }
  /* The report's request: it crossed all four nodes, and the GET wins a tie
   * with the STORE. */
  pt_trace_id shown;
  demo_report_dumps(dir, dumps, NODES, 0, &shown);
  assert_memory_equal(&shown, &get.ctx.trace_id, sizeof shown);
  demo_dumps_release(dumps, NODES);

  /* A damaged dump is named and refused, never half read. */
  char path[512];
  demo_dump_path(path, sizeof path, dir, 2);
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  assert_int_equal(fseek(f, 300, SEEK_SET), 0);
  int c = fgetc(f);
  assert_int_equal(fseek(f, 300, SEEK_SET), 0);
  assert_int_not_equal(fputc(c ^ 0x5a, f), EOF);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(demo_dumps_load(dir, NODES, dumps), -1);

  demo_net_shutdown(net);
  demo_net_destroy(net);
  /* The log files stay, marked closed by their writer. */
  int writer = 0;
  assert_true(view_count(dir, 1, &writer) > 0);
  assert_int_equal(writer, PT_WRITER_EXITED);
  demo_files_remove(dir);
  assert_int_equal(rmdir(dir), 0); /* nothing else was left there */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quic_events_match_ngtcp2),
      cmocka_unit_test(test_connection_identity),
      cmocka_unit_test(test_app_protocol_events),
      cmocka_unit_test(test_trace_links_nodes),
      cmocka_unit_test(test_malformed_headers_rejected),
      cmocka_unit_test(test_demo_log_files_and_dumps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
