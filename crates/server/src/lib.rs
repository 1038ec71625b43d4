//! # mung-runtime-server
//!
//! mung-runtime as an HTTP backend: the typed calls of a
//! [`mung_runtime::Runtime`] behind JSON routes, errors as RFC 9457 problem
//! details, Prometheus metrics, an OpenAPI 3.1 description and a page for
//! people at `/`. It uses only the library's public API.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use mung_runtime_server::{Server, ServerConfig};
//! let runtime = mung_runtime::Runtime::builder().build().expect("runtime");
//! let server = Server::new(runtime, ServerConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! server.serve(listener, std::future::pending()).await
//! # }
//! ```
//!
//! Every sandbox call runs on a blocking thread behind two bounds: at most
//! [`ServerConfig::jobs`] calls run at once, and at most
//! [`ServerConfig::queue`] more wait; past that a request is answered at
//! once with 503 and `Retry-After`, so load never turns into unbounded
//! buffering.

#![warn(missing_docs)]

mod admission;
mod assets;
mod auth;
mod batch;
mod extract;
mod mcp;
mod metrics;
mod middleware;
mod openapi;
mod problem;
mod routes;
mod sessions;
mod wire;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mung_runtime::Runtime;

pub use metrics::Metrics;
pub use openapi::{ROUTES, RouteDoc, openapi};
pub use problem::{PROBLEM_JSON, Problem};
pub use sessions::SessionsConfig;

/// The default [`ServerConfig::queue`] per job.
const QUEUE_PER_JOB: usize = 16;

/// Settings of a [`Server`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Sandbox calls running at once (default: the number of cores).
    pub jobs: usize,
    /// Requests that may wait for a free sandbox beyond those running
    /// (default: 16 × `jobs`, room for a few busy clients per sandbox, each
    /// waiting request holding at most one body). Past that: 503 with
    /// `Retry-After`.
    pub queue: usize,
    /// Whether `POST /v1/execute` runs untrusted Python (default: no).
    pub allow_execute: bool,
    /// The largest request body, checked before it is read (default 64 MiB).
    pub max_body: usize,
    /// The largest body of `POST /v1/validate/batch` (default 1 GiB); it is
    /// streamed or spooled to disk, never held in memory whole.
    pub max_batch_body: u64,
    /// The largest single document inside a batch (default 32 MiB).
    pub max_document: u64,
    /// The bound on decoded images, in bytes as RGBA (default: the sandbox's
    /// memory cap); larger images are refused before decoding.
    pub max_image_bytes: u64,
    /// A backstop deadline for a whole request, past the sandbox's own call
    /// deadline (default 75 s).
    pub request_timeout: Duration,
    /// The session routes' limits (they need `allow_execute` too).
    pub sessions: SessionsConfig,
    /// Whether `/mcp` serves the Model Context Protocol (streamable HTTP);
    /// needs `allow_execute`, since its `run_python` runs scripts. Each MCP
    /// session holds an interpreter and counts against
    /// [`SessionsConfig::max_sessions`] once it ran a script.
    pub mcp: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
        ServerConfig {
            jobs,
            queue: QUEUE_PER_JOB * jobs,
            allow_execute: false,
            max_body: 64 << 20,
            max_batch_body: 1 << 30,
            max_document: 32 << 20,
            max_image_bytes: mung_runtime::DEFAULT_MEMORY_LIMIT,
            request_timeout: Duration::from_secs(75),
            sessions: SessionsConfig::default(),
            mcp: false,
        }
    }
}

impl ServerConfig {
    /// Sets [`jobs`](Self::jobs) (at least 1) and a queue of 16 × jobs.
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self.queue = QUEUE_PER_JOB * self.jobs;
        self
    }

    /// Sets [`queue`](Self::queue).
    pub fn queue(mut self, queue: usize) -> Self {
        self.queue = queue;
        self
    }

    /// Sets [`allow_execute`](Self::allow_execute).
    pub fn allow_execute(mut self, yes: bool) -> Self {
        self.allow_execute = yes;
        self
    }

    /// Sets [`max_body`](Self::max_body).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Sets [`max_batch_body`](Self::max_batch_body).
    pub fn max_batch_body(mut self, bytes: u64) -> Self {
        self.max_batch_body = bytes;
        self
    }

    /// Sets [`max_image_bytes`](Self::max_image_bytes).
    pub fn max_image_bytes(mut self, bytes: u64) -> Self {
        self.max_image_bytes = bytes;
        self
    }

    /// Sets [`request_timeout`](Self::request_timeout).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets [`mcp`](Self::mcp).
    pub fn mcp(mut self, yes: bool) -> Self {
        self.mcp = yes;
        self
    }

    /// Sets [`sessions`](Self::sessions).
    pub fn sessions(mut self, sessions: SessionsConfig) -> Self {
        self.sessions = sessions;
        self
    }
}

/// A byte size such as `512M`, `1G`, `65536` or `64KiB` (binary units).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| format!("{text:?} is not a size like 512M or 1G"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        other => return Err(format!("unknown size unit {other:?} (use K, M or G)")),
    };
    n.checked_mul(1 << shift).ok_or_else(|| format!("{text:?} is too large"))
}

/// What every handler shares.
pub(crate) struct AppState {
    pub runtime: Runtime,
    pub config: ServerConfig,
    pub admission: admission::Admission,
    pub metrics: Metrics,
    pub sessions: sessions::Sessions,
    /// Ends every MCP session at shutdown.
    pub mcp_cancel: tokio_util::sync::CancellationToken,
    pub ready: AtomicBool,
    pub shutting_down: AtomicBool,
}

/// An HTTP server over one [`Runtime`].
pub struct Server {
    state: Arc<AppState>,
}

impl Server {
    /// A server for `runtime` (its limits apply to every call).
    pub fn new(runtime: Runtime, config: ServerConfig) -> Server {
        let admission = admission::Admission::new(config.jobs, config.queue);
        let sessions = sessions::Sessions::new(config.sessions.clone());
        Server {
            state: Arc::new(AppState {
                runtime,
                config,
                admission,
                metrics: Metrics::new(),
                sessions,
                mcp_cancel: tokio_util::sync::CancellationToken::new(),
                ready: AtomicBool::new(false),
                shutting_down: AtomicBool::new(false),
            }),
        }
    }

    /// The routes, with every layer, for embedding in another axum app or
    /// calling in tests. (`serve` also warms instances and handles shutdown.)
    pub fn router(&self) -> axum::Router {
        routes::router(self.state.clone())
    }

    /// Warms one instance per job (what `/readyz` waits for). `serve` does
    /// this in the background; call it to be ready before serving.
    pub async fn warm_up(&self) -> Result<(), mung_runtime::Error> {
        let state = self.state.clone();
        let jobs = state.config.jobs;
        let runtime = state.runtime.clone();
        let result = tokio::task::spawn_blocking(move || runtime.warm_up(jobs))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        if result.is_ok() {
            state.ready.store(true, Ordering::SeqCst);
        }
        result
    }

    /// Serves on `listener` until `shutdown` completes; then takes no new
    /// requests (those that still arrive on open connections get 503) and
    /// returns once the requests in flight are answered.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        if !state.ready.load(Ordering::SeqCst) {
            let warm = Server { state: state.clone() };
            tokio::spawn(async move {
                if let Err(e) = warm.warm_up().await {
                    tracing::error!(error = %problem::chain(&e), "warming the sandboxes failed; /readyz stays 503");
                }
            });
        }
        let app = self.router();
        sessions::start_sweeper(&state);
        let flag = state.clone();
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                flag.shutting_down.store(true, Ordering::SeqCst);
                tracing::info!("shutting down: finishing the requests in flight");
            })
            .await;
        state.mcp_cancel.cancel();
        let ended = state.sessions.close();
        if ended > 0 {
            tracing::info!(sessions = ended, "ended the live sessions and removed their directories");
        }
        served
    }

    /// Ends every session and removes their directories (what `serve` does
    /// once it has stopped); returns how many there were.
    pub fn close_sessions(&self) -> usize {
        self.state.sessions.close()
    }

    /// Whether `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.state.ready.load(Ordering::SeqCst)
    }

    /// The metrics (also served at `/metrics`).
    pub fn metrics(&self) -> &Metrics {
        &self.state.metrics
    }

    /// Marks the server as shutting down: new requests get 503.
    pub fn begin_shutdown(&self) {
        self.state.shutting_down.store(true, Ordering::SeqCst);
    }
}

/// Completes on SIGINT or SIGTERM (Ctrl-C elsewhere).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
