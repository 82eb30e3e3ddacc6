/*
 * pt_export_svg: a sequence diagram of one trace as a standalone SVG file.
 *
 * One vertical lane per node, one row per event (time runs down, the time
 * relative to the trace's first event on the left).  A packet sent on one
 * node and received on another (same packet number and space) is an arrow
 * (so is an app request: app_command to the peer's app_start, and its reply:
 * the peer's app_end to the requester's app_end)
 * between the lanes, stopping just short of the receiving event's mark; a
 * lost packet is a red dashed line from its send to the row of its
 * packet_lost, ending half-way across (past that row's label) in a cross;
 * app requests are boxes on their lane.
 *
 * A request's packets: when the events given include those of the
 * connections that carried the request (its stream_data name them; the
 * CLI adds them), every hop's packets (pt_request.h) get rows of their
 * own, at their send time: an arrow from the sender's lane to where the
 * receiver's lane stands at the packet's arrival time; a lost packet is a
 * red dashed arrow stopping half-way with a cross and its recovery time; a
 * retransmission of a lost packet's bytes is orange, a repeat of bytes not
 * declared lost grey.  Four or more plain packets in a row are one arrow.
 * Those connections' own events are not rows (they belong to other
 * traces): the trace drawn is that of the first app event given, or of
 * the first event if there is none.
 *
 * The picture needs the whole trace, so events are buffered (at most
 * PT__SVG_MAX_EVENTS rows; the footer says how many were left out).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pt_export.h"
#include "pt_grow.h"

#include <peertrace/pt_request.h>

#define PT__SVG_MAX_EVENTS 4096u
#define PT__SVG_LANE_X0 230
#define PT__SVG_LANE_DX 260
#define PT__SVG_ROW_Y0 90
#define PT__SVG_ROW_DY 24
#define PT__SVG_RUN 4 /* plain packets in a row drawn as one arrow */
/*
 * Layout (tests/cli/svg_geometry.py checks it on every SVG the tests draw:
 * no label within 2 px of an arrowhead or a cross).  Arrowheads are
 * PT__SVG_HEAD px long and wide whatever the line's width.  A packet's
 * head ends on a lane, so it reaches at most sqrt(9^2 + 4.5^2) = 10.1 px
 * from it; a packet label starts PT__SVG_LABEL_PAD px from its lane and
 * stays clear of the next lane by PT__SVG_LABEL_GAP.  An arrow into an
 * event (a message, a packet_received) stops PT__SVG_MARK_GAP px short of
 * the event's mark, so its head is not hidden under it; from the right,
 * such a head reaches at most 7.5 + sqrt((9 + 1.5)^2 + 4.5^2) = 18.9 px
 * from the lane (box half-width and stroke, then the head at the angle
 * that reaches farthest), and event labels start PT__SVG_EVENT_PAD px
 * from their lane.
 */
#define PT__SVG_HEAD 9
#define PT__SVG_LABEL_PAD 13
#define PT__SVG_LABEL_GAP 20
#define PT__SVG_EVENT_PAD 22
#define PT__SVG_MARK_GAP 1.5
#define PT__SVG_BOX_HALF 7 /* an app event's box: 14 x 14 */
#define PT__SVG_DOT_R 4    /* any other event's dot */
#define PT__SVG_CROSS 6    /* a lost packet's cross: 6 x 6 */
/* A lost packet of a hop stops half-way, PT__SVG_LOST_DY px below its row:
 * with the cross and its stroke, y + 0 .. y + 8, between the row's label
 * (baseline y - 5, 11 px: down to y - 2.4) and the next row's (from y + 10.6
 * for a packet row, y + 18.9 for an event row). */
#define PT__SVG_LOST_DY 4
#define PT__SVG_PACKET_FONT 11
/* Width of a character of the 11 px monospace packet labels, rounded up:
 * DejaVu Sans Mono's advance is 0.602 em. */
#define PT__SVG_CHAR_W 7
#define PT__SVG_EVENT_FONT 12
/* Width of n characters of a 12 px event label, rounded up. */
#define PT__SVG_EVENT_W(n)                                                     \
  ((int)(((n)*602u * PT__SVG_EVENT_FONT + 999u) / 1000u))

typedef struct pt__svg_item {
  pt_event event;
  unsigned node;
  int matched; /* received: index of its sent event + 1 */
} pt__svg_item;

/* A packet row: one packet of a hop, or a run of plain ones. */
typedef struct pt__svg_packet {
  pt_request_packet p;
  unsigned from, to;    /* lanes; to may be PT_REQUEST_NO_NODE */
  uint64_t last_pn;     /* run: the last packet's number */
  uint64_t received_us; /* run: the last arrival */
  uint64_t bytes;       /* run: their sizes */
  size_t run;           /* packets in the row (1, or a run) */
} pt__svg_packet;

typedef struct pt__svg_state {
  pt__svg_item *items;
  size_t count;
  uint64_t left_out;
  pt_request *req; /* every event given, for the hops' packets */
  pt_trace_id trace;
  int has_app;          /* trace is the first app event's */
  uint64_t left_before; /* left out (full) before the trace was known */
  pt__svg_packet *packets;
  size_t packet_count, packet_cap;
} pt__svg_state;

static int pt__svg_begin(pt_exporter *ex, const pt_event *first) {
  (void)first;
  pt__svg_state *st = calloc(1, sizeof *st);
  if (st == NULL) {
    return PT_ERR_NOMEM;
  }
  ex->state = st;
  int rc = pt_request_new(&st->req);
  for (unsigned i = 0; rc == PT_OK && i < ex->node_count; i++) {
    unsigned index;
    rc = pt_request_add_node(st->req, ex->nodes[i].id, &index);
  }
  /* Two nodes with one id: their hops cannot be told apart; no packets. */
  if (rc == PT_ERR_EXISTS) {
    pt_request_free(st->req);
    st->req = NULL;
    rc = PT_OK;
  }
  return rc;
}

static int pt__svg_is_app(const pt_event *ev) {
  return ev->kind == PT_EV_APP_COMMAND || ev->kind == PT_EV_APP_START ||
         ev->kind == PT_EV_APP_END;
}

static int pt__svg_event(pt_exporter *ex, unsigned node, const pt_event *ev) {
  pt__svg_state *st = ex->state;
  if (st->req != NULL) {
    int rc = pt_request_add_event(st->req, node, ev);
    if (rc != PT_OK) {
      return rc;
    }
  }
  if (!st->has_app && pt__svg_is_app(ev)) {
    /* The request's trace: rows of other traces (its connections' events,
     * given for their packets) go. */
    st->has_app = 1;
    st->trace = ev->trace_id;
    size_t kept = 0;
    for (size_t k = 0; k < st->count; k++) {
      if (memcmp(&st->items[k].event.trace_id, &st->trace, sizeof st->trace) ==
          0) {
        st->items[kept++] = st->items[k];
      }
    }
    st->count = kept;
    st->left_before = st->left_out;
    st->left_out = 0;
  }
  if (st->has_app && memcmp(&ev->trace_id, &st->trace, sizeof st->trace) != 0) {
    return PT_OK;
  }
  if (st->count == PT__SVG_MAX_EVENTS) {
    st->left_out++;
    return PT_OK;
  }
  if (st->items == NULL) {
    st->items = malloc(PT__SVG_MAX_EVENTS * sizeof *st->items);
    if (st->items == NULL) {
      return PT_ERR_NOMEM;
    }
  }
  pt__svg_item *it = &st->items[st->count++];
  it->event = *ev;
  it->node = node;
  it->matched = 0;
  return PT_OK;
}

static int pt__svg_x(unsigned node) {
  return PT__SVG_LANE_X0 + (int)node * PT__SVG_LANE_DX;
}

static int pt__svg_y(size_t row) {
  return PT__SVG_ROW_Y0 + (int)row * PT__SVG_ROW_DY;
}

/* The sent event a received (or lost) packet belongs to, or -1. */
static long pt__svg_find_sent(const pt__svg_state *st, size_t k, int other,
                              const int *used) {
  const pt__svg_item *it = &st->items[k];
  uint64_t pn = it->event.kind == PT_EV_PACKET_LOST
                    ? it->event.data.packet_lost.pn
                    : it->event.data.packet_received.pn;
  unsigned space = it->event.kind == PT_EV_PACKET_LOST
                       ? it->event.data.packet_lost.space
                       : it->event.data.packet_received.space;
  for (size_t j = k; j-- > 0;) {
    const pt__svg_item *s = &st->items[j];
    if (s->event.kind == PT_EV_PACKET_SENT && !used[j] &&
        s->event.data.packet_sent.pn == pn &&
        s->event.data.packet_sent.space == space &&
        (other ? s->node != it->node : s->node == it->node)) {
      return (long)j;
    }
  }
  return -1;
}

/* The lane of the node whose id is the event's peer id, or -1. */
static long pt__svg_peer_lane(const pt_exporter *ex, const pt_event *ev) {
  if (!(ev->flags & PT_EVENT_HAS_PEER)) {
    return -1;
  }
  for (unsigned n = 0; n < ex->node_count; n++) {
    if (memcmp(ex->nodes[n].id, ev->peer_id, sizeof ev->peer_id) == 0) {
      return (long)n;
    }
  }
  return -1;
}

/*
 * The message an app event receives, as the row it was sent from, or -1:
 * for an app_start from peer P, P's latest earlier app_command to this node
 * (the request); for an app_end on a node that sent a request to Q, Q's
 * latest earlier app_end answering this node (the reply).
 */
static long pt__svg_find_message(const pt_exporter *ex, const pt__svg_state *st,
                                 size_t k, const int *used) {
  const pt__svg_item *it = &st->items[k];
  for (size_t j = k; j-- > 0;) {
    const pt__svg_item *s = &st->items[j];
    if (used[j] || s->node == it->node ||
        pt__svg_peer_lane(ex, &s->event) != (long)it->node) {
      continue;
    }
    if (it->event.kind == PT_EV_APP_START &&
        s->event.kind == PT_EV_APP_COMMAND &&
        (long)s->node == pt__svg_peer_lane(ex, &it->event)) {
      return (long)j;
    }
    if (it->event.kind == PT_EV_APP_END && s->event.kind == PT_EV_APP_END) {
      return (long)j;
    }
  }
  return -1;
}

/* Short description of an event for its row. */
static void pt__svg_label(const pt_exporter *ex, const pt_event *ev, char *out,
                          size_t size) {
  char title[128];
  pt__export_event_title(ex, ev, title, sizeof title);
  switch (ev->kind) {
  case PT_EV_PACKET_SENT:
  case PT_EV_PACKET_RECEIVED:
    snprintf(out, size, "%s pn=%llu %uB",
             ev->kind == PT_EV_PACKET_SENT ? "sent" : "recv",
             (unsigned long long)ev->data.packet_sent.pn,
             ev->data.packet_sent.size);
    break;
  case PT_EV_PACKET_LOST:
    snprintf(out, size, "LOST pn=%llu",
             (unsigned long long)ev->data.packet_lost.pn);
    break;
  case PT_EV_APP_END:
    snprintf(out, size, "%s %s (%llu us)", title,
             ev->data.app_end.ok ? "ok" : "FAILED",
             (unsigned long long)ev->data.app_end.duration_us);
    break;
  case PT_EV_APP_START:
    snprintf(out, size, "%s start", title);
    break;
  case PT_EV_STREAM_DATA:
    snprintf(out, size, "stream %llu %s bytes %llu..%llu",
             (unsigned long long)ev->data.stream_data.stream_id,
             ev->data.stream_data.sent ? "sent" : "recv",
             (unsigned long long)ev->data.stream_data.offset,
             (unsigned long long)(ev->data.stream_data.offset +
                                  ev->data.stream_data.length - 1));
    break;
  default:
    snprintf(out, size, "%s", title);
    break;
  }
}

/* ---- the hops' packets ---------------------------------------------- */

static int pt__svg_packet_push(pt__svg_state *st, const pt_request_hop *h,
                               const pt_request_packet *p, size_t run,
                               const pt_request_packet *last, uint64_t bytes) {
  if (p->sent_us == 0) {
    return PT_OK; /* no send time: no row to put it in */
  }
  pt__svg_packet *row = pt__grow((void **)&st->packets, &st->packet_count,
                                 &st->packet_cap, sizeof *st->packets, 1);
  if (row == NULL) {
    return PT_ERR_NOMEM;
  }
  row->p = *p;
  row->from = h->sender;
  row->to = h->receiver;
  row->run = run;
  row->last_pn = last->pn;
  row->received_us = last->received_us;
  row->bytes = bytes;
  return PT_OK;
}

/* The rows of one hop's packets, runs of plain ones joined. */
static int pt__svg_hop(const pt_request_hop *h, void *user) {
  pt__svg_state *st = user;
  if (h->sender == PT_REQUEST_NO_NODE) {
    return 0;
  }
  pt__packet_list l = {NULL, 0, 0};
  int rc = pt_request_packets(st->req, h, pt__packet_list_add, &l);
  for (size_t i = 0; rc == PT_OK && i < l.n;) {
    size_t run = 0;
    uint64_t bytes = 0;
    while (i + run < l.n && pt__packet_plain(&l.v[i + run])) {
      bytes += l.v[i + run].size;
      run++;
    }
    if (run < PT__SVG_RUN) {
      run = 1;
      bytes = l.v[i].size;
    }
    rc = pt__svg_packet_push(st, h, &l.v[i], run, &l.v[i + run - 1], bytes);
    i += run;
  }
  free(l.v);
  return rc;
}

static int pt__svg_packet_cmp(const void *x, const void *y) {
  const pt__svg_packet *a = x, *b = y;
  PT__CMP(a->p.sent_us, b->p.sent_us);
  PT__CMP(a->from, b->from);
  PT__CMP(a->p.pn, b->p.pn);
  return 0;
}

/* The packet rows of the trace's hops, by send time. */
static int pt__svg_packets(pt__svg_state *st) {
  if (st->req == NULL || !st->has_app) {
    return PT_OK;
  }
  int rc = pt_request_hops(st->req, &st->trace, pt__svg_hop, st);
  if (rc == PT_ERR_NOT_FOUND) {
    rc = PT_OK;
  }
  if (rc == PT_OK && st->packet_count > 1) {
    qsort(st->packets, st->packet_count, sizeof *st->packets,
          pt__svg_packet_cmp);
  }
  return rc;
}

/* ---- rows and drawing ------------------------------------------------- */

/*
 * Rows: the events and the packet rows merged by time (an event first on
 * a tie).  row_time[r] is a row's time; event_row[k] and packet_row[j]
 * say where each went.
 */
typedef struct pt__svg_rows {
  uint64_t *row_time;
  size_t *event_row, *packet_row;
  size_t count;
} pt__svg_rows;

static int pt__svg_rows_make(const pt__svg_state *st, pt__svg_rows *r) {
  size_t n = st->count + st->packet_count;
  r->count = n;
  r->row_time = malloc((n + 1) * sizeof *r->row_time);
  r->event_row = malloc((st->count + 1) * sizeof *r->event_row);
  r->packet_row = malloc((st->packet_count + 1) * sizeof *r->packet_row);
  if (r->row_time == NULL || r->event_row == NULL || r->packet_row == NULL) {
    return PT_ERR_NOMEM;
  }
  size_t i = 0, j = 0;
  for (size_t row = 0; row < n; row++) {
    int event = j == st->packet_count ||
                (i < st->count &&
                 st->items[i].event.timestamp_us <= st->packets[j].p.sent_us);
    if (event) {
      r->row_time[row] = st->items[i].event.timestamp_us;
      r->event_row[i++] = row;
    } else {
      r->row_time[row] = st->packets[j].p.sent_us;
      r->packet_row[j++] = row;
    }
  }
  return PT_OK;
}

static void pt__svg_rows_free(pt__svg_rows *r) {
  free(r->row_time);
  free(r->event_row);
  free(r->packet_row);
}

/*
 * Where time t falls on the rows: between the last row at or before it
 * and the next, in proportion; clamped to the first and last rows.
 */
static int pt__svg_y_at(const pt__svg_rows *r, uint64_t t) {
  size_t lo = 0, hi = r->count;
  while (lo < hi) { /* first row after t */
    size_t mid = lo + (hi - lo) / 2;
    if (r->row_time[mid] <= t) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) {
    return pt__svg_y(0);
  }
  size_t row = lo - 1;
  if (lo == r->count || r->row_time[lo] == r->row_time[row]) {
    return pt__svg_y(row);
  }
  double f = (double)(t - r->row_time[row]) /
             (double)(r->row_time[lo] - r->row_time[row]);
  return pt__svg_y(row) + (int)(f * PT__SVG_ROW_DY);
}

/* Signed milliseconds from a to b: "0.663" or "-0.120". */
static void pt__svg_ms(char *out, size_t size, uint64_t a, uint64_t b) {
  double ms = b >= a ? (double)(b - a) / 1000.0 : -(double)(a - b) / 1000.0;
  snprintf(out, size, "%.3f", ms);
}

/* The label of a packet row, cut to fit between two lanes. */
static void pt__svg_packet_label(const pt__svg_packet *row, char *out,
                                 size_t size) {
  const pt_request_packet *p = &row->p;
  char ms[32];
  if (row->run > 1) {
    snprintf(out, size, "pn %llu..%llu: %zu pkts %lluB",
             (unsigned long long)p->pn, (unsigned long long)row->last_pn,
             row->run, (unsigned long long)row->bytes);
  } else if (p->lost) {
    pt__svg_ms(ms, sizeof ms, 0, p->recovery_us);
    if (p->recovered) {
      snprintf(out, size, "pn %llu LOST, recovered %s ms",
               (unsigned long long)p->pn, ms);
    } else {
      snprintf(out, size, "pn %llu LOST, not recovered",
               (unsigned long long)p->pn);
    }
  } else if (p->retransmits) {
    snprintf(out, size, "pn %llu %s %llu: %llu..%llu",
             (unsigned long long)p->pn,
             p->retransmits_lost ? "resends" : "repeats",
             (unsigned long long)p->retransmits_pn,
             (unsigned long long)p->retransmits_offset,
             (unsigned long long)(p->retransmits_offset +
                                  p->retransmits_length - 1));
  } else if (p->received_us == 0) {
    snprintf(out, size, "pn %llu %uB not received", (unsigned long long)p->pn,
             p->size);
  } else {
    pt__svg_ms(ms, sizeof ms, p->sent_us, p->received_us);
    snprintf(out, size, "pn %llu %uB %s ms", (unsigned long long)p->pn, p->size,
             ms);
  }
  size_t max = (PT__SVG_LANE_DX - PT__SVG_LABEL_PAD - PT__SVG_LABEL_GAP) /
               PT__SVG_CHAR_W;
  if (strlen(out) > max && max < size) {
    out[max - 2] = '.';
    out[max - 1] = '.';
    out[max] = '\0';
  }
}

/* A lost packet's cross, centred on (x, y). */
static void pt__svg_cross(FILE *fp, int x, int y, const char *colour) {
  int c = PT__SVG_CROSS;
  fprintf(fp,
          "<path d=\"M %d %d l %d %d m 0 -%d l -%d %d\" stroke=\"%s\" "
          "stroke-width=\"2\"/>\n",
          x - c / 2, y - c / 2, c, c, c, c, c, colour);
}

/* One packet row: its arrow (or half-way stub) and its label. */
static void pt__svg_packet_draw(const pt_exporter *ex, FILE *fp,
                                const pt__svg_packet *row,
                                const pt__svg_rows *rows, int y) {
  const pt_request_packet *p = &row->p;
  int x0 = pt__svg_x(row->from);
  int known = row->to != PT_REQUEST_NO_NODE && row->to < ex->node_count;
  int dir = known ? (row->to > row->from ? 1 : -1)
                  : (row->from + 1 < ex->node_count || row->from == 0 ? 1 : -1);
  int x1 = known ? pt__svg_x(row->to) : x0 + dir * PT__SVG_LANE_DX / 2;
  const char *colour = p->lost                                 ? "#c0392b"
                       : p->retransmits && p->retransmits_lost ? "#d35400"
                       : p->retransmits                        ? "#888888"
                                                               : "#6c8ebf";
  const char *marker = p->lost                                 ? "arrow-lost"
                       : p->retransmits && p->retransmits_lost ? "arrow-retx"
                       : p->retransmits                        ? "arrow-rep"
                                                               : "arrow-pkt";
  uint64_t arrived = row->run > 1 ? row->received_us : p->received_us;
  if (arrived != 0 && known) {
    fprintf(fp,
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
            "stroke-width=\"1.2\"%s marker-end=\"url(#%s)\"/>\n",
            x0, y, x1, pt__svg_y_at(rows, arrived), colour,
            p->lost ? " stroke-dasharray=\"5 3\"" : "", marker);
  } else {
    /* Never arrived (or nowhere to arrive): half-way, with a cross, just
     * below the row (PT__SVG_LOST_DY), clear of every label. */
    int xm = x0 + (x1 - x0) / 2;
    int ym = y + PT__SVG_LOST_DY;
    fprintf(fp,
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
            "stroke-width=\"1.2\" stroke-dasharray=\"5 3\"/>\n",
            x0, y, xm, ym, colour);
    pt__svg_cross(fp, xm, ym, colour);
  }
  char label[96];
  pt__svg_packet_label(row, label, sizeof label);
  fprintf(fp,
          "<text x=\"%d\" y=\"%d\" font-size=\"%d\" fill=\"%s\" "
          "text-anchor=\"%s\">",
          x0 + dir * PT__SVG_LABEL_PAD, y - 5, PT__SVG_PACKET_FONT, colour,
          dir > 0 ? "start" : "end");
  pt__export_xml_text(fp, label);
  fputs("</text>\n", fp);
}

static void pt__svg_header(const pt_exporter *ex, FILE *fp, int width,
                           int height, const char *trace_hex) {
  fprintf(fp,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
          "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"monospace\" "
          "font-size=\"12\">\n"
          /* A white halo keeps labels readable where arrows cross them. */
          "<style>text{paint-order:stroke;stroke:white;stroke-width:3px;"
          "stroke-linejoin:round}</style>\n"
          "<title>peertrace: trace %s</title>\n<defs>\n",
          width, height, width, height, trace_hex);
  static const char *const markers[][2] = {{"arrow", "#1f4e9c"},
                                           {"arrow-pkt", "#6c8ebf"},
                                           {"arrow-retx", "#d35400"},
                                           {"arrow-rep", "#888888"},
                                           {"arrow-lost", "#c0392b"}};
  for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
    fprintf(fp,
            "<marker id=\"%s\" viewBox=\"0 0 10 10\" refX=\"10\" "
            "refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"%d\" "
            "markerHeight=\"%d\" "
            "orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 "
            "z\" fill=\"%s\"/></marker>\n",
            markers[i][0], PT__SVG_HEAD, PT__SVG_HEAD, markers[i][1]);
  }
  fprintf(fp,
          "</defs>\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
          "<text x=\"10\" y=\"20\" font-weight=\"bold\">trace %.8s</text>\n"
          "<text x=\"10\" y=\"60\" fill=\"#555\">time</text>\n",
          trace_hex);
  for (unsigned i = 0; i < ex->node_count; i++) {
    int x = pt__svg_x(i);
    char clock[96];
    pt__export_clock_text(ex, i, 1, clock, sizeof clock);
    fprintf(fp,
            "<text x=\"%d\" y=\"44\" text-anchor=\"middle\" fill=\"#555\" "
            "font-size=\"10\">",
            x);
    pt__export_xml_text(fp, clock);
    fprintf(fp,
            "</text>\n<text x=\"%d\" y=\"60\" text-anchor=\"middle\" "
            "font-weight=\"bold\">node %s</text>\n"
            "<line x1=\"%d\" y1=\"70\" x2=\"%d\" y2=\"%d\" stroke=\"#999\" "
            "stroke-dasharray=\"4 3\"/>\n",
            x, ex->nodes[i].short_hex, x, x, height - 40);
  }
}

/* The time of a row, on the left. */
static void pt__svg_time(FILE *fp, int y, uint64_t t, uint64_t t0) {
  uint64_t rel = t >= t0 ? t - t0 : 0;
  fprintf(fp, "<text x=\"10\" y=\"%d\" fill=\"#555\">+%llu.%03llu ms</text>\n",
          y + 4, (unsigned long long)(rel / 1000u),
          (unsigned long long)(rel % 1000u));
}

/*
 * The arrow from row j's event (none if j < 0) to the mark of the event at
 * (x, y) (a box if `box`, else a dot), in `colour`: it stops
 * PT__SVG_MARK_GAP px short of the mark, whose outline it would otherwise
 * hide its head under.  Row j is marked used: it answers no other row.
 */
static void pt__svg_arrow(FILE *fp, const pt__svg_state *st,
                          const pt__svg_rows *rows, int *used, long j, int x,
                          int y, int box, const char *colour) {
  if (j < 0) {
    return;
  }
  used[j] = 1;
  int x0 = pt__svg_x(st->items[j].node), y0 = pt__svg_y(rows->event_row[j]);
  double dx = x - x0, dy = y - y0, d = sqrt(dx * dx + dy * dy);
  double ex = x, ey = y;
  if (d > 0) {
    double ux = dx / d, uy = dy / d;
    double most = fabs(ux) > fabs(uy) ? fabs(ux) : fabs(uy);
    /* From the centre to the mark's outline (its stroke included). */
    double edge = box ? (PT__SVG_BOX_HALF + 0.5) / most : PT__SVG_DOT_R;
    double back = edge + PT__SVG_MARK_GAP;
    if (back < d) {
      ex -= ux * back;
      ey -= uy * back;
    }
  }
  fprintf(fp,
          "<line x1=\"%d\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
          "stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>\n",
          x0, y0, ex, ey, colour);
}

/* One event row: its arrow from the row it answers, its mark and label. */
static void pt__svg_event_draw(const pt_exporter *ex, FILE *fp,
                               const pt__svg_state *st,
                               const pt__svg_rows *rows, size_t k, int *used) {
  const pt__svg_item *it = &st->items[k];
  const pt_event *ev = &it->event;
  int x = pt__svg_x(it->node);
  int y = pt__svg_y(rows->event_row[k]);
  pt__svg_time(fp, y, ev->timestamp_us, st->items[0].event.timestamp_us);
  char label[192];
  pt__svg_label(ex, ev, label, sizeof label);
  if (ev->kind == PT_EV_PACKET_RECEIVED) {
    pt__svg_arrow(fp, st, rows, used, pt__svg_find_sent(st, k, 1, used), x, y,
                  0, "#1f4e9c");
  } else if (ev->kind == PT_EV_APP_START || ev->kind == PT_EV_APP_END) {
    pt__svg_arrow(fp, st, rows, used, pt__svg_find_message(ex, st, k, used), x,
                  y, 1, "#8a6d00");
  } else if (ev->kind == PT_EV_PACKET_LOST) {
    long j = pt__svg_find_sent(st, k, 0, used);
    if (j >= 0) {
      used[j] = 1;
      /* From the send to the row that declares it lost, half-way across
       * (past this row's label, on the right); the cross on this row. */
      int y0 = pt__svg_y(rows->event_row[j]);
      int dir = (it->node + 1 < ex->node_count || it->node == 0) ? 1 : -1;
      int x1 = x + dir * PT__SVG_LANE_DX / 2;
      int past = x + PT__SVG_EVENT_PAD + PT__SVG_EVENT_W(strlen(label)) + 8;
      if (dir > 0 && x1 < past) {
        x1 = past;
      }
      fprintf(fp,
              "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
              "stroke=\"#c0392b\" stroke-width=\"1.5\" "
              "stroke-dasharray=\"5 3\"/>\n",
              x, y0, x1, y);
      pt__svg_cross(fp, x1, y, "#c0392b");
    }
  }
  int lost = ev->kind == PT_EV_PACKET_LOST ||
             (ev->kind == PT_EV_APP_END && !ev->data.app_end.ok);
  if (pt__svg_is_app(ev)) {
    fprintf(fp,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"3\" "
            "fill=\"#f5d76e\" stroke=\"#8a6d00\"/>\n",
            x - PT__SVG_BOX_HALF, y - PT__SVG_BOX_HALF, 2 * PT__SVG_BOX_HALF,
            2 * PT__SVG_BOX_HALF);
  } else {
    fprintf(fp, "<circle cx=\"%d\" cy=\"%d\" r=\"%d\" fill=\"%s\"/>\n", x, y,
            PT__SVG_DOT_R, lost ? "#c0392b" : "#333");
  }
  fprintf(fp, "<text x=\"%d\" y=\"%d\"%s>", x + PT__SVG_EVENT_PAD, y + 4,
          lost ? " fill=\"#c0392b\"" : "");
  pt__export_xml_text(fp, label);
  fputs("</text>\n", fp);
}

static int pt__svg_finish(pt_exporter *ex) {
  pt__svg_state *st = ex->state;
  FILE *fp = ex->fp;
  int rc = pt__svg_packets(st);
  if (rc != PT_OK) {
    return rc;
  }
  pt__svg_rows rows;
  memset(&rows, 0, sizeof rows);
  int *used = calloc(st->count + 1, sizeof *used);
  rc = used == NULL ? PT_ERR_NOMEM : pt__svg_rows_make(st, &rows);
  if (rc != PT_OK) {
    free(used);
    pt__svg_rows_free(&rows);
    return rc;
  }
  int lanes = ex->node_count > 0 ? (int)ex->node_count : 1;
  int width = PT__SVG_LANE_X0 + lanes * PT__SVG_LANE_DX;
  for (size_t k = 0; k < st->count; k++) {
    /* Wide enough for every event's label (and a lost packet's cross past
     * it). */
    char label[192];
    pt__svg_label(ex, &st->items[k].event, label, sizeof label);
    int right = pt__svg_x(st->items[k].node) + PT__SVG_EVENT_PAD +
                PT__SVG_EVENT_W(strlen(label)) + 16;
    if (right > width) {
      width = right;
    }
  }
  int height = pt__svg_y(rows.count) + 50;
  char trace_hex[33] = "none";
  if (st->count > 0) {
    pt_trace_id_to_hex(&st->items[0].event.trace_id, trace_hex,
                       sizeof trace_hex);
  }
  pt__svg_header(ex, fp, width, height, trace_hex);
  for (size_t k = 0; k < st->count; k++) {
    pt__svg_event_draw(ex, fp, st, &rows, k, used);
  }
  uint64_t t0 = st->count > 0 ? st->items[0].event.timestamp_us : 0;
  for (size_t j = 0; j < st->packet_count; j++) {
    int y = pt__svg_y(rows.packet_row[j]);
    pt__svg_time(fp, y, st->packets[j].p.sent_us, t0);
    pt__svg_packet_draw(ex, fp, &st->packets[j], &rows, y);
  }
  free(used);
  pt__svg_rows_free(&rows);
  fprintf(fp, "<text x=\"10\" y=\"%d\" fill=\"#555\">%zu events", height - 15,
          st->count);
  if (st->packet_count > 0) {
    fprintf(fp, ", %zu rows of the hops' packets", st->packet_count);
  }
  if (st->left_out) {
    fprintf(fp, ", %llu more left out (limit %u)",
            (unsigned long long)st->left_out, PT__SVG_MAX_EVENTS);
  }
  if (st->left_before) {
    fprintf(fp,
            ", %llu events of any trace left out before the first app "
            "event",
            (unsigned long long)st->left_before);
  }
  fputs("</text>\n</svg>\n", fp);
  return PT_OK;
}

static void pt__svg_free(pt_exporter *ex) {
  pt__svg_state *st = ex->state;
  if (st != NULL) {
    free(st->items);
    free(st->packets);
    pt_request_free(st->req);
    free(st);
    ex->state = NULL;
  }
}

const pt__export_ops pt__export_svg_ops = {pt__svg_begin, pt__svg_event,
                                           pt__svg_finish, pt__svg_free, 0};
