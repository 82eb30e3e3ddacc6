/*
 * pt_bench_zero: does tracing compiled out cost anything?
 *
 * Runs the workload of bench_workload.c built with PT_TRACE=0 ("off") and
 * with its trace lines deleted ("stripped"), and in trace builds also with
 * tracing on, interleaved run by run; prints medians and ratios.  The off /
 * stripped ratio should be 1.00 within noise.  Timing on a shared machine
 * is noisy, so bench/run.sh also counts instructions of the same functions
 * with callgrind (--callgrind runs each variant once, untimed).
 *
 * Usage: pt_bench_zero [--packets N] [--reps R] [--callgrind]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "bench_workload.h"

#ifndef PT_BENCH_HAVE_ON
#define PT_BENCH_HAVE_ON 0
#endif

typedef struct bench_variant {
  const char *name;
  int (*setup)(void);
  void (*teardown)(void);
  uint64_t (*run)(const uint8_t *, size_t, uint64_t);
  double *samples; /* wall ns per packet */
  double *cpu;     /* thread CPU ns per packet */
  uint64_t result; /* keeps the work observable */
} bench_variant;

#define BENCH_DATA_SIZE 4096u

int main(int argc, char **argv) {
  uint64_t packets = 1u << 20;
  uint64_t reps = 31;
  int callgrind = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--packets") == 0 && i + 1 < argc) {
      packets = bench_parse_count("--packets", argv[++i]);
    } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = bench_parse_count("--reps", argv[++i]);
    } else if (strcmp(argv[i], "--callgrind") == 0) {
      callgrind = 1;
    } else {
      fprintf(stderr, "usage: %s [--packets N] [--reps R] [--callgrind]\n",
              argv[0]);
      return 2;
    }
  }
  static uint8_t data[BENCH_DATA_SIZE];
  uint32_t x = 12345;
  for (size_t i = 0; i < sizeof data; i++) {
    x = x * 1103515245u + 12345u;
    data[i] = (uint8_t)(x >> 24);
  }
  bench_variant v[3] = {
    {"tracing off (PT_TRACE=0)", bench_workload_off_setup,
     bench_workload_off_teardown, bench_workload_off_run, NULL, NULL, 0},
    {"trace lines removed", bench_workload_stripped_setup,
     bench_workload_stripped_teardown, bench_workload_stripped_run, NULL, NULL,
     0},
#if PT_BENCH_HAVE_ON
    {"tracing on (PT_TRACE=1)", bench_workload_on_setup,
     bench_workload_on_teardown, bench_workload_on_run, NULL, NULL, 0},
#endif
  };
  size_t count = PT_BENCH_HAVE_ON ? 3 : 2;
  for (size_t k = 0; k < count; k++) {
    if (v[k].setup() != 0) {
      fprintf(stderr, "%s: setup failed\n", v[k].name);
      return 1;
    }
    v[k].samples = calloc(reps, sizeof(double));
    v[k].cpu = calloc(reps, sizeof(double));
    if (v[k].samples == NULL || v[k].cpu == NULL) {
      return 1;
    }
  }
  if (callgrind) {
    /* One untimed run each; callgrind counts the _run functions. */
    for (size_t k = 0; k < count; k++) {
      v[k].result = v[k].run(data, sizeof data, packets);
      printf("%s: checksum %llx\n", v[k].name, (unsigned long long)v[k].result);
    }
  } else {
    for (size_t k = 0; k < count; k++) {
      v[k].result = v[k].run(data, sizeof data, packets); /* warm-up */
    }
    for (uint64_t r = 0; r < reps; r++) {
      for (size_t j = 0; j < count; j++) {
        bench_variant *b = &v[(j + r) % count];
        uint64_t cpu = bench_thread_cpu_ns();
        uint64_t begin = bench_now_ns();
        b->result ^= b->run(data, sizeof data, packets);
        b->samples[r] = (double)(bench_now_ns() - begin) / (double)packets;
        b->cpu[r] = (double)(bench_thread_cpu_ns() - cpu) / (double)packets;
      }
    }
    printf("pt_bench_zero: %llu packets per run, %llu repetitions; per "
           "packet: wall ns median (min..max), thread CPU ns median\n",
           (unsigned long long)packets, (unsigned long long)reps);
    double median[3], cpu[3];
    for (size_t k = 0; k < count; k++) {
      double lo = bench_min(v[k].samples, reps);
      double hi = bench_max(v[k].samples, reps);
      median[k] = bench_median(v[k].samples, reps);
      cpu[k] = bench_median(v[k].cpu, reps);
      printf("  %-28s %7.3f (%.3f..%.3f) %7.3f   [checksum %llx]\n", v[k].name,
             median[k], lo, hi, cpu[k], (unsigned long long)v[k].result);
    }
    printf("  ratio off / removed: %.3f wall, %.3f CPU\n",
           median[0] / median[1], cpu[0] / cpu[1]);
    if (count == 3) {
      printf("  tracing on adds %.2f ns per packet wall, %.2f ns CPU\n",
             median[2] - median[1], cpu[2] - cpu[1]);
    }
  }
  for (size_t k = 0; k < count; k++) {
    v[k].teardown();
    free(v[k].samples);
    free(v[k].cpu);
  }
  return 0;
}
