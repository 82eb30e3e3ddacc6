#!/bin/sh
# check_chrome_demo.sh P2P_DEMO PEERTRACE OUT SRC NODE_DIR [--processes]
# The Chrome JSON export of the P2P demo's real dumps (4 nodes, 3% loss),
# read by Chrome DevTools' trace engine and replayed under Perfetto's JSON
# rules (tests/js/check_chrome.mjs): every request hop, reply hop and
# delivered packet of the dumps is one arrow, no slice is dropped, every
# recovery_metrics is one counter sample of its connection.  With
# --processes the nodes run as processes (each with its own log file).
set -eu
demo=$1 peertrace=$2 out=$3 src=$4 node_dir=$5 mode=${6:-}
. "$src/export/js_tools.sh"
# shellcheck disable=SC2086 # mode: empty or one word
demo_start check_chrome_demo $mode
"$peertrace" export json -o "$out/events.json" "$out/dumps"/*.ptd
"$peertrace" export chrome -o "$out/trace.json" "$out/dumps"/*.ptd
python3 "$src/export/check_json.py" chrome "$out/trace.json"
# The demo's 6 chunks are stored across 3 nodes and read back: at least 6
# request and reply hops, many packets and metrics.
js check_chrome.mjs "$out/trace.json" "$out/events.json" \
  '{"request": 6, "reply": 6, "packet": 50, "metrics": 100}'
# --trace: one request, with the packets of its connections drawn too.
trace=$(python3 -c '
import json, sys
for e in json.load(open(sys.argv[1]))["events"]:
    if e["kind"] == "app_command" and e["peer_id"]:
        print(e["trace_id"]); break' "$out/events.json")
"$peertrace" export chrome --trace "$trace" -o "$out/one.json" "$out/dumps"/*.ptd
python3 - "$out/one.json" <<'PY'
import collections, json, sys
flows = collections.Counter(e["name"] for e in json.load(open(sys.argv[1]))["traceEvents"]
                            if e.get("ph") == "f")
assert flows["request"] >= 1 and flows["reply"] >= 1 and flows["packet"] >= 2, flows
print("check_chrome_demo: --trace:", dict(flows))
PY
# The checker must refuse an export that breaks the rules: an overlapping
# slice (the first request slice made to end 1 s later), a v2 flow, a
# counter sample whose cwnd is not the event's, and a counter on another
# thread than its connection's.
python3 - "$out/trace.json" "$out/broken1.json" "$out/broken2.json" \
  "$out/broken3.json" "$out/broken4.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
ev = doc["traceEvents"]
req = [e for e in ev if e.get("ph") == "X" and e.get("args", {}).get("kind") == "app_end"]
later = [e for e in req if e["pid"] == req[0]["pid"] and e["tid"] == req[0]["tid"]
         and e["ts"] > req[0]["ts"] + req[0]["dur"]]
assert later, "no second request slice on the first one's lane"
req[0]["dur"] = later[0]["ts"] - req[0]["ts"] + 1  # ends inside the next one
later[0]["dur"] = max(later[0]["dur"], 2)
json.dump(doc, open(sys.argv[2], "w"))
doc = json.load(open(sys.argv[1]))
x = [e for e in doc["traceEvents"] if e.get("ph") == "X"][0]
x.update({"bind_id": "0x1", "flow_in": True, "flow_out": True})
json.dump(doc, open(sys.argv[3], "w"))
for i, change in ((4, lambda c: c["args"].update(cwnd=c["args"]["cwnd"] + 1)),
                  (5, lambda c: c.update(tid=1))):
    doc = json.load(open(sys.argv[1]))
    change([e for e in doc["traceEvents"]
            if e.get("ph") == "C" and "cwnd" in e["args"]][0])
    json.dump(doc, open(sys.argv[i], "w"))
PY
for broken in broken1 broken2 broken3 broken4; do
  if js check_chrome.mjs \
    "$out/$broken.json" "$out/events.json" 2>"$out/$broken.err"; then
    echo "check_chrome_demo: the checker accepted $broken.json" >&2
    exit 1
  fi
  echo "check_chrome_demo: $broken.json refused: $(cat "$out/$broken.err")"
done
