#!/bin/sh
# check_otlp_demo.sh P2P_DEMO PEERTRACE OUT SRC NODE_DIR
# The OTLP export of the P2P demo's real dumps (4 nodes, 3% loss), decoded
# with the opentelemetry-proto types (tests/js/check_otlp.js): JSON Lines of
# whole requests under 1 MiB, every SERVER span of a forwarded request under
# the caller's CLIENT span, a call's packets as its events, a service per
# node, and span ids that stay the same in an export of one node's dump and
# in an export of one trace.
set -eu
demo=$1 peertrace=$2 out=$3 src=$4 node_dir=$5
. "$src/export/js_tools.sh"
demo_start check_otlp_demo
check() { js check_otlp.js "$@"; }
d=$out/dumps
"$peertrace" export otlp -o "$out/all.otlp" "$d"/*.ptd
# 6 chunks stored through 3 nodes and read back: 6 calls at least, each
# with its request's and its reply's packets.
check "$out/all.otlp" '{"parents_found": true, "cross_node_parents": 6,
  "packet_events": 12}'
# Each kind is there: INTERNAL (the client's own requests), SERVER, CLIENT.
for kind in 1 2 3; do
  grep -q "\"kind\":$kind," "$out/all.otlp" || {
    echo "check_otlp_demo: no span of kind $kind" >&2
    exit 1
  }
done
# The same spans, the same ids: one node's dump alone, and one trace alone.
"$peertrace" export otlp --service dmap -o "$out/node1.otlp" "$d/node1.ptd"
check "$out/node1.otlp" "{\"same_ids_as\": \"$out/all.otlp\"}"
grep -q '"stringValue":"dmap-' "$out/node1.otlp" || {
  echo "check_otlp_demo: --service dmap is not the service name" >&2
  exit 1
}
# Each node exporting (or pushing) its own dump: the collector gets the
# four files and must build the same trees, every SERVER span under its
# caller's CLIENT span from the caller's own file, and each call's request
# packets (the caller's own) as its events, as in the joint export (there
# without the receive times, and the reply's packets, of the callee).
: >"$out/each.otlp"
for dump in "$d"/node*.ptd; do
  "$peertrace" export otlp -o "$out/one.otlp" "$dump"
  cat "$out/one.otlp" >>"$out/each.otlp"
done
check "$out/each.otlp" '{"parents_found": true, "cross_node_parents": 6,
  "packet_events": 6}'
python3 - "$out/all.otlp" "$out/each.otlp" <<'PY'
import json, sys
def spans(path):
    out = {}
    for line in open(path):
        for rs in json.loads(line)["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    out[s["spanId"]] = s
    return out
def request_packets(s):
    """The request hop's packet events: what the caller itself sent."""
    rows = []
    for e in s.get("events", []):
        a = {x["key"]: list(x["value"].values())[0] for x in e["attributes"]}
        if a.get("peertrace.hop") == "request":
            rows.append((e["name"], a["pn"], a["space"], a["size"], a["offset"],
                         a["length"], a.get("retransmits_pn")))
    return rows
joint, each = spans(sys.argv[1]), spans(sys.argv[2])
if joint.keys() != each.keys():
    sys.exit("check_otlp_demo: the one-node exports hold other spans")
calls = packets = 0
for k, s in joint.items():
    o = each[k]
    if s.get("parentSpanId") != o.get("parentSpanId"):
        sys.exit(f"check_otlp_demo: span {k} ({s['name']}) has parent "
                 f"{o.get('parentSpanId')} alone, {s.get('parentSpanId')} together")
    if s["kind"] == 3:
        want, got = request_packets(s), request_packets(o)
        if want != got:
            sys.exit(f"check_otlp_demo: call {k} ({s['name']}): request packets "
                     f"{got} alone, {want} together")
        calls += 1
        packets += len(got)
if packets == 0:
    sys.exit("check_otlp_demo: no call has request packets")
print(f"check_otlp_demo: {len(each)} spans, the same parents in the four "
      f"one-node exports as in the joint one; {calls} calls, the same "
      f"{packets} request packets")
PY
trace=$(grep -o '"traceId":"[0-9a-f]*"' "$out/all.otlp" | head -1 | cut -d'"' -f4)
"$peertrace" export otlp --trace "$trace" -o "$out/trace.otlp" "$d"/*.ptd
check "$out/trace.otlp" "{\"same_ids_as\": \"$out/all.otlp\", \"parents_found\": true}"
# The checker must refuse what the receiver would not read: a request over
# two lines, and a SERVER span whose parent is on its own node.
python3 - "$out/all.otlp" "$out/broken1.otlp" "$out/broken2.otlp" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
line = text.splitlines()[0]
open(sys.argv[2], "w").write(line[:20] + "\n" + line[20:] + "\n")
doc = json.loads(line)
spans = {s["spanId"]: (rs, s) for rs in doc["resourceSpans"]
         for s in rs["scopeSpans"][0]["spans"]}
# A forwarding node's SERVER span made the child of its own CLIENT span.
done = False
for rs, s in spans.values():
    same = [o for o in rs["scopeSpans"][0]["spans"]
            if o["kind"] == 3 and o["traceId"] == s["traceId"]]
    if s["kind"] == 2 and "parentSpanId" in s and same:
        s["parentSpanId"] = same[0]["spanId"]
        done = True
        break
assert done, "no forwarding node"
open(sys.argv[3], "w").write(json.dumps(doc, separators=(",", ":")) + "\n")
PY
for broken in broken1 broken2; do
  if check "$out/$broken.otlp" >/dev/null 2>"$out/$broken.err"; then
    echo "check_otlp_demo: the checker accepted $broken.otlp" >&2
    exit 1
  fi
  echo "check_otlp_demo: $broken.otlp refused: $(cat "$out/$broken.err")"
done
