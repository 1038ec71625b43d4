//! A Rust user outside this repository: a fresh crate in a temporary
//! directory depends on the library by path (as a git dependency would) and
//! validates a document with it.

use std::process::Command;

use crate::common::{fixtures, repo, show};

#[test]
fn a_crate_outside_the_workspace_can_depend_on_the_library() {
    // The snapshot and compiled component for this tree, made by the
    // optimised build: the embedder, built unoptimised, then only loads them
    // (an unoptimised Cranelift would take many minutes to compile them).
    crate::common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let library = repo().join("crates/runtime");
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!(
            r#"[package]
name = "embedder"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
mung-runtime = {{ path = {library:?} }}

[workspace]
"#,
            library = library.display().to_string()
        ),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("src/main.rs"),
        r#"fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).expect("a document");
    let runtime = mung_runtime::Runtime::builder().build()?;
    let issues = runtime.validate(&std::fs::read_to_string(path)?)?;
    println!("{} issues", issues.len());
    Ok(())
}
"#,
    )
    .unwrap();
    // The repository's lock file pins what the library was tested with.
    std::fs::copy(repo().join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("small.expected.json")).unwrap()).unwrap();
    // A target directory of its own (a nested build cannot share the one
    // this test binary was built in), kept between runs. An unoptimised
    // build compiles fastest; the guest's machine code comes from the
    // shared cache, so the run itself stays quick.
    let target = repo().join("target/embedder");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["run", "--quiet", "--manifest-path"])
        .arg(dir.path().join("Cargo.toml"))
        .arg("--")
        .arg(fixtures().join("small.xml"))
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let count = expected.as_array().map_or(0, Vec::len);
    assert_eq!(stdout.trim(), format!("{count} issues"), "{}", show(&out));
}
