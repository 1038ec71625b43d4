//! Errors as RFC 9457 problem details (`application/problem+json`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mung_runtime::{ExecError, ExecFailure, ExtractError, SandboxError, ValidateError};
use serde_json::{Map, Value, json};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Where the problem types are described (`type` is this plus a slug).
const TYPE_BASE: &str = "https://mung-runtime.dev/problems/";

/// One problem: status, a slug naming its type, a title shared by all
/// problems of the type, and a detail about this occurrence.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The HTTP status.
    pub status: StatusCode,
    /// The problem type's slug, e.g. `invalid-document`.
    pub slug: &'static str,
    /// A short summary of the type.
    pub title: &'static str,
    /// What happened this time.
    pub detail: String,
    /// Extension members (e.g. the Python error's fields).
    pub extensions: Map<String, Value>,
    /// Seconds after which a retry may succeed (503, 429).
    pub retry_after: Option<u32>,
}

impl Problem {
    /// A problem without extensions.
    pub fn new(status: StatusCode, slug: &'static str, title: &'static str, detail: impl Into<String>) -> Problem {
        Problem { status, slug, title, detail: detail.into(), extensions: Map::new(), retry_after: None }
    }

    /// 400: the request is malformed.
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad-request", "Malformed request", detail)
    }

    /// 415: the body's media type is not accepted here.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type", detail)
    }

    /// 413: the request body is larger than a limit.
    pub fn too_large(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Request body too large", detail)
    }

    /// 408: the client stopped sending its body.
    pub fn stalled(limit: std::time::Duration) -> Problem {
        Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "body-stalled",
            "Request body stalled",
            format!("no part of the request body arrived for {limit:?} (see `serve --idle-timeout`)"),
        )
    }

    /// 500: a bug of ours; the detail says what went wrong.
    pub fn internal(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", detail)
    }

    /// 503: every instance is busy and the queue is full.
    pub fn overloaded(retry_after: u32) -> Problem {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "Server busy",
            "every sandbox is busy and the queue is full; retry after the given delay",
        );
        p.retry_after = Some(retry_after);
        p
    }

    /// 503: the server is shutting down.
    pub fn shutting_down() -> Problem {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting-down",
            "Server shutting down",
            "the server is shutting down and takes no new requests",
        );
        p.retry_after = Some(1);
        p
    }

    /// Adds an extension member.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Problem {
        self.extensions.insert(key.into(), value.into());
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "type": format!("{TYPE_BASE}{}", self.slug),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let map = body.as_object_mut().expect("an object");
        for (k, v) in &self.extensions {
            map.insert(k.clone(), v.clone());
        }
        body
    }

    /// A sandbox stop: 504 for the deadline, 503 when no sandbox could be
    /// started, 500 for an instance stopped earlier (our bug), 422 for what
    /// the input made the guest do (memory, fuel, trap, exit).
    pub fn sandbox(e: &SandboxError) -> Problem {
        let (status, slug, title) = match e {
            SandboxError::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "deadline", "Deadline exceeded"),
            SandboxError::Setup(_) => (StatusCode::SERVICE_UNAVAILABLE, "no-sandbox", "No sandbox available"),
            SandboxError::Stopped => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
            _ => (StatusCode::UNPROCESSABLE_ENTITY, "sandbox-stop", "Stopped by the sandbox"),
        };
        // The full chain of a trap holds a wasm backtrace: for the log, not
        // for the client, who gets the stop and its root cause.
        tracing::debug!(error = %chain(e), "sandbox stop");
        let mut detail = e.to_string();
        let mut root = std::error::Error::source(e);
        while let Some(next) = root.and_then(std::error::Error::source) {
            root = Some(next);
        }
        if let Some(cause) = root.map(ToString::to_string).filter(|c| !c.contains("backtrace")) {
            detail = format!("{detail}: {cause}");
        }
        let mut p = Problem::new(status, slug, title, detail).with("sandbox", e.kind());
        if matches!(e, SandboxError::Setup(_)) {
            p.retry_after = Some(1);
        }
        p
    }
}

/// The static name of a sandbox stop kind (for a response extension).
fn sandbox_kind(kind: &str) -> &'static str {
    ["timeout", "out-of-fuel", "memory-limit", "interpreter-exit", "trap", "stopped", "setup"]
        .into_iter()
        .find(|k| *k == kind)
        .unwrap_or("other")
}

/// An error and its sources, as `what: why: why`.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
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

impl From<ValidateError> for Problem {
    fn from(e: ValidateError) -> Problem {
        match e {
            ValidateError::InvalidInput(m) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-document",
                "Unreadable MuNG document",
                m.clone(),
            )
            .with("message", m),
            ValidateError::Sandbox(s) => Problem::sandbox(&s),
            other => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", chain(&other)),
        }
    }
}

impl From<ExtractError> for Problem {
    fn from(e: ExtractError) -> Problem {
        match e {
            ExtractError::InvalidInput(m) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-input",
                "Unusable input",
                format!("invalid input: {m}"),
            )
            .with("message", m),
            ExtractError::Unsupported(m) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "not-applicable", "Operation does not apply", m.clone())
                    .with("message", m)
            }
            ExtractError::Sandbox(s) => Problem::sandbox(&s),
            other => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", chain(&other)),
        }
    }
}

impl From<ExecError> for Problem {
    fn from(e: ExecError) -> Problem {
        let output = json!({
            "stdout": e.output.stdout_text(),
            "stderr": e.output.stderr_text(),
            "stdout_truncated": e.output.stdout_truncated,
            "stderr_truncated": e.output.stderr_truncated,
        });
        let p = match &e.failure {
            ExecFailure::Python(p) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "python-error", "The script failed", p.to_string())
                    .with("kind", serde_json::to_value(p.kind).unwrap_or(Value::Null))
                    .with("error_type", p.type_name.clone())
                    .with("message", p.message.clone())
                    .with("traceback", p.traceback.clone())
                    .with("exit_code", p.exit_code)
            }
            ExecFailure::Sandbox(s) => Problem::sandbox(s),
            other => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", chain(other)),
        };
        p.with("output", output)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body().to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(kind) = self.extensions.get("sandbox").and_then(Value::as_str) {
            response.extensions_mut().insert(crate::middleware::SandboxStop(sandbox_kind(kind)));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_the_rfc_9457_members_and_extensions() {
        let p = Problem::bad_request("no body").with("field", "region");
        let body = p.body();
        assert_eq!(body["status"], 400);
        assert_eq!(body["title"], "Malformed request");
        assert_eq!(body["detail"], "no body");
        assert_eq!(body["field"], "region");
        assert!(body["type"].as_str().unwrap().ends_with("/bad-request"));
        let response = Problem::overloaded(2).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }

    #[test]
    fn invalid_documents_are_422_with_the_cli_message() {
        let p = Problem::from(ValidateError::InvalidInput("no <Nodes> root".into()));
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p.detail, "no <Nodes> root", "the message `validate` prints for the document");
    }
}
