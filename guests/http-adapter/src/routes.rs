//! The route table: the native server's call routes (`crates/server/src/
//! routes.rs`, `extract.rs`), answered the same way.

use serde::Serialize;
use serde_json::json;

use mung_runtime_wire::headers;

use crate::extract;
use crate::http::{Request, Response};
use crate::mung::runtime::validation::{self, Operation};
use crate::problem::{Problem, Problems as _};

/// Answers one request.
pub(crate) fn route(request: &Request) -> Response {
    let path = request.path.as_str();
    type Handler = fn(&Request) -> Result<Response, Problem>;
    let handler: Option<(&str, Handler)> = match path {
        "/v1/validate" => Some(("POST", validate)),
        "/v1/fix" => Some(("POST", fix)),
        "/healthz" => Some(("GET", healthz)),
        _ => extract::handler(path).map(|h| ("POST", h)),
    };
    let result = match handler {
        None => Err(Problem::not_found()),
        Some((method, _)) if method != request.method && !(method == "GET" && request.method == "HEAD") => {
            Err(Problem::method_not_allowed())
        }
        Some((_, handler)) => handler(request),
    };
    result.unwrap_or_else(|p| p.response())
}

fn healthz(_: &Request) -> Result<Response, Problem> {
    Ok(Response::json(&json!({"status": "ok"})))
}

/// The body as a MuNG document: XML media type, UTF-8 text.
fn xml_body(request: &Request) -> Result<&str, Problem> {
    let media = request.media_type();
    if !matches!(media.as_str(), "application/xml" | "text/xml") && !media.ends_with("+xml") {
        return Err(Problem::unsupported_media_type(format!(
            "send the MuNG document as application/xml or text/xml, not {}",
            if media.is_empty() { "a body without Content-Type".into() } else { media }
        )));
    }
    if request.body.is_empty() {
        return Err(Problem::bad_request("the request body is empty; send a MuNG XML document"));
    }
    std::str::from_utf8(&request.body).map_err(|e| {
        Problem::invalid_document(format!(
            "not UTF-8 text (a binary file?): invalid byte at offset {}",
            e.valid_up_to()
        ))
    })
}

/// An issue as MuNG Studio's JSON (the host's `ValidationIssue`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Issue {
    code: u32,
    message: String,
    node_id: i64,
    resolution: Option<Resolution>,
    fingerprint: Option<String>,
}

#[derive(Serialize)]
struct Resolution {
    operations: Vec<ClassUpdate>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClassUpdate {
    update_node_id: i64,
    new_class_name: String,
}

fn validate(request: &Request) -> Result<Response, Problem> {
    let xml = xml_body(request)?;
    let issues: Vec<Issue> = validation::validate(xml)?
        .into_iter()
        .map(|i| Issue {
            code: i.code,
            message: i.message,
            node_id: i.node_id,
            resolution: i.resolution.map(|ops| Resolution {
                operations: ops
                    .into_iter()
                    .map(|op| match op {
                        Operation::UpdateClass(u) => {
                            ClassUpdate { update_node_id: u.update_node_id, new_class_name: u.new_class_name }
                        }
                    })
                    .collect(),
            }),
            fingerprint: i.fingerprint,
        })
        .collect();
    Ok(Response::json(&json!({ "issues": issues })))
}

fn fix(request: &Request) -> Result<Response, Problem> {
    let xml = xml_body(request)?;
    let fixed = validation::fix(xml)?;
    Ok(Response::new(200, "application/xml", fixed.mung_xml.into_bytes()).header(headers::RENAMED, fixed.renamed))
}
