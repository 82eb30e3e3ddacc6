/*
 * make_sample_dumps DIR: writes three dumps of one small, fixed scenario,
 * the inputs of the CLI and export tests and of docs/cli.md's examples.
 *
 * Nodes: client (a1…), relay (b2…), storage (c3…).  Trace 4bf92f35…: the
 * client asks the relay to store a chunk (DMAP command 1, app_start ..
 * app_end); the relay forwards it to storage.  One client packet (pn 2) is
 * lost and sent again as pn 4.  Trace 7e57…: a second, local request on the
 * client.  Times are fixed (Unix µs), so output is the same on every run.
 *
 * make_sample_dumps DIR --skewed: the same scenario as nodes whose clocks
 * disagree, for the alignment tests and docs: the connection events carry
 * connection identities (client-relay, relay-storage), the relay's clock is
 * 2.5 s behind the client's and the storage node's 1.2 s ahead.
 *
 * make_sample_dumps DIR --conns N: DIR/conns.ptd, one node (a1…) on N
 * connections at once (conn 0xc0ee000000000000 + i, trace id's last byte
 * i % 256), for export qlog --split past any fixed limit.  Connection i
 * is the client's (it sends Initial pn 0 first) for even i, the server's
 * (it receives it first) for odd i; then CONNS_ROUNDS rounds of one
 * 1-RTT packet each, sent on even rounds and received on odd ones, every
 * round going through all N connections, so that their files are written
 * side by side.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peertrace/peertrace.h>

#define T0 1764115200000000ull /* 2025-11-26 00:00:00 UTC */

static pt_log *node_log(uint8_t first_byte) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 256;
  for (int i = 0; i < 32; i++) {
    cfg.node_id[i] = (uint8_t)(first_byte + i);
  }
  pt_log *log = NULL;
  if (pt_log_create(&log, &cfg) != PT_OK) {
    return NULL;
  }
  return log;
}

static void peer_of(uint8_t first_byte, uint8_t out[32]) {
  for (int i = 0; i < 32; i++) {
    out[i] = (uint8_t)(first_byte + i);
  }
}

/* --skewed: each log's clock offset (us) and the connection now recorded. */
static pt_log *skewed_log[3];
static int64_t skew_us[3];
static uint64_t conn_now;

#define CONN_CLIENT_RELAY 0xc11e47000000a1b2ull
#define CONN_RELAY_STORAGE 0xc11e47000000b2c3ull

/* Records ev at T0 + at_us (on the log's clock, with --skewed). */
static void put(pt_log *log, pt_event *ev, uint64_t at_us) {
  ev->timestamp_us = T0 + at_us;
  for (int i = 0; i < 3; i++) {
    if (skewed_log[i] == log) {
      ev->timestamp_us = (uint64_t)((int64_t)ev->timestamp_us + skew_us[i]);
      (void)pt_event_set_conn(ev, conn_now); /* kinds without one: no-op */
    }
  }
  pt_log_write_at(log, ev);
}

static void packet(pt_log *log, pt_trace_id t, unsigned kind, uint64_t pn,
                   uint32_t size, uint64_t at) {
  pt_event ev;
  pt_event_begin(&ev, t, NULL);
  if (kind == PT_EV_PACKET_SENT) {
    pt_event_set_packet_sent(&ev, pn, size, PT_PN_SPACE_APPLICATION);
  } else if (kind == PT_EV_PACKET_RECEIVED) {
    pt_event_set_packet_received(&ev, pn, size, PT_PN_SPACE_APPLICATION);
  } else {
    pt_event_set_packet_lost(&ev, pn, PT_PN_SPACE_APPLICATION);
  }
  ev.flags |= PT_FLAG_SAMPLED;
  put(log, &ev, at);
}

static void connect_to(pt_log *log, pt_trace_id t, const uint8_t peer[32],
                       uint16_t port, uint32_t rtt, uint64_t at) {
  pt_event ev;
  pt_endpoint ep = {4, 0, port, {10, 0, 0, (uint8_t)(port % 251)}};
  pt_event_begin(&ev, t, peer);
  pt_event_set_conn_init(&ev, ep);
  put(log, &ev, at);
  pt_event_begin(&ev, t, peer);
  pt_event_set_conn_established(&ev, rtt);
  put(log, &ev, at + rtt);
}

static void app(pt_log *log, pt_trace_id t, unsigned kind, uint16_t cmd, int ok,
                uint64_t duration, uint64_t at) {
  pt_event ev;
  pt_event_begin(&ev, t, NULL);
  if (kind == PT_EV_APP_START) {
    pt_event_set_app_start(&ev, "DMAP", cmd, "chunk-17", 8);
  } else if (kind == PT_EV_APP_END) {
    pt_event_set_app_end(&ev, "DMAP", cmd, ok, duration);
  } else {
    pt_event_set_app_command(&ev, "DMAP", cmd, "fwd", 3);
  }
  ev.flags |= PT_FLAG_SAMPLED | PT_FLAG_APP_INITIATED;
  put(log, &ev, at);
}

#define CONNS_BASE 0xc0ee000000000000ull
#define CONNS_ROUNDS 40u

static int conns_dump(const char *dir, unsigned n) {
  size_t events = (size_t)n * (CONNS_ROUNDS + 2u), capacity = 256;
  while (capacity < events) {
    capacity *= 2;
  }
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = capacity;
  for (int i = 0; i < 32; i++) {
    cfg.node_id[i] = (uint8_t)(0xa1 + i);
  }
  pt_log *log = NULL;
  if (pt_log_create(&log, &cfg) != PT_OK) {
    return 1;
  }
  uint8_t peer[32];
  peer_of(0xb2, peer);
  uint64_t at = T0;
  for (unsigned round = 0; round < CONNS_ROUNDS + 2u; round++) {
    for (unsigned i = 0; i < n; i++) {
      pt_trace_id t;
      memset(&t, 0, sizeof t);
      t.bytes[0] = 0xc0;
      t.bytes[14] = (uint8_t)(i >> 8);
      t.bytes[15] = (uint8_t)i;
      pt_event ev;
      pt_event_begin(&ev, t, peer);
      if (round == 0 && i % 2 == 0) {
        pt_endpoint ep = {4, 0, 4433, {10, 0, 0, 2}};
        pt_event_set_conn_init(&ev, ep);
      } else if (round == 0) {
        continue; /* the server's first event is the Initial it receives */
      } else if (round == 1) {
        int sent = i % 2 == 0;
        if (sent) {
          pt_event_set_packet_sent(&ev, 0, 1200, PT_PN_SPACE_INITIAL);
        } else {
          pt_event_set_packet_received(&ev, 0, 1200, PT_PN_SPACE_INITIAL);
        }
      } else if (round % 2 == 0) {
        pt_event_set_packet_sent(&ev, round - 2u, 1000 + i,
                                 PT_PN_SPACE_APPLICATION);
      } else {
        pt_event_set_packet_received(&ev, round - 2u, 1000 + i,
                                     PT_PN_SPACE_APPLICATION);
      }
      (void)pt_event_set_conn(&ev, CONNS_BASE + i);
      ev.timestamp_us = at++;
      pt_log_write_at(log, &ev);
    }
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/conns.ptd", dir);
  int err = pt_log_dump_save(log, path);
  if (err != PT_OK) {
    fprintf(stderr, "make_sample_dumps: %s: %s\n", path, pt_strerror(err));
  }
  pt_log_destroy(log);
  return err == PT_OK ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[2], "--conns") == 0) {
    unsigned long n = strtoul(argv[3], NULL, 10);
    if (n == 0 || n > 100000) {
      fprintf(stderr, "make_sample_dumps: --conns 1..100000\n");
      return 2;
    }
    return conns_dump(argv[1], (unsigned)n);
  }
  int skewed = argc == 3 && strcmp(argv[2], "--skewed") == 0;
  if (argc != 2 && !skewed) {
    fprintf(stderr, "usage: make_sample_dumps DIR [--skewed | --conns N]\n");
    return 2;
  }
  pt_log *client = node_log(0xa1), *relay = node_log(0xb2),
         *storage = node_log(0xc3);
  if (client == NULL || relay == NULL || storage == NULL) {
    return 1;
  }
  if (skewed) {
    pt_log *logs[3] = {client, relay, storage};
    const int64_t offsets[3] = {0, -2500000, 1200000};
    for (int i = 0; i < 3; i++) {
      skewed_log[i] = logs[i];
      skew_us[i] = offsets[i];
    }
  }
  uint8_t client_id[32], relay_id[32], storage_id[32];
  peer_of(0xa1, client_id);
  peer_of(0xb2, relay_id);
  peer_of(0xc3, storage_id);
  pt_trace_id t1, t2;
  pt_trace_id_from_hex("4bf92f3577b34da6a3ce929d0e0e4736", 32, &t1);
  pt_trace_id_from_hex("7e57a11ce0000000000000000000beef", 32, &t2);

  /* Client: start the request, connect to the relay, send the chunk. */
  conn_now = CONN_CLIENT_RELAY;
  app(client, t1, PT_EV_APP_START, 1, 0, 0, 0);
  connect_to(client, t1, relay_id, 4433, 1800, 50);
  packet(client, t1, PT_EV_PACKET_SENT, 0, 1200, 2000);
  packet(client, t1, PT_EV_PACKET_SENT, 1, 1200, 2010);
  packet(client, t1, PT_EV_PACKET_SENT, 2, 1200, 2020);
  packet(client, t1, PT_EV_PACKET_SENT, 3, 400, 2030);
  /* Relay receives 0, 1 and 3; 2 is lost. */
  connect_to(relay, t1, client_id, 5000, 1800, 60);
  packet(relay, t1, PT_EV_PACKET_RECEIVED, 0, 1200, 2900);
  packet(relay, t1, PT_EV_PACKET_RECEIVED, 1, 1200, 2912);
  packet(relay, t1, PT_EV_PACKET_RECEIVED, 3, 400, 2931);
  packet(client, t1, PT_EV_PACKET_LOST, 2, 0, 5800);
  packet(client, t1, PT_EV_PACKET_SENT, 4, 1200, 5810);
  packet(relay, t1, PT_EV_PACKET_RECEIVED, 4, 1200, 6705);
  /* Relay forwards to storage. */
  conn_now = CONN_RELAY_STORAGE;
  app(relay, t1, PT_EV_APP_COMMAND, 1, 0, 0, 6720);
  connect_to(relay, t1, storage_id, 4433, 900, 6730);
  packet(relay, t1, PT_EV_PACKET_SENT, 0, 1200, 7700);
  packet(relay, t1, PT_EV_PACKET_SENT, 1, 1200, 7705);
  packet(relay, t1, PT_EV_PACKET_SENT, 2, 1000, 7710);
  connect_to(storage, t1, relay_id, 6000, 900, 6740);
  packet(storage, t1, PT_EV_PACKET_RECEIVED, 0, 1200, 8150);
  packet(storage, t1, PT_EV_PACKET_RECEIVED, 1, 1200, 8158);
  packet(storage, t1, PT_EV_PACKET_RECEIVED, 2, 1000, 8163);
  app(storage, t1, PT_EV_APP_START, 1, 0, 0, 8170);
  app(storage, t1, PT_EV_APP_END, 1, 1, 2330, 10500);
  packet(storage, t1, PT_EV_PACKET_SENT, 3, 60, 10510);
  packet(relay, t1, PT_EV_PACKET_RECEIVED, 3, 60, 10955);
  conn_now = CONN_CLIENT_RELAY;
  packet(relay, t1, PT_EV_PACKET_SENT, 5, 60, 10970);
  packet(client, t1, PT_EV_PACKET_RECEIVED, 5, 60, 11860);
  app(client, t1, PT_EV_APP_END, 1, 1, 11880, 11880);
  /* A second, local request on the client that fails. */
  app(client, t2, PT_EV_APP_START, 2, 0, 0, 12000);
  app(client, t2, PT_EV_APP_END, 2, 0, 450, 12450);

  const char *names[3] = {"client.ptd", "relay.ptd", "storage.ptd"};
  pt_log *logs[3] = {client, relay, storage};
  int rc = 0;
  for (int i = 0; i < 3; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
    int err = pt_log_dump_save(logs[i], path);
    if (err != PT_OK) {
      fprintf(stderr, "make_sample_dumps: %s: %s\n", path, pt_strerror(err));
      rc = 1;
    }
    pt_log_destroy(logs[i]);
  }
  return rc;
}
