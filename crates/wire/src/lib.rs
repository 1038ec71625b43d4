//! The HTTP contract of mung-runtime in one place: the problem types every
//! error answer uses (RFC 9457), the `X-Mung-*` headers, the media types and
//! the JSON shapes of masks, nodes, regions and points.
//!
//! The native server (`mung-runtime-server`) and the portable component's
//! HTTP adapter (`guests/http-adapter/`, served by `wasmtime serve`) both build their
//! answers from these, so the two cannot drift apart; a test sends the same
//! requests to both and compares the bytes. The crate depends only on
//! `serde`, `serde_json` and `base64`, so it builds for `wasm32-wasip2` too.

#![deny(missing_docs)]

pub mod headers;
pub mod media;
pub mod problem;
pub mod shapes;

pub use problem::{Problem, ProblemType};
