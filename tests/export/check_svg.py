#!/usr/bin/env python3
"""check_svg.py FILE [EXPECT]: after xmllint has found the file well-formed,
checks that it is an SVG document with one lane per node, packet arrows and
lost-packet marks (counts given as JSON in EXPECT), and its layout with
tests/cli/svg_geometry.py: no label near an arrowhead or a lost packet's
cross, on a mark or on another label, no arrowhead hidden under a mark."""
import json
import os
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "cli"))
import svg_geometry  # noqa: E402

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
try:
    layout = svg_geometry.check(sys.argv[1])
except svg_geometry.LayoutError as e:
    fail("layout: %s" % e)
print("check_svg: valid: %s, layout: %s" % (json.dumps(summary), json.dumps(layout)))
