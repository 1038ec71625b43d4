"""Image primitives of MuNG Studio's extraction (the project's extraction spec,
§2.1-§2.6), bit-identical to OpenCV 4.10 (x86-64, AVX2/FMA dispatch, IPP off),
written with numpy only (natively, scipy.fft is used for the float64 Gaussian
pre-estimate when available).

Exactness strategy
------------------
Two primitives are defined by long chains of float32 roundings (the 101-tap
fused Gaussian and the 13-tap bilateral filter).  Emulating every rounding of
every pixel is slow, so both use *filter-then-verify*:

1. compute a cheap approximation ``A`` of the final real value together with a
   rigorous bound ``delta`` on ``|exact - A|`` (derived from the unit roundoff
   ``u = 2**-24`` and the number of roundings each term goes through; all
   terms are non-negative, so relative bounds add up);
2. the final output is ``rne(value)``; wherever ``[A - delta, A + delta]``
   contains no half-integer, ``rne(exact) == rne(A)``;
3. only the remaining few pixels ("candidates") are recomputed with the exact
   float32 sequence (vectorised over the candidates).

All integer arrays use explicit ``int64``/``intp`` dtypes so the code behaves
the same on wasm32 (32-bit default int) and on 64-bit hosts.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "lightness",
    "fma32",
    "horizontal_closing",
    "gaussian_kernel",
    "gaussian_local_mean",
    "bilateral_filter",
    "otsu_threshold",
]

_U = 2.0 ** -24  # unit roundoff of float32 (round to nearest)
_BLOCK = 65536  # elements per row block (keeps temporaries in L2 cache)


# ---------------------------------------------------------------- §2.1 lightness

_LIGHTNESS_LUT = None


def _lightness_lut():
    """uint8 table indexed by ``max * 256 + min`` (float32 arithmetic of §2.1)."""
    global _LIGHTNESS_LUT
    if _LIGHTNESS_LUT is None:
        k = np.float32(1.0 / 255.0)
        v = np.arange(256, dtype=np.float32)
        big = (v * k)[:, None]  # f32(M * k)
        small = (v * k)[None, :]  # f32(m * k)
        s = (big + small).astype(np.float32)
        h = (s * np.float32(0.5)).astype(np.float32)
        l = (h * np.float32(255.0)).astype(np.float32)
        lut = np.rint(l)
        lut = np.clip(lut, 0, 255).astype(np.uint8)
        _LIGHTNESS_LUT = lut.reshape(-1)
    return _LIGHTNESS_LUT


def lightness(rgb: np.ndarray) -> np.ndarray:
    """L channel of OpenCV ``COLOR_RGB2HLS`` for a ``(H, W, C>=3)`` uint8 image
    (channels beyond the third, e.g. alpha, are ignored).  Returns ``(H, W)`` uint8.

    ``L = lut[max(R,G,B) * 256 + min(R,G,B)]``; the table index is built in row
    blocks so that temporary stays in cache."""
    h, w = rgb.shape[0], rgb.shape[1]
    lut = _lightness_lut()
    out = np.empty((h, w), dtype=np.uint8)
    if h == 0 or w == 0:
        return out
    mx, mn = _max_min_planes(rgb)
    bs = max(1, _BLOCK // w)
    idx = np.empty((min(bs, h), w), dtype=np.intp)
    for y in range(0, h, bs):
        n = min(bs, h - y)
        ix = idx[:n]
        np.left_shift(mx[y:y + n], 8, out=ix, dtype=np.intp)
        np.bitwise_or(ix, mn[y:y + n], out=ix)
        out[y:y + n] = lut[ix]  # fancy indexing: 4x faster than np.take in the sandbox
    return out


def _max_min_planes(rgb):
    """``(max(R,G,B), min(R,G,B))`` as ``(H, W)`` uint8 arrays.  Pillow computes them
    on contiguous planes when it can take the array (numpy's loops over the
    interleaved channels are ~2x slower in the sandbox); numpy otherwise."""
    pillow = rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] in (3, 4) \
        and rgb.flags.c_contiguous
    if pillow:
        try:
            from PIL import Image, ImageChops
        except ImportError:
            pillow = False
    if not pillow:
        r, g, b = rgb[:, :, 0], rgb[:, :, 1], rgb[:, :, 2]
        return np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    h, w, c = rgb.shape
    mode = "RGBA" if c == 4 else "RGB"
    im = Image.frombuffer(mode, (w, h), rgb, "raw", mode, 0, 1)
    r, g, b = im.split()[:3]
    mx = ImageChops.lighter(ImageChops.lighter(r, g), b)
    mn = ImageChops.darker(ImageChops.darker(r, g), b)
    return np.asarray(mx), np.asarray(mn)


# -------------------------------------------------------------------- §2.2 fma32

def _fix_midpoints(s, e, r):
    """Correct the double rounding of ``r = f32(s)`` where the exact value is
    ``s + e`` (in place on ``r``; all three arrays have the same shape).

    If ``s`` is exactly halfway between ``r`` and the float32 neighbour of ``r``
    in the direction of ``e`` and ``e != 0``, the exact value lies beyond the
    midpoint, so the correctly rounded result is that neighbour."""
    nz = e != 0
    if not np.any(nz):
        return r
    idx = np.flatnonzero(nz.reshape(-1))
    rf = r.reshape(-1)
    rr = rf[idx]
    ee = e.reshape(-1)[idx]
    ss = s.reshape(-1)[idx]
    toward = np.where(ee > 0, np.float32(np.inf), np.float32(-np.inf)).astype(np.float32)
    nb = np.nextafter(rr, toward)
    mid = (rr.astype(np.float64) + nb.astype(np.float64)) * 0.5  # exact in float64
    hit = (ss == mid) & np.isfinite(nb)
    if np.any(hit):
        rf[idx[hit]] = nb[hit]
    return r


def fma32(a: np.ndarray | float, b: np.ndarray | float, c: np.ndarray | float) -> np.ndarray:
    """Exact float32 fused multiply-add ``f32(a*b + c)`` (one rounding), emulated
    with float64 arithmetic as in §2.2.  ``a``, ``b``, ``c`` are float32
    arrays or scalars (broadcast); returns a float32 array."""
    a64 = np.asarray(a, dtype=np.float32).astype(np.float64)
    b64 = np.asarray(b, dtype=np.float32).astype(np.float64)
    c64 = np.asarray(c, dtype=np.float32).astype(np.float64)
    p = a64 * b64  # exact: 24 + 24 bits < 53
    p, c64 = np.broadcast_arrays(p, c64)
    s = p + c64
    t = s - p
    e = (p - (s - t)) + (c64 - t)
    r = np.array(s.astype(np.float32), dtype=np.float32)
    return _fix_midpoints(s, e, r)


def _fma32_from_exact_product(p, c64):
    """``f32(p + c)`` for an exactly known float64 product ``p`` and a float64
    array ``c64`` that holds float32 values.  Fast path: the float64 sum is
    rounded twice only when it lands exactly on a float32 midpoint, which is
    detected from its bit pattern (low 29 mantissa bits == 2**28) or when the
    result is tiny (possible float32 subnormal range); only those lanes pay
    for the error term.  Returns float32."""
    s = p + c64
    r = s.astype(np.float32)
    bits = s.view(np.uint64)
    sus = (bits & np.uint64(0x1FFFFFFF)) == np.uint64(0x10000000)
    sus |= np.abs(s) < 2.0 ** -125
    if np.any(sus):
        idx = np.flatnonzero(sus)
        ps = p[idx]
        cs = c64[idx]
        ss = s[idx]
        t = ss - ps
        e = (ps - (ss - t)) + (cs - t)
        rr = r[idx]
        _fix_midpoints(ss, e, rr)
        r[idx] = rr
    return r


# ---------------------------------------------------------- §2.3 closing (50, 1)

def _window_extreme(img, before, after, fn, identity):
    """``out[y, x] = fn{ img[y, x'] : x' in [x - before, x + after] }`` clipped to
    the image (identity padding), via doubling: windows of 1, 2, 4, 8, ...
    combined from shifted contiguous slices."""
    h, w = img.shape
    size = before + after + 1
    pad = np.empty((h, w + size - 1), dtype=img.dtype)
    pad[:, :before] = identity
    pad[:, before:before + w] = img
    pad[:, before + w:] = identity
    # pw[k] = window of 2**k starting at each position
    levels = [pad]
    span = 1
    while span * 2 <= size:
        prev = levels[-1]
        levels.append(fn(prev[:, :-span], prev[:, span:]))
        span *= 2
    out = None
    pos = 0
    rest = size
    k = len(levels) - 1
    while rest > 0:
        while (1 << k) > rest:
            k -= 1
        part = levels[k][:, pos:pos + w]
        out = part.copy() if out is None else fn(out, part, out=out)
        pos += 1 << k
        rest -= 1 << k
    return out


def horizontal_closing(img: np.ndarray, length: int = 50) -> np.ndarray:
    """Grayscale closing with a horizontal ``length x 1`` rectangle (OpenCV
    ``dilate`` then ``erode``, default anchor ``length // 2``: window
    ``[x - 25, x + 24]`` for 50, clipped at the border).  ``img`` is ``(H, W)``
    uint8; returns uint8.  Same as scipy ``maximum_filter1d`` then
    ``minimum_filter1d`` (``size=50, axis=1, mode='nearest'``)."""
    before = length // 2
    after = length - 1 - before
    d = _window_extreme(img, before, after, np.maximum, 0)
    return _window_extreme(d, before, after, np.minimum, 255)


# ------------------------------------------------------- §2.4 Gaussian local mean

_GAUSS = {}


def gaussian_kernel(n: int = 101) -> np.ndarray:
    """float32 Gaussian kernel of size ``n`` with sigma ``0.3*((n-1)/2 - 1) + 0.8``
    (OpenCV ``getGaussianKernel(n, 0, CV_32F)`` for n > 7)."""
    k = _GAUSS.get(n)
    if k is None:
        sigma = 0.3 * ((n - 1) * 0.5 - 1.0) + 0.8
        x = np.arange(n, dtype=np.float64) - (n - 1) * 0.5
        g = np.exp(-(x * x) / (2.0 * sigma * sigma))
        k = (g / g.sum()).astype(np.float32)
        _GAUSS[n] = k
    return k


_N = 101
_R = 50


def _kernel_checks():
    """The 101-tap float32 kernel, after checking the premise of the exact
    horizontal pass: float64 sums of ``uint8 * k_i`` and float32 partial sums are
    exact because every such value is a multiple of ``ulp(min k)`` (min k is
    about 1.4e-4, i.e. >= 2**-13) and below 2**9, so it needs < 53 bits."""
    k = gaussian_kernel(_N)
    e = math.frexp(float(k.min()))[1] - 1  # min k in [2**e, 2**(e+1))
    if 9 - (e - 23) > 53:  # cannot happen for n = 101; guards edits of the kernel
        raise ArithmeticError("Gaussian kernel too small for the exact float64 emulation")
    return k


_FFT = None


def _fft_module():
    """``(fft module, next_fast_len)``.  Under WASI numpy.fft is used: there it is
    faster than scipy.fft (233 vs 262 ms on the full page) and importing
    scipy.fft costs about 1.1 s.  Natively scipy.fft is about 1.7x faster."""
    global _FFT
    if _FFT is None:
        _FFT = (np.fft, _next_fast_len)
        if sys.platform != "wasi":
            try:
                import scipy.fft as fft

                _FFT = (fft, fft.next_fast_len)
            except ImportError:
                pass
    return _FFT


def _next_fast_len(n, real=True):
    """Smallest 2**a * 3**b * 5**c >= n (numpy fallback for scipy's helper)."""
    best = 1
    while best < n:
        best *= 2
    f3 = 1
    while f3 < 2 * n:
        f5 = f3
        while f5 < 2 * n:
            v = f5
            while v < n:
                v *= 2
            best = min(best, v)
            f5 *= 5
        f3 *= 3
    return best


def _gauss_blur_f64(src, k64):
    """Separable replicate-border Gaussian of a 2-D array in float64 via one 2-D
    real FFT; passes of length 1 are skipped (as OpenCV does).  Absolute error
    < 1e-9 for 0..255 data (measured ~3e-13)."""
    fft, fast_len = _fft_module()
    h, w = src.shape
    r = (k64.shape[0] - 1) // 2
    py = r if h > 1 else 0
    px = r if w > 1 else 0
    ap = np.pad(src.astype(np.float64), ((py, py), (px, px)), mode="edge")
    # Circular convolution of length >= the padded length is enough: the outputs
    # we keep (offset 2r .. 2r + n) only touch input samples 0 .. n + 2r - 1.
    ly = fast_len(h + 2 * py, True) if h > 1 else 1
    lx = fast_len(w + 2 * px, True) if w > 1 else 1
    spec = fft.rfft2(ap, s=(ly, lx))
    krev = k64[::-1]
    if w > 1:
        spec *= fft.rfft(krev, n=lx)[None, :]
    if h > 1:
        spec *= fft.fft(krev, n=ly)[:, None]
    full = fft.irfft2(spec, s=(ly, lx))
    return full[2 * py:2 * py + h, 2 * px:2 * px + w]


# |S - V| <= _GAUSS_REL * V + _GAUSS_ABS, see _gauss_approx
_GAUSS_REL = 153.0 * _U * 1.001
_GAUSS_ABS = 1e-6


def _gauss_approx(src):
    """Real-valued Gaussian mean ``V`` (float64; exact kernel values ``k_i``,
    exact real arithmetic up to the FFT's ~1e-12 error).  The float32 result
    ``S`` of the fused sequence of §2.4 satisfies
    ``|S - V| <= _GAUSS_REL * V + _GAUSS_ABS``:

    all terms are >= 0.  In the horizontal pass term ``i`` goes through
    ``101 - i <= 101`` roundings, so ``|R - H| <= 101 u' H``.  In the vertical
    pass the centre term goes through 51 roundings and term ``t`` through
    ``52 - t <= 51`` (one for the pair sum), so the vertical error is at most
    ``51 u' V`` plus the propagated horizontal error ``101 u' V``.  Hence
    ``|S - V| <= 152 u' V`` with ``u' = u / (1 - 152 u)``; we use
    ``153 u V (1 + 1e-3)`` plus ``1e-6`` absolute for the FFT rounding error."""
    k = _kernel_checks().astype(np.float64)
    return _gauss_blur_f64(src, k)


def _gauss_exact_at(src, ys, xs):
    """Exact float32 result ``S`` of the fused Gaussian sequence (§2.4) at the
    pixels ``(ys, xs)`` (int64 arrays).  Returns float32 of the same length.

    Only the horizontal results ``R`` that the requested pixels' vertical passes
    read (rows ``clamp(y - 50 .. y + 50)`` of column ``x``) are computed."""
    k32 = _kernel_checks()
    k64 = k32.astype(np.float64)
    h, w = src.shape
    if ys.size == 0:
        return np.zeros(0, dtype=np.float32)
    ys = ys.astype(np.int64)
    xs = xs.astype(np.int64)
    # linear indices y' * w + x of the needed horizontal results
    if h == 1:
        need = np.unique(xs)
    else:
        lo = np.maximum(ys - _R, 0)
        hi = np.minimum(ys + _R, h - 1) + 1
        cnt = hi - lo
        rep = np.repeat(np.arange(ys.shape[0], dtype=np.int64), cnt.astype(np.intp))
        starts = np.cumsum(cnt) - cnt
        rows = lo[rep] + (np.arange(rep.shape[0], dtype=np.int64) - starts[rep])
        need = np.unique(rows * w + xs[rep])
    ny = need // w
    nx = need - ny * w
    rfull = np.zeros(h * w, dtype=np.float32)
    if w == 1:
        rfull[need.astype(np.intp)] = src.reshape(-1)[need.astype(np.intp)]
    else:
        ap = np.pad(src, ((0, 0), (_R, _R)), mode="edge").reshape(-1)
        base = (ny * (w + 2 * _R) + nx).astype(np.intp)
        s = np.zeros(need.shape[0], dtype=np.float64)
        for i in range(_N):
            # uint8 * k_i (exact) + float32 partial sum: the float64 sum is exact
            # (see _kernel_checks), so one float32 rounding == the fused result.
            s = (ap[base + i] * k64[i] + s).astype(np.float32).astype(np.float64)
        rfull[need.astype(np.intp)] = s
    if h == 1:
        return rfull[xs.astype(np.intp)]
    rc = rfull[(ys * w + xs).astype(np.intp)].astype(np.float64)
    s = (rc * k64[_R]).astype(np.float32).astype(np.float64)  # fma(R, k50, 0): exact product
    for t in range(1, _R + 1):
        up = (np.minimum(ys + t, h - 1) * w + xs).astype(np.intp)
        dn = (np.maximum(ys - t, 0) * w + xs).astype(np.intp)
        p = rfull[up] + rfull[dn]  # float32 add
        s = _fma32_from_exact_product(p.astype(np.float64) * k64[_R + t], s).astype(np.float64)
    return s.astype(np.float32)


def gaussian_local_mean(src: np.ndarray,
                        refine: Callable[..., np.ndarray] | None = None) -> np.ndarray:
    """Local mean of OpenCV ``adaptiveThreshold(..., ADAPTIVE_THRESH_GAUSSIAN_C,
    blockSize=101)``: float32 ``GaussianBlur(101x101, sigma 0, BORDER_REPLICATE)``
    with the fused AVX2 arithmetic of §2.4, converted back to uint8 with ``rne``
    and saturation.

    ``src`` is ``(H, W)`` uint8.  Returns ``(H, W)`` uint8.

    ``refine`` (advanced): an optional callable ``refine(ys, xs, lo, hi) -> bool
    array`` that, given the uncertain pixels (int64 coordinates) and the two
    possible results ``lo`` and ``hi = lo + 1`` there, says which of them must be
    exact; the others get one of the two.  Without it every pixel is exact.
    """
    h, w = src.shape
    if h == 1 and w == 1:
        return src.copy()
    v = _gauss_approx(src)
    # Screen in float32: v32 = f32(v) adds at most 2**-17 (v < 256); r = rint(v32)
    # and |v32 - r| are exact.  A pixel is safe when |v32 - r| < 0.5 - bound.
    v32 = v.astype(np.float32)
    r = np.rint(v32)
    d = v32 - r
    np.abs(d, out=d)
    dmax = 256.0 * _GAUSS_REL + _GAUSS_ABS + 2.0 ** -17
    idx = np.flatnonzero(d >= np.float32(0.5 - 2 * dmax))
    del d, v32
    np.clip(r, 0, 255, out=r)
    out = r.astype(np.uint8)
    if idx.shape[0] == 0:
        return out
    # per-pixel bound on the survivors, in float64
    vv = v.reshape(-1)[idx]
    dd = vv * _GAUSS_REL + _GAUSS_ABS
    lo = np.floor(vv - dd + 0.5)
    hi = np.floor(vv + dd + 0.5)
    sel = lo != hi
    flat = out.reshape(-1)
    settled = idx[~sel].astype(np.intp)
    flat[settled] = np.clip(lo[~sel], 0, 255).astype(np.uint8)  # == rint(v32) there; explicit
    idx = idx[sel].astype(np.int64)
    cy = idx // w
    cx = idx - cy * w
    if refine is not None and idx.shape[0]:
        keep = np.asarray(refine(cy, cx, np.clip(lo[sel], 0, 255), np.clip(hi[sel], 0, 255)), dtype=bool)
        cy = cy[keep]
        cx = cx[keep]
    if cy.shape[0]:
        s = _gauss_exact_at(src, cy, cx)
        out[cy.astype(np.intp), cx.astype(np.intp)] = np.clip(np.rint(s), 0, 255).astype(np.uint8)
    return out


def gaussian_mean_float_exact(src: np.ndarray) -> np.ndarray:
    """Exact float32 fused-Gaussian result for *every* pixel (slow; tests only)."""
    h, w = src.shape
    yy, xx = np.nonzero(np.ones((h, w), dtype=bool))
    if h == 1 and w == 1:
        return src.astype(np.float32)
    return _gauss_exact_at(src, yy.astype(np.int64), xx.astype(np.int64)).reshape(h, w)


# ------------------------------------------------------------ §2.5 bilateral

_BILATERAL = None


def _bilateral_tables():
    """Taps (dy, dx) in OpenCV order and, per tap, the float32 weight table
    ``f32(ws_tap * wc[delta])`` for delta = 0..255."""
    global _BILATERAL
    if _BILATERAL is None:
        c = -0.5 / (25.0 * 25.0)
        taps = []
        ws = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                rho = math.sqrt(float(dy * dy + dx * dx))
                if rho > 2.0:
                    continue
                taps.append((dy, dx))
                ws.append(np.float32(math.exp(rho * rho * c)))
        d = np.arange(256, dtype=np.float64)
        wc = np.exp((d * d) * c).astype(np.float32)
        tables = [(np.float32(s) * wc).astype(np.float32) for s in ws]
        _BILATERAL = (taps, tables)
    return _BILATERAL


def _reflect101_index(i, n):
    """OpenCV BORDER_REFLECT_101 index mapping (Python ints)."""
    if n == 1:
        return 0
    while i < 0 or i >= n:
        if i < 0:
            i = -i
        else:
            i = 2 * (n - 1) - i
    return i


def _bilateral_padded(img):
    """The image with a 2-pixel BORDER_REFLECT_101 frame, ``(H + 4, W + 4)`` uint8."""
    h, w = img.shape
    if h < 3 or w < 3:
        ry = np.array([_reflect101_index(i, h) for i in range(-2, h + 2)], dtype=np.intp)
        rx = np.array([_reflect101_index(i, w) for i in range(-2, w + 2)], dtype=np.intp)
        return img[ry[:, None], rx[None, :]]
    pad = np.empty((h + 4, w + 4), dtype=np.uint8)
    pad[2:h + 2, 2:w + 2] = img
    pad[2:h + 2, 0] = img[:, 2]
    pad[2:h + 2, 1] = img[:, 1]
    pad[2:h + 2, w + 2] = img[:, w - 2]
    pad[2:h + 2, w + 3] = img[:, w - 3]
    pad[0] = pad[4]
    pad[1] = pad[3]
    pad[h + 2] = pad[h]
    pad[h + 3] = pad[h - 1]
    return pad


_BILATERAL_LANES = 8  # float32 lanes of the AVX2 vector loop


def _bilateral_exact_at(pad, w, ys, xs):
    """Exact OpenCV 4.10 (AVX2) arithmetic of the 8-bit, 1-channel bilateral
    filter at pixels ``(ys, xs)``; ``pad`` is the reflect-101 padded uint8 image.
    Returns uint8 results.

    Per tap ``t`` (13 taps in §2.5 order) the weight is
    ``w_t = f32(ws_t * wc[|v_t - v0|])``.  The taps are processed in groups of
    four (t = 0-3, 4-7, 8-11) and then tap 12 alone:

    * vector columns ``x < 8 * floor(W / 8)``: per tap, ``Wt = f32(Wt + w_t)``
      and ``S = fma32(v_t, w_t, S)`` (§2.5);
    * tail columns: per group of four, both sums are advanced by a 4-lane
      horizontal reduction ``(l0 + l2) + (l1 + l3)`` (each ``+`` in float32) of
      the lanes ``w_t`` resp. ``f32(v_t * w_t)``; the single tap 12 then does
      ``Wt = f32(Wt + w)``, ``S = fma32(v, w, S)``.  (This differs from the
      spec's "unfused per tap" wording, which mismatched OpenCV on rare pixels.)

    Output: ``rne(f32(S / Wt))``."""
    taps, tables = _bilateral_tables()
    ys = ys.astype(np.intp)
    xs = xs.astype(np.intp)
    n = ys.shape[0]
    v0 = pad[ys + 2, xs + 2].astype(np.int64)
    vec = xs < _BILATERAL_LANES * (w // _BILATERAL_LANES)
    tail = ~vec
    ws = []
    vs = []
    for (dy, dx), tab in zip(taps, tables):
        v = pad[ys + 2 + dy, xs + 2 + dx].astype(np.int64)
        ws.append(tab[np.abs(v - v0).astype(np.intp)])
        vs.append(v.astype(np.float32))
    S = np.zeros(n, dtype=np.float32)
    Wt = np.zeros(n, dtype=np.float32)
    if vec.any():
        sv = np.zeros(int(vec.sum()), dtype=np.float64)
        wv = np.zeros(sv.shape[0], dtype=np.float32)
        for t in range(len(taps)):
            wgt = ws[t][vec]
            wv = wv + wgt
            sv = _fma32_from_exact_product(vs[t][vec].astype(np.float64) * wgt.astype(np.float64),
                                           sv).astype(np.float64)
        S[vec] = sv
        Wt[vec] = wv
    if tail.any():
        st = np.zeros(int(tail.sum()), dtype=np.float32)
        wt = np.zeros(st.shape[0], dtype=np.float32)
        ngroups = len(taps) // 4
        for g in range(ngroups):
            lw = [ws[4 * g + i][tail] for i in range(4)]
            lp = [vs[4 * g + i][tail] * lw[i] for i in range(4)]  # float32 products
            wt = wt + ((lw[0] + lw[2]) + (lw[1] + lw[3]))
            st = st + ((lp[0] + lp[2]) + (lp[1] + lp[3]))
        for t in range(4 * ngroups, len(taps)):
            wgt = ws[t][tail]
            wt = wt + wgt
            st = _fma32_from_exact_product(vs[t][tail].astype(np.float64) * wgt.astype(np.float64),
                                           st.astype(np.float64))
        S[tail] = st
        Wt[tail] = wt
    q = S / Wt
    return np.rint(q).astype(np.uint8)


def bilateral_filter(img: np.ndarray) -> np.ndarray:
    """OpenCV ``bilateralFilter(img, d=5, sigmaColor=25, sigmaSpace=25)`` for a
    1-channel ``(H, W)`` uint8 image, BORDER_REFLECT_101 (§2.5).  Returns uint8.

    Fast path: a plain float32 estimate ``q'`` of ``S / Wt`` is computed for all
    pixels (any summation order).  Both it and the exact result ``q`` (see
    :func:`_bilateral_exact_at`) equal ``(N / D)(1 + theta)`` with
    ``|theta| <= gamma_27`` (at most 14 roundings in the numerator, 12 in the
    denominator, 1 in the division, whatever the grouping; all terms >= 0),
    and ``N / D <= 255``, so ``|q - q'| <= 2 * 27.01 * u * 255 < 8.3e-4``.  Pixels
    whose ``q'`` lies within 1e-3 of a half-integer are recomputed with the
    exact sequence.

    The estimate uses the symmetry of the taps: the colour distance of tap
    ``-d`` at pixel ``p`` is that of tap ``d`` at ``p - d``, so one table lookup
    serves two taps; the centre tap has weight exactly 1.  Per row block the
    weights and neighbour values of all taps are stacked and summed by
    ``einsum`` (one pass over the taps per pixel, several times faster in the
    sandbox than a multiply and two adds per tap)."""
    h, w = img.shape
    taps, tables = _bilateral_tables()
    pad = _bilateral_padded(img)
    padf = pad.astype(np.float32)
    # weight tables indexed by the *signed* difference: index -k wraps to 511 - k
    tabs = {t: np.concatenate([tab, tab[:0:-1]]) for t, tab in zip(taps, tables)}
    pairs = [(dy, dx) for (dy, dx) in taps if (dy, dx) > (0, 0)]
    q = np.empty((h, w), dtype=np.float32)
    bs = max(1, _BLOCK // (w + 4))
    ntaps = 1 + 2 * len(pairs)
    weights = np.empty((ntaps, min(bs, h), w), dtype=np.float32)
    values = np.empty((ntaps, min(bs, h), w), dtype=np.float32)
    weights[0] = 1.0  # centre tap
    for y0 in range(0, h, bs):
        bh = min(bs, h - y0)
        blk = pad[y0:y0 + bh + 4]  # rows y0-2 .. y0+bh+1 of the image (padded)
        blkf = padf[y0:y0 + bh + 4]
        wk = weights[:, :bh]
        vk = values[:, :bh]
        vk[0] = blkf[2:2 + bh, 2:2 + w]
        k = 1
        for dy, dx in pairs:
            mx = dx if dx > 0 else 0
            # signed distance field D[z] = P[z + d] - P[z] over the z needed by both
            # taps: tap +d at pixel p uses D[p], tap -d uses D[p - d] (same |D|)
            z = blk[2 - dy:2 + bh, 2 - mx:2 + w + (mx - dx)]
            zd = blk[2:2 + bh + dy, 2 - mx + dx:2 + w + mx]
            wreg = tabs[(dy, dx)][np.subtract(zd, z, dtype=np.intp)]  # intp: fastest fancy index
            wk[k] = wreg[dy:dy + bh, mx:mx + w]
            wk[k + 1] = wreg[0:bh, mx - dx:mx - dx + w]
            vk[k] = blkf[2 + dy:2 + dy + bh, 2 + dx:2 + dx + w]
            vk[k + 1] = blkf[2 - dy:2 - dy + bh, 2 - dx:2 - dx + w]
            k += 2
        np.divide(np.einsum("kij,kij->ij", wk, vk), np.einsum("kij->ij", wk), out=q[y0:y0 + bh])
    r = np.rint(q)
    q -= r  # exact in float32 (Sterbenz), |q - rint(q)| <= 0.5
    np.abs(q, out=q)
    idx = np.flatnonzero(q >= np.float32(0.5 - 1e-3))
    out = r.astype(np.uint8)
    if idx.shape[0]:
        idx = idx.astype(np.int64)
        cy = idx // w
        cx = idx - cy * w
        out.reshape(-1)[idx.astype(np.intp)] = _bilateral_exact_at(pad, w, cy, cx)
    return out


# ------------------------------------------------------------------ §2.6 Otsu

def _histogram256(img):
    """Counts of the values 0..255 of a uint8 array, as a list of Python ints."""
    a = np.ascontiguousarray(img, dtype=np.uint8)
    if a.ndim == 2 and a.size:
        try:
            from PIL import Image

            return list(Image.fromarray(a).histogram())  # mode "L": 256 bins, fast C loop
        except ImportError:
            pass
    flat = a.reshape(-1)
    out = np.zeros(256, dtype=np.int64)
    for i in range(0, flat.shape[0], _BLOCK):
        out += np.bincount(flat[i:i + _BLOCK], minlength=256)[:256]
    return [int(c) for c in out]


def otsu_threshold(img: np.ndarray) -> int:
    """OpenCV ``THRESH_OTSU`` threshold of a uint8 image (any shape, >= 1 pixel),
    §2.6.  Returns a Python int in 0..255."""
    h = _histogram256(img)
    n = sum(h)
    scale = 1.0 / n
    mu = 0.0
    for i in range(256):
        mu += i * float(h[i])
    mu *= scale
    eps = 2.0 ** -23
    one_minus = 1.0 - eps
    q1 = 0.0
    mu1 = 0.0
    best = 0.0
    t = 0
    for i in range(256):
        p = h[i] * scale
        mu1 *= q1
        q1 += p
        q2 = 1.0 - q1
        if min(q1, q2) < eps or max(q1, q2) > one_minus:
            continue
        mu1 = (mu1 + i * p) / q1
        mu2 = (mu - q1 * mu1) / q2
        d = mu2 - mu1
        sigma = ((q1 * q2) * d) * d
        if sigma > best:
            best = sigma
            t = i
    return t
