#!/usr/bin/env python3
"""write_cost: the write path's cost, held by a count that repeats.

Runs bench/pt_bench_ir (PT_PACKET_SENT into a default log of 65536 events,
one thread, after a warm-up of two laps) under callgrind, collecting only
bench_ir_measured, and divides the instructions collected by the events
written.  Fails if that is over BUDGET instructions per event: the hot path
of src/pt_log_write.c grew (see the rules at the top of that file).  Also
fails below FLOOR, a count no write reaches (the 16 slot stores, two
sequence stores and the clock read alone are more): the measurement missed
the write.

Usage: write_cost.py VALGRIND PT_BENCH_IR BUDGET OUTDIR
"""
import os
import re
import subprocess
import sys

EVENTS = 1 << 16
FLOOR = 30


def main():
    valgrind, bench, budget, outdir = sys.argv[1:5]
    budget = float(budget)
    os.makedirs(outdir, exist_ok=True)
    out = os.path.join(outdir, "callgrind.write_cost")
    run = subprocess.run(
        [valgrind, "--tool=callgrind", "--toggle-collect=bench_ir_measured",
         "--callgrind-out-file=" + out, bench, "--events", str(EVENTS),
         "--macro"], capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        print(run.stdout + run.stderr)
        print("FAIL: valgrind or pt_bench_ir failed")
        return 1
    # The bench says what it recorded: every event must be in the ring.
    m = re.search(r"(\d+) events measured .* dropped (\d+);", run.stdout)
    if not m or int(m.group(1)) != EVENTS or int(m.group(2)) != 0:
        print(run.stdout)
        print("FAIL: pt_bench_ir did not record every event")
        return 1
    total = None
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    if total is None:
        print("FAIL: no instruction total in " + out)
        return 1
    per_event = total / EVENTS
    print("PT_PACKET_SENT: %.2f instructions per event (budget %.1f, "
          "callgrind, %d events)" % (per_event, budget, EVENTS))
    if per_event < FLOOR:
        print("FAIL: below %d: the measurement missed the write" % FLOOR)
        return 1
    if per_event > budget:
        print("FAIL: over budget: the write path grew (src/pt_log_write.c)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
