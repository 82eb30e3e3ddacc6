/*
 * The events every contender records: QUIC "packet sent" events, exactly as
 * PT_PACKET_SENT builds them, with a per-thread trace id, a packet number
 * that counts up and a size that varies.  Needs a trace build (PT_TRACE=1)
 * for the inline event setters.
 */
#ifndef BENCH_EVENTS_H
#define BENCH_EVENTS_H

#include <stdint.h>

#include <peertrace/peertrace.h>

/* Arguments of the i-th event of a thread. */
#define BENCH_PN(thread, i) (((uint64_t)(thread) << 40) + (i))
#define BENCH_SIZE(i) (1200u + (uint32_t)((i)&255u))

/* A fixed, non-zero trace id per writer thread. */
static inline pt_trace_id bench_trace_id(unsigned thread) {
  pt_trace_id id;
  for (unsigned i = 0; i < sizeof id.bytes; i++) {
    id.bytes[i] = (uint8_t)(0x11u * (i + 1) + thread);
  }
  return id;
}

/* The event PT_PACKET_SENT(log, trace_id, size, pn) would record. */
static inline void bench_make_event(pt_event *ev, pt_trace_id trace_id,
                                    uint32_t size, uint64_t pn) {
  pt_event_begin(ev, trace_id, NULL);
  pt_event_set_packet_sent(ev, pn, size, PT_PN_SPACE_APPLICATION);
}

#endif /* BENCH_EVENTS_H */
