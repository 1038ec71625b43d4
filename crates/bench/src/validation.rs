//! Section 3, validation: one document in a fresh sandbox and a warm
//! instance, and the corpus with 1 and 2 jobs, against native CPython
//! running the same mstudio code (rounds interleaved).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Result;
use mung_runtime::{Isolation, Runtime, Validator};

use crate::ctx::{Bench, Data};
use crate::measure::{self, Series, process_cpu, time_calls};
use crate::native::{NativeEnv, NativeServer};
use crate::report::Target;
use crate::table::{Ctx, Def};

/// The section's title.
const SECTION: &str = "3 validation";

/// The section's rows.
pub(crate) fn rows(c: &Ctx) -> Vec<Def> {
    let t = c.texts;
    let small = c.small_name();
    let native = "native CPython, same mstudio code, 1 process";
    let corpus = format!("{} documents, {:.0} MB", t.corpus_docs, t.corpus_bytes as f64 / 1e6);
    vec![
        Def::secs(
            SECTION,
            "validate_small_fresh",
            format!("validate {small} ({} nodes), fresh sandbox", t.small_nodes),
        )
        .vs("validate_small_warm", "the same in a warm instance", "fresh / warm")
        .target(Target::ratio_at_most(1.3)),
        Def::secs(SECTION, "validate_small_warm", format!("validate {small}, warm instance")).vs(
            "native.validate_small",
            native,
            "sandbox / native",
        ),
        Def::secs(
            SECTION,
            "validate_small_reference",
            format!("validate {small}, warm instance, reference validator (mstudio.validation in the interpreter)"),
        )
        .ours_over("validate_small_warm", "compiled validator / reference"),
        Def::secs(
            SECTION,
            "validate_large_fresh",
            format!("validate W-01_N-10 ({} nodes), fresh sandbox", t.large_nodes),
        ),
        Def::secs(SECTION, "validate_large_warm", "validate W-01_N-10, warm instance").vs(
            "native.validate_large",
            native,
            "sandbox / native",
        ),
        Def::secs(SECTION, "corpus_1", format!("corpus ({corpus}), 1 job, wall"))
            .vs("native.validate_corpus", native, "sandbox (1 job) / native")
            .target(Target::ratio_at_most(1.3)),
        Def::secs(SECTION, "corpus_2", format!("corpus ({corpus}), 2 jobs, wall")).target(Target::value_at_most(6.0)),
        Def::quotient(SECTION, "corpus_speedup", "2-job throughput / 1-job throughput", "corpus_1", "corpus_2")
            .target(Target::value_at_least(1.8)),
    ]
}

/// The documents the section read, and their sizes for the row names.
#[derive(Default)]
pub(crate) struct Texts {
    /// The small document.
    pub(crate) small: Option<String>,
    /// The large document.
    pub(crate) large: Option<String>,
    small_nodes: usize,
    large_nodes: usize,
    corpus_docs: usize,
    corpus_bytes: usize,
}

fn read(p: &Option<PathBuf>) -> Option<String> {
    p.as_ref().and_then(|p| std::fs::read_to_string(p).ok())
}

/// Section 3: fresh and warm validation of the small and the large
/// document, and of the corpus with 1 and 2 jobs, interleaved with native
/// CPython when its process is there.
pub(crate) fn validation(b: &mut Bench, rt: &Runtime, data: &Data, native: Option<&NativeEnv>) -> Texts {
    let mut t = Texts { small: read(&data.small), large: read(&data.large), ..Texts::default() };
    t.small_nodes = t.small.as_deref().map_or(0, |x| x.matches("<Node>").count());
    t.large_nodes = t.large.as_deref().map_or(0, |x| x.matches("<Node>").count());
    // One native process answers validation requests between the sandbox's
    // calls, so that both sides see the same machine (rounds alternate).
    let tmp = tempfile::tempdir();
    let mut server = match (native, &data.small, &tmp) {
        (Some(env), Some(small), Ok(dir)) => {
            match env.validation_server(small, data.large.as_deref(), &data.corpus, dir.path()) {
                Ok(s) => Some(s),
                Err(e) => {
                    b.notes.push(format!(
                        "native validation rounds could not be interleaved ({e:#}); measured later instead"
                    ));
                    None
                }
            }
        }
        _ => None,
    };
    match &t.small {
        Some(small) => {
            b.progress("validate: small document");
            let r = (|| {
                let fresh = b.builder().isolation(Isolation::Fresh).build()?;
                let issues = fresh.validate(small)?;
                b.progress(format_args!("  {} issues", issues.len()));
                time_calls(b.n(20), 2, 1, || Ok(fresh.validate(small).map(drop)?))
            })();
            b.record("validate_small_fresh", r);
            interleaved_doc(b, rt, &mut server, small, "small", b.n(20), 3);
            let r = (|| {
                let reference = b.builder().validator(Validator::Reference).build()?;
                reference.validate(small)?;
                time_calls(b.n(20), 2, 1, || Ok(reference.validate(small).map(drop)?))
            })();
            b.record("validate_small_reference", r);
        }
        None => b.skip(
            &["validate_small_fresh", "validate_small_warm", "validate_small_reference"],
            "no small document (tests/fixtures/small.xml or data)",
        ),
    }
    match &t.large {
        Some(large) => {
            b.progress("validate: large document");
            let r = (|| {
                let fresh = b.builder().isolation(Isolation::Fresh).build()?;
                time_calls(b.n(5), 1, 1, || Ok(fresh.validate(large).map(drop)?))
            })();
            b.record("validate_large_fresh", r);
            interleaved_doc(b, rt, &mut server, large, "large", b.n(5), 2);
        }
        None => b.skip(&["validate_large_fresh", "validate_large_warm"], "no data folder (--data)"),
    }

    let corpus: Vec<String> = data.corpus.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect();
    t.corpus_docs = corpus.len();
    t.corpus_bytes = corpus.iter().map(String::len).sum();
    if corpus.is_empty() {
        b.skip(&["corpus_1", "corpus_2"], "no corpus (data/muscima-pp-v2.0/annotations)");
        return t;
    }
    b.progress(format_args!(
        "validate: the {}-document corpus, rounds of 1 job, 2 jobs and native CPython alternating, {} rounds",
        corpus.len(),
        b.runs
    ));
    let mut native_samples = (Vec::new(), Vec::new());
    let r = (|| -> Result<Runtime> {
        let c = b.builder().max_instances(3).build()?;
        c.warm_up(2)?;
        Ok(c)
    })();
    match r {
        Ok(crt) => {
            // 1 and 2 jobs alternate, so that a busy machine slows both alike.
            let mut samples = [Vec::new(), Vec::new()];
            let mut cpu = [Vec::new(), Vec::new()];
            let mut failed = 0;
            for _ in 0..b.runs {
                for (i, jobs) in [1usize, 2].into_iter().enumerate() {
                    let cpu_start = process_cpu();
                    let start = Instant::now();
                    failed += validate_all(&crt, &corpus, jobs);
                    samples[i].push(start.elapsed().as_secs_f64());
                    cpu[i].push(process_cpu() - cpu_start);
                }
                if let Some(srv) = &mut server {
                    match srv.request("corpus") {
                        Ok((wall, cpu)) => {
                            native_samples.0.push(wall);
                            native_samples.1.push(cpu);
                        }
                        Err(e) => {
                            b.notes.push(format!("native corpus rounds stopped: {e:#}"));
                            server = None;
                            native_samples = (Vec::new(), Vec::new());
                        }
                    }
                }
            }
            if server.is_some() && !native_samples.0.is_empty() {
                let mut s = Series::new(std::mem::take(&mut native_samples.0), 1)
                    .with_note("one native process, rounds alternating with the sandbox's");
                s.cpu = std::mem::take(&mut native_samples.1);
                b.record("native.validate_corpus", Ok(s));
            }
            drop(server.take());
            for (i, jobs) in [1usize, 2].into_iter().enumerate() {
                let mut s = Series::new(std::mem::take(&mut samples[i]), 1).with_note(
                    "threads over one Runtime (like the CLI), warm instances; runs alternate with the other job count",
                );
                s.cpu = std::mem::take(&mut cpu[i]);
                if failed > 0 {
                    s.note = Some(format!("{failed} document validations failed"));
                }
                b.record(&format!("corpus_{jobs}"), Ok(s));
            }
        }
        Err(e) => b.skip(&["corpus_1", "corpus_2"], &format!("failed: {e:#}")),
    }
    t
}

/// A warm-instance validation row: sandbox calls alternate with native
/// ones (same document, one native process) when that process is there.
fn interleaved_doc(
    b: &mut Bench,
    rt: &Runtime,
    server: &mut Option<NativeServer>,
    text: &str,
    which: &str,
    rounds: usize,
    warmup: usize,
) {
    let key = format!("validate_{which}_warm");
    let native_key = format!("native.validate_{which}");
    let mut ours = (Vec::new(), Vec::new());
    let mut theirs = (Vec::new(), Vec::new());
    let result = (|| -> Result<()> {
        for _ in 0..warmup {
            rt.validate(text)?;
            if let Some(srv) = server.as_mut() {
                srv.request(which)?;
            }
        }
        for _ in 0..rounds {
            let cpu_start = measure::thread_cpu();
            let start = Instant::now();
            rt.validate(text)?;
            ours.0.push(start.elapsed().as_secs_f64());
            ours.1.push(measure::thread_cpu() - cpu_start);
            if let Some(srv) = server.as_mut() {
                let (wall, cpu) = srv.request(which)?;
                theirs.0.push(wall);
                theirs.1.push(cpu);
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            let mut s = Series::new(ours.0, 1);
            s.cpu = ours.1;
            if !theirs.0.is_empty() {
                s.note = Some("calls alternate with the native baseline's".into());
                let mut n =
                    Series::new(theirs.0, 1).with_note("one native process, calls alternating with the sandbox's");
                n.cpu = theirs.1;
                b.record(&native_key, Ok(n));
            }
            b.record(&key, Ok(s));
        }
        Err(e) => {
            if server.is_some() {
                b.notes.push(format!("native validation rounds stopped: {e:#}"));
                *server = None;
            }
            b.record(&key, Err(e));
        }
    }
}

/// Validates every document with `jobs` threads; returns how many failed.
fn validate_all(rt: &Runtime, docs: &[String], jobs: usize) -> usize {
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                while let Some(doc) = docs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if rt.validate(doc).is_err() {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    failed.into_inner()
}
