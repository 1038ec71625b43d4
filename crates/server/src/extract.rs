//! `/v1/extract/*`: MuNG Studio's mask tools, mirroring the WIT
//! `extraction` interface.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mung_runtime::{Mask, Point, Region, RegionTool, RgbaImage};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::admission::run;
use crate::problem::{Problem, chain};
use crate::routes::{json_body, media_type};
use crate::wire::{MaskJson, NodeJson, PointsJson, RegionJson, base64_bytes, polylines, polylines_json};

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

/// A region tool's request, from multipart fields or a JSON object.
struct RegionRequest {
    image: Vec<u8>,
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

async fn read_region_request(request: Request) -> Result<RegionRequest, Problem> {
    let media = media_type(request.headers());
    if media == "multipart/form-data" {
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| Problem::bad_request(format!("unreadable multipart body: {e}")))?;
        let (mut image, mut region, mut polygon) = (None, None, None);
        while let Some(field) =
            form.next_field().await.map_err(|e| Problem::bad_request(format!("unreadable multipart body: {e}")))?
        {
            let name = field.name().unwrap_or_default().to_string();
            let bytes = field.bytes().await.map_err(|e| Problem::bad_request(format!("field {name}: {e}")))?;
            let text = || String::from_utf8_lossy(&bytes).trim().to_string();
            match name.as_str() {
                "image" => image = Some(bytes.to_vec()),
                "region" if !text().is_empty() => {
                    region = Some(text().parse::<Region>().map_err(|e| Problem::bad_request(format!("region: {e}")))?)
                }
                "polygon" if !text().is_empty() => {
                    polygon =
                        Some(Point::parse_list(&text(), 3).map_err(|e| Problem::bad_request(format!("polygon: {e}")))?)
                }
                "region" | "polygon" => {}
                other => {
                    return Err(Problem::bad_request(format!(
                        "unknown field {other:?} (expected image, region, polygon)"
                    )));
                }
            }
        }
        let image = image.ok_or_else(|| Problem::bad_request("the `image` field (a PNG or JPEG file) is missing"))?;
        return Ok(RegionRequest { image, region, polygon });
    }
    let headers = request.headers().clone();
    let body =
        Bytes::from_request(request, &()).await.map_err(|e| Problem::bad_request(format!("unreadable body: {e}")))?;
    if media.starts_with("image/") {
        return Ok(RegionRequest { image: body.to_vec(), region: None, polygon: None });
    }
    let json: RegionRequestJson = json_body(&headers, &body).map_err(|p| {
        if p.status == axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE {
            Problem::unsupported_media_type(
                "send multipart/form-data (image, region, polygon), application/json, or the image itself",
            )
        } else {
            p
        }
    })?;
    Ok(RegionRequest {
        image: base64_bytes(&json.image, "image")?,
        region: json.region.map(|r| r.to_region()).transpose()?,
        polygon: json.polygon.map(|p| p.to_points("polygon", 3)).transpose()?,
    })
}

/// Whether the client asked for JSON rather than a PNG.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json") && !v.contains("image/png"))
}

/// A mask as PNG (placement in `X-Mung-Left`/`X-Mung-Top`) or JSON.
fn mask_response(json: bool, left: i32, top: i32, mask: &Mask) -> Response {
    if json {
        return Json(MaskJson::new(left, top, mask)).into_response();
    }
    let mut response = mask.to_png().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    headers.insert("x-mung-left", HeaderValue::from(left));
    headers.insert("x-mung-top", HeaderValue::from(top));
    response
}

async fn region_tool(state: Arc<AppState>, tool: RegionTool, request: Request) -> Result<Response, Problem> {
    let json = wants_json(request.headers());
    let RegionRequest { image, region, polygon } = read_region_request(request).await?;
    let max_bytes = state.config.max_image_bytes;
    let (crop, region) = tokio::task::spawn_blocking(move || {
        let crop = RgbaImage::decode_region(&image, region, max_bytes)?;
        let region = region.unwrap_or(Region { x: 0, y: 0, width: crop.width, height: crop.height });
        Ok::<_, mung_runtime::ExtractError>((crop, region))
    })
    .await
    .map_err(|e| Problem::bad_request(format!("the image could not be decoded: {e}")))??;
    let mask = run(&state, move |rt| rt.region_mask(tool, crop, region, polygon.as_deref())).await??;
    Ok(mask_response(json, region.x as i32, region.y as i32, &mask))
}

async fn binarize(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, Problem> {
    region_tool(state, RegionTool::Binarize, request).await
}

async fn stafflines(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, Problem> {
    region_tool(state, RegionTool::Stafflines, request).await
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
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let request: FillPolygonRequest = json_body(&headers, &body)?;
    let points = request.polygon.to_points("polygon", 1)?;
    let pixels = request.width as u64 * request.height as u64;
    if pixels == 0 || pixels > state.config.max_image_bytes {
        return Err(Problem::bad_request(format!("a {}x{} mask is empty or too large", request.width, request.height)));
    }
    let mask = run(&state, move |rt| rt.fill_polygon(request.width, request.height, &points)).await??;
    Ok(mask_response(wants_json(&headers), 0, 0, &mask))
}

/// A mask from a PNG body or `{"mask": {...}}`.
fn mask_body(state: &AppState, headers: &HeaderMap, body: &Bytes) -> Result<Mask, Problem> {
    if media_type(headers).starts_with("image/") {
        return Mask::decode(body, state.config.max_image_bytes).map_err(Problem::from);
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct MaskRequest {
        mask: MaskJson,
    }
    let request: MaskRequest = json_body(headers, body)?;
    request.mask.to_mask("mask")
}

async fn cut_lines(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let mask = mask_body(&state, &headers, &body)?;
    drop(body);
    let lines = run(&state, move |rt| rt.compute_cut_lines(mask)).await??;
    Ok(Json(json!({ "cut_lines": polylines_json(&lines) })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeparateRequest {
    mask: MaskJson,
    cut_lines: Vec<Vec<[i32; 2]>>,
}

async fn separate(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let request: SeparateRequest = json_body(&headers, &body)?;
    drop(body);
    let (left, top) = (request.mask.left, request.mask.top);
    let mask = request.mask.to_mask("mask")?;
    let cuts = polylines(&request.cut_lines);
    let bands = run(&state, move |rt| rt.separate_lines(left, top, mask, &cuts)).await??;
    let bands: Vec<MaskJson> = bands.iter().map(|b| MaskJson::new(b.left, b.top, &b.mask)).collect();
    Ok(Json(json!({ "bands": bands })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodesRequest {
    nodes: Vec<NodeJson>,
}

fn nodes_body(headers: &HeaderMap, body: &Bytes) -> Result<Vec<mung_runtime::Node>, Problem> {
    let request: NodesRequest = json_body(headers, body)?;
    request.nodes.iter().map(NodeJson::to_node).collect()
}

async fn staff(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let nodes = nodes_body(&headers, &body)?;
    let node = run(&state, move |rt| rt.generate_staff_from_stafflines(nodes)).await??;
    Ok(Json(json!({ "node": NodeJson::from_node(&node) })).into_response())
}

async fn staffspaces(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let nodes = nodes_body(&headers, &body)?;
    let out = run(&state, move |rt| rt.generate_staffspaces(nodes)).await??;
    Ok(Json(json!({ "nodes": out.iter().map(NodeJson::from_node).collect::<Vec<_>>() })).into_response())
}

async fn snap(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let nodes = nodes_body(&headers, &body)?;
    let out = run(&state, move |rt| rt.snap_nodes_to_staves(nodes)).await??;
    Ok(Json(json!({ "nodes": out.iter().map(NodeJson::from_node).collect::<Vec<_>>() })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InsertNodeRequest {
    document: String,
    class_name: String,
    mask: MaskJson,
}

async fn insert_node(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let request: InsertNodeRequest = json_body(&headers, &body)?;
    drop(body);
    let placed = request.mask.to_placed("mask")?;
    let (document, class_name) = (request.document, request.class_name);
    let (xml, id) = run(&state, move |rt| rt.insert_node(&document, &class_name, placed)).await?.map_err(|e| {
        tracing::debug!(error = %chain(&e), "insert-node refused");
        Problem::from(e)
    })?;
    Ok(Json(json!({ "document": xml, "id": id })).into_response())
}
