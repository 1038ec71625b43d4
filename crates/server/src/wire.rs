//! JSON shapes of the extraction routes: masks as base64 bytes (one byte per
//! pixel, 0 or 1), nodes as in the WIT `node` record.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use mung_runtime::{Mask, Node, PlacedMask, Point, Region};
use serde::{Deserialize, Serialize};

use crate::problem::Problem;

/// A mask; `left`/`top` place it on the page where that matters.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct MaskJson {
    #[serde(default)]
    pub left: i32,
    #[serde(default)]
    pub top: i32,
    pub width: u32,
    pub height: u32,
    /// base64 of `width * height` bytes, each 0 or 1.
    pub pixels: String,
}

impl MaskJson {
    pub(crate) fn new(left: i32, top: i32, mask: &Mask) -> MaskJson {
        MaskJson { left, top, width: mask.width, height: mask.height, pixels: BASE64.encode(&mask.pixels) }
    }

    pub(crate) fn to_mask(&self, what: &str) -> Result<Mask, Problem> {
        let pixels = BASE64
            .decode(&self.pixels)
            .map_err(|e| Problem::bad_request(format!("{what}: `pixels` is not base64: {e}")))?;
        let expected = self.width as u64 * self.height as u64;
        if pixels.len() as u64 != expected {
            return Err(Problem::bad_request(format!(
                "{what}: {} pixel bytes for a {}x{} mask (expected {expected})",
                pixels.len(),
                self.width,
                self.height
            )));
        }
        Ok(Mask { width: self.width, height: self.height, pixels })
    }

    pub(crate) fn to_placed(&self, what: &str) -> Result<PlacedMask, Problem> {
        Ok(PlacedMask { left: self.left, top: self.top, mask: self.to_mask(what)? })
    }
}

/// A node, with the fields the node operations use.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct NodeJson {
    pub id: i64,
    pub class_name: String,
    pub top: i32,
    pub left: i32,
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub outlinks: Vec<i64>,
    #[serde(default)]
    pub inlinks: Vec<i64>,
    #[serde(default)]
    pub precedence_outlinks: Vec<i64>,
    #[serde(default)]
    pub precedence_inlinks: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_transcription: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<MaskJson>,
}

impl NodeJson {
    pub(crate) fn from_node(n: &Node) -> NodeJson {
        NodeJson {
            id: n.id,
            class_name: n.class_name.clone(),
            top: n.top,
            left: n.left,
            width: n.width,
            height: n.height,
            outlinks: n.outlinks.clone(),
            inlinks: n.inlinks.clone(),
            precedence_outlinks: n.precedence_outlinks.clone(),
            precedence_inlinks: n.precedence_inlinks.clone(),
            text_transcription: n.text_transcription.clone(),
            mask: n.mask.as_ref().map(|m| MaskJson::new(n.left, n.top, m)),
        }
    }

    pub(crate) fn to_node(&self) -> Result<Node, Problem> {
        let what = format!("node {}", self.id);
        Ok(Node {
            id: self.id,
            class_name: self.class_name.clone(),
            top: self.top,
            left: self.left,
            width: self.width,
            height: self.height,
            outlinks: self.outlinks.clone(),
            inlinks: self.inlinks.clone(),
            precedence_outlinks: self.precedence_outlinks.clone(),
            precedence_inlinks: self.precedence_inlinks.clone(),
            text_transcription: self.text_transcription.clone(),
            mask: self.mask.as_ref().map(|m| m.to_mask(&what)).transpose()?,
        })
    }
}

/// A region: `"x,y,w,h"`, `[x, y, w, h]` or `{"x","y","width","height"}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RegionJson {
    Text(String),
    Array([u32; 4]),
    Object(Region),
}

impl RegionJson {
    pub(crate) fn to_region(&self) -> Result<Region, Problem> {
        match self {
            RegionJson::Text(t) => t.parse().map_err(|e| Problem::bad_request(format!("region: {e}"))),
            RegionJson::Array([x, y, width, height]) => Ok(Region { x: *x, y: *y, width: *width, height: *height }),
            RegionJson::Object(r) => Ok(*r),
        }
    }
}

/// Points: `"x1,y1,x2,y2,..."` or `[[x, y], ...]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum PointsJson {
    Text(String),
    Pairs(Vec<[i32; 2]>),
}

impl PointsJson {
    pub(crate) fn to_points(&self, what: &str, min_points: usize) -> Result<Vec<Point>, Problem> {
        let points = match self {
            PointsJson::Text(t) => {
                Point::parse_list(t, min_points).map_err(|e| Problem::bad_request(format!("{what}: {e}")))?
            }
            PointsJson::Pairs(p) => p.iter().map(|&[x, y]| Point { x, y }).collect(),
        };
        if points.len() < min_points {
            return Err(Problem::bad_request(format!("{what}: at least {min_points} points are needed")));
        }
        Ok(points)
    }
}

/// Polylines as `[[[x, y], ...], ...]`.
pub(crate) fn polylines_json(lines: &[Vec<Point>]) -> Vec<Vec<[i32; 2]>> {
    lines.iter().map(|l| l.iter().map(|p| [p.x, p.y]).collect()).collect()
}

/// The inverse of [`polylines_json`].
pub(crate) fn polylines(lines: &[Vec<[i32; 2]>]) -> Vec<Vec<Point>> {
    lines.iter().map(|l| l.iter().map(|&[x, y]| Point { x, y }).collect()).collect()
}

/// Decodes base64 (standard alphabet, padding optional).
pub(crate) fn base64_bytes(text: &str, what: &str) -> Result<Vec<u8>, Problem> {
    let trimmed = text.trim();
    // A data URL is what a browser hands over most easily.
    let payload = trimmed.split_once(";base64,").map_or(trimmed, |(_, p)| p);
    BASE64
        .decode(payload)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(payload))
        .map_err(|e| Problem::bad_request(format!("{what} is not base64: {e}")))
}

/// What a script that ran to the end answers (`/v1/execute` and a session's
/// `execute`).
pub(crate) fn execution_json(done: &mung_runtime::Execution) -> serde_json::Value {
    let mut json = output_json(&done.output, &done.usage);
    json["value"] = done.value.clone();
    json
}

/// What a script printed and what it cost (without a value).
pub(crate) fn output_json(output: &mung_runtime::Output, usage: &mung_runtime::Usage) -> serde_json::Value {
    serde_json::json!({
        "stdout": output.stdout_text(),
        "stderr": output.stderr_text(),
        "stdout_truncated": output.stdout_truncated,
        "stderr_truncated": output.stderr_truncated,
        "usage": usage_json(usage),
    })
}

/// A call's cost: `wall_ms` (fractional), `memory_peak_bytes`, and `fuel`
/// when the server meters it.
pub(crate) fn usage_json(usage: &mung_runtime::Usage) -> serde_json::Value {
    let mut json = serde_json::json!({
        "wall_ms": usage.wall.as_secs_f64() * 1e3,
        "memory_peak_bytes": usage.memory_peak_bytes,
    });
    if let Some(fuel) = usage.fuel {
        json["fuel"] = fuel.into();
    }
    json
}

/// The body of `/v1/execute` and of a session's `execute`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExecuteRequest {
    /// The script; the value of its last expression is the answer's `value`.
    pub code: String,
    /// Names defined before the script runs.
    #[serde(default)]
    pub globals: Option<serde_json::Value>,
}
