"""Tests of mstudio.extraction.staff (extraction-spec.md §3.6 generateStaffspaces and
§3.7 snapNodesToStaves) on real MuNG documents and on small synthetic staves.

Run as a script (exit code 0 = pass) or with pytest. Needs numpy, lxml and mung 1.2.1
(plus a ``skimage`` for ``mung.node``) on sys.path; the mstudio package is found
relative to this file. Sample data: $MUNG_SAMPLES (default /work/shared/data/mung-samples).

Documents used:

* sandbox page ``4b494e80…jpg.xml`` (MuNG 2.0, MuNG Studio export): 3 staves of 5 lines,
  but *no* staff -> staffLine links, *no* staffSpace nodes, no leger lines and no
  notehead -> staff links. The staves are therefore linked to their lines by box
  containment first, and the snapping results are checked against hand-checked
  expectations (read off the page image) instead of original links.
* ``mung2midi-sample/CVC-MUSCIMA_W-01_N-10_D-ideal.xml`` (MuNG 2.0 conversion of
  MUSCIMA++): 6 staves with lines, spaces and all staff links, 74 leger lines. Used to
  compare generated staffspaces with annotated ones and restored links with the
  original links.
"""

import os
import sys

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGES = os.path.join(os.path.dirname(_HERE), "packages")
if _PACKAGES not in sys.path:
    sys.path.insert(0, _PACKAGES)

from mstudio.errors import ExtractionError, InvalidInput  # noqa: E402
from mstudio.extraction.staff import (  # noqa: E402
    GRACE_NOTEHEAD_CLASSES,
    NOTEHEAD_CLASSES,
    SYMBOL_ENGINE_CLASSES,
    generate_staffspaces,
    merge_masks,
    snap_nodes_to_staves,
)

SAMPLES = os.environ.get("MUNG_SAMPLES", "/work/shared/data/mung-samples")
SANDBOX = os.path.join(SAMPLES, "sandbox-data",
                       "4b494e80-4cd2-11ea-a3ba-005056827e52_89218983-dac6-4e8f-9549-05f18d613154.jpg.xml")
MUSCIMA2 = os.path.join(SAMPLES, "mung2midi-sample", "CVC-MUSCIMA_W-01_N-10_D-ideal.xml")

STAFF_TARGETS = ("staff", "staffLine", "staffSpace")
SYMBOL_CLASSES = tuple(c for group in SYMBOL_ENGINE_CLASSES for c in group)
SNAPPED_CLASSES = NOTEHEAD_CLASSES + GRACE_NOTEHEAD_CLASSES + ("measureSeparator",) + SYMBOL_CLASSES

REPORT = []


def report(line):
    REPORT.append(line)
    print("  " + line)


from _runner import skip  # noqa: E402


# ---------------------------------------------------------------------------
# fixtures

def node(id_, class_name, top, left, width, height, mask=None, outlinks=(), inlinks=()):
    return {
        "id": id_, "class_name": class_name, "top": top, "left": left,
        "width": width, "height": height,
        "outlinks": list(outlinks), "inlinks": list(inlinks),
        "precedence_outlinks": [], "precedence_inlinks": [], "text_transcription": None,
        "mask": mask,
    }


def load_document(path):
    """Node dicts of a MuNG file, read with mung 1.2.1's reader."""
    if not os.path.exists(path):
        skip("sample document not found: " + path)
    from mung.io import read_nodes_from_file

    out = []
    for n in read_nodes_from_file(path):
        data = n.data or {}
        out.append(node(n.id, n.class_name, n.top, n.left, n.width, n.height,
                        None if n.mask is None else n.mask.astype(np.uint8),
                        n.outlinks, n.inlinks))
        out[-1]["precedence_outlinks"] = list(data.get("precedence_outlinks", []))
        out[-1]["precedence_inlinks"] = list(data.get("precedence_inlinks", []))
        out[-1]["text_transcription"] = data.get("text_transcription")
    return out


def link(a, b):
    a["outlinks"].append(b["id"])
    b["inlinks"].append(a["id"])


def sandbox_with_staff_links():
    """The sandbox page, with staff -> staffLine links added by box containment."""
    nodes = load_document(SANDBOX)
    staffs = [n for n in nodes if n["class_name"] == "staff"]
    lines = [n for n in nodes if n["class_name"] == "staffLine"]
    for s in staffs:
        for ln in lines:
            if s["top"] <= ln["top"] and ln["top"] + ln["height"] <= s["top"] + s["height"] \
                    and s["left"] <= ln["left"] and ln["left"] + ln["width"] <= s["left"] + s["width"]:
                link(s, ln)
    return nodes


def by_id(nodes):
    return {n["id"]: n for n in nodes}


def paste(canvas, n):
    canvas[n["top"]:n["top"] + n["height"], n["left"]:n["left"] + n["width"]] |= n["mask"].astype(bool)


# ---------------------------------------------------------------------------
# independent re-computation of §3.6 (plain loops, written from the spec table)

def ref_fill(values):
    known = [i for i, v in enumerate(values) if v != -1]
    if not known:
        return values
    for i in range(known[0]):
        values[i] = values[known[0]]
    for i in range(known[-1] + 1, len(values)):
        values[i] = values[known[-1]]
    for s, e in zip(known, known[1:]):
        if e - s > 1:
            seg = np.linspace(values[s], values[e], e - s + 1)
            for k in range(e - s + 1):
                values[s + k] = int(round(float(seg[k])))  # round(): ties to even
    return values


def ref_merge(a, ya, b, yb):
    ha, w = a.shape
    hb = b.shape[0]
    rows = max(ya + ha, yb + hb) - ya
    top, bot = [-1] * w, [-1] * w
    for c in range(w):
        for r in range(ha):
            if a[r, c]:
                top[c] = r
                break
        for r in range(hb - 1, -1, -1):
            if b[r, c]:
                bot[c] = r + (yb - ya)
                break
    ref_fill(top)
    ref_fill(bot)
    out = np.zeros((rows, w), dtype=np.uint8)
    for c in range(w):
        if top[c] != -1 and bot[c] != -1:
            out[top[c]:bot[c] + 1, c] = 1
    return out


def ref_crop(top, left, mask):
    rows = [r for r in range(mask.shape[0]) if mask[r].any()]
    cols = [c for c in range(mask.shape[1]) if mask[:, c].any()]
    if not rows:
        return top, left, mask
    return (top + rows[0], left + cols[0],
            mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])


def ref_spaces(lines):
    """[(uncropped box, cropped box, cropped mask)] for S0..S5; lines sorted by top."""
    t = [ln["top"] for ln in lines]
    lft = [ln["left"] for ln in lines]
    w = [ln["width"] for ln in lines]
    h = [ln["height"] for ln in lines]
    m = [ln["mask"] for ln in lines]
    d = int(np.mean([t[i + 1] - t[i] for i in range(4)]))
    out = []
    box = (t[0] - d, lft[0], w[0], h[0] + d)
    out.append((box, ref_merge(m[0], t[0] - d, m[0], t[0])))
    for i in range(4):
        lo = max(lft[i], lft[i + 1])
        hi = min(lft[i] + w[i], lft[i + 1] + w[i + 1])
        box = (t[i], lo, hi - lo, t[i + 1] + h[i + 1] - t[i])
        a = m[i][:, lo - lft[i]:hi - lft[i]]
        b = m[i + 1][:, lo - lft[i + 1]:hi - lft[i + 1]]
        out.append((box, ref_merge(a, t[i], b, t[i + 1])))
    box = (t[4], lft[4], w[4], h[4] + d)
    out.append((box, ref_merge(m[4], t[4], m[4], t[4] + d)))
    result = []
    for box, mask in out:
        assert mask.shape == (box[3], box[2])
        top, left, cm = ref_crop(box[0], box[1], mask)
        result.append((box, (top, left, cm.shape[1], cm.shape[0]), cm))
    return result


# ---------------------------------------------------------------------------
# §3.6 on the sandbox page

def test_sandbox_document_has_no_staff_links_or_spaces():
    nodes = load_document(SANDBOX)
    classes = [n["class_name"] for n in nodes]
    assert classes.count("staff") == 3 and classes.count("staffLine") == 15
    assert classes.count("staffSpace") == 0 and classes.count("legerLine") == 0
    ids = by_id(nodes)
    staff_children = [o for n in nodes if n["class_name"] == "staff" for o in n["outlinks"]]
    assert staff_children == []
    # The only links to staff objects are clef -> staffLine.
    to_staff = sorted((n["class_name"], ids[o]["class_name"]) for n in nodes for o in n["outlinks"]
                      if ids[o]["class_name"] in STAFF_TARGETS)
    assert to_staff == [("gClef", "staffLine")] * 3, to_staff


def _sandbox_spaces():
    nodes = sandbox_with_staff_links()
    staffs = sorted((n for n in nodes if n["class_name"] == "staff"), key=lambda n: n["top"])
    # The whole document goes in; only the staves and their lines are used.
    return nodes, staffs, generate_staffspaces(nodes)


def test_generate_staffspaces_sandbox_properties():
    nodes, staffs, spaces = _sandbox_spaces()
    ids = by_id(nodes)
    assert [s["id"] for s in staffs] == [11, 10, 75]
    assert len(spaces) == 18
    # ids: max id of the input + 1, ... in output order
    assert [sp["id"] for sp in spaces] == list(range(355, 373))
    for k, staff in enumerate(staffs):
        mine = spaces[6 * k:6 * k + 6]
        assert all(sp["class_name"] == "staffSpace" for sp in mine)
        assert all(sp["inlinks"] == [staff["id"]] and sp["outlinks"] == [] for sp in mine)
        assert all(sp["precedence_outlinks"] == [] and sp["text_transcription"] is None for sp in mine)
        tops = [sp["top"] for sp in mine]
        assert tops == sorted(tops) and len(set(tops)) == 6, tops
        lines = sorted((ids[o] for o in staff["outlinks"]), key=lambda n: n["top"])
        assert len(lines) == 5
        expected = ref_spaces(lines)
        t = [ln["top"] for ln in lines]
        d = (t[4] - t[0]) // 4
        for i, (sp, (box, cbox, cmask)) in enumerate(zip(mine, expected)):
            got = (sp["top"], sp["left"], sp["width"], sp["height"])
            # The line masks are tight, so cropping never moves the spec-table box here.
            assert got == cbox == box, (staff["id"], i, got, cbox, box)
            assert sp["mask"].dtype == np.uint8 and sp["mask"].shape == (sp["height"], sp["width"])
            assert np.array_equal(sp["mask"], cmask), (staff["id"], i)
        # Spec table, spelled out for S0 and S5.
        l1, l5 = lines[0], lines[4]
        assert (mine[0]["top"], mine[0]["left"], mine[0]["width"], mine[0]["height"]) == \
            (l1["top"] - d, l1["left"], l1["width"], l1["height"] + d)
        assert (mine[5]["top"], mine[5]["left"], mine[5]["width"], mine[5]["height"]) == \
            (l5["top"], l5["left"], l5["width"], l5["height"] + d)
        # S1..S4: from the top of line i to the bottom of line i+1, on the column overlap.
        for i in range(4):
            a, b = lines[i], lines[i + 1]
            lo = max(a["left"], b["left"])
            hi = min(a["left"] + a["width"], b["left"] + b["width"])
            sp = mine[i + 1]
            assert (sp["top"], sp["left"], sp["width"], sp["height"]) == \
                (a["top"], lo, hi - lo, b["top"] + b["height"] - a["top"])
        report("staff {0}: d={1}, spaces {2}".format(
            staff["id"], d, [(sp["top"], sp["left"], sp["width"], sp["height"]) for sp in mine]))


def test_generated_spaces_cover_their_lines():
    nodes, staffs, spaces = _sandbox_spaces()
    ids = by_id(nodes)
    for k, staff in enumerate(staffs):
        mine = spaces[6 * k:6 * k + 6]
        lines = sorted((ids[o] for o in staff["outlinks"]), key=lambda n: n["top"])
        for i, sp in enumerate(mine):
            page_sp = np.zeros((1300, 1400), dtype=bool)
            paste(page_sp, sp)
            if i == 0:
                neighbours = [lines[0]]
            elif i == 5:
                neighbours = [lines[4]]
            else:
                neighbours = [lines[i - 1], lines[i]]
            lo, hi = sp["left"], sp["left"] + sp["width"]
            for ln in neighbours:
                page_ln = np.zeros_like(page_sp)
                paste(page_ln, ln)
                page_ln[:, :lo] = False
                page_ln[:, hi:] = False
                uncovered = int((page_ln & ~page_sp).sum())
                assert uncovered == 0, (staff["id"], i, ln["id"], uncovered)
            # every column of the space is one contiguous vertical run
            m = sp["mask"]
            for c in range(m.shape[1]):
                col = np.flatnonzero(m[:, c])
                assert col.size == 0 or col[-1] - col[0] + 1 == col.size


# ---------------------------------------------------------------------------
# §3.6 against the annotated staffspaces of the MUSCIMA++ 2.0 document

def test_generate_staffspaces_vs_annotated_muscima():
    nodes = load_document(MUSCIMA2)
    ids = by_id(nodes)
    staffs = sorted((n for n in nodes if n["class_name"] == "staff"), key=lambda n: n["top"])
    subset = []
    annotated = {}
    for s in staffs:
        s2 = dict(s, outlinks=[o for o in s["outlinks"] if ids[o]["class_name"] == "staffLine"],
                  inlinks=[])
        subset.append(s2)
        subset.extend(dict(ids[o], inlinks=[s["id"]], outlinks=[]) for o in s2["outlinks"])
        annotated[s["id"]] = sorted((ids[o] for o in s["outlinks"]
                                     if ids[o]["class_name"] == "staffSpace"), key=lambda n: n["top"])
    spaces = generate_staffspaces(subset)
    assert len(spaces) == 6 * len(staffs) == 36
    inner_same_box = outer_same_box = 0
    ious = []
    for k, s in enumerate(staffs):
        mine = spaces[6 * k:6 * k + 6]
        for i, (g, a) in enumerate(zip(mine, annotated[s["id"]])):
            same = (g["top"], g["left"], g["width"], g["height"]) == \
                (a["top"], a["left"], a["width"], a["height"])
            if i in (0, 5):
                outer_same_box += same
                continue
            inner_same_box += same
            lo = min(g["left"], a["left"])
            top = min(g["top"], a["top"])
            h = max(g["top"] + g["height"], a["top"] + a["height"]) - top
            w = max(g["left"] + g["width"], a["left"] + a["width"]) - lo
            A = np.zeros((h, w), dtype=bool)
            B = np.zeros((h, w), dtype=bool)
            A[g["top"] - top:g["top"] - top + g["height"], g["left"] - lo:g["left"] - lo + g["width"]] = \
                g["mask"] > 0
            B[a["top"] - top:a["top"] - top + a["height"], a["left"] - lo:a["left"] - lo + a["width"]] = \
                a["mask"] > 0
            ious.append((A & B).sum() / float((A | B).sum()))
    report("MUSCIMA++ 2.0 staffspaces: inner S1..S4 boxes identical {0}/24, outer S0/S5 "
           "boxes identical {1}/12, inner mask IoU min {2:.3f} mean {3:.3f}".format(
               inner_same_box, outer_same_box, min(ious), float(np.mean(ious))))
    # Inner boxes follow the same rule (top of line i .. bottom of line i+1, column
    # overlap). The annotated outer spaces and all annotated masks come from mung
    # 1.2.1's build_staffspace_nodes (height int(h/1.2), line surroundings), not §3.6.
    assert inner_same_box == 24
    assert outer_same_box == 0
    assert min(ious) > 0.7


# ---------------------------------------------------------------------------
# §3.6 merge and error cases on synthetic input

def test_merge_masks_interpolation_hand_computed():
    upper = np.array([[1, 0, 0, 0, 0],
                      [0, 0, 0, 0, 1]], dtype=np.uint8)
    lower = np.array([[0, 0, 1, 0, 0],
                      [1, 0, 0, 0, 0]], dtype=np.uint8)
    # tops: [0,-1,-1,-1,1] -> rne(linspace(0,1,5)) = [0,0,0,1,1] (0.5 -> 0)
    # bottoms (offset 6): [7,-1,6,-1,-1] -> [7, rne(6.5)=6, 6] then 6, 6
    got = merge_masks(upper, 10, lower, 16)
    expected = np.zeros((8, 5), dtype=np.uint8)
    for c, (a, b) in enumerate([(0, 7), (0, 6), (0, 6), (1, 6), (1, 6)]):
        expected[a:b + 1, c] = 1
    assert np.array_equal(got, expected), got
    assert np.array_equal(got, ref_merge(upper, 10, lower, 16))
    # 1.5 -> 2 and 2.25 -> 2 (ties to even)
    up = np.zeros((4, 5), dtype=np.uint8)
    up[0, 0] = 1
    up[3, 4] = 1
    lo = np.ones((1, 5), dtype=np.uint8)
    got = merge_masks(up, 0, lo, 5)
    assert [int(np.flatnonzero(got[:, c])[0]) for c in range(5)] == [0, 1, 2, 2, 3]
    # empty columns everywhere -> all-zero mask of the full height
    assert not merge_masks(np.zeros((2, 3), np.uint8), 0, np.zeros((2, 3), np.uint8), 4).any()
    try:
        merge_masks(np.ones((2, 3), np.uint8), 0, np.ones((2, 4), np.uint8), 4)
    except ExtractionError as exc:
        assert "Masks must have the same width" in str(exc)
    else:
        raise AssertionError("width mismatch accepted")
    try:
        merge_masks(np.ones((2, 3), np.uint8), 5, np.ones((2, 3), np.uint8), 4)
    except ExtractionError as exc:
        assert "Top mask must be higher than bottom mask" in str(exc)
    else:
        raise AssertionError("inverted order accepted")


def synthetic_staff(n_lines=5, spacing=10, left=20, width=60, lefts=None, widths=None,
                    heights=None, first_id=0, top=50):
    """A staff (id first_id) with n_lines horizontal lines (ids first_id+1...)."""
    staff = node(first_id, "staff", top - 1, 0, 200, spacing * n_lines + 2)
    nodes = [staff]
    for i in range(n_lines):
        lt = left if lefts is None else lefts[i]
        wt = width if widths is None else widths[i]
        ht = 2 if heights is None else heights[i]
        ln = node(first_id + 1 + i, "staffLine", top + i * spacing, lt, wt, ht,
                  np.ones((ht, wt), dtype=np.uint8))
        link(staff, ln)
        nodes.append(ln)
    return nodes


def expect_error(cls, fragment, fn, *args):
    try:
        fn(*args)
    except cls as exc:
        assert fragment in str(exc), str(exc)
        return str(exc)
    except Exception as exc:  # pragma: no cover - reported as failure
        raise AssertionError("expected {0}({1!r}), got {2!r}".format(cls.__name__, fragment, exc))
    raise AssertionError("expected {0}({1!r}), nothing raised".format(cls.__name__, fragment))


def test_generate_staffspaces_synthetic_and_errors():
    nodes = synthetic_staff()
    spaces = generate_staffspaces(nodes)
    assert [(s["top"], s["left"], s["width"], s["height"]) for s in spaces] == [
        (40, 20, 60, 12), (50, 20, 60, 12), (60, 20, 60, 12), (70, 20, 60, 12),
        (80, 20, 60, 12), (90, 20, 60, 12)]
    assert all(s["mask"].all() for s in spaces)
    assert [s["id"] for s in spaces] == [6, 7, 8, 9, 10, 11]
    # 4 lines
    msg = expect_error(ExtractionError, "Provided staffline count is not a multiple of 5",
                       generate_staffspaces, synthetic_staff(n_lines=4))
    assert "staff 0" in msg
    # 10 lines (a multiple of 5, still not 5)
    expect_error(ExtractionError, "Provided staffline count is not a multiple of 5",
                 generate_staffspaces, synthetic_staff(n_lines=10))
    # lines 2 and 3 do not overlap horizontally
    msg = expect_error(ExtractionError, "do not overlap horizontally", generate_staffspaces,
                       synthetic_staff(lefts=[0, 0, 100, 100, 100], widths=[50] * 5))
    assert "staffLines 2 and 3" in msg
    # touching but not overlapping (overlap width 0) is also an error
    expect_error(ExtractionError, "do not overlap horizontally", generate_staffspaces,
                 synthetic_staff(lefts=[0, 0, 50, 50, 50], widths=[50] * 5))
    # line 2 reaches below the bottom of line 3 -> mask shape != box
    msg = expect_error(ExtractionError, "merged mask", generate_staffspaces,
                       synthetic_staff(heights=[2, 25, 2, 2, 2]))
    assert "S2" in msg
    # a line without a mask
    bad = synthetic_staff()
    bad[3]["mask"] = None
    expect_error(ExtractionError, "has no mask", generate_staffspaces, bad)
    # no staff: the input's staffSpace nodes are returned
    sp = node(5, "staffSpace", 0, 0, 2, 2, np.ones((2, 2), np.uint8))
    out = generate_staffspaces([node(1, "staffLine", 0, 0, 2, 1, np.ones((1, 2), np.uint8)), sp])
    assert [n["id"] for n in out] == [5]
    assert generate_staffspaces([]) == []


def test_invalid_inputs():
    good = synthetic_staff()
    cases = []
    n = synthetic_staff()
    n[1]["mask"] = np.ones((3, 60), np.uint8)
    cases.append((n, "does not match"))
    n = synthetic_staff()
    n[1]["mask"] = n[1]["mask"] * 255
    cases.append((n, "binary"))
    n = synthetic_staff()
    del n[2]["inlinks"]
    cases.append((n, "missing key"))
    n = synthetic_staff()
    n[2]["top"] = "50"
    cases.append((n, "must be an integer"))
    n = synthetic_staff()
    n[2]["mask"] = n[2]["mask"].astype(np.float64)
    cases.append((n, "dtype"))
    n = synthetic_staff()
    n[3]["id"] = n[2]["id"]
    cases.append((n, "duplicate node id"))
    cases.append(("nodes", "list"))
    cases.append(([1, 2], "must be a dict"))
    for fn in (generate_staffspaces, snap_nodes_to_staves):
        for bad, fragment in cases:
            expect_error(InvalidInput, fragment, fn, bad)
    assert len(generate_staffspaces(good)) == 6
    page = synthetic_snap_page()
    assert len(snap_nodes_to_staves(page)) == len(page)


# ---------------------------------------------------------------------------
# §3.7 on the sandbox page (hand-checked against the page image)

def _snapped_sandbox(rename_black=False):
    nodes, staffs, spaces = _sandbox_spaces()
    ids = by_id(nodes)
    for k, s in enumerate(staffs):
        for sp in spaces[6 * k:6 * k + 6]:
            ids[s["id"]]["outlinks"].append(sp["id"])
    everything = nodes + spaces
    if rename_black:
        for n in everything:
            if n["class_name"] == "noteheadFull":
                n["class_name"] = "noteheadBlack"
    return everything, staffs, spaces, snap_nodes_to_staves(everything)


def test_snap_sandbox_hand_checked():
    before, staffs, spaces, after = _snapped_sandbox()
    old = by_id(before)
    new = by_id(after)
    assert [n["id"] for n in after] == [n["id"] for n in before]
    space = {}  # (staff id, k) -> staffSpace id, k = 0..5 (S0..S5)
    for k, s in enumerate(staffs):
        for i, sp in enumerate(spaces[6 * k:6 * k + 6]):
            space[(s["id"], i)] = sp["id"]

    def added(i):
        return [o for o in new[i]["outlinks"] if o not in old[i]["outlinks"]]

    # Lines: staff 11 = 0..4, staff 10 = 5..9, staff 75 = 70..74 (top to bottom).
    expected = {
        21: [11, 2],                    # top staff, on the middle line
        22: [11, 2],
        23: [11, space[(11, 3)]],       # eighth with flag, space between lines 3 and 4
        34: [11, 1],                    # on line 2
        36: [11, space[(11, 2)]],       # space between lines 2 and 3
        46: [11, space[(11, 3)]],       # half note, space between lines 3 and 4
        50: [10, space[(10, 1)]],       # space between lines 1 and 2
        56: [10, 6],
        58: [10, space[(10, 2)]],
        68: [10, 7],
        83: [75, 73],                   # on line 4
        84: [75, 72],
        93: [75, space[(75, 1)]],
        105: [75, space[(75, 2)]],
        106: [75, 72],
        110: [11], 111: [11], 112: [11],  # measure separators: one staff each
        113: [10], 114: [10], 115: [10],
        118: [75], 119: [75], 120: [75], 121: [75],
        116: [11], 117: [10], 122: [75],  # key signatures
        348: [75],                        # time signature
        352: [10], 353: [75],             # quarter rests
        19: [11], 48: [10], 81: [75],     # clefs: staff derived from their staffLine link
    }
    for i, exp in expected.items():
        assert added(i) == exp, (i, added(i), exp)
    # the staff side carries the inlinks
    for i, exp in expected.items():
        for target in exp:
            assert i in new[target]["inlinks"], (i, target)
    # every notehead got exactly one staff and one position
    heads = [n for n in after if n["class_name"] in NOTEHEAD_CLASSES]
    assert len(heads) == 26
    for h in heads:
        got = [new[o]["class_name"] for o in added(h["id"])]
        assert got[0] == "staff" and got[1] in ("staffLine", "staffSpace") and len(got) == 2
    # nothing else changed
    for n in after:
        if n["class_name"] not in SNAPPED_CLASSES + STAFF_TARGETS:
            assert n["outlinks"] == old[n["id"]]["outlinks"] and n["inlinks"] == old[n["id"]]["inlinks"]
    # idempotent: snapping again adds nothing
    again = snap_nodes_to_staves(after)
    assert [(n["outlinks"], n["inlinks"]) for n in again] == [(n["outlinks"], n["inlinks"]) for n in after]
    report("sandbox: {0} hand-checked nodes snapped as expected".format(len(expected)))


def test_snap_notehead_black_renaming():
    _, _, _, full = _snapped_sandbox()
    _, _, _, black = _snapped_sandbox(rename_black=True)
    assert sum(n["class_name"] == "noteheadBlack" for n in black) == 25
    assert not any(n["class_name"] == "noteheadFull" for n in black)
    assert [(n["id"], n["outlinks"], n["inlinks"]) for n in black] == \
        [(n["id"], n["outlinks"], n["inlinks"]) for n in full]


# ---------------------------------------------------------------------------
# §3.7 against the original links of the MUSCIMA++ 2.0 document

def _engine(class_name):
    if class_name in NOTEHEAD_CLASSES:
        return "noteheads"
    if class_name in GRACE_NOTEHEAD_CLASSES:
        return "grace noteheads"
    if class_name == "measureSeparator":
        return "measure separators"
    return "rests/clefs/keys/times"


def test_snap_restores_muscima_links():
    nodes = load_document(MUSCIMA2)
    ids = by_id(nodes)
    original = {}
    removed = set()
    stripped = []
    for n in nodes:
        n2 = dict(n, outlinks=list(n["outlinks"]), inlinks=list(n["inlinks"]))
        if n["class_name"] in SNAPPED_CLASSES:
            original[n["id"]] = [o for o in n["outlinks"] if ids[o]["class_name"] in STAFF_TARGETS]
            removed.update((n["id"], o) for o in original[n["id"]])
            n2["outlinks"] = [o for o in n["outlinks"] if ids[o]["class_name"] not in STAFF_TARGETS]
        stripped.append(n2)
    for n2 in stripped:
        n2["inlinks"] = [i for i in n2["inlinks"] if (i, n2["id"]) not in removed]
    report("MUSCIMA++ 2.0: {0} staff-related links stripped".format(len(removed)))
    snapped = by_id(snap_nodes_to_staves(stripped))

    stats = {}
    mismatches = []
    for i, orig in original.items():
        got = [o for o in snapped[i]["outlinks"] if ids[o]["class_name"] in STAFF_TARGETS]
        engine = _engine(ids[i]["class_name"])
        s = stats.setdefault(engine, [0, 0, 0, 0])
        st_o = {o for o in orig if ids[o]["class_name"] == "staff"}
        st_g = {o for o in got if ids[o]["class_name"] == "staff"}
        s[0] += 1
        s[1] += st_o == st_g
        s[2] += set(orig) - st_o == set(got) - st_g
        s[3] += set(orig) == set(got)
        if set(orig) != set(got):
            mismatches.append((i, ids[i]["class_name"], orig, got))
        # symmetric links
        for o in got:
            assert i in snapped[o]["inlinks"]
    for engine in ("noteheads", "grace noteheads", "measure separators", "rests/clefs/keys/times"):
        n, st, pos, full = stats[engine]
        report("MUSCIMA++ 2.0 {0}: {1} nodes, staff agrees {2}, staffLine/staffSpace agrees {3}, "
               "all staff links agree {4} ({5:.1%})".format(engine, n, st, pos, full, full / float(n)))
    for m in mismatches:
        report("  differs: node {0} {1}: original {2}, snapped {3}".format(*m))

    n, st, pos, full = stats["noteheads"]
    assert n == 236 and st >= 0.99 * n and full >= 0.98 * n
    n, st, pos, full = stats["grace noteheads"]
    assert n == 4 and st == n
    assert stats["measure separators"][3] == stats["measure separators"][0] == 14
    assert stats["rests/clefs/keys/times"][3] == stats["rests/clefs/keys/times"][0] == 27

    # hand-checked nodes
    def staff_links(i):
        return sorted(o for o in snapped[i]["outlinks"] if ids[o]["class_name"] in STAFF_TARGETS)

    assert staff_links(0) == [771, 797]      # on the 5th line of the top staff
    assert staff_links(7) == [798, 810]      # space of the 2nd staff
    assert staff_links(3) == [797]           # one leger line below the top staff: staff only
    assert staff_links(36) == [799]          # two leger lines below staff 799
    assert staff_links(38) == [799]
    assert staff_links(187) == [781, 799]    # grace note: staff of its principal note + line
    assert staff_links(748) == [797, 798]    # separator through a two-staff system
    assert staff_links(643) == [797]         # gClef
    assert staff_links(646) == [798]         # fClef
    assert staff_links(655) == [797]         # timeSignature


# ---------------------------------------------------------------------------
# §3.7 synthetic cases

def synthetic_snap_page():
    """Two staves with generated spaces (ids 0-11 and 20-31)."""
    a = synthetic_staff(first_id=0, top=50)
    b = synthetic_staff(first_id=100, top=150)
    nodes = a + b
    spaces = generate_staffspaces(nodes)
    ids = by_id(nodes)
    for sp in spaces:
        ids[sp["inlinks"][0]]["outlinks"].append(sp["id"])
    return nodes + spaces


def test_snap_synthetic_engines_and_errors():
    page = synthetic_snap_page()
    nid = max(n["id"] for n in page) + 1
    head = node(nid, "noteheadBlack", 61, 30, 10, 8)          # middle row 65: space S2
    leger = node(nid + 1, "legerLine", 109, 28, 14, 2)
    low = node(nid + 2, "noteheadHalf", 106, 29, 10, 8, outlinks=[nid + 1])  # overlaps its leger
    leger["inlinks"].append(nid + 2)
    sep = node(nid + 3, "measureSeparator", 48, 50, 2, 44)
    clef = node(nid + 4, "fClef", 150, 5, 10, 30)
    out = by_id(snap_nodes_to_staves(page + [head, leger, low, sep, clef]))
    spaces_a = sorted((n for n in page if n["class_name"] == "staffSpace" and n["inlinks"] == [0]),
                      key=lambda n: n["top"])
    assert out[nid]["outlinks"] == [0, spaces_a[2]["id"]]
    assert out[nid]["class_name"] == "noteheadBlack"
    # overlapping single leger, no chord/beam mates: closest staff by |staffDist|
    assert out[nid + 2]["outlinks"] == [nid + 1, 0]
    assert out[nid + 3]["outlinks"] == [0]
    assert out[nid + 4]["outlinks"] == [100]

    # errors: staffspace count, one-sided link, flat staff for separators
    bad = [dict(n) for n in page]
    ids = by_id(bad)
    ids[0]["outlinks"] = [o for o in ids[0]["outlinks"] if o != spaces_a[0]["id"]]
    msg = expect_error(ExtractionError, "Provided staffspace count is not a multiple of 6",
                       snap_nodes_to_staves, bad)
    assert "staff 0" in msg
    one_sided = [dict(n, outlinks=list(n["outlinks"]), inlinks=list(n["inlinks"])) for n in page]
    h = node(nid, "noteheadFull", 61, 30, 10, 8)
    ids = by_id(one_sided)
    ids[spaces_a[2]["id"]]["inlinks"].append(nid)  # inlink without the outlink
    expect_error(ExtractionError, "cannot link", snap_nodes_to_staves, one_sided + [h])
    flat = synthetic_staff(spacing=0)
    fspaces = generate_staffspaces(flat)
    for sp in fspaces:
        flat[0]["outlinks"].append(sp["id"])
    expect_error(ExtractionError, "same row", snap_nodes_to_staves,
                 flat + fspaces + [node(99, "measureSeparator", 40, 40, 2, 20)])
    staff_without_children = [node(0, "staff", 0, 0, 10, 10), node(1, "noteheadFull", 0, 0, 2, 2)]
    expect_error(ExtractionError, "exactly 5 staffLine and 6 staffSpace",
                 snap_nodes_to_staves, staff_without_children)
    # no staff at all: unchanged
    lone = [node(1, "noteheadFull", 0, 0, 2, 2), node(2, "gClef", 0, 5, 2, 2)]
    assert snap_nodes_to_staves(lone) == lone


# ---------------------------------------------------------------------------

if __name__ == "__main__":
    import _runner

    sys.exit(_runner.main(globals()))
