//! The pre-initialised snapshot: the interpreter's core module, captured
//! after numpy, scipy.ndimage, lxml, PIL, `mung` and `mstudio` were imported
//! and the glue's prelude was loaded.
//!
//! It starts from the wheel's plain reactor (`python.wasm`), not from its
//! pre-initialised `python-snapshot.wasm`: CPython draws its hash secret
//! (`PYTHONHASHSEED` unset, so from WASI's random source) while it
//! initialises, and the wheel's snapshot froze a published one (zero). Ours
//! is drawn when the snapshot is built, so no two machines (no two cache
//! directories) share it, and `sys.flags.hash_randomization` is 1. The secret
//! cannot change after that (every dictionary in the snapshot holds hashes
//! made with it); a secret per instance needs the plain interpreter
//! ([`HashSeed::PerInstance`](crate::HashSeed::PerInstance)).
//!
//! Why the core module and not the component: wasmtime-wizer 48's core API
//! is proven on this guest (exception handling included), and snapshotting
//! before wrapping keeps the result an ordinary input to the same wrap and
//! compose steps, so the final component is still one standard component.
//!
//! How: wizer instruments the module; we instantiate the instrumented module
//! ourselves with WASI preview1 (the fixed mounts: stdlib, packages, vendor)
//! and an implementation of the `host.call` import, run the boot turn and an
//! import turn, empty the guest libc's preopen table, and let wizer write the
//! memory and globals back as data.
//!
//! Mounts and the snapshot. wasi-libc keeps a table of preopened directories
//! (guest path → fd), filled on the first path lookup by asking the host for
//! fd 3, 4, … until one is not a preopen; once filled it stays, so a snapshot
//! taken after the imports carries the snapshot-time table and an instance
//! with more mounts could not reach them. wasi-libc has an answer for exactly
//! this case, `__wasilibc_reset_preopens` (the interpreter's own
//! `wizer.initialize` calls it as its last step): it empties the table and
//! marks it unfilled, so the next path lookup scans the instance's own
//! preopens. The interpreter defines it but does not export it, and nothing in
//! Python reaches it, so the base module gets an export for it (found through
//! the module's `name` section) and we call it after the warm-up, right before
//! the snapshot. Then one snapshot serves every mount layout: a runtime's
//! grants are its instances' preopens 6, 7, … at the guest paths the caller
//! chose, found by the guest in a few microseconds on its first file access;
//! instances that touch no file never scan. The alternatives were worse: a
//! snapshot per layout costs ~50 s plus a ~90 s compile per new set of grants;
//! a fixed set of hidden slot preopens bound per instance caps the number of
//! grants and shows the guest slot names unless its table is patched in
//! memory. The one thing to keep true: no file may be open at snapshot time
//! (an fd ≥ 6 left open would alias a grant in later instances), which the
//! build checks.
//!
//! The snapshot is cached under a key made of everything it depends on: the
//! base module, the packages tree's contents, the `mung` sdist, the prelude,
//! the fixed mounts and the warm-up code. The compiled instrumented module is
//! cached too, so a new snapshot (after a packages change) takes seconds
//! before the final compile.

use std::path::PathBuf;
use std::time::Instant;

use mung_runtime_python_wasm::CacheDir;
use mung_runtime_python_wasm::cache::{prune, touch, write_atomic};
use mung_runtime_python_wasm::segments::compact_data_segments;
use wasmtime::{Caller, Engine, Extern, Instance, Linker, Memory, Module, Store, TypedFunc};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wizer::{SnapshotVal, ValType, Wizer};

use crate::artifacts::{CoreModule, PackagesDir, Upstream};
use crate::engine;
use crate::error::Error;
use crate::output::Capture;
use crate::sandbox::Layout;

/// The glue's prelude and boot turn (the same files the glue embeds).
const PRELUDE: &str = include_str!("../../../guests/glue/src/prelude.py");
const BOOT: &str = include_str!("../../../guests/glue/src/boot.py");

/// Snapshots kept in the cache (each is ~120 MB).
const KEEP_SNAPSHOTS: usize = 4;

/// wasi-libc's function that empties its preopen table (see the module doc),
/// and the name we export it under for the snapshot builder.
const RESET_PREOPENS: &str = "__wasilibc_reset_preopens";

/// Run after the warm-up: the file descriptors open in the guest beyond the
/// fixed preopens (3, 4, 5). Any such fd would alias a grant in instances
/// made from the snapshot.
const OPEN_FDS: &str = r#"
def _mrt_open_fds():
    import linecache, os
    for k in [k for k in linecache.cache if k.startswith("<turn ")]:
        del linecache.cache[k]
    fds = []
    for fd in range(6, 64):
        try:
            os.fstat(fd)
            fds.append(str(fd))
        except OSError:
            pass
    return fds
_ = __import__("_host").call(b"\x01" + " ".join(_mrt_open_fds()).encode())
del _mrt_open_fds, _
"#;

/// Imported before the snapshot: the libraries, every module of our packages
/// (they import lazily inside functions), and one tiny call of each
/// operation so that lazily built tables (grammar check plans, filter
/// kernels) are part of the snapshot. Modules missing from a custom packages
/// tree are skipped; the reply lists what was imported.
const WARM_UP: &str = r#"
def _mrt_warm_up():
    import gc, importlib, linecache, pkgutil
    names = ["json", "ast", "traceback", "struct", "base64", "random", "numpy", "numpy.random",
             "scipy.ndimage", "lxml.etree", "PIL.Image"]
    done = []
    for name in names:
        try:
            importlib.import_module(name)
            done.append(name)
        except Exception:
            pass
    for package in ("skimage", "mung", "mstudio"):
        try:
            root = importlib.import_module(package)
        except Exception:
            continue
        done.append(package)
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            try:
                importlib.import_module(info.name)
                done.append(info.name)
            except Exception:
                pass
    try:
        import mstudio.validation
        mstudio.validation.validate("<Nodes><Node><Id>0</Id><ClassName>noteheadFull</ClassName>"
            "<Top>0</Top><Left>0</Left><Width>2</Width><Height>1</Height><Mask>0:0 1:2</Mask>"
            "<Outlinks>1</Outlinks></Node><Node><Id>1</Id><ClassName>stem</ClassName><Top>0</Top>"
            "<Left>0</Left><Width>1</Width><Height>2</Height><Mask>0:0 1:2</Mask></Node></Nodes>")
    except Exception:
        pass
    try:
        import numpy as np, mstudio.extraction as x
        page = np.full((12, 60, 4), 255, np.uint8)
        page[3:5, :, :3] = 0
        page[8:10, :, :3] = 0
        x.otsu_binarize_region(page)
        lines = x.detect_stafflines(page)
        x.separate_lines(0, 0, lines, x.compute_cut_lines(lines))
    except Exception:
        pass
    try:
        import _mung_runtime
        _mung_runtime._compile("1")
    except Exception:
        pass
    for k in [k for k in linecache.cache if k.startswith("<turn ")]:
        del linecache.cache[k]
    gc.collect()
    # Objects made so far are never collected again: later collections skip
    # them and leave their copy-on-write pages untouched.
    gc.freeze()
    return done
_ = __import__("_host").call(b"\x01" + " ".join(_mrt_warm_up()).encode())
del _mrt_warm_up, _
"#;

/// Makes sure the snapshot for these inputs exists; returns it. Only the
/// layout's fixed mounts matter: one snapshot serves any set of grants.
pub(crate) fn ensure(
    cache: &CacheDir,
    upstream: &Upstream,
    packages: &PackagesDir,
    layout: &Layout,
) -> Result<CoreModule, Error> {
    let layout = &layout.fixed();
    let key = snapshot_key(packages, layout);
    let path = cache.root().join("snapshots").join(format!("{}.wasm", &key[..32]));
    let core = CoreModule { path: path.clone(), sha256: key.clone() };
    if path.exists() {
        touch(&path);
        return Ok(core);
    }
    let _lock = cache.lock(&format!("snapshot-{}", &key[..16]))?;
    if path.exists() {
        return Ok(core);
    }
    tracing::info!(packages = %packages.path().display(), "building the pre-initialised snapshot (once per packages tree)");
    let start = Instant::now();
    let bytes = build(cache, upstream, layout)?;
    write_atomic(&path, &bytes)?;
    prune(path.parent().unwrap(), "wasm", KEEP_SNAPSHOTS);
    tracing::info!(elapsed = ?start.elapsed(), path = %path.display(), "snapshot ready");
    Ok(core)
}

fn snapshot_key(packages: &PackagesDir, layout: &Layout) -> String {
    let paths = layout.guest_paths().join("\n");
    let toolchain = mung_runtime_python_wasm::pins::toolchain();
    let parts = [
        mung_runtime_python_wasm::pins::PLAIN_MODULE_SHA256,
        packages.hash(),
        mung_runtime_python_wasm::pins::MUNG_SDIST_SHA256,
        PRELUDE,
        BOOT,
        WARM_UP,
        OPEN_FDS,
        RESET_PREOPENS,
        &paths,
        &toolchain,
        "data segments merged",
        INITIALIZE,
        "hash secret drawn at build",
    ];
    crate::artifacts::cache_key(&parts.map(str::as_bytes))
}

/// The store data while the instrumented module runs.
struct Init {
    wasi: WasiP1Ctx,
    /// Bytes for the next `_host.call(b"\x02")`.
    input: Option<Vec<u8>>,
    /// The last frame posted with `_host.call(b"\x01" + data)`.
    reply: Vec<u8>,
}

fn build(cache: &CacheDir, upstream: &Upstream, layout: &Layout) -> Result<Vec<u8>, Error> {
    let snap_err = |what: &str| Error::snapshot::<wasmtime::Error>(what.to_owned());
    let base_path = upstream.interpreter.plain_module(cache)?;
    let base = std::fs::read(&base_path).map_err(Error::io(format!("reading {}", base_path.display())))?;
    let base = mung_runtime_python_wasm::exports::export_named_function(&base, RESET_PREOPENS, RESET_PREOPENS)
        .map_err(Error::snapshot(format!("exporting {RESET_PREOPENS}")))?;
    let wizer = plain_reactor_wizer();
    let (cx, instrumented) = wizer.instrument(&base).map_err(snap_err("instrumenting the module"))?;

    let mut config = engine::base_config(false);
    config.epoch_interruption(false);
    let engine = Engine::new(&config).map_err(Error::wasmtime("configuring wasmtime"))?;
    let module = load_instrumented(cache, &engine, &instrumented)?;
    drop(instrumented);

    let stdout = Capture::new(1 << 20, None);
    let stderr = Capture::new(1 << 20, None);
    let wasi = layout.wasi_builder(&stdout, &stderr)?.build_p1();
    let mut store = Store::new(&engine, Init { wasi, input: None, reply: Vec::new() });
    let mut linker: Linker<Init> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| &mut s.wasi).map_err(snap_err("linking WASI"))?;
    linker.func_wrap("host", "call", host_call).map_err(snap_err("linking host.call"))?;
    let instance = linker.instantiate(&mut store, &module).map_err(snap_err("instantiating"))?;
    initialize_reactor(&mut store, &instance).map_err(snap_err("initialising the reactor"))?;

    store.data_mut().input = Some(PRELUDE.as_bytes().to_vec());
    let reply = run_turn(&mut store, &instance, BOOT).map_err(snap_err("loading the prelude"))?;
    if reply != b"ok" {
        return Err(Error::Snapshot {
            context: format!(
                "the prelude failed to load: {}{}",
                String::from_utf8_lossy(&reply),
                String::from_utf8_lossy(&stderr.take().0)
            ),
            source: None,
        });
    }
    let reply = run_turn(&mut store, &instance, WARM_UP).map_err(snap_err("importing the packages"))?;
    tracing::info!(modules = %String::from_utf8_lossy(&reply), "imported into the snapshot");
    let (err, _) = stderr.take();
    if !err.is_empty() {
        tracing::debug!(stderr = %String::from_utf8_lossy(&err), "guest stderr while snapshotting");
    }
    let open = run_turn(&mut store, &instance, OPEN_FDS).map_err(snap_err("listing open files"))?;
    if !open.is_empty() {
        return Err(Error::Snapshot {
            context: format!(
                "file descriptors {} are open after the warm-up; they would alias granted directories",
                String::from_utf8_lossy(&open)
            ),
            source: None,
        });
    }
    // From here on the guest must not look up a path: that would fill the
    // table again.
    instance
        .get_typed_func::<(), ()>(&mut store, RESET_PREOPENS)
        .and_then(|reset| reset.call(&mut store, ()))
        .map_err(snap_err("emptying the preopen table"))?;

    let runtime =
        tokio::runtime::Builder::new_current_thread().build().map_err(Error::io("starting the async runtime"))?;
    let mut state = InstanceView { store: &mut store, instance };
    let snapshot = runtime.block_on(wizer.snapshot(&cx, &mut state)).map_err(snap_err("writing the snapshot"))?;
    match compact_data_segments(&snapshot) {
        Ok(Some((compact, c))) => {
            tracing::debug!(before = c.before, after = c.after, "merged the snapshot's data segments");
            Ok(compact)
        }
        Ok(None) => Ok(snapshot),
        Err(e) => Err(Error::snapshot("merging the data segments")(e)),
    }
}

/// The instrumented module, compiled once and cached (it only depends on the
/// base module).
fn load_instrumented(cache: &CacheDir, engine: &Engine, instrumented: &[u8]) -> Result<Module, Error> {
    let key = crate::compile_cache::compiled_key(
        engine,
        &format!(
            "instrumented {} + export {RESET_PREOPENS}, wizer {}",
            mung_runtime_python_wasm::pins::PLAIN_MODULE_SHA256,
            mung_runtime_python_wasm::pins::WIZER_VERSION
        ),
    );
    let path: PathBuf = cache.root().join("compiled").join(format!("instrumented-{}.cwasm", &key[..32]));
    let _lock = cache.lock(&format!("compile-{}", &key[..16]))?;
    // SAFETY: written by `precompile_module` of this wasmtime into our own
    // cache; wasmtime checks version and settings in the header.
    let load = |path: &std::path::Path| {
        unsafe { Module::deserialize_file(engine, path) }.map_err(Error::wasmtime("loading the instrumented module"))
    };
    if let Some(module) = crate::compile_cache::load_cached(&path, load)? {
        return Ok(module);
    }
    tracing::info!("compiling the instrumented interpreter (once per machine; about a minute)");
    let compiled =
        engine.precompile_module(instrumented).map_err(Error::wasmtime("compiling the instrumented module"))?;
    crate::compile_cache::store(&path, &compiled)?;
    load(&path)
}

/// The plain reactor's own initialisation export, called once before the
/// first turn; wizer leaves it out of the snapshot (instances made from the
/// snapshot must not run it again).
const INITIALIZE: &str = "_initialize";

/// The plain reactor also exports `wizer.initialize` (its makers' own
/// snapshot step, not used here): wizer removes the export it is told is
/// the initialiser, so that the snapshot does not offer to run it again.
fn plain_reactor_wizer() -> Wizer {
    let mut wizer = Wizer::new();
    wizer.init_func("wizer.initialize");
    wizer
}

/// Runs the reactor's C constructors (`_initialize`); CPython itself starts
/// in the first turn, drawing its hash secret from WASI's random source.
fn initialize_reactor(store: &mut Store<Init>, instance: &Instance) -> wasmtime::Result<()> {
    let init: TypedFunc<(), ()> = instance.get_typed_func(&mut *store, INITIALIZE)?;
    init.call(&mut *store, ())
}

/// Runs one turn of `source` and returns the frame it posted.
fn run_turn(store: &mut Store<Init>, instance: &Instance, source: &str) -> wasmtime::Result<Vec<u8>> {
    let alloc: TypedFunc<i32, i32> = instance.get_typed_func(&mut *store, "host_alloc")?;
    let turn: TypedFunc<(i32, i32), i32> = instance.get_typed_func(&mut *store, "turn")?;
    let memory = instance.get_memory(&mut *store, "memory").ok_or_else(|| wasmtime::format_err!("no memory export"))?;
    let ptr = alloc.call(&mut *store, source.len() as i32)?;
    memory.write(&mut *store, ptr as usize, source.as_bytes())?;
    store.data_mut().reply.clear();
    let status = turn.call(&mut *store, (ptr, source.len() as i32))?;
    if status != 0 {
        wasmtime::bail!("the turn ended with status {status}");
    }
    Ok(std::mem::take(&mut store.data_mut().reply))
}

/// `host.call(req, req_len, out_ptr, out_len)`, as the component's `host`
/// adapter implements it: 0x01 posts a reply, 0x02 fetches the input.
fn host_call(
    mut caller: Caller<'_, Init>,
    req: i32,
    req_len: i32,
    out_ptr: i32,
    out_len: i32,
) -> wasmtime::Result<i32> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        wasmtime::bail!("no memory export");
    };
    let mut frame = vec![0u8; req_len.max(0) as usize];
    memory.read(&caller, req as usize, &mut frame)?;
    let reply: Vec<u8> = match frame.first() {
        Some(1) => {
            caller.data_mut().reply = frame[1..].to_vec();
            Vec::new()
        }
        Some(2) => caller.data_mut().input.take().unwrap_or_default(),
        _ => return Ok(-1),
    };
    let Some(Extern::Func(alloc)) = caller.get_export("host_alloc") else {
        wasmtime::bail!("no host_alloc export");
    };
    let alloc = alloc.typed::<i32, i32>(&caller)?;
    let ptr = alloc.call(&mut caller, reply.len().max(1) as i32)?;
    write(&memory, &mut caller, ptr, &reply)?;
    write(&memory, &mut caller, out_ptr, &(ptr as u32).to_le_bytes())?;
    write(&memory, &mut caller, out_len, &(reply.len() as u32).to_le_bytes())?;
    Ok(0)
}

fn write(memory: &Memory, caller: &mut Caller<'_, Init>, at: i32, bytes: &[u8]) -> wasmtime::Result<()> {
    memory.write(caller, at as u32 as usize, bytes)?;
    Ok(())
}

/// Gives wizer the instance's state.
struct InstanceView<'a> {
    store: &'a mut Store<Init>,
    instance: Instance,
}

impl wasmtime_wizer::InstanceState for InstanceView<'_> {
    async fn global_get(&mut self, name: &str, _type: ValType) -> SnapshotVal {
        let global = self.instance.get_global(&mut *self.store, name).expect("wizer names an exported global");
        match global.get(&mut *self.store) {
            wasmtime::Val::I32(x) => SnapshotVal::I32(x),
            wasmtime::Val::I64(x) => SnapshotVal::I64(x),
            wasmtime::Val::F32(x) => SnapshotVal::F32(x),
            wasmtime::Val::F64(x) => SnapshotVal::F64(x),
            wasmtime::Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            other => panic!("wizer cannot snapshot a global holding {other:?}"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self.instance.get_memory(&mut *self.store, name).expect("wizer names an exported memory");
        contents(memory.data(&*self.store))
    }
}
