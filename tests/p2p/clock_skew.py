#!/usr/bin/env python3
"""Clock estimates against real, injected skew.

Runs the P2P demo with one process per node, each node's CLOCK_REALTIME
shifted and rate-changed by libfaketime (p2p_demo --skew / --skew-seed,
examples/p2p/demo_skew.h), for offsets from -10 s to +10 s and drifts up to
+-100 ppm; then `peertrace clocks --json` on the nodes' dumps, and checks
per node:
  - libfaketime acted: each node's clock was the asked offset away from the
    kernel's at its start (within 1 ms);
  - the reference is node 0 (the first dump), every other node is aligned;
  - |estimate - injected| <= bound_us over the node's whole recorded span
    (both ends: estimate and truth are both linear in the node's time, so
    the error is largest at an end), the injected offset being the node's
    minus the reference's (DIR/clock-skew.json), each with its drift, at the
    true time of the node's timestamp;
  - the bound is not vacuous: bound_us <= 2 * min_rtt_us (min_rtt_us: the
    smallest round trip of each link of the path, summed), 4 times the
    bound of one NTP exchange (measured: at most 1.16 * min_rtt_us, but
    for two cases on a loaded machine, which main() runs once more;
    docs/clocks.md, "Measured with injected skew");
  - the best bound (best_bound_us, the bound at the instant best_at_us
    where the node's clock is known best): within the node's span, at most
    bound_us, and |estimate - injected| there within it;
    with --ntp, best_bound_us <= min_rtt_us / 2 / (1 - MAX_DRIFT)
    + hops * TICK_US: the bound of one NTP exchange per link of the path
    (half the round trip, as the drift the estimator allows can stretch
    it), with each link's microsecond of timestamp resolution on top, as
    NTP adds its clock's precision: the four whole-microsecond timestamps
    of an exchange can make its round trip look up to 2 us shorter, half
    of it 1 us, and a path's round trips are summed;
  - the path: from ring neighbour to neighbour; node 2 of 4 never talked to
    node 0 and is aligned through others (2 hops or more).
The injected truth is known to TRUTH_US (the node's measurement of its clock
against the kernel's is within 1 us; event times are whole microseconds):
that much is allowed on top of the bound.

Prints, per case and node, injected, estimate, error, bound and min RTT,
with the smallest true round trip of the path (from the matched packets on
true time) for comparison.

The demo runs 12 rounds of requests, 250 ms apart (--rounds), so that each
node's trace spans about 3 s: a drift of 100 ppm is then 300 us, far wider
than the bounds, and a wrong drift estimate fails.

Usage: clock_skew.py [--ntp] P2P_DEMO PEERTRACE OUT_DIR
Exit: 0 passed, 1 failed, 2 usage.
"""
import json
import os
import shutil
import struct
import subprocess
import sys

CASES = [
    # Every extreme of the range, on every node, the reference included.
    ("extremes", ["--skew", "-10:-100,10:100,-10:100,10:-100"]),
    ("extremes, swapped", ["--skew", "10:100,-10:-100,10:-100,-10:100"]),
    ("seed 1", ["--skew-seed", "1"]),
    ("seed 2", ["--skew-seed", "2"]),
    ("seed 3", ["--skew-seed", "3"]),
]
TRUTH_US = 2.0
TICK_US = 1.0
MAX_DRIFT = 500e-6  # PT_ALIGN_MAX_DRIFT_PPM, the default of --max-drift
DEMO_ARGS = ["--processes", "--nodes", "4", "--loss", "0.03", "--seed", "7",
             "--chunks", "6", "--rounds", "12"]


class Truth:
    """Node i's clock: raw = true + offset(true), offset linear."""

    def __init__(self, entry):
        self.at = float(entry["measured_at_us"])
        self.offset = float(entry["measured_offset_us"])
        self.drift = float(entry["drift_ppm"]) * 1e-6

    def offset_at(self, true_us):
        return self.offset + self.drift * (true_us - self.at)

    def true_time(self, raw_us):
        # raw = t + offset + drift * (t - at)
        return (raw_us - self.offset + self.drift * self.at) / (1 + self.drift)


def dump_span(path):
    with open(path, "rb") as f:
        head = f.read(128)
    if len(head) < 128 or head[:8] != b"\x89PTD\r\n\x1a\n":
        raise ValueError("%s: not a dump" % path)
    return struct.unpack_from("<QQ", head, 104)


def packet_pairs(peertrace, dumps, ids):
    """(sender, receiver, sent_us, received_us) of every matched packet."""
    out = subprocess.run([peertrace, "export", "json", "--raw-time"] + dumps,
                         capture_output=True, text=True, check=True).stdout
    index = {node_id: i for i, node_id in enumerate(ids)}
    sent, received = {}, {}
    for e in json.loads(out)["events"]:
        if e["kind"] not in ("packet_sent", "packet_received"):
            continue
        peer = index.get(e.get("peer_id"))
        if peer is None:
            continue
        d = e["data"]
        if e["kind"] == "packet_sent":
            sent[(e["node"], peer, d["conn"], d["space"], d["pn"])] = \
                e["timestamp_us"]
        else:
            received[(peer, e["node"], d["conn"], d["space"], d["pn"])] = \
                e["timestamp_us"]
    return [(k[0], k[1], t, received[k]) for k, t in sent.items()
            if k in received]


def true_min_rtt(pairs, truths):
    """Per link {frozenset(a, b)}: smallest true delay a->b plus b->a."""
    delay = {}
    for s, r, ts, tr in pairs:
        d = truths[r].true_time(tr) - truths[s].true_time(ts)
        delay[(s, r)] = min(d, delay.get((s, r), d))
    return {frozenset(k): v + delay[(k[1], k[0])]
            for k, v in delay.items() if (k[1], k[0]) in delay}


def check_case(name, skew_args, demo, peertrace, out, ntp):
    """Returns (failures, bounds too wide to mean anything)."""
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    run = subprocess.run([demo] + DEMO_ARGS + skew_args +
                         ["--out", out], capture_output=True, text=True,
                         timeout=40)
    if run.returncode != 0:
        return ["demo exited %d: %s" % (run.returncode,
                                        run.stderr.strip()[-300:])], []
    with open(os.path.join(out, "clock-skew.json")) as f:
        skew = json.load(f)["nodes"]
    n = len(skew)
    dumps = [os.path.join(out, "node%d.ptd" % i) for i in range(n)]
    ids = [e["node"] for e in skew]
    truths = [Truth(e) for e in skew]
    clocks_run = subprocess.run([peertrace, "clocks", "--json"] + dumps,
                                capture_output=True, text=True, timeout=60)
    if clocks_run.returncode != 0:
        return ["peertrace clocks exited %d: %s" %
                (clocks_run.returncode, clocks_run.stderr.strip()[-300:])], []
    doc = json.loads(clocks_run.stdout)
    for line in clocks_run.stderr.splitlines():
        print("  (peertrace clocks: %s)" % line)
    rtt_true = true_min_rtt(packet_pairs(peertrace, dumps, ids), truths)
    fails, wide = [], []
    ref = 0
    # libfaketime acted, with the skew asked for: each node's clock, read
    # at its start (well within a second of its exec, 100 us of drift at
    # most), is the nominal offset away from the kernel's.
    for e in skew:
        if abs(e["measured_offset_us"] - e["offset_s"] * 1e6) > 1000:
            fails.append("node%d: clock %+.6f s off at start, %+.6f s asked" %
                         (e["index"], e["measured_offset_us"] / 1e6,
                          e["offset_s"]))
    if doc["reference"] != ids[ref]:
        fails.append("reference is %s, not node0 %s" %
                     (doc["reference"], ids[ref]))
    by_index = {e["index"]: e for e in doc["nodes"]}
    if sorted(by_index) != list(range(n)) or len(doc["nodes"]) != n:
        return fails + ["nodes in the output: %s" %
                        sorted(e["index"] for e in doc["nodes"])], []
    print("%s (%s):" % (name, " ".join(skew_args)))
    print("  node  hops  injected us      estimate us     |error| us  "
          "bound us  best us  min rtt us  (true)  bound/(rtt/2)  "
          "best/(rtt/2)  drift ppm inj/est")
    for i in range(n):
        e = by_index[i]
        if e["node"] != ids[i]:
            fails.append("node%d: id %s, expected %s" % (i, e["node"], ids[i]))
        want = "reference" if i == ref else "aligned"
        if e["status"] != want:
            fails.append("node%d: status %s, expected %s" %
                         (i, e["status"], want))
            continue
        if i == ref:
            print("  node%d  ref" % i)
            continue
        first, last = dump_span(dumps[i])
        t0 = float(e["t0_us"])
        worst, at_t0 = 0.0, None
        for raw in (float(first), t0, float(last)):
            t = truths[i].true_time(raw)
            injected = truths[i].offset_at(t) - truths[ref].offset_at(t)
            estimate = e["offset_us"] + e["drift_ppm"] * 1e-6 * (raw - t0)
            worst = max(worst, abs(estimate - injected))
            if raw == t0:
                at_t0 = (injected, estimate)
        # The ring 0-1-..-(n-1)-0: the path (via, via's via, ...) goes
        # from neighbour to neighbour and reaches the reference in `hops`
        # links, at least min(i, n - i) (the solver takes the path with the
        # smallest summed bound, not the shortest).
        path_nodes, k = [i], i
        while k != ref and len(path_nodes) <= n:
            k = by_index[k]["via"]
            path_nodes.append(k)
        steps = zip(path_nodes, path_nodes[1:])
        if (k != ref or e["hops"] != len(path_nodes) - 1 or
                e["hops"] < min(i, n - i) or
                any((b - a) % n not in (1, n - 1) for a, b in steps)):
            fails.append("node%d: hops %d, path %s on a ring of %d" %
                         (i, e["hops"], path_nodes, n))
        bound, rtt = e["bound_us"], e["min_rtt_us"]
        best, best_at = e["best_bound_us"], float(e["best_at_us"])
        t = truths[i].true_time(best_at)
        injected = truths[i].offset_at(t) - truths[ref].offset_at(t)
        estimate = e["offset_us"] + e["drift_ppm"] * 1e-6 * (best_at - t0)
        best_err = abs(estimate - injected)
        # The injected rate difference, per unit of the node's raw time.
        drift_inj = (truths[i].drift - truths[ref].drift) / \
            (1 + truths[i].drift) * 1e6
        path, k = 0.0, i
        for _ in range(n):
            if k == ref:
                break
            via = by_index[k]["via"]
            path += rtt_true.get(frozenset((k, via)), float("nan"))
            k = via
        print("  node%d  %4d  %+15.1f  %+15.1f  %10.1f  %8.1f  %7.1f  %10.1f  "
              "%6.1f  %13.2f  %12.3f  %+.2f/%+.2f" %
              (i, e["hops"], at_t0[0], at_t0[1], worst, bound, best, rtt,
               path, bound / (rtt / 2), best / (rtt / 2), drift_inj,
               e["drift_ppm"]))
        if not (first <= best_at <= last and best <= bound and
                best_err <= best + TRUTH_US):
            fails.append("node%d: best bound %.1f us at %d (span %d..%d, "
                         "bound %.1f us), |estimate - injected| there %.1f us"
                         % (i, best, best_at, first, last, bound, best_err))
        if not worst <= bound + TRUTH_US:
            fails.append("node%d: |estimate - injected| %.1f us > bound %.1f "
                         "us (+%.0f)" % (i, worst, bound, TRUTH_US))
        if not bound <= 2 * rtt:
            wide.append("node%d: bound %.1f us > twice the min rtt %.1f us"
                         % (i, bound, rtt))
        tick = e["hops"] * TICK_US
        if ntp and not best <= rtt / 2 / (1 - MAX_DRIFT) + tick:
            fails.append("node%d: best bound %.3f us > half the min rtt "
                         "%.3f us (+%.0f us)" % (i, best, rtt / 2, tick))
    return fails, wide


def main():
    args = sys.argv[1:]
    ntp = args[:1] == ["--ntp"]
    args = args[1:] if ntp else args
    if len(args) != 3:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    demo, peertrace, out_dir = args
    failures = 0
    reruns = 0
    for k, (name, skew_args) in enumerate(CASES):
        out = os.path.join(out_dir, "case%d" % k)
        fails, wide = check_case(name, skew_args, demo, peertrace, out, ntp)
        if wide and not fails:
            # Seen twice in about 20 runs of this test, under a load of 7
            # on 2 cores: a run whose bounds are 4 to 40 times the others'
            # (a link left out, its nodes aligned the long way round; the
            # estimates still within those bounds).  Such a case runs once
            # more, and says so; wide bounds twice in a row fail.
            for f in wide:
                print("RERUN: %s: %s" % (name, f))
            reruns += 1
            fails, wide = check_case(name, skew_args, demo, peertrace, out,
                                     ntp)
        fails += wide
        for f in fails:
            print("FAIL: %s: %s" % (name, f))
        failures += len(fails)
    if failures:
        print("%d failures" % failures)
        return 1
    print("clock estimates within their bounds of the injected skew, "
          "%d cases (%d run twice)" % (len(CASES), reruns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
