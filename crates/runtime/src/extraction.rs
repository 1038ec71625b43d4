//! Types of the mask and extraction operations, and conversions from and to
//! the `image` crate.

use serde::{Deserialize, Serialize};

pub use mung_runtime_wire::shapes::{ParsePointsError, ParseRegionError};

use crate::bindings::exports::mung::runtime::extraction as wit;
use crate::error::SandboxError;

/// An RGBA image, row-major, 4 bytes per pixel.
///
/// Its pixel count always matches its size: [`RgbaImage::new`] checks it,
/// so no method can index past the pixels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbaImage {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl RgbaImage {
    /// An image of `width`×`height` pixels from `width * height * 4` bytes
    /// (the buffer is moved, not copied); any other length is
    /// [`ExtractError::InvalidInput`].
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Result<RgbaImage, ExtractError> {
        check_pixel_count("image", width, height, 4, pixels.len())?;
        Ok(RgbaImage { width, height, pixels })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The `width * height * 4` bytes, row-major RGBA.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The pixel buffer, without a copy.
    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }

    /// Converts any decoded image (PNG, JPEG, grey, RGB, ...) to RGBA.
    pub fn from_dynamic(image: &image::DynamicImage) -> RgbaImage {
        image.to_rgba8().into()
    }

    /// Opens and decodes an image file (PNG or JPEG) with the bounds of
    /// [`open_region`](Self::open_region): a file of at most twice
    /// `max_bytes`, an image of at most `max_bytes` as RGBA.
    pub fn open(path: impl AsRef<std::path::Path>, max_bytes: u64) -> Result<RgbaImage, ExtractError> {
        RgbaImage::open_region(path, None, max_bytes)
    }

    /// Decodes `region` of an encoded image (PNG or JPEG), refusing before
    /// decoding any image whose decoded form would take more than
    /// `max_bytes`. Only the region is converted to RGBA.
    pub fn decode_region(bytes: &[u8], region: Option<Region>, max_bytes: u64) -> Result<RgbaImage, ExtractError> {
        let image = decode_limited(bytes, max_bytes, "image")?;
        match region {
            Some(region) => {
                region.check_inside(image.width(), image.height())?;
                let cropped = image.crop_imm(region.x, region.y, region.width, region.height);
                Ok(RgbaImage::from_dynamic(&cropped))
            }
            None => Ok(RgbaImage::from_dynamic(&image)),
        }
    }

    /// Like [`decode_region`](Self::decode_region), from a file. The file
    /// must be a regular one of at most twice `max_bytes` (no image that big
    /// decodes within `max_bytes`), checked before it is read.
    pub fn open_region(
        path: impl AsRef<std::path::Path>,
        region: Option<Region>,
        max_bytes: u64,
    ) -> Result<RgbaImage, ExtractError> {
        let path = path.as_ref();
        let bytes = crate::read_input(path, max_bytes.saturating_mul(2))
            .map_err(|e| ExtractError::InvalidInput(format!("cannot read the image {}: {e}", path.display())))?;
        RgbaImage::decode_region(&bytes, region, max_bytes)
            .map_err(|e| e.in_context(&format!("the image {}", path.display())))
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
    type Err = ParseRegionError;

    /// Parses `X,Y,W,H` (the text form of the HTTP contract, `mung-runtime-wire`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let r: mung_runtime_wire::shapes::Region = s.parse()?;
        Ok(Region { x: r.x, y: r.y, width: r.width, height: r.height })
    }
}

/// A binary mask, row-major, one byte per pixel: 1 inside, 0 outside.
///
/// Its pixel count always matches its size: [`Mask::new`] checks it, so
/// [`to_luma`](Self::to_luma) and [`to_png`](Self::to_png) cannot fail. The
/// values are not checked here: the mask tools refuse any other than 0 and 1
/// with [`ExtractError::InvalidInput`], and the conversions to pictures treat
/// any non-zero value as inside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Mask {
    /// A mask of `width`×`height` pixels from `width * height` bytes (the
    /// buffer is moved, not copied); any other length is
    /// [`ExtractError::InvalidInput`].
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Result<Mask, ExtractError> {
        check_pixel_count("mask", width, height, 1, pixels.len())?;
        Ok(Mask { width, height, pixels })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The `width * height` bytes, row-major, 1 inside and 0 outside.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The pixel buffer, without a copy.
    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }

    /// The mask as a picture: inside white (255), outside black (0).
    pub fn to_luma(&self) -> image::GrayImage {
        let pixels = self.pixels.iter().map(|&p| if p != 0 { 255 } else { 0 }).collect();
        // `new` and every conversion keep `pixels.len() == width * height`.
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

    /// Opens a mask picture (PNG or JPEG, see [`Mask::from_image`]) with the
    /// bounds of [`RgbaImage::open_region`]: a regular file of at most twice
    /// `max_bytes`, checked before it is read, and a picture of at most
    /// `max_bytes` as RGBA, checked before it is decoded.
    pub fn open(path: impl AsRef<std::path::Path>, max_bytes: u64) -> Result<Mask, ExtractError> {
        let path = path.as_ref();
        let bytes = crate::read_input(path, max_bytes.saturating_mul(2))
            .map_err(|e| ExtractError::InvalidInput(format!("cannot read the mask {}: {e}", path.display())))?;
        Mask::decode(&bytes, max_bytes).map_err(|e| e.in_context(&format!("the mask {}", path.display())))
    }

    /// Decodes a mask picture (see [`Mask::from_image`]), refusing before
    /// decoding one whose decoded form would take more than `max_bytes`.
    pub fn decode(bytes: &[u8], max_bytes: u64) -> Result<Mask, ExtractError> {
        Ok(Mask::from_image(&decode_limited(bytes, max_bytes, "mask")?))
    }

    /// The mask as a PNG file (inside white, outside black).
    pub fn to_png(&self) -> Vec<u8> {
        let mut png = Vec::new();
        self.to_luma()
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("encoding a grey image as PNG into memory cannot fail");
        png
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

/// `pixels` bytes are `width * height * channels` (the wording of the
/// sandbox's own check, which stays as a second line of defence).
fn check_pixel_count(what: &str, width: u32, height: u32, channels: u8, pixels: usize) -> Result<(), ExtractError> {
    // u128: u32::MAX² × 4 does not fit in u64.
    let expected = u128::from(width) * u128::from(height) * u128::from(channels);
    if pixels as u128 != expected {
        return Err(ExtractError::InvalidInput(format!(
            "the {what} is {width}x{height}, so it needs {expected} bytes of pixels, but {pixels} were given"
        )));
    }
    Ok(())
}

/// Decodes an image whose header promises at most `max_bytes` of pixels.
fn decode_limited(bytes: &[u8], max_bytes: u64, what: &str) -> Result<image::DynamicImage, ExtractError> {
    let unreadable = |e: std::io::Error| ExtractError::InvalidInput(format!("cannot read the {what}: {e}"));
    let reader = || -> Result<_, ExtractError> {
        let mut reader =
            image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(unreadable)?;
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(max_bytes);
        reader.limits(limits);
        Ok(reader)
    };
    let (width, height) =
        reader()?.into_dimensions().map_err(|e| ExtractError::InvalidInput(format!("cannot read the {what}: {e}")))?;
    // RGBA is what the pixels become; refuse before allocating any of it.
    let needed = width as u64 * height as u64 * 4;
    if needed > max_bytes {
        return Err(ExtractError::InvalidInput(format!(
            "the {what} is {width}x{height} pixels ({} MiB as RGBA), over the limit of {} MiB",
            needed >> 20,
            max_bytes >> 20
        )));
    }
    reader()?.decode().map_err(|e| ExtractError::InvalidInput(format!("cannot decode the {what}: {e}")))
}

/// A pixel position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// Column.
    pub x: i32,
    /// Row.
    pub y: i32,
}

impl Point {
    /// Parses `x1,y1,x2,y2,...` into points: at least `min_points` of them,
    /// an even count of integers.
    pub fn parse_list(text: &str, min_points: usize) -> Result<Vec<Point>, ParsePointsError> {
        let pairs = mung_runtime_wire::shapes::parse_points(text, min_points)?;
        Ok(pairs.into_iter().map(|[x, y]| Point { x, y }).collect())
    }
}

/// One of MuNG Studio's region tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegionTool {
    /// "Binarize region" ([`Runtime::otsu_binarize_region`](crate::Runtime::otsu_binarize_region)).
    Binarize,
    /// "Stafflines tool" ([`Runtime::detect_stafflines`](crate::Runtime::detect_stafflines)).
    Stafflines,
}

/// Which code runs the mask tools inside the sandbox ([`RuntimeBuilder::mask_kernels`](crate::RuntimeBuilder::mask_kernels)).
///
/// Both give the same bytes (bit-identical to OpenCV 4.10 with IPP off);
/// the reference is the slower one the kernels are tested against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MaskKernels {
    /// Rust kernels with wasm SIMD, run by the component's typed glue: the
    /// pixels never enter the interpreter (the default).
    #[default]
    Compiled,
    /// `mstudio`'s numpy implementation, run by the interpreter.
    Reference,
}

impl MaskKernels {
    /// The guest environment variable the glue reads, and its value.
    pub(crate) fn guest_env(self) -> Option<(&'static str, &'static str)> {
        match self {
            MaskKernels::Compiled => None,
            MaskKernels::Reference => Some(("MUNG_RUNTIME_MASK_KERNELS", "reference")),
        }
    }
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
#[non_exhaustive]
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

impl ExtractError {
    /// The same error, its message prefixed with what it was about.
    fn in_context(self, what: &str) -> ExtractError {
        match self {
            ExtractError::InvalidInput(m) => ExtractError::InvalidInput(format!("{what}: {m}")),
            other => other,
        }
    }
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

// What comes back from the sandbox is checked like any input: a guest that
// answers a mask of the wrong size gets `Internal`, the host goes on.

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

impl TryFrom<wit::Mask> for Mask {
    type Error = ExtractError;

    fn try_from(m: wit::Mask) -> Result<Self, ExtractError> {
        Mask::new(m.width, m.height, m.pixels)
            .map_err(|e| ExtractError::Internal(format!("the sandbox answered a malformed mask: {e}")))
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

impl TryFrom<wit::PlacedMask> for PlacedMask {
    type Error = ExtractError;

    fn try_from(p: wit::PlacedMask) -> Result<Self, ExtractError> {
        Ok(PlacedMask { left: p.left, top: p.top, mask: p.mask.try_into()? })
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

impl TryFrom<wit::Node> for Node {
    type Error = ExtractError;

    fn try_from(n: wit::Node) -> Result<Self, ExtractError> {
        Ok(Node {
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
            mask: n.mask.map(Mask::try_from).transpose()?,
        })
    }
}

impl crate::Runtime {
    /// A region tool as MuNG Studio applies it: the tool on `crop` (the
    /// pixels of `region`), then, with a `polygon` in page coordinates, only
    /// the mask inside that polygon (filled like OpenCV's `fillPoly`).
    pub fn region_mask(
        &self,
        tool: RegionTool,
        crop: RgbaImage,
        region: Region,
        polygon: Option<&[Point]>,
    ) -> Result<Mask, ExtractError> {
        if (crop.width, crop.height) != (region.width, region.height) {
            return Err(ExtractError::InvalidInput(format!(
                "the cropped image is {}x{}, but the region {region} is {}x{}",
                crop.width, crop.height, region.width, region.height
            )));
        }
        let mut mask = match tool {
            RegionTool::Binarize => self.otsu_binarize_region(crop)?,
            RegionTool::Stafflines => self.detect_stafflines(crop)?,
        };
        if let Some(polygon) = polygon {
            let local: Vec<Point> =
                polygon.iter().map(|p| Point { x: p.x - region.x as i32, y: p.y - region.y as i32 }).collect();
            let inside = self.fill_polygon(region.width, region.height, &local)?;
            mask.intersect(&inside)?;
        }
        Ok(mask)
    }

    /// "Binarize region": the ink of an RGBA region, by Otsu's threshold of
    /// its bilateral-filtered lightness (bit-identical to MuNG Studio).
    pub fn otsu_binarize_region(&self, region: RgbaImage) -> Result<Mask, ExtractError> {
        let region = region.into();
        let mask = self.pool.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_otsu_binarize_region(store, &region).await
        })??;
        mask.try_into()
    }

    /// "Stafflines tool": long dark horizontal runs of an RGBA region.
    pub fn detect_stafflines(&self, region: RgbaImage) -> Result<Mask, ExtractError> {
        let region = region.into();
        let mask = self.pool.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_detect_stafflines(store, &region).await
        })??;
        mask.try_into()
    }

    /// Polylines between the separate lines of a mask, in mask coordinates.
    pub fn compute_cut_lines(&self, mask: Mask) -> Result<Vec<Vec<Point>>, ExtractError> {
        let mask = mask.into();
        let lines = self
            .pool
            .with_warm(async |store, api| api.mung_runtime_extraction().call_compute_cut_lines(store, &mask).await)??;
        Ok(lines.into_iter().map(|l| l.into_iter().map(Into::into).collect()).collect())
    }

    /// Splits a mask placed at (`left`, `top`) into one band per gap between
    /// cut lines (top band first). The placed mask must lie within page
    /// coordinates (`i32`): a mask whose right or bottom edge would pass
    /// `i32::MAX` is refused, as no band position could be given for it.
    pub fn separate_lines(
        &self,
        left: i32,
        top: i32,
        mask: Mask,
        cut_lines: &[Vec<Point>],
    ) -> Result<Vec<PlacedMask>, ExtractError> {
        for (name, start, size) in [("left", left, mask.width), ("top", top, mask.height)] {
            if i64::from(start) + i64::from(size) > i64::from(i32::MAX) {
                return Err(ExtractError::InvalidInput(format!(
                    "a {}x{} mask placed at {name} {start} reaches past {}, the largest page coordinate",
                    mask.width,
                    mask.height,
                    i32::MAX
                )));
            }
        }
        let mask = mask.into();
        let cuts: Vec<Vec<_>> = cut_lines.iter().map(|l| l.iter().map(|&p| p.into()).collect()).collect();
        let bands = self.pool.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_separate_lines(store, left, top, &mask, &cuts).await
        })??;
        bands.into_iter().map(TryInto::try_into).collect()
    }

    /// The `staff` node spanning 5 `staffLine` nodes.
    pub fn generate_staff_from_stafflines(&self, stafflines: Vec<Node>) -> Result<Node, ExtractError> {
        let nodes: Vec<_> = stafflines.into_iter().map(Into::into).collect();
        let node = self.pool.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_generate_staff_from_stafflines(store, &nodes).await
        })??;
        node.try_into()
    }

    /// The 6 `staffSpace` nodes of each `staff` among `nodes`.
    pub fn generate_staffspaces(&self, nodes: Vec<Node>) -> Result<Vec<Node>, ExtractError> {
        let nodes: Vec<_> = nodes.into_iter().map(Into::into).collect();
        let out = self.pool.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_generate_staffspaces(store, &nodes).await
        })??;
        out.into_iter().map(TryInto::try_into).collect()
    }

    /// All nodes, with noteheads, rests, clefs, ... linked to their staff.
    pub fn snap_nodes_to_staves(&self, nodes: Vec<Node>) -> Result<Vec<Node>, ExtractError> {
        let nodes: Vec<_> = nodes.into_iter().map(Into::into).collect();
        let out = self.pool.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_snap_nodes_to_staves(store, &nodes).await
        })??;
        out.into_iter().map(TryInto::try_into).collect()
    }

    /// A `width`×`height` mask with `polygon` filled exactly like OpenCV's
    /// `fillPoly` (vertices may lie outside).
    pub fn fill_polygon(&self, width: u32, height: u32, polygon: &[Point]) -> Result<Mask, ExtractError> {
        let points: Vec<_> = polygon.iter().map(|&p| p.into()).collect();
        let mask = self.pool.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_fill_polygon(store, width, height, &points).await
        })??;
        mask.try_into()
    }

    /// Appends a node of class `class_name` with `mask` (cropped to its
    /// pixels) to a MuNG document; returns the new document and node id.
    pub fn insert_node(
        &self,
        mung_xml: &str,
        class_name: &str,
        mask: PlacedMask,
    ) -> Result<(String, i64), ExtractError> {
        let mask = mask.into();
        let inserted = self.pool.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_insert_node(store, mung_xml, class_name, &mask).await
        })??;
        Ok((inserted.mung_xml, inserted.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_parse_and_must_lie_inside() {
        let r: Region = "1, 2,3,4".parse().unwrap();
        assert_eq!(r, Region { x: 1, y: 2, width: 3, height: 4 });
        assert!("1,2,3".parse::<Region>().is_err());
        assert!("-1,2,3,4".parse::<Region>().is_err());
        assert!(r.check_inside(4, 6).is_ok());
        assert!(r.check_inside(3, 6).is_err(), "reaches column 4");
        assert!(Region { x: 0, y: 0, width: 0, height: 1 }.check_inside(9, 9).is_err());
        let far = Region { x: u32::MAX, y: 0, width: u32::MAX, height: 1 };
        assert!(far.check_inside(10, 10).is_err(), "no overflow");
    }

    #[test]
    fn region_and_point_errors_are_typed() {
        assert_eq!("1,2,3".parse::<Region>(), Err(ParseRegionError::Count(3)));
        assert!(matches!("-1,2,3,4".parse::<Region>(), Err(ParseRegionError::NotNumbers(_))));
        assert_eq!(Point::parse_list("1,2,3", 1), Err(ParsePointsError::Count { min_points: 1, numbers: 3 }));
    }

    #[test]
    fn sizes_are_checked_when_made() {
        let short = Mask::new(5, 5, vec![1; 3]).unwrap_err();
        assert_eq!(
            short.to_string(),
            "invalid input: the mask is 5x5, so it needs 25 bytes of pixels, but 3 were given"
        );
        let huge = RgbaImage::new(u32::MAX, u32::MAX, vec![0; 4]).unwrap_err();
        assert!(huge.to_string().contains("73786976260478468100 bytes"), "{huge}");
        assert!(RgbaImage::new(10, 10, vec![0; 401]).is_err());
        let image = RgbaImage::new(2, 1, vec![7; 8]).unwrap();
        assert_eq!((image.width(), image.height(), image.pixels()), (2, 1, &[7u8; 8][..]));
        let empty = Mask::new(0, 7, Vec::new()).unwrap();
        assert_eq!((empty.count(), empty.to_luma().dimensions()), (0, (0, 7)));
        let answered = wit::Mask { width: 2, height: 2, pixels: vec![1] };
        assert!(matches!(Mask::try_from(answered), Err(ExtractError::Internal(_))));
    }

    #[test]
    fn point_lists_need_pairs() {
        assert_eq!(Point::parse_list("1,2, 3,4,5,6", 3).unwrap()[2], Point { x: 5, y: 6 });
        assert!(Point::parse_list("1,2,3,4,5", 2).is_err());
        assert!(Point::parse_list("1,2,3,4", 3).is_err());
        assert!(Point::parse_list("a,b", 1).is_err());
    }

    #[test]
    fn masks_round_trip_through_png_and_intersect() {
        let mask = Mask::new(3, 2, vec![1, 0, 1, 0, 1, 1]).unwrap();
        let back = Mask::decode(&mask.to_png(), 1 << 20).unwrap();
        assert_eq!(back, mask);
        let mut a = mask.clone();
        a.intersect(&Mask::new(3, 2, vec![1, 1, 0, 0, 0, 1]).unwrap()).unwrap();
        assert_eq!(a.pixels(), [1, 0, 0, 0, 0, 1]);
        assert_eq!(a.count(), 2);
        assert!(a.intersect(&Mask::new(2, 3, vec![0; 6]).unwrap()).is_err());
    }

    #[test]
    fn huge_images_are_refused_before_decoding() {
        // A 5000x5000 grey PNG is small on disk but 100 MB as RGBA.
        let mut png = Vec::new();
        let encoder = image::codecs::png::PngEncoder::new(&mut png);
        let pixels = vec![255u8; 5000 * 5000];
        image::ImageEncoder::write_image(encoder, &pixels, 5000, 5000, image::ExtendedColorType::L8).unwrap();
        let err = RgbaImage::decode_region(&png, None, 64 << 20).unwrap_err();
        assert!(err.to_string().contains("over the limit"), "{err}");
        let region = Region { x: 10, y: 10, width: 5, height: 4 };
        let crop = RgbaImage::decode_region(&Mask::new(30, 30, vec![1; 900]).unwrap().to_png(), Some(region), 1 << 20)
            .unwrap();
        assert_eq!((crop.width, crop.height, crop.pixels[0]), (5, 4, 255));
        assert!(RgbaImage::decode_region(b"not an image", None, 1 << 20).is_err());
    }
}
