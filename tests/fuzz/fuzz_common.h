/* Pieces shared by the fuzz targets and make_fuzz_seeds. */
#ifndef PT_FUZZ_COMMON_H
#define PT_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <peertrace/peertrace.h>

/*
 * A heap copy of the input of exactly its size (1 byte for an empty one),
 * so that ASan sees a read past its end, which libFuzzer's own buffer may
 * not show.  Aborts if memory is short.
 */
static inline uint8_t *pt_fuzz_copy(const uint8_t *data, size_t size) {
  uint8_t *copy = malloc(size ? size : 1);
  if (copy == NULL) {
    abort();
  }
  memcpy(copy, data, size);
  return copy;
}

/*
 * Outputs are filled with PT_FUZZ_POISON before a parser runs, so that
 * pt_fuzz_expect_untouched can check that a rejected input changed none of
 * their bytes.
 */
#define PT_FUZZ_POISON 0xa5

static inline void pt_fuzz_poison(void *out, size_t size) {
  memset(out, PT_FUZZ_POISON, size);
}

/* Aborts unless out[0..size) is all PT_FUZZ_POISON still. */
static inline void pt_fuzz_expect_untouched(const void *out, size_t size) {
  const uint8_t *bytes = out;
  for (size_t i = 0; i < size; i++) {
    if (bytes[i] != PT_FUZZ_POISON) {
      abort(); /* outputs must be left unchanged on failure */
    }
  }
}

/*
 * One event of every kind: most under trace `a`, a few under `b`, with
 * peer id bytes all `peer`.
 */
static inline void pt_fuzz_record_kinds(pt_log *log, pt_trace_id a,
                                        pt_trace_id b, uint8_t peer) {
  uint8_t peer_id[32];
  memset(peer_id, peer, sizeof peer_id);
  pt_endpoint ep = {4, 0, 4433, {127, 0, 0, 1}};
  PT_CONN_INIT(log, a, peer_id, ep);
  PT_CONN_ESTABLISHED(log, a, peer_id, 1500);
  PT_STREAM_OPENED(log, a, 4, 1);
  PT_STREAM_DATA(log, a, 4, 0, 1200, 1);
  PT_PACKET_SENT(log, a, 1200, 7);
  PT_PACKET_RECEIVED(log, b, 80, 3);
  PT_PACKET_LOST(log, a, 7);
  PT_EMIT(log, app_command, b, "DMAP", 1, "key", 3);
  PT_EMIT(log, app_start, a, "DMAP", 2, "abc", 3);
  PT_EMIT(log, app_end, a, "DMAP", 2, 1, 250);
  PT_CUSTOM(log, b, 7, 9, "hello", 5);
  PT_EMIT_PEER(log, stream_frame, a, peer_id, 7, 4, 0, 1200, 2, 1, 1);
  PT_EMIT_PEER(log, recovery_metrics, a, peer_id, 1530, 1480, 1510, 120, 14720,
               2400);
}

#endif /* PT_FUZZ_COMMON_H */
