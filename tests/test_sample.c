/*
 * Tests of PT_TRACE_SAMPLE: the sampling decision is a function of the trace
 * id alone, so two independent nodes (here: two logs and two registries)
 * keep exactly the same traces, kept traces are complete, and about one
 * trace in PT_TRACE_SAMPLE_RATE is kept.  Compiled with PT_TRACE_SAMPLE=1
 * and the default rate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <peertrace/peertrace.h>

#include "dmap.h"

#if !PT_TRACE_SAMPLE
#error "test_sample.c must be compiled with PT_TRACE_SAMPLE=1"
#endif

#define IDS 20000u

/* A fixed-seed generator (xorshift64*), so the ids are the same every run. */
static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rng_next(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

static pt_trace_id random_id(void) {
  pt_trace_id id;
  uint64_t a = rng_next();
  uint64_t b = rng_next();
  memcpy(id.bytes, &a, 8);
  memcpy(id.bytes + 8, &b, 8);
  return id;
}

static int id_compare(const void *a, const void *b) {
  return memcmp(a, b, sizeof(pt_trace_id));
}

/* One simulated node: its own log and registry. */
typedef struct node {
  pt_log *log;
  pt_app_registry *registry;
  dmap_store store;
} node;

static void node_init(node *n) {
  pt_log_config cfg;
  pt_log_config_init(&cfg); /* 65536 events: nothing is overwritten here */
  assert_int_equal(pt_log_create(&n->log, &cfg), PT_OK);
  assert_int_equal(pt_app_registry_create(&n->registry), PT_OK);
  assert_int_equal(pt_app_register(n->registry, &dmap_protocol), PT_OK);
  dmap_store_init(&n->store);
  n->store.log = n->log;
  n->store.registry = n->registry;
}

static void node_fini(node *n) {
  pt_app_registry_destroy(n->registry);
  pt_log_destroy(n->log);
}

/* The sorted trace ids of every event in the log, and their number. */
static pt_trace_id *node_trace_ids(node *n, size_t *count) {
  pt_event *events = NULL;
  assert_int_equal(pt_log_recent(n->log, SIZE_MAX, &events, count), PT_OK);
  pt_trace_id *ids = malloc((*count + 1) * sizeof *ids);
  assert_non_null(ids);
  for (size_t i = 0; i < *count; i++) {
    ids[i] = events[i].trace_id;
  }
  pt_events_free(events);
  qsort(ids, *count, sizeof *ids, id_compare);
  return ids;
}

static void test_two_nodes_keep_the_same_traces(void **state) {
  (void)state;
  node a;
  node b;
  node_init(&a);
  node_init(&b);
  uint8_t hash[DMAP_HASH_SIZE] = {1};
  size_t kept = 0;
  for (unsigned i = 0; i < IDS; i++) {
    pt_trace_id id = random_id();
    /* Node a handles the request; node b sees a command of it, a QUIC
     * packet carrying it (a core event) and the forwarded request: four
     * events per trace on b, two on a. */
    dmap_request req = {DMAP_GET_CHUNK, hash, sizeof hash, id, 0};
    dmap_handle(&a.store, &req);
    PT_APP_COMMAND(b.log, b.registry, id, DMAP_APP_ID, DMAP_GET_CHUNK, hash,
                   sizeof hash);
    PT_PACKET_SENT(b.log, id, 1200, i);
    dmap_handle(&b.store, &req);
    kept += (size_t)pt_trace_sample_keep(id, PT_TRACE_SAMPLE_RATE);
  }
  size_t na = 0;
  size_t nb = 0;
  pt_trace_id *ids_a = node_trace_ids(&a, &na);
  pt_trace_id *ids_b = node_trace_ids(&b, &nb);
  /* Complete traces: every kept trace has all its events on each node. */
  assert_int_equal(na, 2 * kept);
  assert_int_equal(nb, 4 * kept);
  for (size_t i = 0; i < kept; i++) {
    assert_memory_equal(&ids_a[2 * i], &ids_a[2 * i + 1], 16);
    assert_memory_equal(&ids_b[4 * i], &ids_b[4 * i + 1], 16);
    assert_memory_equal(&ids_b[4 * i], &ids_b[4 * i + 2], 16);
    assert_memory_equal(&ids_b[4 * i], &ids_b[4 * i + 3], 16);
    /* The same traces on both nodes. */
    assert_memory_equal(&ids_a[2 * i], &ids_b[4 * i], 16);
    assert_true(pt_trace_sample_keep(ids_a[2 * i], PT_TRACE_SAMPLE_RATE));
  }
  /* About IDS / RATE kept: 1250 expected, standard deviation ~34; the bound
   * is 5 standard deviations (the ids are fixed, so this is deterministic). */
  double expected = (double)IDS / PT_TRACE_SAMPLE_RATE;
  double sd = 34.2;
  assert_true((double)kept > expected - 5 * sd);
  assert_true((double)kept < expected + 5 * sd);
  free(ids_a);
  free(ids_b);
  node_fini(&a);
  node_fini(&b);
}

static void test_decision_is_a_function_of_the_id(void **state) {
  (void)state;
  /* Known answers: nodes built from other versions or on other hosts must
   * decide alike, so the function itself is pinned, not only its rate. */
  pt_trace_id id;
  for (unsigned i = 0; i < 16; i++) {
    id.bytes[i] = (uint8_t)i;
  }
  unsigned long long pattern = 0;
  for (unsigned i = 0; i < 64; i++) {
    id.bytes[15] = (uint8_t)i;
    id.bytes[0] = (uint8_t)(i * 3);
    pattern |= (unsigned long long)pt_trace_sample_keep(id, 4) << i;
  }
  /* Recorded from this implementation when it was written (12 of 64 kept
   * at rate 4); a change here would make old and new nodes disagree. */
  assert_int_equal(pattern, 0x4000780006500181ull);
  size_t kept_16 = 0;
  size_t kept_100 = 0;
  size_t kept_2 = 0;
  /* Every rate: 1 (and 0) keeps everything; the zero id is always kept. */
  pt_trace_id zero;
  memset(&zero, 0, sizeof zero);
  rng_state = 42;
  for (unsigned i = 0; i < 100000; i++) {
    pt_trace_id r = random_id();
    assert_true(pt_trace_sample_keep(r, 1));
    assert_true(pt_trace_sample_keep(r, 0));
    kept_16 += (size_t)pt_trace_sample_keep(r, 16);
    kept_100 += (size_t)pt_trace_sample_keep(r, 100);
    kept_2 += (size_t)pt_trace_sample_keep(r, 2);
  }
  assert_true(pt_trace_sample_keep(zero, 1000));
  /* 100000 ids: 6250 +- 5*77, 1000 +- 5*31.5, 50000 +- 5*158. */
  assert_in_range(kept_16, 6250 - 385, 6250 + 385);
  assert_in_range(kept_100, 1000 - 158, 1000 + 158);
  assert_in_range(kept_2, 50000 - 790, 50000 + 790);
  /* Sequential ids (a counter, not random) are sampled at the rate too. */
  size_t kept_seq = 0;
  for (uint64_t n = 1; n <= 100000; n++) {
    pt_trace_id s;
    memset(&s, 0, sizeof s);
    memcpy(s.bytes + 8, &n, 8);
    kept_seq += (size_t)pt_trace_sample_keep(s, 16);
  }
  assert_in_range(kept_seq, 6250 - 385, 6250 + 385);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_nodes_keep_the_same_traces),
      cmocka_unit_test(test_decision_is_a_function_of_the_id),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
