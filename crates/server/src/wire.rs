//! The JSON shapes of the routes (from `mung-runtime-wire`, shared with the
//! portable component) converted to and from the library's types, and the
//! answers of `execute`.

use mung_runtime::{Mask, Node, PlacedMask, Point, Region};
use serde::Deserialize;

use crate::problem::Problem;

pub(crate) use mung_runtime_wire::shapes::{MaskJson, NodeJson, PolylinesJson};

/// A mask as JSON, placed at `left`, `top`.
pub(crate) fn mask_json(left: i32, top: i32, mask: &Mask) -> MaskJson {
    MaskJson::new(left, top, mask.width(), mask.height(), mask.pixels())
}

/// The library's types from the shared JSON shapes.
pub(crate) trait FromWire {
    /// The mask, its size checked; a 400 naming `what`.
    fn to_mask(&self, what: &str) -> Result<Mask, Problem>;
    /// The mask with its placement.
    fn to_placed(&self, what: &str) -> Result<PlacedMask, Problem>;
}

impl FromWire for MaskJson {
    fn to_mask(&self, what: &str) -> Result<Mask, Problem> {
        // `decode_pixels` checked the size already, with a 400 naming `what`.
        Ok(Mask::new(self.width, self.height, self.decode_pixels(what)?)?)
    }

    fn to_placed(&self, what: &str) -> Result<PlacedMask, Problem> {
        Ok(PlacedMask { left: self.left, top: self.top, mask: self.to_mask(what)? })
    }
}

/// A node as JSON.
pub(crate) fn node_json(n: &Node) -> NodeJson {
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
        mask: n.mask.as_ref().map(|m| mask_json(n.left, n.top, m)),
    }
}

/// The node a JSON node describes.
pub(crate) fn node_from_json(n: &NodeJson) -> Result<Node, Problem> {
    let what = format!("node {}", n.id);
    Ok(Node {
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
        mask: n.mask.as_ref().map(|m| m.to_mask(&what)).transpose()?,
    })
}

/// A region in any of its JSON forms, as the library's type.
pub(crate) fn region(json: &mung_runtime_wire::shapes::RegionJson) -> Result<Region, Problem> {
    let r = json.to_region()?;
    Ok(Region { x: r.x, y: r.y, width: r.width, height: r.height })
}

/// Points in any of their JSON forms, as the library's type.
pub(crate) fn points(
    json: &mung_runtime_wire::shapes::PointsJson,
    what: &str,
    min_points: usize,
) -> Result<Vec<Point>, Problem> {
    Ok(json.to_points(what, min_points)?.into_iter().map(|[x, y]| Point { x, y }).collect())
}

/// Polylines as `[[[x, y], ...], ...]`.
pub(crate) fn polylines_json(lines: &[Vec<Point>]) -> PolylinesJson {
    lines.iter().map(|l| l.iter().map(|p| [p.x, p.y]).collect()).collect()
}

/// The inverse of [`polylines_json`].
pub(crate) fn polylines(lines: &[Vec<[i32; 2]>]) -> Vec<Vec<Point>> {
    lines.iter().map(|l| l.iter().map(|&[x, y]| Point { x, y }).collect()).collect()
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
