//! `mung-runtime-bench --serve`: the HTTP server under load, on loopback
//! only, bounded in requests and seconds. The server is the real
//! `mung-runtime serve` in its own process (so its RSS is its own); the load
//! comes from this process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

use crate::outln;

/// Options of the serve benchmark.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct ServeBenchArgs {
    /// Requests per load phase (the RSS row uses 10 times as many).
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub requests: usize,

    /// Concurrent clients.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub clients: usize,

    /// Stop a load phase after this many seconds, whatever its count.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub max_seconds: u64,
}

/// `mung-runtime serve` in a child process, killed when dropped.
pub(crate) struct ServeProcess {
    pub(crate) child: Child,
    pub(crate) base: String,
}

impl ServeProcess {
    pub(crate) fn start(cli: &Path, cache_dir: Option<&Path>, extra: &[&str]) -> Result<ServeProcess> {
        Self::spawn(Command::new(cli), cache_dir, extra)
    }

    /// Like [`start`](Self::start), under `ulimit -n fds`.
    pub(crate) fn start_with_fd_limit(
        cli: &Path,
        cache_dir: Option<&Path>,
        extra: &[&str],
        fds: u32,
    ) -> Result<ServeProcess> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(format!("ulimit -n {fds} && exec \"$0\" \"$@\"")).arg(cli);
        Self::spawn(cmd, cache_dir, extra)
    }

    /// Whether the server process is still running.
    pub(crate) fn child_alive(&self) -> bool {
        std::fs::metadata(format!("/proc/{}", self.child.id())).is_ok()
            && !std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default().contains(") Z ")
    }

    fn spawn(mut cmd: Command, cache_dir: Option<&Path>, extra: &[&str]) -> Result<ServeProcess> {
        cmd.args(["serve", "--addr", "127.0.0.1:0", "-q"]).args(extra);
        if let Some(dir) = cache_dir {
            cmd.arg("--cache-dir").arg(dir);
        }
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
        let Some(addr) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            bail!("mung-runtime serve did not start: {line:?}");
        };
        Ok(ServeProcess { base: addr.to_string(), child })
    }

    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one load phase measured.
struct Load {
    done: usize,
    ok: usize,
    busy: usize,
    other: usize,
    seconds: f64,
    latencies: Vec<f64>,
}

impl Load {
    fn rate(&self) -> f64 {
        self.done as f64 / self.seconds
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let mut v = self.latencies.clone();
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 - 1.0) * p).round() as usize]
    }
}

/// `requests` POSTs of `body` to `url` from `clients` concurrent clients.
fn load(url: &str, body: &str, requests: usize, clients: usize, max: Duration) -> Result<Load> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    rt.block_on(async {
        let client = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(clients).build()?;
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (client, next, url, body) = (client.clone(), next.clone(), url.to_string(), body.to_string());
            tasks.push(tokio::spawn(async move {
                let mut mine = (0, 0, 0, Vec::new());
                while next.fetch_add(1, Ordering::Relaxed) < requests && start.elapsed() < max {
                    let t = Instant::now();
                    let r = client.post(&url).header("content-type", "application/xml").body(body.clone()).send().await;
                    match r {
                        Ok(r) if r.status() == 200 => {
                            let _ = r.bytes().await;
                            mine.0 += 1;
                        }
                        Ok(r) if r.status() == 503 && r.headers().contains_key("retry-after") => mine.1 += 1,
                        _ => mine.2 += 1,
                    }
                    mine.3.push(t.elapsed().as_secs_f64());
                }
                mine
            }));
        }
        let mut out = Load { done: 0, ok: 0, busy: 0, other: 0, seconds: 0.0, latencies: Vec::new() };
        for t in tasks {
            let (ok, busy, other, lat) = t.await?;
            out.ok += ok;
            out.busy += busy;
            out.other += other;
            out.latencies.extend(lat);
        }
        out.done = out.ok + out.busy + out.other;
        out.seconds = start.elapsed().as_secs_f64();
        Ok(out)
    })
}

/// The `wasmtime` of wasmtime-cli, if the test suite installed it in the
/// cache at `cache_root` (or `$MUNG_RUNTIME_WASMTIME` names one).
fn find_wasmtime(cache_root: &Path) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MUNG_RUNTIME_WASMTIME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let binary = mung_runtime::Cache::at(cache_root).wasmtime_cli();
    binary.exists().then_some(binary)
}

/// `wasmtime serve` of the portable HTTP component, ready on loopback, or
/// `None` without a wasmtime-cli.
pub(crate) fn wasmtime_serve(cache_dir: Option<&Path>, max: Duration) -> Result<Option<ServeProcess>> {
    let mut builder = mung_runtime::Runtime::builder();
    if let Some(dir) = cache_dir {
        builder = builder.cache_dir(dir);
    }
    let runtime = builder.build()?;
    let Some(wasmtime) = find_wasmtime(&runtime.info().cache_dir) else { return Ok(None) };
    let component = runtime.http_component_path()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let addr = format!("127.0.0.1:{port}");
    eprintln!("[serve] starting `wasmtime serve` on {addr} (its first start compiles the component)");
    let child = Command::new(&wasmtime)
        .args(runtime.wasmtime_serve_args(&component, &addr))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", wasmtime.display()))?;
    let mut serve = ServeProcess { child, base: format!("http://{addr}") };
    let start = Instant::now();
    let sock: std::net::SocketAddr = addr.parse()?;
    while std::net::TcpStream::connect_timeout(&sock, Duration::from_millis(200)).is_err() {
        if let Some(status) = serve.child.try_wait()? {
            bail!("wasmtime serve exited with {status}");
        }
        ensure!(start.elapsed() < max * 5, "wasmtime serve did not listen within {:?}", max * 5);
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(Some(serve))
}

/// Requests of the one-client comparison with `wasmtime serve` (at most
/// `--requests`).
const SEQUENTIAL_REQUESTS: usize = 500;

/// One line of the `--serve` and `--sessions` tables.
pub(crate) struct Row {
    name: String,
    value: String,
    target: String,
    met: Option<bool>,
    json: Value,
}

pub(crate) fn row(name: &str, value: String, target: &str, met: Option<bool>, json: Value) -> Row {
    Row { name: name.into(), value, target: target.into(), met, json }
}

pub(crate) fn run(
    args: &ServeBenchArgs,
    cli: &Path,
    cache_dir: Option<&Path>,
    small: &Path,
    corpus: &[PathBuf],
    data: Option<&Path>,
    as_json: bool,
) -> Result<()> {
    let doc = std::fs::read_to_string(small)?;
    let max = Duration::from_secs(args.max_seconds);
    let mut rows = Vec::new();
    for (isolation, goal) in [("warm", 500.0), ("fresh", 150.0)] {
        eprintln!("[serve] {isolation}: {} requests, {} clients", args.requests, args.clients);
        let server = ServeProcess::start(cli, cache_dir, &["--jobs", "2", "--isolation", isolation])?;
        let url = format!("{}/v1/validate", server.base);
        load(&url, &doc, 100, args.clients, max)?; // warm the connections and instances
        let l = load(&url, &doc, args.requests, args.clients, max)?;
        rows.push(row(
            &format!("POST /v1/validate, {} clients, {isolation} instances", args.clients),
            format!("{:.0} req/s (p50 {:.1} ms, p99 {:.1} ms, errors {})", l.rate(), l.percentile(0.5) * 1e3, l.percentile(0.99) * 1e3, l.other + l.busy),
            &format!("≥ {goal} req/s, p99 ≤ 25 ms, 0 errors"),
            Some(l.rate() >= goal && l.percentile(0.99) <= 0.025 && l.other + l.busy == 0),
            json!({"isolation": isolation, "rate": l.rate(), "p50": l.percentile(0.5), "p99": l.percentile(0.99), "errors": l.other + l.busy, "requests": l.done}),
        ));
        if isolation == "warm" {
            let native_rate = l.rate();
            match wasmtime_serve(cache_dir, max)? {
                Some(other) => {
                    let url = format!("{}/v1/validate", other.base);
                    load(&url, &doc, 100, args.clients, max)?;
                    let w = load(&url, &doc, args.requests, args.clients, max)?;
                    rows.push(row(
                        &format!("  same load against `wasmtime serve` {}", mung_runtime::WASMTIME_SERVE_TESTED),
                        format!(
                            "{:.0} req/s (p50 {:.1} ms, p99 {:.1} ms, errors {}); mung-runtime serve / wasmtime serve = {:.2}×",
                            w.rate(),
                            w.percentile(0.5) * 1e3,
                            w.percentile(0.99) * 1e3,
                            w.other + w.busy,
                            native_rate / w.rate()
                        ),
                        "(a ratio, no target)",
                        None,
                        json!({"rate": w.rate(), "p50": w.percentile(0.5), "p99": w.percentile(0.99), "errors": w.other + w.busy, "native_over_wasmtime": native_rate / w.rate()}),
                    ));
                    // One client, one request at a time: each server's
                    // per-request cost without queueing, both in this run.
                    let n = args.requests.min(SEQUENTIAL_REQUESTS);
                    let native = load(&format!("{}/v1/validate", server.base), &doc, n, 1, max)?;
                    let w = load(&url, &doc, n, 1, max)?;
                    rows.push(row(
                        "  one client, sequential: mung-runtime serve / wasmtime serve",
                        format!(
                            "{:.0} / {:.0} req/s = {:.2}× (errors {})",
                            native.rate(),
                            w.rate(),
                            native.rate() / w.rate(),
                            native.other + native.busy + w.other + w.busy
                        ),
                        "(a ratio, no target)",
                        None,
                        json!({"requests": n, "native_rate": native.rate(), "wasmtime_rate": w.rate(), "native_over_wasmtime": native.rate() / w.rate(), "errors": native.other + native.busy + w.other + w.busy}),
                    ));
                }
                None => rows.push(row(
                    "  same load against `wasmtime serve`",
                    "skipped: no wasmtime-cli (the wasmtime_serve test installs it; or set MUNG_RUNTIME_WASMTIME)"
                        .into(),
                    "",
                    None,
                    json!(null),
                )),
            }
            // Memory over a long run: RSS after a first tenth vs at the end.
            let total = args.requests * 10;
            eprintln!("[serve] RSS over {total} requests");
            load(&url, &doc, total / 10, args.clients, max)?;
            let before = server.rss_mib();
            let l = load(&url, &doc, total - total / 10, args.clients, max * 10)?;
            let after = server.rss_mib();
            let drift = after / before - 1.0;
            rows.push(row(
                &format!("server RSS after {} vs {} requests", total / 10, total),
                format!("{before:.0} → {after:.0} MiB ({:+.1}%), {} errors", drift * 100.0, l.other + l.busy),
                "within ±10%",
                Some(drift.abs() <= 0.10 && l.other + l.busy == 0),
                json!({"before_mib": before, "after_mib": after, "drift": drift, "requests": total}),
            ));
        }
    }

    eprintln!("[serve] overload: 200 clients against --jobs 2");
    let server = ServeProcess::start(cli, cache_dir, &["--jobs", "2"])?;
    let url = format!("{}/v1/validate", server.base);
    let before = server.rss_mib();
    let l = load(&url, &doc, 2000, 200, max)?;
    let after = server.rss_mib();
    rows.push(row(
        "overload: 200 clients, --jobs 2, 2000 requests",
        format!(
            "{} ok, {} busy (503 + Retry-After), {} other; RSS {before:.0} → {after:.0} MiB",
            l.ok, l.busy, l.other
        ),
        "all answered 200 or 503, none lost",
        Some(l.other == 0 && l.done == 2000),
        json!({"ok": l.ok, "busy": l.busy, "other": l.other, "rss_before": before, "rss_after": after}),
    ));

    if corpus.len() >= 2 {
        eprintln!("[serve] batch of {} documents vs validate --jobs 2", corpus.len());
        let mut zip_bytes = Vec::new();
        {
            use std::io::Write;
            let mut w = zip::ZipWriter::new(std::io::Cursor::new(&mut zip_bytes));
            for f in corpus {
                w.start_file(
                    f.file_name().unwrap_or_default().to_string_lossy(),
                    zip::write::SimpleFileOptions::default(),
                )?;
                w.write_all(&std::fs::read(f)?)?;
            }
            w.finish()?;
        }
        let client = reqwest::blocking::Client::builder().no_proxy().timeout(max * 5).build()?;
        let mut ratios = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            let text = client
                .post(format!("{}/v1/validate/batch", server.base))
                .header("content-type", "application/zip")
                .body(zip_bytes.clone())
                .send()?
                .text()?;
            let batch = t.elapsed().as_secs_f64();
            ensure!(text.lines().count() == corpus.len(), "the batch answered {} lines", text.lines().count());
            let t = Instant::now();
            let mut cmd = Command::new(cli);
            cmd.args(["validate", "--jobs", "2", "--format", "jsonl", "-q"]).args(corpus);
            if let Some(dir) = cache_dir {
                cmd.arg("--cache-dir").arg(dir);
            }
            let status = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status()?;
            ensure!(matches!(status.code(), Some(0 | 1)), "validate failed: {status}");
            ratios.push((batch, t.elapsed().as_secs_f64()));
        }
        ratios.sort_by(|a, b| (a.0 / a.1).total_cmp(&(b.0 / b.1)));
        let (batch, cli_time) = ratios[1];
        let ratio = batch / cli_time;
        rows.push(row(
            &format!("batch endpoint, {} documents / `validate --jobs 2`", corpus.len()),
            format!("{batch:.2} s / {cli_time:.2} s = {ratio:.2}×"),
            "≤ 1.2×",
            Some(ratio <= 1.2),
            json!({"batch_s": batch, "cli_s": cli_time, "ratio": ratio}),
        ));
    }
    drop(server);
    rows.extend(crate::hostile::rows(cli, cache_dir, max)?);

    // A web page's view: at most 200 round trips a way, and the same bound in seconds.
    eprintln!("[serve] browser round trip of otsuBinarizeRegion (headless Chromium)");
    let name = "browser: otsuBinarizeRegion 500×500 via mung-runtime-client, raw RGBA / PNG";
    match crate::client::browser_round_trip(&crate::repo_root(), cli, data, args.requests.min(200), args.max_seconds)? {
        crate::client::Outcome::Measured(m) => rows.push(row(
            name,
            format!(
                "raw p50 {} ms, p99 {} ms; PNG p50 {} ms, p99 {} ms ({}× raw); from Node: p50 {} ms",
                m["raw_rgba_ms"]["p50"],
                m["raw_rgba_ms"]["p99"],
                m["png_ms"]["p50"],
                m["png_ms"]["p99"],
                m["png_over_raw_p50"],
                m["node_raw_rgba_ms"]["p50"]
            ),
            "raw p50 ≤ 30 ms",
            m["met"].as_bool(),
            m,
        )),
        crate::client::Outcome::Skipped(why) => rows.push(row(name, format!("skipped: {why}"), "", None, json!(null))),
    }

    print_rows(
        &rows,
        as_json,
        "mung-runtime-bench --serve (loopback; server = `mung-runtime serve` in its own process)",
    )
}

/// Prints `rows` as a table under `title`, or as JSON.
pub(crate) fn print_rows(rows: &[Row], as_json: bool, title: &str) -> Result<()> {
    if as_json {
        let v: Vec<Value> = rows
            .iter()
            .map(|r| json!({"row": r.name, "value": r.value, "target": r.target, "met": r.met, "data": r.json}))
            .collect();
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        outln!("{title}");
        for r in rows {
            let mark = match r.met {
                Some(true) => "met",
                Some(false) => "UNMET",
                None => "",
            };
            outln!("  {:<55} {:<70} {:<32} {mark}", r.name, r.value, r.target);
        }
    }
    Ok(())
}
