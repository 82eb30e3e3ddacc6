/* test_log: log lifecycle, bad input, ring overflow (flight recorder). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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
  assert_int_equal(pt_log_write(NULL, NULL), PT_ERR_INVALID); /* no crash */
  assert_int_equal(pt_log_write_at(NULL, NULL), PT_ERR_INVALID);
  pt_log_destroy(NULL);
  assert_string_equal(pt_strerror(PT_ERR_INVALID), "invalid argument");
  assert_string_equal(pt_strerror(PT_ERR_STATE), "not allowed at this point");
  assert_int_equal(PT_ERR_STATE, -9);
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

/* Writes events from..to-1 of writer 0; each write must return `expect`. */
static void write_numbered_expect(pt_log *log, uint64_t from, uint64_t to,
                                  int expect) {
  for (uint64_t n = from; n < to; n++) {
    pt_event ev;
    pt_test_make_event(&ev, 0, n);
    assert_int_equal(pt_log_write(log, &ev), expect);
  }
}

static void write_numbered(pt_log *log, uint64_t from, uint64_t to) {
  write_numbered_expect(log, from, to, PT_OK);
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
  write_numbered_expect(log, 0, 5, PT_ERR_FULL); /* no chunk to be had */
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

/*
 * pt_log_write and pt_log_write_at check a caller-built event: one a dump
 * loader would reject (so that one bad event would make every dump of the
 * log unreadable) is refused, counted as rejected and never recorded.
 */
static void test_write_rejects_invalid_events(void **state) {
  (void)state;
  pt_log *log = make_log(64);
  pt_event good;
  pt_event_begin(&good, pt_trace_id_new(), NULL);
  pt_event_set_packet_sent(&good, 1, 1200, PT_PN_SPACE_APPLICATION);
  pt_event bad[7];
  for (size_t i = 0; i < 7; i++) {
    bad[i] = good;
  }
  bad[0].kind = 0;
  bad[1].kind = PT_EV_KIND_LIMIT;
  bad[2].kind = 0xffff;
  bad[3].flags = 0x08; /* a reserved event flag bit */
  bad[4].flags = 0x40;
  bad[5].reserved = 1;
  bad[6].peer_id[31] = 1; /* a peer id, but no has-peer flag */
  uint64_t rejected = 0;
  for (size_t i = 0; i < 7; i++) {
    assert_int_equal(pt_log_write(log, &bad[i]), PT_ERR_INVALID);
    assert_int_equal(pt_log_write_at(log, &bad[i]), PT_ERR_INVALID);
    rejected += 2;
  }
  pt_event *events = NULL;
  size_t count = 0;
  assert_int_equal(pt_log_recent(log, 64, &events, &count), PT_OK);
  assert_int_equal(count, 0);
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(log, &stats), PT_OK);
  assert_int_equal(stats.rejected, rejected);
  assert_int_equal(stats.dropped, 0);

  /* Every valid combination is recorded: trace flags, has-peer with a peer. */
  good.flags = PT_TRACE_FLAGS_MASK;
  assert_int_equal(pt_log_write(log, &good), PT_OK);
  pt_event with_peer;
  uint8_t peer[32];
  memset(peer, 0x77, sizeof peer);
  pt_event_begin(&with_peer, good.trace_id, peer);
  pt_event_set_conn_established(&with_peer, 900);
  with_peer.flags |= PT_FLAG_DEBUG;
  with_peer.timestamp_us = 12345;
  assert_int_equal(pt_log_write_at(log, &with_peer), PT_OK);
  assert_int_equal(pt_log_recent(log, 64, &events, &count), PT_OK);
  assert_int_equal(count, 2);
  assert_int_equal(events[0].kind, PT_EV_CONN_ESTABLISHED);
  assert_int_equal(events[0].flags, PT_EVENT_HAS_PEER | PT_FLAG_DEBUG);
  assert_int_equal(events[1].flags, PT_TRACE_FLAGS_MASK);
  pt_events_free(events);
  assert_int_equal(pt_log_get_stats(log, &stats), PT_OK);
  assert_int_equal(stats.rejected, rejected);
  pt_log_destroy(log);
}

/*
 * pt_log_create refuses to create a log file through a symlink, whether it
 * dangles or points at a file, with or without PT_LOG_FILE_REPLACE: a clear
 * PT_ERR_PERMISSION (a symlink is not a regular file of this user), and the
 * link and its target are left alone.
 */
static void test_create_refuses_symlink(void **state) {
  (void)state;
  char dir[] = "/tmp/pt_test_log.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char link[256], target[256];
  snprintf(link, sizeof link, "%s/log", dir);
  snprintf(target, sizeof target, "%s/target", dir);
  assert_int_equal(symlink(target, link), 0); /* dangling */
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 64;
  cfg.file_path = link;
  for (int pass = 0; pass < 2; pass++) {
    for (unsigned flags = 0; flags <= PT_LOG_FILE_REPLACE; flags++) {
      cfg.file_flags = flags;
      pt_log *log = (pt_log *)&cfg;
      assert_int_equal(pt_log_create(&log, &cfg), PT_ERR_PERMISSION);
      assert_null(log);
      struct stat st;
      assert_int_equal(lstat(link, &st), 0);
      assert_true(S_ISLNK(st.st_mode));
      if (pass == 0) {
        assert_int_equal(stat(target, &st), -1); /* not created through it */
      } else {
        assert_int_equal(stat(target, &st), 0);
        assert_int_equal(st.st_size, 5); /* not truncated or replaced */
      }
    }
    FILE *fp = fopen(target, "w"); /* second pass: the link points at a file */
    assert_non_null(fp);
    fputs("hello", fp);
    fclose(fp);
  }
  /* A plain existing file is still PT_ERR_EXISTS without REPLACE. */
  cfg.file_path = target;
  cfg.file_flags = 0;
  pt_log *log = NULL;
  assert_int_equal(pt_log_create(&log, &cfg), PT_ERR_EXISTS);
  unlink(link);
  unlink(target);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_write_rejects_invalid_events),
      cmocka_unit_test(test_create_refuses_symlink),
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
