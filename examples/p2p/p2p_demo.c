/*
 * p2p_demo: a small P2P DataMap network on 127.0.0.1, traced by peertrace.
 *
 *   p2p_demo [--nodes N] [--loss RATE] [--seed S] [--chunks K] [--out DIR]
 *
 * Starts N nodes (default 4) in this process, each with its own node id,
 * QUIC endpoint and event log; connects them in a ring; stores K chunks,
 * reads them back from another node and deletes some, while every node drops
 * incoming datagrams with probability RATE (default 0.03, seeded) so QUIC
 * has to detect losses and retransmit.  Then, in trace builds, it prints the
 * cross-node timeline of one request, a per-peer QUIC table, and writes each
 * node's log to DIR/node<i>.ptlog.  A release build runs the same requests
 * with tracing compiled out and prints the same outcomes.
 *
 * Exit status: 0 if every request ended as expected.
 */
#define _POSIX_C_SOURCE 200809L

#include "demo_net.h"
#include "demo_report.h"

#include <errno.h>
#include <ngtcp2/version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_CHUNK_COUNT 64

typedef struct options {
  size_t nodes;
  double loss;
  uint64_t seed;
  size_t chunks;
  const char *out_dir;
} options;

static int parse_args(int argc, char **argv, options *o) {
  o->nodes = 4;
  o->loss = 0.03;
  o->seed = 1;
  o->chunks = 6;
  o->out_dir = "p2p-logs";
  for (int i = 1; i < argc; i += 2) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
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
    } else if (strcmp(a, "--out") == 0) {
      o->out_dir = v;
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
      o->loss > 0.5 || o->chunks < 1 || o->chunks > MAX_CHUNK_COUNT) {
    fprintf(stderr,
            "usage: p2p_demo [--nodes 3..%d] [--loss 0..0.5] "
            "[--seed S] [--chunks 1..%d] [--out DIR]\n",
            DEMO_MAX_NODES, MAX_CHUNK_COUNT);
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

static void on_done(const demo_request *r, void *arg) {
  (void)arg;
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

int main(int argc, char **argv) {
  options o;
  demo_net *net = NULL;
  demo_config cfg;
  static uint8_t chunks[MAX_CHUNK_COUNT][8192];
  size_t sizes[MAX_CHUNK_COUNT];
  uint8_t hashes[MAX_CHUNK_COUNT][32];
  static demo_request stores[MAX_CHUNK_COUNT], gets[MAX_CHUNK_COUNT],
      deletes[MAX_CHUNK_COUNT], regets[MAX_CHUNK_COUNT];
  int failures = 0;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (parse_args(argc, argv, &o) != 0) {
    return 2;
  }
  memset(&cfg, 0, sizeof cfg);
  cfg.nodes = o.nodes;
  cfg.loss_rate = o.loss;
  cfg.seed = o.seed;
  cfg.on_done = on_done;
  if (demo_net_create(&net, &cfg) != 0) {
    return 1;
  }

  printf("peertrace P2P demo: %zu DataMap nodes on 127.0.0.1, QUIC (ngtcp2 "
         "%s) + TLS 1.3, %.1f%% injected datagram loss (seed %llu), "
         "tracing %s\n",
         o.nodes, NGTCP2_VERSION, o.loss * 100, (unsigned long long)o.seed,
         PT_TRACE ? "ON (ALPN " PT_WIRE_ALPN ")"
                  : "compiled out (ALPN " PT_WIRE_ALPN ")");
  for (size_t i = 0; i < o.nodes; i++) {
    const uint8_t *id = demo_net_node_id(net, i);
    printf("  node%zu  id %02x%02x%02x%02x%02x%02x%02x%02x..  udp port %u\n", i,
           id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7],
           p2p_node_port(demo_net_node(net, i)));
  }
  printf("Connecting the ring (node i -> node i+1)...\n");
  if (demo_net_connect(net, 10000) != 0) {
    demo_net_destroy(net);
    return 1;
  }
  printf("  %zu QUIC connections established\n", o.nodes);

  for (size_t k = 0; k < o.chunks; k++) {
    sizes[k] = make_chunk(net, o.seed, k, chunks[k], hashes[k]);
  }
  printf("Phase 1: node0 stores %zu chunks (routed along the ring to the "
         "responsible node)\n",
         o.chunks);
  for (size_t k = 0; k < o.chunks; k++) {
    if (demo_net_submit(net, 0, DMAP_STORE_CHUNK, hashes[k], chunks[k],
                        sizes[k], &stores[k]) != 0) {
      fprintf(stderr, "demo: submit failed\n");
      failures++;
    }
  }
  if (run_phase(net, stores, o.chunks) != 0) {
    failures++;
    goto out;
  }
  printf("Phase 2: node1 reads every chunk back\n");
  for (size_t k = 0; k < o.chunks; k++) {
    demo_net_submit(net, 1, DMAP_GET_CHUNK, hashes[k], NULL, 0, &gets[k]);
  }
  if (run_phase(net, gets, o.chunks) != 0) {
    failures++;
    goto out;
  }
  size_t half = (o.chunks + 1) / 2;
  printf("Phase 3: node2 deletes half of them\n");
  for (size_t k = 0; k < half; k++) {
    demo_net_submit(net, 2 % o.nodes, DMAP_DELETE_CHUNK, hashes[k], NULL, 0,
                    &deletes[k]);
  }
  if (run_phase(net, deletes, half) != 0) {
    failures++;
    goto out;
  }
  printf("Phase 4: node0 asks for the deleted ones (NOT_FOUND expected)\n");
  for (size_t k = 0; k < half; k++) {
    demo_net_submit(net, 0, DMAP_GET_CHUNK, hashes[k], NULL, 0, &regets[k]);
  }
  if (run_phase(net, regets, half) != 0) {
    failures++;
    goto out;
  }

  for (size_t k = 0; k < o.chunks; k++) {
    failures += stores[k].status != DMAP_OK;
    failures += gets[k].status != DMAP_OK || !gets[k].result_matches ||
                gets[k].result_size != sizes[k];
  }
  for (size_t k = 0; k < half; k++) {
    failures += deletes[k].status != DMAP_OK;
    failures += regets[k].status != DMAP_NOT_FOUND;
  }
  printf("Result: %zu requests, %d unexpected outcomes\n",
         o.chunks * 2 + half * 2, failures);

  demo_report(net, stores, gets, o.chunks, o.out_dir);
out:
  demo_net_shutdown(net);
  demo_net_destroy(net);
  return failures == 0 ? 0 : 1;
}
