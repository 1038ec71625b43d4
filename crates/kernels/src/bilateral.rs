//! OpenCV's `bilateralFilter(src, d=5, sigmaColor=25, sigmaSpace=25)` for an
//! 8-bit, 1-channel image, reflect-101 border (§2.5), as OpenCV 4.10's AVX2
//! code computes it.
//!
//! Per pixel with centre value `v0`, over the 13 taps in [`TAPS`] order:
//! `w = f32(ws·wc[|v − v0|])`, `Wt = f32(Wt + w)` and `S = fma32(v, w, S)`
//! in the columns `x < 8·⌊W/8⌋` (the vector block); the last `W mod 8`
//! columns add the first twelve taps in groups of four, each group's lanes
//! reduced as `(l0 + l2) + (l1 + l3)` with unfused products, then tap 12
//! fused. The output is `rne(f32(S / Wt))`.
//!
//! [`bilateral`] estimates `S / Wt` in plain float32 (any order), which is
//! within 8.3e-4 of the exact quotient (both are `(N/D)(1 + θ)` with
//! `|θ| ≤ γ27` and `N/D ≤ 255`), and recomputes exactly only the pixels whose
//! estimate lies within 1e-3 of a half-integer.

use std::sync::OnceLock;

use crate::fma32;
use crate::simd::{F32x4, U8x16};

/// The taps `(dy, dx)` in OpenCV's order: the 5×5 square's points within
/// distance 2 of the centre, row by row.
pub const TAPS: [(i32, i32); 13] =
    [(-2, 0), (-1, -1), (-1, 0), (-1, 1), (0, -2), (0, -1), (0, 0), (0, 1), (0, 2), (1, -1), (1, 0), (1, 1), (2, 0)];

/// Float32 lanes of OpenCV's vector loop.
const LANES: usize = 8;
/// Border width.
const R: usize = 2;

/// Per tap, the weight `f32(ws·wc[Δ])` for every colour distance `Δ`.
///
/// Held in the static itself (not boxed), so the lookups of [`weights_of`]
/// read at a constant address.
fn tables() -> &'static [[f32; 256]; 13] {
    static TABLES: OnceLock<[[f32; 256]; 13]> = OnceLock::new();
    TABLES.get_or_init(|| {
        let c = -0.5 / (25.0f64 * 25.0);
        let mut wc = [0f32; 256];
        for (d, w) in wc.iter_mut().enumerate() {
            let d = d as f64;
            *w = ((d * d) * c).exp() as f32;
        }
        let mut t = [[0f32; 256]; 13];
        for (table, &(dy, dx)) in t.iter_mut().zip(&TAPS) {
            // ρ in float64, so ρ² is not exactly an integer (as in OpenCV)
            let rho = f64::from(dy * dy + dx * dx).sqrt();
            let ws = ((rho * rho) * c).exp() as f32;
            for (w, &c) in table.iter_mut().zip(&wc) {
                *w = ws * c;
            }
        }
        t
    })
}

/// OpenCV's `BORDER_REFLECT_101` index: mirror around the edge pixel.
pub(crate) fn reflect101(mut i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let last = n as isize - 1;
    while i < 0 || i > last {
        i = if i < 0 { -i } else { 2 * last - i };
    }
    i as usize
}

/// Rows of the image with a 2-pixel reflect-101 frame (padded row `py` is
/// image row `reflect101(py − 2)`), in a ring of `slots` rows, with zero
/// slack on the right for vector reads.
struct Window {
    data: Vec<u8>,
    stride: usize,
    slots: usize,
    /// Image column of each padded column.
    cols: Vec<usize>,
}

impl Window {
    fn new(w: usize, slots: usize) -> Window {
        let stride = w.next_multiple_of(16) + 2 * R + 16;
        let cols = (0..w + 2 * R).map(|x| reflect101(x as isize - R as isize, w)).collect();
        Window { data: vec![0u8; slots * stride], stride, slots, cols }
    }

    /// Makes padded row `py` of the `w`×`h` image `src`.
    fn load(&mut self, py: usize, src: &[u8], w: usize, h: usize) {
        let sy = reflect101(py as isize - R as isize, h);
        let line = &src[sy * w..(sy + 1) * w];
        let at = (py % self.slots) * self.stride;
        let row = &mut self.data[at..at + self.stride];
        row[R..R + w].copy_from_slice(line);
        for x in (0..R).chain(R + w..w + 2 * R) {
            row[x] = line[self.cols[x]];
        }
    }

    /// Padded row `py` (loaded and still in the ring).
    #[inline]
    fn row(&self, py: usize) -> &[u8] {
        let at = (py % self.slots) * self.stride;
        &self.data[at..at + self.stride]
    }

    /// The value at image coordinates (up to 2 outside the image).
    #[inline]
    fn at(&self, y: isize, x: isize) -> u8 {
        self.row((y + R as isize) as usize)[(x + R as isize) as usize]
    }
}

/// The exact OpenCV result at `(x, y)`; `w` is the image width.
fn exact_at(p: &Window, w: usize, x: usize, y: usize) -> u8 {
    let tables = tables();
    let (xi, yi) = (x as isize, y as isize);
    let v0 = p.at(yi, xi);
    let tap = |t: usize| {
        let (dy, dx) = TAPS[t];
        let v = p.at(yi + dy as isize, xi + dx as isize);
        (f32::from(v), tables[t][usize::from(v.abs_diff(v0))])
    };
    let (mut s, mut wt) = (0f32, 0f32);
    if x < LANES * (w / LANES) {
        for t in 0..TAPS.len() {
            let (v, wgt) = tap(t);
            wt += wgt;
            s = fma32(v, wgt, s);
        }
    } else {
        for g in 0..TAPS.len() / 4 {
            let l: [(f32, f32); 4] = core::array::from_fn(|i| tap(4 * g + i));
            wt += (l[0].1 + l[2].1) + (l[1].1 + l[3].1);
            let pr: [f32; 4] = core::array::from_fn(|i| l[i].0 * l[i].1);
            s += (pr[0] + pr[2]) + (pr[1] + pr[3]);
        }
        for t in 4 * (TAPS.len() / 4)..TAPS.len() {
            let (v, wgt) = tap(t);
            wt += wgt;
            s = fma32(v, wgt, s);
        }
    }
    (s / wt).round_ties_even() as u8
}

/// The filter computed pixel by pixel with the exact sequence (slow; the
/// definition [`bilateral`] is tested against).
pub fn bilateral_exact(src: &[u8], w: usize, h: usize, out: &mut [u8]) {
    check(src, w, h, out);
    let mut p = Window::new(w, h + 2 * R);
    for py in 0..h + 2 * R {
        p.load(py, src, w, h);
    }
    for y in 0..h {
        for x in 0..w {
            out[y * w + x] = exact_at(&p, w, x, y);
        }
    }
}

fn check(src: &[u8], w: usize, h: usize, out: &[u8]) {
    assert!(w > 0 && h > 0, "an empty image");
    assert_eq!(src.len(), w * h, "the image is not {w}×{h}");
    assert_eq!(out.len(), w * h, "the output is not {w}×{h}");
}

/// The taps `(dy, dx) > (0, 0)`; tap `−d` at a pixel has the weight of tap
/// `d` at the pixel `−d` away (same distance, same table).
const PAIRS: [(i32, i32); 6] = [(0, 1), (0, 2), (1, -1), (1, 0), (1, 1), (2, 0)];

/// Distance within which an estimate may be from a half-integer and still
/// need the exact computation (the estimate is within 8.3e-4 of it).
const MARGIN: f32 = 1e-3;

/// `2²³`: adding it to a float in `[0, 2²²)` rounds it to an integer (ties
/// to even) held in the low mantissa bits.
const MAGIC: f32 = 8_388_608.0;

// The row loops below are small functions of their own: each keeps its few
// pointers in registers, where one big loop body spilled and reloaded them.

/// `out[i] = tables()[T][|a[i] − b[i]|]` for every `i < out.len()`, sixteen
/// at a time: `out.len()` is a multiple of 16 and `a`, `b` are at least as long.
/// (One function per tap, so the table's address is a constant.)
#[inline(never)]
fn weights_of<const T: usize>(a: &[u8], b: &[u8], out: &mut [f32]) {
    let table = &tables()[T];
    for ((a, b), out) in a.chunks_exact(16).zip(b.chunks_exact(16)).zip(out.chunks_exact_mut(16)) {
        let w = U8x16::load(a).abs_diff(U8x16::load(b)).lookup(table);
        for (j, w) in w.into_iter().enumerate() {
            w.store(&mut out[4 * j..]);
        }
    }
}

/// [`weights_of`] for each pair of [`PAIRS`] (taps 7 to 12).
const PAIR_WEIGHTS: [fn(&[u8], &[u8], &mut [f32]); 6] =
    [weights_of::<7>, weights_of::<8>, weights_of::<9>, weights_of::<10>, weights_of::<11>, weights_of::<12>];

/// `s += wp·vp + wm·vm` and `wt += wp + wm` for the first `s.len()` floats
/// (a whole number of vectors) of each row.
#[inline(never)]
fn add_pair(s: &mut [f32], wt: &mut [f32], [wp, wm, vp, vm]: [&[f32]; 4]) {
    let n = s.len();
    assert!(n.is_multiple_of(4) && wt.len() >= n && [wp, wm, vp, vm].iter().all(|r| r.len() >= n));
    let mut x = 0;
    while x < n {
        // SAFETY: x + 4 ≤ n ≤ every length (asserted).
        let (a, b, c, d) =
            unsafe { (F32x4::load_at(wp, x), F32x4::load_at(wm, x), F32x4::load_at(vp, x), F32x4::load_at(vm, x)) };
        let (sx, wx) = unsafe { (F32x4::load_at(s, x), F32x4::load_at(wt, x)) };
        wx.add(a.add(b)).store(&mut wt[x..]);
        sx.add(a.mul(c).add(b.mul(d))).store(&mut s[x..]);
        x += 4;
    }
}

/// `line[x] = rne(s[x] / wt[x])` for `x < w`, and the columns where that
/// quotient lies within [`MARGIN`] of a half-integer into `unsure`.
#[inline(never)]
fn finish(s: &[f32], wt: &[f32], w: usize, line: &mut [u8], unsure: &mut Vec<usize>) {
    let (magic, limit) = (F32x4::splat(MAGIC), F32x4::splat(0.5 - MARGIN));
    let mut x = 0;
    while x < w {
        let q = F32x4::load(&s[x..]).div(F32x4::load(&wt[x..]));
        let t = q.add(magic);
        t.store_low_bytes(&mut line[x..]);
        let mut open = q.sub(t.sub(magic)).abs().ge_mask(limit);
        while open != 0 {
            let i = open.trailing_zeros() as usize;
            if x + i < w {
                unsure.push(x + i);
            }
            open &= open - 1;
        }
        x += 4;
    }
}

/// The filter of a `w`×`h` image into `out`, bit-identical to OpenCV.
///
/// # Panics
/// If the image is empty or the slices are not `w·h` long.
pub fn bilateral(src: &[u8], w: usize, h: usize, out: &mut [u8]) {
    check(src, w, h, out);
    let mut p = Window::new(w, 5);
    let stride = p.stride;
    // Weight rows of the pairs, for the last three image rows (ring), at
    // column offset R: weights[(pair, row % 3)][x + R] = weight of tap `d`
    // at (row, x). (`weights_of` fills up to 16 columns more than asked.)
    let w4 = w.next_multiple_of(4);
    let wlen = w + 2 * R + 32;
    let mut weights = vec![0f32; 6 * 3 * wlen];
    // The padded rows as floats, for the last five padded rows (ring).
    let mut rows_f = vec![0f32; 5 * stride];
    let (mut sums, mut totals) = (vec![0f32; w4], vec![0f32; w4]);
    let mut line = vec![0u8; w4];
    let mut unsure = Vec::new();

    // Padded row `py` holds image row `py − 2`. The weights of image row
    // `yy` read rows `yy` and `yy + dy` (≤ yy + 2), so they are made when
    // padded row `yy + 4` arrives, for every `yy ≥ −2`; output row `y` then
    // needs the weights of rows `y − 2 ..= y` and the values of rows
    // `y − 2 ..= y + 2`, all there when its own weights are.
    for py in 0..h + 2 * R {
        p.load(py, src, w, h);
        let slot = py % 5;
        for (f, &b) in rows_f[slot * stride..(slot + 1) * stride].iter_mut().zip(p.row(py)) {
            *f = f32::from(b);
        }
        let Some(ring) = py.checked_sub(R) else { continue };
        // image row yy = ring − R ≥ −2, ring slot ring % 3
        let centre = p.row(ring);
        for (k, &(dy, dx)) in PAIRS.iter().enumerate() {
            // the columns that taps ±d read: −dx..w for dx > 0, 0..w − dx for dx < 0
            let lo = R as isize - dx.max(0) as isize;
            let n = (w + dx.unsigned_abs() as usize).next_multiple_of(16);
            let row = &mut weights[(k * 3 + ring % 3) * wlen..][..wlen];
            let other = &p.row(ring + dy as usize)[(lo + dx as isize) as usize..];
            PAIR_WEIGHTS[k](&centre[lo as usize..], other, &mut row[lo as usize..][..n]);
        }
        let Some(y) = ring.checked_sub(R) else { continue };
        // Per pair, the rows each tap reads, shifted so that index x is the
        // value for output column x: the weights of tap d (this row) and of
        // tap −d (row y − dy, column x − dx), and the neighbours' values.
        let values = |dy: i32| &rows_f[((y + R).wrapping_add_signed(dy as isize) % 5) * stride..][..stride];
        sums.copy_from_slice(&values(0)[R..R + w4]);
        totals.fill(1.0);
        for (k, &(dy, dx)) in PAIRS.iter().enumerate() {
            let plus = &weights[(k * 3 + (y + R) % 3) * wlen..][..wlen];
            let minus = &weights[(k * 3 + (y + R - dy as usize) % 3) * wlen..][..wlen];
            add_pair(
                &mut sums,
                &mut totals,
                [
                    &plus[R..],
                    &minus[(R as i32 - dx) as usize..],
                    &values(dy)[(R as i32 + dx) as usize..],
                    &values(-dy)[(R as i32 - dx) as usize..],
                ],
            );
        }
        unsure.clear();
        finish(&sums, &totals, w, &mut line, &mut unsure);
        for &x in &unsure {
            line[x] = exact_at(&p, w, x, y);
        }
        out[y * w..(y + 1) * w].copy_from_slice(&line[..w]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_centre_weight_is_one_and_taps_are_symmetric() {
        let t = tables();
        for (k, &d) in PAIRS.iter().enumerate() {
            assert_eq!(TAPS[7 + k], d, "PAIR_WEIGHTS uses the table of tap 7 + k");
        }
        assert_eq!(t[6][0], 1.0);
        for (i, &(dy, dx)) in TAPS.iter().enumerate() {
            let j = TAPS.iter().position(|&d| d == (-dy, -dx)).unwrap();
            assert_eq!(t[i], t[j]);
        }
    }

    #[test]
    fn reflect_101() {
        assert_eq!([-2, -1, 0, 4, 5, 6].map(|i| reflect101(i, 5)), [2, 1, 0, 4, 3, 2]);
        assert_eq!([-2, -1, 2, 3].map(|i| reflect101(i, 2)), [0, 1, 0, 1]);
        assert_eq!(reflect101(-2, 1), 0);
    }

    /// Images with flat areas, edges and noise: many pixels sit near a
    /// rounding boundary.
    fn image() -> impl Strategy<Value = (usize, usize, Vec<u8>)> {
        (1usize..40, 1usize..20).prop_flat_map(|(w, h)| {
            let px = prop_oneof![
                proptest::collection::vec(any::<u8>(), w * h),
                proptest::collection::vec(prop_oneof![Just(0u8), Just(255), 100u8..110, any::<u8>()], w * h),
            ];
            (Just(w), Just(h), px)
        })
    }

    proptest! {
        #[test]
        fn matches_the_exact_sequence((w, h, px) in image()) {
            let (mut a, mut b) = (vec![0; w * h], vec![0; w * h]);
            bilateral(&px, w, h, &mut a);
            bilateral_exact(&px, w, h, &mut b);
            prop_assert_eq!(a, b);
        }
    }
}
