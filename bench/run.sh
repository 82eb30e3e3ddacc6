#!/usr/bin/env bash
# Builds the benchmarks (preset `bench`: tracing on, -O2) and runs them all:
#   1. pt_bench       peertrace vs mutex ring vs LTTng-UST, 1 and 2 threads
#   2. pt_bench_zero  tracing compiled out vs the same code without trace calls
#   3. callgrind      instructions per event (repeatable on a noisy machine)
# Usage (as root on Debian 12): bash bench/run.sh [--quick]
#   CC=clang bash bench/run.sh   builds with clang instead (in build/bench-clang)
# Output goes to stdout and to run.log in the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COMPILER=${CC:-gcc}
BUILD=$ROOT/build/bench
[ "$COMPILER" != gcc ] && BUILD=$ROOT/build/bench-$(basename "$COMPILER")
EVENTS=1048576
REPS=61
PACKETS=1048576
IR_EVENTS=262144
if [ "${1:-}" = "--quick" ]; then
  EVENTS=131072
  REPS=5
  PACKETS=131072
fi

bash scripts/install-deps.sh
# -g only adds source lines for callgrind_annotate; the code is the same.
# DWARF 4: valgrind 3.19 cannot read clang 14's DWARF 5.
compiler_opt=()
[ -n "${CC:-}" ] && compiler_opt=(-DCMAKE_C_COMPILER="$CC")
cmake --preset bench -B "$BUILD" "${compiler_opt[@]}" -DCMAKE_C_FLAGS=-gdwarf-4 >/dev/null
cmake --build "$BUILD" -j 2 --target pt_bench pt_bench_ir pt_bench_zero >/dev/null

mkdir -p "$BUILD"
exec > >(tee "$BUILD/run.log") 2>&1

echo "== machine"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')   cpus: $(nproc)   $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "kernel: $(uname -r)   compiler: $COMPILER $("$COMPILER" -dumpversion)   build: preset bench (-O2 -DNDEBUG, PT_TRACE_FULL) + -gdwarf-4"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "== 1. $BUILD/bench/pt_bench --events $EVENTS --reps $REPS"
"$BUILD/bench/pt_bench" --events "$EVENTS" --reps "$REPS"

echo
echo "== 2. $BUILD/bench/pt_bench_zero --packets $PACKETS --reps $((REPS + 10))"
"$BUILD/bench/pt_bench_zero" --packets "$PACKETS" --reps $((REPS + 10))
echo "load average after the timed runs: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "== 2b. machine code of bench_workload.c: PT_TRACE=0 object vs trace lines removed"
obj_dir=$BUILD/bench/CMakeFiles
off_obj=$(find "$obj_dir/pt_bench_workload_off.dir" -name '*.o')
stripped_obj=$(find "$obj_dir/pt_bench_workload_stripped.dir" -name '*.o')
text_of() { objdump -d --no-show-raw-insn -j .text "$1" | tail -n +4 | sed -E "s/bench_workload_$2_/bench_workload_X_/g"; }
if diff <(text_of "$off_obj" off) <(text_of "$stripped_obj" stripped) >/dev/null; then
  echo ".text identical ($(text_of "$off_obj" off | grep -c '^ ') instructions)"
else
  echo ".text DIFFERS:"
  diff <(text_of "$off_obj" off) <(text_of "$stripped_obj" stripped) | head -20
fi

# Instructions (Ir) collected by callgrind, as a plain integer.
cg_total() { callgrind_annotate "$1" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'; }

echo
echo "== 3. callgrind: instructions per event, one thread, $IR_EVENTS events after a 2-lap warm-up"
echo "  (instruction counts do not show stalls: a 'rep stosq' counts as few instructions)"
cg=$BUILD/callgrind
mkdir -p "$cg"
# Largest inclusive count of a function: with -g, callgrind_annotate also
# lists the parts inlined from other files under the same function name.
cg_inclusive() {
  callgrind_annotate --inclusive=yes --threshold=100 "$1" |
    awk -v f="$2" '$0 ~ (":" f "( |$)") && !/=>/ { gsub(",", "", $1); if ($1 + 0 > max) max = $1 + 0 } END { print max + 0 }'
}
cg_run() { # name, pt_bench_ir arguments...
  local name=$1
  shift
  echo "valgrind --tool=callgrind --toggle-collect=bench_ir_measured $BUILD/bench/pt_bench_ir --events $IR_EVENTS $*"
  valgrind --tool=callgrind --toggle-collect=bench_ir_measured \
    --callgrind-out-file="$cg/ir.$name" "$BUILD/bench/pt_bench_ir" --events "$IR_EVENTS" "$@" \
    >"$cg/ir.$name.log" 2>&1 || { echo "valgrind failed:"; tail -3 "$cg/ir.$name.log"; exit 1; }
}
cg_run macro --macro
cg_run ring --macro --no-index
cg_run write --write
cg_run mutex --mutex
per_event() { awk -v t="$2" -v n="$IR_EVENTS" -v what="$1" 'BEGIN { printf "  %-62s %6.1f\n", what, t / n }'; }
per_event "PT_PACKET_SENT, default log (indices in index builds), all" "$(cg_total "$cg/ir.macro")"
per_event "  of which the call pt__log_write_small (with callees)" "$(cg_inclusive "$cg/ir.macro" pt__log_write_small)"
per_event "PT_PACKET_SENT, log with no_index (the ring alone), all" "$(cg_total "$cg/ir.ring")"
per_event "  of which the call pt__log_write_small (with callees)" "$(cg_inclusive "$cg/ir.ring" pt__log_write_small)"
per_event "build a pt_event + PT_EVENT (pt_log_write), default log, all" "$(cg_total "$cg/ir.write")"
per_event "  of which pt_log_write (with callees)" "$(cg_inclusive "$cg/ir.write" pt_log_write)"
per_event "build a pt_event + mutex ring write, all" "$(cg_total "$cg/ir.mutex")"
per_event "  of which bench_mutex_ring_write (with callees)" "$(cg_inclusive "$cg/ir.mutex" bench_mutex_ring_write)"
for name in macro ring; do
  label="default log"
  [ "$name" = ring ] && label="no_index log"
  echo "  PT_PACKET_SENT, $label, instructions per event by function (self;"
  echo "  inlined code is listed under its source file), then by source line (>= 1):"
  callgrind_annotate --auto=yes --threshold=100 "$cg/ir.$name" |
  awk -v n="$IR_EVENTS" '
    /file:function/ { state = 1; next }
    /^-- Auto-annotated source:/ { state = 2; file = $NF; sub(/.*\/work\/[^/]*\//, "", file); shown = 0; next }
    state && /^ *[0-9,]+ / && !/=>/ && !/events annotated/ {
      v = $1; gsub(",", "", v); line = $0
      sub(/^ *[0-9,]+ *\( *[0-9.]+%\) */, "", line); sub(/ \[\/.*/, "", line)
      if (state == 1 && v / n >= 0.05) printf "    %7.1f  %s\n", v / n, line
      if (state == 2 && v / n >= 1) {
        if (!shown++) printf "    %s:\n", file
        printf "    %7.1f    %s\n", v / n, line
      }
    }'
done

echo
echo "== 3b. callgrind: bench_workload.c, one run of $PACKETS packets per variant"
echo "valgrind --tool=callgrind $BUILD/bench/pt_bench_zero --callgrind --packets $PACKETS"
valgrind --tool=callgrind --callgrind-out-file="$cg/zero" \
  "$BUILD/bench/pt_bench_zero" --callgrind --packets "$PACKETS" \
  >"$cg/zero.log" 2>&1 || { echo "valgrind failed:"; tail -3 "$cg/zero.log"; exit 1; }
declare -A ir
for variant in off stripped on; do
  v=$(cg_inclusive "$cg/zero" "bench_workload_${variant}_run")
  ir[$variant]=${v:-0}
  awk -v t="${v:-0}" -v n="$PACKETS" -v name="$variant" \
    'BEGIN { printf "  %-9s %12d instructions, %8.2f per packet\n", name, t, t / n }'
done
awk -v a="${ir[off]}" -v b="${ir[stripped]}" \
  'BEGIN { if (b > 0) printf "  off / removed instruction ratio: %.6f (%s)\n", a / b, a == b ? "identical" : "different" }'
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
