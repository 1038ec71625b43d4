"""Tests of mstudio.extraction §2 primitives and §3.1-§3.5 operations: API contract,
typed errors, and (when OpenCV 4.10 is importable) bit-identity with cv2 on random
inputs.  The full comparison on real pages is ``oracle_extraction.py``.

Run as a script (exit code 0 = pass) or with pytest.  Needs numpy (+ scipy, pillow
optional); the mstudio package is found relative to this file.
"""

import os
import subprocess
import sys

import numpy as np

from _runner import skip  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGES = os.path.join(os.path.dirname(_HERE), "packages")
if _PACKAGES not in sys.path:
    sys.path.insert(0, _PACKAGES)

from mstudio.errors import ExtractionError, InvalidInput, MStudioError  # noqa: E402
from mstudio.extraction import operations as ops  # noqa: E402
from mstudio.extraction import primitives as prim  # noqa: E402
from mstudio.extraction.polygon import clip_line, fill_poly  # noqa: E402
from mstudio.extraction.runs import column_runs, run_centres, single_run_centres  # noqa: E402

try:
    import cv2

    cv2.ipp.setUseIPP(False)
    HAVE_CV2 = cv2.__version__.startswith("4.10.")
except ImportError:  # the sandbox, or a host without OpenCV
    cv2 = None
    HAVE_CV2 = False


def raises(exc, fn, *args):
    try:
        fn(*args)
    except exc as e:
        assert str(e), "empty error message"
        return e
    except Exception as e:  # noqa: BLE001
        raise AssertionError("expected %s, got %s: %s" % (exc.__name__, type(e).__name__, e))
    raise AssertionError("expected %s, nothing raised" % exc.__name__)


def node(top, left, mask, nid=0):
    return {"id": nid, "class_name": "staffLine", "top": top, "left": left, "width": mask.shape[1],
            "height": mask.shape[0], "outlinks": [], "inlinks": [], "precedence_outlinks": [],
            "precedence_inlinks": [], "text_transcription": None, "mask": mask}


def staff_lines(n=5, width=40, spacing=6, top=10, left=3):
    out = []
    for i in range(n):
        m = np.zeros((2, width), np.uint8)
        m[0, :] = 1
        out.append(node(top + i * spacing, left, m, nid=i))
    return out


# ---------------------------------------------------------------- import cost

def test_lazy_import():
    if sys.platform == "wasi":
        skip("no subprocesses under WASI")
    code = ("import sys; sys.path.insert(0, %r); import mstudio.extraction.polygon, mstudio.extraction.runs; "
            "print('scipy' in sys.modules, 'mstudio.extraction.primitives' in sys.modules)" % _PACKAGES)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"], out


def test_exports():
    import mstudio.extraction as ex

    for name in ("fill_poly", "column_runs", "run_centres", "otsu_binarize_region", "detect_stafflines",
                 "compute_cut_lines", "separate_lines", "generate_staff_from_stafflines", "lightness",
                 "bilateral_filter", "otsu_threshold", "gaussian_local_mean", "horizontal_closing", "fma32"):
        assert callable(getattr(ex, name)), name


# -------------------------------------------------------------------- runs

def test_runs():
    col = np.array([0, 1, 1, 0, 1, 0, 0, 1], bool)
    assert column_runs(col) == [(1, 3), (4, 5), (7, 8)]
    assert run_centres(col) == [2.0, 4.5, 7.5]
    assert column_runs(np.zeros(0, bool)) == []
    assert column_runs(np.ones(3, np.uint8)) == [(0, 3)]
    m = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 0]], np.uint8)
    cols, centres = single_run_centres(m)
    assert cols.tolist() == [2] and centres.tolist() == [1.0]


# ------------------------------------------------------------------ polygon

def test_fill_poly_basics():
    img = fill_poly(5, 6, [(1, 1), (4, 1), (4, 3), (1, 3)])
    assert img.dtype == np.uint8 and img.shape == (5, 6)
    assert img.sum() == 12 and img[1:4, 1:5].all()
    assert fill_poly(4, 4, []).sum() == 0
    assert fill_poly(4, 4, [(2, 1)]).sum() == 1
    # vertices on x = W / y = H are clipped, not rejected
    full = fill_poly(3, 4, [(0, 0), (4, 0), (4, 3), (0, 3)])
    assert full.all()
    assert fill_poly(3, 4, np.array([[0, 0], [4, 0], [4, 3]], np.int32)).any()
    assert fill_poly(0, 5, [(0, 0), (1, 1)]).shape == (0, 5)
    vis, x1, y1, x2, y2 = clip_line(10, 10, -5, 5, 20, 5)
    assert vis and (x1, y1, x2, y2) == (0, 5, 9, 5)


def test_fill_poly_errors():
    raises(InvalidInput, fill_poly, -1, 4, [(0, 0)])
    raises(InvalidInput, fill_poly, 4.0, 4, [(0, 0)])
    raises(InvalidInput, fill_poly, 4, 4, [(0.5, 0)])
    raises(InvalidInput, fill_poly, 4, 4, [(0, 0, 1)])
    raises(InvalidInput, fill_poly, 4, 4, [(1 << 30, 0), (0, 1)])
    raises(InvalidInput, fill_poly, 4, 4, [("a", 0)])
    raises(InvalidInput, fill_poly, 4, 4, [[0, 0], [1]])


def test_fill_poly_vs_cv2():
    if not HAVE_CV2:
        skip("no OpenCV 4.10")
    rng = np.random.default_rng(5)
    bad = 0
    for it in range(3000):
        h, w = (int(v) for v in rng.integers(1, 50, 2))
        n = int(rng.integers(1, 10))
        if it % 3 == 0:
            pts = np.stack([rng.integers(0, w, n), rng.integers(0, h, n)], 1)
        elif it % 3 == 1:
            pts = np.stack([np.where(rng.random(n) < .4, w, rng.integers(0, w + 1, n)),
                            np.where(rng.random(n) < .4, h, rng.integers(0, h + 1, n))], 1)
        else:
            pts = np.stack([rng.integers(-2 * w, 3 * w, n), rng.integers(-2 * h, 3 * h, n)], 1)
        ref = np.zeros((h, w), np.uint8)
        cv2.fillPoly(ref, [pts.astype(np.int32)], 1)
        bad += not np.array_equal(ref, fill_poly(h, w, pts.tolist()))
    assert bad == 0, bad


# --------------------------------------------------------------- primitives

def test_fma32():
    a = np.float32(1 + 2.0 ** -12)
    c = np.float32(-1.0)
    # exact a*a + c = 2**-11 + 2**-24 (representable); unfused float32 loses 2**-24
    assert prim.fma32(a, a, c) == np.float32(2.0 ** -11 + 2.0 ** -24)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(50000).astype(np.float32)
    y = rng.standard_normal(50000).astype(np.float32)
    z = rng.standard_normal(50000).astype(np.float32)
    r = prim.fma32(x, y, z)
    # reference with exact rationals on a sample
    from fractions import Fraction

    for i in range(0, 50000, 997):
        exact = Fraction(float(x[i])) * Fraction(float(y[i])) + Fraction(float(z[i]))
        cand = [np.float32(float(exact)), np.nextafter(np.float32(float(exact)), np.float32(np.inf)),
                np.nextafter(np.float32(float(exact)), np.float32(-np.inf))]
        best = min(cand, key=lambda v: (abs(Fraction(float(v)) - exact), int(np.float32(v).view(np.uint32)) & 1))
        assert r[i] == best, (x[i], y[i], z[i], r[i], best)
    # midpoint case: s = p + c lands exactly on a float32 midpoint, the error decides
    p_hi = np.float32(1.0)
    b = np.float32(1 + 2.0 ** -23)
    c2 = np.float32(2.0 ** -24 + 2.0 ** -47)
    # 1 * (1 + 2**-23) + (2**-24 + 2**-47): exact sum is just above the midpoint
    assert prim.fma32(p_hi, b, c2) == np.float32(1 + 2.0 ** -22)


def test_primitives_vs_cv2():
    if not HAVE_CV2:
        skip("no OpenCV 4.10")
    rng = np.random.default_rng(7)
    for it in range(80):
        h, w = (int(v) for v in rng.integers(1, 70, 2))
        rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        if it % 2:
            rgba[..., :3] = (rgba[..., :3] // 64) * 64
        L = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2HLS)[..., 1]
        assert np.array_equal(L, prim.lightness(rgba))
        assert np.array_equal(cv2.bilateralFilter(L, 5, 25, 25), prim.bilateral_filter(L))
        k = cv2.getStructuringElement(cv2.MORPH_RECT, (50, 1))
        E = cv2.erode(cv2.dilate(L, k), k)
        assert np.array_equal(E, prim.horizontal_closing(L))
        g = cv2.GaussianBlur(E.astype(np.float32), (101, 101), 0, sigmaY=0,
                             borderType=cv2.BORDER_REPLICATE | cv2.BORDER_ISOLATED)
        assert np.array_equal(np.clip(np.rint(g), 0, 255).astype(np.uint8), prim.gaussian_local_mean(E))
        t, _ = cv2.threshold(L, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        assert int(t) == prim.otsu_threshold(L)


# --------------------------------------------------------------- operations

def test_page_ops_contract():
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (37, 53, 4), dtype=np.uint8)
    for fn in (ops.otsu_binarize_region, ops.detect_stafflines):
        out = fn(rgba)
        assert out.dtype == np.uint8 and out.shape == (37, 53) and set(np.unique(out)) <= {0, 1}
        raises(InvalidInput, fn, rgba.astype(np.float32))
        raises(InvalidInput, fn, rgba[..., :3])
        raises(InvalidInput, fn, rgba[..., 0])
        raises(InvalidInput, fn, rgba.tolist())
        raises(InvalidInput, fn, np.zeros((0, 5, 4), np.uint8))
        raises(InvalidInput, fn, np.zeros((5, 0, 4), np.uint8))
        assert fn(np.ascontiguousarray(rgba[::2, ::3])).shape == (19, 18)  # strided input
    assert ops.otsu_binarize_region(np.full((4, 4, 4), 200, np.uint8)).sum() == 0
    assert ops.otsu_binarize_region(np.zeros((4, 4, 4), np.uint8)).all()
    assert ops.detect_stafflines(np.full((1, 1, 4), 9, np.uint8)).shape == (1, 1)


def test_compute_cut_lines():
    m = np.zeros((30, 25), np.uint8)
    m[2:4] = 1
    m[12:14] = 1
    m[22:25] = 1
    cuts = ops.compute_cut_lines(m)
    assert cuts == [[(0, 8), (10, 8), (20, 8), (24, 8)], [(0, 18), (10, 18), (20, 18), (24, 18)]]
    assert all(type(v) is int for line in cuts for p in line for v in p)
    assert ops.compute_cut_lines(m.astype(bool)) == cuts
    assert ops.compute_cut_lines(m.astype(np.int32)) == cuts
    e = raises(ExtractionError, ops.compute_cut_lines, np.zeros((10, 10), np.uint8))
    assert "two or more" in str(e)
    one = np.zeros((10, 30), np.uint8)
    one[4:6] = 1
    raises(ExtractionError, ops.compute_cut_lines, one)
    raises(InvalidInput, ops.compute_cut_lines, m * 2)
    raises(InvalidInput, ops.compute_cut_lines, m.astype(np.float64))
    raises(InvalidInput, ops.compute_cut_lines, m[None])
    raises(InvalidInput, ops.compute_cut_lines, np.zeros((0, 3), np.uint8))
    raises(InvalidInput, ops.compute_cut_lines, "mask")


def test_separate_lines():
    m = np.zeros((30, 25), np.uint8)
    m[2:4] = 1
    m[12:14, 0:16] = 1
    m[22:25] = 1
    cuts = ops.compute_cut_lines(m)
    assert cuts == [[(0, 8), (10, 8), (24, 8)], [(0, 18), (10, 18), (24, 18)]]
    bands = ops.separate_lines(100, 200, m, cuts)
    assert len(bands) == 3
    assert [(l, t, b.shape) for l, t, b in bands] == [(100, 202, (2, 25)), (100, 212, (2, 16)), (100, 222, (3, 25))]
    assert all(b.dtype == np.uint8 and b.all() for _, _, b in bands)
    # no cut lines: one band; an empty band is the full-size transparent mask
    assert len(ops.separate_lines(0, 0, m, [])) == 1
    empty = ops.separate_lines(7, 8, np.zeros((5, 6), np.uint8), [[(0, 2), (6, 2)]])
    assert [(l, t, b.shape, int(b.sum())) for l, t, b in empty] == [(7, 8, (5, 6), 0)] * 2
    # float coordinates are truncated toward zero, like int()
    a = ops.separate_lines(0, 0, m, [[(0.9, 8.7), (25.2, 8.2)]])
    b = ops.separate_lines(0, 0, m, [[(0, 8), (25, 8)]])
    assert all(x[:2] == y[:2] and np.array_equal(x[2], y[2]) for x, y in zip(a, b))
    raises(InvalidInput, ops.separate_lines, 0.5, 0, m, cuts)
    raises(InvalidInput, ops.separate_lines, 0, True, m, cuts)
    raises(InvalidInput, ops.separate_lines, 0, 0, m, [[(1, 2, 3)]])
    raises(InvalidInput, ops.separate_lines, 0, 0, m, [[(float("nan"), 2)]])
    raises(InvalidInput, ops.separate_lines, 0, 0, m, [[("x", 2)]])
    raises(InvalidInput, ops.separate_lines, 0, 0, m, 5)
    raises(InvalidInput, ops.separate_lines, 0, 0, m, [5])
    raises(InvalidInput, ops.separate_lines, 0, 0, m * 3, cuts)


def test_generate_staff():
    lines = staff_lines()
    staff = ops.generate_staff_from_stafflines(lines[::-1])
    assert (staff["class_name"], staff["id"], staff["top"], staff["left"], staff["width"], staff["height"]) == \
        ("staff", 0, 10, 3, 39, 24)
    assert staff["mask"].shape == (24, 39) and staff["mask"].all()
    assert staff["inlinks"] == [] and staff["outlinks"] == [] and staff["text_transcription"] is None
    raises(ExtractionError, ops.generate_staff_from_stafflines, lines[:4])
    raises(ExtractionError, ops.generate_staff_from_stafflines, lines + [dict(lines[0], id=9)])
    raises(ExtractionError, ops.generate_staff_from_stafflines, [])
    raises(ExtractionError, ops.generate_staff_from_stafflines, [dict(lines[0], mask=None)] + lines[1:])
    raises(ExtractionError, ops.generate_staff_from_stafflines,
           [dict(lines[0], mask=np.zeros((2, 40), np.uint8))] + lines[1:])
    same = [node(10, 3, lines[0]["mask"], nid=i) for i in range(5)]
    raises(ExtractionError, ops.generate_staff_from_stafflines, same)  # zero height
    raises(InvalidInput, ops.generate_staff_from_stafflines, [dict(lines[0], mask=np.zeros((3, 3), np.uint8))] + lines[1:])
    bad = dict(lines[0])
    del bad["top"]
    raises(InvalidInput, ops.generate_staff_from_stafflines, [bad] + lines[1:])
    raises(InvalidInput, ops.generate_staff_from_stafflines, [1, 2, 3, 4, 5])
    raises(InvalidInput, ops.generate_staff_from_stafflines, "abc")


def test_no_stray_exceptions():
    """Random and malformed inputs only ever raise MStudioError subclasses."""
    rng = np.random.default_rng(11)
    for it in range(300):
        h, w = (int(v) for v in rng.integers(1, 25, 2))
        m = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        lines = [[(int(rng.integers(-30, 60)), int(rng.integers(-30, 60))) for _ in range(int(rng.integers(0, 5)))]
                 for _ in range(int(rng.integers(0, 4)))]
        for fn, args in ((ops.compute_cut_lines, (m,)), (ops.separate_lines, (3, 4, m, lines)),
                         (fill_poly, (h, w, [p for l in lines for p in l]))):
            try:
                fn(*args)
            except MStudioError:
                pass
        nodes = [node(int(rng.integers(0, 50)), int(rng.integers(0, 50)),
                      (rng.random((int(rng.integers(1, 5)), int(rng.integers(1, 9)))) < 0.6).astype(np.uint8), i)
                 for i in range(int(rng.integers(3, 7)))]
        try:
            ops.generate_staff_from_stafflines(nodes)
        except MStudioError:
            pass


if __name__ == "__main__":
    import _runner

    sys.exit(_runner.main(dict(sorted(globals().items()))))
