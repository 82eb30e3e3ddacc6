/*
 * make_fuzz_seeds DIR: writes a few valid dumps (empty, small, with
 * overwrites, every event kind) into DIR as the fuzzer's seed corpus.
 */
#include <stdio.h>
#include <string.h>

#include <peertrace/peertrace.h>

static int save(pt_log *log, const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int rc = pt_log_dump_save(log, path);
  if (rc != PT_OK) {
    fprintf(stderr, "make_fuzz_seeds: %s: %s\n", path, pt_strerror(rc));
  }
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_fuzz_seeds DIR\n");
    return 2;
  }
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 16;
  memset(cfg.node_id, 0x5a, sizeof cfg.node_id);
  pt_log *log;
  if (pt_log_create(&log, &cfg) != PT_OK) {
    return 1;
  }
  int rc = save(log, argv[1], "empty.ptd");
  pt_trace_id id = pt_trace_id_new();
  uint8_t peer[32];
  memset(peer, 0x11, sizeof peer);
  pt_endpoint ep = {4, 0, 4433, {127, 0, 0, 1}};
  PT_CONN_INIT(log, id, peer, ep);
  PT_CONN_ESTABLISHED(log, id, peer, 1500);
  PT_STREAM_OPENED(log, id, 4, 1);
  PT_STREAM_DATA(log, id, 4, 0, 1200, 1);
  PT_PACKET_SENT(log, id, 1200, 7);
  PT_PACKET_RECEIVED(log, id, 80, 3);
  PT_PACKET_LOST(log, id, 7);
  PT_EMIT(log, app_command, id, "DMAP", 1, "key", 3);
  PT_EMIT(log, app_start, id, "DMAP", 2, "abc", 3);
  PT_EMIT(log, app_end, id, "DMAP", 2, 1, 250);
  PT_CUSTOM(log, id, 7, 9, "hello", 5);
  rc |= save(log, argv[1], "kinds.ptd");
  for (unsigned i = 0; i < 40; i++) {
    PT_PACKET_SENT(log, id, 1000 + i, i);
  }
  rc |= save(log, argv[1], "wrapped.ptd");
  pt_log_destroy(log);
  return rc == PT_OK ? 0 : 1;
}
