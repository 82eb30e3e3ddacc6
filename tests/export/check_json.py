#!/usr/bin/env python3
"""check_json.py KIND FILE: parses an export with Python's json module and
checks its structure.  KIND is json (peertrace's own) or chrome (Chrome
trace event format as Perfetto reads it).  Every node must carry a clock
label; the summary lists them ("clocks", by node / process).  Exit 1 with a reason on failure."""
import json
import sys


def fail(msg):
    print("check_json: " + msg, file=sys.stderr)
    sys.exit(1)


def check_clock(clock, where):
    """A clock label (pt_exporter_set_clock): times aligned or raw."""
    if not isinstance(clock, dict):
        fail("%s: no clock label" % where)
    if clock.get("times") not in ("aligned", "raw"):
        fail("%s: clock times %r is not aligned or raw" % (where, clock.get("times")))
    if clock.get("status") not in ("reference", "aligned", "unaligned",
                                   "inconsistent", "unsolved", "none"):
        fail("%s: unknown clock status %r" % (where, clock.get("status")))
    return clock


def check_peertrace(doc):
    if doc.get("format") != "peertrace" or doc.get("version") != 1:
        fail("missing format/version")
    nodes = doc["nodes"]
    clocks = [check_clock(n.get("clock"), "node %d" % i)
              for i, n in enumerate(nodes)]
    events = doc["events"]
    last = 0
    for e in events:
        for key in ("node", "title", "timestamp_us", "kind", "trace_id",
                    "sequence", "peer_id", "data"):
            if key not in e:
                fail("event without %s: %r" % (key, e))
        if not 0 <= e["node"] < len(nodes):
            fail("event of an unknown node")
        if e["timestamp_us"] < last:
            fail("events out of time order")
        last = e["timestamp_us"]
        if len(e["trace_id"]) != 32:
            fail("trace id is not 32 hex digits")
    kinds = {}
    for e in events:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    return {"nodes": len(nodes), "events": len(events), "kinds": kinds,
            "clocks": clocks}


def check_chrome(doc):
    events = doc["traceEvents"]
    pids = set()
    names = set()
    slices = instants = 0
    flows = {}
    clocks = {}
    for e in events:
        ph = e.get("ph")
        if ph not in ("M", "X", "i", "s", "f", "C"):
            fail("unexpected phase %r" % ph)
        if not isinstance(e.get("pid"), int) or not isinstance(e.get("tid"), int):
            fail("pid/tid must be integers: %r" % e)
        if ph == "M":
            if e["name"] == "process_name":
                pids.add(e["pid"])
                names.add(e["args"]["name"])
            elif e["name"] == "process_labels":
                if not isinstance(e["args"].get("labels"), str):
                    fail("process_labels without a labels string")
                clocks[e["pid"]] = check_clock(e["args"].get("clock"),
                                               "process %d" % e["pid"])
            continue
        if e["pid"] not in pids:
            fail("event of a process without process_name metadata")
        if not isinstance(e.get("ts"), (int, float)):
            fail("ts must be a number")
        if "bind_id" in e or "flow_in" in e or "flow_out" in e:
            fail("v2 flow fields (flows are s/f events)")
        if ph == "X":
            slices += 1
            if not isinstance(e.get("dur"), (int, float)) or e["dur"] < 0:
                fail("complete event without a valid dur")
        elif ph in ("s", "f"):
            int(e["id"], 16)  # 64-bit hex id
            flows.setdefault(e["id"], set()).add(e["pid"])
        elif ph == "C":
            if not e.get("args") or not all(
                    isinstance(v, (int, float)) for v in e["args"].values()):
                fail("counter without numeric args")
        else:
            instants += 1
            if e.get("s") not in ("t", "p", "g"):
                fail("instant without scope")
    if set(clocks) != pids:
        fail("processes without a clock label: %r" % sorted(pids - set(clocks)))
    cross = sum(1 for pids_ in flows.values() if len(pids_) > 1)
    widest = max((len(p) for p in flows.values()), default=0)
    return {"processes": len(pids), "slices": slices, "instants": instants,
            "cross_node_flows": cross, "widest_flow_nodes": widest,
            "clocks": [clocks[p] for p in sorted(clocks)]}


def main():
    kind, path = sys.argv[1], sys.argv[2]
    expect = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)  # strict RFC 8259 parse
    summary = check_peertrace(doc) if kind == "json" else check_chrome(doc)
    for key, value in expect.items():
        if summary.get(key) != value:
            fail("%s: expected %r, got %r" % (key, value, summary.get(key)))
    print("check_json: %s valid: %s" % (kind, json.dumps(summary)))


main()
