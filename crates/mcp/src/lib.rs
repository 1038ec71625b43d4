//! # mung-runtime-mcp
//!
//! mung-runtime as a [Model Context Protocol](https://modelcontextprotocol.io)
//! server, built on the official Rust SDK (`rmcp`). An agent gets:
//!
//! - `run_python`: sandboxed Python with numpy, scipy, lxml, pillow, `mung`
//!   and `mstudio`; one interpreter per MCP connection, so names, imports and
//!   files persist from one call to the next;
//! - `write_file`: puts a file into the connection's directory, which the
//!   scripts see read-write at `/session`; the files are also resources
//!   (`session:///PATH`);
//! - `validate_mung` and `fix_mung`: MuNG Studio's validation of a MuNG
//!   document, and its automatic fixes;
//! - `binarize_region` and `detect_stafflines`: MuNG Studio's region tools
//!   on a page image given as a path in the session or as base64.
//!
//! Every failure of a tool (a bad argument, a Python exception, a sandbox
//! stop) is a tool result with `isError: true` and a message that says
//! what to do, never a protocol error; the server goes on.
//!
//! [`serve_stdio`] serves one connection on stdin/stdout
//! (`mung-runtime mcp`); [`http_service`] is the streamable HTTP transport
//! that `mung-runtime serve --mcp` mounts at `/mcp`.

#![deny(missing_docs)]

mod connection;
mod tools;

use std::any::Any;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use mung_runtime::Runtime;
use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

pub use connection::MungMcp;

/// What a [`Gate`] hands out: held while a call runs, or while a
/// connection's interpreter lives.
pub type Permit = Box<dyn Any + Send>;

/// Decides when sandbox work may start, so that an embedding server can
/// count MCP calls and interpreters with its own.
pub trait Gate: Send + Sync + 'static {
    /// Waits until one sandbox call may run. `Err` carries a message for
    /// the agent (e.g. "busy, retry in a second").
    fn call(&self) -> Pin<Box<dyn Future<Output = Result<Permit, String>> + Send + '_>>;

    /// A place for one more live interpreter (a connection's `run_python`),
    /// or a message saying why there is none.
    fn interpreter(&self) -> Result<Permit, String>;
}

/// A [`Gate`] that lets `jobs` calls run at once and any number of
/// interpreters live (what one stdio connection needs).
pub struct Jobs(Arc<tokio::sync::Semaphore>);

impl Jobs {
    /// At most `jobs` calls at once.
    pub fn new(jobs: usize) -> Jobs {
        Jobs(Arc::new(tokio::sync::Semaphore::new(jobs.max(1))))
    }
}

impl Gate for Jobs {
    fn call(&self) -> Pin<Box<dyn Future<Output = Result<Permit, String>> + Send + '_>> {
        Box::pin(async move {
            let permit = self.0.clone().acquire_owned().await.map_err(|_| "the server is stopping".to_string())?;
            Ok(Box::new(permit) as Permit)
        })
    }

    fn interpreter(&self) -> Result<Permit, String> {
        Ok(Box::new(()))
    }
}

/// Settings of the MCP server.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct McpConfig {
    /// The most bytes a connection's files may hold (default 256 MiB).
    pub files_quota: u64,
    /// Where connection directories are made (default: the system's
    /// temporary directory); each is removed when its connection ends.
    pub dir: Option<PathBuf>,
    /// The bound on decoded images, in bytes as RGBA (default 1 GiB).
    pub max_image_bytes: u64,
    /// An HTTP connection unused this long is closed, with its interpreter
    /// and files (default 10 min).
    pub idle_ttl: Duration,
}

impl Default for McpConfig {
    fn default() -> Self {
        McpConfig {
            files_quota: 256 << 20,
            dir: None,
            max_image_bytes: mung_runtime::DEFAULT_MEMORY_LIMIT,
            idle_ttl: Duration::from_secs(10 * 60),
        }
    }
}

/// What every connection of one server shares.
pub(crate) struct Shared {
    pub runtime: Runtime,
    pub config: McpConfig,
    pub gate: Box<dyn Gate>,
}

/// Serves one MCP connection on stdin/stdout until the client closes it.
pub async fn serve_stdio(runtime: Runtime, config: McpConfig, gate: impl Gate) -> std::io::Result<()> {
    let shared = Arc::new(Shared { runtime, config, gate: Box::new(gate) });
    let handler = MungMcp::new(shared)?;
    let running = handler.serve(rmcp::transport::stdio()).await.map_err(std::io::Error::other)?;
    running.waiting().await.map_err(std::io::Error::other)?;
    Ok(())
}

/// The streamable HTTP transport: a tower service to mount at `/mcp`. Each
/// MCP session (`Mcp-Session-Id`) is one connection with its own
/// interpreter and files. `allowed_hosts` are the `Host` values accepted
/// (DNS rebinding protection; empty when the embedding server checks `Host`
/// itself); `allowed_origins` the browser origins accepted: a request with
/// an `Origin` header not among them is refused (`*` accepts any), while
/// requests without one (agents, not pages) pass. `cancel` ends every
/// session.
pub fn http_service(
    runtime: Runtime,
    config: McpConfig,
    gate: impl Gate,
    allowed_hosts: Vec<String>,
    allowed_origins: Vec<String>,
    cancel: tokio_util::sync::CancellationToken,
) -> StreamableHttpService<MungMcp, LocalSessionManager> {
    let idle = config.idle_ttl;
    let shared = Arc::new(Shared { runtime, config, gate: Box::new(gate) });
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(idle);
    let mut http = StreamableHttpServerConfig::default();
    http.cancellation_token = cancel;
    http.allowed_hosts = allowed_hosts;
    if !allowed_origins.iter().any(|o| o == "*") {
        http = http.with_allowed_origins(allowed_origins).enforce_origin_validation();
    }
    StreamableHttpService::new(move || MungMcp::new(shared.clone()), Arc::new(sessions), http)
}
