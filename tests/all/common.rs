//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use mung_runtime::Runtime;
use mung_runtime_python_wasm::native::{BASELINE_REQUIREMENTS, NativePython};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

/// The small fixtures committed in the repository.
pub fn fixtures() -> PathBuf {
    repo().join("tests/fixtures")
}

/// The shared data (real MuNG documents and pages): `$MUNG_RUNTIME_DATA` or
/// `../shared/data` beside the repository, as found when the tests were
/// built. Tests that call this are ignored where it was absent (see
/// `crates/cli/build.rs`), except under `CI=true`, where they fail here.
pub fn shared_data() -> PathBuf {
    let dir = PathBuf::from(env!("MUNG_RUNTIME_TEST_DATA"));
    assert!(
        dir.join("mung-samples").is_dir(),
        "the shared data is missing at {} (set MUNG_RUNTIME_DATA, or place it at ../shared/data)",
        dir.display()
    );
    dir.canonicalize().unwrap()
}

/// A runtime with the default settings, shared by the tests of one binary.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::builder().build().expect("building the runtime"))
}

/// A runtime that validates with `mstudio.validation` only (the reference the
/// compiled rules are compared with), shared like [`runtime`].
pub fn reference_validator() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Runtime::builder()
            .validator(mung_runtime::Validator::Reference)
            .build()
            .expect("building the reference runtime")
    })
}

/// The cache the tests use (the default one, so compiles are shared).
pub fn cache() -> mung_runtime_python_wasm::CacheDir {
    mung_runtime_python_wasm::CacheDir::from_env()
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
    let mung_site = runtime.info().vendor_dir.clone();
    let mut cmd = Command::new(native_python());
    cmd.arg(script)
        .env("PYTHONPATH", format!("{}:{}", repo().join("python-wasm/packages").display(), mung_site.display()))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    if cfg!(mung_shared_data) {
        let data = shared_data();
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

/// A synthetic page: five staff lines and a blob, on white (300 × 200).
pub fn synthetic_page() -> image::RgbImage {
    let (w, h) = (300u32, 200u32);
    let mut img = image::RgbImage::from_pixel(w, h, image::Rgb([250, 250, 245]));
    for k in 0..5 {
        for x in 20..280 {
            for dy in 0..2 {
                img.put_pixel(x, 40 + 15 * k + dy, image::Rgb([20, 20, 20]));
            }
        }
    }
    for y in 150..160 {
        for x in 100..112 {
            img.put_pixel(x, y, image::Rgb([0, 0, 0]));
        }
    }
    img
}
