//! The accept loop: HTTP/1.1 connections with a header-read timeout, a
//! stall timeout on responses, a connection limit below the process's file
//! limit (health probes still answered past it), and a bounded drain on
//! shutdown.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{AbortHandle, JoinSet};
use tower::ServiceExt;

use crate::AppState;
use crate::problem::Problem;

/// Connections accepted past the limit to answer `/healthz` and `/readyz`
/// (one request each, with a short header timeout). When all are taken, the
/// oldest is closed for the newest: a probe sends its head at once, a
/// stalled connection is the one to go.
const OVERFLOW_CONNECTIONS: usize = 16;
/// The header timeout of an overflow connection.
const OVERFLOW_HEADER_TIMEOUT: Duration = Duration::from_secs(1);
/// The most bytes buffered for a request head (hyper's default is ~400 KB;
/// a real request head is a few hundred bytes).
const MAX_HEAD_BUFFER: usize = 64 << 10;
/// File descriptors kept free for everything but client connections
/// (instances, their mounts, spooled batches, logs), per instance and overall.
const FDS_PER_INSTANCE: u64 = 8;
const FDS_RESERVED: u64 = 64;
/// The most connections by default, however high the file limit.
const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// The default connection limit: below the soft limit on open files, with
/// room for what the runtime itself opens.
pub(crate) fn default_max_connections(max_instances: u32) -> usize {
    let reserved = FDS_RESERVED + FDS_PER_INSTANCE * u64::from(max_instances) + OVERFLOW_CONNECTIONS as u64;
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current.unwrap_or(u64::MAX);
    let room = soft.saturating_sub(reserved).max(16);
    usize::try_from(room).unwrap_or(usize::MAX).min(DEFAULT_MAX_CONNECTIONS)
}

/// Serves `app` on `listener` until `shutdown` completes, then drains.
pub(crate) async fn serve(
    state: Arc<AppState>,
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let config = &state.config;
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .max_buf_size(MAX_HEAD_BUFFER)
        .keep_alive(true);
    let mut overflow_http = http1::Builder::new();
    overflow_http
        .timer(TokioTimer::new())
        .header_read_timeout(OVERFLOW_HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD_BUFFER)
        .keep_alive(false);
    let max_connections = config.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut overflow: VecDeque<AbortHandle> = VecDeque::with_capacity(OVERFLOW_CONNECTIONS);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut warned = Warned::default();
    tracing::debug!(max_connections, "accepting connections");
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // EMFILE/ENFILE: the connection stays in the backlog;
                    // wait for descriptors to come back instead of spinning.
                    warned.accept_error(&e);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let stream = StallGuard::new(stream, config.idle_timeout);
        match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                state.metrics.connections(1);
                let service = hyper::service::service_fn({
                    let app = app.clone();
                    move |request: Request<hyper::body::Incoming>| app.clone().oneshot(request.map(Body::new))
                });
                let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                let state = state.clone();
                connections.spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    state.metrics.connections(-1);
                    drop(slot);
                });
            }
            Err(_) => {
                warned.limit_reached(max_connections);
                state.metrics.connection_refused();
                overflow.retain(|c| !c.is_finished());
                if overflow.len() >= OVERFLOW_CONNECTIONS
                    && let Some(oldest) = overflow.pop_front()
                {
                    oldest.abort();
                }
                let state = state.clone();
                let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let state = state.clone();
                    async move { Ok::<_, std::convert::Infallible>(overflow_answer(&state, request.uri().path())) }
                });
                let conn = overflow_http.serve_connection(TokioIo::new(stream), service);
                overflow.push_back(connections.spawn(async move {
                    let _ = conn.await;
                }));
            }
        }
    }
    drop(listener);
    state.shutting_down.store(true, Ordering::SeqCst);
    let open = graceful.count();
    tracing::info!(open, grace = ?config.shutdown_grace, "shutting down: finishing the requests in flight");
    if tokio::time::timeout(config.shutdown_grace, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            remaining = connections.len(),
            grace = ?config.shutdown_grace,
            "the shutdown grace period is over: closing the remaining connections (see --shutdown-grace)"
        );
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// What a connection past the limit gets: health and readiness as usual,
/// 503 for everything else.
fn overflow_answer(state: &AppState, path: &str) -> Response {
    let mut response = match path {
        "/healthz" => axum::Json(serde_json::json!({"status": "ok"})).into_response(),
        "/readyz" => crate::routes::readiness(state),
        _ => {
            let mut p = Problem::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "too-many-connections",
                "Too many connections",
                "the server has as many open connections as it allows (see `serve --max-connections`); retry later",
            );
            p.retry_after = Some(1);
            p.into_response()
        }
    };
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Log lines that would repeat for every connection, at most every 10 s.
#[derive(Default)]
struct Warned {
    limit: Option<Instant>,
    accept: Option<Instant>,
}

const WARN_EVERY: Duration = Duration::from_secs(10);

fn due(last: &mut Option<Instant>) -> bool {
    let now = Instant::now();
    if last.is_some_and(|t| now.duration_since(t) < WARN_EVERY) {
        return false;
    }
    *last = Some(now);
    true
}

impl Warned {
    fn limit_reached(&mut self, max: usize) {
        if due(&mut self.limit) {
            tracing::warn!(
                max_connections = max,
                "connection limit reached: new connections get 503 (health probes are still answered) until some \
                 close; raise it with --max-connections (and `ulimit -n`)"
            );
        }
    }

    fn accept_error(&mut self, e: &io::Error) {
        if due(&mut self.accept) {
            tracing::warn!(error = %e, "cannot accept connections (out of file descriptors?); retrying");
        }
    }
}

/// A connection whose writes may not stall longer than a limit: a client
/// that stops reading its response is dropped instead of holding the
/// connection (and what its request holds) forever. Reads are bounded
/// elsewhere: request heads by hyper's header timeout, bodies by the body
/// reader's stall timeout.
pub(crate) struct StallGuard {
    stream: TcpStream,
    limit: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl StallGuard {
    fn new(stream: TcpStream, limit: Duration) -> StallGuard {
        StallGuard { stream, limit, stalled: None }
    }

    /// After a write that could not proceed: an error once the stall lasts
    /// past the limit, else `Pending` with the timer armed.
    fn on_pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let limit = self.limit;
        let timer = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the client read nothing for {limit:?} (see --idle-timeout)"),
        )))
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write(cx, buf) {
            Poll::Pending => self.on_pending(cx),
            done => {
                self.stalled = None;
                done
            }
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.on_pending(cx),
            done => {
                self.stalled = None;
                done
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.stream).poll_flush(cx) {
            Poll::Pending => self.on_pending(cx),
            done => {
                self.stalled = None;
                done
            }
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
