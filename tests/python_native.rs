//! The Python package's own checks, run natively (CPython 3.11 with the real
//! numpy, scipy, lxml, scikit-image and OpenCV): mstudio's validation
//! against the expected outputs and 31 bad inputs, the skimage stand-in
//! against scikit-image, the extraction primitives against OpenCV, and the
//! staff and document helpers against mung 1.2.1.

mod common;

use common::{native_command, repo, run, shared_data_or_note, show};

fn check(script: &str, args: &[&str]) {
    let path = repo().join("python-wasm/tests").join(script);
    let res = run(native_command(&path).args(args));
    assert!(res.status.success(), "{script} failed:\n{}", show(&res));
}

#[test]
fn validation_checks() {
    let Some(data) = shared_data_or_note("validation checks") else { return };
    let fixtures = repo().join("tests/fixtures");
    check(
        "check_validation.py",
        &["--data", data.to_str().unwrap(), "--fixtures", fixtures.to_str().unwrap(), "--quick"],
    );
}

#[test]
fn skimage_stand_in() {
    check("test_skimage_compat.py", &[]);
}

#[test]
fn extraction_primitives() {
    check("test_extraction.py", &[]);
}

#[test]
fn staff_operations() {
    if shared_data_or_note("staff operations").is_none() {
        return;
    }
    check("test_staff_ops.py", &[]);
}

#[test]
fn document_helpers() {
    if shared_data_or_note("document helpers").is_none() {
        return;
    }
    check("test_document.py", &[]);
}
