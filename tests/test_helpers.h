/* Shared helpers for the core tests: building and checking test events. */
#ifndef PT_TEST_HELPERS_H
#define PT_TEST_HELPERS_H

#include <peertrace/peertrace.h>

#include <stdint.h>
#include <string.h>

/* Sanitizer builds run the heavy tests with fewer iterations. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define PT_TEST_SLOW 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define PT_TEST_SLOW 1
#endif
#endif
#ifndef PT_TEST_SLOW
#define PT_TEST_SLOW 0
#endif

/* A log in private memory of `capacity` slots whose node id is `node_byte`
 * 32 times; NULL if pt_log_create refused. */
static inline pt_log *pt_test_log_new(size_t capacity, uint8_t node_byte) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = capacity;
  memset(cfg.node_id, node_byte, sizeof cfg.node_id);
  pt_log *log = NULL;
  return pt_log_create(&log, &cfg) == PT_OK ? log : NULL;
}

/* Stable sort by timestamp (insertion sort): equal times keep write order,
 * as the log's (timestamp, ticket) order does for one writer. */
static inline void pt_test_sort_by_time(pt_event *events, size_t n) {
  for (size_t i = 1; i < n; i++) {
    pt_event key = events[i];
    size_t j = i;
    while (j > 0 && events[j - 1].timestamp_us > key.timestamp_us) {
      events[j] = events[j - 1];
      j--;
    }
    events[j] = key;
  }
}

/*
 * Reference model of a ring written by one thread: every write in write
 * order; the live ones are the newest `capacity` writes minus the slots the
 * writer's current chunk (of `chunk` slots) has already reclaimed.
 */
typedef struct pt_test_model {
  pt_event *events;
  size_t count;
  size_t capacity;
  size_t chunk;
} pt_test_model;

/* Index of the oldest live write. */
static inline size_t pt_test_model_first_live(const pt_test_model *m) {
  if (m->count <= m->capacity) {
    return 0;
  }
  size_t current_chunk_start = ((m->count - 1) / m->chunk) * m->chunk;
  return current_chunk_start + m->chunk - m->capacity;
}

/* FNV-1a over bytes 8..119 of an event (everything but the timestamp, which
 * the log writes, and the last 8 bytes, which hold this checksum). */
static inline uint64_t pt_test_checksum(const pt_event *ev) {
  const uint8_t *p = (const uint8_t *)ev;
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 8; i < 120; i++) {
    h = (h ^ p[i]) * 0x100000001b3u;
  }
  return h;
}

/* A custom event whose every byte derives from (writer, n), checksummed. */
static inline void pt_test_make_event(pt_event *ev, uint32_t writer,
                                      uint64_t n) {
  pt_trace_id id;
  for (size_t i = 0; i < 16; i++) {
    id.bytes[i] = (uint8_t)(n >> (8 * (i % 8))) ^ (uint8_t)(writer * 31 + i);
  }
  pt_event_begin(ev, id, NULL);
  uint8_t data[44];
  for (size_t i = 0; i < sizeof data; i++) {
    data[i] = (uint8_t)(n * 7 + i + writer);
  }
  pt_event_set_custom(ev, writer, (uint16_t)n, data, sizeof data);
  ev->sequence = (uint32_t)n;
  memcpy(ev->peer_id, &n, sizeof n);
  memcpy(ev->peer_id + 8, &writer, sizeof writer);
  ev->flags = PT_EVENT_HAS_PEER; /* a valid event: the peer id is declared */
  uint64_t sum = pt_test_checksum(ev);
  memcpy(ev->data.raw + 56, &sum, sizeof sum);
}

static inline int pt_test_event_intact(const pt_event *ev) {
  uint64_t sum;
  memcpy(&sum, ev->data.raw + 56, sizeof sum);
  return ev->kind == PT_EV_CUSTOM && sum == pt_test_checksum(ev);
}

/* The (writer, n) an intact test event was made from. */
static inline void pt_test_event_origin(const pt_event *ev, uint32_t *writer,
                                        uint64_t *n) {
  memcpy(n, ev->peer_id, sizeof *n);
  memcpy(writer, ev->peer_id + 8, sizeof *writer);
}

#endif
