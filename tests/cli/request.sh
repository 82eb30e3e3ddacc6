#!/usr/bin/env bash
# `peertrace request` and `merge --trace`: the hops of tests/test_request.c's
# two-hop request (written as dumps by `test_request --dumps`), with the
# lost packet 6, its retransmission 7 and the recovery time; the same with
# node B's clock 2.5 s ahead (aligned from the packets); and its SVG.
# The reply of tests/make_run_dumps.c: four plain packets in a row are one
# item (and one SVG arrow), three are not.
# With SAMPLES (tests/make_sample_dumps.c's dumps, which record no streams):
# a request without a stream, and a trace without hops, say so.
# Usage: request.sh TEST_REQUEST MAKE_RUN_DUMPS PEERTRACE OUT_DIR [SAMPLES]
set -euo pipefail
maker=$1
run_maker=$2
peertrace=$3
out=$4
samples=${5:-}
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
"$maker" --dumps "$out" || fail "could not write the dumps"
dumps=("$out"/node0.ptd "$out"/node1.ptd "$out"/node2.ptd)

"$peertrace" request 7777 "${dumps[@]}" >"$out/request.out" ||
  fail "peertrace request exited $?"
cat >"$out/expected" <<'TXT'

hops of trace 77777777777777777777777777777777 (times from the trace's first event, on node 10101010's clock, 2 nodes aligned to it (bound B us); packets: +time received after the hop was sent)
  hop 1: request 10101010 -> 11111111  NAME  sent +0.010ms, started +0.165ms, ended +0.405ms, ok
    stream 0 of conn ab000000, bytes 0..1999: packets 5 (1200 B, +0.102ms), 6 LOST,
       7 (retransmits 6's bytes 1100..1999, +0.150ms): recovered in 0.147 ms
  hop 2: request 11111111 -> 12121212  NAME  sent +0.170ms, started +0.275ms, ended +0.300ms, ok
    stream 4 of conn bc000000, bytes 0..499: packets 3 (560 B, +0.102ms)
  hop 3: reply   12121212 -> 11111111  NAME  sent +0.300ms, received +0.405ms, ok
    stream 4 of conn bc000000, bytes 0..299: packets 10 (360 B, +0.101ms)
  hop 4: reply   11111111 -> 10101010  NAME  sent +0.405ms, received +0.510ms, ok
    stream 0 of conn ab000000, bytes 0..99: packets 5 (160 B, +0.101ms)
TXT
# The command's name depends on whether the tool knows DMAP (GET_CHUNK or
# DMAP/2), the bound on how pt_align works: compare with them replaced.
normal() { sed -E 's/  (GET_CHUNK|DMAP\/2)  /  NAME  /; s/\(bound [0-9.]+ us\)/(bound B us)/'; }
normal <"$out/request.out" >"$out/request.cmp"
diff -u "$out/expected" "$out/request.cmp" || fail "request output differs"

# B's clock 2.5 s ahead: the same times once aligned.
mkdir -p "$out/skewed"
"$maker" --dumps "$out/skewed" 2500000 || fail "could not write the skewed dumps"
"$peertrace" request 7777 "$out"/skewed/node{0,1,2}.ptd | normal >"$out/skewed.cmp" ||
  fail "peertrace request (skewed) failed"
diff -u "$out/expected" "$out/skewed.cmp" || fail "skewed request output differs"
# --raw-time: as recorded, B's times 2.5 s late.
"$peertrace" request --raw-time 7777 "$out"/skewed/node{0,1,2}.ptd >"$out/raw.out" ||
  fail "peertrace request --raw-time failed"
grep -q '^hops of trace 7\{32\} (times from the trace.s first event, as recorded (--raw-time);' "$out/raw.out" ||
  fail "--raw-time header: $(head -2 "$out/raw.out")"
grep -q 'sent +0.010ms, started +2500.165ms, ended +2500.405ms, ok$' "$out/raw.out" ||
  fail "--raw-time hop 1: $(grep 'hop 1' "$out/raw.out")"

# merge --trace ends with the same hops.
"$peertrace" merge --trace 7777 "${dumps[@]}" >"$out/merge.out" ||
  fail "merge --trace exited $?"
tail -n +"$(grep -n '^hops of trace' "$out/merge.out" | cut -d: -f1)" \
  "$out/merge.out" | normal >"$out/merge.cmp"
diff -u <(tail -n +2 "$out/expected") "$out/merge.cmp" ||
  fail "merge --trace hops differ"
# merge --by-trace --trace (the demo's suggestion, with --kind): the same.
"$peertrace" merge --by-trace --kind app_start,app_end --trace 7777 "${dumps[@]}" \
  >"$out/by_trace.out" || fail "merge --by-trace --trace exited $?"
tail -n +"$(grep -n '^hops of trace' "$out/by_trace.out" | cut -d: -f1)" \
  "$out/by_trace.out" | normal >"$out/by_trace.cmp"
diff -u <(tail -n +2 "$out/expected") "$out/by_trace.cmp" ||
  fail "merge --by-trace --trace hops differ"
# Without --trace, merge prints no hops.
"$peertrace" merge "${dumps[@]}" >"$out/merge_all.out"
! grep -q 'hops of trace' "$out/merge_all.out" || fail "merge without --trace printed hops"

# A trace that is not there, and no trace at all: errors, no crash.
set +e
"$peertrace" request 7878 "${dumps[@]}" >/dev/null 2>"$out/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "unknown trace: exit $rc"
grep -q "no trace id starts with '7878'" "$out/err" || fail "unknown trace: $(cat "$out/err")"
set +e
"$peertrace" request --trace 7777 "${dumps[@]}" >/dev/null 2>"$out/err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "a filter option: exit $rc"
# export svg --trace: the hops' packets drawn (from the connections' events,
# which carry another trace id), no label under an arrowhead.
"$peertrace" export svg --trace 7777 -o "$out/request.svg" "${dumps[@]}" ||
  fail "export svg exited $?"
python3 "$(dirname "$0")/svg_geometry.py" "$out/request.svg" \
  "pn 5 1200B 0.100 ms" "pn 6 LOST, recovered 0.147 ms" \
  "pn 7 resends 6: 1100..1999" "pn 3 560B 0.100 ms" "pn 10 360B 0.100 ms" ||
  fail "request.svg"

# Runs of plain packets (make_run_dumps): 20..23 joined, 24 lost, 25..27
# (three) one by one, 28 the retransmission; the same rows in the SVG.
mkdir -p "$out/run"
"$run_maker" "$out/run" || fail "could not write the run dumps"
"$peertrace" request 9999 "$out"/run/node{0,1}.ptd >"$out/run.out" ||
  fail "peertrace request (run) exited $?"
for item in "packets 20..23 (4 packets, 4120 B, " "24 LOST, 25 (1030 B, " \
  " 26 (1030 B, " " 27 (1030 B, " "28 (retransmits 24's bytes 4000..4999, "; do
  grep -qF -- "$item" "$out/run.out" || fail "run: no '$item' in: $(cat "$out/run.out")"
done
! grep -qE '(^|[ ,])2[1-3] \(' "$out/run.out" || fail "run: 21..23 listed alone: $(cat "$out/run.out")"
"$peertrace" export svg --trace 9999 -o "$out/run.svg" "$out"/run/node{0,1}.ptd ||
  fail "export svg (run) exited $?"
python3 "$(dirname "$0")/svg_geometry.py" "$out/run.svg" \
  "pn 20..23: 4 pkts 4120B" "pn 24 LOST, recovered 0.174 ms" \
  "pn 25 1030B 0.099 ms" "pn 26 1030B 0.099 ms" "pn 27 1030B 0.099 ms" \
  "pn 28 resends 24: 4000..4999" || fail "run.svg"
! grep -qE '>pn 2[1-3] ' "$out/run.svg" || fail "run.svg: 21..23 drawn alone"
[ "$(grep -c 'marker-end="url(#arrow-pkt)"' "$out/run.svg")" = 5 ] ||
  fail "run.svg: $(grep -c 'marker-end="url(#arrow-pkt)"' "$out/run.svg") plain packet arrows, not 5 (1, 20..23, 25, 26, 27)"

if [ -n "$samples" ]; then
  "$peertrace" request 4bf9 "$samples"/client.ptd "$samples"/relay.ptd \
    "$samples"/storage.ptd >"$out/samples.out" || fail "request 4bf9: exit $?"
  grep -qx '    no stream recorded for this hop' "$out/samples.out" ||
    fail "request 4bf9: $(cat "$out/samples.out")"
  "$peertrace" request 7e57 "$samples"/client.ptd >"$out/samples.out" ||
    fail "request 7e57: exit $?"
  grep -q '^  no hop: no app_command of this trace' "$out/samples.out" ||
    fail "request 7e57: $(cat "$out/samples.out")"
fi
echo "request: 4 hops, loss of 6 recovered in 0.147 ms, drawn; run 20..23 joined, 25..27 not"
