//! Section 1, startup: loading the compiled component, instantiating it
//! from the snapshot, and (last in the run) the cold compile.

use std::time::Instant;

use anyhow::{Context, Result};
use mung_runtime::Runtime;

use crate::ctx::Bench;
use crate::measure::{Series, proc_status, self_timed};
use crate::report::Target;
use crate::table::Def;

/// The section's title.
const SECTION: &str = "1 startup";

/// The section's rows.
pub(crate) fn rows() -> Vec<Def> {
    vec![
        Def::secs(SECTION, "compile", "compile the component (Cranelift, in-process, cold)"),
        Def::secs(SECTION, "cache_load", "cache load: Component::deserialize_file (.cwasm)")
            .target(Target::value_at_most(0.020)),
        Def::secs(SECTION, "instantiate", "instantiate from snapshot (bare, pooling + CoW)")
            .target(Target::value_at_most(0.0001)),
        Def::secs(SECTION, "wasi_ctx", "  + WASI context of a new sandbox (preopens, stdio)")
            .note("not part of the instantiate target; paid by every fresh sandbox"),
    ]
}

/// Section 1: loading the compiled component and instantiating it.
pub(crate) fn startup(b: &mut Bench, rt: &Runtime) {
    let info = rt.info().clone();
    let engine = mung_runtime::internals::engine(rt).clone();
    b.progress("cache load: Component::deserialize_file of the cached .cwasm");
    let path = info.compiled_path.clone();
    let r = self_timed(b.n(10), 2, || {
        let start = Instant::now();
        // SAFETY: the runtime itself just loaded this file from its own cache
        // (written by `precompile_component` of this wasmtime, same engine).
        let c = unsafe { wasmtime::component::Component::deserialize_file(&engine, &path) }
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let secs = start.elapsed().as_secs_f64();
        drop(c);
        Ok(secs)
    })
    .map(|s| {
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        s.with_note(format!(
            "{:.0} MB .cwasm, mmap'ed; page cache warm (first load of a cold cache is slower)",
            size as f64 / 1e6
        ))
    });
    b.record("cache_load", r);

    b.progress("instantiate: bare instances from the snapshot (no Python runs)");
    let mut wasi = Vec::new();
    let warmup = 20;
    let r = self_timed(b.n(200), warmup, || {
        let (ctx, inst) = mung_runtime::internals::instantiate(rt)?;
        wasi.push(ctx.as_secs_f64());
        Ok(inst.as_secs_f64())
    });
    b.record("instantiate", r);
    if wasi.len() > warmup {
        let s = Series::new(wasi[warmup..].to_vec(), 1);
        b.record("wasi_ctx", Ok(s));
    }
}

/// The cold compile, measured last: its ~2 GB peak and its compiler
/// threads must not disturb the other rows.
pub(crate) fn compile(b: &mut Bench, rt: &Runtime) {
    let info = rt.info().clone();
    let engine = mung_runtime::internals::engine(rt).clone();
    if b.quick {
        b.skip(&["compile"], "--quick (a full Cranelift compile, ~1 min and ~2 GB)");
    } else {
        b.progress("compile: Engine::precompile_component of the component, cold, once (~1 min, ~2 GB)");
        let r = (|| -> Result<Series> {
            let wasm = std::fs::read(&info.component_path)
                .with_context(|| format!("reading {}", info.component_path.display()))?;
            let rss_before = proc_status().get("VmRSS").copied().unwrap_or(0);
            let start = Instant::now();
            let compiled = engine.precompile_component(&wasm).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let secs = start.elapsed().as_secs_f64();
            let hwm = proc_status().get("VmHWM").copied().unwrap_or(0);
            let note = format!(
                "{:.0} MB component → {:.0} MB compiled; peak RSS of this process {:.2} GB (it was {:.2} GB before)",
                wasm.len() as f64 / 1e6,
                compiled.len() as f64 / 1e6,
                hwm as f64 / 1048576.0,
                rss_before as f64 / 1048576.0
            );
            Ok(Series::new(vec![secs], 1).with_note(note))
        })();
        b.record("compile", r);
    }
}
