//! Records the locked versions of the tools that shape the artifacts
//! (wasmtime, wizer, wit-component, wasm-compose, the preview1 adapter), so
//! that cache keys, `--version`, tests and the bench name them from one
//! source: the workspace's `Cargo.lock`.

use std::path::PathBuf;

const TOOLS: &[(&str, &str)] = &[
    ("wasmtime", "MUNG_RUNTIME_WASMTIME_VERSION"),
    ("wasmtime-wizer", "MUNG_RUNTIME_WIZER_VERSION"),
    ("wit-component", "MUNG_RUNTIME_WIT_COMPONENT_VERSION"),
    ("wasm-compose", "MUNG_RUNTIME_WASM_COMPOSE_VERSION"),
    ("wasi-preview1-component-adapter-provider", "MUNG_RUNTIME_ADAPTER_VERSION"),
];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    // The lock file of this repository's workspace; an embedder's build that
    // resolves the same `=`-pinned versions gets the same answers.
    let lock = manifest.parent().unwrap().join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    for (name, var) in TOOLS {
        let version = text
            .split("[[package]]")
            .find(|p| p.contains(&format!("\nname = \"{name}\"\n")))
            .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_else(|| "unknown".into());
        println!("cargo:rustc-env={var}={version}");
    }
}
