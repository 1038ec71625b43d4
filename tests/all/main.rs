//! The integration tests of mung-runtime: one binary (one link of wasmtime,
//! one shared runtime), a module per area.
//!
//! Tests that need `../shared/data` are ignored where it is absent, with the
//! reason shown by `cargo test -- --ignored --list`; under `CI=true` they run
//! and fail instead (see `crates/cli/build.rs`).

mod bad_input;
mod browser;
mod cache;
mod common;
mod component;
mod embedder;
mod escape;
mod extraction;
mod glue;
mod hardening;
mod isolation;
mod mounts;
mod props;
mod python_native;
mod runtime;
mod serve;
mod serve_backend;
mod serve_hostile;
mod soak;
mod validation;
mod wasmtime_serve;
