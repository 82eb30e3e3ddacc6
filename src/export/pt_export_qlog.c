/*
 * pt_export_qlog: qlog 0.3 in JSON-SEQ form, the form qvis reads.
 *
 * RFC 7464 framing: every record is 0x1e, one JSON text, '\n'.  The first
 * record is the header (qlog_version "0.3", qlog_format "JSON-SEQ", one
 * `trace` with vantage_point and common_fields, where peertrace_clock is
 * the node's clock label of pt_exporter_set_clock, also said in words in
 * the description); each later record is one
 * event {"time": ms relative to common_fields.reference_time, "name":
 * "category:event", "data": {...}} with the old (pre-"quic:") category
 * names qvis knows: transport:, recovery:, connectivity:.
 * recovery:metrics_updated comes from two kinds: conn_established (the
 * handshake's smoothed_rtt alone) and recovery_metrics (latest_rtt,
 * min_rtt, smoothed_rtt, rtt_variance in ms, congestion_window and
 * bytes_in_flight in bytes), which qvis's congestion graph plots.
 *
 * A packet's stream_frame events (which the ngtcp2 adapter records right
 * after the packet's packet_sent / packet_received, same connection,
 * space and number) become the packet's "frames" (frame_type "stream"),
 * which qvis's packetization and multiplexing views read: the packet is
 * held until an event that is not one of its frames arrives.  A frame
 * with no packet to join (or past PT__QLOG_MAX_FRAMES) is written as a
 * peertrace:stream_frame event.
 *
 * One file is one qlog trace: the events of one node on one connection
 * (qvis reads one trace per JSON-SEQ file).  An event of a second node,
 * or of a second connection (another non-zero conn), is refused with
 * PT_ERR_STATE; events without a conn (app events) go with the trace.
 * common_fields.group_id is the conn in 16 hex digits, the same on both
 * ends, so qvis pairs the two files' traces (without a conn: the first
 * event's trace id, as dumps made before connection identities had it).
 * vantage_point.type says which end the node was: the client sends the
 * connection's first packet, an Initial; the server's first packet event
 * is that Initial, received.  So the header waits for the first
 * packet_sent / packet_received: the events before it (at most
 * PT__QLOG_MAX_PENDING, e.g. conn_init) are held, then written after the
 * header.  A first packet in another space (a recording that began
 * mid-connection), or none, gives "unknown".  An export without any event
 * is refused at pt_exporter_finish (PT_ERR_NOT_FOUND): qvis's loader throws
 * on a header without events, and an empty file would only mislead.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pt_export.h"

#define PT__QLOG_MAX_FRAMES 64u
#define PT__QLOG_MAX_PENDING 256u

typedef struct pt__qlog_state {
  int holding;     /* packet is a packet_sent/received not written yet */
  pt_event packet; /* ... and its frames: */
  struct pt_stream_frame_data frames[PT__QLOG_MAX_FRAMES];
  unsigned frame_count;
  int header_written;
  unsigned node; /* the node of the events (the first one's) */
  uint64_t conn; /* their connection (0: none seen yet) */
  pt_trace_id first_trace;
  const char *vantage; /* "client", "server", "unknown" */
  pt_event *pending;   /* events before the header, in order */
  unsigned pending_count;
} pt__qlog_state;

static int pt__qlog_begin(pt_exporter *ex, const pt_event *first) {
  pt__qlog_state *st = calloc(1, sizeof(pt__qlog_state));
  if (st == NULL) {
    return PT_ERR_NOMEM;
  }
  ex->state = st;
  st->vantage = "unknown";
  if (first != NULL) {
    st->first_trace = first->trace_id;
  }
  return PT_OK;
}

/* The header record, once the vantage point is known. */
static void pt__qlog_header(pt_exporter *ex) {
  pt__qlog_state *st = ex->state;
  uint64_t reference_us = ex->first_us;
  const char *node = ex->node_count > 0 ? ex->nodes[st->node].hex : "";
  char group[33] = "";
  if (st->conn != 0) {
    snprintf(group, sizeof group, "%016llx", (unsigned long long)st->conn);
  } else {
    pt_trace_id_to_hex(&st->first_trace, group, sizeof group);
  }
  char clock[160] = "";
  if (ex->node_count > 0) {
    pt__export_clock_text(ex, st->node, 0, clock, sizeof clock);
  }
  char description[320];
  snprintf(description, sizeof description, "node %s, %s%s%s", node,
           st->conn != 0 ? "connection " : "", st->conn != 0 ? group : "",
           st->conn != 0 ? ", " : "");
  size_t used = strlen(description);
  snprintf(description + used, sizeof description - used, "%s", clock);
  fputs("\x1e{\"qlog_version\":\"0.3\",\"qlog_format\":\"JSON-SEQ\","
        "\"title\":\"peertrace export\",\"description\":",
        ex->fp);
  pt__export_json_string(ex->fp, description);
  fprintf(ex->fp,
          ",\"trace\":{\"title\":\"node %.8s %s\",\"vantage_point\":{"
          "\"name\":\"%s\",\"type\":\"%s\"},\"common_fields\":{"
          "\"group_id\":\"%s\",\"protocol_type\":[\"QUIC\"],"
          "\"time_format\":\"relative\",\"reference_time\":%llu.%03u",
          node, group, node, st->vantage, group,
          (unsigned long long)(reference_us / 1000u),
          (unsigned)(reference_us % 1000u));
  if (ex->node_count > 0) {
    /* qvis and the schema ignore fields they do not know. */
    fputs(",\"peertrace_clock\":", ex->fp);
    pt__export_clock_json(ex, st->node, ex->fp);
  }
  fputs("}}}\n", ex->fp);
  st->header_written = 1;
}

static void pt__qlog_packet_header(FILE *fp, uint64_t pn, unsigned space) {
  fprintf(fp, "\"header\":{\"packet_type\":\"%s\",\"packet_number\":%llu}",
          pt__export_space_name(space, PT__SPACE_QLOG), (unsigned long long)pn);
}

/* One record: ev, and for a packet the frames it carried. */
static void pt__qlog_record(pt_exporter *ex, const pt_event *ev,
                            const struct pt_stream_frame_data *frames,
                            unsigned frame_count) {
  FILE *fp = ex->fp;
  uint64_t rel = ev->timestamp_us - ex->first_us;
  fprintf(fp, "\x1e{\"time\":%llu.%03u,", (unsigned long long)(rel / 1000u),
          (unsigned)(rel % 1000u));
  switch (ev->kind) {
  case PT_EV_PACKET_SENT:
  case PT_EV_PACKET_RECEIVED: {
    const struct pt_packet_sent_data *d = &ev->data.packet_sent;
    fprintf(fp, "\"name\":\"transport:%s\",\"data\":{",
            ev->kind == PT_EV_PACKET_SENT ? "packet_sent" : "packet_received");
    pt__qlog_packet_header(fp, d->pn, d->space);
    fprintf(fp, ",\"raw\":{\"length\":%u}", d->size);
    for (unsigned i = 0; i < frame_count; i++) {
      const struct pt_stream_frame_data *f = &frames[i];
      fprintf(fp,
              "%s{\"frame_type\":\"stream\",\"stream_id\":%llu,\"offset\":%llu,"
              "\"length\":%u%s}",
              i ? "," : ",\"frames\":[", (unsigned long long)f->stream_id,
              (unsigned long long)f->offset, f->length,
              f->fin ? ",\"fin\":true" : "");
    }
    fputs(frame_count > 0 ? "]}" : "}", fp);
    break;
  }
  case PT_EV_PACKET_LOST:
    fputs("\"name\":\"recovery:packet_lost\",\"data\":{", fp);
    pt__qlog_packet_header(fp, ev->data.packet_lost.pn,
                           ev->data.packet_lost.space);
    fputs(",\"trigger\":\"unknown\"}", fp);
    break;
  case PT_EV_CONN_INIT: {
    const pt_endpoint *ep = &ev->data.conn_init.endpoint;
    char addr[INET6_ADDRSTRLEN];
    fputs("\"name\":\"connectivity:connection_started\",\"data\":{", fp);
    if ((ep->family == 4 &&
         inet_ntop(AF_INET, ep->addr, addr, sizeof addr) != NULL) ||
        (ep->family == 6 &&
         inet_ntop(AF_INET6, ep->addr, addr, sizeof addr) != NULL)) {
      fprintf(fp, "\"ip_version\":\"ipv%u\",\"dst_ip\":\"%s\",\"dst_port\":%u,",
              ep->family, addr, ep->port);
    }
    fputs("\"protocol\":\"QUIC\"}", fp);
    break;
  }
  case PT_EV_CONN_ESTABLISHED:
    /* The adapter records ngtcp2's smoothed RTT at handshake completion
     * (pt_quic.h), so that is the field it goes in. */
    fprintf(fp,
            "\"name\":\"recovery:metrics_updated\",\"data\":{"
            "\"smoothed_rtt\":%u.%03u}",
            ev->data.conn_established.rtt_us / 1000u,
            ev->data.conn_established.rtt_us % 1000u);
    break;
  case PT_EV_RECOVERY_METRICS: {
    /* RTTs in ms with the us kept; latest and min only once sampled, as
     * ngtcp2 leaves min_rtt out before (pt_events.h). */
    const struct pt_recovery_metrics_data *m = &ev->data.recovery_metrics;
    fputs("\"name\":\"recovery:metrics_updated\",\"data\":{", fp);
    if (m->min_rtt_us > 0) {
      fprintf(fp, "\"latest_rtt\":%u.%03u,\"min_rtt\":%u.%03u,",
              m->latest_rtt_us / 1000u, m->latest_rtt_us % 1000u,
              m->min_rtt_us / 1000u, m->min_rtt_us % 1000u);
    }
    fprintf(fp,
            "\"smoothed_rtt\":%u.%03u,\"rtt_variance\":%u.%03u,"
            "\"congestion_window\":%llu,\"bytes_in_flight\":%llu}",
            m->smoothed_rtt_us / 1000u, m->smoothed_rtt_us % 1000u,
            m->rtt_variance_us / 1000u, m->rtt_variance_us % 1000u,
            (unsigned long long)m->cwnd,
            (unsigned long long)m->bytes_in_flight);
    break;
  }
  case PT_EV_STREAM_OPENED:
    fprintf(fp,
            "\"name\":\"transport:stream_state_updated\",\"data\":{"
            "\"stream_id\":%llu,\"new\":\"open\",\"stream_side\":\"%s\"}",
            (unsigned long long)ev->data.stream_opened.stream_id,
            ev->data.stream_opened.local ? "sending" : "receiving");
    break;
  case PT_EV_STREAM_DATA: {
    const struct pt_stream_data_data *d = &ev->data.stream_data;
    fprintf(fp,
            "\"name\":\"transport:data_moved\",\"data\":{\"stream_id\":%llu,"
            "\"offset\":%llu,\"length\":%u%s}",
            (unsigned long long)d->stream_id, (unsigned long long)d->offset,
            d->length, d->fin ? ",\"fin\":true" : "");
    break;
  }
  default: {
    /* App and custom events: our own category, fields as they are. */
    char title[128];
    pt__export_event_title(ex, ev, title, sizeof title);
    fprintf(fp, "\"name\":\"peertrace:%s\",\"data\":{\"title\":",
            pt_event_kind_name(ev->kind));
    pt__export_json_string(fp, title);
    pt__out o = {fp, NULL, 0, 0};
    pt__event_json_fields(&o, ev, 0);
    fputs("}", fp);
    break;
  }
  }
  fputs("}\n", fp);
}

static void pt__qlog_flush(pt_exporter *ex) {
  pt__qlog_state *st = ex->state;
  if (st->holding) {
    pt__qlog_record(ex, &st->packet, st->frames, st->frame_count);
    st->holding = 0;
    st->frame_count = 0;
  }
}

/* Is ev a frame of the held packet (same side, connection, space, pn)? */
static int pt__qlog_joins(const pt__qlog_state *st, const pt_event *ev) {
  const struct pt_stream_frame_data *f = &ev->data.stream_frame;
  const struct pt_packet_sent_data *p = &st->packet.data.packet_sent;
  return st->holding && st->frame_count < PT__QLOG_MAX_FRAMES &&
         f->sent == (st->packet.kind == PT_EV_PACKET_SENT) && f->pn == p->pn &&
         f->space == p->space && f->conn == p->conn;
}

/* Writes ev (after the header): held while its packet's frames follow. */
static void pt__qlog_put(pt_exporter *ex, const pt_event *ev) {
  pt__qlog_state *st = ex->state;
  if (ev->kind == PT_EV_STREAM_FRAME && pt__qlog_joins(st, ev)) {
    st->frames[st->frame_count++] = ev->data.stream_frame;
    return;
  }
  pt__qlog_flush(ex);
  if (ev->kind == PT_EV_PACKET_SENT || ev->kind == PT_EV_PACKET_RECEIVED) {
    st->packet = *ev;
    st->holding = 1;
  } else {
    pt__qlog_record(ex, ev, NULL, 0);
  }
}

/* The header, then the events held for it. */
static void pt__qlog_start(pt_exporter *ex) {
  pt__qlog_state *st = ex->state;
  pt__qlog_header(ex);
  for (unsigned i = 0; i < st->pending_count; i++) {
    pt__qlog_put(ex, &st->pending[i]);
  }
  free(st->pending);
  st->pending = NULL;
  st->pending_count = 0;
}

static int pt__qlog_event(pt_exporter *ex, unsigned node, const pt_event *ev) {
  pt__qlog_state *st = ex->state;
  uint64_t conn = pt_event_conn(ev);
  if (ex->event_count == 1) {
    st->node = node;
  } else if (node != st->node) {
    return PT_ERR_STATE; /* one node's view per qlog trace */
  }
  if (conn != 0 && st->conn != 0 && conn != st->conn) {
    return PT_ERR_STATE; /* one connection per qlog trace */
  }
  if (conn != 0) {
    st->conn = conn;
  }
  if (st->header_written) {
    pt__qlog_put(ex, ev);
    return PT_OK;
  }
  int packet =
      ev->kind == PT_EV_PACKET_SENT || ev->kind == PT_EV_PACKET_RECEIVED;
  if (packet && ev->data.packet_sent.space == PT_PN_SPACE_INITIAL) {
    st->vantage = ev->kind == PT_EV_PACKET_SENT ? "client" : "server";
  }
  if (!packet && st->pending_count < PT__QLOG_MAX_PENDING) {
    if (st->pending == NULL &&
        (st->pending = malloc(PT__QLOG_MAX_PENDING * sizeof *st->pending)) ==
            NULL) {
      return PT_ERR_NOMEM;
    }
    st->pending[st->pending_count++] = *ev;
    return PT_OK;
  }
  pt__qlog_start(ex);
  pt__qlog_put(ex, ev);
  return PT_OK;
}

static int pt__qlog_finish(pt_exporter *ex) {
  pt__qlog_state *st = ex->state;
  if (ex->event_count == 0) {
    return PT_ERR_NOT_FOUND; /* no header-only file: qvis throws on it */
  }
  if (!st->header_written) {
    pt__qlog_start(ex);
  }
  pt__qlog_flush(ex);
  return PT_OK;
}

static void pt__qlog_free(pt_exporter *ex) {
  pt__qlog_state *st = ex->state;
  if (st != NULL) {
    free(st->pending);
  }
  free(ex->state);
  ex->state = NULL;
}

const pt__export_ops pt__export_qlog_ops = {pt__qlog_begin, pt__qlog_event,
                                            pt__qlog_finish, pt__qlog_free, 0};
