/*
 * bench_request [PACKETS...]: pt_request on one large hop.
 *
 * One request hop A -> B whose stream is PACKETS x 1000 bytes, one frame
 * per packet, every 100th packet lost and sent again (default sizes 16000,
 * 128000 and 1024000 packets).  Prints, per size, the events added, the
 * time to add them, and the time of pt_request_hops (which works out every
 * hop's packets) plus pt_request_packets of the hop.  Timings only: no
 * assertion about them (BENCHMARKS.md holds the figures).
 */
#include <peertrace/pt_request.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

static pt_event bench_event(uint64_t t, uint16_t kind, uint8_t trace) {
  pt_event e;
  memset(&e, 0, sizeof e);
  e.timestamp_us = t;
  e.kind = kind;
  memset(&e.trace_id, trace, sizeof e.trace_id);
  return e;
}

static void bench_add(pt_request *r, unsigned node, const pt_event *e) {
  if (pt_request_add_event(r, node, e) != PT_OK) {
    fprintf(stderr, "bench_request: out of memory\n");
    exit(1);
  }
}

/* A packet of conn 5 (sent on node 0, received on node 1 unless lost). */
static void bench_packet(pt_request *r, uint64_t t, uint64_t pn, uint64_t off,
                         int lost) {
  pt_event e = bench_event(t, PT_EV_PACKET_SENT, 9);
  e.data.packet_sent = (struct pt_packet_sent_data){pn, 1040, 2, 5};
  bench_add(r, 0, &e);
  e = bench_event(t, PT_EV_STREAM_FRAME, 9);
  e.data.stream_frame =
      (struct pt_stream_frame_data){pn, 0, off, 1000, 2, 0, 1, 5};
  bench_add(r, 0, &e);
  if (lost) {
    e = bench_event(t + 50, PT_EV_PACKET_LOST, 9);
    e.data.packet_lost = (struct pt_packet_lost_data){pn, 2, 5};
    bench_add(r, 0, &e);
  } else {
    e = bench_event(t + 30, PT_EV_PACKET_RECEIVED, 9);
    e.data.packet_received = (struct pt_packet_received_data){pn, 1040, 2, 5};
    bench_add(r, 1, &e);
  }
}

static int bench_count_packet(const pt_request_packet *p, void *user) {
  (void)p;
  (*(uint64_t *)user)++;
  return 0;
}

typedef struct bench_hop {
  pt_request *r;
  uint64_t packets, lost, listed;
  uint64_t recovery_us;
} bench_hop;

static int bench_on_hop(const pt_request_hop *h, void *user) {
  bench_hop *b = user;
  b->packets += h->packets;
  b->lost += h->lost;
  b->recovery_us = h->recovery_us;
  return pt_request_packets(b->r, h, bench_count_packet, &b->listed);
}

static void bench_one(unsigned n) {
  uint8_t a[32], b[32];
  memset(a, 1, sizeof a);
  memset(b, 2, sizeof b);
  pt_request *r;
  unsigned index;
  if (pt_request_new(&r) != PT_OK || pt_request_add_node(r, a, &index) ||
      pt_request_add_node(r, b, &index)) {
    fprintf(stderr, "bench_request: out of memory\n");
    exit(1);
  }
  uint64_t t0 = bench_now_ns();
  pt_event e = bench_event(10, PT_EV_APP_COMMAND, 7);
  e.flags = PT_EVENT_HAS_PEER;
  memcpy(e.peer_id, b, 32);
  bench_add(r, 0, &e);
  e = bench_event(11, PT_EV_STREAM_DATA, 7);
  e.data.stream_data =
      (struct pt_stream_data_data){0, 0, (uint32_t)(1000u * n), 1, 1, 5};
  bench_add(r, 0, &e);
  uint64_t t = 100, pn = 0, events = 2;
  for (unsigned k = 0; k < n; k++) {
    int lose = k % 100 == 50;
    bench_packet(r, t, pn++, 1000ull * k, lose);
    events += 3;
    t += 10;
    if (lose) { /* the same bytes again, received */
      bench_packet(r, t, pn++, 1000ull * k, 0);
      events += 3;
      t += 10;
    }
  }
  uint64_t t1 = bench_now_ns();
  pt_trace_id id;
  memset(&id, 7, sizeof id);
  bench_hop h = {r, 0, 0, 0, 0};
  int rc = pt_request_hops(r, &id, bench_on_hop, &h);
  uint64_t t2 = bench_now_ns();
  printf("%9u packets  %9llu events  add %7.3f s  hops+packets %7.3f s  "
         "(rc %d, %llu packets, %llu lost, %llu listed, recovery %llu us)\n",
         n, (unsigned long long)events, (double)(t1 - t0) * 1e-9,
         (double)(t2 - t1) * 1e-9, rc, (unsigned long long)h.packets,
         (unsigned long long)h.lost, (unsigned long long)h.listed,
         (unsigned long long)h.recovery_us);
  pt_request_free(r);
}

int main(int argc, char **argv) {
  if (argc > 1) {
    for (int i = 1; i < argc; i++) {
      bench_one((unsigned)strtoul(argv[i], NULL, 10));
    }
    return 0;
  }
  /* 1024000 x 1000 bytes stays below the 32-bit stream_data length. */
  bench_one(16000);
  bench_one(128000);
  bench_one(1024000);
  return 0;
}
