/*
 * Simulated nodes with known clocks exchanging packets, for test_align and
 * bench_align: node v reads base + floor(tau + off[v] + drift[v] * tau) at
 * true time tau (microseconds from the start), and every packet takes a
 * random positive delay (min_delay + an exponential tail).
 */
#ifndef PT_ALIGN_SIM_H
#define PT_ALIGN_SIM_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <peertrace/peertrace.h>

#define SIM_MAX_NODES 128
#define SIM_BASE 1700000000000000ull

typedef struct sim {
  unsigned n;
  double off[SIM_MAX_NODES];   /* microseconds */
  double drift[SIM_MAX_NODES]; /* rate - 1 */
  double min_delay, mean_tail; /* microseconds */
  uint64_t rng;
  uint64_t pn[SIM_MAX_NODES][SIM_MAX_NODES]; /* next pn, per direction */
  /* Every event made, per node, in the order made. */
  pt_event *ev[SIM_MAX_NODES];
  size_t nev[SIM_MAX_NODES], cap[SIM_MAX_NODES];
} sim;

static inline uint64_t sim_rnd(sim *s) {
  /* xorshift64* */
  s->rng ^= s->rng >> 12;
  s->rng ^= s->rng << 25;
  s->rng ^= s->rng >> 27;
  return s->rng * 2685821657736338717ull;
}

/* Uniform in [0, 1). */
static inline double sim_unif(sim *s) {
  return (double)(sim_rnd(s) >> 11) * 0x1p-53;
}

static inline void sim_init(sim *s, unsigned n, uint64_t seed) {
  memset(s, 0, sizeof *s);
  s->n = n;
  s->rng = seed * 0x9e3779b97f4a7c15ull + 1;
  s->min_delay = 50;
  s->mean_tail = 300;
}

static inline void sim_free(sim *s) {
  for (unsigned v = 0; v < s->n; v++) {
    free(s->ev[v]);
  }
}

/* Node v's reading at true time tau. */
static inline uint64_t sim_read(const sim *s, unsigned v, double tau) {
  double x = floor(tau + s->off[v] + s->drift[v] * tau);
  return (uint64_t)((int64_t)SIM_BASE + (int64_t)x);
}

/* node v minus node ref at v's raw time raw (the truth an estimate aims at). */
static inline double sim_true_offset(const sim *s, unsigned v, unsigned ref,
                                     uint64_t raw) {
  double x = (double)(int64_t)(raw - SIM_BASE);
  double tau = (x - s->off[v]) / (1 + s->drift[v]);
  return x - (tau + s->off[ref] + s->drift[ref] * tau);
}

static inline pt_event *sim_push(sim *s, unsigned v) {
  if (s->nev[v] == s->cap[v]) {
    s->cap[v] = s->cap[v] ? s->cap[v] * 2 : 256;
    s->ev[v] = realloc(s->ev[v], s->cap[v] * sizeof(pt_event));
    if (s->ev[v] == NULL) {
      abort();
    }
  }
  pt_event *e = &s->ev[v][s->nev[v]++];
  memset(e, 0, sizeof *e);
  return e;
}

/* A custom event on v at tau (widens v's recorded span). */
static inline void sim_mark(sim *s, unsigned v, double tau) {
  pt_event *e = sim_push(s, v);
  e->kind = PT_EV_CUSTOM;
  e->timestamp_us = sim_read(s, v, tau);
}

static inline double sim_delay(sim *s) {
  return s->min_delay - s->mean_tail * log(1 - sim_unif(s));
}

/*
 * One packet from a to b on connection conn, sent at tau; received unless
 * drop.  The pn counts per direction of the node pair.
 */
static inline void sim_packet(sim *s, unsigned a, unsigned b, uint64_t conn,
                              double tau, int drop) {
  uint64_t pn = s->pn[a][b]++;
  pt_event *e = sim_push(s, a);
  e->kind = PT_EV_PACKET_SENT;
  e->timestamp_us = sim_read(s, a, tau);
  e->data.packet_sent.pn = pn;
  e->data.packet_sent.size = 1200;
  e->data.packet_sent.space = PT_PN_SPACE_APPLICATION;
  e->data.packet_sent.conn = conn;
  if (drop) {
    return;
  }
  e = sim_push(s, b);
  e->kind = PT_EV_PACKET_RECEIVED;
  e->timestamp_us = sim_read(s, b, tau + sim_delay(s));
  e->data.packet_received.pn = pn;
  e->data.packet_received.size = 1200;
  e->data.packet_received.space = PT_PN_SPACE_APPLICATION;
  e->data.packet_received.conn = conn;
}

/* count packets each way between a and b, at random times in [0, span). */
static inline void sim_link(sim *s, unsigned a, unsigned b, unsigned count,
                            double span) {
  uint64_t conn = 0x1000u + (uint64_t)a * SIM_MAX_NODES + b;
  for (unsigned i = 0; i < count; i++) {
    sim_packet(s, a, b, conn, sim_unif(s) * span, 0);
    sim_packet(s, b, a, conn, sim_unif(s) * span, 0);
  }
}

#endif /* PT_ALIGN_SIM_H */
