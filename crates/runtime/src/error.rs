//! Error types.
//!
//! [`Error`] is about the runtime itself: preparing artifacts, compiling,
//! configuration. Every call's own error type (e.g. [`ExecError`],
//! [`ValidateError`](crate::ValidateError)) separates what the *input* caused
//! from [`SandboxError`], which says why the sandbox stopped the guest. After
//! a [`SandboxError`] the instance is thrown away; the next call gets a new
//! one, so a `Runtime` keeps working whatever the guest did.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::output::Output;
use crate::python::Usage;

/// An error and its [`source`](std::error::Error::source)s, as
/// `what: why: why`: the one way the CLI, the server and the MCP server
/// print an error whose cause matters. A cause whose text already ends the
/// message (some errors print their cause themselves) is not repeated.
///
/// ```
/// let io = std::io::Error::other("disk full");
/// let e = mung_runtime::Error::Io { context: "writing the cache".into(), source: io };
/// assert_eq!(mung_runtime::error_chain(&e), "writing the cache: disk full");
/// ```
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A failure of the runtime itself (not of a guest call).
///
/// `Display` says what was being done; the cause is its
/// [`source`](std::error::Error::source) (print the chain to see both).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Fetching, unpacking or wrapping the interpreter failed.
    #[error(transparent)]
    Artifact(#[from] mung_runtime_python_wasm::ArtifactError),
    /// A builder setting is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A directory to mount does not exist or cannot be opened.
    #[error("cannot mount {path}: {reason}")]
    Mount {
        /// The host path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// wasmtime could not compile, load or instantiate the component.
    #[error("{context}")]
    Wasmtime {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: wasmtime::Error,
    },
    /// Pre-initialising the snapshot failed.
    #[error("building the pre-initialised snapshot failed: {context}")]
    Snapshot {
        /// The step that failed, or what the guest did wrong.
        context: String,
        /// The underlying error, when a step failed with one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// No instance became ready for [`Runtime::warm_up`](crate::Runtime::warm_up)
    /// within a bounded number of attempts.
    #[error("no warm instance became ready after {attempts} attempts")]
    WarmUp {
        /// How many instances were tried.
        attempts: u32,
        /// Why the last one failed, if it failed in a call.
        #[source]
        source: Option<Box<SandboxError>>,
    },
    /// A session's files directory could not be read.
    #[error(transparent)]
    Files(#[from] crate::files::FileError),
    /// Every instance slot stayed taken for as long as the call could wait
    /// ([`RuntimeBuilder::acquire_timeout`](crate::RuntimeBuilder::acquire_timeout),
    /// by default the call's deadline): live [`Session`](crate::Session)s and
    /// running calls hold one slot each. Calls get it as
    /// [`SandboxError::Setup`].
    #[error(
        "all {max_instances} instances are in use and none became free within {waited:?}; end a session, or raise \
         the number of instances (RuntimeBuilder::max_instances)"
    )]
    AllInstancesBusy {
        /// The most instances alive at once.
        max_instances: u32,
        /// How long the call waited.
        waited: Duration,
    },
    /// A compiled entry of the cache failed to load, and was kept because it
    /// is not proven corrupt (it matches the checksum written with it, or
    /// it cannot be checked). Corrupt entries are deleted and rebuilt
    /// instead.
    #[error("cannot load {path}; the cache entry was kept: {why}")]
    CacheEntryUnusable {
        /// The entry.
        path: PathBuf,
        /// Why it was kept.
        why: String,
        /// The load error.
        source: Box<Error>,
    },
    /// Reading or writing a file failed.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn wasmtime(context: impl Into<String>) -> impl FnOnce(wasmtime::Error) -> Error {
        let context = context.into();
        move |source| Error::Wasmtime { context, source }
    }

    pub(crate) fn snapshot<E>(context: impl Into<String>) -> impl FnOnce(E) -> Error
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let context = context.into();
        move |source| Error::Snapshot { context, source: Some(source.into()) }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}

/// Why the sandbox stopped a guest call. The instance is discarded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The call ran past its wall-clock deadline (busy or blocked).
    #[error("the call was stopped after its deadline of {limit:?}")]
    Timeout {
        /// The deadline that was exceeded.
        limit: Duration,
    },
    /// The call used up its fuel (instruction budget).
    #[error("the call ran out of fuel (limit {limit} units)")]
    OutOfFuel {
        /// The fuel given to the call.
        limit: u64,
    },
    /// The guest could not get memory under the cap and then failed hard.
    #[error("the call hit the memory limit of {limit} bytes")]
    MemoryLimit {
        /// The memory cap.
        limit: u64,
        /// The failure that followed.
        source: wasmtime::Error,
    },
    /// The guest ended the whole interpreter process (`os._exit(code)`).
    #[error("the interpreter exited with status {code}")]
    Exit {
        /// The exit status.
        code: i32,
    },
    /// The guest trapped (e.g. a stack overflow in native code).
    #[error("the interpreter trapped")]
    Trap {
        /// The trap, with its wasm backtrace.
        source: wasmtime::Error,
    },
    /// The instance was already stopped by an earlier call.
    #[error("the instance was stopped by an earlier call")]
    Stopped,
    /// No instance could be created for the call.
    #[error("could not start a sandbox")]
    Setup(#[source] Box<Error>),
}

impl SandboxError {
    /// A short stable name of the kind of stop: `timeout`, `out-of-fuel`,
    /// `memory-limit`, `interpreter-exit`, `trap`, `stopped` or `setup`
    /// (for reports, metrics and problem types).
    pub fn kind(&self) -> &'static str {
        match self {
            SandboxError::Timeout { .. } => "timeout",
            SandboxError::OutOfFuel { .. } => "out-of-fuel",
            SandboxError::MemoryLimit { .. } => "memory-limit",
            SandboxError::Exit { .. } => "interpreter-exit",
            SandboxError::Trap { .. } => "trap",
            SandboxError::Stopped => "stopped",
            SandboxError::Setup(_) => "setup",
        }
    }
}

impl From<Error> for SandboxError {
    fn from(e: Error) -> Self {
        SandboxError::Setup(Box::new(e))
    }
}

/// The kind of a Python-level failure of `execute`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
#[serde(rename_all = "kebab-case")]
pub enum PythonErrorKind {
    /// The snippet does not compile.
    Syntax,
    /// The snippet raised an exception it did not catch.
    Exception,
    /// The snippet called `sys.exit(n)`, `exit()` or `quit()`.
    Exit,
    /// The globals are not a JSON object.
    InvalidGlobals,
    /// The final value has no JSON form (bytes, NaN, arbitrary objects).
    NotJson,
    /// The final value's JSON is larger than the output limit
    /// ([`RuntimeBuilder::output_limit`](crate::RuntimeBuilder::output_limit),
    /// the same cap as stdout and stderr). It is refused rather than cut,
    /// since cut JSON is not JSON.
    ValueTooLarge,
}

/// A Python-level failure of `execute`: the interpreter is fine.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PythonError {
    /// What kind of failure.
    pub kind: PythonErrorKind,
    /// The exception type, e.g. `ZeroDivisionError`.
    pub type_name: String,
    /// The exception message.
    pub message: String,
    /// The traceback, with line numbers in the snippet (file `<exec>`).
    pub traceback: String,
    /// The exit status for [`PythonErrorKind::Exit`].
    pub exit_code: Option<i32>,
}

impl fmt::Display for PythonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PythonErrorKind::Exit => write!(f, "the snippet exited with status {}", self.exit_code.unwrap_or(0)),
            _ if !self.traceback.is_empty() => f.write_str(self.traceback.trim_end()),
            _ if self.type_name.is_empty() => f.write_str(&self.message),
            _ => write!(f, "{}: {}", self.type_name, self.message),
        }
    }
}

impl std::error::Error for PythonError {}

/// Why `execute` did not give a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecFailure {
    /// The snippet failed in Python.
    #[error(transparent)]
    Python(PythonError),
    /// The sandbox stopped the snippet.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
}

/// The error of `execute`: what failed, and what the snippet printed first.
///
/// `Display` and `source()` are those of [`failure`](Self::failure).
#[derive(Debug)]
pub struct ExecError {
    /// What failed.
    pub failure: ExecFailure,
    /// stdout and stderr up to the failure.
    pub output: Output,
    /// What the call cost up to the failure (zero when it never ran).
    pub usage: Usage,
}

impl ExecError {
    /// No instance could be started for the call.
    pub(crate) fn setup(e: Error) -> ExecError {
        ExecError { failure: ExecFailure::Sandbox(e.into()), output: Output::default(), usage: Usage::default() }
    }

    /// Whether the snippet ended the interpreter: `sys.exit`, `exit()`,
    /// `quit()` or `os._exit`.
    pub fn is_exit(&self) -> bool {
        matches!(&self.failure, ExecFailure::Python(p) if p.kind == PythonErrorKind::Exit)
            || matches!(self.failure, ExecFailure::Sandbox(SandboxError::Exit { .. }))
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.failure.fmt(f)
    }
}

impl std::error::Error for ExecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.failure)
    }
}
