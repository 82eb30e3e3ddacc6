#!/usr/bin/env python3
"""Checks the layout of a peertrace SVG sequence diagram, numerically.

Usage: svg_geometry.py FILE.svg [REQUIRED_TEXT...]
Fails (exit 1, saying where) if a label's box meets an arrowhead (the
triangle of a line's marker-end), if two labels' boxes overlap, if a label
leaves the picture, if a label is smaller than 10 px, or if a REQUIRED_TEXT
is not the text of some label.  Label boxes assume a monospace font whose
advance is 0.602 em (DejaVu Sans Mono, what librsvg and browsers use for
"monospace" on Debian), from 0.76 em above the baseline to 0.24 em below.
"""
import math
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


svg = ET.parse(sys.argv[1]).getroot()
width = float(svg.get("width"))
height = float(svg.get("height"))
default_size = float(svg.get("font-size", "12"))
heads = {}  # marker id -> (length, height)
for m in svg.iter(NS + "marker"):
    if m.get("markerUnits") != "userSpaceOnUse":
        fail("marker %s scales with the line's width" % m.get("id"))
    heads[m.get("id")] = (float(m.get("markerWidth")), float(m.get("markerHeight")))


def triangle(line):
    """The arrowhead of a line: tip at (x2, y2), back along the line."""
    x1, y1, x2, y2 = (float(line.get(k)) for k in ("x1", "y1", "x2", "y2"))
    ref = line.get("marker-end")[len("url(#"):-1]
    length, h = heads[ref]
    d = math.hypot(x2 - x1, y2 - y1) or 1.0
    ux, uy = (x2 - x1) / d, (y2 - y1) / d
    bx, by = x2 - ux * length, y2 - uy * length
    return [(x2, y2), (bx - uy * h / 2, by + ux * h / 2),
            (bx + uy * h / 2, by - ux * h / 2)]


def axes(poly):
    for i in range(len(poly)):
        (ax, ay), (bx, by) = poly[i], poly[(i + 1) % len(poly)]
        yield (ay - by, bx - ax)


def overlap(p, q):
    """Separating axis test of two convex polygons (touching is apart)."""
    for ax in list(axes(p)) + list(axes(q)):
        pa = [ax[0] * x + ax[1] * y for x, y in p]
        qa = [ax[0] * x + ax[1] * y for x, y in q]
        if max(pa) <= min(qa) + 1e-6 or max(qa) <= min(pa) + 1e-6:
            return False
    return True


labels = []
for t in svg.iter(NS + "text"):
    text = "".join(t.itertext())
    size = float(t.get("font-size", default_size))
    if size < 10:
        fail("label %r is %g px" % (text, size))
    w = len(text) * 0.602 * size
    x, y = float(t.get("x")), float(t.get("y"))
    anchor = t.get("text-anchor", "start")
    x0 = x - w if anchor == "end" else x - w / 2 if anchor == "middle" else x
    box = [(x0, y - 0.76 * size), (x0 + w, y - 0.76 * size),
           (x0 + w, y + 0.24 * size), (x0, y + 0.24 * size)]
    if x0 < 0 or x0 + w > width or y > height:
        fail("label %r leaves the picture (%g..%g of %g)" % (text, x0, x0 + w, width))
    labels.append((text, box))

arrows = [triangle(l) for l in svg.iter(NS + "line") if l.get("marker-end")]
for text, box in labels:
    for tri in arrows:
        if overlap(box, tri):
            fail("label %r is under an arrowhead at %s" % (text, tri[0]))
for i in range(len(labels)):
    for j in range(i + 1, len(labels)):
        if overlap(labels[i][1], labels[j][1]):
            fail("labels %r and %r overlap" % (labels[i][0], labels[j][0]))
texts = [t for t, _ in labels]
for want in sys.argv[2:]:
    if want not in texts:
        fail("no label %r" % want)
print("svg: %d labels, %d arrowheads, none under another or a head"
      % (len(labels), len(arrows)))
