/* demo_links: request timeline, clock and link tables of the namespace demo
 * (demo_links.h). */
#include "demo_links.h"

#include "dmap_wire.h"

#include <math.h>
#include <peertrace/pt_align.h>
#include <peertrace/pt_request.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if PT_TRACE

typedef struct report {
  const pt_align *align;
  size_t nodes;
  pt_link_delays dir[DEMO_NETNS_MAX][DEMO_NETNS_MAX]; /* [sender][receiver] */
} report;

/* Each direction's delays (pt_align_delays) into r->dir; 0, or -1 without
 * memory. */
static int count_delays(report *r) {
  pt_link_delays *links;
  size_t n;
  if (pt_align_delays(r->align, &links, &n) != PT_OK) {
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    if (links[i].sender < r->nodes && links[i].receiver < r->nodes) {
      r->dir[links[i].sender][links[i].receiver] = links[i];
    }
  }
  free(links);
  return 0;
}

/* ---- Clocks ------------------------------------------------------------ */

/* Node i's injected offset at true time t (us), libfaketime's model. */
static double injected_at(const demo_skew *s, const demo_skew_node *m,
                          double t) {
  return (double)m->measured_offset_us +
         s->drift_ppm * 1e-6 * (t - (double)m->measured_at_us);
}

/* The true time of node i's raw timestamp. */
static double true_time(const demo_skew *s, const demo_skew_node *m,
                        double raw) {
  double d = s->drift_ppm * 1e-6;
  return (raw - (double)m->measured_offset_us + d * (double)m->measured_at_us) /
         (1 + d);
}

static void print_clocks(const report *r, const demo_skew *skews,
                         const demo_skew_node *measured, const char *tool,
                         const char *dir) {
  printf("\nClocks: the skew injected into each node process (libfaketime), "
         "against node0's,\n  and what peertrace estimated from the packets "
         "alone (pt_align; %s clocks %s/*.ptd)\n",
         tool, dir);
  printf("  node   injected offset     drift    estimate offset     drift"
         "      bound     |error|\n");
  for (size_t i = 0; i < r->nodes; i++) {
    pt_clock_estimate e;
    if (pt_align_estimate(r->align, (unsigned)i, &e) != PT_OK) {
      continue;
    }
    if (e.status == PT_CLOCK_REFERENCE) {
      printf("  node%-2zu  reference: every time below is on this node's "
             "clock\n",
             i);
      continue;
    }
    if (e.status != PT_CLOCK_ALIGNED) {
      printf("  node%-2zu  not aligned (status %d): its times are left as "
             "recorded\n",
             i, (int)e.status);
      continue;
    }
    double t = true_time(&skews[i], &measured[i], (double)e.t0_us);
    double inj = injected_at(&skews[i], &measured[i], t) -
                 injected_at(&skews[0], &measured[0], t);
    double drift = (skews[i].drift_ppm - skews[0].drift_ppm) /
                   (1 + skews[i].drift_ppm * 1e-6);
    printf("  node%-2zu  %+13.3f ms  %+8.2f ppm  %+13.3f ms  %+8.2f ppm  "
           "%7.3f ms  %7.3f ms\n",
           i, inj / 1e3, drift, e.offset_us / 1e3, e.drift_ppm,
           e.bound_us / 1e3, fabs(e.offset_us - inj) / 1e3);
  }
  printf("  (offsets at the start of each node's recording, |error| there; "
         "the bound holds over the\n  whole run; over a run this short the "
         "drift is loosely pinned, the bound includes it)\n");
}

/* ---- Links ------------------------------------------------------------- */

static void print_links(report *r, const demo_netns *ns, const char *tool,
                        const char *dir) {
  printf("\nLinks: one-way delay of every QUIC packet matched across its two "
         "ends (sent on one node,\n  received on the other, on the aligned "
         "clocks; %s pairs %s/*.ptd),\n  against what the link adds "
         "(%s/links.json)\n",
         tool, dir, dir);
  printf("  link             pairs   p50 ms   p95 ms    link ms        never "
         "received  dropped   rtt ms\n");
  for (size_t k = 0; k < 2 * r->nodes; k++) {
    size_t a, b;
    demo_netns_ring_dir(k, r->nodes, &a, &b);
    const pt_link_delays *d = &r->dir[a][b], *back = &r->dir[b][a];
    const demo_link *l = &ns->links[a][b];
    char dropped[32] = "-";
    if (ns->stats != NULL) {
      const demo_link_stats *s = &ns->stats[a * DEMO_NETNS_MAX + b];
      snprintf(dropped, sizeof dropped, "%llu/%llu",
               (unsigned long long)s->dropped, (unsigned long long)s->packets);
    }
    printf("  node%zu -> node%zu  %6llu", a, b, (unsigned long long)d->delays);
    if (d->delays == 0 || back->delays == 0) {
      printf("        -        -  %5.1f +-%4.1f  %6llu  %15s\n", l->delay_ms,
             l->jitter_ms, (unsigned long long)d->unreceived, dropped);
      continue;
    }
    printf("  %7.3f  %7.3f  %5.1f +-%4.1f  %6llu  %15s  %7.3f\n",
           d->p50_us / 1e3, d->p95_us / 1e3, l->delay_ms, l->jitter_ms,
           (unsigned long long)d->unreceived, dropped,
           (d->p50_us + back->p50_us) / 1e3);
  }
  printf("  never received: sent while the receiver recorded, no receipt "
         "traced; dropped: by the link\n  (%s), of the packets it carried; "
         "rtt: the two directions' medians added\n",
         ns->netem ? "tc netem: not counted here" : "the link emulator");
}

/* ---- One request down to its packets ----------------------------------- */

/* A request's score: packets the network dropped (never received), then packets
 * declared lost (some arrive after all: reordered by the links' jitter,
 * declared lost by QUIC's packet threshold), then hops. */
typedef struct score {
  unsigned dropped, lost, hops;
} score;

typedef struct pick {
  pt_request *req;
  score cur, best;
  pt_trace_id best_id;
} pick;

static int count_packet(const pt_request_packet *p, void *user) {
  score *s = user;
  /* Sent, never received: the link dropped it (the request still
   * succeeded, so its bytes came through in other packets). */
  s->dropped += p->sent_us != 0 && p->received_us == 0;
  return 0;
}

static int count_hop(const pt_request_hop *h, void *user) {
  pick *p = user;
  p->cur.hops++;
  p->cur.lost += h->recovered ? h->lost : 0;
  return pt_request_packets(p->req, h, count_packet, &p->cur);
}

static int better(const score *a, const score *b) {
  if (a->dropped != b->dropped) {
    return a->dropped > b->dropped;
  }
  if (a->lost != b->lost) {
    return a->lost > b->lost;
  }
  return a->hops > b->hops;
}

static uint64_t aligned_time(void *user, unsigned node, uint64_t raw_us) {
  return pt_align_time(user, node, raw_us);
}

typedef struct shown {
  pt_request *req;
  uint64_t t0;
} shown;

static double rel_ms(const shown *s, uint64_t t) {
  return ((double)t - (double)s->t0) / 1e3;
}

static int print_packet(const pt_request_packet *p, void *user) {
  const shown *s = user;
  printf("        pn %-4llu %5u B  sent %+9.3f", (unsigned long long)p->pn,
         p->size, rel_ms(s, p->sent_us));
  if (p->received_us != 0) {
    printf("  received %+9.3f (%6.3f ms)", rel_ms(s, p->received_us),
           ((double)p->received_us - (double)p->sent_us) / 1e3);
  } else {
    printf("  never received%19s", "");
  }
  if (p->lost) {
    /* Declared lost by the sender's QUIC stack; it may have arrived after
     * all (reordered by jitter, or late): then it has a receive time. */
    printf(p->received_us != 0 ? "  declared lost, arrived all the same"
                               : "  LOST");
    if (p->recovered) {
      printf(", its bytes there %.3f ms after it was sent",
             (double)p->recovery_us / 1e3);
    }
  }
  if (p->retransmits) {
    printf("  %s pn %llu", p->retransmits_lost ? "resends lost" : "repeats",
           (unsigned long long)p->retransmits_pn);
  }
  printf("\n");
  return 0;
}

static int print_hop(const pt_request_hop *h, void *user) {
  shown *s = user;
  if (s->t0 == 0) {
    s->t0 = h->sent_us;
  }
  printf("  %+9.3f  node%u -> node%u  %-7s", rel_ms(s, h->sent_us), h->sender,
         h->receiver, h->kind == PT_HOP_REQUEST ? "request" : "reply");
  if (h->received_us != 0) {
    printf("  there %+9.3f", rel_ms(s, h->received_us));
  }
  if (h->has_stream) {
    printf("  stream %llu, %llu bytes, %u packet%s",
           (unsigned long long)h->stream_id, (unsigned long long)h->length,
           h->packets, h->packets == 1 ? "" : "s");
  }
  if (h->lost) {
    printf(", %u lost", h->lost);
    if (h->recovered) {
      printf(", recovered in %.3f ms", (double)h->recovery_us / 1e3);
    }
  }
  printf("\n");
  return pt_request_packets(s->req, h, print_packet, s);
}

static void print_request(const pt_dump *dumps, pt_request *req,
                          const char *tool, const char *dir) {
  pick p;
  memset(&p, 0, sizeof p);
  p.req = req;
  /* The client's requests: node0's app_start events without a peer. */
  for (size_t k = 0; k < dumps[0].count; k++) {
    const pt_event *e = &dumps[0].events[k];
    if (e->kind != PT_EV_APP_START || (e->flags & PT_EVENT_HAS_PEER) ||
        pt_trace_id_is_zero(&e->trace_id)) {
      continue;
    }
    memset(&p.cur, 0, sizeof p.cur);
    if (pt_request_hops(req, &e->trace_id, count_hop, &p) != PT_OK) {
      continue;
    }
    if (p.best.hops == 0 || better(&p.cur, &p.best)) {
      p.best_id = e->trace_id;
      p.best = p.cur;
    }
  }
  if (p.best.hops == 0) {
    printf("\nNo request with hops across the nodes was found.\n");
    return;
  }
  char hex[33];
  pt_trace_id_to_hex(&p.best_id, hex, sizeof hex);
  printf("\nOne request on aligned clocks (node0's), down to its packets: "
         "trace %s,\n  %u hops, %u packet%s dropped by a link, %u declared "
         "lost, all recovered;\n  the same with: %s request %.8s %s/*.ptd\n",
         hex, p.best.hops, p.best.dropped, p.best.dropped == 1 ? "" : "s",
         p.best.lost, tool, hex, dir);
  printf("   t (ms)    hop\n");
  shown s = {req, 0};
  pt_request_hops(req, &p.best_id, print_hop, &s);
}

int demo_links_report(const pt_dump *dumps, size_t count,
                      const demo_skew *skews, const demo_skew_node *measured,
                      demo_netns *ns, const char *tool, const char *dir) {
  static report r;
  pt_align *align = NULL;
  pt_request *req = NULL;
  int rc = -1;
  demo_netns_teardown(ns); /* the emulator's counters are final now */
  memset(&r, 0, sizeof r);
  r.nodes = count < DEMO_NETNS_MAX ? count : DEMO_NETNS_MAX;
  if (pt_align_new(&align) != PT_OK || pt_request_new(&req) != PT_OK) {
    goto done;
  }
  for (size_t i = 0; i < r.nodes; i++) {
    unsigned ai, ri;
    if (pt_align_add_node(align, dumps[i].info.node_id, &ai) != PT_OK ||
        pt_request_add_node(req, dumps[i].info.node_id, &ri) != PT_OK) {
      goto done;
    }
    for (size_t k = 0; k < dumps[i].count; k++) {
      if (pt_align_add_event(align, ai, &dumps[i].events[k]) != PT_OK ||
          pt_request_add_event(req, ri, &dumps[i].events[k]) != PT_OK) {
        goto done;
      }
    }
  }
  if (pt_align_solve(align, 0) != PT_OK ||
      pt_request_set_time(req, aligned_time, align) != PT_OK) {
    goto done;
  }
  r.align = align;
  if (count_delays(&r) != 0) {
    goto done;
  }
  print_request(dumps, req, tool, dir);
  print_clocks(&r, skews, measured, tool, dir);
  print_links(&r, ns, tool, dir);
  rc = 0;
done:
  if (rc != 0) {
    fprintf(stderr, "demo: the network report failed (out of memory?)\n");
  }
  pt_request_free(req);
  pt_align_free(align);
  return rc;
}

#endif /* PT_TRACE */
