/* test_log: log lifecycle, bad input, ring overflow (flight recorder). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_helpers.h"

/* no_index: 1 for a log without query indices (index builds only; the
 * write path then closes a full chunk without the indices' call). */
static pt_log *make_log_with(size_t capacity, int no_index) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = capacity;
  cfg.no_index = no_index;
  pt_log *log = NULL;
  assert_int_equal(pt_log_create(&log, &cfg), PT_OK);
  assert_non_null(log);
  return log;
}

static pt_log *make_log(size_t capacity) {
  return make_log_with(capacity, 0);
}

static void test_create_rejects_bad_input(void **state) {
  (void)state;
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  assert_int_equal(pt_log_create(NULL, &cfg), PT_ERR_INVALID);
  const size_t bad[] = {0, 1, 8, 15, 17, 24, 100, 65535, (size_t)1 << 31};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pt_log *log = (pt_log *)&cfg; /* must be reset to NULL on failure */
    cfg.capacity = bad[i];
    assert_int_equal(pt_log_create(&log, &cfg), PT_ERR_INVALID);
    assert_null(log);
  }
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(NULL, &stats), PT_ERR_INVALID);
  uint8_t node[32];
  assert_int_equal(pt_log_node_id(NULL, node), PT_ERR_INVALID);
  pt_event *events = NULL;
  size_t count = 0;
  assert_int_equal(pt_log_recent(NULL, 1, &events, &count), PT_ERR_INVALID);
  pt_log_write(NULL, NULL); /* ignored, no crash */
  pt_log_destroy(NULL);
  assert_string_equal(pt_strerror(PT_ERR_INVALID), "invalid argument");
  assert_string_equal(pt_strerror(12345), "unknown error");
}

static void test_defaults_and_node_id(void **state) {
  (void)state;
  pt_log *log = NULL;
  assert_int_equal(pt_log_create(&log, NULL), PT_OK);
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(log, &stats), PT_OK);
  assert_int_equal(stats.capacity, PT_LOG_DEFAULT_CAPACITY);
#if PT_TRACE_MINIMAL
  assert_int_equal(stats.capacity, 4096);
#else
  assert_int_equal(stats.capacity, 65536);
#endif
  assert_int_equal(stats.overwritten, 0);
  assert_int_equal(stats.dropped, 0);
  pt_log_destroy(log);

  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 64;
  memset(cfg.node_id, 0x5a, sizeof cfg.node_id);
  assert_int_equal(pt_log_create(&log, &cfg), PT_OK);
  uint8_t node[32];
  assert_int_equal(pt_log_node_id(log, node), PT_OK);
  assert_memory_equal(node, cfg.node_id, 32);
  pt_log_destroy(log);
}

static void write_numbered(pt_log *log, uint64_t from, uint64_t to) {
  for (uint64_t n = from; n < to; n++) {
    pt_event ev;
    pt_test_make_event(&ev, 0, n);
    pt_log_write(log, &ev);
  }
}

/* After k x capacity writes, recent(capacity) is exactly the newest
 * capacity events in order, and the overwritten count is exact.  In index
 * builds, with and without the indices. */
static void test_overflow_keeps_newest(void **state) {
  (void)state;
  const size_t capacities[] = {16, 64, 1024, 4096};
  for (int no_index = 0; no_index <= (PT_TRACE_INDEX ? 1 : 0); no_index++) {
    for (size_t c = 0; c < sizeof capacities / sizeof capacities[0]; c++) {
      size_t capacity = capacities[c];
      for (uint64_t k = 1; k <= 5; k++) {
        pt_log *log = make_log_with(capacity, no_index);
        write_numbered(log, 0, k * capacity);
        pt_event *events = NULL;
        size_t count = 0;
        assert_int_equal(pt_log_recent(log, capacity, &events, &count), PT_OK);
        assert_int_equal(count, capacity);
        for (size_t i = 0; i < count; i++) {
          uint32_t writer;
          uint64_t n;
          assert_true(pt_test_event_intact(&events[i]));
          pt_test_event_origin(&events[i], &writer, &n);
          assert_int_equal(n, (k - 1) * capacity + i);
          if (i > 0) {
            assert_true(events[i].timestamp_us >= events[i - 1].timestamp_us);
          }
        }
        pt_events_free(events);
        pt_log_stats stats;
        assert_int_equal(pt_log_get_stats(log, &stats), PT_OK);
        assert_int_equal(stats.overwritten, (k - 1) * capacity);
        assert_int_equal(stats.dropped, 0);

        /* recent(n) for n < capacity: the newest n, oldest first. */
        assert_int_equal(pt_log_recent(log, 3, &events, &count), PT_OK);
        assert_int_equal(count, 3);
        for (size_t i = 0; i < 3; i++) {
          uint32_t writer;
          uint64_t n;
          pt_test_event_origin(&events[i], &writer, &n);
          assert_int_equal(n, k * capacity - 3 + i);
        }
        pt_events_free(events);
        pt_log_destroy(log);
      }
    }
  }
}

static void test_partial_fill_and_empty(void **state) {
  (void)state;
  pt_log *log = make_log(64);
  pt_event *events = (pt_event *)1;
  size_t count = 99;
  assert_int_equal(pt_log_recent(log, 10, &events, &count), PT_OK);
  assert_null(events);
  assert_int_equal(count, 0);
  write_numbered(log, 0, 21);
  assert_int_equal(pt_log_recent(log, 1000, &events, &count), PT_OK);
  assert_int_equal(count, 21);
  for (size_t i = 0; i < count; i++) {
    uint32_t writer;
    uint64_t n;
    pt_test_event_origin(&events[i], &writer, &n);
    assert_int_equal(n, i);
  }
  pt_events_free(events);
  assert_int_equal(pt_log_recent(log, 0, &events, &count), PT_OK);
  assert_int_equal(count, 0);
  pt_log_destroy(log);
}

/* pt_log_write stamps the time; pt_log_write_at keeps the caller's. */
static void test_timestamps(void **state) {
  (void)state;
  pt_log *log = make_log(64);
  pt_event ev;
  pt_test_make_event(&ev, 0, 1);
  ev.timestamp_us = 42;
  uint64_t before = pt_clock_now_us();
  pt_log_write(log, &ev);
  uint64_t after = pt_clock_now_us();
  pt_log_write_at(log, &ev);
  pt_event *events = NULL;
  size_t count = 0;
  assert_int_equal(pt_log_recent(log, 10, &events, &count), PT_OK);
  assert_int_equal(count, 2);
  assert_int_equal(events[0].timestamp_us, 42); /* sorted by time */
  assert_true(events[1].timestamp_us >= before);
  assert_true(events[1].timestamp_us <= after);
  pt_events_free(events);
  pt_log_destroy(log);
}

/* Several logs written alternately by one thread keep separate rings. */
static void test_many_logs_one_thread(void **state) {
  (void)state;
  enum { LOGS = 11 }; /* more than the per-thread cursor cache */
  pt_log *logs[LOGS];
  for (int i = 0; i < LOGS; i++) {
    logs[i] = make_log(64);
  }
  for (uint64_t n = 0; n < 200; n++) {
    for (int i = 0; i < LOGS; i++) {
      pt_event ev;
      pt_test_make_event(&ev, (uint32_t)i, n);
      pt_log_write(logs[i], &ev);
    }
  }
  for (int i = 0; i < LOGS; i++) {
    pt_event *events = NULL;
    size_t count = 0;
    pt_log_stats stats;
    assert_int_equal(pt_log_recent(logs[i], 64, &events, &count), PT_OK);
    assert_int_equal(pt_log_get_stats(logs[i], &stats), PT_OK);
    /* Every write is either live or counted. */
    assert_int_equal(count + stats.overwritten + stats.dropped, 200);
    for (size_t e = 0; e < count; e++) {
      uint32_t writer;
      uint64_t n;
      assert_true(pt_test_event_intact(&events[e]));
      pt_test_event_origin(&events[e], &writer, &n);
      assert_int_equal(writer, (uint32_t)i);
    }
    pt_events_free(events);
    pt_log_destroy(logs[i]);
  }
}

/* Holders of test_drops_when_every_chunk_is_held: each claims a chunk with
 * one write and keeps it (its thread alive) until released. */
typedef struct holder_ctx {
  pt_log *log;
  pthread_barrier_t *holding;
  pthread_barrier_t *release;
  uint32_t id;
} holder_ctx;

static void *holder(void *arg) {
  holder_ctx *h = arg;
  pt_event ev;
  pt_test_make_event(&ev, h->id, 0);
  pt_log_write(h->log, &ev);
  pthread_barrier_wait(h->holding);
  pthread_barrier_wait(h->release);
  return NULL; /* thread exit closes the chunk */
}

/* When every chunk is owned by another writer, a write neither waits nor
 * takes a slot someone owns: the event is dropped, and counted. */
static void test_drops_when_every_chunk_is_held(void **state) {
  (void)state;
  pt_log *log = make_log(64); /* 16 chunks of 4 slots */
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(log, &stats), PT_OK);
  size_t chunks = 64 / stats.chunk_size;
  assert_int_equal(chunks, 16);
  pthread_barrier_t holding, release;
  pthread_barrier_init(&holding, NULL, (unsigned)chunks + 1);
  pthread_barrier_init(&release, NULL, (unsigned)chunks + 1);
  pthread_t threads[16];
  holder_ctx ctx[16];
  for (size_t i = 0; i < chunks; i++) {
    ctx[i] = (holder_ctx){log, &holding, &release, (uint32_t)i + 1};
    assert_int_equal(pthread_create(&threads[i], NULL, holder, &ctx[i]), 0);
  }
  pthread_barrier_wait(&holding);
  write_numbered(log, 0, 5); /* writer 0: no chunk to be had */
  assert_int_equal(pt_log_get_stats(log, &stats), PT_OK);
  assert_int_equal(stats.dropped, 5);
  assert_int_equal(stats.overwritten, 0);
  pthread_barrier_wait(&release);
  for (size_t i = 0; i < chunks; i++) {
    pthread_join(threads[i], NULL);
  }
  /* The holders' exits closed their chunks: writing works again. */
  write_numbered(log, 5, 7);
  pt_event *events = NULL;
  size_t count = 0;
  assert_int_equal(pt_log_recent(log, 64, &events, &count), PT_OK);
  assert_true(count >= chunks + 1);
  size_t holders = 0, mine = 0;
  for (size_t i = 0; i < count; i++) {
    uint32_t writer;
    uint64_t n;
    assert_true(pt_test_event_intact(&events[i]));
    pt_test_event_origin(&events[i], &writer, &n);
    if (writer == 0) {
      assert_true(n >= 5); /* the dropped ones never appear */
      mine++;
    } else {
      holders++;
    }
  }
  assert_int_equal(holders + mine, count);
  assert_int_equal(mine, 2);
  assert_int_equal(pt_log_get_stats(log, &stats), PT_OK);
  assert_int_equal(stats.dropped, 5);
  /* recent() counts: 16 held events + 2 new, unless the new writes' claim
   * reclaimed a holder's chunk (its events then counted as overwritten). */
  assert_int_equal(holders + stats.overwritten, chunks);
  pt_events_free(events);
  pthread_barrier_destroy(&holding);
  pthread_barrier_destroy(&release);
  pt_log_destroy(log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_rejects_bad_input),
      cmocka_unit_test(test_defaults_and_node_id),
      cmocka_unit_test(test_overflow_keeps_newest),
      cmocka_unit_test(test_partial_fill_and_empty),
      cmocka_unit_test(test_timestamps),
      cmocka_unit_test(test_many_logs_one_thread),
      cmocka_unit_test(test_drops_when_every_chunk_is_held),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
