//! What every request goes through: refusal while shutting down, metrics,
//! and turning any non-problem error body into problem+json.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::problem::{PROBLEM_JSON, Problem};

/// Marks a response that reports a sandbox stop, for the metrics.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SandboxStop(pub &'static str);

pub(crate) async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |p| p.as_str().into());
    let response = if state.shutting_down.load(Ordering::SeqCst) && route != "/healthz" {
        Problem::shutting_down().into_response()
    } else {
        as_problem(next.run(request).await).await
    };
    if let Some(SandboxStop(kind)) = response.extensions().get::<SandboxStop>() {
        state.metrics.sandbox_stop(kind);
    }
    state.metrics.request(&route, response.status().as_u16(), start.elapsed());
    response
}

/// Error responses made by layers and extractors (413 from the body limit,
/// 405, 504 from the timeout, a rejected form) carry plain text; every error
/// body of this server is problem+json.
async fn as_problem(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return response;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let text = match axum::body::to_bytes(response.into_body(), 16 << 10).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let reason = status.canonical_reason().unwrap_or("Error");
    let (slug, title, detail) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too-large",
            "Request body too large",
            "the request body is larger than the server's limit (see `serve --max-body`)".to_string(),
        ),
        StatusCode::GATEWAY_TIMEOUT => {
            ("deadline", "Deadline exceeded", "the request took longer than its deadline".into())
        }
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed", "see GET /openapi.json".into()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "Unsupported media type", text),
        s if s.is_client_error() => {
            ("bad-request", "Malformed request", if text.is_empty() { reason.into() } else { text })
        }
        _ => ("internal", "Internal error", if text.is_empty() { reason.into() } else { text }),
    };
    let mut response = Problem::new(status, slug, title, detail).into_response();
    if let Some(v) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// The page may load only its own scripts, styles and images (and the page
/// images a person drops on it, as blob URLs), and may not be framed.
const PAGE_CSP: &str = "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; base-uri 'none'; \
                        form-action 'self'; frame-ancestors 'none'";

/// Headers of every response: no MIME sniffing anywhere; the page's content
/// security policy; and, on the call routes, a resource policy that lets a
/// cross-origin-isolated page (`COEP: require-corp`) use masks and images.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let call_route = request.uri().path().starts_with("/v1/") || request.uri().path() == "/mcp";
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if is_html {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    if call_route {
        headers
            .insert(HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("cross-origin"));
    }
    response
}
