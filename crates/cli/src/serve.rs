//! `mung-runtime serve`: the runtime as an HTTP backend.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use mung_runtime::Isolation;
use mung_runtime_server::{Server, ServerConfig, shutdown_signal};

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
    GET / (a page for people), /healthz, /readyz, /metrics, /openapi.json (the full description). Every error is \
    application/problem+json.\n\nWhen every sandbox is busy and the queue is full, requests get 503 with \
    Retry-After at once. SIGINT/SIGTERM: in-flight requests finish, new ones get 503, then the server exits 0.\n\n\
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

    #[command(flatten)]
    sandbox: SandboxArgs,
}

pub(crate) fn run(args: ServeArgs, cache_dir: Option<PathBuf>) -> u8 {
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())).max(1);
    let isolation = match args.isolation {
        IsolationArg::Warm => Isolation::Warm,
        IsolationArg::Fresh => Isolation::Fresh,
    };
    let builder = match args.sandbox.builder(cache_dir) {
        Ok(b) => b.isolation(isolation).max_instances(jobs as u32 + 1),
        Err(e) => return fail(e),
    };
    let runtime = match builder.build() {
        Ok(r) => r,
        Err(e) => return fail(crate::error_chain(&e)),
    };
    let mut config = ServerConfig::default()
        .jobs(jobs)
        .allow_execute(args.allow_execute)
        .max_body(usize::try_from(args.max_body.0).unwrap_or(usize::MAX))
        .max_batch_body(args.max_batch_body.0)
        .max_image_bytes(args.sandbox.memory.0)
        .request_timeout(args.sandbox.timeout.0 + Duration::from_secs(15));
    if let Some(queue) = args.queue {
        config = config.queue(queue);
    }
    let tokio = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    tokio.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(args.addr).await {
            Ok(l) => l,
            Err(e) => return fail(format!("cannot listen on {}: {e}", args.addr)),
        };
        let addr = listener.local_addr().map_or_else(|_| args.addr.to_string(), |a| a.to_string());
        let server = Server::new(runtime, config);
        // Ready before announcing, so a client that waits for the line can
        // use the server at once.
        if let Err(e) = server.warm_up().await {
            return fail(format!("the sandboxes do not start: {}", crate::error_chain(&e)));
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
    })
}
