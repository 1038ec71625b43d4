//! Request bodies: media types, documents, JSON, and raw RGBA pixels.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Uri, header};
use bytes::BytesMut;
use http_body_util::BodyExt;
use serde::Deserialize;

use crate::problem::Problem;

/// Raw pixels, as `ImageData.data` holds them: `width × height × 4` bytes,
/// row-major RGBA, the size in `X-Mung-Width`/`X-Mung-Height` or the query.
pub const RGBA: &str = "application/vnd.mung.rgba";

/// The media type of the request, lower-cased, without parameters.
pub(crate) fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// "a body without Content-Type" for an empty media type, else the type.
fn described(media: String) -> String {
    if media.is_empty() { "a body without Content-Type".into() } else { media }
}

/// Checks that the body is a MuNG document (XML media type) before it is read.
pub(crate) fn check_xml(headers: &HeaderMap) -> Result<(), Problem> {
    let media = media_type(headers);
    if matches!(media.as_str(), "application/xml" | "text/xml") || media.ends_with("+xml") {
        return Ok(());
    }
    Err(Problem::unsupported_media_type(format!(
        "send the MuNG document as application/xml or text/xml, not {}",
        described(media)
    )))
}

/// The body as a MuNG document: XML media type, UTF-8 text.
pub(crate) fn xml_body(headers: &HeaderMap, body: &Bytes) -> Result<String, Problem> {
    check_xml(headers)?;
    if body.is_empty() {
        return Err(Problem::bad_request("the request body is empty; send a MuNG XML document"));
    }
    mung_runtime::document_text(body).map(str::to_owned).map_err(Problem::from)
}

/// Checks that the body is JSON before it is read.
pub(crate) fn check_json(headers: &HeaderMap) -> Result<(), Problem> {
    let media = media_type(headers);
    if media == "application/json" || media.ends_with("+json") {
        return Ok(());
    }
    Err(Problem::unsupported_media_type(format!("send application/json, not {}", described(media))))
}

/// The body as JSON of type `T` (415 for another media type, 400 when it
/// does not parse).
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, Problem> {
    check_json(headers)?;
    serde_json::from_slice(body).map_err(|e| Problem::bad_request(format!("the JSON body does not fit: {e}")))
}

/// What the query of a raw-pixel request may say.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQuery {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub region: Option<String>,
    pub polygon: Option<String>,
}

impl RawQuery {
    pub(crate) fn parse(uri: &Uri) -> Result<RawQuery, Problem> {
        match uri.query() {
            None | Some("") => Ok(RawQuery::default()),
            Some(q) => serde_urlencoded::from_str(q).map_err(|e| {
                Problem::bad_request(format!("the query does not fit (width, height, region, polygon): {e}"))
            }),
        }
    }
}

/// The size of a raw RGBA body, from `X-Mung-Width`/`X-Mung-Height` or
/// else the query, and the byte length it implies, which must not exceed
/// `max_bytes` (checked before the body is read).
pub(crate) fn rgba_size(headers: &HeaderMap, query: &RawQuery, max_bytes: u64) -> Result<(u32, u32, u64), Problem> {
    let dimension = |name: &str, from_query: Option<u32>| -> Result<u32, Problem> {
        match headers.get(name) {
            Some(v) => v
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u32>().ok())
                .ok_or_else(|| Problem::bad_request(format!("{name} must be a non-negative integer"))),
            None => from_query.ok_or_else(|| {
                Problem::bad_request(format!(
                    "a {RGBA} body needs its size: the headers X-Mung-Width and X-Mung-Height, or ?width=W&height=H"
                ))
            }),
        }
    };
    let width = dimension("x-mung-width", query.width)?;
    let height = dimension("x-mung-height", query.height)?;
    if width == 0 || height == 0 {
        return Err(Problem::bad_request(format!("a {width}x{height} image is empty")));
    }
    let bytes = width as u64 * height as u64 * 4;
    if bytes > max_bytes {
        return Err(Problem::too_large(format!(
            "a {width}x{height} RGBA image is {} MiB, over the server's limit of {} MiB",
            bytes >> 20,
            max_bytes >> 20
        )));
    }
    Ok((width, height, bytes))
}

/// Checks that a raw body has the length its size implies.
pub(crate) fn check_rgba_len(width: u32, height: u32, len: usize) -> Result<(), Problem> {
    let expected = width as u64 * height as u64 * 4;
    if len as u64 != expected {
        return Err(Problem::bad_request(format!(
            "{len} bytes of RGBA for a {width}x{height} image (expected {expected}: width × height × 4)"
        )));
    }
    Ok(())
}

/// The `Content-Length` a request declares, if any.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// Refuses a body whose declared length is over `limit`, before reading it.
pub(crate) fn check_declared(headers: &HeaderMap, limit: u64, flag: &str) -> Result<(), Problem> {
    match declared_length(headers) {
        Some(n) if n > limit => Err(Problem::too_large(format!(
            "the request body is {n} bytes, more than the server's limit of {limit} (see `serve {flag}`)"
        ))),
        _ => Ok(()),
    }
}

/// Reads the whole body, at most `limit` bytes, with no pause longer than
/// `stall` between pieces (408 then: a client that stops sending does not
/// hold its admission). The buffer never grows past `limit`.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    stall: Duration,
) -> Result<Bytes, Problem> {
    check_declared(headers, limit as u64, "--max-body")?;
    let too_large = || {
        Problem::too_large(format!(
            "the request body is larger than the server's limit of {limit} bytes (see `serve --max-body`)"
        ))
    };
    let mut body = body;
    let mut first: Option<Bytes> = None;
    let mut buffer: Option<BytesMut> = None;
    loop {
        let frame = match tokio::time::timeout(stall, body.frame()).await {
            Err(_) => return Err(Problem::stalled(stall)),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(Problem::bad_request(format!("the request body broke off: {e}"))),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else { continue };
        let have = first.as_ref().map_or(0, Bytes::len) + buffer.as_ref().map_or(0, BytesMut::len);
        if have + data.len() > limit {
            return Err(too_large());
        }
        // One piece is the common case: keep it without copying.
        match (&mut first, &mut buffer) {
            (None, None) => first = Some(data),
            (Some(_), None) => {
                let head = first.take().expect("just matched");
                let capacity =
                    declared_length(headers).map_or(0, |n| n as usize).min(limit).max(head.len() + data.len());
                let mut b = BytesMut::with_capacity(capacity);
                b.extend_from_slice(&head);
                b.extend_from_slice(&data);
                buffer = Some(b);
            }
            (_, Some(b)) => b.extend_from_slice(&data),
        }
    }
    Ok(match (first, buffer) {
        (_, Some(b)) => b.freeze(),
        (Some(f), None) => f,
        (None, None) => Bytes::new(),
    })
}

/// Copies the body to an anonymous temporary file, at most `limit` bytes,
/// with the same stall bound as [`read_body`]. Returns the file, rewound.
pub(crate) async fn spool_body(
    headers: &HeaderMap,
    body: Body,
    limit: u64,
    stall: Duration,
) -> Result<std::fs::File, Problem> {
    use std::io::Seek;
    use tokio::io::AsyncWriteExt;
    check_declared(headers, limit, "--max-batch-body")?;
    let internal = |e: std::io::Error| Problem::internal(format!("cannot spool the request to a temporary file: {e}"));
    let file = tempfile::tempfile().map_err(internal)?;
    let mut writer = tokio::fs::File::from_std(file.try_clone().map_err(internal)?);
    let mut body = body;
    let mut total = 0u64;
    loop {
        let frame = match tokio::time::timeout(stall, body.frame()).await {
            Err(_) => return Err(Problem::stalled(stall)),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(Problem::bad_request(format!("the request body broke off: {e}"))),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else { continue };
        total += data.len() as u64;
        if total > limit {
            return Err(Problem::too_large(format!(
                "the request body is larger than the server's limit of {limit} bytes (see `serve --max-batch-body`)"
            )));
        }
        writer.write_all(&data).await.map_err(internal)?;
    }
    writer.flush().await.map_err(internal)?;
    drop(writer);
    let mut file = file;
    file.rewind().map_err(internal)?;
    Ok(file)
}
