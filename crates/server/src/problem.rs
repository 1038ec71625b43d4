//! Errors as RFC 9457 problem details (`application/problem+json`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mung_runtime::{ExecError, ExecFailure, ExtractError, SandboxError, ValidateError, error_chain};
use serde_json::{Map, Value, json};

pub use mung_runtime_wire::ProblemType;
/// The media type of every error body.
pub use mung_runtime_wire::media::PROBLEM_JSON;

/// One problem: its type (slug, title, status; the catalogue is in
/// `mung-runtime-wire`), a detail about this occurrence and extension members.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The HTTP status: the type's, unless an answer of another status is
    /// reported as a problem of a close type (e.g. a 411 as `bad-request`).
    pub status: StatusCode,
    /// The problem type.
    pub kind: ProblemType,
    /// What happened this time.
    pub detail: String,
    /// Extension members (e.g. the Python error's fields).
    pub extensions: Map<String, Value>,
    /// Seconds after which a retry may succeed (503, 429).
    pub retry_after: Option<u32>,
    /// The kind of sandbox stop this reports, if it does
    /// ([`SandboxError::kind`]); also the `sandbox` member of the body.
    pub sandbox: Option<&'static str>,
}

/// Marks a response that reports a sandbox stop, for the metrics.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SandboxStop(pub &'static str);

impl From<mung_runtime_wire::Problem> for Problem {
    fn from(p: mung_runtime_wire::Problem) -> Problem {
        let mut problem = Problem::new(p.kind, p.detail);
        problem.extensions = p.extensions;
        problem
    }
}

impl Problem {
    /// A problem of this type without extensions.
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Problem {
        Problem {
            status: StatusCode::from_u16(kind.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            kind,
            detail: detail.into(),
            extensions: Map::new(),
            retry_after: None,
            sandbox: None,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(ProblemType::BAD_REQUEST, detail)
    }

    /// 500: a bug or a failure of the host itself; the server goes on.
    pub fn internal(detail: impl Into<String>) -> Problem {
        Problem::new(ProblemType::INTERNAL, detail)
    }

    /// 415: the body's media type is not accepted here.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Problem {
        Problem::new(ProblemType::UNSUPPORTED_MEDIA_TYPE, detail)
    }

    /// 413: the request body is larger than a limit.
    pub fn too_large(detail: impl Into<String>) -> Problem {
        Problem::new(ProblemType::TOO_LARGE, detail)
    }

    /// 408: the client stopped sending its body.
    pub fn stalled(limit: std::time::Duration) -> Problem {
        Problem::new(
            ProblemType::BODY_STALLED,
            format!("no part of the request body arrived for {limit:?} (see `serve --idle-timeout`)"),
        )
    }

    /// 503: every instance is busy and the queue is full.
    pub fn overloaded(retry_after: u32) -> Problem {
        let mut p = Problem::new(
            ProblemType::OVERLOADED,
            "every sandbox is busy and the queue is full; retry after the given delay",
        );
        p.retry_after = Some(retry_after);
        p
    }

    /// 503: the server is shutting down.
    pub fn shutting_down() -> Problem {
        let mut p = Problem::new(ProblemType::SHUTTING_DOWN, "the server is shutting down and takes no new requests");
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
        let kind = ProblemType { status: self.status.as_u16(), ..self.kind };
        mung_runtime_wire::problem::body(kind, &self.detail, &self.extensions)
    }

    /// A sandbox stop: 504 for the deadline, 503 when no sandbox could be
    /// started, 500 for an instance stopped earlier (our bug), 422 for what
    /// the input made the guest do (memory, fuel, trap, exit).
    pub fn sandbox(e: &SandboxError) -> Problem {
        let kind = match e {
            SandboxError::Timeout { .. } => ProblemType::DEADLINE,
            SandboxError::Setup(_) => ProblemType::NO_SANDBOX,
            SandboxError::Stopped => ProblemType::INTERNAL,
            _ => ProblemType::SANDBOX_STOP,
        };
        // The full chain of a trap holds a wasm backtrace: for the log, not
        // for the client, who gets the stop and its root cause.
        tracing::debug!(error = %error_chain(e), "sandbox stop");
        let mut detail = e.to_string();
        let mut root = std::error::Error::source(e);
        while let Some(next) = root.and_then(std::error::Error::source) {
            root = Some(next);
        }
        if let Some(cause) = root.map(ToString::to_string).filter(|c| !c.contains("backtrace")) {
            detail = format!("{detail}: {cause}");
        }
        let mut p = Problem::new(kind, detail).with("sandbox", e.kind());
        p.sandbox = Some(e.kind());
        if matches!(e, SandboxError::Setup(_)) {
            p.retry_after = Some(1);
        }
        p
    }
}

impl From<ValidateError> for Problem {
    fn from(e: ValidateError) -> Problem {
        match e {
            ValidateError::InvalidInput(m) => mung_runtime_wire::Problem::invalid_document(m).into(),
            ValidateError::Sandbox(s) => Problem::sandbox(&s),
            other => Problem::new(ProblemType::INTERNAL, error_chain(&other)),
        }
    }
}

impl From<ExtractError> for Problem {
    fn from(e: ExtractError) -> Problem {
        match e {
            ExtractError::InvalidInput(m) => mung_runtime_wire::Problem::invalid_input(m).into(),
            ExtractError::Unsupported(m) => mung_runtime_wire::Problem::not_applicable(m).into(),
            ExtractError::Sandbox(s) => Problem::sandbox(&s),
            other => Problem::new(ProblemType::INTERNAL, error_chain(&other)),
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
            ExecFailure::Python(p) => Problem::new(ProblemType::PYTHON_ERROR, p.to_string())
                .with("kind", serde_json::to_value(p.kind).unwrap_or(Value::Null))
                .with("error_type", p.type_name.clone())
                .with("message", p.message.clone())
                .with("traceback", p.traceback.clone())
                .with("exit_code", p.exit_code),
            ExecFailure::Sandbox(s) => Problem::sandbox(s),
            other => Problem::new(ProblemType::INTERNAL, error_chain(other)),
        };
        p.with("output", output).with("usage", crate::wire::usage_json(&e.usage))
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
        if let Some(kind) = self.sandbox {
            response.extensions_mut().insert(SandboxStop(kind));
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
