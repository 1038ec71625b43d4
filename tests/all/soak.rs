//! Soak: many in-process calls mixing `execute`, `validate` and binarize on
//! one `Runtime` from 2 threads; no call fails and the resident memory does
//! not creep.
//!
//! The calls run in a child process (this test binary again, running only
//! this test with `MUNG_RUNTIME_SOAK_CHILD` set), so that the memory measured is the soak's own and not
//! that of tests running beside it. The default is 2,000 calls (CI); set
//! `MUNG_RUNTIME_SOAK_CALLS=10000` for the full run. RSS is compared after
//! the first 1,000 calls and at the end, each time once the calls are over
//! and the instances prepared for the next `execute` are made: within 10%.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mung_runtime::{RgbaImage, Runtime};
use serde_json::{Value, json};

const ENV_CALLS: &str = "MUNG_RUNTIME_SOAK_CALLS";
const ENV_CHILD: &str = "MUNG_RUNTIME_SOAK_CHILD";
const DEFAULT_CALLS: usize = 2_000;
const BASELINE_AT: usize = 1_000;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS in /proc/self/status");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn soak_keeps_memory_flat_and_every_call_succeeds() {
    if std::env::var_os(ENV_CHILD).is_some() {
        return soak_body();
    }
    let calls: usize = std::env::var(ENV_CALLS).ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_CALLS);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["soak::soak_keeps_memory_flat_and_every_call_succeeds", "--exact", "--nocapture", "--test-threads", "1"])
        .env(ENV_CHILD, "1")
        .env(ENV_CALLS, calls.to_string())
        .output()
        .expect("running the soak child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the soak failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = stdout
        .lines()
        .find_map(|l| l.find("SOAK ").and_then(|i| serde_json::from_str(&l[i + 5..]).ok()))
        .unwrap_or_else(|| panic!("no report from the soak child:\n{stdout}"));
    eprintln!("soak: {report}");
    let (base, end) = (report["rss_kib_at_baseline"].as_f64().unwrap(), report["rss_kib_at_end"].as_f64().unwrap());
    assert!(end <= base * 1.10, "RSS grew from {base} KiB to {end} KiB: {report}");
}

/// The soak itself, in the child process.
fn soak_body() {
    let calls: usize = std::env::var(ENV_CALLS).ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_CALLS);
    let rt = Runtime::builder().max_instances(4).build().expect("building the runtime");
    let doc = std::fs::read_to_string(crate::common::fixtures().join("small.xml")).unwrap();
    let pixels = (0..64 * 48).flat_map(|i| if i % 5 == 0 { [0, 0, 0, 255] } else { [250, 250, 250, 255] }).collect();
    let page = RgbaImage::new(64, 48, pixels).unwrap();
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    // Both threads take the next call number until `to`.
    let run = |from: usize, to: usize| {
        let next = AtomicUsize::new(from);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                let (rt, doc, page, next, errors) = (&rt, &doc, &page, &next, errors.clone());
                scope.spawn(move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= to {
                            break;
                        }
                        let result = match i % 3 {
                            0 => rt
                                .execute(
                                    "import numpy as np\nint(np.arange(n).sum()) + len(s)",
                                    &json!({"n": i % 100, "s": "x"}),
                                )
                                .map(|d| assert_eq!(d.value, json!((0..(i % 100) as i64).sum::<i64>() + 1)))
                                .map_err(|e| e.to_string()),
                            1 => rt.validate(doc).map(|_| ()).map_err(|e| e.to_string()),
                            _ => rt.otsu_binarize_region(page.clone()).map(|_| ()).map_err(|e| e.to_string()),
                        };
                        if let Err(e) = result {
                            errors.lock().unwrap().push(format!("call {i}: {e}"));
                        }
                    }
                });
            }
        });
    };
    // Memory is compared in the same state: calls over, and the instances
    // prepared for the next `execute` made (they come and go between calls).
    let settled_rss = || {
        let since = Instant::now();
        while rt.prepared_instances() < mung_runtime::DEFAULT_PREPARED_INSTANCES {
            assert!(since.elapsed() < std::time::Duration::from_secs(30), "the prepared instances never came");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        rss_kib()
    };
    let start = Instant::now();
    run(0, BASELINE_AT.min(calls));
    let base = settled_rss();
    run(BASELINE_AT.min(calls), calls);
    let end = settled_rss();
    let elapsed = start.elapsed();
    let errors = errors.lock().unwrap();
    assert!(errors.is_empty(), "{} calls failed, e.g. {:?}", errors.len(), &errors[..errors.len().min(5)]);
    let report = json!({
        "calls": calls,
        "threads": 2,
        "seconds": elapsed.as_secs_f64(),
        "calls_per_second": calls as f64 / elapsed.as_secs_f64(),
        "rss_kib_at_baseline": base,
        "baseline_after_call": BASELINE_AT.min(calls),
        "rss_kib_at_end": end,
        "growth_percent": (end as f64 / base as f64 - 1.0) * 100.0,
    });
    println!("SOAK {report}");
}
