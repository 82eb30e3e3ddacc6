/*
 * basic_node: the smallest program that records and queries events.
 *
 * A "node" with a trace-only log records a simulated request: a connection,
 * a few packets (one lost), and queries its log at the end.  Built with
 * tracing off (the release preset) every trace line below vanishes and the
 * program only does its own work.
 */
#include <peertrace/peertrace.h>

#include <stdio.h>
#include <string.h>

struct node {
  const char *name;
  unsigned packets_sent;
  PT_TRACE_FIELD(pt_log *log;)
  PT_TRACE_FIELD(pt_trace_ctx trace;)
};

static void send_packets(struct node *node, const uint8_t peer[32]) {
  (void)peer;
  for (uint64_t pn = 0; pn < 8; pn++) {
    /* A value computed only for tracing would go inside PT_IF_TRACE. */
    PT_PACKET_SENT(node->log, node->trace.trace_id, 1200, pn);
    node->packets_sent++;
    if (pn == 5) {
      PT_PACKET_LOST(node->log, node->trace.trace_id, pn);
    }
  }
}

int main(void) {
  struct node node = {.name = "node-a", .packets_sent = 0};
  uint8_t peer[32];
  memset(peer, 0xab, sizeof peer);

  PT_IF_TRACE({
    pt_log_config cfg;
    pt_log_config_init(&cfg);
    memset(cfg.node_id, 0x11, sizeof cfg.node_id);
    int rv = pt_log_create(&node.log, &cfg);
    if (rv != PT_OK) {
      fprintf(stderr, "pt_log_create: %s\n", pt_strerror(rv));
      return 1;
    }
    node.trace = pt_trace_ctx_new(PT_FLAG_SAMPLED);
  })

  PT_IF_TRACE({
    pt_endpoint ep;
    memset(&ep, 0, sizeof ep);
    ep.family = 4;
    ep.port = 4433;
    ep.addr[0] = 127;
    ep.addr[3] = 1;
    PT_CONN_INIT(node.log, node.trace.trace_id, peer, ep);
    PT_CONN_ESTABLISHED(node.log, node.trace.trace_id, peer, 850);
  })
  send_packets(&node, peer);
  printf("%s sent %u packets\n", node.name, node.packets_sent);

  PT_IF_TRACE({
    pt_event *events = NULL;
    size_t count = 0;
    char hex[33];
    pt_trace_id_to_hex(&node.trace.trace_id, hex, sizeof hex);
    if (pt_log_query_trace(node.log, &node.trace.trace_id, &events, &count) ==
        PT_OK) {
      printf("trace %s: %zu events\n", hex, count);
      for (size_t i = 0; i < count; i++) {
        char line[256];
        pt_event_format(&events[i], line, sizeof line);
        printf("  +%6llu us  %s\n",
               (unsigned long long)(events[i].timestamp_us -
                                    events[0].timestamp_us),
               line);
      }
      pt_events_free(events);
    }
    pt_log_destroy(node.log);
  })
  return 0;
}
