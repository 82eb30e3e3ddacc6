#!/bin/sh
# check_export.sh FORMAT PEERTRACE SAMPLES OUT SRC NODE_DIR NAMES
# Exports the sample dumps (tests/make_sample_dumps.c) in FORMAT with the
# peertrace CLI and validates the result with a real parser:
#   json, chrome  Python's json module + structure checks (check_json.py)
#   qlog          ajv against tests/js/qlog-0.3-seq.schema.json
#   otlp          @opentelemetry/otlp-transformer's protobuf types
#   svg           xmllint (libxml2-utils) + check_svg.py
# The expected counts come from the fixed sample scenario.  NAMES is 1 if
# peertrace names DMAP's commands (span names STORE_CHUNK, not DMAP/1).
set -eu
format=$1 peertrace=$2 samples=$3 out=$4 src=$5 node_dir=$6 names=$7
if [ "$names" = 1 ]; then
  span_names='["STORE_CHUNK", "STORE_CHUNK", "GET_CHUNK"]'
else
  span_names='["DMAP/1", "DMAP/1", "DMAP/2"]'
fi
# The qlog and OTLP validators run on node (tests/export/js_tools.sh).
. "$src/export/js_tools.sh"
mkdir -p "$out"
case "$format" in
json)
  "$peertrace" export json -o "$out/all.json" "$samples"/*.ptd
  python3 "$src/export/check_json.py" json "$out/all.json" \
    '{"nodes": 3, "events": 35}'
  ;;
chrome)
  "$peertrace" export chrome -o "$out/all.trace.json" "$samples"/*.ptd
  python3 "$src/export/check_json.py" chrome "$out/all.trace.json" \
    '{"processes": 3, "slices": 4, "instants": 28, "cross_node_flows": 0,
      "widest_flow_nodes": 0}'
  ;;
qlog)
  node_tools check_export
  "$peertrace" export qlog --trace 4bf92f35 -o "$out/client.sqlog" \
    "$samples/client.ptd"
  js check_qlog.js "$out/client.sqlog" \
    '{"transport:packet_sent": 5, "transport:packet_received": 1,
      "recovery:packet_lost": 1, "connectivity:connection_started": 1,
      "recovery:metrics_updated": 1}'
  # --split: one valid qlog file per connection (here, dumps without
  # connection identities: per trace id) of the node.
  rm -rf "$out/split" && mkdir -p "$out/split"
  "$peertrace" export qlog --split "$out/split" "$samples/client.ptd"
  [ "$(ls "$out/split" | wc -l)" -eq 2 ] || {
    echo "check_export: --split wrote $(ls "$out/split" | wc -l) files, not 2" >&2
    exit 1
  }
  for f in "$out/split"/*.sqlog; do
    js check_qlog.js "$f"
  done
  js check_qlog.js "$out/split/a1a2a3a4-7e57a11ce0000000000000000000beef.sqlog" \
    '{"peertrace:app_start": 1, "peertrace:app_end": 1}'
  # The validator must reject a record that breaks the schema.
  sed 's/"raw":{"length":1200}/"raw":{"length":"big"}/' "$out/client.sqlog" \
    >"$out/broken.sqlog"
  must_reject check_export qlog check_qlog.js "$out/broken.sqlog"
  ;;
otlp)
  node_tools check_export
  "$peertrace" export otlp -o "$out/all.otlp.json" "$samples"/*.ptd
  js check_otlp.js "$out/all.otlp.json" \
    "{\"spans\": 3, \"events\": 9, \"errors\": 1, \"names\": $span_names}"
  sed 's/"traceId":"4bf9/"traceId":"XBf9/' "$out/all.otlp.json" \
    >"$out/broken.otlp.json"
  must_reject check_export OTLP check_otlp.js "$out/broken.otlp.json"
  ;;
svg)
  "$peertrace" export svg --trace 4bf92f35 -o "$out/trace.svg" \
    "$samples"/*.ptd
  xmllint --noout "$out/trace.svg"
  python3 "$src/export/check_svg.py" "$out/trace.svg" \
    '{"lanes": 3, "arrows": 9, "lost": 1, "rows": 33}'
  ;;
*)
  echo "check_export: unknown format $format" >&2
  exit 2
  ;;
esac
