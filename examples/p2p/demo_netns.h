/*
 * demo_netns - the demo as a small real network: each node a host of its
 * own in a Linux network namespace, links with delay, jitter and loss.
 *
 * Topology (every name starts with DEMO_NETNS_PREFIX, nothing is created
 * outside the namespaces the demo makes, no traffic leaves them):
 *
 *   ptdemo-n<i>  node i's namespace: lo and eth0, address 10.77.0.<i+1>/32,
 *                route to 10.77.0.0/24 through 10.77.0.254
 *   ptdemo-hub   the router: h<i> (the other end of node i's eth0, with
 *                10.77.0.254/32), a route to each node, IPv4 forwarding
 *
 * Each direction a->b of each link gets its own delay, jitter and loss from
 * the seed.  They are made in the hub, on the way out to b:
 *   - by the kernel's tc netem when it has sch_netem: on h<b>, an htb class
 *     per source a (u32 filter on the source address) with a netem qdisc;
 *   - otherwise by the link emulator (demo_linkem.c): the hub routes every
 *     packet a node sends into a TUN device, a process in the hub holds it
 *     for the link's delay plus jitter, drops it with the link's loss, and
 *     writes it back, and the hub's routes take it to b.  Packets still
 *     cross real sockets, veths and routing in every namespace; only the
 *     queueing is done by a program instead of netem.
 * The demo's own loss injection (p2p_net's loss_rate) is off in this mode.
 *
 * One run at a time per host: demo_netns_setup waits for the lock
 * /run/ptdemo-lock (held until the launcher and its children are gone).
 * Clean-up: demo_netns_setup removes what an earlier run left (a launcher
 * killed with SIGKILL), and registers the removal at exit and on SIGINT,
 * SIGTERM and SIGHUP (SIGPIPE is ignored: a crashed node's pipe must not
 * kill the launcher); a namespace disappears with its links and qdiscs
 * once no process is left in it, and the node processes and the emulator
 * get SIGKILL when the launcher dies (PR_SET_PDEATHSIG).
 */
#ifndef DEMO_NETNS_H
#define DEMO_NETNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DEMO_NETNS_PREFIX "ptdemo-"
#define DEMO_NETNS_HUB "ptdemo-hub"
#define DEMO_NETNS_ADDR_BASE 0x0a4d0001u /* 10.77.0.1: node 0 */
#define DEMO_NETNS_PORT_BASE 4700        /* node i's UDP port: 4700 + i */
#define DEMO_NETNS_MAX 16
/* Set (to "1") by the launcher once the namespaces are up; the node
 * processes it starts then bind their namespace address. */
#define DEMO_NETNS_ENV "PT_DEMO_NETNS"

/* One direction of one link. */
typedef struct demo_link {
  double delay_ms;  /* added one-way delay */
  double jitter_ms; /* each packet: delay + uniform(-jitter, +jitter) */
  double loss;      /* probability a packet is dropped */
} demo_link;

/* Drop times kept per direction (demo_link_stats.drop_us). */
#define DEMO_NETNS_DROPS 64

/* What the emulator counted on one direction (zero under netem): UDP
 * datagrams only (the nodes' QUIC; ICMP and ARP are shaped the same but
 * not counted), and when it dropped the first DEMO_NETNS_DROPS of those it
 * dropped (true CLOCK_REALTIME, Unix us: the emulator's clock is not
 * skewed). */
typedef struct demo_link_stats {
  uint64_t packets;
  uint64_t dropped;
  uint64_t drop_us[DEMO_NETNS_DROPS];
} demo_link_stats;

typedef struct demo_netns {
  size_t nodes;
  int netem; /* 1: tc netem shapes the links; 0: the link emulator */
  demo_link links[DEMO_NETNS_MAX][DEMO_NETNS_MAX]; /* [from][to] */
  demo_link_stats *stats; /* [from * DEMO_NETNS_MAX + to], emulator mode */
  pid_t emulator;
} demo_netns;

/* Seeded link parameters: delay 2..30 ms, jitter 5..15 % of it, loss
 * 1..4 %; the two directions of a link get the same delay and jitter, each
 * its own loss draw. */
void demo_netns_links(uint64_t seed, size_t nodes, demo_netns *ns);

/* Builds the network for ns->nodes nodes with ns->links (removing first
 * what an earlier run left), starts the emulator if netem is missing, and
 * prints the topology and the link table.  Returns 0, or -1 after one line
 * on stderr saying why namespaces cannot be used (not root, no `ip`, no
 * namespace support); then nothing is left behind. */
int demo_netns_setup(demo_netns *ns);

/* In a forked child that will become node i: enter its namespace and die
 * with the launcher.  Returns 0 or -1 (errno). */
int demo_netns_enter(size_t i);

/* Records a child (node process) to kill if the launcher is interrupted. */
void demo_netns_track(pid_t pid);

/* Stops the emulator (its counters then final in ns->stats) and removes
 * every namespace; also run at exit and on the signals above. */
void demo_netns_teardown(demo_netns *ns);

/* Writes DIR/links.json: {"shaper": "netem"|"emulator", "links": [{"from":
 * a, "to": b, "delay_ms": d, "jitter_ms": j, "loss": l, "packets": n,
 * "dropped": n, "dropped_at_us": [t, ...]}, ...]} for every direction of
 * the ring's links (demo_link_stats).  0 or -1. */
int demo_netns_write(const demo_netns *ns, const char *dir);

/* Direction k (0 .. 2 * nodes - 1) of the ring's links: node a to node b
 * (k / 2 to its successor, then back). */
void demo_netns_ring_dir(size_t k, size_t nodes, size_t *a, size_t *b);

/* The link emulator's loop (demo_linkem.c): in the hub namespace, on the
 * TUN device `tun`, until SIGTERM.  Returns 0, or -1 after an error. */
int demo_linkem_run(const demo_netns *ns, const char *tun, uint64_t seed,
                    int ready_fd);

#endif /* DEMO_NETNS_H */
