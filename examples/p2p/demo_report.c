/* demo_report: the demo's final report.  See demo_report.h. */
#define _POSIX_C_SOURCE 200809L

#include "demo_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void print_socket_counters(demo_net *net) {
  printf("\nPer-node socket counters\n");
  printf("  node   datagrams sent   bytes sent   received   dropped by "
         "injected loss\n");
  for (size_t i = 0; i < demo_net_size(net); i++) {
    p2p_node_stats st;
    if (!demo_net_is_local(net, i)) {
      continue;
    }
    p2p_node_get_stats(demo_net_node(net, i), &st);
    printf("  node%-3zu %14llu %12llu %10llu %10llu\n", i,
           (unsigned long long)st.datagrams_sent,
           (unsigned long long)st.bytes_sent,
           (unsigned long long)st.datagrams_received,
           (unsigned long long)st.datagrams_dropped);
  }
}

#if PT_TRACE

/* ---- Log files --------------------------------------------------------- */

#define PTLOG_HEADER 56

static const uint8_t ptlog_magic[8] = {'P', 'T', 'L', 'O', 'G', 0, 0, 1};

static void put_le(uint8_t *p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    p[i] = (uint8_t)(v >> (8 * i));
  }
}

static uint64_t get_le(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    v |= (uint64_t)p[i] << (8 * i);
  }
  return v;
}

int demo_node_log_from(pt_log *log, demo_node_log *out) {
  pt_log_stats st;
  memset(out, 0, sizeof *out);
  if (pt_log_get_stats(log, &st) != PT_OK ||
      pt_log_node_id(log, out->id) != PT_OK ||
      pt_log_recent(log, (size_t)st.capacity, &out->events, &out->count) !=
          PT_OK) {
    return -1;
  }
  out->from_query = 1;
  return 0;
}

void demo_node_log_free(demo_node_log *log) {
  if (log->from_query) {
    pt_events_free(log->events);
  } else {
    free(log->events);
  }
  memset(log, 0, sizeof *log);
}

int demo_node_log_write(const demo_node_log *log, const char *path) {
  uint8_t header[PTLOG_HEADER] = {0};
  FILE *f = fopen(path, "wb");
  if (f == NULL) {
    return -1;
  }
  memcpy(header, ptlog_magic, sizeof ptlog_magic);
  put_le(header + 8, sizeof(pt_event), 4);
  memcpy(header + 16, log->id, PT_NODE_ID_SIZE);
  put_le(header + 48, log->count, 8);
  int ok = fwrite(header, sizeof header, 1, f) == 1 &&
           (log->count == 0 ||
            fwrite(log->events, sizeof(pt_event), log->count, f) == log->count);
  ok = (fclose(f) == 0) && ok;
  return ok ? (int)log->count : -1;
}

int demo_node_log_read(const char *path, demo_node_log *out) {
  uint8_t header[PTLOG_HEADER];
  struct stat st;
  FILE *f = fopen(path, "rb");
  memset(out, 0, sizeof *out);
  if (f == NULL) {
    return -1;
  }
  if (fstat(fileno(f), &st) != 0 || fread(header, sizeof header, 1, f) != 1 ||
      memcmp(header, ptlog_magic, sizeof ptlog_magic) != 0 ||
      get_le(header + 8, 4) != sizeof(pt_event)) {
    fclose(f);
    return -1;
  }
  uint64_t count = get_le(header + 48, 8);
  /* The count must match the file's size exactly. */
  if (st.st_size < PTLOG_HEADER ||
      count != ((uint64_t)st.st_size - PTLOG_HEADER) / sizeof(pt_event) ||
      ((uint64_t)st.st_size - PTLOG_HEADER) % sizeof(pt_event) != 0) {
    fclose(f);
    return -1;
  }
  memcpy(out->id, header + 16, PT_NODE_ID_SIZE);
  out->events = malloc(count ? (size_t)count * sizeof(pt_event) : 1);
  if (out->events == NULL ||
      (count > 0 && fread(out->events, sizeof(pt_event), (size_t)count, f) !=
                        (size_t)count)) {
    fclose(f);
    demo_node_log_free(out);
    return -1;
  }
  out->count = (size_t)count;
  fclose(f);
  return 0;
}

/* ---- Timeline ---------------------------------------------------------- */

typedef struct node_event {
  size_t node;
  const pt_event *ev;
} node_event;

static int by_time(const void *a, const void *b) {
  const node_event *x = a, *y = b;
  if (x->ev->timestamp_us != y->ev->timestamp_us) {
    return x->ev->timestamp_us < y->ev->timestamp_us ? -1 : 1;
  }
  if (x->node != y->node) {
    return x->node < y->node ? -1 : 1;
  }
  return x->ev < y->ev ? -1 : (x->ev > y->ev); /* write order */
}

static size_t peer_of(const demo_node_log *logs, size_t count,
                      const pt_event *ev) {
  if (!(ev->flags & PT_EVENT_HAS_PEER)) {
    return SIZE_MAX;
  }
  for (size_t i = 0; i < count; i++) {
    if (memcmp(logs[i].id, ev->peer_id, PT_NODE_ID_SIZE) == 0) {
      return i;
    }
  }
  return SIZE_MAX;
}

static int same_trace(const pt_event *a, const pt_trace_id *id) {
  return memcmp(&a->trace_id, id, sizeof *id) == 0;
}

static size_t nodes_reached(const demo_node_log *logs, size_t count,
                            const pt_trace_id *id) {
  size_t reached = 0;
  for (size_t i = 0; i < count; i++) {
    for (size_t k = 0; k < logs[i].count; k++) {
      if (same_trace(&logs[i].events[k], id)) {
        reached++;
        break;
      }
    }
  }
  return reached;
}

/* 1 if the client's app_end for this trace on its node says ok. */
static int client_ok(const demo_node_log *log, const pt_trace_id *id) {
  for (size_t k = 0; k < log->count; k++) {
    const pt_event *e = &log->events[k];
    if (e->kind == PT_EV_APP_END && !(e->flags & PT_EVENT_HAS_PEER) &&
        same_trace(e, id)) {
      return e->data.app_end.ok;
    }
  }
  return 0;
}

/* The client request (app_start without a peer) to show: the one that
 * reached most nodes; among those a successful one, a GET if possible. */
static const pt_event *pick_request(const demo_node_log *logs, size_t count,
                                    size_t *origin) {
  const pt_event *best = NULL;
  size_t best_score = 0;
  for (size_t i = 0; i < count; i++) {
    for (size_t k = 0; k < logs[i].count; k++) {
      const pt_event *e = &logs[i].events[k];
      if (e->kind != PT_EV_APP_START || (e->flags & PT_EVENT_HAS_PEER)) {
        continue;
      }
      size_t score = 4 * nodes_reached(logs, count, &e->trace_id) +
                     2 * (size_t)client_ok(&logs[i], &e->trace_id) +
                     (size_t)(e->data.app_start.cmd == DMAP_GET_CHUNK);
      if (best == NULL || score > best_score) {
        best = e;
        best_score = score;
        *origin = i;
      }
    }
  }
  return best;
}

static void describe(const demo_node_log *logs, size_t count,
                     const node_event *all, size_t k, char *what, size_t size) {
  const pt_event *ev = all[k].ev;
  size_t peer = peer_of(logs, count, ev);
  switch (ev->kind) {
  case PT_EV_APP_START:
    if (peer == SIZE_MAX) {
      snprintf(what, size, "client issues %s",
               dmap_cmd_name(ev->data.app_start.cmd));
      return;
    }
    /* The matching send: the peer's app_command towards this node. */
    for (size_t j = k; j-- > 0;) {
      const pt_event *s = all[j].ev;
      if (all[j].node == peer && s->kind == PT_EV_APP_COMMAND &&
          peer_of(logs, count, s) == all[k].node) {
        snprintf(what, size,
                 "receives it from node%zu, %.3f ms after node%zu sent it",
                 peer, (double)(ev->timestamp_us - s->timestamp_us) / 1000.0,
                 peer);
        return;
      }
    }
    snprintf(what, size, "receives it from node%zu", peer);
    return;
  case PT_EV_APP_COMMAND:
    snprintf(what, size, "sends %s on to node%zu over QUIC",
             dmap_cmd_name(ev->data.app_command.cmd), peer);
    return;
  case PT_EV_APP_END:
    if (peer == SIZE_MAX) {
      snprintf(what, size, "client has the answer (%s): %.3f ms end to end",
               ev->data.app_end.ok ? "success" : "failure",
               (double)ev->data.app_end.duration_us / 1000.0);
    } else {
      snprintf(what, size,
               "answers node%zu (%s): %.3f ms on this node and beyond", peer,
               ev->data.app_end.ok ? "success" : "failure",
               (double)ev->data.app_end.duration_us / 1000.0);
    }
    return;
  default:
    pt_event_format(ev, what, size);
    return;
  }
}

static void print_timeline(const demo_node_log *logs, size_t count) {
  size_t origin = 0, total = 0;
  const pt_event *req = pick_request(logs, count, &origin);
  char hex[33];
  if (req == NULL) {
    return;
  }
  pt_trace_id id = req->trace_id;
  for (size_t i = 0; i < count; i++) {
    for (size_t k = 0; k < logs[i].count; k++) {
      total += (size_t)same_trace(&logs[i].events[k], &id);
    }
  }
  node_event *all = malloc(total * sizeof *all);
  if (all == NULL) {
    return;
  }
  total = 0;
  for (size_t i = 0; i < count; i++) {
    for (size_t k = 0; k < logs[i].count; k++) {
      if (same_trace(&logs[i].events[k], &id)) {
        all[total].node = i;
        all[total].ev = &logs[i].events[k];
        total++;
      }
    }
  }
  qsort(all, total, sizeof *all, by_time);
  pt_trace_id_to_hex(&id, hex, sizeof hex);
  const uint8_t *h = req->data.app_start.data;
  printf("\nTimeline of one request: %s of chunk %02x%02x%02x%02x.., issued "
         "by node%zu, crossing %zu nodes\n",
         dmap_cmd_name(req->data.app_start.cmd), h[0], h[1], h[2], h[3], origin,
         nodes_reached(logs, count, &id));
  printf("  trace id %s: the events of every node's log that carry it,\n"
         "  merged in time order (one clock: all nodes run on this host)\n",
         hex);
  printf("  %9s  %-6s %-12s %s\n", "t (ms)", "node", "event", "what happened");
  for (size_t k = 0; k < total; k++) {
    char what[200];
    describe(logs, count, all, k, what, sizeof what);
    printf("  %+9.3f  node%-2zu %-12s %s\n",
           (double)(all[k].ev->timestamp_us - all[0].ev->timestamp_us) / 1000.0,
           all[k].node, pt_event_kind_name(all[k].ev->kind), what);
  }
  free(all);
}

/* ---- Per-peer table ---------------------------------------------------- */

static void print_peer_table(const demo_node_log *logs, size_t count) {
  printf("\nPer-peer QUIC table, counted from each node's own event log\n");
  printf("  %-6s %-6s %8s %8s %6s %7s %9s %10s\n", "node", "peer", "pkts out",
         "pkts in", "lost", "loss %", "rtt ms", "bytes out");
  for (size_t i = 0; i < count; i++) {
    for (size_t j = 0; j < count; j++) {
      uint64_t sent = 0, recv = 0, lost = 0, bytes = 0, rtt = 0;
      if (i == j) {
        continue;
      }
      for (size_t k = 0; k < logs[i].count; k++) {
        const pt_event *e = &logs[i].events[k];
        if (peer_of(logs, count, e) != j) {
          continue;
        }
        switch (e->kind) {
        case PT_EV_PACKET_SENT:
          sent++;
          bytes += e->data.packet_sent.size;
          break;
        case PT_EV_PACKET_RECEIVED:
          recv++;
          break;
        case PT_EV_PACKET_LOST:
          lost++;
          break;
        case PT_EV_CONN_ESTABLISHED:
          rtt = e->data.conn_established.rtt_us;
          break;
        default:
          break;
        }
      }
      if (sent + recv == 0) {
        continue;
      }
      printf("  node%-2zu node%-2zu %8llu %8llu %6llu %6.2f%% %9.3f %10llu\n",
             i, j, (unsigned long long)sent, (unsigned long long)recv,
             (unsigned long long)lost,
             sent ? 100.0 * (double)lost / (double)sent : 0.0,
             (double)rtt / 1000.0, (unsigned long long)bytes);
    }
  }
  printf("  lost: packets this node's QUIC stack declared lost (and so "
         "retransmitted their data);\n  the loss was injected on the "
         "receiving side. rtt: smoothed, when the handshake completed.\n");
}

void demo_report_logs(const demo_node_log *logs, size_t count) {
  print_timeline(logs, count);
  print_peer_table(logs, count);
}

void demo_report(demo_net *net, const char *out_dir) {
  demo_node_log logs[DEMO_MAX_NODES];
  size_t n = demo_net_size(net);
  memset(logs, 0, sizeof logs);
  for (size_t i = 0; i < n; i++) {
    if (demo_node_log_from(demo_net_log(net, i), &logs[i]) != 0) {
      fprintf(stderr, "demo: cannot read the log of node %zu\n", i);
    }
  }
  demo_report_logs(logs, n);
  print_socket_counters(net);
  if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "demo: cannot create %s: %s\n", out_dir, strerror(errno));
  } else {
    printf("\nEvent logs, one file per node (.ptlog: format in "
           "examples/p2p/demo_report.h)\n");
    for (size_t i = 0; i < n; i++) {
      char path[512];
      snprintf(path, sizeof path, "%s/node%zu.ptlog", out_dir, i);
      int written = demo_node_log_write(&logs[i], path);
      if (written < 0) {
        fprintf(stderr, "demo: writing %s failed\n", path);
      } else {
        printf("  %s: %d events\n", path, written);
      }
    }
  }
  for (size_t i = 0; i < n; i++) {
    demo_node_log_free(&logs[i]);
  }
}

#else /* !PT_TRACE */

void demo_report(demo_net *net, const char *out_dir) {
  (void)out_dir;
  printf("\nTracing is compiled out in this build: no timeline, no per-peer "
         "event table, no logs\n(and zero bytes of trace context on the "
         "wire).\n");
  print_socket_counters(net);
}

#endif /* PT_TRACE */
