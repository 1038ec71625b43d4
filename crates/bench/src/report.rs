//! The rows of the benchmark table, and how they are printed.

use serde_json::{Value, json};

use super::measure::Series;
use crate::outln;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Seconds,
    MiB,
    Ratio,
    /// A number of events per call (page faults).
    Count,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::MiB => "MiB",
            Unit::Ratio => "x",
            Unit::Count => "n",
        }
    }

    pub(crate) fn format(self, v: f64) -> String {
        if !v.is_finite() {
            return "—".into();
        }
        match self {
            Unit::Seconds => format_time(v),
            Unit::MiB => format!("{v:.1} MiB"),
            Unit::Ratio => format!("{v:.2}×"),
            Unit::Count => format!("{v:.0}"),
        }
    }
}

/// A note on one line: a multi-line message (e.g. a traceback) keeps its
/// first and last lines.
fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let t = match lines.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [first, .., last] => format!("{first} … {last}"),
    };
    if t.chars().count() > 300 { t.chars().take(299).collect::<String>() + "…" } else { t }
}

pub(crate) fn format_time(s: f64) -> String {
    let a = s.abs();
    if a < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else if a < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// What a row must reach; on the row's value, or on its ratio.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target {
    pub on_ratio: bool,
    pub at_most: bool,
    pub limit: f64,
}

impl Target {
    pub(crate) fn value_at_most(limit: f64) -> Target {
        Target { on_ratio: false, at_most: true, limit }
    }
    pub(crate) fn value_at_least(limit: f64) -> Target {
        Target { on_ratio: false, at_most: false, limit }
    }
    pub(crate) fn ratio_at_most(limit: f64) -> Target {
        Target { on_ratio: true, at_most: true, limit }
    }

    fn text(&self, unit: Unit) -> String {
        let op = if self.at_most { "≤" } else { "≥" };
        if self.on_ratio {
            format!("ratio {op} {:.2}×", self.limit)
        } else {
            format!("{op} {}", unit.format(self.limit))
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub section: &'static str,
    pub key: String,
    pub what: String,
    pub unit: Unit,
    pub series: Option<Series>,
    /// The baseline's description and value (same unit).
    pub baseline: Option<(String, f64)>,
    pub ratio: Option<f64>,
    /// What the ratio divides, e.g. "sandbox / native".
    pub ratio_of: Option<String>,
    pub target: Option<Target>,
    pub notes: Vec<String>,
    /// Why the row has no value.
    pub skipped: Option<String>,
}

impl Row {
    pub(crate) fn new(section: &'static str, key: &str, what: impl Into<String>, unit: Unit) -> Row {
        Row {
            section,
            key: key.into(),
            what: what.into(),
            unit,
            series: None,
            baseline: None,
            ratio: None,
            ratio_of: None,
            target: None,
            notes: Vec::new(),
            skipped: None,
        }
    }

    pub(crate) fn value(&self) -> Option<f64> {
        self.series.as_ref().map(|s| s.value).filter(|v| v.is_finite())
    }

    pub(crate) fn met(&self) -> Option<bool> {
        let t = self.target?;
        let v = if t.on_ratio { self.ratio? } else { self.value()? };
        Some(if t.at_most { v <= t.limit } else { v >= t.limit })
    }
}

pub(crate) struct Report {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
    pub machine: Value,
}

impl Report {
    pub(crate) fn print_table(&self) {
        outln!("{}", self.title);
        for h in &self.header {
            outln!("  {h}");
        }
        let w_what = self.rows.iter().map(|r| r.what.chars().count()).max().unwrap_or(10).clamp(10, 58);
        outln!();
        let head = ["#", "what", "median", "runs", "baseline", "ratio", "target"];
        outln!(
            "{:>3}  {:<w_what$}  {:>11}  {:>8}  {:>11}  {:>7}  {:<15}  met",
            head[0],
            head[1],
            head[2],
            head[3],
            head[4],
            head[5],
            head[6]
        );
        let mut section = "";
        for (i, r) in self.rows.iter().enumerate() {
            if r.section != section {
                section = r.section;
                outln!("── {section} {}", "─".repeat(w_what + 70 - section.chars().count().min(w_what + 70)));
            }
            let median = match (&r.series, &r.skipped) {
                (Some(s), _) => r.unit.format(s.value),
                (None, Some(_)) => "skipped".into(),
                (None, None) => "—".into(),
            };
            let runs = match &r.series {
                Some(s) if s.per_sample > 1 => format!("{}×{}", s.samples.len(), s.per_sample),
                Some(s) => s.samples.len().to_string(),
                None => "—".into(),
            };
            let baseline = r.baseline.as_ref().map_or("—".to_string(), |(_, v)| r.unit.format(*v));
            let ratio = r.ratio.map_or("—".to_string(), |x| format!("{x:.2}×"));
            let target = r.target.map_or("—".to_string(), |t| t.text(r.unit));
            let met = match r.met() {
                Some(true) => "met",
                Some(false) => "UNMET",
                None if r.target.is_some() => "n/a",
                None => "",
            };
            let what: String = r.what.chars().take(w_what).collect();
            outln!(
                "{:>3}  {:<w_what$}  {:>11}  {:>8}  {:>11}  {:>7}  {:<15}  {}",
                i + 1,
                what,
                median,
                runs,
                baseline,
                ratio,
                target,
                met
            );
            let mut notes = Vec::new();
            if let Some((b, _)) = &r.baseline {
                notes.push(format!("baseline: {b}"));
            }
            if let Some(of) = &r.ratio_of {
                notes.push(format!("ratio = {of}"));
            }
            if let Some(n) = r.series.as_ref().and_then(|s| s.note.clone()) {
                notes.push(n);
            }
            notes.extend(r.notes.iter().cloned());
            if let Some(why) = &r.skipped {
                notes.push(format!("skipped: {why}"));
            }
            for n in notes {
                outln!("{:>3}    ↳ {}", "", one_line(&n));
            }
        }
        let with_target: Vec<&Row> = self.rows.iter().filter(|r| r.target.is_some()).collect();
        let met = with_target.iter().filter(|r| r.met() == Some(true)).count();
        let unmet: Vec<String> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.met() == Some(false))
            .map(|(i, r)| format!("#{} {}", i + 1, r.what))
            .collect();
        outln!();
        outln!(
            "targets: {met} met, {} unmet, {} not measured (of {})",
            unmet.len(),
            with_target.len() - met - unmet.len(),
            with_target.len()
        );
        for u in &unmet {
            outln!("  UNMET {u}");
        }
        if !self.notes.is_empty() {
            outln!();
            outln!("notes:");
            for n in &self.notes {
                outln!("  - {n}");
            }
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "section": r.section,
                    "key": r.key,
                    "what": r.what,
                    "median": r.value(),
                    "unit": r.unit.name(),
                    "runs": r.series.as_ref().map(|s| s.samples.len()),
                    "calls_per_run": r.series.as_ref().map(|s| s.per_sample),
                    "samples": r.series.as_ref().map(|s| s.samples.clone()),
                    "cpu_median": r.series.as_ref().and_then(Series::cpu_value),
                    "baseline": r.baseline.as_ref().map(|(what, v)| json!({"what": what, "value": v})),
                    "ratio": r.ratio,
                    "ratio_of": r.ratio_of,
                    "target": r.target.map(|t| json!({
                        "on": if t.on_ratio { "ratio" } else { "median" },
                        "cmp": if t.at_most { "<=" } else { ">=" },
                        "limit": t.limit,
                        "text": t.text(r.unit),
                    })),
                    "met": r.met(),
                    "notes": r.series.as_ref().and_then(|s| s.note.clone()).into_iter().chain(r.notes.iter().cloned()).collect::<Vec<_>>(),
                    "skipped": r.skipped,
                })
            })
            .collect();
        json!({
            "title": self.title,
            "header": self.header,
            "machine": self.machine,
            "rows": rows,
            "notes": self.notes,
        })
    }
}
