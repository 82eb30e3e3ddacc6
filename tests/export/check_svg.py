#!/usr/bin/env python3
"""check_svg.py FILE [EXPECT]: after xmllint has found the file well-formed,
checks that it is an SVG document with one lane per node, packet arrows and
lost-packet marks (counts given as JSON in EXPECT)."""
import json
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def fail(msg):
    print("check_svg: " + msg, file=sys.stderr)
    sys.exit(1)


root = ET.parse(sys.argv[1]).getroot()
if root.tag != NS + "svg":
    fail("root element is %s, not svg" % root.tag)
for attr in ("width", "height", "viewBox"):
    if attr not in root.attrib:
        fail("svg without " + attr)
lines = root.findall(NS + "line")
summary = {
    "lanes": sum(1 for l in lines if l.get("stroke-dasharray") == "4 3"),
    "arrows": sum(1 for l in lines if l.get("marker-end") == "url(#arrow)"),
    "lost": sum(1 for l in lines if l.get("stroke") == "#c0392b"),
    "rows": sum(1 for t in root.findall(NS + "text")
                if (t.text or "").endswith(" ms")),
}
expect = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
for key, value in expect.items():
    if summary.get(key) != value:
        fail("%s: expected %r, got %r" % (key, value, summary.get(key)))
print("check_svg: valid: " + json.dumps(summary))
