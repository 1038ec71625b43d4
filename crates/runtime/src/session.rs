//! [`Session`]: a persistent interpreter, and the [`SessionOptions`] that
//! give it a directory of its own and tighter limits.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::builder::MIN_MEMORY_LIMIT;
use crate::error::{Error, ExecError};
use crate::files::SessionFiles;
use crate::instance::{CallLimits, Instance};
use crate::pool::{InstanceConfig, Pool, globals_json};
use crate::python::Execution;
use crate::sandbox::Mount;

/// Where a session's [files directory](SessionOptions::files) appears in
/// the guest.
pub const SESSION_GUEST_PATH: &str = "/session";

/// Settings of one [`Session`], within the runtime's own limits
/// ([`Runtime::session_with`](crate::Runtime::session_with) refuses more).
///
/// ```no_run
/// use mung_runtime::{Runtime, SessionOptions};
/// let runtime = Runtime::builder().build()?;
/// let dir = tempfile::tempdir()?;
/// let mut session = runtime.session_with(
///     SessionOptions::new().files(dir.path()).files_quota(64 << 20).memory_limit(512 << 20),
/// )?;
/// session.execute("open('/session/out.txt', 'w').write('kept')", &())?;
/// assert_eq!(std::fs::read_to_string(dir.path().join("out.txt"))?, "kept");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct SessionOptions {
    files: Option<PathBuf>,
    files_quota: Option<u64>,
    memory_limit: Option<u64>,
    timeout: Option<Duration>,
}

impl SessionOptions {
    /// The runtime's limits, no directory.
    pub fn new() -> SessionOptions {
        SessionOptions::default()
    }

    /// Grants the session an existing host directory, read-write at
    /// [`SESSION_GUEST_PATH`]. It outlives the interpreter: after a sandbox
    /// stop the next call starts a new interpreter that sees the same files.
    /// The guest may not link out of it; its writes count against the
    /// [files quota](Self::files_quota).
    pub fn files(mut self, dir: impl Into<PathBuf>) -> Self {
        self.files = Some(dir.into());
        self
    }

    /// The most bytes the files directory may hold (default: the runtime's
    /// [write quota](crate::RuntimeBuilder::write_quota)). Each call may
    /// write what is left when it starts (every byte written counts, also
    /// overwrites); past it, writes fail with "No space left on device".
    pub fn files_quota(mut self, bytes: u64) -> Self {
        self.files_quota = Some(bytes);
        self
    }

    /// Caps the interpreter's memory (at most the runtime's cap, at least
    /// [`MIN_MEMORY_LIMIT`]).
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// The deadline of each call (at most the runtime's).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// A persistent interpreter, like MuNG Studio's single Pyodide worker: each
/// [`execute`](Session::execute) sees the names defined by the earlier ones,
/// until [`reset`](Session::reset).
///
/// The instance is created on first use. If the sandbox stops a call
/// (deadline, memory, trap, `os._exit`), the instance is discarded with its
/// state and the next call starts a new one; the files directory is kept.
///
/// A live session holds one of the runtime's
/// [`max_instances`](crate::RuntimeBuilder::max_instances) until it is
/// dropped. Its calls block the calling thread, like those of
/// [`Runtime`](crate::Runtime#blocking): keep them off async executors.
pub struct Session {
    pool: Arc<Pool>,
    instance: Option<Instance>,
    /// What the session's instances are made with: the pool's, plus the
    /// files directory and the session's own caps.
    config: InstanceConfig,
    limits: CallLimits,
    files: Option<SessionFiles>,
}

impl Session {
    pub(crate) fn new(pool: Arc<Pool>, options: SessionOptions) -> Result<Session, Error> {
        let base = pool.instance_config();
        let memory_limit = options.memory_limit.unwrap_or(base.memory_limit);
        if !(MIN_MEMORY_LIMIT..=base.memory_limit).contains(&memory_limit) {
            return Err(Error::Config(format!(
                "a session's memory limit must be between {} MiB and the runtime's {} MiB, not {memory_limit} bytes",
                MIN_MEMORY_LIMIT >> 20,
                base.memory_limit >> 20
            )));
        }
        let mut limits = pool.limits();
        if let Some(timeout) = options.timeout {
            if timeout.is_zero() || timeout > limits.deadline {
                return Err(Error::Config(format!(
                    "a session's timeout must be longer than zero and at most the runtime's {:?}, not {timeout:?}",
                    limits.deadline
                )));
            }
            limits.deadline = timeout;
        }
        let layout = match &options.files {
            Some(dir) => base.layout.with(&Mount::read_write(dir, SESSION_GUEST_PATH))?,
            None => base.layout.clone(),
        };
        let write_quota = options.files_quota.unwrap_or(base.write_quota);
        let files = options.files.as_deref().map(|dir| SessionFiles::new(dir, write_quota));
        let config = base.with(layout, memory_limit, write_quota);
        Ok(Session { pool, instance: None, config, limits, files })
    }

    /// Runs `code` with `globals` merged into the session's names; returns
    /// the value of the final expression as JSON.
    pub fn execute(&mut self, code: &str, globals: &impl Serialize) -> Result<Execution, ExecError> {
        let globals = globals_json(globals)?;
        // What the files directory still has room for is this call's quota.
        let quota = match &self.files {
            Some(files) => Some(files.quota().saturating_sub(files.used().map_err(|e| ExecError::setup(e.into()))?)),
            None => None,
        };
        let instance = match &mut self.instance {
            Some(instance) => instance,
            slot @ None => slot.insert(self.pool.new_instance_with(&self.config).map_err(ExecError::setup)?),
        };
        if let Some(quota) = quota {
            instance.set_write_quota(quota);
        }
        let result = self.pool.execute_on(instance, self.limits, code, &globals);
        // `sys.exit()`/`exit()` end the interpreter, as in Python itself.
        let exited = matches!(&result, Err(e) if e.is_exit());
        if !instance.is_healthy() || exited {
            self.instance = None;
        }
        result
    }

    /// Forgets every name defined so far (the interpreter keeps its imports).
    pub fn reset(&mut self) -> Result<(), crate::SandboxError> {
        let Some(instance) = &mut self.instance else { return Ok(()) };
        let result = self.pool.reset_on(instance);
        if !instance.is_healthy() {
            self.instance = None;
        }
        result
    }

    /// Whether the session currently has a live instance.
    pub fn is_started(&self) -> bool {
        self.instance.is_some()
    }

    /// Ends the interpreter (its names and imports) now, keeping the files;
    /// the next call starts a new one. Frees the instance it held.
    pub fn stop(&mut self) {
        self.instance = None;
    }

    /// The files directory, if the session has one.
    pub fn files(&self) -> Option<&SessionFiles> {
        self.files.as_ref()
    }

    /// The interpreter's memory cap.
    pub fn memory_limit(&self) -> u64 {
        self.config.memory_limit
    }

    /// The deadline of each call.
    pub fn timeout(&self) -> Duration {
        self.limits.deadline
    }
}
