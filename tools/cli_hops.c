/*
 * A request's hops and their packets (pt_request.h), printed after
 * `merge --trace ID` and by `peertrace request ID FILE...`.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <peertrace/pt_request.h>

#include "cli_commands.h"
#include "pt_grow.h"

#define CLI_HOPS_WIDTH 100 /* packet lists wrap here */
#define CLI_HOPS_RUN 4     /* this many plain packets in a row are joined */

/* Milliseconds with three significant digits or so: 0.412, 21.3, 153. */
static void cli_ms(char *out, size_t size, uint64_t us) {
  double ms = (double)us / 1000.0;
  snprintf(out, size, ms < 10 ? "%.3f" : ms < 100 ? "%.2f" : "%.1f", ms);
}

static void cli_node_name(char out[9], const cli_inputs *in, unsigned node) {
  if (node == PT_REQUEST_NO_NODE || node >= in->count) {
    snprintf(out, 9, "?");
    return;
  }
  cli_short_hex(out, in->inputs[node].info->node_id);
}

int cli_conns_has(const cli_conns *c, uint64_t conn) {
  for (size_t i = 0; i < c->n; i++) {
    if (c->v[i] == conn) {
      return 1;
    }
  }
  return 0;
}

static int cli_conns_add(cli_conns *c, uint64_t conn) {
  if (conn == 0 || cli_conns_has(c, conn)) {
    return 0; /* 0: no connection, never one of the set */
  }
  uint64_t *slot = pt__grow((void **)&c->v, &c->n, &c->cap, sizeof *slot, 1);
  if (slot == NULL) {
    return -1;
  }
  *slot = conn;
  return 0;
}

void cli_conns_free(cli_conns *c) {
  free(c->v);
  memset(c, 0, sizeof *c);
}

int cli_trace_conns(cli_inputs *in, const pt_trace_id *id, cli_conns *out,
                    uint64_t *first_us) {
  memset(out, 0, sizeof *out);
  *first_us = 0;
  pt_event ev;
  unsigned input;
  int more;
  if (cli_inputs_rewind(in) != 0) {
    return -1;
  }
  while ((more = cli_inputs_next(in, &ev, &input)) == 1) {
    if (memcmp(&ev.trace_id, id, sizeof *id) != 0) {
      continue;
    }
    if (*first_us == 0) {
      *first_us = ev.timestamp_us;
    }
    if (ev.kind == PT_EV_STREAM_DATA &&
        cli_conns_add(out, pt_event_conn(&ev)) != 0) {
      cli_error("hops", "out of memory");
      more = -1;
      break;
    }
  }
  if (more != 0 || cli_inputs_rewind(in) != 0) {
    cli_conns_free(out);
    return -1;
  }
  return 0;
}

/*
 * Feeds r the events of trace `id` and of the connections that carried its
 * streams (cli_trace_conns), so the packets of other connections are
 * never kept.  Their times are the pipeline's timeline (aligned unless
 * --raw-time).  *first_us: the trace's first event.  0, or -1 (printed).
 */
static int cli_hops_load(pt_request *r, cli_inputs *in, const pt_trace_id *id,
                         uint64_t *first_us) {
  for (unsigned i = 0; i < in->count; i++) {
    unsigned index;
    int rc = pt_request_add_node(r, in->inputs[i].info->node_id, &index);
    if (rc == PT_ERR_EXISTS) {
      cli_error(in->inputs[i].path, "a second file of the same node: its "
                                    "hops cannot be told apart");
      return -1;
    }
    if (rc != PT_OK) {
      cli_error("hops", "%s", pt_strerror(rc));
      return -1;
    }
  }
  /* Every event, whatever the command's filters (in the pipeline): the
   * trace's stream_data name its connections, whose events have other
   * trace ids, and merge's --kind must not take a hop's packets away. */
  if (cli_inputs_set_filter(in, NULL) != 0) {
    return -1;
  }
  cli_conns conns;
  if (cli_trace_conns(in, id, &conns, first_us) != 0) {
    return -1;
  }
  pt_event ev;
  unsigned input;
  int more;
  while ((more = cli_inputs_next(in, &ev, &input)) == 1) {
    if ((memcmp(&ev.trace_id, id, sizeof *id) == 0 ||
         cli_conns_has(&conns, pt_event_conn(&ev))) &&
        pt_request_add_event(r, input, &ev) != PT_OK) {
      cli_error("hops", "out of memory");
      more = -1;
      break;
    }
  }
  cli_conns_free(&conns);
  return more == 0 ? 0 : -1;
}

/*
 * Which clock the times are on, from the pipeline's estimates: "on node
 * X's clock, N nodes aligned to it (bound B us)" and the nodes left as
 * recorded, or "as recorded (--raw-time)".
 */
static void cli_hops_clocks(const cli_inputs *in, char *out, size_t size) {
  unsigned ref = pt_pipeline_reference(in->pipeline);
  pt_clock_estimate e;
  if (pt_pipeline_clock(in->pipeline, ref, &e) != PT_OK ||
      e.status != PT_CLOCK_REFERENCE) {
    snprintf(out, size, "as recorded (--raw-time)");
    return;
  }
  char name[9];
  cli_node_name(name, in, ref);
  unsigned aligned = 0;
  double bound = 0;
  size_t n = (size_t)snprintf(out, size, "on node %s's clock", name);
  for (unsigned i = 0; i < in->count && n < size; i++) {
    if (i == ref || pt_pipeline_clock(in->pipeline, i, &e) != PT_OK) {
      continue;
    }
    if (e.status == PT_CLOCK_ALIGNED) {
      aligned++;
      bound = e.bound_us > bound ? e.bound_us : bound;
      continue;
    }
    cli_node_name(name, in, i);
    n += (size_t)snprintf(out + n, size - n, ", %s not aligned (as recorded)",
                          name);
  }
  if (aligned > 0 && n < size) {
    snprintf(out + n, size - n, ", %u node%s aligned to it (bound %.1f us)",
             aligned, aligned == 1 ? "" : "s", bound);
  }
}

/* Prints "item" with ", " before it, wrapping at CLI_HOPS_WIDTH. */
static void cli_put(int *col, int *first, const char *item, int visible) {
  if (!*first) {
    fputs(",", stdout);
    (*col)++;
    if (*col + 1 + visible > CLI_HOPS_WIDTH) {
      fputs("\n       ", stdout);
      *col = 7;
    } else {
      fputs(" ", stdout);
      (*col)++;
    }
  }
  *first = 0;
  fputs(item, stdout);
  *col += visible;
}

typedef struct cli_hops_ctx {
  pt_request *r;
  const cli_style *s;
  const cli_inputs *in;
  uint64_t base_us;
  unsigned hops; /* printed so far */
} cli_hops_ctx;

/* "retransmits" a lost packet's bytes, or "repeats" those of one that was
 * not lost. */
static const char *cli_retransmits_verb(const pt_request_packet *p) {
  return p->retransmits_lost ? "retransmits" : "repeats";
}

/* " (retransmits 7's bytes 0..999)": what a lost packet carried again. */
static int cli_retransmits_text(const pt_request_packet *p, char *out,
                                size_t size) {
  int n = snprintf(
      out, size, " (%s %llu's bytes %llu..%llu)", cli_retransmits_verb(p),
      (unsigned long long)p->retransmits_pn,
      (unsigned long long)p->retransmits_offset,
      (unsigned long long)(p->retransmits_offset + p->retransmits_length - 1));
  return n < 0 ? 0 : (n < (int)size ? n : (int)size - 1);
}

/* The packets line(s) of a hop: "packets 5 (1200 B, +0.102 ms), 6 LOST". */
static void cli_print_packets(const cli_hops_ctx *x, const pt_request_hop *h,
                              const pt__packet_list *pk) {
  const cli_style *s = x->s;
  int col =
      printf("    stream %llu of conn %.8llx, bytes %llu..%llu: packets",
             (unsigned long long)h->stream_id,
             (unsigned long long)(h->conn >> 32), (unsigned long long)h->offset,
             (unsigned long long)(h->offset + h->length - 1));
  int first = 1;
  fputs(" ", stdout);
  col++;
  for (size_t i = 0; i < pk->n;) {
    const pt_request_packet *p = &pk->v[i];
    char item[160], ms[32], ms2[32];
    size_t run = 0;
    while (i + run < pk->n && pt__packet_plain(&pk->v[i + run])) {
      run++;
    }
    if (run >= CLI_HOPS_RUN) {
      uint64_t bytes = 0;
      for (size_t k = 0; k < run; k++) {
        bytes += pk->v[i + k].size;
      }
      const pt_request_packet *last = &pk->v[i + run - 1];
      cli_rel_time(ms, sizeof ms, p->received_us, h->sent_us);
      cli_rel_time(ms2, sizeof ms2, last->received_us, h->sent_us);
      int n = snprintf(item, sizeof item,
                       "%llu..%llu (%zu packets, %llu B, "
                       "%s..%s)",
                       (unsigned long long)p->pn, (unsigned long long)last->pn,
                       run, (unsigned long long)bytes, ms, ms2);
      cli_put(&col, &first, item, n);
      i += run;
      continue;
    }
    int n;
    if (p->lost) {
      n = snprintf(item, sizeof item, "%llu %sLOST%s",
                   (unsigned long long)p->pn, cli_colour(s, CLI_RED),
                   cli_colour(s, CLI_RESET));
      int vis = snprintf(NULL, 0, "%llu LOST", (unsigned long long)p->pn);
      if (p->retransmits) { /* a retransmission that was lost in turn */
        int m = cli_retransmits_text(p, item + n, sizeof item - (size_t)n);
        n += m;
        vis += m;
      }
      if (p->received_us != 0) {
        cli_rel_time(ms, sizeof ms, p->received_us, h->sent_us);
        n += snprintf(item + n, sizeof item - (size_t)n, " (arrived %s)", ms);
        vis += snprintf(NULL, 0, " (arrived %s)", ms);
      }
      cli_put(&col, &first, item, vis);
      i++;
      continue;
    }
    n = snprintf(item, sizeof item, "%llu (", (unsigned long long)p->pn);
    if (p->retransmits) {
      n += snprintf(item + n, sizeof item - (size_t)n,
                    "%s %llu's bytes "
                    "%llu..%llu, ",
                    cli_retransmits_verb(p),
                    (unsigned long long)p->retransmits_pn,
                    (unsigned long long)p->retransmits_offset,
                    (unsigned long long)(p->retransmits_offset +
                                         p->retransmits_length - 1));
    } else {
      n += snprintf(item + n, sizeof item - (size_t)n, "%u B, ", p->size);
    }
    if (p->received_us != 0) {
      cli_rel_time(ms, sizeof ms, p->received_us, h->sent_us);
      n += snprintf(item + n, sizeof item - (size_t)n, "%s)", ms);
    } else {
      n += snprintf(item + n, sizeof item - (size_t)n, "not received)");
    }
    cli_put(&col, &first, item, n);
    i++;
  }
  char ms[32];
  if (h->lost > 0 && h->recovered) {
    cli_ms(ms, sizeof ms, h->recovery_us);
    printf(": recovered in %s ms", ms);
  } else if (h->lost > 0) {
    printf(": %snot recovered%s in the trace", cli_colour(s, CLI_RED),
           cli_colour(s, CLI_RESET));
  }
  if (h->uncovered > 0) {
    printf("; %llu bytes in no recorded packet",
           (unsigned long long)h->uncovered);
  }
  printf("\n");
}

static int cli_print_hop(const pt_request_hop *h, void *user) {
  cli_hops_ctx *x = user;
  x->hops++;
  char from[9], to[9], name[64], sent[32], recv[32], end[48] = "";
  cli_node_name(from, x->in, h->sender);
  cli_node_name(to, x->in, h->receiver);
  pt_event ev; /* cli_app_name names a command from an app event */
  memset(&ev, 0, sizeof ev);
  ev.kind = PT_EV_APP_COMMAND;
  memcpy(ev.data.app_command.app_id, h->app_id, 4);
  ev.data.app_command.cmd = h->cmd;
  if (!cli_app_name(&ev, name, sizeof name)) {
    snprintf(name, sizeof name, "%.4s/%u", (const char *)h->app_id, h->cmd);
  }
  snprintf(sent, sizeof sent, "-");
  snprintf(recv, sizeof recv, "-");
  if (h->sent_us) {
    cli_rel_time(sent, sizeof sent, h->sent_us, x->base_us);
  }
  if (h->received_us) {
    cli_rel_time(recv, sizeof recv, h->received_us, x->base_us);
  }
  if (h->kind == PT_HOP_REQUEST && h->end_us) {
    char t[32];
    cli_rel_time(t, sizeof t, h->end_us, x->base_us);
    snprintf(end, sizeof end, ", ended %s", t);
  }
  const char *ok = h->ok == 1 ? "ok" : h->ok == 0 ? "FAILED" : "no end seen";
  printf("  %shop %u%s: %-7s %s -> %s  %s  sent %s, %s %s%s, %s%s%s\n",
         cli_colour(x->s, CLI_CYAN), h->index + 1, cli_colour(x->s, CLI_RESET),
         h->kind == PT_HOP_REQUEST ? "request" : "reply", from, to, name, sent,
         h->kind == PT_HOP_REQUEST ? "started" : "received", recv, end,
         h->ok == 0 ? cli_colour(x->s, CLI_RED) : "", ok,
         h->ok == 0 ? cli_colour(x->s, CLI_RESET) : "");
  if (!h->has_stream) {
    printf("    no stream recorded for this hop\n");
    return 0;
  }
  pt__packet_list pk = {NULL, 0, 0};
  int rc = pt_request_packets(x->r, h, pt__packet_list_add, &pk);
  if (rc == PT_OK && pk.n == 0) {
    printf("    stream %llu of conn %.8llx, bytes %llu..%llu: no packet of "
           "these bytes in the trace\n",
           (unsigned long long)h->stream_id,
           (unsigned long long)(h->conn >> 32), (unsigned long long)h->offset,
           (unsigned long long)(h->offset + h->length - 1));
  } else if (rc == PT_OK) {
    cli_print_packets(x, h, &pk);
  }
  free(pk.v);
  return rc;
}

/* Prints the hops of trace id; 0 or -1 (printed). */
static int cli_hops_print(const cli_style *s, cli_inputs *in,
                          const pt_trace_id *id) {
  pt_request *r;
  if (pt_request_new(&r) != PT_OK) {
    cli_error("hops", "out of memory");
    return -1;
  }
  cli_hops_ctx x = {r, s, in, 0, 0};
  if (cli_hops_load(r, in, id, &x.base_us) != 0) {
    pt_request_free(r);
    return -1;
  }
  char hex[33], clocks[512];
  pt_trace_id_to_hex(id, hex, sizeof hex);
  cli_hops_clocks(in, clocks, sizeof clocks);
  printf("\n%shops of trace %s%s (times from the trace's first event, %s; "
         "packets: +time received after the hop was sent)\n",
         cli_colour(s, CLI_CYAN), hex, cli_colour(s, CLI_RESET), clocks);
  int rc = pt_request_hops(r, id, cli_print_hop, &x);
  if (rc == PT_ERR_NOT_FOUND) {
    printf("  no app or stream event of this trace: no hop\n");
    rc = PT_OK;
  } else if (rc == PT_OK && x.hops == 0) {
    printf("  no hop: no app_command of this trace (a request that stayed "
           "on its node)\n");
  }
  if (rc != PT_OK) {
    cli_error("hops", "%s", pt_strerror(rc));
  }
  pt_request_free(r);
  return rc == PT_OK ? 0 : -1;
}

int cli_hops_after_merge(const cli_args *a, cli_inputs *in) {
  pt_trace_id id;
  if (a->filter.trace_prefix[0] == '\0' ||
      pt_trace_id_from_hex(a->filter.trace_prefix,
                           strlen(a->filter.trace_prefix), &id) != PT_OK) {
    return CLI_EXIT_OK; /* no --trace: no hops */
  }
  return cli_hops_print(&a->style, in, &id) == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

int cli_request(int argc, char **argv) {
  static const char help[] =
      "usage: peertrace request [--raw-time] [--color=WHEN] TRACE FILE...\n"
      "The hops of one request (TRACE: its trace id or a unique prefix) and\n"
      "the packets that carried each hop: for every hop (app_command ->\n"
      "app_start, and the reply app_end -> app_end) its nodes, times and\n"
      "outcome, then its stream (conn, stream id, bytes) and its packets:\n"
      "number, size and when it arrived after the hop was sent, LOST, which\n"
      "lost packet's bytes a packet retransmits (or repeats, for one not\n"
      "declared lost), and how long recovery took.  Four or more plain\n"
      "packets in a row are shown as one range.\n"
      "`merge --trace ID` prints the same after its timeline.\n";
  /* TRACE is the first positional: hand it to the parser as --trace. */
  char **args = calloc((size_t)argc + 2, sizeof *args);
  if (args == NULL) {
    cli_error(argv[0], "out of memory");
    return CLI_EXIT_ERROR;
  }
  int n = 0, have_trace = 0;
  args[n++] = argv[0];
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--trace") == 0 || strcmp(arg, "--peer") == 0 ||
        strcmp(arg, "--since") == 0 || strcmp(arg, "--until") == 0 ||
        strcmp(arg, "--kind") == 0) {
      cli_error(argv[0], "%s: no filters here (see --help)", arg);
      free(args);
      return CLI_EXIT_USAGE;
    }
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      /* The help without the filters, which request does not take. */
      cli_args h;
      char *only_help[] = {argv[0], (char *)"--help"};
      int rc = cli_parse_args(2, only_help, CLI_ARG_CLOCK, help, &h);
      cli_args_free(&h);
      free(args);
      return rc;
    }
    if (!have_trace && arg[0] != '-') {
      args[n++] = (char *)"--trace";
      have_trace = 1;
    }
    args[n++] = (char *)arg;
  }
  cli_args a;
  cli_inputs in;
  int rc = cli_start(n, args, CLI_ARG_FILTER | CLI_ARG_CLOCK, help, &a, &in);
  if (rc == CLI_GO_ON && !have_trace) {
    cli_error(argv[0], "which trace? (see --help)");
    cli_stop(&a, &in);
    rc = CLI_EXIT_USAGE;
  } else if (rc == CLI_GO_ON) {
    rc = cli_hops_after_merge(&a, &in);
    cli_stop(&a, &in);
  }
  free(args);
  return rc;
}
