/*
 * demo_report - what the P2P demo prints at the end, computed from the
 * nodes' event logs alone (so it works the same on the logs of one process
 * and on log files written by separate node processes):
 *   - the cross-node timeline of one request: the client request whose trace
 *     id reached the most nodes (a GET if there is a tie);
 *   - a per-peer QUIC table: packets sent/received/lost, loss rate, rtt.
 *
 * .ptlog files (until a shared dump format exists), little-endian:
 *   8 bytes  "PTLOG\0\0\1"
 *   4 bytes  event size (128)      4 bytes  reserved (0)
 *   32 bytes node id               8 bytes  event count
 *   count x 128-byte pt_event, oldest first, exactly as in peertrace.h
 */
#ifndef DEMO_REPORT_H
#define DEMO_REPORT_H

#include "demo_net.h"

#if PT_TRACE
/* One node's events. */
typedef struct demo_node_log {
  uint8_t id[PT_NODE_ID_SIZE];
  pt_event *events; /* release with demo_node_log_free() */
  size_t count;
  int from_query; /* events came from pt_log_recent (pt_events_free) */
} demo_node_log;

/* Copies every event of a log.  Returns 0 or -1. */
int demo_node_log_from(pt_log *log, demo_node_log *out);
/* Writes a log to a .ptlog file.  Returns the event count or -1. */
int demo_node_log_write(const demo_node_log *log, const char *path);
/* Reads a .ptlog file (untrusted: sizes checked).  Returns 0 or -1. */
int demo_node_log_read(const char *path, demo_node_log *out);
void demo_node_log_free(demo_node_log *log);

/* Prints the timeline and the per-peer table for logs[0..count). */
void demo_report_logs(const demo_node_log *logs, size_t count);
#endif

/* In-process report: the above, socket counters, and the log files in
 * out_dir (trace builds); release builds print the socket counters. */
void demo_report(demo_net *net, const char *out_dir);

#endif /* DEMO_REPORT_H */
