//! Tells the integration tests (`tests/all`) what this machine has, so that a
//! test needing something absent is *ignored* with its reason, never passed:
//!
//! * `mung_shared_data`: the real documents at `$MUNG_RUNTIME_DATA` or
//!   `../shared/data` beside the repository;
//! * `mung_chromium`: a headless Chromium (`$MUNG_RUNTIME_CHROMIUM`, or
//!   `chromium` on the PATH) and its WebDriver server
//!   (`$MUNG_RUNTIME_CHROMEDRIVER`, or `chromedriver` on the PATH); both
//!   come with the Debian packages `chromium` and `chromium-driver`.
//!
//! Under `CI=true` every such cfg is set regardless, so a missing input makes
//! its tests fail loudly instead of being skipped.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(mung_shared_data)");
    println!("cargo::rustc-check-cfg=cfg(mung_chromium)");
    for var in ["CI", "MUNG_RUNTIME_DATA", "MUNG_RUNTIME_CHROMIUM", "MUNG_RUNTIME_CHROMEDRIVER", "PATH"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let repo = manifest.ancestors().nth(2).unwrap().to_path_buf();

    let data = std::env::var_os("MUNG_RUNTIME_DATA").map(PathBuf::from).unwrap_or_else(|| repo.join("../shared/data"));
    // A path that does not exist makes cargo rerun this script each build,
    // which is what notices data that appears later.
    println!("cargo:rerun-if-changed={}", data.join("mung-samples").display());
    println!("cargo:rustc-env=MUNG_RUNTIME_TEST_DATA={}", data.display());
    if ci || data.join("mung-samples").is_dir() {
        println!("cargo:rustc-cfg=mung_shared_data");
    }

    let chromium = browser_tool("MUNG_RUNTIME_CHROMIUM", "chromium");
    let chromedriver = browser_tool("MUNG_RUNTIME_CHROMEDRIVER", "chromedriver");
    if ci || (chromium && chromedriver) {
        println!("cargo:rustc-cfg=mung_chromium");
    }
}

/// Finds `$VAR` or `name` on the PATH, tells the tests its path in
/// `MUNG_RUNTIME_TEST_<NAME>` (the bare name when absent) and says whether
/// it was found.
fn browser_tool(var: &str, name: &str) -> bool {
    let found = std::env::var_os(var).map(PathBuf::from).or_else(|| which(name));
    // Watching the expected place of an absent tool reruns this script when
    // it is installed.
    let watched = found.clone().unwrap_or_else(|| Path::new("/usr/bin").join(name));
    println!("cargo:rerun-if-changed={}", watched.display());
    let path = found.as_deref().unwrap_or(Path::new(name));
    println!("cargo:rustc-env=MUNG_RUNTIME_TEST_{}={}", name.to_ascii_uppercase(), path.display());
    found.is_some()
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}
