/* p2p_net: QUIC endpoints over ngtcp2 + GnuTLS.  See p2p_net.h. */
#define _POSIX_C_SOURCE 200809L

#include "p2p_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#if PT_TRACE
#include <peertrace/pt_quic.h>
#endif

#define CID_LEN 18
#define MAX_STREAMS 128
#define MAX_SCIDS 16
#define TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE"

typedef struct p2p_stream {
  int used;
  int local;
  int64_t id; /* -1: local stream not opened yet */
  uint8_t *rx;
  size_t rx_len;
  size_t rx_cap;
  int rx_done;
  uint8_t *tx; /* kept until the stream closes: ngtcp2 references it */
  size_t tx_len;
  size_t tx_off;
  int tx_done;
  int blocked;
  void *request_ctx;
  /* The trace of the message in tx: its stream_data carry this trace id. */
  PT_TRACE_FIELD(pt_msg_header trace; int has_trace;)
} p2p_stream;

struct p2p_conn {
#if PT_TRACE
  pt_quic_tracer tracer; /* first member: ngtcp2's user_data points here */
#endif
  p2p_node *node;
  ngtcp2_conn *conn;
  gnutls_session_t tls;
  ngtcp2_crypto_conn_ref ref;
  struct sockaddr_in remote;
  ngtcp2_cid odcid; /* the original destination cid (both ends) */
  int is_server;
  int established;
  int closed;
  char error[256];
  uint8_t peer_id[PT_NODE_ID_SIZE];
  int has_peer;
  p2p_stream streams[MAX_STREAMS];
};

typedef struct p2p_peer {
  uint32_t addr; /* IPv4, host order */
  uint16_t port;
  uint8_t id[PT_NODE_ID_SIZE];
} p2p_peer;

struct p2p_node {
  int fd;
  struct sockaddr_in local;
  p2p_config cfg;
  const char *alpn;
  gnutls_certificate_credentials_t cred;
  uint64_t rng;
  p2p_conn *conns[P2P_MAX_CONNS];
  size_t conn_count;
  p2p_peer peers[P2P_MAX_PEERS];
  size_t peer_count;
  p2p_node_stats stats;
};

static _Thread_local char last_error[256];

static void set_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void set_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
}

const char *p2p_last_error(void) {
  return last_error;
}

static ngtcp2_tstamp now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (ngtcp2_tstamp)ts.tv_sec * NGTCP2_SECONDS + (ngtcp2_tstamp)ts.tv_nsec;
}

/* splitmix64: the seeded loss generator. */
static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* ---- Certificates ------------------------------------------------------ */

static int make_credentials(gnutls_certificate_credentials_t *out) {
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  uint8_t serial[8];
  time_t now = time(NULL);
  int rv;

  if ((rv = gnutls_x509_privkey_init(&key)) < 0 ||
      (rv = gnutls_x509_privkey_generate(
           key, GNUTLS_PK_ECDSA,
           GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0 ||
      (rv = gnutls_x509_crt_init(&crt)) < 0 ||
      (rv = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
      (rv = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial)) < 0) {
    goto fail;
  }
  serial[0] &= 0x7f; /* a positive serial number */
  if ((rv = gnutls_x509_crt_set_serial(crt, serial, sizeof serial)) < 0 ||
      (rv = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
      (rv = gnutls_x509_crt_set_expiration_time(crt, now + 86400)) < 0 ||
      (rv = gnutls_x509_crt_set_dn(crt, "CN=peertrace-node", NULL)) < 0 ||
      (rv = gnutls_x509_crt_set_key(crt, key)) < 0 ||
      (rv = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0 ||
      (rv = gnutls_certificate_allocate_credentials(out)) < 0) {
    goto fail;
  }
  if ((rv = gnutls_certificate_set_x509_key(*out, &crt, 1, key)) < 0) {
    gnutls_certificate_free_credentials(*out);
    goto fail;
  }
  gnutls_x509_crt_deinit(crt);
  gnutls_x509_privkey_deinit(key);
  return 0;
fail:
  set_error("self-signed certificate: %s", gnutls_strerror(rv));
  if (crt != NULL) {
    gnutls_x509_crt_deinit(crt);
  }
  if (key != NULL) {
    gnutls_x509_privkey_deinit(key);
  }
  return -1;
}

/* ---- Streams ----------------------------------------------------------- */

static p2p_stream *stream_find(p2p_conn *c, int64_t id) {
  for (size_t i = 0; i < MAX_STREAMS; i++) {
    if (c->streams[i].used && c->streams[i].id == id) {
      return &c->streams[i];
    }
  }
  return NULL;
}

static p2p_stream *stream_new(p2p_conn *c, int64_t id, int local) {
  for (size_t i = 0; i < MAX_STREAMS; i++) {
    p2p_stream *s = &c->streams[i];
    if (!s->used) {
      memset(s, 0, sizeof *s);
      s->used = 1;
      s->local = local;
      s->id = id;
      return s;
    }
  }
  return NULL;
}

static void stream_free(p2p_stream *s) {
  free(s->rx);
  free(s->tx);
  memset(s, 0, sizeof *s);
}

static int stream_set_tx(p2p_stream *s, const uint8_t *msg, size_t len,
                         const pt_msg_header *trace) {
#if PT_TRACE
  if (trace != NULL) {
    s->trace = *trace;
    s->has_trace = 1;
  }
#else
  (void)trace;
#endif
  if (len == 0 || len > P2P_MAX_MESSAGE) {
    set_error("message length %zu out of range", len);
    return -1;
  }
  s->tx = malloc(len);
  if (s->tx == NULL) {
    set_error("out of memory");
    return -1;
  }
  memcpy(s->tx, msg, len);
  s->tx_len = len;
  return 0;
}

/* ---- ngtcp2 callbacks -------------------------------------------------- */

static void rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  (void)gnutls_rnd(GNUTLS_RND_RANDOM, dest, len);
}

static int get_new_connection_id_cb(ngtcp2_conn *conn, ngtcp2_cid *cid,
                                    uint8_t *token, size_t cidlen,
                                    void *user_data) {
  (void)conn;
  (void)user_data;
  if (gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, cidlen) != 0 ||
      gnutls_rnd(GNUTLS_RND_RANDOM, token, NGTCP2_STATELESS_RESET_TOKENLEN) !=
          0) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  cid->datalen = cidlen;
  return 0;
}

static int handshake_completed_cb(ngtcp2_conn *conn, void *user_data) {
  p2p_conn *c = user_data;
  (void)conn;
  c->established = 1;
  return 0;
}

static int stream_open_cb(ngtcp2_conn *conn, int64_t stream_id,
                          void *user_data) {
  p2p_conn *c = user_data;
  (void)conn;
  if (stream_find(c, stream_id) == NULL &&
      stream_new(c, stream_id, 0) == NULL) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static int recv_stream_data_cb(ngtcp2_conn *conn, uint32_t flags,
                               int64_t stream_id, uint64_t offset,
                               const uint8_t *data, size_t datalen,
                               void *user_data, void *stream_user_data) {
  p2p_conn *c = user_data;
  p2p_node *node = c->node;
  p2p_stream *s = stream_find(c, stream_id);
  (void)stream_user_data;
  if (s == NULL || s->rx_done || offset != s->rx_len ||
      datalen > P2P_MAX_MESSAGE - s->rx_len) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  if (datalen > 0) {
    if (s->rx_len + datalen > s->rx_cap) {
      size_t cap = s->rx_cap ? s->rx_cap : 1024;
      while (cap < s->rx_len + datalen) {
        cap *= 2;
      }
      uint8_t *p = realloc(s->rx, cap);
      if (p == NULL) {
        return NGTCP2_ERR_CALLBACK_FAILURE;
      }
      s->rx = p;
      s->rx_cap = cap;
    }
    memcpy(s->rx + s->rx_len, data, datalen);
    s->rx_len += datalen;
    ngtcp2_conn_extend_max_stream_offset(conn, stream_id, datalen);
    ngtcp2_conn_extend_max_offset(conn, datalen);
  }
  if (flags & NGTCP2_STREAM_DATA_FLAG_FIN) {
    s->rx_done = 1;
    if (s->local && node->cfg.cb.on_response != NULL) {
      node->cfg.cb.on_response(node, c, stream_id, s->rx, s->rx_len,
                               s->request_ctx, node->cfg.cb.arg);
    } else if (!s->local && node->cfg.cb.on_request != NULL) {
      node->cfg.cb.on_request(node, c, stream_id, s->rx, s->rx_len,
                              node->cfg.cb.arg);
    }
  }
  return 0;
}

static int stream_close_cb(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id,
                           uint64_t app_error_code, void *user_data,
                           void *stream_user_data) {
  p2p_conn *c = user_data;
  p2p_stream *s = stream_find(c, stream_id);
  (void)flags;
  (void)app_error_code;
  (void)stream_user_data;
  if (s != NULL) {
    if (!s->local) {
      ngtcp2_conn_extend_max_streams_bidi(conn, 1);
    }
    stream_free(s);
  }
  return 0;
}

#if PT_TRACE
static void qlog_cb(void *user_data, uint32_t flags, const void *data,
                    size_t len) {
  p2p_conn *c = user_data;
  (void)flags;
  if (c->node->cfg.cb.on_qlog != NULL) {
    c->node->cfg.cb.on_qlog(c->node, c, data, len, c->node->cfg.cb.arg);
  }
}
#endif

static ngtcp2_conn *get_conn_cb(ngtcp2_crypto_conn_ref *ref) {
  p2p_conn *c = ref->user_data;
  return c->conn;
}

/* ---- Connections ------------------------------------------------------- */

static const uint8_t *peer_lookup(const p2p_node *node, uint16_t port) {
  for (size_t i = 0; i < node->peer_count; i++) {
    if (node->peers[i].port == port) {
      return node->peers[i].id;
    }
  }
  return NULL;
}

static void fill_callbacks(ngtcp2_callbacks *cb, int is_server) {
  memset(cb, 0, sizeof *cb);
  if (is_server) {
    cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb->client_initial = ngtcp2_crypto_client_initial_cb;
    cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
  }
  cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb->encrypt = ngtcp2_crypto_encrypt_cb;
  cb->decrypt = ngtcp2_crypto_decrypt_cb;
  cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb->update_key = ngtcp2_crypto_update_key_cb;
  cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb->rand = rand_cb;
  cb->get_new_connection_id = get_new_connection_id_cb;
  cb->handshake_completed = handshake_completed_cb;
  cb->stream_open = stream_open_cb;
  cb->recv_stream_data = recv_stream_data_cb;
  cb->stream_close = stream_close_cb;
}

static int setup_tls(p2p_conn *c) {
  p2p_node *node = c->node;
  unsigned flags = (c->is_server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
                   GNUTLS_ENABLE_EARLY_DATA | GNUTLS_NO_END_OF_EARLY_DATA;
  gnutls_datum_t alpn = {(unsigned char *)(uintptr_t)node->alpn,
                         (unsigned)strlen(node->alpn)};
  int rv;
  if ((rv = gnutls_init(&c->tls, flags)) < 0) {
    set_error("gnutls_init: %s", gnutls_strerror(rv));
    return -1;
  }
  if ((rv = gnutls_priority_set_direct(c->tls, TLS_PRIORITY, NULL)) < 0 ||
      (rv = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE,
                                   node->cred)) < 0 ||
      (rv = gnutls_alpn_set_protocols(c->tls, &alpn, 1,
                                      GNUTLS_ALPN_MANDATORY)) < 0) {
    set_error("TLS setup: %s", gnutls_strerror(rv));
    return -1;
  }
  rv = c->is_server ? ngtcp2_crypto_gnutls_configure_server_session(c->tls)
                    : ngtcp2_crypto_gnutls_configure_client_session(c->tls);
  if (rv != 0) {
    set_error("ngtcp2_crypto_gnutls_configure_session failed");
    return -1;
  }
  c->ref.get_conn = get_conn_cb;
  c->ref.user_data = c;
  gnutls_session_set_ptr(c->tls, &c->ref);
  ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);
  return 0;
}

static void conn_free(p2p_conn *c) {
  for (size_t i = 0; i < MAX_STREAMS; i++) {
    if (c->streams[i].used) {
      stream_free(&c->streams[i]);
    }
  }
  if (c->conn != NULL) {
    ngtcp2_conn_del(c->conn);
  }
  if (c->tls != NULL) {
    gnutls_deinit(c->tls);
  }
  free(c);
}

/* Creates a connection; hd is the client's first packet for a server. */
static p2p_conn *conn_new(p2p_node *node, const struct sockaddr_in *remote,
                          const ngtcp2_pkt_hd *hd) {
  ngtcp2_callbacks cb;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  ngtcp2_cid scid;
  ngtcp2_path path;
  p2p_conn *c;
  int rv;

  if (node->conn_count == P2P_MAX_CONNS) {
    set_error("too many connections (%d)", P2P_MAX_CONNS);
    return NULL;
  }
  c = calloc(1, sizeof *c);
  if (c == NULL) {
    set_error("out of memory");
    return NULL;
  }
  c->node = node;
  c->remote = *remote;
  c->is_server = hd != NULL;
  const uint8_t *peer = peer_lookup(node, ntohs(remote->sin_port));
  if (peer != NULL) {
    memcpy(c->peer_id, peer, PT_NODE_ID_SIZE);
    c->has_peer = 1;
  }

  fill_callbacks(&cb, c->is_server);
  ngtcp2_settings_default(&settings);
  settings.initial_ts = now_ns();
  settings.handshake_timeout = 10 * NGTCP2_SECONDS;
  ngtcp2_transport_params_default(&params);
  params.initial_max_stream_data_bidi_local = 1u << 20;
  params.initial_max_stream_data_bidi_remote = 1u << 20;
  params.initial_max_data = 8u << 20;
  params.initial_max_streams_bidi = 100;
  params.max_idle_timeout = 30 * NGTCP2_SECONDS;
  scid.datalen = CID_LEN;
  (void)gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, CID_LEN);
  path.local.addr = (ngtcp2_sockaddr *)&node->local;
  path.local.addrlen = sizeof node->local;
  path.remote.addr = (ngtcp2_sockaddr *)&c->remote;
  path.remote.addrlen = sizeof c->remote;
  path.user_data = NULL;
  /* The original destination cid: the client picks it for its first
   * Initial; the server reads it from that Initial. */
  if (c->is_server) {
    c->odcid = hd->dcid;
  } else {
    c->odcid.datalen = CID_LEN;
    (void)gnutls_rnd(GNUTLS_RND_RANDOM, c->odcid.data, CID_LEN);
  }
#if PT_TRACE
  if (node->cfg.cb.on_qlog != NULL) {
    settings.qlog.write = qlog_cb;
  }
  if (c->is_server) {
    settings.qlog.odcid = hd->dcid; /* ngtcp2 needs it for qlog */
  }
  pt_quic_tracer_init(&c->tracer, node->cfg.log,
                      c->has_peer ? c->peer_id : NULL,
                      pt_trace_ctx_new(PT_FLAG_SAMPLED));
  /* Before conn_init, so that it carries the connection identity too. */
  pt_quic_tracer_set_odcid(&c->tracer, c->odcid.data, c->odcid.datalen);
  pt_quic_tracer_install(&c->tracer, &cb, &settings);
  pt_quic_tracer_conn_init(&c->tracer, &c->remote, sizeof c->remote);
#endif

  if (c->is_server) {
    params.original_dcid = hd->dcid;
    rv = ngtcp2_conn_server_new(&c->conn, &hd->scid, &scid, &path, hd->version,
                                &cb, &settings, &params, NULL, c);
  } else {
    rv = ngtcp2_conn_client_new(&c->conn, &c->odcid, &scid, &path,
                                NGTCP2_PROTO_VER_V1, &cb, &settings, &params,
                                NULL, c);
  }
  if (rv != 0) {
    set_error("ngtcp2_conn_new: %s", ngtcp2_strerror(rv));
    c->conn = NULL;
    conn_free(c);
    return NULL;
  }
  if (setup_tls(c) != 0) {
    conn_free(c);
    return NULL;
  }
  node->conns[node->conn_count++] = c;
  return c;
}

static void send_datagram(p2p_node *node, const struct sockaddr_in *to,
                          const uint8_t *buf, size_t len) {
  ssize_t n =
      sendto(node->fd, buf, len, 0, (const struct sockaddr *)to, sizeof *to);
  if (n == (ssize_t)len) {
    node->stats.datagrams_sent++;
    node->stats.bytes_sent += len;
  }
}

/* Marks the connection closed and, if ngtcp2 still can, sends the close. */
static void conn_close(p2p_conn *c, int liberr, const char *reason) {
  ngtcp2_connection_close_error ccerr;
  uint8_t buf[1500];
  ngtcp2_path_storage ps;
  ngtcp2_pkt_info pi;
  p2p_node *node = c->node;

  if (c->closed) {
    return;
  }
  c->closed = 1;
  snprintf(c->error, sizeof c->error, "%s", reason);
  if (liberr == NGTCP2_ERR_DRAINING || liberr == NGTCP2_ERR_IDLE_CLOSE ||
      liberr == NGTCP2_ERR_HANDSHAKE_TIMEOUT ||
      ngtcp2_conn_is_in_closing_period(c->conn) ||
      ngtcp2_conn_is_in_draining_period(c->conn)) {
    goto done;
  }
  ngtcp2_connection_close_error_default(&ccerr);
  if (liberr == NGTCP2_ERR_CRYPTO) {
    ngtcp2_connection_close_error_set_transport_error_tls_alert(
        &ccerr, ngtcp2_conn_get_tls_alert(c->conn), NULL, 0);
  } else if (liberr != 0) {
    ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, liberr,
                                                             NULL, 0);
  }
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(
      c->conn, &ps.path, &pi, buf, sizeof buf, &ccerr, now_ns());
  if (n > 0) {
    send_datagram(node, &c->remote, buf, (size_t)n);
  }
done:
  if (node->cfg.cb.on_conn_closed != NULL) {
    node->cfg.cb.on_conn_closed(node, c, c->error, node->cfg.cb.arg);
  }
}

static void conn_fail(p2p_conn *c, int liberr) {
  char reason[256];
  if (liberr == NGTCP2_ERR_CRYPTO) {
    uint8_t alert = ngtcp2_conn_get_tls_alert(c->conn);
    const char *text = gnutls_alert_get_name(alert);
    if (alert == 120) {
      snprintf(reason, sizeof reason,
               "TLS handshake failed: alert 120 no_application_protocol: "
               "ALPN mismatch, this node speaks '%s' and the peer does not "
               "(a trace build and a release build cannot talk)",
               c->node->alpn);
    } else {
      snprintf(reason, sizeof reason, "TLS handshake failed: alert %u (%s)",
               alert, text ? text : "unknown");
    }
  } else if (liberr == NGTCP2_ERR_DRAINING && !c->established) {
    snprintf(reason, sizeof reason,
             "connection refused by the peer during the TLS handshake "
             "(this node speaks '%s'; a trace/release ALPN mismatch looks "
             "like this)",
             c->node->alpn);
  } else if (liberr == NGTCP2_ERR_DRAINING) {
    snprintf(reason, sizeof reason, "closed by the peer");
  } else {
    snprintf(reason, sizeof reason, "ngtcp2: %s", ngtcp2_strerror(liberr));
  }
  conn_close(c, liberr, reason);
}

static void conn_write(p2p_conn *c) {
  uint8_t buf[1500];
  ngtcp2_tstamp ts = now_ns();

  if (c->closed) {
    return;
  }
  for (size_t i = 0; i < MAX_STREAMS; i++) {
    p2p_stream *s = &c->streams[i];
    if (s->used && s->local && s->id < 0) {
      int64_t id;
      if (ngtcp2_conn_open_bidi_stream(c->conn, &id, NULL) != 0) {
        break; /* no credit or no handshake yet: try again later */
      }
      s->id = id;
#if PT_TRACE
      pt_quic_tracer_stream_opened(&c->tracer, id);
#endif
    }
  }
  for (int guard = 0; guard < 4096; guard++) {
    p2p_stream *s = NULL;
    for (size_t i = 0; i < MAX_STREAMS && s == NULL; i++) {
      p2p_stream *t = &c->streams[i];
      if (t->used && t->id >= 0 && t->tx != NULL && !t->tx_done &&
          !t->blocked) {
        s = t;
      }
    }
    ngtcp2_vec vec;
    ngtcp2_ssize accepted = -1;
    ngtcp2_path_storage ps;
    ngtcp2_pkt_info pi;
    ngtcp2_path_storage_zero(&ps);
    if (s != NULL) {
      vec.base = s->tx + s->tx_off;
      vec.len = s->tx_len - s->tx_off;
    }
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(
        c->conn, &ps.path, &pi, buf, sizeof buf, &accepted,
        s ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0, s ? s->id : -1, s ? &vec : NULL,
        s ? 1 : 0, ts);
    if (n < 0) {
      if (s != NULL && (n == NGTCP2_ERR_STREAM_DATA_BLOCKED ||
                        n == NGTCP2_ERR_STREAM_SHUT_WR ||
                        n == NGTCP2_ERR_STREAM_NOT_FOUND)) {
        s->blocked = 1;
        continue;
      }
      conn_fail(c, (int)n);
      return;
    }
    if (s != NULL && accepted >= 0) {
      size_t a = (size_t)accepted;
      int fin = s->tx_off + a == s->tx_len;
#if PT_TRACE
      pt_quic_tracer_stream_sent_trace(&c->tracer,
                                       s->has_trace ? &s->trace : NULL, s->id,
                                       s->tx_off, a, fin);
#endif
      s->tx_off += a;
      s->tx_done = fin;
    }
    if (n == 0) {
      break;
    }
    send_datagram(c->node, &c->remote, buf, (size_t)n);
  }
  for (size_t i = 0; i < MAX_STREAMS; i++) {
    c->streams[i].blocked = 0;
  }
}

static int cid_equal(const ngtcp2_cid *a, const uint8_t *data, size_t len) {
  return a->datalen == len && memcmp(a->data, data, len) == 0;
}

static p2p_conn *conn_by_dcid(p2p_node *node, const uint8_t *dcid, size_t len) {
  ngtcp2_cid scids[MAX_SCIDS];
  for (size_t i = 0; i < node->conn_count; i++) {
    p2p_conn *c = node->conns[i];
    if (c->closed) {
      continue;
    }
    if (c->is_server && cid_equal(&c->odcid, dcid, len)) {
      return c;
    }
    if (ngtcp2_conn_get_num_scid(c->conn) > MAX_SCIDS) {
      continue;
    }
    size_t k = ngtcp2_conn_get_scid(c->conn, scids);
    for (size_t j = 0; j < k; j++) {
      if (cid_equal(&scids[j], dcid, len)) {
        return c;
      }
    }
  }
  return NULL;
}

static void handle_datagram(p2p_node *node, const struct sockaddr_in *from,
                            const uint8_t *data, size_t len) {
  ngtcp2_version_cid vc;
  p2p_conn *c;
  if (ngtcp2_pkt_decode_version_cid(&vc, data, len, CID_LEN) != 0) {
    return; /* not a packet we can route (or a version negotiation) */
  }
  c = conn_by_dcid(node, vc.dcid, vc.dcidlen);
  if (c == NULL) {
    ngtcp2_pkt_hd hd;
    if (ngtcp2_accept(&hd, data, len) != 0) {
      return;
    }
    c = conn_new(node, from, &hd);
    if (c == NULL) {
      return;
    }
  }
  ngtcp2_path path;
  ngtcp2_pkt_info pi = {0};
  path.local.addr = (ngtcp2_sockaddr *)&node->local;
  path.local.addrlen = sizeof node->local;
  path.remote.addr = (ngtcp2_sockaddr *)(uintptr_t)from;
  path.remote.addrlen = sizeof *from;
  path.user_data = NULL;
  int rv = ngtcp2_conn_read_pkt(c->conn, &path, &pi, data, len, now_ns());
  if (rv != 0) {
    conn_fail(c, rv);
  }
}

static int node_read(p2p_node *node) {
  uint8_t buf[65536];
  for (;;) {
    struct sockaddr_in from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(node->fd, buf, sizeof buf, MSG_DONTWAIT,
                         (struct sockaddr *)&from, &fromlen);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        return 0;
      }
      set_error("recvfrom: %s", strerror(errno));
      return -1;
    }
    if (fromlen != sizeof from || from.sin_family != AF_INET) {
      continue;
    }
    node->stats.datagrams_received++;
    node->stats.bytes_received += (uint64_t)n;
    if (node->cfg.loss_rate > 0 &&
        (double)(next_random(&node->rng) >> 11) * 0x1.0p-53 <
            node->cfg.loss_rate) {
      node->stats.datagrams_dropped++;
      continue;
    }
    handle_datagram(node, &from, buf, (size_t)n);
  }
}

/* ---- Public ------------------------------------------------------------ */

int p2p_node_create(p2p_node **out, const p2p_config *cfg) {
  p2p_node *node;
  socklen_t len;
  int bufsize = 4 << 20;

  if (out == NULL || cfg == NULL) {
    set_error("NULL argument");
    return -1;
  }
  node = calloc(1, sizeof *node);
  if (node == NULL) {
    set_error("out of memory");
    return -1;
  }
  node->cfg = *cfg;
  node->alpn = cfg->alpn ? cfg->alpn : PT_WIRE_ALPN;
  node->rng = cfg->seed;
  node->fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (node->fd < 0) {
    set_error("socket: %s", strerror(errno));
    free(node);
    return -1;
  }
  (void)setsockopt(node->fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
  (void)setsockopt(node->fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
  node->local.sin_family = AF_INET;
  node->local.sin_addr.s_addr =
      htonl(cfg->addr != 0 ? cfg->addr : INADDR_LOOPBACK);
  node->local.sin_port = htons(cfg->port); /* 0: the kernel picks one */
  len = sizeof node->local;
  if (bind(node->fd, (struct sockaddr *)&node->local, sizeof node->local) !=
          0 ||
      getsockname(node->fd, (struct sockaddr *)&node->local, &len) != 0) {
    set_error("bind: %s", strerror(errno));
    goto fail;
  }
  if (make_credentials(&node->cred) != 0) {
    goto fail;
  }
  *out = node;
  return 0;
fail:
  close(node->fd);
  free(node);
  return -1;
}

void p2p_node_destroy(p2p_node *node) {
  if (node == NULL) {
    return;
  }
  for (size_t i = 0; i < node->conn_count; i++) {
    conn_free(node->conns[i]);
  }
  gnutls_certificate_free_credentials(node->cred);
  close(node->fd);
  free(node);
}

uint16_t p2p_node_port(const p2p_node *node) {
  return ntohs(node->local.sin_port);
}

const uint8_t *p2p_node_id(const p2p_node *node) {
  return node->cfg.node_id;
}

void p2p_node_get_stats(const p2p_node *node, p2p_node_stats *out) {
  *out = node->stats;
}

int p2p_node_add_peer(p2p_node *node, uint16_t port,
                      const uint8_t peer_id[PT_NODE_ID_SIZE]) {
  return p2p_node_add_peer_at(node, INADDR_LOOPBACK, port, peer_id);
}

int p2p_node_add_peer_at(p2p_node *node, uint32_t addr, uint16_t port,
                         const uint8_t peer_id[PT_NODE_ID_SIZE]) {
  if (node->peer_count == P2P_MAX_PEERS) {
    set_error("address book full");
    return -1;
  }
  node->peers[node->peer_count].addr = addr;
  node->peers[node->peer_count].port = port;
  memcpy(node->peers[node->peer_count].id, peer_id, PT_NODE_ID_SIZE);
  node->peer_count++;
  return 0;
}

int p2p_node_connect(p2p_node *node, uint16_t port, p2p_conn **out) {
  struct sockaddr_in remote;
  memset(&remote, 0, sizeof remote);
  remote.sin_family = AF_INET;
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (size_t i = 0; i < node->peer_count; i++) {
    if (node->peers[i].port == port) {
      remote.sin_addr.s_addr = htonl(node->peers[i].addr);
    }
  }
  remote.sin_port = htons(port);
  p2p_conn *c = conn_new(node, &remote, NULL);
  if (c == NULL) {
    return -1;
  }
  *out = c;
  return 0;
}

p2p_conn *p2p_node_find_conn(p2p_node *node, uint16_t port) {
  for (size_t i = 0; i < node->conn_count; i++) {
    p2p_conn *c = node->conns[i];
    if (!c->closed && ntohs(c->remote.sin_port) == port) {
      return c;
    }
  }
  return NULL;
}

int p2p_conn_request(p2p_conn *conn, const uint8_t *msg, size_t len,
                     void *request_ctx, const pt_msg_header *trace) {
  if (conn->closed) {
    set_error("connection closed: %s", conn->error);
    return -1;
  }
  p2p_stream *s = stream_new(conn, -1, 1);
  if (s == NULL) {
    set_error("too many streams in flight");
    return -1;
  }
  if (stream_set_tx(s, msg, len, trace) != 0) {
    stream_free(s);
    return -1;
  }
  s->request_ctx = request_ctx;
  return 0;
}

int p2p_conn_respond(p2p_conn *conn, int64_t stream_id, const uint8_t *msg,
                     size_t len, const pt_msg_header *trace) {
  p2p_stream *s = stream_find(conn, stream_id);
  if (s == NULL || s->local || s->tx != NULL) {
    set_error("no request waiting on stream %lld", (long long)stream_id);
    return -1;
  }
  return stream_set_tx(s, msg, len, trace);
}

int p2p_conn_is_established(const p2p_conn *conn) {
  return conn->established;
}
int p2p_conn_is_closed(const p2p_conn *conn) {
  return conn->closed;
}
const char *p2p_conn_error(const p2p_conn *conn) {
  return conn->error;
}
uint16_t p2p_conn_peer_port(const p2p_conn *conn) {
  return ntohs(conn->remote.sin_port);
}

uint64_t p2p_conn_rtt_us(const p2p_conn *conn) {
  ngtcp2_conn_stat st;
  if (!conn->established) {
    return 0;
  }
  ngtcp2_conn_get_conn_stat(conn->conn, &st);
  return st.smoothed_rtt / 1000u;
}

const uint8_t *p2p_conn_peer_id(const p2p_conn *conn) {
  return conn->has_peer ? conn->peer_id : NULL;
}

#if PT_TRACE
struct pt_quic_tracer *p2p_conn_tracer(p2p_conn *conn) {
  return &conn->tracer;
}
#endif

int p2p_net_poll(p2p_node **nodes, size_t count, int max_wait_ms) {
  struct pollfd fds[64];
  ngtcp2_tstamp now = now_ns();
  ngtcp2_tstamp next = now + (ngtcp2_tstamp)max_wait_ms * NGTCP2_MILLISECONDS;
  if (count > 64) {
    set_error("too many nodes");
    return -1;
  }
  for (size_t i = 0; i < count; i++) {
    fds[i].fd = nodes[i]->fd;
    fds[i].events = POLLIN;
    fds[i].revents = 0;
    for (size_t j = 0; j < nodes[i]->conn_count; j++) {
      p2p_conn *c = nodes[i]->conns[j];
      if (!c->closed) {
        ngtcp2_tstamp e = ngtcp2_conn_get_expiry(c->conn);
        if (e < next) {
          next = e;
        }
      }
    }
  }
  int wait_ms = next <= now ? 0 : (int)((next - now + 999999) / 1000000);
  if (poll(fds, (nfds_t)count, wait_ms) < 0 && errno != EINTR) {
    set_error("poll: %s", strerror(errno));
    return -1;
  }
  for (size_t i = 0; i < count; i++) {
    if ((fds[i].revents & POLLIN) && node_read(nodes[i]) != 0) {
      return -1;
    }
  }
  now = now_ns();
  for (size_t i = 0; i < count; i++) {
    for (size_t j = 0; j < nodes[i]->conn_count; j++) {
      p2p_conn *c = nodes[i]->conns[j];
      if (c->closed) {
        continue;
      }
      if (ngtcp2_conn_get_expiry(c->conn) <= now) {
        int rv = ngtcp2_conn_handle_expiry(c->conn, now);
        if (rv != 0) {
          conn_fail(c, rv);
          continue;
        }
      }
      conn_write(c);
    }
  }
  return 0;
}

void p2p_node_close_all(p2p_node *node) {
  for (size_t i = 0; i < node->conn_count; i++) {
    conn_close(node->conns[i], 0, "closed locally");
  }
}
