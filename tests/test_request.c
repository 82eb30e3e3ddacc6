/*
 * test_request: a request followed down to its packets (pt_request.h), on
 * synthetic events of three nodes: hops, packets, loss, retransmission,
 * recovery time (raw and on a mapped clock), and bad or partial input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <peertrace/pt_request.h>

#include "test_helpers.h"

/* Random scenes of test_random_input: fewer under the sanitizers. */
#define PT_TEST_ROUNDS (PT_TEST_SLOW ? 50 : 300)

enum { A = 0, B = 1, C = 2 };
#define CONN_AB 0xab00000000000001ull
#define CONN_BC 0xbc00000000000002ull

static uint8_t node_ids[3][32];
static pt_trace_id trace, conn_trace;

/*
 * A whole scenario: the pt_request and the clock shift of node B; with
 * logs, every event is also written to its node's log (--dumps).
 */
typedef struct scene {
  pt_request *r;
  uint64_t b_shift; /* added to every time B records */
  pt_log *logs[3];
  uint64_t t0; /* added to every time written to a log */
} scene;

static pt_event ev_base(uint64_t t, uint16_t kind, const pt_trace_id *tid) {
  pt_event ev;
  memset(&ev, 0, sizeof ev);
  ev.timestamp_us = t;
  ev.kind = kind;
  ev.trace_id = *tid;
  return ev;
}

static void add(scene *s, unsigned node, pt_event ev) {
  if (node == B) {
    ev.timestamp_us += s->b_shift;
  }
  assert_int_equal(pt_request_add_event(s->r, node, &ev), PT_OK);
  if (s->logs[node] != NULL) {
    ev.timestamp_us += s->t0;
    assert_int_equal(pt_log_write_at(s->logs[node], &ev), PT_OK);
  }
}

static void app(scene *s, unsigned node, uint64_t t, uint16_t kind, int peer,
                int ok) {
  pt_event ev = ev_base(t, kind, &trace);
  memcpy(ev.data.app_command.app_id, "DMAP", 4);
  ev.data.app_command.cmd = 2;
  if (kind == PT_EV_APP_END) {
    ev.data.app_end.ok = (uint8_t)ok;
  }
  if (peer >= 0) {
    ev.flags |= PT_EVENT_HAS_PEER;
    memcpy(ev.peer_id, node_ids[peer], 32);
  }
  add(s, node, ev);
}

static void data(scene *s, unsigned node, uint64_t t, uint64_t conn,
                 uint64_t stream, uint64_t off, uint32_t len) {
  pt_event ev = ev_base(t, PT_EV_STREAM_DATA, &trace);
  ev.data.stream_data.stream_id = stream;
  ev.data.stream_data.offset = off;
  ev.data.stream_data.length = len;
  ev.data.stream_data.sent = 1;
  ev.data.stream_data.conn = conn;
  add(s, node, ev);
}

static void packet(scene *s, unsigned node, uint64_t t, uint16_t kind,
                   uint64_t conn, uint64_t pn, uint32_t size) {
  pt_event ev = ev_base(t, kind, &conn_trace);
  if (kind == PT_EV_PACKET_LOST) {
    ev.data.packet_lost.pn = pn;
    ev.data.packet_lost.space = PT_PN_SPACE_APPLICATION;
    ev.data.packet_lost.conn = conn;
  } else {
    ev.data.packet_sent.pn = pn;
    ev.data.packet_sent.size = size;
    ev.data.packet_sent.space = PT_PN_SPACE_APPLICATION;
    ev.data.packet_sent.conn = conn;
  }
  add(s, node, ev);
}

static void frame(scene *s, unsigned node, uint64_t t, uint64_t conn,
                  uint64_t pn, uint64_t stream, uint64_t off, uint32_t len) {
  pt_event ev = ev_base(t, PT_EV_STREAM_FRAME, &conn_trace);
  ev.data.stream_frame.pn = pn;
  ev.data.stream_frame.stream_id = stream;
  ev.data.stream_frame.offset = off;
  ev.data.stream_frame.length = len;
  ev.data.stream_frame.space = PT_PN_SPACE_APPLICATION;
  ev.data.stream_frame.sent = 1;
  ev.data.stream_frame.conn = conn;
  add(s, node, ev);
}

/* A packet sent with one frame. */
static void sent(scene *s, unsigned node, uint64_t t, uint64_t conn,
                 uint64_t pn, uint32_t size, uint64_t stream, uint64_t off,
                 uint32_t len) {
  packet(s, node, t, PT_EV_PACKET_SENT, conn, pn, size);
  frame(s, node, t, conn, pn, stream, off, len);
}

static void scene_new(scene *s, uint64_t b_shift) {
  memset(s, 0, sizeof *s);
  s->b_shift = b_shift;
  for (unsigned i = 0; i < 3; i++) {
    memset(node_ids[i], 0x10 + (int)i, 32);
  }
  memset(&trace, 0x77, sizeof trace);
  memset(&conn_trace, 0x55, sizeof conn_trace);
  assert_int_equal(pt_request_new(&s->r), PT_OK);
  for (unsigned i = 0; i < 3; i++) {
    unsigned index = 99;
    assert_int_equal(pt_request_add_node(s->r, node_ids[i], &index), PT_OK);
    assert_int_equal(index, i);
  }
}

/*
 * A -> B -> C and back.  A's request (2000 bytes on stream 0 of conn AB)
 * goes in packets 5 (bytes 0..1099) and 6 (1100..1999); 6 is lost and its
 * bytes go again in 7, received 147 us after 6 was sent.  B forwards 500
 * bytes on stream 4 of conn BC (packet 3); C replies 300 bytes (packet 10),
 * B replies 100 bytes (packet 5: each end numbers its own packets, so the
 * two directions of AB both have a packet 5).  Added in a shuffled order (node
 * C first, A last) to show the order of adding does not matter.
 */
static void two_hop_request(scene *s) {
  /* C */
  app(s, C, 1275, PT_EV_APP_START, B, 0);
  data(s, C, 1299, CONN_BC, 4, 0, 300);
  app(s, C, 1300, PT_EV_APP_END, B, 1);
  packet(s, C, 1272, PT_EV_PACKET_RECEIVED, CONN_BC, 3, 560);
  sent(s, C, 1301, CONN_BC, 10, 360, 4, 0, 300);
  /* B */
  packet(s, B, 1112, PT_EV_PACKET_RECEIVED, CONN_AB, 5, 1200);
  packet(s, B, 1160, PT_EV_PACKET_RECEIVED, CONN_AB, 7, 950);
  app(s, B, 1165, PT_EV_APP_START, A, 0);
  app(s, B, 1170, PT_EV_APP_COMMAND, C, 0);
  data(s, B, 1171, CONN_BC, 4, 0, 500);
  sent(s, B, 1172, CONN_BC, 3, 560, 4, 0, 500);
  packet(s, B, 1401, PT_EV_PACKET_RECEIVED, CONN_BC, 10, 360);
  data(s, B, 1404, CONN_AB, 0, 0, 100);
  app(s, B, 1405, PT_EV_APP_END, A, 1);
  sent(s, B, 1406, CONN_AB, 5, 160, 0, 0, 100); /* B's own numbers */
  /* A */
  app(s, A, 1000, PT_EV_APP_START, -1, 0);
  app(s, A, 1010, PT_EV_APP_COMMAND, B, 0);
  data(s, A, 1011, CONN_AB, 0, 0, 2000);
  sent(s, A, 1012, CONN_AB, 5, 1200, 0, 0, 1100);
  sent(s, A, 1013, CONN_AB, 6, 1000, 0, 1100, 900);
  packet(s, A, 1050, PT_EV_PACKET_LOST, CONN_AB, 6, 0);
  sent(s, A, 1060, CONN_AB, 7, 950, 0, 1100, 900);
  packet(s, A, 1506, PT_EV_PACKET_RECEIVED, CONN_AB, 5, 160);
  app(s, A, 1510, PT_EV_APP_END, -1, 1);
}

#define MAX_HOPS 8
#define MAX_PACKETS 8

typedef struct collected {
  pt_request_hop hops[MAX_HOPS];
  size_t n;
} collected;

static int collect_hop(const pt_request_hop *hop, void *user) {
  collected *c = user;
  assert_true(c->n < MAX_HOPS);
  c->hops[c->n++] = *hop;
  return 0;
}

typedef struct packets {
  pt_request_packet v[MAX_PACKETS];
  size_t n;
  size_t total; /* collect_packet_capped: all of them */
} packets;

static int collect_packet(const pt_request_packet *p, void *user) {
  packets *c = user;
  assert_true(c->n < MAX_PACKETS);
  c->v[c->n++] = *p;
  return 0;
}

/* As collect_packet, but keeps only the first MAX_PACKETS (still counts). */
static int collect_packet_capped(const pt_request_packet *p, void *user) {
  packets *c = user;
  if (c->n < MAX_PACKETS) {
    c->v[c->n++] = *p;
  }
  c->total++;
  return 0;
}

static void hops_of(scene *s, collected *c) {
  memset(c, 0, sizeof *c);
  assert_int_equal(pt_request_hops(s->r, &trace, collect_hop, c), PT_OK);
}

static void packets_of(scene *s, const pt_request_hop *hop, packets *p) {
  memset(p, 0, sizeof *p);
  assert_int_equal(pt_request_packets(s->r, hop, collect_packet, p), PT_OK);
}

static void check_hop(const pt_request_hop *h, unsigned index,
                      pt_request_hop_kind kind, unsigned sender,
                      unsigned receiver, uint64_t sent_us, uint64_t received_us,
                      uint64_t conn, uint64_t stream, uint64_t length) {
  assert_int_equal(h->index, index);
  assert_int_equal(h->kind, kind);
  assert_int_equal(h->sender, sender);
  assert_int_equal(h->receiver, receiver);
  assert_int_equal(h->sent_us, sent_us);
  assert_int_equal(h->received_us, received_us);
  assert_int_equal(h->ok, 1);
  assert_memory_equal(h->app_id, "DMAP", 4);
  assert_int_equal(h->cmd, 2);
  assert_int_equal(h->has_stream, 1);
  assert_int_equal(h->conn, conn);
  assert_int_equal(h->stream_id, stream);
  assert_int_equal(h->offset, 0);
  assert_int_equal(h->length, length);
  assert_int_equal(h->uncovered, 0);
}

/* The whole walk, with B's times as given by map (NULL: B's clock agrees). */
static void check_two_hop(scene *s) {
  collected c;
  hops_of(s, &c);
  assert_int_equal(c.n, 4);
  check_hop(&c.hops[0], 0, PT_HOP_REQUEST, A, B, 1010, 1165, CONN_AB, 0, 2000);
  assert_int_equal(c.hops[0].end_us, 1405);
  check_hop(&c.hops[1], 1, PT_HOP_REQUEST, B, C, 1170, 1275, CONN_BC, 4, 500);
  assert_int_equal(c.hops[1].end_us, 1300);
  check_hop(&c.hops[2], 2, PT_HOP_REPLY, C, B, 1300, 1405, CONN_BC, 4, 300);
  check_hop(&c.hops[3], 3, PT_HOP_REPLY, B, A, 1405, 1510, CONN_AB, 0, 100);

  /* Hop 0: packets 5, 6 (lost), 7 (retransmits 6's bytes 1100..1999). */
  const pt_request_hop *h = &c.hops[0];
  assert_int_equal(h->packets, 3);
  assert_int_equal(h->lost, 1);
  assert_int_equal(h->retransmissions, 1);
  assert_int_equal(h->recovered, 1);
  assert_int_equal(h->recovery_us, 1160 - 1013);
  packets p;
  packets_of(s, h, &p);
  assert_int_equal(p.n, 3);
  const uint64_t pns[3] = {5, 6, 7};
  const uint64_t sent_at[3] = {1012, 1013, 1060};
  const uint64_t received_at[3] = {1112, 0, 1160};
  const uint32_t sizes[3] = {1200, 1000, 950};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(p.v[i].pn, pns[i]);
    assert_int_equal(p.v[i].space, PT_PN_SPACE_APPLICATION);
    assert_int_equal(p.v[i].sent_us, sent_at[i]);
    assert_int_equal(p.v[i].received_us, received_at[i]);
    assert_int_equal(p.v[i].size, sizes[i]);
    assert_int_equal(p.v[i].lost, i == 1);
  }
  assert_int_equal(p.v[0].offset, 0);
  assert_int_equal(p.v[0].length, 1100);
  assert_int_equal(p.v[0].retransmits, 0);
  assert_int_equal(p.v[1].recovered, 1);
  assert_int_equal(p.v[1].recovery_us, 147);
  assert_int_equal(p.v[2].retransmits, 1);
  assert_int_equal(p.v[2].retransmits_lost, 1);
  assert_int_equal(p.v[2].retransmits_pn, 6);
  assert_int_equal(p.v[2].retransmits_offset, 1100);
  assert_int_equal(p.v[2].retransmits_length, 900);

  /* The other hops: one packet each, nothing lost. */
  const uint64_t pn_of[4] = {0, 3, 10, 5};
  const uint64_t delivered[4] = {0, 1272, 1401, 1506};
  for (size_t k = 1; k < 4; k++) {
    assert_int_equal(c.hops[k].packets, 1);
    assert_int_equal(c.hops[k].lost, 0);
    assert_int_equal(c.hops[k].recovered, 0);
    assert_int_equal(c.hops[k].recovery_us, 0);
    packets_of(s, &c.hops[k], &p);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.v[0].pn, pn_of[k]);
    assert_int_equal(p.v[0].received_us, delivered[k]);
    assert_int_equal(p.v[0].lost, 0);
    assert_int_equal(p.v[0].retransmits, 0);
  }
}

static void test_two_hop_request(void **state) {
  (void)state;
  scene s;
  scene_new(&s, 0);
  two_hop_request(&s);
  check_two_hop(&s);
  pt_request_free(s.r);
}

/* B's clock runs 5 s ahead; the mapped clock takes it back. */
static uint64_t unshift_b(void *user, unsigned node, uint64_t raw_us) {
  const scene *s = user;
  return node == B ? raw_us - s->b_shift : raw_us;
}

static void test_mapped_clock(void **state) {
  (void)state;
  scene s;
  scene_new(&s, 5000000);
  two_hop_request(&s);
  /* Raw: B's receipt of 7 looks 5 s late, so recovery does too. */
  collected c;
  hops_of(&s, &c);
  assert_int_equal(c.n, 4);
  assert_int_equal(c.hops[0].recovery_us, 5000000 + 147);
  assert_int_equal(pt_request_set_time(s.r, unshift_b, &s), PT_OK);
  check_two_hop(&s);
  assert_int_equal(pt_request_set_time(NULL, NULL, NULL), PT_ERR_INVALID);
  pt_request_free(s.r);
}

static void test_not_found_and_invalid(void **state) {
  (void)state;
  scene s;
  scene_new(&s, 0);
  two_hop_request(&s);
  collected c = {.n = 0};
  pt_trace_id other;
  memset(&other, 0x78, sizeof other);
  assert_int_equal(pt_request_hops(s.r, &other, collect_hop, &c),
                   PT_ERR_NOT_FOUND);
  assert_int_equal(c.n, 0);
  /* The connection's own trace id has packets but no kept app/data event. */
  assert_int_equal(pt_request_hops(s.r, &conn_trace, collect_hop, &c),
                   PT_ERR_NOT_FOUND);
  assert_int_equal(pt_request_hops(NULL, &trace, collect_hop, &c),
                   PT_ERR_INVALID);
  assert_int_equal(pt_request_hops(s.r, NULL, collect_hop, &c), PT_ERR_INVALID);
  assert_int_equal(pt_request_hops(s.r, &trace, NULL, &c), PT_ERR_INVALID);
  pt_event ev = ev_base(1, PT_EV_APP_START, &trace);
  assert_int_equal(pt_request_add_event(s.r, 3, &ev), PT_ERR_INVALID);
  assert_int_equal(pt_request_add_event(s.r, 0, NULL), PT_ERR_INVALID);
  unsigned index;
  assert_int_equal(pt_request_add_node(s.r, node_ids[0], &index),
                   PT_ERR_EXISTS);
  assert_int_equal(pt_request_add_node(NULL, node_ids[0], &index),
                   PT_ERR_INVALID);
  assert_int_equal(pt_request_packets(s.r, NULL, collect_packet, &c),
                   PT_ERR_INVALID);
  assert_int_equal(pt_request_new(NULL), PT_ERR_INVALID);
  pt_request_free(NULL);
  pt_request_free(s.r);
}

static int stop_at_first(const pt_request_hop *hop, void *user) {
  (void)hop;
  (*(int *)user)++;
  return 42;
}

static void test_callback_stops(void **state) {
  (void)state;
  scene s;
  scene_new(&s, 0);
  two_hop_request(&s);
  int calls = 0;
  assert_int_equal(pt_request_hops(s.r, &trace, stop_at_first, &calls), 42);
  assert_int_equal(calls, 1);
  pt_request_free(s.r);
}

/*
 * Partial input: a stream_data whose packets are not in the trace (no
 * frame), a lost packet never retransmitted, overlapping frames, a
 * duplicated frame, and a command to a peer that is not among the nodes.
 */
static void test_partial_input(void **state) {
  (void)state;
  scene s;
  scene_new(&s, 0);
  /* A -> B: 1000 bytes, no frame of them recorded. */
  app(&s, A, 100, PT_EV_APP_COMMAND, B, 0);
  data(&s, A, 101, CONN_AB, 0, 0, 1000);
  app(&s, B, 200, PT_EV_APP_START, A, 0);
  packet(&s, B, 150, PT_EV_PACKET_RECEIVED, CONN_AB, 1, 100);
  /* B -> C: 300 bytes in overlapping frames 1 (0..199), 2 (100..299, with
   * its frame recorded twice); 3 (200..299) lost and never repeated. */
  app(&s, B, 210, PT_EV_APP_COMMAND, C, 0);
  data(&s, B, 211, CONN_BC, 8, 0, 300);
  sent(&s, B, 212, CONN_BC, 1, 250, 8, 0, 200);
  sent(&s, B, 213, CONN_BC, 2, 250, 8, 100, 200);
  frame(&s, B, 213, CONN_BC, 2, 8, 100, 200);
  sent(&s, B, 214, CONN_BC, 3, 150, 8, 200, 100);
  packet(&s, B, 260, PT_EV_PACKET_LOST, CONN_BC, 3, 0);
  packet(&s, C, 312, PT_EV_PACKET_RECEIVED, CONN_BC, 1, 250);
  app(&s, C, 320, PT_EV_APP_START, B, 0);
  /* C -> a node not given: no receiver. */
  uint8_t stranger[32];
  memset(stranger, 0xee, sizeof stranger);
  pt_event ev = ev_base(330, PT_EV_APP_COMMAND, &trace);
  ev.flags |= PT_EVENT_HAS_PEER;
  memcpy(ev.peer_id, stranger, 32);
  add(&s, C, ev);

  collected c;
  hops_of(&s, &c);
  assert_int_equal(c.n, 3);
  /* No app_end anywhere: no replies, ok unknown. */
  const pt_request_hop *h = &c.hops[0];
  assert_int_equal(h->kind, PT_HOP_REQUEST);
  assert_int_equal(h->ok, -1);
  assert_int_equal(h->end_us, 0);
  assert_int_equal(h->has_stream, 1);
  assert_int_equal(h->length, 1000);
  assert_int_equal(h->packets, 0);
  assert_int_equal(h->uncovered, 1000);
  assert_int_equal(h->recovered, 0);
  packets p;
  packets_of(&s, h, &p);
  assert_int_equal(p.n, 0);

  h = &c.hops[1];
  assert_int_equal(h->sender, B);
  assert_int_equal(h->receiver, C);
  assert_int_equal(h->packets, 3);
  assert_int_equal(h->uncovered, 0);
  assert_int_equal(h->lost, 1);
  assert_int_equal(h->retransmissions, 0);
  assert_int_equal(h->repeats, 2); /* 2 repeats 1, 3 repeats 2 */
  assert_int_equal(h->recovered, 0);
  assert_int_equal(h->recovery_us, 0);
  packets_of(&s, h, &p);
  assert_int_equal(p.n, 3);
  assert_int_equal(p.v[1].pn, 2);
  assert_int_equal(p.v[1].offset, 100);
  assert_int_equal(p.v[1].length, 200);
  assert_int_equal(p.v[1].received_us, 0);
  /* 2 repeats 1's bytes 100..199, but 1 was not declared lost. */
  assert_int_equal(p.v[1].retransmits, 1);
  assert_int_equal(p.v[1].retransmits_lost, 0);
  assert_int_equal(p.v[1].retransmits_pn, 1);
  assert_int_equal(p.v[1].retransmits_offset, 100);
  assert_int_equal(p.v[1].retransmits_length, 100);
  assert_int_equal(p.v[2].lost, 1);
  assert_int_equal(p.v[2].recovered, 0);

  h = &c.hops[2];
  assert_int_equal(h->sender, C);
  assert_int_equal(h->receiver, PT_REQUEST_NO_NODE);
  assert_int_equal(h->received_us, 0);
  assert_int_equal(h->has_stream, 0);
  assert_int_equal(h->packets, 0);

  /* Events added after a query count in the next one: 3's bytes again
   * in 4, received at 400. */
  sent(&s, B, 280, CONN_BC, 4, 150, 8, 200, 100);
  packet(&s, C, 400, PT_EV_PACKET_RECEIVED, CONN_BC, 4, 150);
  hops_of(&s, &c);
  assert_int_equal(c.hops[1].retransmissions, 1);
  assert_int_equal(c.hops[1].repeats, 2);
  assert_int_equal(c.hops[1].recovered, 1);
  assert_int_equal(c.hops[1].recovery_us, 400 - 214);
  pt_request_free(s.r);
}

/* A scene with one hop A -> B of `len` bytes on stream 0 of AB (at 100). */
static void one_hop_scene(scene *s, uint32_t len) {
  scene_new(s, 0);
  app(s, A, 100, PT_EV_APP_COMMAND, B, 0);
  data(s, A, 101, CONN_AB, 0, 0, len);
}

/* The one hop's summary of losses. */
static void check_one_hop(scene *s, unsigned count, unsigned lost,
                          unsigned retransmissions, unsigned repeats,
                          uint64_t recovery_us) {
  collected c;
  hops_of(s, &c);
  assert_int_equal(c.n, 1);
  assert_int_equal(c.hops[0].packets, count);
  assert_int_equal(c.hops[0].lost, lost);
  assert_int_equal(c.hops[0].retransmissions, retransmissions);
  assert_int_equal(c.hops[0].repeats, repeats);
  assert_int_equal(c.hops[0].recovered, 1);
  assert_int_equal(c.hops[0].recovery_us, recovery_us);
}

/*
 * A lost packet's bytes repeated in two packets, the first of them lost
 * too: recovery ends when the last byte arrives.
 */
static void test_split_retransmission(void **state) {
  (void)state;
  scene s;
  one_hop_scene(&s, 1000);
  sent(&s, A, 102, CONN_AB, 1, 1050, 0, 0, 1000);
  packet(&s, A, 150, PT_EV_PACKET_LOST, CONN_AB, 1, 0);
  sent(&s, A, 160, CONN_AB, 2, 550, 0, 0, 500);   /* received at 210 */
  sent(&s, A, 161, CONN_AB, 3, 550, 0, 500, 500); /* lost */
  packet(&s, A, 220, PT_EV_PACKET_LOST, CONN_AB, 3, 0);
  sent(&s, A, 230, CONN_AB, 4, 550, 0, 500, 500); /* received at 290 */
  packet(&s, B, 210, PT_EV_PACKET_RECEIVED, CONN_AB, 2, 550);
  packet(&s, B, 290, PT_EV_PACKET_RECEIVED, CONN_AB, 4, 550);
  app(&s, B, 300, PT_EV_APP_START, A, 0);
  check_one_hop(&s, 4, 2, 3, 0, 290 - 102);
  packets p;
  collected c;
  hops_of(&s, &c);
  packets_of(&s, &c.hops[0], &p);
  assert_int_equal(p.n, 4);
  assert_int_equal(p.v[0].recovery_us, 290 - 102);
  assert_int_equal(p.v[2].recovery_us, 290 - 161);
  /* 4 repeats bytes of 1, the earliest lost packet holding them. */
  assert_int_equal(p.v[3].retransmits_pn, 1);
  assert_int_equal(p.v[3].retransmits_offset, 500);
  assert_int_equal(p.v[3].retransmits_length, 500);
  pt_request_free(s.r);
}

/*
 * A spurious loss: packet 1, declared lost, arrives after all (at 150),
 * before its retransmission (at 200): its bytes were there at 150.
 */
static void test_spurious_loss(void **state) {
  (void)state;
  scene s;
  one_hop_scene(&s, 1000);
  sent(&s, A, 102, CONN_AB, 1, 1050, 0, 0, 1000);
  packet(&s, A, 140, PT_EV_PACKET_LOST, CONN_AB, 1, 0);
  sent(&s, A, 141, CONN_AB, 2, 1050, 0, 0, 1000);
  packet(&s, B, 150, PT_EV_PACKET_RECEIVED, CONN_AB, 1, 1050);
  packet(&s, B, 200, PT_EV_PACKET_RECEIVED, CONN_AB, 2, 1050);
  check_one_hop(&s, 2, 1, 1, 0, 150 - 102);
  pt_request_free(s.r);
}

/*
 * A lost probe: packet 1 delivered the bytes (at 150), probe 2 repeated
 * them (at 300) and was lost.  Nothing was missing: recovered, in 0 us.
 * Seen in the demo (a 6-byte reply, its probe lost 101 ms later).
 */
static void test_lost_repeat(void **state) {
  (void)state;
  scene s;
  one_hop_scene(&s, 6);
  sent(&s, A, 102, CONN_AB, 1, 50, 0, 0, 6);
  packet(&s, B, 150, PT_EV_PACKET_RECEIVED, CONN_AB, 1, 50);
  sent(&s, A, 300, CONN_AB, 2, 50, 0, 0, 6);
  packet(&s, A, 400, PT_EV_PACKET_LOST, CONN_AB, 2, 0);
  check_one_hop(&s, 2, 1, 0, 1, 0);
  pt_request_free(s.r);
}

/*
 * A replier that logs its app_end after writing the reply: the reply hop
 * left with its first packet (at 210), not at the app_end (at 260), which
 * the requester's app_end (at 250) would otherwise precede.
 */
static void test_reply_logged_late(void **state) {
  (void)state;
  scene s;
  scene_new(&s, 0);
  app(&s, A, 100, PT_EV_APP_COMMAND, B, 0);
  app(&s, B, 150, PT_EV_APP_START, A, 0);
  data(&s, B, 200, CONN_AB, 0, 0, 10);
  sent(&s, B, 210, CONN_AB, 1, 60, 0, 0, 10);
  packet(&s, A, 240, PT_EV_PACKET_RECEIVED, CONN_AB, 1, 60);
  app(&s, A, 250, PT_EV_APP_END, -1, 1);
  app(&s, B, 260, PT_EV_APP_END, A, 1);
  collected c;
  hops_of(&s, &c);
  assert_int_equal(c.n, 2);
  assert_int_equal(c.hops[0].sent_us, 100); /* no packet: the command */
  assert_int_equal(c.hops[0].end_us, 260);
  assert_int_equal(c.hops[1].kind, PT_HOP_REPLY);
  assert_int_equal(c.hops[1].sent_us, 210);
  assert_int_equal(c.hops[1].received_us, 250);
  pt_request_free(s.r);
}

/* Invariants of any hop and its packets, whatever the input. */
static int check_random_hop(const pt_request_hop *h, void *user) {
  scene *s = user;
  packets p;
  memset(&p, 0, sizeof p);
  int rc = pt_request_packets(s->r, h, collect_packet_capped, &p);
  assert_true(rc == PT_OK);
  assert_int_equal(p.total, h->packets);
  assert_true(h->lost <= h->packets);
  assert_true(h->retransmissions + h->repeats <= h->packets);
  assert_true(h->uncovered <= h->length);
  /* A range of real stream bytes: no wrap past 2^64, none past 2^62. */
  assert_true(h->offset + h->length >= h->offset);
  assert_true(h->offset + h->length <= (1ull << 62));
  assert_true(!h->recovered || h->lost > 0);
  for (size_t i = 0; i < p.n; i++) {
    assert_true(p.v[i].offset >= h->offset);
    assert_true(p.v[i].offset + p.v[i].length <= h->offset + h->length);
    assert_true(p.v[i].length > 0);
  }
  return 0;
}

/*
 * Random events of the kept kinds, with small fields so that they collide
 * (same trace, connection, number, stream) and offsets up to 2^64: every
 * query answers, and every hop keeps the invariants above.  Run under
 * ASan too (no read out of bounds, no leak).
 */
static void test_random_input(void **state) {
  (void)state;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int round = 0; round < (PT_TEST_ROUNDS); round++) {
    scene s;
    scene_new(&s, 0);
    static const uint16_t kinds[] = {PT_EV_APP_COMMAND,     PT_EV_APP_START,
                                     PT_EV_APP_END,         PT_EV_STREAM_DATA,
                                     PT_EV_STREAM_FRAME,    PT_EV_PACKET_SENT,
                                     PT_EV_PACKET_RECEIVED, PT_EV_PACKET_LOST};
    for (int i = 0; i < 400; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
      unsigned node = (unsigned)(x % 3);
      uint16_t kind = kinds[(x >> 8) % 8];
      pt_event ev = ev_base(1 + ((x >> 16) % 500), kind, &trace);
      ev.trace_id.bytes[0] = (uint8_t)((x >> 24) % 3);
      if ((x >> 26) % 4 == 0) {
        ev.flags |= PT_EVENT_HAS_PEER;
        memcpy(ev.peer_id, node_ids[(x >> 28) % 3], 32);
      }
      uint64_t conn = 1 + (x >> 30) % 3, pn = (x >> 32) % 6;
      uint64_t off =
          (x >> 40) % 4 == 0 ? UINT64_MAX - (x >> 44) % 100 : (x >> 36) % 3000;
      uint32_t len = (uint32_t)((x >> 48) % 1500);
      if (kind == PT_EV_STREAM_DATA) {
        ev.data.stream_data =
            (struct pt_stream_data_data){(x >> 56) % 3, off, len, 0, 1, conn};
      } else if (kind == PT_EV_STREAM_FRAME) {
        ev.data.stream_frame = (struct pt_stream_frame_data){
            pn, (x >> 56) % 3, off, len, PT_PN_SPACE_APPLICATION, 0, 1, conn};
      } else if (kind == PT_EV_PACKET_LOST) {
        ev.data.packet_lost.pn = pn;
        ev.data.packet_lost.space = PT_PN_SPACE_APPLICATION;
        ev.data.packet_lost.conn = conn;
      } else if (kind == PT_EV_PACKET_SENT || kind == PT_EV_PACKET_RECEIVED) {
        ev.data.packet_sent.pn = pn;
        ev.data.packet_sent.size = len;
        ev.data.packet_sent.space = PT_PN_SPACE_APPLICATION;
        ev.data.packet_sent.conn = conn;
      } else if (kind == PT_EV_APP_END) {
        ev.data.app_end.ok = (uint8_t)((x >> 56) & 1);
      }
      add(&s, node, ev);
    }
    for (uint8_t t = 0; t < 4; t++) {
      pt_trace_id id = trace;
      id.bytes[0] = t;
      int rc = pt_request_hops(s.r, &id, check_random_hop, &s);
      assert_true(rc == PT_OK || rc == PT_ERR_NOT_FOUND);
    }
    pt_request_free(s.r);
  }
}

/*
 * test_request --dumps DIR [SHIFT_US]: writes the two-hop request's events
 * as the dumps DIR/node0.ptd .. node2.ptd (for the CLI test), trace id
 * 7777..., node B's clock SHIFT_US ahead (default 0).
 */
static int write_dumps(const char *dir, uint64_t b_shift) {
  scene s;
  scene_new(&s, b_shift);
  s.t0 = 1764115200000000ull; /* 2025-11-26 00:00:00 UTC */
  for (unsigned i = 0; i < 3; i++) {
    pt_log_config cfg;
    pt_log_config_init(&cfg);
    cfg.capacity = 256;
    memcpy(cfg.node_id, node_ids[i], 32);
    if (pt_log_create(&s.logs[i], &cfg) != PT_OK) {
      return 1;
    }
  }
  two_hop_request(&s);
  int rc = 0;
  for (unsigned i = 0; i < 3; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/node%u.ptd", dir, i);
    if (pt_log_dump_save(s.logs[i], path) != PT_OK) {
      fprintf(stderr, "cannot write %s\n", path);
      rc = 1;
    }
    pt_log_destroy(s.logs[i]);
  }
  pt_request_free(s.r);
  return rc;
}

int main(int argc, char **argv) {
  if ((argc == 3 || argc == 4) && strcmp(argv[1], "--dumps") == 0) {
    return write_dumps(argv[2], argc == 4 ? strtoull(argv[3], NULL, 10) : 0);
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_hop_request),
      cmocka_unit_test(test_mapped_clock),
      cmocka_unit_test(test_not_found_and_invalid),
      cmocka_unit_test(test_callback_stops),
      cmocka_unit_test(test_partial_input),
      cmocka_unit_test(test_split_retransmission),
      cmocka_unit_test(test_spurious_loss),
      cmocka_unit_test(test_lost_repeat),
      cmocka_unit_test(test_reply_logged_late),
      cmocka_unit_test(test_random_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
