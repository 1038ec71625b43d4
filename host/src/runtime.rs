//! [`Runtime`]: the embedding API.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mung_runtime_python_wasm::CacheDir;
use serde::Serialize;
use wasmtime::component::Linker;

use crate::artifacts::{self, CoreModule, PackagesDir, Upstream};
use crate::bindings;
use crate::compile_cache::{self, CacheOutcome};
use crate::engine::{self, EngineSettings};
use crate::error::{Error, ExecError, ExecFailure, PythonError, PythonErrorKind, SandboxError};
use crate::extraction::{ExtractError, Mask, Node, PlacedMask, Point, RgbaImage};
use crate::output::{Output, OutputSink};
use crate::python::Execution;
use crate::sandbox::{Layout, Mount, State};
use crate::session::Session;
use crate::snapshot;
use crate::validation::{FixedDocument, ValidateError, ValidationIssue};
use crate::worker::{CallLimits, SlotPermit, Slots, Worker};

/// Default cap on one instance's linear memory.
pub const DEFAULT_MEMORY_LIMIT: u64 = 1 << 30;
/// Default wall-clock deadline of one call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap on what one call may print to each of stdout and stderr.
pub const DEFAULT_OUTPUT_LIMIT: usize = 16 << 20;
/// The smallest memory cap that leaves the interpreter room to start.
pub const MIN_MEMORY_LIMIT: u64 = 128 << 20;
/// wasm32's hard limit.
const MAX_MEMORY_LIMIT: u64 = 4 << 30;

/// Configures and builds a [`Runtime`].
///
/// ```no_run
/// use std::time::Duration;
/// let runtime = mung_runtime::Runtime::builder()
///     .memory_limit(512 << 20)
///     .timeout(Duration::from_secs(10))
///     .build()?;
/// # Ok::<(), mung_runtime::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct RuntimeBuilder {
    cache_dir: Option<PathBuf>,
    packages_dir: Option<PathBuf>,
    memory_limit: u64,
    timeout: Duration,
    fuel: Option<u64>,
    output_limit: usize,
    mounts: Vec<Mount>,
    max_instances: Option<u32>,
    preinitialized: Option<bool>,
    isolation: Isolation,
    epoch_interruption: bool,
    stdout_sink: Option<OutputSink>,
    stderr_sink: Option<OutputSink>,
}

/// How the typed calls ([`Runtime::validate`], the extraction methods) get
/// their instance. [`Runtime::execute`] is always fresh, and a [`Session`]
/// always keeps one instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Isolation {
    /// Reuse warm instances from a pool (fast; the default). Our own Python
    /// code runs there, so no state of interest carries over.
    #[default]
    Warm,
    /// A new instance from the snapshot for every call, discarded after it.
    Fresh,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            cache_dir: None,
            packages_dir: None,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            timeout: DEFAULT_TIMEOUT,
            fuel: None,
            output_limit: DEFAULT_OUTPUT_LIMIT,
            mounts: Vec::new(),
            max_instances: None,
            preinitialized: None,
            isolation: Isolation::Warm,
            epoch_interruption: true,
            stdout_sink: None,
            stderr_sink: None,
        }
    }
}

impl RuntimeBuilder {
    /// Where downloads and compiled artifacts are kept (default:
    /// `$MUNG_RUNTIME_CACHE_DIR`, else `$XDG_CACHE_HOME/mung-runtime`, else
    /// `~/.cache/mung-runtime`).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// The Python packages tree mounted read-only at `/packages` (default:
    /// the `mstudio` package built into this binary). The pre-initialised
    /// snapshot is rebuilt whenever the tree's contents change.
    pub fn packages_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.packages_dir = Some(dir.into());
        self
    }

    /// Caps each instance's memory, in bytes (default 1 GiB, at least 128 MiB,
    /// at most 4 GiB). Python sees `MemoryError` when it runs out.
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// The wall-clock deadline of each call (default 60 s). It also stops
    /// calls blocked in `time.sleep` or `select`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Gives each call a budget of `units` of fuel (roughly, wasm
    /// instructions). Off by default: fuel metering slows the guest down and
    /// needs a separately compiled component.
    pub fn fuel(mut self, units: u64) -> Self {
        self.fuel = Some(units);
        self
    }

    /// Caps what one call may print to stdout and to stderr (default 16 MiB
    /// each). Output past the cap is dropped and reported as truncated.
    pub fn output_limit(mut self, bytes: usize) -> Self {
        self.output_limit = bytes;
        self
    }

    /// Grants the guest a host directory.
    pub fn mount(mut self, mount: Mount) -> Self {
        self.mounts.push(mount);
        self
    }

    /// The most instances alive at once: warm ones, fresh ones and sessions
    /// (default: twice the number of cores, at least 4).
    pub fn max_instances(mut self, n: u32) -> Self {
        self.max_instances = Some(n);
        self
    }

    /// Whether to start instances from a snapshot taken after numpy, scipy,
    /// lxml, PIL, `mung` and `mstudio` were imported. Without it, each
    /// instance pays those imports (about a second) when it first needs them.
    ///
    /// Default: yes, unless directories are [mounted](Self::mount). The
    /// guest's libc freezes its table of mounts inside the snapshot, so a
    /// snapshot only serves the mount layout it was made with; asking for
    /// one explicitly with mounts builds (once) a snapshot for that layout.
    pub fn preinitialized(mut self, yes: bool) -> Self {
        self.preinitialized = Some(yes);
        self
    }

    /// How typed calls get their instance (default [`Isolation::Warm`]).
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }

    /// Turns off epoch interruption, so the deadline can no longer stop a
    /// busy guest (only blocking calls). For measuring its overhead only.
    #[doc(hidden)]
    pub fn without_epoch_interruption(mut self) -> Self {
        self.epoch_interruption = false;
        self
    }

    /// Receives stdout bytes as the guest writes them (up to the cap).
    pub fn on_stdout(mut self, sink: impl Fn(&[u8]) + Send + Sync + 'static) -> Self {
        self.stdout_sink = Some(Arc::new(sink));
        self
    }

    /// Receives stderr bytes as the guest writes them (up to the cap).
    pub fn on_stderr(mut self, sink: impl Fn(&[u8]) + Send + Sync + 'static) -> Self {
        self.stderr_sink = Some(Arc::new(sink));
        self
    }

    /// Prepares everything: fetches the interpreter if needed, builds or
    /// loads the compiled component, and readies instance creation.
    pub fn build(self) -> Result<Runtime, Error> {
        let start = Instant::now();
        if !(MIN_MEMORY_LIMIT..=MAX_MEMORY_LIMIT).contains(&self.memory_limit) {
            return Err(Error::Config(format!(
                "the memory limit must be between {} MiB and {} MiB, not {} bytes",
                MIN_MEMORY_LIMIT >> 20,
                MAX_MEMORY_LIMIT >> 20,
                self.memory_limit
            )));
        }
        if self.timeout.is_zero() {
            return Err(Error::Config("the timeout must be longer than zero".into()));
        }
        let cache = self.cache_dir.clone().map(CacheDir::new).unwrap_or_else(CacheDir::from_env);
        let upstream = Upstream::ensure(&cache)?;
        let packages = match &self.packages_dir {
            Some(dir) => PackagesDir::at(dir)?,
            None => PackagesDir::embedded(&cache)?,
        };
        let layout =
            Layout::new(&upstream.interpreter.stdlib_dir(), packages.path(), &upstream.mung.site_dir(), &self.mounts)?;
        let preinitialized = self.preinitialized.unwrap_or(self.mounts.is_empty());
        let core = if preinitialized {
            snapshot::ensure(&cache, &upstream, &packages, &layout)?
        } else {
            CoreModule {
                path: upstream.interpreter.module_path(),
                sha256: upstream.interpreter.module_sha256().to_string(),
            }
        };
        let max_instances = self.max_instances.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
            (2 * cores).max(4)
        });
        let engine = engine::new_engine(EngineSettings {
            fuel: self.fuel.is_some(),
            epoch_interruption: self.epoch_interruption,
            max_instances,
            max_memory: self.memory_limit,
        })?;
        engine::start_ticker(&engine);
        let component_key = artifacts::component_key(&core);
        let (component, cache_outcome) = compile_cache::load_or_compile(&engine, &cache, &component_key, || {
            artifacts::build_component(&cache, &core)
        })?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(Error::wasmtime("adding WASI to the linker"))?;
        let instance_pre = linker.instantiate_pre(&component).map_err(Error::wasmtime("linking the component"))?;
        let pre = bindings::RuntimePre::new(instance_pre).map_err(Error::wasmtime("binding the component"))?;
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("mung-runtime-io")
            .enable_all()
            .build()
            .map_err(Error::io("starting the async runtime"))?;
        let info = RuntimeInfo {
            cache_dir: cache.root().to_path_buf(),
            component_path: artifacts::component_path(&cache, &component_key),
            compiled_path: compile_cache::compiled_path(&cache, &compile_cache::compiled_key(&engine, &component_key)),
            cache_outcome,
            preinitialized,
            packages_dir: packages.path().to_path_buf(),
            packages_hash: packages.hash().to_string(),
            max_instances,
            setup_time: start.elapsed(),
        };
        tracing::debug!(?info, "runtime ready");
        Ok(Runtime {
            inner: Arc::new(Inner {
                pre,
                layout,
                limits: CallLimits { deadline: self.timeout, fuel: self.fuel },
                memory_limit: self.memory_limit,
                isolation: self.isolation,
                output_limit: self.output_limit,
                stdout_sink: self.stdout_sink,
                stderr_sink: self.stderr_sink,
                slots: Slots::new(max_instances),
                idle: Mutex::new(Vec::new()),
                info,
                tokio: std::mem::ManuallyDrop::new(tokio),
            }),
        })
    }
}

/// Facts about a built [`Runtime`].
#[derive(Clone, Debug)]
pub struct RuntimeInfo {
    /// The cache directory in use.
    pub cache_dir: PathBuf,
    /// The standalone component file (runs under any WASI 0.2 host).
    pub component_path: PathBuf,
    /// The compiled form of the component for this engine.
    pub compiled_path: PathBuf,
    /// Whether the compiled component came from the cache.
    pub cache_outcome: CacheOutcome,
    /// Whether instances start from the pre-initialised snapshot.
    pub preinitialized: bool,
    /// The packages tree mounted at `/packages`.
    pub packages_dir: PathBuf,
    /// sha256 of that tree's contents.
    pub packages_hash: String,
    /// The most instances alive at once.
    pub max_instances: u32,
    /// How long [`RuntimeBuilder::build`] took.
    pub setup_time: Duration,
}

/// A sandboxed Python runtime for MuNG documents.
///
/// Cheap to clone and to share between threads: every call runs in its own
/// instance (fresh for [`Runtime::execute`], reused warm for the typed
/// calls), so calls from many threads run in parallel.
///
/// ```no_run
/// let runtime = mung_runtime::Runtime::builder().build()?;
/// let value = runtime.execute("1 + 1", &serde_json::json!({}))?.value;
/// assert_eq!(value, 2);
/// let issues = runtime.validate("<Nodes/>")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) pre: bindings::RuntimePre<State>,
    layout: Layout,
    pub(crate) limits: CallLimits,
    memory_limit: u64,
    isolation: Isolation,
    output_limit: usize,
    stdout_sink: Option<OutputSink>,
    stderr_sink: Option<OutputSink>,
    slots: Arc<Slots>,
    idle: Mutex<Vec<Worker>>,
    info: RuntimeInfo,
    pub(crate) tokio: std::mem::ManuallyDrop<tokio::runtime::Runtime>,
}

impl Runtime {
    /// A builder with the default settings.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// A runtime with the default settings.
    pub fn new() -> Result<Runtime, Error> {
        Runtime::builder().build()
    }

    /// Facts about this runtime (cache paths, whether it compiled, ...).
    pub fn info(&self) -> &RuntimeInfo {
        &self.inner.info
    }

    /// The wasmtime engine behind this runtime (for `mung-runtime bench`).
    #[doc(hidden)]
    pub fn bench_engine(&self) -> &wasmtime::Engine {
        self.inner.pre.engine()
    }

    /// Creates one bare instance from the snapshot and drops it, returning
    /// how long its WASI context and its instantiation took (for
    /// `mung-runtime bench`; no Python runs).
    #[doc(hidden)]
    pub fn bench_instantiate(&self) -> Result<(Duration, Duration), Error> {
        let inner = &self.inner;
        let slot = inner.acquire_slot();
        let start = Instant::now();
        let state = State::new(&inner.layout, inner.memory_limit, inner.output_limit, None, None)?;
        let made = Instant::now();
        let worker = Worker::instantiate(&inner.tokio, &inner.pre, state, slot, inner.limits.fuel.is_some())?;
        let instantiated = Instant::now();
        drop(worker);
        Ok((made - start, instantiated - made))
    }

    /// Runs `code` in a fresh instance that sees nothing of earlier calls,
    /// with `globals` (anything that serialises to a JSON object) defined.
    /// Returns the value of the final expression as JSON.
    pub fn execute(&self, code: &str, globals: &impl Serialize) -> Result<Execution, ExecError> {
        let globals = globals_json(globals)?;
        let mut worker = self
            .inner
            .new_worker()
            .map_err(|e| ExecError { failure: ExecFailure::Sandbox(e.into()), output: Output::default() })?;
        self.inner.execute_on(&mut worker, code, &globals)
    }

    /// A persistent interpreter, like MuNG Studio's single worker: names
    /// defined by one `execute` stay visible to the next.
    pub fn session(&self) -> Session {
        Session::new(self.clone())
    }

    /// Creates up to `n` warm instances ahead of time (they serve the typed
    /// calls), so that the first calls do not pay instance start-up.
    pub fn warm_up(&self, n: usize) -> Result<(), Error> {
        let n = n.min(self.inner.info.max_instances as usize);
        let mut fresh = Vec::new();
        while self.inner.idle.lock().unwrap().len() + fresh.len() < n {
            let mut worker = self.inner.new_worker()?;
            // The first call loads the prelude; make it now.
            let _ = worker.call(&self.inner.tokio, self.inner.limits, async |store, api| {
                api.mung_runtime_python().call_reset(store).await
            });
            if worker.is_healthy() {
                fresh.push(worker);
            }
        }
        self.inner.idle.lock().unwrap().extend(fresh);
        Ok(())
    }

    /// Validates a MuNG document: MuNG Studio's rules, with its three known
    /// bugs fixed (5101/5102 codes for syntax links, no failure without a
    /// `measureSeparator`, the `actually` typo). Issues come in MuNG Studio's
    /// order; a document it cannot read is [`ValidateError::InvalidInput`].
    pub fn validate(&self, mung_xml: &str) -> Result<Vec<ValidationIssue>, ValidateError> {
        let issues = self
            .inner
            .with_warm(async |store, api| api.mung_runtime_validation().call_validate(store, mung_xml).await)??;
        Ok(issues.into_iter().map(Into::into).collect())
    }

    /// Applies every automatic fix (class renames) until none is left.
    pub fn fix(&self, mung_xml: &str) -> Result<FixedDocument, ValidateError> {
        let fixed = self
            .inner
            .with_warm(async |store, api| api.mung_runtime_validation().call_fix(store, mung_xml).await)??;
        Ok(FixedDocument { mung_xml: fixed.mung_xml, renamed: fixed.renamed })
    }

    /// "Binarize region": the ink of an RGBA region, by Otsu's threshold of
    /// its bilateral-filtered lightness (bit-identical to MuNG Studio).
    pub fn otsu_binarize_region(&self, region: RgbaImage) -> Result<Mask, ExtractError> {
        let region = region.into();
        let mask = self.inner.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_otsu_binarize_region(store, &region).await
        })??;
        Ok(mask.into())
    }

    /// "Stafflines tool": long dark horizontal runs of an RGBA region.
    pub fn detect_stafflines(&self, region: RgbaImage) -> Result<Mask, ExtractError> {
        let region = region.into();
        let mask = self.inner.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_detect_stafflines(store, &region).await
        })??;
        Ok(mask.into())
    }

    /// Polylines between the separate lines of a mask, in mask coordinates.
    pub fn compute_cut_lines(&self, mask: Mask) -> Result<Vec<Vec<Point>>, ExtractError> {
        let mask = mask.into();
        let lines = self
            .inner
            .with_warm(async |store, api| api.mung_runtime_extraction().call_compute_cut_lines(store, &mask).await)??;
        Ok(lines.into_iter().map(|l| l.into_iter().map(Into::into).collect()).collect())
    }

    /// Splits a mask placed at (`left`, `top`) into one band per gap between
    /// cut lines (top band first).
    pub fn separate_lines(
        &self,
        left: i32,
        top: i32,
        mask: Mask,
        cut_lines: &[Vec<Point>],
    ) -> Result<Vec<PlacedMask>, ExtractError> {
        let mask = mask.into();
        let cuts: Vec<Vec<_>> = cut_lines.iter().map(|l| l.iter().map(|&p| p.into()).collect()).collect();
        let bands = self.inner.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_separate_lines(store, left, top, &mask, &cuts).await
        })??;
        Ok(bands.into_iter().map(Into::into).collect())
    }

    /// The `staff` node spanning 5 `staffLine` nodes.
    pub fn generate_staff_from_stafflines(&self, stafflines: Vec<Node>) -> Result<Node, ExtractError> {
        let nodes: Vec<_> = stafflines.into_iter().map(Into::into).collect();
        let node = self.inner.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_generate_staff_from_stafflines(store, &nodes).await
        })??;
        Ok(node.into())
    }

    /// The 6 `staffSpace` nodes of each `staff` among `nodes`.
    pub fn generate_staffspaces(&self, nodes: Vec<Node>) -> Result<Vec<Node>, ExtractError> {
        let nodes: Vec<_> = nodes.into_iter().map(Into::into).collect();
        let out = self.inner.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_generate_staffspaces(store, &nodes).await
        })??;
        Ok(out.into_iter().map(Into::into).collect())
    }

    /// All nodes, with noteheads, rests, clefs, ... linked to their staff.
    pub fn snap_nodes_to_staves(&self, nodes: Vec<Node>) -> Result<Vec<Node>, ExtractError> {
        let nodes: Vec<_> = nodes.into_iter().map(Into::into).collect();
        let out = self.inner.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_snap_nodes_to_staves(store, &nodes).await
        })??;
        Ok(out.into_iter().map(Into::into).collect())
    }

    /// A `width`×`height` mask with `polygon` filled exactly like OpenCV's
    /// `fillPoly` (vertices may lie outside).
    pub fn fill_polygon(&self, width: u32, height: u32, polygon: &[Point]) -> Result<Mask, ExtractError> {
        let points: Vec<_> = polygon.iter().map(|&p| p.into()).collect();
        let mask = self.inner.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_fill_polygon(store, width, height, &points).await
        })??;
        Ok(mask.into())
    }

    /// Appends a node of class `class_name` with `mask` (cropped to its
    /// pixels) to a MuNG document; returns the new document and node id.
    pub fn insert_node(
        &self,
        mung_xml: &str,
        class_name: &str,
        mask: PlacedMask,
    ) -> Result<(String, i64), ExtractError> {
        let mask = mask.into();
        let inserted = self.inner.with_warm(async |store, api| {
            api.mung_runtime_extraction().call_insert_node(store, mung_xml, class_name, &mask).await
        })??;
        Ok((inserted.mung_xml, inserted.id))
    }
}

pub(crate) fn globals_json(globals: &impl Serialize) -> Result<String, ExecError> {
    let invalid = |message: String| ExecError {
        failure: ExecFailure::Python(PythonError {
            kind: PythonErrorKind::InvalidGlobals,
            type_name: "TypeError".into(),
            message,
            traceback: String::new(),
            exit_code: None,
        }),
        output: Output::default(),
    };
    match serde_json::to_value(globals) {
        Ok(serde_json::Value::Object(map)) => Ok(serde_json::Value::Object(map).to_string()),
        Ok(serde_json::Value::Null) => Ok("{}".into()),
        Ok(other) => Err(invalid(format!("globals must be a JSON object, not {other}"))),
        Err(e) => Err(invalid(format!("globals cannot be serialised to JSON: {e}"))),
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Instances go first (they may hold timers of the async runtime), and
        // the async runtime must not block when dropped from async code.
        self.idle.get_mut().unwrap().clear();
        // SAFETY: `tokio` is not used after this point; `Inner` is being dropped.
        let tokio = unsafe { std::mem::ManuallyDrop::take(&mut self.tokio) };
        tokio.shutdown_background();
    }
}

impl Inner {
    fn acquire_slot(&self) -> SlotPermit {
        loop {
            if let Some(permit) = self.slots.try_acquire() {
                return permit;
            }
            // Every slot is taken: give up a warm instance if there is one.
            if let Some(worker) = self.idle.lock().unwrap().pop() {
                drop(worker);
                continue;
            }
            if let Some(permit) = self.slots.acquire_timeout(Duration::from_millis(200)) {
                return permit;
            }
        }
    }

    pub(crate) fn new_worker(&self) -> Result<Worker, Error> {
        let slot = self.acquire_slot();
        let state = State::new(
            &self.layout,
            self.memory_limit,
            self.output_limit,
            self.stdout_sink.clone(),
            self.stderr_sink.clone(),
        )?;
        Worker::instantiate(&self.tokio, &self.pre, state, slot, self.limits.fuel.is_some())
    }

    /// Runs a typed call on a warm instance, which goes back to the pool
    /// unless the call stopped it.
    fn with_warm<R>(
        &self,
        f: impl AsyncFnOnce(&mut wasmtime::Store<State>, &bindings::Runtime) -> wasmtime::Result<R>,
    ) -> Result<R, SandboxError> {
        let idle = match self.isolation {
            Isolation::Warm => self.idle.lock().unwrap().pop(),
            Isolation::Fresh => None,
        };
        let mut worker = match idle {
            Some(worker) => worker,
            None => self.new_worker()?,
        };
        let result = worker.call(&self.tokio, self.limits, f);
        let output = worker.take_output();
        if !output.stderr.is_empty() || !output.stdout.is_empty() {
            tracing::debug!(stdout = %output.stdout_text(), stderr = %output.stderr_text(), "guest output");
        }
        if worker.is_healthy() && self.isolation == Isolation::Warm {
            self.idle.lock().unwrap().push(worker);
        }
        result
    }

    pub(crate) fn execute_on(&self, worker: &mut Worker, code: &str, globals: &str) -> Result<Execution, ExecError> {
        let result = worker.call(&self.tokio, self.limits, async |store, api| {
            api.mung_runtime_python().call_execute(store, code, globals).await
        });
        let output = worker.take_output();
        let failure = match result {
            Ok(Ok(json)) => match serde_json::from_str(&json) {
                Ok(value) => return Ok(Execution { value, output }),
                Err(e) => ExecFailure::Python(PythonError {
                    kind: PythonErrorKind::NotJson,
                    type_name: "ValueError".into(),
                    message: format!("the guest returned malformed JSON: {e}"),
                    traceback: String::new(),
                    exit_code: None,
                }),
            },
            Ok(Err(error)) => ExecFailure::Python(error.into()),
            Err(stop) => ExecFailure::Sandbox(stop),
        };
        Err(ExecError { failure, output })
    }
}
