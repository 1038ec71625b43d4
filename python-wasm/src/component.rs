//! Turning the interpreter's core module into mung-runtime's component.
//!
//! Two steps:
//! 1. [`wrap_interpreter`]: the core module plus the preview1 *reactor*
//!    adapter and our `host` adapter (`adapter/host.wat`) become the
//!    *interpreter component*, which exports the low-level `mung:interp/turn`.
//! 2. [`compose`]: the glue component (built from `guests/glue/`) imports that
//!    interface and exports the typed `mung:runtime` interfaces; composing
//!    the two gives one standard component whose only imports are WASI 0.2.

use std::path::Path;

use anyhow::Context;
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wasm_compose::graph::{Component, CompositionGraph, EncodeOptions};
use wasm_encoder::{Alias, ComponentAliasSection, ComponentExportKind, ComponentExportSection, ComponentSection};
use wasmparser::{ComponentAlias, ComponentExternalKind, ComponentTypeRef, Parser, Payload, Validator, WasmFeatures};
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
    let (glue_path, interpreter_path) = (scratch.join("glue.wasm"), scratch.join("interpreter.wasm"));
    for (what, bytes, file) in [("glue", glue, &glue_path), ("interpreter", interpreter, &interpreter_path)] {
        std::fs::write(file, bytes).map_err(ArtifactError::io(format!("writing the {what} component")))?;
    }
    let config = wasm_compose::config::Config {
        dir: scratch.to_path_buf(),
        definitions: vec![interpreter_path],
        ..Default::default()
    };
    wasm_compose::composer::ComponentComposer::new(&glue_path, &config)
        .compose()
        .map_err(|e| ArtifactError::Component(e.into()))
}

/// Composes the HTTP adapter (built from `guests/http-adapter/`) in front of the
/// standalone component (the result of [`compose`]): the adapter's
/// `mung:runtime/*` imports are wired to the standalone component's exports
/// of the same names, and the result exports the adapter's
/// `wasi:http/incoming-handler` (so `wasmtime serve` can run it) and, beside
/// it, every `mung:runtime/*` export of the standalone component unchanged:
/// a caller of `mung:runtime/validation` calls the standalone component
/// directly.
pub fn compose_http(standalone: &[u8], http_adapter: &[u8]) -> Result<Vec<u8>> {
    let build = || -> anyhow::Result<Vec<u8>> {
        let mut validator = Validator::new_with_features(WasmFeatures::all());
        let standalone = Component::from_bytes(&mut validator, "standalone", standalone)
            .context("reading the standalone component")?;
        let adapter =
            Component::from_bytes(&mut validator, "http", http_adapter).context("reading the HTTP adapter")?;
        let interfaces: Vec<String> = standalone
            .exports()
            .filter(|(_, name, kind, _)| name.starts_with(RUNTIME_PACKAGE) && *kind == ComponentExternalKind::Instance)
            .map(|(_, name, ..)| name.to_string())
            .collect();
        // The adapter's `mung:runtime` imports, each with the standalone
        // export that satisfies it.
        let mut wiring = Vec::new();
        for (import, name, _) in adapter.imports() {
            if name.starts_with(RUNTIME_PACKAGE) {
                let (export, ..) = standalone
                    .export_by_name(name)
                    .with_context(|| format!("the standalone component does not export {name}"))?;
                wiring.push((export, import));
            }
        }
        anyhow::ensure!(!wiring.is_empty(), "the HTTP adapter imports no {RUNTIME_PACKAGE} interface");

        let mut graph = CompositionGraph::new();
        let standalone = graph.add_component(standalone)?;
        let adapter = graph.add_component(adapter)?;
        let (runtime, front) = (graph.instantiate(standalone)?, graph.instantiate(adapter)?);
        for (export, import) in wiring {
            graph.connect(runtime, Some(export), front, import)?;
        }
        let composed = graph.encode(EncodeOptions { define_components: true, export: Some(front), validate: false })?;
        let composed = export_runtime_interfaces(composed, &interfaces)?;
        Validator::new_with_features(WasmFeatures::all())
            .validate_all(&composed)
            .context("validating the HTTP component")?;
        Ok(composed)
    };
    build().map_err(|e| ArtifactError::Component(e.into()))
}

/// The package whose interfaces the HTTP component exports from the
/// standalone component.
const RUNTIME_PACKAGE: &str = "mung:runtime/";

/// `composed`, a composition exporting the adapter's exports only (all that
/// wasm-compose exports: one instance's), with the standalone instance's
/// `interfaces` exported too.
///
/// The standalone instance is the one whose `mung:runtime/*` exports the
/// composition aliases to pass to the adapter. An alias section and an
/// export section appended at the end add the exports (a component's
/// sections may come in any order); the new aliases take the next indices of
/// the top-level instance index space, which imports, instantiations,
/// instance aliases and instance exports each extend by one.
fn export_runtime_interfaces(mut composed: Vec<u8>, interfaces: &[String]) -> anyhow::Result<Vec<u8>> {
    let mut instances = 0u32;
    let mut runtime: Option<u32> = None;
    // Nesting depth: 1 is the composed component's own sections.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(&composed) {
        match payload? {
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth -= 1,
            _ if depth != 1 => {}
            Payload::ComponentImportSection(reader) => {
                for import in reader {
                    instances += u32::from(matches!(import?.ty, ComponentTypeRef::Instance(_)));
                }
            }
            Payload::ComponentInstanceSection(reader) => instances += reader.count(),
            Payload::ComponentAliasSection(reader) => {
                for alias in reader {
                    let ComponentAlias::InstanceExport { kind: ComponentExternalKind::Instance, instance_index, name } =
                        alias?
                    else {
                        continue;
                    };
                    instances += 1;
                    if name.starts_with(RUNTIME_PACKAGE) {
                        anyhow::ensure!(
                            runtime.is_none_or(|r| r == instance_index),
                            "two instances export {RUNTIME_PACKAGE} interfaces"
                        );
                        runtime = Some(instance_index);
                    }
                }
            }
            Payload::ComponentExportSection(reader) => {
                for export in reader {
                    instances += u32::from(export?.kind == ComponentExternalKind::Instance);
                }
            }
            _ => {}
        }
    }
    let runtime = runtime.with_context(|| format!("the composition passes no {RUNTIME_PACKAGE} interface"))?;
    let mut aliases = ComponentAliasSection::new();
    let mut exports = ComponentExportSection::new();
    for (index, name) in (instances..).zip(interfaces) {
        aliases.alias(Alias::InstanceExport { instance: runtime, kind: ComponentExportKind::Instance, name });
        exports.export(name, ComponentExportKind::Instance, index, None);
    }
    aliases.append_to_component(&mut composed);
    exports.append_to_component(&mut composed);
    Ok(composed)
}
