/*
 * zc_workload: the zero-cost tests' application code (every_macro.c) and
 * what it needs from the program that links it.
 *
 * This header must not include peertrace.h: identical_code.sh compiles
 * every_macro.c with its trace lines deleted, and that copy must not depend
 * on the library in any way.
 */
#ifndef ZERO_COST_ZC_WORKLOAD_H
#define ZERO_COST_ZC_WORKLOAD_H

#include <stdint.h>

typedef struct zc_result {
  /* The application's own result: the same with tracing on or off. */
  uint64_t checksum;
  /* Incremented only inside trace macro arguments (i++ style). */
  uint64_t trace_args_evaluated;
} zc_result;

/*
 * zc_workload_run: runs `rounds` rounds of a simulated connection that uses
 * every macro of the zero-cost layer, creating and destroying its own log in
 * trace builds.  Returns 0, or a negative PT_ERR_* code from the library in
 * trace builds.
 */
int zc_workload_run(unsigned rounds, zc_result *out);

/*
 * zc_next_value: a function with a side effect, called only from trace
 * macro arguments.  Defined by the program that links the workload (which
 * counts the calls); identical_code.sh only compiles, never links.
 */
uint64_t zc_next_value(void);

#endif /* ZERO_COST_ZC_WORKLOAD_H */
