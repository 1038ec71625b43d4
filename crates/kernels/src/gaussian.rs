//! The local mean of OpenCV's `adaptiveThreshold(…, ADAPTIVE_THRESH_GAUSSIAN_C,
//! blockSize=101)` (§2.4): float32 `GaussianBlur(101×101, σ=0,
//! BORDER_REPLICATE)` with OpenCV 4.10's fused AVX2 arithmetic, back to 8 bits
//! with `rne` and saturation; and the stafflines tool's decision on it (§3.2).
//!
//! The exact sequence: per row `R = Σᵢ fma(src[clamp(x+i−50)], kᵢ, ·)` for
//! `i = 0…100` (skipped when the width is 1); per column
//! `S = fma(R[y], k₅₀, 0)`, then `S = fma(f32(R[y+t] + R[y−t]), k₅₀₊ₜ, S)` for
//! `t = 1…50`, rows clamped (skipped when the height is 1).
//!
//! The fast path computes a float32 estimate `V'` of the same separable
//! filter with symmetric pair sums (vectorised), and bounds its distance from
//! `S`: all terms are non-negative; `S` is within `152u'·V` of the exact real
//! value `V` (101 + 51 roundings per term), the estimate within `103u'·V`
//! (51 + 52), so `|V' − S| ≤ 260·2⁻²⁴·V'` with room to spare. Only pixels
//! whose outcome that interval leaves open get the exact sequence, and the
//! horizontal results they share are computed once per column.

use std::ops::Range;
use std::sync::OnceLock;

use crate::simd::{F32x4, U8x16};
use crate::{ToolError, fma32};

/// Kernel size and radius.
pub const SIZE: usize = 101;
const R: usize = SIZE / 2;

/// `|V' − S| ≤ REL·V' + ABS` (ABS also covers the float32 rounding of the
/// screening subtraction, at most 265·2⁻²⁴).
const REL: f32 = 260.0 / 16_777_216.0;
const ABS: f32 = 3e-5;

/// The float32 kernel: `gᵢ = exp(−(i−50)²/(2σ²))`, `σ = 15.5`, normalised in
/// float64 (numpy's pairwise sum, as the reference) and rounded; equal to
/// `getGaussianKernel(101, 0, CV_32F)`.
pub fn kernel() -> &'static [f32; SIZE] {
    static K: OnceLock<[f32; SIZE]> = OnceLock::new();
    K.get_or_init(|| {
        let g = raw_kernel();
        let sum = pairwise_sum(&g);
        g.map(|v| (v / sum) as f32)
    })
}

fn raw_kernel() -> [f64; SIZE] {
    let sigma = 0.3 * ((SIZE as f64 - 1.0) * 0.5 - 1.0) + 0.8;
    core::array::from_fn(|i| {
        let x = i as f64 - (SIZE as f64 - 1.0) * 0.5;
        (-(x * x) / (2.0 * sigma * sigma)).exp()
    })
}

/// numpy's summation of fewer than 128 float64 values: eight running sums.
fn pairwise_sum(a: &[f64]) -> f64 {
    if a.len() < 8 {
        return a.iter().sum();
    }
    let mut r: [f64; 8] = a[..8].try_into().unwrap();
    let whole = a.len() - a.len() % 8;
    for block in a[8..whole].chunks_exact(8) {
        for (r, v) in r.iter_mut().zip(block) {
            *r += v;
        }
    }
    let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for v in &a[whole..] {
        res += v;
    }
    res
}

fn check(src: &[u8], w: usize, h: usize, out: &[u8]) {
    assert!(w > 0 && h > 0, "an empty image");
    assert_eq!(src.len(), w * h, "the image is not {w}×{h}");
    assert_eq!(out.len(), w * h, "the output is not {w}×{h}");
}

/// Columns of one vector block: four float32 vectors.
const BLOCK: usize = 16;

/// `k₅₀·c + Σₜ k₅₀₊ₜ·(c₋ₜ + c₊ₜ)` for the 16 lanes at element `R` of a
/// line of elements `S` floats apart that starts at `q`: lane group `j`
/// reads floats `q + e·S + 4j`.
///
/// Shaped for the wasm compilers: every address is `q` plus a constant (the
/// fifty taps are written out), so loads take immediate offsets where a loop
/// over `t` recomputed each address; and the loads and stores are volatile,
/// which keeps each tap's loads beside its arithmetic (otherwise LLVM issues
/// all 400 loads first and Cranelift spills them to the stack). The stores to
/// `sink` exist for that ordering only.
///
/// # Safety
/// `q .. q + 2R·S + 16` is readable.
#[inline(always)]
unsafe fn taps<const S: usize>(q: *const f32, ks: &[F32x4; R + 1]) -> [F32x4; 4] {
    // SAFETY (every load): offsets stay below 2R·S + 16, which the caller
    // keeps readable.
    let mut a: [F32x4; 4] = core::array::from_fn(|j| ks[0].mul(unsafe { F32x4::load_ptr(q.add(R * S + 4 * j)) }));
    let mut sink = a;
    macro_rules! tap {
        ($t:literal) => {
            for j in 0..4 {
                let (lo, hi) = unsafe {
                    (
                        F32x4::load_volatile(q.add((R - $t) * S + 4 * j)),
                        F32x4::load_volatile(q.add((R + $t) * S + 4 * j)),
                    )
                };
                a[j] = a[j].add(ks[$t].mul(lo.add(hi)));
                // SAFETY: a local.
                unsafe { core::ptr::write_volatile(&mut sink[j], a[j]) };
            }
        };
    }
    macro_rules! taps {
        ($($t:literal)*) => { $( tap!($t); )* };
    }
    taps!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50);
    a
}

/// The estimate `V'` of every pixel, as columns of 16: the horizontal pass
/// goes into a plane laid out block by block (each block's rows, with R
/// replicated rows above and below, are contiguous), so the vertical pass
/// reads each block like a line.
struct Estimate<'a> {
    src: &'a [u8],
    w: usize,
    h: usize,
    /// `kᵢ` for `i = 50…100`, splatted.
    ks: [F32x4; R + 1],
    /// Block `b`, padded row `r` (image row `r − R`) at `(b·(h + 2R) + r)·16`.
    plane: Vec<f32>,
}

impl<'a> Estimate<'a> {
    fn new(src: &'a [u8], w: usize, h: usize) -> Result<Estimate<'a>, ToolError> {
        let blocks = w.div_ceil(BLOCK);
        let rows = if h == 1 { 1 } else { h + 2 * R };
        let mut e = Estimate {
            src,
            w,
            h,
            ks: core::array::from_fn(|t| F32x4::splat(kernel()[R + t])),
            plane: crate::tools::zeroed(blocks * rows * BLOCK)?,
        };
        e.horizontal();
        Ok(e)
    }

    fn rows(&self) -> usize {
        if self.h == 1 { 1 } else { self.h + 2 * R }
    }

    /// The horizontal pass of every row (a copy when the width is 1), and
    /// the replicated rows above and below.
    fn horizontal(&mut self) {
        let (w, h, rows) = (self.w, self.h, self.rows());
        let top = if h == 1 { 0 } else { R };
        let blocks = w.div_ceil(BLOCK);
        // the row with its replicated border, as floats
        let mut line = vec![0f32; blocks * BLOCK + 2 * R];
        for y in 0..h {
            let row = &self.src[y * w..(y + 1) * w];
            for b in 0..blocks {
                let at = (b * rows + top + y) * BLOCK;
                if w == 1 {
                    self.plane[at] = f32::from(row[0]);
                    continue;
                }
                if b == 0 {
                    for (j, l) in line.iter_mut().enumerate() {
                        *l = f32::from(row[j.saturating_sub(R).min(w - 1)]);
                    }
                }
                // SAFETY: line[b·16 .. b·16 + 2R + 16] is in bounds.
                let a = unsafe { taps::<1>(line.as_ptr().add(b * BLOCK), &self.ks) };
                for (j, a) in a.iter().enumerate() {
                    a.store(&mut self.plane[at + 4 * j..]);
                }
            }
        }
        if h == 1 {
            return;
        }
        for b in 0..blocks {
            let strip = &mut self.plane[b * rows * BLOCK..(b + 1) * rows * BLOCK];
            let (first, last) = (R * BLOCK, (R + h - 1) * BLOCK);
            for r in 0..R {
                strip.copy_within(first..first + BLOCK, r * BLOCK);
                strip.copy_within(last..last + BLOCK, (R + h + r) * BLOCK);
            }
        }
    }

    /// `V'` of image row `y` in block `b` (16 columns from `16·b`; lanes past
    /// the width are meaningless).
    #[inline]
    fn at(&self, b: usize, y: usize) -> [F32x4; 4] {
        let rows = self.rows();
        let strip = &self.plane[b * rows * BLOCK..(b + 1) * rows * BLOCK];
        if self.h == 1 {
            return core::array::from_fn(|j| F32x4::load(&strip[4 * j..]));
        }
        // padded rows y ..= y + 2R, whose middle is image row y
        assert!((y + 2 * R + 1) * BLOCK <= strip.len());
        // SAFETY: asserted just above.
        unsafe { taps::<BLOCK>(strip.as_ptr().add(y * BLOCK), &self.ks) }
    }
}

/// The exact float32 result `S` at chosen pixels, sharing the horizontal
/// results of each column.
struct Exact<'a> {
    src: &'a [u8],
    w: usize,
    h: usize,
    k64: [f64; SIZE],
    /// Exact horizontal results of the current column; NaN where not made.
    column: Vec<f32>,
}

impl<'a> Exact<'a> {
    fn new(src: &'a [u8], w: usize, h: usize) -> Exact<'a> {
        Exact { src, w, h, k64: kernel().map(f64::from), column: vec![f32::NAN; h] }
    }

    /// `R` at `(x, y)`. Every partial sum `uint8·kᵢ + s` is a multiple of
    /// `ulp(min k)` below 2⁹, so float64 holds it exactly and one rounding
    /// to float32 is the fused result.
    fn horizontal(&self, x: usize, y: usize) -> f32 {
        let row = &self.src[y * self.w..(y + 1) * self.w];
        if self.w == 1 {
            return f32::from(row[0]);
        }
        let mut s = 0f32;
        for (i, &k) in self.k64.iter().enumerate() {
            let v = row[(x + i).saturating_sub(R).min(self.w - 1)];
            s = (f64::from(v) * k + f64::from(s)) as f32;
        }
        s
    }

    /// Prepares column `x` for the pixels of rows `ys` (ascending).
    fn prepare(&mut self, x: usize, ys: &[usize]) {
        self.column.fill(f32::NAN);
        let mut done = 0;
        for &y in ys {
            let rows: Range<usize> =
                if self.h == 1 { y..y + 1 } else { y.saturating_sub(R).max(done)..(y + R + 1).min(self.h) };
            for yy in rows.clone() {
                self.column[yy] = self.horizontal(x, yy);
            }
            done = done.max(rows.end);
        }
    }

    /// `S` at `(x, y)` of the prepared column.
    fn at(&self, y: usize) -> f32 {
        let r = &self.column;
        if self.h == 1 {
            return r[y];
        }
        let mut s = (f64::from(r[y]) * self.k64[R]) as f32;
        for t in 1..=R {
            let p = r[(y + t).min(self.h - 1)] + r[y.saturating_sub(t)];
            s = fma32(p, kernel()[R + t], s);
        }
        s
    }

    /// Runs `f(x, y, S)` for every pixel of `pixels` (flat indices, any order).
    fn each(&mut self, mut pixels: Vec<usize>, mut f: impl FnMut(usize, usize, f32)) {
        pixels.sort_unstable_by_key(|&p| (p % self.w, p / self.w));
        let mut i = 0;
        while i < pixels.len() {
            let x = pixels[i] % self.w;
            let n = pixels[i..].iter().take_while(|&&p| p % self.w == x).count();
            let ys: Vec<usize> = pixels[i..i + n].iter().map(|&p| p / self.w).collect();
            self.prepare(x, &ys);
            for &y in &ys {
                f(x, y, self.at(y));
            }
            i += n;
        }
    }
}

fn to_u8(s: f32) -> u8 {
    s.round_ties_even().clamp(0.0, 255.0) as u8
}

/// The local mean `μ` of every pixel of a `w`×`h` image into `out`,
/// bit-identical to OpenCV.
///
/// # Errors
/// Not enough memory for the float plane (4 bytes per pixel, plus 100 rows).
///
/// # Panics
/// If the image is empty or the slices are not `w·h` long.
pub fn local_mean(src: &[u8], w: usize, h: usize, out: &mut [u8]) -> Result<(), ToolError> {
    check(src, w, h, out);
    if w == 1 && h == 1 {
        out[0] = src[0];
        return Ok(());
    }
    let est = Estimate::new(src, w, h)?;
    let mut unsure = Vec::new();
    for b in 0..w.div_ceil(BLOCK) {
        let x0 = b * BLOCK;
        for y in 0..h {
            let v = est.at(b, y);
            for (x, e) in (x0..w.min(x0 + BLOCK)).zip(v.iter().flat_map(|v| v.to_lanes())) {
                let r = e.round_ties_even();
                if (e - r).abs() >= 0.5 - (REL * e + ABS) {
                    unsure.push(y * w + x);
                }
                out[y * w + x] = to_u8(r);
            }
        }
    }
    Exact::new(src, w, h).each(unsure, |x, y, s| out[y * w + x] = to_u8(s));
    Ok(())
}

/// The local mean computed pixel by pixel with the exact sequence (slow;
/// what [`local_mean`] is tested against).
pub fn local_mean_exact(src: &[u8], w: usize, h: usize, out: &mut [u8]) {
    check(src, w, h, out);
    if w == 1 && h == 1 {
        out[0] = src[0];
        return;
    }
    let all = (0..w * h).collect();
    Exact::new(src, w, h).each(all, |x, y, s| out[y * w + x] = to_u8(s));
}

/// Ink of the stafflines tool (§3.2): 1 where `E ≤ μ − 10`, `μ` the local
/// mean of the closed image `E`, else 0.
///
/// `μ ≥ E + 10` exactly when `S > E + 9.5` (or equals it and rounds up), so
/// the estimate decides every pixel farther than its bound from `E + 9.5`.
///
/// # Errors
/// As [`local_mean`].
///
/// # Panics
/// If the image is empty or the slices are not `w·h` long.
pub fn stafflines_ink(closed: &[u8], w: usize, h: usize, out: &mut [u8]) -> Result<(), ToolError> {
    check(closed, w, h, out);
    if w == 1 && h == 1 {
        out[0] = 0; // μ = E
        return Ok(());
    }
    let est = Estimate::new(closed, w, h)?;
    let mut unsure = Vec::new();
    let (rel, abs, offset) = (F32x4::splat(REL), F32x4::splat(ABS), F32x4::splat(9.5));
    let zero = F32x4::splat(0.0);
    let mut e = [0u8; BLOCK];
    for b in 0..w.div_ceil(BLOCK) {
        let x0 = b * BLOCK;
        let n = (w - x0).min(BLOCK);
        let lanes = (1u32 << n) - 1;
        for y in 0..h {
            let at = y * w + x0;
            e[..n].copy_from_slice(&closed[at..at + n]);
            // bit k: column x0 + k is surely ink, surely not, or E ≥ 246 (never ink)
            let (mut ink, mut clear) = (0u32, 0u32);
            for (j, v) in est.at(b, y).into_iter().enumerate() {
                let d = v.sub(F32x4::from_u8(&e[4 * j..]).add(offset));
                let bound = rel.mul(v).add(abs);
                ink |= d.gt_mask(bound) << (4 * j);
                clear |= zero.sub(d).gt_mask(bound) << (4 * j);
            }
            clear |= U8x16::load(&e).ge_bits(U8x16::splat(246));
            for (k, o) in out[at..at + n].iter_mut().enumerate() {
                *o = (ink >> k & 1) as u8;
            }
            let mut open = !(ink | clear) & lanes;
            while open != 0 {
                unsure.push(at + open.trailing_zeros() as usize);
                open &= open - 1;
            }
        }
    }
    Exact::new(closed, w, h).each(unsure, |x, y, s| {
        out[y * w + x] = u8::from(i16::from(closed[y * w + x]) <= i16::from(to_u8(s)) - 10);
    });
    Ok(())
}

/// The stafflines decision from the exact local mean of every pixel (slow;
/// what [`stafflines_ink`] is tested against).
pub fn stafflines_ink_exact(closed: &[u8], w: usize, h: usize, out: &mut [u8]) {
    local_mean_exact(closed, w, h, out);
    for (o, &e) in out.iter_mut().zip(closed) {
        *o = u8::from(i16::from(e) <= i16::from(*o) - 10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_kernel_is_normalised_symmetric_and_exact_in_float64() {
        let k = kernel();
        for i in 0..SIZE {
            assert_eq!(k[i], k[SIZE - 1 - i]);
        }
        let sum: f64 = k.iter().map(|&v| f64::from(v)).sum();
        assert!((sum - 1.0).abs() < 1e-6, "{sum}");
        // the premise of `Exact::horizontal`: 9 bits above ulp(min k) fit
        let min = k.iter().copied().fold(f32::INFINITY, f32::min);
        let e = min.log2().floor() as i32;
        assert!(9 - (e - 23) <= 53, "min k = {min}");
        // the rounding to float32 does not depend on how the sum was added
        let g = raw_kernel();
        let plain: f64 = g.iter().sum();
        assert_eq!(g.map(|v| (v / plain) as f32), *k);
    }

    /// A random image with smooth parts and edges, so that many pixels sit
    /// near the decision boundaries.
    fn image() -> impl Strategy<Value = (usize, usize, Vec<u8>)> {
        (1usize..70, 1usize..70, any::<u64>()).prop_map(|(w, h, seed)| {
            let mut s = seed | 1;
            let mut next = move || {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s
            };
            let base = (next() % 256) as i32;
            let px = (0..w * h)
                .map(|i| {
                    let (x, y) = ((i % w) as i32, (i / w) as i32);
                    let stripe = if (y / 3) % 4 == 0 { -60 } else { 0 };
                    (base + stripe + (x + y) % 7 + (next() % 9) as i32 - 4).clamp(0, 255) as u8
                })
                .collect();
            (w, h, px)
        })
    }

    #[test]
    fn taller_than_the_kernel() {
        // more rows than the ring holds, and a width that is no whole vector
        let (w, h) = (37, 230);
        let mut s = 12345u64;
        let px: Vec<u8> = (0..w * h)
            .map(|i| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let stripe = if (i / w) % 23 < 3 { 40 } else { 200 };
                (stripe + (s >> 60) as usize) as u8
            })
            .collect();
        let (mut a, mut b) = (vec![0; w * h], vec![0; w * h]);
        local_mean(&px, w, h, &mut a).unwrap();
        local_mean_exact(&px, w, h, &mut b);
        assert_eq!(a, b);
        stafflines_ink(&px, w, h, &mut a).unwrap();
        stafflines_ink_exact(&px, w, h, &mut b);
        assert_eq!(a, b);
        assert!(a.contains(&1) && a.contains(&0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn local_mean_matches_the_exact_sequence((w, h, px) in image()) {
            let (mut a, mut b) = (vec![0; w * h], vec![0; w * h]);
            local_mean(&px, w, h, &mut a).unwrap();
            local_mean_exact(&px, w, h, &mut b);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn the_decision_matches_the_exact_sequence((w, h, px) in image()) {
            let (mut a, mut b) = (vec![0; w * h], vec![0; w * h]);
            stafflines_ink(&px, w, h, &mut a).unwrap();
            stafflines_ink_exact(&px, w, h, &mut b);
            prop_assert_eq!(a, b);
        }
    }
}
