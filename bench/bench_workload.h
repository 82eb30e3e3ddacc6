/*
 * The zero-cost workload: one translation unit, bench_workload.c, built as
 *   off       with PT_TRACE=0: the trace macros are there, compiled out;
 *   stripped  with every line marked "trace-line" deleted (a program that
 *             never had trace calls; CMake generates that copy);
 *   on        with tracing on (trace builds only), to show what tracing
 *             adds to the same loop.
 * Each build gets its own function names from BENCH_VARIANT.
 */
#ifndef BENCH_WORKLOAD_H
#define BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_WORKLOAD_DECLARE(variant)                                        \
  int bench_workload_##variant##_setup(void);                                  \
  void bench_workload_##variant##_teardown(void);                              \
  uint64_t bench_workload_##variant##_run(const uint8_t *data, size_t size,    \
                                          uint64_t packets);

BENCH_WORKLOAD_DECLARE(off)
BENCH_WORKLOAD_DECLARE(stripped)
BENCH_WORKLOAD_DECLARE(on)

#endif /* BENCH_WORKLOAD_H */
