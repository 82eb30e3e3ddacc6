/*
 * peertrace clocks: each node's clock against a reference node, estimated
 * from the packets the nodes exchanged (pt_align.h, docs/clocks.md).
 * peertrace pairs: the packets matched across nodes, per link and
 * direction, and the packets sent but never received.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <peertrace/pt_align.h>

#include "cli.h"
#include "cli_commands.h"

/* The inputs through the pipeline, its clocks aligned (pt_pipeline.h). */
typedef struct clk_run {
  cli_args args;
  cli_inputs in;
  const pt_align *align; /* the pipeline's, solved; NULL with one input */
  unsigned *node_of;     /* input -> node (the aligner's index) */
  unsigned nodes;
  unsigned reference; /* node */
  int json, list;
} clk_run;

static const char *const clk_status_names[] = {
    "unsolved", "reference", "aligned", "unaligned", "inconsistent"};

static const char *clk_status(pt_clock_status s) {
  return (unsigned)s < 5 ? clk_status_names[s] : "?";
}

/* The input that first named node n (for its id, file name and clock). */
static unsigned clk_input_of(const clk_run *r, unsigned n) {
  for (unsigned i = 0; i < r->in.count; i++) {
    if (r->node_of[i] == n) {
      return i;
    }
  }
  return 0;
}

static const uint8_t *clk_node_id(const clk_run *r, unsigned n) {
  return r->in.inputs[clk_input_of(r, n)].info->node_id;
}

/* Node n's clock as the pipeline aligned it. */
static void clk_estimate(const clk_run *r, unsigned n, pt_clock_estimate *e) {
  if (pt_pipeline_clock(r->in.pipeline, clk_input_of(r, n), e) != PT_OK) {
    memset(e, 0, sizeof *e); /* cannot happen: started, index in range */
  }
}

static void clk_free(clk_run *r) {
  free(r->node_of);
  cli_stop(&r->args, &r->in);
}

/*
 * Takes the command's own options out of argv (--json, --list if
 * `list_ok`), opens the rest with cli_start on aligned clocks (--max-drift,
 * and --reference unless `list_ok`: the pipeline loads and solves the
 * alignment) and numbers the nodes as the aligner does: inputs of one node
 * id are one clock.  CLI_GO_ON, or the exit code (printed).
 */
static int clk_load(int argc, char **argv, const char *help, int list_ok,
                    clk_run *r) {
  memset(r, 0, sizeof *r);
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  if (rest == NULL) {
    cli_error(argv[0], "out of memory");
    return CLI_EXIT_ERROR;
  }
  int n = 0;
  rest[n++] = argv[0];
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      r->json = 1;
    } else if (list_ok && strcmp(argv[i], "--list") == 0) {
      r->list = 1;
    } else {
      rest[n++] = argv[i];
    }
  }
  unsigned accepts = CLI_ARG_MAX_DRIFT | (list_ok ? 0 : CLI_ARG_REFERENCE);
  int rc = cli_start(n, rest, accepts, help, &r->args, &r->in);
  free(rest);
  if (rc != CLI_GO_ON) {
    return rc;
  }
  r->node_of = calloc(r->in.count, sizeof *r->node_of);
  if (r->node_of == NULL) {
    cli_error(argv[0], "out of memory");
    clk_free(r);
    return CLI_EXIT_ERROR;
  }
  for (unsigned i = 0; i < r->in.count; i++) {
    unsigned same = 0;
    while (same < i && memcmp(r->in.inputs[same].info->node_id,
                              r->in.inputs[i].info->node_id, 32) != 0) {
      same++;
    }
    if (same < i) {
      /* Two files of one node (a dump and its log, say): one clock. */
      r->node_of[i] = r->node_of[same];
      fprintf(stderr, "peertrace: %s: the same node as %s: read as one clock\n",
              r->in.inputs[i].path, r->in.inputs[same].path);
    } else {
      r->node_of[i] = r->nodes++;
    }
  }
  r->align = pt_pipeline_aligner(r->in.pipeline);
  r->reference = r->node_of[pt_pipeline_reference(r->in.pipeline)];
  return CLI_GO_ON;
}

static void clk_hex(char out[65], const uint8_t id[32]) {
  for (int i = 0; i < 32; i++) {
    snprintf(out + 2 * i, 3, "%02x", id[i]);
  }
}

/* A JSON number, or null for what is not finite (unknown). */
static void clk_json_num(const char *name, double v, const char *after) {
  if (isfinite(v)) {
    printf("\"%s\": %.3f%s", name, v, after);
  } else {
    printf("\"%s\": null%s", name, after);
  }
}

static void clk_print_json(const clk_run *r) {
  char hex[65];
  clk_hex(hex, clk_node_id(r, r->reference));
  printf("{\"reference\": \"%s\", \"nodes\": [", hex);
  for (unsigned n = 0; n < r->nodes; n++) {
    pt_clock_estimate e;
    clk_estimate(r, n, &e);
    clk_hex(hex, clk_node_id(r, n));
    printf("%s\n  {\"node\": \"%s\", \"index\": %u, \"status\": \"%s\", ",
           n ? "," : "", hex, n, clk_status(e.status));
    clk_json_num("offset_us", e.offset_us, ", ");
    clk_json_num("drift_ppm", e.drift_ppm, ", ");
    printf("\"t0_us\": %llu, ", (unsigned long long)e.t0_us);
    clk_json_num("bound_us", e.bound_us, ", ");
    clk_json_num("best_bound_us", e.best_bound_us, ", ");
    printf("\"best_at_us\": %llu, ", (unsigned long long)e.best_at_us);
    printf("\"hops\": %u, \"via\": %u, \"pairs\": %llu, ", e.hops, e.via,
           (unsigned long long)e.pairs);
    clk_json_num("min_rtt_us", e.min_rtt_us, "}");
  }
  printf("\n]}\n");
}

/* "12.3us", "4.567ms", "+2.500000s": microseconds made readable. */
static void clk_us(char *out, size_t size, double us, int sign) {
  double a = fabs(us);
  const char *plus = sign && us >= 0 ? "+" : "";
  if (!isfinite(us)) {
    snprintf(out, size, "-");
  } else if (a >= 1e6) {
    snprintf(out, size, "%s%.6fs", plus, us / 1e6);
  } else if (a >= 1e3) {
    snprintf(out, size, "%s%.3fms", plus, us / 1e3);
  } else {
    snprintf(out, size, "%s%.1fus", plus, us);
  }
}

static void clk_print_table(const clk_run *r) {
  const cli_style *s = &r->args.style;
  printf("%s%-3s %-8s  %-12s %16s %11s %11s %11s %4s %4s %8s %10s%s\n",
         cli_colour(s, CLI_DIM), "#", "node", "status", "offset", "drift",
         "bound", "best bound", "via", "hops", "pairs", "min rtt",
         cli_colour(s, CLI_RESET));
  for (unsigned n = 0; n < r->nodes; n++) {
    pt_clock_estimate e;
    clk_estimate(r, n, &e);
    char id[9], off[24] = "0", drift[24] = "0", bound[24] = "0", best[24] = "0",
                rtt[24] = "-", via[12] = "-";
    cli_short_hex(id, clk_node_id(r, n));
    int known = e.status == PT_CLOCK_ALIGNED;
    if (known) {
      clk_us(off, sizeof off, e.offset_us, 1);
      snprintf(drift, sizeof drift, "%+.3fppm", e.drift_ppm);
      clk_us(bound, sizeof bound, e.bound_us, 0);
      clk_us(best, sizeof best, e.best_bound_us, 0);
      clk_us(rtt, sizeof rtt, e.min_rtt_us, 0);
      snprintf(via, sizeof via, "%u", e.via);
    } else if (e.status != PT_CLOCK_REFERENCE) {
      snprintf(off, sizeof off, "-");
      snprintf(drift, sizeof drift, "-");
      snprintf(bound, sizeof bound, "-");
      snprintf(best, sizeof best, "-");
    }
    const char *colour = e.status == PT_CLOCK_INCONSISTENT ? CLI_RED
                         : e.status == PT_CLOCK_UNALIGNED  ? CLI_YELLOW
                                                           : CLI_RESET;
    printf("%-3u %-8s  %s%-12s%s %16s %11s %11s %11s %4s %4u %8llu %10s\n", n,
           id, cli_colour(s, colour), clk_status(e.status),
           cli_colour(s, CLI_RESET), off, drift, bound, best, via, e.hops,
           (unsigned long long)e.pairs, rtt);
  }
  printf("%soffset = node clock - reference clock at the node's t0, "
         "drifting by drift;\nbound: the most the true offset can differ "
         "over the node's recorded span,\nif every clock kept a constant rate "
         "(docs/clocks.md); best bound: its least value,\nat the instant "
         "the node's clock is known best (best_at_us in --json)%s\n",
         cli_colour(s, CLI_DIM), cli_colour(s, CLI_RESET));
}

/* Nodes left as recorded, and what was set aside, on stderr. */
static void clk_report(const clk_run *r) {
  for (unsigned n = 0; n < r->nodes; n++) {
    pt_clock_estimate e;
    clk_estimate(r, n, &e);
    char id[9];
    cli_short_hex(id, clk_node_id(r, n));
    if (e.status == PT_CLOCK_UNALIGNED) {
      fprintf(stderr,
              "peertrace: node %u (%s): not aligned: no path of connections "
              "with packets both ways to the reference; its times are left "
              "as recorded\n",
              n, id);
    } else if (e.status == PT_CLOCK_INCONSISTENT) {
      fprintf(stderr,
              "peertrace: node %u (%s): inconsistent: its packets contradict "
              "a clock of constant rate (stepped?); its times are left as "
              "recorded\n",
              n, id);
    }
  }
  /* One input: no aligner, nothing matched or set aside. */
  pt_align_stats st;
  if (pt_align_stats_get(r->align, &st) != PT_OK) {
    memset(&st, 0, sizeof st);
  }
  if (st.conns_ambiguous || st.duplicate_sends || st.pairs_reversed) {
    fprintf(stderr,
            "peertrace: set aside: %llu connections seen on more than two "
            "nodes, %llu packet numbers sent twice by one node; %llu pairs "
            "received before sent on aligned clocks\n",
            (unsigned long long)st.conns_ambiguous,
            (unsigned long long)st.duplicate_sends,
            (unsigned long long)st.pairs_reversed);
  }
  if (st.joint_unmet) {
    fprintf(stderr,
            "peertrace: the packets of some cycle of links contradict "
            "clocks of constant rate (%llu constraints unmet): the paths' "
            "estimates are kept, and pairs off them can be received before "
            "sent (docs/clocks.md)\n",
            (unsigned long long)st.joint_unmet);
  }
}

/* --help of clocks and of pairs. */
static const char clk_clocks_help[] =
    "usage: peertrace clocks [--reference INDEX] [--max-drift PPM] [--json]\n"
    "                        FILE...\n"
    "Each node's clock against the reference's (the first input, or input\n"
    "INDEX counting from 0), estimated from the QUIC packets the nodes\n"
    "exchanged: offset and drift, the bound of the error, the path of\n"
    "links it was estimated through (via: next node, hops), the packet\n"
    "pairs on that path and its smallest round trip.  A node with no path\n"
    "of two-way connections to the reference is unaligned; one whose\n"
    "packets contradict a constant-rate clock is inconsistent: both are\n"
    "reported on stderr and left as recorded.  See docs/clocks.md.\n"
    "  --reference INDEX  the input whose clock the others are set to\n"
    "  --max-drift PPM    the largest rate difference between two nodes\n"
    "                     (default 500): smaller gives tighter bounds where\n"
    "                     packets do not pin the drift, but must hold\n"
    "  --json             one JSON object (offsets etc. in us and ppm)\n";

static const char clk_pairs_help[] =
    "usage: peertrace pairs [--list] [--max-drift PPM] FILE...\n"
    "The QUIC packets matched across nodes: each packet_sent with the\n"
    "peer's packet_received of the same connection, space and number.\n"
    "Per direction of each node pair: packets paired, one-way delay\n"
    "(median and 95th percentile, on clocks aligned to the first input;\n"
    "'-' where a node is not aligned), and the packets sent but never\n"
    "received while the receiver was recording (how many of them the\n"
    "sender declared lost).  See docs/clocks.md.\n"
    "  --list           every pair and unreceived packet, in send order\n"
    "  --max-drift PPM  as for clocks\n";

/*
 * What clocks and pairs share: clk_load (list_ok: as there), then `body`
 * (its exit code), then clk_report and clk_free.  The exit code.
 */
static int clk_command(int argc, char **argv, const char *help, int list_ok,
                       int (*body)(const clk_run *r, const char *command)) {
  clk_run r;
  int rc = clk_load(argc, argv, help, list_ok, &r);
  if (rc != CLI_GO_ON) {
    return rc;
  }
  rc = body(&r, argv[0]);
  clk_report(&r);
  clk_free(&r);
  return rc;
}

static int clk_show_clocks(const clk_run *r, const char *command) {
  (void)command;
  if (r->json) {
    clk_print_json(r);
  } else {
    clk_print_table(r);
  }
  return CLI_EXIT_OK;
}

/* ---- pairs --------------------------------------------------------------- */

static const char *clk_space(uint8_t space) {
  return space == PT_PN_SPACE_INITIAL       ? "initial"
         : space == PT_PN_SPACE_HANDSHAKE   ? "handshake"
         : space == PT_PN_SPACE_APPLICATION ? "app"
                                            : "?";
}

typedef struct clk_lister {
  const clk_run *r;
  uint64_t base; /* aligned time the listed times count from */
  int find_base;
  int unreceived; /* walking pt_align_unreceived */
} clk_lister;

static int clk_list_one(const pt_packet_pair *p, void *user) {
  clk_lister *l = user;
  uint64_t t = pt_align_time(l->r->align, p->sender, p->sent_us);
  if (l->find_base) {
    l->base = t < l->base ? t : l->base;
    return 0;
  }
  char when[32], from[9], to[9], delay[24];
  cli_rel_time(when, sizeof when, t, l->base);
  cli_short_hex(from, clk_node_id(l->r, p->sender));
  cli_short_hex(to, clk_node_id(l->r, p->receiver));
  if (l->unreceived) {
    snprintf(delay, sizeof delay, "UNRECEIVED");
  } else {
    clk_us(delay, sizeof delay, p->delay_us, 0);
  }
  printf("%-12s %s -> %s  %016llx %-9s %8llu %6u  %-*s%s\n", when, from, to,
         (unsigned long long)p->conn, clk_space(p->space),
         (unsigned long long)p->pn, p->size, p->lost ? 10 : 0, delay,
         p->lost ? "  declared lost" : "");
  return 0;
}

/* Every pair, then every unreceived packet, in send order. */
static void clk_list(const clk_run *r) {
  clk_lister l = {r, UINT64_MAX, 1, 0};
  pt_align_pairs(r->align, clk_list_one, &l);
  pt_align_unreceived(r->align, clk_list_one, &l);
  l.find_base = 0;
  printf("%-12s %-8s    %-8s  %-16s %-9s %8s %6s  %s\n", "sent", "from", "to",
         "conn", "space", "pn", "size", "delay (aligned clocks)");
  pt_align_pairs(r->align, clk_list_one, &l);
  l.unreceived = 1;
  pt_align_unreceived(r->align, clk_list_one, &l);
}

static int clk_show_pairs(const clk_run *r, const char *command) {
  if (r->list) {
    clk_list(r);
    return CLI_EXIT_OK;
  }
  pt_link_delays *links;
  size_t n;
  if (pt_align_delays(r->align, &links, &n) != PT_OK) {
    cli_error(command, "out of memory");
    return CLI_EXIT_ERROR;
  }
  printf("%-8s    %-8s %8s %12s %12s %11s %8s\n", "from", "to", "pairs",
         "delay p50", "delay p95", "unreceived", "(lost)");
  for (size_t i = 0; i < n; i++) {
    const pt_link_delays *d = &links[i];
    char from[9], to[9], p50[24] = "-", p95[24] = "-";
    cli_short_hex(from, clk_node_id(r, d->sender));
    cli_short_hex(to, clk_node_id(r, d->receiver));
    if (d->delays > 0) {
      clk_us(p50, sizeof p50, d->p50_us, 0);
      clk_us(p95, sizeof p95, d->p95_us, 0);
    }
    printf("%-8s -> %-8s %8llu %12s %12s %11llu %8llu\n", from, to,
           (unsigned long long)d->pairs, p50, p95,
           (unsigned long long)d->unreceived,
           (unsigned long long)d->unreceived_lost);
  }
  free(links);
  return CLI_EXIT_OK;
}

int cli_clocks(int argc, char **argv) {
  return clk_command(argc, argv, clk_clocks_help, 0, clk_show_clocks);
}

int cli_pairs(int argc, char **argv) {
  return clk_command(argc, argv, clk_pairs_help, 1, clk_show_pairs);
}
