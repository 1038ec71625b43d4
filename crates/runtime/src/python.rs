//! Results of running Python snippets, and what they cost.

use std::time::Duration;

use crate::bindings::exports::mung::runtime::python as wit;
use crate::error::{PythonError, PythonErrorKind};
use crate::output::Output;

/// A snippet that ran to the end.
#[derive(Clone, Debug, PartialEq)]
pub struct Execution {
    /// The value of the final expression, as JSON (`null` if the snippet
    /// does not end with an expression).
    pub value: serde_json::Value,
    /// What the snippet printed.
    pub output: Output,
    /// What the call cost.
    pub usage: Usage,
}

/// What one call cost the sandbox.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Usage {
    /// Wall-clock time of the call, from entering the guest to its answer.
    pub wall: Duration,
    /// The most linear memory the instance held, summed over its memories,
    /// up to the end of the call. Wasm memories never shrink, so in a
    /// [`Session`](crate::Session) this is the interpreter's peak so far.
    pub memory_peak_bytes: u64,
    /// Fuel the call consumed, when the runtime meters fuel
    /// ([`RuntimeBuilder::fuel`](crate::RuntimeBuilder::fuel)).
    pub fuel: Option<u64>,
}

impl From<wit::PythonError> for PythonError {
    fn from(e: wit::PythonError) -> Self {
        PythonError {
            kind: match e.kind {
                wit::ErrorKind::Syntax => PythonErrorKind::Syntax,
                wit::ErrorKind::Exception => PythonErrorKind::Exception,
                wit::ErrorKind::Exit => PythonErrorKind::Exit,
                wit::ErrorKind::InvalidGlobals => PythonErrorKind::InvalidGlobals,
                wit::ErrorKind::NotJson => PythonErrorKind::NotJson,
            },
            type_name: e.type_name,
            message: e.message,
            traceback: e.traceback,
            exit_code: e.exit_code,
        }
    }
}
