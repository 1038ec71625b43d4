//! Where mung-runtime keeps what it downloads and builds, and how processes
//! share it.
//!
//! The cache lives outside `target/` so that `cargo clean` does not throw away
//! minutes of work: `$MUNG_RUNTIME_CACHE_DIR`, else `$XDG_CACHE_HOME/mung-runtime`,
//! else `~/.cache/mung-runtime`. Every expensive product is written to a
//! temporary file and renamed into place while holding an exclusive lock, so
//! concurrent processes build each product once and never see half a file.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::{ArtifactError, Result};

/// Environment variable that overrides the cache location.
pub const CACHE_DIR_ENV: &str = "MUNG_RUNTIME_CACHE_DIR";

/// The root of mung-runtime's on-disk cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheDir {
    root: PathBuf,
}

impl CacheDir {
    /// The cache at `root` (created on first use).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        CacheDir { root: root.into() }
    }

    /// The default cache: [`CACHE_DIR_ENV`], then the XDG cache directory.
    pub fn from_env() -> Self {
        if let Some(dir) = std::env::var_os(CACHE_DIR_ENV).filter(|d| !d.is_empty()) {
            return CacheDir::new(dir);
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        CacheDir::new(base.join("mung-runtime"))
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A subdirectory of the cache, created if missing.
    pub fn subdir(&self, name: &str) -> Result<PathBuf> {
        let dir = self.root.join(name);
        fs::create_dir_all(&dir).map_err(ArtifactError::io(format!("creating cache directory {}", dir.display())))?;
        Ok(dir)
    }

    /// Takes the cross-process lock called `name`, waiting for other holders.
    pub fn lock(&self, name: &str) -> Result<FileLock> {
        FileLock::exclusive(&self.subdir("locks")?.join(format!("{name}.lock")))
    }

    /// Marks the cache entry `entry` (a path below the root, such as
    /// `packages/0123abcd`) as used by this process until the lock is
    /// dropped; many processes may hold it at once. Take it before checking
    /// that the entry exists: cleaning waits for no holder, it skips held
    /// entries (see [`CacheDir::try_take`]).
    pub fn hold(&self, entry: &str) -> Result<FileLock> {
        FileLock::shared(&self.in_use_lock(entry)?)
    }

    /// The right to delete `entry`: `None` while some process
    /// [holds](CacheDir::hold) it. Holders that come meanwhile wait until the
    /// returned lock is dropped.
    pub fn try_take(&self, entry: &str) -> Result<Option<FileLock>> {
        FileLock::try_exclusive(&self.in_use_lock(entry)?)
    }

    /// Where [`cargo_tool`](Self::cargo_tool) installs `binary` of `krate`
    /// at `version`: `tools/<krate>-<version>/bin/<binary>` (it may not be
    /// there yet).
    pub fn tool_path(&self, krate: &str, version: &str, binary: &str) -> PathBuf {
        self.root.join("tools").join(format!("{krate}-{version}")).join("bin").join(binary)
    }

    /// The binary `binary` of the crates.io crate `krate` at `version`,
    /// installed once per machine with `cargo install --locked` into
    /// `tools/<krate>-<version>` (under a lock, so parallel processes install
    /// it once). `announce` is called with a line to show the user before a
    /// build starts, which takes minutes. Cargo's build settings of the
    /// calling process (`CARGO_*`, `RUSTFLAGS`, jobserver flags) are not
    /// passed on: the install builds in its own target directory.
    pub fn cargo_tool(&self, krate: &str, version: &str, binary: &str, announce: impl FnOnce(&str)) -> Result<PathBuf> {
        let path = self.tool_path(krate, version, binary);
        let root = path.parent().and_then(Path::parent).expect("tools/<crate>-<version>/bin/<binary>").to_path_buf();
        if path.exists() {
            return Ok(path);
        }
        let _lock = self.lock(&format!("{krate}-{version}"))?;
        if path.exists() {
            return Ok(path); // another process installed it meanwhile
        }
        announce(&format!(
            "installing {krate} {version} with `cargo install --locked` into {} (once per machine; minutes)",
            root.display()
        ));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["install", "--locked", "--version", version, krate, "--root"]).arg(&root);
        for key in build_settings() {
            cmd.env_remove(key);
        }
        let context = || format!("`cargo install --locked --version {version} {krate}`");
        let out = cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .output()
            .map_err(ArtifactError::io(format!("running {}", context())))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
            return Err(ArtifactError::Io {
                context: format!("{} failed ({}): {last}", context(), out.status),
                source: std::io::Error::other("cargo install failed"),
            });
        }
        if !path.exists() {
            return Err(ArtifactError::Io {
                context: format!("{} did not produce {}", context(), path.display()),
                source: std::io::ErrorKind::NotFound.into(),
            });
        }
        Ok(path)
    }

    fn in_use_lock(&self, entry: &str) -> Result<PathBuf> {
        Ok(self.subdir("locks/in-use")?.join(format!("{}.lock", entry.replace('/', "+"))))
    }
}

/// An exclusive advisory lock on a file, released on drop.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Locks `path` (created if missing), blocking while another process or
    /// thread holds it.
    pub fn exclusive(path: &Path) -> Result<FileLock> {
        let file = open_lock_file(path)?;
        if file.try_lock().is_err() {
            tracing::info!(lock = %path.display(), "waiting for another process to finish");
            let start = Instant::now();
            file.lock().map_err(ArtifactError::io(format!("locking {}", path.display())))?;
            tracing::debug!(lock = %path.display(), waited = ?start.elapsed(), "lock acquired");
        }
        Ok(FileLock { file, path: path.to_path_buf() })
    }

    /// Takes a shared lock on `path` (created if missing), blocking while a
    /// process holds it exclusively.
    pub fn shared(path: &Path) -> Result<FileLock> {
        let file = open_lock_file(path)?;
        file.lock_shared().map_err(ArtifactError::io(format!("locking {}", path.display())))?;
        Ok(FileLock { file, path: path.to_path_buf() })
    }

    /// Takes an exclusive lock on `path` if nobody holds it, without waiting.
    pub fn try_exclusive(path: &Path) -> Result<Option<FileLock>> {
        let file = open_lock_file(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock { file, path: path.to_path_buf() })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => {
                Err(ArtifactError::Io { context: format!("locking {}", path.display()), source: e })
            }
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The names of the environment variables through which cargo steers the
/// build of the calling process; a nested `cargo` must not inherit them.
/// (Registry, network and `CARGO_HOME` settings stay.)
pub fn build_settings() -> Vec<String> {
    std::env::vars_os()
        .map(|(key, _)| key.to_string_lossy().into_owned())
        .filter(|key| {
            key.starts_with("CARGO_")
                && !key.starts_with("CARGO_HOME")
                && !key.starts_with("CARGO_NET")
                && !key.starts_with("CARGO_REGISTR")
                && !key.starts_with("CARGO_HTTP")
                || matches!(&**key, "RUSTFLAGS" | "RUSTC_WORKSPACE_WRAPPER" | "RUSTC_WRAPPER" | "MAKEFLAGS" | "MFLAGS")
        })
        .collect()
}

fn open_lock_file(path: &Path) -> Result<File> {
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(ArtifactError::io(format!("opening lock file {}", path.display())))
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, synced, then renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(ArtifactError::io(format!("creating {}", dir.display())))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(ArtifactError::io(format!("creating a temporary file in {}", dir.display())))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(ArtifactError::io(format!("writing {}", path.display())))?;
    tmp.persist(path)
        .map_err(|e| ArtifactError::Io { context: format!("renaming into {}", path.display()), source: e.error })?;
    Ok(())
}

/// sha256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut file = File::open(path).map_err(ArtifactError::io(format!("opening {}", path.display())))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(ArtifactError::io(format!("reading {}", path.display())))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Marks `path` as just used, so [`prune`] keeps it.
pub fn touch(path: &Path) {
    if let Ok(file) = File::options().append(true).open(path) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
}

/// Deletes all but the `keep` most recently used files with extension `ext`
/// in `dir`, and returns the ones it deleted. Compiled artifacts are hundreds
/// of megabytes each, and every change to the packages tree makes new ones.
pub fn prune(dir: &Path, ext: &str, keep: usize) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .filter_map(|p| Some((fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut removed = Vec::new();
    for (_, path) in files.into_iter().skip(keep) {
        tracing::info!(path = %path.display(), "removing an old cache entry");
        if fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}
