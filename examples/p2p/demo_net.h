/*
 * demo_net - N DataMap nodes on 127.0.0.1, one process, one thread.
 *
 * Node i has its own 32-byte node id, its own QUIC endpoint (p2p_net) and,
 * in trace builds, its own pt_log.  Nodes form a ring: node i keeps a QUIC
 * connection to node i+1.  The node responsible for a chunk is
 * hash[0] % N; a request travels the ring from the node that received it to
 * the responsible node and the response travels back on the same streams, so
 * one request crosses up to N nodes, all under the trace id its client chose.
 *
 * Recorded per node (trace builds), besides the QUIC adapter's events:
 *   app_start    a request begins on this node (peer: who sent it; none at
 *                the client); data: what the DMAP descriptor of
 *                examples/datamap makes of the payload (hash, size, length)
 *   app_command  this node sends the request on to a peer (peer: to whom)
 *   app_end      this node finished the request (ok, duration)
 */
#ifndef DEMO_NET_H
#define DEMO_NET_H

#include "dmap_wire.h"
#include "p2p_net.h"

#define DEMO_MAX_NODES 16

typedef struct demo_net demo_net;

/* A request submitted at a node, and its outcome. */
typedef struct demo_request {
  uint8_t cmd;
  uint8_t hash[DMAP_HASH_SIZE];
  size_t origin; /* node index that issued it */
  size_t target; /* responsible node index */
  int done;
  uint8_t status;    /* DMAP_* */
  uint8_t hops;      /* nodes that handled it */
  uint64_t start_us; /* monotonic, for latencies in every build */
  uint64_t end_us;
  size_t result_size; /* GET: bytes returned */
  int result_matches; /* GET: returned bytes hash to `hash` */
  PT_TRACE_FIELD(pt_trace_ctx ctx;)
} demo_request;

typedef struct demo_config {
  size_t nodes;     /* 3..DEMO_MAX_NODES */
  double loss_rate; /* incoming datagram loss per node */
  uint64_t seed;
  const char *alpn; /* NULL: this build's */
  /* Optional qlog tap (trace builds): every record of every connection. */
  void (*on_qlog)(size_t node, const void *data, size_t len, void *arg);
  /* Optional progress report when a client request completes. */
  void (*on_done)(const demo_request *req, void *arg);
  void *arg;
  /* Nodes that run in this process, as a bit mask of indices; 0: all.  The
   * others run elsewhere: give their ports with demo_net_set_port() before
   * demo_net_connect(). */
  uint32_t local_mask;
  /* Trace builds: NULL keeps each local node's log in private memory; a
   * directory puts node i's ring in the file DIR/node<i>.ptlog
   * (pt_log_config.file_path, replacing an older file), which outlives a
   * crash of this process and which `peertrace show|tail` read while it
   * runs.  Ignored when tracing is compiled out. */
  const char *log_dir;
  /* 0: every node on 127.0.0.1, on a port the kernel picks.  Else node i
   * binds the IPv4 address addr_base + i (host order) and the port
   * port_base + i, and is reached there (the namespace demo, where each
   * node has its own address: demo_netns.h). */
  uint32_t addr_base;
  uint16_t port_base;
} demo_config;

int demo_net_create(demo_net **out, const demo_config *cfg);
void demo_net_destroy(demo_net *net);
/* Opens the ring connections (from this process's nodes) and waits until
 * their handshakes are done. */
int demo_net_connect(demo_net *net, int timeout_ms);
/* Issues a request at node `origin`; data/len only for STORE. */
int demo_net_submit(demo_net *net, size_t origin, uint8_t cmd,
                    const uint8_t hash[DMAP_HASH_SIZE], const uint8_t *data,
                    size_t len, demo_request *req);
/* Drives the network until every request in reqs[] is done or timeout. */
int demo_net_wait(demo_net *net, demo_request *const *reqs, size_t count,
                  int timeout_ms);
/* Closes all connections and lets the CONNECTION_CLOSE frames go out. */
void demo_net_shutdown(demo_net *net);

size_t demo_net_size(const demo_net *net);
int demo_net_is_local(const demo_net *net, size_t index);
uint16_t demo_net_port(const demo_net *net, size_t index);
/* The port of a node of another process; before demo_net_connect. */
int demo_net_set_port(demo_net *net, size_t index, uint16_t port);
/* Drives this process's nodes once (see p2p_net_poll). */
int demo_net_poll(demo_net *net, int max_wait_ms);
size_t demo_net_responsible(const demo_net *net,
                            const uint8_t hash[DMAP_HASH_SIZE]);
p2p_node *demo_net_node(demo_net *net, size_t index);
const uint8_t *demo_net_node_id(const demo_net *net, size_t index);
/* Index of a node id, or SIZE_MAX. */
size_t demo_net_index_of(const demo_net *net, const uint8_t *node_id);
size_t demo_net_chunks_stored(const demo_net *net, size_t index);
#if PT_TRACE
pt_log *demo_net_log(demo_net *net, size_t index);
#endif

uint64_t demo_now_us(void);
/* SHA-256 of data, with GnuTLS. */
int demo_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

#endif /* DEMO_NET_H */
