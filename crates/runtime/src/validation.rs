//! Typed results of MuNG validation, serialised exactly like MuNG Studio's
//! JSON: `{"code", "message", "nodeId", "resolution": {"operations":
//! [{"updateNodeId", "newClassName"}]} | null, "fingerprint"}`.

use serde::{Deserialize, Serialize};

use crate::bindings::exports::mung::runtime::validation as wit;
use crate::error::SandboxError;

/// Which code validates documents inside the sandbox ([`RuntimeBuilder::validator`](crate::RuntimeBuilder::validator)).
///
/// Both give the same issues; the reference is the slower one the compiled
/// validator is tested against, and it also answers every document the
/// compiled one leaves to it (any error, and anything unusual: see
/// `ARCHITECTURE.md`, "Where validation runs").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Validator {
    /// The rules in Rust (`crates/validator`), run by the component's typed
    /// glue: a document it accepts never enters the interpreter (the default).
    #[default]
    Compiled,
    /// `mstudio.validation`, run by the interpreter for every document.
    Reference,
}

impl Validator {
    /// The guest environment variable the glue reads, and its value.
    pub(crate) fn guest_env(self) -> Option<(&'static str, &'static str)> {
        match self {
            Validator::Compiled => None,
            Validator::Reference => Some(("MUNG_RUNTIME_VALIDATOR", "reference")),
        }
    }
}

/// One problem found in a document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationIssue {
    /// 1xxx deprecated class, 2xxx orientation, 3xxx single-pixel line, 4xxx
    /// missing transcription, 5xxx grammar.
    pub code: u32,
    /// The human-readable description.
    pub message: String,
    /// The node the issue is attached to.
    pub node_id: i64,
    /// How to fix it automatically, if possible.
    pub resolution: Option<Resolution>,
    /// Tells apart several issues with the same code on the same node.
    pub fingerprint: Option<String>,
}

/// An automatic fix: operations to apply in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The operations.
    pub operations: Vec<Operation>,
}

/// One step of an automatic fix (WIT's `variant operation`).
///
/// Non-exhaustive because the WIT variant may gain steps; each is
/// serialised as its own record, without a tag, as MuNG Studio writes it
/// (`{"updateNodeId", "newClassName"}` for a class update).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Operation {
    /// Rename the class of a node.
    UpdateClass(ClassUpdate),
}

/// Rename the class of a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassUpdate {
    /// The node to rename.
    pub update_node_id: i64,
    /// Its new class name.
    pub new_class_name: String,
}

impl ValidationIssue {
    /// MuNG Studio's identifier of an issue: `{code}-{nodeId}-{fingerprint}`.
    pub fn key(&self) -> String {
        format!("{}-{}-{}", self.code, self.node_id, self.fingerprint.as_deref().unwrap_or("null"))
    }
}

impl From<wit::ValidationIssue> for ValidationIssue {
    fn from(i: wit::ValidationIssue) -> Self {
        ValidationIssue {
            code: i.code,
            message: i.message,
            node_id: i.node_id,
            resolution: i.resolution.map(|ops| Resolution {
                operations: ops
                    .into_iter()
                    .map(|op| match op {
                        wit::Operation::UpdateClass(u) => Operation::UpdateClass(ClassUpdate {
                            update_node_id: u.update_node_id,
                            new_class_name: u.new_class_name,
                        }),
                    })
                    .collect(),
            }),
            fingerprint: i.fingerprint,
        }
    }
}

/// A document with its automatic fixes applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedDocument {
    /// The new document.
    pub mung_xml: String,
    /// How many class renames were applied.
    pub renamed: u32,
}

/// Why a document could not be validated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValidateError {
    /// The document is not a readable MuNG document.
    #[error("invalid MuNG document: {0}")]
    InvalidInput(String),
    /// The validator failed (a bug in mung-runtime).
    #[error("internal error in the validator: {0}")]
    Internal(String),
    /// The sandbox stopped the validation.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
}

impl ValidateError {
    /// A short stable name: `invalid-input`, `internal` or `sandbox` (the
    /// `kind` of the CLI's JSON reports and the server's batch lines).
    pub fn kind(&self) -> &'static str {
        match self {
            ValidateError::InvalidInput(_) => "invalid-input",
            ValidateError::Internal(_) => "internal",
            ValidateError::Sandbox(_) => "sandbox",
        }
    }

    /// The message to show next to [`kind`](Self::kind): for
    /// [`InvalidInput`](ValidateError::InvalidInput) what is wrong with the
    /// document, without the "invalid MuNG document:" of `Display` (the kind
    /// says it already); otherwise the error and its sources
    /// ([`error_chain`](crate::error_chain)).
    pub fn message(&self) -> String {
        match self {
            ValidateError::InvalidInput(m) => m.clone(),
            other => crate::error_chain(other),
        }
    }
}

/// The largest MuNG document to accept by default, in bytes (24 MiB): what
/// `mung-runtime validate --max-size` and the HTTP server's document limit
/// start from. Memory, not size, is what limits validation: measured with
/// documents made of real MuNG nodes (copies of a MUSCIMA++ page, ~170
/// bytes a node), 175,000 nodes (30 MB, 380,000 issues) validate within
/// [`DEFAULT_MEMORY_LIMIT`](crate::DEFAULT_MEMORY_LIMIT) and 200,000 nodes
/// (34 MB) do not; this default leaves a margin below that. Real pages are
/// under 1 MB. Past the memory cap a document gets
/// [`ValidateError::InvalidInput`] ("not enough memory in the sandbox"),
/// never a crash: raise both limits together for larger ones.
pub const DEFAULT_MAX_DOCUMENT: u64 = 24 << 20;

/// A document's bytes as text: MuNG documents are UTF-8, and anything else
/// (a binary file, say) is [`ValidateError::InvalidInput`].
pub fn document_text(bytes: &[u8]) -> Result<&str, ValidateError> {
    std::str::from_utf8(bytes).map_err(|e| {
        ValidateError::InvalidInput(format!(
            "not UTF-8 text (a binary file?): invalid byte at offset {}",
            e.valid_up_to()
        ))
    })
}

impl From<wit::ValidationError> for ValidateError {
    fn from(e: wit::ValidationError) -> Self {
        match e {
            wit::ValidationError::InvalidInput(m) => ValidateError::InvalidInput(m),
            wit::ValidationError::Internal(m) => ValidateError::Internal(m),
        }
    }
}

impl crate::Runtime {
    /// Validates a MuNG document: MuNG Studio's rules, with its three known
    /// bugs fixed (5101/5102 codes for syntax links, no failure without a
    /// `measureSeparator`, the `actually` typo). Issues come in MuNG Studio's
    /// order; a document it cannot read is [`ValidateError::InvalidInput`].
    pub fn validate(&self, mung_xml: &str) -> Result<Vec<ValidationIssue>, ValidateError> {
        let issues = self
            .pool
            .with_warm(async |store, api| api.mung_runtime_validation().call_validate(store, mung_xml).await)??;
        Ok(issues.into_iter().map(Into::into).collect())
    }

    /// Applies every automatic fix (class renames) until none is left.
    pub fn fix(&self, mung_xml: &str) -> Result<FixedDocument, ValidateError> {
        let fixed =
            self.pool.with_warm(async |store, api| api.mung_runtime_validation().call_fix(store, mung_xml).await)??;
        Ok(FixedDocument { mung_xml: fixed.mung_xml, renamed: fixed.renamed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_serialise_as_mung_studio_writes_them() {
        let issue = ValidationIssue {
            code: 1001,
            message: "deprecated".into(),
            node_id: 7,
            resolution: Some(Resolution {
                operations: vec![Operation::UpdateClass(ClassUpdate {
                    update_node_id: 7,
                    new_class_name: "noteheadFull".into(),
                })],
            }),
            fingerprint: None,
        };
        let json = serde_json::to_value(&issue).unwrap();
        let expected = serde_json::json!({"code": 1001, "message": "deprecated", "nodeId": 7, "fingerprint": null,
            "resolution": {"operations": [{"updateNodeId": 7, "newClassName": "noteheadFull"}]}});
        assert_eq!(json, expected);
        assert_eq!(serde_json::from_value::<ValidationIssue>(json).unwrap(), issue);
    }

    #[test]
    fn invalid_input_gives_its_message_without_the_prefix() {
        let e = ValidateError::InvalidInput("no <Nodes> root".into());
        assert_eq!(e.to_string(), "invalid MuNG document: no <Nodes> root");
        assert_eq!((e.kind(), e.message().as_str()), ("invalid-input", "no <Nodes> root"));
        let e = ValidateError::Internal("boom".into());
        assert_eq!(e.message(), "internal error in the validator: boom");
    }
}
