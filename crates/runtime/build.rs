//! Builds what the host embeds:
//!
//! * the typed glue component, from `guests/glue/` for `wasm32-wasip2` (adding
//!   that target with rustup when it is missing, and saying so),
//! * the HTTP adapter component, from `guests/http-adapter/` the same way (composed
//!   with the standalone component for `wasmtime serve`), and
//! * the list of files under `python-wasm/packages/` (the `mstudio` package
//!   and compatibility modules), embedded so the binary is self-contained.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const WASM_TARGET: &str = "wasm32-wasip2";
/// A prebuilt glue component to embed instead of building `guests/glue/`.
const GLUE_ENV: &str = "MUNG_RUNTIME_GLUE_WASM";
/// A prebuilt HTTP adapter component to embed instead of building `guests/http-adapter/`.
const HTTP_ENV: &str = "MUNG_RUNTIME_HTTP_WASM";
/// Set to 1 to forbid `rustup target add` (the build fails with advice instead).
const NO_RUSTUP_ENV: &str = "MUNG_RUNTIME_NO_RUSTUP";

/// What the build takes from the repository around this package (a
/// packaged crate does not hold them): the WIT package (`bindings.rs`), the
/// guest crates (built here; the glue's Python half is embedded by
/// `snapshot.rs`), the Python tree (embedded here) and the document the
/// snapshot's warm-up calls validate (embedded by `snapshot.rs`).
const REPOSITORY_INPUTS: [&str; 6] =
    ["wit", "guests/glue", "guests/http-adapter", "crates/wire", "python-wasm/packages", "tests/fixtures/small.xml"];

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().and_then(|p| p.parent()).unwrap().to_path_buf();
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());

    let missing: Vec<&str> = REPOSITORY_INPUTS.into_iter().filter(|p| !root.join(p).exists()).collect();
    assert!(
        missing.is_empty(),
        "mung-runtime builds from its repository checkout only: it embeds {} from the repository root, which a \
         packaged crate does not hold (missing two levels above {}: {}). Build it from a clone of the repository.",
        REPOSITORY_INPUTS.join(", "),
        manifest.display(),
        missing.join(", ")
    );

    build_glue(&root, &out);
    build_http(&root, &out);
    embed_packages(&root.join("python-wasm/packages"), &out);
}

fn build_glue(root: &Path, out: &Path) {
    println!("cargo:rerun-if-changed={}", root.join("python-wasm/adapter/interp.wit").display());
    // the mask kernels and the validation rules it is built with, and the
    // kernels' SIMD flag
    for p in [
        "crates/kernels/src",
        "crates/kernels/Cargo.toml",
        "guests/glue/.cargo/config.toml",
        "crates/validator/src",
        "crates/validator/Cargo.toml",
        "crates/validator/build.rs",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    build_guest(root, out, "guests/glue", "mung_runtime_glue", GLUE_ENV);
}

/// The HTTP adapter (`guests/http-adapter/`): `wasi:http/incoming-handler` in front
/// of the `mung:runtime` interfaces.
fn build_http(root: &Path, out: &Path) {
    build_guest(root, out, "guests/http-adapter", "mung_runtime_http_adapter", HTTP_ENV);
}

/// Builds the component crate in `root/dir` for `wasm32-wasip2` and copies
/// it to `out/<lib>.wasm`, or copies the prebuilt file named by `prebuilt_env`.
fn build_guest(root: &Path, out: &Path, dir: &str, lib: &str, prebuilt_env: &str) {
    let crate_dir = root.join(dir);
    for p in ["src", "Cargo.toml", "Cargo.lock", "wit"] {
        println!("cargo:rerun-if-changed={}", crate_dir.join(p).display());
    }
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    // The HTTP contract, a path dependency of the HTTP adapter.
    for p in ["crates/wire/src", "crates/wire/Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }

    println!("cargo:rerun-if-env-changed={prebuilt_env}");
    println!("cargo:rerun-if-env-changed={NO_RUSTUP_ENV}");
    let wasm_name = format!("{lib}.wasm");
    // Packagers who build the component themselves skip the nested build.
    if let Some(prebuilt) = env::var_os(prebuilt_env).filter(|v| !v.is_empty()) {
        let prebuilt = PathBuf::from(prebuilt);
        println!("cargo:rerun-if-changed={}", prebuilt.display());
        if let Err(e) = std::fs::copy(&prebuilt, out.join(&wasm_name)) {
            panic!("{prebuilt_env}={} cannot be read: {e}", prebuilt.display());
        }
        return;
    }

    ensure_wasm_target(prebuilt_env);

    // A target directory shared by all profiles of the host, so the
    // component is built once per checkout, not once per profile.
    let target_dir = out
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(|build| build.parent()?.parent())
        .unwrap_or(out)
        .join(lib.replace('_', "-"));
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    // From the crate's directory, so its `.cargo/config.toml` applies.
    cmd.current_dir(&crate_dir);
    cmd.args(["build", "--release", "--target", WASM_TARGET, "--manifest-path"])
        .arg(crate_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    // Settings meant for the host build must not leak into the wasm build.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_")
            && !key.starts_with("CARGO_HOME")
            && !key.starts_with("CARGO_NET")
            && !key.starts_with("CARGO_REGISTR")
            && !key.starts_with("CARGO_HTTP")
            || matches!(&*key, "RUSTFLAGS" | "RUSTC_WORKSPACE_WRAPPER" | "MAKEFLAGS" | "MFLAGS")
        {
            cmd.env_remove(&*key);
        }
    }
    let status = cmd.status().unwrap_or_else(|e| panic!("running cargo to build {dir}: {e}"));
    assert!(status.success(), "building the component in {dir} for {WASM_TARGET} failed");
    let wasm = target_dir.join(WASM_TARGET).join("release").join(&wasm_name);
    std::fs::copy(&wasm, out.join(&wasm_name)).unwrap_or_else(|e| panic!("copying {}: {e}", wasm.display()));
}

/// Adds the wasm target through rustup when the toolchain lacks it.
fn ensure_wasm_target(prebuilt_env: &str) {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if sysroot.is_some_and(|s| s.join("lib/rustlib").join(WASM_TARGET).exists()) {
        return;
    }
    if env::var_os(NO_RUSTUP_ENV).is_some_and(|v| v != "0" && !v.is_empty()) {
        panic!(
            "the Rust target {WASM_TARGET} is missing and {NO_RUSTUP_ENV} forbids adding it; run \
             `rustup target add {WASM_TARGET}`, or set {prebuilt_env} to a prebuilt component"
        );
    }
    println!(
        "cargo:warning=adding the {WASM_TARGET} target with `rustup target add {WASM_TARGET}` (needed once; \
         set {NO_RUSTUP_ENV}=1 to forbid this)"
    );
    let status = Command::new("rustup").args(["target", "add", WASM_TARGET]).status();
    match status {
        Ok(s) if s.success() => {}
        _ => panic!(
            "the Rust target {WASM_TARGET} is missing and `rustup target add {WASM_TARGET}` failed; \
             install it by hand and build again"
        ),
    }
}

/// Generates `packages.rs`: `(relative path, contents)` of every file.
fn embed_packages(dir: &Path, out: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    collect(dir, dir, &mut files);
    files.sort();
    let mut code = String::from("&[\n");
    for rel in &files {
        let abs = dir.join(rel);
        println!("cargo:rerun-if-changed={}", abs.display());
        writeln!(code, "    ({rel:?}, include_bytes!({:?})),", abs.display().to_string()).unwrap();
    }
    code.push(']');
    std::fs::write(out.join("packages.rs"), code).unwrap();
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name == "__pycache__" || name.starts_with('.') || name.ends_with(".pyc") {
            continue;
        }
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(root, &path, files);
        } else {
            files.push(path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
        }
    }
}
