//! `POST /v1/validate/batch`: many documents in, one NDJSON line out per
//! document as soon as it is validated (the CLI's `--format jsonl` shape).
//!
//! Nothing grows with the dataset: a zip is spooled to a temporary file and
//! read entry by entry, a multipart body is read field by field, and at most
//! `jobs` documents are validated while `jobs` more wait in a bounded
//! channel.

use std::io::Read;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::AppState;
use crate::admission::Ticket;
use crate::problem::{Problem, chain};
use crate::routes::media_type;

/// One document of the batch: its name, and its bytes or why there are none.
type Document = (String, Result<Vec<u8>, (&'static str, String)>);

pub(crate) async fn validate_batch(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, Problem> {
    let ticket = state.admission.admit()?;
    let jobs = state.config.jobs.max(1);
    let (docs_tx, docs_rx) = mpsc::channel::<Document>(jobs);
    match media_type(request.headers()).as_str() {
        "application/zip" | "application/x-zip-compressed" => {
            let spooled = spool(request.into_body(), state.config.max_batch_body).await?;
            let max_document = state.config.max_document;
            tokio::task::spawn_blocking(move || read_zip(spooled, max_document, docs_tx));
        }
        "multipart/form-data" => {
            let form = Multipart::from_request(request, &())
                .await
                .map_err(|e| Problem::bad_request(format!("unreadable multipart body: {e}")))?;
            tokio::spawn(read_multipart(form, state.config.max_document, state.config.max_batch_body, docs_tx));
        }
        other => {
            return Err(Problem::unsupported_media_type(format!(
                "send the documents as application/zip or multipart/form-data (one file per document), not {}",
                if other.is_empty() { "a body without Content-Type" } else { other }
            )));
        }
    }
    let (lines_tx, lines_rx) = mpsc::channel::<Bytes>(2 * jobs);
    tokio::spawn(dispatch(state, ticket, docs_rx, lines_tx));
    let stream = futures_util::stream::unfold(lines_rx, |mut rx| async move {
        rx.recv().await.map(|line| (Ok::<_, std::io::Error>(line), rx))
    });
    let mut response = Body::from_stream(stream).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    Ok(response)
}

/// Copies the body to a temporary file, refusing it past `limit` bytes.
async fn spool(body: Body, limit: u64) -> Result<std::fs::File, Problem> {
    let internal = |e: std::io::Error| {
        Problem::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            format!("cannot spool the batch to a temporary file: {e}"),
        )
    };
    let file = tempfile::tempfile().map_err(internal)?;
    let mut writer = tokio::fs::File::from_std(file.try_clone().map_err(internal)?);
    let mut stream = body.into_data_stream();
    let mut total = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Problem::bad_request(format!("the request body broke off: {e}")))?;
        total += chunk.len() as u64;
        if total > limit {
            return Err(Problem::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request body too large",
                format!("the batch is larger than {limit} bytes (see `serve --max-batch-body`)"),
            ));
        }
        writer.write_all(&chunk).await.map_err(internal)?;
    }
    writer.flush().await.map_err(internal)?;
    Ok(file)
}

/// Sends each `*.xml` entry of the zip, read up to `max_document` bytes.
fn read_zip(file: std::fs::File, max_document: u64, docs: mpsc::Sender<Document>) {
    let mut archive = match zip::ZipArchive::new(file) {
        Ok(a) => a,
        Err(e) => {
            let _ =
                docs.blocking_send(("(batch)".into(), Err(("unreadable", format!("not a readable zip archive: {e}")))));
            return;
        }
    };
    for i in 0..archive.len() {
        let (name, document) = match archive.by_index(i) {
            Ok(mut entry) => {
                let name = match entry.name() {
                    Ok(n) => n.into_owned(),
                    Err(e) => format!("(entry {i}: {e})"),
                };
                if entry.is_dir() || !is_document_name(&name) {
                    continue;
                }
                let mut bytes = Vec::new();
                let read = (&mut entry).take(max_document + 1).read_to_end(&mut bytes);
                let document = match read {
                    Ok(_) if bytes.len() as u64 > max_document => Err(too_large(max_document)),
                    Ok(_) => Ok(bytes),
                    Err(e) => Err(("unreadable", format!("cannot read the entry: {e}"))),
                };
                (name, document)
            }
            Err(e) => (format!("(entry {i})"), Err(("unreadable", format!("cannot read the entry: {e}")))),
        };
        if docs.blocking_send((name, document)).is_err() {
            return; // the client went away
        }
    }
}

/// Whether a zip entry is a document (`*.xml`, not macOS metadata).
fn is_document_name(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".xml") && !name.starts_with("__MACOSX/") && !name.contains("/._")
}

fn too_large(max: u64) -> (&'static str, String) {
    ("too-large", format!("the document is more than {max} bytes, the server's limit for one document"))
}

/// Sends each file field of the form, read up to `max_document` bytes.
async fn read_multipart(mut form: Multipart, max_document: u64, max_total: u64, docs: mpsc::Sender<Document>) {
    let mut total = 0u64;
    let mut index = 0;
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return,
            Err(e) => {
                let _ = docs
                    .send(("(batch)".into(), Err(("unreadable", format!("the multipart body broke off: {e}")))))
                    .await;
                return;
            }
        };
        index += 1;
        let name = field.file_name().or(field.name()).map_or_else(|| format!("document-{index}.xml"), str::to_string);
        let mut bytes = Vec::new();
        let mut document = Ok(());
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    total += chunk.len() as u64;
                    if total > max_total {
                        let _ = docs
                            .send((name, Err(("too-large", format!("the batch is larger than {max_total} bytes")))))
                            .await;
                        return;
                    }
                    if document.is_ok() && (bytes.len() + chunk.len()) as u64 > max_document {
                        document = Err(too_large(max_document));
                        bytes = Vec::new();
                    }
                    if document.is_ok() {
                        bytes.extend_from_slice(&chunk);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = docs.send((name, Err(("unreadable", format!("the field broke off: {e}"))))).await;
                    return;
                }
            }
        }
        if docs.send((name, document.map(|()| bytes))).await.is_err() {
            return;
        }
    }
}

/// Validates documents as they come, `jobs` at a time, and writes a line for
/// each as it finishes.
async fn dispatch(
    state: Arc<AppState>,
    ticket: Ticket,
    mut docs: mpsc::Receiver<Document>,
    lines: mpsc::Sender<Bytes>,
) {
    let mut running = JoinSet::new();
    while let Some((name, document)) = docs.recv().await {
        while running.len() >= state.config.jobs.max(1) {
            running.join_next().await;
        }
        let state = state.clone();
        let out = lines.clone();
        running.spawn(async move {
            let line = match document {
                Ok(bytes) => validate_line(&state, &name, bytes).await,
                Err((kind, message)) => json!({"file": name, "error": {"kind": kind, "message": message}}),
            };
            let mut text = line.to_string();
            text.push('\n');
            let _ = out.send(Bytes::from(text)).await;
        });
        if lines.is_closed() {
            break; // the client went away: stop taking documents
        }
    }
    while running.join_next().await.is_some() {}
    drop(ticket);
}

async fn validate_line(state: &Arc<AppState>, name: &str, bytes: Vec<u8>) -> serde_json::Value {
    let slot = state.admission.run_slot().await;
    state.metrics.busy(1);
    let runtime = state.runtime.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let outcome = mung_runtime::document_text(&bytes).and_then(|text| runtime.validate(text));
        drop(slot);
        outcome
    })
    .await;
    state.metrics.busy(-1);
    match outcome {
        Ok(Ok(issues)) => json!({"file": name, "issues": issues}),
        Ok(Err(mung_runtime::ValidateError::InvalidInput(m))) => {
            json!({"file": name, "error": {"kind": "invalid-input", "message": m}})
        }
        Ok(Err(e)) => {
            if let mung_runtime::ValidateError::Sandbox(s) = &e {
                state.metrics.sandbox_stop(s.kind());
            }
            json!({"file": name, "error": {"kind": e.kind(), "message": chain(&e)}})
        }
        Err(e) => {
            json!({"file": name, "error": {"kind": "internal", "message": format!("the validation task failed: {e}")}})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_xml_entries_are_documents() {
        assert!(is_document_name("a/b/page.XML"));
        assert!(!is_document_name("__MACOSX/a/page.xml"));
        assert!(!is_document_name("a/._page.xml"));
        assert!(!is_document_name("page.png"));
    }
}
