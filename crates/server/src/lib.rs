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

#![deny(missing_docs)]

mod admission;
mod assets;
mod auth;
mod batch;
mod body;
mod extract;
mod listen;
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

pub use auth::{MIN_TOKEN_LEN, TokenFileError, read_token_file};
pub use body::RGBA;
pub use metrics::Metrics;
pub use openapi::{ROUTES, RouteDoc, openapi};
pub use problem::{PROBLEM_JSON, Problem};
pub use sessions::SessionsConfig;

/// The default [`ServerConfig::queue`] per job.
const QUEUE_PER_JOB: usize = 16;

/// How much longer than a sandbox call a whole request may take by default:
/// reading the body, decoding, queueing for a sandbox and answering.
const REQUEST_TIMEOUT_MARGIN: Duration = Duration::from_secs(15);

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
    /// The bound on decoded images, in bytes as RGBA; larger images are
    /// refused before decoding. `None` (the default): the memory cap of the
    /// runtime the server is given.
    pub max_image_bytes: Option<u64>,
    /// A backstop deadline for a whole request, past the sandbox's own call
    /// deadline. `None` (the default): the runtime's call timeout + 15 s.
    pub request_timeout: Option<Duration>,
    /// How long a client may take to send a request's head, counted from
    /// when the server starts waiting for it, so it also closes idle
    /// keep-alive connections (default 5 s).
    pub header_timeout: Duration,
    /// The longest pause while a request body arrives or a response is
    /// taken (default 30 s): a body that stops is answered 408, a client
    /// that stops reading is dropped.
    pub idle_timeout: Duration,
    /// The most open client connections (default: below the process's limit
    /// on open files, at most 4096). Past it, new connections get 503 and
    /// health probes are still answered.
    pub max_connections: Option<usize>,
    /// How long shutdown waits for requests in flight before it closes
    /// their connections (default 30 s).
    pub shutdown_grace: Duration,
    /// The most document bytes one batch may decompress to (default 8 GiB).
    pub max_batch_expanded: u64,
    /// The longest one batch may take, validation included (default 1 h).
    pub batch_deadline: Duration,
    /// Bearer tokens, one of which every `/v1/*` request must carry
    /// (default: none, and no check). See [`read_token_file`].
    pub tokens: Vec<String>,
    /// Whether `/metrics` needs a token too (default: no).
    pub metrics_need_token: bool,
    /// Origins whose pages may call the server from a browser (CORS), e.g.
    /// `https://studio.example.org`; `*` for any (only without tokens).
    /// Default: none, and no CORS header at all.
    pub cors_origins: Vec<String>,
    /// Host names clients use to reach the server, besides IP addresses and
    /// `localhost`; a request naming another host gets 421 (a defence
    /// against DNS rebinding). Default: none.
    pub public_hosts: Vec<String>,
    /// The session routes' limits (they need `allow_execute` too).
    pub sessions: SessionsConfig,
    /// Whether `/mcp` serves the Model Context Protocol (streamable HTTP);
    /// needs `allow_execute`, since its `run_python` runs scripts. Each MCP
    /// session holds an interpreter and counts against
    /// [`SessionsConfig::max_sessions`] once it ran a script.
    pub mcp: bool,
}

impl ServerConfig {
    /// [`max_image_bytes`](Self::max_image_bytes) as resolved by [`Server::new`].
    pub(crate) fn image_bound(&self) -> u64 {
        self.max_image_bytes.unwrap_or(mung_runtime::DEFAULT_MEMORY_LIMIT)
    }

    /// [`request_timeout`](Self::request_timeout) as resolved by [`Server::new`].
    pub(crate) fn request_deadline(&self) -> Duration {
        self.request_timeout.unwrap_or(mung_runtime::DEFAULT_TIMEOUT + REQUEST_TIMEOUT_MARGIN)
    }
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
            max_image_bytes: None,
            request_timeout: None,
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            max_connections: None,
            shutdown_grace: Duration::from_secs(30),
            max_batch_expanded: 8 << 30,
            batch_deadline: Duration::from_secs(3600),
            tokens: Vec::new(),
            metrics_need_token: false,
            cors_origins: Vec::new(),
            public_hosts: Vec::new(),
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
        self.max_image_bytes = Some(bytes);
        self
    }

    /// Sets [`request_timeout`](Self::request_timeout).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Sets [`header_timeout`](Self::header_timeout).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`max_connections`](Self::max_connections).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = Some(n.max(1));
        self
    }

    /// Sets [`shutdown_grace`](Self::shutdown_grace).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Sets [`max_batch_expanded`](Self::max_batch_expanded).
    pub fn max_batch_expanded(mut self, bytes: u64) -> Self {
        self.max_batch_expanded = bytes;
        self
    }

    /// Sets [`batch_deadline`](Self::batch_deadline).
    pub fn batch_deadline(mut self, deadline: Duration) -> Self {
        self.batch_deadline = deadline;
        self
    }

    /// Sets [`tokens`](Self::tokens).
    pub fn tokens(mut self, tokens: Vec<String>) -> Self {
        self.tokens = tokens;
        self
    }

    /// Sets [`metrics_need_token`](Self::metrics_need_token).
    pub fn metrics_need_token(mut self, yes: bool) -> Self {
        self.metrics_need_token = yes;
        self
    }

    /// Sets [`cors_origins`](Self::cors_origins).
    pub fn cors_origins(mut self, origins: Vec<String>) -> Self {
        self.cors_origins = origins;
        self
    }

    /// Sets [`public_hosts`](Self::public_hosts).
    pub fn public_hosts(mut self, hosts: Vec<String>) -> Self {
        self.public_hosts = hosts;
        self
    }

    /// Checks settings that cannot work together, with what to do instead.
    pub fn check(&self) -> Result<(), String> {
        if !self.tokens.is_empty() && self.cors_origins.iter().any(|o| o == "*") {
            return Err(
                "`--cors-origin '*'` lets any site use the server; with tokens, name the origins instead".into()
            );
        }
        for origin in self.cors_origins.iter().filter(|o| *o != "*") {
            let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
            let ok = authority.is_some_and(|a| !a.is_empty() && !a.contains('/'))
                && axum::http::HeaderValue::from_str(origin).is_ok();
            if !ok {
                return Err(format!(
                    "the CORS origin {origin:?} is not an origin like https://studio.example.org (scheme, host, optional port; no path)"
                ));
            }
        }
        Ok(())
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
    /// Batch bodies being spooled at once (one per job).
    pub batch_uploads: Arc<tokio::sync::Semaphore>,
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
    pub fn new(runtime: Runtime, mut config: ServerConfig) -> Server {
        let admission = admission::Admission::new(config.jobs, config.queue);
        // What is not set follows the runtime served.
        let info = runtime.info();
        config.max_connections.get_or_insert_with(|| listen::default_max_connections(info.max_instances));
        config.max_image_bytes.get_or_insert(info.limits.memory);
        config.request_timeout.get_or_insert(info.limits.timeout + REQUEST_TIMEOUT_MARGIN);
        let sessions = sessions::Sessions::new(config.sessions.clone());
        Server {
            state: Arc::new(AppState {
                runtime,
                batch_uploads: Arc::new(tokio::sync::Semaphore::new(config.jobs.max(1))),
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

    /// Serves HTTP/1.1 on `listener` until `shutdown` completes; then takes
    /// no new requests (those that still arrive on open connections get 503)
    /// and returns once the requests in flight are answered, or after
    /// [`ServerConfig::shutdown_grace`], closing what is left.
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
                    tracing::error!(error = %mung_runtime::error_chain(&e), "warming the sandboxes failed; /readyz stays 503");
                }
            });
        }
        let app = self.router();
        sessions::start_sweeper(&state);
        // MCP's event streams end as shutdown begins, so they do not hold
        // the drain until its grace period is over.
        let cancel = state.mcp_cancel.clone();
        let shutdown = async move {
            shutdown.await;
            cancel.cancel();
        };
        let served = listen::serve(state.clone(), listener, app, shutdown).await;
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
