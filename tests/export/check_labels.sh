#!/bin/sh
# check_labels.sh TEST_EXPORT OUT SRC NODE_DIR
# The clock labels (pt_exporter_set_clock) and qlog stream frames of the
# exports test_export reads back with jansson, read again by the consumers'
# readers: Python's json (JSON, Chrome), ajv and the qlog schema (qlog), and
# the OTLP protobuf types (@opentelemetry/otlp-transformer).  Node a is the
# reference, b aligned (offset -2500000.25 us, drift 50 ppm, bound 41.5 us),
# c unaligned (bound infinite, as pt_align leaves it), d without an estimate (test_export.c, export_with_clocks).
set -eu
test_export=$1 out=$2 src=$3 node_dir=$4
. "$src/export/js_tools.sh"
node_tools check_labels
rm -rf "$out" && mkdir -p "$out"
PT_EXPORT_TEST_OUT=$out "$test_export" >/dev/null
ref='{"times": "aligned", "status": "reference", "reference": 0,
      "offset_us": 0, "drift_ppm": 0, "t0_us": 1000, "bound_us": 0}'
aligned='{"times": "aligned", "status": "aligned", "reference": 0,
          "offset_us": -2500000.25, "drift_ppm": 50, "t0_us": 1000,
          "bound_us": 41.5}'
unaligned='{"times": "raw", "status": "unaligned", "reference": 0}'
none='{"times": "raw", "status": "none", "reference": 0}'
clocks="[$ref, $aligned, $unaligned, $none]"
python3 "$src/export/check_json.py" json "$out/clock.json" "{\"clocks\": $clocks}"
python3 "$src/export/check_json.py" chrome "$out/clock.trace.json" \
  "{\"clocks\": $clocks}"
ref_id=aa00000000000000000000000000000000000000000000000000000000000000
js check_otlp.js \
  "$out/clock.otlp.json" "{\"spans\": 4, \"clocks\": {
    \"aa000000\": {\"times\": \"aligned\", \"status\": \"reference\",
                   \"reference\": \"$ref_id\", \"offset_us\": 0,
                   \"drift_ppm\": 0, \"bound_us\": 0},
    \"bb000000\": {\"times\": \"aligned\", \"status\": \"aligned\",
                   \"reference\": \"$ref_id\", \"offset_us\": -2500000.25,
                   \"drift_ppm\": 50, \"bound_us\": 41.5},
    \"cc000000\": {\"times\": \"raw\", \"status\": \"unaligned\",
                   \"reference\": \"$ref_id\"},
    \"dd000000\": {\"times\": \"raw\", \"status\": \"none\",
                   \"reference\": \"$ref_id\"}}}"
js check_qlog.js \
  "$out/clock.sqlog" "{\"peertrace_clock\": {\"times\": \"aligned\",
    \"status\": \"reference\", \"reference\": 0, \"offset_us\": 0,
    \"drift_ppm\": 0, \"t0_us\": 1000, \"bound_us\": 0}}"
js check_qlog.js \
  "$out/frames.sqlog" '{"transport:packet_sent": 2,
    "transport:packet_received": 2, "peertrace:stream_frame": 3, "frames": 3}'
