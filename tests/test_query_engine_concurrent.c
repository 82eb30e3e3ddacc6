/*
 * test_query_engine_concurrent: pt_query answers checked while writer
 * threads lap small rings (run under TSan in CI: clang-tsan).
 *
 * Every event is a function of (writer w, number s): trace id, peer id,
 * payload and a unique timestamp that is out of write order.  Each writer
 * publishes how many events it has completed (done[w]).  For each query the
 * reader takes before[w] = done[w], runs the query, takes after[w], then
 * scans the ring directly (pt__log_read_slot).  It checks:
 *
 *  - sound: every returned event is exactly event (w, s) for some s <=
 *    after[w], matches the question, and the answer is in time order;
 *  - complete: every event the later scan still sees (so it stayed in the
 *    ring during the whole query) that was finished before the query began
 *    (s < before[w]) and matches is in the answer.  For recent(n), such an
 *    event may be missing only if the answer has n events, all newer.
 *
 * Meanwhile a second query thread asks its own questions on its own
 * pt_query: queries build the index (pt_index.c), so two of them race to
 * index the same blocks while the checked one relies on the result.
 *
 * At the end, with the writers stopped, indexed and scanning answers must
 * be identical for every key.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_helpers.h"
#include "test_index_common.h"

#include "pt_ring.h"

enum {
  WRITERS = 2,
  EVENTS_PER_WRITER = PT_TEST_SLOW ? 30000 : 100000,
  TRACES = 9,
  PEERS = 5,
};
static const uint64_t base_time = 1000000;

static pt_trace_id traces[TRACES + 1]; /* the last is never written */
static uint8_t peers[PEERS + 1][32];   /* the last is never written */

typedef struct shared {
  pt_log *log;
  _Atomic uint64_t done[WRITERS];
  _Atomic uint64_t questions; /* asked by the reader so far */
} shared;

/* Questions the reader must get to ask while the writers run. */
enum { MIN_QUESTIONS = 25 };

typedef struct writer_arg {
  shared *sh;
  uint32_t id;
} writer_arg;

/* Timestamps unique over (w, s), and not in write order. */
static uint64_t event_time(uint32_t w, uint64_t s) {
  uint64_t p = (w & 1) ? ((s & ~(uint64_t)7) | (7 - (s & 7))) : (s ^ 5);
  return base_time + p * WRITERS + w;
}

static void make_event(pt_event *ev, uint32_t w, uint64_t s) {
  const uint8_t *peer = (s % 5 == 0) ? NULL : peers[(s + 2 * w) % PEERS];
  pt_event_begin(ev, traces[(s / 3 + w) % TRACES], peer);
  pt_event_set_packet_sent(ev, s, 100 + s % 1000, w);
  ev->sequence = (uint32_t)s;
  ev->timestamp_us = event_time(w, s);
}

static void *writer_main(void *p) {
  writer_arg *arg = p;
  for (uint64_t s = 0; s < EVENTS_PER_WRITER; s++) {
    pt_event ev;
    make_event(&ev, arg->id, s);
    pt_log_write_at(arg->sh->log, &ev);
    /* release: the event is written; pairs with the reader's acquire. */
    atomic_store_explicit(&arg->sh->done[arg->id], s + 1, memory_order_release);
    if (s % 97 == 0) {
      sched_yield(); /* leave chunks half-filled: lagging owners */
    }
    /*
     * Pace: never run ahead of the reader by more than a share of the run,
     * so at least MIN_QUESTIONS questions overlap the writes however fast
     * the writers are and however slow the reader (sanitizers, load).
     * relaxed: only a pacing hint.
     */
    while (s * MIN_QUESTIONS / EVENTS_PER_WRITER >
           atomic_load_explicit(&arg->sh->questions, memory_order_relaxed)) {
      sched_yield();
    }
  }
  return NULL;
}

typedef enum qkind { Q_TRACE, Q_PEER, Q_TIME, Q_RECENT, Q_CONTAINS } qkind;

typedef struct question {
  qkind kind;
  size_t key;
  uint64_t start, end;
  size_t n;
} question;

static int matches(const question *q, const pt_event *ev) {
  switch (q->kind) {
  case Q_TRACE:
  case Q_CONTAINS:
    return memcmp(&ev->trace_id, &traces[q->key], 16) == 0;
  case Q_PEER:
    return (ev->flags & PT_EVENT_HAS_PEER) &&
           memcmp(ev->peer_id, peers[q->key], 32) == 0;
  case Q_TIME:
    return ev->timestamp_us >= q->start && ev->timestamp_us < q->end;
  case Q_RECENT:
    break;
  }
  return 1;
}

/* Checks that ev is exactly event (w, s) of some writer; returns s. */
static uint64_t check_genuine(const pt_event *ev, uint32_t *w_out) {
  uint32_t w = ev->data.packet_sent.space;
  uint64_t s = ev->data.packet_sent.pn;
  assert_true(w < WRITERS);
  pt_event want;
  make_event(&want, w, s);
  assert_memory_equal(ev, &want, sizeof want);
  *w_out = w;
  return s;
}

static int compare_time(const void *key, const void *element) {
  uint64_t ts = *(const uint64_t *)key;
  uint64_t at = ((const pt_event *)element)->timestamp_us;
  return (ts > at) - (ts < at);
}

/* The event of time ts in an answer in strictly increasing time order. */
static const pt_event *find_by_time(const pt_event *events, size_t n,
                                    uint64_t ts) {
  return n == 0 ? NULL : bsearch(&ts, events, n, sizeof *events, compare_time);
}

static question pick_question(size_t capacity, const uint64_t *before) {
  question q;
  memset(&q, 0, sizeof q);
  q.kind = (qkind)(pt_test_rnd() % 5);
  switch (q.kind) {
  case Q_TRACE:
  case Q_CONTAINS:
    q.key = pt_test_rnd() % (TRACES + 1);
    break;
  case Q_PEER:
    q.key = pt_test_rnd() % (PEERS + 1);
    break;
  case Q_TIME: {
    uint64_t newest = before[0] > before[1] ? before[0] : before[1];
    uint64_t back = pt_test_rnd() % (2 * capacity + 16);
    uint64_t from = newest > back ? newest - back : 0;
    q.start = base_time + from * WRITERS;
    q.end = q.start + pt_test_rnd() % (capacity * WRITERS + 1);
    break;
  }
  case Q_RECENT:
    q.n = pt_test_rnd() % (capacity + 8);
    break;
  }
  return q;
}

static void ask(pt_query *query, const question *q, pt_event **got,
                size_t *count, int *contains) {
  *got = NULL;
  *count = 0;
  switch (q->kind) {
  case Q_TRACE:
    assert_int_equal(pt_query_get_trace(query, &traces[q->key], got, count),
                     PT_OK);
    break;
  case Q_PEER:
    assert_int_equal(pt_query_by_peer(query, peers[q->key], got, count), PT_OK);
    break;
  case Q_TIME:
    assert_int_equal(pt_query_time_range(query, q->start, q->end, got, count),
                     PT_OK);
    break;
  case Q_RECENT:
    assert_int_equal(pt_query_recent(query, q->n, got, count), PT_OK);
    break;
  case Q_CONTAINS:
    *contains = pt_query_contains_trace(query, &traces[q->key]);
    assert_true(*contains == 0 || *contains == 1);
    break;
  }
}

/* One question, asked while the writers run, checked as described above. */
static void ask_and_check(shared *sh, pt_query *query, pt_event *ring_copy) {
  uint64_t before[WRITERS], after[WRITERS];
  for (int w = 0; w < WRITERS; w++) {
    /* acquire: pairs with the writer's release; its events are visible. */
    before[w] = atomic_load_explicit(&sh->done[w], memory_order_acquire);
  }
  question q = pick_question(sh->log->capacity, before);
  pt_event *got;
  size_t count;
  int contains = -1;
  ask(query, &q, &got, &count, &contains);
  for (int w = 0; w < WRITERS; w++) {
    /* acquire: as above. */
    after[w] = atomic_load_explicit(&sh->done[w], memory_order_acquire);
  }
  /* Sound: genuine, matching, in time order, not from the future. */
  for (size_t i = 0; i < count; i++) {
    uint32_t w;
    uint64_t s = check_genuine(&got[i], &w);
    assert_true(s <= after[w]);
    assert_true(matches(&q, &got[i]));
    if (i > 0) {
      assert_true(got[i - 1].timestamp_us < got[i].timestamp_us);
    }
  }
  if (q.kind == Q_RECENT) {
    assert_true(count <= q.n);
  }
  if (q.kind == Q_CONTAINS && q.key == TRACES) {
    assert_int_equal(contains, 0);
  }
  /* Complete: what stayed in the ring and was written before must be in. */
  size_t live = 0;
  for (uint64_t i = 0; i < sh->log->capacity; i++) {
    uint64_t ticket;
    if (pt__log_read_slot(sh->log, i, &ring_copy[live], &ticket)) {
      live++;
    }
  }
  for (size_t i = 0; i < live; i++) {
    const pt_event *ev = &ring_copy[i];
    uint32_t w;
    uint64_t s = check_genuine(ev, &w);
    if (s >= before[w] || !matches(&q, ev)) {
      continue;
    }
    if (q.kind == Q_CONTAINS) {
      assert_int_equal(contains, 1);
      break;
    }
    if (find_by_time(got, count, ev->timestamp_us) != NULL) {
      continue;
    }
    /* Missing: allowed only for recent, behind n newer events. */
    assert_int_equal(q.kind, Q_RECENT);
    assert_int_equal(count, q.n);
    assert_true(count == 0 || ev->timestamp_us < got[0].timestamp_us);
  }
  pt_events_free(got);
}

/* Writers stopped: indexed and scanning answers are identical. */
static void compare_quiet(pt_log *log) {
  pt_query *indexed = NULL, *scan = NULL;
  assert_int_equal(pt_query_create(&indexed, log, 0), PT_OK);
  assert_int_equal(pt_query_create(&scan, log, PT_QUERY_SCAN), PT_OK);
  for (int k = 0; k < 200; k++) {
    uint64_t newest[WRITERS] = {EVENTS_PER_WRITER, EVENTS_PER_WRITER};
    question q = pick_question(log->capacity, newest);
    pt_event *a, *b;
    size_t na, nb;
    int ca = -1, cb = -1;
    ask(indexed, &q, &a, &na, &ca);
    ask(scan, &q, &b, &nb, &cb);
    assert_int_equal(ca, cb);
    pt_test_expect_same(b, nb, a, na);
    pt_events_free(a);
    pt_events_free(b);
  }
  pt_query_destroy(indexed);
  pt_query_destroy(scan);
}

/* Whether any writer is still writing. */
static int writers_running(shared *sh) {
  int running = 0;
  for (int w = 0; w < WRITERS; w++) {
    /* acquire: as in ask_and_check. */
    running |= atomic_load_explicit(&sh->done[w], memory_order_acquire) <
               EVENTS_PER_WRITER;
  }
  return running;
}

/* The second query thread: unchecked questions, so that builds race. */
static _Atomic uint64_t racer_queries;

static void *racer_main(void *arg) {
  shared *sh = arg;
  pt_query *q = NULL;
  if (pt_query_create(&q, sh->log, 0) != PT_OK) {
    return NULL;
  }
  for (uint64_t k = 0; writers_running(sh); k++) {
    pt_event *got = NULL;
    size_t n = 0;
    int rc = k % 3 == 0   ? pt_query_get_trace(q, &traces[k % TRACES], &got, &n)
             : k % 3 == 1 ? pt_query_time_range(q, 0, UINT64_MAX, &got, &n)
                          : pt_query_recent(q, 5, &got, &n);
    pt_events_free(got);
    if (rc == PT_OK) {
      /* relaxed: a count, read after the join. */
      atomic_fetch_add_explicit(&racer_queries, 1, memory_order_relaxed);
    }
  }
  pt_query_destroy(q);
  return NULL;
}

static void run(size_t capacity, uint64_t seed) {
  pt_test_seed(seed);
  for (int i = 0; i <= TRACES; i++) {
    for (int b = 0; b < 16; b++) {
      traces[i].bytes[b] = (uint8_t)pt_test_rnd();
    }
  }
  for (int i = 0; i <= PEERS; i++) {
    for (int b = 0; b < 32; b++) {
      peers[i][b] = (uint8_t)pt_test_rnd();
    }
  }
  shared sh;
  memset(&sh, 0, sizeof sh);
  sh.log = pt_test_log(capacity, 0);
  assert_non_null(sh.log);
  pt_query *query = NULL;
  assert_int_equal(pt_query_create(&query, sh.log, 0), PT_OK);
  pt_event *ring_copy = calloc(capacity, sizeof(pt_event));
  assert_non_null(ring_copy);

  pthread_t threads[WRITERS];
  writer_arg args[WRITERS];
  for (uint32_t i = 0; i < WRITERS; i++) {
    args[i].sh = &sh;
    args[i].id = i;
    assert_int_equal(pthread_create(&threads[i], NULL, writer_main, &args[i]),
                     0);
  }
  atomic_store_explicit(&racer_queries, 0, memory_order_relaxed);
  pthread_t racer;
  assert_int_equal(pthread_create(&racer, NULL, racer_main, &sh), 0);
  uint64_t questions = 0;
  while (writers_running(&sh)) {
    ask_and_check(&sh, query, ring_copy);
    questions++;
    atomic_store_explicit(&sh.questions, questions, memory_order_relaxed);
  }
  for (int i = 0; i < WRITERS; i++) {
    pthread_join(threads[i], NULL);
  }
  pthread_join(racer, NULL);
  printf("# capacity %zu: %llu questions checked during the writes, %llu "
         "racing\n",
         capacity, (unsigned long long)questions,
         (unsigned long long)atomic_load_explicit(&racer_queries,
                                                  memory_order_relaxed));
  assert_true(questions >= MIN_QUESTIONS);
  assert_true(atomic_load_explicit(&racer_queries, memory_order_relaxed) > 0);
  compare_quiet(sh.log);
  free(ring_copy);
  pt_query_destroy(query);
  pt_log_destroy(sh.log);
}

static void test_concurrent_small_ring(void **state) {
  (void)state;
  run(64, 0x1234567u);
}

static void test_concurrent_medium_ring(void **state) {
  (void)state;
  run(256, 0xfeedbeefu);
}

static void test_concurrent_large_ring(void **state) {
  (void)state;
  run(2048, 0xabcdef01u);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_concurrent_small_ring),
      cmocka_unit_test(test_concurrent_medium_ring),
      cmocka_unit_test(test_concurrent_large_ring),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
