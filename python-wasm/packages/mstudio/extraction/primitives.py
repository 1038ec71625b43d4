"""Image primitives of extraction-spec.md §2.1-§2.6, bit-identical to OpenCV 4.10
(x86-64, AVX2/FMA dispatch, IPP off), written with numpy (+ scipy.ndimage for
the 1-D min/max filters).

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

import math

import numpy as np

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


def lightness(rgb):
    """L channel of OpenCV ``COLOR_RGB2HLS`` for a ``(H, W, C>=3)`` uint8 image
    (channels beyond the third, e.g. alpha, are ignored).  Returns ``(H, W)`` uint8."""
    r = rgb[:, :, 0]
    g = rgb[:, :, 1]
    b = rgb[:, :, 2]
    mx = np.maximum(np.maximum(r, g), b)
    mn = np.minimum(np.minimum(r, g), b)
    idx = mx.astype(np.intp)
    idx <<= 8
    idx |= mn
    return np.take(_lightness_lut(), idx)


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


def fma32(a, b, c):
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

def horizontal_closing(img, length=50):
    """Grayscale closing with a horizontal ``length x 1`` rectangle (OpenCV
    ``dilate`` then ``erode``, default anchor, window ``[x-25, x+24]`` clipped
    at the border).  ``img`` is ``(H, W)`` uint8; returns uint8."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    d = maximum_filter1d(img, size=length, axis=1, mode="nearest")
    return minimum_filter1d(d, size=length, axis=1, mode="nearest")


# ------------------------------------------------------- §2.4 Gaussian local mean

_GAUSS = {}


def gaussian_kernel(n=101):
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
    k = gaussian_kernel(_N)
    # The exact horizontal pass relies on float64 sums of (uint8 * k_i) and
    # float32 partial sums being exact: every such value is a multiple of
    # ulp(min k) and below 2**9, i.e. needs < 53 bits.
    kmin = float(k.min())
    e = math.frexp(kmin)[1] - 1  # kmin in [2**e, 2**(e+1))
    assert 9 - (e - 23) <= 53
    return k


def _next_fast_len(n):
    m = 1
    while m < n:
        m *= 2
    best = m
    # try 2^a * 3^b * 5^c just above n
    for f3 in (1, 3, 9, 27, 81, 243):
        for f5 in (1, 5, 25, 125, 625):
            base = f3 * f5
            if base > 2 * n:
                continue
            v = base
            while v < n:
                v *= 2
            if v < best:
                best = v
    return best


def _correlate_replicate(a, kernel, axis):
    """float64 correlation ``out[j] = sum_i a[clamp(j + i - r)] * kernel[i]`` along
    ``axis`` (replicate border), via FFT.  Absolute error << 1e-9 for the data
    ranges used here (values <= 256, n <= a few thousand)."""
    r = (kernel.shape[0] - 1) // 2
    n = a.shape[axis]
    pad = [(0, 0), (0, 0)]
    pad[axis] = (r, r)
    ap = np.pad(a, pad, mode="edge")
    m = n + 2 * r
    L = _next_fast_len(m + kernel.shape[0] - 1)
    fa = np.fft.rfft(ap, n=L, axis=axis)
    fk = np.fft.rfft(kernel[::-1].astype(np.float64), n=L)
    shape = [1, 1]
    shape[axis] = fk.shape[0]
    full = np.fft.irfft(fa * fk.reshape(shape), n=L, axis=axis)
    sl = [slice(None), slice(None)]
    sl[axis] = slice(2 * r, 2 * r + n)
    return full[tuple(sl)]


def _gauss_approx(src):
    """Real-valued Gaussian mean ``V`` (float64, exact kernel values ``k_i`` but
    exact real arithmetic) and a bound ``delta`` with ``|S - V| < delta`` where
    ``S`` is the float32 result of the fused sequence of §2.4.

    Bound: all terms are >= 0.  In the horizontal pass term ``i`` goes through
    ``101 - i <= 101`` roundings, so ``|R - H| <= 101 u' H``.  In the vertical
    pass the centre term goes through 51 roundings and term ``t`` through
    ``52 - t <= 51`` (one for the pair sum), so the vertical error is at most
    ``51 u' V`` plus the propagated horizontal error ``101 u' V``.  Hence
    ``delta = 152 u' V`` with ``u' = u / (1 - 152 u)``; we use ``153 u V (1 + 1e-3)``
    plus ``1e-6`` absolute for the FFT rounding error."""
    k = _kernel_checks().astype(np.float64)
    h, w = src.shape
    a = src.astype(np.float64)
    hx = a if w == 1 else _correlate_replicate(a, k, axis=1)
    v = hx if h == 1 else _correlate_replicate(hx, k, axis=0)
    delta = v * (153.0 * _U * 1.001) + 1e-6
    return v, delta


def _gauss_exact_at(src, ys, xs):
    """Exact float32 result ``S`` of the fused Gaussian sequence (§2.4) at the
    pixels ``(ys, xs)`` (int64 arrays).  Returns float32 of the same length."""
    k32 = _kernel_checks()
    k64 = k32.astype(np.float64)
    h, w = src.shape
    if ys.size == 0:
        return np.zeros(0, dtype=np.float32)
    # rows whose horizontal result is needed
    if h == 1:
        need = np.zeros((h, w), dtype=bool)
        need[ys.astype(np.intp), xs.astype(np.intp)] = True
    else:
        # rows clamp(y - 50 .. y + 50) of column x, via a difference array
        lo = np.maximum(ys - _R, 0)
        hi = np.minimum(ys + _R, h - 1) + 1
        size = (h + 1) * w
        diff = (np.bincount((lo * w + xs).astype(np.intp), minlength=size)[:size].astype(np.int64)
                - np.bincount((hi * w + xs).astype(np.intp), minlength=size)[:size].astype(np.int64))
        need = np.cumsum(diff.reshape(h + 1, w), axis=0)[:h] > 0
    ny, nx = np.nonzero(need)
    ny = ny.astype(np.intp)
    nx = nx.astype(np.intp)
    rfull = np.zeros((h, w), dtype=np.float32)
    if w == 1:
        rfull[ny, nx] = src[ny, nx].astype(np.float32)
    else:
        ap = np.pad(src, ((0, 0), (_R, _R)), mode="edge").astype(np.float64)
        flat = ap.reshape(-1)
        base = ny * (w + 2 * _R) + nx
        s = np.zeros(ny.shape[0], dtype=np.float64)
        for i in range(_N):
            # uint8 * k_i (exact) + float32 partial sum: the float64 sum is exact
            # (see _kernel_checks), so one float32 rounding == the fused result.
            s = (flat[base + i] * k64[i] + s).astype(np.float32).astype(np.float64)
        rfull[ny, nx] = s.astype(np.float32)
    ys = ys.astype(np.intp)
    xs = xs.astype(np.intp)
    if h == 1:
        return rfull[ys, xs]
    rc = rfull[ys, xs].astype(np.float64)
    s = (rc * k64[_R]).astype(np.float32).astype(np.float64)  # fma(R, k50, 0): exact product
    for t in range(1, _R + 1):
        up = np.minimum(ys + t, h - 1)
        dn = np.maximum(ys - t, 0)
        p = (rfull[up, xs] + rfull[dn, xs]).astype(np.float32)  # float32 add
        s = _fma32_from_exact_product(p.astype(np.float64) * k64[_R + t], s).astype(np.float64)
    return s.astype(np.float32)


def _rne_interval_unsafe(v, delta):
    """True where ``rne`` of some value in ``[v - delta, v + delta]`` may differ
    from ``rne(v)`` (the interval touches a half-integer)."""
    return np.floor(v - delta + 0.5) != np.floor(v + delta + 0.5)


def gaussian_local_mean(src, refine=None):
    """Local mean of OpenCV ``adaptiveThreshold(..., ADAPTIVE_THRESH_GAUSSIAN_C,
    blockSize=101)``: float32 ``GaussianBlur(101x101, sigma 0, BORDER_REPLICATE)``
    with the fused AVX2 arithmetic of §2.4, converted back to uint8 with ``rne``
    and saturation.

    ``src`` is ``(H, W)`` uint8.  Returns ``(H, W)`` uint8.

    ``refine`` (advanced): an optional callable ``refine(lo, hi, unsafe) -> bool
    mask`` that narrows the set of uncertain pixels recomputed exactly; ``lo`` /
    ``hi`` are the two possible results there.  Without it every pixel is exact.
    """
    h, w = src.shape
    if h == 1 and w == 1:
        return src.copy()
    v, delta = _gauss_approx(src)
    out = np.clip(np.floor(v + 0.5), 0, 255)
    unsafe = _rne_interval_unsafe(v, delta)
    if refine is not None:
        lo = np.clip(np.floor(v - delta + 0.5), 0, 255)
        hi = np.clip(np.floor(v + delta + 0.5), 0, 255)
        unsafe &= refine(lo, hi, unsafe)
    out = out.astype(np.uint8)
    cy, cx = np.nonzero(unsafe)
    if cy.size:
        s = _gauss_exact_at(src, cy.astype(np.int64), cx.astype(np.int64))
        out[cy, cx] = np.clip(np.rint(s), 0, 255).astype(np.uint8)
    return out


def gaussian_mean_float_exact(src):
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
    h, w = img.shape
    ry = np.array([_reflect101_index(i, h) for i in range(-2, h + 2)], dtype=np.intp)
    rx = np.array([_reflect101_index(i, w) for i in range(-2, w + 2)], dtype=np.intp)
    return img[ry[:, None], rx[None, :]]


def _bilateral_exact_at(pad, w, ys, xs):
    """Exact §2.5 sequence at pixels (ys, xs); ``pad`` is the reflect-101 padded
    uint8 image.  Returns uint8 results."""
    taps, tables = _bilateral_tables()
    ys = ys.astype(np.intp)
    xs = xs.astype(np.intp)
    v0 = pad[ys + 2, xs + 2].astype(np.int64)
    fused = xs < 8 * (w // 8)
    S = np.zeros(ys.shape[0], dtype=np.float32)
    Wt = np.zeros(ys.shape[0], dtype=np.float32)
    for (dy, dx), tab in zip(taps, tables):
        v = pad[ys + 2 + dy, xs + 2 + dx].astype(np.int64)
        wgt = tab[np.abs(v - v0).astype(np.intp)]
        Wt = (Wt + wgt).astype(np.float32)
        vf = v.astype(np.float32)
        prod64 = vf.astype(np.float64) * wgt.astype(np.float64)  # exact
        fs = _fma32_from_exact_product(prod64, S.astype(np.float64))
        us = (S + (vf * wgt).astype(np.float32)).astype(np.float32)
        S = np.where(fused, fs, us).astype(np.float32)
    q = (S / Wt).astype(np.float32)
    return np.rint(q).astype(np.uint8)


def bilateral_filter(img):
    """OpenCV ``bilateralFilter(img, d=5, sigmaColor=25, sigmaSpace=25)`` for a
    1-channel ``(H, W)`` uint8 image, BORDER_REFLECT_101 (§2.5).  Returns uint8.

    Fast path: the plain float32 (unfused) sequence ``q'`` is computed for all
    pixels.  Both it and the exact result ``q`` equal ``(N / D)(1 + theta)`` with
    ``|theta| <= gamma_27`` (at most 14 roundings in the numerator, 12 in the
    denominator, 1 in the division; all terms >= 0), and ``N / D <= 255``, so
    ``|q - q'| <= 2 * 27.01 * u * 255 < 8.3e-4``.  Pixels whose ``q'`` lies within
    1e-3 of a half-integer are recomputed with the exact sequence."""
    h, w = img.shape
    taps, tables = _bilateral_tables()
    pad = _bilateral_padded(img)
    pw = w + 4
    flat = pad.reshape(-1)
    v0 = img.astype(np.int16)
    S = np.zeros((h, w), dtype=np.float32)
    Wt = np.zeros((h, w), dtype=np.float32)
    diff = np.empty((h, w), dtype=np.int16)
    wgt = np.empty((h, w), dtype=np.float32)
    tmp = np.empty((h, w), dtype=np.float32)
    for (dy, dx), tab in zip(taps, tables):
        v = pad[2 + dy: 2 + dy + h, 2 + dx: 2 + dx + w]
        np.subtract(v, v0, out=diff, dtype=np.int16)
        np.abs(diff, out=diff)
        np.take(tab, diff, out=wgt)
        np.add(Wt, wgt, out=Wt)
        np.multiply(v, wgt, out=tmp, dtype=np.float32)
        np.add(S, tmp, out=S)
    del flat, pw
    q = S / Wt
    q64 = q.astype(np.float64)
    out = np.rint(q).astype(np.uint8)
    unsafe = _rne_interval_unsafe(q64, 1e-3)
    cy, cx = np.nonzero(unsafe)
    if cy.size:
        out[cy, cx] = _bilateral_exact_at(pad, w, cy.astype(np.int64), cx.astype(np.int64))
    return out


# ------------------------------------------------------------------ §2.6 Otsu

def otsu_threshold(img):
    """OpenCV ``THRESH_OTSU`` threshold of a uint8 image (any shape, >= 1 pixel),
    §2.6.  Returns a Python int in 0..255."""
    hist = np.bincount(np.asarray(img, dtype=np.uint8).reshape(-1), minlength=256)
    h = [int(c) for c in hist[:256]]
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
