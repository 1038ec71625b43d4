"""Staff operations: staffspace generation and snapping symbols to staves.

Implements MuNG Studio's ``generateStaffspaces`` and ``snapNodesToStaves`` (the
project's extraction spec, §3.6 and §3.7) on node dicts (see
:mod:`mstudio.extraction.nodedicts`), using ``mung.node.Node`` and
``mung.graph.NotationGraph`` from PyPI ``mung`` 1.2.1 for the graph bookkeeping.

Both sections are *fork-version dependent* in the spec (no golden data). Where the
spec leaves a choice open, the choice made here is documented next to the code.

All arithmetic on coordinates is done with Python ints or explicit ``int64`` numpy
arrays, so the results do not depend on the platform word size (wasm32).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mstudio.errors import ExtractionError
from mstudio.extraction.nodedicts import new_node_dict, normalize_nodes, to_mung_node

if TYPE_CHECKING:
    from mung.node import Node

__all__ = [
    "generate_staffspaces",
    "snap_nodes_to_staves",
    "merge_masks",
    "horizontal_overlap",
    "StaffGeometry",
    "NOTEHEAD_CLASSES",
    "GRACE_NOTEHEAD_CLASSES",
    "SYMBOL_ENGINE_CLASSES",
]

STAFF = "staff"
STAFFLINE = "staffLine"
STAFFSPACE = "staffSpace"
LEGER_LINE = "legerLine"
STEM = "stem"
BEAM = "beam"
MEASURE_SEPARATOR = "measureSeparator"

# MuNG Studio calls the filled notehead ``noteheadBlack``; the engines (pinned
# mung constants) call it ``noteheadFull``. Renamed on the way in, reverted on the
# way out.
STUDIO_NOTEHEAD_BLACK = "noteheadBlack"
NOTEHEAD_FULL = "noteheadFull"

NOTEHEAD_CLASSES = ("noteheadFull", "noteheadHalf", "noteheadWhole")
GRACE_NOTEHEAD_CLASSES = ("noteheadFullSmall", "noteheadHalfSmall")

# The rests / one-bar repeat / time signature / key signature / clef engines, in
# the order in which they run here (the reference iterates a Python set, so its
# order is unspecified; it only affects the order of the staff's inlinks).
SYMBOL_ENGINE_CLASSES = (
    ("restWhole", "restHalf", "restQuarter", "rest8th", "rest16th", "rest32nd",
     "rest64th", "multiMeasureRest", "restBreve", "restLonga"),
    ("repeatOneBar",),
    ("timeSignature",),
    ("keySignature",),
    ("gClef", "cClef", "fClef"),
)

LINES_PER_STAFF = 5
SPACES_PER_STAFF = 6


def _ids(nodes):
    return "[" + ", ".join(str(n.id) for n in nodes) + "]"


def horizontal_overlap(a: Node, b: Node) -> int:
    """Column overlap of two nodes: ``min(a.right, b.right) - max(a.left, b.left)``.

    Negative when the nodes are horizontally disjoint (the fork's
    ``Node.horizontal_overlap``, missing from mung 1.2.1)."""
    return min(a.right, b.right) - max(a.left, b.left)


# ---------------------------------------------------------------------------
# §3.6 mask merge

def _first_one_rows(mask):
    """Per column: index of the first row holding a 1, or -1."""
    if mask.shape[0] == 0:
        return np.full(mask.shape[1], -1, dtype=np.int64)
    nz = mask != 0
    first = np.argmax(nz, axis=0).astype(np.int64)
    first[~nz.any(axis=0)] = -1
    return first


def _last_one_rows(mask):
    """Per column: index of the last row holding a 1, or -1."""
    h = mask.shape[0]
    if h == 0:
        return np.full(mask.shape[1], -1, dtype=np.int64)
    nz = mask[::-1] != 0
    last = (h - 1) - np.argmax(nz, axis=0).astype(np.int64)
    last[~nz.any(axis=0)] = -1
    return last


def _fill_unknown(values):
    """Fill the -1 entries (spec §3.6 step 5): constant before the first and after
    the last known column, ``rne(linspace)`` (float64, ties to even) in between."""
    values = values.copy()
    known = np.flatnonzero(values != -1)
    if known.size == 0:
        return values
    first, last = int(known[0]), int(known[-1])
    values[:first] = values[first]
    values[last + 1:] = values[last]
    gaps = np.flatnonzero(np.diff(known) > 1)
    for g in gaps.tolist():
        s, e = int(known[g]), int(known[g + 1])
        ramp = np.round(np.linspace(float(values[s]), float(values[e]), e - s + 1))
        values[s:e + 1] = ramp.astype(np.int64)
    return values


def merge_masks(upper: np.ndarray, upper_y: int, lower: np.ndarray, lower_y: int,
                context: str = "") -> np.ndarray:
    """Merge two equally wide 0/1 masks into the band from the top edge of
    ``upper`` to the bottom edge of ``lower`` (spec §3.6 step 5).

    ``upper`` is placed at row ``upper_y`` and ``lower`` at row ``lower_y`` (page
    coordinates). Returns a uint8 mask of ``max(upper_y + h_u, lower_y + h_l) -
    upper_y`` rows.
    """
    suffix = f" ({context})" if context else ""
    if upper.shape[1] != lower.shape[1]:
        raise ExtractionError(
            f"Masks must have the same width{suffix}: {upper.shape[1]} != {lower.shape[1]}")
    if upper_y > lower_y:
        raise ExtractionError(
            f"Top mask must be higher than bottom mask{suffix}: {upper_y} > {lower_y}")
    offset = lower_y - upper_y
    rows = max(upper_y + upper.shape[0], lower_y + lower.shape[0]) - upper_y
    top = _first_one_rows(upper)
    bottom = _last_one_rows(lower)
    bottom[bottom != -1] += offset
    top = _fill_unknown(top)
    bottom = _fill_unknown(bottom)
    r = np.arange(rows, dtype=np.int64)[:, None]
    band = (r >= top[None, :]) & (r <= bottom[None, :])
    band &= ((top != -1) & (bottom != -1))[None, :]
    return band.astype(np.uint8)


# ---------------------------------------------------------------------------
# §3.6 generateStaffspaces

def _staff_lines(graph, staff):
    """The staff's staffLine children sorted by top (stable). Exactly 5 required."""
    lines = graph.children(staff, [STAFFLINE])
    if len(lines) != LINES_PER_STAFF:
        raise ExtractionError(
            f"Provided staffline count is not a multiple of 5: staff {staff.id} has {len(lines)} "
            f"staffLine children {_ids(lines)} (exactly 5 are required)")
    lines = sorted(lines, key=lambda n: n.top)
    for line in lines:
        if line.mask is None:
            raise ExtractionError(f"staffLine {line.id} of staff {staff.id} has no mask")
    return lines


def _line_spacing(lines):
    """``d = trunc(mean(t[i+1] - t[i]))`` for lines sorted by top."""
    tops = [ln.top for ln in lines]
    total = tops[-1] - tops[0]  # == sum of consecutive differences, >= 0
    return total // (len(tops) - 1)


def _make_space(node_id, staff, top, left, width, height, mask, label):
    from mung.node import Node

    if mask.shape != (height, width):
        raise ExtractionError(
            f"staffSpace {label} of staff {staff.id}: merged mask is "
            f"{mask.shape[0]}x{mask.shape[1]} but the node box is {height}x{width} "
            "(a line's bottom edge lies below the next line's bottom edge)")
    node = Node(node_id, STAFFSPACE, top, left, width, height, mask=mask)
    node.crop_to_mask()
    out = new_node_dict(node.id, STAFFSPACE, node.top, node.left, node.width, node.height,
                        np.ascontiguousarray(node.mask, dtype=np.uint8), inlinks=[staff.id])
    return out


def _spaces_for_staff(staff, lines, first_id):
    d = _line_spacing(lines)
    l1, l5 = lines[0], lines[-1]
    spaces = []

    # S0: line 1 shifted up by d, merged with line 1.
    mask = merge_masks(l1.mask, l1.top - d, l1.mask, l1.top,
                       f"S0 of staff {staff.id}, staffLine {l1.id}")
    spaces.append(_make_space(first_id, staff, l1.top - d, l1.left, l1.width,
                              l1.height + d, mask, "S0"))

    # S1..S4: between consecutive lines, on their column overlap.
    for i in range(LINES_PER_STAFF - 1):
        a, b = lines[i], lines[i + 1]
        width = horizontal_overlap(a, b)
        if width <= 0:
            raise ExtractionError(
                f"staffLines {a.id} and {b.id} of staff {staff.id} do not overlap horizontally "
                f"(columns [{a.left}, {a.right}) and [{b.left}, {b.right}))")
        left = max(a.left, b.left)
        ma = a.mask[:, left - a.left:left - a.left + width]
        mb = b.mask[:, left - b.left:left - b.left + width]
        mask = merge_masks(ma, a.top, mb, b.top,
                           f"S{i + 1} of staff {staff.id}, staffLines {a.id} and {b.id}")
        spaces.append(_make_space(first_id + 1 + i, staff, a.top, left, width,
                                  b.top + b.height - a.top, mask, f"S{i + 1}"))

    # S5: line 5 merged with line 5 shifted down by d.
    mask = merge_masks(l5.mask, l5.top, l5.mask, l5.top + d,
                       f"S5 of staff {staff.id}, staffLine {l5.id}")
    spaces.append(_make_space(first_id + 5, staff, l5.top, l5.left, l5.width,
                              l5.height + d, mask, "S5"))
    return spaces


def generate_staffspaces(nodes: list[dict]) -> list[dict]:
    """Generate the 6 ``staffSpace`` nodes of every staff (spec §3.6).

    ``nodes``: node dicts holding the ``staff`` nodes and their 5 ``staffLine``
    children (staff -> line outlinks). Other nodes may be present and are ignored;
    links to ids that are not in ``nodes`` are ignored.

    Returns the new node dicts, staves in top order, each staff's spaces in the
    order S0 (above line 1), S1..S4 (between lines), S5 (below line 5). Each has
    ``inlinks = [staff id]``, no outlinks, and ids ``max id + 1, ...``. The staff
    itself is not modified. Without any staff, the input's ``staffSpace`` nodes
    are returned (copies).
    """
    from mung.graph import NotationGraph

    normalized = normalize_nodes(nodes)
    mung_nodes = [to_mung_node(n) for n in normalized]
    graph = NotationGraph(mung_nodes)
    staves = sorted((n for n in mung_nodes if n.class_name == STAFF), key=lambda n: n.top)
    if not staves:
        return [dict(n) for n in normalized if n["class_name"] == STAFFSPACE]
    next_id = max(n.id for n in mung_nodes) + 1
    result = []
    for staff in staves:
        lines = _staff_lines(graph, staff)
        result.extend(_spaces_for_staff(staff, lines, next_id))
        next_id += SPACES_PER_STAFF
    return result


# ---------------------------------------------------------------------------
# §3.7 geometry

def _column_profile(mask):
    """``trunc(mean row index of the 1s)`` per column, -1 for an empty column."""
    h = mask.shape[0]
    m = mask.astype(np.int64)
    counts = m.sum(axis=0)
    weighted = (m * np.arange(h, dtype=np.int64)[:, None]).sum(axis=0)
    prof = np.full(mask.shape[1], -1, dtype=np.int64)
    nz = counts > 0
    prof[nz] = weighted[nz] // counts[nz]
    return prof.tolist()


def _middle(node):
    """``(top + height // 2, left + width // 2)``, as ``mung.node.Node.middle``."""
    return node.top + node.height // 2, node.left + node.width // 2


class StaffGeometry:
    """The 5 lines, 6 spaces and the line profiles of one staff (spec §3.7)."""

    def __init__(self, staff: Node, lines: list[Node], spaces: list[Node]) -> None:
        self.staff = staff
        self.lines = sorted(lines, key=lambda n: n.top)
        self.spaces = sorted(spaces, key=lambda n: n.top)
        self.d = _line_spacing(self.lines)
        self.half_d = self.d // 2
        self.profiles = []
        for line in self.lines:
            if line.mask is None:
                raise ExtractionError(f"staffLine {line.id} of staff {staff.id} has no mask")
            if line.width <= 0 or line.height <= 0:
                raise ExtractionError(f"staffLine {line.id} of staff {staff.id} has an empty box")
            self.profiles.append(_column_profile(line.mask))
        s, ln = self.spaces, self.lines
        # [S0, L1, S1, L2, S2, L3, S3, L4, S4, L5, S5]
        self.positions = [s[0], ln[0], s[1], ln[1], s[2], ln[2], s[3], ln[3], s[4], ln[4], s[5]]

    def pos(self, i: int, x: int) -> int:
        """Row of line ``i`` (0-based) at page column ``x``."""
        line = self.lines[i]
        col = min(max(x - line.left, 0), line.width - 1)
        return line.top + self.profiles[i][col]

    def line_distances(self, node: Node) -> list[int]:
        """``dist(L_i, n)`` for the 5 lines; positive = the node is above the line."""
        my, mx = _middle(node)
        return [self.pos(i, mx) - my for i in range(LINES_PER_STAFF)]

    def staff_dist(self, node: Node) -> int:
        dl = self.line_distances(node)
        return (dl[0] + dl[-1]) // 2

    def position_distances(self, node: Node) -> list[int]:
        """Distances of the 11 positions ``[S0, L1, S1, ..., L5, S5]``."""
        dl = self.line_distances(node)
        out = [dl[0] - self.half_d]
        for i in range(LINES_PER_STAFF):
            out.append(dl[i])
            if i < LINES_PER_STAFF - 1:
                out.append((dl[i] + dl[i + 1]) // 2)
        out.append(dl[-1] + self.half_d)
        return out

    def closest_position(self, node: Node) -> tuple[int, Node]:
        """(|distance|, position node) with minimal |distance|; first minimum wins."""
        best = None
        for p, dist in zip(self.positions, self.position_distances(node)):
            if best is None or abs(dist) < best[0]:
                best = (abs(dist), p)
        return best


def _build_geometries(graph, staves):
    children = []
    for staff in staves:
        lines = graph.children(staff, [STAFFLINE])
        spaces = graph.children(staff, [STAFFSPACE])
        if len(lines) % LINES_PER_STAFF != 0:
            raise ExtractionError(
                f"Provided staffline count is not a multiple of 5: staff {staff.id} has "
                f"{len(lines)} staffLine children {_ids(lines)}")
        if len(spaces) % SPACES_PER_STAFF != 0:
            raise ExtractionError(
                f"Provided staffspace count is not a multiple of 6: staff {staff.id} has "
                f"{len(spaces)} staffSpace children {_ids(spaces)}")
        children.append((lines, spaces))
    geoms = []
    for staff, (lines, spaces) in zip(staves, children):
        if len(lines) != LINES_PER_STAFF or len(spaces) != SPACES_PER_STAFF:
            raise ExtractionError(
                f"staff {staff.id} must have exactly 5 staffLine and 6 staffSpace children, "
                f"found {len(lines)} {_ids(lines)} and {len(spaces)} {_ids(spaces)}")
        geoms.append(StaffGeometry(staff, lines, spaces))
    return geoms


# ---------------------------------------------------------------------------
# §3.7 engines

def _link(graph, a, b):
    """Add the link a -> b; no-op if present on both sides, error if on one side."""
    from mung.graph import NotationGraphError

    try:
        graph.add_edge(a.id, b.id)
    except NotationGraphError as exc:
        raise ExtractionError(
            f"cannot link {a.class_name} {a.id} -> {b.class_name} {b.id}: {exc}")


def _closest_staff(geoms, node):
    """Geometry with minimal |staffDist|; first minimum wins."""
    best = None
    for g in geoms:
        v = abs(g.staff_dist(node))
        if best is None or v < best[0]:
            best = (v, g)
    return best[1]


def _majority_staff(graph, mates):
    """Most frequent first-staff-child among ``mates``; ties -> first seen."""
    counts = {}
    order = []
    by_id = {}
    for m in mates:
        staffs = graph.children(m, [STAFF])
        if not staffs:
            continue
        sid = staffs[0].id
        if sid not in counts:
            counts[sid] = 0
            order.append(sid)
            by_id[sid] = staffs[0]
        counts[sid] += 1
    best = None
    for sid in order:
        if best is None or counts[sid] > counts[best]:
            best = sid
    return None if best is None else by_id[best]


def _mates_via(graph, node, via_class):
    """Other noteheads that share a ``via_class`` child (stem: chord, beam: beam group)."""
    mates = []
    seen = {node.id}
    for via in graph.children(node, [via_class]):
        for p in graph.parents(via, NOTEHEAD_CLASSES):
            if p.id not in seen:
                seen.add(p.id)
                mates.append(p)
    return mates


def _staff_for_overlapping_leger(graph, geoms, node, leger):
    """Fallback when the notehead overlaps its only leger line vertically."""
    for other in graph.parents(leger, NOTEHEAD_CLASSES):
        if other.id == node.id:
            continue
        if len(graph.children(other, [LEGER_LINE])) < 2:
            continue
        staffs = graph.children(other, [STAFF])
        if staffs:
            return staffs[0]
    staff = _majority_staff(graph, _mates_via(graph, node, STEM))
    if staff is not None:
        return staff
    staff = _majority_staff(graph, _mates_via(graph, node, BEAM))
    if staff is not None:
        return staff
    return _closest_staff(geoms, node).staff


def _staff_for_leger_notehead(graph, geoms, node, legers):
    dists = [(g.staff_dist(node), g) for g in geoms]
    if all(v < 0 for v, _ in dists):
        # Below every staff: the staff above (scan from the bottom for D <= 0).
        return next(g for v, g in reversed(dists) if v <= 0).staff
    if all(v > 0 for v, _ in dists):
        # Above every staff: the staff below (first D >= 0).
        return next(g for v, g in dists if v >= 0).staff
    if len(legers) == 1:
        leger = legers[0]
        if node.bottom <= leger.top:
            under = True
        elif node.top >= leger.bottom:
            under = False
        else:
            return _staff_for_overlapping_leger(graph, geoms, node, leger)
    else:
        my = _middle(node)[0]
        under = sum(_middle(ll)[0] - my for ll in legers) >= 0
    if under:
        return next(g for v, g in dists if v >= 0).staff
    return next(g for v, g in reversed(dists) if v <= 0).staff


def _snap_noteheads(graph, geoms):
    heads = [n for n in graph.vertices if n.class_name in NOTEHEAD_CLASSES]
    legers = {n.id: graph.children(n, [LEGER_LINE]) for n in heads}
    order = ([n for n in heads if len(legers[n.id]) == 0]
             + [n for n in heads if len(legers[n.id]) >= 2]
             + [n for n in heads if len(legers[n.id]) == 1])
    for node in order:
        ll = legers[node.id]
        if not ll:
            best = None
            for g in geoms:
                cand = g.closest_position(node)
                if best is None or cand[0] < best[0]:
                    best = cand
            position = best[1]
            parents = graph.parents(position, [STAFF])
            if len(parents) != 1:
                raise ExtractionError(
                    f"{position.class_name} {position.id} has {len(parents)} staff parents "
                    f"{_ids(parents)}; exactly one is required to snap "
                    f"{node.class_name} {node.id}")
            _link(graph, node, parents[0])
            _link(graph, node, position)
        else:
            _link(graph, node, _staff_for_leger_notehead(graph, geoms, node, ll))


def _snap_grace_noteheads(graph, geoms):
    by_staff = {g.staff.id: g for g in geoms}
    for node in list(graph.vertices):
        if node.class_name not in GRACE_NOTEHEAD_CLASSES:
            continue
        parents = graph.parents(node, NOTEHEAD_CLASSES)
        if not parents:
            continue
        staffs = graph.children(parents[0], [STAFF])
        if not staffs:
            continue
        geom = by_staff[staffs[0].id]
        _link(graph, node, geom.staff)
        _link(graph, node, geom.closest_position(node)[1])


def _snap_measure_separators(graph, geoms):
    for node in list(graph.vertices):
        if node.class_name != MEASURE_SEPARATOR:
            continue
        mx = _middle(node)[1]
        for g in geoms:
            a = g.pos(0, mx)
            b = g.pos(LINES_PER_STAFF - 1, mx)
            if b == a:
                raise ExtractionError(
                    f"measureSeparator {node.id}: the first and last staffLine of staff "
                    f"{g.staff.id} are at the same row {a} at column {mx}")
            ov = max(0, min(b, node.bottom) - max(a, node.top)) / (b - a)
            if ov >= 0.5:
                _link(graph, node, g.staff)


def _derived_staff(graph, node):
    """A staff implied by the node's existing links, or None."""
    lines = graph.children(node, [STAFFLINE])
    staffs = graph.children(node, [STAFF])
    if len(lines) == 1:
        owners = graph.parents(lines[0], [STAFF])
        if len(owners) == 1:
            if len(staffs) == 1 and staffs[0].id != owners[0].id:
                raise ExtractionError(
                    f"{node.class_name} {node.id} links to staffLine {lines[0].id} of staff "
                    f"{owners[0].id} but also to staff {staffs[0].id}")
            return owners[0]
    if len(staffs) == 1:
        return staffs[0]
    return None


def _snap_symbols(graph, geoms):
    for classes in SYMBOL_ENGINE_CLASSES:
        for node in list(graph.vertices):
            if node.class_name not in classes:
                continue
            staff = _derived_staff(graph, node)
            if staff is None:
                staff = _closest_staff(geoms, node).staff
            _link(graph, node, staff)


def snap_nodes_to_staves(nodes: list[dict]) -> list[dict]:
    """Link symbols to their staves (spec §3.7).

    ``nodes``: every node dict of the document. Returns all nodes (new dicts, in
    input order) with the added links on both sides (``outlinks`` of the symbol,
    ``inlinks`` of the staff / staffLine / staffSpace). Class names are returned as
    given (``noteheadBlack`` is treated as ``noteheadFull`` internally only).

    Engines, in order: noteheads, grace noteheads, measure separators, then rests,
    one-bar repeats, time signatures, key signatures and clefs. A document without
    any ``staff`` node is returned unchanged.
    """
    from mung.graph import NotationGraph

    normalized = normalize_nodes(nodes)
    mung_nodes = [
        to_mung_node(n, NOTEHEAD_FULL if n["class_name"] == STUDIO_NOTEHEAD_BLACK else None)
        for n in normalized
    ]
    graph = NotationGraph(mung_nodes)
    staves = sorted((n for n in mung_nodes if n.class_name == STAFF), key=lambda n: n.top)
    if staves:
        geoms = _build_geometries(graph, staves)
        _snap_noteheads(graph, geoms)
        _snap_grace_noteheads(graph, geoms)
        _snap_measure_separators(graph, geoms)
        _snap_symbols(graph, geoms)
    out = []
    for d, n in zip(normalized, mung_nodes):
        item = dict(d)
        item["outlinks"] = list(n.outlinks)
        item["inlinks"] = list(n.inlinks)
        out.append(item)
    return out
