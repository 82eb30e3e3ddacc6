/*
 * peertrace stats (per-peer connection analysis) and merge (one timeline of
 * several nodes, with how each trace crossed them).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "cli_commands.h"
#include "pt_common.h"
#include "pt_grow.h"

/* ---- stats -------------------------------------------------------------- */

typedef struct cli_peer {
  unsigned node; /* input index */
  uint8_t peer_id[32];
  int known; /* 0: events whose peer could not be told */
  pt_peer_stats st;
} cli_peer;

typedef struct cli_peers {
  cli_peer *peers;
  size_t count, cap;
} cli_peers;

static cli_peer *cli_peer_get(cli_peers *p, unsigned node,
                              const uint8_t *peer_id) {
  for (size_t i = 0; i < p->count; i++) {
    cli_peer *c = &p->peers[i];
    if (c->node == node && c->known == (peer_id != NULL) &&
        (peer_id == NULL || memcmp(c->peer_id, peer_id, 32) == 0)) {
      return c;
    }
  }
  cli_peer *c = pt__grow((void **)&p->peers, &p->count, &p->cap, sizeof *c, 1);
  if (c == NULL) {
    return NULL;
  }
  memset(c, 0, sizeof *c);
  c->node = node;
  c->known = peer_id != NULL;
  if (peer_id != NULL) {
    memcpy(c->peer_id, peer_id, 32);
  }
  return c;
}

static int cli_peer_compare(const void *x, const void *y) {
  const cli_peer *a = x;
  const cli_peer *b = y;
  PT__CMP(a->node, b->node);
  PT__CMP(b->known, a->known); /* known peers first */
  return memcmp(a->peer_id, b->peer_id, 32);
}

/* Which peer an event belongs to: its own peer id, else its trace's. */
static cli_peer *cli_event_peer(cli_peers *peers, cli_map *trace_peer,
                                unsigned node, const pt_event *ev) {
  if (ev->flags & PT_EVENT_HAS_PEER) {
    cli_peer *c = cli_peer_get(peers, node, ev->peer_id);
    if (c != NULL && !pt_trace_id_is_zero(&ev->trace_id)) {
      /* Later packets of this trace on this node belong to this peer. */
      size_t *slot = cli_map_get(trace_peer, &ev->trace_id, node, 1, NULL);
      if (slot != NULL) {
        *slot = (size_t)(c - peers->peers) + 1;
      }
    }
    return c;
  }
  size_t *slot = cli_map_get(trace_peer, &ev->trace_id, node, 0, NULL);
  if (slot != NULL && *slot != 0) {
    return &peers->peers[*slot - 1];
  }
  return cli_peer_get(peers, node, NULL);
}

static void cli_print_peers(const cli_style *s, cli_peers *peers,
                            const cli_inputs *in) {
  if (peers->count >
      0) { /* no events: peers is NULL, which qsort must not get */
    qsort(peers->peers, peers->count, sizeof *peers->peers, cli_peer_compare);
  }
  printf("%s%-8s  %-8s  %8s %8s %6s %6s %11s %11s %9s %14s %14s%s\n",
         cli_colour(s, CLI_DIM), "NODE", "PEER", "SENT", "RECV", "LOST",
         "LOSS%", "BYTES_OUT", "BYTES_IN", "RTT_ms", "FIRST", "LAST",
         cli_colour(s, CLI_RESET));
  for (size_t i = 0; i < peers->count; i++) {
    const cli_peer *p = &peers->peers[i];
    const pt_peer_stats *c = &p->st;
    const pt_dump_info *info = in->inputs[p->node].info;
    char node[9], peer[9] = "?", loss[16] = "-", rtt[16] = "-";
    char first[32], last[32];
    cli_short_hex(node, info->node_id);
    if (p->known) {
      cli_short_hex(peer, p->peer_id);
    }
    if (c->packets_sent > 0) {
      snprintf(loss, sizeof loss, "%.2f",
               100.0 * (double)c->packets_lost / (double)c->packets_sent);
    }
    if (c->last_rtt_us > 0) {
      snprintf(rtt, sizeof rtt, "%u.%03u", c->last_rtt_us / 1000,
               c->last_rtt_us % 1000);
    }
    cli_rel_time(first, sizeof first, c->first_seen_us, in->first_us);
    cli_rel_time(last, sizeof last, c->last_seen_us, in->first_us);
    printf("%-8s  %-8s  %8llu %8llu %s%6llu%s %6s %11llu %11llu %9s %14s "
           "%14s\n",
           node, peer, (unsigned long long)c->packets_sent,
           (unsigned long long)c->packets_received,
           c->packets_lost ? cli_colour(s, CLI_RED) : "",
           (unsigned long long)c->packets_lost,
           c->packets_lost ? cli_colour(s, CLI_RESET) : "", loss,
           (unsigned long long)c->bytes_sent,
           (unsigned long long)c->bytes_received, rtt, first, last);
  }
  printf("%s? = events whose peer is unknown (no peer id and no earlier "
         "event of their trace with one)%s\n",
         cli_colour(s, CLI_DIM), cli_colour(s, CLI_RESET));
}

int cli_stats(int argc, char **argv) {
  cli_args a;
  cli_inputs in;
  int rc = cli_start(
      argc, argv, CLI_ARG_FILTER,
      "usage: peertrace stats [FILTERS] DUMP...\n"
      "Per node and peer: packets sent, received and lost, loss rate (lost /\n"
      "sent), bytes each way, the handshake rtt, first and last seen.\n"
      "Packet events without a peer id count for the peer of the earlier\n"
      "connection events of the same trace id on the same node.\n",
      &a, &in);
  if (rc != CLI_GO_ON) {
    return rc;
  }
  cli_peers peers = {NULL, 0, 0};
  cli_map trace_peer;
  if (cli_map_init(&trace_peer, sizeof(size_t)) != 0) {
    cli_error(argv[0], "out of memory");
    rc = CLI_EXIT_ERROR;
    goto done;
  }
  pt_event ev;
  unsigned input;
  while ((rc = cli_inputs_next(&in, &ev, &input)) == 1) {
    cli_peer *c = cli_event_peer(&peers, &trace_peer, input, &ev);
    if (c == NULL) {
      cli_error(argv[0], "out of memory");
      rc = -1;
      break;
    }
    pt_peer_stats_add(&c->st, &ev);
  }
  if (rc == 0) {
    cli_print_peers(&a.style, &peers, &in);
  }
  rc = rc == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
done:
  free(peers.peers);
  cli_map_free(&trace_peer);
  cli_stop(&a, &in);
  return rc;
}

/* ---- merge -------------------------------------------------------------- */

#define CLI_PATH_MAX 12

typedef struct cli_trace {
  pt_trace_id id;
  uint64_t first_us, last_us, events;
  uint32_t last_node; /* input index + 1 */
  uint32_t hops;
  uint8_t path[CLI_PATH_MAX]; /* nodes (inputs) in order of first visit */
  uint8_t path_len;
} cli_trace;

static int cli_trace_compare(const void *x, const void *y) {
  const cli_trace *a = x;
  const cli_trace *b = y;
  PT__CMP(a->first_us, b->first_us);
  return memcmp(&a->id, &b->id, sizeof a->id);
}

/* The traces of the map, sorted by start; *n of them; NULL if no memory. */
static cli_trace *cli_trace_list(const cli_map *traces, size_t *n) {
  cli_trace *list = malloc((traces->count + 1) * sizeof *list);
  if (list == NULL) {
    return NULL;
  }
  *n = 0;
  const cli_trace *values = traces->values;
  for (size_t i = 0; i < traces->cap; i++) {
    if (values[i].events > 0) {
      list[(*n)++] = values[i];
    }
  }
  qsort(list, *n, sizeof *list, cli_trace_compare);
  return list;
}

static void cli_print_traces(const cli_style *s, cli_map *traces,
                             const cli_inputs *in) {
  size_t n;
  cli_trace *list = cli_trace_list(traces, &n);
  if (list == NULL) {
    cli_error("merge", "out of memory for the trace summary");
    return;
  }
  printf("\n%s%-8s  %-14s %10s %7s %5s  %s%s\n", cli_colour(s, CLI_DIM),
         "TRACE", "START", "DURATION", "EVENTS", "HOPS", "NODES (first visit)",
         cli_colour(s, CLI_RESET));
  for (size_t i = 0; i < n; i++) {
    const cli_trace *t = &list[i];
    char trace[9], start[32], duration[32];
    cli_short_hex(trace, t->id.bytes);
    cli_rel_time(start, sizeof start, t->first_us, in->first_us);
    cli_rel_time(duration, sizeof duration, t->last_us, t->first_us);
    printf("%-8s  %-14s %10s %7llu %5u  ", trace, start, duration + 1,
           (unsigned long long)t->events, t->hops);
    for (unsigned k = 0; k < t->path_len; k++) {
      char node[9];
      cli_short_hex(node, in->inputs[t->path[k]].info->node_id);
      printf("%s%s", k ? " -> " : "", node);
    }
    printf("\n");
  }
  free(list);
}

/*
 * Counts ev (of input `input`) in its trace t; writes "<- NODE" to marker
 * if the trace was last seen on another node.
 */
static void cli_trace_step(cli_trace *t, const pt_event *ev, unsigned input,
                           const cli_inputs *in, const cli_style *s,
                           char *marker, size_t marker_size) {
  marker[0] = '\0';
  if (t->events == 0) {
    t->id = ev->trace_id;
    t->first_us = ev->timestamp_us;
  }
  if (t->last_node != input + 1) {
    if (t->last_node != 0) {
      char from[9];
      cli_short_hex(from, in->inputs[t->last_node - 1].info->node_id);
      snprintf(marker, marker_size, "  %s<- %s%s", cli_colour(s, CLI_CYAN),
               from, cli_colour(s, CLI_RESET));
      t->hops++;
    }
    int visited = 0;
    for (unsigned k = 0; k < t->path_len; k++) {
      visited |= t->path[k] == input;
    }
    if (!visited && t->path_len < CLI_PATH_MAX) {
      t->path[t->path_len++] = (uint8_t)input;
    }
    t->last_node = input + 1;
  }
  t->last_us = ev->timestamp_us;
  t->events++;
}

#define CLI_GROUP_MAX 256

/*
 * merge --by-trace: the timeline of each trace in turn (by start time), one
 * pass over the dumps per trace, so memory stays constant; at most
 * CLI_GROUP_MAX traces.
 */
static int cli_merge_by_trace(cli_args *a, cli_inputs *in, cli_map *traces) {
  size_t n;
  cli_trace *list = cli_trace_list(traces, &n);
  if (list == NULL) {
    cli_error("merge", "out of memory");
    return CLI_EXIT_ERROR;
  }
  if (n > CLI_GROUP_MAX) {
    cli_error("merge",
              "--by-trace: %zu traces, at most %d: narrow with "
              "--trace, --since or --until",
              n, CLI_GROUP_MAX);
    free(list);
    return CLI_EXIT_USAGE;
  }
  pt_pipeline_filter trace_filter = a->filter.lib;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const cli_trace *t = &list[i];
    char hex[33], duration[32];
    pt_trace_id_to_hex(&t->id, hex, sizeof hex);
    cli_rel_time(duration, sizeof duration, t->last_us, t->first_us);
    printf("%s%strace %s%s: %llu events, %u hops, %s\n", i ? "\n" : "",
           cli_colour(&a->style, CLI_CYAN), hex,
           cli_colour(&a->style, CLI_RESET), (unsigned long long)t->events,
           t->hops, duration + 1);
    cli_print_event_header(&a->style);
    trace_filter.trace = t->id;
    trace_filter.trace_nibbles = 32;
    if (cli_inputs_set_filter(in, &trace_filter) != 0 ||
        cli_inputs_rewind(in) != 0) {
      rc = -1;
      break;
    }
    cli_trace step;
    memset(&step, 0, sizeof step);
    pt_event ev;
    unsigned input;
    while ((rc = cli_inputs_next(in, &ev, &input)) == 1) {
      char marker[48];
      cli_trace_step(&step, &ev, input, in, &a->style, marker, sizeof marker);
      cli_print_event(&a->style, &ev, in->inputs[input].info->node_id,
                      t->first_us, marker);
    }
  }
  free(list);
  if (rc == 0) {
    cli_print_traces(&a->style, traces, in);
  }
  return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

int cli_merge(int argc, char **argv) {
  cli_args a;
  cli_inputs in;
  int rc = cli_start(
      argc, argv, CLI_ARG_FILTER | CLI_ARG_GROUP | CLI_ARG_CLOCK,
      "usage: peertrace merge [--by-trace] [--raw-time | --reference N] "
      "[FILTERS] DUMP...\n"
      "Merges the dumps of several nodes into one timeline ordered by time\n"
      "(streamed: memory does not grow with the events), on the clock of\n"
      "the first dump (or --reference N): first a line per node, \"clock: NODE "
      "FILE: ...\",\n"
      "says how its times were aligned, or that they were not.  An event "
      "whose\n"
      "trace was last seen on another node is marked \"<- NODE\": the\n"
      "request crossed nodes there.  Then one line per trace id: start,\n"
      "duration, events, hops (changes of node along the timeline) and the\n"
      "nodes it reached, in the order it reached them.\n"
      "  --by-trace      one timeline per trace id instead, each from its\n"
      "                  start (one pass over the dumps per trace; at most\n"
      "                  256 traces: narrow with the filters); events\n"
      "                  without a trace id are left out\n",
      &a, &in);
  if (rc != CLI_GO_ON) {
    return rc;
  }
  cli_map traces;
  if (cli_map_init(&traces, sizeof(cli_trace)) != 0) {
    cli_error(argv[0], "out of memory");
    cli_stop(&a, &in);
    return CLI_EXIT_ERROR;
  }
  if (in.count > 255) {
    cli_error(argv[0], "at most 255 dumps");
    rc = CLI_EXIT_USAGE;
    goto done;
  }
  cli_clock_report(&in, &a.style, 1);
  if (!a.by_trace) {
    cli_print_event_header(&a.style);
  }
  pt_event ev;
  unsigned input;
  while ((rc = cli_inputs_next(&in, &ev, &input)) == 1) {
    char marker[48] = "";
    if (!pt_trace_id_is_zero(&ev.trace_id)) {
      cli_trace *t = cli_map_get(&traces, &ev.trace_id, 0, 1, NULL);
      if (t == NULL) {
        cli_error(argv[0], "out of memory");
        rc = -1;
        break;
      }
      cli_trace_step(t, &ev, input, &in, &a.style, marker, sizeof marker);
    }
    if (!a.by_trace) {
      cli_print_event(&a.style, &ev, in.inputs[input].info->node_id,
                      a.filter.base_us, marker);
    }
  }
  if (rc == 0 && a.by_trace) {
    rc = cli_merge_by_trace(&a, &in, &traces);
  } else if (rc == 0) {
    cli_print_traces(&a.style, &traces, &in);
    rc = CLI_EXIT_OK;
  } else {
    rc = CLI_EXIT_ERROR;
  }
  if (rc == CLI_EXIT_OK) {
    rc = cli_hops_after_merge(&a, &in); /* --trace: its hops' packets */
  }
done:
  cli_map_free(&traces);
  cli_stop(&a, &in);
  return rc;
}
