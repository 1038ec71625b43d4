//! Hooks for `mung-runtime-bench` only (feature `bench-internals`): they
//! expose engine details that are not part of the stable API.

use std::time::{Duration, Instant};

use crate::{Error, Runtime, RuntimeBuilder};

/// The wasmtime engine behind `runtime`.
pub fn engine(runtime: &Runtime) -> &wasmtime::Engine {
    runtime.pool.pre().engine()
}

/// Creates one bare instance and drops it, returning how long its WASI
/// context and its instantiation took (no Python runs).
pub fn instantiate(runtime: &Runtime) -> Result<(Duration, Duration), Error> {
    let pool = &runtime.pool;
    let slot = pool.acquire_slot()?;
    let start = Instant::now();
    let state = pool.instance_config().state()?;
    let made = Instant::now();
    let fuel = pool.limits().fuel.is_some();
    let instance = crate::instance::Instance::instantiate(pool.tokio(), pool.pre(), state, slot, fuel)?;
    let instantiated = Instant::now();
    drop(instance);
    Ok((made - start, instantiated - made))
}

/// `builder` with epoch interruption off, so the deadline can no longer stop
/// a busy guest: for measuring its overhead only.
pub fn without_epoch_interruption(builder: RuntimeBuilder) -> RuntimeBuilder {
    builder.without_epoch_interruption()
}
