/*
 * p2p_demo: a small P2P DataMap network on 127.0.0.1, traced by peertrace.
 *
 *   p2p_demo [--nodes N] [--loss RATE] [--seed S] [--chunks K] [--out DIR]
 *            [--rounds R]
 *            [--processes [--crash-node I] [--skew-seed S | --skew SPEC]]
 *
 * Starts N nodes (default 4) in this process, each with its own node id,
 * QUIC endpoint and event log; connects them in a ring; stores K chunks,
 * reads them back from another node and deletes some, while every node drops
 * incoming datagrams with probability RATE (default 0.03, seeded) so QUIC
 * has to detect losses and retransmit.  Then, in trace builds, it saves each
 * node's log as the dump DIR/node<i>.ptd (default DIR: p2p-logs; the format
 * of docs/dump-format.md, read by the peertrace tool), reads the dumps back
 * and prints from them the cross-node timeline of one request, a per-peer
 * QUIC table, and the peertrace commands to try next.  A release build runs
 * the same requests with tracing compiled out, prints the same outcomes and
 * writes no file.  DIR/node<i>.ptd and .ptlog of an earlier run are removed.
 *
 * --rounds R (1..1000, default 1): the client does its work R times, with
 * new chunks each round and ROUND_GAP_MS between rounds (the nodes keep
 * serving), so that the traces span seconds: what it takes to see clock
 * drift (100 ppm is 100 us per second).  Rounds after the first print one
 * line each instead of every request.
 * --processes: one process per node.  This program becomes the launcher: it
 * forks the node processes, tells each the others' ports (each binds port 0
 * and reports the one it got), lets node 0 act as the client, stops the
 * others when it is done.  In trace builds each node process records into a
 * log file, DIR/node<i>.ptlog (the ring in a shared file mapping: `peertrace
 * tail` follows it while the node runs, and a node that crashes leaves its
 * events there); the launcher then opens those files (pt_log_open), saves
 * them as DIR/node<i>.ptd and prints the same report from the dumps.
 * --crash-node I (1 <= I < N): when the client is done, the launcher kills
 * node I with SIGKILL instead of stopping it, to show that its events are
 * recovered from its log file all the same.
 * --skew-seed S, --skew OFF:PPM,...: each node process gets its own clock
 * (demo_skew.h): with libfaketime preloaded, its CLOCK_REALTIME, hence its
 * events' times, starts OFF seconds away from the true time and runs PPM
 * parts per million fast or slow; --skew-seed draws them (offsets in
 * +-10 s, drifts in +-100 ppm, node 0 too).  The launcher then starts each
 * node by re-executing this program (LD_PRELOAD acts at exec only), prints
 * the injected values and, in trace builds, writes them to
 * DIR/clock-skew.json with what each node's clock read against the true
 * one when it started.  Without libfaketime it says so and exits 1.
 *
 * Exit status: 0 if every request ended as expected.
 */
#define _POSIX_C_SOURCE 200809L

#include "demo_links.h"
#include "demo_net.h"
#include "demo_netns.h"
#include "demo_report.h"
#include "demo_skew.h"

#include <errno.h>
#include <ngtcp2/version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHUNK_COUNT 64
#define MAX_ROUNDS 1000
#define ROUND_GAP_MS 250

typedef struct options {
  size_t nodes;
  double loss;
  uint64_t seed;
  size_t chunks;
  size_t rounds; /* --rounds */
  const char *out_dir;
  int processes;     /* one process per node (--processes) */
  int netns;         /* --netns: each node in its own namespace */
  size_t crash_node; /* --crash-node: SIGKILL this node at the end */
  const char *tool;  /* how to run the peertrace tool, for the hints */
  int skew;          /* --skew-seed or --skew given */
  demo_skew skews[DEMO_MAX_NODES];
  uint64_t skew_seed;    /* --skew-seed */
  const char *skew_spec; /* --skew */
  /* Hidden --node-process I:UP:DOWN: this process was re-executed by the
   * launcher as node I, talking to it on pipe fds UP (to) and DOWN (from). */
  const char *node_arg;
  int argc; /* for the launcher's re-exec of itself */
  char **argv;
} options;

/* --netns: the network the nodes run in (run_netns). */
static demo_netns g_netns;

static void print_usage(FILE *out) {
  fprintf(out,
          "usage: p2p_demo [--nodes 3..%d] [--loss 0..0.5] "
          "[--seed S] [--chunks 1..%d] [--rounds 1..%d] [--out DIR]\n"
          "                [--netns]\n"
          "                [--processes [--crash-node 1..nodes-1]\n"
          "                 [--skew-seed S | --skew OFF_S:PPM,... (one per "
          "node)]]\n",
          DEMO_MAX_NODES, MAX_CHUNK_COUNT, MAX_ROUNDS);
}

/* The options that take a value (the others are --processes, --netns). */
static int takes_value(const char *a) {
  static const char *const names[] = {
      "--nodes", "--loss",       "--seed",      "--chunks", "--rounds",
      "--out",   "--crash-node", "--skew-seed", "--skew",   "--node-process"};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
    if (strcmp(a, names[k]) == 0) {
      return 1;
    }
  }
  return 0;
}

/* 0: run with *o; 1: --help was given (usage printed on stdout); -1: bad
 * arguments (said on stderr). */
static int parse_args(int argc, char **argv, options *o) {
  o->nodes = 4;
  o->loss = 0.03;
  o->seed = 1;
  o->chunks = 6;
  o->rounds = 1;
  o->out_dir = "p2p-logs";
  o->processes = 0;
  o->netns = 0;
  o->crash_node = SIZE_MAX;
  o->skew = 0;
  o->skew_spec = NULL;
  o->node_arg = NULL;
  o->argc = argc;
  o->argv = argv;
  int i = 1;
  while (i < argc) {
    const char *a = argv[i++];
    if (strcmp(a, "--processes") == 0) {
      o->processes = 1;
      continue;
    }
    if (strcmp(a, "--netns") == 0) {
      o->netns = 1;
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      print_usage(stdout);
      return 1;
    }
    if (!takes_value(a)) {
      fprintf(stderr, "unknown option %s\n", a);
      print_usage(stderr);
      return -1;
    }
    const char *v = i < argc ? argv[i++] : NULL;
    char *end = NULL;
    if (v == NULL) {
      fprintf(stderr, "missing value after %s\n", a);
      return -1;
    }
    errno = 0;
    if (strcmp(a, "--nodes") == 0) {
      o->nodes = (size_t)strtoul(v, &end, 10);
    } else if (strcmp(a, "--loss") == 0) {
      o->loss = strtod(v, &end);
    } else if (strcmp(a, "--seed") == 0) {
      o->seed = strtoull(v, &end, 10);
    } else if (strcmp(a, "--chunks") == 0) {
      o->chunks = (size_t)strtoul(v, &end, 10);
    } else if (strcmp(a, "--rounds") == 0) {
      o->rounds = (size_t)strtoul(v, &end, 10);
    } else if (strcmp(a, "--crash-node") == 0) {
      o->crash_node = (size_t)strtoul(v, &end, 10);
    } else if (strcmp(a, "--skew-seed") == 0) {
      o->skew_seed = strtoull(v, &end, 10);
      o->skew |= 1;
    } else if (strcmp(a, "--out") == 0) {
      o->out_dir = v;
      end = (char *)(uintptr_t)(v + strlen(v));
    } else if (strcmp(a, "--skew") == 0) {
      o->skew_spec = v; /* parsed below, once --nodes is known */
      o->skew |= 2;
      end = (char *)(uintptr_t)(v + strlen(v));
    } else if (strcmp(a, "--node-process") == 0) {
      o->node_arg = v;
      end = (char *)(uintptr_t)(v + strlen(v));
    } else {
      fprintf(stderr, "unknown option %s\n", a);
      return -1;
    }
    if (errno != 0 || end == NULL || *end != '\0') {
      fprintf(stderr, "bad value for %s: %s\n", a, v);
      return -1;
    }
  }
  if (o->nodes < 3 || o->nodes > DEMO_MAX_NODES || o->loss < 0 ||
      o->loss > 0.5 || o->chunks < 1 || o->chunks > MAX_CHUNK_COUNT ||
      o->rounds < 1 || o->rounds > MAX_ROUNDS ||
      (o->crash_node != SIZE_MAX &&
       ((!o->processes && !o->netns) || o->crash_node < 1 ||
        o->crash_node >= o->nodes)) ||
      (o->skew != 0 && ((!o->processes && !o->netns) || o->skew == 3))) {
    print_usage(stderr);
    return -1;
  }
  if (o->skew == 1) {
    demo_skew_random(o->skew_seed, o->skews, o->nodes);
  } else if (o->skew == 2 &&
             demo_skew_parse(o->skew_spec, o->skews, o->nodes) != 0) {
    return -1;
  }
  return 0;
}

/* Chunk k: deterministic bytes whose responsible node is chosen so that the
 * chunks spread over every node and some lie far along the ring. */
static size_t make_chunk(const demo_net *net, uint64_t seed, size_t k,
                         uint8_t *buf, uint8_t hash[32]) {
  size_t n = demo_net_size(net);
  size_t want = n - 1 - (k % (n - 1)); /* n-1, n-2, ..., 1 from node 0 */
  size_t len = 600 + (size_t)((seed * 7919u + k * 104729u) % 5000u);
  for (uint32_t nonce = 0;; nonce++) {
    for (size_t i = 0; i < len; i++) {
      buf[i] = (uint8_t)((seed + k * 131u + i * 31u + nonce * 17u) >> 1);
    }
    memcpy(buf, &nonce, sizeof nonce);
    demo_sha256(buf, len, hash);
    if (demo_net_responsible(net, hash) == want) {
      return len;
    }
  }
}

/* Rounds after the first are summed up in one line (--rounds). */
static int quiet_requests;

static void on_done(const demo_request *r, void *arg) {
  (void)arg;
  if (quiet_requests) {
    return;
  }
  printf("  %-12s chunk %02x%02x%02x%02x.. node%zu -> node%zu  %-9s "
         "nodes crossed %u  %6.2f ms\n",
         dmap_cmd_name(r->cmd), r->hash[0], r->hash[1], r->hash[2], r->hash[3],
         r->origin, r->target, dmap_status_name(r->status), r->hops,
         (double)(r->end_us - r->start_us) / 1000.0);
  fflush(stdout);
}

static int run_phase(demo_net *net, demo_request *reqs, size_t count) {
  demo_request *ptrs[MAX_CHUNK_COUNT];
  for (size_t i = 0; i < count; i++) {
    ptrs[i] = &reqs[i];
  }
  if (demo_net_wait(net, ptrs, count, 20000) != 0) {
    fprintf(stderr, "demo: requests did not finish in 20 s\n");
    return -1;
  }
  return 0;
}

/* One round of the client's work: store, read back, delete, read deleted,
 * on chunks made from `seed`.  origin[p] is the node issuing phase p's
 * requests; verbose: print the phases and the result.  Returns the number
 * of unexpected outcomes (or of requests that did not finish). */
static int run_round(demo_net *net, const options *o, const size_t origin[4],
                     uint64_t seed, int verbose) {
  static uint8_t chunks[MAX_CHUNK_COUNT][8192];
  static size_t sizes[MAX_CHUNK_COUNT];
  static uint8_t hashes[MAX_CHUNK_COUNT][32];
  static demo_request reqs[4][MAX_CHUNK_COUNT];
  static const char *const verbs[4][2] = {
      {"stores", "chunks (each routed along the ring to its node)"},
      {"reads back", "chunks"},
      {"deletes", "of them"},
      {"asks for", "deleted chunks (NOT_FOUND expected)"}};
  static const uint8_t cmds[4] = {DMAP_STORE_CHUNK, DMAP_GET_CHUNK,
                                  DMAP_DELETE_CHUNK, DMAP_GET_CHUNK};
  size_t half = (o->chunks + 1) / 2;
  size_t counts[4] = {o->chunks, o->chunks, half, half};
  int failures = 0;

  for (size_t k = 0; k < o->chunks; k++) {
    sizes[k] = make_chunk(net, seed, k, chunks[k], hashes[k]);
  }
  for (size_t p = 0; p < 4; p++) {
    if (verbose) {
      printf("Phase %zu: node%zu %s %zu %s\n", p + 1, origin[p], verbs[p][0],
             counts[p], verbs[p][1]);
    }
    for (size_t k = 0; k < counts[p]; k++) {
      int store = cmds[p] == DMAP_STORE_CHUNK;
      if (demo_net_submit(net, origin[p], cmds[p], hashes[k],
                          store ? chunks[k] : NULL, store ? sizes[k] : 0,
                          &reqs[p][k]) != 0) {
        fprintf(stderr, "demo: submit failed\n");
        return failures + 1;
      }
    }
    if (run_phase(net, reqs[p], counts[p]) != 0) {
      return failures + 1;
    }
  }
  for (size_t k = 0; k < o->chunks; k++) {
    failures += reqs[0][k].status != DMAP_STATUS_OK;
    failures += reqs[1][k].status != DMAP_STATUS_OK ||
                !reqs[1][k].result_matches ||
                reqs[1][k].result_size != sizes[k];
  }
  for (size_t k = 0; k < half; k++) {
    failures += reqs[2][k].status != DMAP_STATUS_OK;
    failures += reqs[3][k].status != DMAP_STATUS_NOT_FOUND;
  }
  if (verbose) {
    printf("Result: %zu requests, %d unexpected outcomes\n",
           2 * o->chunks + 2 * half, failures);
  }
  return failures;
}

/* The client's work: --rounds rounds, ROUND_GAP_MS apart. */
static int run_client(demo_net *net, const options *o, const size_t origin[4]) {
  int failures = run_round(net, o, origin, o->seed, 1);
  for (size_t r = 1; r < o->rounds && failures == 0; r++) {
    uint64_t resume = demo_now_us() + ROUND_GAP_MS * 1000u;
    while (demo_now_us() < resume) {
      if (demo_net_poll(net, 20) != 0) {
        return failures + 1;
      }
    }
    quiet_requests = 1;
    int round_failures = run_round(net, o, origin, o->seed + r, 0);
    quiet_requests = 0;
    printf("Round %zu of %zu: %d unexpected outcomes\n", r + 1, o->rounds,
           round_failures);
    failures += round_failures;
  }
  return failures;
}

static void print_banner(const options *o) {
  char loss[64];
  snprintf(loss, sizeof loss, "%.1f%% injected datagram loss", o->loss * 100);
  printf("peertrace P2P demo: %zu DataMap nodes %s, QUIC (ngtcp2 "
         "%s) + TLS 1.3, %s (seed %llu), tracing %s\n",
         o->nodes,
         o->netns       ? "each a host in its own network namespace"
         : o->processes ? "on 127.0.0.1 (one process each)"
                        : "on 127.0.0.1",
         NGTCP2_VERSION, o->netns ? "loss and delay on the links" : loss,
         (unsigned long long)o->seed,
         PT_TRACE ? "ON (ALPN " PT_WIRE_ALPN ")"
                  : "compiled out (ALPN " PT_WIRE_ALPN ")");
}

static void print_node(const demo_net *net, size_t i) {
  const uint8_t *id = demo_net_node_id(net, i);
  printf("  node%zu  id %02x%02x%02x%02x%02x%02x%02x%02x..  udp port %u\n", i,
         id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7],
         demo_net_port(net, i));
}

/* Every node in this process. */
static int run_in_process(const options *o) {
  demo_net *net = NULL;
  demo_config cfg;
  static const size_t origin[4] = {0, 1, 2, 0};
  memset(&cfg, 0, sizeof cfg);
  cfg.nodes = o->nodes;
  cfg.loss_rate = o->loss;
  cfg.seed = o->seed;
  cfg.on_done = on_done;
  if (demo_net_create(&net, &cfg) != 0) {
    return 1;
  }
  print_banner(o);
  for (size_t i = 0; i < o->nodes; i++) {
    print_node(net, i);
  }
  printf("Connecting the ring (node i -> node i+1)...\n");
  if (demo_net_connect(net, 10000) != 0) {
    demo_net_destroy(net);
    return 1;
  }
  printf("  %zu QUIC connections established\n", o->nodes);
  int failures = run_client(net, o, origin);
  if (failures == 0 && demo_report(net, o->out_dir, o->tool) != 0) {
    failures = 1;
  }
  demo_net_shutdown(net);
  demo_net_destroy(net);
  return failures == 0 ? 0 : 1;
}

/* ---- One process per node ---------------------------------------------- */

static int read_line(int fd, char *buf, size_t size) {
  size_t n = 0;
  while (n + 1 < size) {
    ssize_t r = read(fd, buf + n, 1);
    if (r <= 0) {
      return -1;
    }
    if (buf[n] == '\n') {
      break;
    }
    n++;
  }
  buf[n] = '\0';
  return 0;
}

/* Drives the network until the launcher writes (or closes) the pipe. */
static int serve_until_line(demo_net *net, int fd) {
  for (;;) {
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, 0) > 0) {
      return 0;
    }
    if (demo_net_poll(net, 20) != 0) {
      return -1;
    }
  }
}

/* A node process: reports its port, learns the others', serves; node 0 is
 * also the client.  Trace builds: records into out_dir/node<i>.ptlog. */
static int node_process(const options *o, size_t self, int up, int down) {
  demo_net *net = NULL;
  demo_config cfg;
  char line[512];
  static const size_t origin[4] = {0, 0, 0, 0};
  int failures = 0;
  memset(&cfg, 0, sizeof cfg);
  cfg.nodes = o->nodes;
  cfg.loss_rate = o->loss;
  cfg.seed = o->seed;
  cfg.on_done = on_done;
  cfg.local_mask = 1u << self;
  cfg.log_dir = PT_TRACE ? o->out_dir : NULL;
  if (getenv(DEMO_NETNS_ENV) != NULL) { /* own address; the links lose */
    cfg.addr_base = DEMO_NETNS_ADDR_BASE;
    cfg.port_base = DEMO_NETNS_PORT_BASE;
    cfg.loss_rate = 0;
  }
  if (demo_net_create(&net, &cfg) != 0) {
    return 1;
  }
  /* First line: port, node id, and this process's clock against the true
   * one (the launcher records them: clock-skew.json). */
  int64_t true_us, offset_us;
  char id_hex[65];
  const uint8_t *id = demo_net_node_id(net, self);
  for (size_t k = 0; k < 32; k++) {
    snprintf(id_hex + 2 * k, 3, "%02x", id[k]);
  }
  demo_skew_measure(&true_us, &offset_us);
  dprintf(up, "%u %s %lld %lld\n", demo_net_port(net, self), id_hex,
          (long long)true_us, (long long)offset_us);
  if (read_line(down, line, sizeof line) != 0) {
    demo_net_destroy(net);
    return 1;
  }
  char *p = line;
  for (size_t i = 0; i < o->nodes; i++) {
    unsigned long port = strtoul(p, &p, 10);
    if (i != self && demo_net_set_port(net, i, (uint16_t)port) != 0) {
      demo_net_destroy(net);
      return 1;
    }
  }
  if (demo_net_connect(net, 10000) != 0) {
    demo_net_destroy(net);
    return 1;
  }
  /* Tell the launcher this node's connection is up; node 0 then waits for
   * the word that every connection of the ring is. */
  dprintf(up, "ready\n");
  /* Node 0 serves (other nodes' handshakes need it) until the launcher says
   * go, then acts as the client; the others serve until it says stop. */
  if (serve_until_line(net, down) != 0 ||
      (self == 0 && read_line(down, line, sizeof line) != 0)) {
    failures++;
  } else if (self == 0) {
    printf("  all %zu QUIC connections of the ring are established\n",
           o->nodes);
    failures = run_client(net, o, origin);
  }
  demo_net_shutdown(net);
  demo_net_destroy(net);
  return failures == 0 ? 0 : 1;
}

#if PT_TRACE
/* Opens each node process's log file (running, exited or crashed: the file
 * says which) and saves it as DIR/node<i>.ptd.  Returns 0 or -1. */
static int save_node_logs(const options *o) {
  int rc = 0;
  printf("\nLog files of the node processes, opened with pt_log_open and "
         "saved as dumps:\n");
  for (size_t i = 0; i < o->nodes; i++) {
    char path[512];
    const pt_log *view = NULL;
    demo_log_file_path(path, sizeof path, o->out_dir, i);
    int open_rc = pt_log_open(&view, path);
    if (open_rc != PT_OK) {
      fprintf(stderr, "demo: cannot open %s: %s\n", path, pt_strerror(open_rc));
      rc = -1;
      continue;
    }
    int writer = pt_log_writer_status(view);
    if (demo_dump_save(view, o->out_dir, i) != 0) {
      rc = -1;
    } else {
      printf("  %s  (%s)\n", path,
             writer == PT_WRITER_DIED     ? "its node died: events recovered"
             : writer == PT_WRITER_EXITED ? "its node exited"
                                          : "its node still runs");
    }
    pt_log_close(view);
  }
  return rc;
}
#endif

/* A forked node process with a skewed clock: re-executes this program as
 * node i (--node-process) with libfaketime preloaded.  Never returns. */
static void exec_node(const options *o, size_t i, int up, int down,
                      const char *library) {
  static char flag[] = "--node-process";
  char arg[64];
  char **args = calloc((size_t)o->argc + 3, sizeof *args);
  if (args == NULL || demo_skew_setenv(&o->skews[i], library) != 0) {
    fprintf(stderr, "demo: node%zu: %s\n", i, strerror(errno));
    _exit(127);
  }
  memcpy(args, o->argv, (size_t)o->argc * sizeof *args);
  snprintf(arg, sizeof arg, "%zu:%d:%d", i, up, down);
  args[o->argc] = flag;
  args[o->argc + 1] = arg;
  execv("/proc/self/exe", args);
  fprintf(stderr, "demo: node%zu: cannot re-execute /proc/self/exe: %s\n", i,
          strerror(errno));
  _exit(127);
}

/* The launcher: forks one node process per node and wires them up. */
static int run_processes(const options *o) {
  pid_t pids[DEMO_MAX_NODES];
  int up[DEMO_MAX_NODES], down[DEMO_MAX_NODES];
  demo_skew_node skew_nodes[DEMO_MAX_NODES];
  char ports[512] = "";
  int status = 0, failed = 0;
  const char *library = NULL;

  if (o->skew != 0 && (library = demo_skew_library()) == NULL) {
    return 1;
  }
  print_banner(o);
#if PT_TRACE
  if (mkdir(o->out_dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "demo: cannot create %s: %s\n", o->out_dir,
            strerror(errno));
    return 1;
  }
  demo_files_remove(o->out_dir);
#endif
  if (o->skew != 0) {
    char how[64] = "--skew";
    if (o->skew == 1) {
      snprintf(how, sizeof how, "--skew-seed %llu",
               (unsigned long long)o->skew_seed);
    }
    demo_skew_print(o->skews, o->nodes, how);
  }
  fflush(stdout);
  for (size_t i = 0; i < o->nodes; i++) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) {
      perror("pipe");
      return 1;
    }
    pids[i] = fork();
    if (pids[i] < 0) {
      perror("fork");
      return 1;
    }
    if (pids[i] == 0) {
      close(to_child[1]);
      close(from_child[0]);
      for (size_t j = 0; j < i; j++) {
        close(up[j]);
        close(down[j]);
      }
      if (o->netns && demo_netns_enter(i) != 0) {
        fprintf(stderr, "demo: node%zu: namespace: %s\n", i, strerror(errno));
        _exit(127);
      }
      if (o->skew != 0) {
        exec_node(o, i, from_child[1], to_child[0], library);
      }
      _exit(node_process(o, i, from_child[1], to_child[0]));
    }
    demo_netns_track(pids[i]);
    close(to_child[0]);
    close(from_child[1]);
    up[i] = from_child[0];
    down[i] = to_child[1];
  }
  for (size_t i = 0; i < o->nodes; i++) {
    char line[160];
    unsigned port;
    long long at_us, offset_us;
    demo_skew_node *sn = &skew_nodes[i];
    size_t len = strlen(ports);
    if (read_line(up[i], line, sizeof line) != 0 ||
        sscanf(line, "%u %64s %lld %lld", &port, sn->id_hex, &at_us,
               &offset_us) != 4) {
      fprintf(stderr, "demo: node%zu did not start\n", i);
      failed = 1;
      break;
    }
    sn->measured_at_us = at_us;
    sn->measured_offset_us = offset_us;
    snprintf(ports + len, sizeof ports - len, "%u ", port);
    printf("  node%zu  pid %ld  udp port %u", i, (long)pids[i], port);
    if (o->skew != 0) {
      printf("  clock %+.6f s off at start", (double)offset_us / 1e6);
    }
    printf("\n");
  }
#if PT_TRACE
  if (!failed && o->skew != 0 &&
      demo_skew_write(o->out_dir, o->skews, skew_nodes, o->nodes) != 0) {
    failed = 1;
  }
#endif
#if PT_TRACE
  if (!failed) {
    printf("Each node process records into its own log file, %s/node<i>.ptlog;"
           "\n  follow one live with: %s tail %s/node1.ptlog\n",
           o->out_dir, o->tool, o->out_dir);
  }
#endif
  printf("Connecting the ring (node i -> node i+1)...\n");
  fflush(stdout);
  for (size_t i = 0; i < o->nodes && !failed; i++) {
    dprintf(down[i], "%s\n", ports);
  }
  for (size_t i = 0; i < o->nodes && !failed; i++) {
    char line[32];
    if (read_line(up[i], line, sizeof line) != 0 ||
        strcmp(line, "ready") != 0) {
      fprintf(stderr, "demo: node%zu could not connect\n", i);
      failed = 1;
    }
  }
  if (!failed) {
    dprintf(down[0], "go\n");
  } else {
    /* End of file on their pipes ends every node, node 0 included (it
     * would otherwise wait for "go" forever). */
    for (size_t i = 0; i < o->nodes; i++) {
      close(down[i]);
      down[i] = -1;
    }
  }
  /* Node 0 is the client: when it exits, the work is done. */
  if (waitpid(pids[0], &status, 0) < 0 || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    failed = 1;
  }
  for (size_t i = 0; i < o->nodes; i++) {
    if (i > 0 && i == o->crash_node) {
      /* What a crash leaves: no exit path runs in the node, its log file
       * keeps every event it completed. */
      kill(pids[i], SIGKILL);
      if (waitpid(pids[i], &status, 0) < 0 || !WIFSIGNALED(status)) {
        failed = 1;
      } else {
        printf("  node%zu killed with SIGKILL (--crash-node)\n", i);
      }
    } else if (i > 0) {
      if (down[i] >= 0) {
        dprintf(down[i], "stop\n");
      }
      if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
          WEXITSTATUS(status) != 0) {
        fprintf(stderr, "demo: node%zu did not exit cleanly\n", i);
        failed = 1;
      }
    }
    if (down[i] >= 0) {
      close(down[i]);
    }
    close(up[i]);
  }
#if PT_TRACE
  /* Whatever happened to the nodes, their log files hold what they did. */
  pt_dump dumps[DEMO_MAX_NODES];
  pt_trace_id shown;
  if (save_node_logs(o) != 0 ||
      demo_dumps_load(o->out_dir, o->nodes, dumps) != 0) {
    return 1;
  }
  for (size_t i = 0; i < o->nodes; i++) {
    char path[512];
    demo_dump_path(path, sizeof path, o->out_dir, i);
    printf("  %s: %zu events\n", path, dumps[i].count);
  }
  demo_report_dumps(o->out_dir, dumps, o->nodes, o->netns, &shown);
  if (o->netns && demo_links_report(dumps, o->nodes, o->skews, skew_nodes,
                                    &g_netns, o->tool, o->out_dir) != 0) {
    failed = 1;
  }
  demo_print_next_steps(o->tool, o->out_dir, dumps, o->nodes, &shown, 1);
  demo_dumps_release(dumps, o->nodes);
#else
  printf("\nTracing is compiled out in this build: no timeline, no logs.\n");
#endif
  return failed ? 1 : 0;
}

/* --netns: the network of demo_netns.h, every node a process with its own
 * clock (--skew-seed SEED unless --skew*); without namespaces, one line
 * says why and the loopback mode asked for otherwise runs. */
static int run_netns(options *o) {
  demo_netns *ns = &g_netns;
  demo_netns_links(o->seed, o->nodes, ns);
  if (demo_netns_setup(ns) != 0) {
    o->netns = 0;
    return o->processes ? run_processes(o) : run_in_process(o);
  }
  o->processes = 1;
  if (o->skew == 0) {
    o->skew = 1;
    o->skew_seed = o->seed;
    demo_skew_random(o->skew_seed, o->skews, o->nodes);
  }
  int rc = run_processes(o);
  demo_netns_teardown(ns);
#if PT_TRACE
  if (demo_netns_write(ns, o->out_dir) != 0) {
    rc = 1;
  }
#endif
  return rc;
}

/* How to run the peertrace tool built beside this program: the build tree
 * has BUILD/examples/p2p/p2p_demo and BUILD/tools/peertrace (as `bash
 * scripts/demo.sh` builds them), so the path is derived from argv[0]; a
 * program found elsewhere falls back to plain `peertrace` (installed). */
static const char *find_tool(const char *argv0, char *buf, size_t size) {
  static const char suffix[] = "examples/p2p/p2p_demo";
  size_t len = strlen(argv0), slen = sizeof suffix - 1;
  if (len >= slen && strcmp(argv0 + len - slen, suffix) == 0 &&
      (len == slen || argv0[len - slen - 1] == '/') &&
      (size_t)snprintf(buf, size, "%.*stools/peertrace", (int)(len - slen),
                       argv0) < size &&
      access(buf, X_OK) == 0) {
    return buf;
  }
  return "peertrace";
}

int main(int argc, char **argv) {
  options o;
  char tool[1024];
  setvbuf(stdout, NULL, _IOLBF, 0);
  int parsed = parse_args(argc, argv, &o);
  if (parsed != 0) {
    return parsed > 0 ? 0 : 2;
  }
  o.tool = find_tool(argc > 0 ? argv[0] : "", tool, sizeof tool);
  if (o.node_arg != NULL) {
    size_t self;
    int up, down;
    char extra;
    if (sscanf(o.node_arg, "%zu:%d:%d%c", &self, &up, &down, &extra) != 3 ||
        self >= o.nodes) {
      fprintf(stderr, "bad value for --node-process: %s\n", o.node_arg);
      return 2;
    }
    return node_process(&o, self, up, down);
  }
#if PT_TRACE
  /* A skew file of an earlier run must not describe this run's dumps. */
  char skew_path[512];
  demo_skew_path(skew_path, sizeof skew_path, o.out_dir);
  unlink(skew_path);
#endif
  if (o.netns) {
    return run_netns(&o);
  }
  return o.processes ? run_processes(&o) : run_in_process(&o);
}
