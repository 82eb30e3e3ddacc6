#!/bin/sh
# check_qlog_demo.sh P2P_DEMO PEERTRACE OUT SRC NODE_DIR
# The qlog export of the P2P demo's real dumps (4 nodes, 3% loss), one file
# per connection and node (--split): every file valid against the qlog 0.3
# schema (tests/js/check_qlog.js), and the two files of each connection
# paired as qvis pairs them (tests/js/check_qlog_pairs.js): same group id,
# client and server, each received packet sent by the other end with the
# same frames; and the recovery metrics of each connection file those of
# the dumps' recovery_metrics events, as qvis's congestion graph reads them
# (tests/js/check_qlog_metrics.js).
set -eu
demo=$1 peertrace=$2 out=$3 src=$4 node_dir=$5
. "$src/export/js_tools.sh"
demo_start check_qlog_demo
mkdir -p "$out/qlog"
"$peertrace" export qlog --split "$out/qlog" "$out/dumps"/*.ptd
for f in "$out/qlog"/*.sqlog; do
  js check_qlog.js "$f" >/dev/null
done
# The ring of 4 nodes: 4 connections, many packets each way.
js check_qlog_pairs.js "$out/qlog" 50
# A file without one end (here the client's of one connection) must fail.
mkdir -p "$out/one-end"
cp "$out/qlog"/*.sqlog "$out/one-end/"
rm "$(grep -l '"type":"client"' "$out/one-end"/*.sqlog | head -1)"
must_reject check_qlog_demo "pair (a connection with one end)" \
  check_qlog_pairs.js "$out/one-end"
# Recovery metrics: the 8 connection files (4 nodes, 2 connections each)
# carry the dumps' recovery_metrics, RTTs named for what they hold.
"$peertrace" export json -o "$out/events.json" "$out/dumps"/*.ptd
js check_qlog_metrics.js "$out/qlog" "$out/events.json" 8
# A file whose latest_rtt holds the smoothed RTT must fail.
mkdir -p "$out/swapped"
cp "$out/qlog"/*.sqlog "$out/swapped/"
f=$(grep -l '"min_rtt"' "$out/swapped"/*.sqlog | head -1)
sed 's/"latest_rtt":\([0-9.]*\),"min_rtt":\([0-9.]*\),"smoothed_rtt":\([0-9.]*\)/"latest_rtt":\3,"min_rtt":\2,"smoothed_rtt":\1/' \
  "$f" >"$f.tmp"
mv "$f.tmp" "$f"
if js check_qlog_metrics.js "$out/swapped" "$out/events.json" 8 2>/dev/null; then
  echo "check_qlog_demo: the metrics check accepted swapped RTT fields" >&2
  exit 1
fi
