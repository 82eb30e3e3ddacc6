/*
 * demo_links - the namespace demo's part of the report (p2p_demo --netns),
 * computed from the nodes' dumps with pt_align and pt_request:
 *   - one request's timeline on aligned clocks (node0's), hop by hop down
 *     to the packets that carried each hop: the request with the most
 *     packets lost and recovered (any request if none lost one);
 *   - a clock table: per node, the skew injected into its process (offset
 *     and drift against node0's, from what each node measured at start),
 *     the estimate from the packets, its bound and the error;
 *   - a link table: per direction of each link of the ring, the one-way
 *     delay of the matched packet pairs (median, 95th percentile) against
 *     the delay and jitter the link was given, the packets sent and never
 *     received against the link's drops, and the round trip (the two
 *     directions' medians added).
 */
#ifndef DEMO_LINKS_H
#define DEMO_LINKS_H

#include "demo_netns.h"
#include "demo_skew.h"

#include <peertrace/peertrace.h>

#if PT_TRACE
/* dumps[i] is node i's; skews and measured as given to demo_skew_write;
 * tool and dir name the peertrace tool and the dumps' directory in the
 * commands the report shows.
 * Stops the link emulator first (demo_netns_teardown), so that its
 * counters are final.  Returns 0, or -1 after saying why on stderr. */
int demo_links_report(const pt_dump *dumps, size_t count,
                      const demo_skew *skews, const demo_skew_node *measured,
                      demo_netns *ns, const char *tool, const char *dir);
#endif

#endif /* DEMO_LINKS_H */
