//! Fast path of MuNG document validation.
//!
//! [`validate`] returns exactly the issue list that the reference validator
//! (`mstudio.validation.validate`, Python, run in the guest) returns for the document,
//! or a [`Defer`] when it cannot be sure to: then the caller runs the reference, which
//! also produces every error message. Every document the reference rejects (malformed
//! XML, DOCTYPE, non-UTF-8 encodings, bad ids, bad masks, missing fields, duplicate ids,
//! dangling links, ...) is deferred, as are documents that are merely unusual (numbers
//! written in forms other than plain decimals, comments or child elements inside field
//! elements, namespaces, CDATA, very large texts, ...).
//!
//! The issue order and texts follow the project's validation spec
//! (`validation-spec.md`, including deviations D1-D3) as implemented by
//! `mstudio/validation/rules.py`; the grammar edge order is CPython's 64-bit `set`
//! iteration order, emulated as in `mstudio/validation/edgeorder.py`.

mod edgeorder;
mod grammar;
mod num;
mod read;
mod rules;

use std::fmt;

/// One issue, in MuNG Studio's output order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Issue code (1001..5302).
    pub code: u32,
    /// The message text.
    pub message: String,
    /// The id of the node the issue is about.
    pub node_id: i64,
    /// The fix (`{"operations": [...]}` in JSON), if the issue has one.
    pub resolution: Option<Vec<ClassUpdate>>,
    /// The fingerprint, if the issue has one.
    pub fingerprint: Option<String>,
}

/// One operation of a resolution: rename the class of a node
/// (`{"updateNodeId": id, "newClassName": name}` in JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassUpdate {
    /// The node to rename.
    pub node_id: i64,
    /// Its new class name.
    pub new_class_name: String,
}

/// Why the fast path did not answer; the caller runs the reference (Python) validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defer {
    /// A short description of what the fast path does not handle.
    pub reason: String,
}

impl fmt::Display for Defer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "validation fast path deferred: {}", self.reason)
    }
}

impl std::error::Error for Defer {}

/// `Err(Defer)` with `reason`: how every step of the fast path gives up.
pub(crate) fn defer<T>(reason: impl Into<String>) -> Result<T, Defer> {
    Err(Defer { reason: reason.into() })
}

/// Validates one MuNG document (the bytes of the XML file): the issue list exactly as
/// the reference validator gives it, or [`Defer`] if the fast path is not sure to
/// reproduce it (including every document the reference rejects).
pub fn validate(xml: &[u8]) -> Result<Vec<Issue>, Defer> {
    let parsed = read::parse(xml)?;
    let doc = read::read(&parsed, &rules::SINGLE_PIXEL_CLASSES)?;
    rules::run(&doc)
}
