//! [`Runtime`]: the embedding API's entry point.

use std::sync::Arc;

use serde::Serialize;

use crate::builder::{RuntimeBuilder, RuntimeInfo};
use crate::error::{Error, ExecError};
use crate::pool::{Pool, globals_json};
use crate::python::Execution;
use crate::session::{Session, SessionOptions};

/// A sandboxed Python runtime for MuNG documents.
///
/// Cheap to clone and to share between threads: every call runs in its own
/// instance (fresh for [`Runtime::execute`], reused warm for the typed
/// calls), so calls from many threads run in parallel. The typed calls live
/// beside their types: validation in [`ValidationIssue`](crate::ValidationIssue)'s
/// module, the mask tools beside [`Mask`](crate::Mask).
///
/// # Blocking
///
/// Every call blocks the calling thread until the guest answers or the
/// call's deadline passes (the runtime drives wasmtime on its own async
/// runtime). Do not call it from a task of an async executor: it would stall
/// that executor's thread, and under tokio it panics ("Cannot start a runtime
/// from within a runtime"). From async code, move the call to a blocking
/// thread, e.g. `tokio::task::spawn_blocking(move || runtime.validate(&xml))`.
/// A call that needs a new instance while all
/// [`max_instances`](crate::RuntimeBuilder::max_instances) are alive waits
/// for one at most [`acquire_timeout`](crate::RuntimeBuilder::acquire_timeout),
/// then fails with [`Error::AllInstancesBusy`].
///
/// ```no_run
/// let runtime = mung_runtime::Runtime::builder().build()?;
/// let value = runtime.execute("1 + 1", &serde_json::json!({}))?.value;
/// assert_eq!(value, 2);
/// let issues = runtime.validate("<Nodes/>")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Runtime {
    pub(crate) pool: Arc<Pool>,
    info: Arc<RuntimeInfo>,
}

impl Runtime {
    pub(crate) fn from_parts(pool: Arc<Pool>, info: Arc<RuntimeInfo>) -> Runtime {
        Runtime { pool, info }
    }

    /// A builder with the default settings.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// A runtime with the default settings.
    pub fn new() -> Result<Runtime, Error> {
        Runtime::builder().build()
    }

    /// Facts about this runtime (cache paths, whether it compiled, ...).
    pub fn info(&self) -> &RuntimeInfo {
        &self.info
    }

    /// Runs `code` in a fresh instance that sees nothing of earlier calls,
    /// with `globals` (anything that serialises to a JSON object) defined.
    /// Returns the value of the final expression as JSON.
    pub fn execute(&self, code: &str, globals: &impl Serialize) -> Result<Execution, ExecError> {
        let globals = globals_json(globals)?;
        let mut instance = self.pool.fresh_instance(true).map_err(ExecError::setup)?;
        let result = self.pool.execute_on(&mut instance, self.pool.limits(), code, &globals);
        self.pool.retire(instance);
        result
    }

    /// A persistent interpreter, like MuNG Studio's single worker: names
    /// defined by one `execute` stay visible to the next.
    pub fn session(&self) -> Session {
        Session::new(self.pool.clone(), SessionOptions::new()).expect("the runtime's own limits fit a session")
    }

    /// A [`session`](Self::session) with a files directory or tighter
    /// limits. Fails with [`Error::Config`] for limits above the runtime's,
    /// and [`Error::Mount`] for a directory that cannot be granted.
    pub fn session_with(&self, options: SessionOptions) -> Result<Session, Error> {
        Session::new(self.pool.clone(), options)
    }

    /// Creates up to `n` warm instances ahead of time (they serve the typed
    /// calls), so that the first calls do not pay instance start-up. Under
    /// [`Isolation::Fresh`](crate::Isolation::Fresh) it only checks that one
    /// instance starts, and keeps none. Fails
    /// with [`Error::WarmUp`] when instances keep failing to start (e.g. a
    /// deadline too short for an interpreter to boot).
    pub fn warm_up(&self, n: usize) -> Result<(), Error> {
        self.pool.warm_up(n)
    }

    /// How many warm instances wait for typed calls right now.
    pub fn idle_instances(&self) -> usize {
        self.pool.idle_count()
    }

    /// How many fresh instances wait, prepared ahead of time, for the next
    /// fresh calls right now (see
    /// [`prepared_instances`](crate::RuntimeBuilder::prepared_instances)).
    pub fn prepared_instances(&self) -> usize {
        self.pool.prepared_count()
    }
}
