# Developer shortcuts only: every README command works with plain cargo.

# Build the CLI.
build:
    cargo build --release

# The test suite (what CI runs).
test:
    cargo test --release

# The fast tier: unit tests, and the integration tests that need nothing
# installed from the network (no wasmtime-cli, no native Python venv with
# OpenCV, no Chromium) and no soak.
test-fast:
    cargo test --release --lib --bins
    cargo test --release --test all -- --skip wasmtime_serve:: --skip browser:: --skip python_native:: --skip bit_identical_to_opencv --skip matches_real_scikit_image --skip soak::

# The benchmark table (several minutes; --quick skips extra compiles).
bench *ARGS:
    cargo run --release -p mung-runtime-bench -- {{ARGS}}

# The Python package's own checks, natively (needs a venv with the baseline packages).
python-checks PY="python3":
    PYTHONPATH=python-wasm/packages {{PY}} python-wasm/tests/check_validation.py --quick

# Formatting and lints.
lint:
    cargo fmt --all --check
    cargo clippy --release --workspace --all-targets -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --release --workspace --no-deps
