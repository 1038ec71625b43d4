//! The mask tools run by the Rust kernels (`crates/kernels`) here, in the
//! glue: the pixels never enter the interpreter. The host may ask for the
//! reference instead (`mstudio`'s numpy code, through a Python turn) by
//! setting `MUNG_RUNTIME_MASK_KERNELS=reference` in the guest environment.

use mung_runtime_kernels::{Image, ToolError, runs::Band, tools};

use crate::ReferenceSwitch;
use crate::exports::mung::runtime::extraction::{ExtractionError, Mask, PlacedMask, Point, RgbaImage};

/// Picks the mask tools' implementation (guest environment variable
/// `MUNG_RUNTIME_MASK_KERNELS`).
static KERNELS: ReferenceSwitch = ReferenceSwitch::new("MUNG_RUNTIME_MASK_KERNELS");

/// Whether this instance runs the mask tools with the Rust kernels.
pub(crate) fn compiled() -> bool {
    KERNELS.compiled()
}

fn error(e: ToolError) -> ExtractionError {
    match e {
        ToolError::InvalidInput(m) => ExtractionError::InvalidInput(m),
        ToolError::Unsupported(m) => ExtractionError::Unsupported(m),
        e => ExtractionError::Internal(format!("{e:?}")),
    }
}

fn mask(m: tools::Mask) -> Mask {
    Mask { width: m.width, height: m.height, pixels: m.pixels }
}

fn image(width: u32, height: u32, pixels: &[u8]) -> Image<'_> {
    Image { width, height, pixels }
}

fn points(line: &[Point]) -> Vec<(i32, i32)> {
    line.iter().map(|p| (p.x, p.y)).collect()
}

pub(crate) fn otsu_binarize_region(region: &RgbaImage) -> Result<Mask, ExtractionError> {
    tools::otsu_binarize_region(image(region.width, region.height, &region.pixels)).map(mask).map_err(error)
}

pub(crate) fn detect_stafflines(region: &RgbaImage) -> Result<Mask, ExtractionError> {
    tools::detect_stafflines(image(region.width, region.height, &region.pixels)).map(mask).map_err(error)
}

pub(crate) fn compute_cut_lines(m: &Mask) -> Result<Vec<Vec<Point>>, ExtractionError> {
    let lines = tools::compute_cut_lines(image(m.width, m.height, &m.pixels)).map_err(error)?;
    Ok(lines.into_iter().map(|l| l.into_iter().map(|(x, y)| Point { x, y }).collect()).collect())
}

pub(crate) fn separate_lines(
    left: i32,
    top: i32,
    m: &Mask,
    cut_lines: &[Vec<Point>],
) -> Result<Vec<PlacedMask>, ExtractionError> {
    let cuts: Vec<Vec<(i32, i32)>> = cut_lines.iter().map(|l| points(l)).collect();
    let bands = tools::separate_lines(left, top, image(m.width, m.height, &m.pixels), &cuts).map_err(error)?;
    // positions wrap to 32 bits, as the reference's reply is read
    Ok(bands
        .into_iter()
        .map(|b: Band| PlacedMask {
            left: b.left as i32,
            top: b.top as i32,
            mask: Mask { width: b.width as u32, height: b.height as u32, pixels: b.pixels },
        })
        .collect())
}

pub(crate) fn fill_polygon(width: u32, height: u32, polygon: &[Point]) -> Result<Mask, ExtractionError> {
    tools::fill_polygon(width, height, &points(polygon)).map(mask).map_err(error)
}
