#!/usr/bin/env python3
"""The namespace demo end to end (p2p_demo --netns, examples/p2p/demo_netns.h).

Runs the demo with each node a host in its own network namespace, links with
seeded delay, jitter and loss, each node process with its own skewed clock
(libfaketime), bounded by a timeout; then checks:
  - the namespace mode really ran, and every request ended as expected;
  - nothing is left behind: no ptdemo-* namespace, the same links in this
    namespace as before, no node process or emulator still running;
  - clocks: `peertrace clocks --json` aligns every node, and
    |estimate - injected| <= bound (+TRUTH_US) at both ends of the node's
    span and at t0 (DIR/clock-skew.json has the injected skew);
  - one-way delays, per direction of every link of the ring (DIR/links.json
    has what each was given): from the matched packet pairs (packet_sent of
    one node, packet_received of the other),
      on the true clock (each timestamp corrected by its node's injected
      skew): every delay >= configured - jitter - TRUTH_MS (no packet is
      faster than its link), the fastest <= configured + jitter + TOL_MS,
      and, on directions with at least MEDIAN_PAIRS pairs, the median within
      jitter + TOL_MS of the configured delay;
      on the aligned clocks (`peertrace clocks` estimates): the same median
      within jitter + TOL_MS + both nodes' bounds.
    A ring link's reverse connection (node3 -> node0 here) carries little
    more than its handshake, sent while all four nodes do their TLS work at
    once on a loaded machine: their receipts are recorded late by a few ms
    (a receipt is recorded when the node's QUIC stack has processed the
    packet), which would dominate a median of 8 pairs.
  - loss (link emulator): the links dropped datagrams, and on each direction
    the trace has at least as many packets sent and never received
    (`peertrace pairs`) as the link dropped while both nodes recorded (drop
    times from DIR/links.json, more than EDGE_MS inside both nodes' recorded
    spans, on the true clock).  More are fine: a datagram may hold several
    QUIC packets, and packets still on the link or reaching a node that had
    closed its socket when the nodes stopped are never received either.
TOL_MS: what the host adds to a link's delay (the emulator's or netem's
timer, the scheduling of the node processes and of the emulator on a loaded
machine, the sender's and receiver's time between the event and the wire).

Then once more with --crash-node 2 (node 2 killed with SIGKILL at the end):
the same checks, and node 2's events recovered from its log file.

Before those, two runs are broken on purpose (--chunks 64, so that they
are still busy): node 2 killed with SIGKILL while the requests run (the
launcher must give up, exit non-zero and leave nothing), and the launcher
itself killed with SIGKILL (its node processes and emulator must die with
it; the namespaces it leaves are removed by the next run, the first of the
checked runs above, whose leftovers are checked).

Usage: netns_demo.py P2P_DEMO PEERTRACE OUT_DIR [RUNS]
Exit: 0 passed, 1 failed, 77 not root (no namespaces to test).
"""
import fcntl
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clock_skew import TRUTH_US, Truth, dump_span, packet_pairs  # noqa: E402

TOL_MS = 3.0
TRUTH_MS = 0.2
TIMEOUT_S = 60
EDGE_MS = 50.0
MEDIAN_PAIRS = 20
DEMO_ARGS = ["--netns", "--nodes", "4", "--seed", "7", "--chunks", "6"]


def links_here():
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True,
                         check=True).stdout
    return sorted(line.split(":")[1].strip() for line in out.splitlines())


def leftovers(out):
    """What the run left: taken under the demo's lock, so that a namespace
    demo another test or user runs meanwhile is not counted."""
    with open("/run/ptdemo-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return leftovers_unlocked(out)


def leftovers_unlocked(out):
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True,
                            text=True, check=True).stdout
    names = [w.split()[0] for w in listed.splitlines()
             if w.startswith("ptdemo-")]
    ps = subprocess.run(["ps", "-eo", "pid,stat,args"], capture_output=True,
                        text=True, check=True).stdout
    # The node processes and the emulator run with the launcher's arguments,
    # --out OUT included (other tests may run other demos meanwhile).
    procs = [p for p in ps.splitlines()
             if "p2p_demo" in p and out in p and " Z" not in p]
    return names, procs


def unreceived(peertrace, dumps, ids):
    """{(from, to): packets sent but never received} from `peertrace pairs`."""
    out = subprocess.run([peertrace, "pairs", "--color=never"] + dumps,
                         capture_output=True, text=True, check=True).stdout
    short = {node_id[:8]: i for i, node_id in enumerate(ids)}
    got = {}
    for line in out.splitlines():
        m = re.match(r"(\w{8}) -> (\w{8})\s+\d+\s+\S+\s+\S+\s+(\d+)", line)
        if m:
            got[(short[m.group(1)], short[m.group(2)])] = int(m.group(3))
    return got


def check_clocks(doc, ids, truths, dumps, fails):
    by_index = {e["index"]: e for e in doc["nodes"]}
    print("  clocks: node  injected ms  estimate ms  |error| us  bound us")
    for i in range(1, len(ids)):
        e = by_index.get(i)
        if e is None or e["status"] != "aligned" or e["node"] != ids[i]:
            fails.append("node%d: not aligned: %s" % (i, e))
            continue
        first, last = dump_span(dumps[i])
        t0 = float(e["t0_us"])
        worst = 0.0
        for raw in (float(first), t0, float(last)):
            t = truths[i].true_time(raw)
            injected = truths[i].offset_at(t) - truths[0].offset_at(t)
            estimate = e["offset_us"] + e["drift_ppm"] * 1e-6 * (raw - t0)
            worst = max(worst, abs(estimate - injected))
            if raw == t0:
                shown = (injected, estimate)
        print("          node%d  %+11.3f  %+11.3f  %10.1f  %8.1f" %
              (i, shown[0] / 1e3, shown[1] / 1e3, worst, e["bound_us"]))
        if not worst <= e["bound_us"] + TRUTH_US:
            fails.append("node%d: |estimate - injected| %.1f us > bound %.1f "
                         "us" % (i, worst, e["bound_us"]))
    return by_index


def aligned(clock, raw):
    """A node's raw time on the reference's clock, by its estimate."""
    if clock["status"] == "reference":
        return raw
    return raw - (clock["offset_us"] +
                  clock["drift_ppm"] * 1e-6 * (raw - clock["t0_us"]))


def check_delays(pairs, truths, clocks, links, fails):
    true_d, aligned_d = {}, {}
    for s, r, ts, tr in pairs:
        true_d.setdefault((s, r), []).append(
            (truths[r].true_time(tr) - truths[s].true_time(ts)) / 1e3)
        aligned_d.setdefault((s, r), []).append(
            (aligned(clocks[r], tr) - aligned(clocks[s], ts)) / 1e3)
    print("  delays: link      netem ms  pairs  true p50/min ms  aligned p50 "
          "ms  bounds ms")
    for link in links:
        a, b = link["from"], link["to"]
        want, jitter = link["delay_ms"], link["jitter_ms"]
        t, al = true_d.get((a, b), []), aligned_d.get((a, b), [])
        if len(t) < 5:
            fails.append("%d->%d: only %d packet pairs" % (a, b, len(t)))
            continue
        bounds = (clocks[a]["bound_us"] + clocks[b]["bound_us"]) / 1e3
        p50, low, ap50 = statistics.median(t), min(t), statistics.median(al)
        print("          %d->%d  %5.1f+-%.1f  %5d  %7.2f/%6.2f  %11.2f  "
              "%9.2f" % (a, b, want, jitter, len(t), p50, low, ap50, bounds))
        if low < want - jitter - TRUTH_MS:
            fails.append("%d->%d: a packet took %.2f ms, less than the link's "
                         "%.1f - %.1f ms" % (a, b, low, want, jitter))
        if low > want + jitter + TOL_MS:
            fails.append("%d->%d: the fastest packet took %.2f ms, configured"
                         " %.1f +- %.1f (+%.1f) ms" %
                         (a, b, low, want, jitter, TOL_MS))
        if len(t) < MEDIAN_PAIRS:
            continue
        if abs(p50 - want) > jitter + TOL_MS:
            fails.append("%d->%d: true median %.2f ms, configured %.1f +- %.1f"
                         " (+%.1f) ms" % (a, b, p50, want, jitter, TOL_MS))
        if abs(ap50 - want) > jitter + TOL_MS + bounds:
            fails.append("%d->%d: aligned median %.2f ms, configured %.1f +- "
                         "%.1f (+%.1f + bounds %.2f) ms" %
                         (a, b, ap50, want, jitter, TOL_MS, bounds))


def run_once(demo, peertrace, out, extra=()):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    before = links_here()
    start = time.monotonic()
    run = subprocess.run([demo] + DEMO_ARGS + list(extra) + ["--out", out],
                         capture_output=True, text=True, timeout=TIMEOUT_S)
    took = time.monotonic() - start
    fails = []
    if "Network: node i in namespace" not in run.stdout:
        fails.append("namespace mode did not run: %s" % run.stderr[-300:])
    if run.returncode != 0 or \
            not re.search(r"Result: \d+ requests, 0 unexpected", run.stdout):
        fails.append("demo exited %d: %s" % (run.returncode,
                                             run.stderr.strip()[-300:]))
    # The loss is the links' here, not the demo's receive-side drop.
    if "the loss was made on the links" not in run.stdout or \
            "injected on the receiving side" in run.stdout:
        fails.append("the report does not say the links lost the packets")
    if extra and ("node2 killed with SIGKILL" not in run.stdout or
                  "node2.ptlog  (its node died: events recovered)"
                  not in run.stdout):
        fails.append("--crash-node 2: node2 not killed, or its events not "
                     "recovered")
    names, procs = leftovers(out)
    if names or procs:
        fails.append("left behind: namespaces %s, processes %s" %
                     (names, procs))
    after = links_here()
    if after != before:
        fails.append("links here changed: %s -> %s" % (before, after))
    if fails:
        return fails, took
    with open(os.path.join(out, "clock-skew.json")) as f:
        skew = json.load(f)["nodes"]
    with open(os.path.join(out, "links.json")) as f:
        links = json.load(f)
    ids = [e["node"] for e in skew]
    truths = [Truth(e) for e in skew]
    dumps = [os.path.join(out, "node%d.ptd" % i) for i in range(len(ids))]
    clocks_run = subprocess.run([peertrace, "clocks", "--json"] + dumps,
                                capture_output=True, text=True, timeout=60)
    if clocks_run.returncode != 0:
        return ["peertrace clocks: %s" % clocks_run.stderr[-300:]], took
    clocks = check_clocks(json.loads(clocks_run.stdout), ids, truths, dumps,
                          fails)
    if len(clocks) == len(ids):
        check_delays(packet_pairs(peertrace, dumps, ids), truths, clocks,
                     links["links"], fails)
    lost = unreceived(peertrace, dumps, ids)
    dropped = sum(link["dropped"] for link in links["links"])
    spans = []
    for i, path in enumerate(dumps):
        first, last = dump_span(path)
        spans.append((truths[i].true_time(first) + EDGE_MS * 1e3,
                      truths[i].true_time(last) - EDGE_MS * 1e3))
    print("  loss: dropped by the links %d, traced as never received %d" %
          (dropped, sum(lost.values())))
    if links["shaper"] == "emulator":
        if dropped == 0:
            fails.append("the links dropped no packet")
        for link in links["links"]:
            k = (link["from"], link["to"])
            inside = [t for t in link["dropped_at_us"]
                      if all(spans[n][0] <= t <= spans[n][1] for n in k)]
            if lost.get(k, 0) < len(inside):
                fails.append("%d->%d: %d packets never received, the link "
                             "dropped %d while both recorded" %
                             (k[0], k[1], lost.get(k, 0), len(inside)))
    return fails, took


def start_busy(demo, out):
    """A demo run kept busy, once its namespaces and nodes are up."""
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    proc = subprocess.Popen([demo] + DEMO_ARGS + ["--chunks", "64", "--out",
                                                  out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    for line in proc.stdout:
        if line.startswith("Phase 1"):
            return proc
    proc.wait()
    return None


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(c) for c in f.read().split()]


def node_pid(launcher, index):
    for c in children(launcher):
        with open("/proc/%d/cmdline" % c) as f:
            if ("--node-process\0%d:" % index) in f.read():
                return c
    return None


def broken_runs(demo, out):
    fails = []
    proc = start_busy(demo, out)
    node2 = node_pid(proc.pid, 2) if proc else None
    if node2 is None:
        return ["busy run: did not start, or no node2 process"]
    os.kill(node2, 9)
    rc = proc.wait(timeout=TIMEOUT_S)
    proc.stdout.close()
    proc.stderr.close()
    names, procs = leftovers(out)
    print("  node2 killed while requests ran: launcher exit %d, left: %s %s"
          % (rc, names, procs))
    if rc == 0 or names or procs:
        fails.append("node2 killed mid-run: exit %d, left namespaces %s, "
                     "processes %s" % (rc, names, procs))
    proc = start_busy(demo, out)
    if proc is None:
        return fails + ["busy run: did not start"]
    kids = children(proc.pid)
    proc.kill()
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    time.sleep(0.5)
    alive = [k for k in kids if os.path.exists("/proc/%d" % k) and
             not open("/proc/%d/stat" % k).read().split(") ")[1]
             .startswith("Z")]
    print("  launcher killed: %d children, %d still running" %
          (len(kids), len(alive)))
    if len(kids) < 5 or alive:
        fails.append("launcher killed: children %s, still running %s" %
                     (kids, alive))
    return fails


def main():
    if len(sys.argv) not in (4, 5):
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    demo, peertrace, out_dir = sys.argv[1:4]
    runs = int(sys.argv[4]) if len(sys.argv) == 5 else 1
    if os.geteuid() != 0:
        print("SKIP: not root, no network namespaces to test")
        return 77
    failures, times = 0, []
    print("broken runs:")
    broken = broken_runs(demo, os.path.join(out_dir, "broken"))
    for f in broken:
        print("FAIL: %s" % f)
    failures += len(broken) > 0
    for k in range(runs + 1):
        crash = ["--crash-node", "2"] if k == runs else []
        print("run %d%s:" % (k + 1, " (--crash-node 2)" if crash else ""))
        fails, took = run_once(demo, peertrace, os.path.join(out_dir, "run"),
                               crash)
        times.append(took)
        for f in fails:
            print("FAIL: run %d: %s" % (k + 1, f))
        failures += len(fails) > 0
    print("broken runs %s; %d of %d runs passed (the last with --crash-node "
          "2); demo run time min %.2f s, max %.2f s" %
          ("failed" if broken else "ok",
           runs + 1 - failures + (len(broken) > 0),
           runs + 1, min(times), max(times)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
