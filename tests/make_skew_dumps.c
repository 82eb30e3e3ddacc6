/*
 * make_skew_dumps DIR: dumps of five simulated nodes whose clocks are set
 * apart by known offsets and drifts (align_sim.h), for the `peertrace
 * clocks` and `pairs` tests (tests/cli/clocks.py) and docs/clocks.md.
 *
 *   node0  the reference's clock                  links: 1, 4
 *   node1  +2.5 s, +50 ppm                        links: 0, 2
 *   node2  -7 s, -80 ppm: talks to node1 only (aligned through it)
 *   node3  +1 s: sends to node0, never hears back (one way: unaligned)
 *   node4  +0.3 s, stepped by +40 ms halfway (inconsistent)
 *
 * 500 packets each way per link over 2 s; every 50th packet from node0 to
 * node1 is lost (10 unreceived, each declared lost by node0).  Writes
 * DIR/node<N>.ptd and DIR/skew.json (base, and each node's offset in us and
 * drift, as align_sim.h reads them).  Same output on every run.
 */
#include <stdio.h>

#include "align_sim.h"

#define NODES 5
#define SPAN 2e6

static int save(const sim *s, unsigned v, const char *dir) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 4096;
  for (int i = 0; i < 32; i++) {
    cfg.node_id[i] = (uint8_t)(0x10 * (v + 1) + (unsigned)i);
  }
  pt_log *log = NULL;
  int rc = pt_log_create(&log, &cfg);
  for (size_t i = 0; rc == PT_OK && i < s->nev[v]; i++) {
    rc = pt_log_write_at(log, &s->ev[v][i]);
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/node%u.ptd", dir, v);
  if (rc == PT_OK) {
    rc = pt_log_dump_save(log, path);
  }
  pt_log_destroy(log);
  if (rc != PT_OK) {
    fprintf(stderr, "make_skew_dumps: %s: %s\n", path, pt_strerror(rc));
    return 1;
  }
  return 0;
}

/* 500 packets each way between a and b over the span; drop_every: lost. */
static void lossy_link(sim *s, unsigned a, unsigned b, unsigned drop_every) {
  uint64_t conn = 0xc0000000u + a * 16 + b;
  for (unsigned i = 0; i < 500; i++) {
    double t = sim_unif(s) * SPAN;
    int drop = drop_every && i % drop_every == drop_every - 1;
    sim_packet(s, a, b, conn, t, drop);
    if (drop) {
      pt_event *e = sim_push(s, a);
      e->kind = PT_EV_PACKET_LOST;
      e->timestamp_us = sim_read(s, a, t + 30000);
      e->data.packet_lost.pn = s->pn[a][b] - 1;
      e->data.packet_lost.space = PT_PN_SPACE_APPLICATION;
      e->data.packet_lost.conn = conn;
    }
    sim_packet(s, b, a, conn, sim_unif(s) * SPAN, 0);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_skew_dumps DIR\n");
    return 2;
  }
  static sim s;
  sim_init(&s, NODES, 12);
  double off[NODES] = {0, 2.5e6, -7e6, 1e6, 0.3e6};
  double drift[NODES] = {0, 50e-6, -80e-6, 0, 0};
  for (unsigned v = 0; v < NODES; v++) {
    s.off[v] = off[v];
    s.drift[v] = drift[v];
    sim_mark(&s, v, 0);
    sim_mark(&s, v, SPAN + 50000);
  }
  lossy_link(&s, 0, 1, 50);
  lossy_link(&s, 1, 2, 0);
  for (unsigned i = 0; i < 200; i++) {
    sim_packet(&s, 3, 0, 0xc0000030u, sim_unif(&s) * SPAN, 0);
  }
  /* node4: the first half, the step, the second half. */
  for (unsigned i = 0; i < 200; i++) {
    sim_packet(&s, 0, 4, 0xc0000004u, sim_unif(&s) * SPAN / 2, 0);
    sim_packet(&s, 4, 0, 0xc0000004u, sim_unif(&s) * SPAN / 2, 0);
  }
  s.off[4] += 40000;
  for (unsigned i = 0; i < 200; i++) {
    sim_packet(&s, 0, 4, 0xc0000004u, (1 + sim_unif(&s)) * SPAN / 2, 0);
    sim_packet(&s, 4, 0, 0xc0000004u, (1 + sim_unif(&s)) * SPAN / 2, 0);
  }
  s.off[4] -= 40000;
  int rc = 0;
  for (unsigned v = 0; v < NODES; v++) {
    rc |= save(&s, v, argv[1]);
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/skew.json", argv[1]);
  FILE *fp = fopen(path, "w");
  if (fp == NULL) {
    perror(path);
    return 1;
  }
  fprintf(fp, "{\"base\": %llu, \"nodes\": [", (unsigned long long)SIM_BASE);
  for (unsigned v = 0; v < NODES; v++) {
    fprintf(fp, "%s{\"off_us\": %.1f, \"drift\": %.9f}", v ? ", " : "",
            s.off[v], s.drift[v]);
  }
  fprintf(fp, "]}\n");
  rc |= fclose(fp) != 0;
  sim_free(&s);
  return rc;
}
