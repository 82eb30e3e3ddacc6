"""sqlite.py P2P_DEMO PEERTRACE WORK: peertrace export sqlite and sql on the
P2P demo's real dumps (4 nodes, 3% loss), queried with the sqlite3 command
and checked against the dumps as the other commands read them: events per
kind and per node (export json), each node's clock (export json), packet
pairs per direction (peertrace pairs), every request's hops and their
packets (peertrace request), and the errors (no -o, bad SQL, an input as
output, an unwritable directory)."""
import json
import os
import re
import shutil
import subprocess
import sys

from cli_check import check, exit_if_failed, run_peertrace

DEMO, PT, WORK = sys.argv[1:4]


def run(*args):
    return run_peertrace(PT, *args, timeout=120)


def sql(db, query):
    out = subprocess.run(["sqlite3", db, query], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    return [line.split("|") for line in out.splitlines()]


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
subprocess.run([DEMO, "--nodes", "4", "--loss", "0.03", "--seed", "7",
                "--chunks", "6", "--out", os.path.join(WORK, "dumps")],
               check=True, capture_output=True, timeout=90)
dumps = sorted(os.path.join(WORK, "dumps", n)
               for n in os.listdir(os.path.join(WORK, "dumps")))
db = os.path.join(WORK, "demo.db")
rc, _, err = run("export", "sqlite", "-o", db, *dumps)
check(rc == 0 and os.path.exists(db), "export sqlite: %s %s" % (rc, err))
check(not [n for n in os.listdir(WORK) if n.startswith("demo.db.")],
      "no temporary file left")

# Events per kind and node, and the nodes' clocks: as export json has them.
doc = json.loads(run("export", "json", *dumps)[1])
want = {}
for e in doc["events"]:
    key = (str(e["node"]), e["kind"])
    want[key] = want.get(key, 0) + 1
got = {(n, k): int(c) for n, k, c in
       sql(db, "SELECT node, kind, count(*) FROM events GROUP BY 1, 2")}
check(got == want and len(want) > 20, "events per node and kind: %s vs %s" %
      (got, want))
nodes = sql(db, "SELECT node, node_id, clock_status, bound_us FROM nodes "
                "ORDER BY node")
check([[str(n["index"]), n["node_id"], n["clock"]["status"]]
       for n in doc["nodes"]] == [r[:3] for r in nodes],
      "nodes and clock statuses: %s" % nodes)
for n, r in zip(doc["nodes"], nodes):
    check(abs(float(r[3]) - n["clock"]["bound_us"]) < 0.001,
          "bound of node %s: %s vs %s" % (r[0], r[3], n["clock"]["bound_us"]))
# Decoded columns: a packet's fields, an app_end's, aligned vs raw time.
sample = sql(db, "SELECT count(*) FROM events WHERE kind = 'packet_sent' "
                 "AND (pn IS NULL OR size IS NULL OR space IS NULL OR conn "
                 "IS NULL)")
check(sample == [["0"]], "every packet_sent has pn, size, space, conn")
# STORE_CHUNK is DMAP command 1: named where the CLI has the app layer,
# DMAP/1 in builds without it (gcc-minimal).
ok = sql(db, "SELECT count(*), sum(ok), min(duration_us) > 0 FROM events "
             "WHERE kind = 'app_end' AND command IN ('STORE_CHUNK', 'DMAP/1')")
check(int(ok[0][0]) > 0 and ok[0][2] == "1", "app_end rows: %s" % ok)
# recovery_metrics: its six columns, as export json has the events (in
# time order per node and connection); latest and min NULL before the
# first RTT sample.
metrics_want = [[str(e["node"]), e["data"]["conn"]] +
                [str(e["data"][k]) if k not in ("latest_rtt_us", "min_rtt_us")
                 or e["data"]["min_rtt_us"] > 0 else ""
                 for k in ("latest_rtt_us", "min_rtt_us", "smoothed_rtt_us",
                           "rtt_variance_us", "cwnd", "bytes_in_flight")]
                for e in doc["events"] if e["kind"] == "recovery_metrics"]
metrics_want.sort(key=lambda r: (r[0], r[1]))  # stable: time order kept
metrics_got = sql(db, "SELECT node, conn, latest_rtt_us, min_rtt_us, "
                      "smoothed_rtt_us, rtt_variance_us, cwnd, "
                      "bytes_in_flight FROM events WHERE kind = "
                      "'recovery_metrics' ORDER BY node, conn, id")
check(metrics_got == metrics_want and len(metrics_want) > 100,
      "recovery_metrics rows (%d) as the events (%d)" %
      (len(metrics_got), len(metrics_want)))
sampled = sql(db, "SELECT count(*), sum(min_rtt_us <= latest_rtt_us AND "
                  "min_rtt_us <= smoothed_rtt_us) FROM events WHERE kind = "
                  "'recovery_metrics' AND min_rtt_us IS NOT NULL")
check(int(sampled[0][0]) > 0 and sampled[0][0] == sampled[0][1],
      "sampled metrics with min <= latest, smoothed: %s" % sampled)
others = sql(db, "SELECT count(*) FROM events WHERE kind <> "
                 "'recovery_metrics' AND (cwnd IS NOT NULL OR "
                 "smoothed_rtt_us IS NOT NULL)")
check(others == [["0"]], "metrics columns NULL for other kinds: %s" % others)
moved = sql(db, "SELECT node, count(*) FROM events WHERE time_us <> "
                "raw_time_us GROUP BY node")
check("0" not in [m[0] for m in moved],
      "the reference node's times are its recorded times: %s" % moved)

# Packet pairs per direction, as peertrace pairs counts them.
short = {r[0]: r[1][:8] for r in nodes}
pairs = {}
for line in run("pairs", *dumps)[1].splitlines():
    m = re.match(r"([0-9a-f]{8}) -> ([0-9a-f]{8})\s+(\d+)", line)
    if m:
        pairs[(m.group(1), m.group(2))] = int(m.group(3))
got = {(short[a], short[b]): int(c) for a, b, c in
       sql(db, "SELECT from_node, to_node, count(*) FROM packet_pairs "
               "GROUP BY 1, 2")}
check(got == pairs and sum(pairs.values()) > 50,
      "packet pairs per direction: %s vs %s" % (got, pairs))

# Hops of every request, as peertrace request shows them.
traces = [r[0] for r in sql(db, "SELECT DISTINCT trace FROM hops")]
check(len(traces) >= 6, "requests with hops: %d" % len(traces))
for trace in traces:
    text = run("request", trace, *dumps)[1]
    shown = re.findall(r"hop (\d+): (request|reply)\s+([0-9a-f]{8}) -> "
                       r"([0-9a-f?]+)", text)
    # Per hop block: its packets ("N (...)", "N LOST", "A..B (K packets"),
    # losses and retransmissions.
    blocks = re.split(r"\n  hop \d+: ", text)[1:]
    shown_packets = []
    for b in blocks:
        # A range "A..B (K packets" counts K: it may skip numbers (packets
        # of other streams), so B - A + 1 would overcount.
        n = sum(int(k) if k else int(e or a) - int(a) + 1 for a, e, k in
                re.findall(r"(\d+)(?:\.\.(\d+))? (?:\((?:(\d+) packets)?|LOST)",
                           b))
        shown_packets.append((n, b.count("LOST"), b.count("(retransmits ")))
    rows = sql(db, "SELECT hop, kind, substr(sender_id, 1, 8), "
                   "coalesce(substr(receiver_id, 1, 8), '?'), packets, lost, "
                   "retransmissions FROM request_hops WHERE trace = '%s' "
                   "ORDER BY hop" % trace)
    check([tuple(r[:4]) for r in rows] == shown,
          "hops of %s: %s vs %s" % (trace, rows, shown))
    got_packets = [tuple(int(x) for x in r[4:]) for r in rows]
    check(got_packets == shown_packets, "hop packets, lost, retransmissions "
          "of %s: %s vs %s" % (trace, got_packets, shown_packets))
    counted = sql(db, "SELECT hop, count(*) FROM hop_packets WHERE trace = "
                      "'%s' GROUP BY hop ORDER BY hop" % trace)
    check([int(c) for _, c in counted] == [int(r[4]) for r in rows
                                           if int(r[4]) > 0],
          "hop_packets of %s: %s" % (trace, counted))

# peertrace sql: one query, answered from a temporary database, as sqlite3
# prints it.
rc, out, err = run("sql", "SELECT kind, count(*) AS n FROM events WHERE "
                   "kind LIKE 'packet%' GROUP BY kind ORDER BY kind", *dumps)
direct = sql(db, "SELECT kind, count(*) FROM events WHERE kind LIKE "
                 "'packet%' GROUP BY kind ORDER BY kind")
check(rc == 0 and out == "kind|n\n" + "".join("|".join(r) + "\n"
                                              for r in direct),
      "sql prints the rows: %s %s" % (out, err))
rc, out, _ = run("sql", "SELECT count(*) FROM events", "--kind", "app_end",
                 *dumps)
check(rc == 0 and out.splitlines()[1] == str(sum(
    v for (n, k), v in want.items() if k == "app_end")), "sql with a filter")
rc, _, err = run("sql", "SELECT x FROM nowhere", *dumps)
check(rc == 1 and "no such table: nowhere" in err, "bad SQL: %s" % err)
rc, _, err = run("sql", "SELECT 1; SELECT 2", *dumps)
check(rc == 1 and "one SQL statement" in err, "two statements: %s" % err)

# sql's temporary database: nothing left in TMPDIR after an answer or an
# error; an unusable TMPDIR is named, with what to do.
tmpdir = os.path.join(WORK, "tmp")
os.makedirs(tmpdir)
env = dict(os.environ, TMPDIR=tmpdir)
rc, out, err = run_peertrace(PT, "sql", "SELECT count(*) FROM events",
                             *dumps, timeout=120, env=env)
check(rc == 0 and out.splitlines()[1] == str(sum(want.values())) and
      os.listdir(tmpdir) == [], "sql in TMPDIR: %s %s %s" %
      (out, err, os.listdir(tmpdir)))
rc, _, err = run_peertrace(PT, "sql", "SELECT x FROM nowhere", *dumps,
                           timeout=120, env=env)
check(rc == 1 and os.listdir(tmpdir) == [],
      "sql leaves nothing in TMPDIR: %s %s" % (os.listdir(tmpdir), err))
env["TMPDIR"] = os.path.join(WORK, "no-such-dir")
rc, _, err = run_peertrace(PT, "sql", "SELECT 1", *dumps, timeout=120,
                           env=env)
check(rc == 1 and "cannot create a temporary database in " + env["TMPDIR"]
      in err and "set TMPDIR" in err, "sql, unusable TMPDIR: %s" % err)

# Errors: no -o, an input as output, an unwritable place.
rc, _, err = run("export", "sqlite", *dumps)
check(rc == 2 and "-o FILE.db" in err, "export sqlite without -o: %s" % err)
before = open(dumps[0], "rb").read()
rc, _, err = run("export", "sqlite", "-o", dumps[0], *dumps)
check(rc == 1 and "is also an input" in err and
      open(dumps[0], "rb").read() == before, "-o an input: %s" % err)
rc, _, err = run("export", "sqlite", "-o", "/nonexistent/x.db", *dumps)
check(rc == 1 and "cannot create" in err, "unwritable: %s" % err)
# An existing database is replaced whole, never appended to.
rc, _, err = run("export", "sqlite", "-o", db, "--kind", "app_end", *dumps)
check(rc == 0 and sql(db, "SELECT count(DISTINCT kind) FROM events") ==
      [["1"]], "a second export replaces the file: %s" % err)

exit_if_failed()
print("sqlite: all checks passed (%d requests, %d packet pairs)" %
      (len(traces), sum(pairs.values())))
