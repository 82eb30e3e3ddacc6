/*
 * Packet pairs across nodes and clock alignment (pt_align.h,
 * docs/clocks.md).
 *
 * pt_align_solve: the packet events are sorted by (conn, space, pn); a
 * connection seen on exactly two nodes pairs each packet_sent with the
 * other node's packet_received of the same space and number (the sender of
 * a receipt is the other node: QUIC numbers each direction on its own).
 * Each pair bounds the receiver's clock offset against the sender's; the
 * bounds of a node pair (a link) are fitted in pt_align_fit.c, the links
 * joined to the reference by the path of smallest summed bound, and each
 * node's clock is the composition of the lines along its path.
 */
#include <peertrace/pt_align.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pt_common.h"
#include "pt_align_fit.h"

#define KIND_SENT 0
#define KIND_RECEIVED 1
#define KIND_LOST 2
#define REC_LOST 1u /* flags: the sender recorded packet_lost for it */
#define NO_LINK UINT32_MAX

typedef struct rec {
  uint64_t conn, pn, t;
  uint32_t size, node;
  uint32_t peer; /* a packet_sent's receiver: the conn's other node, set by
                    pair_packets for a conn seen on two nodes */
  uint8_t space, kind, flags;
} rec;

typedef struct pair {
  uint32_t sent, received; /* rec indices */
} pair;

typedef struct node {
  uint8_t id[32];
  uint64_t first, last; /* recorded span (raw) */
  int has_span;
  uint64_t t0; /* the middle of the span: every local time is t - t0 */
  /* ref_time(t) = ref.t0 + c + k * (t - t0), if mapped. */
  double c, k;
  /* The map of the path alone (c and k before the joint pass moved them):
   * the bound of the path is about that map. */
  double pc, pk;
  uint64_t reversed; /* its pairs received before sent, aligned */
  double lip; /* slope bound of this node's error as a function of time */
  int mapped;
  int touches_inconsistent;
  uint32_t link; /* the link towards the reference (NO_LINK) */
  double cost;   /* Dijkstra: summed link bounds */
  int done;
  pt_clock_estimate est;
} node;

/*
 * The packets of a node pair (either direction, a link or not), as the
 * joint pass needs them: the hull vertices of each direction (lo -> hi
 * first), each as (lo's local time, hi's local time) in hx from offset.
 */
typedef struct edge {
  unsigned lo, hi;
  size_t off, nf, nb;
  uint32_t link; /* its link, or NO_LINK (packets one way) */
} edge;

typedef struct link {
  unsigned lo, hi; /* node indices, lo < hi; offset = hi - lo, lo's time */
  pt__fit fit;
  int feasible;
  uint64_t pairs;
  double min_rtt;
  double weight; /* bound over both nodes' spans */
} link;

struct pt_align {
  node *nodes;
  unsigned nnodes;
  size_t capnodes;
  rec *recs;
  size_t nrecs, caprecs;
  pair *pairs;
  size_t npairs;
  pair *unrec; /* received: NO_LINK */
  size_t nunrec;
  link *links;
  size_t nlinks;
  edge *edges;
  size_t nedges, capedges;
  double *hx;
  size_t nhx, caphx;
  unsigned reference;
  int solved;
  double bmax; /* PT_ALIGN_MAX_DRIFT_PPM unless set */
  pt_align_stats stats;
};

/* u - v as a double, without the wraparound of a signed cast. */
static double sdiff(uint64_t u, uint64_t v) {
  return u >= v ? (double)(u - v) : -(double)(v - u);
}

/*
 * Room for one more element of `size` bytes after count in p (capacity
 * *cap): p itself, or p moved to a doubled allocation, or NULL (out of
 * memory, or past 2^31 elements: indices are uint32_t; p is then intact).
 */
static void *grow(void *p, size_t *cap, size_t count, size_t size) {
  if (count < *cap) {
    return p;
  }
  size_t c = *cap ? *cap * 2 : 64;
  if (c > UINT32_MAX / 2 + 1) {
    return NULL;
  }
  void *q = realloc(p, c * size);
  if (q != NULL) {
    *cap = c;
  }
  return q;
}

/*
 * 1 / (1 - max drift): how much a link's error can grow from one clock's
 * time to the other's, and how fast a line of the polygon can move.
 */
static double growth(const pt_align *a) {
  return 1.0 / (1.0 - a->bmax);
}

int pt_align_new(pt_align **out) {
  if (out == NULL) {
    return PT_ERR_INVALID;
  }
  *out = calloc(1, sizeof **out);
  if (*out == NULL) {
    return PT_ERR_NOMEM;
  }
  (*out)->bmax = PT_ALIGN_MAX_DRIFT_PPM * 1e-6;
  return PT_OK;
}

int pt_align_set_max_drift(pt_align *a, double ppm) {
  /* !(x > 0) also refuses NaN. */
  if (a == NULL || !(ppm > 0) || !(ppm <= 10000)) {
    return PT_ERR_INVALID;
  }
  if (a->solved) {
    return PT_ERR_STATE;
  }
  a->bmax = ppm * 1e-6;
  return PT_OK;
}

void pt_align_free(pt_align *a) {
  if (a == NULL) {
    return;
  }
  for (size_t i = 0; i < a->nlinks; i++) {
    pt__fit_free(&a->links[i].fit);
  }
  free(a->links);
  free(a->edges);
  free(a->hx);
  free(a->unrec);
  free(a->pairs);
  free(a->recs);
  free(a->nodes);
  free(a);
}

int pt_align_add_node(pt_align *a, const uint8_t node_id[32], unsigned *index) {
  if (a == NULL || node_id == NULL || index == NULL) {
    return PT_ERR_INVALID;
  }
  if (a->solved) {
    return PT_ERR_STATE;
  }
  for (unsigned i = 0; i < a->nnodes; i++) {
    if (memcmp(a->nodes[i].id, node_id, 32) == 0) {
      *index = i;
      return PT_ERR_EXISTS;
    }
  }
  node *grown = grow(a->nodes, &a->capnodes, a->nnodes, sizeof *grown);
  if (grown == NULL) {
    return PT_ERR_NOMEM;
  }
  a->nodes = grown;
  node *n = &a->nodes[a->nnodes];
  memset(n, 0, sizeof *n);
  memcpy(n->id, node_id, 32);
  *index = a->nnodes++;
  return PT_OK;
}

int pt_align_add_event(pt_align *a, unsigned node_index, const pt_event *ev) {
  if (a == NULL || ev == NULL || node_index >= a->nnodes) {
    return PT_ERR_INVALID;
  }
  if (a->solved) {
    return PT_ERR_STATE;
  }
  node *n = &a->nodes[node_index];
  uint64_t t = ev->timestamp_us;
  if (!n->has_span || t < n->first) {
    n->first = t;
  }
  if (!n->has_span || t > n->last) {
    n->last = t;
  }
  n->has_span = 1;
  rec r = {0};
  switch (ev->kind) {
  case PT_EV_PACKET_SENT:
    r = (rec){ev->data.packet_sent.conn,
              ev->data.packet_sent.pn,
              t,
              ev->data.packet_sent.size,
              node_index,
              node_index,
              ev->data.packet_sent.space,
              KIND_SENT,
              0};
    break;
  case PT_EV_PACKET_RECEIVED:
    r = (rec){ev->data.packet_received.conn,
              ev->data.packet_received.pn,
              t,
              ev->data.packet_received.size,
              node_index,
              node_index,
              ev->data.packet_received.space,
              KIND_RECEIVED,
              0};
    break;
  case PT_EV_PACKET_LOST:
    r = (rec){ev->data.packet_lost.conn,
              ev->data.packet_lost.pn,
              t,
              0,
              node_index,
              node_index,
              ev->data.packet_lost.space,
              KIND_LOST,
              0};
    break;
  default:
    return PT_OK;
  }
  if (r.conn == 0) {
    return PT_OK;
  }
  rec *recs = grow(a->recs, &a->caprecs, a->nrecs, sizeof *recs);
  if (recs == NULL) {
    return PT_ERR_NOMEM;
  }
  a->recs = recs;
  a->recs[a->nrecs++] = r;
  a->stats.packet_events++;
  return PT_OK;
}

static int by_key(const void *pa, const void *pb) {
  const rec *p = pa, *q = pb;
  PT__CMP(p->conn, q->conn);
  PT__CMP(p->space, q->space);
  PT__CMP(p->pn, q->pn);
  PT__CMP(p->kind, q->kind);
  PT__CMP(p->node, q->node);
  PT__CMP(p->t, q->t);
  return 0;
}

/* qsort, but not on an empty (perhaps NULL) array. */
static void sort(void *base, size_t n, size_t size,
                 int (*cmp)(const void *, const void *)) {
  if (n > 1) {
    qsort(base, n, size, cmp);
  }
}

static int push_pair(pt_align *a, size_t *cap, uint32_t s, uint32_t r) {
  pair *p = grow(a->pairs, cap, a->npairs, sizeof *p);
  if (p == NULL) {
    return PT_ERR_NOMEM;
  }
  a->pairs = p;
  a->pairs[a->npairs++] = (pair){s, r};
  return PT_OK;
}

static int push_unrec(pt_align *a, size_t *cap, uint32_t s) {
  pair *p = grow(a->unrec, cap, a->nunrec, sizeof *p);
  if (p == NULL) {
    return PT_ERR_NOMEM;
  }
  a->unrec = p;
  a->unrec[a->nunrec++] = (pair){s, NO_LINK};
  return PT_OK;
}

/*
 * One (space, pn) of a connection between nodes x and y: recs[g..h).  Per
 * sender: one packet_sent and the earliest packet_received pair; several
 * sends of one number by one node (a hostile or spliced file) pair nothing.
 * The same event twice (same time, and size for a send: two overlapping
 * files of one node, a dump and its log) counts once.
 */
static int pair_group(pt_align *a, size_t g, size_t h, unsigned x, unsigned y,
                      size_t *capp, size_t *capu) {
  for (int side = 0; side < 2; side++) {
    unsigned sender = side == 0 ? x : y;
    size_t nsent = 0, nrecv = 0;
    uint32_t s = NO_LINK, r = NO_LINK;
    int lost = 0;
    for (size_t i = g; i < h; i++) {
      const rec *p = &a->recs[i];
      if (p->kind == KIND_RECEIVED ? p->node != sender : p->node == sender) {
        /* Sorted by (kind, node, t): repeats of an event are adjacent. */
        if (p->kind == KIND_SENT) {
          if (nsent == 0 || p->t != a->recs[s].t ||
              p->size != a->recs[s].size) {
            nsent++;
            s = (uint32_t)i;
          }
        } else if (p->kind == KIND_LOST) {
          lost = 1;
        } else if (nrecv == 0 || p->t != a->recs[r].t) {
          /* The first is the earliest. */
          r = nrecv++ == 0 ? (uint32_t)i : r;
        }
      }
    }
    if (nsent > 1) {
      a->stats.duplicate_sends++;
      continue;
    }
    if (nrecv > 1) {
      a->stats.duplicate_receives++;
    }
    if (nsent == 0) {
      a->stats.received_unmatched += nrecv > 0;
      continue;
    }
    if (lost) {
      a->recs[s].flags |= REC_LOST;
    }
    a->recs[s].peer = sender == x ? y : x;
    int rc = nrecv > 0 ? push_pair(a, capp, s, r) : push_unrec(a, capu, s);
    if (rc != PT_OK) {
      return rc;
    }
  }
  return PT_OK;
}

static int pair_packets(pt_align *a) {
  size_t capp = 0, capu = 0;
  sort(a->recs, a->nrecs, sizeof *a->recs, by_key);
  for (size_t i = 0, j; i < a->nrecs; i = j) {
    unsigned nodes[2] = {a->recs[i].node, a->recs[i].node};
    unsigned distinct = 1;
    for (j = i; j < a->nrecs && a->recs[j].conn == a->recs[i].conn; j++) {
      unsigned n = a->recs[j].node;
      if (n != nodes[0] && (distinct == 1 || n != nodes[1])) {
        distinct++;
        nodes[1] = n;
      }
    }
    a->stats.conns++;
    if (distinct == 1) {
      a->stats.conns_one_node++;
      continue;
    }
    if (distinct > 2) {
      a->stats.conns_ambiguous++;
      continue;
    }
    for (size_t g = i, h; g < j; g = h) {
      for (h = g; h < j && a->recs[h].space == a->recs[g].space &&
                  a->recs[h].pn == a->recs[g].pn;
           h++) {
      }
      int rc = pair_group(a, g, h, nodes[0], nodes[1], &capp, &capu);
      if (rc != PT_OK) {
        return rc;
      }
    }
  }
  a->stats.pairs = a->npairs;
  return PT_OK;
}

/* ---- Links --------------------------------------------------------------- */

typedef struct lp {
  unsigned lo, hi;
  int dir;         /* 0: lo -> hi */
  uint64_t t1, t2; /* send, receipt (raw, on their nodes' clocks) */
} lp;

static int lp_by_link(const void *pa, const void *pb) {
  const lp *p = pa, *q = pb;
  PT__CMP(p->lo, q->lo);
  PT__CMP(p->hi, q->hi);
  PT__CMP(p->dir, q->dir);
  PT__CMP(p->t2, q->t2);
  PT__CMP(p->t1, q->t1);
  return 0;
}

static int lp_by_send(const void *pa, const void *pb) {
  const lp *p = pa, *q = pb;
  PT__CMP(p->t1, q->t1);
  PT__CMP(p->t2, q->t2);
  return 0;
}

/*
 * The smallest (t4 - t1) - (t3 - t2) * rate of a packet fwd[i] (t1 -> t2)
 * and the first packet back sent at or after it arrived (t3 >= t2,
 * arriving t4): fwd sorted by receipt, back by send.  rate converts the
 * turnaround to the first node's clock (1 / (1 + b) or 1 + b): uncorrected,
 * a 100 ppm drift over a 50 ms turnaround shortens the round trip by 5 us.
 */
static double min_rtt_one_way(const lp *fwd, size_t nf, const lp *back,
                              size_t nb, double rate) {
  double best = INFINITY;
  size_t j = 0;
  for (size_t i = 0; i < nf; i++) {
    while (j < nb && back[j].t1 < fwd[i].t2) {
      j++;
    }
    if (j == nb) {
      break;
    }
    double rtt =
        sdiff(back[j].t2, fwd[i].t1) - sdiff(back[j].t1, fwd[i].t2) * rate;
    best = fmin(best, rtt);
  }
  return best;
}

static void local_span(const node *n, double *x1, double *x2) {
  *x1 = sdiff(n->first, n->t0);
  *x2 = sdiff(n->last, n->t0);
}

/*
 * The bounds of a node pair's packets p[0..nf) lo -> hi, p[nf..n) hi -> lo
 * as points of pts (n of them), each direction's hull first (*nu of the
 * lo -> hi, from pts; *nl of the others, from pts + nf), and those hull
 * vertices kept as the pair's edge for the joint pass.
 */
static int edge_hulls(pt_align *a, const lp *p, size_t nf, size_t n,
                      uint32_t li, pt__fit_pt *pts, size_t *nu, size_t *nl) {
  unsigned lo = p[0].lo, hi = p[0].hi;
  uint64_t t0 = a->nodes[lo].t0;
  /* lo -> hi: offset(x) <= receipt - send, at the send (lo's time). */
  for (size_t i = 0; i < nf; i++) {
    pts[i].x = sdiff(p[i].t1, t0);
    pts[i].y = sdiff(p[i].t2, p[i].t1);
  }
  /* hi -> lo: offset(x) >= send - receipt, at the receipt (lo's time). */
  for (size_t i = nf; i < n; i++) {
    pts[i].x = sdiff(p[i].t2, t0);
    pts[i].y = sdiff(p[i].t1, p[i].t2);
  }
  *nu = pt__fit_hull(pts, nf, 1);
  *nl = pt__fit_hull(pts + nf, n - nf, 0);
  edge *e = grow(a->edges, &a->capedges, a->nedges, sizeof *e);
  if (e == NULL) {
    return PT_ERR_NOMEM;
  }
  a->edges = e;
  e = &a->edges[a->nedges++];
  *e = (edge){lo, hi, a->nhx, *nu, *nl, li};
  /* Either way the other end's local time is x + y + (lo.t0 - hi.t0). */
  double d = sdiff(t0, a->nodes[hi].t0);
  for (size_t k = 0; k < *nu + *nl; k++) {
    const pt__fit_pt *q = k < *nu ? &pts[k] : &pts[nf + k - *nu];
    for (int half = 0; half < 2; half++) {
      double *x = grow(a->hx, &a->caphx, a->nhx, sizeof *x);
      if (x == NULL) {
        return PT_ERR_NOMEM;
      }
      a->hx = x;
      a->hx[a->nhx++] = half == 0 ? q->x : q->x + q->y + d;
    }
  }
  return PT_OK;
}

/* The link's points and fit: p[0..nf) lo -> hi, p[nf..n) hi -> lo. */
static int fit_link(pt_align *a, link *l, lp *p, size_t nf, size_t n) {
  const node *A = &a->nodes[l->lo], *B = &a->nodes[l->hi];
  size_t nb = n - nf;
  l->pairs = n;
  pt__fit_pt *pts = malloc(n * sizeof *pts);
  if (pts == NULL) {
    return PT_ERR_NOMEM;
  }
  size_t nu, nl;
  int rc = edge_hulls(a, p, nf, n, (uint32_t)(l - a->links), pts, &nu, &nl);
  /* Only the hulls' points can be the tightest bounds. */
  if (rc == PT_OK) {
    rc = pt__fit_solve(pts, nu, pts + nf, nl, a->bmax, &l->fit);
  }
  free(pts);
  if (rc < 0) {
    return rc;
  }
  l->feasible = rc;
  /* Round trips: forward sorted by receipt (already), back by send. */
  double b = rc ? l->fit.b : 0;
  qsort(p + nf, nb, sizeof *p, lp_by_send);
  double r1 = min_rtt_one_way(p, nf, p + nf, nb, 1 / (1 + b));
  qsort(p + nf, nb, sizeof *p, lp_by_link);
  qsort(p, nf, sizeof *p, lp_by_send);
  double r2 = min_rtt_one_way(p + nf, nb, p, nf, 1 + b);
  l->min_rtt = fmin(r1, r2);
  if (!l->feasible) {
    return PT_OK;
  }
  /* The span the estimate serves: lo's, and hi's in lo's time. */
  double x1, x2, y1, y2;
  local_span(A, &x1, &x2);
  local_span(B, &y1, &y2);
  double d = sdiff(A->t0, B->t0) + l->fit.a;
  y1 = (y1 - d) / (1 + l->fit.b);
  y2 = (y2 - d) / (1 + l->fit.b);
  x1 = fmin(x1, y1);
  x2 = fmax(x2, y2);
  pt__fit_centre(&l->fit, x1, x2);
  l->weight =
      growth(a) * fmax(pt__fit_dev(&l->fit, x1), pt__fit_dev(&l->fit, x2));
  return PT_OK;
}

static int build_links(pt_align *a) {
  lp *p = malloc((a->npairs ? a->npairs : 1) * sizeof *p);
  if (p == NULL) {
    return PT_ERR_NOMEM;
  }
  for (size_t i = 0; i < a->npairs; i++) {
    const rec *s = &a->recs[a->pairs[i].sent];
    const rec *r = &a->recs[a->pairs[i].received];
    int dir = s->node > r->node;
    p[i] =
        (lp){dir ? r->node : s->node, dir ? s->node : r->node, dir, s->t, r->t};
  }
  sort(p, a->npairs, sizeof *p, lp_by_link);
  size_t cap = 0;
  int rc = PT_OK;
  for (size_t i = 0, j; i < a->npairs && rc == PT_OK; i = j) {
    size_t nf = 0;
    for (j = i; j < a->npairs && p[j].lo == p[i].lo && p[j].hi == p[i].hi;
         j++) {
      nf += p[j].dir == 0;
    }
    if (nf == 0 || nf == j - i) {
      a->stats.links_one_way++;
      /* No link, but its packets still must not come out reversed. */
      pt__fit_pt *pts = malloc((j - i) * sizeof *pts);
      size_t nu, nl;
      rc = pts == NULL
               ? PT_ERR_NOMEM
               : edge_hulls(a, p + i, nf, j - i, NO_LINK, pts, &nu, &nl);
      free(pts);
      continue;
    }
    link *nl = grow(a->links, &cap, a->nlinks, sizeof *nl);
    if (nl == NULL) {
      rc = PT_ERR_NOMEM;
      break;
    }
    a->links = nl;
    link *l = &a->links[a->nlinks++];
    memset(l, 0, sizeof *l);
    l->lo = p[i].lo;
    l->hi = p[i].hi;
    rc = fit_link(a, l, p + i, nf, j - i);
    a->stats.links++;
    if (rc == PT_OK && !l->feasible) {
      a->stats.links_inconsistent++;
      a->nodes[l->lo].touches_inconsistent = 1;
      a->nodes[l->hi].touches_inconsistent = 1;
    }
  }
  free(p);
  return rc;
}

/* ---- Paths and the nodes' clocks ---------------------------------------- */

/*
 * Node v's local time dx (from its t0) in the other end u's local time,
 * estimated through link l: u_dx = p + q * dx.
 */
static void link_map(const pt_align *a, const link *l, unsigned v, double *p,
                     double *q) {
  double d = sdiff(a->nodes[l->lo].t0, a->nodes[l->hi].t0) + l->fit.a;
  double b = l->fit.b;
  if (v == l->lo) {
    *p = d;
    *q = 1 + b;
  } else {
    *p = -d / (1 + b);
    *q = 1 / (1 + b);
  }
}

/*
 * How far v's estimated reference time can be from the true one at local
 * time dx: the link's error (in the next node's time) grown by that node's
 * slope and error slope, plus that node's error where the link lands.
 * Convex in dx, so a span's worst is at one of its ends.
 */
static double node_error(const pt_align *a, unsigned v, double dx) {
  double err = 0;
  while (a->nodes[v].link != NO_LINK) {
    const link *l = &a->links[a->nodes[v].link];
    unsigned u = v == l->lo ? l->hi : l->lo;
    double p, q;
    link_map(a, l, v, &p, &q);
    double du = p + q * dx;
    double xlo = v == l->lo ? dx : du; /* lo's local time */
    double dev = pt__fit_dev(&l->fit, xlo) * (v == l->lo ? 1 : growth(a));
    /* Errors of u are in reference time: k_u scales v's, lip_u covers
     * evaluating u's error where the estimate lands, not the true time. */
    err += (a->nodes[u].pk + a->nodes[u].lip) * dev;
    v = u;
    dx = du;
  }
  return err;
}

static void map_node(pt_align *a, unsigned v, uint32_t li) {
  node *n = &a->nodes[v];
  const link *l = &a->links[li];
  unsigned u = v == l->lo ? l->hi : l->lo;
  const node *m = &a->nodes[u];
  double p, q;
  link_map(a, l, v, &p, &q);
  n->c = n->pc = m->c + m->k * p;
  n->k = n->pk = m->k * q;
  n->lip = growth(a) * ((m->k + m->lip) * l->fit.max_db * growth(a) + m->lip);
  n->link = li;
  n->mapped = 1;
}

static void solve_paths(pt_align *a) {
  for (unsigned i = 0; i < a->nnodes; i++) {
    a->nodes[i].link = NO_LINK;
    a->nodes[i].cost = INFINITY;
  }
  node *ref = &a->nodes[a->reference];
  ref->cost = 0;
  ref->c = ref->pc = 0;
  ref->k = ref->pk = 1;
  ref->mapped = 1;
  for (;;) {
    unsigned best = a->nnodes;
    for (unsigned i = 0; i < a->nnodes; i++) {
      node *n = &a->nodes[i];
      if (!n->done && isfinite(n->cost) &&
          (best == a->nnodes || n->cost < a->nodes[best].cost)) {
        best = i;
      }
    }
    if (best == a->nnodes) {
      break;
    }
    a->nodes[best].done = 1;
    if (best != a->reference) {
      map_node(a, best, a->nodes[best].link);
    }
    for (size_t li = 0; li < a->nlinks; li++) {
      const link *l = &a->links[li];
      if (!l->feasible || (l->lo != best && l->hi != best)) {
        continue;
      }
      unsigned v = l->lo == best ? l->hi : l->lo;
      double cost = a->nodes[best].cost + l->weight;
      if (!a->nodes[v].done && cost < a->nodes[v].cost) {
        a->nodes[v].cost = cost;
        a->nodes[v].link = (uint32_t)li;
      }
    }
  }
}

/*
 * How far the joint pass moved v's aligned time at its local time dx
 * (reference time): the bound of the path's map, plus this, bounds the
 * final map's error (triangle inequality).
 */
static double joint_shift(const node *n, double dx) {
  return fabs((n->c - n->pc) + (n->k - n->pk) * dx);
}

/*
 * Sweeps the joint pass may take before it gives up (pt__joint_solve): at
 * most 2000, and at most about 2^26 row visits in all (a fraction of a
 * second), however many hull vertices a hostile file makes.
 */
#define JOINT_ROUNDS 2000
#define JOINT_WORK ((size_t)1 << 26)

/*
 * The joint pass: every hull vertex of every node pair whose two ends are
 * aligned (and whose link, if any, is consistent) as a row; the maps moved
 * by pt__joint_solve, or left as the paths made them if it cannot satisfy
 * every row (then stats.joint_unmet says how many).
 */
static int joint_pass(pt_align *a) {
  size_t n = 0;
  for (size_t i = 0; i < a->nedges; i++) {
    const edge *e = &a->edges[i];
    if (a->nodes[e->lo].mapped && a->nodes[e->hi].mapped &&
        (e->link == NO_LINK || a->links[e->link].feasible)) {
      n += e->nf + e->nb;
    }
  }
  a->stats.joint_rows = n;
  if (n == 0) {
    return PT_OK;
  }
  pt__joint_row *rows = malloc(n * sizeof *rows);
  double *scratch = malloc(a->nnodes * 3 * sizeof *scratch);
  unsigned char *fixed = malloc(a->nnodes);
  if (rows == NULL || scratch == NULL || fixed == NULL) {
    free(rows);
    free(scratch);
    free(fixed);
    return PT_ERR_NOMEM;
  }
  double *dc = scratch, *dk = scratch + a->nnodes, *w = dk + a->nnodes;
  for (unsigned v = 0; v < a->nnodes; v++) {
    const node *nd = &a->nodes[v];
    double x1, x2;
    local_span(nd, &x1, &x2);
    w[v] = fmax(1, fmax(fabs(x1), fabs(x2)));
    fixed[v] = v == a->reference || !nd->mapped;
  }
  size_t k = 0;
  for (size_t i = 0; i < a->nedges; i++) {
    const edge *e = &a->edges[i];
    if (!a->nodes[e->lo].mapped || !a->nodes[e->hi].mapped ||
        (e->link != NO_LINK && !a->links[e->link].feasible)) {
      continue;
    }
    const node *L = &a->nodes[e->lo], *H = &a->nodes[e->hi];
    for (size_t j = 0; j < e->nf + e->nb; j++) {
      double xl = a->hx[e->off + 2 * j], xh = a->hx[e->off + 2 * j + 1];
      double tl = L->c + L->k * xl, th = H->c + H->k * xh;
      rows[k++] = j < e->nf ? (pt__joint_row){e->lo, e->hi, xl, xh, th - tl}
                            : (pt__joint_row){e->hi, e->lo, xh, xl, tl - th};
    }
  }
  size_t rounds;
  size_t budget = JOINT_WORK / n;
  budget = budget < 1 ? 1 : budget > JOINT_ROUNDS ? JOINT_ROUNDS : budget;
  a->stats.joint_unmet =
      pt__joint_solve(rows, n, a->nnodes, fixed, w, budget, dc, dk, &rounds);
  a->stats.joint_rounds = rounds;
  /* A map must stay increasing (pt_align_time keeps each node's order):
   * a move that would break that is no solution either. */
  int increasing = 1;
  for (unsigned v = 0; v < a->nnodes; v++) {
    const node *nd = &a->nodes[v];
    double slope = nd->k + dk[v];
    increasing &= !nd->mapped ||
                  (slope > 0 && isfinite(slope) && isfinite(nd->c + dc[v]));
  }
  if (!increasing) {
    a->stats.joint_unmet = n;
  }
  for (unsigned v = 0; v < a->nnodes && increasing; v++) {
    a->nodes[v].c += dc[v];
    a->nodes[v].k += dk[v];
  }
  free(rows);
  free(scratch);
  free(fixed);
  return PT_OK;
}

/* Node v's bound at its local time dx: the path's error and the joint
 * pass's move, both convex in dx. */
static double bound_at(const pt_align *a, unsigned v, double dx) {
  return node_error(a, v, dx) + joint_shift(&a->nodes[v], dx);
}

typedef struct node_at {
  const pt_align *a;
  unsigned v;
} node_at;

static double node_bound_at(void *ctx, double dx) {
  const node_at *n = ctx;
  return bound_at(n->a, n->v, dx);
}

/* The least bound over the span [x1, x2] of v's local times, and where. */
static void best_bound(const pt_align *a, unsigned v, double x1, double x2,
                       pt_clock_estimate *e) {
  node_at n = {a, v};
  double x = pt__fit_argmin(node_bound_at, &n, x1, x2, 1e-3);
  /* Rounded, and kept in the span [first, last] (a span of a hostile file
   * can be wider than any signed 64-bit number). */
  const node *m = &a->nodes[v];
  double r = round(x);
  if (r >= 0) {
    uint64_t up = m->last - m->t0;
    e->best_at_us = m->t0 + (r >= (double)up ? up : (uint64_t)r);
  } else {
    uint64_t down = m->t0 - m->first;
    e->best_at_us = m->t0 - (-r >= (double)down ? down : (uint64_t)-r);
  }
  /* What pt_align_bound_at says there. */
  e->best_bound_us = bound_at(a, v, sdiff(e->best_at_us, m->t0));
}

static void estimate_node(pt_align *a, unsigned v) {
  node *n = &a->nodes[v];
  pt_clock_estimate *e = &n->est;
  memset(e, 0, sizeof *e);
  e->t0_us = n->t0;
  e->best_at_us = n->t0;
  e->via = v;
  e->pairs_reversed = n->reversed;
  if (v == a->reference) {
    e->status = PT_CLOCK_REFERENCE;
    return;
  }
  if (!n->mapped) {
    e->status =
        n->touches_inconsistent ? PT_CLOCK_INCONSISTENT : PT_CLOCK_UNALIGNED;
    e->bound_us = INFINITY;
    e->best_bound_us = INFINITY;
    e->min_rtt_us = NAN;
    return;
  }
  e->status = PT_CLOCK_ALIGNED;
  /* node - reference at t0: t0 - (ref.t0 + c). */
  e->offset_us = sdiff(n->t0, a->nodes[a->reference].t0) - n->c;
  e->drift_ppm = (1 - n->k) * 1e6;
  double x1, x2;
  local_span(n, &x1, &x2);
  e->joint_shift_us = fmax(joint_shift(n, x1), joint_shift(n, x2));
  e->bound_us = fmax(bound_at(a, v, x1), bound_at(a, v, x2));
  best_bound(a, v, x1, x2, e);
  const link *first = &a->links[n->link];
  e->via = first->lo == v ? first->hi : first->lo;
  for (unsigned w = v; a->nodes[w].link != NO_LINK;) {
    const link *l = &a->links[a->nodes[w].link];
    e->hops++;
    e->pairs += l->pairs;
    e->min_rtt_us += l->min_rtt;
    w = l->lo == w ? l->hi : l->lo;
  }
}

/* Aligned time as a double (ref.t0 + the result), for delays and spans. */
static double aligned_rel(const pt_align *a, unsigned v, uint64_t raw) {
  const node *n = &a->nodes[v];
  return n->c + n->k * sdiff(raw, n->t0);
}

/*
 * Keeps the unreceived packets the receiver's span covers: on aligned
 * clocks where both nodes are aligned, else on raw times.
 */
static void filter_unreceived(pt_align *a) {
  size_t kept = 0;
  for (size_t i = 0; i < a->nunrec; i++) {
    const rec *s = &a->recs[a->unrec[i].sent];
    unsigned r = s->peer;
    const node *rn = &a->nodes[r];
    int in;
    if (a->nodes[s->node].mapped && rn->mapped) {
      double t = aligned_rel(a, s->node, s->t);
      in =
          t >= aligned_rel(a, r, rn->first) && t <= aligned_rel(a, r, rn->last);
    } else {
      in = s->t >= rn->first && s->t <= rn->last;
    }
    if (in) {
      a->unrec[kept++] = a->unrec[i];
    }
  }
  a->nunrec = kept;
  a->stats.unreceived = kept;
}

typedef struct timed {
  uint64_t t; /* the send time, aligned */
  uint32_t node;
  pair p;
} timed;

static int by_timed(const void *pa, const void *pb) {
  const timed *p = pa, *q = pb;
  PT__CMP(p->t, q->t);
  PT__CMP(p->node, q->node);
  /* Records are sorted by (conn, space, pn): so are their indices. */
  PT__CMP(p->p.sent, q->p.sent);
  return 0;
}

/* Sorts p[0..n) by the send's aligned time, then sender, conn, space, pn. */
static int order_by_send(const pt_align *a, pair *p, size_t n) {
  if (n < 2) {
    return PT_OK;
  }
  timed *t = malloc(n * sizeof *t);
  if (t == NULL) {
    return PT_ERR_NOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    const rec *s = &a->recs[p[i].sent];
    t[i] = (timed){pt_align_time(a, s->node, s->t), s->node, p[i]};
  }
  qsort(t, n, sizeof *t, by_timed);
  for (size_t i = 0; i < n; i++) {
    p[i] = t[i].p;
  }
  free(t);
  return PT_OK;
}

int pt_align_solve(pt_align *a, unsigned reference) {
  if (a == NULL || reference >= a->nnodes) {
    return PT_ERR_INVALID;
  }
  if (a->solved) {
    return PT_ERR_STATE;
  }
  a->solved = 1;
  a->reference = reference;
  for (unsigned i = 0; i < a->nnodes; i++) {
    node *n = &a->nodes[i];
    n->t0 = n->has_span ? n->first + (n->last - n->first) / 2 : 0;
  }
  int rc = pair_packets(a);
  if (rc == PT_OK) {
    rc = build_links(a);
  }
  if (rc != PT_OK) {
    return rc;
  }
  solve_paths(a);
  rc = joint_pass(a);
  if (rc != PT_OK) {
    return rc;
  }
  /* Every pair checked as pt_align_time puts it, not just the rows. */
  for (size_t i = 0; i < a->npairs; i++) {
    const rec *s = &a->recs[a->pairs[i].sent];
    const rec *r = &a->recs[a->pairs[i].received];
    if (a->nodes[s->node].mapped && a->nodes[r->node].mapped &&
        pt_align_time(a, r->node, r->t) < pt_align_time(a, s->node, s->t)) {
      a->stats.pairs_reversed++;
      a->nodes[s->node].reversed++;
      a->nodes[r->node].reversed++;
    }
  }
  for (unsigned i = 0; i < a->nnodes; i++) {
    estimate_node(a, i);
  }
  filter_unreceived(a);
  rc = order_by_send(a, a->pairs, a->npairs);
  return rc == PT_OK ? order_by_send(a, a->unrec, a->nunrec) : rc;
}

int pt_align_stats_get(const pt_align *a, pt_align_stats *out) {
  if (a == NULL || out == NULL) {
    return PT_ERR_INVALID;
  }
  if (!a->solved) {
    return PT_ERR_STATE;
  }
  *out = a->stats;
  return PT_OK;
}

int pt_align_estimate(const pt_align *a, unsigned node_index,
                      pt_clock_estimate *out) {
  if (a == NULL || out == NULL || node_index >= a->nnodes) {
    return PT_ERR_INVALID;
  }
  if (!a->solved) {
    memset(out, 0, sizeof *out);
    out->status = PT_CLOCK_UNSOLVED;
    out->via = node_index;
    return PT_OK;
  }
  *out = a->nodes[node_index].est;
  return PT_OK;
}

uint64_t pt_align_time(const pt_align *a, unsigned node_index,
                       uint64_t raw_us) {
  if (a == NULL || !a->solved || node_index >= a->nnodes ||
      node_index == a->reference || !a->nodes[node_index].mapped) {
    return raw_us;
  }
  double rel = round(aligned_rel(a, node_index, raw_us));
  uint64_t base = a->nodes[a->reference].t0;
  /* Clamped to [0, UINT64_MAX], which keeps the map monotone. */
  if (rel <= -(double)base) {
    return 0;
  }
  if (rel >= 0x1p64 - (double)base) {
    return UINT64_MAX;
  }
  return rel >= 0 ? base + (uint64_t)rel : base - (uint64_t)-rel;
}

double pt_align_bound_at(const pt_align *a, unsigned node_index,
                         uint64_t raw_us) {
  if (a == NULL || !a->solved || node_index >= a->nnodes ||
      !a->nodes[node_index].mapped) {
    return INFINITY;
  }
  return bound_at(a, node_index, sdiff(raw_us, a->nodes[node_index].t0));
}

static void make_pair(const pt_align *a, uint32_t si, uint32_t ri,
                      pt_packet_pair *out) {
  const rec *s = &a->recs[si];
  memset(out, 0, sizeof *out);
  out->sender = s->node;
  out->receiver = s->peer;
  out->conn = s->conn;
  out->pn = s->pn;
  out->space = s->space;
  out->size = s->size;
  out->sent_us = s->t;
  out->lost = (s->flags & REC_LOST) != 0;
  out->delay_us = NAN;
  if (ri == NO_LINK) {
    return;
  }
  const rec *r = &a->recs[ri];
  out->received_us = r->t;
  if (a->nodes[s->node].mapped && a->nodes[r->node].mapped) {
    out->delay_us =
        aligned_rel(a, r->node, r->t) - aligned_rel(a, s->node, s->t);
  }
}

int pt_align_pairs(const pt_align *a, pt_packet_pair_fn fn, void *user) {
  if (a == NULL || fn == NULL) {
    return PT_ERR_INVALID;
  }
  if (!a->solved) {
    return PT_ERR_STATE;
  }
  for (size_t i = 0; i < a->npairs; i++) {
    pt_packet_pair p;
    make_pair(a, a->pairs[i].sent, a->pairs[i].received, &p);
    int rc = fn(&p, user);
    if (rc != 0) {
      return rc;
    }
  }
  return PT_OK;
}

int pt_align_unreceived(const pt_align *a, pt_packet_pair_fn fn, void *user) {
  if (a == NULL || fn == NULL) {
    return PT_ERR_INVALID;
  }
  if (!a->solved) {
    return PT_ERR_STATE;
  }
  for (size_t i = 0; i < a->nunrec; i++) {
    pt_packet_pair p;
    make_pair(a, a->unrec[i].sent, NO_LINK, &p);
    int rc = fn(&p, user);
    if (rc != 0) {
      return rc;
    }
  }
  return PT_OK;
}
