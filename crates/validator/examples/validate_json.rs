//! Development tool (differential testing and timing): reads file paths, one per line,
//! from stdin and prints one JSON line per file: `{"path", "issues"}` or `{"path",
//! "defer"}`. With `--time N` it instead validates each file N times and prints the
//! mean time per call.

use mung_runtime_validator::validate;
use serde_json::json;
use std::io::{BufRead, Write};

// The issue list as the reference's JSON: the same function the tests use.
#[path = "../tests/common/mod.rs"]
mod common;
use common::to_json;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let repeat: Option<u32> = (args.len() >= 3 && args[1] == "--time").then(|| args[2].parse().expect("N"));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let path = line.expect("stdin");
        let xml = std::fs::read(&path).expect("read");
        if let Some(n) = repeat {
            let t = std::time::Instant::now();
            let mut r = None;
            for _ in 0..n {
                r = Some(validate(std::hint::black_box(&xml)));
            }
            let per = t.elapsed().as_secs_f64() / f64::from(n);
            let what = match r.expect("n > 0") {
                Ok(v) => format!("{} issues", v.len()),
                Err(d) => d.to_string(),
            };
            writeln!(out, "{path}: {:.1} us per call ({what})", per * 1e6).expect("stdout");
            continue;
        }
        let v = match validate(&xml) {
            Ok(issues) => json!({"path": path, "issues": to_json(&issues)}),
            Err(d) => json!({"path": path, "defer": d.reason}),
        };
        writeln!(out, "{v}").expect("stdout");
    }
}
