"""MuNG Studio image/mask operations (the project's extraction spec, §3.1-§3.5).

All masks are ``(H, W)`` ``uint8`` arrays holding 0/1 (one byte per pixel);
RGBA inputs are ``(H, W, 4)`` ``uint8``.  Results are bit-identical to MuNG
Studio running OpenCV 4.10 with IPP disabled.

Errors: malformed input raises :class:`mstudio.errors.InvalidInput`; valid
input on which the operation is undefined raises
:class:`mstudio.errors.ExtractionError`.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ..errors import ExtractionError, InvalidInput
from . import primitives as _prim
from .nodedicts import new_node_dict, normalize_node
from .polygon import fill_poly
from .runs import single_run_centres

__all__ = [
    "otsu_binarize_region",
    "detect_stafflines",
    "compute_cut_lines",
    "separate_lines",
    "generate_staff_from_stafflines",
    "CUT_LINE_STEP",
]

CUT_LINE_STEP = 10  # columns sampled by compute_cut_lines: x = 0, 10, 20, ...


# ---------------------------------------------------------------- validation

def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_int(op, name, v):
    if not _is_int(v):
        raise InvalidInput(f"{op}: {name} must be an integer, got {v!r}")
    return int(v)


def _check_rgba(op, rgba):
    if not isinstance(rgba, np.ndarray):
        raise InvalidInput(f"{op}: region must be a numpy array, got {type(rgba).__name__}")
    if rgba.dtype != np.uint8:
        raise InvalidInput(f"{op}: region must have dtype uint8, got {rgba.dtype}")
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise InvalidInput(f"{op}: region must have shape (H, W, 4), got {rgba.shape!r}")
    if rgba.shape[0] == 0 or rgba.shape[1] == 0:
        raise InvalidInput(f"{op}: region is empty ({rgba.shape[1]} x {rgba.shape[0]})")
    return rgba


def _check_mask(op, mask, name="mask"):
    """A 2-D, non-empty 0/1 mask of bool or integer dtype -> C-contiguous uint8."""
    if not isinstance(mask, np.ndarray):
        raise InvalidInput(f"{op}: {name} must be a numpy array, got {type(mask).__name__}")
    if mask.ndim != 2:
        raise InvalidInput(f"{op}: {name} must be 2-D (H, W), got shape {mask.shape!r}")
    if mask.shape[0] == 0 or mask.shape[1] == 0:
        raise InvalidInput(f"{op}: {name} is empty ({mask.shape[1]} x {mask.shape[0]})")
    if mask.dtype == np.bool_:
        return np.ascontiguousarray(mask).view(np.uint8)
    if mask.dtype.kind not in "iu":
        raise InvalidInput(f"{op}: {name} must have dtype uint8 (0/1), got {mask.dtype}")
    if mask.dtype != np.uint8:
        if ((mask != 0) & (mask != 1)).any():
            raise InvalidInput(f"{op}: {name} must hold only 0 and 1")
        return np.ascontiguousarray(mask, dtype=np.uint8)
    if int(mask.max()) > 1:
        raise InvalidInput(
            f"{op}: {name} must hold only 0 and 1, found value {int(mask.max())}")
    return np.ascontiguousarray(mask)


# ----------------------------------------------------------------- §3.1 Otsu

def otsu_binarize_region(rgba: np.ndarray) -> np.ndarray:
    """§3.1 "Binarize region": lightness -> bilateral(5, 25, 25) -> Otsu threshold
    ``t`` -> ink where the filtered value ``<= t``.  Returns ``(H, W)`` uint8 0/1."""
    rgba = _check_rgba("otsu_binarize_region", rgba)
    lum = _prim.lightness(rgba)
    filt = _prim.bilateral_filter(lum)
    t = _prim.otsu_threshold(filt)
    return (filt <= t).view(np.uint8)


# ------------------------------------------------------------ §3.2 stafflines

def detect_stafflines(rgba: np.ndarray) -> np.ndarray:
    """§3.2 "Stafflines tool": lightness -> horizontal closing (50 x 1) ->
    Gaussian local mean ``mu`` (block 101) -> ink where ``E <= mu - 10``.
    Returns ``(H, W)`` uint8 0/1."""
    rgba = _check_rgba("detect_stafflines", rgba)
    lum = _prim.lightness(rgba)
    closed = _prim.horizontal_closing(lum)
    e16 = closed.astype(np.int16)

    def decisive(ys, xs, lo, hi):
        # mu is lo or hi = lo + 1; "E <= mu - 10" differs only if E == hi - 10.
        return e16[ys.astype(np.intp), xs.astype(np.intp)] == hi.astype(np.int16) - 10

    mu = _prim.gaussian_local_mean(closed, refine=decisive)
    return (e16 <= mu.astype(np.int16) - 10).view(np.uint8)


# ------------------------------------------------------------ §3.3 cut lines

def compute_cut_lines(mask: np.ndarray) -> list[list[tuple[int, int]]]:
    """§3.3: cut polylines between the lines of a multi-line mask.

    Samples the columns ``x = 0, 10, 20, ... < W``; in each, the cuts are the
    midpoints between consecutive run centres.  Returns ``N`` polylines (``N``
    = the most frequent cut count, first seen wins a tie), each a list of
    ``(x, y)`` Python-int tuples in mask-local coordinates.

    Raises ExtractionError if no sampled column has two or more runs."""
    op = "compute_cut_lines"
    mask = _check_mask(op, mask)
    h, w = mask.shape
    xs = np.arange(0, w, CUT_LINE_STEP, dtype=np.int64)
    cols = mask[:, xs.astype(np.intp)] != 0
    padded = np.zeros((h + 2, cols.shape[1]), dtype=np.int8)
    padded[1:-1] = cols
    change = np.diff(padded, axis=0)
    kept = []  # (x, [cuts])
    for j in range(cols.shape[1]):
        up = np.flatnonzero(change[:, j] == 1)
        down = np.flatnonzero(change[:, j] == -1)
        if up.shape[0] < 2:
            continue
        centres = (up.astype(np.float64) + down.astype(np.float64)) / 2.0
        cuts = (centres[:-1] + centres[1:]) / 2.0
        kept.append((int(xs[j]), [float(c) for c in cuts]))
    if not kept:
        raise ExtractionError(
            f"{op}: no sampled column (x = 0, {CUT_LINE_STEP}, {2 * CUT_LINE_STEP}, ...) has two "
            "or more separate runs; the mask is empty or holds a single line")
    counts = Counter(len(c) for _x, c in kept)
    best = max(counts.values())
    n_cuts = next(len(c) for _x, c in kept if counts[len(c)] == best)
    cols_n = [(x, c) for x, c in kept if len(c) == n_cuts]
    if cols_n[0][0] != 0:
        cols_n.insert(0, (0, cols_n[0][1]))
    if cols_n[-1][0] != w - 1:
        cols_n.append((w - 1, cols_n[-1][1]))
    return [[(x, int(c[j])) for x, c in cols_n] for j in range(n_cuts)]


# ------------------------------------------------------- §3.4 separate lines

def _coord(op, v):
    if isinstance(v, (bool, np.bool_)):
        raise InvalidInput(f"{op}: point coordinates must be numbers, got {v!r}")
    if _is_int(v):
        return int(v)
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(float(v)):
            raise InvalidInput(f"{op}: point coordinate is not finite: {v!r}")
        return int(float(v))  # truncation toward zero, like the reference's int()
    raise InvalidInput(f"{op}: point coordinates must be numbers, got {v!r}")


def _check_polylines(op, cut_lines):
    if isinstance(cut_lines, (str, bytes)) or not hasattr(cut_lines, "__iter__"):
        raise InvalidInput(f"{op}: cut_lines must be a list of polylines")
    out = []
    for li, line in enumerate(cut_lines):
        if isinstance(line, (str, bytes)) or not hasattr(line, "__iter__"):
            raise InvalidInput(f"{op}: cut line {li} must be a list of (x, y) points")
        pts = []
        for p in line:
            try:
                n = len(p)
            except TypeError:
                n = -1
            if n != 2:
                raise InvalidInput(
                    f"{op}: cut line {li}: every point must be an (x, y) pair, got {p!r}")
            pts.append((_coord(op, p[0]), _coord(op, p[1])))
        out.append(pts)
    return out


def separate_lines(
    left: int, top: int, mask: np.ndarray, cut_lines: list[list[tuple[float, float]]],
) -> list[tuple[int, int, np.ndarray]]:
    """§3.4: split a node mask into bands along the cut polylines.

    Returns ``N + 1`` tuples ``(left, top, band_mask)`` (top band first), where
    ``band_mask`` is the ``uint8`` 0/1 crop of ``mask`` to the band's pixels; an
    empty band is the full-size all-zero mask at ``(left, top)``."""
    op = "separate_lines"
    left = _check_int(op, "left", left)
    top = _check_int(op, "top", top)
    mask = _check_mask(op, mask)
    lines = _check_polylines(op, cut_lines)
    h, w = mask.shape
    lines = [[(0, 0), (w, 0)]] + lines + [[(0, h), (w, h)]]
    bands = []
    for a, b in zip(lines[:-1], lines[1:]):
        poly = list(a) + list(b[::-1])
        stencil = fill_poly(h, w, poly)
        # The stencil (outlines and spans) lies within the polygon's row range.
        ys = [p[1] for p in poly]
        r0 = max(min(ys), 0) if ys else 0
        r1 = min(max(ys), h - 1) + 1 if ys else 0
        rows = cols = None
        if r0 < r1:
            part = mask[r0:r1] & stencil[r0:r1]
            rows = np.flatnonzero(part.any(axis=1))
        if rows is None or rows.shape[0] == 0:
            # no pixel in this band: a full-size, all-zero mask at (left, top)
            bands.append((left, top, np.zeros((h, w), dtype=np.uint8)))
            continue
        cols = np.flatnonzero(part.any(axis=0))
        y1, y2 = int(rows[0]), int(rows[-1]) + 1
        x1, x2 = int(cols[0]), int(cols[-1]) + 1
        bands.append((left + x1, top + r0 + y1, np.ascontiguousarray(part[y1:y2, x1:x2])))
    return bands


# ----------------------------------------------- §3.5 staff from stafflines

def _line_points(op, node, which):
    mask = node["mask"]
    if mask is None:
        raise ExtractionError(f"{op}: the {which} staffline (id {node.get('id')!r}) has no mask")
    cols, centres = single_run_centres(mask)
    if cols.shape[0] == 0:
        raise ExtractionError(f"{op}: the {which} staffline (id {node.get('id')!r}) has no mask "
                              "column with exactly one run")
    xs = node["left"] + cols
    ys = np.trunc(float(node["top"]) + centres).astype(np.int64)
    return xs, ys


def generate_staff_from_stafflines(lines: list[dict]) -> dict:
    """§3.5: build the ``staff`` node spanned by 5 ``staffLine`` nodes.

    ``lines`` is a list of 5 node dicts (the shared convention of
    ``mstudio.extraction.nodedicts``; masks ``(height, width)`` 0/1 or None).  The polygon runs
    along the single-run column centres of the top line and back along those of
    the bottom line.  Returns a new node dict (``id`` 0, ``class_name`` "staff",
    empty links, ``text_transcription`` None) with a ``(height, width)`` 0/1 mask."""
    op = "generate_staff_from_stafflines"
    if isinstance(lines, (dict, str, bytes)) or not hasattr(lines, "__len__"):
        raise InvalidInput(f"{op}: expected a list of 5 staffLine nodes")
    try:
        lines = [normalize_node(n, i) for i, n in enumerate(lines)]
    except InvalidInput as e:
        raise InvalidInput(f"{op}: {e}") from e
    if len(lines) != 5:
        raise ExtractionError(f"{op}: exactly 5 staffLine nodes are required, got {len(lines)}")
    lines = sorted(lines, key=lambda n: n["top"])  # stable
    tx, ty = _line_points(op, lines[0], "top")
    bx, by = _line_points(op, lines[-1], "bottom")
    px = np.concatenate([tx, bx[::-1]])
    py = np.concatenate([ty, by[::-1]])
    top = int(py.min())
    bottom = int(py.max())
    left = int(px.min())
    right = int(px.max())
    width = right - left
    height = bottom - top
    if width <= 0 or height <= 0:
        raise ExtractionError(
            f"{op}: the staff polygon has zero extent (width {width}, height {height})")
    pts = np.stack([px - left, py - top], axis=1)
    mask = fill_poly(height, width, pts)
    return new_node_dict(0, "staff", top, left, width, height, mask)
