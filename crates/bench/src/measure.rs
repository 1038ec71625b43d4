//! Timing helpers, and what the machine was doing while we measured.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;

/// The measurements of one quantity.
#[derive(Clone, Debug)]
pub(crate) struct Series {
    /// One value per sample (seconds for times).
    pub samples: Vec<f64>,
    /// How many calls each sample averages (1 = one call per sample).
    pub per_sample: usize,
    /// The value reported: the median of the samples, unless set otherwise
    /// (e.g. a regression slope).
    pub value: f64,
    /// CPU seconds per call of each sample, when measured (less sensitive
    /// than wall time to other processes on a busy machine).
    pub cpu: Vec<f64>,
    pub note: Option<String>,
}

impl Series {
    pub(crate) fn new(samples: Vec<f64>, per_sample: usize) -> Series {
        let value = median(&samples);
        Series { samples, per_sample, value, cpu: Vec::new(), note: None }
    }

    /// The mean CPU time per call, if measured over enough time to be
    /// meaningful: the kernel's CPU accounting may tick as coarsely as 4 ms,
    /// so a mean over at least 0.2 s of CPU is kept and a median is not.
    pub(crate) fn cpu_value(&self) -> Option<f64> {
        let total: f64 = self.cpu.iter().sum::<f64>() * self.per_sample as f64;
        (total >= 0.2).then(|| self.cpu.iter().sum::<f64>() / self.cpu.len() as f64)
    }

    pub(crate) fn with_note(mut self, note: impl Into<String>) -> Series {
        self.note = Some(note.into());
        self
    }
}

pub(crate) fn median(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// `warmup` untimed calls, then `runs` samples of `per_sample` calls each;
/// every sample is the wall time of its calls divided by `per_sample` (and
/// the thread's CPU time likewise, in [`Series::cpu`]).
pub(crate) fn time_calls(
    runs: usize,
    warmup: usize,
    per_sample: usize,
    f: impl FnMut() -> Result<()>,
) -> Result<Series> {
    let origin = Instant::now();
    let wall = || origin.elapsed().as_secs_f64();
    let [samples, cpu] = sample(runs, warmup, per_sample, [&wall, &thread_cpu], f)?;
    let mut s = Series::new(samples, per_sample);
    s.cpu = cpu;
    Ok(s)
}

/// `warmup` untimed calls, then `runs` samples of `per_sample` calls each;
/// every sample is the minor page faults of the process per call.
pub(crate) fn count_faults(
    runs: usize,
    warmup: usize,
    per_sample: usize,
    f: impl FnMut() -> Result<()>,
) -> Result<Series> {
    let faults = || process_minor_faults() as f64;
    let [samples] = sample(runs, warmup, per_sample, [&faults], f)?;
    Ok(Series::new(samples, per_sample))
}

/// `warmup` untimed calls of `f`, then `runs` samples of `per_sample` calls
/// each; returns, for each meter, how far it advanced per call in each sample.
fn sample<const N: usize>(
    runs: usize,
    warmup: usize,
    per_sample: usize,
    meters: [&dyn Fn() -> f64; N],
    mut f: impl FnMut() -> Result<()>,
) -> Result<[Vec<f64>; N]> {
    for _ in 0..warmup {
        f()?;
    }
    let mut out: [Vec<f64>; N] = std::array::from_fn(|_| Vec::with_capacity(runs));
    for _ in 0..runs {
        let start = meters.map(|m| m());
        for _ in 0..per_sample {
            f()?;
        }
        for ((series, meter), start) in out.iter_mut().zip(meters).zip(start) {
            series.push((meter() - start) / per_sample as f64);
        }
    }
    Ok(out)
}

/// CPU time of the calling thread in seconds (the guest runs on it).
pub(crate) fn thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

/// Minor page faults of the whole process so far (`minflt` of
/// `/proc/self/stat`): faults served without I/O, such as the first write
/// to a copy-on-write page of an instance's memory.
pub(crate) fn process_minor_faults() -> u64 {
    let own = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    own.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(7).and_then(|v| v.parse().ok())).unwrap_or(0)
}

/// CPU time of the whole process, finished threads included, in seconds
/// (USER_HZ resolution, 10 ms).
pub(crate) fn process_cpu() -> f64 {
    let own = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    own.rsplit_once(')')
        .map(|(_, rest)| {
            let f: Vec<&str> = rest.split_whitespace().collect();
            f.get(11..13).map_or(0, |s| s.iter().map(|x| x.parse::<u64>().unwrap_or(0)).sum())
        })
        .map_or(0.0, |ticks| ticks as f64 / 100.0)
}

/// Like [`time_calls`], for calls that time themselves (the closure returns
/// the duration to count, in seconds).
pub(crate) fn self_timed(runs: usize, warmup: usize, mut f: impl FnMut() -> Result<f64>) -> Result<Series> {
    for _ in 0..warmup {
        f()?;
    }
    let samples = (0..runs).map(|_| f()).collect::<Result<Vec<_>>>()?;
    Ok(Series::new(samples, 1))
}

/// Least-squares slope of `ys` over `xs`.
pub(crate) fn slope(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let num: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let den: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    num / den
}

/// Fields of `/proc/self/status` in kB (VmRSS, VmHWM, RssAnon, ...).
pub(crate) fn proc_status() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    kb_fields(&text)
}

/// `Pss` etc. of `/proc/self/smaps_rollup` in kB.
pub(crate) fn smaps_rollup() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    kb_fields(&text)
}

fn kb_fields(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            let v = v.trim().strip_suffix("kB")?.trim().parse().ok()?;
            Some((k.trim().to_string(), v))
        })
        .collect()
}

/// A snapshot of the machine's CPU counters, to tell afterwards how busy it
/// was with work other than ours.
#[derive(Clone, Debug)]
pub(crate) struct CpuSnapshot {
    at: Instant,
    /// Busy jiffies of all CPUs (everything but idle and iowait).
    busy: u64,
    /// Jiffies of this process and its waited-for children.
    ours: u64,
    pub loadavg: String,
}

impl CpuSnapshot {
    pub(crate) fn take() -> CpuSnapshot {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let busy = stat
            .lines()
            .find(|l| l.starts_with("cpu "))
            .map(|l| {
                let v: Vec<u64> = l.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
                // user nice system idle iowait irq softirq steal ...
                v.iter().enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, x)| x).sum()
            })
            .unwrap_or(0);
        let own = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the command name: utime stime cutime cstime are 14-17 (1-based).
        let ours = own
            .rsplit_once(')')
            .map(|(_, rest)| {
                // `rest` starts at field 3 (state), so utime (field 14) is at index 11.
                let f: Vec<&str> = rest.split_whitespace().collect();
                f.get(11..15).map_or(0, |s| s.iter().map(|x| x.parse::<u64>().unwrap_or(0)).sum())
            })
            .unwrap_or(0);
        let loadavg = std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        CpuSnapshot { at: Instant::now(), busy, ours, loadavg }
    }

    /// The share of the machine's CPU time, between `self` and `later`, used
    /// by other processes (0.0 – 1.0).
    pub(crate) fn others_share(&self, later: &CpuSnapshot, cores: usize) -> f64 {
        let ticks_per_s = 100.0; // USER_HZ on Linux
        let capacity = later.at.duration_since(self.at).as_secs_f64() * ticks_per_s * cores as f64;
        let others = later.busy.saturating_sub(self.busy).saturating_sub(later.ours.saturating_sub(self.ours));
        if capacity <= 0.0 { 0.0 } else { (others as f64 / capacity).clamp(0.0, 1.0) }
    }
}
