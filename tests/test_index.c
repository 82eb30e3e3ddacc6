/*
 * test_index: the indices themselves (PT_TRACE_INDEX builds).
 *
 *  - The trace and peer filters and tags have no false negatives: every
 *    event still in the ring is reported "may hold" by its chunk's filter
 *    and carries its tag, across many wraparounds.  The false-positive rate
 *    of the chunk filters is printed (docs/indices.md quotes it).
 *  - An index pushed past what it can tell apart stays exact: trace and
 *    peer ids crafted to collide with a target in every chunk filter and in
 *    the slot tags, and timestamps so scattered that every chunk's time
 *    bounds cover every window.  The indexed answers must equal the scan.
 *  - The index, built by queries, follows the ring: open chunks, closed
 *    ones, reused ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_index_common.h"

#include "pt_index.h"
#include "pt_ring.h"

static pt_log *make_log(size_t capacity) {
  pt_log *log = pt_test_log(capacity, 0);
  assert_non_null(log);
  assert_non_null(log->index);
  return log;
}

/*
 * Indexes every closed block as a query does (queries build the index, not
 * the writers), and checks that only the blocks of the one chunk this
 * thread has open are left to be read whole.  views: one per block.
 */
static void index_all(pt_log *log, pt__block_view *views) {
  pt__index *ix = log->index;
  uint64_t scanned = 0;
  for (uint64_t b = 0; b < ix->chunk_count; b++) {
    views[b] = pt__index_block_view(ix, log, b);
    scanned += views[b] == PT__BLOCK_SCAN;
    /* Asked again, with nothing written: the same answer. */
    assert_int_equal(pt__index_block_view(ix, log, b), views[b]);
  }
  assert_true(scanned <= log->chunk_size / ix->chunk_size);
}

/* Every live slot is found by its block's filters and tags, or its block is
 * one a query reads whole. */
static void check_no_false_negatives(pt_log *log, size_t *live_out) {
  const pt__index *ix = log->index;
  pt__block_view *views = malloc(ix->chunk_count * sizeof *views);
  assert_non_null(views);
  index_all(log, views);
  size_t live = 0;
  for (uint64_t i = 0; i < log->capacity; i++) {
    pt_event ev;
    uint64_t ticket;
    if (!pt__log_read_slot(log, i, &ev, &ticket)) {
      continue;
    }
    live++;
    uint64_t chunk = i >> ix->chunk_shift;
    assert_int_not_equal(views[chunk], PT__BLOCK_EMPTY);
    if (views[chunk] == PT__BLOCK_SCAN) {
      continue;
    }
    uint64_t h = pt__index_hash_trace_id(&ev.trace_id);
    assert_true(pt__index_chunk_may_hold(ix, chunk, 0, h));
    assert_int_equal(pt__index_tag(ix, i, 0), pt__filter_tag(h));
    if (ev.flags & PT_EVENT_HAS_PEER) {
      h = pt__index_hash_peer_id(ev.peer_id);
      assert_true(pt__index_chunk_may_hold(ix, chunk, 1, h));
      assert_int_equal(pt__index_tag(ix, i, 1), pt__filter_tag(h));
    }
    uint64_t min, max;
    pt__index_chunk_times(ix, chunk, &min, &max);
    assert_true(min <= ev.timestamp_us && ev.timestamp_us <= max);
  }
  free(views);
  *live_out = live;
}

/* Writes event i of a round, of trace id and (or not) peer id. */
typedef void round_writer(pt_log *log, int i, pt_trace_id id,
                          const uint8_t peer[32]);

/*
 * `rounds` rounds of 1000 events of random trace and peer ids, written by
 * `write` into a fresh 4096-slot log seeded with `seed`.  After each round
 * every live event is found by its block's filters and tags, and every live
 * trace is reported present by *q (made here).  Live after a round: with
 * `exact`, all the writes until the ring is full, then the ring less at
 * most the part of a chunk reclaimed early; without, at least those less
 * that part.
 */
static pt_log *indexed_rounds(uint64_t seed, int rounds, round_writer *write,
                              int exact, pt_query **q) {
  pt_test_seed(seed);
  pt_log *log = make_log(4096);
  *q = NULL;
  assert_int_equal(pt_query_create(q, log, 0), PT_OK);
  size_t checked = 0;
  for (int round = 0; round < rounds; round++) {
    for (int i = 0; i < 1000; i++) {
      pt_trace_id id;
      uint8_t peer[32];
      pt_test_random_bytes(id.bytes, sizeof id.bytes);
      pt_test_random_bytes(peer, sizeof peer);
      write(log, i, id, peer);
    }
    size_t live = 0;
    check_no_false_negatives(log, &live);
    size_t filled = (size_t)(round + 1) * 1000;
    if (exact) {
      assert_true(live == (round < 4 ? filled : 4096) ||
                  (round >= 4 && live >= 4096 - log->chunk_size));
    } else {
      assert_true(live >= (round < 4 ? filled : 4096 - log->chunk_size));
    }
    checked = 0;
    for (uint64_t i = 0; i < log->capacity; i++) {
      pt_event ev;
      uint64_t ticket;
      if (pt__log_read_slot(log, i, &ev, &ticket)) {
        assert_int_equal(pt_query_contains_trace(*q, &ev.trace_id), 1);
        checked++;
      }
    }
    assert_int_equal(checked, live);
  }
  assert_true(checked >= 4096 - log->chunk_size);
  return log;
}

/* Through pt_log_write_at, with times in any order. */
static void write_at_any_time(pt_log *log, int i, pt_trace_id id,
                              const uint8_t peer[32]) {
  pt_event ev;
  pt_event_begin(&ev, id, (pt_test_rnd() & 1) ? peer : NULL);
  pt_event_set_packet_received(&ev, (uint64_t)i, 1200, 2);
  ev.timestamp_us = 1000000 + pt_test_rnd() % 100000; /* any order */
  pt_log_write_at(log, &ev);
}

static void test_filters_have_no_false_negatives(void **state) {
  (void)state;
  pt_query *q;
  pt_log *log = indexed_rounds(0x51ed2701u, 40, write_at_any_time, 1, &q);

  /* False positives of the block filters, for ids not in the ring. */
  const pt__index *ix = log->index;
  pt__block_view *views = malloc(ix->chunk_count * sizeof *views);
  assert_non_null(views);
  index_all(log, views);
  uint64_t probes = 0, maybes = 0, tag_hits = 0;
  for (int k = 0; k < 20000; k++) {
    pt_trace_id id;
    pt_test_random_bytes(id.bytes, sizeof id.bytes);
    uint64_t h = pt__index_hash_trace_id(&id);
    for (uint64_t c = 0; c < ix->chunk_count; c++) {
      if (views[c] != PT__BLOCK_INDEXED) {
        continue;
      }
      probes++;
      if (pt__index_chunk_may_hold(ix, c, 0, h)) {
        maybes++;
        for (uint64_t s = c * ix->chunk_size; s < (c + 1) * ix->chunk_size;
             s++) {
          tag_hits += pt__index_tag(ix, s, 0) == pt__filter_tag(h);
        }
      }
    }
    if (k < 2000) {
      assert_int_equal(pt_query_contains_trace(q, &id), 0);
    }
  }
  free(views);
  printf("# chunk filter (512 bits, 3 hashes, 64 distinct ids per chunk): "
         "false-positive rate %.4f; slots read per absent id %.4f\n",
         (double)maybes / (double)probes, (double)tag_hits / 20000.0);
  pt_query_destroy(q);
  pt_log_destroy(log);
}

/*
 * The same through the writers' fast path: pt_log_write and the PT_EMIT
 * macros (pt__log_write_small and pt__log_write_parts) stamp events now and
 * index them inline; only a chunk's first event takes the general path.
 */
static void write_fast_paths(pt_log *log, int i, pt_trace_id id,
                             const uint8_t peer[32]) {
  switch (i % 4) {
  case 0: {
    pt_event ev;
    pt_event_begin(&ev, id, (pt_test_rnd() & 1) ? peer : NULL);
    pt_event_set_packet_received(&ev, (uint64_t)i, 1200, 2);
    pt_log_write(log, &ev);
    break;
  }
  case 1:
    PT_PACKET_SENT(log, id, 1200, (uint64_t)i); /* small path */
    break;
  case 2:
    PT_CONN_ESTABLISHED(log, id, peer, 250); /* parts, with a peer */
    break;
  default:
    PT_STREAM_DATA(log, id, 4, 0, 100, 0); /* parts, no peer */
    break;
  }
}

static void test_fast_path_writes_are_indexed(void **state) {
  (void)state;
  pt_query *q;
  pt_log *log = indexed_rounds(0x51ed2702u, 12, write_fast_paths, 0, &q);
  pt_query_destroy(q);
  pt_log_destroy(log);
}

/* Random ids of `size` bytes whose hash agrees with `target` on `mask`. */
static void find_colliding(uint8_t *out, size_t size, uint64_t target,
                           uint64_t mask) {
  for (;;) {
    pt_test_random_bytes(out, size);
    uint64_t h = size == 16 ? pt__index_hash_trace_id((const pt_trace_id *)out)
                            : pt__index_hash_peer_id(out);
    if ((h & mask) == (target & mask)) {
      return;
    }
  }
}

static void expect_same_answers(pt_query *indexed, pt_query *scan, int kind,
                                const void *key, uint64_t start, uint64_t end,
                                size_t *found) {
  pt_event *a = NULL, *b = NULL;
  size_t na = 0, nb = 0;
  switch (kind) {
  case 0:
    assert_int_equal(pt_query_get_trace(indexed, key, &a, &na), PT_OK);
    assert_int_equal(pt_query_get_trace(scan, key, &b, &nb), PT_OK);
    break;
  case 1:
    assert_int_equal(pt_query_by_peer(indexed, key, &a, &na), PT_OK);
    assert_int_equal(pt_query_by_peer(scan, key, &b, &nb), PT_OK);
    break;
  default:
    assert_int_equal(pt_query_time_range(indexed, start, end, &a, &na), PT_OK);
    assert_int_equal(pt_query_time_range(scan, start, end, &b, &nb), PT_OK);
    break;
  }
  pt_test_expect_same(b, nb, a, na);
  *found += na;
  pt_events_free(a);
  pt_events_free(b);
}

static void test_saturated_index_is_exact(void **state) {
  (void)state;
  pt_test_seed(0xc0111de5u);
  const uint64_t filter_mask = (UINT64_C(1) << 21) - 1; /* word + 3 bits */
  const uint64_t tag_mask = ~(UINT64_C(0)) << 48;
  enum { N = 4 };
  pt_trace_id target;
  uint8_t target_peer[32];
  pt_test_random_bytes(target.bytes, 16);
  pt_test_random_bytes(target_peer, 32);
  uint64_t ht = pt__index_hash_trace_id(&target);
  uint64_t hp = pt__index_hash_peer_id(target_peer);
  pt_trace_id filter_twins[N], tag_twins[N];
  uint8_t peer_filter_twins[N][32], peer_tag_twins[N][32];
  for (int i = 0; i < N; i++) {
    find_colliding(filter_twins[i].bytes, 16, ht, filter_mask);
    find_colliding(tag_twins[i].bytes, 16, ht, tag_mask);
    find_colliding(peer_filter_twins[i], 32, hp, filter_mask);
    find_colliding(peer_tag_twins[i], 32, hp, tag_mask);
  }

  pt_log *log = make_log(1024);
  pt__index *ix = log->index;
  pt_query *indexed = NULL, *scan = NULL;
  assert_int_equal(pt_query_create(&indexed, log, 0), PT_OK);
  assert_int_equal(pt_query_create(&scan, log, PT_QUERY_SCAN), PT_OK);
  size_t found = 0;
  for (uint64_t i = 0; i < 6 * 1024; i++) {
    pt_event ev;
    int pick = (int)(pt_test_rnd() % 10);
    const pt_trace_id *trace = pick < 4   ? &filter_twins[pt_test_rnd() % N]
                               : pick < 8 ? &tag_twins[pt_test_rnd() % N]
                                          : &target;
    pick = (int)(pt_test_rnd() % 10);
    const uint8_t *peer = pick < 4   ? peer_filter_twins[pt_test_rnd() % N]
                          : pick < 8 ? peer_tag_twins[pt_test_rnd() % N]
                                     : target_peer;
    pt_event_begin(&ev, *trace, peer);
    pt_event_set_packet_sent(&ev, i, 1000, 2);
    /* Every chunk spans almost all time: the time index cannot help. */
    ev.timestamp_us = (i % 16 == 0)   ? 1 + pt_test_rnd() % 10
                      : (i % 16 == 1) ? UINT64_MAX - 1 - pt_test_rnd() % 10
                                      : pt_test_rnd() % 1000000;
    pt_log_write_at(log, &ev);
    if (i % 200 != 199) {
      continue;
    }
    /* The index really is saturated for the target. */
    uint64_t full_chunks = 0, indexed_chunks = 0;
    for (uint64_t c = 0; c < ix->chunk_count; c++) {
      if (pt__index_block_view(ix, log, c) != PT__BLOCK_INDEXED) {
        continue;
      }
      indexed_chunks++;
      full_chunks += pt__index_chunk_may_hold(ix, c, 0, ht) &&
                     pt__index_chunk_may_hold(ix, c, 1, hp);
    }
    if (i >= 1024) {
      /* All but the block of a chunk being written (read whole). */
      assert_true(indexed_chunks >= ix->chunk_count - 1);
      assert_int_equal(full_chunks, indexed_chunks);
    }
    expect_same_answers(indexed, scan, 0, &target, 0, 0, &found);
    expect_same_answers(indexed, scan, 1, target_peer, 0, 0, &found);
    for (int k = 0; k < N; k++) {
      expect_same_answers(indexed, scan, 0, &filter_twins[k], 0, 0, &found);
      expect_same_answers(indexed, scan, 0, &tag_twins[k], 0, 0, &found);
      expect_same_answers(indexed, scan, 1, peer_tag_twins[k], 0, 0, &found);
    }
    uint64_t start = pt_test_rnd() % 1000000;
    expect_same_answers(indexed, scan, 2, NULL, start,
                        start + pt_test_rnd() % 20000, &found);
    expect_same_answers(indexed, scan, 2, NULL, 0, 11, &found);
    assert_int_equal(pt_query_contains_trace(indexed, &target),
                     pt_query_contains_trace(scan, &target));
  }
  assert_true(found > 10000); /* the comparisons were not all empty */
  pt_query_destroy(indexed);
  pt_query_destroy(scan);
  pt_log_destroy(log);
}

static void write_trace(pt_log *log, pt_trace_id id, int n, uint64_t ts) {
  for (int i = 0; i < n; i++) {
    pt_event ev;
    pt_event_begin(&ev, id, NULL);
    pt_event_set_stream_opened(&ev, (uint64_t)i, 1);
    ev.timestamp_us = ts + (uint64_t)i;
    pt_log_write_at(log, &ev);
  }
}

/* Events of `id` that get_trace finds (asserting it runs indexed). */
static size_t trace_count(pt_query *q, const pt_trace_id *id) {
  assert_true(pt_query_is_indexed(q));
  pt_event *got = NULL;
  size_t n = 0;
  assert_int_equal(pt_query_get_trace(q, id, &got, &n), PT_OK);
  pt_events_free(got);
  return n;
}

/*
 * Queries build the index, so what they built must follow the ring: events
 * added to a chunk still open after a query are found by the next query;
 * a block indexed once is indexed again after its chunk is reused, and the
 * ids that left the ring leave its answers.
 */
static void test_index_built_by_queries_follows_the_ring(void **state) {
  (void)state;
  pt_log *log = make_log(1024); /* chunks and blocks of 64 slots */
  pt__index *ix = log->index;
  pt_query *q = NULL;
  assert_int_equal(pt_query_create(&q, log, 0), PT_OK);
  pt_trace_id a, b, c;
  memset(&a, 0xa1, sizeof a);
  memset(&b, 0xb2, sizeof b);
  memset(&c, 0xc3, sizeof c);

  write_trace(log, a, 10, 1000); /* chunk 0 open, 10 events */
  assert_int_equal(trace_count(q, &a), 10);
  assert_int_equal(pt__index_block_view(ix, log, 0), PT__BLOCK_SCAN);
  write_trace(log, b, 20, 2000); /* same open chunk, after that query */
  assert_int_equal(trace_count(q, &b), 20);
  assert_int_equal(trace_count(q, &a), 10);

  write_trace(log, c, 34, 3000);            /* fills chunk 0: closed */
  assert_int_equal(trace_count(q, &c), 34); /* this query indexes block 0 */
  assert_int_equal(pt__index_block_view(ix, log, 0), PT__BLOCK_INDEXED);
  assert_int_equal(pt__index_block_view(ix, log, 1), PT__BLOCK_EMPTY);
  uint64_t h = pt__index_hash_trace_id(&b);
  assert_true(pt__index_chunk_may_hold(ix, 0, 0, h));
  assert_int_equal(pt__index_tag(ix, 10, 0), pt__filter_tag(h));

  /* One lap of other events: chunk 0 is claimed again, then closed. */
  pt_trace_id other;
  memset(&other, 0x5e, sizeof other);
  write_trace(log, other, 1024, 10000);
  assert_int_equal(trace_count(q, &a), 0);
  assert_int_equal(trace_count(q, &b), 0);
  assert_int_equal(pt_query_contains_trace(q, &c), 0);
  assert_int_equal(trace_count(q, &other), 1024);
  assert_int_equal(pt__index_block_view(ix, log, 0), PT__BLOCK_INDEXED);
  assert_false(pt__index_chunk_may_hold(ix, 0, 0, h) &&
               pt__index_tag(ix, 10, 0) == pt__filter_tag(h));
  pt_query_destroy(q);
  pt_log_destroy(log);
}

/*
 * A file-backed ring shared with a forked child: the child's events land in
 * the shared ring but not in the parent's (private) index, so after the fork
 * the parent's queries must scan, and they find the child's events.
 */
static void test_fork_shared_file_falls_back_to_scan(void **state) {
  (void)state;
  pt_test_file_log file;
  pt_test_file_log_create(&file, "pt_test_index", 1024);
  pt_log *log = file.log;
  pt_trace_id parent_trace = pt_trace_id_new();
  pt_trace_id child_trace = pt_trace_id_new();
  write_trace(log, parent_trace, 100, 1000);
  pt_query *q = NULL;
  assert_int_equal(pt_query_create(&q, log, 0), PT_OK);
  assert_int_equal(pt_query_is_indexed(q), 1);

  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    write_trace(log, child_trace, 50, 5000);
    _exit(0);
  }
  int status = 0;
  assert_int_equal(waitpid(child, &status, 0), child);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  assert_int_equal(pt_query_is_indexed(q), 0);
  pt_event *got = NULL;
  size_t count = 0;
  assert_int_equal(pt_query_get_trace(q, &child_trace, &got, &count), PT_OK);
  assert_int_equal(count, 50);
  assert_int_equal(got[0].timestamp_us, 5000);
  pt_events_free(got);
  assert_int_equal(pt_query_get_trace(q, &parent_trace, &got, &count), PT_OK);
  assert_int_equal(count, 100);
  pt_events_free(got);
  assert_int_equal(pt_query_contains_trace(q, &child_trace), 1);

  /* A private ring is copied with its index: still indexed after fork. */
  pt_log *private_log = make_log(256);
  pt_query *pq = NULL;
  assert_int_equal(pt_query_create(&pq, private_log, 0), PT_OK);
  assert_int_equal(pt_query_is_indexed(pq), 1);
  pt_query_destroy(pq);
  pt_log_destroy(private_log);

  pt_query_destroy(q);
  pt_test_file_log_remove(&file);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_filters_have_no_false_negatives),
      cmocka_unit_test(test_fast_path_writes_are_indexed),
      cmocka_unit_test(test_saturated_index_is_exact),
      cmocka_unit_test(test_index_built_by_queries_follows_the_ring),
      cmocka_unit_test(test_fork_shared_file_falls_back_to_scan),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
