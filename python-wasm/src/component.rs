//! Turning the interpreter's core module into mung-runtime's component.
//!
//! Two steps:
//! 1. [`wrap_interpreter`]: the core module plus the preview1 *reactor*
//!    adapter and our `host` adapter (`adapter/host.wat`) become the
//!    *interpreter component*, which exports the low-level `mung:interp/turn`.
//! 2. [`compose`]: the glue component (built from `guest-wit/`) imports that
//!    interface and exports the typed `mung:runtime` interfaces; composing
//!    the two gives one standard component whose only imports are WASI 0.2.

use std::path::Path;

use anyhow::Context;
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::Resolve;

use crate::{ArtifactError, Result};

/// The `host` adapter's source.
pub const HOST_ADAPTER_WAT: &str = include_str!("../adapter/host.wat");
/// The low-level interface the interpreter component exports.
pub const INTERP_WIT: &str = include_str!("../adapter/interp.wit");

/// Builds the `host` adapter module, with its WIT world embedded.
pub fn host_adapter() -> Result<Vec<u8>> {
    let build = || -> anyhow::Result<Vec<u8>> {
        let mut module = wat::parse_str(HOST_ADAPTER_WAT).context("parsing adapter/host.wat")?;
        let mut resolve = Resolve::default();
        let package = resolve.push_str("interp.wit", INTERP_WIT)?;
        let world = resolve.select_world(&[package], Some("interp"))?;
        wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)?;
        Ok(module)
    };
    build().map_err(|e| ArtifactError::Component(e.into()))
}

/// Wraps the interpreter core module into the interpreter component.
pub fn wrap_interpreter(core_module: &[u8]) -> Result<Vec<u8>> {
    let adapter = host_adapter()?;
    let encode = || -> anyhow::Result<Vec<u8>> {
        ComponentEncoder::default()
            .validate(true)
            .module(core_module)?
            .adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER)?
            .adapter("host", &adapter)?
            .encode()
    };
    encode().map_err(|e| ArtifactError::Component(e.into()))
}

/// Composes the glue component with the interpreter component; `scratch` is
/// a directory for the two input files (the composer reads paths).
pub fn compose(interpreter: &[u8], glue: &[u8], scratch: &Path) -> Result<Vec<u8>> {
    compose_pair(
        scratch,
        Part { file: "glue", what: "glue", bytes: glue },
        Part { file: "interpreter", what: "interpreter", bytes: interpreter },
    )
}

/// Composes the HTTP adapter (built from `guest-http/`) in front of the
/// standalone component (the result of [`compose`]): the adapter's
/// `mung:runtime` imports are wired to the standalone component's exports,
/// and the result exports what the adapter exports,
/// `wasi:http/incoming-handler` and the three `mung:runtime` interfaces (the
/// adapter forwards those), so `wasmtime serve` can run it. `scratch` is a
/// directory for the two input files.
pub fn compose_http(standalone: &[u8], http_adapter: &[u8], scratch: &Path) -> Result<Vec<u8>> {
    compose_pair(
        scratch,
        Part { file: "http", what: "HTTP adapter", bytes: http_adapter },
        Part { file: "standalone", what: "standalone", bytes: standalone },
    )
}

/// One input of [`compose_pair`]: the scratch file's stem (the composer
/// reads paths), a name for errors, and the component.
struct Part<'a> {
    file: &'a str,
    what: &'a str,
    bytes: &'a [u8],
}

/// `root` with its imports satisfied by `dependency`'s exports.
fn compose_pair(scratch: &Path, root: Part<'_>, dependency: Part<'_>) -> Result<Vec<u8>> {
    let (root_path, dep_path) =
        (scratch.join(format!("{}.wasm", root.file)), scratch.join(format!("{}.wasm", dependency.file)));
    for (part, file) in [(&root, &root_path), (&dependency, &dep_path)] {
        std::fs::write(file, part.bytes).map_err(ArtifactError::io(format!("writing the {} component", part.what)))?;
    }
    let config =
        wasm_compose::config::Config { dir: scratch.to_path_buf(), definitions: vec![dep_path], ..Default::default() };
    wasm_compose::composer::ComponentComposer::new(&root_path, &config)
        .compose()
        .map_err(|e| ArtifactError::Component(e.into()))
}
