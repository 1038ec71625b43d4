//! OpenCV 4.10's `fillPoly(img, [pts], 1)` with `LINE_8` and shift 0 (§2.7):
//! the union of the edges drawn as 8-connected lines (clipped like
//! `clipLine`) and an even-odd scanline fill over 16.16 fixed-point edges.
//! Integer arithmetic throughout, except `clipLine`'s float64 quotients.

use crate::ToolError;

/// Largest coordinate magnitude accepted, so that every fixed-point
/// intermediate fits in 64 bits (`x·2¹⁶·height < 2⁶³`).
pub const COORD_LIMIT: i64 = 1 << 20;

const SHIFT: u32 = 16;
const ONE: i64 = 1 << SHIFT;
const HALF: i64 = ONE >> 1;

/// OpenCV's `clipLine` on `[0, width) × [0, height)`: whether the segment is
/// visible, and its endpoints (moved onto the rectangle where they were
/// outside, whether or not it is visible). Products and quotients in float64,
/// truncated toward zero.
pub fn clip_line(width: i64, height: i64, p1: (i64, i64), p2: (i64, i64)) -> (bool, (i64, i64), (i64, i64)) {
    let ((mut x1, mut y1), (mut x2, mut y2)) = (p1, p2);
    if width <= 0 || height <= 0 {
        return (false, p1, p2);
    }
    let (right, bottom) = (width - 1, height - 1);
    let code = |x: i64, y: i64| {
        i32::from(x < 0) | i32::from(x > right) << 1 | i32::from(y < 0) << 2 | i32::from(y > bottom) << 3
    };
    let step = |a: i64, b: i64, c: i64| ((a as f64) * (b as f64) / (c as f64)) as i64;
    let (mut c1, mut c2) = (code(x1, y1), code(x2, y2));
    if c1 & c2 == 0 && c1 | c2 != 0 {
        if c1 & 12 != 0 {
            let a = if c1 < 8 { 0 } else { bottom };
            x1 += step(a - y1, x2 - x1, y2 - y1);
            y1 = a;
            c1 = code(x1, 0) & 3;
        }
        if c2 & 12 != 0 {
            let a = if c2 < 8 { 0 } else { bottom };
            x2 += step(a - y2, x2 - x1, y2 - y1);
            y2 = a;
            c2 = code(x2, 0) & 3;
        }
        if c1 & c2 == 0 && c1 | c2 != 0 {
            if c1 != 0 {
                let a = if c1 == 1 { 0 } else { right };
                y1 += step(a - x1, y2 - y1, x2 - x1);
                x1 = a;
                c1 = 0;
            }
            if c2 != 0 {
                let a = if c2 == 1 { 0 } else { right };
                y2 += step(a - x2, y2 - y1, x2 - x1);
                x2 = a;
                c2 = 0;
            }
        }
    }
    (c1 | c2 == 0, (x1, y1), (x2, y2))
}

/// The pixels of an 8-connected Bresenham line, in drawing order (no clipping).
pub fn line8(p1: (i64, i64), p2: (i64, i64), mut plot: impl FnMut(i64, i64)) {
    let ((x1, y1), (x2, y2)) = if p2.0 < p1.0 { (p2, p1) } else { (p1, p2) };
    let dx = x2 - x1;
    let sy = if y2 >= y1 { 1 } else { -1 };
    let dy = (y2 - y1).abs();
    let steep = dy > dx;
    let (major, minor) = if steep { (dy, dx) } else { (dx, dy) };
    let mut e = major - 2 * minor;
    let (mut x, mut y) = (x1, y1);
    for _ in 0..=major {
        plot(x, y);
        let m = e < 0;
        e += -2 * minor + if m { 2 * major } else { 0 };
        if steep {
            y += sy;
            x += i64::from(m);
        } else {
            x += 1;
            if m {
                y += sy;
            }
        }
    }
}

/// Refuses coordinates beyond [`COORD_LIMIT`] (the reference's message).
pub fn check_points(points: &[(i32, i32)]) -> Result<(), ToolError> {
    if points.iter().any(|&(x, y)| i64::from(x).abs() > COORD_LIMIT || i64::from(y).abs() > COORD_LIMIT) {
        return Err(ToolError::InvalidInput(format!("fill_poly: point coordinates must lie within +-{COORD_LIMIT}")));
    }
    Ok(())
}

/// One scan edge: rows `ytop..ybot`, x at `ytop` and its step, in 16.16.
struct Edge {
    ytop: i64,
    ybot: i64,
    x: i64,
    dx: i64,
}

/// Sets to 1 the pixels of the polygon `points` in the `width`×`height`
/// image `out` (other pixels are left as they are).
///
/// # Errors
/// Coordinates beyond ±[`COORD_LIMIT`].
///
/// # Panics
/// If `out` is not `width·height` long.
pub fn fill_poly(width: usize, height: usize, points: &[(i32, i32)], out: &mut [u8]) -> Result<(), ToolError> {
    assert_eq!(out.len(), width * height, "the image is not {width}×{height}");
    check_points(points)?;
    let n = points.len();
    if n == 0 || width == 0 || height == 0 {
        return Ok(());
    }
    let (w, h) = (width as i64, height as i64);
    let inside = |(x, y): (i64, i64)| (0..w).contains(&x) && (0..h).contains(&y);
    let mut plot = |x: i64, y: i64| {
        if inside((x, y)) {
            out[(y * w + x) as usize] = 1;
        }
    };
    let mut edges = Vec::with_capacity(n);
    let pt = |i: usize| (i64::from(points[i].0), i64::from(points[i].1));
    let mut prev = pt(n - 1);
    for j in 0..n {
        let (p0, p1) = (prev, pt(j));
        prev = p1;
        let both = inside(p0) && inside(p1);
        // (a) the outline
        let clipped = clip_line(w, h, p0, p1);
        if both {
            line8(p0, p1, &mut plot);
        } else if clipped.0 {
            line8(clipped.1, clipped.2, &mut plot);
        }
        // (b) the scan edge
        let ((x0, y0), (x1, y1)) = (p0, p1);
        if y0 == y1 {
            continue;
        }
        let ((fx0, fy0), (fx1, fy1)) = if both {
            ((x0 * ONE + HALF, y0), (x1 * ONE + HALF, y1))
        } else {
            let (_, (cx0, cy0), (cx1, cy1)) = clipped;
            if cy0 != cy1 { ((cx0 * ONE, cy0), (cx1 * ONE, cy1)) } else { ((x0 * ONE, y0), (x1 * ONE, y1)) }
        };
        // integer division toward zero, as in C
        let dx = (fx1 - fx0) / (fy1 - fy0);
        edges.push(if y0 < y1 {
            Edge { ytop: y0, ybot: y1, x: fx0 + (y0 - fy0) * dx, dx }
        } else {
            Edge { ytop: y1, ybot: y0, x: fx1 + (y1 - fy1) * dx, dx }
        });
    }
    if edges.len() < 2 {
        return Ok(());
    }
    let ylo = edges.iter().map(|e| e.ytop).min().unwrap().max(0);
    let yhi = edges.iter().map(|e| e.ybot).max().unwrap().min(h);
    let mut xs = Vec::new();
    for y in ylo..yhi {
        xs.clear();
        xs.extend(edges.iter().filter(|e| e.ytop <= y && y < e.ybot).map(|e| e.x + (y - e.ytop) * e.dx));
        xs.sort_unstable();
        let row = &mut out[(y * w) as usize..((y + 1) * w) as usize];
        for pair in xs.chunks_exact(2) {
            let (xa, xb) = (pair[0] >> SHIFT, pair[1] >> SHIFT);
            if xa < w && xb >= 0 {
                row[xa.max(0) as usize..=xb.min(w - 1) as usize].fill(1);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_triangle() {
        let mut m = vec![0u8; 4 * 3];
        fill_poly(4, 3, &[(0, 0), (3, 0), (3, 2)], &mut m).unwrap();
        // the outline (3,2)→(0,0) is (0,0) (1,1) (2,1) (3,2); rows 0 and 1 are
        // also filled between the edges, row 2 (every edge's bottom) is not
        assert_eq!(m, [1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1]);
    }

    #[test]
    fn far_points_are_refused() {
        let mut m = vec![0u8; 4];
        let err = fill_poly(2, 2, &[(0, 0), (i32::MAX, 0), (0, 1)], &mut m).unwrap_err();
        assert_eq!(err, ToolError::InvalidInput("fill_poly: point coordinates must lie within +-1048576".into()));
    }

    proptest! {
        /// Line8 by the closed form of the reference's vectorised version:
        /// `c_j = ceil((2·minor·j − major) / (2·major))` minor steps before
        /// pixel `j`.
        #[test]
        fn line8_matches_its_closed_form(x1 in -50i64..50, y1 in -50i64..50, x2 in -50i64..50, y2 in -50i64..50) {
            let mut got = Vec::new();
            line8((x1, y1), (x2, y2), |x, y| got.push((x, y)));
            let ((ax, ay), (bx, by)) = if x2 < x1 { ((x2, y2), (x1, y1)) } else { ((x1, y1), (x2, y2)) };
            let (dx, dy, sy) = (bx - ax, (by - ay).abs(), if by >= ay { 1 } else { -1 });
            let steep = dy > dx;
            let (major, minor) = if steep { (dy, dx) } else { (dx, dy) };
            let want: Vec<(i64, i64)> = (0..=major)
                .map(|j| {
                    let c = -(major - 2 * minor * j).div_euclid((2 * major).max(1));
                    if steep { (ax + c, ay + sy * j) } else { (ax + j, ay + sy * c) }
                })
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}
