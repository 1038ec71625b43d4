//! The L channel of OpenCV's `COLOR_RGB2HLS` (§2.1).

/// `f32(1/255)`: the float64 quotient rounded, as the reference makes it.
const K: f32 = (1.0f64 / 255.0) as f32;

/// L of one pixel whose largest and smallest of R, G, B are `max` and `min`:
/// `rne(f32(f32(f32(f32(max·k) + f32(min·k)) · 0.5) · 255))`, every step
/// rounded to float32 (shortcuts such as `(max + min + 1) / 2` differ).
#[inline]
pub fn lightness_of(max: u8, min: u8) -> u8 {
    let s = f32::from(max) * K + f32::from(min) * K;
    ((s * 0.5) * 255.0).round_ties_even() as u8
}

/// L of every pixel of an RGBA image (4 bytes per pixel, alpha ignored)
/// into `out` (one byte per pixel).
///
/// # Panics
/// If `rgba` does not hold exactly four bytes per byte of `out`.
pub fn lightness(rgba: &[u8], out: &mut [u8]) {
    assert_eq!(rgba.len(), out.len() * 4, "an RGBA image has four bytes per pixel");
    let done = vector::lightness16(rgba, out);
    for (px, l) in rgba[4 * done..].chunks_exact(4).zip(&mut out[done..]) {
        let (r, g, b) = (px[0], px[1], px[2]);
        *l = lightness_of(r.max(g).max(b), r.min(g).min(b));
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod vector {
    use core::arch::wasm32::*;

    /// Sixteen pixels at a time; returns how many pixels it did.
    pub(super) fn lightness16(rgba: &[u8], out: &mut [u8]) -> usize {
        let k = f32x4_splat(super::K);
        let half = f32x4_splat(0.5);
        let full = f32x4_splat(255.0);
        let low = u32x4_splat(0xff);
        let mut n = 0;
        for (src, dst) in rgba.chunks_exact(64).zip(out.chunks_exact_mut(16)) {
            let mut l = [u32x4_splat(0); 4];
            for (j, l) in l.iter_mut().enumerate() {
                // SAFETY: 16 of the chunk's 64 bytes; wasm loads need no alignment.
                let v = unsafe { v128_load(src[16 * j..16 * j + 16].as_ptr().cast()) };
                // byte 0 of each pixel's lane: R, then G, then B
                let (g, b) = (u32x4_shr(v, 8), u32x4_shr(v, 16));
                let mx = f32x4_convert_i32x4(v128_and(u8x16_max(u8x16_max(v, g), b), low));
                let mn = f32x4_convert_i32x4(v128_and(u8x16_min(u8x16_min(v, g), b), low));
                let s = f32x4_add(f32x4_mul(mx, k), f32x4_mul(mn, k));
                *l = i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(f32x4_mul(s, half), full)));
            }
            let bytes = u8x16_narrow_i16x8(i16x8_narrow_i32x4(l[0], l[1]), i16x8_narrow_i32x4(l[2], l[3]));
            // SAFETY: the chunk holds 16 bytes.
            unsafe { v128_store(dst.as_mut_ptr().cast(), bytes) };
            n += 16;
        }
        n
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod vector {
    /// The plain loop does every pixel.
    pub(super) fn lightness16(_rgba: &[u8], _out: &mut [u8]) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert_eq!(lightness_of(0, 0), 0);
        assert_eq!(lightness_of(255, 255), 255);
        assert_eq!(lightness_of(255, 0), 128);
        // where the integer shortcut (max + min + 1) / 2 is wrong
        let wrong = (0..=255u16)
            .flat_map(|a| (0..=a).map(move |b| (a, b)))
            .filter(|&(a, b)| u16::from(lightness_of(a as u8, b as u8)) != (a + b).div_ceil(2))
            .count();
        assert!(wrong > 0);
    }

    #[test]
    fn every_pair_of_extremes_in_every_channel_order() {
        let mut rgba = Vec::with_capacity(3 * 256 * 256 * 4);
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                rgba.extend([a, b, b, 7, b, a, b, 0, b, b, a, 255]);
            }
        }
        let mut out = vec![0; rgba.len() / 4];
        lightness(&rgba, &mut out);
        for (i, l) in out.iter().enumerate() {
            let (a, b) = ((i / 3 / 256) as u8, (i / 3 % 256) as u8);
            assert_eq!(*l, lightness_of(a.max(b), a.min(b)), "pixel {i}");
        }
    }

    proptest! {
        #[test]
        fn every_pixel_follows_the_definition(px in proptest::collection::vec(any::<u8>(), 0..400)) {
            let n = px.len() / 4;
            let rgba = &px[..4 * n];
            let mut out = vec![0; n];
            lightness(rgba, &mut out);
            for (p, l) in rgba.chunks_exact(4).zip(&out) {
                let (mx, mn) = (p[0].max(p[1]).max(p[2]), p[0].min(p[1]).min(p[2]));
                prop_assert_eq!(*l, lightness_of(mx, mn));
            }
        }
    }
}
