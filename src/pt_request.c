/*
 * pt_request: a request's hops and the packets that carried them (see
 * include/peertrace/pt_request.h).  The events are kept as compact records
 * in four arrays, sorted on the first query; a hop's packets are worked out
 * on each call from the sorted records, so no result is cached.
 */
#include <peertrace/pt_request.h>

#include <stdlib.h>
#include <string.h>

#include "pt_common.h"
#include "pt_grow.h"

/* The head of app and stream_data records, and their sort key. */
typedef struct pt__req_key {
  pt_trace_id trace;
  uint64_t t;
  uint32_t node, seq;
} pt__req_key;

typedef struct pt__req_app {
  pt__req_key k;
  uint8_t peer_id[32];
  uint16_t kind, cmd;
  uint8_t app_id[4];
  uint8_t has_peer, ok;
} pt__req_app;

typedef struct pt__req_data {
  pt__req_key k;
  uint64_t conn, stream_id, offset;
  uint32_t length;
} pt__req_data;

typedef struct pt__req_frame {
  uint64_t conn, stream_id, offset, pn;
  uint32_t node, length;
  uint8_t space;
} pt__req_frame;

/* kind: the packet's event kind (sent, received, lost). */
typedef struct pt__req_packet {
  uint64_t conn, pn, t;
  uint32_t node, size;
  uint8_t space, kind;
} pt__req_packet;

/*
 * QUIC stream offsets stay below 2^62 (RFC 9000, 4.5): bytes beyond are
 * not a stream's, and keeping them out keeps offset + length from
 * wrapping.
 */
#define PT__REQ_STREAM_MAX (1ull << 62)

/* 1 if bytes offset .. offset + length - 1 are within that (no wrap). */
static int pt__req_in_stream(uint64_t offset, uint32_t length) {
  return offset <= PT__REQ_STREAM_MAX && length <= PT__REQ_STREAM_MAX - offset;
}

/* The record sizes pt_request.h documents (64-bit targets). */
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(pt__req_app) == 80, "app record size in pt_request.h");
_Static_assert(sizeof(pt__req_data) == 64, "stream_data record size");
_Static_assert(sizeof(pt__req_frame) == 48, "stream_frame record size");
_Static_assert(sizeof(pt__req_packet) == 40, "packet record size");
#endif

#define PT__REQ_ARRAY(type, name)                                              \
  struct {                                                                     \
    type *v;                                                                   \
    size_t n, cap;                                                             \
  } name

struct pt_request {
  PT__REQ_ARRAY(uint8_t, nodes); /* 32 bytes per node */
  PT__REQ_ARRAY(pt__req_app, apps);
  PT__REQ_ARRAY(pt__req_data, datas);
  PT__REQ_ARRAY(pt__req_frame, frames);
  PT__REQ_ARRAY(pt__req_packet, packets);
  int sorted;
  uint32_t seq; /* add order, keeps equal times in order */
  pt_request_time_fn time_fn;
  void *time_user;
};

void *pt__grow(void **v, size_t *n, size_t *cap, size_t size, size_t count) {
  if (*n + count > *cap) {
    size_t c = *cap ? *cap : 64;
    while (c < *n + count) {
      c *= 2;
    }
    void *nv = realloc(*v, c * size);
    if (nv == NULL) {
      return NULL;
    }
    *v = nv;
    *cap = c;
  }
  void *slot = (uint8_t *)*v + *n * size;
  *n += count;
  return slot;
}

int pt__packet_list_add(const pt_request_packet *p, void *list) {
  pt__packet_list *l = list;
  pt_request_packet *slot =
      pt__grow((void **)&l->v, &l->n, &l->cap, sizeof *slot, 1);
  if (slot == NULL) {
    return PT_ERR_NOMEM;
  }
  *slot = *p;
  return 0;
}

#define PT__REQ_PUSH(arr)                                                      \
  pt__grow((void **)&(arr).v, &(arr).n, &(arr).cap, sizeof *(arr).v, 1)

int pt_request_new(pt_request **out) {
  if (out == NULL) {
    return PT_ERR_INVALID;
  }
  *out = calloc(1, sizeof **out);
  return *out == NULL ? PT_ERR_NOMEM : PT_OK;
}

void pt_request_free(pt_request *r) {
  if (r == NULL) {
    return;
  }
  free(r->nodes.v);
  free(r->apps.v);
  free(r->datas.v);
  free(r->frames.v);
  free(r->packets.v);
  free(r);
}

int pt_request_add_node(pt_request *r, const uint8_t node_id[32],
                        unsigned *index) {
  if (r == NULL || node_id == NULL || index == NULL) {
    return PT_ERR_INVALID;
  }
  size_t count = r->nodes.n / 32;
  for (size_t i = 0; i < count; i++) {
    if (memcmp(r->nodes.v + 32 * i, node_id, 32) == 0) {
      return PT_ERR_EXISTS;
    }
  }
  uint8_t *slot =
      pt__grow((void **)&r->nodes.v, &r->nodes.n, &r->nodes.cap, 1, 32);
  if (slot == NULL) {
    return PT_ERR_NOMEM;
  }
  memcpy(slot, node_id, 32);
  *index = (unsigned)count;
  return PT_OK;
}

static unsigned pt__req_node_count(const pt_request *r) {
  return (unsigned)(r->nodes.n / 32);
}

static int pt__req_add_app(pt_request *r, unsigned node, const pt_event *ev) {
  pt__req_app *a = PT__REQ_PUSH(r->apps);
  if (a == NULL) {
    return PT_ERR_NOMEM;
  }
  memset(a, 0, sizeof *a);
  a->k = (pt__req_key){ev->trace_id, ev->timestamp_us, node, r->seq++};
  a->kind = ev->kind;
  a->has_peer = (ev->flags & PT_EVENT_HAS_PEER) != 0;
  if (a->has_peer) {
    memcpy(a->peer_id, ev->peer_id, 32);
  }
  /* app_command, app_start and app_end share app_id and cmd. */
  memcpy(a->app_id, ev->data.app_command.app_id, 4);
  a->cmd = ev->data.app_command.cmd;
  a->ok = ev->kind == PT_EV_APP_END ? (uint8_t)(ev->data.app_end.ok != 0) : 0;
  return PT_OK;
}

int pt_request_add_event(pt_request *r, unsigned node, const pt_event *ev) {
  if (r == NULL || ev == NULL || node >= pt__req_node_count(r)) {
    return PT_ERR_INVALID;
  }
  uint64_t conn = pt_event_conn(ev);
  int traced = !pt_trace_id_is_zero(&ev->trace_id);
  switch (ev->kind) {
  case PT_EV_APP_COMMAND:
  case PT_EV_APP_START:
  case PT_EV_APP_END:
    if (!traced) {
      return PT_OK;
    }
    r->sorted = 0;
    return pt__req_add_app(r, node, ev);
  case PT_EV_STREAM_DATA: {
    const struct pt_stream_data_data *d = &ev->data.stream_data;
    if (!traced || !d->sent || conn == 0 ||
        !pt__req_in_stream(d->offset, d->length)) {
      return PT_OK;
    }
    pt__req_data *s = PT__REQ_PUSH(r->datas);
    if (s == NULL) {
      return PT_ERR_NOMEM;
    }
    s->k = (pt__req_key){ev->trace_id, ev->timestamp_us, node, r->seq++};
    s->conn = conn;
    s->stream_id = d->stream_id;
    s->offset = d->offset;
    s->length = d->length;
    break;
  }
  case PT_EV_STREAM_FRAME: {
    const struct pt_stream_frame_data *f = &ev->data.stream_frame;
    if (!f->sent || conn == 0 || !pt__req_in_stream(f->offset, f->length)) {
      return PT_OK;
    }
    pt__req_frame *s = PT__REQ_PUSH(r->frames);
    if (s == NULL) {
      return PT_ERR_NOMEM;
    }
    *s = (pt__req_frame){conn, f->stream_id, f->offset, f->pn,
                         node, f->length,    f->space};
    break;
  }
  case PT_EV_PACKET_SENT:
  case PT_EV_PACKET_RECEIVED:
  case PT_EV_PACKET_LOST: {
    if (conn == 0) {
      return PT_OK;
    }
    pt__req_packet *p = PT__REQ_PUSH(r->packets);
    if (p == NULL) {
      return PT_ERR_NOMEM;
    }
    /* packet_sent and packet_received share pn, size and space. */
    int lost = ev->kind == PT_EV_PACKET_LOST;
    *p = (pt__req_packet){
        conn,
        lost ? ev->data.packet_lost.pn : ev->data.packet_sent.pn,
        ev->timestamp_us,
        node,
        lost ? 0 : ev->data.packet_sent.size,
        lost ? ev->data.packet_lost.space : ev->data.packet_sent.space,
        (uint8_t)ev->kind};
    break;
  }
  default:
    return PT_OK;
  }
  r->sorted = 0;
  return PT_OK;
}

int pt_request_set_time(pt_request *r, pt_request_time_fn fn, void *user) {
  if (r == NULL) {
    return PT_ERR_INVALID;
  }
  r->time_fn = fn;
  r->time_user = user;
  return PT_OK;
}

static uint64_t pt__req_time(const pt_request *r, unsigned node,
                             uint64_t raw_us) {
  if (raw_us == 0 || r->time_fn == NULL) {
    return raw_us;
  }
  return r->time_fn(r->time_user, node, raw_us);
}

/* ---- sorting ------------------------------------------------------------ */

/* apps and datas (their key comes first): by trace, node, time, add order. */
static int pt__req_key_cmp(const void *x, const void *y) {
  const pt__req_key *a = x, *b = y;
  int c = memcmp(&a->trace, &b->trace, sizeof a->trace);
  if (c != 0) {
    return c;
  }
  PT__CMP(a->node, b->node);
  PT__CMP(a->t, b->t);
  PT__CMP(a->seq, b->seq);
  return 0;
}

/* frames: by connection, stream, node, offset (a stream's frames together). */
static int pt__req_frame_cmp(const void *x, const void *y) {
  const pt__req_frame *a = x, *b = y;
  PT__CMP(a->conn, b->conn);
  PT__CMP(a->stream_id, b->stream_id);
  PT__CMP(a->node, b->node);
  PT__CMP(a->offset, b->offset);
  PT__CMP(a->space, b->space);
  PT__CMP(a->pn, b->pn);
  return 0;
}

/* packets: by connection, space, number, kind, node, time. */
static int pt__req_packet_cmp(const void *x, const void *y) {
  const pt__req_packet *a = x, *b = y;
  PT__CMP(a->conn, b->conn);
  PT__CMP(a->space, b->space);
  PT__CMP(a->pn, b->pn);
  PT__CMP(a->kind, b->kind);
  PT__CMP(a->node, b->node);
  PT__CMP(a->t, b->t);
  return 0;
}

static void pt__req_sort(pt_request *r) {
  if (r->sorted) {
    return;
  }
  /* qsort must not get a NULL base, even for zero elements. */
  if (r->apps.n) {
    qsort(r->apps.v, r->apps.n, sizeof *r->apps.v, pt__req_key_cmp);
  }
  if (r->datas.n) {
    qsort(r->datas.v, r->datas.n, sizeof *r->datas.v, pt__req_key_cmp);
  }
  if (r->frames.n) {
    qsort(r->frames.v, r->frames.n, sizeof *r->frames.v, pt__req_frame_cmp);
  }
  if (r->packets.n) {
    qsort(r->packets.v, r->packets.n, sizeof *r->packets.v, pt__req_packet_cmp);
  }
  r->sorted = 1;
}

/* ---- lookups ------------------------------------------------------------ */

/* The node whose id is `id`, or PT_REQUEST_NO_NODE. */
static unsigned pt__req_node_of(const pt_request *r, const uint8_t *id) {
  unsigned count = pt__req_node_count(r);
  for (unsigned i = 0; i < count; i++) {
    if (memcmp(r->nodes.v + 32 * (size_t)i, id, 32) == 0) {
      return i;
    }
  }
  return PT_REQUEST_NO_NODE;
}

/* The first packet record >= (conn, space, pn, kind), by binary search. */
static size_t pt__req_packet_lower(const pt_request *r, uint64_t conn,
                                   uint8_t space, uint64_t pn, uint8_t kind) {
  pt__req_packet key = {conn, pn, 0, 0, 0, space, kind};
  size_t lo = 0, hi = r->packets.n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (pt__req_packet_cmp(&r->packets.v[mid], &key) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

/*
 * The packet event of kind `kind` for (conn, space, pn): on node `node`
 * (mine = 1) or on any other node (mine = 0); its first record or NULL.
 */
static const pt__req_packet *pt__req_packet_find(const pt_request *r,
                                                 uint64_t conn, uint8_t space,
                                                 uint64_t pn, uint8_t kind,
                                                 unsigned node, int mine) {
  for (size_t i = pt__req_packet_lower(r, conn, space, pn, kind);
       i < r->packets.n; i++) {
    const pt__req_packet *p = &r->packets.v[i];
    if (p->conn != conn || p->space != space || p->pn != pn ||
        p->kind != kind) {
      break;
    }
    if ((p->node == node) == mine) {
      return p;
    }
  }
  return NULL;
}

/* 1 if node recorded any packet of the connection. */
static int pt__req_conn_has_node(const pt_request *r, uint64_t conn,
                                 unsigned node) {
  for (size_t i = pt__req_packet_lower(r, conn, 0, 0, 0);
       i < r->packets.n && r->packets.v[i].conn == conn; i++) {
    if (r->packets.v[i].node == node) {
      return 1;
    }
  }
  return 0;
}

/* The other node of a connection seen from `node`, or PT_REQUEST_NO_NODE. */
static unsigned pt__req_conn_peer(const pt_request *r, uint64_t conn,
                                  unsigned node) {
  for (size_t i = pt__req_packet_lower(r, conn, 0, 0, 0);
       i < r->packets.n && r->packets.v[i].conn == conn; i++) {
    if (r->packets.v[i].node != node) {
      return r->packets.v[i].node;
    }
  }
  return PT_REQUEST_NO_NODE;
}

/* [*lo, *hi): the records of `trace` in a sorted array (apps or datas). */
#define PT__REQ_TRACE_RANGE(arr, trace, lo, hi)                                \
  do {                                                                         \
    size_t l_ = 0, h_ = (arr).n;                                               \
    while (l_ < h_) {                                                          \
      size_t m_ = l_ + (h_ - l_) / 2;                                          \
      if (memcmp(&(arr).v[m_].k.trace, (trace), sizeof *(trace)) < 0) {        \
        l_ = m_ + 1;                                                           \
      } else {                                                                 \
        h_ = m_;                                                               \
      }                                                                        \
    }                                                                          \
    *(lo) = l_;                                                                \
    while (h_ < (arr).n &&                                                     \
           memcmp(&(arr).v[h_].k.trace, (trace), sizeof *(trace)) == 0) {      \
      h_++;                                                                    \
    }                                                                          \
    *(hi) = h_;                                                                \
  } while (0)

/* ---- a hop's packets ---------------------------------------------------- */

typedef struct pt__req_pkt {
  pt_request_packet out;
  uint64_t raw_sent; /* sender's clock, for the send order */
  uint64_t lo, hi;   /* hop bytes carried, [lo, hi) */
  uint64_t recovered_at;
} pt__req_pkt;

static int pt__req_pkt_cmp(const void *x, const void *y) {
  const pt__req_pkt *a = x, *b = y;
  /* Unknown send times (0) go first, then by number, as sent. */
  PT__CMP(a->raw_sent, b->raw_sent);
  PT__CMP(a->out.space, b->out.space);
  PT__CMP(a->out.pn, b->out.pn);
  return 0;
}

/*
 * Disjoint byte spans [lo, hi), sorted, each tagged with the earliest
 * packet (index in send order) that carried it: which earlier packet a
 * packet repeats, in O(log n) per packet for a stream sent in order.
 */
typedef struct pt__req_span {
  uint64_t lo, hi;
  size_t tag;
} pt__req_span;

typedef struct pt__req_spans {
  pt__req_span *v;
  size_t n, cap;
} pt__req_spans;

#define PT__REQ_NONE ((size_t)-1)

/* The first span that ends after `lo`. */
static size_t pt__req_spans_first(const pt__req_spans *m, uint64_t lo) {
  size_t l = 0, h = m->n;
  while (l < h) {
    size_t mid = l + (h - l) / 2;
    if (m->v[mid].hi <= lo) {
      l = mid + 1;
    } else {
      h = mid;
    }
  }
  return l;
}

/* The smallest tag of the spans that meet [lo, hi), or PT__REQ_NONE. */
static size_t pt__req_spans_earliest(const pt__req_spans *m, uint64_t lo,
                                     uint64_t hi) {
  size_t best = PT__REQ_NONE;
  for (size_t i = pt__req_spans_first(m, lo); i < m->n && m->v[i].lo < hi;
       i++) {
    best = m->v[i].tag < best ? m->v[i].tag : best;
  }
  return best;
}

/* Tags the bytes of [lo, hi) no span holds yet with `tag`. */
static int pt__req_spans_add(pt__req_spans *m, uint64_t lo, uint64_t hi,
                             size_t tag) {
  size_t i = pt__req_spans_first(m, lo);
  uint64_t pos = lo;
  while (pos < hi) {
    if (i < m->n && m->v[i].lo <= pos) {
      pos = m->v[i].hi > pos ? m->v[i].hi : pos;
      i++;
      continue;
    }
    uint64_t gap_end = i < m->n && m->v[i].lo < hi ? m->v[i].lo : hi;
    if (pt__grow((void **)&m->v, &m->n, &m->cap, sizeof *m->v, 1) == NULL) {
      return PT_ERR_NOMEM;
    }
    memmove(&m->v[i + 1], &m->v[i], (m->n - 1 - i) * sizeof *m->v);
    m->v[i] = (pt__req_span){pos, gap_end, tag};
    i++;
    pos = gap_end;
  }
  return PT_OK;
}

/* A received packet by where its bytes start. */
typedef struct pt__req_at {
  uint64_t lo;
  size_t index;
} pt__req_at;

static int pt__req_at_cmp(const void *x, const void *y) {
  const pt__req_at *a = x, *b = y;
  PT__CMP(a->lo, b->lo);
  PT__CMP(a->index, b->index);
  return 0;
}

/*
 * When every byte of [lo, hi) had arrived, in any of the hop's packets
 * that carried it and was received (a byte counts at its first arrival,
 * which may come before a lost repeat of it was even sent): 1 and *at, or
 * 0 if some byte never arrived.  by_lo: the received packets by lo; none
 * is longer than maxlen, so only those from lo - maxlen on can meet the
 * range.
 */
static int pt__req_covered_at(const pt__req_pkt *pk, const pt__req_at *by_lo,
                              size_t count, uint64_t maxlen, uint64_t lo,
                              uint64_t hi, uint64_t *at) {
  uint64_t from = lo > maxlen ? lo - maxlen : 0;
  size_t first = 0, h = count;
  while (first < h) {
    size_t mid = first + (h - first) / 2;
    if (by_lo[mid].lo < from) {
      first = mid + 1;
    } else {
      h = mid;
    }
  }
  uint64_t worst = 0;
  uint64_t pos = lo;
  /* Walk the range in segments bounded by the packets' edges. */
  while (pos < hi) {
    uint64_t best = UINT64_MAX, seg_end = hi;
    for (size_t i = first; i < count && by_lo[i].lo < hi; i++) {
      const pt__req_pkt *p = &pk[by_lo[i].index];
      if (p->lo <= pos && p->hi > pos) {
        if (p->out.received_us < best) {
          best = p->out.received_us;
        }
        if (p->hi < seg_end) {
          seg_end = p->hi;
        }
      } else if (p->lo > pos && p->lo < seg_end) {
        seg_end = p->lo;
      }
    }
    if (best == UINT64_MAX) {
      return 0;
    }
    if (best > worst) {
      worst = best;
    }
    pos = seg_end;
  }
  *at = worst;
  return 1;
}

/* By (space, number), then offset: a packet's frames side by side. */
static int pt__req_pkt_pn_cmp(const void *x, const void *y) {
  const pt__req_pkt *a = x, *b = y;
  PT__CMP(a->out.space, b->out.space);
  PT__CMP(a->out.pn, b->out.pn);
  PT__CMP(a->lo, b->lo);
  return 0;
}

/*
 * The sender's frames of the hop's stream that meet its range, one entry
 * per packet (its frames' span, clipped to the range), in no particular
 * order; hop->uncovered set.
 */
static int pt__req_hop_frames(const pt_request *r, pt_request_hop *hop,
                              pt__req_pkt **out, size_t *count) {
  uint64_t lo = hop->offset, hi = hop->offset + hop->length;
  pt__req_frame key = {hop->conn, hop->stream_id, 0, 0, hop->sender, 0, 0};
  size_t i = 0, end = r->frames.n;
  while (i < end) { /* the first frame of (conn, stream, sender) */
    size_t mid = i + (end - i) / 2;
    if (pt__req_frame_cmp(&r->frames.v[mid], &key) < 0) {
      i = mid + 1;
    } else {
      end = mid;
    }
  }
  pt__req_pkt *pk = NULL;
  size_t n = 0, cap = 0;
  uint64_t covered_to = lo, covered = 0;
  for (; i < r->frames.n; i++) {
    const pt__req_frame *f = &r->frames.v[i];
    if (f->conn != hop->conn || f->stream_id != hop->stream_id ||
        f->node != hop->sender || f->offset >= hi) {
      break;
    }
    uint64_t flo = f->offset > lo ? f->offset : lo;
    uint64_t fhi = f->offset + f->length < hi ? f->offset + f->length : hi;
    if (fhi <= flo) {
      continue; /* before the range, or empty */
    }
    /* Frames come by offset: the covered bytes are a running union. */
    if (fhi > covered_to) {
      covered += fhi - (flo > covered_to ? flo : covered_to);
      covered_to = fhi;
    }
    pt__req_pkt *p = pt__grow((void **)&pk, &n, &cap, sizeof *pk, 1);
    if (p == NULL) {
      free(pk);
      return PT_ERR_NOMEM;
    }
    memset(p, 0, sizeof *p);
    p->out.pn = f->pn;
    p->out.space = f->space;
    p->lo = flo;
    p->hi = fhi;
  }
  hop->uncovered = hop->length - covered;
  /* One entry per packet: sort by number, join each packet's frames. */
  if (n > 1) {
    qsort(pk, n, sizeof *pk, pt__req_pkt_pn_cmp);
  }
  size_t kept = 0;
  for (size_t k = 0; k < n; k++) {
    pt__req_pkt *last = kept ? &pk[kept - 1] : NULL;
    if (last != NULL && last->out.pn == pk[k].out.pn &&
        last->out.space == pk[k].out.space) {
      last->hi = pk[k].hi > last->hi ? pk[k].hi : last->hi;
    } else {
      pk[kept++] = pk[k];
    }
  }
  *out = pk;
  *count = kept;
  return PT_OK;
}

/* Each packet's send, arrival and loss, from the packet events. */
static void pt__req_hop_times(const pt_request *r, const pt_request_hop *hop,
                              pt__req_pkt *pk, size_t n) {
  for (size_t k = 0; k < n; k++) {
    pt__req_pkt *p = &pk[k];
    const pt__req_packet *s =
        pt__req_packet_find(r, hop->conn, p->out.space, p->out.pn,
                            PT_EV_PACKET_SENT, hop->sender, 1);
    const pt__req_packet *v =
        pt__req_packet_find(r, hop->conn, p->out.space, p->out.pn,
                            PT_EV_PACKET_RECEIVED, hop->sender, 0);
    p->out.lost =
        pt__req_packet_find(r, hop->conn, p->out.space, p->out.pn,
                            PT_EV_PACKET_LOST, hop->sender, 1) != NULL;
    if (s != NULL) {
      p->raw_sent = s->t;
      p->out.size = s->size;
      p->out.sent_us = pt__req_time(r, hop->sender, s->t);
    }
    if (v != NULL) {
      p->out.received_us = pt__req_time(r, v->node, v->t);
    }
    p->out.offset = p->lo;
    p->out.length = p->hi - p->lo;
  }
}

/* Which earlier packet each one repeats (pk in send order). */
static int pt__req_hop_repeats(pt_request_hop *hop, pt__req_pkt *pk, size_t n) {
  pt__req_spans any = {NULL, 0, 0}, lost = {NULL, 0, 0};
  int rc = PT_OK;
  for (size_t k = 0; k < n && rc == PT_OK; k++) {
    pt__req_pkt *p = &pk[k];
    /* The earliest lost packet it repeats, else the earliest at all. */
    size_t q = pt__req_spans_earliest(&lost, p->lo, p->hi);
    if (q == PT__REQ_NONE) {
      q = pt__req_spans_earliest(&any, p->lo, p->hi);
    }
    if (q != PT__REQ_NONE) {
      uint64_t olo = pk[q].lo > p->lo ? pk[q].lo : p->lo;
      uint64_t ohi = pk[q].hi < p->hi ? pk[q].hi : p->hi;
      p->out.retransmits = 1;
      p->out.retransmits_lost = pk[q].out.lost;
      p->out.retransmits_pn = pk[q].out.pn;
      p->out.retransmits_offset = olo;
      p->out.retransmits_length = ohi - olo;
      *(p->out.retransmits_lost ? &hop->retransmissions : &hop->repeats) += 1;
    }
    rc = pt__req_spans_add(&any, p->lo, p->hi, k);
    if (rc == PT_OK && p->out.lost) {
      rc = pt__req_spans_add(&lost, p->lo, p->hi, k);
    }
  }
  free(any.v);
  free(lost.v);
  return rc;
}

/* Each lost packet's recovery, and the hop's. */
static int pt__req_hop_recovery(pt_request_hop *hop, pt__req_pkt *pk,
                                size_t n) {
  pt__req_at *by_lo = malloc((n + 1) * sizeof *by_lo);
  if (by_lo == NULL) {
    return PT_ERR_NOMEM;
  }
  size_t count = 0;
  uint64_t maxlen = 0;
  for (size_t k = 0; k < n; k++) {
    if (pk[k].out.received_us != 0) {
      by_lo[count++] = (pt__req_at){pk[k].lo, k};
      maxlen = pk[k].hi - pk[k].lo > maxlen ? pk[k].hi - pk[k].lo : maxlen;
    }
  }
  if (count > 1) {
    qsort(by_lo, count, sizeof *by_lo, pt__req_at_cmp);
  }
  uint64_t first_lost_sent = UINT64_MAX, last_recovered = 0;
  int all_recovered = 1;
  for (size_t k = 0; k < n; k++) {
    pt__req_pkt *p = &pk[k];
    if (!p->out.lost) {
      continue;
    }
    hop->lost++;
    if (p->out.sent_us < first_lost_sent) {
      first_lost_sent = p->out.sent_us;
    }
    uint64_t at;
    if (pt__req_covered_at(pk, by_lo, count, maxlen, p->lo, p->hi, &at)) {
      p->out.recovered = 1;
      p->out.recovery_us = at > p->out.sent_us ? at - p->out.sent_us : 0;
      last_recovered = at > last_recovered ? at : last_recovered;
    } else {
      all_recovered = 0;
    }
  }
  free(by_lo);
  if (hop->lost > 0 && all_recovered) {
    hop->recovered = 1;
    hop->recovery_us =
        last_recovered > first_lost_sent ? last_recovered - first_lost_sent : 0;
  }
  return PT_OK;
}

/*
 * The packets of a hop, sorted in send order, with loss, retransmission and
 * recovery worked out; *out (free it) and *count.  Fills hop's summary.
 */
static int pt__req_hop_packets(const pt_request *r, pt_request_hop *hop,
                               pt__req_pkt **out, size_t *count) {
  *out = NULL;
  *count = 0;
  hop->packets = hop->lost = hop->retransmissions = hop->repeats = 0;
  hop->uncovered = hop->length;
  hop->recovered = 0;
  hop->recovery_us = 0;
  if (!hop->has_stream || hop->sender == PT_REQUEST_NO_NODE) {
    return PT_OK;
  }
  pt__req_pkt *pk;
  size_t n;
  int rc = pt__req_hop_frames(r, hop, &pk, &n);
  if (rc != PT_OK) {
    return rc;
  }
  pt__req_hop_times(r, hop, pk, n);
  if (n > 1) {
    qsort(pk, n, sizeof *pk, pt__req_pkt_cmp);
  }
  rc = pt__req_hop_repeats(hop, pk, n);
  if (rc == PT_OK) {
    rc = pt__req_hop_recovery(hop, pk, n);
  }
  if (rc != PT_OK) {
    free(pk);
    return rc;
  }
  hop->packets = (unsigned)n;
  *out = pk;
  *count = n;
  return PT_OK;
}

/* ---- hops --------------------------------------------------------------- */

/*
 * The stream of a hop: the sender's stream_data of the trace [lo, hi) on a
 * connection to the receiver (else on one whose other end is not among
 * the nodes), nearest to raw time t; merged with the others of its stream.
 */
static void pt__req_hop_stream(const pt_request *r, size_t lo, size_t hi,
                               pt_request_hop *hop, uint64_t t) {
  const pt__req_data *best = NULL;
  uint64_t best_d = UINT64_MAX;
  for (int pass = 0; pass < 2 && best == NULL; pass++) {
    for (size_t i = lo; i < hi; i++) {
      const pt__req_data *d = &r->datas.v[i];
      if (d->k.node != hop->sender) {
        continue;
      }
      int ok = pass == 0 ? hop->receiver != PT_REQUEST_NO_NODE &&
                               pt__req_conn_has_node(r, d->conn, hop->receiver)
                         : pt__req_conn_peer(r, d->conn, hop->sender) ==
                               PT_REQUEST_NO_NODE;
      uint64_t dist = d->k.t > t ? d->k.t - t : t - d->k.t;
      if (ok && dist < best_d) {
        best = d;
        best_d = dist;
      }
    }
  }
  if (best == NULL) {
    return;
  }
  uint64_t a = best->offset, b = best->offset + best->length;
  for (size_t i = lo; i < hi; i++) {
    const pt__req_data *d = &r->datas.v[i];
    if (d->k.node == best->k.node && d->conn == best->conn &&
        d->stream_id == best->stream_id) {
      a = d->offset < a ? d->offset : a;
      b = d->offset + d->length > b ? d->offset + d->length : b;
    }
  }
  hop->has_stream = 1;
  hop->conn = best->conn;
  hop->stream_id = best->stream_id;
  hop->offset = a;
  hop->length = b - a;
}

typedef struct pt__req_hops {
  pt_request_hop *v;
  size_t n, cap;
  uint64_t *raw; /* raw sent time on the sender, per hop, for streams */
} pt__req_hops;

/*
 * The first record in [from, hi) of the trace's apps on `node` of `kind`,
 * not used yet (used == NULL: any), with peer `peer` (NULL: any); or hi.
 */
static size_t pt__req_app_next(const pt_request *r, size_t from, size_t hi,
                               unsigned node, uint16_t kind,
                               const uint8_t *peer, const uint8_t *used,
                               size_t base) {
  for (size_t i = from; i < hi; i++) {
    const pt__req_app *a = &r->apps.v[i];
    if (a->k.node == node && a->kind == kind &&
        (used == NULL || !used[i - base]) &&
        (peer == NULL || (a->has_peer && memcmp(a->peer_id, peer, 32) == 0))) {
      return i;
    }
  }
  return hi;
}

/* The first record of the trace's apps on `node` in [lo, hi). */
static size_t pt__req_node_first(const pt_request *r, size_t lo, size_t hi,
                                 unsigned node) {
  while (lo < hi && r->apps.v[lo].k.node != node) {
    lo++;
  }
  return lo;
}

static pt_request_hop *pt__req_hop_push(pt__req_hops *h,
                                        pt_request_hop_kind kind,
                                        unsigned sender, unsigned receiver,
                                        const pt__req_app *cmd) {
  pt_request_hop *hop =
      pt__grow((void **)&h->v, &h->n, &h->cap, sizeof *h->v, 1);
  if (hop == NULL) {
    return NULL;
  }
  memset(hop, 0, sizeof *hop);
  hop->index = (unsigned)(h->n - 1);
  hop->kind = kind;
  hop->sender = sender;
  hop->receiver = receiver;
  memcpy(hop->app_id, cmd->app_id, 4);
  hop->cmd = cmd->cmd;
  hop->ok = -1;
  return hop;
}

/* The request hop of app_command c and its reply. */
static int pt__req_hop_pair(const pt_request *r, size_t lo, size_t hi,
                            const pt__req_app *c, uint8_t *used_start,
                            uint8_t *used_end, pt__req_hops *h,
                            uint64_t *raw_req, uint64_t *raw_rep) {
  unsigned s = c->k.node;
  unsigned rcv =
      c->has_peer ? pt__req_node_of(r, c->peer_id) : PT_REQUEST_NO_NODE;
  const uint8_t *sid = r->nodes.v + 32 * (size_t)s;
  pt_request_hop *req = pt__req_hop_push(h, PT_HOP_REQUEST, s, rcv, c);
  if (req == NULL) {
    return PT_ERR_NOMEM;
  }
  req->sent_us = pt__req_time(r, s, c->k.t);
  *raw_req = c->k.t;
  *raw_rep = 0;
  size_t end = hi;
  if (rcv != PT_REQUEST_NO_NODE) {
    size_t st = pt__req_app_next(r, pt__req_node_first(r, lo, hi, rcv), hi, rcv,
                                 PT_EV_APP_START, sid, used_start, lo);
    if (st < hi) {
      used_start[st - lo] = 1;
      req->received_us = pt__req_time(r, rcv, r->apps.v[st].k.t);
      end = pt__req_app_next(r, st + 1, hi, rcv, PT_EV_APP_END, sid, used_end,
                             lo);
    }
  }
  /* The requester's next app_end after its command ends its wait. */
  size_t back = pt__req_app_next(r, (size_t)(c - r->apps.v) + 1, hi, s,
                                 PT_EV_APP_END, NULL, NULL, lo);
  if (end == hi && back == hi) {
    return PT_OK;
  }
  pt_request_hop *rep = pt__req_hop_push(h, PT_HOP_REPLY, rcv, s, c);
  if (rep == NULL) {
    return PT_ERR_NOMEM;
  }
  req = rep - 1; /* the push may have moved the array */
  if (end < hi) {
    used_end[end - lo] = 1;
    const pt__req_app *e = &r->apps.v[end];
    req->end_us = pt__req_time(r, rcv, e->k.t);
    req->ok = rep->ok = e->ok;
    rep->sent_us = req->end_us;
    *raw_rep = e->k.t;
  }
  if (back < hi) {
    rep->received_us = rep->end_us = pt__req_time(r, s, r->apps.v[back].k.t);
    if (rep->ok < 0) {
      rep->ok = r->apps.v[back].ok;
    }
  }
  return PT_OK;
}

static int pt__req_hop_cmp(const void *x, const void *y) {
  const pt_request_hop *a = x, *b = y;
  uint64_t ta = a->sent_us ? a->sent_us : a->received_us;
  uint64_t tb = b->sent_us ? b->sent_us : b->received_us;
  PT__CMP(ta, tb);
  PT__CMP(a->index, b->index);
  return 0;
}

/* All hops of the trace, sorted, summaries filled; *out to free. */
static int pt__req_build(pt_request *r, const pt_trace_id *trace,
                         pt__req_hops *out) {
  memset(out, 0, sizeof *out);
  pt__req_sort(r);
  size_t lo, hi, dlo, dhi;
  PT__REQ_TRACE_RANGE(r->apps, trace, &lo, &hi);
  PT__REQ_TRACE_RANGE(r->datas, trace, &dlo, &dhi);
  if (lo == hi && dlo == dhi) {
    return PT_ERR_NOT_FOUND;
  }
  uint8_t *used = hi > lo ? calloc(2 * (hi - lo), 1) : NULL;
  uint64_t *raw = hi > lo ? malloc(2 * (hi - lo) * sizeof *raw) : NULL;
  if (hi > lo && (used == NULL || raw == NULL)) {
    free(used);
    free(raw);
    return PT_ERR_NOMEM;
  }
  int rc = PT_OK;
  for (size_t i = lo; i < hi && rc == PT_OK; i++) {
    if (r->apps.v[i].kind == PT_EV_APP_COMMAND) {
      size_t first = out->n;
      rc = pt__req_hop_pair(r, lo, hi, &r->apps.v[i], used, used + (hi - lo),
                            out, &raw[first], &raw[first + 1]);
    }
  }
  for (size_t k = 0; k < out->n && rc == PT_OK; k++) {
    pt_request_hop *hop = &out->v[k];
    if (hop->sender != PT_REQUEST_NO_NODE) {
      pt__req_hop_stream(r, dlo, dhi, hop, raw[k]);
    }
    pt__req_pkt *pk;
    size_t n;
    rc = pt__req_hop_packets(r, hop, &pk, &n);
    /* The hop left with its first packet if the app logged it later. */
    for (size_t i = 0; rc == PT_OK && i < n; i++) {
      uint64_t t = pk[i].out.sent_us;
      if (t != 0) {
        hop->sent_us = hop->sent_us == 0 || t < hop->sent_us ? t : hop->sent_us;
        break; /* in send order: the first known is the earliest */
      }
    }
    free(pk);
  }
  free(used);
  free(raw);
  if (rc != PT_OK) {
    free(out->v);
    out->v = NULL;
    return rc;
  }
  if (out->n > 1) {
    qsort(out->v, out->n, sizeof *out->v, pt__req_hop_cmp);
  }
  for (size_t k = 0; k < out->n; k++) {
    out->v[k].index = (unsigned)k;
  }
  return PT_OK;
}

int pt_request_hops(pt_request *r, const pt_trace_id *trace,
                    pt_request_hop_fn fn, void *user) {
  if (r == NULL || trace == NULL || fn == NULL) {
    return PT_ERR_INVALID;
  }
  pt__req_hops h;
  int rc = pt__req_build(r, trace, &h);
  for (size_t k = 0; k < h.n && rc == PT_OK; k++) {
    rc = fn(&h.v[k], user);
  }
  free(h.v);
  return rc;
}

int pt_request_packets(pt_request *r, const pt_request_hop *hop,
                       pt_request_packet_fn fn, void *user) {
  if (r == NULL || hop == NULL || fn == NULL) {
    return PT_ERR_INVALID;
  }
  pt__req_sort(r);
  pt_request_hop copy = *hop;
  pt__req_pkt *pk;
  size_t n;
  int rc = pt__req_hop_packets(r, &copy, &pk, &n);
  for (size_t k = 0; k < n && rc == PT_OK; k++) {
    rc = fn(&pk[k].out, user);
  }
  free(pk);
  return rc;
}
