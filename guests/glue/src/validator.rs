//! Validation by the compiled rules (`crates/validator`) here, in the glue:
//! a document they accept never enters the interpreter. They leave every
//! other document (any error, anything unusual) to `mstudio.validation`,
//! which stays the reference; the host may ask for the reference for every
//! document by setting `MUNG_RUNTIME_VALIDATOR=reference` in the guest
//! environment.

use mung_runtime_validator as compiled;

use crate::ReferenceSwitch;
use crate::exports::mung::runtime::validation::{ClassUpdate, Operation, ValidationIssue};

/// Whether the compiled rules are tried first (guest environment variable
/// `MUNG_RUNTIME_VALIDATOR`).
static VALIDATOR: ReferenceSwitch = ReferenceSwitch::new("MUNG_RUNTIME_VALIDATOR");

/// The issues of `xml` from the compiled rules, or `None` when the reference
/// has to answer.
pub(crate) fn validate(xml: &str) -> Option<Vec<ValidationIssue>> {
    if !VALIDATOR.compiled() {
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
