/* The LTTng-UST contender: see bench_lttng.h. */
#include "bench_lttng.h"

#include <lttng/ust-version.h>

#include "bench_events.h"
#include "bench_lttng_tp.h"

void bench_lttng_writer(void *arg, unsigned thread, uint64_t events) {
  (void)arg;
  pt_trace_id trace_id = bench_trace_id(thread);
  for (uint64_t i = 0; i < events; i++) {
    pt_event ev;
    bench_make_event(&ev, trace_id, BENCH_SIZE(i), BENCH_PN(thread, i));
    lttng_ust_tracepoint(pt_bench, packet_sent, &ev);
  }
}

int bench_lttng_enabled(void) {
  return lttng_ust_tracepoint_enabled(pt_bench, packet_sent) ? 1 : 0;
}

const char *bench_lttng_version(void) {
  return LTTNG_UST_VERSION;
}
