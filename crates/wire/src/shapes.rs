//! The JSON shapes of the extraction routes, and the text forms of regions
//! and points: masks as base64 bytes (one byte per pixel, 0 or 1), nodes as
//! in the WIT `node` record. Each server converts them to its own types.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as BASE64, STANDARD_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::problem::{Problem, ProblemType};

fn bad_request(detail: String) -> Problem {
    Problem::new(ProblemType::BAD_REQUEST, detail)
}

/// A rectangle of a page, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{},{},{}", self.x, self.y, self.width, self.height)
    }
}

impl std::str::FromStr for Region {
    type Err = ParseRegionError;

    /// `X,Y,W,H` with non-negative integers.
    fn from_str(s: &str) -> Result<Region, ParseRegionError> {
        let parts: Vec<u32> = s
            .split(',')
            .map(|p| p.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| ParseRegionError::NotNumbers(s.to_owned()))?;
        match parts[..] {
            [x, y, width, height] => Ok(Region { x, y, width, height }),
            _ => Err(ParseRegionError::Count(parts.len())),
        }
    }
}

/// Why a text is not a region `X,Y,W,H`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseRegionError {
    /// A part is not a non-negative integer (the whole text).
    NotNumbers(String),
    /// There are not exactly 4 numbers (how many there are).
    Count(usize),
}

impl std::fmt::Display for ParseRegionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseRegionError::NotNumbers(text) => {
                write!(f, "expected X,Y,W,H with non-negative integers, got {text:?}")
            }
            ParseRegionError::Count(n) => write!(f, "expected 4 numbers X,Y,W,H, got {n}"),
        }
    }
}

impl std::error::Error for ParseRegionError {}

/// `x1,y1,x2,y2,...` as points, at least `min_points` of them.
pub fn parse_points(text: &str, min_points: usize) -> Result<Vec<[i32; 2]>, ParsePointsError> {
    let numbers: Vec<i32> = text
        .split(',')
        .map(|n| n.trim().parse::<i32>())
        .collect::<Result<_, _>>()
        .map_err(|_| ParsePointsError::NotIntegers(text.to_owned()))?;
    if numbers.len() < 2 * min_points || !numbers.len().is_multiple_of(2) {
        return Err(ParsePointsError::Count { min_points, numbers: numbers.len() });
    }
    Ok(numbers.chunks(2).map(|p| [p[0], p[1]]).collect())
}

/// Why a text is not a list of points `x1,y1,x2,y2,...`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParsePointsError {
    /// A part is not an `i32` (the whole text).
    NotIntegers(String),
    /// An odd count of numbers, or fewer than two per point wanted.
    Count {
        /// The fewest points wanted.
        min_points: usize,
        /// How many numbers there are.
        numbers: usize,
    },
}

impl std::fmt::Display for ParsePointsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParsePointsError::NotIntegers(text) => write!(f, "expected integers x1,y1,x2,y2,..., got {text:?}"),
            ParsePointsError::Count { min_points, numbers } => {
                write!(f, "expected at least {min_points} points (an even count of numbers), got {numbers} numbers")
            }
        }
    }
}

impl std::error::Error for ParsePointsError {}

/// A region: `"x,y,w,h"`, `[x, y, w, h]` or `{"x","y","width","height"}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum RegionJson {
    /// `"x,y,w,h"`.
    Text(String),
    /// `[x, y, w, h]`.
    Array([u32; 4]),
    /// `{"x", "y", "width", "height"}`.
    Object(Region),
}

impl RegionJson {
    /// The region, or a 400 that says what is wrong.
    pub fn to_region(&self) -> Result<Region, Problem> {
        match self {
            RegionJson::Text(t) => t.parse().map_err(|e| bad_request(format!("region: {e}"))),
            RegionJson::Array([x, y, width, height]) => Ok(Region { x: *x, y: *y, width: *width, height: *height }),
            RegionJson::Object(r) => Ok(*r),
        }
    }
}

/// Points: `"x1,y1,x2,y2,..."` or `[[x, y], ...]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum PointsJson {
    /// `"x1,y1,x2,y2,..."`.
    Text(String),
    /// `[[x, y], ...]`.
    Pairs(Vec<[i32; 2]>),
}

impl PointsJson {
    /// At least `min_points` points, or a 400 naming `what`.
    pub fn to_points(&self, what: &str, min_points: usize) -> Result<Vec<[i32; 2]>, Problem> {
        let points = match self {
            PointsJson::Text(t) => parse_points(t, min_points).map_err(|e| bad_request(format!("{what}: {e}")))?,
            PointsJson::Pairs(p) => p.clone(),
        };
        if points.len() < min_points {
            return Err(bad_request(format!("{what}: at least {min_points} points are needed")));
        }
        Ok(points)
    }
}

/// A mask; `left`/`top` place it on the page where that matters.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MaskJson {
    /// Left edge on the page.
    #[serde(default)]
    pub left: i32,
    /// Top edge on the page.
    #[serde(default)]
    pub top: i32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// base64 of `width * height` bytes, each 0 or 1.
    pub pixels: String,
}

impl MaskJson {
    /// A mask of `width × height` pixel bytes placed at `left`, `top`.
    pub fn new(left: i32, top: i32, width: u32, height: u32, pixels: &[u8]) -> MaskJson {
        MaskJson { left, top, width, height, pixels: BASE64.encode(pixels) }
    }

    /// The pixel bytes, checked against the size; a 400 naming `what`.
    pub fn decode_pixels(&self, what: &str) -> Result<Vec<u8>, Problem> {
        let pixels =
            BASE64.decode(&self.pixels).map_err(|e| bad_request(format!("{what}: `pixels` is not base64: {e}")))?;
        let expected = self.width as u64 * self.height as u64;
        if pixels.len() as u64 != expected {
            return Err(bad_request(format!(
                "{what}: {} pixel bytes for a {}x{} mask (expected {expected})",
                pixels.len(),
                self.width,
                self.height
            )));
        }
        Ok(pixels)
    }
}

/// A node, with the fields the node operations use.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeJson {
    /// The node's id.
    pub id: i64,
    /// Its class.
    pub class_name: String,
    /// Top edge on the page.
    pub top: i32,
    /// Left edge on the page.
    pub left: i32,
    /// Width of its bounding box.
    pub width: u32,
    /// Height of its bounding box.
    pub height: u32,
    /// Ids this node links to.
    #[serde(default)]
    pub outlinks: Vec<i64>,
    /// Ids that link to this node.
    #[serde(default)]
    pub inlinks: Vec<i64>,
    /// Precedence links out.
    #[serde(default)]
    pub precedence_outlinks: Vec<i64>,
    /// Precedence links in.
    #[serde(default)]
    pub precedence_inlinks: Vec<i64>,
    /// Its text, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_transcription: Option<String>,
    /// Its mask, if any (placed at the node's `left`, `top`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<MaskJson>,
}

/// Decodes base64 (standard alphabet, padding optional; a data URL is what
/// a browser hands over most easily, and is fine too).
pub fn base64_bytes(text: &str, what: &str) -> Result<Vec<u8>, Problem> {
    let trimmed = text.trim();
    let payload = trimmed.split_once(";base64,").map_or(trimmed, |(_, p)| p);
    BASE64
        .decode(payload)
        .or_else(|_| STANDARD_NO_PAD.decode(payload))
        .map_err(|e| bad_request(format!("{what} is not base64: {e}")))
}

/// Polylines as `[[[x, y], ...], ...]`: the cut lines.
pub type PolylinesJson = Vec<Vec<[i32; 2]>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_parse_in_every_form() {
        for json in [r#""1,2,3,4""#, "[1, 2, 3, 4]", r#"{"x": 1, "y": 2, "width": 3, "height": 4}"#] {
            let r: RegionJson = serde_json::from_str(json).unwrap();
            assert_eq!(r.to_region().unwrap(), Region { x: 1, y: 2, width: 3, height: 4 }, "{json}");
        }
        let bad: RegionJson = serde_json::from_str(r#""1,2,3""#).unwrap();
        assert_eq!(bad.to_region().unwrap_err().detail, "region: expected 4 numbers X,Y,W,H, got 3");
        assert_eq!("1,2,3".parse::<Region>(), Err(ParseRegionError::Count(3)));
        assert_eq!("1,x,3,4".parse::<Region>(), Err(ParseRegionError::NotNumbers("1,x,3,4".into())));
    }

    #[test]
    fn point_lists_say_what_is_wrong() {
        assert_eq!(parse_points("1,2, 3,4", 2), Ok(vec![[1, 2], [3, 4]]));
        assert_eq!(parse_points("1,2,3", 1), Err(ParsePointsError::Count { min_points: 1, numbers: 3 }));
        assert_eq!(parse_points("1,2", 2), Err(ParsePointsError::Count { min_points: 2, numbers: 2 }));
        let err = parse_points("a,b", 1).unwrap_err();
        assert_eq!(err.to_string(), r#"expected integers x1,y1,x2,y2,..., got "a,b""#);
    }

    #[test]
    fn masks_round_trip_and_check_their_size() {
        let m = MaskJson::new(5, 6, 2, 2, &[1, 0, 0, 1]);
        assert_eq!(m.decode_pixels("mask").unwrap(), [1, 0, 0, 1]);
        let short = MaskJson { width: 3, ..m };
        assert!(short.decode_pixels("mask").unwrap_err().detail.contains("4 pixel bytes for a 3x2 mask"));
        assert_eq!(base64_bytes("data:image/png;base64,AQID", "image").unwrap(), [1, 2, 3]);
    }
}
