/*
 * demo_report - what the P2P demo prints at the end, computed from the
 * nodes' dump files alone (so it works the same on the logs of one process
 * and on the logs of separate node processes):
 *   - the cross-node timeline of one request: the client request whose trace
 *     id reached the most nodes (a GET if there is a tie);
 *   - a per-peer QUIC table: packets sent/received/lost, loss rate, rtt;
 *   - the `peertrace` commands to try next on the same files.
 *
 * Node i's log is saved as the dump DIR/node<i>.ptd (pt_log_dump_save;
 * format in docs/dump-format.md) and read back with pt_dump_load, the
 * reader the `peertrace` tool uses, so the report shows what the files hold.
 */
#ifndef DEMO_REPORT_H
#define DEMO_REPORT_H

#include "demo_net.h"

#if PT_TRACE
/* The path of node i's dump (DIR/node<i>.ptd) or log file (.ptlog). */
void demo_dump_path(char *out, size_t size, const char *dir, size_t index);
void demo_log_file_path(char *out, size_t size, const char *dir, size_t index);

/* Removes DIR/node<i>.ptd and DIR/node<i>.ptlog for every possible i, so
 * that a glob of DIR never mixes this run's files with an earlier run's. */
void demo_files_remove(const char *dir);

/* Saves a log (a live one, or a pt_log_open view) as DIR/node<i>.ptd.
 * Returns 0, or -1 after saying why on stderr. */
int demo_dump_save(const pt_log *log, const char *dir, size_t index);

/* Loads DIR/node<i>.ptd for i < count (validated by pt_dump_load: the files
 * are input like any other).  Returns 0, or -1 after naming the file and the
 * problem on stderr (dumps[] is then released). */
int demo_dumps_load(const char *dir, size_t count, pt_dump *dumps);
void demo_dumps_release(pt_dump *dumps, size_t count);

/* Prints the timeline and the per-peer table for dumps[0..count), node i
 * being dumps[i], loaded from DIR: the timeline is read again from DIR's
 * files through a pt_pipeline, its times aligned onto node0's clock.
 * link_loss: where the packets were lost, for the table's note: nonzero,
 * on the links (the namespace demo, demo_netns.h); 0, dropped by the
 * receiving node (p2p_net's loss_rate).  *shown: the trace id of the
 * timeline (zero if none). */
void demo_report_dumps(const char *dir, const pt_dump *dumps, size_t count,
                       int link_loss, pt_trace_id *shown);

/* Prints what to try next with the peertrace tool (path `tool`) on DIR's
 * dumps; with log_files, also how to read the nodes' .ptlog files. */
void demo_print_next_steps(const char *tool, const char *dir,
                           const pt_dump *dumps, size_t count,
                           const pt_trace_id *shown, int log_files);
#endif

/* In-process report: saves every node's log as a dump in out_dir, prints
 * the above from the dumps, the socket counters and the next steps (trace
 * builds); release builds print the socket counters and write nothing.
 * Returns 0, or -1 if the dumps could not be written or read back. */
int demo_report(demo_net *net, const char *out_dir, const char *tool);

#endif /* DEMO_REPORT_H */
