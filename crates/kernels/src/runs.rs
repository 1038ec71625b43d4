//! Column runs ("pegs", §2.8) and the two tools built on them: the cut lines
//! between the lines of a mask (§3.3) and its bands along them (§3.4).

use crate::ToolError;
use crate::polygon::fill_poly;

/// Columns sampled for cut lines: `x = 0, 10, 20, …`.
pub const CUT_LINE_STEP: usize = 10;

/// The runs `[u, d)` of non-zero values in column `x` of a `w`-wide mask.
pub fn column_runs(mask: &[u8], w: usize, x: usize) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (y, &v) in mask.iter().skip(x).step_by(w).enumerate() {
        match (v != 0, start) {
            (true, None) => start = Some(y),
            (false, Some(u)) => {
                runs.push((u, y));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(u) = start {
        runs.push((u, mask.len() / w));
    }
    runs
}

/// §3.3: the cut polylines of a 0/1 mask, in mask coordinates.
///
/// In each sampled column the cuts are the midpoints of consecutive run
/// centres, truncated; the most frequent number of cuts `N` (the first seen
/// on a tie) wins, the columns with `N` cuts make the polylines, extended to
/// `x = 0` and `x = w − 1` with the cuts of the nearest such column.
///
/// # Errors
/// [`ToolError::Unsupported`] when no sampled column has two runs.
pub fn compute_cut_lines(mask: &[u8], w: usize) -> Result<Vec<Vec<(i32, i32)>>, ToolError> {
    let mut kept: Vec<(usize, Vec<i32>)> = Vec::new();
    for x in (0..w).step_by(CUT_LINE_STEP) {
        let runs = column_runs(mask, w, x);
        if runs.len() < 2 {
            continue;
        }
        // ((u₁ + d₁)/2 + (u₂ + d₂)/2) / 2, exact in quarters, then truncated
        let cuts = runs.windows(2).map(|p| ((p[0].0 + p[0].1 + p[1].0 + p[1].1) / 4) as i32).collect();
        kept.push((x, cuts));
    }
    if kept.is_empty() {
        return Err(ToolError::Unsupported(format!(
            "compute_cut_lines: no sampled column (x = 0, {CUT_LINE_STEP}, {}, ...) has two or more separate runs; \
             the mask is empty or holds a single line",
            2 * CUT_LINE_STEP
        )));
    }
    let count = |n: usize| kept.iter().filter(|(_, c)| c.len() == n).count();
    let best = kept.iter().map(|(_, c)| count(c.len())).max().unwrap_or(0);
    let n = kept.iter().map(|(_, c)| c.len()).find(|&n| count(n) == best).unwrap_or(0);
    let mut cols: Vec<(usize, &[i32])> = kept.iter().filter(|(_, c)| c.len() == n).map(|(x, c)| (*x, &c[..])).collect();
    if cols[0].0 != 0 {
        cols.insert(0, (0, cols[0].1));
    }
    let last = cols[cols.len() - 1];
    if last.0 != w - 1 {
        cols.push((w - 1, last.1));
    }
    Ok((0..n).map(|j| cols.iter().map(|&(x, c)| (x as i32, c[j])).collect()).collect())
}

/// One band of [`separate_lines`]: its mask and where it lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Band {
    /// The band's left edge on the page.
    pub left: i64,
    /// The band's top edge on the page.
    pub top: i64,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width × height` bytes, each 0 or 1, row by row.
    pub pixels: Vec<u8>,
}

/// §3.4: the bands of a `w`×`h` 0/1 mask at `(left, top)` between
/// consecutive cut lines (with the mask's top and bottom edges as the first
/// and last), top band first, each cropped to its pixels; a band without
/// pixels is the full-size zero mask at `(left, top)`.
///
/// # Errors
/// Points beyond the polygon coordinate limit.
pub fn separate_lines(
    left: i64,
    top: i64,
    mask: &[u8],
    w: usize,
    h: usize,
    cut_lines: &[Vec<(i32, i32)>],
) -> Result<Vec<Band>, ToolError> {
    let (wi, hi) = (w as i32, h as i32);
    let mut lines: Vec<&[(i32, i32)]> = Vec::with_capacity(cut_lines.len() + 2);
    let (first, last) = ([(0, 0), (wi, 0)], [(0, hi), (wi, hi)]);
    lines.push(&first);
    lines.extend(cut_lines.iter().map(Vec::as_slice));
    lines.push(&last);
    let mut stencil = vec![0u8; w * h];
    let mut bands = Vec::with_capacity(lines.len() - 1);
    for pair in lines.windows(2) {
        let poly: Vec<(i32, i32)> = pair[0].iter().chain(pair[1].iter().rev()).copied().collect();
        stencil.fill(0);
        fill_poly(w, h, &poly, &mut stencil)?;
        // the stencil lies within the polygon's rows
        let (r0, r1) = match (poly.iter().map(|p| p.1).min(), poly.iter().map(|p| p.1).max()) {
            (Some(lo), Some(hi)) => (lo.max(0) as usize, (hi.min(h as i32 - 1) + 1).max(0) as usize),
            _ => (0, 0),
        };
        let (mut y1, mut y2, mut x1, mut x2) = (usize::MAX, 0, usize::MAX, 0);
        for y in r0..r1.max(r0) {
            let (m, s) = (&mask[y * w..(y + 1) * w], &stencil[y * w..(y + 1) * w]);
            let mut any = false;
            for x in 0..w {
                if m[x] & s[x] != 0 {
                    any = true;
                    x1 = x1.min(x);
                    x2 = x2.max(x + 1);
                }
            }
            if any {
                y1 = y1.min(y);
                y2 = y + 1;
            }
        }
        if y1 == usize::MAX {
            bands.push(Band { left, top, width: w, height: h, pixels: vec![0; w * h] });
            continue;
        }
        let (bw, bh) = (x2 - x1, y2 - y1);
        let mut pixels = Vec::with_capacity(bw * bh);
        for y in y1..y2 {
            let (m, s) = (&mask[y * w + x1..y * w + x2], &stencil[y * w + x1..y * w + x2]);
            pixels.extend(m.iter().zip(s).map(|(a, b)| a & b));
        }
        bands.push(Band { left: left + x1 as i64, top: top + y1 as i64, width: bw, height: bh, pixels });
    }
    Ok(bands)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_touching_the_bottom_end_there() {
        let m = [0u8, 1, 0, 1];
        assert_eq!(column_runs(&m, 1, 0), [(1, 2), (3, 4)]);
    }

    #[test]
    fn cut_lines_of_two_lines() {
        let (w, h) = (25, 9);
        let mut m = vec![0u8; w * h];
        for x in 0..w {
            m[w + x] = 1;
            m[6 * w + x] = 1;
            m[7 * w + x] = 1;
        }
        // centres 1.5 and 6.5: the cut at 4
        let lines = compute_cut_lines(&m, w).unwrap();
        assert_eq!(lines, vec![vec![(0, 4), (10, 4), (20, 4), (24, 4)]]);
        let bands = separate_lines(5, 7, &m, w, h, &lines).unwrap();
        assert_eq!(bands.len(), 2);
        assert_eq!((bands[0].left, bands[0].top, bands[0].width, bands[0].height), (5, 8, 25, 1));
        assert_eq!((bands[1].left, bands[1].top, bands[1].width, bands[1].height), (5, 13, 25, 2));
    }

    #[test]
    fn no_second_run_is_unsupported() {
        assert!(matches!(compute_cut_lines(&[1u8; 12], 4), Err(ToolError::Unsupported(_))));
    }
}
