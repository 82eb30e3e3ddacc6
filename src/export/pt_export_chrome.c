/*
 * pt_export_chrome: Chrome trace event JSON, for ui.perfetto.dev,
 * chrome://tracing and Chrome DevTools' performance panel.
 *
 * {"displayTimeUnit":"ms","otherData":{...},"traceEvents":[...]}.  `ts` and
 * `dur` are microseconds since the export's first event (otherData's
 * peertrace_time_origin_unix_us is that event's Unix time), written with
 * three decimals: events that share a microsecond on one track are spread
 * 1 ns apart, in their order, so that every viewer keeps them apart and
 * binds each flow to its own event (DevTools binds a flow to the event of
 * the same ts, pid, tid and cat), and a flow's end is put 1 ns after its
 * start at least (DevTools keeps no flow whose ends share a ts).  No time
 * moves by a microsecond or more.
 *
 * Each node is a process (pid = node index + 1, named by "process_name"
 * metadata ending with the node's clock label, e.g. "node 1a2b3c4d
 * (aligned +/-41.2 us)"; "process_labels" holds the label in full and its
 * numbers as args.clock) with these threads (tracks):
 *   - "conn XXXXXXXX" (one per connection identity the node recorded):
 *     the connection's events as instants, and process counters named
 *     "conn XXXXXXXX" with sent / received / lost packet counts, the
 *     handshake's rtt_us, and from each recovery_metrics latest_rtt_us,
 *     min_rtt_us and smoothed_rtt_us (once sampled), cwnd and
 *     bytes_in_flight (Perfetto: a track per key, "conn XXXXXXXX cwnd", in
 *     the node's process; JSON counters belong to a process, not a
 *     thread);
 *   - "network" (tid 1): transport events without a connection identity
 *     and custom events;
 *   - "requests", "requests 2", ... (tid 2, 3, ...): app requests.  A
 *     request (app_start .. app_end) is one complete "X" slice on the first
 *     lane free when it starts, so slices on one lane never overlap without
 *     nesting; inside it, zero-length slices for the commands it sent, the
 *     reply it sent and the reply it received.
 * Arrows (flow events "s" / "f" with bp "e", bound to the slice or instant
 * at their ts on their thread, as Perfetto and DevTools read them):
 *   - "request": a command slice on the sender -> the request slice its
 *     app_start opened on the receiver (same trace id, peers each other);
 *   - "reply": the "reply" slice of an app_end naming a peer -> the "reply
 *     received" slice of that peer's next app_end of the trace;
 *   - "packet": a packet_sent instant -> the packet_received of the same
 *     connection, space and number on the node the sender names as peer.
 * A flow is written only when both ends are in the export, its end after its
 * start: no slice has both halves of one flow, none a flow without a start.
 */
#include <stdlib.h>
#include <string.h>

#include "pt_export.h"
#include "pt_grow.h"
#include "pt_u64map.h"

#define PT__CHROME_NETWORK_TID 1u
#define PT__CHROME_LANE_TID 2u      /* lane i is tid 2 + i */
#define PT__CHROME_CONN_TID 100000u /* connection j is tid 100000 + j */

typedef struct pt__chrome_lane {
  int open; /* a request is in progress on the lane */
  pt_trace_id trace;
  uint8_t app_id[4];
  uint16_t cmd;
  uint64_t start_ns;
  uint64_t next_ns; /* the lane's next free point (ns since origin) */
  int has_in;       /* the request came by a "request" flow: in_id */
  uint64_t in_id;
} pt__chrome_lane;

typedef struct pt__chrome_conn {
  uint64_t conn;
  unsigned tid;
  uint64_t next_ns;
  uint64_t sent, received, lost;
} pt__chrome_conn;

typedef struct pt__chrome_node {
  pt__chrome_lane *lanes;
  size_t lane_count, lane_cap;
  uint64_t network_next_ns;
} pt__chrome_node;

typedef struct pt__chrome_state {
  uint64_t origin_us;
  pt__chrome_node *nodes;
  pt__chrome_conn *conns; /* every node's */
  size_t conn_count, conn_cap;
  pt__u64map conn_index; /* hash(node, conn) -> a = index + 1 */
  pt__u64map flows;      /* flow key -> a = begun, b = ended */
} pt__chrome_state;

static int pt__chrome_begin(pt_exporter *ex, const pt_event *first) {
  pt__chrome_state *st = calloc(1, sizeof *st);
  if (st == NULL) {
    return PT_ERR_NOMEM;
  }
  ex->state = st;
  st->nodes = calloc(ex->node_count ? ex->node_count : 1, sizeof *st->nodes);
  if (st->nodes == NULL) {
    return PT_ERR_NOMEM;
  }
  st->origin_us = first != NULL ? first->timestamp_us : 0;
  FILE *fp = ex->fp;
  fprintf(fp,
          "{\"displayTimeUnit\":\"ms\",\"otherData\":{"
          "\"peertrace_time_origin_unix_us\":%llu},\"traceEvents\":[\n",
          (unsigned long long)st->origin_us);
  for (unsigned i = 0; i < ex->node_count; i++) {
    /* The clock label twice: short in the name, which every viewer shows,
     * in full as the process's labels. */
    char brief[64], name[96], label[160];
    pt__export_clock_text(ex, i, 1, brief, sizeof brief);
    snprintf(name, sizeof name, "node %s (%s)", ex->nodes[i].short_hex, brief);
    pt__export_clock_text(ex, i, 0, label, sizeof label);
    fprintf(fp,
            "%s{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%u,"
            "\"tid\":0,\"args\":{\"name\":",
            i ? ",\n" : "", i + 1);
    pt__export_json_string(fp, name);
    fprintf(fp,
            "}},\n{\"ph\":\"M\",\"name\":\"process_labels\",\"pid\":%u,"
            "\"tid\":0,\"args\":{\"labels\":",
            i + 1);
    pt__export_json_string(fp, label);
    fputs(",\"clock\":", fp);
    pt__export_clock_json(ex, i, fp);
    fprintf(fp,
            "}},\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,"
            "\"tid\":%u,\"args\":{\"name\":\"network\"}}",
            i + 1, PT__CHROME_NETWORK_TID);
  }
  return PT_OK;
}

/* ---- Times and tracks -----------------------------------------------------
 */

/* ns since the origin of a time in Unix us. */
static uint64_t pt__chrome_ns(const pt__chrome_state *st, uint64_t t_us) {
  return (t_us - st->origin_us) * 1000u;
}

/*
 * A track's point for an event at t_us: t, or 1 ns after the last point,
 * and min_ns at least (a flow's end after its start).
 */
static uint64_t pt__chrome_point(const pt__chrome_state *st, uint64_t *next,
                                 uint64_t t_us, uint64_t min_ns) {
  uint64_t ns = pt__chrome_ns(st, t_us);
  ns = ns > *next ? ns : *next;
  ns = ns > min_ns ? ns : min_ns;
  *next = ns + 1;
  return ns;
}

static void pt__chrome_ts(FILE *fp, const char *key, uint64_t ns) {
  fprintf(fp, ",\"%s\":%llu.%03u", key, (unsigned long long)(ns / 1000u),
          (unsigned)(ns % 1000u));
}

static void pt__chrome_thread_name(pt_exporter *ex, unsigned node, unsigned tid,
                                   const char *name) {
  fprintf(ex->fp,
          ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,\"tid\":%u,"
          "\"args\":{\"name\":",
          node + 1, tid);
  pt__export_json_string(ex->fp, name);
  fputs("}}", ex->fp);
}

/* The track of a connection on a node, made (and named) on first use. */
static pt__chrome_conn *pt__chrome_conn_of(pt_exporter *ex, unsigned node,
                                           uint64_t conn) {
  pt__chrome_state *st = ex->state;
  uint64_t key = pt__u64_mix(pt__u64_mix(conn) ^ node);
  pt__u64slot *slot = pt__u64map_get(&st->conn_index, key);
  if (slot == NULL) {
    return NULL;
  }
  if (slot->a != 0) {
    return &st->conns[slot->a - 1];
  }
  void *v = st->conns;
  pt__chrome_conn *c =
      pt__grow(&v, &st->conn_count, &st->conn_cap, sizeof *c, 1);
  st->conns = v;
  if (c == NULL) {
    pt__u64map_delete(&st->conn_index, key);
    return NULL;
  }
  memset(c, 0, sizeof *c);
  c->conn = conn;
  c->tid = PT__CHROME_CONN_TID + (unsigned)(st->conn_count - 1);
  slot->a = (uint32_t)st->conn_count;
  char name[40];
  snprintf(name, sizeof name, "conn %08llx", (unsigned long long)(conn >> 32));
  pt__chrome_thread_name(ex, node, c->tid, name);
  return c;
}

/* A new lane of the node, named. */
static pt__chrome_lane *pt__chrome_new_lane(pt_exporter *ex, unsigned node,
                                            unsigned *index) {
  pt__chrome_node *n = &((pt__chrome_state *)ex->state)->nodes[node];
  void *v = n->lanes;
  pt__chrome_lane *lane =
      pt__grow(&v, &n->lane_count, &n->lane_cap, sizeof *lane, 1);
  n->lanes = v;
  if (lane == NULL) {
    return NULL;
  }
  *index = (unsigned)(n->lane_count - 1);
  memset(lane, 0, sizeof *lane);
  char name[32];
  if (*index == 0) {
    snprintf(name, sizeof name, "requests");
  } else {
    snprintf(name, sizeof name, "requests %u", *index + 1);
  }
  pt__chrome_thread_name(ex, node, PT__CHROME_LANE_TID + *index, name);
  return lane;
}

/*
 * A lane of the node with no request open whose points all lie before
 * start_ns (a new one if there is none), so that a request from start_ns
 * on nests with nothing there.
 */
static pt__chrome_lane *pt__chrome_free_lane(pt_exporter *ex, unsigned node,
                                             uint64_t start_ns,
                                             unsigned *index) {
  pt__chrome_node *n = &((pt__chrome_state *)ex->state)->nodes[node];
  for (unsigned i = 0; i < n->lane_count; i++) {
    if (!n->lanes[i].open && n->lanes[i].next_ns <= start_ns) {
      *index = i;
      return &n->lanes[i];
    }
  }
  return pt__chrome_new_lane(ex, node, index);
}

/* The lane of the node's open request of this trace (latest first). */
static pt__chrome_lane *pt__chrome_open_lane(pt_exporter *ex, unsigned node,
                                             const pt_trace_id *trace,
                                             unsigned *index) {
  pt__chrome_node *n = &((pt__chrome_state *)ex->state)->nodes[node];
  pt__chrome_lane *best = NULL;
  for (unsigned i = 0; i < n->lane_count; i++) {
    pt__chrome_lane *l = &n->lanes[i];
    if (l->open && memcmp(&l->trace, trace, sizeof *trace) == 0 &&
        (best == NULL || l->start_ns > best->start_ns)) {
      best = l;
      *index = i;
    }
  }
  return best;
}

/* ---- Flows ----------------------------------------------------------------
 */

/* A flow's key: what both of its ends know (kind, trace, nodes, packet). */
static uint64_t pt__chrome_flow_key(char kind, const pt_trace_id *trace,
                                    unsigned from, unsigned to, uint64_t conn,
                                    uint64_t pn_space) {
  uint64_t h = pt__u64_fnv(PT__FNV_START, &kind, 1);
  if (trace != NULL) {
    h = pt__u64_fnv(h, trace->bytes, 16);
  }
  uint64_t parts[4] = {from, to, conn, pn_space};
  return pt__u64_mix(pt__u64_fnv(h, parts, sizeof parts));
}

/* The id of the n-th flow of a key (several hops may share one). */
static uint64_t pt__chrome_flow_id(uint64_t key, uint32_t n) {
  return pt__u64_mix(key + 0x9e3779b97f4a7c15ull * n);
}

static const char *pt__chrome_flow_name(char kind) {
  return kind == 'q' ? "request" : kind == 'r' ? "reply" : "packet";
}

static void pt__chrome_flow_event(pt_exporter *ex, char phase, char kind,
                                  uint64_t id, unsigned node, unsigned tid,
                                  const char *cat, uint64_t ns) {
  FILE *fp = ex->fp;
  fprintf(fp,
          ",\n{\"ph\":\"%c\",\"name\":\"%s\",\"cat\":\"%s\",\"id\":"
          "\"0x%016llx\",\"pid\":%u,\"tid\":%u",
          phase, pt__chrome_flow_name(kind), cat, (unsigned long long)id,
          node + 1, tid);
  pt__chrome_ts(fp, "ts", ns);
  fputs(phase == 'f' ? ",\"bp\":\"e\"}" : "}", fp);
}

/* Starts a flow of key at the slice just written.  PT_OK or NOMEM. */
static int pt__chrome_flow_start(pt_exporter *ex, char kind, uint64_t key,
                                 unsigned node, unsigned tid, const char *cat,
                                 uint64_t ns) {
  pt__chrome_state *st = ex->state;
  pt__u64slot *slot = pt__u64map_get(&st->flows, key);
  if (slot == NULL) {
    return PT_ERR_NOMEM;
  }
  uint64_t id = pt__chrome_flow_id(key, slot->a++);
  slot->v = ns; /* the latest start: the ends come after it */
  pt__chrome_flow_event(ex, 's', kind, id, node, tid, cat, ns);
  return PT_OK;
}

/*
 * The id of the oldest started, unfinished flow of key, marked finished,
 * and in *min_ns the earliest point its end may take: 1 ns after the
 * latest start of key (DevTools drops a flow whose ends share a ts; this
 * moves an end by less than a microsecond, as the end is not written
 * before its start).  0 if there is none (*min_ns 0).
 */
static uint64_t pt__chrome_flow_take(pt_exporter *ex, uint64_t key,
                                     uint64_t *min_ns) {
  pt__chrome_state *st = ex->state;
  pt__u64slot *slot = pt__u64map_find(&st->flows, key);
  *min_ns = 0;
  if (slot == NULL || slot->b >= slot->a) {
    return 0;
  }
  *min_ns = slot->v + 1;
  uint64_t id = pt__chrome_flow_id(key, slot->b++);
  if (slot->b == slot->a) {
    pt__u64map_delete(&st->flows, key); /* keeps the map to what is open */
  }
  return id;
}

/* ---- Events ---------------------------------------------------------------
 */

static const char *pt__chrome_category(unsigned kind) {
  switch (kind) {
  case PT_EV_PACKET_SENT:
  case PT_EV_PACKET_RECEIVED:
  case PT_EV_STREAM_OPENED:
  case PT_EV_STREAM_DATA:
  case PT_EV_STREAM_FRAME:
    return "transport";
  case PT_EV_PACKET_LOST:
  case PT_EV_RECOVERY_METRICS:
    return "recovery";
  case PT_EV_CONN_INIT:
  case PT_EV_CONN_ESTABLISHED:
    return "connectivity";
  case PT_EV_APP_COMMAND:
  case PT_EV_APP_START:
  case PT_EV_APP_END:
    return "app";
  default:
    return "custom";
  }
}

/* Opens an event record up to its ts: {"name":..,"cat":..,"pid":..,"tid":..,
 * "ph":"<ph>","ts":... */
static void pt__chrome_head(pt_exporter *ex, const char *name, const char *cat,
                            unsigned node, unsigned tid, const char *ph,
                            uint64_t ns) {
  FILE *fp = ex->fp;
  fputs(",\n{\"name\":", fp);
  pt__export_json_string(fp, name);
  fprintf(fp, ",\"cat\":\"%s\",\"pid\":%u,\"tid\":%u,\"ph\":\"%s\"", cat,
          node + 1, tid, ph);
  pt__chrome_ts(fp, "ts", ns);
}

/* Closes the record with the event's fields as args (ev may be NULL). */
static void pt__chrome_args(pt_exporter *ex, const pt_event *ev,
                            const char *extra) {
  FILE *fp = ex->fp;
  fputs(",\"args\":{", fp);
  if (ev != NULL) {
    pt__out o = {fp, NULL, 0, 0};
    pt__event_json_members(&o, ev, NULL, 0);
  }
  if (extra != NULL) {
    fprintf(fp, "%s%s", ev != NULL ? "," : "", extra);
  }
  fputs("}}", fp);
}

/* A zero-length slice on a lane ("X" with dur 0: a point a flow binds to). */
static void pt__chrome_mark(pt_exporter *ex, unsigned node, unsigned lane,
                            const char *name, uint64_t ns, const pt_event *ev) {
  pt__chrome_head(ex, name, "app", node, PT__CHROME_LANE_TID + lane, "X", ns);
  fputs(",\"dur\":0", ex->fp);
  pt__chrome_args(ex, ev, NULL);
}

/*
 * Opens a counter sample of the connection, up to its args: "C" events
 * named "conn XXXXXXXX" on the connection's thread, whose process (the
 * node) Perfetto files them under, one track per arg key ("conn XXXXXXXX
 * cwnd"), beside the connection's thread track of that name.
 */
static void pt__chrome_counter(pt_exporter *ex, unsigned node,
                               const pt__chrome_conn *c, uint64_t ns) {
  fprintf(ex->fp,
          ",\n{\"ph\":\"C\",\"name\":\"conn %08llx\",\"pid\":%u,"
          "\"tid\":%u",
          (unsigned long long)(c->conn >> 32), node + 1, c->tid);
  pt__chrome_ts(ex->fp, "ts", ns);
}

static int pt__chrome_transport(pt_exporter *ex, unsigned node,
                                const pt_event *ev) {
  pt__chrome_state *st = ex->state;
  char title[128];
  pt__export_event_title(ex, ev, title, sizeof title);
  const char *cat = pt__chrome_category(ev->kind);
  uint64_t conn = pt_event_conn(ev);
  if (conn == 0) {
    uint64_t ns = pt__chrome_point(st, &st->nodes[node].network_next_ns,
                                   ev->timestamp_us, 0);
    pt__chrome_head(ex, title, cat, node, PT__CHROME_NETWORK_TID, "i", ns);
    fputs(",\"s\":\"t\"", ex->fp);
    pt__chrome_args(ex, ev, NULL);
    return PT_OK;
  }
  pt__chrome_conn *c = pt__chrome_conn_of(ex, node, conn);
  if (c == NULL) {
    return PT_ERR_NOMEM;
  }
  long peer = pt__export_peer_node(ex, ev);
  /* A received packet ends the flow of its send, if that is here. */
  uint64_t in_id = 0, min_ns = 0;
  if (ev->kind == PT_EV_PACKET_RECEIVED && peer >= 0) {
    /* The sender is the node the receiver names as its peer. */
    uint64_t key = pt__chrome_flow_key('p', NULL, (unsigned)peer, 0, conn,
                                       ev->data.packet_received.pn << 2 |
                                           ev->data.packet_received.space);
    in_id = pt__chrome_flow_take(ex, key, &min_ns);
  }
  uint64_t ns = pt__chrome_point(st, &c->next_ns, ev->timestamp_us, min_ns);
  pt__chrome_head(ex, title, cat, node, c->tid, "i", ns);
  fputs(",\"s\":\"t\"", ex->fp);
  pt__chrome_args(ex, ev, NULL);
  int counted = 1;
  switch (ev->kind) {
  case PT_EV_PACKET_SENT:
    c->sent++;
    if (peer >= 0) {
      uint64_t key = pt__chrome_flow_key('p', NULL, node, 0, conn,
                                         ev->data.packet_sent.pn << 2 |
                                             ev->data.packet_sent.space);
      int rc = pt__chrome_flow_start(ex, 'p', key, node, c->tid, cat, ns);
      if (rc != PT_OK) {
        return rc;
      }
    }
    break;
  case PT_EV_PACKET_RECEIVED:
    c->received++;
    if (in_id != 0) {
      pt__chrome_flow_event(ex, 'f', 'p', in_id, node, c->tid, cat, ns);
    }
    break;
  case PT_EV_PACKET_LOST:
    c->lost++;
    break;
  case PT_EV_CONN_ESTABLISHED:
    pt__chrome_counter(ex, node, c, ns);
    fprintf(ex->fp, ",\"args\":{\"rtt_us\":%u}}",
            (unsigned)ev->data.conn_established.rtt_us);
    counted = 0;
    break;
  case PT_EV_RECOVERY_METRICS: {
    /* RTTs once sampled: before, smoothed is only the stack's initial
     * guess (333 ms in ngtcp2), which would flatten the track's scale. */
    const struct pt_recovery_metrics_data *m = &ev->data.recovery_metrics;
    pt__chrome_counter(ex, node, c, ns);
    fputs(",\"args\":{", ex->fp);
    if (m->min_rtt_us > 0) {
      fprintf(ex->fp,
              "\"latest_rtt_us\":%u,\"min_rtt_us\":%u,\"smoothed_rtt_us\":%u,",
              m->latest_rtt_us, m->min_rtt_us, m->smoothed_rtt_us);
    }
    fprintf(ex->fp, "\"cwnd\":%llu,\"bytes_in_flight\":%llu}}",
            (unsigned long long)m->cwnd,
            (unsigned long long)m->bytes_in_flight);
    counted = 0;
    break;
  }
  default:
    counted = 0;
  }
  if (counted) {
    pt__chrome_counter(ex, node, c, ns);
    fprintf(ex->fp,
            ",\"args\":{\"sent\":%llu,\"received\":%llu,\"lost\":%llu}}",
            (unsigned long long)c->sent, (unsigned long long)c->received,
            (unsigned long long)c->lost);
  }
  return PT_OK;
}

static int pt__chrome_app_start(pt_exporter *ex, unsigned node,
                                const pt_event *ev) {
  pt__chrome_state *st = ex->state;
  unsigned index;
  pt__chrome_lane *lane = pt__chrome_free_lane(
      ex, node, pt__chrome_ns(st, ev->timestamp_us), &index);
  if (lane == NULL) {
    return PT_ERR_NOMEM;
  }
  lane->open = 1;
  lane->trace = ev->trace_id;
  memcpy(lane->app_id, ev->data.app_start.app_id, 4);
  lane->cmd = ev->data.app_start.cmd;
  lane->has_in = 0;
  lane->in_id = 0;
  uint64_t min_ns = 0;
  long peer = pt__export_peer_node(ex, ev);
  if (peer >= 0 && !pt_trace_id_is_zero(&ev->trace_id)) {
    uint64_t key =
        pt__chrome_flow_key('q', &ev->trace_id, (unsigned)peer, node, 0, 0);
    lane->in_id = pt__chrome_flow_take(ex, key, &min_ns);
    lane->has_in = lane->in_id != 0;
  }
  lane->start_ns =
      pt__chrome_point(st, &lane->next_ns, ev->timestamp_us, min_ns);
  return PT_OK;
}

static int pt__chrome_app_command(pt_exporter *ex, unsigned node,
                                  const pt_event *ev) {
  pt__chrome_state *st = ex->state;
  unsigned index;
  pt__chrome_lane *lane = pt__chrome_open_lane(ex, node, &ev->trace_id, &index);
  if (lane == NULL) {
    /* A command outside a request: a point on a free lane. */
    lane = pt__chrome_free_lane(ex, node, pt__chrome_ns(st, ev->timestamp_us),
                                &index);
    if (lane == NULL) {
      return PT_ERR_NOMEM;
    }
  }
  uint64_t ns = pt__chrome_point(st, &lane->next_ns, ev->timestamp_us, 0);
  char title[128], name[160];
  pt__export_event_title(ex, ev, title, sizeof title);
  long peer = pt__export_peer_node(ex, ev);
  if (peer >= 0) {
    snprintf(name, sizeof name, "%s -> %s", title, ex->nodes[peer].short_hex);
  } else {
    snprintf(name, sizeof name, "%s", title);
  }
  pt__chrome_mark(ex, node, index, name, ns, ev);
  if (peer >= 0 && !pt_trace_id_is_zero(&ev->trace_id)) {
    uint64_t key =
        pt__chrome_flow_key('q', &ev->trace_id, node, (unsigned)peer, 0, 0);
    return pt__chrome_flow_start(ex, 'q', key, node,
                                 PT__CHROME_LANE_TID + index, "app", ns);
  }
  return PT_OK;
}

/* The request slice of an open lane, ending at end_ns, and its inbound
 * flow's end.  unfinished: the export ended before its app_end. */
static void pt__chrome_close_lane(pt_exporter *ex, unsigned node,
                                  unsigned index, uint64_t end_ns,
                                  const pt_event *end, int unfinished) {
  pt__chrome_lane *lane =
      &((pt__chrome_state *)ex->state)->nodes[node].lanes[index];
  char title[128];
  pt__export_app_title(ex, lane->app_id, lane->cmd, title, sizeof title);
  unsigned tid = PT__CHROME_LANE_TID + index;
  /* The slice holds every point given on the lane since it opened. */
  end_ns = end_ns >= lane->next_ns ? end_ns : lane->next_ns - 1;
  pt__chrome_head(ex, title, "app", node, tid, "X", lane->start_ns);
  pt__chrome_ts(ex->fp, "dur", end_ns - lane->start_ns);
  /* The app_end's fields; without one, the trace id and "unfinished". */
  char hex[33], extra[64];
  pt__hex_encode(hex, lane->trace.bytes, 16);
  snprintf(extra, sizeof extra, "\"trace_id\":\"%s\",\"unfinished\":true", hex);
  pt__chrome_args(ex, end, unfinished ? extra : NULL);
  if (lane->has_in) {
    pt__chrome_flow_event(ex, 'f', 'q', lane->in_id, node, tid, "app",
                          lane->start_ns);
  }
  lane->open = 0;
  /* Later points fall after the slice (a zero-length slice at its end
   * would share its ts if it has no length). */
  lane->next_ns = end_ns + 1;
}

static int pt__chrome_app_end(pt_exporter *ex, unsigned node,
                              const pt_event *ev) {
  pt__chrome_state *st = ex->state;
  const struct pt_app_end_data *d = &ev->data.app_end;
  unsigned index;
  pt__chrome_lane *lane = pt__chrome_open_lane(ex, node, &ev->trace_id, &index);
  uint64_t end_ns = pt__chrome_ns(st, ev->timestamp_us);
  if (lane != NULL && memcmp(lane->app_id, d->app_id, 4) == 0 &&
      lane->cmd == d->cmd) {
    pt__chrome_close_lane(ex, node, index, end_ns, ev, 0);
  } else {
    /* No start: the request is known from its duration alone. */
    uint64_t dur_ns = d->duration_us * 1000u;
    uint64_t start_ns = dur_ns <= end_ns ? end_ns - dur_ns : 0;
    lane = pt__chrome_free_lane(ex, node, start_ns, &index);
    if (lane == NULL) {
      return PT_ERR_NOMEM;
    }
    lane->open = 1;
    lane->trace = ev->trace_id;
    memcpy(lane->app_id, d->app_id, 4);
    lane->cmd = d->cmd;
    lane->start_ns = start_ns;
    lane->next_ns = start_ns + 1;
    lane->has_in = 0;
    pt__chrome_close_lane(ex, node, index, end_ns, ev, 0);
  }
  lane = &st->nodes[node].lanes[index];
  unsigned tid = PT__CHROME_LANE_TID + index;
  if (pt_trace_id_is_zero(&ev->trace_id)) {
    return PT_OK;
  }
  /* The reply this app_end received, if a peer sent one of this trace. */
  uint64_t in_key = pt__chrome_flow_key('r', &ev->trace_id, 0, node, 0, 0);
  uint64_t min_ns;
  uint64_t in_id = pt__chrome_flow_take(ex, in_key, &min_ns);
  if (in_id != 0) {
    uint64_t ns =
        pt__chrome_point(st, &lane->next_ns, ev->timestamp_us, min_ns);
    pt__chrome_mark(ex, node, index, "reply received", ns, NULL);
    pt__chrome_flow_event(ex, 'f', 'r', in_id, node, tid, "app", ns);
  }
  /* The reply it sends to the peer it names. */
  long peer = pt__export_peer_node(ex, ev);
  if (peer >= 0 && (unsigned)peer != node) {
    uint64_t ns = pt__chrome_point(st, &lane->next_ns, ev->timestamp_us, 0);
    char name[40];
    snprintf(name, sizeof name, "reply -> %s", ex->nodes[peer].short_hex);
    pt__chrome_mark(ex, node, index, name, ns, NULL);
    uint64_t key =
        pt__chrome_flow_key('r', &ev->trace_id, 0, (unsigned)peer, 0, 0);
    return pt__chrome_flow_start(ex, 'r', key, node, tid, "app", ns);
  }
  return PT_OK;
}

static int pt__chrome_event(pt_exporter *ex, unsigned node,
                            const pt_event *ev) {
  switch (ev->kind) {
  case PT_EV_APP_START:
    return pt__chrome_app_start(ex, node, ev);
  case PT_EV_APP_COMMAND:
    return pt__chrome_app_command(ex, node, ev);
  case PT_EV_APP_END:
    return pt__chrome_app_end(ex, node, ev);
  default:
    return pt__chrome_transport(ex, node, ev);
  }
}

static int pt__chrome_finish(pt_exporter *ex) {
  pt__chrome_state *st = ex->state;
  /* Requests still open: slices to their lane's last point, unfinished. */
  for (unsigned node = 0; st != NULL && node < ex->node_count; node++) {
    pt__chrome_node *n = &st->nodes[node];
    for (unsigned i = 0; i < n->lane_count; i++) {
      if (n->lanes[i].open) {
        pt__chrome_close_lane(ex, node, i, 0, NULL, 1);
      }
    }
  }
  fputs("\n]}\n", ex->fp);
  return PT_OK;
}

static void pt__chrome_free(pt_exporter *ex) {
  pt__chrome_state *st = ex->state;
  if (st == NULL) {
    return;
  }
  for (unsigned i = 0; st->nodes != NULL && i < ex->node_count; i++) {
    free(st->nodes[i].lanes);
  }
  free(st->nodes);
  free(st->conns);
  pt__u64map_free(&st->conn_index);
  pt__u64map_free(&st->flows);
  free(st);
  ex->state = NULL;
}

const pt__export_ops pt__export_chrome_ops = {
    pt__chrome_begin, pt__chrome_event, pt__chrome_finish, pt__chrome_free, 0};
