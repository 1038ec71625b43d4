"""Polygon rasterisation identical to OpenCV 4.10 ``fillPoly(img, [pts], 1)``
(``LINE_8``, ``shift = 0``), written from the project's extraction spec, §2.7.

The result is the union of

(a) every edge drawn with an 8-connected Bresenham line (``Line8``), after
    ``ClipLine`` clipping when an endpoint lies outside the image, and
(b) an even-odd scanline fill over 16.16 fixed-point scan edges.

Everything is integer arithmetic (``int64`` numpy arrays, Python ints for the
per-edge set-up), so the result does not depend on the platform word size
(wasm32 has a 32-bit ``intp``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["fill_poly", "clip_line", "line8_pixels"]

_SHIFT = 16
_ONE = 1 << _SHIFT
_HALF = _ONE >> 1

# Coordinates are restricted so that every fixed-point intermediate fits
# comfortably into int64 (x * 2**16 * height < 2**63).
COORD_LIMIT = 1 << 20


def _trunc_div(a, b):
    """Integer division rounding toward zero (C semantics), Python ints."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def clip_line(width: int, height: int, x1: int, y1: int, x2: int,
              y2: int) -> tuple[bool, int, int, int, int]:
    """OpenCV ``clipLine`` on the rectangle ``[0, width) x [0, height)``.

    Returns ``(visible, x1, y1, x2, y2)``; the endpoints are returned (possibly
    modified) whether or not the line is visible.  Products and quotients are
    evaluated in float64 and truncated toward zero, as in §2.7.
    """
    if width <= 0 or height <= 0:
        return False, x1, y1, x2, y2
    right = width - 1
    bottom = height - 1

    def code(x, y):
        return (x < 0) + ((x > right) << 1) + ((y < 0) << 2) + ((y > bottom) << 3)

    c1 = code(x1, y1)
    c2 = code(x2, y2)
    if (c1 & c2) == 0 and (c1 | c2) != 0:
        if c1 & 12:
            a = 0 if c1 < 8 else bottom
            x1 += int(float(a - y1) * float(x2 - x1) / float(y2 - y1))
            y1 = a
            c1 = (x1 < 0) + ((x1 > right) << 1)
        if c2 & 12:
            a = 0 if c2 < 8 else bottom
            x2 += int(float(a - y2) * float(x2 - x1) / float(y2 - y1))
            y2 = a
            c2 = (x2 < 0) + ((x2 > right) << 1)
        if (c1 & c2) == 0 and (c1 | c2) != 0:
            if c1:
                a = 0 if c1 == 1 else right
                y1 += int(float(a - x1) * float(y2 - y1) / float(x2 - x1))
                x1 = a
                c1 = 0
            if c2:
                a = 0 if c2 == 1 else right
                y2 += int(float(a - x2) * float(y2 - y1) / float(x2 - x1))
                x2 = a
                c2 = 0
    return (c1 | c2) == 0, x1, y1, x2, y2


def line8_pixels(x1: int, y1: int, x2: int, y2: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of one 8-connected Bresenham line (no clipping), as two int64
    arrays ``(xs, ys)`` in drawing order.  See :func:`_lines8` for the formula."""
    xs, ys = _lines8(np.array([x1], np.int64), np.array([y1], np.int64),
                     np.array([x2], np.int64), np.array([y2], np.int64))
    return xs, ys


def _lines8(x1, y1, x2, y2):
    """Vectorised Line8 (§2.7) for many already-clipped lines at once.

    The error term of the iteration ``e_0 = major - 2*minor``,
    ``e += -2*minor + (e < 0 ? 2*major : 0)`` stays in ``[-2*minor, 2*major - 2*minor)``,
    so the number ``c_j`` of minor steps taken before pixel ``j`` is the unique
    integer with ``major - 2*minor*j + 2*major*c_j`` in ``[0, 2*major)``, i.e.
    ``c_j = ceil((2*minor*j - major) / (2*major))``.
    """
    swap = x2 < x1
    ax = np.where(swap, x2, x1)
    ay = np.where(swap, y2, y1)
    bx = np.where(swap, x1, x2)
    by = np.where(swap, y1, y2)
    dx = bx - ax
    sy = np.where(by >= ay, 1, -1).astype(np.int64)
    dy = np.abs(by - ay)
    steep = dy > dx
    major = np.where(steep, dy, dx)
    minor = np.where(steep, dx, dy)
    counts = major + 1
    total = int(counts.sum())
    idx = np.repeat(np.arange(len(counts), dtype=np.int64), counts.astype(np.intp))
    starts = np.cumsum(counts) - counts
    j = np.arange(total, dtype=np.int64) - starts[idx]
    maj = major[idx]
    mnr = minor[idx]
    c = -((maj - 2 * mnr * j) // np.maximum(2 * maj, 1))
    st = steep[idx]
    xs = ax[idx] + np.where(st, c, j)
    ys = ay[idx] + sy[idx] * np.where(st, j, c)
    return xs, ys


def _as_points(points):
    """Validate a point sequence and return two lists of Python ints."""
    try:
        arr = np.asarray(points)
    except Exception as exc:  # ragged input and the like
        raise InvalidInput(f"fill_poly: points must be a sequence of (x, y) pairs: {exc}")
    if arr.size == 0:
        return [], []
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InvalidInput("fill_poly: points must be a sequence of (x, y) pairs, got shape "
                           f"{arr.shape!r}")
    if arr.dtype.kind in "iu":
        iarr = arr.astype(np.int64)
    elif arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.trunc(arr)):
            raise InvalidInput("fill_poly: point coordinates must be integers")
        if np.any(np.abs(arr) > COORD_LIMIT):
            raise InvalidInput(f"fill_poly: point coordinates must lie within +-{COORD_LIMIT}")
        iarr = arr.astype(np.int64)
    else:
        raise InvalidInput(f"fill_poly: point coordinates must be integers, got dtype {arr.dtype}")
    if np.any(np.abs(iarr) > COORD_LIMIT):
        raise InvalidInput(f"fill_poly: point coordinates must lie within +-{COORD_LIMIT}")
    return [int(v) for v in iarr[:, 0]], [int(v) for v in iarr[:, 1]]


def _check_size(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidInput(f"fill_poly: {name} must be an integer, got {value!r}")
    value = int(value)
    if value < 0:
        raise InvalidInput(f"fill_poly: {name} must be >= 0, got {value}")
    return value


def fill_poly(height: int, width: int,
              points: Sequence[tuple[int, int]] | np.ndarray) -> np.ndarray:
    """Rasterise one polygon like ``cv2.fillPoly(zeros((height, width), uint8), [pts], 1)``.

    ``points`` is a sequence of integer ``(x, y)`` vertices (may lie outside the
    image, e.g. at ``x = width`` / ``y = height``).  Returns a ``uint8`` array of
    shape ``(height, width)`` holding 0/1.  An empty point list gives an
    all-zero image.
    """
    height = _check_size("height", height)
    width = _check_size("width", width)
    xs, ys = _as_points(points)
    out = np.zeros((height, width), dtype=np.uint8)
    n = len(xs)
    if n == 0 or height == 0 or width == 0:
        return out

    # ---- per-edge set-up (pure Python ints: cheap and exact) ----
    lx1 = []
    ly1 = []
    lx2 = []
    ly2 = []
    e_ytop = []
    e_ybot = []
    e_xs = []
    e_dx = []
    px, py = xs[n - 1], ys[n - 1]
    for j in range(n):
        x0, y0 = px, py
        x1, y1 = xs[j], ys[j]
        px, py = x1, y1
        inside0 = 0 <= x0 < width and 0 <= y0 < height
        inside1 = 0 <= x1 < width and 0 <= y1 < height
        # (a) outline
        if inside0 and inside1:
            lx1.append(x0)
            ly1.append(y0)
            lx2.append(x1)
            ly2.append(y1)
        else:
            vis, cx0, cy0, cx1, cy1 = clip_line(width, height, x0, y0, x1, y1)
            if vis:
                lx1.append(cx0)
                ly1.append(cy0)
                lx2.append(cx1)
                ly2.append(cy1)
        # (b) scan edge
        if y0 == y1:
            continue
        if inside0 and inside1:
            fx0 = x0 * _ONE + _HALF
            fx1 = x1 * _ONE + _HALF
            fy0, fy1 = y0, y1
        else:
            _vis, cx0, cy0, cx1, cy1 = clip_line(width, height, x0, y0, x1, y1)
            if cy0 != cy1:
                fx0 = cx0 * _ONE
                fx1 = cx1 * _ONE
                fy0, fy1 = cy0, cy1
            else:
                fx0 = x0 * _ONE
                fx1 = x1 * _ONE
                fy0, fy1 = y0, y1
        dx = _trunc_div(fx1 - fx0, fy1 - fy0)
        if y0 < y1:
            e_ytop.append(y0)
            e_ybot.append(y1)
            e_xs.append(fx0 + (y0 - fy0) * dx)
        else:
            e_ytop.append(y1)
            e_ybot.append(y0)
            e_xs.append(fx1 + (y1 - fy1) * dx)
        e_dx.append(dx)

    # ---- (a) draw the outlines ----
    if lx1:
        lxs, lys = _lines8(np.array(lx1, np.int64), np.array(ly1, np.int64),
                           np.array(lx2, np.int64), np.array(ly2, np.int64))
        ok = (lxs >= 0) & (lxs < width) & (lys >= 0) & (lys < height)
        out[lys[ok], lxs[ok]] = 1

    # ---- (b) scanline fill ----
    if len(e_ytop) < 2:
        return out
    ytop = np.array(e_ytop, np.int64)
    ybot = np.array(e_ybot, np.int64)
    exs = np.array(e_xs, np.int64)
    edx = np.array(e_dx, np.int64)
    ylo = max(int(ytop.min()), 0)
    yhi = min(int(ybot.max()), height)
    if ylo >= yhi:
        return out
    a = np.maximum(ytop, ylo)
    b = np.minimum(ybot, yhi)
    cnt = np.maximum(b - a, 0)
    total = int(cnt.sum())
    if total == 0:
        return out
    eidx = np.repeat(np.arange(len(cnt), dtype=np.int64), cnt.astype(np.intp))
    starts = np.cumsum(cnt) - cnt
    yy = a[eidx] + (np.arange(total, dtype=np.int64) - starts[eidx])
    xx = exs[eidx] + (yy - ytop[eidx]) * edx[eidx]
    order = np.lexsort((xx, yy))
    yy = yy[order]
    xx = xx[order]
    # rank of each entry within its scanline
    newrow = np.empty(total, dtype=bool)
    newrow[0] = True
    newrow[1:] = yy[1:] != yy[:-1]
    rowstart = np.maximum.accumulate(np.where(newrow, np.arange(total, dtype=np.int64), 0))
    rank = np.arange(total, dtype=np.int64) - rowstart
    first = np.nonzero((rank % 2 == 0))[0]
    first = first[first + 1 < total]
    first = first[yy[first + 1] == yy[first]]
    if first.size == 0:
        return out
    sy = yy[first]
    xa = xx[first] >> _SHIFT
    xb = xx[first + 1] >> _SHIFT
    keep = (xa < width) & (xb >= 0)
    sy = sy[keep]
    lo = np.maximum(xa[keep], 0)
    hi = np.minimum(xb[keep], width - 1)
    if sy.size == 0:
        return out
    # span coverage via a per-row difference array over the scanned rows only
    stride = width + 1
    rows = yhi - ylo
    nbin = rows * stride
    ry = sy - ylo
    # bincount needs intp indices (32-bit on wasm32); values are < rows*(width+1)
    diff = (np.bincount((ry * stride + lo).astype(np.intp), minlength=nbin)[:nbin].astype(np.int32)
            - np.bincount((ry * stride + hi + 1).astype(np.intp), minlength=nbin)[:nbin].astype(np.int32))
    cover = np.cumsum(diff.reshape(rows, stride), axis=1, dtype=np.int32)[:, :width] > 0
    out[ylo:yhi][cover] = 1
    return out
