/*
 * demo_report - what the P2P demo prints at the end: the cross-node timeline
 * of one request, the per-peer QUIC table, and each node's log written to
 * OUT_DIR/node<i>.ptlog (trace builds; release builds say that tracing is
 * compiled out and print the socket counters only).
 *
 * .ptlog format (until a shared dump format exists), little-endian:
 *   8 bytes  "PTLOG\0\0\1"
 *   4 bytes  event size (128)      4 bytes  reserved (0)
 *   32 bytes node id               8 bytes  event count
 *   count x 128-byte pt_event, oldest first, exactly as in peertrace.h
 */
#ifndef DEMO_REPORT_H
#define DEMO_REPORT_H

#include "demo_net.h"

void demo_report(demo_net *net, const demo_request *stores,
                 const demo_request *gets, size_t count, const char *out_dir);

#endif /* DEMO_REPORT_H */
