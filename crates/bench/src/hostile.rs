//! Rows of `--serve` that try the server as an attacker would (issue 14):
//! memory under many maximum-size bodies, under large images, after the
//! burst, and health probes while hundreds of connections stall their
//! request heads. Loopback only; every phase is bounded in connections,
//! requests and seconds.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::json;

use crate::serve::{Row, ServeProcess, row};

/// The `/proc/PID/status` line `key` (e.g. `VmHWM`), in MiB.
fn status_mib(pid: u32, key: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Sends `count` concurrent POSTs of `body` (as `media`) to `url`; returns
/// the statuses and the slowest answer.
fn burst(url: &str, media: &str, body: Vec<u8>, count: usize, max: Duration) -> Result<(Vec<u16>, Duration)> {
    let body = bytes_of(body);
    let handles: Vec<_> = (0..count)
        .map(|_| {
            let (url, media, body) = (url.to_string(), media.to_string(), body.clone());
            std::thread::spawn(move || -> Result<(u16, Duration)> {
                let client = reqwest::blocking::Client::builder().no_proxy().timeout(max).build()?;
                let t = Instant::now();
                let r = client.post(url).header("content-type", media).body(body.to_vec()).send()?;
                let status = r.status().as_u16();
                let _ = r.bytes();
                Ok((status, t.elapsed()))
            })
        })
        .collect();
    let mut statuses = Vec::new();
    let mut slowest = Duration::ZERO;
    for h in handles {
        match h.join().map_err(|_| anyhow::anyhow!("a client thread panicked"))? {
            Ok((status, took)) => {
                statuses.push(status);
                slowest = slowest.max(took);
            }
            // A refused body may be cut off mid-upload: the server answered
            // before reading it, which is the point.
            Err(_) => statuses.push(0),
        }
    }
    Ok((statuses, slowest))
}

fn bytes_of(v: Vec<u8>) -> std::sync::Arc<Vec<u8>> {
    std::sync::Arc::new(v)
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|&&s| s == status).count()
}

/// A 12000×12000 page: white with a few lines, ~0.5 MB as PNG, 550 MiB as
/// RGBA once decoded.
fn large_page_png() -> Result<Vec<u8>> {
    let side = 12000u32;
    let mut page = image::GrayImage::from_pixel(side, side, image::Luma([255]));
    for y in (1000..side).step_by(1500) {
        for x in 500..side - 500 {
            page.put_pixel(x, y, image::Luma([0]));
        }
    }
    let mut png = Vec::new();
    image::DynamicImage::ImageLuma8(page).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
    Ok(png)
}

pub(crate) fn rows(cli: &Path, cache_dir: Option<&Path>, max: Duration) -> Result<Vec<Row>> {
    let mut rows = Vec::new();

    // 1. Forty maximum-size bodies against one job and no queue: all but
    // the admitted one are refused before their bodies are read.
    eprintln!("[serve] hostile: 40 concurrent 60 MiB bodies, --jobs 1 --queue 0");
    let server =
        ServeProcess::start(cli, cache_dir, &["--jobs", "1", "--queue", "0", "--max-body", "64M", "--memory", "512M"])?;
    let pid = server.child.id();
    let base = status_mib(pid, "VmRSS");
    let (statuses, slowest) =
        burst(&format!("{}/v1/validate", server.base), "application/xml", vec![b' '; 60 << 20], 40, max)?;
    let peak = status_mib(pid, "VmHWM");
    // One admitted request: its body and the text copy on the host, and the
    // guest's memory (the document, parsed, under `--memory`).
    let bound = 64.0 * 2.0 + 512.0;
    rows.push(row(
        "40 concurrent 60 MiB bodies, --jobs 1 --queue 0: peak RSS",
        format!(
            "{base:.0} → {peak:.0} MiB (+{:.0}); {} refused 503, {} answered, slowest {:.1} s",
            peak - base,
            count(&statuses, 503) + count(&statuses, 0),
            statuses.len() - count(&statuses, 503) - count(&statuses, 0),
            slowest.as_secs_f64()
        ),
        &format!("≤ base + (jobs + queue) × {bound:.0} MiB (2 × --max-body + --memory)"),
        Some(peak - base <= bound),
        json!({"base_mib": base, "peak_mib": peak, "statuses": statuses}),
    ));
    drop(server);

    // 2. Twelve binarize requests of a 12000² page: decoding happens only
    // for admitted requests, on blocking threads; the rest are refused first.
    eprintln!("[serve] hostile: 12 concurrent binarize requests of a 12000x12000 page");
    let png = large_page_png()?;
    let server = ServeProcess::start(cli, cache_dir, &["--jobs", "2", "--queue", "2"])?;
    let pid = server.child.id();
    let base = status_mib(pid, "VmRSS");
    let (statuses, slowest) =
        burst(&format!("{}/v1/extract/binarize", server.base), "image/png", png.clone(), 12, max)?;
    let peak = status_mib(pid, "VmHWM");
    std::thread::sleep(Duration::from_secs(5));
    let idle = status_mib(pid, "VmRSS");
    let decoded = 12000.0 * 12000.0 * 4.0 / (1 << 20) as f64;
    rows.push(row(
        "12 concurrent binarize of a 12000² PNG (0.5 MB), --jobs 2 --queue 2: peak RSS",
        format!(
            "{base:.0} → {peak:.0} MiB; {} refused 503 at once, others {:?}; slowest {:.1} s",
            count(&statuses, 503),
            statuses.iter().filter(|&&s| s != 503).collect::<Vec<_>>(),
            slowest.as_secs_f64()
        ),
        &format!("≤ base + jobs × ({decoded:.0} MiB, one decoded page, + 1024 MiB of --memory)"),
        Some(peak - base <= 2.0 * (decoded + 1024.0)),
        json!({"base_mib": base, "peak_mib": peak, "statuses": statuses}),
    ));
    rows.push(row(
        "  idle RSS 5 s after that burst",
        format!("{idle:.0} MiB ({:+.0} MiB over the start)", idle - base),
        "≤ base + 256 MiB (memory given back)",
        Some(idle - base <= 256.0),
        json!({"idle_mib": idle, "base_mib": base}),
    ));
    drop(server);

    // 3. Slowloris: 400 connections hold half a request head; health probes
    // must still be answered quickly, under a 400-descriptor limit.
    eprintln!("[serve] hostile: 400 stalled request heads under ulimit -n 400");
    let server = ServeProcess::start_with_fd_limit(cli, cache_dir, &["--jobs", "1", "--header-timeout", "10"], 400)?;
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut stalled = Vec::new();
    for _ in 0..400 {
        if let Ok(mut s) = TcpStream::connect(&addr) {
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
            stalled.push(s);
        }
    }
    // Those past the limit and its overflow are closed at once, those in
    // the overflow after 1 s; the rest stay, trickling, until the probes end.
    std::thread::sleep(Duration::from_millis(1500));
    let client = reqwest::blocking::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build()?;
    let mut latencies = Vec::new();
    let mut failed = 0;
    let start = Instant::now();
    while latencies.len() + failed < 200 && start.elapsed() < Duration::from_secs(6) {
        // Keep the stalled heads trickling (the header timeout cuts them).
        for s in &mut stalled {
            let _ = s.write_all(b"a");
        }
        let t = Instant::now();
        match client.get(format!("{}/healthz", server.base)).send() {
            Ok(r) if r.status() == 200 => latencies.push(t.elapsed().as_secs_f64()),
            _ => failed += 1,
        }
    }
    latencies.sort_by(f64::total_cmp);
    let p99 = latencies.get(((latencies.len() as f64 - 1.0) * 0.99).round() as usize).copied().unwrap_or(f64::NAN);
    let alive = server.child_alive();
    rows.push(row(
        "/healthz while 400 connections stall their heads (ulimit -n 400)",
        format!("p99 {:.1} ms over {} probes, {failed} failed; server alive: {alive}", p99 * 1e3, latencies.len()),
        "answered, p99 ≤ 100 ms",
        Some(alive && failed == 0 && p99 <= 0.1),
        json!({"p99": p99, "probes": latencies.len(), "failed": failed, "stalled": stalled.len()}),
    ));
    drop(stalled);
    drop(server);
    Ok(rows)
}
