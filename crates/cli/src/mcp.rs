//! `mung-runtime mcp`: the Model Context Protocol over stdin/stdout.

use std::path::PathBuf;

use clap::Args;
use mung_runtime_mcp::{Jobs, McpConfig, serve_stdio};

use crate::args::{ByteSize, SandboxArgs};
use crate::fail;

#[derive(Args)]
#[command(after_help = "Tools: run_python (one interpreter for the connection: names, imports and files persist), \
    write_file, validate_mung, fix_mung, binarize_region, detect_stafflines; the connection's files are resources \
    session:///PATH. Every tool failure is a result with isError, never a protocol error.\n\n\
    An MCP client starts this command and speaks JSON-RPC on its stdin and stdout; logs go to stderr. For HTTP, \
    use `mung-runtime serve --allow-execute --mcp` (streamable HTTP at /mcp).")]
pub(crate) struct McpArgs {
    /// Calls running at once (scripts and typed calls).
    #[arg(short, long, value_name = "N", default_value_t = 1)]
    jobs: usize,

    /// The most bytes the connection's files may hold.
    #[arg(long, value_name = "SIZE", default_value = "256M")]
    files_quota: ByteSize,

    #[command(flatten)]
    sandbox: SandboxArgs,
}

pub(crate) fn run(args: McpArgs, cache_dir: Option<PathBuf>) -> u8 {
    let jobs = args.jobs.max(1);
    // The connection's interpreter and one instance per job for the typed
    // calls (an idle warm one gives up its slot when another call needs it).
    let builder = match args.sandbox.builder(cache_dir) {
        Ok(b) => b.max_instances(jobs as u32 + 1),
        Err(e) => return fail(e),
    };
    let runtime = match builder.build() {
        Ok(r) => r,
        Err(e) => return fail(mung_runtime::error_chain(&e)),
    };
    let mut config = McpConfig::default();
    config.files_quota = args.files_quota.0;
    config.max_image_bytes = args.sandbox.memory.0;
    let tokio = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    match tokio.block_on(serve_stdio(runtime, config, Jobs::new(jobs))) {
        Ok(()) => 0,
        Err(e) => fail(format!("the MCP connection failed: {e}")),
    }
}
