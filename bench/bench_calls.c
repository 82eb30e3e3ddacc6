/*
 * bench_calls DIR: writes 8 dumps of 65536 events each made of calls
 * between neighbours of a ring, as the P2P demo's requests look: node k
 * starts a request, sends a command to node k+1 (app_command naming it,
 * stream_data sent, a packet with its STREAM frame), k+1 receives it,
 * answers (app_start and app_end naming k, its reply's stream_data, packet
 * and frame) and k ends its request when the reply arrives.  Every node is
 * a caller and a callee in each round, 13 events per node per round, 5041
 * rounds (65533 events a node, and 3 more per loss); one call's request
 * packet in 64 is lost and sent again.  The Chrome and OTLP
 * exports of these dumps draw a flow per hop and packet and write a CLIENT
 * span per call with its packets: bench/exports.sh times them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peertrace/peertrace.h>

#define NODES 8
#define EVENTS 65536u
#define ROUNDS (EVENTS / 13u) /* 13 events per node per round, and losses */
#define T0 1764115200000000ull

typedef struct node_events {
  pt_event *v;
  size_t n;
  uint64_t pn[2]; /* next packet number on the link to the right / left */
} node_events;

static node_events nodes[NODES];

static void id_of(unsigned k, uint8_t id[32]) {
  for (int i = 0; i < 32; i++) {
    id[i] = (uint8_t)(0x10 * (k + 1) + (unsigned)i);
  }
}

static pt_event *add(unsigned k, const pt_trace_id *t, unsigned peer,
                     uint64_t at) {
  uint8_t id[32];
  id_of(peer, id);
  pt_event *ev = &nodes[k].v[nodes[k].n++];
  pt_event_begin(ev, *t, peer < NODES ? id : NULL);
  ev->flags |= PT_FLAG_SAMPLED;
  ev->timestamp_us = at;
  return ev;
}

/* A packet of `len` stream bytes from a to b on conn, received 15 us later
 * (or lost, and sent again 200 us later). */
static void packet(unsigned a, unsigned b, int side, uint64_t conn,
                   uint64_t stream, uint32_t len, uint64_t at, int lost) {
  static const pt_trace_id none = {{0}};
  for (int attempt = 0; attempt <= lost; attempt++) {
    uint64_t pn = nodes[a].pn[side]++;
    uint64_t t = at + 200u * (uint64_t)attempt;
    pt_event *ev = add(a, &none, b, t);
    pt_event_set_packet_sent(ev, pn, len + 40, PT_PN_SPACE_APPLICATION);
    pt_event_set_conn(ev, conn);
    ev = add(a, &none, b, t);
    pt_event_set_stream_frame(ev, pn, stream, 0, len, PT_PN_SPACE_APPLICATION,
                              1, 1);
    pt_event_set_conn(ev, conn);
    if (attempt < lost) {
      ev = add(a, &none, b, t + 150);
      pt_event_set_packet_lost(ev, pn, PT_PN_SPACE_APPLICATION);
      pt_event_set_conn(ev, conn);
      continue;
    }
    ev = add(b, &none, a, t + 15);
    pt_event_set_packet_received(ev, pn, len + 40, PT_PN_SPACE_APPLICATION);
    pt_event_set_conn(ev, conn);
  }
}

static int by_time(const void *x, const void *y) {
  const pt_event *a = x, *b = y;
  return (a->timestamp_us > b->timestamp_us) -
         (a->timestamp_us < b->timestamp_us);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: bench_calls DIR\n");
    return 2;
  }
  for (unsigned k = 0; k < NODES; k++) {
    nodes[k].v = calloc(EVENTS + ROUNDS, sizeof(pt_event));
    if (nodes[k].v == NULL) {
      return 1;
    }
  }
  for (unsigned r = 0; r < ROUNDS; r++) {
    for (unsigned k = 0; k < NODES; k++) {
      unsigned b = (k + 1) % NODES;
      uint64_t conn = 0xc0000000000000ull + k + 1; /* the link k -> k+1 */
      uint64_t t = T0 + (uint64_t)r * 2000u + k * 100u;
      pt_trace_id trace = {{0}};
      memcpy(trace.bytes, &r, sizeof r);
      trace.bytes[8] = (uint8_t)(k + 1);
      uint64_t stream = 4u * r;
      int lost = (r * NODES + k) % 64 == 0;
      pt_event *ev = add(k, &trace, NODES, t);
      pt_event_set_app_start(ev, "DMAP", 1, "chunk", 5);
      ev = add(k, &trace, b, t + 1);
      pt_event_set_app_command(ev, "DMAP", 1, "chunk", 5);
      ev = add(k, &trace, b, t + 2);
      pt_event_set_stream_data(ev, stream, 0, 1000, 1);
      ev->data.stream_data.sent = 1;
      pt_event_set_conn(ev, conn);
      packet(k, b, 0, conn, stream, 1000, t + 3, lost);
      uint64_t u = t + 20 + (lost ? 200u : 0u);
      ev = add(b, &trace, k, u + 1);
      pt_event_set_app_start(ev, "DMAP", 1, "chunk", 5);
      ev = add(b, &trace, k, u + 5);
      pt_event_set_app_end(ev, "DMAP", 1, 1, 4);
      ev = add(b, &trace, k, u + 6);
      pt_event_set_stream_data(ev, stream, 0, 50, 1);
      ev->data.stream_data.sent = 1;
      pt_event_set_conn(ev, conn);
      packet(b, k, 1, conn, stream, 50, u + 7, 0);
      ev = add(k, &trace, NODES, u + 30);
      pt_event_set_app_end(ev, "DMAP", 1, 1, u + 30 - t);
    }
  }
  int rc = 0;
  for (unsigned k = 0; k < NODES && rc == 0; k++) {
    qsort(nodes[k].v, nodes[k].n, sizeof(pt_event), by_time);
    pt_log_config cfg;
    pt_log_config_init(&cfg);
    cfg.capacity = 131072;
    id_of(k, cfg.node_id);
    pt_log *log = NULL;
    if (pt_log_create(&log, &cfg) != PT_OK) {
      return 1;
    }
    for (size_t i = 0; i < nodes[k].n; i++) {
      pt_log_write_at(log, &nodes[k].v[i]);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/node%u.ptd", argv[1], k);
    int err = pt_log_dump_save(log, path);
    if (err != PT_OK) {
      fprintf(stderr, "bench_calls: %s: %s\n", path, pt_strerror(err));
      rc = 1;
    }
    printf("%s: %zu events\n", path, nodes[k].n);
    pt_log_destroy(log);
    free(nodes[k].v);
  }
  return rc;
}
