#!/usr/bin/env python3
"""clocks.py MAKE_SKEW_DUMPS PEERTRACE WORKDIR: `peertrace clocks` and
`peertrace pairs` on the dumps of tests/make_skew_dumps.c (five nodes with
known clock offsets and drifts): statuses, paths, every estimate within its
bound of the injected truth at the ends of the node's span, the stderr
reports of the nodes left as recorded, --reference, the pairs and the
unreceived packets per direction, --list, and usage errors."""
import json
import os
import re
import struct
import subprocess
import sys

from cli_check import check, exit_if_failed, run_peertrace

MAKER, PT, WORK = sys.argv[1:4]


def run(*args):
    return run_peertrace(PT, *args, env={**os.environ, "NO_COLOR": "1"})


os.makedirs(WORK, exist_ok=True)
subprocess.run([MAKER, WORK], check=True)
DUMPS = [os.path.join(WORK, "node%d.ptd" % i) for i in range(5)]
skew = json.load(open(os.path.join(WORK, "skew.json")))
BASE = skew["base"]


def true_offset(v, ref, raw):
    """node v minus node ref at v's raw time (align_sim.h's clocks)."""
    x = raw - BASE
    n, r = skew["nodes"][v], skew["nodes"][ref]
    tau = (x - n["off_us"]) / (1 + n["drift"])
    return x - (tau + r["off_us"] + r["drift"] * tau)


def dump_span(path):
    head = open(path, "rb").read(128)
    return struct.unpack_from("<QQ", head, 104)


def node_hex(v):
    return bytes((0x10 * (v + 1) + i) & 0xFF for i in range(32)).hex()


def check_estimates(doc, ref):
    for e in doc["nodes"]:
        if e["status"] not in ("aligned", "reference"):
            continue
        v = e["index"]
        first, last = dump_span(DUMPS[v])
        for raw in (first, e["t0_us"], last):
            est = e["offset_us"] + e["drift_ppm"] * 1e-6 * (raw - e["t0_us"])
            err = abs(est - true_offset(v, ref, raw))
            check(err <= e["bound_us"] + 1e-3,
                  "ref %d node %d: |estimate - truth| %.3f us > bound %.3f us"
                  % (ref, v, err, e["bound_us"]))
        # The best bound: within the span, no wider than the bound, and
        # the error at its instant within it.
        at = e["best_at_us"]
        check(first <= at <= last and e["best_bound_us"] <= e["bound_us"],
              "ref %d node %d: best bound %.3f us at %d, bound %.3f us, span "
              "%d..%d" % (ref, v, e["best_bound_us"], at, e["bound_us"],
                          first, last))
        est = e["offset_us"] + e["drift_ppm"] * 1e-6 * (at - e["t0_us"])
        err = abs(est - true_offset(v, ref, at))
        check(err <= e["best_bound_us"] + 1e-3,
              "ref %d node %d: |estimate - truth| %.3f us > best bound %.3f us"
              " at its instant" % (ref, v, err, e["best_bound_us"]))
        if e["status"] == "aligned":
            check(e["best_bound_us"] < e["bound_us"],
                  "ref %d node %d: the best bound %.3f us is below the span's"
                  " %.3f us" % (ref, v, e["best_bound_us"], e["bound_us"]))


# clocks --json: the agreed shape, statuses and paths.
rc, out, err = run("clocks", "--json", *DUMPS)
check(rc == 0, "clocks --json exits 0, got %s (%s)" % (rc, err))
doc = json.loads(out)
check(doc["reference"] == node_hex(0), "the first input is the reference")
keys = {"node", "index", "status", "offset_us", "drift_ppm", "t0_us",
        "bound_us", "best_bound_us", "best_at_us", "hops", "via", "pairs",
        "min_rtt_us"}
check(all(set(e) == keys for e in doc["nodes"]), "every node has the keys")
by = {e["index"]: e for e in doc["nodes"]}
check(sorted(by) == [0, 1, 2, 3, 4], "five nodes, indices 0..4")
check([by[i]["node"] for i in range(5)] == [node_hex(i) for i in range(5)],
      "node ids in input order")
want = ["reference", "aligned", "aligned", "unaligned", "inconsistent"]
check([by[i]["status"] for i in range(5)] == want,
      "statuses %s" % [by[i]["status"] for i in range(5)])
check((by[1]["hops"], by[1]["via"]) == (1, 0), "node1: one hop to node0")
check((by[2]["hops"], by[2]["via"]) == (2, 1), "node2: through node1")
check(by[1]["pairs"] == 990 and by[2]["pairs"] == 1990,
      "pairs on the paths: %s %s" % (by[1]["pairs"], by[2]["pairs"]))
check(by[2]["bound_us"] > by[1]["bound_us"], "bounds add up along the path")
check(by[3]["bound_us"] is None and by[3]["min_rtt_us"] is None and
      by[3]["best_bound_us"] is None,
      "an unaligned node's bounds and round trip are null")
check(by[0]["best_bound_us"] == 0 and by[0]["best_at_us"] == by[0]["t0_us"],
      "the reference's best bound is 0, at its t0")
check(by[3]["offset_us"] == 0 and by[4]["offset_us"] == 0,
      "nodes left as recorded have offset 0")
check(abs(by[1]["drift_ppm"] - 50) < 5 and abs(by[2]["drift_ppm"] + 80) < 5,
      "drifts near the injected +50 and -80 ppm")
check_estimates(doc, 0)
check("node 3 (40414243): not aligned" in err and
      "node 4 (50515253): inconsistent" in err,
      "the nodes left as recorded are reported on stderr: " + err)

# --reference 2: everyone against node2's clock.
rc, out, err = run("clocks", "--json", "--reference", "2", *DUMPS)
check(rc == 0, "clocks --reference 2 exits 0")
doc = json.loads(out)
check(doc["reference"] == node_hex(2), "--reference 2 makes node2 reference")
by = {e["index"]: e for e in doc["nodes"]}
check(by[0]["status"] == "aligned" and by[0]["hops"] == 2,
      "node0 aligned through node1")
check(abs(by[0]["offset_us"] - 7e6) < 1e3, "node0 ~ +7 s against node2")
check_estimates(doc, 2)

# --max-drift: node2 runs 130 ppm from node1: over the 2 s span that is
# 260 us, which no line within 20 ppm fits; node1's 50 ppm from node0 still
# fits within its delays (its bound is then not to be trusted).
rc, out, err = run("clocks", "--json", "--max-drift", "20", *DUMPS)
doc = json.loads(out)
check(rc == 0 and [e["status"] for e in doc["nodes"]] ==
      ["reference", "aligned", "inconsistent", "unaligned", "inconsistent"],
      "--max-drift 20: node2's link contradicts it: %s" %
      [e["status"] for e in doc["nodes"]])
rc, out, err = run("clocks", "--json", "--max-drift", "200", *DUMPS)
doc = json.loads(out)
check(rc == 0 and doc["nodes"][2]["status"] == "aligned",
      "--max-drift 200 aligns node2")
check_estimates(doc, 0)

# The human table.
rc, out, err = run("clocks", *DUMPS)
check(rc == 0, "clocks exits 0")
rows = [l for l in out.splitlines() if re.match(r"^\d+ +[0-9a-f]{8} ", l)]
check(len(rows) == 5, "a row per node, got %d" % len(rows))
check(re.search(r"^1 +20212223 +aligned +\+2\.5000\d\ds +\+\d+\.\d+ppm +"
                r"\d+\.\dus +\d+\.\dus +0 +1 +990 +\d+\.\dus$", rows[1],
                re.M) is not None,
      "node1's row: " + rows[1])
check("unaligned" in rows[3] and "inconsistent" in rows[4],
      "status column")

# pairs: per direction, the unreceived packets, --list.
rc, out, err = run("pairs", *DUMPS)
check(rc == 0, "pairs exits 0")
lines = {l.split()[0] + ">" + l.split()[2]: l.split()
         for l in out.splitlines()[1:] if " -> " in l}
check(len(lines) == 7, "seven directions, got %d" % len(lines))
ab = lines.get("10111213>20212223")
check(ab is not None and ab[3] == "490" and ab[6] == "10" and ab[7] == "10",
      "node0 -> node1: 490 pairs, 10 unreceived, 10 declared lost: %s" % ab)
ba = lines.get("20212223>10111213")
check(ba is not None and ba[3] == "500" and ba[6] == "0",
      "node1 -> node0: 500 pairs, none unreceived")
# Delays 50 us + an exponential tail of mean 300 us: median ~258 us.
med = ab[4] if ab else ""
check(re.match(r"^2\d\d\.\dus$", med) is not None, "median delay " + med)
one_way = lines.get("40414243>10111213")
check(one_way is not None and one_way[4] == "-",
      "delays of an unaligned node are not shown")
rc, out, err = run("pairs", "--list", *DUMPS)
check(rc == 0, "pairs --list exits 0")
listed = [l for l in out.splitlines() if " -> " in l]
unreceived = [l for l in listed if "UNRECEIVED" in l]
check(len(listed) == 490 + 500 * 3 + 400 * 2 + 200 + 10,
      "every pair and unreceived packet listed, got %d" % len(listed))
check(len(unreceived) == 10 and
      all("declared lost" in l and "10111213 -> 20212223" in l
          for l in unreceived), "the 10 unreceived packets, declared lost")
times = [l.split()[0] for l in listed if "UNRECEIVED" not in l]
check(all(t.startswith("+") for t in times), "times from the first send")
ms = [float(t[:-2]) for t in times]
check(ms == sorted(ms), "pairs listed in send order on the aligned clocks")

# Usage errors, a file given twice, a file that is not a dump.
for args in (["--max-drift", "0"], ["--max-drift", "nan"], ["--max-drift"],
             ["--max-drift", "20000"], ["--max-drift", "5", "--max-drift", "6"],
             ["--reference"], ["--reference", "x"], ["--reference", "5"],
             ["--reference", "-1"], ["--reference", "0", "--reference", "1"]):
    rc, out, err = run("clocks", *args, *DUMPS)
    check(rc == 2 and "peertrace" in err, "clocks %s: exit 2, got %s" %
          (" ".join(args), rc))
rc, out, err = run("pairs", "--reference", "1", *DUMPS)
check(rc == 2, "pairs takes no --reference")
rc, out, err = run("clocks", "--json", DUMPS[0], DUMPS[1], DUMPS[1])
doc = json.loads(out) if rc == 0 else {"nodes": []}
check(rc == 0 and "the same node as" in err and len(doc["nodes"]) == 2 and
      doc["nodes"][1]["status"] == "aligned" and
      doc["nodes"][1]["pairs"] == 990,
      "a node given twice is one clock, its packets counted once")
bogus = os.path.join(WORK, "skew.json")
rc, out, err = run("clocks", DUMPS[0], bogus)
check(rc == 1 and "skew.json" in err, "a file that is not a dump: exit 1")
rc, out, err = run("clocks", "--help")
check(rc == 0 and "--reference INDEX" in out, "clocks --help")

exit_if_failed()
print("clocks: all checks passed")
