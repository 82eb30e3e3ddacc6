/*
 * test_ring_read: the ring's one reader (src/pt_ring_read.h).  Snapshots:
 * (time, ticket) order, counts that add up, the same events and header as a
 * dump, whole events under concurrent writers.  Cursors: each event passed
 * once, and what the ring overwrote unseen reported as missed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <cmocka.h>

#include <peertrace/peertrace.h>

#include "pt_ring_read.h"
#include "test_helpers.h"

static pt_log *make_log(size_t capacity) {
  pt_log *log = pt_test_log_new(capacity, 0x5a);
  assert_non_null(log);
  return log;
}

/* An event whose fields all derive from (writer, n): a torn copy shows. */
static void make_event(pt_event *ev, unsigned writer, uint64_t n) {
  pt_trace_id id;
  memset(&id, 0, sizeof id);
  id.bytes[0] = (uint8_t)(writer + 1);
  uint8_t peer[32];
  memset(peer, (int)(n & 0xff), sizeof peer);
  pt_event_begin(ev, id, peer);
  pt_event_set_packet_sent(ev, n, 1000 + n % 500, PT_PN_SPACE_APPLICATION);
  ev->sequence = (uint32_t)(n * 3 + writer);
}

static void assert_whole(const pt_event *ev) {
  pt_event expect;
  unsigned writer = (unsigned)ev->trace_id.bytes[0] - 1;
  make_event(&expect, writer, ev->data.packet_sent.pn);
  expect.timestamp_us = ev->timestamp_us;
  assert_memory_equal(ev, &expect, sizeof expect);
}

/* Strictly increasing (time, ticket) through both ways of iterating. */
static void assert_ordered(pt__ring_snapshot *s) {
  size_t n = pt__ring_snapshot_count(s);
  pt__ring_snapshot_rewind(s);
  for (size_t i = 0; i < n; i++) {
    const pt__record *at = pt__ring_snapshot_at(s, i);
    assert_non_null(at);
    pt_event ev;
    uint64_t ticket;
    assert_int_equal(pt__ring_snapshot_next(s, &ev, &ticket), 1);
    assert_memory_equal(&ev, &at->event, sizeof ev);
    assert_int_equal(ticket, at->ticket);
    if (i > 0) {
      const pt__record *prev = pt__ring_snapshot_at(s, i - 1);
      assert_true(prev->event.timestamp_us < at->event.timestamp_us ||
                  (prev->event.timestamp_us == at->event.timestamp_us &&
                   prev->ticket < at->ticket));
    }
  }
  pt_event ev;
  assert_null(pt__ring_snapshot_at(s, n));
  assert_int_equal(pt__ring_snapshot_next(s, &ev, NULL), 0);
  assert_int_equal(pt__ring_snapshot_next(s, &ev, NULL), 0);
}

/*
 * Times that go back and repeat (as events imported with write_at do):
 * the snapshot sorts them by time, ties by ticket; with the ring lapped,
 * what is in it plus what it counts as overwritten is all that was written.
 */
static void test_snapshot_order_and_counts(void **state) {
  (void)state;
  pt_log *log = make_log(64);
  const uint64_t written = 300;
  for (uint64_t n = 0; n < written; n++) {
    pt_event ev;
    make_event(&ev, 0, n);
    ev.timestamp_us = 5000 - (n % 7) * 100 - n / 50; /* back, and ties */
    assert_int_equal(pt_log_write_at(log, &ev), PT_OK);
  }
  pt_event bad;
  make_event(&bad, 0, 0);
  bad.reserved = 1;
  assert_int_equal(pt_log_write_at(log, &bad), PT_ERR_INVALID);

  pt__ring_snapshot *s = NULL;
  assert_int_equal(pt__ring_snapshot_take(log, &s), PT_OK);
  size_t n = pt__ring_snapshot_count(s);
  assert_true(n > 0 && n <= 64);
  assert_ordered(s);
  const pt__ring_counts *c = pt__ring_snapshot_counts(s);
  assert_int_equal(n + c->overwritten, written);
  assert_int_equal(c->rejected, 1);
  assert_int_equal(c->dropped, 0);
  assert_int_equal(c->unreadable, 0);
  assert_int_equal(c->left_out, 0);
  const pt_dump_info *info = pt__ring_snapshot_info(s);
  assert_int_equal(info->event_count, n);
  assert_int_equal(info->capacity, 64);
  assert_int_equal(info->overwritten, c->overwritten);
  assert_int_equal(info->dropped, 1); /* dropped + rejected + left_out */
  assert_int_equal(info->first_us,
                   pt__ring_snapshot_at(s, 0)->event.timestamp_us);
  assert_int_equal(info->last_us,
                   pt__ring_snapshot_at(s, n - 1)->event.timestamp_us);
  uint8_t node[32];
  memset(node, 0x5a, sizeof node);
  assert_memory_equal(info->node_id, node, sizeof node);
  /* The newest writes survive the laps: the last one is in. */
  int has_last = 0;
  for (size_t i = 0; i < n; i++) {
    has_last |=
        pt__ring_snapshot_at(s, i)->event.data.packet_sent.pn == written - 1;
  }
  assert_true(has_last);
  pt__ring_snapshot_free(s);
  pt_log_destroy(log);
}

static void test_snapshot_empty_and_errors(void **state) {
  (void)state;
  pt_log *log = make_log(16);
  pt__ring_snapshot *s = (pt__ring_snapshot *)1;
  assert_int_equal(pt__ring_snapshot_take(NULL, &s), PT_ERR_INVALID);
  assert_null(s);
  assert_int_equal(pt__ring_snapshot_take(log, NULL), PT_ERR_INVALID);
  assert_int_equal(pt__ring_snapshot_take(log, &s), PT_OK);
  assert_int_equal(pt__ring_snapshot_count(s), 0);
  const pt_dump_info *info = pt__ring_snapshot_info(s);
  assert_int_equal(info->first_us, 0);
  assert_int_equal(info->last_us, 0);
  pt_event ev;
  assert_int_equal(pt__ring_snapshot_next(s, &ev, NULL), 0);
  assert_int_equal(pt__ring_snapshot_next(s, NULL, NULL), PT_ERR_INVALID);
  assert_int_equal(pt__ring_snapshot_next(NULL, &ev, NULL), PT_ERR_INVALID);
  pt__ring_snapshot_free(s);
  pt__ring_snapshot_free(NULL);
  pt_log_destroy(log);
}

/* A snapshot holds exactly what pt_log_dump_save writes, header included. */
static void test_snapshot_is_the_dump(void **state) {
  (void)state;
  pt_log *log = make_log(256);
  for (uint64_t n = 0; n < 1000; n++) {
    pt_event ev;
    make_event(&ev, (unsigned)(n % 3), n);
    ev.timestamp_us = 1000000 + (n * 7919) % 613;
    assert_int_equal(pt_log_write_at(log, &ev), PT_OK);
  }
  char dir[] = "/tmp/pt_test_ring_read.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[64];
  snprintf(path, sizeof path, "%s/d.ptd", dir);
  assert_int_equal(pt_log_dump_save(log, path), PT_OK);
  pt__ring_snapshot *s = NULL;
  assert_int_equal(pt__ring_snapshot_take(log, &s), PT_OK);
  pt_dump_reader *r = NULL;
  assert_int_equal(pt_dump_reader_open(&r, path, NULL), PT_OK);
  pt_dump_info want = *pt_dump_reader_info(r);
  pt_dump_info got = *pt__ring_snapshot_info(s);
  assert_true(got.created_us >= want.created_us);
  got.created_us = want.created_us;
  assert_memory_equal(&got, &want, sizeof want);
  size_t i = 0;
  pt_event ev;
  uint64_t ticket;
  while (pt_dump_reader_next(r, &ev, &ticket, NULL) == 1) {
    const pt__record *rec = pt__ring_snapshot_at(s, i++);
    assert_non_null(rec);
    assert_memory_equal(&rec->event, &ev, sizeof ev);
    assert_int_equal(rec->ticket, ticket);
  }
  assert_int_equal(i, pt__ring_snapshot_count(s));
  pt_dump_reader_close(r);
  pt__ring_snapshot_free(s);
  unlink(path);
  rmdir(dir);
  pt_log_destroy(log);
}

/* ---- Under concurrent writers ------------------------------------------- */

enum { WRITERS = 2 };

typedef struct writer_arg {
  pt_log *log;
  unsigned writer;
  uint64_t count;
  atomic_uint *started; /* writers that wrote their first events */
  atomic_uint *done;    /* writers that wrote all theirs */
} writer_arg;

static void *writer_main(void *p) {
  writer_arg *a = p;
  for (uint64_t n = 0; n < a->count; n++) {
    pt_event ev;
    make_event(&ev, a->writer, n);
    pt_log_write(a->log, &ev);
    if (n == 1000) {
      /* release: the events so far are in the ring for whoever sees it. */
      atomic_fetch_add_explicit(a->started, 1, memory_order_release);
    }
  }
  /* release: as above, for the last events. */
  atomic_fetch_add_explicit(a->done, 1, memory_order_release);
  return NULL;
}

/*
 * Snapshots taken while two threads write: every event whole, strictly
 * (time, ticket) ordered, each writer's events in its write order, and
 * never more than was written.  Once the writers are done, the snapshot
 * and its counts account for every write exactly.
 */
static void test_snapshot_under_writers(void **state) {
  (void)state;
  pt_log *log = make_log(4096);
  const uint64_t per_writer = 200000;
  atomic_uint started = 0, done = 0;
  pthread_t threads[WRITERS];
  writer_arg args[WRITERS];
  for (unsigned w = 0; w < WRITERS; w++) {
    args[w] = (writer_arg){log, w, per_writer, &started, &done};
    assert_int_equal(pthread_create(&threads[w], NULL, writer_main, &args[w]),
                     0);
  }
  /* acquire: pairs with the writers' release; their first events are in. */
  while (atomic_load_explicit(&started, memory_order_acquire) < WRITERS) {
    sched_yield();
  }
  unsigned taken = 0;
  /* Snapshots until the writers are done (at least one; how many land
   * while both write depends on the scheduler, so it is not asserted). */
  do {
    pt__ring_snapshot *s = NULL;
    assert_int_equal(pt__ring_snapshot_take(log, &s), PT_OK);
    size_t n = pt__ring_snapshot_count(s);
    assert_true(n <= 4096);
    assert_ordered(s);
    int64_t last_pn[WRITERS] = {-1, -1};
    for (size_t i = 0; i < n; i++) {
      const pt_event *ev = &pt__ring_snapshot_at(s, i)->event;
      assert_whole(ev);
      unsigned w = (unsigned)ev->trace_id.bytes[0] - 1;
      assert_true(w < WRITERS);
      assert_true((int64_t)ev->data.packet_sent.pn > last_pn[w]);
      last_pn[w] = (int64_t)ev->data.packet_sent.pn;
    }
    taken += n > 0;
    pt__ring_snapshot_free(s);
    /* acquire: pairs with the writers' release of done. */
  } while (atomic_load_explicit(&done, memory_order_acquire) < WRITERS);
  for (unsigned w = 0; w < WRITERS; w++) {
    pthread_join(threads[w], NULL);
  }
  assert_true(taken > 0);
  pt__ring_snapshot *s = NULL;
  assert_int_equal(pt__ring_snapshot_take(log, &s), PT_OK);
  const pt__ring_counts *c = pt__ring_snapshot_counts(s);
  assert_int_equal(pt__ring_snapshot_count(s) + c->overwritten + c->dropped,
                   WRITERS * per_writer);
  assert_ordered(s);
  pt__ring_snapshot_free(s);
  pt_log_destroy(log);
}

/* ---- Cursors ------------------------------------------------------------ */

/* Reads every chunk once through the cursor; returns the events passed. */
static size_t cursor_pass(pt__ring_cursor *c, const pt_log *log,
                          pt__records *out, uint64_t *missed) {
  pt_log_stats stats;
  pt_log_get_stats(log, &stats);
  pt__ring_step step = {1, UINT64_MAX, out, 0, 0};
  size_t before = out->count;
  for (uint64_t j = 0; j < stats.capacity / stats.chunk_size; j++) {
    assert_int_equal(pt__ring_cursor_read(c, j, &step), PT_OK);
  }
  assert_int_equal(step.unreadable, 0);
  *missed = step.missed;
  return out->count - before;
}

/*
 * A cursor passes each event once; after the ring laps it, passed +
 * missed is exactly what was written in between.
 */
static void test_cursor_passes_once_and_counts_missed(void **state) {
  (void)state;
  pt_log *log = make_log(256);
  pt__ring_cursor c;
  uint64_t before = 1;
  assert_int_equal(pt__ring_cursor_init(&c, log, &before), PT_OK);
  assert_int_equal(before, 0);
  pt__records out = {0};
  uint64_t missed;
  uint64_t n = 0;
  for (; n < 100; n++) {
    pt_event ev;
    make_event(&ev, 0, n);
    ev.timestamp_us = 1000 + n;
    assert_int_equal(pt_log_write_at(log, &ev), PT_OK);
  }
  assert_int_equal(cursor_pass(&c, log, &out, &missed), 100);
  assert_int_equal(missed, 0);
  assert_int_equal(cursor_pass(&c, log, &out, &missed), 0); /* once only */
  for (; n < 100 + 1000; n++) {
    pt_event ev;
    make_event(&ev, 0, n);
    ev.timestamp_us = 1000 + n;
    assert_int_equal(pt_log_write_at(log, &ev), PT_OK);
  }
  out.count = 0;
  size_t passed = cursor_pass(&c, log, &out, &missed);
  assert_int_equal(passed + missed, 1000);
  assert_true(missed > 0);
  pt__records_sort(&out);
  /* The newest are passed, in write order (times are write order here). */
  assert_int_equal(pt__records_at(&out, passed - 1)->event.data.packet_sent.pn,
                   n - 1);
  for (size_t i = 1; i < passed; i++) {
    assert_true(pt__records_at(&out, i - 1)->event.data.packet_sent.pn <
                pt__records_at(&out, i)->event.data.packet_sent.pn);
  }
  pt__records_release(&out);
  pt__ring_cursor_release(&c);
  pt_log_destroy(log);
}

/* ---- Sorting ------------------------------------------------------------ */

/* Keys in a given pattern: 0 random, 1 descending, 2 two ascending runs (a
 * wrapped ring), 3 runs of 7, 4 one timestamp (ticket order decides). */
static uint64_t pattern_time(int pattern, size_t i, size_t n, uint64_t *rng) {
  switch (pattern) {
  case 0:
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    return *rng % (n + 1);
  case 1:
    return n - i;
  case 2:
    return i < n / 2 ? n + i : i;
  case 3:
    return (i % 7) * n + i / 7;
  default:
    return 42;
  }
}

/* pt__records_sort on every pattern and size: a permutation of the keys in
 * strict (time, ticket) order. */
static void test_records_sort_patterns(void **state) {
  (void)state;
  const size_t sizes[] = {0, 1, 2, 3, 64, 1000, 4097};
  uint64_t rng = 0x9e3779b97f4a7c15u;
  for (int pattern = 0; pattern < 5; pattern++) {
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      size_t n = sizes[s];
      pt__records r = {0};
      for (size_t i = 0; i < n; i++) {
        assert_int_equal(pt__records_reserve(&r), PT_OK);
        memset(&r.items[i], 0, sizeof r.items[i]);
        r.items[i].event.timestamp_us = pattern_time(pattern, i, n, &rng);
        r.items[i].ticket = (i * 2654435761u) % 1000003u; /* distinct */
        pt__records_keep(&r);
      }
      pt__records_sort(&r);
      unsigned char *seen = calloc(n + 1, 1);
      assert_non_null(seen);
      for (size_t i = 0; i < n; i++) {
        const pt__record *at = pt__records_at(&r, i);
        assert_true(r.order[i].at < n);
        assert_int_equal(seen[r.order[i].at], 0);
        seen[r.order[i].at] = 1;
        assert_int_equal(r.order[i].timestamp_us, at->event.timestamp_us);
        assert_int_equal(r.order[i].ticket, at->ticket);
        if (i > 0) {
          const pt__record *prev = pt__records_at(&r, i - 1);
          assert_true(prev->event.timestamp_us < at->event.timestamp_us ||
                      (prev->event.timestamp_us == at->event.timestamp_us &&
                       prev->ticket < at->ticket));
        }
      }
      free(seen);
      pt__records_release(&r);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_snapshot_order_and_counts),
      cmocka_unit_test(test_snapshot_empty_and_errors),
      cmocka_unit_test(test_snapshot_is_the_dump),
      cmocka_unit_test(test_snapshot_under_writers),
      cmocka_unit_test(test_cursor_passes_once_and_counts_missed),
      cmocka_unit_test(test_records_sort_patterns),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
