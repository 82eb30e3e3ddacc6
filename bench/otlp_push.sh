#!/usr/bin/env bash
# otlp_push.sh BUILD_DIR [RUNS]: `peertrace export otlp --endpoint` of
# bench_merge's 8 dumps x 65536 events (clocks aligned, 32768 spans) to a
# local OTLP/HTTP receiver on 127.0.0.1 (tests/js/otlp_receiver.js, node),
# RUNS times (default 5) for each of its modes: "ok" decodes every request
# with the opentelemetry-proto types (protobufjs) and appends it to a file,
# as the push test's receiver does; "count" only parses the JSON and counts
# the spans (closer to a collector's cost); "proto" is the push with
# --protobuf to a receiver decoding it with ExportTraceServiceRequest.decode.  Wall time and peak RSS of the
# peertrace process (/usr/bin/time), medians; and a check that the
# receiver got every span of the file export.  Needs a bench build with libcurl
# (PT_OTLP_PUSH) and the npm tools of tests/js/setup.sh in build/npm.
# Usage: cmake --preset bench -B build/bench && cmake --build build/bench
#   -j2 --target bench_merge peertrace_cli && bash bench/otlp_push.sh build/bench
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1
runs=${2:-5}
cli=$build/tools/peertrace
dir=$(mktemp -d /tmp/bench_push.XXXXXX)
pid=
trap '[ -z "$pid" ] || kill "$pid"; rm -rf "$dir"' EXIT
"$build/bench/bench_merge" 1 "$dir" >"$dir/merge.out"
dumps=("$dir"/node*.ptd)
"$cli" export otlp -o "$dir/file.otlp" "${dumps[@]}" 2>/dev/null
spans=$(grep -o '"spanId":' "$dir/file.otlp" | wc -l)
lines=$(wc -l <"$dir/file.otlp")
printf 'export: %d spans in %d requests, %d bytes\n' "$spans" "$lines" \
  "$(stat -c %s "$dir/file.otlp")"
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
for mode in count ok proto; do
  walls=()
  rsss=()
  for run in $(seq "$runs"); do
    r=$dir/$mode$run
    mkdir -p "$r"
    NODE_PATH=build/npm/node_modules node tests/js/otlp_receiver.js "$r" "$mode" &
    pid=$!
    for _ in $(seq 100); do [ -f "$r/port" ] && break; sleep 0.1; done
    url=http://127.0.0.1:$(cat "$r/port")
    encoding=()
    [ "$mode" = proto ] && encoding=(--protobuf)
    /usr/bin/time -f '%e %M' -o "$dir/time" \
      "$cli" export otlp "${encoding[@]}" --endpoint "$url" "${dumps[@]}" 2>"$dir/err"
    read -r wall rss <"$dir/time"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
    if [ "$mode" = count ]; then
      got=$(awk '{n += $1} END {print n}' "$r/received.jsonl")
    elif [ "$mode" = proto ]; then
      got=$(grep -o '"spanId":' "$r/received.jsonl" | wc -l)
    else
      got=$(grep -o '"spanId":' "$r/received.jsonl" | wc -l)
    fi
    [ "$got" = "$spans" ] || {
      echo "$mode run $run: the receiver got $got spans of $spans: $(cat "$dir/err")" >&2
      exit 1
    }
    printf '%s run %d: %s s, %s KiB peak RSS; %s\n' "$mode" "$run" "$wall" "$rss" \
      "$(tail -1 "$dir/err")"
    walls+=("$wall")
    rsss+=("$rss")
    rm -rf "$r"
  done
  printf '%s receiver: median %s s wall, %.1f MiB peak RSS (%d runs)\n' "$mode" \
    "$(median "${walls[@]}")" "$(echo "$(median "${rsss[@]}") / 1024" | bc -l)" "$runs"
done
