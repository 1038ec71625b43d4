//! Shared helpers of the integration tests.

use mung_runtime_validator::Issue;
use serde_json::{Value, json};

/// The issue list as the JSON the reference produces.
pub fn to_json(issues: &[Issue]) -> Value {
    Value::Array(
        issues
            .iter()
            .map(|i| {
                let resolution = match &i.resolution {
                    None => Value::Null,
                    Some(ops) => json!({"operations": ops.iter().map(|o| json!({
                "updateNodeId": o.node_id, "newClassName": o.new_class_name})).collect::<Vec<_>>()}),
                };
                json!({"code": i.code, "message": i.message, "nodeId": i.node_id,
               "resolution": resolution, "fingerprint": i.fingerprint})
            })
            .collect(),
    )
}
