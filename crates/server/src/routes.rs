//! The router: the page, health, metrics, the description, and the
//! validation and execution routes (extraction in [`crate::extract`], the
//! batch stream in [`crate::batch`]).

use mung_runtime_wire::ProblemType;
use mung_runtime_wire::headers as wire_headers;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Json;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::AppState;
use crate::admission::Admitted;
use crate::body::{check_json, check_xml, json_body, xml_body};
use crate::problem::Problem;
use crate::wire::ExecuteRequest;

/// All routes with their layers.
pub(crate) fn router(state: Arc<AppState>) -> axum::Router {
    let timeout = TimeoutLayer::with_status_code(StatusCode::GATEWAY_TIMEOUT, state.config.request_deadline());
    // Sandbox calls: admitted before their bodies are read (see
    // `admission.rs`), after the token check.
    let calls = axum::Router::new()
        .route("/v1/validate", post(validate))
        .route("/v1/fix", post(fix))
        .route("/v1/execute", post(execute))
        .merge(crate::extract::routes())
        .route_layer(from_fn_with_state(state.clone(), crate::admission::admit))
        .layer(timeout);
    // The batch streams for as long as the dataset takes; it is admitted
    // once its body is on disk (see `batch.rs`).
    let batch = axum::Router::new().route("/v1/validate/batch", post(crate::batch::validate_batch));
    let mut metrics_route = axum::Router::new().route("/metrics", get(metrics));
    if state.config.metrics_need_token {
        metrics_route = metrics_route.route_layer(from_fn_with_state(state.clone(), crate::auth::require_token));
    }
    // Scripts run there: only with execution allowed.
    let mcp =
        if state.config.mcp && state.config.allow_execute { crate::mcp::routes(&state) } else { axum::Router::new() };
    let protected = calls
        .merge(batch)
        .merge(crate::sessions::routes(&state))
        .merge(mcp)
        .route_layer(from_fn_with_state(state.clone(), crate::auth::require_token));
    let mut router = axum::Router::new()
        .route("/", get(crate::assets::index))
        .route("/assets/{file}", get(crate::assets::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi))
        .merge(metrics_route)
        .merge(protected)
        .fallback(not_found)
        // Routes that take their body whole (small JSON) stay within
        // --max-body; the sandbox routes read theirs with the same bound.
        .layer(DefaultBodyLimit::max(state.config.max_body))
        .layer(from_fn_with_state(state.clone(), crate::middleware::observe))
        .layer(from_fn(crate::middleware::security_headers));
    // Outside the token check, so that preflights (which carry no token)
    // are answered; no CORS header at all unless an origin is configured.
    if let Some(cors) = cors_layer(&state.config.cors_origins) {
        router = router.layer(cors);
    }
    router
        .layer(from_fn_with_state(state.clone(), crate::auth::check_host))
        // NDJSON is streamed line by line: a compressor would hold lines
        // back until its buffer fills.
        .layer(
            CompressionLayer::new()
                .quality(CompressionLevel::Fastest)
                .compress_when(DefaultPredicate::new().and(NotForContentType::const_new(crate::batch::NDJSON))),
        )
        // A 503 under overload or a 504 is the server working as designed:
        // not worth an error line per request (our own 500s log themselves).
        .layer(TraceLayer::new_for_http().on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)))
        .with_state(state)
}

/// Request headers a cross-origin page may send.
const CORS_REQUEST_HEADERS: [HeaderName; 8] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::ACCEPT,
    HeaderName::from_static(wire_headers::WIDTH),
    HeaderName::from_static(wire_headers::HEIGHT),
    HeaderName::from_static("mcp-session-id"),
    HeaderName::from_static("mcp-protocol-version"),
    HeaderName::from_static("last-event-id"),
];

/// Response headers a cross-origin page may read.
const CORS_EXPOSED_HEADERS: [HeaderName; 9] = [
    HeaderName::from_static(wire_headers::RENAMED),
    HeaderName::from_static(wire_headers::LEFT),
    HeaderName::from_static(wire_headers::TOP),
    HeaderName::from_static(wire_headers::WIDTH),
    HeaderName::from_static(wire_headers::HEIGHT),
    header::RETRY_AFTER,
    header::LOCATION,
    header::WWW_AUTHENTICATE,
    HeaderName::from_static("mcp-session-id"),
];

/// CORS for the configured origins (`*` for any), or none.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers(CORS_REQUEST_HEADERS)
            .expose_headers(CORS_EXPOSED_HEADERS)
            .max_age(Duration::from_secs(3600)),
    )
}

async fn not_found() -> Problem {
    Problem::new(ProblemType::NOT_FOUND, "see GET /openapi.json for the routes")
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    readiness(&state)
}

/// 200 while the server takes new sandbox calls; 503 while it starts, is
/// full (every sandbox busy and the queue full) or shuts down.
pub(crate) fn readiness(state: &AppState) -> Response {
    if state.shutting_down.load(Ordering::SeqCst) {
        return Problem::shutting_down().into_response();
    }
    if !state.ready.load(Ordering::SeqCst) {
        let mut p = Problem::new(
            ProblemType::NOT_READY,
            "the sandboxes are still starting (the first start on a machine compiles the interpreter)",
        );
        p.retry_after = Some(1);
        return p.into_response();
    }
    if !state.admission.has_room() {
        return Problem::overloaded(1).into_response();
    }
    Json(json!({"status": "ready", "jobs": state.config.jobs})).into_response()
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(state.runtime.idle_instances(), state.runtime.prepared_instances());
    ([(header::CONTENT_TYPE, crate::metrics::METRICS_CONTENT_TYPE)], text).into_response()
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::openapi())
}

fn xml_head(parts: &Parts) -> Result<(), Problem> {
    check_xml(&parts.headers)
}

async fn validate(
    State(state): State<Arc<AppState>>,
    admitted: Admitted,
    request: Request,
) -> Result<Response, Problem> {
    admitted
        .call(&state, request, xml_head, |rt, parts, body| {
            let issues = rt.validate(&xml_body(&parts.headers, &body)?)?;
            Ok(Json(json!({ "issues": issues })).into_response())
        })
        .await
}

async fn fix(State(state): State<Arc<AppState>>, admitted: Admitted, request: Request) -> Result<Response, Problem> {
    admitted
        .call(&state, request, xml_head, |rt, parts, body| {
            let fixed = rt.fix(&xml_body(&parts.headers, &body)?)?;
            let mut response = fixed.mung_xml.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
            headers.insert(wire_headers::RENAMED, HeaderValue::from(fixed.renamed));
            Ok(response)
        })
        .await
}

async fn execute(
    State(state): State<Arc<AppState>>,
    admitted: Admitted,
    request: Request,
) -> Result<Response, Problem> {
    if !state.config.allow_execute {
        return Err(Problem::new(
            ProblemType::EXECUTE_DISABLED,
            "this server does not run scripts; start it with `mung-runtime serve --allow-execute`",
        ));
    }
    let check = |parts: &Parts| check_json(&parts.headers);
    let metrics = state.clone();
    admitted
        .call(&state, request, check, move |rt, parts, body| {
            let metrics = &metrics.metrics;
            let request: ExecuteRequest = json_body(&parts.headers, &body)?;
            drop(body);
            let globals = request.globals.unwrap_or_else(|| json!({}));
            if !globals.is_object() {
                return Err(Problem::bad_request("`globals` must be a JSON object"));
            }
            // Always a fresh instance: nothing of one request is seen by the next.
            let result = rt.execute(&request.code, &globals);
            metrics.usage("/v1/execute", result.as_ref().map_or_else(|e| &e.usage, |done| &done.usage));
            match result {
                Ok(done) => Ok(Json(crate::wire::execution_json(&done)).into_response()),
                // `sys.exit(0)` is a success, as for `mung-runtime exec`.
                Err(e) if e.is_exit() && exit_code(&e) == Some(0) => {
                    let mut body = crate::wire::output_json(&e.output, &e.usage);
                    body["value"] = Value::Null;
                    body["exit_code"] = json!(0);
                    Ok(Json(body).into_response())
                }
                Err(e) => Err(Problem::from(e)),
            }
        })
        .await
}

/// The status a script exited with, if it exited.
fn exit_code(e: &mung_runtime::ExecError) -> Option<i32> {
    match &e.failure {
        mung_runtime::ExecFailure::Python(p) if p.kind == mung_runtime::PythonErrorKind::Exit => {
            Some(p.exit_code.unwrap_or(0))
        }
        mung_runtime::ExecFailure::Sandbox(mung_runtime::SandboxError::Exit { code }) => Some(*code),
        _ => None,
    }
}
