//! The router: the page, health, metrics, the description, and the
//! validation and execution routes (extraction in [`crate::extract`], the
//! batch stream in [`crate::batch`]).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::AppState;
use crate::admission::run;
use crate::problem::Problem;

/// All routes with their layers.
pub(crate) fn router(state: Arc<AppState>) -> axum::Router {
    let timeout = TimeoutLayer::with_status_code(StatusCode::GATEWAY_TIMEOUT, state.config.request_timeout);
    let calls = axum::Router::new()
        .route("/v1/validate", post(validate))
        .route("/v1/fix", post(fix))
        .route("/v1/execute", post(execute))
        .merge(crate::extract::routes())
        .layer(RequestBodyLimitLayer::new(state.config.max_body))
        .layer(timeout);
    // The batch streams for as long as the dataset takes; its body has its
    // own, larger bound, enforced while it is read.
    let batch = axum::Router::new().route("/v1/validate/batch", post(crate::batch::validate_batch));
    // Scripts run there: only with execution allowed.
    let mcp =
        if state.config.mcp && state.config.allow_execute { crate::mcp::routes(&state) } else { axum::Router::new() };
    axum::Router::new()
        .route("/", get(crate::assets::index))
        .route("/assets/{file}", get(crate::assets::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .merge(calls)
        .merge(batch)
        .merge(crate::sessions::routes(&state))
        .merge(mcp)
        .fallback(not_found)
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::middleware::observe))
        .layer(CompressionLayer::new())
        // A 503 under overload or a 504 is the server working as designed:
        // not worth an error line per request (our own 500s log themselves).
        .layer(TraceLayer::new_for_http().on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)))
        .with_state(state)
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not-found", "No such route", "see GET /openapi.json for the routes")
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.shutting_down.load(Ordering::SeqCst) {
        return Problem::shutting_down().into_response();
    }
    if state.ready.load(Ordering::SeqCst) {
        Json(json!({"status": "ready", "jobs": state.config.jobs})).into_response()
    } else {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            "Not ready",
            "the sandboxes are still starting (the first start on a machine compiles the interpreter)",
        );
        p.retry_after = Some(1);
        p.into_response()
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(state.runtime.idle_instances());
    ([(header::CONTENT_TYPE, crate::metrics::METRICS_CONTENT_TYPE)], text).into_response()
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::openapi())
}

/// The body as a MuNG document: XML media type, UTF-8 text.
pub(crate) fn xml_body(headers: &HeaderMap, body: &Bytes) -> Result<String, Problem> {
    let media = media_type(headers);
    if !matches!(media.as_str(), "application/xml" | "text/xml") && !media.ends_with("+xml") {
        return Err(Problem::unsupported_media_type(format!(
            "send the MuNG document as application/xml or text/xml, not {}",
            if media.is_empty() { "a body without Content-Type".into() } else { media }
        )));
    }
    if body.is_empty() {
        return Err(Problem::bad_request("the request body is empty; send a MuNG XML document"));
    }
    mung_runtime::document_text(body).map(str::to_owned).map_err(Problem::from)
}

/// The media type of the request, lower-cased, without parameters.
pub(crate) fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default()
}

async fn validate(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let xml = xml_body(&headers, &body)?;
    drop(body);
    let issues = run(&state, move |rt| rt.validate(&xml)).await??;
    Ok(Json(json!({ "issues": issues })).into_response())
}

async fn fix(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let xml = xml_body(&headers, &body)?;
    drop(body);
    let fixed = run(&state, move |rt| rt.fix(&xml)).await??;
    let mut response = fixed.mung_xml.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    headers.insert("x-mung-renamed", HeaderValue::from(fixed.renamed));
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecuteRequest {
    code: String,
    #[serde(default)]
    globals: Option<Value>,
}

async fn execute(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    if !state.config.allow_execute {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "execute-disabled",
            "Execution is disabled",
            "this server does not run scripts; start it with `mung-runtime serve --allow-execute`",
        ));
    }
    let request: ExecuteRequest = json_body(&headers, &body)?;
    drop(body);
    let globals = request.globals.unwrap_or_else(|| json!({}));
    if !globals.is_object() {
        return Err(Problem::bad_request("`globals` must be a JSON object"));
    }
    // Always a fresh instance: nothing of one request is seen by the next.
    // Boxed: `ExecError` is large, and it crosses the blocking-thread hop.
    let result = run(&state, move |rt| rt.execute(&request.code, &globals).map_err(Box::new)).await?;
    state.metrics.usage("/v1/execute", result.as_ref().map_or_else(|e| &e.usage, |done| &done.usage));
    Ok(Json(crate::wire::execution_json(&result.map_err(|e| *e)?)).into_response())
}

/// The body as JSON of type `T` (415 for another media type, 400 when it
/// does not parse).
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, Problem> {
    let media = media_type(headers);
    if media != "application/json" && !media.ends_with("+json") {
        return Err(Problem::unsupported_media_type(format!(
            "send application/json, not {}",
            if media.is_empty() { "a body without Content-Type".into() } else { media }
        )));
    }
    serde_json::from_slice(body).map_err(|e| Problem::bad_request(format!("the JSON body does not fit: {e}")))
}
