//! Section 6, engine overheads: a CPU-bound pure-Python loop on the
//! default engine, without epoch interruption and with fuel metering.

use std::time::Instant;

use mung_runtime::Runtime;
use serde_json::json;

use crate::ctx::{Bench, expect_value};
use crate::measure::Series;
use crate::table::Def;

/// The section's title.
const SECTION: &str = "6 engine overheads (CPU-bound loop: 1M iterations of s += i, in a session)";

/// The CPU-bound loop (the native baseline runs the same code).
pub(crate) const LOOP: &str = "s = 0\nfor i in range(1000000):\n    s += i\ns";
/// What the loop returns.
const LOOP_RESULT: i64 = 499_999_500_000;

/// The section's rows.
pub(crate) fn rows() -> Vec<Def> {
    vec![
        Def::secs(SECTION, "loop_default", "default engine (epoch interruption on, fuel off)").vs(
            "native.loop",
            "native CPython, same loop",
            "sandbox / native",
        ),
        Def::secs(SECTION, "loop_noepoch", "epoch interruption off"),
        Def::secs(SECTION, "loop_fuel", "fuel metering on (epoch on)"),
        Def::quotient(
            SECTION,
            "epoch_overhead",
            "epoch interruption overhead (on / off)",
            "loop_default",
            "loop_noepoch",
        )
        .note("default stays ON: it is what stops a busy guest at its deadline"),
        Def::quotient(SECTION, "fuel_overhead", "fuel overhead (fuel / default)", "loop_fuel", "loop_default")
            .note("default stays OFF (opt-in with --fuel / RuntimeBuilder::fuel; needs its own compile)"),
    ]
}

/// Runs the CPU-bound loop on every engine in turn, `runs` rounds, so that
/// a busy machine slows all of them alike (interleaved, not one after the other).
fn loop_interleaved(b: &mut Bench, engines: Vec<(&'static str, Runtime)>) {
    let g = json!({});
    let mut sessions = Vec::new();
    for (key, rt) in &engines {
        let mut s = rt.session();
        match s.execute(LOOP, &g).map_err(anyhow::Error::from).and_then(|e| expect_value(e.value, LOOP_RESULT)) {
            Ok(()) => sessions.push((*key, s, Vec::new())),
            Err(e) => b.record(key, Err(e)),
        }
    }
    for _ in 0..b.n(10) {
        for (key, s, samples) in sessions.iter_mut() {
            let start = Instant::now();
            match s.execute(LOOP, &g) {
                Ok(_) => samples.push(start.elapsed().as_secs_f64()),
                Err(e) => {
                    b.skipped.insert(key.to_string(), format!("failed: {e}"));
                }
            }
        }
    }
    for (key, _, samples) in sessions {
        if !b.skipped.contains_key(key) {
            let note = "rounds interleaved with the other engines of this section";
            b.record(key, Ok(Series::new(samples, 1).with_note(note)));
        }
    }
}

/// Section 6: the loop on the default engine, and (without --quick) without
/// epoch interruption and with fuel.
pub(crate) fn overheads(b: &mut Bench, rt: &Runtime) {
    let mut engines = vec![("loop_default", rt.clone())];
    if b.quick {
        b.skip(&["loop_noepoch", "loop_fuel"], "--quick (each needs its own compile)");
    } else {
        b.progress("engine without epoch interruption (its own compile on first use)");
        match mung_runtime::internals::without_epoch_interruption(b.builder()).build() {
            Ok(r) => engines.push(("loop_noepoch", r)),
            Err(e) => b.record("loop_noepoch", Err(e.into())),
        }
        b.progress("engine with fuel metering (its own compile on first use)");
        match b.builder().fuel(u64::MAX / 2).build() {
            Ok(r) => engines.push(("loop_fuel", r)),
            Err(e) => b.record("loop_fuel", Err(e.into())),
        }
    }
    b.progress("CPU-bound pure-Python loop on each engine");
    loop_interleaved(b, engines);
}
