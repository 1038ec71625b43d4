//! [`Limits`]: what a runtime allows one instance and one call, in one
//! place for the engine, the pool and the `wasmtime serve` command line.

use std::time::Duration;

use crate::builder::{DEFAULT_MEMORY_LIMIT, DEFAULT_OUTPUT_LIMIT, DEFAULT_TIMEOUT, DEFAULT_WRITE_QUOTA};
use crate::engine;

/// The limits of a built [`Runtime`](crate::Runtime)
/// ([`RuntimeInfo::limits`](crate::RuntimeInfo::limits)). Those set with
/// [`RuntimeBuilder`](crate::RuntimeBuilder) (memory, timeout, fuel, output,
/// write quota) are as set; the others are the engine's, the same for
/// every runtime. [`Limits::default`] is what a default runtime has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Most bytes one instance's linear memory may grow to.
    pub memory: u64,
    /// The wall-clock deadline of one call.
    pub timeout: Duration,
    /// The fuel budget of one call, if fuel is metered.
    pub fuel: Option<u64>,
    /// Cap on each of stdout, stderr and the final value of one call, in bytes.
    pub output: usize,
    /// Bytes one instance may write to its writable grants.
    pub write_quota: u64,
    /// The guest's wasm stack, in bytes (CPython recurses deeply).
    pub wasm_stack: usize,
    /// The host stack a call runs on: the wasm stack plus room for host frames.
    pub async_stack: usize,
    /// Most elements of one table (the interpreter's funcref table has 47,157).
    pub table_elements: usize,
    /// Largest instance state of one core or component instance, in bytes.
    pub instance_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: DEFAULT_MEMORY_LIMIT,
            timeout: DEFAULT_TIMEOUT,
            fuel: None,
            output: DEFAULT_OUTPUT_LIMIT,
            write_quota: DEFAULT_WRITE_QUOTA,
            wasm_stack: engine::MAX_WASM_STACK,
            async_stack: engine::ASYNC_STACK_SIZE,
            table_elements: engine::TABLE_ELEMENTS,
            instance_size: engine::MAX_INSTANCE_SIZE,
        }
    }
}
