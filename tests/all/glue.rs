//! The glue's own unit tests (frame encoding and decoding, with property
//! tests), run natively: the glue crate is built for wasm32 and is not a
//! member of this workspace, so `cargo test` would not reach them.

use std::process::Command;

use crate::common::{repo, show};

#[test]
fn the_glue_frame_codec_passes_its_unit_tests() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["test", "--quiet", "--manifest-path"])
        .arg(repo().join("guest-wit/Cargo.toml"))
        .env("CARGO_TARGET_DIR", repo().join("target/glue-tests"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("test result: ok. 5 passed"), "{stdout}");
}
