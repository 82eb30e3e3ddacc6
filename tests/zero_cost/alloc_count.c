/*
 * Zero-cost check 3: with tracing off, the trace layer performs no heap
 * allocation of its own.
 *
 * This program replaces the C library's allocator entry points (malloc,
 * calloc, realloc, free, posix_memalign, aligned_alloc, memalign, valloc,
 * pvalloc) with counting wrappers around glibc's __libc_* functions, then
 * runs every_macro.c (every macro of the zero-cost layer plus the usual
 * trace-only code: log creation, queries, destruction) inside a counting
 * window.  Expected, from the CMake option PT_TRACE passed as argv[1]:
 *   off    no allocator call at all, and no trace macro argument evaluated;
 *   trace  allocations (the log allocates its ring at creation), and the
 *          arguments evaluated: the same source, proving the counter sees
 *          the library's allocations.
 * A further self-check calls each allocator once and requires each counter
 * to move by exactly one.
 *
 * Not built under sanitizers: they replace malloc themselves.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <peertrace/peertrace.h>

#include "zc_workload.h"

/* glibc's allocator under its own names (exported by libc.so.6). */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

/* ---- Counting allocator ------------------------------------------------- */

enum zc_allocator {
  ZC_MALLOC,
  ZC_CALLOC,
  ZC_REALLOC,
  ZC_FREE,
  ZC_POSIX_MEMALIGN,
  ZC_ALIGNED_ALLOC,
  ZC_MEMALIGN,
  ZC_VALLOC,
  ZC_PVALLOC,
  ZC_ALLOCATOR_COUNT
};

static const char *const zc_allocator_names[ZC_ALLOCATOR_COUNT] = {
    "malloc",        "calloc",   "realloc", "free",   "posix_memalign",
    "aligned_alloc", "memalign", "valloc",  "pvalloc"};

static atomic_bool zc_counting;
static atomic_ulong zc_calls[ZC_ALLOCATOR_COUNT];

static void zc_count(enum zc_allocator which) {
  /* Relaxed: the flag and the tallies publish no other data.  The window is
   * opened and closed by the thread that reads the totals afterwards; a call
   * by another thread inside the window is counted as well, which is what we
   * want (the library must not allocate from any thread). */
  if (atomic_load_explicit(&zc_counting, memory_order_relaxed)) {
    atomic_fetch_add_explicit(&zc_calls[which], 1, memory_order_relaxed);
  }
}

static void zc_window_open(void) {
  for (int i = 0; i < ZC_ALLOCATOR_COUNT; i++) {
    /* Relaxed: reset before the window opens, on the same thread. */
    atomic_store_explicit(&zc_calls[i], 0, memory_order_relaxed);
  }
  /* seq_cst: orders the resets before any counted call. */
  atomic_store(&zc_counting, true);
}

static void zc_window_close(void) {
  /* seq_cst: counted calls before this point stay in the totals. */
  atomic_store(&zc_counting, false);
}

static unsigned long zc_calls_of(enum zc_allocator which) {
  /* Relaxed: read after the window is closed by this same thread. */
  return atomic_load_explicit(&zc_calls[which], memory_order_relaxed);
}

static unsigned long zc_calls_total(void) {
  unsigned long total = 0;
  for (int i = 0; i < ZC_ALLOCATOR_COUNT; i++) {
    total += zc_calls_of((enum zc_allocator)i);
  }
  return total;
}

static void zc_print_calls(const char *what) {
  printf("%s:", what);
  for (int i = 0; i < ZC_ALLOCATOR_COUNT; i++) {
    printf(" %s=%lu", zc_allocator_names[i], zc_calls_of((enum zc_allocator)i));
  }
  printf("\n");
}

void *malloc(size_t size) {
  zc_count(ZC_MALLOC);
  return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
  zc_count(ZC_CALLOC);
  return __libc_calloc(count, size);
}

void *realloc(void *ptr, size_t size) {
  zc_count(ZC_REALLOC);
  return __libc_realloc(ptr, size);
}

void free(void *ptr) {
  zc_count(ZC_FREE);
  __libc_free(ptr);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
  zc_count(ZC_POSIX_MEMALIGN);
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 ||
      alignment % sizeof(void *) != 0) {
    return EINVAL;
  }
  void *ptr = __libc_memalign(alignment, size);
  if (ptr == NULL) {
    return ENOMEM;
  }
  *out = ptr;
  return 0;
}

void *aligned_alloc(size_t alignment, size_t size) {
  zc_count(ZC_ALIGNED_ALLOC);
  return __libc_memalign(alignment, size);
}

void *memalign(size_t alignment, size_t size) {
  zc_count(ZC_MEMALIGN);
  return __libc_memalign(alignment, size);
}

void *valloc(size_t size) {
  zc_count(ZC_VALLOC);
  return __libc_valloc(size);
}

void *pvalloc(size_t size) {
  zc_count(ZC_PVALLOC);
  return __libc_pvalloc(size);
}

/* ---- What the workload needs ------------------------------------------- */

static uint64_t zc_next_value_calls;

uint64_t zc_next_value(void) {
  return ++zc_next_value_calls;
}

/* "trace" or "off": the CMake option PT_TRACE of this build. */
static int zc_expect_trace;

/* ---- Tests ------------------------------------------------------------- */

/* The CMake option and the macro the code was compiled with agree. */
static void test_build_mode_matches_cmake(void **state) {
  (void)state;
  assert_int_equal(PT_TRACE, zc_expect_trace);
}

/* Each replaced entry point is really the one the program calls. */
static void test_counter_sees_every_allocator(void **state) {
  (void)state;
  /* volatile pointers: the compiler may neither elide nor merge the calls. */
  void *(*volatile m)(size_t) = malloc;
  void *(*volatile c)(size_t, size_t) = calloc;
  void *(*volatile r)(void *, size_t) = realloc;
  void (*volatile f)(void *) = free;
  int (*volatile pm)(void **, size_t, size_t) = posix_memalign;
  void *(*volatile aa)(size_t, size_t) = aligned_alloc;
  void *(*volatile ma)(size_t, size_t) = memalign;
  void *(*volatile va)(size_t) = valloc;
  void *(*volatile pva)(size_t) = pvalloc;
  void *blocks[8] = {NULL};

  zc_window_open();
  blocks[0] = m(24);
  blocks[1] = c(3, 8);
  blocks[0] = r(blocks[0], 4096);
  int rv = pm(&blocks[2], 64, 100);
  blocks[3] = aa(64, 128);
  blocks[4] = ma(64, 32);
  blocks[5] = va(16);
  blocks[6] = pva(16);
  for (int i = 0; i < 7; i++) {
    f(blocks[i]);
  }
  zc_window_close();

  zc_print_calls("self-check");
  assert_int_equal(rv, 0);
  for (int i = 0; i < 7; i++) {
    assert_non_null(blocks[i]);
  }
  for (int i = 0; i < ZC_ALLOCATOR_COUNT; i++) {
    unsigned long want = (i == ZC_FREE) ? 7u : 1u;
    assert_int_equal(zc_calls_of((enum zc_allocator)i), want);
  }
}

/* The workload allocates nothing with tracing off, and something with it. */
static void test_workload_allocations(void **state) {
  (void)state;
  zc_result result;
  memset(&result, 0, sizeof result);

  zc_window_open();
  int rv = zc_workload_run(64, &result);
  zc_window_close();

  zc_print_calls(zc_expect_trace ? "workload, tracing on"
                                 : "workload, tracing off");
  assert_int_equal(rv, 0);
  if (zc_expect_trace) {
    assert_true(zc_calls_total() > 0);
  } else {
    assert_int_equal(zc_calls_total(), 0);
  }
}

/* Arguments of trace macros run only in trace builds. */
static void test_trace_arguments_evaluated_only_when_tracing(void **state) {
  (void)state;
  zc_result result;
  memset(&result, 0, sizeof result);
  zc_next_value_calls = 0;

  assert_int_equal(zc_workload_run(16, &result), 0);

  printf("trace macro arguments: %llu increments, %llu function calls\n",
         (unsigned long long)result.trace_args_evaluated,
         (unsigned long long)zc_next_value_calls);
  if (zc_expect_trace) {
    assert_true(result.trace_args_evaluated > 0);
    assert_true(zc_next_value_calls > 0);
  } else {
    assert_int_equal(result.trace_args_evaluated, 0);
    assert_int_equal(zc_next_value_calls, 0);
  }
}

int main(int argc, char **argv) {
  if (argc != 2 ||
      (strcmp(argv[1], "trace") != 0 && strcmp(argv[1], "off") != 0)) {
    fprintf(stderr, "usage: %s trace|off (the build's PT_TRACE)\n", argv[0]);
    return 2;
  }
  zc_expect_trace = strcmp(argv[1], "trace") == 0;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_build_mode_matches_cmake),
      cmocka_unit_test(test_counter_sees_every_allocator),
      cmocka_unit_test(test_workload_allocations),
      cmocka_unit_test(test_trace_arguments_evaluated_only_when_tracing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
