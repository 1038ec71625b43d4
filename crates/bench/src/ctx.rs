//! What the sections of the main table share: the measurements so far
//! ([`Bench`]), the input files ([`Data`]) and small helpers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, ensure};
use mung_runtime::{Runtime, RuntimeBuilder};
use serde_json::{Value, json};

use crate::measure::Series;
use crate::report::Unit;

/// A temporary directory of 10 small files, to grant to the guest.
pub(crate) fn ten_files() -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for i in 0..10 {
        std::fs::write(dir.path().join(format!("{i}.txt")), "x")?;
    }
    Ok(dir)
}

/// Everything measured so far, by key; rows are assembled from it at the end.
pub(crate) struct Bench {
    pub(crate) runs: usize,
    pub(crate) quick: bool,
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) start: Instant,
    pub(crate) m: BTreeMap<String, Series>,
    pub(crate) skipped: BTreeMap<String, String>,
    pub(crate) notes: Vec<String>,
    pub(crate) versions: BTreeMap<String, String>,
    /// Sizes of the inputs, for the row descriptions.
    pub(crate) labels: BTreeMap<&'static str, String>,
}

impl Bench {
    /// Nothing measured yet; the clock starts now.
    pub(crate) fn new(runs: usize, quick: bool, cache_dir: Option<PathBuf>) -> Bench {
        Bench {
            runs,
            quick,
            cache_dir,
            start: Instant::now(),
            m: BTreeMap::new(),
            skipped: BTreeMap::new(),
            notes: Vec::new(),
            versions: BTreeMap::new(),
            labels: BTreeMap::new(),
        }
    }

    /// Prints a progress line with the time since the start to stderr.
    pub(crate) fn progress(&self, msg: impl std::fmt::Display) {
        eprintln!("[bench {:>6.1}s] {msg}", self.start.elapsed().as_secs_f64());
    }

    /// A runtime builder on the bench's cache directory.
    pub(crate) fn builder(&self) -> RuntimeBuilder {
        let b = Runtime::builder();
        match &self.cache_dir {
            Some(d) => b.cache_dir(d),
            None => b,
        }
    }

    /// Keeps a measured series under `key`, or why it failed.
    pub(crate) fn record(&mut self, key: &str, result: Result<Series>) {
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

    /// Marks `keys` as skipped for `why` (unless they already are).
    pub(crate) fn skip(&mut self, keys: &[&str], why: &str) {
        for k in keys {
            self.skipped.entry(k.to_string()).or_insert_with(|| why.to_string());
        }
    }

    /// The median of `key`, if measured and finite.
    pub(crate) fn value(&self, key: &str) -> Option<f64> {
        self.m.get(key).map(|s| s.value).filter(|v| v.is_finite())
    }

    /// `runs`, but at least `min`.
    pub(crate) fn n(&self, min: usize) -> usize {
        self.runs.max(min)
    }
}

/// The input files of the benchmark.
#[derive(Default)]
pub(crate) struct Data {
    pub(crate) dir: Option<PathBuf>,
    pub(crate) small: Option<PathBuf>,
    pub(crate) large: Option<PathBuf>,
    pub(crate) corpus: Vec<PathBuf>,
    pub(crate) page: Option<PathBuf>,
    pub(crate) page_xml: Option<PathBuf>,
}

impl Data {
    /// The inputs in `dir` (default: ../shared/data beside the repository).
    pub(crate) fn find(dir: Option<PathBuf>) -> Data {
        let repo = Some(crate::repo_root());
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

/// Fails unless a snippet returned `expected`.
pub(crate) fn expect_value(rt_value: Value, expected: i64) -> Result<()> {
    ensure!(rt_value == json!(expected), "the snippet returned {rt_value}, not {expected}");
    Ok(())
}
