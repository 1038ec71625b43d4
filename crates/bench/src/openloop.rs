//! `mung-runtime-bench --open-loop`: the server under an open-loop load
//! from `oha` (requests sent at a fixed rate, whatever the answers; latency
//! measured from when each request was due, so a slow server cannot hide
//! its queueing). First the capacity, the highest rate answered with under
//! 1% non-2xx, by a short bounded search; then p50/p99/p99.9 at 50% and 80%
//! of it. Loopback only; every run of `oha` is bounded in requests (rate ×
//! seconds) and in wall time.
//!
//! `oha` comes from crates.io: `$MUNG_RUNTIME_OHA`, or installed once per
//! machine with `cargo install --locked` into `<cache>/tools/oha-VERSION`
//! under the cache's lock (the way the tests install wasmtime-cli).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use mung_runtime_python_wasm::CacheDir;
use serde_json::{Value, json};

use crate::measure::CpuSnapshot;
use crate::serve::{Row, ServeProcess, print_rows, row, wasmtime_serve};

/// The `oha` release the bench installs (builds on Rust 1.88 and later).
const OHA_VERSION: &str = "1.16.0";
/// An `oha` binary to use instead of installing one.
const OHA_ENV: &str = "MUNG_RUNTIME_OHA";
/// Connections `oha` may hold open: enough for a rate of ~1,000 req/s at
/// 60 ms each, and beyond the server's queue (16 × `--jobs`), so an
/// overloaded server answers 503 rather than the client holding back.
const CONNECTIONS: usize = 64;
/// The highest rate the search tries.
const MAX_RATE: f64 = 4000.0;
/// The lowest rate the search tries.
const MIN_RATE: f64 = 5.0;
/// Bisection steps after the doubling (or halving) found a bracket (a
/// step that fails is run once more).
const BISECTIONS: usize = 3;
/// Largest share of non-2xx answers (and failed requests) at a sustained rate.
const MAX_FAILED_SHARE: f64 = 0.01;
/// A rate is sustained only if the answers kept up with it this closely.
const MIN_KEPT_UP: f64 = 0.95;

/// Options of the open-loop benchmark.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct OpenLoopArgs {
    /// Seconds of each step of the capacity search (requests = rate × this).
    #[arg(long, value_name = "SECS", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=30))]
    pub step_seconds: u64,

    /// Seconds of each latency run at 50% and 80% of capacity.
    #[arg(long, value_name = "SECS", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub latency_seconds: u64,
}

/// The `oha` executable: `$MUNG_RUNTIME_OHA`, the one installed in the
/// cache, or a new install there (once per machine, under the cache lock).
fn oha(cache: &CacheDir) -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(OHA_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let start = Instant::now();
    let mut installed = false;
    let binary = cache
        .cargo_tool("oha", OHA_VERSION, "oha", |line| {
            installed = true;
            eprintln!("[open-loop] {line}");
        })
        .context("installing the load generator oha")?;
    if installed {
        eprintln!("[open-loop] oha {OHA_VERSION} installed in {:.0?}", start.elapsed());
    }
    Ok(binary)
}

/// What one run of `oha` at a fixed rate measured.
#[derive(Clone, Debug)]
struct Shot {
    /// The rate asked for (req/s).
    offered: f64,
    /// Requests sent.
    sent: u64,
    /// Answered 2xx.
    ok: u64,
    /// Answered 503 (the server's "busy").
    busy: u64,
    /// Any other answer, or no answer.
    failed: u64,
    /// Answers per second over the whole run.
    answered_rate: f64,
    /// Latency of the 2xx answers from when each request was due (s).
    p50: f64,
    p99: f64,
    p999: f64,
}

impl Shot {
    fn non_ok_share(&self) -> f64 {
        (self.busy + self.failed) as f64 / self.sent.max(1) as f64
    }

    /// Under 1% non-2xx, and the answers kept up with the rate.
    fn sustained(&self) -> bool {
        self.non_ok_share() < MAX_FAILED_SHARE && self.answered_rate >= self.offered * MIN_KEPT_UP
    }

    fn json(&self) -> Value {
        json!({"offered": self.offered, "sent": self.sent, "ok": self.ok, "busy": self.busy, "failed": self.failed,
               "answered_rate": self.answered_rate, "p50": self.p50, "p99": self.p99, "p999": self.p999})
    }
}

/// Sends `rate` req/s for `seconds` (rate × seconds requests) of POST `body`
/// to `url` with `oha`; kills it if it runs far past that.
fn shoot(oha: &Path, url: &str, body: &Path, rate: f64, seconds: u64) -> Result<Shot> {
    let n = ((rate * seconds as f64).round() as u64).max(1);
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("oha.json");
    let mut child = Command::new(oha)
        .args(["--no-tui", "--output-format", "json", "--latency-correction", "--stats-success-breakdown"])
        .args(["-n", &n.to_string(), "-c", &CONNECTIONS.to_string(), "-q", &format!("{rate:.3}")])
        .args(["-t", "30s", "-m", "POST", "-T", "application/xml", "-D"])
        .arg(body)
        .arg("-o")
        .arg(&out)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", oha.display()))?;
    let deadline = Duration::from_secs(seconds * 3 + 40);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("oha ran past {deadline:?} at {rate:.0} req/s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.by_ref().take(4096).read_to_string(&mut err);
        }
        bail!("oha exited with {status}: {}", err.trim());
    }
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out)?).context("oha's JSON")?;
    parse(&v, rate, n)
}

/// The counts and latencies of `oha`'s JSON output.
fn parse(v: &Value, offered: f64, sent: u64) -> Result<Shot> {
    let codes = v["statusCodeDistribution"].as_object().context("no statusCodeDistribution")?;
    let count = |pred: &dyn Fn(u16) -> bool| -> u64 {
        codes.iter().filter(|(k, _)| k.parse::<u16>().is_ok_and(pred)).map(|(_, n)| n.as_u64().unwrap_or(0)).sum()
    };
    let ok = count(&|c| (200..300).contains(&c));
    let busy = count(&|c| c == 503);
    let answered: u64 = codes.values().map(|n| n.as_u64().unwrap_or(0)).sum();
    let failed = sent.saturating_sub(ok + busy);
    let total = v["summary"]["total"].as_f64().context("no summary.total")?;
    // Latencies of the 2xx answers (a quick 503 must not lower them).
    let lat = if v["latencyPercentilesSuccessful"].is_object() {
        &v["latencyPercentilesSuccessful"]
    } else {
        &v["latencyPercentiles"]
    };
    let p = |k: &str| lat[k].as_f64().unwrap_or(f64::NAN);
    Ok(Shot {
        offered,
        sent,
        ok,
        busy,
        failed,
        answered_rate: answered as f64 / total.max(1e-9),
        p50: p("p50"),
        p99: p("p99"),
        p999: p("p99.9"),
    })
}

/// The highest sustained rate: doubling (or halving) from `start` until a
/// bracket is found, then a few bisections. Returns it (0 if even
/// [`MIN_RATE`] was not sustained) and the steps.
fn capacity(oha: &Path, url: &str, body: &Path, start: f64, seconds: u64) -> Result<(f64, Vec<Shot>)> {
    let mut steps = Vec::new();
    let mut step = |rate: f64| -> Result<bool> {
        let mut s = shoot(oha, url, body, rate, seconds)?;
        if !s.sustained() {
            // Other load on the machine comes in bursts: a rate fails only
            // if it fails twice.
            steps.push(s);
            s = shoot(oha, url, body, rate, seconds)?;
        }
        let ok = s.sustained();
        eprintln!(
            "[open-loop]   {rate:.0} req/s: answered {:.0}/s, {:.2}% non-2xx, p99 {:.1} ms → {}",
            s.answered_rate,
            s.non_ok_share() * 100.0,
            s.p99 * 1e3,
            if ok { "sustained" } else { "not sustained" }
        );
        steps.push(s);
        Ok(ok)
    };
    let (mut good, mut bad) = (0.0, f64::INFINITY);
    let mut rate = start;
    if step(rate)? {
        good = rate;
        while bad.is_infinite() && rate * 2.0 <= MAX_RATE {
            rate *= 2.0;
            if step(rate)? { good = rate } else { bad = rate }
        }
    } else {
        bad = rate;
        while good == 0.0 && rate / 2.0 >= MIN_RATE {
            rate /= 2.0;
            if step(rate)? { good = rate } else { bad = rate }
        }
    }
    if good > 0.0 && bad.is_finite() {
        for _ in 0..BISECTIONS {
            let mid = (good + bad) / 2.0;
            if step(mid)? { good = mid } else { bad = mid }
        }
    }
    Ok((good, steps))
}

/// A server to measure: its label, its URL, the first rate of the search,
/// and the capacity goal (if any).
struct Server<'a> {
    label: &'a str,
    url: String,
    start: f64,
    capacity_goal: Option<f64>,
    latency_goals: bool,
}

/// The three rows of one server: capacity, then the latencies at 50% and
/// 80% of it.
fn measure(oha: &Path, body: &Path, t: &Server, args: &OpenLoopArgs) -> Result<Vec<Row>> {
    eprintln!("[open-loop] {}: warming up, then the capacity search ({} s steps)", t.label, args.step_seconds);
    shoot(oha, &t.url, body, t.start, 1)?; // connections, instances, caches
    let (cap, steps) = capacity(oha, &t.url, body, t.start, args.step_seconds)?;
    let trail: Vec<String> =
        steps.iter().map(|s| format!("{:.0}{}", s.offered, if s.sustained() { "✓" } else { "✗" })).collect();
    let mut rows = vec![row(
        &format!("open loop, {}: capacity (< 1% non-2xx)", t.label),
        if cap > 0.0 {
            format!("{cap:.0} req/s (steps {})", trail.join(" "))
        } else {
            format!("below {MIN_RATE} req/s (steps {})", trail.join(" "))
        },
        &t.capacity_goal.map_or("(no goal)".into(), |g| format!("≥ {g:.0} req/s")),
        t.capacity_goal.map(|g| cap >= g),
        json!({"capacity": cap, "steps": steps.iter().map(Shot::json).collect::<Vec<_>>()}),
    )];
    for (share, goal) in [(0.5, 0.010), (0.8, 0.025)] {
        let name = format!("  at {:.0}% of capacity", share * 100.0);
        if cap <= 0.0 {
            rows.push(row(&name, "skipped: no sustained rate".into(), "", None, json!(null)));
            continue;
        }
        let rate = cap * share;
        eprintln!("[open-loop] {}: {rate:.0} req/s for {} s", t.label, args.latency_seconds);
        let s = shoot(oha, &t.url, body, rate, args.latency_seconds)?;
        rows.push(row(
            &name,
            format!(
                "{rate:.0} req/s × {} s: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms; {} of {} non-2xx",
                args.latency_seconds,
                s.p50 * 1e3,
                s.p99 * 1e3,
                s.p999 * 1e3,
                s.busy + s.failed,
                s.sent
            ),
            &if t.latency_goals { format!("p99 ≤ {:.0} ms", goal * 1e3) } else { "(no goal)".into() },
            t.latency_goals.then_some(s.p99 <= goal),
            s.json(),
        ));
    }
    Ok(rows)
}

/// The open-loop table: native `serve` with warm and fresh instances, and
/// `wasmtime serve` when a wasmtime-cli is at hand.
pub(crate) fn run(
    args: &OpenLoopArgs,
    cli: &Path,
    cache_dir: Option<&Path>,
    small: &Path,
    as_json: bool,
) -> Result<()> {
    let cache = cache_dir.map_or_else(CacheDir::from_env, CacheDir::new);
    let labels = [
        "`mung-runtime serve --jobs 2`, warm instances",
        "`mung-runtime serve --jobs 2 --isolation fresh`",
        "`wasmtime serve` (the portable component)",
    ];
    let name = small.file_name().map_or("small.xml".into(), |n| n.to_string_lossy().into_owned());
    let title = format!(
        "mung-runtime-bench --open-loop (oha {OHA_VERSION}, POST {name} to /v1/validate at fixed rates, latency \
         from each request's due time; loopback, clients on the same cores)"
    );
    let oha = match oha(&cache) {
        Ok(o) => o,
        Err(e) => {
            let why = format!("skipped: no oha ({e:#})");
            let rows: Vec<Row> = labels
                .iter()
                .map(|l| row(&format!("open loop, {l}: capacity (< 1% non-2xx)"), why.clone(), "", None, json!(null)))
                .collect();
            return print_rows(&rows, as_json, &title);
        }
    };
    let max = Duration::from_secs(120);
    let cpu_start = CpuSnapshot::take();
    let mut rows = Vec::new();
    for (isolation, label, start, goal) in [("warm", labels[0], 100.0, Some(800.0)), ("fresh", labels[1], 25.0, None)] {
        let server = ServeProcess::start(cli, cache_dir, &["--jobs", "2", "--isolation", isolation])?;
        let target = Server {
            label,
            url: format!("{}/v1/validate", server.base),
            start,
            capacity_goal: goal,
            latency_goals: true,
        };
        rows.extend(measure(&oha, small, &target, args)?);
    }
    match wasmtime_serve(cache_dir, max)? {
        Some(server) => {
            let target = Server {
                label: labels[2],
                url: format!("{}/v1/validate", server.base),
                start: 100.0,
                capacity_goal: None,
                latency_goals: false,
            };
            rows.extend(measure(&oha, small, &target, args)?);
        }
        None => rows.push(row(
            &format!("open loop, {}: capacity (< 1% non-2xx)", labels[2]),
            "skipped: no wasmtime-cli (the wasmtime_serve test installs it; or set MUNG_RUNTIME_WASMTIME)".into(),
            "",
            None,
            json!(null),
        )),
    }
    // The servers and oha were children of this process, all waited for
    // by now, so their CPU time counts as ours.
    let cpu_end = CpuSnapshot::take();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let others = cpu_start.others_share(&cpu_end, cores);
    rows.push(row(
        "machine during these rows",
        format!(
            "other processes used {:.0}% of the CPU time of {cores} cores; load average {} → {}",
            others * 100.0,
            cpu_start.loadavg,
            cpu_end.loadavg
        ),
        "(context, no goal)",
        None,
        json!({"others_cpu_share": others, "cores": cores, "loadavg_start": cpu_start.loadavg, "loadavg_end": cpu_end.loadavg}),
    ));
    print_rows(&rows, as_json, &title)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts of oha 1.16's `--output-format json` the bench reads (the
    /// shape of a real run: 503s and a refused request among 2xx answers).
    fn sample() -> Value {
        json!({
            "summary": {"successRate": 0.995, "total": 2.0, "requestsPerSec": 99.5},
            "latencyPercentiles": {"p50": 0.001, "p99": 0.004, "p99.9": 0.005},
            "latencyPercentilesSuccessful": {"p50": 0.002, "p99": 0.008, "p99.9": 0.009},
            "statusCodeDistribution": {"200": 196, "503": 2, "400": 1},
            "errorDistribution": {"connection refused": 1}
        })
    }

    #[test]
    fn parse_counts_answers_and_takes_latencies_of_2xx() {
        let s = parse(&sample(), 100.0, 200).unwrap();
        assert_eq!((s.sent, s.ok, s.busy, s.failed), (200, 196, 2, 2));
        assert_eq!((s.p50, s.p99, s.p999), (0.002, 0.008, 0.009));
        assert!((s.answered_rate - 99.5).abs() < 1e-9);
        assert!((s.non_ok_share() - 0.02).abs() < 1e-9);
        assert!(!s.sustained(), "2% non-2xx is not sustained");
    }

    #[test]
    fn sustained_needs_few_failures_and_answers_that_keep_up() {
        let mut v = sample();
        v["statusCodeDistribution"] = json!({"200": 200});
        assert!(parse(&v, 100.0, 200).unwrap().sustained());
        // All answered, but over 2.5 s instead of 2 s: 80 of 100 per second.
        v["summary"]["total"] = json!(2.5);
        assert!(!parse(&v, 100.0, 200).unwrap().sustained());
    }

    #[test]
    fn parse_refuses_output_without_status_codes() {
        assert!(parse(&json!({"summary": {"total": 1.0}}), 10.0, 10).is_err());
    }
}
