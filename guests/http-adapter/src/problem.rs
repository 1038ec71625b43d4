//! Errors as RFC 9457 problem details, from the catalogue the native server
//! uses too (`mung-runtime-wire`), so both give the same bytes.

use mung_runtime_wire::media::PROBLEM_JSON;
pub(crate) use mung_runtime_wire::{Problem, ProblemType};

use crate::http::Response;
use crate::mung::runtime::extraction::ExtractionError;
use crate::mung::runtime::validation::ValidationError;

/// The problems this adapter makes, and its answer for one.
pub(crate) trait Problems {
    /// 400: the request is malformed.
    fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(ProblemType::BAD_REQUEST, detail)
    }

    /// 415: the body's media type is not accepted here.
    fn unsupported_media_type(detail: impl Into<String>) -> Problem {
        Problem::new(ProblemType::UNSUPPORTED_MEDIA_TYPE, detail)
    }

    /// 413: the body is over [`crate::http::MAX_BODY`].
    fn too_large() -> Problem {
        Problem::new(
            ProblemType::TOO_LARGE,
            "the request body is larger than the server's limit (see `serve --max-body`)",
        )
    }

    /// 404, naming the routes there are.
    fn not_found() -> Problem {
        Problem::new(
            ProblemType::NOT_FOUND,
            "the portable component serves POST /v1/validate, /v1/fix and /v1/extract/*, and GET /healthz",
        )
    }

    /// 405.
    fn method_not_allowed() -> Problem {
        Problem::new(ProblemType::METHOD_NOT_ALLOWED, "see GET /openapi.json")
    }

    /// 500: a bug of ours.
    fn internal(detail: impl Into<String>) -> Problem {
        Problem::new(ProblemType::INTERNAL, detail)
    }

    /// The answer carrying the problem.
    fn response(&self) -> Response;
}

impl Problems for Problem {
    fn response(&self) -> Response {
        Response::new(self.kind.status, PROBLEM_JSON, self.body().to_string().into_bytes())
    }
}

impl From<ValidationError> for Problem {
    fn from(e: ValidationError) -> Problem {
        match e {
            ValidationError::InvalidInput(m) => Problem::invalid_document(m),
            ValidationError::Internal(m) => Problem::internal(format!("internal error in the validator: {m}")),
        }
    }
}

impl From<ExtractionError> for Problem {
    fn from(e: ExtractionError) -> Problem {
        match e {
            ExtractionError::InvalidInput(m) => Problem::invalid_input(m),
            ExtractionError::Unsupported(m) => Problem::not_applicable(m),
            ExtractionError::Internal(m) => Problem::internal(format!("internal error in the extraction code: {m}")),
        }
    }
}
