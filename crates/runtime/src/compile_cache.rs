//! The on-disk cache of compiled components.
//!
//! Compiling the ~100 MB guest takes ~45 s and ~2.2 GB of memory, so it
//! happens at most once per machine: the serialized result goes to
//! `<cache>/compiled/<key>.cwasm`, where the key covers the component's
//! inputs, the wasmtime version and the engine settings that affect code
//! generation. Loading it is an `mmap` (a few ms). A per-key lock file makes
//! concurrent processes wait for the one that compiles.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Instant;

use mung_runtime_python_wasm::CacheDir;
use mung_runtime_python_wasm::cache::{prune, touch, write_atomic};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::Error;

/// Compiled artifacts kept in the cache (each is ~300 MB).
const KEEP_COMPILED: usize = 8;

/// Where a component came from in [`load_or_compile`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from an earlier compilation.
    Hit,
    /// Compiled now (and stored for next time).
    Compiled,
}

/// Feeds `Hash` output into sha256, for a key that is stable across processes.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        unreachable!("only the sha256 digest is used")
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The cache key of `component_key` compiled by `engine`.
pub(crate) fn compiled_key(engine: &Engine, component_key: &str) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    hasher.write(component_key.as_bytes());
    hasher.write(b"\0wasmtime-");
    hasher.write(wasmtime_version().as_bytes());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(hasher.0.finalize())
}

/// The version of wasmtime this binary was built with.
pub fn wasmtime_version() -> &'static str {
    mung_runtime_python_wasm::pins::WASMTIME_VERSION
}

pub(crate) fn compiled_path(cache: &CacheDir, key: &str) -> PathBuf {
    cache.root().join("compiled").join(format!("{key}.cwasm"))
}

/// Loads the compiled component for `component_key`, compiling it from the
/// bytes `source` produces when it is not cached yet.
pub(crate) fn load_or_compile(
    engine: &Engine,
    cache: &CacheDir,
    component_key: &str,
    source: impl FnOnce() -> Result<Vec<u8>, Error>,
) -> Result<(Component, CacheOutcome), Error> {
    let key = compiled_key(engine, component_key);
    let path = compiled_path(cache, &key);
    if let Some(component) = try_load(engine, &path) {
        return Ok((component, CacheOutcome::Hit));
    }
    let _lock = cache.lock(&format!("compile-{}", &key[..16]))?;
    if let Some(component) = try_load(engine, &path) {
        tracing::info!(path = %path.display(), "another process compiled the component; loaded it from the cache");
        return Ok((component, CacheOutcome::Hit));
    }
    let wasm = source()?;
    tracing::info!(
        bytes = wasm.len(),
        "compiling the component (once per machine; takes about a minute and ~2 GB of memory)"
    );
    let start = Instant::now();
    let compiled = engine.precompile_component(&wasm).map_err(Error::wasmtime("compiling the component"))?;
    drop(wasm);
    write_atomic(&path, &compiled)?;
    prune(path.parent().unwrap(), "cwasm", KEEP_COMPILED);
    tracing::info!(elapsed = ?start.elapsed(), path = %path.display(), "compiled and cached the component");
    let component = load(engine, &path)?;
    Ok((component, CacheOutcome::Compiled))
}

fn try_load(engine: &Engine, path: &Path) -> Option<Component> {
    if !path.exists() {
        return None;
    }
    match load(engine, path) {
        Ok(c) => {
            touch(path);
            tracing::debug!(path = %path.display(), "loaded the compiled component from the cache");
            Some(c)
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "discarding an unusable cache entry");
            let _ = std::fs::remove_file(path);
            None
        }
    }
}

fn load(engine: &Engine, path: &Path) -> Result<Component, Error> {
    let start = Instant::now();
    // SAFETY: the file was written by `precompile_component` of this same
    // wasmtime into our own cache directory (atomically renamed into place);
    // wasmtime checks the version and engine compatibility in its header.
    let component = unsafe { Component::deserialize_file(engine, path) }
        .map_err(Error::wasmtime(format!("loading {}", path.display())))?;
    tracing::debug!(elapsed = ?start.elapsed(), "deserialized the component");
    Ok(component)
}
