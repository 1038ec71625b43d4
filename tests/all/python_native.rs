//! The Python package's own checks, run natively (CPython 3.11 with the real
//! numpy, scipy, lxml, scikit-image and OpenCV): mstudio's validation
//! against the expected outputs and 31 bad inputs, the skimage stand-in
//! against scikit-image, the extraction primitives against OpenCV, and the
//! staff and document helpers against mung 1.2.1.

use crate::common::{native_command, repo, run, shared_data, show};

fn check(script: &str, args: &[&str]) {
    let path = repo().join("python-wasm/tests").join(script);
    let res = run(native_command(&path).args(args));
    assert!(res.status.success(), "{script} failed:\n{}", show(&res));
}

#[test]
#[cfg_attr(
    not(mung_shared_data),
    ignore = "needs ../shared/data (or MUNG_RUNTIME_DATA); under CI=true it runs and fails without it"
)]
fn validation_checks() {
    let data = shared_data();
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
#[cfg_attr(
    not(mung_shared_data),
    ignore = "needs ../shared/data (or MUNG_RUNTIME_DATA); under CI=true it runs and fails without it"
)]
fn staff_operations() {
    check("test_staff_ops.py", &[]);
}

#[test]
#[cfg_attr(
    not(mung_shared_data),
    ignore = "needs ../shared/data (or MUNG_RUNTIME_DATA); under CI=true it runs and fails without it"
)]
fn document_helpers() {
    check("test_document.py", &[]);
}
