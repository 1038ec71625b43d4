//! The browser row of `--serve`: `otsuBinarizeRegion` on a 500×500 region,
//! round trip as a web page sees it, through the TypeScript client (raw RGBA
//! both ways) beside the same call through PNG. The measurement is the
//! client package's own script (`clients/typescript/bench/browser-roundtrip.js`:
//! headless Chromium, a page on a second loopback origin, bounded in
//! requests and seconds); this runs it and reads its JSON.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// What the client package's script measured, or why it could not run.
pub(crate) enum Outcome {
    Measured(Value),
    Skipped(String),
}

/// Builds the client (`npm run build`) and runs its round-trip script
/// against `cli`.
pub(crate) fn browser_round_trip(
    repo: &Path,
    cli: &Path,
    data: Option<&Path>,
    requests: usize,
    max_seconds: u64,
) -> Result<Outcome> {
    let package = repo.join("clients/typescript");
    if Command::new("node").arg("--version").stdout(Stdio::null()).status().is_err() {
        return Ok(Outcome::Skipped("no `node` on the PATH".into()));
    }
    if !package.join("node_modules/typescript").is_dir() {
        return Ok(Outcome::Skipped("the client's tools are not installed: run `npm ci` in clients/typescript".into()));
    }
    let build = Command::new("npm").args(["run", "--silent", "build"]).current_dir(&package).status()?;
    if !build.success() {
        bail!("`npm run build` in {} failed: {build}", package.display());
    }
    let mut cmd = Command::new("node");
    cmd.arg("bench/browser-roundtrip.js")
        .args(["--requests", &requests.to_string(), "--max-seconds", &max_seconds.to_string()])
        .arg("--binary")
        .arg(cli)
        .current_dir(&package)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(dir) = data {
        cmd.env("MUNG_RUNTIME_DATA", dir);
    }
    let out = cmd.output().context("running clients/typescript/bench/browser-roundtrip.js")?;
    if !out.status.success() {
        bail!("clients/typescript/bench/browser-roundtrip.js failed: {}", out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    let json: Value = serde_json::from_str(last).with_context(|| format!("not the script's JSON: {last:?}"))?;
    Ok(Outcome::Measured(json))
}
