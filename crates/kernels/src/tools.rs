//! The region tools of §3.1–§3.4 and the polygon fill, with the checks and
//! messages of the reference (`mstudio.extraction` behind the glue's
//! prelude), so callers see the same answers whichever path ran.

use crate::runs::Band;
use crate::{bilateral, closing, gaussian, lightness, otsu, polygon, runs};

/// Why a tool refused its input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolError {
    /// Malformed input (sizes, values, coordinates) or not enough memory.
    InvalidInput(String),
    /// Valid input on which the operation is undefined.
    Unsupported(String),
}

/// Pixels handed to a tool: `width`×`height`, row by row (four bytes per
/// pixel for an RGBA image, one for a mask).
#[derive(Clone, Copy, Debug)]
pub struct Image<'a> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The pixels, row by row.
    pub pixels: &'a [u8],
}

/// A tool's 0/1 mask, one byte per pixel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height` bytes, each 0 or 1, row by row.
    pub pixels: Vec<u8>,
}

/// The largest array the sandbox's numpy can make (the reference's limit).
const MAX_ARRAY_BYTES: u64 = (1 << 31) - 1;

/// Checks the size of `image` (`what` names it in messages); returns
/// `(width, height)`.
fn dims(image: &Image<'_>, channels: u64, what: &str) -> Result<(usize, usize), ToolError> {
    let (w, h) = (image.width, image.height);
    if w == 0 || h == 0 {
        return Err(ToolError::InvalidInput(format!("the {what} is empty ({w}x{h})")));
    }
    let expected = u128::from(w) * u128::from(h) * u128::from(channels);
    if image.pixels.len() as u128 != expected {
        return Err(ToolError::InvalidInput(format!(
            "the {what} is {w}x{h}, so it needs {expected} bytes of pixels, but {} were given",
            image.pixels.len()
        )));
    }
    Ok((w as usize, h as usize))
}

/// A zeroed buffer of `n` values, or the reference's answer to a `MemoryError`.
pub(crate) fn zeroed<T: Copy + Default>(n: usize) -> Result<Vec<T>, ToolError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        ToolError::InvalidInput(format!(
            "not enough memory in the sandbox for this input (raise the memory limit): cannot allocate {} bytes",
            n.saturating_mul(size_of::<T>())
        ))
    })?;
    v.resize(n, T::default());
    Ok(v)
}

/// Refuses a mask holding anything but 0 and 1 (`op: mask must hold …`).
fn check_binary(op: &str, pixels: &[u8]) -> Result<(), ToolError> {
    let max = max_value(pixels);
    if max > 1 {
        return Err(ToolError::InvalidInput(format!("{op}: mask must hold only 0 and 1, found value {max}")));
    }
    Ok(())
}

fn max_value(pixels: &[u8]) -> u8 {
    use crate::simd::U8x16;
    let mut chunks = pixels.chunks_exact(16);
    let mut acc = U8x16::splat(0);
    for c in &mut chunks {
        acc = acc.max(U8x16::load(c));
    }
    chunks.remainder().iter().fold(acc.max_lane(), |m, &v| m.max(v))
}

fn mask(w: usize, h: usize, pixels: Vec<u8>) -> Mask {
    Mask { width: w as u32, height: h as u32, pixels }
}

/// §3.1 "Binarize region": lightness → bilateral filter → Otsu threshold
/// `t` → ink where the filtered value is ≤ `t`.
///
/// # Errors
/// An empty image, a pixel count that does not match its size, not enough memory.
pub fn otsu_binarize_region(image: Image<'_>) -> Result<Mask, ToolError> {
    let (w, h) = dims(&image, 4, "image")?;
    let mut lum = zeroed(w * h)?;
    let mut filtered = zeroed(w * h)?;
    lightness::lightness(image.pixels, &mut lum);
    bilateral::bilateral(&lum, w, h, &mut filtered);
    drop(lum);
    let t = otsu::threshold(&otsu::histogram(&filtered));
    ink_at_most(&mut filtered, t);
    Ok(mask(w, h, filtered))
}

/// In place: 1 where the value is ≤ `t`, else 0.
fn ink_at_most(pixels: &mut [u8], t: u8) {
    use crate::simd::U8x16;
    let limit = U8x16::splat(t);
    let mut chunks = pixels.chunks_exact_mut(16);
    for c in &mut chunks {
        U8x16::load(c).le_01(limit).store(c);
    }
    for v in chunks.into_remainder() {
        *v = u8::from(*v <= t);
    }
}

/// §3.2 "Stafflines": lightness → closing with a 50×1 rectangle `E` →
/// Gaussian local mean `μ` (block 101) → ink where `E ≤ μ − 10`.
///
/// # Errors
/// As [`otsu_binarize_region`].
pub fn detect_stafflines(image: Image<'_>) -> Result<Mask, ToolError> {
    let (w, h) = dims(&image, 4, "image")?;
    let mut lum = zeroed(w * h)?;
    let mut closed = zeroed(w * h)?;
    lightness::lightness(image.pixels, &mut lum);
    closing::horizontal_closing(&lum, w, h, closing::LENGTH, &mut closed);
    // the ink goes where the lightness was
    gaussian::stafflines_ink(&closed, w, h, &mut lum)?;
    Ok(mask(w, h, lum))
}

/// §3.3: the cut polylines between the lines of a 0/1 mask.
///
/// # Errors
/// A malformed or non-binary mask; [`ToolError::Unsupported`] when no sampled
/// column has two runs.
pub fn compute_cut_lines(m: Image<'_>) -> Result<Vec<Vec<(i32, i32)>>, ToolError> {
    let (w, _) = dims(&m, 1, "mask")?;
    check_binary("compute_cut_lines", m.pixels)?;
    runs::compute_cut_lines(m.pixels, w)
}

/// §3.4: the bands of a 0/1 mask at `(left, top)` along `cut_lines`.
///
/// # Errors
/// A malformed or non-binary mask, points beyond ±2²⁰.
pub fn separate_lines(
    left: i32,
    top: i32,
    m: Image<'_>,
    cut_lines: &[Vec<(i32, i32)>],
) -> Result<Vec<Band>, ToolError> {
    let (w, h) = dims(&m, 1, "mask")?;
    check_binary("separate_lines", m.pixels)?;
    runs::separate_lines(i64::from(left), i64::from(top), m.pixels, w, h, cut_lines)
}

/// A `width`×`height` mask with the polygon filled (§2.7).
///
/// # Errors
/// An empty or too large mask, points beyond ±2²⁰, not enough memory.
pub fn fill_polygon(width: u32, height: u32, points: &[(i32, i32)]) -> Result<Mask, ToolError> {
    if width == 0 || height == 0 {
        return Err(ToolError::InvalidInput(format!("the mask is empty ({width}x{height})")));
    }
    if u64::from(width) * u64::from(height) > MAX_ARRAY_BYTES {
        return Err(ToolError::InvalidInput(format!(
            "a {width}x{height} mask does not fit in the sandbox (at most {MAX_ARRAY_BYTES} pixels)"
        )));
    }
    let (w, h) = (width as usize, height as usize);
    polygon::check_points(points)?;
    let mut out = zeroed(w * h)?;
    polygon::fill_poly(w, h, points, &mut out)?;
    Ok(mask(w, h, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(width: u32, height: u32, pixels: &[u8]) -> Image<'_> {
        Image { width, height, pixels }
    }

    #[test]
    fn sizes_are_checked_with_the_reference_messages() {
        let e = otsu_binarize_region(img(10, 10, &[0; 399])).unwrap_err();
        assert_eq!(
            e,
            ToolError::InvalidInput("the image is 10x10, so it needs 400 bytes of pixels, but 399 were given".into())
        );
        let e = detect_stafflines(img(0, 3, &[])).unwrap_err();
        assert_eq!(e, ToolError::InvalidInput("the image is empty (0x3)".into()));
        let e = otsu_binarize_region(img(u32::MAX, u32::MAX, &[0; 4])).unwrap_err();
        assert!(matches!(e, ToolError::InvalidInput(m) if m.contains("73786976260478468100 bytes")));
        let e = compute_cut_lines(img(5, 5, &[1; 3])).unwrap_err();
        assert_eq!(
            e,
            ToolError::InvalidInput("the mask is 5x5, so it needs 25 bytes of pixels, but 3 were given".into())
        );
        let e = compute_cut_lines(img(3, 3, &[0, 1, 2, 0, 1, 0, 0, 1, 0])).unwrap_err();
        assert_eq!(e, ToolError::InvalidInput("compute_cut_lines: mask must hold only 0 and 1, found value 2".into()));
        let e = fill_polygon(65536, 65536, &[(0, 0)]).unwrap_err();
        assert_eq!(
            e,
            ToolError::InvalidInput(
                "a 65536x65536 mask does not fit in the sandbox (at most 2147483647 pixels)".into()
            )
        );
    }

    #[test]
    fn a_dark_rectangle_on_white() {
        let (w, h) = (40usize, 30usize);
        let mut px = vec![255u8; w * h * 4];
        for y in 10..20 {
            for x in 5..25 {
                px[(y * w + x) * 4..(y * w + x) * 4 + 3].fill(10);
            }
        }
        let m = otsu_binarize_region(img(w as u32, h as u32, &px)).unwrap();
        assert_eq!(m.pixels.iter().filter(|&&v| v == 1).count(), 200);
        assert_eq!(m.pixels[15 * w + 10], 1);
    }

    #[test]
    fn the_threshold_covers_every_byte() {
        let mut v: Vec<u8> = (0..=40).collect();
        ink_at_most(&mut v, 20);
        assert_eq!(v.iter().filter(|&&b| b == 1).count(), 21);
        assert_eq!(max_value(&[0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]), 3);
    }
}
