/*
 * make_run_dumps DIR: dumps of one request whose reply is a run of plain
 * packets, for the joining of runs in `peertrace request` (four or more
 * plain packets in a row are one item) and in the SVG (one arrow):
 * tests/cli/request.sh.
 *
 * Node A (node0, id 31..) asks node B (node1, id 32..) on stream 0 of conn
 * ab..09, trace 9999...: the request is 300 bytes in A's packet 1.  B's
 * reply is 8000 bytes in packets 20..28, 1000 bytes each (1030 B on the
 * wire): 20, 21, 22, 23 arrive (a run of four: joined), 24 is lost, 25,
 * 26, 27 arrive (three: not joined), 28 retransmits 24's bytes.  Times are
 * fixed (B's clock agrees with A's), so the output is the same on every
 * run.  Writes DIR/node0.ptd and DIR/node1.ptd; exit 0, or 1 saying why.
 */
#include <stdio.h>
#include <string.h>

#include <peertrace/peertrace.h>

enum { NODE_A, NODE_B, NODE_COUNT };

#define RUN_CONN 0xab00000000000009ull
#define RUN_T0 1764115200000000ull /* 2025-11-26 00:00:00 UTC */
#define RUN_WIRE 30u               /* a packet's bytes besides its frame */

/* One recorded event: who, when, what; the fields a kind does not use are
 * 0.  peer: the node named as the peer, or -1. */
typedef struct run_step {
  unsigned node;
  uint64_t t;
  uint16_t kind;
  int peer;
  uint64_t pn;
  uint64_t offset;
  uint32_t length;
} run_step;

static const run_step run_steps[] = {
    {NODE_A, 1000, PT_EV_APP_START, -1, 0, 0, 0},
    {NODE_A, 1010, PT_EV_APP_COMMAND, NODE_B, 0, 0, 0},
    {NODE_A, 1011, PT_EV_STREAM_DATA, -1, 0, 0, 300},
    {NODE_A, 1012, PT_EV_PACKET_SENT, -1, 1, 0, 300},
    {NODE_B, 1110, PT_EV_PACKET_RECEIVED, -1, 1, 0, 300},
    {NODE_B, 1115, PT_EV_APP_START, NODE_A, 0, 0, 0},
    {NODE_B, 1120, PT_EV_STREAM_DATA, -1, 0, 0, 8000},
    {NODE_B, 1121, PT_EV_APP_END, NODE_A, 0, 0, 0},
    {NODE_B, 1122, PT_EV_PACKET_SENT, -1, 20, 0, 1000},
    {NODE_B, 1123, PT_EV_PACKET_SENT, -1, 21, 1000, 1000},
    {NODE_B, 1124, PT_EV_PACKET_SENT, -1, 22, 2000, 1000},
    {NODE_B, 1125, PT_EV_PACKET_SENT, -1, 23, 3000, 1000},
    {NODE_B, 1126, PT_EV_PACKET_SENT, -1, 24, 4000, 1000},
    {NODE_B, 1127, PT_EV_PACKET_SENT, -1, 25, 5000, 1000},
    {NODE_B, 1128, PT_EV_PACKET_SENT, -1, 26, 6000, 1000},
    {NODE_B, 1129, PT_EV_PACKET_SENT, -1, 27, 7000, 1000},
    {NODE_B, 1200, PT_EV_PACKET_LOST, -1, 24, 0, 0},
    {NODE_B, 1201, PT_EV_PACKET_SENT, -1, 28, 4000, 1000},
    {NODE_A, 1222, PT_EV_PACKET_RECEIVED, -1, 20, 0, 1000},
    {NODE_A, 1223, PT_EV_PACKET_RECEIVED, -1, 21, 0, 1000},
    {NODE_A, 1224, PT_EV_PACKET_RECEIVED, -1, 22, 0, 1000},
    {NODE_A, 1225, PT_EV_PACKET_RECEIVED, -1, 23, 0, 1000},
    {NODE_A, 1227, PT_EV_PACKET_RECEIVED, -1, 25, 0, 1000},
    {NODE_A, 1228, PT_EV_PACKET_RECEIVED, -1, 26, 0, 1000},
    {NODE_A, 1229, PT_EV_PACKET_RECEIVED, -1, 27, 0, 1000},
    {NODE_A, 1301, PT_EV_PACKET_RECEIVED, -1, 28, 0, 1000},
    {NODE_A, 1305, PT_EV_APP_END, -1, 0, 0, 0},
};

static void run_node_id(unsigned node, uint8_t id[32]) {
  memset(id, 0x31 + (int)node, 32);
}

/*
 * The events of one step: app and stream events under the request's
 * trace, packets under the connection's (another trace, as a QUIC
 * adapter records them); a sent packet also gets its STREAM frame.
 * Returns how many (1 or 2).
 */
static int run_events(const run_step *s, pt_event ev[2]) {
  memset(ev, 0, 2 * sizeof *ev);
  ev[0].timestamp_us = RUN_T0 + s->t;
  ev[0].kind = s->kind;
  int app = s->kind == PT_EV_APP_START || s->kind == PT_EV_APP_COMMAND ||
            s->kind == PT_EV_APP_END;
  memset(&ev[0].trace_id, app || s->kind == PT_EV_STREAM_DATA ? 0x99 : 0x66,
         sizeof ev[0].trace_id);
  if (s->peer >= 0) {
    ev[0].flags |= PT_EVENT_HAS_PEER;
    run_node_id((unsigned)s->peer, ev[0].peer_id);
  }
  switch (s->kind) {
  case PT_EV_APP_START:
  case PT_EV_APP_COMMAND:
  case PT_EV_APP_END:
    memcpy(ev[0].data.app_command.app_id, "DMAP", 4);
    ev[0].data.app_command.cmd = 2;
    if (s->kind == PT_EV_APP_END) {
      ev[0].data.app_end.ok = 1;
    }
    return 1;
  case PT_EV_STREAM_DATA:
    ev[0].data.stream_data.length = s->length;
    ev[0].data.stream_data.sent = 1;
    ev[0].data.stream_data.conn = RUN_CONN;
    return 1;
  case PT_EV_PACKET_LOST:
    ev[0].data.packet_lost.pn = s->pn;
    ev[0].data.packet_lost.space = PT_PN_SPACE_APPLICATION;
    ev[0].data.packet_lost.conn = RUN_CONN;
    return 1;
  default: /* sent or received: same layout */
    ev[0].data.packet_sent.pn = s->pn;
    ev[0].data.packet_sent.size = s->length + RUN_WIRE;
    ev[0].data.packet_sent.space = PT_PN_SPACE_APPLICATION;
    ev[0].data.packet_sent.conn = RUN_CONN;
    if (s->kind != PT_EV_PACKET_SENT) {
      return 1;
    }
    ev[1] = ev[0];
    ev[1].kind = PT_EV_STREAM_FRAME;
    memset(&ev[1].data, 0, sizeof ev[1].data);
    ev[1].data.stream_frame.pn = s->pn;
    ev[1].data.stream_frame.offset = s->offset;
    ev[1].data.stream_frame.length = s->length;
    ev[1].data.stream_frame.space = PT_PN_SPACE_APPLICATION;
    ev[1].data.stream_frame.sent = 1;
    ev[1].data.stream_frame.conn = RUN_CONN;
    return 2;
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_run_dumps DIR\n");
    return 2;
  }
  int failed = 0;
  for (unsigned node = 0; node < NODE_COUNT && !failed; node++) {
    pt_log_config cfg;
    pt_log_config_init(&cfg);
    cfg.capacity = 128;
    run_node_id(node, cfg.node_id);
    pt_log *log = NULL;
    int rc = pt_log_create(&log, &cfg);
    for (size_t i = 0; rc == PT_OK && i < sizeof run_steps / sizeof *run_steps;
         i++) {
      pt_event ev[2];
      int n = run_steps[i].node == node ? run_events(&run_steps[i], ev) : 0;
      for (int k = 0; rc == PT_OK && k < n; k++) {
        rc = pt_log_write_at(log, &ev[k]);
      }
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/node%u.ptd", argv[1], node);
    if (rc == PT_OK) {
      rc = pt_log_dump_save(log, path);
    }
    if (rc != PT_OK) {
      fprintf(stderr, "make_run_dumps: %s: %s\n", path, pt_strerror(rc));
      failed = 1;
    }
    pt_log_destroy(log);
  }
  return failed;
}
