//! `/v1/extract/*`: MuNG Studio's mask tools, mirroring the WIT
//! `extraction` interface.
//!
//! Every handler is admitted before its body is read (see
//! [`crate::admission`]) and does its parsing, decoding, call and encoding
//! on a blocking thread.

use mung_runtime_wire::{headers as wire_headers, media};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mung_runtime::{Mask, Point, Region, RegionTool, RgbaImage};
use serde::Deserialize;
use serde_json::json;

use mung_runtime::error_chain;

use crate::AppState;
use crate::admission::Admitted;
use crate::body::{RGBA, RawQuery, check_json, check_rgba_len, json_body, media_type, rgba_size};
use crate::problem::Problem;
use crate::wire::{FromWire as _, MaskJson, NodeJson, mask_json, node_from_json, node_json, polylines, polylines_json};
use mung_runtime_wire::shapes::{PointsJson, RegionJson, base64_bytes};

pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/v1/extract/binarize", post(binarize))
        .route("/v1/extract/stafflines", post(stafflines))
        .route("/v1/extract/fill-polygon", post(fill_polygon))
        .route("/v1/extract/cut-lines", post(cut_lines))
        .route("/v1/extract/separate", post(separate))
        .route("/v1/extract/staff", post(staff))
        .route("/v1/extract/staffspaces", post(staffspaces))
        .route("/v1/extract/snap", post(snap))
        .route("/v1/extract/insert-node", post(insert_node))
}

/// The page image of a region tool.
enum Image {
    /// PNG or JPEG bytes, decoded under the image bound.
    Encoded(Bytes),
    /// Raw RGBA pixels (`application/vnd.mung.rgba`).
    Raw(RgbaImage),
}

/// A region tool's request, from multipart fields, a JSON object, an
/// encoded image, or raw pixels.
struct RegionRequest {
    image: Image,
    region: Option<Region>,
    polygon: Option<Vec<Point>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionRequestJson {
    /// base64 PNG or JPEG (a data URL is fine).
    image: String,
    region: Option<RegionJson>,
    polygon: Option<PointsJson>,
}

/// Checks a region tool's head before its body is read: a media type it
/// takes, and for raw pixels a size within the image bound.
fn check_region_head(parts: &Parts, max_image_bytes: u64) -> Result<(), Problem> {
    let media = media_type(&parts.headers);
    match media.as_str() {
        RGBA => rgba_size(&parts.headers, &RawQuery::parse(&parts.uri)?, max_image_bytes).map(drop),
        "multipart/form-data" => multer::parse_boundary(content_type(&parts.headers))
            .map(drop)
            .map_err(|e| Problem::bad_request(format!("unreadable multipart body: {e}"))),
        m if m.starts_with("image/") => Ok(()),
        _ => check_json(&parts.headers).map_err(|_| {
            Problem::unsupported_media_type(format!(
                "send multipart/form-data (image, region, polygon), application/json, the image itself, or {RGBA}"
            ))
        }),
    }
}

fn content_type(headers: &HeaderMap) -> &str {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Parses a region tool's body (on the blocking thread).
fn parse_region_request(parts: &Parts, body: Bytes, max_image_bytes: u64) -> Result<RegionRequest, Problem> {
    let media = media_type(&parts.headers);
    if media == RGBA {
        let query = RawQuery::parse(&parts.uri)?;
        let (width, height, _) = rgba_size(&parts.headers, &query, max_image_bytes)?;
        check_rgba_len(width, height, body.len())?;
        let region = query.region.as_deref().map(parse_region).transpose()?;
        let polygon = query.polygon.as_deref().map(parse_polygon).transpose()?;
        let image = Image::Raw(RgbaImage::new(width, height, body.into())?);
        return Ok(RegionRequest { image, region, polygon });
    }
    if media == "multipart/form-data" {
        return parse_region_form(&parts.headers, body);
    }
    if media.starts_with("image/") {
        return Ok(RegionRequest { image: Image::Encoded(body), region: None, polygon: None });
    }
    let json: RegionRequestJson = json_body(&parts.headers, &body)?;
    Ok(RegionRequest {
        image: Image::Encoded(base64_bytes(&json.image, "image")?.into()),
        region: json.region.as_ref().map(crate::wire::region).transpose()?,
        polygon: json.polygon.as_ref().map(|p| crate::wire::points(p, "polygon", 3)).transpose()?,
    })
}

/// The fields `image`, `region` and `polygon` of a form already in memory.
fn parse_region_form(headers: &HeaderMap, body: Bytes) -> Result<RegionRequest, Problem> {
    let unreadable = |e: multer::Error| Problem::bad_request(format!("unreadable multipart body: {e}"));
    let boundary = multer::parse_boundary(content_type(headers)).map_err(unreadable)?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    // The whole body is in memory: this only walks it, nothing waits.
    futures_executor::block_on(async move {
        let (mut image, mut region, mut polygon) = (None, None, None);
        while let Some(field) = form.next_field().await.map_err(unreadable)? {
            let name = field.name().unwrap_or_default().to_string();
            let bytes = field.bytes().await.map_err(|e| Problem::bad_request(format!("field {name}: {e}")))?;
            let text = || String::from_utf8_lossy(&bytes).trim().to_string();
            match name.as_str() {
                "image" => image = Some(bytes),
                "region" if !text().is_empty() => region = Some(parse_region(&text())?),
                "polygon" if !text().is_empty() => polygon = Some(parse_polygon(&text())?),
                "region" | "polygon" => {}
                other => {
                    return Err(Problem::bad_request(format!(
                        "unknown field {other:?} (expected image, region, polygon)"
                    )));
                }
            }
        }
        let image = image.ok_or_else(|| Problem::bad_request("the `image` field (a PNG or JPEG file) is missing"))?;
        Ok(RegionRequest { image: Image::Encoded(image), region, polygon })
    })
}

fn parse_region(text: &str) -> Result<Region, Problem> {
    text.parse::<Region>().map_err(|e| Problem::bad_request(format!("region: {e}")))
}

fn parse_polygon(text: &str) -> Result<Vec<Point>, Problem> {
    Point::parse_list(text, 3).map_err(|e| Problem::bad_request(format!("polygon: {e}")))
}

/// How a mask goes back to the client, by `Accept`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MaskForm {
    /// A grey PNG (the default).
    Png,
    /// `{left, top, width, height, pixels}`, one base64 byte per pixel.
    Json,
    /// Raw RGBA in MuNG Studio's convention.
    Rgba,
}

impl MaskForm {
    fn from_accept(headers: &HeaderMap) -> MaskForm {
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        if accept.contains(RGBA) {
            MaskForm::Rgba
        } else if accept.contains("application/json") && !accept.contains("image/png") {
            MaskForm::Json
        } else {
            MaskForm::Png
        }
    }
}

/// A mask as PNG or raw RGBA (placement and size in the `X-Mung-*` headers), or JSON.
fn mask_response(form: MaskForm, left: i32, top: i32, mask: &Mask) -> Response {
    let (body, media) = match form {
        MaskForm::Json => return Json(mask_json(left, top, mask)).into_response(),
        MaskForm::Png => (mask.to_png(), media::PNG),
        MaskForm::Rgba => (mask_rgba(mask), RGBA),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    headers.insert(wire_headers::LEFT, HeaderValue::from(left));
    headers.insert(wire_headers::TOP, HeaderValue::from(top));
    headers.insert(wire_headers::WIDTH, HeaderValue::from(mask.width()));
    headers.insert(wire_headers::HEIGHT, HeaderValue::from(mask.height()));
    response
}

/// MuNG Studio's mask pixels: R = A = 255 inside, everything 0 outside.
fn mask_rgba(mask: &Mask) -> Vec<u8> {
    let mut rgba = Vec::with_capacity(mask.pixels().len() * 4);
    for &p in mask.pixels() {
        let v = if p != 0 { 255 } else { 0 };
        rgba.extend_from_slice(&[v, 0, 0, v]);
    }
    rgba
}

/// A mask from MuNG Studio's RGBA: a pixel is inside when its alpha is not 0.
fn rgba_mask(width: u32, height: u32, rgba: &[u8]) -> Result<Mask, Problem> {
    Ok(Mask::new(width, height, rgba.chunks_exact(4).map(|p| u8::from(p[3] != 0)).collect())?)
}

async fn region_tool(
    state: Arc<AppState>,
    admitted: Admitted,
    tool: RegionTool,
    request: Request,
) -> Result<Response, Problem> {
    let max_bytes = state.config.image_bound();
    let check = move |parts: &Parts| check_region_head(parts, max_bytes);
    admitted
        .call(&state, request, check, move |rt, parts, body| {
            let form = MaskForm::from_accept(&parts.headers);
            let RegionRequest { image, region, polygon } = parse_region_request(&parts, body, max_bytes)?;
            let crop = match (image, region) {
                (Image::Encoded(bytes), region) => RgbaImage::decode_region(&bytes, region, max_bytes)?,
                (Image::Raw(image), Some(region)) => image.crop(region)?,
                (Image::Raw(image), None) => image,
            };
            let region = region.unwrap_or(Region { x: 0, y: 0, width: crop.width(), height: crop.height() });
            let mask = rt.region_mask(tool, crop, region, polygon.as_deref())?;
            Ok(mask_response(form, placement(region.x)?, placement(region.y)?, &mask))
        })
        .await
}

/// A page coordinate as the signed placement of a mask.
fn placement(v: u32) -> Result<i32, Problem> {
    i32::try_from(v).map_err(|_| Problem::bad_request(format!("the region starts at {v}, beyond {}", i32::MAX)))
}

async fn binarize(
    State(state): State<Arc<AppState>>,
    admitted: Admitted,
    request: Request,
) -> Result<Response, Problem> {
    region_tool(state, admitted, RegionTool::Binarize, request).await
}

async fn stafflines(
    State(state): State<Arc<AppState>>,
    admitted: Admitted,
    request: Request,
) -> Result<Response, Problem> {
    region_tool(state, admitted, RegionTool::Stafflines, request).await
}

/// The head check of the JSON-only routes.
fn json_head(parts: &Parts) -> Result<(), Problem> {
    check_json(&parts.headers)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FillPolygonRequest {
    width: u32,
    height: u32,
    polygon: PointsJson,
}

async fn fill_polygon(
    State(state): State<Arc<AppState>>,
    admitted: Admitted,
    request: Request,
) -> Result<Response, Problem> {
    let max_bytes = state.config.image_bound();
    admitted
        .call(&state, request, json_head, move |rt, parts, body| {
            let request: FillPolygonRequest = json_body(&parts.headers, &body)?;
            let points = crate::wire::points(&request.polygon, "polygon", 1)?;
            let pixels = request.width as u64 * request.height as u64;
            if pixels == 0 || pixels.saturating_mul(4) > max_bytes {
                return Err(Problem::bad_request(format!(
                    "a {}x{} mask is empty or too large",
                    request.width, request.height
                )));
            }
            let mask = rt.fill_polygon(request.width, request.height, &points)?;
            Ok(mask_response(MaskForm::from_accept(&parts.headers), 0, 0, &mask))
        })
        .await
}

/// The head check of routes that take a mask: raw RGBA within the image
/// bound, an image, or JSON.
fn check_mask_head(parts: &Parts, max_image_bytes: u64) -> Result<(), Problem> {
    let media = media_type(&parts.headers);
    match media.as_str() {
        RGBA => rgba_size(&parts.headers, &RawQuery::parse(&parts.uri)?, max_image_bytes).map(drop),
        m if m.starts_with("image/") => Ok(()),
        _ => check_json(&parts.headers),
    }
}

/// A mask from a PNG body, raw RGBA, or `{"mask": {...}}`.
fn mask_body(parts: &Parts, body: &Bytes, max_image_bytes: u64) -> Result<Mask, Problem> {
    let media = media_type(&parts.headers);
    if media == RGBA {
        let query = RawQuery::parse(&parts.uri)?;
        let (width, height, _) = rgba_size(&parts.headers, &query, max_image_bytes)?;
        check_rgba_len(width, height, body.len())?;
        return rgba_mask(width, height, body);
    }
    if media.starts_with("image/") {
        return Mask::decode(body, max_image_bytes).map_err(Problem::from);
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct MaskRequest {
        mask: MaskJson,
    }
    let request: MaskRequest = json_body(&parts.headers, body)?;
    request.mask.to_mask("mask")
}

async fn cut_lines(
    State(state): State<Arc<AppState>>,
    admitted: Admitted,
    request: Request,
) -> Result<Response, Problem> {
    let max_bytes = state.config.image_bound();
    let check = move |parts: &Parts| check_mask_head(parts, max_bytes);
    admitted
        .call(&state, request, check, move |rt, parts, body| {
            let mask = mask_body(&parts, &body, max_bytes)?;
            drop(body);
            let lines = rt.compute_cut_lines(mask)?;
            Ok(Json(json!({ "cut_lines": polylines_json(&lines) })).into_response())
        })
        .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeparateRequest {
    mask: MaskJson,
    cut_lines: Vec<Vec<[i32; 2]>>,
}

async fn separate(
    State(state): State<Arc<AppState>>,
    admitted: Admitted,
    request: Request,
) -> Result<Response, Problem> {
    admitted
        .call(&state, request, json_head, move |rt, parts, body| {
            let request: SeparateRequest = json_body(&parts.headers, &body)?;
            drop(body);
            let (left, top) = (request.mask.left, request.mask.top);
            let mask = request.mask.to_mask("mask")?;
            let cuts = polylines(&request.cut_lines);
            let bands = rt.separate_lines(left, top, mask, &cuts)?;
            let bands: Vec<MaskJson> = bands.iter().map(|b| mask_json(b.left, b.top, &b.mask)).collect();
            Ok(Json(json!({ "bands": bands })).into_response())
        })
        .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodesRequest {
    nodes: Vec<NodeJson>,
}

fn nodes_body(parts: &Parts, body: &Bytes) -> Result<Vec<mung_runtime::Node>, Problem> {
    let request: NodesRequest = json_body(&parts.headers, body)?;
    request.nodes.iter().map(node_from_json).collect()
}

fn nodes_json(nodes: &[mung_runtime::Node]) -> Response {
    Json(json!({ "nodes": nodes.iter().map(node_json).collect::<Vec<_>>() })).into_response()
}

async fn staff(State(state): State<Arc<AppState>>, admitted: Admitted, request: Request) -> Result<Response, Problem> {
    admitted
        .call(&state, request, json_head, move |rt, parts, body| {
            let node = rt.generate_staff_from_stafflines(nodes_body(&parts, &body)?)?;
            Ok(Json(json!({ "node": node_json(&node) })).into_response())
        })
        .await
}

async fn staffspaces(
    State(state): State<Arc<AppState>>,
    admitted: Admitted,
    request: Request,
) -> Result<Response, Problem> {
    admitted
        .call(&state, request, json_head, move |rt, parts, body| {
            Ok(nodes_json(&rt.generate_staffspaces(nodes_body(&parts, &body)?)?))
        })
        .await
}

async fn snap(State(state): State<Arc<AppState>>, admitted: Admitted, request: Request) -> Result<Response, Problem> {
    admitted
        .call(&state, request, json_head, move |rt, parts, body| {
            Ok(nodes_json(&rt.snap_nodes_to_staves(nodes_body(&parts, &body)?)?))
        })
        .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InsertNodeRequest {
    document: String,
    class_name: String,
    mask: MaskJson,
}

async fn insert_node(
    State(state): State<Arc<AppState>>,
    admitted: Admitted,
    request: Request,
) -> Result<Response, Problem> {
    admitted
        .call(&state, request, json_head, move |rt, parts, body| {
            let request: InsertNodeRequest = json_body(&parts.headers, &body)?;
            drop(body);
            let placed = request.mask.to_placed("mask")?;
            let (xml, id) = rt.insert_node(&request.document, &request.class_name, placed).map_err(|e| {
                tracing::debug!(error = %error_chain(&e), "insert-node refused");
                Problem::from(e)
            })?;
            Ok(Json(json!({ "document": xml, "id": id })).into_response())
        })
        .await
}
