#!/bin/sh
# check_otlp_push.sh P2P_DEMO PEERTRACE OUT SRC NODE_DIR
# peertrace export otlp --endpoint against a local OTLP/HTTP receiver
# (tests/js/otlp_receiver.js, decoding with the opentelemetry-proto types)
# on the P2P demo's dumps (~4 MB of OTLP/JSON in 5 lines, so the push cuts
# them into requests of at most 128 KiB and keeps 4 in flight): the spans it
# receives are, span for span under the same resource and scope, those of
# the file export (checked again with tests/js/check_otlp.js), and with
# --protobuf decode to the same messages; a 503-then-200 receiver is
# retried, a 429 with Retry-After: 1 a second later; a receiver answering
# some requests late and some 503 sees 4 requests open at once, answers
# them out of order and still gets every span once; a refusing receiver
# (for all requests or for one among others in flight), a partial success
# and an unreachable port are errors that say so and count what was not
# delivered, the spans counted sent being those the receiver took.
set -eu
demo=$1 peertrace=$2 out=$3 src=$4 node_dir=$5
command -v node >/dev/null || {
  echo "check_otlp_push: node not found (Debian: apt-get install nodejs)" >&2
  exit 1
}
sh "$src/js/setup.sh" --check "$node_dir"
fail() { echo "check_otlp_push: $*" >&2; exit 1; }
receiver() { NODE_PATH="$node_dir/node_modules" node "$src/js/otlp_receiver.js" "$@"; }
rm -rf "$out"
mkdir -p "$out"
timeout 90 "$demo" --nodes 4 --loss 0.03 --seed 7 --chunks 64 --rounds 4 \
  --out "$out/dumps" >"$out/demo.out" 2>&1 || fail "the demo failed"
d=$out/dumps
"$peertrace" export otlp -o "$out/file.otlp" "$d"/*.ptd
spans=$(grep -o '"spanId":' "$out/file.otlp" | wc -l)
lines=$(wc -l <"$out/file.otlp")
[ "$spans" -gt 1000 ] || fail "only $spans spans in the file export"
receiver --spans "$out/file.otlp" >"$out/file.spans"
pid=
stop() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; pid=; }
trap stop EXIT
# receive MODE: a receiver in $out/MODE; sets $url.
receive() {
  mkdir -p "$out/$1"
  # exec: $pid is the receiver's, for stop.
  (NODE_PATH="$node_dir/node_modules" exec node "$src/js/otlp_receiver.js" \
    "$out/$1" "$1") &
  pid=$!
  for _ in $(seq 100); do
    [ -f "$out/$1/port" ] && break
    sleep 0.1
  done
  [ -f "$out/$1/port" ] || fail "the receiver did not start"
  url=http://127.0.0.1:$(cat "$out/$1/port")
}
# push MODE [ARGS]: the push to $url; sets $rc, stderr in $out/MODE/err.
push() {
  mode=$1
  shift
  set +e
  "$peertrace" export otlp "$@" --endpoint "$url" "$d"/*.ptd 2>"$out/$mode/err"
  rc=$?
  set -e
  cat "$out/$mode/err"
}
# run MODE [ARGS]: a receiver of that mode, the push to it, the receiver
# stopped.
run() {
  receive "$1"
  push "$@"
  stop
}
# same_spans MODE: the receiver got the file export's spans, each once.
same_spans() {
  receiver --spans "$out/$1/received.jsonl" >"$out/$1/received.spans"
  cmp "$out/$1/received.spans" "$out/file.spans" ||
    fail "$1: the spans received differ from the file export's"
}
# sent MODE, requests MODE: the push's counts of spans and requests sent.
sent() { sed -n 's/.*peertrace: \([0-9]*\) spans sent in.*/\1/p' "$out/$1/err"; }
requests() { sed -n 's/.* spans sent in \([0-9]*\) requests.*/\1/p' "$out/$1/err"; }

run ok
[ "$rc" = 0 ] || fail "push to a working receiver: exit $rc"
same_spans ok
grep -q "$spans spans sent in [0-9]* requests (0 retries), 0 rejected by the collector, 0 not delivered" \
  "$out/ok/err" || fail "counts of a good push: $(cat "$out/ok/err")"
n=$(requests ok)
[ "$n" -gt "$lines" ] && [ "$n" = "$(wc -l <"$out/ok/received.jsonl")" ] ||
  fail "$lines lines not cut into requests: $n requests"
big=$(awk 'length($0) > 131072' "$out/ok/received.jsonl" | wc -l)
[ "$big" = 0 ] || fail "$big requests over 128 KiB"
NODE_PATH="$node_dir/node_modules" node "$src/js/check_otlp.js" \
  "$out/ok/received.jsonl" '{"parents_found": true, "cross_node_parents": 6}'

# --protobuf: the same spans as protobuf messages, decoded by the receiver
# with ExportTraceServiceRequest.decode: equal, span for span, to the file
# export's read with fromObject.
run proto --protobuf
[ "$rc" = 0 ] || fail "protobuf push: exit $rc"
same_spans proto

run flaky
[ "$rc" = 0 ] || fail "push with two 503 answers: exit $rc"
[ "$(cut -d' ' -f1 "$out/flaky/log" | head -3 | tr '\n' ' ')" = "503 503 200 " ] ||
  fail "flaky receiver answered: $(cut -d' ' -f1 "$out/flaky/log" | tr '\n' ' ')"
same_spans flaky
grep -q "$spans spans sent in [0-9]* requests (2 retries)" "$out/flaky/err" ||
  fail "retries not counted: $(cat "$out/flaky/err")"

# 429 with Retry-After: 1: the retry of that request waits that second (not
# the 200 ms backoff), while the others go on.
run later
[ "$rc" = 0 ] || fail "push after a 429: exit $rc"
[ "$(head -1 "$out/later/log" | cut -d' ' -f1)" = 429 ] ||
  fail "429 receiver answered: $(head -1 "$out/later/log")"
key=$(head -1 "$out/later/log" | cut -d' ' -f2)
gap=$(awk -v k="$key" '$2 == k {t[++n] = $1} END {print t[2] - t[1]}' \
  "$out/later/times")
[ "$gap" -ge 950 ] || fail "Retry-After: 1 not honoured: retried after $gap ms"
same_spans later

# Requests late and refused for a while: 4 open at once (the window), out
# of order, each 503 retried, every span once.
run jumble
[ "$rc" = 0 ] || fail "push to the jumbling receiver: exit $rc"
same_spans jumble
[ "$(cat "$out/jumble/inflight")" = 4 ] ||
  fail "$(cat "$out/jumble/inflight") requests at most in flight, not 4"
! sort -n "$out/jumble/done" | cmp -s - "$out/jumble/done" ||
  fail "requests were answered in the order they came"
busy=$(grep -c '^503 ' "$out/jumble/log")
[ "$busy" -ge 3 ] &&
  grep -q "$spans spans sent in [0-9]* requests ($busy retries), 0 rejected by the collector, 0 not delivered" \
    "$out/jumble/err" || fail "jumble: $busy 503 answers, $(cat "$out/jumble/err")"

# One request refused among others in flight (one of them answered late):
# the push fails; the spans it counts sent are those the receiver took, the
# refused request's and those never sent are counted not delivered.
run fail3
[ "$rc" = 1 ] || fail "push with a refused request: exit $rc"
grep -q "refused: HTTP 400: .*takes nothing" "$out/fail3/err" ||
  fail "refusal not reported: $(cat "$out/fail3/err")"
took=$(grep -o '"spanId":' "$out/fail3/received.jsonl" | wc -l)
[ "$(sent fail3)" = "$took" ] ||
  fail "fail3: the receiver took $took spans, the push says $(sent fail3)"
[ "$(requests fail3)" = "$(wc -l <"$out/fail3/received.jsonl")" ] ||
  fail "fail3: requests taken and counted differ"
lost=$(sed -n 's/.* \([0-9]*\) not delivered; the export stopped there/\1/p' "$out/fail3/err")
[ -n "$lost" ] && [ "$lost" -gt 0 ] && [ $((took + lost)) -le "$spans" ] ||
  fail "fail3: undelivered spans not counted: $(cat "$out/fail3/err")"

run refuse
[ "$rc" = 1 ] || fail "push to a refusing receiver: exit $rc"
grep -q "refused: HTTP 400: .*takes nothing" "$out/refuse/err" ||
  fail "refusal not reported: $(cat "$out/refuse/err")"
grep -q "0 spans sent in 0 requests" "$out/refuse/err" ||
  fail "refused push counts: $(cat "$out/refuse/err")"
grep -Eq " [1-9][0-9]* not delivered; the export stopped there" "$out/refuse/err" ||
  fail "undelivered spans not counted: $(cat "$out/refuse/err")"

# Every request answered with partialSuccess.rejectedSpans 1.
run partial
[ "$rc" = 1 ] || fail "a partial success must fail the push: exit $rc"
n=$(requests partial)
[ "$n" -gt 0 ] && [ "$(sent partial)" = $((spans - n)) ] &&
  grep -q "requests (0 retries), $n rejected by the collector" "$out/partial/err" ||
  fail "partial success not counted: $(cat "$out/partial/err")"

# Unreachable: the port of a receiver that is gone.
receive gone
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
