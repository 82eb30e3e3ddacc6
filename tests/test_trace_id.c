/* test_trace_id: random ids, hex round trips, bad hex, fork reseeding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_helpers.h"

static void test_ids_are_distinct_and_nonzero(void **state) {
  (void)state;
  enum { N = 20000 };
  pt_trace_id *ids = malloc(N * sizeof *ids);
  assert_non_null(ids);
  unsigned bit_counts[128] = {0};
  for (int i = 0; i < N; i++) {
    ids[i] = pt_trace_id_new();
    assert_false(pt_trace_id_is_zero(&ids[i]));
    for (int b = 0; b < 128; b++) {
      bit_counts[b] += (unsigned)(ids[i].bytes[b / 8] >> (b % 8)) & 1u;
    }
  }
  /* Sort-free duplicate check on the first 8 bytes via a simple hash set. */
  enum { SLOTS = 1 << 16 };
  uint64_t *set = calloc(SLOTS, sizeof *set);
  assert_non_null(set);
  for (int i = 0; i < N; i++) {
    uint64_t key;
    memcpy(&key, ids[i].bytes, 8);
    key |= 1; /* 0 marks an empty slot */
    size_t h = (size_t)(key * 0x9e3779b97f4a7c15u >> 48);
    while (set[h] != 0) {
      assert_true(set[h] != key);
      h = (h + 1) & (SLOTS - 1);
    }
    set[h] = key;
  }
  /* Every bit is set about half the time (binomial sd ~71 for N=20000). */
  for (int b = 0; b < 128; b++) {
    assert_in_range(bit_counts[b], N / 2 - 600, N / 2 + 600);
  }
  free(set);
  free(ids);
}

static void test_hex_round_trip(void **state) {
  (void)state;
  for (int i = 0; i < 100; i++) {
    pt_trace_id id = pt_trace_id_new();
    char hex[33];
    assert_int_equal(pt_trace_id_to_hex(&id, hex, sizeof hex), PT_OK);
    assert_int_equal(strlen(hex), 32);
    pt_trace_id back;
    assert_int_equal(pt_trace_id_from_hex(hex, 32, &back), PT_OK);
    assert_memory_equal(&back, &id, sizeof id);
  }
  pt_trace_id id;
  assert_int_equal(
      pt_trace_id_from_hex("0123456789ABCDEFfedcba9876543210", 32, &id), PT_OK);
  assert_int_equal(id.bytes[0], 0x01);
  assert_int_equal(id.bytes[7], 0xef);
  assert_int_equal(id.bytes[8], 0xfe);
  assert_int_equal(id.bytes[15], 0x10);
}

static void test_hex_rejects_bad_input(void **state) {
  (void)state;
  pt_trace_id id;
  memset(&id, 0x77, sizeof id);
  const pt_trace_id before = id;
  assert_int_equal(pt_trace_id_from_hex("0123", 4, &id), PT_ERR_PARSE);
  assert_int_equal(
      pt_trace_id_from_hex("0123456789abcdef0123456789abcdeg", 32, &id),
      PT_ERR_PARSE);
  assert_int_equal(
      pt_trace_id_from_hex("0123456789abcdef0123456789abcde ", 32, &id),
      PT_ERR_PARSE);
  assert_int_equal(
      pt_trace_id_from_hex("0123456789abcdef0123456789abcdef0", 33, &id),
      PT_ERR_PARSE);
  assert_memory_equal(&id, &before, sizeof id); /* unchanged on error */
  assert_int_equal(pt_trace_id_from_hex(NULL, 32, &id), PT_ERR_INVALID);
  assert_int_equal(pt_trace_id_from_hex("00", 2, NULL), PT_ERR_INVALID);
  char small[32];
  assert_int_equal(pt_trace_id_to_hex(&id, small, sizeof small), PT_ERR_BUFFER);
  assert_int_equal(pt_trace_id_to_hex(NULL, small, sizeof small),
                   PT_ERR_INVALID);
  pt_trace_id zero;
  memset(&zero, 0, sizeof zero);
  assert_true(pt_trace_id_is_zero(&zero));
  assert_true(pt_trace_id_is_zero(NULL));
}

/* A forked child must not repeat its parent's next ids. */
static void test_fork_reseeds(void **state) {
  (void)state;
  (void)pt_trace_id_new(); /* seed the parent */
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    pt_trace_id child = pt_trace_id_new();
    ssize_t w = write(fds[1], &child, sizeof child);
    _exit(w == (ssize_t)sizeof child ? 0 : 1);
  }
  pt_trace_id parent = pt_trace_id_new();
  pt_trace_id child;
  assert_int_equal(read(fds[0], &child, sizeof child), (ssize_t)sizeof child);
  int status = 0;
  waitpid(pid, &status, 0);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_memory_not_equal(&parent, &child, sizeof child);
  close(fds[0]);
  close(fds[1]);
}

static void test_ctx_new(void **state) {
  (void)state;
  uint64_t before = pt_clock_now_us();
  pt_trace_ctx ctx = pt_trace_ctx_new(PT_FLAG_SAMPLED | PT_FLAG_DEBUG);
  uint64_t after = pt_clock_now_us();
  assert_false(pt_trace_id_is_zero(&ctx.trace_id));
  assert_int_equal(ctx.flags, PT_FLAG_SAMPLED | PT_FLAG_DEBUG);
  assert_true(ctx.start_time_us >= before && ctx.start_time_us <= after);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ids_are_distinct_and_nonzero),
      cmocka_unit_test(test_hex_round_trip),
      cmocka_unit_test(test_hex_rejects_bad_input),
      cmocka_unit_test(test_fork_reseeds),
      cmocka_unit_test(test_ctx_new),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
