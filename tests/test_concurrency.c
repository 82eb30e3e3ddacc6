/*
 * test_concurrency: many writers and a reader on small rings.
 *
 * Writers lap each other constantly (rings of 16..256 slots), which is where
 * the seed's fetch_add + write_volatile ring tears.  Every event carries a
 * checksum of its own bytes; the reader checks every event it ever gets, and
 * at the end every write must be accounted for: live in the ring, counted as
 * overwritten, or counted as dropped.  Run under TSan in CI.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "test_helpers.h"

enum { WRITERS = 4, EVENTS_PER_WRITER = PT_TEST_SLOW ? 40000 : 400000 };

typedef struct shared {
  pt_log *log;
  _Atomic int writers_done;
  _Atomic uint64_t reader_events;
  _Atomic uint64_t reader_torn;
  _Atomic uint64_t reader_order_errors;
} shared;

typedef struct writer_arg {
  shared *sh;
  uint32_t id;
} writer_arg;

static void *writer_main(void *p) {
  writer_arg *arg = p;
  for (uint64_t n = 0; n < EVENTS_PER_WRITER; n++) {
    pt_event ev;
    pt_test_make_event(&ev, arg->id, n);
    pt_log_write(arg->sh->log, &ev);
  }
  /* release: pairs with the reader's acquire load. */
  atomic_fetch_add_explicit(&arg->sh->writers_done, 1, memory_order_release);
  return NULL;
}

/* Checks one snapshot: all intact, and each writer's events in its order. */
static void check_snapshot(shared *sh, const pt_event *events, size_t count) {
  uint64_t last[WRITERS];
  int seen[WRITERS] = {0};
  for (size_t i = 0; i < count; i++) {
    if (!pt_test_event_intact(&events[i])) {
      atomic_fetch_add(&sh->reader_torn, 1);
      continue;
    }
    uint32_t w;
    uint64_t n;
    pt_test_event_origin(&events[i], &w, &n);
    if (w >= WRITERS) {
      atomic_fetch_add(&sh->reader_torn, 1);
      continue;
    }
    /* Time order must preserve each writer's program order. */
    if (seen[w] && n <= last[w]) {
      atomic_fetch_add(&sh->reader_order_errors, 1);
    }
    seen[w] = 1;
    last[w] = n;
  }
  atomic_fetch_add(&sh->reader_events, count);
}

static void *reader_main(void *p) {
  shared *sh = p;
  /* acquire: pairs with the writers' release increments. */
  while (atomic_load_explicit(&sh->writers_done, memory_order_acquire) <
         WRITERS) {
    pt_event *events = NULL;
    size_t count = 0;
    if (pt_log_recent(sh->log, SIZE_MAX, &events, &count) == PT_OK) {
      check_snapshot(sh, events, count);
      pt_events_free(events);
    }
  }
  return NULL;
}

static void run_contention(size_t capacity) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = capacity;
  shared sh;
  memset(&sh, 0, sizeof sh);
  assert_int_equal(pt_log_create(&sh.log, &cfg), PT_OK);

  pthread_t writers[WRITERS];
  writer_arg args[WRITERS];
  pthread_t reader;
  assert_int_equal(pthread_create(&reader, NULL, reader_main, &sh), 0);
  for (uint32_t i = 0; i < WRITERS; i++) {
    args[i].sh = &sh;
    args[i].id = i;
    assert_int_equal(pthread_create(&writers[i], NULL, writer_main, &args[i]),
                     0);
  }
  for (int i = 0; i < WRITERS; i++) {
    pthread_join(writers[i], NULL);
  }
  pthread_join(reader, NULL);

  assert_int_equal(atomic_load(&sh.reader_torn), 0);
  assert_int_equal(atomic_load(&sh.reader_order_errors), 0);
  assert_true(atomic_load(&sh.reader_events) > 0);

  /* Final accounting, with all writers gone (their chunks were closed). */
  pt_event *events = NULL;
  size_t live = 0;
  assert_int_equal(pt_log_recent(sh.log, SIZE_MAX, &events, &live), PT_OK);
  check_snapshot(&sh, events, live);
  assert_int_equal(atomic_load(&sh.reader_torn), 0);
  assert_int_equal(atomic_load(&sh.reader_order_errors), 0);
  /* No duplicates: each (writer, n) at most once. */
  for (size_t i = 1; i < live; i++) {
    for (size_t j = 0; j < i; j++) {
      uint32_t wi, wj;
      uint64_t ni, nj;
      pt_test_event_origin(&events[i], &wi, &ni);
      pt_test_event_origin(&events[j], &wj, &nj);
      assert_false(wi == wj && ni == nj);
    }
  }
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(sh.log, &stats), PT_OK);
  print_message("capacity %zu: live %zu overwritten %llu dropped %llu\n",
                capacity, live, (unsigned long long)stats.overwritten,
                (unsigned long long)stats.dropped);
  assert_int_equal(live + stats.overwritten + stats.dropped,
                   (uint64_t)WRITERS * EVENTS_PER_WRITER);
  assert_true(live <= capacity);
  pt_events_free(events);
  pt_log_destroy(sh.log);
}

static void test_contention_16(void **state) {
  (void)state;
  run_contention(16);
}

static void test_contention_64(void **state) {
  (void)state;
  run_contention(64);
}

static void test_contention_256(void **state) {
  (void)state;
  run_contention(256);
}

/* Short-lived threads: each exit gives its open chunk back, so the ring
 * does not shrink however many threads come and go. */
static void *one_event(void *p) {
  shared *sh = p;
  pt_event ev;
  pt_test_make_event(&ev, 0, 7);
  pt_log_write(sh->log, &ev);
  return NULL;
}

static void test_thread_churn_keeps_ring_usable(void **state) {
  (void)state;
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 64; /* 16 chunks of 4 */
  shared sh;
  memset(&sh, 0, sizeof sh);
  assert_int_equal(pt_log_create(&sh.log, &cfg), PT_OK);
  for (int i = 0; i < 200; i++) {
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, one_event, &sh), 0);
    pthread_join(t, NULL);
  }
  /* 200 threads each held a chunk; all were returned, nothing dropped. */
  pt_log_stats stats;
  assert_int_equal(pt_log_get_stats(sh.log, &stats), PT_OK);
  assert_int_equal(stats.dropped, 0);
  pt_event *events = NULL;
  size_t live = 0;
  assert_int_equal(pt_log_recent(sh.log, SIZE_MAX, &events, &live), PT_OK);
  assert_int_equal(live + stats.overwritten, 200);
  assert_true(live >= 16); /* one event per chunk survives */
  pt_events_free(events);
  pt_log_destroy(sh.log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_contention_16),
      cmocka_unit_test(test_contention_64),
      cmocka_unit_test(test_contention_256),
      cmocka_unit_test(test_thread_churn_keeps_ring_usable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
