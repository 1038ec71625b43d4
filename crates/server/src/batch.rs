//! `POST /v1/validate/batch`: many documents in, one NDJSON line out per
//! document as soon as it is validated (the CLI's `--format jsonl` shape).
//!
//! The body (a zip, or multipart with one file per document) is first
//! spooled to an anonymous temporary file, bounded in size and in how long
//! it may stall; only then is the batch admitted, so a slow or stalled
//! upload never holds a sandbox's place, and a batch that is too large or
//! not a usable archive gets its status (413, 422) before any line. Then
//! documents are read one at a time, at most `jobs` validated at once, and
//! the whole batch is bounded by `--max-batch-expanded` bytes of documents
//! and a deadline; past either, one error line ends the stream.

use mung_runtime_wire::ProblemType;
use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::AppState;
use crate::admission::Ticket;
use crate::body::{check_declared, media_type, spool_body};
use crate::problem::Problem;

/// One document of the batch: its name, and its bytes or why there are none.
type Document = (String, Result<Vec<u8>, (&'static str, String)>);

/// The two forms a batch comes in.
enum Form {
    Zip,
    Multipart(String),
}

/// What one batch may cost, besides its body: decompressed document bytes
/// and wall-clock time.
#[derive(Clone, Copy, Debug)]
struct Budget {
    expanded: u64,
    deadline: Instant,
}

pub(crate) async fn validate_batch(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, Problem> {
    let (parts, body) = request.into_parts();
    let form = match media_type(&parts.headers).as_str() {
        "application/zip" | "application/x-zip-compressed" => Form::Zip,
        "multipart/form-data" => {
            let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
            let boundary = multer::parse_boundary(content_type)
                .map_err(|e| Problem::bad_request(format!("unreadable multipart body: {e}")))?;
            Form::Multipart(boundary)
        }
        other => {
            return Err(Problem::unsupported_media_type(format!(
                "send the documents as application/zip or multipart/form-data (one file per document), not {}",
                if other.is_empty() { "a body without Content-Type" } else { other }
            )));
        }
    };
    let config = &state.config;
    check_declared(&parts.headers, config.max_batch_body, "--max-batch-body")?;
    let upload = state.batch_uploads.clone().try_acquire_owned().map_err(|_| Problem::overloaded(1))?;
    let spooled = spool_body(&parts.headers, body, config.max_batch_body, config.idle_timeout).await?;
    drop(upload);
    let ticket = state.admission.admit()?;
    let budget = Budget { expanded: config.max_batch_expanded, deadline: Instant::now() + config.batch_deadline };
    let jobs = config.jobs.max(1);
    let (docs_tx, docs_rx) = mpsc::channel::<Document>(jobs);
    match form {
        Form::Zip => {
            let max_document = config.max_document;
            let archive = tokio::task::spawn_blocking(move || open_zip(spooled))
                .await
                .map_err(|e| Problem::internal(format!("opening the zip failed: {e}")))??;
            tokio::task::spawn_blocking(move || read_zip(archive, max_document, budget, docs_tx));
        }
        Form::Multipart(boundary) => {
            let file = tokio::fs::File::from_std(spooled);
            let chunks = futures_util::stream::unfold(file, |mut file| async move {
                let mut buffer = vec![0; 64 << 10];
                match file.read(&mut buffer).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buffer.truncate(n);
                        Some((Ok::<_, std::io::Error>(Bytes::from(buffer)), file))
                    }
                    Err(e) => Some((Err(e), file)),
                }
            })
            .fuse();
            let form = multer::Multipart::new(chunks, boundary);
            tokio::spawn(read_multipart(form, config.max_document, docs_tx));
        }
    }
    let (lines_tx, lines_rx) = mpsc::channel::<Bytes>(2 * jobs);
    tokio::spawn(dispatch(state.clone(), ticket, budget, docs_rx, lines_tx));
    // Fused: a layer may poll the body once more after its end.
    let stream = futures_util::stream::unfold(lines_rx, |mut rx| async move {
        rx.recv().await.map(|line| (Ok::<_, std::io::Error>(line), rx))
    })
    .fuse();
    let mut response = Body::from_stream(stream).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    Ok(response)
}

/// The media type of the batch's answer.
pub(crate) use mung_runtime_wire::media::NDJSON;

/// Opens the spooled zip, refusing archives that zip tools read differently
/// from us or that decompress one stream many times (422).
fn open_zip(file: std::fs::File) -> Result<zip::ZipArchive<std::fs::File>, Problem> {
    let unusable = |detail: String| Problem::new(ProblemType::UNUSABLE_ARCHIVE, detail.clone()).with("message", detail);
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| unusable(format!("the body is not a readable zip archive: {e}")))?;
    if archive.metadata().has_duplicate_names() {
        return Err(unusable(
            "two or more entries of the zip have the same name, so they cannot be told apart in the answer; \
             rename them"
                .into(),
        ));
    }
    match archive.has_overlapping_entries() {
        Ok(false) => Ok(archive),
        Ok(true) => Err(unusable(
            "entries of the zip share their compressed data (a zip bomb shape); make an ordinary zip".into(),
        )),
        Err(e) => Err(unusable(format!("the zip's entries cannot be located: {e}"))),
    }
}

/// Sends each `*.xml` entry of the zip, read up to `max_document` bytes,
/// while the budget lasts.
fn read_zip(
    mut archive: zip::ZipArchive<std::fs::File>,
    max_document: u64,
    budget: Budget,
    docs: mpsc::Sender<Document>,
) {
    let mut expanded = 0u64;
    for i in 0..archive.len() {
        if let Some(over) = over_budget(&budget, expanded) {
            let _ = docs.blocking_send(over);
            return;
        }
        let (name, document) = match archive.by_index(i) {
            Ok(mut entry) => {
                let name = match entry.name() {
                    Ok(n) => n.into_owned(),
                    Err(e) => format!("(entry {i}: {e})"),
                };
                if entry.is_dir() || !is_document_name(&name) {
                    continue;
                }
                // Never more than the document limit, nor than the batch's
                // remaining budget, comes out of one entry.
                let cap = max_document.min(budget.expanded - expanded) + 1;
                let mut bytes = Vec::new();
                let read = (&mut entry).take(cap).read_to_end(&mut bytes);
                expanded += bytes.len() as u64;
                let document = match read {
                    Ok(_) if bytes.len() as u64 > max_document => Err(too_large(max_document)),
                    Ok(_) if expanded > budget.expanded => {
                        let _ = docs.blocking_send(over_expanded(budget.expanded));
                        return;
                    }
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

/// The line that ends a batch past its budget, if it is.
fn over_budget(budget: &Budget, expanded: u64) -> Option<Document> {
    if Instant::now() >= budget.deadline {
        return Some((
            "(batch)".into(),
            Err((
                "deadline",
                "the batch took longer than the server allows one batch (see `serve --batch-deadline`); \
                 the documents after this line were not validated"
                    .into(),
            )),
        ));
    }
    (expanded > budget.expanded).then(|| over_expanded(budget.expanded))
}

fn over_expanded(limit: u64) -> Document {
    (
        "(batch)".into(),
        Err((
            "too-large",
            format!(
                "the batch's documents add up to more than {limit} bytes (see `serve --max-batch-expanded`); the \
                 documents after this line were not validated"
            ),
        )),
    )
}

/// Whether a zip entry is a document (`*.xml`, not macOS metadata).
fn is_document_name(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".xml") && !name.starts_with("__MACOSX/") && !name.contains("/._")
}

fn too_large(max: u64) -> (&'static str, String) {
    ("too-large", format!("the document is more than {max} bytes, the server's limit for one document"))
}

/// Sends each file field of the spooled form, read up to `max_document` bytes.
async fn read_multipart(mut form: multer::Multipart<'static>, max_document: u64, docs: mpsc::Sender<Document>) {
    let mut index = 0;
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return,
            Err(e) => {
                let _ =
                    docs.send(("(batch)".into(), Err(("unreadable", format!("unreadable multipart body: {e}"))))).await;
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
/// each as it finishes; past the deadline, one line says so and the rest is
/// skipped.
async fn dispatch(
    state: Arc<AppState>,
    ticket: Ticket,
    budget: Budget,
    mut docs: mpsc::Receiver<Document>,
    lines: mpsc::Sender<Bytes>,
) {
    let mut running = JoinSet::new();
    while let Some((name, document)) = docs.recv().await {
        while running.len() >= state.config.jobs.max(1) {
            running.join_next().await;
        }
        // The deadline also covers documents that waited here.
        let (name, document) = over_budget(&budget, 0).unwrap_or((name, document));
        // A line about the whole batch is its last: after those in flight.
        let stop = name == "(batch)";
        if stop {
            while running.join_next().await.is_some() {}
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
        if stop || lines.is_closed() {
            break; // over budget, or the client went away: stop taking documents
        }
    }
    while running.join_next().await.is_some() {}
    drop(ticket);
}

async fn validate_line(state: &Arc<AppState>, name: &str, bytes: Vec<u8>) -> Value {
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
        Ok(Err(e)) => {
            if let mung_runtime::ValidateError::Sandbox(s) = &e {
                state.metrics.sandbox_stop(s.kind());
            }
            json!({"file": name, "error": {"kind": e.kind(), "message": e.message()}})
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
