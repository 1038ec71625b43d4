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
//! and an implementation of the `host.call` import, run the boot turn, an
//! import turn, warm-up calls, and two turns that keep fresh instances from
//! writing to the snapshot (plugging the heap's free blocks, making every
//! object immortal; see ARCHITECTURE.md, "What a fresh instance costs"),
//! empty the guest libc's preopen table, and let wizer write the memory and
//! globals back as data.
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
    import _mung_runtime, os
    _mung_runtime._forget_turn_sources()
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
    import gc, importlib, pkgutil
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
    import _mung_runtime
    try:
        # Both ways a snippet compiles: a lone expression and statements.
        _mung_runtime._compile("1")
        _mung_runtime._compile("x = 1\nx")
    except Exception:
        pass
    _mung_runtime._forget_turn_sources()
    gc.collect()
    # Objects made so far are never collected again: later collections skip
    # them and leave their copy-on-write pages untouched.
    gc.freeze()
    return done
_ = __import__("_host").call(b"\x01" + " ".join(_mrt_warm_up()).encode())
del _mrt_warm_up, _
"#;

/// A real document for the calls of [`warm_calls`] (a small self-made MuNG
/// document with masks, links and issues of every kind the rules report).
const WARM_UP_DOCUMENT: &[u8] = include_bytes!("../../../tests/fixtures/small.xml");

/// How often [`warm_calls`] makes each call: CPython specialises an
/// instruction on its second run, so code that ran only once at snapshot
/// time would be specialised again (written to) in every fresh instance.
const WARM_CALLS: usize = 3;

/// After the warm-up: runs real calls through the glue's call turn, with the
/// frames the glue sends (`guests/glue/src/frame.rs`): `execute` of an
/// expression and of statements, and `validate` of [`WARM_UP_DOCUMENT`], [`WARM_CALLS`] times
/// each, so that the code they run is specialised in the snapshot. Then it
/// forgets what the calls left (the session namespace, compiled snippets,
/// turn sources), so no fresh instance sees a trace of them. A failing call
/// (a custom packages tree) is not an error here: calls answer with a reply.
fn warm_calls(store: &mut Store<Init>, instance: &Instance) -> wasmtime::Result<()> {
    // Both ways a snippet runs (see the prelude's `_compile`).
    let execute = |code: &[u8]| {
        let mut frame = vec![1u8];
        frame.extend_from_slice(&(code.len() as u32).to_le_bytes());
        frame.extend_from_slice(code);
        frame.extend_from_slice(br#"{"x": 7}"#);
        frame
    };
    let expression = execute(b"sum(range(3)) * x");
    let statements = execute(b"y = sum(range(3))\ny * x");
    let header =
        format!(r#"{{"op":"validate","args":{{"xml":{{"$blob":0}}}},"blobs":[[0,{}]]}}"#, WARM_UP_DOCUMENT.len());
    let mut validate = vec![0u8];
    validate.extend_from_slice(&(header.len() as u32).to_le_bytes());
    validate.extend_from_slice(header.as_bytes());
    validate.extend_from_slice(WARM_UP_DOCUMENT);
    // The glue's call turn, as the prelude knows it (the text its fast path
    // answers), rather than a third copy of it here.
    let call_turn = run_turn(store, instance, CALL_TURN_TEXT)?;
    let call_turn = String::from_utf8(call_turn)?;
    for _ in 0..WARM_CALLS {
        for frame in [&expression, &statements, &validate] {
            store.data_mut().input = Some(frame.clone());
            run_turn(store, instance, &call_turn)?;
        }
    }
    let reply = run_turn(store, instance, FORGET_CALLS)?;
    if reply != b"ok" {
        wasmtime::bail!("forgetting the warm-up calls failed: {}", String::from_utf8_lossy(&reply));
    }
    Ok(())
}

/// Posts the prelude's `CALL_TURN`, the turn text the glue runs for a call.
const CALL_TURN_TEXT: &str = r#"
import _mung_runtime
_ = __import__("_host").call(b"\x01" + _mung_runtime.CALL_TURN.encode())
del _mung_runtime, _
"#;

/// Forgets what [`warm_calls`] left behind (see there).
const FORGET_CALLS: &str = r#"
import _mung_runtime, gc
_mung_runtime._op_reset()
_mung_runtime._forget_turn_sources()
gc.collect()
_ = __import__("_host").call(b"\x01ok")
del _mung_runtime, gc, _
"#;

/// Run after the warm-up: takes every free block of the guest's `malloc`
/// (dlmalloc) out of use for good. The imports leave the snapshot's heap
/// full of free blocks; a fresh instance's allocations would reuse them,
/// writing to hundreds of scattered snapshot pages per call (measured: a
/// third of a fresh validation's page faults were in `malloc`), which the
/// pooling allocator cannot keep resident between instances (its reset
/// keeps at most 32 dirty regions). Plugged, allocations come from the top
/// of the heap, one contiguous region. The guest allocates blocks from the
/// largest size down, keeping each one that lies below the top of the heap
/// (so it was a free block) until one comes from the top (found first with
/// two adjacent probes, so the heap grows by a few MiB at most); the address of a
/// `bytearray`'s buffer is read through numpy. Blocks of 512 bytes or less
/// are numpy arrays, since smaller `bytearray`s come from Python's own
/// allocator. The blocks stay referenced (and later immortal); they cost
/// address space, not memory: nothing ever writes to them again.
const PLUG_FREE_BLOCKS: &str = r#"
def _mrt_plug_free_blocks():
    import numpy as np, _mung_runtime
    def address(buffer):
        return np.frombuffer(buffer, np.uint8).__array_interface__["data"][0]
    # Where the top of the heap starts: two blocks in a row that lie next to
    # each other came from it (a free block would not be followed by the
    # next one). The probes are small so the heap barely grows.
    size = 2 << 20
    while True:
        first, second = bytearray(size), bytearray(size)
        top = address(first)
        if 0 < address(second) - top - size <= 64 or size >= 64 << 20:
            break
        size *= 2
    del first, second
    sizes, size = [], 4 << 20
    while size > 1024:
        sizes.append(size)
        size = int(size * 0.85) // 8 * 8
    sizes += range(1024, 512, -8)
    plugs, budget = [], 200_000
    for size in sizes:
        while budget:
            budget -= 1
            block = bytearray(size)
            if address(block) >= top:
                break
            plugs.append(block)
    for size in range(512, 0, -8):
        while budget:
            budget -= 1
            block = np.empty(size, np.uint8)
            if block.__array_interface__["data"][0] >= top:
                break
            plugs.append(block)
    _mung_runtime._snapshot_plugs = plugs
    return f"{len(plugs)} blocks, {sum(map(len, plugs)) >> 10} KiB"
_ = __import__("_host").call(b"\x01" + _mrt_plug_free_blocks().encode())
del _mrt_plug_free_blocks, _
"#;

/// Run last before the snapshot: makes every object then alive immortal
/// (CPython 3.12+, PEP 683), so that instances made from the snapshot never
/// write their reference counts. Each such write would otherwise copy a
/// whole page of the snapshot on first use in every fresh instance: the
/// objects a call merely looks at (modules, functions, code, types,
/// strings) are spread over thousands of pages. The guest lists the live
/// objects that are not immortal yet (every object the collector tracks,
/// what they refer to, and the constants and names of code objects) and
/// hands their addresses to the host while it still holds a reference to
/// each, so every address written is a live object (never a freed block,
/// whose first word is the allocator's free list). The host sets their
/// reference counts to the immortal value. Such objects are never freed: one
/// that a call drops (a replaced module attribute) stays in memory instead,
/// which bounds that leak by the snapshot's own size.
const IMMORTALIZE: &str = r#"
def _mrt_immortalize():
    import array, gc, sys
    code_type = type(_mrt_immortalize.__code__)
    is_immortal, referents = sys._is_immortal, gc.get_referents
    mortal, seen = [], set()
    todo = gc.get_objects()
    todo.extend(sys.modules.values())
    own = {id(mortal), id(seen), id(todo)}
    while todo:
        o = todo.pop()
        i = id(o)
        if i in seen or i in own:
            continue
        seen.add(i)
        if not is_immortal(o):
            mortal.append(o)
        if type(o) is code_type:
            # Code objects are not tracked; their constants and names are
            # what a call touches most.
            todo.extend((o.co_consts, o.co_names, o.co_filename, o.co_name, o.co_qualname))
        else:
            todo.extend(referents(o))
    addresses = array.array("I", [id(o) for o in mortal])
    __import__("_host").call(b"\x03" + addresses.tobytes())
    return len(mortal)
_ = __import__("_host").call(b"\x01" + str(_mrt_immortalize()).encode())
del _mrt_immortalize, _
# What the last two turns made is never collected either (as in the warm-up).
__import__("gc").freeze()
"#;

/// The reference count CPython gives objects it makes immortal on 32-bit
/// platforms (`_Py_IMMORTAL_INITIAL_REFCNT`, 5 << 28), and the least count
/// it treats as immortal there (`_Py_IMMORTAL_MINIMUM_REFCNT`, 1 << 30).
const IMMORTAL_REFCNT: u32 = 5 << 28;
const IMMORTAL_MINIMUM: u32 = 1 << 30;

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
        CALL_TURN_TEXT,
        &format!("{WARM_CALLS} calls of each"),
        std::str::from_utf8(WARM_UP_DOCUMENT).unwrap_or("not UTF-8"),
        FORGET_CALLS,
        PLUG_FREE_BLOCKS,
        IMMORTALIZE,
        &IMMORTAL_REFCNT.to_string(),
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
    /// Addresses given to make immortal that did not hold a live object's
    /// reference count (none expected).
    skipped: usize,
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
    let mut store = Store::new(&engine, Init { wasi, input: None, reply: Vec::new(), skipped: 0 });
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
    warm_calls(&mut store, &instance).map_err(snap_err("running the warm-up calls"))?;
    let plugged = run_turn(&mut store, &instance, PLUG_FREE_BLOCKS).map_err(snap_err("plugging free blocks"))?;
    tracing::info!(plugged = %String::from_utf8_lossy(&plugged), "took the heap's free blocks out of use");
    let immortal = run_turn(&mut store, &instance, IMMORTALIZE).map_err(snap_err("making the heap immortal"))?;
    let skipped = store.data().skipped;
    tracing::info!(objects = %String::from_utf8_lossy(&immortal), skipped, "made the snapshot's objects immortal");
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
/// adapter implements it: 0x01 posts a reply, 0x02 fetches the input; and
/// one request of the snapshot's own, 0x03, which makes the objects at the
/// given addresses immortal (see [`IMMORTALIZE`]).
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
        Some(3) => {
            let skipped = make_immortal(memory.data_mut(&mut caller), &frame[1..]);
            caller.data_mut().skipped += skipped;
            Vec::new()
        }
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

/// Sets the reference count (the first word) of the object at each
/// little-endian address in `addresses` to [`IMMORTAL_REFCNT`]. An address
/// out of bounds or whose count is not that of a live, mortal object (1 up
/// to [`IMMORTAL_MINIMUM`]) is left alone and counted.
fn make_immortal(memory: &mut [u8], addresses: &[u8]) -> usize {
    let mut skipped = 0;
    for address in addresses.chunks_exact(4) {
        let at = u32::from_le_bytes(address.try_into().expect("4 bytes")) as usize;
        let Some(field) = memory.get_mut(at..at + 4) else {
            skipped += 1;
            continue;
        };
        let count = u32::from_le_bytes(field.try_into().expect("4 bytes"));
        if count == 0 || count >= IMMORTAL_MINIMUM {
            skipped += 1;
            continue;
        }
        field.copy_from_slice(&IMMORTAL_REFCNT.to_le_bytes());
    }
    skipped
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
