/* demo_report: the demo's final report.  See demo_report.h. */
#define _POSIX_C_SOURCE 200809L

#include "demo_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if PT_TRACE
#include <peertrace/pt_pipeline.h>
#endif

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

/* ---- Dump files -------------------------------------------------------- */

void demo_dump_path(char *out, size_t size, const char *dir, size_t index) {
  snprintf(out, size, "%s/node%zu.ptd", dir, index);
}

void demo_log_file_path(char *out, size_t size, const char *dir, size_t index) {
  snprintf(out, size, "%s/node%zu.ptlog", dir, index);
}

void demo_files_remove(const char *dir) {
  for (size_t i = 0; i < DEMO_MAX_NODES; i++) {
    char path[512];
    demo_dump_path(path, sizeof path, dir, i);
    unlink(path);
    demo_log_file_path(path, sizeof path, dir, i);
    unlink(path);
  }
}

int demo_dump_save(const pt_log *log, const char *dir, size_t index) {
  char path[512];
  demo_dump_path(path, sizeof path, dir, index);
  int rc = pt_log_dump_save(log, path);
  if (rc != PT_OK) {
    fprintf(stderr, "demo: cannot write %s: %s (%s)\n", path, pt_strerror(rc),
            strerror(errno));
    return -1;
  }
  return 0;
}

void demo_dumps_release(pt_dump *dumps, size_t count) {
  for (size_t i = 0; i < count; i++) {
    pt_dump_release(&dumps[i]);
  }
}

int demo_dumps_load(const char *dir, size_t count, pt_dump *dumps) {
  memset(dumps, 0, count * sizeof *dumps);
  for (size_t i = 0; i < count; i++) {
    char path[512];
    pt_dump_error err;
    demo_dump_path(path, sizeof path, dir, i);
    int rc = pt_dump_load(path, &dumps[i], &err);
    if (rc != PT_OK) {
      fprintf(stderr, "demo: cannot read %s: %s: %s\n", path, pt_strerror(rc),
              err.message);
      demo_dumps_release(dumps, i);
      return -1;
    }
  }
  return 0;
}

/* ---- Timeline ---------------------------------------------------------- */

/* One event of the timeline: its node and the event, its time aligned. */
typedef struct node_event {
  size_t node;
  pt_event ev;
} node_event;

static size_t peer_of(const pt_dump *logs, size_t count, const pt_event *ev) {
  if (!(ev->flags & PT_EVENT_HAS_PEER)) {
    return SIZE_MAX;
  }
  for (size_t i = 0; i < count; i++) {
    if (memcmp(logs[i].info.node_id, ev->peer_id, PT_NODE_ID_SIZE) == 0) {
      return i;
    }
  }
  return SIZE_MAX;
}

static int same_trace(const pt_event *a, const pt_trace_id *id) {
  return memcmp(&a->trace_id, id, sizeof *id) == 0;
}

static size_t nodes_reached(const pt_dump *logs, size_t count,
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
static int client_ok(const pt_dump *log, const pt_trace_id *id) {
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
static const pt_event *pick_request(const pt_dump *logs, size_t count,
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

static void describe(const pt_dump *logs, size_t count, const node_event *all,
                     size_t k, char *what, size_t size) {
  const pt_event *ev = &all[k].ev;
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
      const pt_event *s = &all[j].ev;
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
  default: {
    /* Its fields; the kind is in the column before. */
    char text[512];
    pt_event_format(ev, text, sizeof text);
    const char *fields = strchr(text, ' ');
    snprintf(what, size, "%s", fields != NULL ? fields + 1 : "");
    return;
  }
  }
}

/* Node i's clock as the timeline uses it, in a few words. */
static void print_clock(const pt_pipeline *p, size_t i) {
  pt_clock_estimate est;
  if (pt_pipeline_clock(p, (unsigned)i, &est) != PT_OK) {
    return;
  }
  printf("    node%-2zu ", i);
  switch (est.status) {
  case PT_CLOCK_REFERENCE:
    printf("the reference clock\n");
    break;
  case PT_CLOCK_ALIGNED:
    printf("aligned: offset %+.3f ms, drift %+.1f ppm, bound +/-%.3f ms\n",
           est.offset_us / 1000.0, est.drift_ppm, est.bound_us / 1000.0);
    break;
  default:
    printf("not aligned (no two-way connection to the others): times as "
           "recorded\n");
    break;
  }
}

/*
 * The events of trace id across the dumps DIR/node<i>.ptd, merged and
 * aligned by the pipeline (pt_pipeline.h) onto node0's clock; *total of
 * them, in a malloc'd array; NULL (said on stderr) on failure.
 */
static node_event *timeline_events(const char *dir, size_t count,
                                   const pt_trace_id *id, pt_pipeline **out,
                                   size_t *total) {
  pt_pipeline *p = NULL;
  int rc = pt_pipeline_new(&p);
  for (size_t i = 0; rc == PT_OK && i < count; i++) {
    char path[512];
    demo_dump_path(path, sizeof path, dir, i);
    rc = pt_pipeline_add_dump(p, path, NULL);
  }
  pt_pipeline_filter f;
  pt_pipeline_filter_init(&f);
  f.trace = *id;
  f.trace_nibbles = 32;
  if (rc == PT_OK) {
    rc = pt_pipeline_set_filter(p, &f);
  }
  node_event *all = NULL;
  size_t cap = 0;
  *total = 0;
  pt_event ev;
  unsigned node;
  while (rc == PT_OK && (rc = pt_pipeline_next(p, &ev, &node, NULL)) == 1) {
    if (*total == cap) {
      cap = cap ? 2 * cap : 64;
      node_event *more = realloc(all, cap * sizeof *all);
      if (more == NULL) {
        rc = PT_ERR_NOMEM;
        break;
      }
      all = more;
    }
    all[*total].node = node;
    all[(*total)++].ev = ev;
    rc = PT_OK;
  }
  if (rc != PT_OK) {
    fprintf(stderr, "demo: timeline: %s\n",
            p != NULL ? pt_pipeline_message(p, NULL) : pt_strerror(rc));
    free(all);
    pt_pipeline_free(p);
    return NULL;
  }
  *out = p;
  return all;
}

static void print_timeline(const char *dir, const pt_dump *logs, size_t count,
                           pt_trace_id *shown) {
  size_t origin = 0, total = 0;
  const pt_event *req = pick_request(logs, count, &origin);
  char hex[33];
  memset(shown, 0, sizeof *shown);
  if (req == NULL) {
    printf("\nNo client request in the logs: no timeline to show\n");
    return;
  }
  pt_trace_id id = req->trace_id;
  *shown = id;
  pt_pipeline *p = NULL;
  node_event *all = timeline_events(dir, count, &id, &p, &total);
  if (all == NULL) {
    return;
  }
  pt_trace_id_to_hex(&id, hex, sizeof hex);
  const uint8_t *h = req->data.app_start.data;
  printf("\nTimeline of one request: %s of chunk %02x%02x%02x%02x.., issued "
         "by node%zu, crossing %zu nodes\n",
         dmap_cmd_name(req->data.app_start.cmd), h[0], h[1], h[2], h[3], origin,
         nodes_reached(logs, count, &id));
  printf("  trace id %s: the events of every node's log that carry it,\n"
         "  merged in time order on node0's clock; the others' clocks are\n"
         "  aligned to it from the packets the nodes exchanged:\n",
         hex);
  for (size_t i = 0; i < count; i++) {
    print_clock(p, i);
  }
  printf("  %9s  %-6s %-12s %s\n", "t (ms)", "node", "event", "what happened");
  for (size_t k = 0; k < total; k++) {
    char what[200];
    describe(logs, count, all, k, what, sizeof what);
    printf("  %+9.3f  node%-2zu %-12s %s\n",
           (double)(all[k].ev.timestamp_us - all[0].ev.timestamp_us) / 1000.0,
           all[k].node, pt_event_kind_name(all[k].ev.kind), what);
  }
  free(all);
  pt_pipeline_free(p);
}

/* ---- Per-peer table ---------------------------------------------------- */

static void print_peer_table(const pt_dump *logs, size_t count, int link_loss) {
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
         "retransmitted their data);\n  %s\n"
         "  rtt: smoothed, when the handshake completed.\n",
         link_loss ? "the loss was made on the links, in the hub namespace on "
                     "the way to the receiver\n  (netem or the demo's link "
                     "emulator, demo_netns.h)."
                   : "the loss was injected on the receiving side (the demo "
                     "drops received datagrams).");
}

void demo_report_dumps(const char *dir, const pt_dump *dumps, size_t count,
                       int link_loss, pt_trace_id *shown) {
  print_timeline(dir, dumps, count, shown);
  print_peer_table(dumps, count, link_loss);
}

void demo_print_next_steps(const char *tool, const char *dir,
                           const pt_dump *dumps, size_t count,
                           const pt_trace_id *shown, int log_files) {
  char hex[33] = "TRACE_ID";
  if (!pt_trace_id_is_zero(shown)) {
    pt_trace_id_to_hex(shown, hex, sizeof hex);
    hex[8] = '\0'; /* any prefix selects a trace, as git's short hashes */
  }
  printf("\nNext: the same dumps with the peertrace tool (docs/cli.md), which "
         "names nodes by\nthe first 8 hex digits of their ids:");
  for (size_t i = 0; i < count; i++) {
    const uint8_t *id = dumps[i].info.node_id;
    printf("%s node%zu=%02x%02x%02x%02x", i ? "," : "", i, id[0], id[1], id[2],
           id[3]);
  }
  printf("\n");
  printf("  %s merge %s/*.ptd\n"
         "      every node's events as one timeline, then each trace id's "
         "path across the nodes\n",
         tool, dir);
  printf("  %s merge --by-trace --trace %s --kind "
         "app_start,app_command,app_end %s/*.ptd\n"
         "      the request shown above, node by node\n",
         tool, hex, dir);
  printf("  %s stats %s/*.ptd\n"
         "      per node and peer: packets, loss rate, bytes, rtt\n",
         tool, dir);
  printf("  %s export svg --trace %s -o trace.svg %s/*.ptd\n"
         "      that request as a sequence diagram (open trace.svg in a "
         "browser)\n",
         tool, hex, dir);
  printf("  %s export chrome -o trace.json %s/*.ptd\n"
         "      for ui.perfetto.dev; also: export otlp|json, and\n"
         "      export qlog --split DIR (a qvis file per connection)\n",
         tool, dir);
  if (log_files) {
    printf("  %s show %s/node1.ptlog\n"
           "      a node's own log file: readable while the node runs "
           "(`tail` follows it live)\n      and after it crashed\n",
           tool, dir);
  }
}

int demo_report(demo_net *net, const char *out_dir, const char *tool) {
  pt_dump dumps[DEMO_MAX_NODES];
  pt_trace_id shown;
  size_t n = demo_net_size(net);
  if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "demo: cannot create %s: %s\n", out_dir, strerror(errno));
    return -1;
  }
  demo_files_remove(out_dir);
  for (size_t i = 0; i < n; i++) {
    if (demo_dump_save(demo_net_log(net, i), out_dir, i) != 0) {
      return -1;
    }
  }
  if (demo_dumps_load(out_dir, n, dumps) != 0) {
    return -1;
  }
  demo_report_dumps(out_dir, dumps, n, 0, &shown); /* p2p_net drops */
  print_socket_counters(net);
  printf("\nEvent logs, one dump file per node (format: "
         "docs/dump-format.md)\n");
  for (size_t i = 0; i < n; i++) {
    char path[512];
    demo_dump_path(path, sizeof path, out_dir, i);
    printf("  %s: %zu events\n", path, dumps[i].count);
  }
  demo_print_next_steps(tool, out_dir, dumps, n, &shown, 0);
  demo_dumps_release(dumps, n);
  return 0;
}

#else /* !PT_TRACE */

int demo_report(demo_net *net, const char *out_dir, const char *tool) {
  (void)out_dir;
  (void)tool;
  printf("\nTracing is compiled out in this build: no timeline, no per-peer "
         "event table, no logs\n(and zero bytes of trace context on the "
         "wire).\n");
  print_socket_counters(net);
  return 0;
}

#endif /* PT_TRACE */
