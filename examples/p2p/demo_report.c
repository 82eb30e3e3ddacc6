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
    p2p_node_get_stats(demo_net_node(net, i), &st);
    printf("  node%-3zu %14llu %12llu %10llu %10llu\n", i,
           (unsigned long long)st.datagrams_sent,
           (unsigned long long)st.bytes_sent,
           (unsigned long long)st.datagrams_received,
           (unsigned long long)st.datagrams_dropped);
  }
}

#if PT_TRACE

typedef struct node_event {
  size_t node;
  pt_event ev;
} node_event;

static int by_time(const void *a, const void *b) {
  const node_event *x = a, *y = b;
  if (x->ev.timestamp_us != y->ev.timestamp_us) {
    return x->ev.timestamp_us < y->ev.timestamp_us ? -1 : 1;
  }
  return x->node < y->node ? -1 : (x->node > y->node);
}

static size_t peer_index(demo_net *net, const pt_event *ev) {
  if (!(ev->flags & PT_EVENT_HAS_PEER)) {
    return SIZE_MAX;
  }
  return demo_net_index_of(net, ev->peer_id);
}

static void print_timeline(demo_net *net, const demo_request *r) {
  node_event *all = NULL;
  size_t total = 0;
  char hex[33];
  pt_trace_id_to_hex(&r->ctx.trace_id, hex, sizeof hex);
  for (size_t i = 0; i < demo_net_size(net); i++) {
    pt_event *evs = NULL;
    size_t n = 0;
    if (pt_log_query_trace(demo_net_log(net, i), &r->ctx.trace_id, &evs, &n) !=
        PT_OK) {
      continue;
    }
    node_event *grown = realloc(all, (total + n) * sizeof *all);
    if (grown == NULL) {
      pt_events_free(evs);
      break;
    }
    all = grown;
    for (size_t k = 0; k < n; k++) {
      all[total].node = i;
      all[total].ev = evs[k];
      total++;
    }
    pt_events_free(evs);
  }
  if (total == 0) {
    free(all);
    return;
  }
  qsort(all, total, sizeof *all, by_time);
  printf("\nTimeline of one request: %s of chunk %02x%02x%02x%02x.., issued "
         "at node%zu, stored on node%zu\n",
         dmap_cmd_name(r->cmd), r->hash[0], r->hash[1], r->hash[2], r->hash[3],
         r->origin, r->target);
  printf("  trace id %s; events from %zu node logs merged in time order\n", hex,
         demo_net_size(net));
  printf("  %9s  %-6s %-12s %s\n", "t (ms)", "node", "event", "meaning");
  uint64_t t0 = all[0].ev.timestamp_us;
  for (size_t k = 0; k < total; k++) {
    const pt_event *ev = &all[k].ev;
    size_t peer = peer_index(net, ev);
    double t = (double)(ev->timestamp_us - t0) / 1000.0;
    char what[160];
    switch (ev->kind) {
    case PT_EV_APP_START:
      if (peer == SIZE_MAX) {
        snprintf(what, sizeof what, "client issues %s",
                 dmap_cmd_name(ev->data.app_start.cmd));
      } else {
        /* The matching send: the peer's app_command towards this node. */
        double wire = -1;
        for (size_t j = 0; j < k; j++) {
          const pt_event *s = &all[j].ev;
          if (all[j].node == peer && s->kind == PT_EV_APP_COMMAND &&
              peer_index(net, s) == all[k].node) {
            wire = (double)(ev->timestamp_us - s->timestamp_us) / 1000.0;
          }
        }
        snprintf(what, sizeof what,
                 "receives the request from node%zu (%.2f ms after it was "
                 "sent)",
                 peer, wire);
      }
      break;
    case PT_EV_APP_COMMAND:
      snprintf(what, sizeof what, "sends %s on to node%zu over QUIC",
               dmap_cmd_name(ev->data.app_command.cmd), peer);
      break;
    case PT_EV_APP_END:
      if (peer == SIZE_MAX) {
        snprintf(what, sizeof what,
                 "client gets the answer: %s, %.2f ms "
                 "end to end",
                 ev->data.app_end.ok ? "OK" : "failed",
                 (double)ev->data.app_end.duration_us / 1000.0);
      } else {
        snprintf(what, sizeof what,
                 "answers node%zu: %s, %.2f ms spent on this node and "
                 "beyond",
                 peer, ev->data.app_end.ok ? "OK" : "failed",
                 (double)ev->data.app_end.duration_us / 1000.0);
      }
      break;
    default:
      pt_event_format(ev, what, sizeof what);
      break;
    }
    printf("  %+9.3f  node%-2zu %-12s %s\n", t, all[k].node,
           pt_event_kind_name(ev->kind), what);
  }
  free(all);
}

static void print_peer_table(demo_net *net) {
  printf("\nPer-peer QUIC table (counted from each node's own event log)\n");
  printf("  %-6s %-6s %8s %8s %6s %7s %9s %9s\n", "node", "peer", "pkts out",
         "pkts in", "lost", "loss %", "rtt ms", "bytes out");
  for (size_t i = 0; i < demo_net_size(net); i++) {
    for (size_t j = 0; j < demo_net_size(net); j++) {
      pt_event *evs = NULL;
      size_t n = 0;
      uint64_t sent = 0, recv = 0, lost = 0, bytes = 0, rtt = 0;
      if (i == j ||
          pt_log_query_peer(demo_net_log(net, i), demo_net_node_id(net, j),
                            &evs, &n) != PT_OK) {
        continue;
      }
      for (size_t k = 0; k < n; k++) {
        switch (evs[k].kind) {
        case PT_EV_PACKET_SENT:
          sent++;
          bytes += evs[k].data.packet_sent.size;
          break;
        case PT_EV_PACKET_RECEIVED:
          recv++;
          break;
        case PT_EV_PACKET_LOST:
          lost++;
          break;
        case PT_EV_CONN_ESTABLISHED:
          rtt = evs[k].data.conn_established.rtt_us;
          break;
        default:
          break;
        }
      }
      pt_events_free(evs);
      if (sent + recv == 0) {
        continue;
      }
      p2p_conn *c = p2p_node_find_conn(demo_net_node(net, i),
                                       p2p_node_port(demo_net_node(net, j)));
      if (c != NULL && p2p_conn_rtt_us(c) > 0) {
        rtt = p2p_conn_rtt_us(c); /* latest smoothed rtt */
      }
      printf("  node%-2zu node%-2zu %8llu %8llu %6llu %6.2f%% %9.3f %9llu\n", i,
             j, (unsigned long long)sent, (unsigned long long)recv,
             (unsigned long long)lost,
             sent ? 100.0 * (double)lost / (double)sent : 0.0,
             (double)rtt / 1000.0, (unsigned long long)bytes);
    }
  }
  printf("  (lost = packets this node's QUIC stack declared lost and "
         "retransmitted; the receiving node dropped them on purpose)\n");
}

static void put_le(uint8_t *p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    p[i] = (uint8_t)(v >> (8 * i));
  }
}

static int write_log(pt_log *log, const char *path) {
  pt_log_stats st;
  pt_event *evs = NULL;
  size_t n = 0;
  uint8_t header[56] = {'P', 'T', 'L', 'O', 'G', 0, 0, 1};
  FILE *f;
  if (pt_log_get_stats(log, &st) != PT_OK ||
      pt_log_recent(log, (size_t)st.capacity, &evs, &n) != PT_OK) {
    return -1;
  }
  put_le(header + 8, sizeof(pt_event), 4);
  pt_log_node_id(log, header + 16);
  put_le(header + 48, n, 8);
  f = fopen(path, "wb");
  if (f == NULL) {
    pt_events_free(evs);
    return -1;
  }
  int ok = fwrite(header, sizeof header, 1, f) == 1 &&
           (n == 0 || fwrite(evs, sizeof *evs, n, f) == n);
  ok = (fclose(f) == 0) && ok;
  pt_events_free(evs);
  return ok ? (int)n : -1;
}

static void write_logs(demo_net *net, const char *dir) {
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "demo: cannot create %s: %s\n", dir, strerror(errno));
    return;
  }
  printf("\nEvent logs (binary .ptlog, format in examples/p2p/"
         "demo_report.h)\n");
  for (size_t i = 0; i < demo_net_size(net); i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/node%zu.ptlog", dir, i);
    int n = write_log(demo_net_log(net, i), path);
    if (n < 0) {
      fprintf(stderr, "demo: writing %s failed\n", path);
    } else {
      printf("  %s: %d events\n", path, n);
    }
  }
}

void demo_report(demo_net *net, const demo_request *stores,
                 const demo_request *gets, size_t count, const char *out_dir) {
  /* The request that crossed the most nodes: a GET, else a STORE. */
  const demo_request *best = NULL;
  for (size_t k = 0; k < count; k++) {
    if (gets[k].done && (best == NULL || gets[k].hops > best->hops)) {
      best = &gets[k];
    }
  }
  for (size_t k = 0; k < count && best == NULL; k++) {
    if (stores[k].done) {
      best = &stores[k];
    }
  }
  if (best != NULL) {
    print_timeline(net, best);
  }
  print_peer_table(net);
  print_socket_counters(net);
  write_logs(net, out_dir);
}

#else /* !PT_TRACE */

void demo_report(demo_net *net, const demo_request *stores,
                 const demo_request *gets, size_t count, const char *out_dir) {
  (void)stores;
  (void)gets;
  (void)count;
  (void)out_dir;
  printf("\nTracing is compiled out in this build: no timeline, no per-peer "
         "event table, no logs (and zero bytes of trace context on the "
         "wire).\n");
  print_socket_counters(net);
}

#endif /* PT_TRACE */
