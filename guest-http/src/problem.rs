//! Errors as RFC 9457 problem details, with the native server's types,
//! titles and details (`crates/server/src/problem.rs`).

use serde_json::json;

use crate::http::Response;
use crate::mung::runtime::extraction::ExtractionError;
use crate::mung::runtime::validation::ValidationError;

const PROBLEM_JSON: &str = "application/problem+json";
const TYPE_BASE: &str = "https://mung-runtime.dev/problems/";

pub(crate) struct Problem {
    pub status: u16,
    pub slug: &'static str,
    pub title: &'static str,
    pub detail: String,
}

impl Problem {
    pub(crate) fn new(status: u16, slug: &'static str, title: &'static str, detail: impl Into<String>) -> Problem {
        Problem { status, slug, title, detail: detail.into() }
    }

    pub(crate) fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(400, "bad-request", "Malformed request", detail)
    }

    pub(crate) fn unsupported_media_type(detail: impl Into<String>) -> Problem {
        Problem::new(415, "unsupported-media-type", "Unsupported media type", detail)
    }

    pub(crate) fn too_large() -> Problem {
        Problem::new(
            413,
            "too-large",
            "Request body too large",
            "the request body is larger than the server's limit (see `serve --max-body`)",
        )
    }

    pub(crate) fn not_found() -> Problem {
        Problem::new(
            404,
            "not-found",
            "No such route",
            "the portable component serves POST /v1/validate, /v1/fix and /v1/extract/*, and GET /healthz",
        )
    }

    pub(crate) fn method_not_allowed() -> Problem {
        Problem::new(405, "method-not-allowed", "Method not allowed", "see GET /openapi.json")
    }

    pub(crate) fn internal(detail: impl Into<String>) -> Problem {
        Problem::new(500, "internal", "Internal error", detail)
    }

    pub(crate) fn response(&self) -> Response {
        let body = json!({
            "type": format!("{TYPE_BASE}{}", self.slug),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        });
        Response::new(self.status, PROBLEM_JSON, body.to_string().into_bytes())
    }
}

impl From<ValidationError> for Problem {
    fn from(e: ValidationError) -> Problem {
        match e {
            ValidationError::InvalidInput(m) => Problem::new(422, "invalid-document", "Unreadable MuNG document", m),
            ValidationError::Internal(m) => Problem::internal(format!("internal error in the validator: {m}")),
        }
    }
}

impl From<ExtractionError> for Problem {
    fn from(e: ExtractionError) -> Problem {
        match e {
            ExtractionError::InvalidInput(m) => Problem::invalid_input(m),
            ExtractionError::Unsupported(m) => Problem::new(422, "not-applicable", "Operation does not apply", m),
            ExtractionError::Internal(m) => Problem::internal(format!("internal error in the extraction code: {m}")),
        }
    }
}

impl Problem {
    /// 422 for input an extraction cannot use (the host's `InvalidInput`).
    pub(crate) fn invalid_input(m: impl std::fmt::Display) -> Problem {
        Problem::new(422, "invalid-input", "Unusable input", format!("invalid input: {m}"))
    }
}
