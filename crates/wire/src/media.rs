//! Media types of request and answer bodies.

/// Every error answer (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// JSON bodies.
pub const JSON: &str = "application/json";

/// One JSON object per line: the batch route's answer.
pub const NDJSON: &str = "application/x-ndjson";

/// MuNG documents.
pub const XML: &str = "application/xml";

/// Raw pixels, 4 bytes (R, G, B, A) per pixel, rows top to bottom, with the
/// size in [`X-Mung-Width`](crate::headers::WIDTH) and
/// [`X-Mung-Height`](crate::headers::HEIGHT) (or, in requests, the `width`
/// and `height` query parameters). What a browser's `ImageData` holds, so
/// neither side encodes PNG.
pub const RGBA: &str = "application/vnd.mung.rgba";

/// Masks and pages as PNG.
pub const PNG: &str = "image/png";
