/*
 * live_node: a node that records into a log *file*, so that its events
 * survive a crash and can be followed while it runs:
 *
 *   ./live_node node.ptlog --events 100000 --threads 2 --delay-us 50 &
 *   peertrace tail node.ptlog            # watch it live
 *   ./live_node node.ptlog --crash-after 5000 --replace
 *   peertrace show node.ptlog            # what it recorded before dying
 *
 * Each thread sends "packets" on its own trace, one event per packet, with
 * the packet number as the event's sequence.  --crash-after N makes thread 0
 * abort() after its N-th packet, the others still writing.
 */
#define _POSIX_C_SOURCE 200809L
#include <peertrace/peertrace.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct worker {
  pt_log *log;
  unsigned id;
  unsigned long events;
  unsigned long crash_after; /* 0: never */
  long delay_us;
} worker;

static void pause_us(long us) {
  if (us > 0) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
  }
}

static void *work(void *p) {
  worker *w = p;
  pt_trace_id trace = pt_trace_id_new();
  uint8_t peer[32];
  memset(peer, (int)(0xa0 + w->id), sizeof peer);
  for (unsigned long pn = 0; pn < w->events; pn++) {
    pt_event ev;
    pt_event_begin(&ev, trace, peer);
    pt_event_set_packet_sent(&ev, pn, 1200 + pn % 100, PT_PN_SPACE_APPLICATION);
    ev.sequence = (uint32_t)pn;
    PT_EVENT(w->log, ev);
    if (w->crash_after != 0 && w->id == 0 && pn + 1 == w->crash_after) {
      fprintf(stderr, "live_node: thread 0 aborts after %lu packets\n", pn + 1);
      abort();
    }
    pause_us(w->delay_us);
  }
  return NULL;
}

static int usage(void) {
  fprintf(stderr,
          "usage: live_node FILE [--events N] [--threads T] [--delay-us US]\n"
          "                 [--capacity N] [--crash-after N] [--replace]\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 2 || argv[1][0] == '-') {
    return usage();
  }
  unsigned long events = 100000, crash_after = 0, capacity = 65536;
  unsigned threads = 2;
  long delay_us = 0;
  int replace = 0;
  for (int i = 2; i < argc; i++) {
    const char *value = i + 1 < argc ? argv[i + 1] : "";
    if (strcmp(argv[i], "--events") == 0) {
      events = strtoul(value, NULL, 10), i++;
    } else if (strcmp(argv[i], "--threads") == 0) {
      threads = (unsigned)strtoul(value, NULL, 10), i++;
    } else if (strcmp(argv[i], "--delay-us") == 0) {
      delay_us = strtol(value, NULL, 10), i++;
    } else if (strcmp(argv[i], "--capacity") == 0) {
      capacity = strtoul(value, NULL, 10), i++;
    } else if (strcmp(argv[i], "--crash-after") == 0) {
      crash_after = strtoul(value, NULL, 10), i++;
    } else if (strcmp(argv[i], "--replace") == 0) {
      replace = 1;
    } else {
      return usage();
    }
  }
  if (threads < 1 || threads > 64) {
    return usage();
  }
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = capacity;
  cfg.file_path = argv[1];
  cfg.file_flags = replace ? PT_LOG_FILE_REPLACE : 0;
  memset(cfg.node_id, 0x5e, sizeof cfg.node_id);
  pt_log *log = NULL;
  int rv = pt_log_create(&log, &cfg);
  if (rv != PT_OK) {
    fprintf(stderr, "live_node: %s: %s\n", argv[1], pt_strerror(rv));
    return 1;
  }
  pthread_t tid[64];
  worker w[64];
  for (unsigned i = 0; i < threads; i++) {
    w[i] = (worker){log, i, events, crash_after, delay_us};
    pthread_create(&tid[i], NULL, work, &w[i]);
  }
  for (unsigned i = 0; i < threads; i++) {
    pthread_join(tid[i], NULL);
  }
  pt_log_destroy(log);
  return 0;
}
