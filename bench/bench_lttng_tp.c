/* Instantiates the tracepoint probes of bench_lttng_tp.h (LTTng-UST). */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "bench_lttng_tp.h"
