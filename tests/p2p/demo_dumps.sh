#!/usr/bin/env bash
# The P2P demo's files, read by the peertrace tool: runs the demo, then runs
# the very commands the demo prints (merge, stats, export svg/chrome) and
# checks that one request's trace id crossed at least three nodes.
# With "processes": one process per node, node 2 killed with SIGKILL at the
# end; its log file (.ptlog) must still give up its events.
# Usage: demo_dumps.sh P2P_DEMO PEERTRACE OUT_DIR inprocess|processes
set -euo pipefail
demo=$1
peertrace=$2
out=$3
mode=$4
fail() { echo "FAIL: $*" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A file of an earlier, bigger run must not survive into this run's glob.
echo stale >"$out/node9.ptd"
args=(--nodes 4 --loss 0.03 --seed 7 --chunks 6 --out "$out")
[ "$mode" = processes ] && args+=(--processes --crash-node 2)
timeout 90 "$demo" "${args[@]}" >"$work/demo.out" 2>"$work/demo.err" ||
  fail "demo exited $?: $(tail -5 "$work/demo.err")"

dumps=$(cd "$out" && ls ./*.ptd | tr '\n' ' ')
[ "$dumps" = "./node0.ptd ./node1.ptd ./node2.ptd ./node3.ptd " ] ||
  fail "dump files: $dumps"

# The request the demo's report showed, and the commands it suggests.
trace=$(sed -n 's/^  trace id \([0-9a-f]\{32\}\): .*/\1/p' "$work/demo.out")
[ -n "$trace" ] || fail "the demo showed no trace id"
command_line() { # the suggested command whose first argument is $1
  grep -E "^  [^ ]+ $1 " "$work/demo.out" | head -1 | sed 's/^  //'
}
merge=$(command_line merge)
[ -n "$merge" ] || fail "the demo suggests no merge command"
grep -qF "$peertrace merge $out/*.ptd" <<<"$merge" ||
  fail "suggested merge does not use this build's tool: $merge"
(cd "$work" && eval "$merge") >"$work/merge.out" || fail "$merge failed"
# The summary: TRACE START DURATION EVENTS HOPS then "a -> b -> c".
line=$(grep -E "^${trace:0:8} " "$work/merge.out" | tail -1)
[ -n "$line" ] || fail "trace ${trace:0:8} is not in the merge summary"
# Distinct node ids after the HOPS column (a dump with the wrong node's log
# would repeat one id).
nodes=$(awk '{for (i = 6; i <= NF; i++) if ($i != "->") print $i}' <<<"$line" |
  sort -u | wc -l)
[ "$nodes" -ge 3 ] || fail "trace ${trace:0:8} reached $nodes distinct nodes: $line"
echo "merge: trace ${trace:0:8} crossed $nodes nodes: ${line##*  }"

stats=$(command_line stats)
(cd "$work" && eval "$stats") >"$work/stats.out" || fail "$stats failed"
rows=$(grep -cE '^[0-9a-f]{8}  [0-9a-f]{8} ' "$work/stats.out" || true)
[ "$rows" -ge 8 ] || fail "stats has $rows node/peer rows (ring of 4: 8)"

svg=$(command_line "export svg")
(cd "$work" && eval "$svg") || fail "$svg failed"
grep -q "<svg" "$work/trace.svg" || fail "trace.svg is not an SVG"
if command -v xmllint >/dev/null; then
  xmllint --noout "$work/trace.svg" || fail "trace.svg is not well-formed"
fi
# The request is drawn: an arrow for each hop out and each reply back.
hops=$((nodes - 1))
arrows=$(grep -c 'marker-end="url(#arrow)"' "$work/trace.svg" || true)
[ "$arrows" -ge $((2 * hops)) ] ||
  fail "trace.svg has $arrows arrows for a request crossing $nodes nodes"
echo "svg: $arrows arrows for $hops hops"
chrome=$(command_line "export chrome")
(cd "$work" && eval "$chrome") || fail "$chrome failed"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["traceEvents"]' \
  "$work/trace.json" || fail "trace.json is not a Chrome trace"
"$peertrace" export otlp "$out"/*.ptd >"$work/otlp.json" || fail "otlp export"
python3 -m json.tool "$work/otlp.json" >/dev/null || fail "otlp is not JSON"
# Every app event of the request, on every node, carries its context's
# trace flags (the demo's requests are sampled and app-initiated, 0x05).
"$peertrace" export json --trace "$trace" "$out"/*.ptd >"$work/trace_all.json" ||
  fail "json export of trace ${trace:0:8}"
python3 - "$work/trace_all.json" <<'PY' || fail "app events without the request's trace flags"
import json, sys
events = [e for e in json.load(open(sys.argv[1]))["events"]
          if e["kind"] in ("app_start", "app_command", "app_end")]
bad = [e for e in events
       if (e["sampled"], e["debug"], e["app_initiated"]) != (True, False, True)]
assert len(events) >= 5 and not bad, (len(events), bad[:2])
print("app flags: %d app events of the trace carry sampled+app_initiated"
      % len(events))
PY
# qlog: one file per connection (qvis reads one trace per file); node0 has
# two connections in the demo's ring.
mkdir "$work/qlog"
"$peertrace" export qlog --split "$work/qlog" "$out/node0.ptd" >/dev/null ||
  fail "qlog export"
[ "$(ls "$work/qlog"/*.sqlog | wc -l)" -ge 2 ] || fail "qlog: a file per connection"

if [ "$mode" = processes ]; then
  grep -qF "$out/node2.ptlog  (its node died: events recovered)" \
    "$work/demo.out" || fail "the launcher did not recover node2's log"
  "$peertrace" show "$out/node2.ptlog" >"$work/show.out" 2>"$work/show.err" ||
    fail "show of the crashed node's log file failed"
  grep -q "writer died" "$work/show.err" || fail "show did not say node2 died"
  from_file=$(tail -1 "$work/show.out" | awk '{print $1}')
  in_dump=$(sed -n "s|^  $out/node2.ptd: \([0-9]*\) events|\1|p" "$work/demo.out")
  [ "$from_file" -gt 0 ] && [ "$from_file" = "$in_dump" ] ||
    fail "node2: $from_file events in its log file, $in_dump in its dump"
  echo "crashed node2: $from_file events recovered from its log file"
fi
echo "demo dumps checks passed ($mode)"
