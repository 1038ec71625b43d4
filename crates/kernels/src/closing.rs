//! Grayscale closing with a horizontal `length`×1 rectangle: OpenCV's
//! `dilate` then `erode` with the default anchor (`length / 2`) and border
//! (§2.3). For 50 the window of pixel `x` is `[x − 25, x + 24]`, clipped to
//! the row.

use crate::simd::U8x16;

/// The stafflines tool's rectangle width.
pub const LENGTH: usize = 50;

/// Max (dilation) or min (erosion), with the value that leaves the other
/// side unchanged (what the clipped border amounts to).
trait Extreme {
    const IDENTITY: u8;
    fn vec(a: U8x16, b: U8x16) -> U8x16;
}

struct Max;
struct Min;

impl Extreme for Max {
    const IDENTITY: u8 = 0;
    #[inline(always)]
    fn vec(a: U8x16, b: U8x16) -> U8x16 {
        a.max(b)
    }
}

impl Extreme for Min {
    const IDENTITY: u8 = 255;
    #[inline(always)]
    fn vec(a: U8x16, b: U8x16) -> U8x16 {
        a.min(b)
    }
}

/// Scratch of one row: the padded row and the result, with vector slack.
struct Rows {
    pad: Vec<u8>,
    out: Vec<u8>,
}

/// `out[x] = op{ row[x'] : x' ∈ [x − before, x + after] }` (clipped), by
/// doubling: windows of 1, 2, 4, … computed in place, the window of `size`
/// put together from the powers of two its binary form names.
fn window<E: Extreme>(row: &[u8], before: usize, after: usize, s: &mut Rows) {
    let w = row.len();
    let size = before + after + 1;
    let len = w + size - 1;
    s.pad.clear();
    s.pad.resize(len + 16, E::IDENTITY);
    s.pad[before..before + w].copy_from_slice(row);
    s.out.clear();
    s.out.resize(w + 16, E::IDENTITY);
    let (pad, out) = (&mut s.pad, &mut s.out);
    let mut pos = 0;
    let mut span = 1;
    loop {
        // pad[i] is now op over [i, i + span)
        if size & span != 0 {
            let mut x = 0;
            while x < w {
                E::vec(U8x16::load(&out[x..]), U8x16::load(&pad[pos + x..])).store(&mut out[x..]);
                x += 16;
            }
            pos += span;
        }
        if span * 2 > size {
            break;
        }
        let valid = len + 1 - 2 * span;
        let mut i = 0;
        while i < valid {
            E::vec(U8x16::load(&pad[i..]), U8x16::load(&pad[i + span..])).store(&mut pad[i..]);
            i += 16;
        }
        span *= 2;
    }
}

/// Closing of a `w`×`h` image with a `length`×1 rectangle into `out`.
///
/// # Panics
/// If `length` is 0 or the slices are not `w·h` long.
pub fn horizontal_closing(src: &[u8], w: usize, h: usize, length: usize, out: &mut [u8]) {
    assert!(length > 0, "an empty rectangle");
    assert_eq!(src.len(), w * h, "the image is not {w}×{h}");
    assert_eq!(out.len(), w * h, "the output is not {w}×{h}");
    let before = length / 2;
    let after = length - 1 - before;
    let mut s = Rows { pad: Vec::new(), out: Vec::new() };
    let mut dilated = vec![0u8; w];
    for (row, dst) in src.chunks_exact(w.max(1)).zip(out.chunks_exact_mut(w.max(1))) {
        window::<Max>(row, before, after, &mut s);
        dilated.copy_from_slice(&s.out[..w]);
        window::<Min>(&dilated, before, after, &mut s);
        dst.copy_from_slice(&s.out[..w]);
    }
}

/// The closing computed pixel by pixel from its definition (slow; what
/// [`horizontal_closing`] is tested against).
pub fn horizontal_closing_exact(src: &[u8], w: usize, h: usize, length: usize, out: &mut [u8]) {
    let before = length / 2;
    let after = length - 1 - before;
    let win = |x: usize| x.saturating_sub(before)..(x + after + 1).min(w);
    let mut d = vec![0u8; w];
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        for x in 0..w {
            d[x] = row[win(x)].iter().copied().max().unwrap();
        }
        for x in 0..w {
            out[y * w + x] = d[win(x)].iter().copied().min().unwrap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_the_definition(
            (w, h, px) in (1usize..140, 1usize..5).prop_flat_map(|(w, h)| {
                (Just(w), Just(h), proptest::collection::vec(any::<u8>(), w * h))
            }),
            length in prop_oneof![Just(LENGTH), 1usize..70],
        ) {
            let (mut a, mut b) = (vec![0; w * h], vec![0; w * h]);
            horizontal_closing(&px, w, h, length, &mut a);
            horizontal_closing_exact(&px, w, h, length, &mut b);
            prop_assert_eq!(a, b);
        }
    }
}
