#!/bin/sh
# check_otlp_push.sh P2P_DEMO PEERTRACE OUT SRC NODE_DIR
# peertrace export otlp --endpoint against a local OTLP/HTTP receiver
# (tests/js/otlp_receiver.js, decoding with the opentelemetry-proto types)
# on the P2P demo's dumps: what it receives is, line for line, the file
# export (checked again with tests/js/check_otlp.js), and with --protobuf
# decodes to the same messages; a 503-then-200
# receiver is retried, a 429 with Retry-After: 1 a second later; a refusing
# receiver, a partial success and an
# unreachable port are errors that say so and count what was not delivered.
set -eu
demo=$1 peertrace=$2 out=$3 src=$4 node_dir=$5
command -v node >/dev/null || {
  echo "check_otlp_push: node not found (Debian: apt-get install nodejs)" >&2
  exit 1
}
sh "$src/js/setup.sh" --check "$node_dir"
fail() { echo "check_otlp_push: $*" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
timeout 90 "$demo" --nodes 4 --loss 0.03 --seed 7 --chunks 6 \
  --out "$out/dumps" >"$out/demo.out" 2>&1 || fail "the demo failed"
d=$out/dumps
"$peertrace" export otlp -o "$out/file.otlp" "$d"/*.ptd
spans=$(grep -o '"spanId":' "$out/file.otlp" | wc -l)
[ "$spans" -gt 20 ] || fail "only $spans spans in the file export"
pid=
stop() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; pid=; }
trap stop EXIT
# start MODE: a receiver in $out/MODE; sets $url.
start() {
  mkdir -p "$out/$1"
  NODE_PATH="$node_dir/node_modules" node "$src/js/otlp_receiver.js" \
    "$out/$1" "$1" &
  pid=$!
  for _ in $(seq 100); do
    [ -f "$out/$1/port" ] && break
    sleep 0.1
  done
  [ -f "$out/$1/port" ] || fail "the receiver did not start"
  url=http://127.0.0.1:$(cat "$out/$1/port")
}
push() { # push MODE: runs the push to the receiver; $rc, $out/MODE/err
  set +e
  "$peertrace" export otlp --endpoint "$url" "$d"/*.ptd 2>"$out/$1/err"
  rc=$?
  set -e
  cat "$out/$1/err"
}

start ok
push ok
stop
[ "$rc" = 0 ] || fail "push to a working receiver: exit $rc"
cmp "$out/ok/received.jsonl" "$out/file.otlp" ||
  fail "received requests differ from the file export"
grep -q "$spans spans sent in [0-9]* requests (0 retries), 0 rejected by the collector, 0 not delivered" \
  "$out/ok/err" || fail "counts of a good push: $(cat "$out/ok/err")"
NODE_PATH="$node_dir/node_modules" node "$src/js/check_otlp.js" \
  "$out/ok/received.jsonl" '{"parents_found": true, "cross_node_parents": 6}'

# --protobuf: the same requests as protobuf messages, decoded by the
# receiver with ExportTraceServiceRequest.decode: equal, message for
# message, to the file export read with fromObject.
start proto
set +e
"$peertrace" export otlp --protobuf --endpoint "$url" "$d"/*.ptd 2>"$out/proto/err"
rc=$?
set -e
cat "$out/proto/err"
stop
[ "$rc" = 0 ] || fail "protobuf push: exit $rc"
NODE_PATH="$node_dir/node_modules" node "$src/js/otlp_receiver.js" \
  --normalize "$out/file.otlp" >"$out/proto/file.normal"
cmp "$out/proto/received.jsonl" "$out/proto/file.normal" ||
  fail "the protobuf requests decode to other messages than the file's"

start flaky
push flaky
stop
[ "$rc" = 0 ] || fail "push with two 503 answers: exit $rc"
[ "$(head -3 "$out/flaky/log" | tr '\n' ' ')" = "503 503 200 " ] ||
  fail "flaky receiver answered: $(tr '\n' ' ' <"$out/flaky/log")"
cmp "$out/flaky/received.jsonl" "$out/file.otlp" || fail "retried push differs"
grep -q "$spans spans sent in [0-9]* requests (2 retries)" "$out/flaky/err" ||
  fail "retries not counted: $(cat "$out/flaky/err")"

# 429 with Retry-After: 1: the retry waits that second (not the 200 ms
# backoff).
start later
push later
stop
[ "$rc" = 0 ] || fail "push after a 429: exit $rc"
[ "$(head -2 "$out/later/log" | tr '\n' ' ')" = "429 200 " ] ||
  fail "429 receiver answered: $(tr '\n' ' ' <"$out/later/log")"
gap=$(awk 'NR == 1 {a = $1} NR == 2 {print $1 - a}' "$out/later/times")
[ "$gap" -ge 950 ] || fail "Retry-After: 1 not honoured: retried after $gap ms"

start refuse
push refuse
stop
[ "$rc" = 1 ] || fail "push to a refusing receiver: exit $rc"
grep -q "refused: HTTP 400: .*takes nothing" "$out/refuse/err" ||
  fail "refusal not reported: $(cat "$out/refuse/err")"
grep -q "0 spans sent in 0 requests" "$out/refuse/err" ||
  fail "refused push counts: $(cat "$out/refuse/err")"
grep -Eq " [1-9][0-9]* not delivered; the export stopped there" "$out/refuse/err" ||
  fail "undelivered spans not counted: $(cat "$out/refuse/err")"

start partial
push partial
stop
[ "$rc" = 1 ] || fail "a partial success must fail the push: exit $rc"
grep -q "rejected by the collector" "$out/partial/err" &&
  grep -Eq "[, ]1 rejected by the collector" "$out/partial/err" ||
  fail "partial success not counted: $(cat "$out/partial/err")"

# Unreachable: the port of a receiver that is gone.
start gone
stop
sleep 0.2
push gone
[ "$rc" = 1 ] || fail "push to a closed port: exit $rc"
grep -q "unreachable after 5 attempts" "$out/gone/err" ||
  fail "unreachable endpoint not reported: $(cat "$out/gone/err")"
# Not a URL at all: a usage error before anything is read.
set +e
"$peertrace" export otlp --endpoint ftp://x "$d"/*.ptd 2>"$out/bad-url.err"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "not an http:// or https:// URL" "$out/bad-url.err" ||
  fail "a bad URL: exit $rc, $(cat "$out/bad-url.err")"
echo "check_otlp_push: ok ($spans spans per push)"
