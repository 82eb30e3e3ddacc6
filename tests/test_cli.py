#!/usr/bin/env python3
"""test_cli.py PEERTRACE SAMPLES WORKDIR NAMES: runs the peertrace command on the
sample dumps (tests/make_sample_dumps.c) and checks its output and exit
codes: aligned columns, short ids, relative times, filters, recent, stats,
merge, --help on every command, colour only when asked or on a terminal,
and errors that name the file and exit non-zero.  NAMES is 1 if this
peertrace names DMAP's commands through the app registry, else 0."""
import json
import os
import re
import resource
import signal
import subprocess
import sys

PT, SAMPLES, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
NAMES = sys.argv[4] == "1"
CLIENT = os.path.join(SAMPLES, "client.ptd")
ALL = [os.path.join(SAMPLES, n) for n in ("client.ptd", "relay.ptd", "storage.ptd")]
failures = []


def run(*args, stdout=subprocess.PIPE):
    """(exit code, stdout, stderr); exit code None if it hung (10 s)."""
    try:
        p = subprocess.run([PT, *args], stdout=stdout, stderr=subprocess.PIPE,
                           text=True, env={**os.environ, "NO_COLOR": ""},
                           timeout=10)
    except subprocess.TimeoutExpired:
        return None, "", "(hung: killed after 10 s)"
    return p.returncode, p.stdout or "", p.stderr


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what)


def event_rows(out):
    return [l for l in out.splitlines() if re.match(r"^[+-]\d+\.\d{3}ms ", l)]


# show: header and every event, aligned, short ids, relative times.
rc, out, err = run("show", CLIENT)
check(rc == 0, "show exits 0")
check("format v3, 13 events of 256 slots, 0 overwritten, 0 dropped" in out,
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
check(rc == 1 and "missing.ptd: No such file or directory" in err,
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

# ---- Every bad input gets a clear answer (issue 11) ------------------------
def absent(name):
    """WORK/name, removed if an earlier run left it."""
    path = os.path.join(WORK, name)
    if os.path.lexists(path):
        os.unlink(path)
    return path


# Non-regular files: refused at once with what they are, never a hang.
fifo = absent("cli.fifo")
os.mkfifo(fifo)
for args in (["show", fifo], ["tail", fifo], ["export", "json", fifo]):
    rc, _, err = run(*args)
    check(rc == 1 and "cli.fifo: is a FIFO (named pipe)" in err,
          "%s of a FIFO: refused, no hang (exit %s: %s)" % (args[0], rc, err))
rc, _, err = run("show", WORK)
check(rc == 1 and "is a directory" in err, "a directory: " + err)
rc, _, err = run("show", "/dev/null")
check(rc == 1 and "/dev/null: is a character device" in err, "/dev/null: " + err)


def symlink(name, target):
    path = absent(name)
    os.symlink(target, path)
    return path


# Symlinks are followed for reading; each broken case says what is wrong.
link = symlink("link.ptd", CLIENT)
rc, out, err = run("show", link)
_, direct, _ = run("show", CLIENT)
check(rc == 0 and event_rows(out) == event_rows(direct),
      "show through a symlink reads the dump (exit %s: %s)" % (rc, err))
rc, _, err = run("show", symlink("null.ptd", "/dev/null"))
check(rc == 1 and "null.ptd: is a character device (/dev/null)" in err,
      "symlink to /dev/null: " + err)
rc, _, err = run("show", symlink("dir.ptd", WORK))
check(rc == 1 and "dir.ptd: is a directory (" in err, "symlink to a dir: " + err)
rc, _, err = run("show", symlink("dangling.ptd", "nowhere.ptd"))
check(rc == 1 and "dangling.ptd: dangling symbolic link: its target "
      "nowhere.ptd: No such file or directory" in err, "dangling: " + err)
rc, _, err = run("show", symlink("loop.ptd", "loop.ptd"))
check(rc == 1 and "loop.ptd: Too many levels of symbolic links" in err,
      "symlink loop: " + err)
# A file with a log file's magic is a (damaged) log, not a "bad dump".
damaged = os.path.join(WORK, "damaged.ptlog")
open(damaged, "wb").write(b"PTLOG\r\n\x1a" + bytes(200))
rc, _, err = run("show", damaged)
check(rc == 1 and "damaged.ptlog: damaged peertrace log file" in err and
      "dump" not in err, "a damaged log file: " + err)

# Options that cannot mean anything are usage errors (exit 2).
for args, what in (
        (["--since", "+6ms", "--until", "+5ms"], "is not before --until"),
        (["--since", "+5ms", "--until", "+5ms"], "is not before --until"),
        (["--kind", ""], "empty list of event kinds"),
        (["--kind", "app_end,,app_start"], "empty event kind"),
        (["--kind", "app_end,"], "empty event kind"),
        (["--trace", "4bf9", "--trace", "7e57"], "--trace: given twice"),
        (["--peer", "a1", "--peer", "b2"], "--peer: given twice")):
    rc, _, err = run("filter", *args, CLIENT)
    check(rc == 2 and what in err, "filter %s: exit %s, %s" % (args, rc, err))
for args in (["0"], ["-n", "0"], ["-n", "2", "-n", "3"], ["1000001"]):
    rc, _, err = run("recent", *args, CLIENT)
    check(rc == 2 and "N " in err, "recent %s: exit %s, %s" % (args, rc, err))
rc, _, err = run("export", "json", "-o", os.path.join(WORK, "a.json"), "-o",
                 os.path.join(WORK, "b.json"), CLIENT)
check(rc == 2 and "-o given twice" in err, "-o twice: " + err)


# --trace names one trace: a prefix of several is ambiguous (candidates
# listed, as git does for a short hash), one of none is an error, and
# neither leaves an output file.
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def retrace(src, old, new, dst):
    """src with trace id prefix old replaced by new, checksums redone."""
    data = bytearray(open(src, "rb").read())
    count = min(int.from_bytes(data[32:40], "little"),
                max(0, (len(data) - 144) // 136))  # a damaged src: no hang
    for r in range(count):
        at = 128 + 136 * r + 16  # ticket (8), then the event's time (8)
        if data[at:at + len(old)] == old:
            data[at:at + len(new)] = new
    end = 128 + 136 * count
    data[end + 8:end + 12] = crc32c(data[128:end]).to_bytes(4, "little")
    open(dst, "wb").write(data)


ambiguous = os.path.join(WORK, "ambiguous.ptd")
retrace(CLIENT, bytes.fromhex("7e57a11c"), bytes.fromhex("4bf9aaaa"), ambiguous)
rc, out, err = run("filter", "--trace", "4BF9aaaa", ambiguous)
check(rc == 0 and len(event_rows(out)) == 2, "the rewritten dump reads: " + err)
for args in (["filter"], ["export", "svg"],
             ["export", "qlog", "-o", absent("amb.sqlog")]):
    rc, _, err = run(*args, "--trace", "4bf9", ambiguous)
    check(rc == 2 and "trace id prefix '4bf9' is ambiguous; candidates: "
          "4bf92f3577b34da6a3ce929d0e0e4736, 4bf9aaaae0000000000000000000beef"
          in err, "%s: ambiguous --trace: exit %s, %s" % (args, rc, err))
check(not os.path.exists(os.path.join(WORK, "amb.sqlog")),
      "an ambiguous --trace leaves no output file")
rc, out, _ = run("filter", "--trace", "4bf92", ambiguous)
check(rc == 0 and len(event_rows(out)) == 11, "a longer prefix is unique")
nothing = absent("nothing.sqlog")
for args in (["stats"], ["export", "qlog", "-o", nothing]):
    rc, _, err = run(*args, "--trace", "ffff", CLIENT)
    check(rc == 1 and "no trace id starts with 'ffff'" in err,
          "%s: --trace matching nothing: exit %s, %s" % (args, rc, err))
check(not os.path.exists(nothing), "--trace matching nothing: no file")
# An export of no event at all writes no file either (qvis crashes on a
# header-only qlog).
rc, _, err = run("export", "qlog", "-o", nothing, "--kind", "conn_init",
                 "--until", "+0.01ms", CLIENT)
check(rc == 1 and "nothing to export" in err and not os.path.exists(nothing),
      "an export matching no event: exit %s, %s" % (rc, err))

# stats with no event at all (UBSan: qsort of a NULL array).
rc, out, err = run("stats", "--peer", "ffff", CLIENT)
check(rc == 0 and "SENT" in out and "a1a2a3a4" not in out,
      "stats of no events: exit %s, %s" % (rc, err))

# Write errors say why (disk full), wherever the output goes.
rc, _, err = run("export", "qlog", "-o", "/dev/full", CLIENT)
check(rc == 1 and "/dev/full: write failed: No space left on device" in err,
      "-o /dev/full: " + err)
with open("/dev/full", "w") as full:
    for args in (["show", CLIENT], ["export", "json", CLIENT], ["--version"]):
        rc, _, err = run(*args, stdout=full)
        check(rc == 1 and "stdout: write failed: No space left on device" in err,
              "%s > /dev/full: exit %s, %s" % (args, rc, err))

# A file the export created and could not finish is removed, not left
# incomplete (here the file size limit stops it: EFBIG).
def small_files():
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


big = absent("big.json")
p = subprocess.run([PT, "export", "json", "-o", big, *ALL], text=True,
                   capture_output=True, preexec_fn=small_files, timeout=10)
check(p.returncode == 1 and "big.json: write failed: File too large" in
      p.stderr and "big.json: removed (incomplete)" in p.stderr and
      not os.path.exists(big), "a failed export removes its file: " + p.stderr)

# Outputs never destroy an input, never follow a planted symlink.
# (On a copy: a peertrace that overwrote it must not spoil the samples.)
before = open(CLIENT, "rb").read()
own = absent("own.ptd")
open(own, "wb").write(before)
rc, _, err = run("export", "json", "-o", symlink("own-link.ptd", own), own)
check(rc == 1 and "is also an input" in err and
      open(own, "rb").read() == before, "-o an input: refused, " + err)
def empty_dir(name):
    """WORK/name, made or emptied."""
    path = os.path.join(WORK, name)
    if os.path.isdir(path):
        for entry in os.listdir(path):
            os.unlink(os.path.join(path, entry))
    else:
        os.mkdir(path)
    return path


split = empty_dir("split")
victim = absent("victim")
# The second trace's name: the first trace's file, already written, must
# go away with the failed split.
planted = os.path.join(split, "a1a2a3a4-7e57a11ce0000000000000000000beef.sqlog")
os.symlink(victim, planted)
rc, out, err = run("export", "qlog", "--split", split, CLIENT)
check(rc == 1 and "a1a2a3a4-7e57a11ce0000000000000000000beef.sqlog: already "
      "exists" in err and not os.path.exists(victim) and os.listdir(split) ==
      ["a1a2a3a4-7e57a11ce0000000000000000000beef.sqlog"],
      "--split refuses a planted symlink, leaves nothing: %s %s" %
      (err, os.listdir(split)))
untraced = os.path.join(WORK, "untraced.ptd")
retrace(CLIENT, bytes.fromhex("7e57a11ce0000000000000000000beef"), bytes(16),
        untraced)
rc, _, err = run("export", "qlog", "--split", split, "--since", "+11.9ms",
                 untraced)
check(rc == 1 and "none of the 2 matching events has a connection or trace id" in err,
      "--split of untraced events only: exit %s, %s" % (rc, err))
# One qlog file is one connection: the relay's two refused with -o, one
# picked with --conn (16 hex digits).
relay = os.path.join(SAMPLES, "skewed", "relay.ptd")
two = absent("two.sqlog")
rc, _, err = run("export", "qlog", "-o", two, relay)
check(rc == 1 and "one connection per file" in err and "--conn" in err and
      not os.path.exists(two), "qlog of two connections: %s %s" % (rc, err))
rc, _, err = run("export", "qlog", "--conn", "C11E47000000B2C3", "-o", two,
                 relay)
check(rc == 0 and '"group_id":"c11e47000000b2c3"' in open(two).read() and
      '"group_id":"c11e47000000a1b2"' not in open(two).read(),
      "--conn picks one connection: " + err)
rc, out, _ = run("filter", "--conn", "c11e47000000a1b2", relay)
check(rc == 0 and len(event_rows(out)) > 0 and
      all("conn=c11e47000000a1b2" in r for r in event_rows(out)),
      "filter --conn: only that connection's events")
for bad in ("c11e47", "zz11e47000000b2c3", "0000000000000000"):
    rc, _, err = run("filter", "--conn", bad, relay)
    check(rc == 2 and "--conn" in err, "--conn %s refused: %s" % (bad, err))
rc, _, err = run("export", "qlog", "--split", CLIENT, CLIENT)
check(rc == 1 and "client.ptd: Not a directory" in err, "--split FILE: " + err)
rc, out, err = run("export", "qlog", "--split", split, "--force", CLIENT)
check(rc == 0 and not os.path.exists(victim) and
      not os.path.islink(planted) and len(os.listdir(split)) == 2,
      "--split --force replaces the symlink itself: %s" % err)
rc, out, err = run("export", "qlog", "--split", split, CLIENT)
check(rc == 1 and "already exists" in err, "--split again: refused, " + err)
rc, _, err = run("export", "json", "--force", CLIENT)
check(rc == 2 and "--force is for --split" in err, "--force alone: " + err)

# --split has no fixed limit on files, and never holds one descriptor per
# file: 300 connections of one node (make_sample_dumps --conns 300), split
# with only 64 descriptors allowed.  Every file, read with a JSON parser,
# is one connection's trace with its vantage point, group id and events.
CONNS, NCONN, ROUNDS = os.path.join(SAMPLES, "conns", "conns.ptd"), 300, 40
many = empty_dir("split-many")


def few_files():
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


p = subprocess.run([PT, "export", "qlog", "--split", many, CONNS],
                   capture_output=True, text=True, preexec_fn=few_files,
                   timeout=60)
names = sorted(os.listdir(many))
check(p.returncode == 0 and len(names) == NCONN and
      p.stdout.startswith("%d qlog files written" % NCONN),
      "--split of %d connections under 64 fds: exit %s, %d files, %s" %
      (NCONN, p.returncode, len(names), p.stderr.strip()[:200]))
bad = []
for i in range(NCONN if len(names) == NCONN else 0):
    conn = "%016x" % (0xc0ee000000000000 + i)
    name = "a1a2a3a4-%s.sqlog" % conn
    try:
        records = [json.loads(r) for r in
                   open(os.path.join(many, name)).read().split("\x1e")[1:]]
    except (OSError, ValueError) as e:
        bad.append("%s: %s" % (name, e))
        continue
    trace = records[0]["trace"]
    events = records[1:]
    want = (["connectivity:connection_started"] if i % 2 == 0 else []) + \
        ["transport:packet_sent" if i % 2 == 0 else
         "transport:packet_received"] + \
        ["transport:packet_sent" if r % 2 == 0 else
         "transport:packet_received" for r in range(2, ROUNDS + 2)]
    pns = [e["data"]["header"]["packet_number"] for e in events
           if e["name"].startswith("transport:packet_")]
    sizes = {e["data"]["raw"]["length"] for e in events
             if e["data"].get("header", {}).get("packet_type") == "1RTT"}
    if (trace["vantage_point"]["type"] != ("client" if i % 2 == 0 else
                                           "server") or
            trace["common_fields"]["group_id"] != conn or
            [e["name"] for e in events] != want or
            pns != [0] + list(range(ROUNDS)) or sizes != {1000 + i}):
        bad.append("%s: %s %s %s" % (name, trace["vantage_point"],
                                     trace["common_fields"]["group_id"],
                                     [e["name"] for e in events][:3]))
check(not bad, "--split files of %d connections: %d wrong, e.g. %s" %
      (NCONN, len(bad), bad[:2]))

# Clocks: merge and export align by default and say so, per node.
rc, out, err = run("merge", *ALL)
clocks = [l for l in out.splitlines() if l.startswith("clock: ")]
check(rc == 0 and len(clocks) == 3 and
      clocks[0].startswith("clock: a1a2a3a4 ") and
      clocks[0].endswith(": reference: times as recorded"),
      "merge labels the reference's clock: %s" % clocks[:1])
# The samples carry no connection identities: nothing can be aligned, and
# that is said in the output and on stderr, never silently.
check(all(l.endswith("not aligned (no two-way connection to the others): "
                     "times as recorded") for l in clocks[1:]),
      "merge labels unaligned nodes: %s" % clocks[1:])
check("relay.ptd: clock not aligned" in err and
      "storage.ptd: clock not aligned" in err, "unaligned nodes on stderr")
SKEWED = [os.path.join(SAMPLES, "skewed", n)
          for n in ("client.ptd", "relay.ptd", "storage.ptd")]


def causality_violations(out):
    """Receives listed before their send; app_starts before the command
    that caused them on another node (same trace id)."""
    sent, commanded, bad = set(), set(), []
    for r in event_rows(out):
        f = r.split()
        node, trace, kind = f[1], f[2], f[4]
        pn = re.search(r" pn=(\d+) .*conn=(\w+)", r)
        if kind == "packet_sent":
            sent.add(pn.groups())
        elif kind == "packet_received" and pn.groups() not in sent:
            bad.append(r)
        elif kind == "app_command":
            commanded.add(trace)
        elif kind == "app_start" and node == "c3c4c5c6" and \
                trace not in commanded:
            bad.append(r)
    return bad


rc, out, err = run("merge", *SKEWED)
clocks = [l for l in out.splitlines() if l.startswith("clock: ")]
relay = re.search(r"relay.ptd: aligned to a1a2a3a4, offset ([-+]\d+\.\d+) s, "
                  r"drift [-+]\d+\.\d ppm, bound ±(\d+\.\d+) ms", out)
storage = re.search(r"storage.ptd: aligned to a1a2a3a4, offset "
                    r"([-+]\d+\.\d+) s", out)
check(rc == 0 and relay and storage and
      abs(float(relay.group(1)) + 2.5) * 1e3 <= float(relay.group(2)) and
      abs(float(storage.group(1)) - 1.2) < 0.002,
      "merge aligns the skewed nodes (relay -2.5 s, storage +1.2 s): %s %s"
      % (clocks, err))
check(err == "", "nothing unaligned to report: " + err)
bad = causality_violations(out)
check(rc == 0 and len(event_rows(out)) == 35 and not bad,
      "aligned merge: no receive before its send, no app_start before its "
      "command: %s" % bad[:3])
rc, out, err = run("merge", "--raw-time", *SKEWED)
clocks = [l for l in out.splitlines() if l.startswith("clock: ")]
check(rc == 0 and len(clocks) == 3 and
      all(l.endswith("times as recorded (--raw-time)") for l in clocks),
      "merge --raw-time labels every node: %s" % clocks)
# The same check on recorded times finds the skew: it can fail.
check(len(causality_violations(out)) >= 5,
      "raw merge of skewed clocks shows receives before sends")
rc, out, err = run("export", "json", *SKEWED)
nodes = json.loads(out)["nodes"] if rc == 0 else []
check([n["clock"]["times"] for n in nodes] == ["aligned"] * 3 and
      nodes[0]["clock"]["status"] == "reference",
      "export labels aligned times: %s" % [n.get("clock") for n in nodes])
rc, out, err = run("export", "json", "--raw-time", *SKEWED)
nodes = json.loads(out)["nodes"] if rc == 0 else []
check(len(nodes) == 3 and all(n["clock"]["times"] == "raw" for n in nodes),
      "export --raw-time labels recorded times")
rc, out, err = run("merge", SKEWED[0], SKEWED[1], SKEWED[1])
check(rc == 0 and out.count("relay.ptd: aligned to a1a2a3a4") == 2,
      "merge of one node's dump twice: one clock, aligned: " + err)
# Another reference: the relay's clock; the client is then 2.5 s ahead.
rc, out, err = run("merge", "--reference", "1", *SKEWED)
check(rc == 0 and "relay.ptd: reference: times as recorded" in out and
      re.search(r"client.ptd: aligned to b2b3b4b5, offset \+2\.49\d+ s", out),
      "merge --reference 1: " + out[:400])
for args, what in ((["--reference", "3"], "there are 3 inputs"),
                   (["--reference", "x"], "needs an input index"),
                   (["--reference", "0", "--reference", "1"], "given twice"),
                   (["--raw-time", "--reference", "1"], "not with --raw-time"),
                   (["--max-drift", "0"], "needs a rate in ppm")):
    rc, _, err = run("merge", *args, *SKEWED)
    check(rc == 2 and what in err, "merge %s: %s" % (args, err))
# --max-drift reaches the aligner: the samples' 11 ms do not pin a drift,
# so allowing 1 ppm instead of 500 narrows the relay's bound.
bounds = []
for args in ([], ["--max-drift", "1"]):
    rc, out, err = run("merge", *args, *SKEWED)
    m = re.search(r"relay.ptd: aligned .* bound ±(\d+\.\d+) ms", out)
    bounds.append(float(m.group(1)) if rc == 0 and m else None)
check(None not in bounds and bounds[1] < bounds[0],
      "merge --max-drift 1 narrows the bound: %s" % bounds)
rc, _, err = run("show", "--raw-time", CLIENT)
check(rc == 2 and "unknown option --raw-time" in err,
      "show has no --raw-time (it shows recorded times)")

# --version: the version of project() in CMakeLists.txt.
cmake = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                          "CMakeLists.txt")).read()
version = re.search(r"project\(peertrace VERSION ([0-9.]+)", cmake).group(1)
rc, out, _ = run("--version")
check(rc == 0 and out == "peertrace %s\n" % version, "--version: " + out)

if failures:
    print("%d checks failed" % len(failures))
    sys.exit(1)
print("test_cli: all checks passed")
