/*
 * p2p_net - a small QUIC endpoint for the P2P demo and the integration
 * tests: one UDP socket per node on 127.0.0.1, any number of ngtcp2
 * connections on it (client and server, demultiplexed by connection id),
 * TLS 1.3 through GnuTLS with a self-signed certificate made at start-up.
 *
 * Messages are request/response pairs: a request goes on a new
 * bidirectional stream ended by FIN, the response comes back on the same
 * stream ended by FIN.  Whole messages are delivered to the callbacks.
 *
 * Loss injection: each node drops incoming datagrams with probability
 * loss_rate, from its own seeded generator, before ngtcp2 sees them; so the
 * sender's ngtcp2 declares them lost and retransmits, exactly as with a
 * lossy network.  Every datagram ngtcp2 writes is really handed to sendto().
 *
 * Tracing: in trace builds every connection carries a pt_quic_tracer as its
 * first member and records into the node's log, with the connection's
 * original destination cid set before its first event (so every event,
 * conn_init included, carries the connection identity both ends share); the
 * bytes of a message sent with a trace header are recorded under that
 * trace.  In release builds nothing of peertrace is compiled in and the same
 * code runs untraced.
 *
 * Single-threaded: all nodes of a process are driven by p2p_net_poll from
 * one thread.
 */
#ifndef P2P_NET_H
#define P2P_NET_H

#include <peertrace/peertrace.h>
#include <peertrace/pt_wire.h>

#include <stddef.h>
#include <stdint.h>

#define P2P_MAX_CONNS 16
#define P2P_MAX_PEERS 16
#define P2P_MAX_MESSAGE (1u << 20)

typedef struct p2p_node p2p_node;
typedef struct p2p_conn p2p_conn;

typedef struct p2p_callbacks {
  /* A whole request arrived on a stream the peer opened. */
  void (*on_request)(p2p_node *node, p2p_conn *conn, int64_t stream_id,
                     const uint8_t *msg, size_t len, void *arg);
  /* The whole response to one of our requests arrived. */
  void (*on_response)(p2p_node *node, p2p_conn *conn, int64_t stream_id,
                      const uint8_t *msg, size_t len, void *request_ctx,
                      void *arg);
  /* The connection failed or was closed; reason is a readable text. */
  void (*on_conn_closed)(p2p_node *node, p2p_conn *conn, const char *reason,
                         void *arg);
  /* Every qlog record of every connection (trace builds; may be NULL). */
  void (*on_qlog)(p2p_node *node, p2p_conn *conn, const void *data, size_t len,
                  void *arg);
  void *arg;
} p2p_callbacks;

typedef struct p2p_config {
  uint8_t node_id[PT_NODE_ID_SIZE];
  const char *alpn; /* NULL: PT_WIRE_ALPN of this build */
  double loss_rate; /* probability of dropping an incoming datagram */
  uint64_t seed;    /* loss generator seed */
  /* Address to bind, IPv4 in host order, and port: 0 and 0 bind 127.0.0.1
   * on a port the kernel picks.  The namespace demo gives each node its own
   * address and a fixed port (ports still tell the peers apart). */
  uint32_t addr;
  uint16_t port;
  p2p_callbacks cb;
  PT_TRACE_FIELD(pt_log *log;) /* the node's log (trace builds) */
} p2p_config;

/* Counters of one node's socket. */
typedef struct p2p_node_stats {
  uint64_t datagrams_sent;
  uint64_t bytes_sent; /* bytes handed to sendto() */
  uint64_t datagrams_received;
  uint64_t bytes_received;
  uint64_t datagrams_dropped; /* by loss injection */
} p2p_node_stats;

/* Returns 0 or -1; a readable reason is in p2p_last_error(). */
int p2p_node_create(p2p_node **out, const p2p_config *cfg);
void p2p_node_destroy(p2p_node *node);
uint16_t p2p_node_port(const p2p_node *node);
const uint8_t *p2p_node_id(const p2p_node *node);
void p2p_node_get_stats(const p2p_node *node, p2p_node_stats *out);
/* Address book: the node id behind a 127.0.0.1 port (for accepted conns). */
int p2p_node_add_peer(p2p_node *node, uint16_t port,
                      const uint8_t peer_id[PT_NODE_ID_SIZE]);
/* The same with the peer's IPv4 address (host order), which
 * p2p_node_connect then uses for that port. */
int p2p_node_add_peer_at(p2p_node *node, uint32_t addr, uint16_t port,
                         const uint8_t peer_id[PT_NODE_ID_SIZE]);

/* Opens a connection to port at the address the address book has for it
 * (127.0.0.1 if none).  Requests may be queued at once. */
int p2p_node_connect(p2p_node *node, uint16_t port, p2p_conn **out);
/* The open connection to that port (either direction), or NULL. */
p2p_conn *p2p_node_find_conn(p2p_node *node, uint16_t port);

/*
 * Queues a request on a new stream (opened when the connection can).
 * trace: the trace the request belongs to, or NULL; in trace builds the
 * stream_data events (sent=1) of its bytes are recorded under that trace id
 * (pt_quic_tracer_stream_sent_trace), else under the connection's; release
 * builds ignore it.
 */
int p2p_conn_request(p2p_conn *conn, const uint8_t *msg, size_t len,
                     void *request_ctx, const pt_msg_header *trace);
/* Queues the response on a peer-opened stream; trace: as for requests. */
int p2p_conn_respond(p2p_conn *conn, int64_t stream_id, const uint8_t *msg,
                     size_t len, const pt_msg_header *trace);

int p2p_conn_is_established(const p2p_conn *conn);
int p2p_conn_is_closed(const p2p_conn *conn);
const char *p2p_conn_error(const p2p_conn *conn);
uint16_t p2p_conn_peer_port(const p2p_conn *conn);
/* Smoothed rtt in microseconds (0 before the handshake). */
uint64_t p2p_conn_rtt_us(const p2p_conn *conn);
const uint8_t *p2p_conn_peer_id(const p2p_conn *conn); /* NULL if unknown */
#if PT_TRACE
struct pt_quic_tracer;
struct pt_quic_tracer *p2p_conn_tracer(p2p_conn *conn);
#endif

/*
 * Drives every node once: waits up to max_wait_ms for a datagram or a timer,
 * reads what arrived, runs expired timers, writes what is pending.
 * Returns 0, or -1 on a socket error.
 */
int p2p_net_poll(p2p_node **nodes, size_t count, int max_wait_ms);

/* Closes every connection of the node (CONNECTION_CLOSE sent). */
void p2p_node_close_all(p2p_node *node);

const char *p2p_last_error(void);

#endif /* P2P_NET_H */
