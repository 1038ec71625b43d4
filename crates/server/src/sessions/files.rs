//! A session's files over HTTP: upload (streamed to disk within the quota),
//! download (streamed), listing and removal. Path rules and the quota are
//! the library's [`SessionFiles`](mung_runtime::SessionFiles).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use super::{Entry, caller};
use crate::AppState;
use crate::auth::Caller;
use crate::problem::Problem;

/// The most files one listing names.
const MAX_LISTED: usize = 10_000;

pub(super) fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/v1/sessions/{id}/files", get(list))
        .route("/v1/sessions/{id}/files/{*path}", get(download).put(upload).delete(remove))
}

/// Runs a blocking file operation off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, mung_runtime::FileError> + Send + 'static,
) -> Result<T, Problem> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(Problem::from),
        Err(e) => Err(Problem::internal(format!("a file operation failed unexpectedly: {e}"))),
    }
}

fn entry(state: &AppState, id: &str, who: Option<axum::Extension<Caller>>) -> Result<Arc<Entry>, Problem> {
    state.sessions.get(id, caller(who))
}

async fn list(
    State(state): State<Arc<AppState>>,
    who: Option<axum::Extension<Caller>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, Problem> {
    let entry = entry(&state, &id, who)?;
    let files = entry.files.clone();
    let listing = blocking(move || files.list(MAX_LISTED)).await?;
    Ok(Json(json!({
        "files": listing.files,
        "used": listing.used,
        "quota": entry.files.quota(),
        "truncated": listing.truncated,
    }))
    .into_response())
}

async fn download(
    State(state): State<Arc<AppState>>,
    who: Option<axum::Extension<Caller>>,
    UrlPath((id, path)): UrlPath<(String, String)>,
) -> Result<Response, Problem> {
    let entry = entry(&state, &id, who)?;
    let files = entry.files.clone();
    let (file, len) = blocking(move || {
        let host = files.resolve(&path)?;
        let len = files.file_metadata(&path, &host)?.len();
        let file = std::fs::File::open(&host)
            .map_err(|e| mung_runtime::FileError::Io { context: format!("opening {path:?}"), source: e })?;
        Ok((file, len))
    })
    .await?;
    // Streamed in chunks: the host never holds the whole file.
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(response)
}

async fn upload(
    State(state): State<Arc<AppState>>,
    who: Option<axum::Extension<Caller>>,
    UrlPath((id, path)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let entry = entry(&state, &id, who)?;
    let files = entry.files.clone();
    let quota = files.quota();
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let too_large = |needed: u64, available: u64| mung_runtime::FileError::Quota { needed, available, quota };
    // Past the whole quota: refused before the session is even locked.
    if let Some(n) = declared.filter(|n| *n > quota) {
        return Err(too_large(n, quota).into());
    }
    // Scripts and file changes of one session take turns.
    let session = entry.lock().await?;
    let (available, file, upload) = {
        let files = files.clone();
        let path = path.clone();
        blocking(move || {
            let available = files.available_for(&path)?;
            if let Some(n) = declared.filter(|n| *n > available) {
                return Err(mung_runtime::FileError::Quota { needed: n, available, quota: files.quota() });
            }
            let (file, upload) = files.start_upload(&path)?;
            Ok((available, file, upload))
        })
        .await?
    };
    let existed = upload.replaces();
    let mut file = tokio::fs::File::from_std(file);
    let mut written = 0u64;
    let mut stream = body.into_data_stream();
    let failure = loop {
        let chunk = match stream.next().await {
            None => break None,
            Some(Ok(chunk)) => chunk,
            Some(Err(e)) => break Some(Problem::bad_request(format!("reading the upload failed: {e}"))),
        };
        written += chunk.len() as u64;
        if written > available {
            break Some(too_large(written, available).into());
        }
        if let Err(e) = file.write_all(&chunk).await {
            break Some(Problem::internal(format!("writing {path:?} failed: {e}")));
        }
    };
    let failure = match (failure, file.flush().await) {
        (Some(problem), _) => Some(problem),
        (None, Err(e)) => Some(Problem::internal(format!("writing {path:?} failed: {e}"))),
        (None, Ok(())) => None,
    };
    drop(file);
    if let Some(problem) = failure {
        // Dropping the upload removes what was written.
        drop(upload);
        return Err(problem);
    }
    blocking(move || upload.finish()).await?;
    drop(session);
    entry.touch();
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(json!({ "path": path, "size": written }))).into_response())
}

async fn remove(
    State(state): State<Arc<AppState>>,
    who: Option<axum::Extension<Caller>>,
    UrlPath((id, path)): UrlPath<(String, String)>,
) -> Result<StatusCode, Problem> {
    let entry = entry(&state, &id, who)?;
    let session = entry.lock().await?;
    let files = entry.files.clone();
    blocking(move || files.remove(&path)).await?;
    drop(session);
    Ok(StatusCode::NO_CONTENT)
}
