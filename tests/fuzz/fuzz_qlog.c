/*
 * fuzz_qlog: libFuzzer target for the qlog text the ngtcp2 adapter parses
 * (src/quic/pt_quic.c).  ngtcp2 writes it, but it describes packets a remote
 * peer chose, and the parser is exposed for tools that read qlog files, so
 * it is untrusted.  The input goes two ways: to pt_quic_qlog_parse,
 * pt_quic_qlog_stream_frames and pt_quic_qlog_odcid as one record, and
 * through the qlog hook pt_quic_tracer_install puts in ngtcp2_settings, as
 * one write that the hook splits into records and records as events.
 * Results must be the documented ones (the frame parser agrees with the
 * packet parser, frames are within QUIC's limits), the tracer's counters
 * must add up, and every recorded event must be a packet event or a
 * stream_frame of the packet before it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <peertrace/pt_quic.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_one(const uint8_t *in, size_t size) {
  pt_event ev;
  int rc = pt_quic_qlog_parse(in, size, &ev);
  if (rc == 1) {
    if (ev.kind != PT_EV_PACKET_SENT && ev.kind != PT_EV_PACKET_RECEIVED &&
        ev.kind != PT_EV_PACKET_LOST) {
      abort();
    }
    char text[512];
    pt_event_format(&ev, text, sizeof text);
  } else if (rc != 0 && rc != PT_ERR_PARSE) {
    abort();
  }
  pt_event frames[4];
  size_t n = 99;
  int frc = pt_quic_qlog_stream_frames(in, size, frames, 4, &n);
  /* Frames only of a packet the packet parser accepts, lost ones aside. */
  if ((frc == 1 && (rc != 1 || ev.kind == PT_EV_PACKET_LOST)) ||
      (frc != 1 && frc != 0 && frc != PT_ERR_PARSE) || (frc != 1 && n != 0) ||
      (rc < 0 && frc != PT_ERR_PARSE)) {
    abort();
  }
  for (size_t i = 0; frc == 1 && i < n && i < 4; i++) {
    const struct pt_stream_frame_data *f = &frames[i].data.stream_frame;
    if (frames[i].kind != PT_EV_STREAM_FRAME ||
        f->offset + f->length > (UINT64_C(1) << 62) ||
        f->sent != (ev.kind == PT_EV_PACKET_SENT) ||
        f->pn !=
            (f->sent ? ev.data.packet_sent.pn : ev.data.packet_received.pn)) {
      abort();
    }
  }
  uint8_t cid[PT_QUIC_MAX_CID_LEN];
  size_t cid_len = 0;
  int orc = pt_quic_qlog_odcid(in, size, cid, &cid_len);
  if ((orc == 1 && (cid_len == 0 || cid_len > PT_QUIC_MAX_CID_LEN)) ||
      (orc != 1 && orc != 0 && orc != PT_ERR_PARSE)) {
    abort();
  }
}

static void through_hook(const uint8_t *in, size_t size) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 64;
  pt_log *log;
  if (pt_log_create(&log, &cfg) != PT_OK) {
    abort();
  }
  pt_quic_tracer t;
  uint8_t peer[32];
  memset(peer, 0x33, sizeof peer);
  ngtcp2_callbacks callbacks;
  ngtcp2_settings settings;
  memset(&callbacks, 0, sizeof callbacks);
  memset(&settings, 0, sizeof settings);
  if (pt_quic_tracer_init(&t, log, peer, pt_trace_ctx_new(0)) != PT_OK ||
      pt_quic_tracer_install(&t, &callbacks, &settings) != PT_OK ||
      settings.qlog.write == NULL) {
    abort();
  }
  settings.qlog.write(&t, 0, in, size);
  const pt_quic_stats *s = &t.stats;
  uint64_t packets = s->packets_sent + s->packets_received + s->packets_lost;
  uint64_t recorded = packets + s->stream_frames;
  /* No callback ran, so no ngtcp2_conn: metrics counted, not recorded. */
  if (s->metrics_updates != s->metrics_no_conn || s->recovery_metrics != 0 ||
      packets + s->qlog_rejected + s->metrics_updates > s->qlog_records ||
      s->frames_rejected > s->packets_sent + s->packets_received ||
      s->stream_frames >
          PT_QUIC_MAX_STREAM_FRAMES * (s->packets_sent + s->packets_received)) {
    abort();
  }
  pt_event *events;
  size_t count;
  if (pt_log_recent(log, cfg.capacity, &events, &count) != PT_OK ||
      count != (recorded < cfg.capacity ? recorded : cfg.capacity)) {
    abort(); /* each packet record counted is one event */
  }
  uint64_t conn = t.conn;
  for (size_t i = 0; i < count; i++) {
    const pt_event *e = &events[i];
    if (e->kind == PT_EV_STREAM_FRAME) {
      /* After its packet (or that packet's other frames), same pn. */
      size_t j = i;
      while (j > 0 && events[j - 1].kind == PT_EV_STREAM_FRAME) {
        j--;
      }
      const pt_event *p = j > 0 ? &events[j - 1] : NULL;
      if (count == cfg.capacity && p == NULL) {
        continue; /* the ring dropped its packet: nothing to compare */
      }
      if (p == NULL ||
          (p->kind != PT_EV_PACKET_SENT && p->kind != PT_EV_PACKET_RECEIVED) ||
          e->data.stream_frame.pn != (p->kind == PT_EV_PACKET_SENT
                                          ? p->data.packet_sent.pn
                                          : p->data.packet_received.pn)) {
        abort();
      }
    } else if (e->kind != PT_EV_PACKET_SENT &&
               e->kind != PT_EV_PACKET_RECEIVED &&
               e->kind != PT_EV_PACKET_LOST) {
      abort();
    }
    /* The first ODCID the tracer learnt stays: events before it carry 0,
     * the others that one. */
    if (pt_event_conn(e) != 0 && pt_event_conn(e) != conn) {
      abort();
    }
  }
  pt_events_free(events);
  pt_log_destroy(log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *in = pt_fuzz_copy(data, size);
  parse_one(in, size);
  through_hook(in, size);
  free(in);
  return 0;
}
