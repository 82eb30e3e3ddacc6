/*
 * The LTTng-UST contender (built only when pkg-config finds lttng-ust):
 * records the benchmark's events through the tracepoint pt_bench:packet_sent
 * (bench_lttng_tp.h).  What it costs depends on the session that enabled the
 * tracepoint; pt_bench sets one up before it starts the measuring process.
 */
#ifndef BENCH_LTTNG_H
#define BENCH_LTTNG_H

#include <stdint.h>

/* A bench_writer_fn: `events` events from thread `thread`; arg unused. */
void bench_lttng_writer(void *arg, unsigned thread, uint64_t events);

/* 1 if a session has enabled pt_bench:packet_sent in this process. */
int bench_lttng_enabled(void);

/* "2.13.5": the LTTng-UST headers this was built with. */
const char *bench_lttng_version(void);

#endif /* BENCH_LTTNG_H */
