//! `mung-runtime serve`: the runtime as an HTTP backend.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use mung_runtime::Isolation;
use mung_runtime_server::{Server, ServerConfig, SessionsConfig, shutdown_signal};

use crate::args::{ByteSize, SandboxArgs};
use crate::fail;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum IsolationArg {
    /// Typed calls reuse warm instances (fast; our own code runs there).
    Warm,
    /// A new instance from the snapshot for every call.
    Fresh,
}

#[derive(Args)]
#[command(after_help = "Routes: POST /v1/validate, /v1/fix, /v1/validate/batch, /v1/extract/{binarize,stafflines,\
    fill-polygon,cut-lines,separate,staff,staffspaces,snap,insert-node}, /v1/execute (with --allow-execute); \
    sessions with files (with --allow-execute): POST /v1/sessions, GET/DELETE /v1/sessions/{id}, POST \
    /v1/sessions/{id}/execute, GET /v1/sessions/{id}/files, PUT/GET/DELETE /v1/sessions/{id}/files/{path}; \
    /mcp (with --mcp); \
    GET / (a page for people), /healthz, /readyz, /metrics, /openapi.json (the full description). Every error is \
    application/problem+json.\n\nWhen every sandbox is busy and the queue is full, requests get 503 with \
    Retry-After at once. SIGINT/SIGTERM: in-flight requests finish (for at most --shutdown-grace), new ones get \
    503, then the server exits 0. Only HTTP/1.1 is served (put TLS and HTTP/2 in a reverse proxy).\n\n\
    Prints `listening on http://ADDR` on stdout once bound. Exit status: 0 after a clean shutdown, 2 when it cannot \
    start (address in use, bad settings).")]
pub(crate) struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,

    /// Sandbox calls running at once (default: the number of cores).
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,

    /// Requests that may wait for a sandbox beyond those running (default
    /// 16 × jobs); past that, 503 with Retry-After.
    #[arg(long, value_name = "N")]
    queue: Option<usize>,

    /// How typed calls get their instance.
    #[arg(long, value_enum, default_value_t = IsolationArg::Warm)]
    isolation: IsolationArg,

    /// Enable POST /v1/execute: untrusted Python, always in a fresh sandbox
    /// with this command's limits.
    #[arg(long)]
    allow_execute: bool,

    /// The largest request body (checked before it is read).
    #[arg(long, value_name = "SIZE", default_value = "64M")]
    max_body: ByteSize,

    /// The largest body of POST /v1/validate/batch (streamed, never held in
    /// memory whole).
    #[arg(long, value_name = "SIZE", default_value = "1G")]
    max_batch_body: ByteSize,

    /// Seconds a client may take to send a request's head; also how long
    /// an idle keep-alive connection stays open.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = seconds)]
    header_timeout: Duration,

    /// Seconds a request body may pause, or a client may stop reading its
    /// response, before the connection is dropped (408 for a body).
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = seconds)]
    idle_timeout: Duration,

    /// The most open client connections (default: below `ulimit -n`, at
    /// most 4096). Past it, new connections get 503; /healthz and /readyz
    /// are still answered.
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,

    /// Seconds SIGTERM/SIGINT waits for requests in flight before closing
    /// their connections.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = seconds)]
    shutdown_grace: Duration,

    /// The most document bytes one batch may decompress to.
    #[arg(long, value_name = "SIZE", default_value = "8G")]
    max_batch_expanded: ByteSize,

    /// Seconds one batch may take, validation included; past it, an error
    /// line ends the stream.
    #[arg(long, value_name = "SECS", default_value = "3600", value_parser = seconds)]
    batch_deadline: Duration,

    /// Bearer tokens, one a line (at least 16 characters each; blank lines
    /// and # comments skipped). Every /v1 route then needs
    /// `Authorization: Bearer TOKEN`; /healthz, /readyz and the page stay
    /// open.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,

    /// Serve a non-loopback address without --token-file (anyone who can
    /// reach the port can use the server).
    #[arg(long)]
    insecure_no_token: bool,

    /// /metrics needs a token too (with --token-file).
    #[arg(long, requires = "token_file")]
    metrics_need_token: bool,

    /// Let pages from ORIGIN (e.g. https://studio.example.org) call the
    /// server from a browser (CORS). Repeatable; `*` allows any origin and
    /// only without --token-file. Without it, no CORS header is sent.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<String>,

    /// A host name clients use to reach the server (repeatable). Requests
    /// naming any other host get 421 (against DNS rebinding); IP addresses
    /// and localhost are always accepted.
    #[arg(long = "public-host", value_name = "NAME")]
    public_hosts: Vec<String>,
    /// Serve the Model Context Protocol at /mcp (streamable HTTP), for
    /// agents: run_python with one interpreter per MCP session, validation,
    /// mask tools. Needs --allow-execute.
    #[arg(long, requires = "allow_execute")]
    mcp: bool,

    /// Sessions alive at once (with --allow-execute). Each holds a sandbox,
    /// so the default is what this machine's memory holds when every
    /// sandbox uses its whole --memory, less --jobs. Past it: 503 with
    /// Retry-After.
    #[arg(long, value_name = "N")]
    max_sessions: Option<usize>,

    /// A session unused this long is removed, with its files (seconds; also
    /// the most a client may ask for).
    #[arg(long, value_name = "SECS", default_value = "600", value_parser = seconds)]
    session_ttl: Duration,

    /// A session is removed this long after its creation, however busy
    /// (seconds; a call still running finishes first).
    #[arg(long, value_name = "SECS", default_value = "3600", value_parser = seconds)]
    session_lifetime: Duration,

    /// The most bytes a session's files may hold (also what a session gets
    /// when it asks for nothing).
    #[arg(long, value_name = "SIZE", default_value = "256M")]
    session_files_quota: ByteSize,

    #[command(flatten)]
    sandbox: SandboxArgs,
}

pub(crate) fn run(args: ServeArgs, cache_dir: Option<PathBuf>) -> u8 {
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())).max(1);
    let tokens = match &args.token_file {
        Some(path) => match mung_runtime_server::read_token_file(path) {
            Ok(t) => t,
            Err(e) => return fail(e.to_string()),
        },
        None => Vec::new(),
    };
    if tokens.is_empty() && !args.addr.ip().is_loopback() && !args.insecure_no_token {
        return fail(format!(
            "{} is reachable from other machines, and without --token-file anyone who reaches it can use the \
             server: pass --token-file FILE, or --insecure-no-token if something in front of it checks callers",
            args.addr
        ));
    }
    let mut sessions = SessionsConfig::default();
    sessions.max_sessions =
        args.max_sessions.unwrap_or_else(|| SessionsConfig::sized_for_memory(args.sandbox.memory.0, jobs)).max(1);
    sessions.idle_ttl = args.session_ttl;
    sessions.max_lifetime = args.session_lifetime;
    sessions.files_quota = args.session_files_quota.0;
    let mut config = ServerConfig::default()
        .jobs(jobs)
        .allow_execute(args.allow_execute)
        .max_body(usize::try_from(args.max_body.0).unwrap_or(usize::MAX))
        .max_batch_body(args.max_batch_body.0)
        .header_timeout(args.header_timeout)
        .idle_timeout(args.idle_timeout)
        .shutdown_grace(args.shutdown_grace)
        .max_batch_expanded(args.max_batch_expanded.0)
        .batch_deadline(args.batch_deadline)
        .tokens(tokens)
        .metrics_need_token(args.metrics_need_token)
        .cors_origins(args.cors_origins)
        .public_hosts(args.public_hosts)
        .sessions(sessions)
        .mcp(args.mcp);
    if let Some(queue) = args.queue {
        config = config.queue(queue);
    }
    if let Some(n) = args.max_connections {
        config = config.max_connections(n);
    }
    if let Err(e) = config.check() {
        return fail(e);
    }
    if config.tokens.is_empty() && !args.addr.ip().is_loopback() {
        tracing::warn!(addr = %args.addr, "serving a non-loopback address without tokens (--insecure-no-token)");
    }
    let isolation = match args.isolation {
        IsolationArg::Warm => Isolation::Warm,
        IsolationArg::Fresh => Isolation::Fresh,
    };
    // At most `jobs` calls run at once, each on one instance; each live
    // session holds an instance of its own besides. No spare is needed: a
    // call that finds every slot held by an idle warm instance drops one.
    let session_instances = if args.allow_execute { config.sessions.max_sessions as u32 } else { 0 };
    let builder = match args.sandbox.builder(cache_dir) {
        Ok(b) => b.isolation(isolation).max_instances(jobs as u32 + session_instances),
        Err(e) => return fail(e),
    };
    let runtime = match builder.build() {
        Ok(r) => r,
        Err(e) => return fail(mung_runtime::error_chain(&e)),
    };
    let tokio = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let status = tokio.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(args.addr).await {
            Ok(l) => l,
            Err(e) => return fail(format!("cannot listen on {}: {e}", args.addr)),
        };
        let addr = listener.local_addr().map_or_else(|_| args.addr.to_string(), |a| a.to_string());
        let server = Server::new(runtime, config);
        // Ready before announcing, so a client that waits for the line can
        // use the server at once.
        if let Err(e) = server.warm_up().await {
            return fail(format!("the sandboxes do not start: {}", mung_runtime::error_chain(&e)));
        }
        crate::out::outln!("listening on http://{addr}");
        tracing::info!(%addr, jobs, "serving");
        match server.serve(listener, shutdown_signal()).await {
            Ok(()) => {
                tracing::info!("stopped");
                0
            }
            Err(e) => fail(format!("the server failed: {e}")),
        }
    });
    // Sandbox calls still running past the grace period end with the process.
    tokio.shutdown_timeout(Duration::from_secs(1));
    status
}

/// A positive, finite number of seconds.
fn seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text.trim().parse().map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(secs.is_finite() && secs > 0.0 && secs <= 1e9) {
        return Err(format!("{text:?} must be a positive number of seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}
