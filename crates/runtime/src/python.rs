//! Results of running Python snippets.

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
