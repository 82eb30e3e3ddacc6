/* demo_net: DataMap nodes over p2p_net.  See demo_net.h. */
#define _POSIX_C_SOURCE 200809L

#include "demo_net.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CHUNKS 512
#define MAX_PENDING 256

typedef struct chunk {
  int used;
  uint8_t hash[DMAP_HASH_SIZE];
  uint8_t *data;
  uint32_t size;
} chunk;

/* A request this node sent on and waits for: a client's or a forwarded one. */
typedef struct pending {
  int used;
  demo_request *client; /* set for the client's own request */
  p2p_conn *in_conn;    /* forwarded: where the request came from */
  int64_t in_stream;
  uint8_t cmd;
  uint64_t start_us;
  PT_TRACE_FIELD(pt_msg_header header; uint8_t from[PT_NODE_ID_SIZE];
                 int has_from;)
} pending;

typedef struct demo_node {
  p2p_node *net;
  uint8_t id[PT_NODE_ID_SIZE];
  chunk chunks[MAX_CHUNKS];
  pending pendings[MAX_PENDING];
  PT_TRACE_FIELD(pt_log *log;)
  PT_APP_FIELD(const pt_app_registry *registry;)
} demo_node;

struct demo_net {
  demo_config cfg;
  size_t count;
  demo_node nodes[DEMO_MAX_NODES];
  p2p_node *nets[DEMO_MAX_NODES];  /* NULL for nodes of other processes */
  uint16_t ports[DEMO_MAX_NODES];  /* every node's UDP port */
  p2p_node *local[DEMO_MAX_NODES]; /* the nodes of this process */
  PT_APP_FIELD(pt_app_registry *registry;) /* DMAP's descriptor */
  size_t local_count;
  int peers_added;
};

uint64_t demo_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int demo_sha256(const uint8_t *data, size_t len, uint8_t out[32]) {
  return gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out) == 0 ? 0 : -1;
}

/* ---- App events ------------------------------------------------------- */
/*
 * The events use the shared DMAP protocol of examples/datamap: in
 * PT_TRACE_APP builds its descriptor (dmap_protocol), registered with a
 * pt_app registry, turns each request's DMAP payload into the 42 bytes of
 * trace data, exactly as PT_APP_START would.  The events are written with
 * PT_EMIT_PEER_FLAGS rather than PT_APP_START/END because they must also
 * carry the peer (who sent the request, or to whom it goes): the cross-node
 * causality of the timeline and of the correlation test rests on it, and
 * pt_app's loggers take no peer.  Each carries the trace flags of the
 * request's wire header, as every event of a trace does.  Trace builds
 * without PT_TRACE_APP record the same events with zero data, as pt_app
 * does for an unregistered protocol.
 */
#if PT_TRACE
static void app_data(const demo_node *n, const dmap_msg *m,
                     uint8_t out[PT_APP_DATA_SIZE]) {
  memset(out, 0, PT_APP_DATA_SIZE);
#if PT_TRACE_APP
  uint8_t payload[DMAP_STORE_PAYLOAD_SIZE];
  memcpy(payload, m->hash, DMAP_HASH_SIZE);
  for (unsigned i = 0; i < 4; i++) {
    payload[DMAP_HASH_SIZE + i] = (uint8_t)(m->size >> (24 - 8 * i));
  }
  size_t len =
      m->cmd == DMAP_STORE_CHUNK ? DMAP_STORE_PAYLOAD_SIZE : DMAP_HASH_SIZE;
  const pt_app_protocol *app = pt_app_lookup(n->registry, DMAP_APP_ID);
  if (app != NULL) {
    app->to_trace_data(app, m->cmd, pt_app_payload_make(payload, len), out);
  }
#else
  (void)n;
  (void)m;
#endif
}

static void app_start(demo_node *n, const pt_msg_header *h, const uint8_t *peer,
                      const dmap_msg *m) {
  uint8_t data[PT_APP_DATA_SIZE];
  app_data(n, m, data);
  PT_EMIT_PEER_FLAGS(n->log, app_start, h->trace_id, h->flags, peer,
                     DMAP_APP_ID, m->cmd, data, sizeof data);
}
static void app_forward(demo_node *n, const pt_msg_header *h,
                        const uint8_t *peer, const dmap_msg *m) {
  uint8_t data[PT_APP_DATA_SIZE];
  app_data(n, m, data);
  PT_EMIT_PEER_FLAGS(n->log, app_command, h->trace_id, h->flags, peer,
                     DMAP_APP_ID, m->cmd, data, sizeof data);
}
static void app_end(demo_node *n, const pt_msg_header *h, const uint8_t *peer,
                    uint8_t cmd, int ok, uint64_t duration_us) {
  PT_EMIT_PEER_FLAGS(n->log, app_end, h->trace_id, h->flags, peer, DMAP_APP_ID,
                     cmd, ok, duration_us);
}
#endif

/* ---- Helpers ----------------------------------------------------------- */

static size_t index_of_net(const demo_net *net, const p2p_node *node) {
  for (size_t i = 0; i < net->count; i++) {
    if (net->nets[i] == node) {
      return i;
    }
  }
  return SIZE_MAX;
}

size_t demo_net_responsible(const demo_net *net,
                            const uint8_t hash[DMAP_HASH_SIZE]) {
  return hash[0] % net->count;
}

static pending *pending_new(demo_node *n) {
  for (size_t i = 0; i < MAX_PENDING; i++) {
    if (!n->pendings[i].used) {
      memset(&n->pendings[i], 0, sizeof n->pendings[i]);
      n->pendings[i].used = 1;
      return &n->pendings[i];
    }
  }
  return NULL;
}

/*
 * Sends the response back on the stream a request came in on; trace: the
 * request's trace (NULL if its header did not decode), under which the
 * reply's stream bytes are recorded.
 */
static void respond(p2p_conn *conn, int64_t stream, const pt_msg_header *trace,
                    const dmap_reply *res) {
  size_t cap = DMAP_REPLY_HEADER + res->size;
  uint8_t *buf = malloc(cap);
  if (buf == NULL) {
    return;
  }
  int len = dmap_reply_encode(res, buf, cap);
  if (len > 0) {
    (void)p2p_conn_respond(conn, stream, buf, (size_t)len, trace);
  }
  free(buf);
}

/* Sends [wire header][request] to the next node of the ring. */
static int send_on(demo_net *net, size_t from, const pt_msg_header *h,
                   const dmap_msg *req, pending *p) {
  size_t next = (from + 1) % net->count;
  p2p_conn *conn = p2p_node_find_conn(net->nets[from], net->ports[next]);
  size_t cap = PT_WIRE_HEADER_SIZE + DMAP_MSG_HEADER + req->size;
  uint8_t *buf;
  int hlen, blen, rv;
  if (conn == NULL) {
    return -1;
  }
  buf = malloc(cap);
  if (buf == NULL) {
    return -1;
  }
  hlen = pt_wire_header_encode(h, buf, cap);
  blen = hlen < 0 ? -1 : dmap_msg_encode(req, buf + hlen, cap - (size_t)hlen);
  rv = blen < 0 ? -1 : p2p_conn_request(conn, buf, (size_t)(hlen + blen), p, h);
  free(buf);
#if PT_TRACE
  if (rv == 0) {
    app_forward(&net->nodes[from], h, net->nodes[next].id, req);
  }
#endif
  return rv;
}

static chunk *chunk_find(demo_node *n, const uint8_t *hash) {
  for (size_t i = 0; i < MAX_CHUNKS; i++) {
    if (n->chunks[i].used &&
        memcmp(n->chunks[i].hash, hash, DMAP_HASH_SIZE) == 0) {
      return &n->chunks[i];
    }
  }
  return NULL;
}

/* The responsible node executes the request. */
static void execute(demo_node *n, const dmap_msg *req, dmap_reply *res) {
  chunk *c = chunk_find(n, req->hash);
  memset(res, 0, sizeof *res);
  res->hops = (uint8_t)(req->hops + 1);
  switch (req->cmd) {
  case DMAP_STORE_CHUNK: {
    uint8_t digest[32];
    if (demo_sha256(req->data, req->size, digest) != 0 ||
        memcmp(digest, req->hash, 32) != 0) {
      res->status = DMAP_STATUS_BAD_HASH;
      return;
    }
    if (c == NULL) {
      for (size_t i = 0; i < MAX_CHUNKS && c == NULL; i++) {
        if (!n->chunks[i].used) {
          c = &n->chunks[i];
        }
      }
      if (c == NULL) {
        res->status = DMAP_STATUS_FULL;
        return;
      }
    }
    uint8_t *copy = malloc(req->size ? req->size : 1);
    if (copy == NULL) {
      res->status = DMAP_STATUS_FULL;
      return;
    }
    memcpy(copy, req->data, req->size);
    free(c->data);
    c->used = 1;
    memcpy(c->hash, req->hash, 32);
    c->data = copy;
    c->size = req->size;
    res->status = DMAP_STATUS_OK;
    return;
  }
  case DMAP_GET_CHUNK:
    if (c == NULL) {
      res->status = DMAP_STATUS_NOT_FOUND;
      return;
    }
    res->status = DMAP_STATUS_OK;
    res->size = c->size;
    res->data = c->data;
    return;
  default: /* DELETE */
    if (c == NULL) {
      res->status = DMAP_STATUS_NOT_FOUND;
      return;
    }
    free(c->data);
    memset(c, 0, sizeof *c);
    res->status = DMAP_STATUS_OK;
    return;
  }
}

/* ---- p2p_net callbacks ------------------------------------------------- */

static void on_request(p2p_node *node, p2p_conn *conn, int64_t stream,
                       const uint8_t *msg, size_t len, void *arg) {
  demo_net *net = arg;
  size_t self = index_of_net(net, node);
  demo_node *n = &net->nodes[self];
  pt_msg_header h;
  dmap_msg req;
  dmap_reply res;
  uint64_t start = demo_now_us();
  int hlen = pt_wire_header_decode(msg, len, &h);

  memset(&res, 0, sizeof res);
  if (hlen < 0 || dmap_msg_decode(msg + hlen, len - (size_t)hlen, &req) != 0) {
    res.status = DMAP_STATUS_BAD_REQUEST;
    respond(conn, stream, NULL, &res);
    return;
  }
#if PT_TRACE
  const uint8_t *from = p2p_conn_peer_id(conn);
  app_start(n, &h, from, &req);
#endif
  if (demo_net_responsible(net, req.hash) == self || req.hops >= net->count) {
    execute(n, &req, &res);
    if (req.hops >= net->count && demo_net_responsible(net, req.hash) != self) {
      res.status = DMAP_STATUS_UNREACHABLE;
    }
    respond(conn, stream, &h, &res);
#if PT_TRACE
    app_end(n, &h, from, req.cmd, res.status == DMAP_STATUS_OK,
            demo_now_us() - start);
#endif
    return;
  }
  pending *p = pending_new(n);
  req.hops++;
  if (p == NULL) {
    res.status = DMAP_STATUS_FULL;
    respond(conn, stream, &h, &res);
    return;
  }
  p->in_conn = conn;
  p->in_stream = stream;
  p->cmd = req.cmd;
  p->start_us = start;
#if PT_TRACE
  p->header = h;
  if (from != NULL) {
    memcpy(p->from, from, PT_NODE_ID_SIZE);
    p->has_from = 1;
  }
#endif
  if (send_on(net, self, &h, &req, p) != 0) {
    p->used = 0;
    res.status = DMAP_STATUS_UNREACHABLE;
    respond(conn, stream, &h, &res);
  }
}

static void on_response(p2p_node *node, p2p_conn *conn, int64_t stream,
                        const uint8_t *msg, size_t len, void *request_ctx,
                        void *arg) {
  demo_net *net = arg;
  demo_node *n = &net->nodes[index_of_net(net, node)];
  pending *p = request_ctx;
  dmap_reply res;
  (void)conn;
  (void)stream;
  if (dmap_reply_decode(msg, len, &res) != 0) {
    memset(&res, 0, sizeof res);
    res.status = DMAP_STATUS_BAD_REQUEST;
  }
  if (p->client != NULL) {
    demo_request *r = p->client;
    r->status = res.status;
    r->hops = res.hops;
    r->end_us = demo_now_us();
    if (r->cmd == DMAP_GET_CHUNK && res.status == DMAP_STATUS_OK) {
      uint8_t digest[32];
      r->result_size = res.size;
      r->result_matches = demo_sha256(res.data, res.size, digest) == 0 &&
                          memcmp(digest, r->hash, 32) == 0;
    }
    r->done = 1;
#if PT_TRACE
    pt_msg_header h = {r->ctx.trace_id, r->ctx.flags};
    app_end(n, &h, NULL, r->cmd, res.status == DMAP_STATUS_OK,
            r->end_us - r->start_us);
#endif
    if (net->cfg.on_done != NULL) {
      net->cfg.on_done(r, net->cfg.arg);
    }
  } else {
#if PT_TRACE
    respond(p->in_conn, p->in_stream, &p->header, &res);
#else
    respond(p->in_conn, p->in_stream, NULL, &res);
#endif
#if PT_TRACE
    app_end(n, &p->header, p->has_from ? p->from : NULL, p->cmd,
            res.status == DMAP_STATUS_OK, demo_now_us() - p->start_us);
#endif
  }
  (void)n;
  p->used = 0;
}

static void on_conn_closed(p2p_node *node, p2p_conn *conn, const char *reason,
                           void *arg) {
  (void)node;
  (void)conn;
  (void)reason;
  (void)arg;
}

#if PT_TRACE
static void on_qlog(p2p_node *node, p2p_conn *conn, const void *data,
                    size_t len, void *arg) {
  demo_net *net = arg;
  (void)conn;
  if (net->cfg.on_qlog != NULL) {
    net->cfg.on_qlog(index_of_net(net, node), data, len, net->cfg.arg);
  }
}
#endif

/* ---- Public ------------------------------------------------------------ */

int demo_net_create(demo_net **out, const demo_config *cfg) {
  demo_net *net;
  if (cfg->nodes < 3 || cfg->nodes > DEMO_MAX_NODES) {
    fprintf(stderr, "demo: node count must be 3..%d\n", DEMO_MAX_NODES);
    return -1;
  }
  net = calloc(1, sizeof *net);
  if (net == NULL) {
    return -1;
  }
  net->cfg = *cfg;
  net->count = cfg->nodes;
#if PT_TRACE_APP
  if (pt_app_registry_create(&net->registry) != PT_OK ||
      pt_app_register(net->registry, &dmap_protocol) != PT_OK) {
    demo_net_destroy(net);
    return -1;
  }
#endif
  for (size_t i = 0; i < net->count; i++) {
    demo_node *n = &net->nodes[i];
    p2p_config pc;
    char seed_text[64];
    /* A node id: SHA-256 of the seed and the node's index. */
    snprintf(seed_text, sizeof seed_text, "peertrace-node/%llu/%zu",
             (unsigned long long)cfg->seed, i);
    demo_sha256((const uint8_t *)seed_text, strlen(seed_text), n->id);
    if (cfg->local_mask != 0 && !(cfg->local_mask & (1u << i))) {
      continue; /* runs in another process */
    }
    memset(&pc, 0, sizeof pc);
    memcpy(pc.node_id, n->id, PT_NODE_ID_SIZE);
    pc.alpn = cfg->alpn;
    pc.loss_rate = cfg->loss_rate;
    pc.seed = cfg->seed * 1000003u + i;
    if (cfg->addr_base != 0) {
      pc.addr = cfg->addr_base + (uint32_t)i;
      pc.port = (uint16_t)(cfg->port_base + i);
    }
    pc.cb.on_request = on_request;
    pc.cb.on_response = on_response;
    pc.cb.on_conn_closed = on_conn_closed;
    pc.cb.arg = net;
#if PT_TRACE
    pt_log_config lc;
    char log_path[512];
    pt_log_config_init(&lc);
    memcpy(lc.node_id, n->id, PT_NODE_ID_SIZE);
    if (cfg->log_dir != NULL) {
      snprintf(log_path, sizeof log_path, "%s/node%zu.ptlog", cfg->log_dir, i);
      lc.file_path = log_path;
      lc.file_flags = PT_LOG_FILE_REPLACE;
    }
    int log_rc = pt_log_create(&n->log, &lc);
    if (log_rc != PT_OK) {
      fprintf(stderr, "demo: node %zu: cannot create its log%s%s: %s\n", i,
              cfg->log_dir != NULL ? " " : "",
              cfg->log_dir != NULL ? log_path : "", pt_strerror(log_rc));
      demo_net_destroy(net);
      return -1;
    }
    pc.log = n->log;
    PT_IF_APP(n->registry = net->registry;)
    pc.cb.on_qlog = cfg->on_qlog ? on_qlog : NULL;
#endif
    if (p2p_node_create(&n->net, &pc) != 0) {
      fprintf(stderr, "demo: node %zu: %s\n", i, p2p_last_error());
      demo_net_destroy(net);
      return -1;
    }
    net->nets[i] = n->net;
    net->ports[i] = p2p_node_port(n->net);
    net->local[net->local_count++] = n->net;
  }
  *out = net;
  return 0;
}

void demo_net_destroy(demo_net *net) {
  if (net == NULL) {
    return;
  }
  for (size_t i = 0; i < DEMO_MAX_NODES; i++) {
    demo_node *n = &net->nodes[i];
    p2p_node_destroy(n->net);
    for (size_t k = 0; k < MAX_CHUNKS; k++) {
      free(n->chunks[k].data);
    }
#if PT_TRACE
    pt_log_destroy(n->log);
#endif
  }
  PT_IF_APP(pt_app_registry_destroy(net->registry);)
  free(net);
}

int demo_net_connect(demo_net *net, int timeout_ms) {
  p2p_conn *conns[DEMO_MAX_NODES];
  size_t count = 0;
  uint64_t deadline = demo_now_us() + (uint64_t)timeout_ms * 1000u;
  for (size_t i = 0; i < net->count; i++) {
    if (net->ports[i] == 0) {
      fprintf(stderr, "demo: port of node %zu unknown\n", i);
      return -1;
    }
  }
  /* Everyone knows everyone's address and id (a static routing table). */
  for (size_t i = 0; i < net->count && !net->peers_added; i++) {
    for (size_t j = 0; j < net->count && net->nets[i] != NULL; j++) {
      uint32_t addr = net->cfg.addr_base != 0 ? net->cfg.addr_base + (uint32_t)j
                                              : 0x7f000001u;
      if (i != j && p2p_node_add_peer_at(net->nets[i], addr, net->ports[j],
                                         net->nodes[j].id) != 0) {
        return -1;
      }
    }
  }
  net->peers_added = 1;
  for (size_t i = 0; i < net->count; i++) {
    size_t next = (i + 1) % net->count;
    if (net->nets[i] == NULL) {
      continue;
    }
    if (p2p_node_connect(net->nets[i], net->ports[next], &conns[count++]) !=
        0) {
      fprintf(stderr, "demo: connect: %s\n", p2p_last_error());
      return -1;
    }
  }
  for (;;) {
    size_t up = 0;
    for (size_t i = 0; i < count; i++) {
      if (p2p_conn_is_closed(conns[i])) {
        fprintf(stderr, "demo: node %zu -> node %zu: %s\n", i,
                (i + 1) % net->count, p2p_conn_error(conns[i]));
        return -1;
      }
      up += (size_t)p2p_conn_is_established(conns[i]);
    }
    if (up == count) {
      return 0;
    }
    if (demo_now_us() > deadline) {
      fprintf(stderr, "demo: handshakes not done in %d ms\n", timeout_ms);
      return -1;
    }
    if (p2p_net_poll(net->local, net->local_count, 20) != 0) {
      return -1;
    }
  }
}

int demo_net_submit(demo_net *net, size_t origin, uint8_t cmd,
                    const uint8_t hash[DMAP_HASH_SIZE], const uint8_t *data,
                    size_t len, demo_request *r) {
  demo_node *n;
  dmap_msg req;
  pt_msg_header h;
  if (origin >= net->count || net->nets[origin] == NULL ||
      len > DMAP_MAX_CHUNK) {
    return -1;
  }
  n = &net->nodes[origin];
  memset(r, 0, sizeof *r);
  r->cmd = cmd;
  memcpy(r->hash, hash, DMAP_HASH_SIZE);
  r->origin = origin;
  r->target = demo_net_responsible(net, hash);
  r->start_us = demo_now_us();
  memset(&h, 0, sizeof h);
#if PT_TRACE
  r->ctx = pt_trace_ctx_new(PT_FLAG_SAMPLED | PT_FLAG_APP_INITIATED);
  h.trace_id = r->ctx.trace_id;
  h.flags = r->ctx.flags;
#endif
  memset(&req, 0, sizeof req);
  req.cmd = cmd;
  req.hops = 1; /* the origin counts */
  memcpy(req.hash, hash, DMAP_HASH_SIZE);
  req.size = cmd == DMAP_STORE_CHUNK ? (uint32_t)len : 0;
  req.data = data;
#if PT_TRACE
  app_start(n, &h, NULL, &req);
#endif
  if (r->target == origin) {
    /* Our own chunk: no network needed. */
    dmap_reply res;
    req.hops = 0;
    execute(n, &req, &res);
    r->status = res.status;
    r->hops = res.hops;
    r->end_us = demo_now_us();
    if (cmd == DMAP_GET_CHUNK && res.status == DMAP_STATUS_OK) {
      r->result_size = res.size;
      r->result_matches = 1;
    }
    r->done = 1;
#if PT_TRACE
    app_end(n, &h, NULL, cmd, res.status == DMAP_STATUS_OK,
            r->end_us - r->start_us);
#endif
    if (net->cfg.on_done != NULL) {
      net->cfg.on_done(r, net->cfg.arg);
    }
    return 0;
  }
  pending *p = pending_new(n);
  if (p == NULL) {
    return -1;
  }
  p->client = r;
  p->cmd = cmd;
  p->start_us = r->start_us;
  if (send_on(net, origin, &h, &req, p) != 0) {
    p->used = 0;
    return -1;
  }
  return 0;
}

int demo_net_wait(demo_net *net, demo_request *const *reqs, size_t count,
                  int timeout_ms) {
  uint64_t deadline = demo_now_us() + (uint64_t)timeout_ms * 1000u;
  for (;;) {
    size_t done = 0;
    for (size_t i = 0; i < count; i++) {
      done += (size_t)(reqs[i]->done != 0);
    }
    if (done == count) {
      return 0;
    }
    if (demo_now_us() > deadline) {
      return -1;
    }
    if (p2p_net_poll(net->local, net->local_count, 20) != 0) {
      return -1;
    }
  }
}

void demo_net_shutdown(demo_net *net) {
  for (size_t i = 0; i < net->local_count; i++) {
    p2p_node_close_all(net->local[i]);
  }
  (void)p2p_net_poll(net->local, net->local_count, 0);
}

size_t demo_net_size(const demo_net *net) {
  return net->count;
}

int demo_net_is_local(const demo_net *net, size_t index) {
  return index < net->count && net->nets[index] != NULL;
}

uint16_t demo_net_port(const demo_net *net, size_t index) {
  return index < net->count ? net->ports[index] : 0;
}

int demo_net_set_port(demo_net *net, size_t index, uint16_t port) {
  if (index >= net->count || net->nets[index] != NULL || port == 0 ||
      net->peers_added) {
    return -1;
  }
  net->ports[index] = port;
  return 0;
}

int demo_net_poll(demo_net *net, int max_wait_ms) {
  return p2p_net_poll(net->local, net->local_count, max_wait_ms);
}
p2p_node *demo_net_node(demo_net *net, size_t index) {
  return index < net->count ? net->nets[index] : NULL;
}
const uint8_t *demo_net_node_id(const demo_net *net, size_t index) {
  return index < net->count ? net->nodes[index].id : NULL;
}

size_t demo_net_index_of(const demo_net *net, const uint8_t *node_id) {
  for (size_t i = 0; i < net->count; i++) {
    if (memcmp(net->nodes[i].id, node_id, PT_NODE_ID_SIZE) == 0) {
      return i;
    }
  }
  return SIZE_MAX;
}

size_t demo_net_chunks_stored(const demo_net *net, size_t index) {
  size_t k = 0;
  for (size_t i = 0; i < MAX_CHUNKS; i++) {
    k += (size_t)net->nodes[index].chunks[i].used;
  }
  return k;
}

#if PT_TRACE
pt_log *demo_net_log(demo_net *net, size_t index) {
  return index < net->count ? net->nodes[index].log : NULL;
}
#endif
