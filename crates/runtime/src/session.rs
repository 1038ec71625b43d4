//! [`Session`]: a persistent interpreter.

use std::sync::Arc;

use serde::Serialize;

use crate::error::{ExecError, ExecFailure, SandboxError};
use crate::output::Output;
use crate::pool::{Pool, globals_json};
use crate::python::Execution;
use crate::worker::Worker;

/// A persistent interpreter, like MuNG Studio's single Pyodide worker: each
/// [`execute`](Session::execute) sees the names defined by the earlier ones,
/// until [`reset`](Session::reset).
///
/// The instance is created on first use. If the sandbox stops a call
/// (deadline, trap, `os._exit`), the instance is discarded with its state and
/// the next call starts a new one.
///
/// A live session holds one of the runtime's
/// [`max_instances`](crate::RuntimeBuilder::max_instances) until it is
/// dropped. Its calls block the calling thread, like those of
/// [`Runtime`](crate::Runtime#blocking): keep them off async executors.
pub struct Session {
    pool: Arc<Pool>,
    worker: Option<Worker>,
}

impl Session {
    pub(crate) fn new(pool: Arc<Pool>) -> Session {
        Session { pool, worker: None }
    }

    /// Runs `code` with `globals` merged into the session's names; returns
    /// the value of the final expression as JSON.
    pub fn execute(&mut self, code: &str, globals: &impl Serialize) -> Result<Execution, ExecError> {
        let globals = globals_json(globals)?;
        let worker = match &mut self.worker {
            Some(worker) => worker,
            slot @ None => slot.insert(self.pool.new_worker().map_err(|e| ExecError {
                failure: ExecFailure::Sandbox(SandboxError::from(e)),
                output: Output::default(),
            })?),
        };
        let result = self.pool.execute_on(worker, code, &globals);
        // `sys.exit()`/`exit()` end the interpreter, as in Python itself.
        let exited = matches!(&result, Err(e) if e.is_exit());
        if !worker.is_healthy() || exited {
            self.worker = None;
        }
        result
    }

    /// Forgets every name defined so far (the interpreter keeps its imports).
    pub fn reset(&mut self) -> Result<(), SandboxError> {
        let Some(worker) = &mut self.worker else { return Ok(()) };
        let result = self.pool.reset_on(worker);
        if !worker.is_healthy() {
            self.worker = None;
        }
        result
    }

    /// Whether the session currently has a live instance.
    pub fn is_started(&self) -> bool {
        self.worker.is_some()
    }
}
