//! The on-disk cache of compiled components.
//!
//! Compiling the ~100 MB guest takes ~45 s and ~2.2 GB of memory, so it
//! happens at most once per machine: the serialized result goes to
//! `<cache>/compiled/<key>.cwasm`, where the key covers the component's
//! inputs, the wasmtime version and the engine settings that affect code
//! generation. Loading it is an `mmap` (a few ms). A per-key lock file makes
//! concurrent processes wait for the one that compiles.
//!
//! An entry that fails to load is deleted only when it is proven corrupt: its
//! bytes no longer match the sha256 written beside it (`<key>.cwasm.sha256`)
//! when it was compiled. A load can also fail for reasons outside the file
//! (no memory under `ulimit -v`, no file descriptors, no permission); then
//! the entry is kept and the error is returned, since a recompile would cost
//! every process a minute and ~2 GB and would likely fail the same way.

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

/// Where a component came from in `load_or_compile`.
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
    hasher.write(mung_runtime_python_wasm::pins::WASMTIME_VERSION.as_bytes());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(hasher.0.finalize())
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
    let load = |path: &Path| load(engine, path);
    if let Some(component) = load_cached(&path, load)? {
        return Ok((component, CacheOutcome::Hit));
    }
    let _lock = cache.lock(&format!("compile-{}", &key[..16]))?;
    if let Some(component) = load_cached(&path, load)? {
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
    store(&path, &compiled)?;
    prune_compiled(path.parent().unwrap());
    tracing::info!(elapsed = ?start.elapsed(), path = %path.display(), "compiled and cached the component");
    let component = load(&path)?;
    Ok((component, CacheOutcome::Compiled))
}

/// Where the sha256 of a compiled entry is kept.
fn checksum_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

/// Writes compiled code to `path`, with its sha256 beside it (written
/// first: an entry without its checksum is never taken for a corrupt one).
pub(crate) fn store(path: &Path, compiled: &[u8]) -> Result<(), Error> {
    write_atomic(&checksum_path(path), hex::encode(Sha256::digest(compiled)).as_bytes())?;
    write_atomic(path, compiled)?;
    Ok(())
}

/// Keeps the [`KEEP_COMPILED`] most recently used entries of `dir`, and
/// drops the checksums of the entries it removed. Only those: a checksum
/// without its entry may belong to one another process is writing right now
/// ([`store`] writes the checksum first), and dropping it left that entry
/// unverifiable.
pub(crate) fn prune_compiled(dir: &Path) {
    for path in prune(dir, "cwasm", KEEP_COMPILED) {
        let _ = std::fs::remove_file(checksum_path(&path));
    }
}

/// What [`verify`] found out about an entry that failed to load.
#[derive(Debug, PartialEq, Eq)]
enum Integrity {
    /// Its bytes match the checksum written with it: the load failed for
    /// another reason.
    Intact,
    /// Its bytes differ from that checksum.
    Corrupt,
    /// Nothing can be proven (no checksum, or the file cannot be read).
    Unknown(String),
}

/// Checks an entry against its checksum, reading it through a small buffer
/// (no `mmap`, so it works where the load ran out of address space).
fn verify(path: &Path) -> Integrity {
    let expected = match std::fs::read_to_string(checksum_path(path)) {
        Ok(text) => text.trim().to_string(),
        // Written before checksums were: only a file that is not compiled
        // code at all is proven corrupt.
        Err(_) => {
            return match Engine::detect_precompiled_file(path) {
                Ok(Some(_)) => Integrity::Unknown("it has no checksum".into()),
                Err(e) if e.downcast_ref::<std::io::Error>().is_some() => Integrity::Unknown(format!("{e}")),
                Ok(None) | Err(_) => Integrity::Corrupt,
            };
        }
    };
    match mung_runtime_python_wasm::cache::sha256_file(path) {
        Ok(actual) if actual == expected => Integrity::Intact,
        Ok(_) => Integrity::Corrupt,
        Err(e) => Integrity::Unknown(format!("{e}")),
    }
}

/// Loads a compiled entry with `load`: `None` when it is missing, or when it
/// was corrupt (then it is deleted, to be rebuilt). An entry that is intact,
/// or cannot be proven corrupt, is kept and its load error returned.
pub(crate) fn load_cached<T>(path: &Path, load: impl Fn(&Path) -> Result<T, Error>) -> Result<Option<T>, Error> {
    if !path.exists() {
        return Ok(None);
    }
    let error = match load(path) {
        Ok(loaded) => {
            touch(path);
            tracing::debug!(path = %path.display(), "loaded compiled code from the cache");
            return Ok(Some(loaded));
        }
        Err(e) => e,
    };
    match verify(path) {
        Integrity::Corrupt => {
            tracing::warn!(path = %path.display(), error = %error, "deleting a corrupt cache entry (its checksum does not match)");
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_file(checksum_path(path));
            Ok(None)
        }
        integrity => {
            let why = match integrity {
                Integrity::Unknown(why) => format!("it could not be checked ({why}); if this persists, run `mung-runtime cache clean`"),
                _ => "its checksum matches, so the cause lies outside the file (memory, e.g. `ulimit -v`; open files; permissions)".into(),
            };
            Err(Error::CacheEntryUnusable { path: path.to_path_buf(), why, source: Box::new(error) })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A loader that always fails, as under `ulimit -v`.
    fn failing(_: &Path) -> Result<(), Error> {
        Err(Error::Config("cannot map the file".into()))
    }

    #[test]
    fn an_intact_entry_that_fails_to_load_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.cwasm");
        store(&path, b"compiled code").unwrap();
        let err = load_cached(&path, failing).unwrap_err();
        assert!(matches!(&err, Error::CacheEntryUnusable { why, .. } if why.contains("checksum matches")), "{err}");
        assert!(path.exists() && checksum_path(&path).exists());
        assert_eq!(load_cached(&path, |_| Ok(7)).unwrap(), Some(7), "and it loads once the cause is gone");
    }

    #[test]
    fn a_corrupt_entry_is_deleted_to_be_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.cwasm");
        store(&path, b"compiled code").unwrap();
        std::fs::write(&path, b"compiled cod").unwrap();
        assert_eq!(load_cached(&path, failing).unwrap(), None);
        assert!(!path.exists() && !checksum_path(&path).exists());
        assert_eq!(load_cached(&path, failing).unwrap(), None, "missing");
        // Without a checksum (written by an older version), only a file that
        // is not compiled code at all counts as corrupt.
        std::fs::write(&path, b"not an ELF file").unwrap();
        assert_eq!(load_cached(&path, failing).unwrap(), None);
        assert!(!path.exists());
    }

    #[test]
    fn pruning_drops_the_checksums_of_pruned_entries() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..KEEP_COMPILED + 2 {
            store(&dir.path().join(format!("{i}.cwasm")), b"x").unwrap();
        }
        prune_compiled(dir.path());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(names.len(), 2 * KEEP_COMPILED);
        assert!(names.iter().all(|p| !p.to_string_lossy().ends_with(".sha256") || {
            Path::new(p.to_str().unwrap().strip_suffix(".sha256").unwrap()).exists()
        }));
    }

    #[test]
    fn pruning_keeps_the_checksum_of_an_entry_still_being_written() {
        let dir = tempfile::tempdir().unwrap();
        // Another process has written its checksum but not yet its entry.
        let pending = dir.path().join("pending.cwasm");
        write_atomic(&checksum_path(&pending), b"0").unwrap();
        for i in 0..KEEP_COMPILED + 1 {
            store(&dir.path().join(format!("{i}.cwasm")), b"x").unwrap();
        }
        prune_compiled(dir.path());
        assert!(checksum_path(&pending).exists());
    }
}
