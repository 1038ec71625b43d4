//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use mung_runtime::Runtime;
use mung_runtime_python_wasm::CacheDir;
use mung_runtime_python_wasm::native::{BASELINE_REQUIREMENTS, NativePython};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The small fixtures committed in the repository.
pub fn fixtures() -> PathBuf {
    repo().join("tests/fixtures")
}

/// `../shared/data` (real MuNG documents and pages), when present.
pub fn shared_data() -> Option<PathBuf> {
    let dir = repo().join("../shared/data");
    dir.join("mung-samples").is_dir().then(|| dir.canonicalize().unwrap())
}

/// The shared data, or a note that the test only ran its repository part.
pub fn shared_data_or_note(test: &str) -> Option<PathBuf> {
    let data = shared_data();
    if data.is_none() {
        eprintln!("{test}: ../shared/data is absent; only the self-made fixtures were checked");
    }
    data
}

/// A runtime with the default settings, shared by the tests of one binary.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::builder().build().expect("building the runtime"))
}

/// The cache the tests use (the default one, so compiles are shared).
pub fn cache() -> CacheDir {
    CacheDir::from_env()
}

/// Native CPython with numpy, scipy, lxml, pillow, scikit-image and OpenCV
/// 4.10 (created once, in the cache).
pub fn native_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            NativePython::ensure(&cache(), "baseline", BASELINE_REQUIREMENTS)
                .expect("creating the native Python environment")
                .python()
        })
        .clone()
}

/// A `python` command in the native environment with `mstudio` and `mung`
/// importable and the sample data locations set.
pub fn native_command(script: &Path) -> Command {
    let runtime = runtime();
    let mung_site = runtime.info().cache_dir.join("mung-1.2.1/site");
    let mut cmd = Command::new(native_python());
    cmd.arg(script)
        .env("PYTHONPATH", format!("{}:{}", repo().join("python-wasm/packages").display(), mung_site.display()))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    if let Some(data) = shared_data() {
        cmd.env("MUNG_DATA", &data).env("MUNG_SAMPLES", data.join("mung-samples"));
    }
    cmd
}

/// The `mung-runtime` executable.
pub fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mung-runtime"))
}

/// Runs a command and returns its output, printing it when it failed to start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// stdout and stderr of an output, for assertion messages.
pub fn show(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// sha256 of a file, to prove inputs are left untouched.
pub fn file_hash(path: &Path) -> String {
    mung_runtime_python_wasm::cache::sha256_file(path).unwrap()
}
