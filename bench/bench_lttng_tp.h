/*
 * LTTng-UST tracepoint provider for the benchmark: one event, "pt_bench:
 * packet_sent", carrying the same bytes as a pt_event minus its timestamp
 * (LTTng stamps events itself): trace id (16), peer id (32), sequence (4),
 * kind (2), flags (1) and the 64-byte payload, 119 bytes of fields plus
 * LTTng's event header, so each record is about as large as a pt_event.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER pt_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./bench_lttng_tp.h"

#if !defined(BENCH_LTTNG_TP_H) ||                                              \
    defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define BENCH_LTTNG_TP_H

#include <lttng/tracepoint.h>
#include <peertrace/peertrace.h>

LTTNG_UST_TRACEPOINT_EVENT(
    pt_bench, packet_sent, LTTNG_UST_TP_ARGS(const pt_event *, ev),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_array(uint8_t, trace_id, ev->trace_id.bytes, 16)
            lttng_ust_field_array(uint8_t, peer_id, ev->peer_id, 32)
                lttng_ust_field_integer(uint32_t, sequence, ev->sequence)
                    lttng_ust_field_integer(uint16_t, kind, ev->kind)
                        lttng_ust_field_integer(uint8_t, flags, ev->flags)
                            lttng_ust_field_array(uint8_t, data, ev->data.raw,
                                                  64)))

#endif /* BENCH_LTTNG_TP_H */

#include <lttng/tracepoint-event.h>
