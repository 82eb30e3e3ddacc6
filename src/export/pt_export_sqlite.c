/*
 * pt_export_sqlite: a pipeline's events into SQLite (include/peertrace/
 * pt_sqlite.h has the schema).  One transaction, one prepared INSERT per
 * table reused for every row; text columns are bound from stack buffers
 * (SQLITE_TRANSIENT is not needed: the row is stepped before they change,
 * so SQLITE_STATIC).  The connections table and the views are SQL over
 * the events; the hops are pt_request's answer (one copy of the walk),
 * fed the same events with their timeline times.
 */
#define _GNU_SOURCE
#include <peertrace/pt_request.h>
#include <peertrace/pt_sqlite.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pt_export.h"
#include "pt_u64map.h"

static const char pt__sql_schema[] =
    "CREATE TABLE nodes(node INTEGER PRIMARY KEY, node_id TEXT NOT NULL,"
    " clock_status TEXT NOT NULL, times TEXT NOT NULL, offset_us REAL,"
    " drift_ppm REAL, bound_us REAL, t0_us INTEGER);"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, node INTEGER NOT NULL,"
    " time_us INTEGER NOT NULL, raw_time_us INTEGER NOT NULL,"
    " kind TEXT NOT NULL, trace TEXT, peer TEXT, peer_node INTEGER,"
    " conn TEXT, pn INTEGER, space TEXT, size INTEGER, stream_id INTEGER,"
    " offset INTEGER, length INTEGER, fin INTEGER, sent INTEGER,"
    " command TEXT, ok INTEGER, duration_us INTEGER, rtt_us INTEGER,"
    " latest_rtt_us INTEGER, min_rtt_us INTEGER, smoothed_rtt_us INTEGER,"
    " rtt_variance_us INTEGER, cwnd INTEGER, bytes_in_flight INTEGER);"
    "CREATE TABLE hops(trace TEXT NOT NULL, hop INTEGER NOT NULL,"
    " kind TEXT NOT NULL, sender INTEGER, receiver INTEGER, command TEXT,"
    " sent_us INTEGER, received_us INTEGER, end_us INTEGER, ok INTEGER,"
    " conn TEXT, stream_id INTEGER, packets INTEGER, lost INTEGER,"
    " retransmissions INTEGER, repeats INTEGER, recovered INTEGER,"
    " recovery_us INTEGER, PRIMARY KEY(trace, hop));"
    "CREATE TABLE connections(conn TEXT NOT NULL, node INTEGER NOT NULL,"
    " role TEXT NOT NULL, peer_node INTEGER, first_us INTEGER,"
    " last_us INTEGER, sent INTEGER, received INTEGER, lost INTEGER,"
    " PRIMARY KEY(conn, node));"
    "CREATE TABLE hop_packets(trace TEXT NOT NULL, hop INTEGER NOT NULL,"
    " pn INTEGER NOT NULL, space TEXT NOT NULL, size INTEGER,"
    " sent_us INTEGER, received_us INTEGER, lost INTEGER NOT NULL,"
    " retransmits_pn INTEGER, retransmits_lost INTEGER,"
    " recovery_us INTEGER);";

/* After the events: an index for the pairs' join, the views. */
static const char pt__sql_derived[] =
    "CREATE INDEX events_received ON events(conn, space, pn)"
    " WHERE kind = 'packet_received';"
    "CREATE VIEW packet_pairs AS SELECT s.conn AS conn, s.space AS space,"
    " s.pn AS pn, s.node AS from_node, r.node AS to_node, s.size AS size,"
    " s.time_us AS sent_us, r.time_us AS received_us,"
    " r.time_us - s.time_us AS delay_us FROM events s JOIN events r ON"
    " r.conn = s.conn AND r.kind = 'packet_received' AND r.space = s.space"
    " AND r.pn = s.pn AND r.node <> s.node WHERE s.kind = 'packet_sent';"
    "CREATE VIEW request_hops AS SELECT h.*, s.node_id AS sender_id,"
    " r.node_id AS receiver_id, h.received_us - h.sent_us AS latency_us"
    " FROM hops h LEFT JOIN nodes s ON s.node = h.sender"
    " LEFT JOIN nodes r ON r.node = h.receiver;";

/* The INSERT of `rows` rows (its VALUES tuples are added by
 * pt__sql_prepare_insert). */
static const char pt__sql_event[] =
    "INSERT INTO events(node, time_us, raw_time_us, kind, trace, peer,"
    " peer_node, conn, pn, space, size, stream_id, offset, length, fin,"
    " sent, command, ok, duration_us, rtt_us, latest_rtt_us, min_rtt_us,"
    " smoothed_rtt_us, rtt_variance_us, cwnd, bytes_in_flight) VALUES";

/* Column numbers of pt__sql_event's parameters. */
enum {
  PT__C_NODE = 1,
  PT__C_TIME,
  PT__C_RAW,
  PT__C_KIND,
  PT__C_TRACE,
  PT__C_PEER,
  PT__C_PEER_NODE,
  PT__C_CONN,
  PT__C_PN,
  PT__C_SPACE,
  PT__C_SIZE,
  PT__C_STREAM,
  PT__C_OFFSET,
  PT__C_LENGTH,
  PT__C_FIN,
  PT__C_SENT,
  PT__C_COMMAND,
  PT__C_OK,
  PT__C_DURATION,
  PT__C_RTT,
  PT__C_LATEST_RTT,
  PT__C_MIN_RTT,
  PT__C_SMOOTHED_RTT,
  PT__C_RTT_VARIANCE,
  PT__C_CWND,
  PT__C_BYTES_IN_FLIGHT,
  PT__C_COUNT = PT__C_BYTES_IN_FLIGHT /* parameters a row */
};

/*
 * Rows go in PT__SQL_BATCH at a time, one INSERT with that many VALUES
 * tuples: one statement step for 32 rows instead of 32 (about a fifth
 * less time a row).  The rows wait in pt__sql.rows, their text in
 * pt__sql.text.
 */
#define PT__SQL_BATCH 32u

typedef struct pt__sql_row {
  pt_event ev;
  unsigned node;
  uint64_t raw_us;
} pt__sql_row;

typedef struct pt__sql_text {
  char trace[33], peer[65], conn[17], command[128];
} pt__sql_text;

/* What the connections table says of one (conn, node), counted as the
 * events go in (a GROUP BY over the events afterwards costs more than all
 * the inserts). */
typedef struct pt__sql_conn {
  uint64_t conn;
  unsigned node;
  int role; /* 0 unknown, 1 client, 2 server; decided at the first packet */
  int seen_packet;
  uint64_t first_us, last_us, sent, received, lost;
} pt__sql_conn;

typedef struct pt__sql {
  sqlite3 *db;
  sqlite3_stmt *event, *batch, *hop, *packet;
  pt__sql_row rows[PT__SQL_BATCH];
  pt__sql_text text[PT__SQL_BATCH];
  unsigned held;
  pt_request *request;
  pt_exporter namer; /* only namer/namer_user: pt__export_event_title */
  unsigned node_count;
  uint8_t (*node_ids)[32];
  pt__u64map conn_index; /* mix(conn, node) -> 1 + index in conns */
  pt__sql_conn *conns;
  size_t conn_count, conn_cap;
} pt__sql;

/* An SQLite result: PT_OK for done/ok, else PT_ERR_IO (NOMEM as such). */
static int pt__sql_rc(int rc) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) {
    return PT_OK;
  }
  return rc == SQLITE_NOMEM ? PT_ERR_NOMEM : PT_ERR_IO;
}

/* One statement of NUL-terminated SQL, as pt__sql_rc says. */
static int pt__sql_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out) {
  return pt__sql_rc(sqlite3_prepare_v2(db, sql, -1, out, NULL));
}

static int pt__sql_step(sqlite3_stmt *st) {
  int rc = pt__sql_rc(sqlite3_step(st));
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc;
}

static void pt__sql_u64(sqlite3_stmt *st, int col, uint64_t v) {
  sqlite3_bind_int64(st, col, (sqlite3_int64)v); /* > 2^63: negative */
}

static void pt__sql_bind_conn(sqlite3_stmt *st, int col, uint64_t conn,
                              char buf[17]) {
  if (conn != 0) {
    uint8_t be[8]; /* 16 hex digits, most significant first (not printf:
                      it is a good part of the insert's cost) */
    for (int i = 0; i < 8; i++) {
      be[i] = (uint8_t)(conn >> (56 - 8 * i));
    }
    pt__hex_encode(buf, be, sizeof be);
    sqlite3_bind_text(st, col, buf, 16, SQLITE_STATIC);
  }
}

static void pt__sql_trace(sqlite3_stmt *st, int col, const pt_trace_id *t,
                          char buf[33]) {
  if (!pt_trace_id_is_zero(t)) {
    pt_trace_id_to_hex(t, buf, 33);
    sqlite3_bind_text(st, col, buf, 32, SQLITE_STATIC);
  }
}

/* The packet fields of packet_sent / packet_received / packet_lost. */
/* The stream fields of stream_data / stream_frame. */
static void pt__sql_stream(sqlite3_stmt *st, int b, uint64_t stream_id,
                           uint64_t offset, uint32_t length, unsigned fin,
                           unsigned sent) {
  pt__sql_u64(st, b + PT__C_STREAM, stream_id);
  pt__sql_u64(st, b + PT__C_OFFSET, offset);
  sqlite3_bind_int64(st, b + PT__C_LENGTH, length);
  sqlite3_bind_int(st, b + PT__C_FIN, (int)fin);
  sqlite3_bind_int(st, b + PT__C_SENT, (int)sent);
}

static void pt__sql_packet(sqlite3_stmt *st, int b, uint64_t pn,
                           unsigned space) {
  pt__sql_u64(st, b + PT__C_PN, pn);
  sqlite3_bind_text(st, b + PT__C_SPACE,
                    pt__export_space_name(space, PT__SPACE_SQL), -1,
                    SQLITE_STATIC);
}

/* The record of (conn, node), created if new; NULL without memory. */
static pt__sql_conn *pt__sql_conn_of(pt__sql *s, uint64_t conn, unsigned node) {
  uint64_t key = pt__u64_mix(conn ^ ((uint64_t)node << 48 | node));
  pt__u64slot *slot = pt__u64map_get(&s->conn_index, key);
  if (slot == NULL) {
    return NULL;
  }
  if (slot->a != 0 && s->conns[slot->a - 1].conn == conn &&
      s->conns[slot->a - 1].node == node) {
    return &s->conns[slot->a - 1];
  }
  for (size_t i = 0; slot->a != 0 && i < s->conn_count; i++) {
    if (s->conns[i].conn == conn && s->conns[i].node == node) {
      return &s->conns[i]; /* two pairs with one key: rare, found anyway */
    }
  }
  if (s->conn_count == s->conn_cap) {
    size_t cap = s->conn_cap ? 2 * s->conn_cap : 64;
    pt__sql_conn *grown = realloc(s->conns, cap * sizeof *grown);
    if (grown == NULL) {
      return NULL;
    }
    s->conns = grown;
    s->conn_cap = cap;
  }
  pt__sql_conn *c = &s->conns[s->conn_count++];
  memset(c, 0, sizeof *c);
  c->conn = conn;
  c->node = node;
  if (slot->a == 0) {
    slot->a = (uint32_t)s->conn_count;
  }
  return c;
}

static int pt__sql_count(pt__sql *s, unsigned node, const pt_event *ev,
                         uint64_t conn) {
  pt__sql_conn *c = pt__sql_conn_of(s, conn, node);
  if (c == NULL) {
    return PT_ERR_NOMEM;
  }
  if (c->first_us == 0) {
    c->first_us = ev->timestamp_us;
  }
  c->last_us = ev->timestamp_us;
  int sent = ev->kind == PT_EV_PACKET_SENT;
  if (sent || ev->kind == PT_EV_PACKET_RECEIVED) {
    if (!c->seen_packet && ev->data.packet_sent.space == PT_PN_SPACE_INITIAL) {
      c->role = sent ? 1 : 2; /* the client sends the first Initial */
    }
    c->seen_packet = 1;
    c->sent += (uint64_t)sent;
    c->received += (uint64_t)!sent;
  }
  c->lost += ev->kind == PT_EV_PACKET_LOST;
  return PT_OK;
}

/* The connections table from the counts; peer_node: the other node that
 * recorded the same conn (the first, if more did). */
static int pt__sql_connections(pt__sql *s) {
  sqlite3_stmt *st;
  int rc = pt__sql_prepare(
      s->db,
      "INSERT INTO connections VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
      &st);
  static const char *const roles[] = {"unknown", "client", "server"};
  for (size_t i = 0; rc == PT_OK && i < s->conn_count; i++) {
    const pt__sql_conn *c = &s->conns[i];
    char hex[17];
    pt__sql_bind_conn(st, 1, c->conn, hex);
    sqlite3_bind_int(st, 2, (int)c->node);
    sqlite3_bind_text(st, 3, roles[c->role], -1, SQLITE_STATIC);
    for (size_t j = 0; j < s->conn_count; j++) {
      if (s->conns[j].conn == c->conn && s->conns[j].node != c->node) {
        sqlite3_bind_int(st, 4, (int)s->conns[j].node);
        break;
      }
    }
    pt__sql_u64(st, 5, c->first_us);
    pt__sql_u64(st, 6, c->last_us);
    pt__sql_u64(st, 7, c->sent);
    pt__sql_u64(st, 8, c->received);
    pt__sql_u64(st, 9, c->lost);
    rc = pt__sql_step(st);
  }
  sqlite3_finalize(st);
  return rc;
}

/* Binds event `ev` to the parameters base + PT__C_* of st, its text in
 * t (which must live until the step). */
static void pt__sql_bind_event(const pt__sql *s, sqlite3_stmt *st, int base,
                               pt__sql_text *t, const pt__sql_row *row) {
  const pt_event *ev = &row->ev;
  const int b = base;
  char *trace = t->trace, *peer = t->peer, *conn = t->conn,
       *command = t->command;
  sqlite3_bind_int(st, b + PT__C_NODE, (int)row->node);
  pt__sql_u64(st, b + PT__C_TIME, ev->timestamp_us);
  pt__sql_u64(st, b + PT__C_RAW, row->raw_us);
  sqlite3_bind_text(st, b + PT__C_KIND, pt_event_kind_name(ev->kind), -1,
                    SQLITE_STATIC);
  pt__sql_trace(st, b + PT__C_TRACE, &ev->trace_id, trace);
  if (ev->flags & PT_EVENT_HAS_PEER) {
    pt__hex_encode(peer, ev->peer_id, 32);
    sqlite3_bind_text(st, b + PT__C_PEER, peer, 64, SQLITE_STATIC);
    for (unsigned i = 0; i < s->node_count; i++) {
      if (memcmp(s->node_ids[i], ev->peer_id, 32) == 0) {
        sqlite3_bind_int(st, b + PT__C_PEER_NODE, (int)i);
        break;
      }
    }
  }
  pt__sql_bind_conn(st, b + PT__C_CONN, pt_event_conn(ev), conn);
  const struct pt_packet_sent_data *pk = &ev->data.packet_sent; /* = recv */
  const struct pt_stream_data_data *d = &ev->data.stream_data;
  switch (ev->kind) {
  case PT_EV_PACKET_SENT:
  case PT_EV_PACKET_RECEIVED:
    pt__sql_packet(st, b, pk->pn, pk->space);
    sqlite3_bind_int64(st, b + PT__C_SIZE, pk->size);
    break;
  case PT_EV_PACKET_LOST:
    pt__sql_packet(st, b, ev->data.packet_lost.pn, ev->data.packet_lost.space);
    break;
  case PT_EV_STREAM_FRAME: {
    const struct pt_stream_frame_data *f = &ev->data.stream_frame;
    pt__sql_packet(st, b, f->pn, f->space);
    pt__sql_stream(st, b, f->stream_id, f->offset, f->length, f->fin, f->sent);
    break;
  }
  case PT_EV_STREAM_DATA:
    pt__sql_stream(st, b, d->stream_id, d->offset, d->length, d->fin, d->sent);
    break;
  case PT_EV_STREAM_OPENED:
    pt__sql_u64(st, b + PT__C_STREAM, ev->data.stream_opened.stream_id);
    break;
  case PT_EV_CONN_ESTABLISHED:
    sqlite3_bind_int64(st, b + PT__C_RTT, ev->data.conn_established.rtt_us);
    break;
  case PT_EV_RECOVERY_METRICS: {
    const struct pt_recovery_metrics_data *m = &ev->data.recovery_metrics;
    if (m->min_rtt_us > 0) { /* else no RTT sample yet: NULL */
      sqlite3_bind_int64(st, b + PT__C_LATEST_RTT, m->latest_rtt_us);
      sqlite3_bind_int64(st, b + PT__C_MIN_RTT, m->min_rtt_us);
    }
    sqlite3_bind_int64(st, b + PT__C_SMOOTHED_RTT, m->smoothed_rtt_us);
    sqlite3_bind_int64(st, b + PT__C_RTT_VARIANCE, m->rtt_variance_us);
    pt__sql_u64(st, b + PT__C_CWND, m->cwnd);
    pt__sql_u64(st, b + PT__C_BYTES_IN_FLIGHT, m->bytes_in_flight);
    break;
  }
  case PT_EV_APP_END:
    sqlite3_bind_int(st, b + PT__C_OK, ev->data.app_end.ok);
    pt__sql_u64(st, b + PT__C_DURATION, ev->data.app_end.duration_us);
    break;
  default:
    break;
  }
  if (ev->kind == PT_EV_APP_COMMAND || ev->kind == PT_EV_APP_START ||
      ev->kind == PT_EV_APP_END) {
    pt__export_event_title(&s->namer, ev, command, sizeof t->command);
    sqlite3_bind_text(st, b + PT__C_COMMAND, command, -1, SQLITE_STATIC);
  }
}

/* Binds the rows held and inserts them: a batch in one step, the rest
 * (at the end) one by one. */
static int pt__sql_flush(pt__sql *s) {
  int rc = PT_OK;
  if (s->held == PT__SQL_BATCH) {
    for (unsigned k = 0; k < s->held; k++) {
      pt__sql_bind_event(s, s->batch, (int)k * PT__C_COUNT, &s->text[k],
                         &s->rows[k]);
    }
    rc = pt__sql_step(s->batch);
  } else {
    for (unsigned k = 0; rc == PT_OK && k < s->held; k++) {
      pt__sql_bind_event(s, s->event, 0, &s->text[0], &s->rows[k]);
      rc = pt__sql_step(s->event);
    }
  }
  s->held = 0;
  return rc;
}

static int pt__sql_event_row(unsigned node, const pt_event *ev, uint64_t raw_us,
                             void *user) {
  pt__sql *s = user;
  uint64_t conn = pt_event_conn(ev);
  if (conn != 0 && pt__sql_count(s, node, ev, conn) != PT_OK) {
    return PT_ERR_NOMEM;
  }
  pt__sql_row *row = &s->rows[s->held++];
  row->ev = *ev;
  row->node = node;
  row->raw_us = raw_us;
  int rc = s->held == PT__SQL_BATCH ? pt__sql_flush(s) : PT_OK;
  if (rc == PT_OK) {
    rc = pt_request_add_event(s->request, node, ev);
  }
  return rc;
}

static int pt__sql_nodes(pt__sql *s, pt_pipeline *p) {
  sqlite3_stmt *st;
  int rc = pt__sql_prepare(
      s->db, "INSERT INTO nodes VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &st);
  if (rc != PT_OK) {
    return rc;
  }
  for (unsigned i = 0; rc == PT_OK && i < s->node_count; i++) {
    const pt_dump_info *info = pt_pipeline_source_info(p, i);
    char hex[65];
    memcpy(s->node_ids[i], info->node_id, 32);
    pt__hex_encode(hex, info->node_id, 32);
    pt_clock_estimate est;
    if ((rc = pt_pipeline_clock(p, i, &est)) != PT_OK ||
        (rc = pt_request_add_node(s->request, info->node_id, &(unsigned){0})) !=
            PT_OK) {
      break;
    }
    int aligned =
        est.status == PT_CLOCK_REFERENCE || est.status == PT_CLOCK_ALIGNED;
    sqlite3_bind_int(st, 1, (int)i);
    sqlite3_bind_text(st, 2, hex, 64, SQLITE_STATIC);
    const char *status = pt__clock_status_name(est.status);
    sqlite3_bind_text(st, 3, status ? status : "unknown", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, aligned ? "aligned" : "raw", -1, SQLITE_STATIC);
    if (aligned) {
      sqlite3_bind_double(st, 5, est.offset_us);
      sqlite3_bind_double(st, 6, est.drift_ppm);
      sqlite3_bind_double(st, 7, est.bound_us);
      pt__sql_u64(st, 8, est.t0_us);
    }
    rc = pt__sql_step(st);
  }
  sqlite3_finalize(st);
  return rc;
}

/* ---- Hops: pt_request over every trace with an app_command ------------- */

typedef struct pt__sql_hop_ctx {
  pt__sql *s;
  const char *trace;
  unsigned hop; /* the hop whose packets are being written */
} pt__sql_hop_ctx;

static void pt__sql_node(sqlite3_stmt *st, int col, unsigned node) {
  if (node != PT_REQUEST_NO_NODE) {
    sqlite3_bind_int(st, col, (int)node);
  }
}

static void pt__sql_time(sqlite3_stmt *st, int col, uint64_t us) {
  if (us != 0) {
    pt__sql_u64(st, col, us); /* 0: not in the trace */
  }
}

static int pt__sql_packet_row(const pt_request_packet *pk, void *user) {
  pt__sql_hop_ctx *c = user;
  sqlite3_stmt *st = c->s->packet;
  sqlite3_bind_text(st, 1, c->trace, 32, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, (int)c->hop);
  pt__sql_u64(st, 3, pk->pn);
  sqlite3_bind_text(st, 4, pt__export_space_name(pk->space, PT__SPACE_SQL), -1,
                    SQLITE_STATIC);
  if (pk->size != 0) {
    sqlite3_bind_int64(st, 5, pk->size);
  }
  pt__sql_time(st, 6, pk->sent_us);
  pt__sql_time(st, 7, pk->received_us);
  sqlite3_bind_int(st, 8, pk->lost);
  if (pk->retransmits) {
    pt__sql_u64(st, 9, pk->retransmits_pn);
    sqlite3_bind_int(st, 10, pk->retransmits_lost);
  }
  if (pk->lost && pk->recovered) {
    pt__sql_u64(st, 11, pk->recovery_us);
  }
  return pt__sql_step(st);
}

static int pt__sql_hop_row(const pt_request_hop *h, void *user) {
  pt__sql_hop_ctx *c = user;
  sqlite3_stmt *st = c->s->hop;
  char conn[17], command[128];
  pt_event ev; /* for the command's name, as the events have it */
  memset(&ev, 0, sizeof ev);
  ev.kind = PT_EV_APP_COMMAND;
  memcpy(ev.data.app_command.app_id, h->app_id, 4);
  ev.data.app_command.cmd = h->cmd;
  pt__export_event_title(&c->s->namer, &ev, command, sizeof command);
  sqlite3_bind_text(st, 1, c->trace, 32, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, (int)h->index + 1); /* as peertrace request */
  sqlite3_bind_text(st, 3, h->kind == PT_HOP_REQUEST ? "request" : "reply", -1,
                    SQLITE_STATIC);
  pt__sql_node(st, 4, h->sender);
  pt__sql_node(st, 5, h->receiver);
  sqlite3_bind_text(st, 6, command, -1, SQLITE_STATIC);
  pt__sql_time(st, 7, h->sent_us);
  pt__sql_time(st, 8, h->received_us);
  pt__sql_time(st, 9, h->end_us);
  if (h->ok >= 0) {
    sqlite3_bind_int(st, 10, h->ok);
  }
  if (h->has_stream) {
    pt__sql_bind_conn(st, 11, h->conn, conn);
    pt__sql_u64(st, 12, h->stream_id);
  }
  sqlite3_bind_int(st, 13, (int)h->packets);
  sqlite3_bind_int(st, 14, (int)h->lost);
  sqlite3_bind_int(st, 15, (int)h->retransmissions);
  sqlite3_bind_int(st, 16, (int)h->repeats);
  sqlite3_bind_int(st, 17, h->recovered);
  if (h->recovered) {
    pt__sql_u64(st, 18, h->recovery_us);
  }
  int rc = pt__sql_step(st);
  c->hop = h->index + 1;
  if (rc == PT_OK) {
    rc = pt_request_packets(c->s->request, h, pt__sql_packet_row, c);
  }
  return rc;
}

static int pt__sql_hops(pt__sql *s) {
  sqlite3_stmt *traces;
  int rc = pt__sql_prepare(
      s->db,
      "SELECT DISTINCT trace FROM events WHERE kind = 'app_command' AND "
      "trace IS NOT NULL ORDER BY trace",
      &traces);
  while (rc == PT_OK && sqlite3_step(traces) == SQLITE_ROW) {
    char hex[33];
    snprintf(hex, sizeof hex, "%s",
             (const char *)sqlite3_column_text(traces, 0));
    pt_trace_id id;
    if (pt_trace_id_from_hex(hex, 32, &id) != PT_OK) {
      continue; /* we wrote it: cannot happen */
    }
    pt__sql_hop_ctx c = {s, hex, 0};
    rc = pt_request_hops(s->request, &id, pt__sql_hop_row, &c);
    if (rc == PT_ERR_NOT_FOUND) {
      rc = PT_OK; /* its app_command had no peer among the nodes */
    }
  }
  sqlite3_finalize(traces);
  return rc;
}

/* ---- The export --------------------------------------------------------- */

/* The events INSERT of `rows` rows: VALUES (?,...,?), ... */
static int pt__sql_prepare_insert(sqlite3 *db, unsigned rows,
                                  sqlite3_stmt **out) {
  size_t size = sizeof pt__sql_event + rows * (PT__C_COUNT * 2 + 4);
  char *sql = malloc(size);
  if (sql == NULL) {
    return PT_ERR_NOMEM;
  }
  size_t n = (size_t)snprintf(sql, size, "%s", pt__sql_event);
  for (unsigned r = 0; r < rows; r++) {
    sql[n++] = r ? ',' : ' ';
    sql[n++] = '(';
    for (unsigned c = 0; c < PT__C_COUNT; c++) {
      sql[n++] = c ? ',' : '?';
      if (c) {
        sql[n++] = '?';
      }
    }
    sql[n++] = ')';
  }
  sql[n] = '\0';
  int rc = pt__sql_rc(sqlite3_prepare_v2(db, sql, (int)n, out, NULL));
  free(sql);
  return rc;
}

static int pt__sql_exec(sqlite3 *db, const char *sql) {
  return pt__sql_rc(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

int pt_sqlite_export(pt_pipeline *p, sqlite3 *db, pt_app_namer namer,
                     void *namer_user, char *message, size_t message_size) {
  if (p == NULL || db == NULL) {
    return PT_ERR_INVALID;
  }
  if (message != NULL && message_size > 0) {
    message[0] = '\0';
  }
  /* Started already (pt_pipeline_span answers) or now. */
  uint64_t first_us, last_us;
  int rc = pt_pipeline_span(p, &first_us, &last_us) == PT_OK
               ? PT_OK
               : pt_pipeline_start(p);
  if (rc != PT_OK) {
    return rc;
  }
  pt__sql s;
  memset(&s, 0, sizeof s);
  s.db = db;
  s.namer.namer = namer;
  s.namer.namer_user = namer_user;
  s.node_count = pt_pipeline_source_count(p);
  s.node_ids = calloc(s.node_count ? s.node_count : 1, sizeof *s.node_ids);
  if (s.node_ids == NULL || pt_request_new(&s.request) != PT_OK) {
    free(s.node_ids);
    return PT_ERR_NOMEM;
  }
  rc = pt__sql_exec(db, "BEGIN");
  int begun = rc == PT_OK;
  if (rc == PT_OK) {
    rc = pt__sql_exec(db, pt__sql_schema);
  }
  if (rc == PT_OK) {
    rc = pt__sql_nodes(&s, p);
  }
  if (rc == PT_OK) {
    rc = pt__sql_prepare_insert(db, 1, &s.event);
  }
  if (rc == PT_OK) {
    rc = pt__sql_prepare_insert(db, PT__SQL_BATCH, &s.batch);
  }
  if (rc == PT_OK) {
    rc = pt_pipeline_run(p, pt__sql_event_row, &s);
  }
  if (rc == PT_OK) {
    rc = pt__sql_flush(&s);
  }
  if (rc == PT_OK) {
    rc = pt__sql_exec(db, pt__sql_derived);
  }
  if (rc == PT_OK) {
    rc = pt__sql_connections(&s);
  }
  if (rc == PT_OK) {
    rc = pt__sql_prepare(
        db,
        "INSERT INTO hops VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
        " ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        &s.hop);
  }
  if (rc == PT_OK) {
    rc = pt__sql_prepare(
        db,
        "INSERT INTO hop_packets VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
        " ?9, ?10, ?11)",
        &s.packet);
  }
  if (rc == PT_OK) {
    rc = pt__sql_hops(&s);
  }
  sqlite3_finalize(s.event);
  sqlite3_finalize(s.batch);
  sqlite3_finalize(s.hop);
  sqlite3_finalize(s.packet);
  if (rc == PT_OK) {
    rc = pt__sql_exec(db, "COMMIT");
  }
  if (rc == PT_ERR_IO && message != NULL && message_size > 0) {
    /* Before ROLLBACK, which would replace it. */
    snprintf(message, message_size, "%s", sqlite3_errmsg(db));
  }
  if (rc != PT_OK && begun) {
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  }
  pt_request_free(s.request);
  pt__u64map_free(&s.conn_index);
  free(s.conns);
  free(s.node_ids);
  return rc;
}
