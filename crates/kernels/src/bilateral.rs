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
//!
//! Speed (the bulk of "binarize region"): the image is filtered in strips of
//! 256 columns, so every buffered row has one constant length and the fused
//! estimate loop reads all 25 of its vectors at constant offsets from four
//! pointers. Each pair of opposite taps shares one weight (the same colour
//! distance), so a pixel costs six table lookups; they are scalar loads,
//! which on the host beat assembling vectors lane by lane.

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

/// The value at image coordinates `(x, y)` up to 2 outside the image
/// (reflect-101 border).
#[inline]
fn at(src: &[u8], w: usize, h: usize, y: isize, x: isize) -> u8 {
    src[reflect101(y, h) * w + reflect101(x, w)]
}

/// The exact OpenCV result at `(x, y)` of the `w`×`h` image `src`.
fn exact_at(src: &[u8], w: usize, h: usize, x: usize, y: usize) -> u8 {
    let tables = tables();
    let (xi, yi) = (x as isize, y as isize);
    let v0 = at(src, w, h, yi, xi);
    let tap = |t: usize| {
        let (dy, dx) = TAPS[t];
        let v = at(src, w, h, yi + dy as isize, xi + dx as isize);
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
    for y in 0..h {
        for x in 0..w {
            out[y * w + x] = exact_at(src, w, h, x, y);
        }
    }
}

fn check(src: &[u8], w: usize, h: usize, out: &[u8]) {
    assert!(w > 0 && h > 0, "an empty image");
    assert_eq!(src.len(), w * h, "the image is not {w}×{h}");
    assert_eq!(out.len(), w * h, "the output is not {w}×{h}");
}

/// The taps `(dy, dx) > (0, 0)`; tap `−d` at a pixel has the weight of tap
/// `d` at the pixel `−d` away (same distance, same table). They are taps 7
/// to 12 of [`TAPS`].
const PAIRS: [(i32, i32); 6] = [(0, 1), (0, 2), (1, -1), (1, 0), (1, 1), (2, 0)];

/// Distance within which an estimate may be from a half-integer and still
/// need the exact computation (the estimate is within 8.3e-4 of it).
const MARGIN: f32 = 1e-3;

/// `2²³`: adding it to a float in `[0, 2²²)` rounds it to an integer (ties
/// to even) held in the low mantissa bits.
const MAGIC: f32 = 8_388_608.0;

/// Output columns per strip. The image is filtered in vertical strips so
/// that every buffered row has the same, constant length: each value and
/// weight the inner loop reads is then one of four base pointers plus a
/// constant offset, and the loop needs only those four pointers.
const STRIP: usize = 256;
/// Length of a buffered row: a strip, its border of `R` columns on each
/// side, and slack for the 16-wide steps.
const ROW: usize = STRIP + 2 * R + 28;
/// Columns of a buffered row that hold data: the strip and its border,
/// rounded up to the 16-wide steps.
const FILLED: usize = (STRIP + 2 * R).next_multiple_of(16);
/// Where buffered byte rows start, so a read one column left of column 0
/// stays in the buffer.
const BYTE_LEAD: usize = 16;

/// The rows one strip is filtered from, in rings. Column `c` of a row is
/// image column `x0 + c − R`.
struct Strip {
    /// Bytes of the last three padded rows (3 slots), from `BYTE_LEAD`.
    bytes: Vec<u8>,
    /// The last five padded rows as floats, in 5 slots stored twice (slot
    /// `i` and `i + 5`), so any five consecutive rows are consecutive in memory.
    values: Vec<f32>,
    /// Per image row, the weights of the six pairs (3 slots):
    /// `weights[(slot · 6 + k) · ROW + c]` is the weight of tap `PAIRS[k]` at column `c`.
    weights: Vec<f32>,
    /// Colour distances of one row, scratch for [`weights_of`].
    delta: Vec<u8>,
}

/// `out[c] = tables()[T][|a[c] − b[c]|]` for `c < FILLED`. (One function
/// per tap, so the table's address is a constant.)
#[inline(never)]
fn weights_of<const T: usize>(a: &[u8], b: &[u8], delta: &mut [u8], out: &mut [f32]) {
    let table = &tables()[T];
    let (a, b, delta, out) = (&a[..FILLED], &b[..FILLED], &mut delta[..FILLED], &mut out[..FILLED]);
    for ((a, b), d) in a.chunks_exact(16).zip(b.chunks_exact(16)).zip(delta.chunks_exact_mut(16)) {
        U8x16::load(a).abs_diff(U8x16::load(b)).store(d);
    }
    // Scalar lookups: wasm has no gather, and building vectors lane by lane
    // queues every lookup on the host's one shuffle port. Volatile accesses
    // keep the compiler from doing just that.
    for (d, out) in delta.chunks_exact(16).zip(out.chunks_exact_mut(16)) {
        for j in 0..16 {
            // SAFETY: `j` < 16, both chunks hold 16 values.
            unsafe {
                let i = core::ptr::read_volatile(d.as_ptr().add(j));
                core::ptr::write_volatile(out.as_mut_ptr().add(j), table[usize::from(i)]);
            }
        }
    }
}

/// [`weights_of`] for each pair of [`PAIRS`] (taps 7 to 12).
type WeightsOf = fn(&[u8], &[u8], &mut [u8], &mut [f32]);
const PAIR_WEIGHTS: [WeightsOf; 6] =
    [weights_of::<7>, weights_of::<8>, weights_of::<9>, weights_of::<10>, weights_of::<11>, weights_of::<12>];

/// One output row `y` of a strip, `n` columns: the estimate of every pixel
/// into `line` (its rounded quotient) and the columns where the quotient
/// lies within [`MARGIN`] of a half-integer into `unsure`. `values` starts
/// at row `y − 2`; `weights[j]` are the weights of row `y − j`.
#[inline(never)]
fn estimate_row(values: &[f32], weights: [&[f32]; 3], n: usize, line: &mut [u8], unsure: &mut Vec<usize>) {
    // Offsets of row `y + dy` of the values and of the weights of pair `k`,
    // at column shift `dx`.
    const fn v(dy: isize, dx: isize) -> usize {
        ((dy + 2) * ROW as isize + R as isize + dx) as usize
    }
    const fn wt(k: usize, dx: isize) -> usize {
        (k * ROW) + (R as isize + dx) as usize
    }
    assert!(values.len() >= 5 * ROW && weights.iter().all(|w| w.len() >= 6 * ROW));
    assert!(n <= STRIP && line.len() >= STRIP);
    let (magic, limit) = (F32x4::splat(MAGIC), F32x4::splat(0.5 - MARGIN));
    let (vp, wp) = (values.as_ptr(), weights.map(<[f32]>::as_ptr));
    let mut i = 0;
    while i < n {
        // SAFETY: every offset plus 4 is at most 5·ROW (values) or 6·ROW
        // (weights) for i < STRIP (asserted lengths).
        let load = |p: *const f32, o: usize| unsafe { F32x4::load_ptr(p.add(o + i)) };
        let mut s = load(vp, v(0, 0));
        let mut t = F32x4::splat(1.0);
        // (pair k, dy, dx): tap +d at this pixel, tap −d from row y − dy
        macro_rules! pair {
            ($k:literal, $dy:literal, $dx:literal) => {{
                let (a, b) = (load(wp[0], wt($k, 0)), load(wp[$dy], wt($k, -$dx)));
                t = t.add(a.add(b));
                s = s.add(a.mul(load(vp, v($dy, $dx))).add(b.mul(load(vp, v(-$dy, -$dx)))));
            }};
        }
        pair!(0, 0, 1);
        pair!(1, 0, 2);
        pair!(2, 1, -1);
        pair!(3, 1, 0);
        pair!(4, 1, 1);
        pair!(5, 2, 0);
        let q = s.div(t);
        let r = q.add(magic);
        r.store_low_bytes(&mut line[i..]);
        let mut open = q.sub(r.sub(magic)).abs().ge_mask(limit);
        while open != 0 {
            let j = open.trailing_zeros() as usize;
            if i + j < n {
                unsure.push(i + j);
            }
            open &= open - 1;
        }
        i += 4;
    }
}

impl Strip {
    fn new() -> Strip {
        Strip {
            bytes: vec![0; 3 * (ROW + BYTE_LEAD)],
            values: vec![0.0; 10 * ROW],
            weights: vec![0.0; 18 * ROW],
            delta: vec![0; ROW],
        }
    }

    /// Buffers padded row `py` (image row `reflect101(py − R)`), columns
    /// `x0 − R .. x0 + n + R`, of the `w`×`h` image `src`.
    fn load(&mut self, py: usize, src: &[u8], w: usize, h: usize, x0: usize, n: usize) {
        let line = &src[reflect101(py as isize - R as isize, h) * w..][..w];
        let row = &mut self.bytes[(py % 3) * (ROW + BYTE_LEAD) + BYTE_LEAD..][..ROW];
        // the columns inside the image in one copy, the border by reflection
        let first = x0.saturating_sub(R);
        let last = (x0 + n + R).min(w);
        let at = first + R - x0;
        row[at..at + last - first].copy_from_slice(&line[first..last]);
        for c in (0..at).chain(at + last - first..n + 2 * R) {
            row[c] = line[reflect101((x0 + c) as isize - R as isize, w)];
        }
        let slot = py % 5;
        for c in (0..FILLED).step_by(4) {
            let f = F32x4::from_u8(&row[c..]);
            f.store(&mut self.values[slot * ROW + c..]);
            f.store(&mut self.values[(slot + 5) * ROW + c..]);
        }
    }

    /// The weights of image row `yy` (≥ −R), from padded rows `yy + R ..= yy + 2R`.
    fn make_weights(&mut self, yy: isize) {
        let py = (yy + R as isize) as usize;
        // byte row of padded row `py`, shifted by `dx` columns
        let bytes = |py: usize, dx: i32| {
            &self.bytes[((py % 3) * (ROW + BYTE_LEAD) + BYTE_LEAD).wrapping_add_signed(dx as isize)..][..FILLED]
        };
        let row = &mut self.weights[(py % 3) * 6 * ROW..][..6 * ROW];
        for ((k, &(dy, dx)), out) in PAIRS.iter().enumerate().zip(row.chunks_exact_mut(ROW)) {
            PAIR_WEIGHTS[k](bytes(py, 0), bytes(py + dy as usize, dx), &mut self.delta, out);
        }
    }
}

/// The filter of a `w`×`h` image into `out`, bit-identical to OpenCV.
///
/// # Panics
/// If the image is empty or the slices are not `w·h` long.
pub fn bilateral(src: &[u8], w: usize, h: usize, out: &mut [u8]) {
    check(src, w, h, out);
    let mut strip = Strip::new();
    let mut line = vec![0u8; STRIP];
    let mut unsure = Vec::new();
    for x0 in (0..w).step_by(STRIP) {
        let n = STRIP.min(w - x0);
        // Padded row `py` is image row `py − R`. The weights of image row
        // `yy` read rows `yy ..= yy + 2`, so they are made when padded row
        // `yy + 4` arrives, for every `yy ≥ −2`; output row `y` then needs
        // the weights of rows `y − 2 ..= y` and the values of rows
        // `y − 2 ..= y + 2`, all there when its own weights are.
        for py in 0..h + 2 * R {
            strip.load(py, src, w, h, x0, n);
            let yy = py as isize - 2 * R as isize;
            if yy < -(R as isize) {
                continue;
            }
            strip.make_weights(yy);
            let Ok(y) = usize::try_from(yy) else { continue };
            unsure.clear();
            // image row y − j is in weight slot (y − j + R) % 3
            let weights = [0, 1, 2].map(|j| &strip.weights[((y + 5 - j) % 3) * 6 * ROW..][..6 * ROW]);
            estimate_row(&strip.values[(y % 5) * ROW..], weights, n, &mut line, &mut unsure);
            for &i in &unsure {
                line[i] = exact_at(src, w, h, x0 + i, y);
            }
            out[y * w + x0..][..n].copy_from_slice(&line[..n]);
        }
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

    /// Wide images: several strips, the last one partial.
    fn wide_image() -> impl Strategy<Value = (usize, usize, Vec<u8>)> {
        (STRIP - 3..3 * STRIP + 40, 1usize..6).prop_flat_map(|(w, h)| {
            let px = proptest::collection::vec(prop_oneof![Just(0u8), Just(255), 100u8..104, any::<u8>()], w * h);
            (Just(w), Just(h), px)
        })
    }

    proptest! {
        #[test]
        fn wide_images_match_the_exact_sequence((w, h, px) in wide_image()) {
            let (mut a, mut b) = (vec![0; w * h], vec![0; w * h]);
            bilateral(&px, w, h, &mut a);
            bilateral_exact(&px, w, h, &mut b);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn matches_the_exact_sequence((w, h, px) in image()) {
            let (mut a, mut b) = (vec![0; w * h], vec![0; w * h]);
            bilateral(&px, w, h, &mut a);
            bilateral_exact(&px, w, h, &mut b);
            prop_assert_eq!(a, b);
        }
    }
}
