//! Types of the mask and extraction operations, and conversions from and to
//! the `image` crate.

use serde::{Deserialize, Serialize};

use crate::bindings::exports::mung::runtime::extraction as wit;
use crate::error::SandboxError;

/// An RGBA image, row-major, 4 bytes per pixel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbaImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 4` bytes.
    pub pixels: Vec<u8>,
}

impl RgbaImage {
    /// Converts any decoded image (PNG, JPEG, grey, RGB, ...) to RGBA.
    pub fn from_dynamic(image: &image::DynamicImage) -> RgbaImage {
        image.to_rgba8().into()
    }

    /// Opens and decodes an image file.
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<RgbaImage, ExtractError> {
        let path = path.as_ref();
        let image = image::open(path)
            .map_err(|e| ExtractError::InvalidInput(format!("cannot read the image {}: {e}", path.display())))?;
        Ok(RgbaImage::from_dynamic(&image))
    }

    /// The pixels of `region`, which must lie inside the image.
    pub fn crop(&self, region: Region) -> Result<RgbaImage, ExtractError> {
        region.check_inside(self.width, self.height)?;
        let mut pixels = Vec::with_capacity(region.width as usize * region.height as usize * 4);
        let stride = self.width as usize * 4;
        for y in region.y..region.y + region.height {
            let start = y as usize * stride + region.x as usize * 4;
            pixels.extend_from_slice(&self.pixels[start..start + region.width as usize * 4]);
        }
        Ok(RgbaImage { width: region.width, height: region.height, pixels })
    }
}

impl From<image::RgbaImage> for RgbaImage {
    fn from(image: image::RgbaImage) -> Self {
        let (width, height) = image.dimensions();
        RgbaImage { width, height, pixels: image.into_raw() }
    }
}

/// A rectangle of an image: top-left corner and size, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width (at least 1).
    pub width: u32,
    /// Height (at least 1).
    pub height: u32,
}

impl Region {
    /// Checks that the region is not empty and lies inside a `width`×`height` image.
    pub fn check_inside(&self, width: u32, height: u32) -> Result<(), ExtractError> {
        if self.width == 0 || self.height == 0 {
            return Err(ExtractError::InvalidInput(format!("the region {self} is empty")));
        }
        let right = self.x as u64 + self.width as u64;
        let bottom = self.y as u64 + self.height as u64;
        if right > width as u64 || bottom > height as u64 {
            return Err(ExtractError::InvalidInput(format!(
                "the region {self} reaches ({right}, {bottom}), outside the {width}x{height} image"
            )));
        }
        Ok(())
    }
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{},{},{}", self.x, self.y, self.width, self.height)
    }
}

impl std::str::FromStr for Region {
    type Err = String;

    /// Parses `X,Y,W,H`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<u32> = s
            .split(',')
            .map(|p| p.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("expected X,Y,W,H with non-negative integers, got {s:?}"))?;
        match parts[..] {
            [x, y, width, height] => Ok(Region { x, y, width, height }),
            _ => Err(format!("expected 4 numbers X,Y,W,H, got {}", parts.len())),
        }
    }
}

/// A binary mask, row-major, one byte per pixel: 1 inside, 0 outside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` bytes, each 0 or 1.
    pub pixels: Vec<u8>,
}

impl Mask {
    /// The mask as a picture: inside white (255), outside black (0).
    pub fn to_luma(&self) -> image::GrayImage {
        let pixels = self.pixels.iter().map(|&p| if p != 0 { 255 } else { 0 }).collect();
        image::GrayImage::from_raw(self.width, self.height, pixels).expect("mask size matches its pixels")
    }

    /// A mask from a grey picture: pixels brighter than 127 are inside.
    pub fn from_luma(image: &image::GrayImage) -> Mask {
        Mask {
            width: image.width(),
            height: image.height(),
            pixels: image.pixels().map(|p| u8::from(p.0[0] > 127)).collect(),
        }
    }

    /// A mask from any picture: with an alpha channel, opaque pixels
    /// (alpha > 127) are inside, as in MuNG Studio's RGBA masks; without one,
    /// bright pixels (> 127) are.
    pub fn from_image(image: &image::DynamicImage) -> Mask {
        if image.color().has_alpha() {
            let rgba = image.to_rgba8();
            Mask {
                width: rgba.width(),
                height: rgba.height(),
                pixels: rgba.pixels().map(|p| u8::from(p.0[3] > 127)).collect(),
            }
        } else {
            Mask::from_luma(&image.to_luma8())
        }
    }

    /// Opens a mask picture (PNG or any format `image` reads), see [`Mask::from_image`].
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Mask, ExtractError> {
        let path = path.as_ref();
        let image = image::open(path)
            .map_err(|e| ExtractError::InvalidInput(format!("cannot read the mask {}: {e}", path.display())))?;
        Ok(Mask::from_image(&image))
    }

    /// How many pixels are inside.
    pub fn count(&self) -> usize {
        self.pixels.iter().filter(|&&p| p != 0).count()
    }

    /// Keeps only the pixels that are also inside `other` (same size).
    pub fn intersect(&mut self, other: &Mask) -> Result<(), ExtractError> {
        if (self.width, self.height) != (other.width, other.height) {
            return Err(ExtractError::InvalidInput(format!(
                "masks of different sizes: {}x{} and {}x{}",
                self.width, self.height, other.width, other.height
            )));
        }
        for (a, b) in self.pixels.iter_mut().zip(&other.pixels) {
            *a &= *b;
        }
        Ok(())
    }
}

/// A pixel position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// Column.
    pub x: i32,
    /// Row.
    pub y: i32,
}

/// A mask placed on the page, its top-left pixel at (`left`, `top`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacedMask {
    /// Left edge on the page.
    pub left: i32,
    /// Top edge on the page.
    pub top: i32,
    /// The mask.
    pub mask: Mask,
}

/// A MuNG node, with the fields the node-level operations use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Node id.
    pub id: i64,
    /// Class name, e.g. `staffLine`.
    pub class_name: String,
    /// Top edge.
    pub top: i32,
    /// Left edge.
    pub left: i32,
    /// Width of the box.
    pub width: u32,
    /// Height of the box.
    pub height: u32,
    /// Syntax outlinks.
    pub outlinks: Vec<i64>,
    /// Syntax inlinks.
    pub inlinks: Vec<i64>,
    /// Precedence outlinks.
    pub precedence_outlinks: Vec<i64>,
    /// Precedence inlinks.
    pub precedence_inlinks: Vec<i64>,
    /// The `text_transcription` data item.
    pub text_transcription: Option<String>,
    /// The mask (`height` × `width`), if any.
    pub mask: Option<Mask>,
}

/// Why an extraction operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// Malformed input: sizes that do not match, a non-binary mask, an empty
    /// image, a region outside the image, ...
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Well-formed input the operation cannot work on (e.g. no two separate
    /// lines to cut between, not exactly 5 stafflines).
    #[error("{0}")]
    Unsupported(String),
    /// The operation failed (a bug in mung-runtime).
    #[error("internal error in the extraction code: {0}")]
    Internal(String),
    /// The sandbox stopped the operation.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
}

impl From<wit::ExtractionError> for ExtractError {
    fn from(e: wit::ExtractionError) -> Self {
        match e {
            wit::ExtractionError::InvalidInput(m) => ExtractError::InvalidInput(m),
            wit::ExtractionError::Unsupported(m) => ExtractError::Unsupported(m),
            wit::ExtractionError::Internal(m) => ExtractError::Internal(m),
        }
    }
}

// Conversions to and from the generated WIT types move the pixel buffers.

impl From<RgbaImage> for wit::RgbaImage {
    fn from(i: RgbaImage) -> Self {
        wit::RgbaImage { width: i.width, height: i.height, pixels: i.pixels }
    }
}

impl From<Mask> for wit::Mask {
    fn from(m: Mask) -> Self {
        wit::Mask { width: m.width, height: m.height, pixels: m.pixels }
    }
}

impl From<wit::Mask> for Mask {
    fn from(m: wit::Mask) -> Self {
        Mask { width: m.width, height: m.height, pixels: m.pixels }
    }
}

impl From<Point> for wit::Point {
    fn from(p: Point) -> Self {
        wit::Point { x: p.x, y: p.y }
    }
}

impl From<wit::Point> for Point {
    fn from(p: wit::Point) -> Self {
        Point { x: p.x, y: p.y }
    }
}

impl From<wit::PlacedMask> for PlacedMask {
    fn from(p: wit::PlacedMask) -> Self {
        PlacedMask { left: p.left, top: p.top, mask: p.mask.into() }
    }
}

impl From<PlacedMask> for wit::PlacedMask {
    fn from(p: PlacedMask) -> Self {
        wit::PlacedMask { left: p.left, top: p.top, mask: p.mask.into() }
    }
}

impl From<Node> for wit::Node {
    fn from(n: Node) -> Self {
        wit::Node {
            id: n.id,
            class_name: n.class_name,
            top: n.top,
            left: n.left,
            width: n.width,
            height: n.height,
            outlinks: n.outlinks,
            inlinks: n.inlinks,
            precedence_outlinks: n.precedence_outlinks,
            precedence_inlinks: n.precedence_inlinks,
            text_transcription: n.text_transcription,
            mask: n.mask.map(Into::into),
        }
    }
}

impl From<wit::Node> for Node {
    fn from(n: wit::Node) -> Self {
        Node {
            id: n.id,
            class_name: n.class_name,
            top: n.top,
            left: n.left,
            width: n.width,
            height: n.height,
            outlinks: n.outlinks,
            inlinks: n.inlinks,
            precedence_outlinks: n.precedence_outlinks,
            precedence_inlinks: n.precedence_inlinks,
            text_transcription: n.text_transcription,
            mask: n.mask.map(Into::into),
        }
    }
}
