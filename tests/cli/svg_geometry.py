#!/usr/bin/env python3
"""Checks the layout of a peertrace SVG sequence diagram, numerically.

Usage: svg_geometry.py FILE.svg [REQUIRED_TEXT...]
(or, from Python, check(path, required) after importing it: check_svg.py).
Fails (exit 1, saying where) if
  - a label's box comes within MARGIN px of an arrowhead (the triangle of
    a line's marker-end) or of a lost packet's cross (a <path>),
  - a label's box meets an event's mark (<rect> box, <circle> dot, taken
    as the 16-gon around it),
  - an arrowhead is under a mark drawn after it (hidden by it),
  - two labels' boxes overlap, a label leaves the picture, a label is
    smaller than 10 px, or a REQUIRED_TEXT is not the text of some label.
Label boxes assume a monospace font whose advance is 0.602 em (DejaVu Sans
Mono, what librsvg and browsers use for "monospace" on Debian), from 0.76
em above the baseline to 0.24 em below.  Marks and crosses count their
stroke (half its width on each side).  Only the shapes the exporter draws
are read; a <path> with other than M/m/L/l commands is an error.
"""
import math
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
MARGIN = 2.0  # px between a label and any arrowhead or cross


class LayoutError(Exception):
    pass


def box(x0, y0, x1, y1, pad=0.0):
    return [(x0 - pad, y0 - pad), (x1 + pad, y0 - pad),
            (x1 + pad, y1 + pad), (x0 - pad, y1 + pad)]


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


def disc(cx, cy, r, sides=16):
    """A regular polygon just around the circle (a dot)."""
    rr = r / math.cos(math.pi / sides)
    return [(cx + rr * math.cos(2 * math.pi * i / sides),
             cy + rr * math.sin(2 * math.pi * i / sides)) for i in range(sides)]


def path_box(el):
    """The bounding box of a path of straight moves and lines, with its
    stroke."""
    tokens = re.findall(r"[A-Za-z]|-?[0-9.]+", el.get("d"))
    x = y = 0.0
    points, cmd, i = [], None, 0
    while i < len(tokens):
        if tokens[i].isalpha():
            cmd = tokens[i]
            if cmd not in "MmLl":
                raise LayoutError("path command %r not understood" % cmd)
            i += 1
            continue
        dx, dy = float(tokens[i]), float(tokens[i + 1])
        i += 2
        x, y = (x + dx, y + dy) if cmd in "ml" else (dx, dy)
        points.append((x, y))
    pad = float(el.get("stroke-width", "1")) / 2
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return box(min(xs), min(ys), max(xs), max(ys), pad)


def check(path, required=()):
    svg = ET.parse(path).getroot()
    width = float(svg.get("width"))
    height = float(svg.get("height"))
    default_size = float(svg.get("font-size", "12"))
    heads = {}  # marker id -> (length, height)
    for m in svg.iter(NS + "marker"):
        if m.get("markerUnits") != "userSpaceOnUse":
            raise LayoutError("marker %s scales with the line's width" % m.get("id"))
        heads[m.get("id")] = (float(m.get("markerWidth")),
                              float(m.get("markerHeight")))

    def triangle(line):
        """The arrowhead of a line: tip at (x2, y2), back along the line."""
        x1, y1, x2, y2 = (float(line.get(k)) for k in ("x1", "y1", "x2", "y2"))
        length, h = heads[line.get("marker-end")[len("url(#"):-1]]
        d = math.hypot(x2 - x1, y2 - y1) or 1.0
        ux, uy = (x2 - x1) / d, (y2 - y1) / d
        bx, by = x2 - ux * length, y2 - uy * length
        return [(x2, y2), (bx - uy * h / 2, by + ux * h / 2),
                (bx + uy * h / 2, by - ux * h / 2)]

    labels, arrows, crosses, marks = [], [], [], []
    defs = set(svg.find(NS + "defs").iter()) if svg.find(NS + "defs") is not None else set()
    for order, el in enumerate(svg.iter()):
        if el in defs:
            continue
        if el.tag == NS + "text":
            text = "".join(el.itertext())
            size = float(el.get("font-size", default_size))
            if size < 10:
                raise LayoutError("label %r is %g px" % (text, size))
            w = len(text) * 0.602 * size
            x, y = float(el.get("x")), float(el.get("y"))
            anchor = el.get("text-anchor", "start")
            x0 = x - w if anchor == "end" else x - w / 2 if anchor == "middle" else x
            if x0 < 0 or x0 + w > width or y > height:
                raise LayoutError("label %r leaves the picture (%g..%g of %g)"
                                  % (text, x0, x0 + w, width))
            labels.append((text, box(x0, y - 0.76 * size, x0 + w, y + 0.24 * size)))
        elif el.tag == NS + "line" and el.get("marker-end"):
            arrows.append((order, triangle(el)))
        elif el.tag == NS + "path":
            crosses.append(path_box(el))
        elif el.tag == NS + "rect" and el.get("x") is not None:
            x, y = float(el.get("x")), float(el.get("y"))
            pad = 0.5 if el.get("stroke") else 0.0
            marks.append((order, box(x, y, x + float(el.get("width")),
                                     y + float(el.get("height")), pad)))
        elif el.tag == NS + "circle":
            cx, cy, r = (float(el.get(k)) for k in ("cx", "cy", "r"))
            marks.append((order, disc(cx, cy, r)))

    for text, lb in labels:
        near = box(lb[0][0], lb[0][1], lb[2][0], lb[2][1], MARGIN)
        for _, tri in arrows:
            if overlap(near, tri):
                raise LayoutError("label %r is within %g px of the arrowhead at "
                                  "(%g, %g)" % (text, MARGIN, tri[0][0], tri[0][1]))
        for cb in crosses:
            if overlap(near, cb):
                raise LayoutError("label %r is within %g px of the cross at "
                                  "(%g, %g)" % (text, MARGIN, cb[0][0], cb[0][1]))
        for _, mb in marks:
            if overlap(lb, mb):
                raise LayoutError("label %r covers the mark at (%g, %g)"
                                  % (text, mb[0][0], mb[0][1]))
    for order, tri in arrows:
        for later, mb in marks:
            if later > order and overlap(tri, mb):
                raise LayoutError("the arrowhead at (%g, %g) is under the mark "
                                  "at (%g, %g) drawn after it"
                                  % (tri[0][0], tri[0][1], mb[0][0], mb[0][1]))
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            if overlap(labels[i][1], labels[j][1]):
                raise LayoutError("labels %r and %r overlap"
                                  % (labels[i][0], labels[j][0]))
    texts = [t for t, _ in labels]
    for want in required:
        if want not in texts:
            raise LayoutError("no label %r" % want)
    return {"labels": len(labels), "arrowheads": len(arrows),
            "crosses": len(crosses), "marks": len(marks)}


if __name__ == "__main__":
    try:
        n = check(sys.argv[1], sys.argv[2:])
    except LayoutError as e:
        print("FAIL: %s: %s" % (sys.argv[1], e), file=sys.stderr)
        sys.exit(1)
    print("svg: %d labels, %d arrowheads, %d crosses, %d marks: no label "
          "within %g px of a head or cross, none on a mark or another label, "
          "no head under a mark" % (n["labels"], n["arrowheads"], n["crosses"],
                                    n["marks"], MARGIN))
