//! Validation by the compiled rules (`crates/validator`) here, in the glue:
//! a document they accept never enters the interpreter. They leave every
//! other document (any error, anything unusual) to `mstudio.validation`,
//! which stays the reference; the host may ask for the reference for every
//! document by setting `MUNG_RUNTIME_VALIDATOR=reference` in the guest
//! environment.

use std::sync::OnceLock;

use mung_runtime_validator as compiled;

use crate::exports::mung::runtime::validation::{ClassUpdate, Operation, ValidationIssue};

/// The guest environment variable that picks the validator.
const VALIDATOR_ENV: &str = "MUNG_RUNTIME_VALIDATOR";

/// Whether this instance tries the compiled rules first (read once: the
/// environment of an instance does not change).
fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var(VALIDATOR_ENV).map_or(true, |v| v != "reference"))
}

/// The issues of `xml` from the compiled rules, or `None` when the reference
/// has to answer.
pub(crate) fn validate(xml: &str) -> Option<Vec<ValidationIssue>> {
    if !enabled() {
        return None;
    }
    let issues = compiled::validate(xml.as_bytes()).ok()?;
    Some(issues.into_iter().map(issue).collect())
}

fn issue(i: compiled::Issue) -> ValidationIssue {
    ValidationIssue {
        code: i.code,
        message: i.message,
        node_id: i.node_id,
        resolution: i.resolution.map(|ops| {
            ops.into_iter()
                .map(|u| {
                    Operation::UpdateClass(ClassUpdate { update_node_id: u.node_id, new_class_name: u.new_class_name })
                })
                .collect()
        }),
        fingerprint: i.fingerprint,
    }
}
