/*
 * The zero-cost workload (see bench_workload.h): a QUIC sender's inner loop
 * in miniature.  For each packet it derives a size from the application
 * data, checksums a 32-byte header, advances the packet number and records
 * "packet sent", and every 64th packet "packet lost".  Lines that exist for
 * tracing carry the marker trace-line; the stripped build deletes them.
 */
#include <peertrace/peertrace.h> /* trace-line */

#include <string.h>

#include "bench_workload.h"

#define BENCH_CAT2(a, b, c) a##b##c
#define BENCH_CAT(a, b, c) BENCH_CAT2(a, b, c)
#define BENCH_FN(name) BENCH_CAT(bench_workload_, BENCH_VARIANT, name)

struct bench_conn {
  uint64_t next_pn;
  uint64_t bytes_sent;
  PT_TRACE_FIELD(pt_log *log;)          /* trace-line */
  PT_TRACE_FIELD(pt_trace_id trace_id;) /* trace-line */
};

static struct bench_conn bench_conn;

int BENCH_FN(_setup)(void) {
  memset(&bench_conn, 0, sizeof bench_conn);
  PT_IF_TRACE(pt_trace_id id = pt_trace_id_new();)          /* trace-line */
  PT_IF_TRACE(bench_conn.trace_id = id;)                    /* trace-line */
  PT_IF_TRACE(return pt_log_create(&bench_conn.log, NULL);) /* trace-line */
  return 0;
}

void BENCH_FN(_teardown)(void) {
  PT_IF_TRACE(pt_log_destroy(bench_conn.log);) /* trace-line */
  PT_IF_TRACE(bench_conn.log = NULL;)          /* trace-line */
}

uint64_t BENCH_FN(_run)(const uint8_t *data, size_t size, uint64_t packets) {
  struct bench_conn *conn = &bench_conn;
  uint64_t checksum = 0;
  for (uint64_t i = 0; i < packets; i++) {
    const uint8_t *header = data + (i * 32u) % (size - 32u);
    uint32_t length = 1000u + header[0] * 2u;
    uint64_t sum = 0;
    for (int k = 0; k < 32; k++) {
      sum = sum * 31u + header[k];
    }
    uint64_t pn = conn->next_pn++;
    conn->bytes_sent += length;
    checksum ^= sum + pn;
    PT_PACKET_SENT(conn->log, conn->trace_id, length, pn); /* trace-line */
    if ((sum & 63u) == 0) {                                /* trace-line */
      PT_PACKET_LOST(conn->log, conn->trace_id, pn);       /* trace-line */
    }                                                      /* trace-line */
  }
  return checksum ^ conn->bytes_sent;
}
