/*
 * fuzz_qlog: libFuzzer target for the qlog text the ngtcp2 adapter parses
 * (src/pt_quic.c).  ngtcp2 writes it, but it describes packets a remote
 * peer chose, and the parser is exposed for tools that read qlog files, so
 * it is untrusted.  The input goes two ways: to pt_quic_qlog_parse as one
 * record, and through the qlog hook pt_quic_tracer_install puts in
 * ngtcp2_settings, as one write that the hook splits into records and
 * records as events.  Results must be the documented ones, the tracer's
 * counters must add up, and every recorded event must be a packet event.
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
  uint64_t recorded = s->packets_sent + s->packets_received + s->packets_lost;
  if (recorded + s->qlog_rejected > s->qlog_records) {
    abort();
  }
  pt_event *events;
  size_t count;
  if (pt_log_recent(log, cfg.capacity, &events, &count) != PT_OK ||
      count != (recorded < cfg.capacity ? recorded : cfg.capacity)) {
    abort(); /* each packet record counted is one event */
  }
  for (size_t i = 0; i < count; i++) {
    if (events[i].kind != PT_EV_PACKET_SENT &&
        events[i].kind != PT_EV_PACKET_RECEIVED &&
        events[i].kind != PT_EV_PACKET_LOST) {
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
