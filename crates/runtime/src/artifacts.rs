//! Assembling the component the runtime runs, from cached pieces.
//!
//! Inputs: the interpreter core module (the pinned `python-snapshot.wasm`, or
//! a pre-initialised snapshot of it, see [`crate::snapshot`]), the glue
//! component built from `guests/glue/` and embedded in this binary, and the
//! packages tree that is preopened read-only into the guest.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mung_runtime_python_wasm::cache::{prune, write_atomic};
use mung_runtime_python_wasm::component::{HOST_ADAPTER_WAT, INTERP_WIT, compose, wrap_interpreter};
use mung_runtime_python_wasm::{CacheDir, FileLock, Interpreter, MungSdist, pins};
use sha2::{Digest, Sha256};

use crate::error::Error;

/// The typed glue component (built from `guests/glue/` by `build.rs`).
pub(crate) const GLUE_COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mung_runtime_glue.wasm"));

/// The files of `python-wasm/packages/` (relative path, contents).
const EMBEDDED_PACKAGES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/packages.rs"));

/// The upstream pieces every runtime needs, fetched and unpacked.
#[derive(Clone, Debug)]
pub(crate) struct Upstream {
    pub interpreter: Interpreter,
    pub mung: MungSdist,
    /// Marks both directories as in use while this lives (instances mount
    /// them), so that `cache clean` leaves them alone.
    pub holds: Vec<Arc<FileLock>>,
}

impl Upstream {
    pub(crate) fn ensure(cache: &CacheDir) -> Result<Upstream, Error> {
        // Held before they are checked: a clean that runs now either waits
        // for nothing (and they are unpacked again below) or is skipped.
        let holds = vec![Arc::new(cache.hold(pins::INTERPRETER_DIR)?), Arc::new(cache.hold(pins::MUNG_SDIST_ROOT)?)];
        Ok(Upstream { interpreter: Interpreter::ensure(cache)?, mung: MungSdist::ensure(cache)?, holds })
    }
}

/// A packages tree to preopen at `/packages`, with a hash of its contents.
#[derive(Clone, Debug)]
pub(crate) struct PackagesDir {
    path: PathBuf,
    hash: String,
    /// For the tree unpacked into the cache: marks it as in use while this
    /// lives, so that `cache clean` leaves it alone.
    hold: Option<Arc<FileLock>>,
}

impl PackagesDir {
    /// The packages built into this binary (`mstudio` and the compatibility
    /// modules), unpacked into the cache on first use.
    pub(crate) fn embedded(cache: &CacheDir) -> Result<PackagesDir, Error> {
        let mut hasher = Sha256::new();
        for (rel, bytes) in EMBEDDED_PACKAGES {
            hash_file(&mut hasher, rel, bytes);
        }
        let hash = hex::encode(hasher.finalize());
        let entry = format!("packages/{}", &hash[..16]);
        let hold = Some(Arc::new(cache.hold(&entry)?));
        let path = cache.root().join(&entry);
        let marker = path.join(".complete");
        if !marker.exists() {
            let _lock = cache.lock("packages")?;
            if !marker.exists() {
                for (rel, bytes) in EMBEDDED_PACKAGES {
                    write_atomic(&path.join(rel), bytes)?;
                }
                fs::write(&marker, &hash).map_err(Error::io("writing the packages marker"))?;
            }
        }
        Ok(PackagesDir { path, hash, hold })
    }

    /// A packages tree on disk, e.g. a working copy of `python-wasm/packages`.
    pub(crate) fn at(path: &Path) -> Result<PackagesDir, Error> {
        let path = fs::canonicalize(path).map_err(|e| Error::Mount {
            path: path.to_path_buf(),
            reason: format!("the packages directory is not usable: {e}"),
        })?;
        let mut files = Vec::new();
        collect(&path, &path, &mut files)?;
        files.sort();
        let mut hasher = Sha256::new();
        for rel in &files {
            let bytes = fs::read(path.join(rel)).map_err(Error::io(format!("reading {rel}")))?;
            hash_file(&mut hasher, rel, &bytes);
        }
        Ok(PackagesDir { path, hash: hex::encode(hasher.finalize()), hold: None })
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// sha256 over the tree's paths and contents (Python caches excluded).
    pub(crate) fn hash(&self) -> &str {
        &self.hash
    }

    /// The in-use mark of the tree, if it lives in the cache.
    pub(crate) fn hold(&self) -> Option<Arc<FileLock>> {
        self.hold.clone()
    }
}

fn hash_file(hasher: &mut Sha256, rel: &str, bytes: &[u8]) {
    hasher.update(rel.as_bytes());
    hasher.update([0]);
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) -> Result<(), Error> {
    for entry in fs::read_dir(dir).map_err(Error::io(format!("reading {}", dir.display())))? {
        let path = entry.map_err(Error::io(format!("reading {}", dir.display())))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name == "__pycache__" || name.ends_with(".pyc") || name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files)?;
        } else {
            files.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// The identity of a core module: where it is and its sha256.
#[derive(Clone, Debug)]
pub(crate) struct CoreModule {
    pub path: PathBuf,
    pub sha256: String,
}

impl CoreModule {
    /// The wheel's plain reactor: every instance made from it initialises
    /// CPython itself, drawing its own hash secret.
    pub(crate) fn plain(cache: &CacheDir, upstream: &Upstream) -> Result<CoreModule, Error> {
        Ok(CoreModule {
            path: upstream.interpreter.plain_module(cache)?,
            sha256: pins::PLAIN_MODULE_SHA256.to_string(),
        })
    }
}

/// A key naming the composed component built from `core`.
pub(crate) fn component_key(core: &CoreModule) -> String {
    cache_key(&[
        core.sha256.as_bytes(),
        GLUE_COMPONENT,
        HOST_ADAPTER_WAT.as_bytes(),
        INTERP_WIT.as_bytes(),
        mung_runtime_python_wasm::pins::toolchain().as_bytes(),
    ])
}

/// A cache key: sha256 (hex) of `parts`, each prefixed with its length so
/// that no two lists of parts run together into the same bytes.
pub(crate) fn cache_key(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

/// Standalone components kept in the cache (each is ~100 MB).
const KEEP_COMPONENTS: usize = 4;

/// Where the standalone component for `key` is written.
pub(crate) fn component_path(cache: &CacheDir, key: &str) -> PathBuf {
    cache.root().join("components").join(format!("{}.wasm", &key[..32]))
}

/// Wraps `core` and composes it with the glue. The result is also written to
/// the cache, as a standard component any WASI 0.2 host can run.
pub(crate) fn build_component(cache: &CacheDir, core: &CoreModule) -> Result<Vec<u8>, Error> {
    let path = component_path(cache, &component_key(core));
    if let Ok(bytes) = fs::read(&path) {
        return Ok(bytes);
    }
    tracing::info!(core = %core.path.display(), "building the component");
    let module = fs::read(&core.path).map_err(Error::io(format!("reading {}", core.path.display())))?;
    let interpreter = wrap_interpreter(&module)?;
    drop(module);
    let scratch =
        tempfile::tempdir_in(cache.subdir("components")?).map_err(Error::io("creating a scratch directory"))?;
    let component = compose(&interpreter, GLUE_COMPONENT, scratch.path())?;
    write_atomic(&path, &component)?;
    prune(path.parent().unwrap(), "wasm", KEEP_COMPONENTS);
    Ok(component)
}
