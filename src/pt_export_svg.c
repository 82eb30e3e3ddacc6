/*
 * pt_export_svg: a sequence diagram of one trace as a standalone SVG file.
 *
 * One vertical lane per node, one row per event (time runs down, the time
 * relative to the trace's first event on the left).  A packet sent on one
 * node and received on another (same packet number and space) is an arrow
 * (so is an app request: app_command to the peer's app_start, and its reply:
 * the peer's app_end to the requester's app_end)
 * between the lanes; a lost packet is a red arrow that stops half-way with
 * a cross; app requests are boxes on their lane.  The picture needs the
 * whole trace, so events are buffered (at most PT__SVG_MAX_EVENTS; the
 * footer says how many were left out).
 */
#include <stdlib.h>
#include <string.h>

#include "pt_export.h"

#define PT__SVG_MAX_EVENTS 4096u
#define PT__SVG_LANE_X0 230
#define PT__SVG_LANE_DX 260
#define PT__SVG_ROW_Y0 90
#define PT__SVG_ROW_DY 24

typedef struct pt__svg_item {
  pt_event event;
  unsigned node;
  int matched; /* received: index of its sent event + 1 */
} pt__svg_item;

typedef struct pt__svg_state {
  pt__svg_item *items;
  size_t count;
  uint64_t left_out;
} pt__svg_state;

static int pt__svg_begin(pt_exporter *ex, const pt_event *first) {
  (void)first;
  pt__svg_state *st = calloc(1, sizeof *st);
  if (st == NULL) {
    return PT_ERR_NOMEM;
  }
  ex->state = st;
  return PT_OK;
}

static int pt__svg_event(pt_exporter *ex, unsigned node, const pt_event *ev) {
  pt__svg_state *st = ex->state;
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
  default:
    snprintf(out, size, "%s", title);
    break;
  }
}

static int pt__svg_finish(pt_exporter *ex) {
  pt__svg_state *st = ex->state;
  FILE *fp = ex->fp;
  int lanes = ex->node_count > 0 ? (int)ex->node_count : 1;
  int width = PT__SVG_LANE_X0 + lanes * PT__SVG_LANE_DX;
  int height = pt__svg_y(st->count) + 50;
  char trace_hex[33] = "none";
  if (st->count > 0) {
    pt_trace_id_to_hex(&st->items[0].event.trace_id, trace_hex,
                       sizeof trace_hex);
  }
  fprintf(fp,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
          "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"monospace\" "
          "font-size=\"12\">\n"
          /* A white halo keeps labels readable where arrows cross them. */
          "<style>text{paint-order:stroke;stroke:white;stroke-width:3px;"
          "stroke-linejoin:round}</style>\n"
          "<title>peertrace: trace %s</title>\n"
          "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" "
          "refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" "
          "orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" "
          "fill=\"#1f4e9c\"/></marker></defs>\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
          "<text x=\"10\" y=\"20\" font-weight=\"bold\">trace %.8s</text>\n"
          "<text x=\"10\" y=\"60\" fill=\"#555\">time</text>\n",
          width, height, width, height, trace_hex, trace_hex);
  for (unsigned i = 0; i < ex->node_count; i++) {
    int x = pt__svg_x(i);
    fprintf(fp,
            "<text x=\"%d\" y=\"60\" text-anchor=\"middle\" "
            "font-weight=\"bold\">node %s</text>\n"
            "<line x1=\"%d\" y1=\"70\" x2=\"%d\" y2=\"%d\" stroke=\"#999\" "
            "stroke-dasharray=\"4 3\"/>\n",
            x, ex->nodes[i].short_hex, x, x, height - 40);
  }
  int *used = st->count > 0 ? calloc(st->count, sizeof *used) : NULL;
  if (st->count > 0 && used == NULL) {
    return PT_ERR_NOMEM;
  }
  uint64_t t0 = st->count > 0 ? st->items[0].event.timestamp_us : 0;
  for (size_t k = 0; k < st->count; k++) {
    const pt__svg_item *it = &st->items[k];
    const pt_event *ev = &it->event;
    int x = pt__svg_x(it->node);
    int y = pt__svg_y(k);
    uint64_t rel = ev->timestamp_us - t0;
    fprintf(fp,
            "<text x=\"10\" y=\"%d\" fill=\"#555\">+%llu.%03llu ms</text>\n",
            y + 4, (unsigned long long)(rel / 1000u),
            (unsigned long long)(rel % 1000u));
    if (ev->kind == PT_EV_PACKET_RECEIVED) {
      long j = pt__svg_find_sent(st, k, 1, used);
      if (j >= 0) {
        used[j] = 1;
        fprintf(fp,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                "stroke=\"#1f4e9c\" stroke-width=\"1.5\" "
                "marker-end=\"url(#arrow)\"/>\n",
                pt__svg_x(st->items[j].node), pt__svg_y((size_t)j), x, y);
      }
    } else if (ev->kind == PT_EV_APP_START || ev->kind == PT_EV_APP_END) {
      long j = pt__svg_find_message(ex, st, k, used);
      if (j >= 0) {
        used[j] = 1;
        fprintf(fp,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                "stroke=\"#8a6d00\" stroke-width=\"1.5\" "
                "marker-end=\"url(#arrow)\"/>\n",
                pt__svg_x(st->items[j].node), pt__svg_y((size_t)j), x, y);
      }
    } else if (ev->kind == PT_EV_PACKET_LOST) {
      long j = pt__svg_find_sent(st, k, 0, used);
      if (j >= 0) {
        used[j] = 1;
        int x0 = x;
        int y0 = pt__svg_y((size_t)j);
        int dir = (it->node + 1 < ex->node_count || it->node == 0) ? 1 : -1;
        int x1 = x0 + dir * PT__SVG_LANE_DX / 2;
        int y1 = (y0 + y) / 2;
        fprintf(fp,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                "stroke=\"#c0392b\" stroke-width=\"1.5\" "
                "stroke-dasharray=\"5 3\"/>\n"
                "<path d=\"M %d %d l 8 8 m 0 -8 l -8 8\" stroke=\"#c0392b\" "
                "stroke-width=\"2\"/>\n",
                x0, y0, x1, y1, x1 - 4, y1 - 4);
      }
    }
    char label[192];
    pt__svg_label(ex, ev, label, sizeof label);
    int lost = ev->kind == PT_EV_PACKET_LOST ||
               (ev->kind == PT_EV_APP_END && !ev->data.app_end.ok);
    int app = ev->kind == PT_EV_APP_START || ev->kind == PT_EV_APP_END ||
              ev->kind == PT_EV_APP_COMMAND;
    if (app) {
      fprintf(fp,
              "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" rx=\"3\" "
              "fill=\"#f5d76e\" stroke=\"#8a6d00\"/>\n",
              x - 7, y - 7);
    } else {
      fprintf(fp, "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"%s\"/>\n", x, y,
              lost ? "#c0392b" : "#333");
    }
    fprintf(fp, "<text x=\"%d\" y=\"%d\"%s>", x + 10, y + 4,
            lost ? " fill=\"#c0392b\"" : "");
    pt__export_xml_text(fp, label);
    fputs("</text>\n", fp);
  }
  free(used);
  fprintf(fp, "<text x=\"10\" y=\"%d\" fill=\"#555\">%zu events%s", height - 15,
          st->count, st->left_out ? ", " : "");
  if (st->left_out) {
    fprintf(fp, "%llu more left out (limit %u)",
            (unsigned long long)st->left_out, PT__SVG_MAX_EVENTS);
  }
  fputs("</text>\n</svg>\n", fp);
  return PT_OK;
}

static void pt__svg_free(pt_exporter *ex) {
  pt__svg_state *st = ex->state;
  if (st != NULL) {
    free(st->items);
    free(st);
    ex->state = NULL;
  }
}

const pt__export_ops pt__export_svg_ops = {pt__svg_begin, pt__svg_event,
                                           pt__svg_finish, pt__svg_free, 0};
