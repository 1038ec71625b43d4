//! Section 2, calls: `execute` round trips in a session and in fresh
//! sandboxes (with and without the snapshot), and 2b, the profile of one
//! round trip, timed in parts inside the guest.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::ensure;
use mung_runtime::Runtime;
use serde_json::{Value, json};

use crate::ctx::{Bench, expect_value, ten_files};
use crate::measure::{Series, count_faults, self_timed, time_calls};
use crate::report::{self, Target, Unit};
use crate::table::Def;

/// The trivial snippet.
pub(crate) const TRIVIAL: &str = "1+1";
/// The numpy snippet.
pub(crate) const NUMPY: &str = "import numpy; numpy.arange(10).sum()";
/// The numpy call plus a listing of a granted directory of 10 files.
const NUMPY_LISTDIR: &str = "import numpy, os; int(numpy.arange(10).sum()) + len(os.listdir('/data'))";

/// The gap between the calls of the spaced fresh rows: a client that calls
/// now and then rather than in a loop.
const SPACING: Duration = Duration::from_millis(5);

/// The section's title.
const SECTION: &str = "2 calls";
/// The profile's title.
const PROFILE: &str = "2b profile of one round trip (no targets)";

/// The rows of sections 2 and 2b.
pub(crate) fn rows() -> Vec<Def> {
    let mut rows = vec![
        Def::secs(SECTION, "exec_session", "execute('1+1') round trip, session").target(Target::value_at_most(30e-6)),
        Def::secs(SECTION, "exec_fresh", "execute('1+1'), fresh sandbox per call, back to back")
            .note("calls follow at once: each makes and drops its own instance (nothing is prepared under load)"),
        Def::secs(
            SECTION,
            "exec_fresh_spaced",
            format!("execute('1+1'), fresh sandbox per call, calls {} ms apart", SPACING.as_millis()),
        )
        .target(Target::value_at_most(0.3e-3))
        .note(
            "issue 17 §2; the gap is not timed; instances are prepared between calls (prepared_instances, default 2)",
        ),
        Def::secs(SECTION, "exec_fresh_spaced_unprepared", "  same, prepared_instances(0): no instance made ahead")
            .note("what the row above cost before prepared instances"),
        Def::new(
            SECTION,
            "exec_fresh_faults",
            "  minor page faults per fresh execute('1+1') (whole process)",
            Unit::Count,
        )
        .note("first writes to the snapshot's copy-on-write pages, and host allocations; issue 17 §2"),
        Def::new(SECTION, "exec_session_faults", "  minor page faults per execute('1+1') in a session", Unit::Count),
        Def::secs(SECTION, "numpy_fresh", "numpy call in a fresh sandbox (Runtime::execute)")
            .target(Target::value_at_most(0.005))
            .note(format!("snippet: {NUMPY}")),
        Def::secs(SECTION, "numpy_fresh_mounts", "numpy call + listdir in a fresh sandbox with 2 granted directories")
            .target(Target::value_at_most(0.005))
            .note(format!("snippet: {NUMPY_LISTDIR}")),
        Def::secs(SECTION, "numpy_session", "numpy call in a session (same snippet)"),
        Def::secs(
            SECTION,
            "exec_fresh_per_instance_seed",
            "execute('1+1'), fresh sandbox, hash seed per instance (plain interpreter)",
        )
        .vs("exec_fresh", "the same call from the snapshot (per-machine seed)", "per-instance / snapshot"),
        Def::secs(SECTION, "numpy_plain", "  same, plain interpreter: import numpy on first use").vs(
            "numpy_fresh",
            "the same call from the pre-initialised snapshot",
            "plain / snapshot",
        ),
        Def::secs(PROFILE, "profile.reset", "empty typed call (Session::reset), host→guest→host")
            .note("one call turn with a general (JSON header) frame and an op that does nothing"),
    ];
    for (k, what) in [
        ("execute_frame", "in guest: the prelude's whole execute of '1+1' (fast frame)"),
        ("host_call", "in guest: one _host.call round trip (guest → glue → guest)"),
        ("generic_turn", "in guest: a generic interpreter turn (parse, compile, linecache)"),
        ("forget_turn_sources", "in guest: drop turn sources from linecache"),
    ] {
        rows.push(Def::secs(PROFILE, &format!("profile.{k}"), what));
    }
    rows.push(Def::derived(
        PROFILE,
        "profile.host_boundary",
        "derived: host, component boundary, turn entry",
        Unit::Seconds,
        host_boundary,
    ));
    rows
}

/// Fresh `execute('1+1')` calls [`SPACING`] apart, each timed alone.
fn time_spaced(runs: usize, rt: &Runtime) -> anyhow::Result<Series> {
    let (g, warmup) = (json!({}), 5);
    let mut prepared = 0;
    let series = self_timed(runs, warmup, || {
        std::thread::sleep(SPACING);
        prepared += usize::from(rt.prepared_instances() > 0);
        let start = Instant::now();
        rt.execute(TRIVIAL, &g)?;
        Ok(start.elapsed().as_secs_f64())
    })?;
    Ok(series.with_note(format!("{prepared} of {} calls found a prepared instance", runs + warmup)))
}

/// What a session round trip spends outside Python: the round trip less
/// the prelude's execute and its two `_host.call` round trips (fetch the
/// frame, post the reply).
fn host_boundary(b: &Bench) -> Option<Series> {
    let (total, py) = (b.value("exec_session")?, b.value("profile.execute_frame")?);
    let hc = b.value("profile.host_call").unwrap_or(0.0);
    Some(Series::new(vec![total - py - 2.0 * hc], 1).with_note(format!(
        "= session round trip {} − Python execute {} − 2 × _host.call {}",
        report::format_time(total),
        report::format_time(py),
        report::format_time(hc)
    )))
}

/// Section 2: round trips in a session and in fresh sandboxes, and the
/// profile of one round trip.
pub(crate) fn calls(b: &mut Bench, rt: &Runtime) {
    let g = json!({});
    b.progress("execute: trivial round trip in a session");
    let mut session = rt.session();
    let r = (|| {
        expect_value(session.execute(TRIVIAL, &g)?.value, 2)?;
        time_calls(b.n(20), 500, 500, || {
            session.execute(TRIVIAL, &g)?;
            Ok(())
        })
    })();
    b.record("exec_session", r);
    let r = count_faults(b.n(5), 50, 200, || {
        session.execute(TRIVIAL, &g)?;
        Ok(())
    });
    b.record("exec_session_faults", r);

    b.progress("profile: the parts of one round trip");
    let r = time_calls(b.n(20), 200, 500, || Ok(session.reset()?));
    b.record("profile.reset", r);
    profile_in_guest(b, &mut session);
    let r = (|| {
        expect_value(session.execute(NUMPY, &g)?.value, 45)?;
        time_calls(b.n(20), 100, 200, || {
            session.execute(NUMPY, &g)?;
            Ok(())
        })
    })();
    b.record("numpy_session", r);
    drop(session);

    b.progress("execute: fresh sandbox per call");
    let r = (|| {
        expect_value(rt.execute(TRIVIAL, &g)?.value, 2)?;
        time_calls(b.n(30), 5, 1, || {
            rt.execute(TRIVIAL, &g)?;
            Ok(())
        })
    })();
    b.record("exec_fresh", r);
    let r = count_faults(b.n(5), 5, 50, || {
        rt.execute(TRIVIAL, &g)?;
        Ok(())
    });
    b.record("exec_fresh_faults", r);
    b.progress("execute: fresh sandbox per call, calls 5 ms apart");
    let r = time_spaced(b.n(30), rt);
    b.record("exec_fresh_spaced", r);
    let r = (|| time_spaced(b.n(30), &Runtime::builder().prepared_instances(0).build()?))();
    b.record("exec_fresh_spaced_unprepared", r);
    let r = (|| {
        expect_value(rt.execute(NUMPY, &g)?.value, 45)?;
        time_calls(b.n(30), 5, 1, || {
            rt.execute(NUMPY, &g)?;
            Ok(())
        })
    })();
    b.record("numpy_fresh", r);
    b.progress("execute: fresh sandbox per call, with two granted directories");
    let r = (|| {
        let (data, out) = (ten_files()?, tempfile::tempdir()?);
        let mounted = b
            .builder()
            .mount(mung_runtime::Mount::read_only(data.path(), "/data"))
            .mount(mung_runtime::Mount::read_write(out.path(), "/out"))
            .build()?;
        ensure!(mounted.info().preinitialized, "a runtime with mounts did not start from the snapshot");
        expect_value(mounted.execute(NUMPY_LISTDIR, &g)?.value, 55)?;
        time_calls(b.n(30), 5, 1, || {
            mounted.execute(NUMPY_LISTDIR, &g)?;
            Ok(())
        })
    })();
    b.record("numpy_fresh_mounts", r);

    if b.quick {
        b.skip(
            &["exec_fresh_per_instance_seed", "numpy_plain"],
            "--quick (the plain interpreter needs its own compile)",
        );
    } else {
        b.progress("the plain interpreter: a hash seed per instance (compiles it on first use)");
        match b.builder().hash_seed(mung_runtime::HashSeed::PerInstance).build() {
            Ok(plain) => {
                b.progress(format_args!("  plain runtime ready ({:?})", plain.info().cache_outcome));
                // The start cost of a per-instance secret: a fresh sandbox
                // that initialises CPython and loads the prelude, then 1+1.
                let r = (|| {
                    expect_value(plain.execute(TRIVIAL, &g)?.value, 2)?;
                    time_calls(b.runs, 0, 1, || {
                        plain.execute(TRIVIAL, &g)?;
                        Ok(())
                    })
                })();
                b.record("exec_fresh_per_instance_seed", r);
                let r = (|| {
                    expect_value(plain.execute(NUMPY, &g)?.value, 45)?;
                    time_calls(b.runs, 0, 1, || {
                        plain.execute(NUMPY, &g)?;
                        Ok(())
                    })
                })();
                b.record("numpy_plain", r);
            }
            Err(e) => {
                let why = format!("the plain runtime did not build: {e}");
                b.skip(&["exec_fresh_per_instance_seed", "numpy_plain"], &why);
            }
        }
    }
}

/// Times parts of one call inside the guest, each on its own (a part the
/// prelude no longer has is reported as missing, not as a failure of all).
const GUEST_PROFILE: &str = r#"
import time as _t, struct as _s, sys as _sys
def _per(fn, n=2000):
    fn()
    t = _t.perf_counter()
    for _ in range(n):
        fn()
    return (_t.perf_counter() - t) / n
def _parts():
    import _host, _mung_runtime as m
    out = {}
    def part(name, make):
        try:
            out[name] = _per(make())
        except Exception as e:
            out[name] = "%s: %s" % (type(e).__name__, e)
    frame = b"\x01" + _s.pack("<I", 3) + b"1+1" + b"{}"
    part("execute_frame", lambda: (lambda: m._execute_frame(frame)))
    part("host_call", lambda: (lambda: _host.call(b"\x02")))
    def generic():
        run = _sys.modules["_reactor"]._run_turn
        run = (run.__defaults__ or (run,))[-1]
        return lambda: run("None\n", "<turn bench>")
    part("generic_turn", generic)
    part("forget_turn_sources", lambda: m._forget_turn_sources)
    return out
_parts()
"#;

const PROFILE_PARTS: [&str; 4] = ["execute_frame", "host_call", "generic_turn", "forget_turn_sources"];

fn profile_in_guest(b: &mut Bench, session: &mut mung_runtime::Session) {
    let mut parts: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for _ in 0..b.n(5) {
        match session.execute(GUEST_PROFILE, &json!({})) {
            Ok(done) => {
                for k in PROFILE_PARTS {
                    match &done.value[k] {
                        Value::Number(n) => parts.entry(k).or_default().extend(n.as_f64()),
                        other => {
                            b.skipped
                                .entry(format!("profile.{k}"))
                                .or_insert_with(|| format!("not available in this prelude: {other}"));
                        }
                    }
                }
            }
            Err(e) => {
                b.progress(format_args!("  in-guest profile failed: {e}"));
                for k in PROFILE_PARTS {
                    b.skipped.insert(format!("profile.{k}"), format!("failed: {e}"));
                }
                return;
            }
        }
    }
    for (k, v) in parts {
        let s = Series::new(v, 2000)
            .with_note("timed inside the guest (time.perf_counter; each sample averages 2000 calls)");
        b.record(&format!("profile.{k}"), Ok(s));
    }
}
