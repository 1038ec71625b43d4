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
        .arg(repo().join("guests/glue/Cargo.toml"))
        .env("CARGO_TARGET_DIR", repo().join("target/glue-tests"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Every test the glue's sources declare ran and passed; none was ignored.
    let declared: usize = std::fs::read_dir(repo().join("guests/glue/src"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .map(|path| std::fs::read_to_string(path).unwrap().matches("#[test]").count())
        .sum();
    assert!(declared > 0, "no #[test] in guests/glue/src");
    let count = |what: &str| -> usize {
        let summary = stdout.lines().find(|l| l.starts_with("test result: ok.")).unwrap_or_else(|| panic!("{stdout}"));
        let before = summary.split(&format!(" {what}")).next().unwrap();
        before.rsplit([' ', '.']).next().unwrap().parse().unwrap_or_else(|_| panic!("{summary}"))
    };
    assert_eq!((count("passed"), count("failed"), count("ignored")), (declared, 0, 0), "{stdout}");
}
