/*
 * The events every contender records: QUIC "packet sent" events, exactly as
 * PT_PACKET_SENT builds them, with a per-thread trace id, a packet number
 * that counts up and a size that varies.  Needs a trace build (PT_TRACE=1)
 * for the inline event setters.
 */
#ifndef BENCH_EVENTS_H
#define BENCH_EVENTS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

/*
 * The event PT_PACKET_SENT(log, trace_id, size, pn) records, built in a
 * pt_event for the contenders that take one (mutex ring, LTTng-UST).  It is
 * zeroed by copying a zero event rather than with memset, because gcc 12
 * -O2 turns a 128-byte memset into `rep stosq`, which costs ~10 ns per event
 * on this EPYC (clang emits 8 vector stores, ~2.5 ns): the contenders must
 * not pay for a compiler quirk that peertrace's own macros avoid.
 */
static inline void bench_make_event(pt_event *ev, pt_trace_id trace_id,
                                    uint32_t size, uint64_t pn) {
  static const pt_event zero;
  *ev = zero;
  ev->trace_id = trace_id;
  pt_event_set_packet_sent(ev, pn, size, PT_PN_SPACE_APPLICATION);
}

/*
 * A log of `capacity` events, as pt_log_create makes it by default, or with
 * no_index (index builds only: the ring alone).  Exits if it cannot.
 */
static inline pt_log *bench_log_new(uint64_t capacity, int no_index) {
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = capacity;
#if PT_TRACE_INDEX
  cfg.no_index = no_index;
#else
  (void)no_index;
#endif
  pt_log *log = NULL;
  int rc = pt_log_create(&log, &cfg);
  if (rc != PT_OK) {
    fprintf(stderr, "pt_log_create: %s\n", pt_strerror(rc));
    exit(1);
  }
  return log;
}

#endif /* BENCH_EVENTS_H */
