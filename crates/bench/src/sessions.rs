//! `mung-runtime-bench --sessions`: HTTP sessions, with the server in this
//! process on loopback (what an embedder of `mung-runtime-server` gets),
//! bounded in requests. Each timing is also given as a ratio against a
//! baseline measured in the same run.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use mung_runtime::Runtime;
use mung_runtime_server::{Server, ServerConfig, SessionsConfig};
use serde_json::{Value, json};

use crate::measure::median;
use crate::serve::{Row, print_rows, row};

/// Options of the session benchmark.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct SessionBenchArgs {
    /// Iterations of the create + execute + delete row (the warm row makes
    /// five times as many calls).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub session_iterations: usize,

    /// Sessions created and expired in the churn row.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub churn: usize,
}

/// A server in this process, on its own threads, stopped when dropped.
struct InProcess {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    fn start(runtime: Runtime, config: ServerConfig) -> Result<InProcess> {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
                let server = Server::new(runtime, config);
                server.warm_up().await.expect("warm sandboxes");
                addr_tx.send(listener.local_addr().expect("bound")).expect("the bench waits");
                let _ = server.serve(listener, async move { drop(stop_rx.await) }).await;
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(300)).context("the in-process server did not start")?;
        Ok(InProcess { base: format!("http://{addr}"), stop: Some(stop_tx), thread: Some(thread) })
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn client() -> Result<reqwest::blocking::Client> {
    Ok(reqwest::blocking::Client::builder().no_proxy().timeout(Duration::from_secs(120)).build()?)
}

/// Creates a session; its id.
fn create(c: &reqwest::blocking::Client, base: &str, body: &Value) -> Result<String> {
    let r = c.post(format!("{base}/v1/sessions")).json(body).send()?;
    ensure!(r.status() == 201, "creating a session answered {}", r.status());
    let body: Value = r.json()?;
    Ok(body["id"].as_str().context("no id")?.to_string())
}

fn execute(c: &reqwest::blocking::Client, url: &str, code: &str) -> Result<()> {
    let r = c.post(url).json(&json!({ "code": code })).send()?;
    ensure!(r.status() == 200, "{url} answered {}", r.status());
    Ok(())
}

fn ms(seconds: f64) -> f64 {
    seconds * 1e3
}

/// This process's resident memory, MiB.
fn rss_mib() -> f64 {
    crate::measure::proc_status().get("VmRSS").map_or(f64::NAN, |kb| *kb as f64 / 1024.0)
}

/// Session directories under `dir` (one server directory, one per session).
fn dirs_left(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| std::fs::read_dir(e.path()).map_or(0, |s| s.count())).sum())
        .unwrap_or(0)
}

pub(crate) fn run(args: &SessionBenchArgs, cache_dir: Option<&Path>, as_json: bool) -> Result<()> {
    let jobs = 2;
    let memory = mung_runtime::DEFAULT_MEMORY_LIMIT;
    let max_sessions = SessionsConfig::sized_for_memory(memory, jobs);
    let build = |instances: u32| {
        let mut b = Runtime::builder().max_instances(instances);
        if let Some(dir) = cache_dir {
            b = b.cache_dir(dir);
        }
        b.build()
    };
    let runtime = build(jobs as u32 + 1 + max_sessions as u32)?;
    let dir = tempfile::tempdir()?;
    let mut sessions = SessionsConfig::default();
    sessions.max_sessions = max_sessions;
    sessions.dir = Some(dir.path().to_path_buf());
    sessions.idle_ttl = Duration::from_millis(200);
    let config = ServerConfig::default().jobs(jobs).allow_execute(true).sessions(sessions);
    let server = InProcess::start(runtime.clone(), config)?;
    let c = client()?;
    let base = &server.base;
    let mut rows: Vec<Row> = Vec::new();
    let n = args.session_iterations.max(10);

    eprintln!("[sessions] create + first execute + delete, {n} times; fresh /v1/execute as the baseline");
    let fresh_url = format!("{base}/v1/execute");
    let mut fresh = Vec::new();
    let mut lifecycle = Vec::new();
    for i in 0..n + 5 {
        let t = Instant::now();
        execute(&c, &fresh_url, "1 + 1")?;
        let f = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let id = create(&c, base, &json!({ "ttl": 60 }))?;
        execute(&c, &format!("{base}/v1/sessions/{id}/execute"), "1 + 1")?;
        let r = c.delete(format!("{base}/v1/sessions/{id}")).send()?;
        ensure!(r.status() == 204, "deleting answered {}", r.status());
        if i >= 5 {
            lifecycle.push(t.elapsed().as_secs_f64());
            fresh.push(f);
        }
    }
    let (life, base_fresh) = (median(&lifecycle), median(&fresh));
    rows.push(row(
        "session create + first execute + delete, in-process over HTTP",
        format!(
            "p50 {:.2} ms; fresh POST /v1/execute p50 {:.2} ms; ratio {:.2}×",
            ms(life),
            ms(base_fresh),
            life / base_fresh
        ),
        "p50 ≤ 5 ms",
        Some(life <= 0.005),
        json!({"p50_s": life, "fresh_execute_p50_s": base_fresh, "ratio": life / base_fresh, "n": n}),
    ));

    let calls = 5 * n;
    eprintln!("[sessions] {calls} executes in a warm session; the library's Session::execute as the baseline");
    let id = create(&c, base, &json!({ "ttl": 60 }))?;
    let url = format!("{base}/v1/sessions/{id}/execute");
    execute(&c, &url, "x = 1")?;
    let mut http = Vec::new();
    for _ in 0..calls {
        let t = Instant::now();
        execute(&c, &url, "x + 1")?;
        http.push(t.elapsed().as_secs_f64());
    }
    c.delete(format!("{base}/v1/sessions/{id}")).send()?;
    let mut session = runtime.session();
    session.execute("x = 1", &())?;
    let mut direct = Vec::new();
    for _ in 0..calls {
        let t = Instant::now();
        session.execute("x + 1", &())?;
        direct.push(t.elapsed().as_secs_f64());
    }
    drop(session);
    let (warm, lib) = (median(&http), median(&direct));
    rows.push(row(
        "execute in a warm session over HTTP",
        format!("p50 {:.3} ms; library Session::execute p50 {:.3} ms; ratio {:.2}×", ms(warm), ms(lib), warm / lib),
        "p50 ≤ 1 ms",
        Some(warm <= 0.001),
        json!({"p50_s": warm, "library_p50_s": lib, "ratio": warm / lib, "calls": calls}),
    ));

    let churn = args.churn;
    eprintln!("[sessions] {churn} sessions created, used and left to expire (idle TTL 200 ms)");
    let before = rss_mib();
    let started = Instant::now();
    for i in 0..churn {
        let id = loop {
            match create(&c, base, &json!({})) {
                Ok(id) => break id,
                // Full: wait for the sweeper, as a client honouring Retry-After would.
                Err(_) if started.elapsed() < Duration::from_secs(600) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => return Err(e),
            }
        };
        let r = c.put(format!("{base}/v1/sessions/{id}/files/f.txt")).body(format!("file {i}")).send()?;
        ensure!(r.status() == 201, "uploading answered {}", r.status());
        execute(&c, &format!("{base}/v1/sessions/{id}/execute"), "open('/session/f.txt').read()")?;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while dirs_left(dir.path()) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = rss_mib();
    let left = dirs_left(dir.path());
    let drift = after / before - 1.0;
    rows.push(row(
        &format!("{churn} sessions created, used and expired"),
        format!(
            "RSS {before:.0} → {after:.0} MiB ({:+.1}%), {left} session directories left, {:.1} s",
            drift * 100.0,
            started.elapsed().as_secs_f64()
        ),
        "RSS within ±10%, none left",
        Some(drift.abs() <= 0.10 && left == 0),
        json!({"before_mib": before, "after_mib": after, "drift": drift, "left": left, "sessions": churn}),
    ));

    eprintln!("[sessions] live sessions at the default --memory: {max_sessions}, each with a started interpreter");
    let before = rss_mib();
    let mut ids = Vec::new();
    for _ in 0..max_sessions {
        let id = create(&c, base, &json!({ "ttl": 600 }))?;
        execute(&c, &format!("{base}/v1/sessions/{id}/execute"), "import numpy\nx = numpy.zeros(1000)")?;
        ids.push(id);
    }
    let refused = c.post(format!("{base}/v1/sessions")).json(&json!({})).send()?;
    let full = refused.status() == 503 && refused.headers().contains_key("retry-after");
    let held = rss_mib() - before;
    for id in &ids {
        c.delete(format!("{base}/v1/sessions/{id}")).send()?;
    }
    let total_gib = max_sessions as f64 + jobs as f64;
    rows.push(row(
        "live sessions at the default --memory (1 GiB), --jobs 2",
        format!(
            "{max_sessions} (MemTotal / 1 GiB − jobs), all started; one more: {}; RSS held {:.0} MiB ({:.0} MiB each)",
            if full { "503 + Retry-After" } else { "NOT refused" },
            held,
            held / max_sessions as f64
        ),
        &format!("never more than memory holds at the cap ({total_gib:.0} GiB)"),
        Some(full),
        json!({"max_sessions": max_sessions, "refused": full, "rss_held_mib": held}),
    ));
    drop(server);
    print_rows(&rows, as_json, "mung-runtime-bench --sessions (loopback; the server in this process)")
}
