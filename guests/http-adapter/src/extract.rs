//! `/v1/extract/*`: the mask tools, with the native server's JSON shapes
//! (`crates/server/src/wire.rs`). The portable form takes JSON bodies (and,
//! where the native server does, the image or mask itself); it has no
//! multipart parser.

use mung_runtime_wire::shapes::Region;
use mung_runtime_wire::shapes::{MaskJson, NodeJson, PointsJson, RegionJson, base64_bytes};
use mung_runtime_wire::{headers, media};
use serde::Deserialize;
use serde_json::json;

use crate::http::{Request, Response};
use crate::mung::runtime::extraction::{self as wit, Mask, Point};
use crate::problem::{Problem, ProblemType, Problems as _};

/// The bound on decoded images, in bytes as RGBA (the native default: the
/// sandbox's default memory cap).
const MAX_IMAGE_BYTES: u64 = 1 << 30;

pub(crate) type Handler = fn(&Request) -> Result<Response, Problem>;

pub(crate) fn handler(path: &str) -> Option<Handler> {
    Some(match path {
        "/v1/extract/binarize" => binarize,
        "/v1/extract/stafflines" => stafflines,
        "/v1/extract/fill-polygon" => fill_polygon,
        "/v1/extract/cut-lines" => cut_lines,
        "/v1/extract/separate" => separate,
        "/v1/extract/staff" => staff,
        "/v1/extract/staffspaces" => staffspaces,
        "/v1/extract/snap" => snap,
        "/v1/extract/insert-node" => insert_node,
        _ => return None,
    })
}

/// The body as JSON of type `T` (415 for another media type, 400 when it
/// does not parse).
fn json_body<T: serde::de::DeserializeOwned>(request: &Request) -> Result<T, Problem> {
    let media = request.media_type();
    if media != "application/json" && !media.ends_with("+json") {
        return Err(Problem::unsupported_media_type(format!(
            "send application/json, not {}",
            if media.is_empty() { "a body without Content-Type".into() } else { media }
        )));
    }
    serde_json::from_slice(&request.body).map_err(|e| Problem::bad_request(format!("the JSON body does not fit: {e}")))
}

/// A mask as JSON, placed at `left`, `top`.
fn mask_json(left: i32, top: i32, mask: &Mask) -> MaskJson {
    MaskJson::new(left, top, mask.width, mask.height, &mask.pixels)
}

/// The WIT mask a JSON mask describes, its size checked.
fn to_mask(json: &MaskJson, what: &str) -> Result<Mask, Problem> {
    Ok(Mask { width: json.width, height: json.height, pixels: json.decode_pixels(what)? })
}

/// Points as the WIT type.
fn to_points(json: &PointsJson, what: &str, min_points: usize) -> Result<Vec<Point>, Problem> {
    Ok(json.to_points(what, min_points)?.into_iter().map(|[x, y]| Point { x, y }).collect())
}

fn node_json(n: wit::Node) -> NodeJson {
    let mask = n.mask.as_ref().map(|m| mask_json(n.left, n.top, m));
    NodeJson {
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
        mask,
    }
}

fn node_from_json(n: &NodeJson) -> Result<wit::Node, Problem> {
    let what = format!("node {}", n.id);
    Ok(wit::Node {
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
        mask: n.mask.as_ref().map(|m| to_mask(m, &what)).transpose()?,
    })
}

/// Decodes an image whose header promises at most `max_bytes` of pixels
/// (the messages are the host library's).
fn decode_limited(bytes: &[u8], what: &str) -> Result<image::DynamicImage, Problem> {
    let reader = || {
        let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| Problem::invalid_input(format!("cannot read the {what}: {e}")))?;
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(MAX_IMAGE_BYTES);
        reader.limits(limits);
        Ok::<_, Problem>(reader)
    };
    let (width, height) =
        reader()?.into_dimensions().map_err(|e| Problem::invalid_input(format!("cannot read the {what}: {e}")))?;
    let needed = width as u64 * height as u64 * 4;
    if needed > MAX_IMAGE_BYTES {
        return Err(Problem::invalid_input(format!(
            "the {what} is {width}x{height} pixels ({} MiB as RGBA), over the limit of {} MiB",
            needed >> 20,
            MAX_IMAGE_BYTES >> 20
        )));
    }
    reader()?.decode().map_err(|e| Problem::invalid_input(format!("cannot decode the {what}: {e}")))
}

fn check_inside(region: Region, width: u32, height: u32) -> Result<(), Problem> {
    if region.width == 0 || region.height == 0 {
        return Err(Problem::invalid_input(format!("the region {region} is empty")));
    }
    let right = region.x as u64 + region.width as u64;
    let bottom = region.y as u64 + region.height as u64;
    if right > width as u64 || bottom > height as u64 {
        return Err(Problem::invalid_input(format!(
            "the region {region} reaches ({right}, {bottom}), outside the {width}x{height} image"
        )));
    }
    Ok(())
}

/// Whether the client asked for JSON rather than a PNG.
fn wants_json(request: &Request) -> bool {
    request.header("accept").is_some_and(|v| v.contains("application/json") && !v.contains("image/png"))
}

fn to_png(mask: &Mask) -> Vec<u8> {
    let pixels = mask.pixels.iter().map(|&p| if p != 0 { 255 } else { 0 }).collect();
    let luma = image::GrayImage::from_raw(mask.width, mask.height, pixels).expect("mask size matches its pixels");
    let mut png = Vec::new();
    luma.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encoding a grey image as PNG into memory cannot fail");
    png
}

/// A mask as PNG (placement and size in the `X-Mung-*` headers) or JSON.
fn mask_response(json: bool, left: i32, top: i32, mask: &Mask) -> Response {
    if json {
        // Serialised as the struct (field order), as the native `Json(MaskJson)`.
        let body = serde_json::to_vec(&mask_json(left, top, mask)).expect("a mask serialises");
        return Response::new(200, "application/json", body);
    }
    Response::new(200, media::PNG, to_png(mask))
        .header(headers::LEFT, left)
        .header(headers::TOP, top)
        .header(headers::WIDTH, mask.width)
        .header(headers::HEIGHT, mask.height)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionRequestJson {
    /// base64 PNG or JPEG (a data URL is fine).
    image: String,
    region: Option<RegionJson>,
    polygon: Option<PointsJson>,
}

#[derive(Clone, Copy)]
enum Tool {
    Binarize,
    Stafflines,
}

fn region_tool(request: &Request, tool: Tool) -> Result<Response, Problem> {
    let json = wants_json(request);
    let media = request.media_type();
    let (image, region, polygon) = if media == "multipart/form-data" {
        return Err(Problem::unsupported_media_type(
            "the portable component takes application/json ({\"image\": base64, \"region\": [x, y, w, h]}) \
             or the image itself, not multipart/form-data",
        ));
    } else if media.starts_with("image/") {
        (request.body.clone(), None, None)
    } else {
        let body: RegionRequestJson = json_body(request).map_err(|p| {
            if p.kind == ProblemType::UNSUPPORTED_MEDIA_TYPE {
                Problem::unsupported_media_type(
                    "send multipart/form-data (image, region, polygon), application/json, or the image itself",
                )
            } else {
                p
            }
        })?;
        (
            base64_bytes(&body.image, "image")?,
            body.region.as_ref().map(RegionJson::to_region).transpose()?,
            body.polygon.as_ref().map(|p| to_points(p, "polygon", 3)).transpose()?,
        )
    };
    let page = decode_limited(&image, "image")?;
    drop(image);
    let (crop, region) = match region {
        Some(region) => {
            check_inside(region, page.width(), page.height())?;
            (page.crop_imm(region.x, region.y, region.width, region.height).to_rgba8(), region)
        }
        None => {
            let rgba = page.to_rgba8();
            let region = Region { x: 0, y: 0, width: rgba.width(), height: rgba.height() };
            (rgba, region)
        }
    };
    drop(page);
    let crop = wit::RgbaImage { width: crop.width(), height: crop.height(), pixels: crop.into_raw() };
    let mut mask = match tool {
        Tool::Binarize => wit::otsu_binarize_region(&crop)?,
        Tool::Stafflines => wit::detect_stafflines(&crop)?,
    };
    if let Some(polygon) = polygon {
        let local: Vec<Point> =
            polygon.iter().map(|p| Point { x: p.x - region.x as i32, y: p.y - region.y as i32 }).collect();
        let inside = wit::fill_polygon(region.width, region.height, &local)?;
        if (mask.width, mask.height) != (inside.width, inside.height) {
            return Err(Problem::invalid_input(format!(
                "masks of different sizes: {}x{} and {}x{}",
                mask.width, mask.height, inside.width, inside.height
            )));
        }
        for (a, b) in mask.pixels.iter_mut().zip(&inside.pixels) {
            *a &= *b;
        }
    }
    Ok(mask_response(json, region.x as i32, region.y as i32, &mask))
}

fn binarize(request: &Request) -> Result<Response, Problem> {
    region_tool(request, Tool::Binarize)
}

fn stafflines(request: &Request) -> Result<Response, Problem> {
    region_tool(request, Tool::Stafflines)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FillPolygonRequest {
    width: u32,
    height: u32,
    polygon: PointsJson,
}

fn fill_polygon(request: &Request) -> Result<Response, Problem> {
    let body: FillPolygonRequest = json_body(request)?;
    let points = to_points(&body.polygon, "polygon", 1)?;
    let pixels = body.width as u64 * body.height as u64;
    if pixels == 0 || pixels > MAX_IMAGE_BYTES {
        return Err(Problem::bad_request(format!("a {}x{} mask is empty or too large", body.width, body.height)));
    }
    let mask = wit::fill_polygon(body.width, body.height, &points)?;
    Ok(mask_response(wants_json(request), 0, 0, &mask))
}

/// A mask from a PNG body or `{"mask": {...}}`.
fn mask_body(request: &Request) -> Result<Mask, Problem> {
    if request.media_type().starts_with("image/") {
        let image = decode_limited(&request.body, "mask")?;
        let (width, height) = (image.width(), image.height());
        let pixels = if image.color().has_alpha() {
            image.to_rgba8().pixels().map(|p| u8::from(p.0[3] > 127)).collect()
        } else {
            image.to_luma8().pixels().map(|p| u8::from(p.0[0] > 127)).collect()
        };
        return Ok(Mask { width, height, pixels });
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct MaskRequest {
        mask: MaskJson,
    }
    let body: MaskRequest = json_body(request)?;
    to_mask(&body.mask, "mask")
}

fn polylines_json(lines: &[Vec<Point>]) -> Vec<Vec<[i32; 2]>> {
    lines.iter().map(|l| l.iter().map(|p| [p.x, p.y]).collect()).collect()
}

fn cut_lines(request: &Request) -> Result<Response, Problem> {
    let mask = mask_body(request)?;
    let lines = wit::compute_cut_lines(&mask)?;
    Ok(Response::json(&json!({ "cut_lines": polylines_json(&lines) })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeparateRequest {
    mask: MaskJson,
    cut_lines: Vec<Vec<[i32; 2]>>,
}

fn separate(request: &Request) -> Result<Response, Problem> {
    let body: SeparateRequest = json_body(request)?;
    let (left, top) = (body.mask.left, body.mask.top);
    let mask = to_mask(&body.mask, "mask")?;
    let cuts: Vec<Vec<Point>> =
        body.cut_lines.iter().map(|l| l.iter().map(|&[x, y]| Point { x, y }).collect()).collect();
    let bands = wit::separate_lines(left, top, &mask, &cuts)?;
    let bands: Vec<MaskJson> = bands.iter().map(|b| mask_json(b.left, b.top, &b.mask)).collect();
    Ok(Response::json(&json!({ "bands": bands })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodesRequest {
    nodes: Vec<NodeJson>,
}

fn nodes_body(request: &Request) -> Result<Vec<wit::Node>, Problem> {
    let body: NodesRequest = json_body(request)?;
    body.nodes.iter().map(node_from_json).collect()
}

fn staff(request: &Request) -> Result<Response, Problem> {
    let node = wit::generate_staff_from_stafflines(&nodes_body(request)?)?;
    Ok(Response::json(&json!({ "node": node_json(node) })))
}

fn staffspaces(request: &Request) -> Result<Response, Problem> {
    let out = wit::generate_staffspaces(&nodes_body(request)?)?;
    Ok(Response::json(&json!({ "nodes": out.into_iter().map(node_json).collect::<Vec<_>>() })))
}

fn snap(request: &Request) -> Result<Response, Problem> {
    let out = wit::snap_nodes_to_staves(&nodes_body(request)?)?;
    Ok(Response::json(&json!({ "nodes": out.into_iter().map(node_json).collect::<Vec<_>>() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InsertNodeRequest {
    document: String,
    class_name: String,
    mask: MaskJson,
}

fn insert_node(request: &Request) -> Result<Response, Problem> {
    let body: InsertNodeRequest = json_body(request)?;
    let placed = wit::PlacedMask { left: body.mask.left, top: body.mask.top, mask: to_mask(&body.mask, "mask")? };
    let out = wit::insert_node(&body.document, &body.class_name, &placed)?;
    Ok(Response::json(&json!({ "document": out.mung_xml, "id": out.id })))
}
