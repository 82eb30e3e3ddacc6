#!/usr/bin/env python3
"""test_cli.py PEERTRACE SAMPLES WORKDIR NAMES: runs the peertrace command on the
sample dumps (tests/make_sample_dumps.c) and checks its output and exit
codes: aligned columns, short ids, relative times, filters, recent, stats,
merge, --help on every command, colour only when asked or on a terminal,
and errors that name the file and exit non-zero.  NAMES is 1 if this
peertrace names DMAP's commands through the app registry, else 0."""
import os
import re
import subprocess
import sys

PT, SAMPLES, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
NAMES = sys.argv[4] == "1"
CLIENT = os.path.join(SAMPLES, "client.ptd")
ALL = [os.path.join(SAMPLES, n) for n in ("client.ptd", "relay.ptd", "storage.ptd")]
failures = []


def run(*args):
    p = subprocess.run([PT, *args], capture_output=True, text=True,
                       env={**os.environ, "NO_COLOR": ""})
    return p.returncode, p.stdout, p.stderr


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what)


def event_rows(out):
    return [l for l in out.splitlines() if re.match(r"^[+-]\d+\.\d{3}ms ", l)]


# show: header and every event, aligned, short ids, relative times.
rc, out, err = run("show", CLIENT)
check(rc == 0, "show exits 0")
check("format v1, 13 events of 256 slots, 0 overwritten, 0 dropped" in out,
      "show prints the header")
rows = event_rows(out)
check(len(rows) == 13, "show prints 13 events, got %d" % len(rows))
check(rows[0].startswith("+0.000ms ") and "a1a2a3a4  4bf92f35" in rows[0],
      "times relative to the start, ids shortened to 8 hex digits")
check(len({r.index("4bf92f35") for r in rows if "4bf92f35" in r}) == 1,
      "columns aligned")
check("\033[" not in out, "no colour when stdout is not a terminal")
rc, out, _ = run("show", "--color=always", CLIENT)
check("\033[" in out, "--color=always colours")

# filter
rc, out, _ = run("filter", "--trace", "7e57", *ALL)
rows = event_rows(out)
check(rc == 0 and len(rows) == 2, "filter --trace by prefix")
check(rows and rows[0].startswith("+0.000ms ") and
      rows[-1].startswith("+0.450ms "), "times relative to the trace's start")
rc, out, _ = run("filter", "--kind", "packet_lost,app_end", *ALL)
check(len(event_rows(out)) == 4, "filter --kind with two kinds")
rc, out, _ = run("filter", "--peer", "C3C4", *ALL)
check(len(event_rows(out)) == 2, "filter --peer (case-insensitive prefix)")
rc, out, _ = run("filter", "--since", "+5.8ms", "--until", "+6ms", *ALL)
rows = event_rows(out)
check(len(rows) == 2 and "packet_lost" in rows[0],
      "filter --since/--until relative times")
rc, out, _ = run("filter", "--since", "1764115200012000", *ALL)
check(len(event_rows(out)) == 2, "filter --since absolute Unix us")
rc, _, err = run("filter", "--kind", "bogus", CLIENT)
check(rc == 2 and "unknown event kind \"bogus\"" in err, "bad --kind: exit 2")
rc, _, err = run("filter", "--since", "+5parsecs", CLIENT)
check(rc == 2 and "bad time" in err, "bad time: exit 2")
rc, _, err = run("filter", "--trace", "xyz", CLIENT)
check(rc == 2 and "not hex" in err, "bad --trace: exit 2")

# App commands: named through the registry when the CLI knows DMAP.
rc, out, _ = run("filter", "--kind", "app_end", *ALL)
rows = event_rows(out)
if NAMES:
    check(len(rows) == 3 and "app_end          STORE_CHUNK app_id=DMAP cmd=1"
          in rows[0] and "GET_CHUNK app_id=DMAP cmd=2" in rows[2],
          "app commands named (STORE_CHUNK, GET_CHUNK)")
else:
    check(len(rows) == 3 and "app_end          app_id=DMAP cmd=1" in rows[0],
          "app commands as app id and number")

# recent
rc, out, _ = run("recent", "3", *ALL)
rows = event_rows(out)
check(rc == 0 and len(rows) == 3 and "app_end" in rows[-1]
      and "3 of 35 matching events" in out, "recent 3 of the merged dumps")
rc, out, _ = run("recent", "-n", "2", "--kind", "packet_sent", CLIENT)
rows = event_rows(out)
check(len(rows) == 2 and "pn=4" in rows[-1], "recent -n with a filter")

# stats: the client's connection to the relay.
rc, out, _ = run("stats", *ALL)
line = [l for l in out.splitlines() if l.startswith("a1a2a3a4  b2b3b4b5")]
check(rc == 0 and len(line) == 1, "stats has a client->relay row")
if line:
    f = line[0].split()
    check(f[2:9] == ["5", "1", "1", "20.00", "5200", "60", "1.800"],
          "stats sent/recv/lost/loss/bytes/rtt: " + " ".join(f[2:9]))

# merge: one timeline, crossings marked, a line per trace with its path.
rc, out, _ = run("merge", *ALL)
rows = event_rows(out)
check(rc == 0 and len(rows) == 35, "merge prints all 35 events")
times = [float(r.split("ms")[0]) for r in rows]
check(times == sorted(times), "merge is ordered by time")
check(any("<- a1a2a3a4" in r for r in rows), "merge marks crossings")
check(re.search(r"4bf92f35 .* a1a2a3a4 -> b2b3b4b5 -> c3c4c5c6", out),
      "merge shows the trace's path across nodes")

# merge --by-trace: one timeline per trace, each from its own start.
rc, out, _ = run("merge", "--by-trace", *ALL)
heads = [l for l in out.splitlines() if l.startswith("trace ")]
check(rc == 0 and len(heads) == 2 and
      heads[0].startswith("trace 4bf92f3577b34da6a3ce929d0e0e4736: 33 events"),
      "merge --by-trace prints one group per trace, by start")
rows = event_rows(out)
check(len(rows) == 35 and rows[33].startswith("+0.000ms ") and
      "7e57a11c" in rows[33], "each group's times count from its start")
rc, _, err = run("merge", "--by-trace", "--bogus", *ALL)
check(rc == 2, "merge rejects unknown options")

# --help everywhere.
for cmd in ("show", "filter", "recent", "stats", "merge", "export", "tail"):
    rc, out, _ = run(cmd, "--help")
    check(rc == 0 and out.startswith("usage: peertrace " + cmd),
          cmd + " --help")
rc, out, _ = run("--help")
check(rc == 0 and "commands:" in out, "peertrace --help")

# Errors name the file and the problem, exit non-zero.
rc, _, err = run("show", os.path.join(WORK, "missing.ptd"))
check(rc == 1 and "missing.ptd: not found: no such file" in err,
      "missing file")
data = bytearray(open(CLIENT, "rb").read())
data[600] ^= 0xFF
bad = os.path.join(WORK, "flipped.ptd")
open(bad, "wb").write(data)
rc, _, err = run("merge", CLIENT, bad)
check(rc == 1 and "flipped.ptd: dump checksum mismatch" in err,
      "corrupted file in a merge")
short = os.path.join(WORK, "short.ptd")
open(short, "wb").write(data[:300])
rc, _, err = run("stats", short)
check(rc == 1 and "short.ptd: dump file truncated" in err, "truncated file")
rc, _, err = run("show", "/etc/hostname")
check(rc == 1 and "not a peertrace dump file" in err, "not a dump")
rc, _, err = run("frobnicate")
check(rc == 2 and "unknown command" in err, "unknown command")
rc, _, err = run("show")
check(rc == 2 and "no dump file" in err, "no input")
rc, _, err = run("export", "xml", CLIENT)
check(rc == 2 and "unknown format" in err, "unknown export format")
rc, _, err = run("export", "qlog", *ALL)
check(rc == 2 and "exactly one dump" in err, "qlog of several nodes refused")
rc, _, err = run("export", "json", "-o", "/nonexistent/x.json", CLIENT)
check(rc == 1 and "/nonexistent/x.json: cannot create" in err,
      "unwritable output")
rc, _, err = run("export", "json", "-o", "/dev/full", CLIENT)
check(rc == 1 and "/dev/full" in err, "write error (disk full) reported")

if failures:
    print("%d checks failed" % len(failures))
    sys.exit(1)
print("test_cli: all checks passed")
