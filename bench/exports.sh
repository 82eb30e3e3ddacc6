#!/usr/bin/env bash
# exports.sh BUILD_DIR [RUNS]: the Chrome, OTLP and JSON exports of
# bench_calls' 8 dumps x 65536 events of calls (every event of a call: a
# flow per hop and packet in Chrome, a CLIENT span with its packets in
# OTLP), RUNS times each (default 3), to a file in /tmp and to /dev/null:
# wall time, CPU time and peak RSS of the peertrace process (/usr/bin/time).
# Usage: cmake --preset bench -B build/bench && cmake --build build/bench
#   -j2 --target bench_calls peertrace_cli && bash bench/exports.sh build/bench
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1
runs=${2:-3}
dir=$(mktemp -d /tmp/bench_exports.XXXXXX)
trap 'rm -rf "$dir"' EXIT
"$build/bench/bench_calls" "$dir" >/dev/null
for format in chrome otlp json; do
  for out in "$dir/out" /dev/null; do
    for run in $(seq "$runs"); do
      /usr/bin/time -f "%e %U %S %M" -o "$dir/time" \
        "$build/tools/peertrace" export "$format" -o "$out" "$dir"/node*.ptd \
        2>/dev/null
      read -r wall user sys rss <"$dir/time"
      size=$( [ "$out" = /dev/null ] || stat -c %s "$out")
      printf '%-6s -o %-9s run %d: %5s s wall, %.2f s CPU, %6.1f MiB peak RSS%s\n' \
        "$format" "$( [ "$out" = /dev/null ] && echo /dev/null || echo file)" \
        "$run" "$wall" "$(echo "$user + $sys" | bc -l)" \
        "$(echo "$rss / 1024" | bc -l)" "${size:+, $size bytes}"
      [ "$out" = /dev/null ] || rm -f "$out"
    done
  done
done
