# Developer shortcuts only: every README command works with plain cargo.

# Build the CLI.
build:
    cargo build --release

# The test suite (what CI runs).
test:
    cargo test --release

# The benchmark table (several minutes; --quick skips extra compiles).
bench *ARGS:
    cargo run --release -- bench {{ARGS}}

# The Python package's own checks, natively (needs a venv with the baseline packages).
python-checks PY="python3":
    PYTHONPATH=python-wasm/packages {{PY}} python-wasm/tests/check_validation.py --quick

# Formatting and lints.
lint:
    cargo fmt --all --check
    cargo clippy --release --all-targets -- -D warnings
