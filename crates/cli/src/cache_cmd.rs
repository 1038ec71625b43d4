//! `mung-runtime cache`: inspect or clean the cache.

use std::fs;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use mung_runtime::Cache;

use crate::fail;
use crate::out::outln;

#[derive(Subcommand)]
pub(crate) enum CacheCommand {
    /// Show where the cache is and what it holds.
    Info,
    /// Delete compiled artifacts, snapshots and components (they are rebuilt
    /// on next use). With --all, also the downloads and unpacked interpreter.
    /// Directories a running mung-runtime (e.g. `serve`) mounts are kept and
    /// listed.
    Clean {
        /// Delete everything, downloads included.
        #[arg(long)]
        all: bool,
    },
    /// Write the standalone WebAssembly component (runs under any WASI 0.2
    /// host, e.g. `wasmtime run`) to FILE.
    Component {
        /// Where to write it.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Write the HTTP component instead: it also exports
        /// `wasi:http/incoming-handler` (POST /v1/validate, /v1/fix,
        /// /v1/extract/*), for `wasmtime serve`; prints the command line.
        #[arg(long)]
        http: bool,
    },
}

pub(crate) fn run(cmd: CacheCommand, cache_dir: Option<PathBuf>) -> u8 {
    let cache = cache_dir.map(Cache::at).unwrap_or_else(Cache::from_env);
    match cmd {
        CacheCommand::Info => info(&cache),
        CacheCommand::Clean { all } => clean(&cache, all),
        CacheCommand::Component { output, http: false } => component(&cache, &output),
        CacheCommand::Component { output, http: true } => http_component(&cache, &output),
    }
}

fn info(cache: &Cache) -> u8 {
    outln!("cache: {}", cache.root().display());
    let entries = match cache.entries() {
        Ok(e) => e,
        Err(e) => return fail(format!("cannot read {}: {e}", cache.root().display())),
    };
    if entries.is_empty() {
        outln!("  (empty: nothing downloaded or compiled yet)");
        return 0;
    }
    for entry in &entries {
        outln!("  {:<20} {:>10}", entry.name, human(entry.size));
        for (name, size) in &entry.files {
            outln!("    {name:<70} {:>10}", human(*size));
        }
    }
    outln!("  {:<20} {:>10}", "total", human(entries.iter().map(|e| e.size).sum()));
    0
}

fn clean(cache: &Cache, all: bool) -> u8 {
    match cache.clean(all) {
        Ok(report) => {
            outln!("freed {}", human(report.freed));
            for path in &report.kept_in_use {
                outln!("kept {} (a running mung-runtime uses it; clean again once it has ended)", path.display());
            }
            0
        }
        Err(e) => fail(format!("cannot clean {}: {e}", cache.root().display())),
    }
}

fn component(cache: &Cache, output: &Path) -> u8 {
    let runtime = match mung_runtime::Runtime::builder().cache_dir(cache.root()).build() {
        Ok(r) => r,
        Err(e) => return fail(mung_runtime::error_chain(&e)),
    };
    let source = &runtime.info().component_path;
    let bytes = match fs::read(source) {
        Ok(b) => b,
        Err(e) => return fail(format!("cannot read {}: {e}", source.display())),
    };
    if let Err(e) = crate::fsutil::write_atomic(output, &bytes) {
        return fail(e);
    }
    outln!("wrote {} ({})", output.display(), human(bytes.len() as u64));
    outln!(
        "It imports only WASI 0.2. It expects the stdlib directory {} at /usr/local/lib,\n\
         the packages at /packages and /vendor (argv: python /packages /vendor).",
        runtime.info().stdlib_dir.display()
    );
    0
}

fn http_component(cache: &Cache, output: &Path) -> u8 {
    let runtime = match mung_runtime::Runtime::builder().cache_dir(cache.root()).build() {
        Ok(r) => r,
        Err(e) => return fail(mung_runtime::error_chain(&e)),
    };
    let source = match runtime.http_component_path() {
        Ok(p) => p,
        Err(e) => return fail(mung_runtime::error_chain(&e)),
    };
    let bytes = match fs::read(&source) {
        Ok(b) => b,
        Err(e) => return fail(format!("cannot read {}: {e}", source.display())),
    };
    if let Err(e) = crate::fsutil::write_atomic(output, &bytes) {
        return fail(e);
    }
    outln!("wrote {} ({})", output.display(), human(bytes.len() as u64));
    // The command names the file as given, made absolute so it works from anywhere.
    let shown = std::path::absolute(output).unwrap_or_else(|_| output.to_path_buf());
    let args = runtime.wasmtime_serve_args(&shown, "127.0.0.1:8080");
    // The wasmtime-cli the test suite installs, when it is there.
    let installed = cache.wasmtime_cli();
    let wasmtime = if installed.exists() { installed.display().to_string() } else { "wasmtime".into() };
    let line: Vec<String> =
        std::iter::once(shell_word(&wasmtime)).chain(args.iter().map(|a| shell_word(&a.to_string_lossy()))).collect();
    outln!(
        "It exports wasi:http/incoming-handler (POST /v1/validate, /v1/fix, /v1/extract/*) and the\n\
         mung:runtime interfaces, and imports only WASI 0.2. Serve it with wasmtime-cli {} (tested):\n",
        mung_runtime::WASMTIME_SERVE_TESTED
    );
    outln!("{}", line.join(" "));
    0
}

/// `word` quoted for a POSIX shell when it needs it.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_' | ':' | '=' | ',' | '@' | '+'));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}
