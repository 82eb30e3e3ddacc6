/*
 * pt_quic: the ngtcp2 adapter's recording (see include/peertrace/pt_quic.h).
 * It parses ngtcp2's qlog records with the public parsers of pt_quic_qlog.c
 * and writes the events of one connection, each stamped with the tracer's
 * trace context, peer and connection identity.
 */
#include "pt_common.h"

#include <peertrace/pt_quic.h>

#include "pt_quic_qlog.h"

/* ---- Recording --------------------------------------------------------- */

/*
 * Writes an event of the connection: with the connection identity (every
 * kind the adapter records has a CONN field), and dropped whole with its
 * trace if compile-time sampling (PT_TRACE_SAMPLE) drops that trace, as by
 * every event macro.
 */
static void pt__record(pt_quic_tracer *t, pt_event *ev) {
  (void)pt_event_set_conn(ev, t->conn);
  if (PT_TRACE_SAMPLED(ev->trace_id)) {
    pt_log_write(t->log, ev);
  }
}

/* Trace id, peer and trace flags of an event of the connection.  Only the
 * trace flag bits: the others are the event's (pt_log_write refuses an
 * event with a reserved one). */
static void pt__stamp(const pt_quic_tracer *t, pt_event *ev) {
  ev->trace_id = t->ctx.trace_id;
  if (t->has_peer) {
    memcpy(ev->peer_id, t->peer_id, sizeof ev->peer_id);
    ev->flags = (uint8_t)(ev->flags | PT_EVENT_HAS_PEER);
  }
  ev->flags = (uint8_t)(ev->flags | (t->ctx.flags & PT_TRACE_FLAGS_MASK));
}

static void pt__begin(const pt_quic_tracer *t, pt_event *ev) {
  pt_event_begin(ev, t->ctx.trace_id, NULL);
  pt__stamp(t, ev);
}

/* The qlog header: the connection's ODCID, unless the tracer has one (set
 * by the application, or an earlier header's). */
static void pt__record_header(pt_quic_tracer *t, const char *rec, size_t len) {
  uint8_t cid[PT_QUIC_MAX_CID_LEN];
  size_t cid_len = 0;
  int rv = pt_quic_qlog_odcid(rec, len, cid, &cid_len);
  if (rv < 0) {
    t->stats.conn_mismatch++;
  } else if (rv == 1) {
    uint64_t conn = pt_conn_id_from_cid(cid, cid_len);
    if (t->conn == 0) {
      t->conn = conn;
    } else if (conn != t->conn) {
      t->stats.conn_mismatch++;
    }
  }
}

/* The STREAM frames of a packet record whose packet event was recorded. */
static void pt__record_frames(pt_quic_tracer *t, const char *rec, size_t len) {
  pt_event frames[PT_QUIC_MAX_STREAM_FRAMES];
  size_t count = 0;
  if (pt_quic_qlog_stream_frames(rec, len, frames, PT_QUIC_MAX_STREAM_FRAMES,
                                 &count) != 1) {
    t->stats.frames_rejected++;
    return;
  }
  size_t n =
      count < PT_QUIC_MAX_STREAM_FRAMES ? count : PT_QUIC_MAX_STREAM_FRAMES;
  t->stats.frames_dropped += count - n;
  for (size_t i = 0; i < n; i++) {
    pt__stamp(t, &frames[i]);
    t->stats.stream_frames++;
    pt__record(t, &frames[i]);
  }
}

/* An ngtcp2 duration (ns) in whole microseconds, UINT32_MAX at most. */
static uint32_t pt__duration_us(ngtcp2_duration ns) {
  ngtcp2_duration us = ns / 1000u;
  return us < UINT32_MAX ? (uint32_t)us : UINT32_MAX;
}

/*
 * ngtcp2 wrote recovery:metrics_updated: its values in whole ms, the
 * connection's in ns.  Records the latter if one differs from the
 * previous recovery_metrics; ngtcp2 writes the record for an RTT sample
 * and for every change of cwnd or bytes in flight, often with no change
 * a microsecond could show.
 */
static void pt__record_metrics(pt_quic_tracer *t) {
  ngtcp2_conn_stat st;
  struct pt_recovery_metrics_data m;
  t->stats.metrics_updates++;
  if (t->quic_conn == NULL) {
    t->stats.metrics_no_conn++;
    return;
  }
  ngtcp2_conn_get_conn_stat(t->quic_conn, &st);
  memset(&m, 0, sizeof m);
  if (st.first_rtt_sample_ts != UINT64_MAX) { /* else no sample yet */
    m.latest_rtt_us = pt__duration_us(st.latest_rtt);
    m.min_rtt_us = pt__duration_us(st.min_rtt);
  }
  m.smoothed_rtt_us = pt__duration_us(st.smoothed_rtt);
  m.rtt_variance_us = pt__duration_us(st.rttvar);
  m.cwnd = st.cwnd;
  m.bytes_in_flight = st.bytes_in_flight;
  m.conn = t->conn; /* as pt__record will set it */
  if (t->has_metrics && memcmp(&m, &t->metrics, sizeof m) == 0) {
    return;
  }
  t->metrics = m;
  t->has_metrics = 1;
  pt_event ev;
  pt__begin(t, &ev);
  pt_event_set_recovery_metrics(&ev, m.latest_rtt_us, m.min_rtt_us,
                                m.smoothed_rtt_us, m.rtt_variance_us, m.cwnd,
                                m.bytes_in_flight);
  t->stats.recovery_metrics++;
  pt__record(t, &ev);
}

static void pt__record_packet(pt_quic_tracer *t, const char *rec, size_t len) {
  pt_event ev;
  t->stats.qlog_records++;
  int rv = pt_quic_qlog_parse(rec, len, &ev);
  if (rv < 0) {
    t->stats.qlog_rejected++;
    return;
  }
  if (rv == 0) {
    if (pt__quic_qlog_named(rec, len, "recovery:metrics_updated") == 1) {
      pt__record_metrics(t);
    } else {
      pt__record_header(t, rec, len);
    }
    return;
  }
  pt__stamp(t, &ev);
  switch (ev.kind) {
  case PT_EV_PACKET_SENT:
    t->stats.packets_sent++;
    t->stats.bytes_sent += ev.data.packet_sent.size;
    break;
  case PT_EV_PACKET_RECEIVED:
    t->stats.packets_received++;
    t->stats.bytes_received += ev.data.packet_received.size;
    break;
  default:
    t->stats.packets_lost++;
    break;
  }
  pt__record(t, &ev);
  if (ev.kind != PT_EV_PACKET_LOST) {
    pt__record_frames(t, rec, len);
  }
}

/* The qlog hook: splits a write into JSON-SEQ records and parses each. */
static void pt__qlog_write(void *user_data, uint32_t flags, const void *data,
                           size_t len) {
  pt_quic_tracer *t = user_data;
  const char *p = data;
  const char *end = p + len;
  while (p != NULL && p < end) {
    const char *next = memchr(p + 1, '\x1e', (size_t)(end - p - 1));
    const char *stop = next ? next : end;
    /* A lone separator or newline between records is not a record. */
    if (stop - p > 2) {
      pt__record_packet(t, p, (size_t)(stop - p));
    }
    p = next;
  }
  if (t->app_qlog_write != NULL) {
    t->app_qlog_write(user_data, flags, data, len);
  }
}

/*
 * The connection, from a callback: ngtcp2 hands it to callbacks only, and
 * the recovery metrics are read from it.  A tracer traces one connection,
 * so the first one given stays.
 */
static void pt__note_conn(pt_quic_tracer *t, ngtcp2_conn *conn) {
  if (t->quic_conn == NULL) {
    t->quic_conn = conn;
  }
}

static int pt__client_initial(ngtcp2_conn *conn, void *user_data) {
  pt_quic_tracer *t = user_data;
  pt__note_conn(t, conn);
  return t->app_client_initial(conn, user_data);
}

static int pt__recv_client_initial(ngtcp2_conn *conn, const ngtcp2_cid *dcid,
                                   void *user_data) {
  pt_quic_tracer *t = user_data;
  pt__note_conn(t, conn);
  return t->app_recv_client_initial(conn, dcid, user_data);
}

static int pt__handshake_completed(ngtcp2_conn *conn, void *user_data) {
  pt_quic_tracer *t = user_data;
  ngtcp2_conn_stat st;
  pt__note_conn(t, conn);
  pt_event ev;
  ngtcp2_conn_get_conn_stat(conn, &st);
  t->last_rtt = st.smoothed_rtt;
  pt__begin(t, &ev);
  pt_event_set_conn_established(&ev, st.smoothed_rtt / 1000u);
  pt__record(t, &ev);
  return t->app_handshake_completed
             ? t->app_handshake_completed(conn, user_data)
             : 0;
}

static int pt__stream_open(ngtcp2_conn *conn, int64_t stream_id,
                           void *user_data) {
  pt_quic_tracer *t = user_data;
  pt_event ev;
  pt__note_conn(t, conn);
  pt__begin(t, &ev);
  pt_event_set_stream_opened(&ev, (uint64_t)stream_id, 0);
  pt__record(t, &ev);
  return t->app_stream_open ? t->app_stream_open(conn, stream_id, user_data)
                            : 0;
}

static int pt__recv_stream_data(ngtcp2_conn *conn, uint32_t flags,
                                int64_t stream_id, uint64_t offset,
                                const uint8_t *data, size_t datalen,
                                void *user_data, void *stream_user_data) {
  pt_quic_tracer *t = user_data;
  pt_event ev;
  pt__note_conn(t, conn);
  pt__begin(t, &ev);
  pt_event_set_stream_data(&ev, (uint64_t)stream_id, offset, datalen,
                           (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
  pt__record(t, &ev);
  return t->app_recv_stream_data
             ? t->app_recv_stream_data(conn, flags, stream_id, offset, data,
                                       datalen, user_data, stream_user_data)
             : 0;
}

/* ---- Public ------------------------------------------------------------ */

int pt_quic_tracer_init(pt_quic_tracer *t, pt_log *log, const uint8_t *peer_id,
                        pt_trace_ctx ctx) {
  if (t == NULL || log == NULL) {
    return PT_ERR_INVALID;
  }
  memset(t, 0, sizeof *t);
  t->log = log;
  t->ctx = ctx;
  if (peer_id != NULL) {
    memcpy(t->peer_id, peer_id, sizeof t->peer_id);
    t->has_peer = 1;
  }
  return PT_OK;
}

int pt_quic_tracer_set_peer(pt_quic_tracer *t, const uint8_t *peer_id) {
  if (t == NULL || peer_id == NULL) {
    return PT_ERR_INVALID;
  }
  memcpy(t->peer_id, peer_id, sizeof t->peer_id);
  t->has_peer = 1;
  return PT_OK;
}

int pt_quic_tracer_set_odcid(pt_quic_tracer *t, const uint8_t *cid,
                             size_t len) {
  if (t == NULL || cid == NULL || len == 0 || len > PT_QUIC_MAX_CID_LEN) {
    return PT_ERR_INVALID;
  }
  t->conn = pt_conn_id_from_cid(cid, len);
  return PT_OK;
}

int pt_quic_tracer_install(pt_quic_tracer *t, ngtcp2_callbacks *callbacks,
                           ngtcp2_settings *settings) {
  if (t == NULL || callbacks == NULL || settings == NULL ||
      callbacks->handshake_completed == pt__handshake_completed ||
      settings->qlog.write == pt__qlog_write) {
    return PT_ERR_INVALID;
  }
  t->app_handshake_completed = callbacks->handshake_completed;
  t->app_stream_open = callbacks->stream_open;
  t->app_recv_stream_data = callbacks->recv_stream_data;
  t->app_qlog_write = settings->qlog.write;
  t->app_client_initial = callbacks->client_initial;
  t->app_recv_client_initial = callbacks->recv_client_initial;
  /* Mandatory for a client / a server; NULL ones stay NULL, so ngtcp2
   * treats a misconfigured connection as it would without the tracer. */
  if (callbacks->client_initial != NULL) {
    callbacks->client_initial = pt__client_initial;
  }
  if (callbacks->recv_client_initial != NULL) {
    callbacks->recv_client_initial = pt__recv_client_initial;
  }
  callbacks->handshake_completed = pt__handshake_completed;
  callbacks->stream_open = pt__stream_open;
  callbacks->recv_stream_data = pt__recv_stream_data;
  settings->qlog.write = pt__qlog_write;
  return PT_OK;
}

int pt_quic_tracer_conn_init(pt_quic_tracer *t, const void *remote_sa,
                             size_t remote_sa_len) {
  pt_endpoint endpoint;
  pt_event ev;
  if (t == NULL) {
    return PT_ERR_INVALID;
  }
  int rv = pt_endpoint_from_sockaddr(remote_sa, remote_sa_len, &endpoint);
  if (rv != PT_OK) {
    return rv;
  }
  pt__begin(t, &ev);
  pt_event_set_conn_init(&ev, endpoint);
  pt__record(t, &ev);
  return PT_OK;
}

int pt_quic_tracer_stream_opened(pt_quic_tracer *t, int64_t stream_id) {
  pt_event ev;
  if (t == NULL) {
    return PT_ERR_INVALID;
  }
  pt__begin(t, &ev);
  pt_event_set_stream_opened(&ev, (uint64_t)stream_id, 1);
  pt__record(t, &ev);
  return PT_OK;
}

int pt_quic_tracer_stream_sent_trace(pt_quic_tracer *t,
                                     const pt_msg_header *trace,
                                     int64_t stream_id, uint64_t offset,
                                     uint64_t length, int fin) {
  pt_event ev;
  if (t == NULL) {
    return PT_ERR_INVALID;
  }
  pt__begin(t, &ev);
  if (trace != NULL) {
    ev.trace_id = trace->trace_id;
    ev.flags = (uint8_t)((ev.flags & ~PT_TRACE_FLAGS_MASK) |
                         (trace->flags & PT_TRACE_FLAGS_MASK));
  }
  pt_event_set_stream_data(&ev, (uint64_t)stream_id, offset, length, fin);
  ev.data.stream_data.sent = 1;
  pt__record(t, &ev);
  return PT_OK;
}

int pt_quic_tracer_stream_sent(pt_quic_tracer *t, int64_t stream_id,
                               uint64_t offset, uint64_t length, int fin) {
  return pt_quic_tracer_stream_sent_trace(t, NULL, stream_id, offset, length,
                                          fin);
}
