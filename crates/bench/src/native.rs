//! The native CPython baselines: the environment, driver processes whose
//! calls alternate with the sandbox's, and the baselines that run apart.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, ensure};
use mung_runtime_python_wasm::native::{BASELINE_REQUIREMENTS, NativePython};
use mung_runtime_python_wasm::{CacheDir, MungSdist};
use serde_json::{Value, json};

use crate::ctx::{Bench, Data};
use crate::measure::time_calls;
use crate::overheads::LOOP;
use crate::python;

/// The native CPython baseline environment: the venv, and the `PYTHONPATH`
/// that gives it the same packages tree the sandbox mounts.
pub(crate) struct NativeEnv {
    python: PathBuf,
    pythonpath: String,
    script: PathBuf,
}

impl NativeEnv {
    /// The venv and the mung sdist (made once per cache); `None`, with a
    /// note, if they cannot be had.
    pub(crate) fn prepare(b: &mut Bench, cache: &CacheDir, packages: &Path, script: &Path) -> Option<NativeEnv> {
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
    pub(crate) fn validation_server(
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
    pub(crate) fn server(&self, mode: &str, spec: &Path) -> Result<(NativeServer, Value)> {
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

/// A native driver process that answers one request per line.
pub(crate) struct NativeServer {
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
    pub(crate) fn request(&mut self, what: &str) -> Result<(f64, f64)> {
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
pub(crate) fn native(b: &mut Bench, env: &NativeEnv, data: &Data, extraction: Option<Value>, tmp: &Path, all: bool) {
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

/// Keeps the series, versions, errors and notes of a driver script's run
/// under `prefix`.
pub(crate) fn absorb(b: &mut Bench, prefix: &str, res: python::ScriptResult) {
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
