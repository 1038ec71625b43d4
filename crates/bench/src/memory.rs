//! Section 5, memory and process: RSS per extra warm instance, whole runs
//! of the CLI, and a soak of mixed calls (time per call, RSS growth).

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use mung_runtime::RgbaImage;
use serde_json::json;

use crate::ctx::{Bench, Data, ten_files};
use crate::measure::{Series, proc_status, slope, smaps_rollup, time_calls};
use crate::report::{Target, Unit};
use crate::table::{Ctx, Def};

/// The section's title.
const SECTION: &str = "5 memory and process";

/// Sessions that each hold a warm instance, for the RSS slope.
const RSS_INSTANCES: usize = 8;

/// The section's rows.
pub(crate) fn rows(c: &Ctx) -> Vec<Def> {
    let small = c.small_name();
    vec![
        Def::new(
            SECTION,
            "rss_slope",
            format!("process RSS per extra warm instance (VmRSS slope, {RSS_INSTANCES} instances that ran validate)"),
            Unit::MiB,
        )
        .target(Target::value_at_most(64.0)),
        Def::secs(SECTION, "cli_validate", format!("CLI `mung-runtime validate {small}`, whole process, warm cache"))
            .target(Target::value_at_most(0.150)),
        Def::secs(
            SECTION,
            "cli_exec_mount",
            "CLI `mung-runtime exec --allow-dir D -c 'import numpy, os; len(os.listdir(D))'`, whole process, warm cache",
        )
        .target(Target::value_at_most(0.050)),
        Def::secs(
            SECTION,
            "soak_call",
            format!("soak: {SOAK_CALLS} calls mixing execute, validate and binarize on one Runtime, 2 threads, per call"),
        ),
        Def::new(SECTION, "soak_growth", format!("  RSS after call {SOAK_CALLS} / after call {SOAK_BASELINE_AT}"), Unit::Ratio)
            .target(Target::value_at_most(1.10)),
    ]
}

/// Section 5: RSS per warm instance, whole CLI processes, and the soak.
pub(crate) fn memory_and_process(b: &mut Bench, data: &Data, xml: Option<&str>) {
    match xml {
        Some(xml) => {
            b.progress(format_args!("memory: RSS of {RSS_INSTANCES} warm instances (sessions) that each ran validate"));
            let r = rss_slope(b, xml);
            b.record("rss_slope", r);
        }
        None => b.skip(&["rss_slope"], "no document to validate"),
    }
    match &data.small {
        Some(small) => {
            b.progress("CLI: whole process `mung-runtime validate small.xml`");
            let r = time_cli(b, &["validate".as_ref(), small.as_os_str(), "-q".as_ref()], &[0, 1]);
            b.record("cli_validate", r);
        }
        None => b.skip(&["cli_validate"], "no small document"),
    }
    b.progress("CLI: whole process `mung-runtime exec --allow-dir D -c …`");
    let r = (|| {
        let dir = ten_files()?;
        let d = dir.path().to_str().context("the temporary directory's path is not UTF-8")?;
        let code = format!("import numpy, os; len(os.listdir({d:?}))");
        time_cli(b, &["exec".as_ref(), "--allow-dir".as_ref(), d.as_ref(), "-c".as_ref(), code.as_ref()], &[0])
    })();
    b.record("cli_exec_mount", r);

    match xml {
        Some(xml) => {
            b.progress(format_args!("soak: {SOAK_CALLS} mixed calls (execute, validate, binarize) from 2 threads"));
            match soak(b, xml) {
                Ok((calls, growth)) => {
                    b.record("soak_call", Ok(calls));
                    b.record("soak_growth", Ok(growth));
                }
                Err(e) => {
                    b.record("soak_call", Err(e));
                    b.skip(&["soak_growth"], "the soak failed");
                }
            }
        }
        None => b.skip(&["soak_call", "soak_growth"], "no document to validate"),
    }
}

/// Calls of the soak row.
const SOAK_CALLS: usize = 10_000;
/// The soak's resident memory is compared after this many calls and at the
/// end, each time once the calls are over and the prepared instances made.
const SOAK_BASELINE_AT: usize = 1_000;

/// Many mixed calls on one `Runtime` from 2 threads. Returns the time per
/// call (samples: each block of 1,000 calls) and the RSS at the end over
/// the RSS after the first 1,000 calls. Any failed call fails the row.
fn soak(b: &Bench, xml: &str) -> Result<(Series, Series)> {
    use std::sync::Mutex;
    let rt = b.builder().max_instances(4).build()?;
    let pixels = (0..64 * 48).flat_map(|i| if i % 5 == 0 { [0, 0, 0, 255] } else { [250, 250, 250, 255] }).collect();
    let page = RgbaImage::new(64, 48, pixels)?;
    let vm_rss = || proc_status().get("VmRSS").copied().unwrap_or(0) as f64;
    let failed = Mutex::new(Vec::<String>::new());
    // Calls `from..to` from both threads; returns the time at the start and
    // after every 1,000th call.
    let run = |from: usize, to: usize| {
        let next = AtomicUsize::new(from);
        let marks = Mutex::new(vec![Instant::now()]);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= to {
                            break;
                        }
                        let result = match i % 3 {
                            0 => rt
                                .execute("import numpy as np\nint(np.arange(n).sum())", &json!({ "n": i % 100 }))
                                .map(drop)
                                .map_err(|e| e.to_string()),
                            1 => rt.validate(xml).map(drop).map_err(|e| e.to_string()),
                            _ => rt.otsu_binarize_region(page.clone()).map(drop).map_err(|e| e.to_string()),
                        };
                        if let Err(e) = result {
                            failed.lock().unwrap().push(format!("call {i}: {e}"));
                        }
                        if (i + 1).is_multiple_of(1000) {
                            marks.lock().unwrap().push(Instant::now());
                        }
                    }
                });
            }
        });
        let mut marks = marks.into_inner().unwrap();
        marks.sort();
        marks
    };
    // Memory is compared in the same state: calls over, and the instances
    // prepared for the next `execute` made (they come and go between calls).
    let settled_rss = || -> Result<f64> {
        let since = Instant::now();
        while rt.prepared_instances() < mung_runtime::DEFAULT_PREPARED_INSTANCES {
            ensure!(since.elapsed() < std::time::Duration::from_secs(30), "the prepared instances never came");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        Ok(vm_rss())
    };
    let first = run(0, SOAK_BASELINE_AT);
    let base = settled_rss()?;
    let rest = run(SOAK_BASELINE_AT, SOAK_CALLS);
    let end = settled_rss()?;
    let failed = failed.into_inner().unwrap();
    ensure!(
        failed.is_empty(),
        "{} of {SOAK_CALLS} calls failed, e.g. {:?}",
        failed.len(),
        &failed[..failed.len().min(3)]
    );
    let per_call: Vec<f64> =
        [first, rest].iter().flat_map(|m| m.windows(2).map(|w| (w[1] - w[0]).as_secs_f64() / 1000.0)).collect();

    let mut growth = Series::new(vec![end / base], 1);
    growth.value = end / base;
    let calls =
        Series::new(per_call, 1000).with_note("samples: each block of 1,000 calls (2 threads, wall time / 1,000)");
    Ok((
        calls,
        growth.with_note(format!(
            "VmRSS {:.0} MiB after call {SOAK_BASELINE_AT}, {:.0} MiB after call {SOAK_CALLS}; no call failed",
            base / 1024.0,
            end / 1024.0
        )),
    ))
}

/// Times whole runs of the `mung-runtime` CLI with `args` (plus the cache
/// directory), each of which must exit with one of `ok`.
fn time_cli(b: &Bench, args: &[&std::ffi::OsStr], ok: &[i32]) -> Result<Series> {
    let exe = crate::cli_exe()?;
    let mut args: Vec<&std::ffi::OsStr> = args.to_vec();
    if let Some(d) = &b.cache_dir {
        args.extend(["--cache-dir".as_ref(), d.as_os_str()]);
    }
    time_calls(b.n(10), 2, 1, || {
        let status =
            Command::new(&exe).args(&args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status()?;
        ensure!(status.code().is_some_and(|c| ok.contains(&c)), "mung-runtime {args:?} exited with {status}");
        Ok(())
    })
}

fn rss_slope(b: &Bench, xml: &str) -> Result<Series> {
    let rt = b.builder().max_instances(RSS_INSTANCES as u32 + 2).build()?;
    let code = "import mstudio.validation as _v\nlen(_v.validate(xml))";
    let globals = json!({ "xml": xml });
    let mib = |kb: u64| kb as f64 / 1024.0;
    let read = || {
        let st = proc_status();
        let sm = smaps_rollup();
        let g = |m: &BTreeMap<String, u64>, k: &str| mib(m.get(k).copied().unwrap_or(0));
        [g(&st, "VmRSS"), g(&st, "RssAnon"), g(&st, "RssFile"), g(&sm, "Pss")]
    };
    let mut sessions = Vec::new();
    let before = read();
    let mut xs = Vec::new();
    let mut ys: [Vec<f64>; 4] = Default::default();
    for k in 1..=RSS_INSTANCES {
        let mut s = rt.session();
        s.execute(code, &globals)?;
        sessions.push(s);
        let r = read();
        xs.push(k as f64);
        for (i, v) in r.iter().enumerate() {
            ys[i].push(*v);
        }
    }
    let slopes: Vec<f64> = ys.iter().map(|y| slope(&xs, y)).collect();
    let deltas: Vec<f64> = std::iter::once(ys[0][0] - before[0]).chain(ys[0].windows(2).map(|w| w[1] - w[0])).collect();
    let mut s = Series::new(deltas, 1);
    s.value = slopes[0];
    Ok(s.with_note(format!(
        "least-squares slope over 1..{RSS_INSTANCES} instances; samples = VmRSS step per instance; first instance {:+.1} MiB; \
         slopes: RssAnon {:.1}, RssFile {:.1}, Pss {:.1} MiB/instance (VmRSS counts each instance's copy-on-write \
         mapping of the snapshot's memory image separately; Pss shares them)",
        ys[0][0] - before[0],
        slopes[1],
        slopes[2],
        slopes[3]
    )))
}
