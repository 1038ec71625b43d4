//! [`RuntimeBuilder`]: settings, and the pipeline that turns them into a
//! [`Runtime`]: artifacts, snapshot, compiled component, linker, pool.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mung_runtime_python_wasm::CacheDir;
use wasmtime::component::Linker;

use crate::artifacts::{self, CoreModule, PackagesDir, Upstream};
use crate::bindings;
use crate::compile_cache::{self, CacheOutcome};
use crate::engine::{self, EngineSettings};
use crate::error::Error;
use crate::extraction::MaskKernels;
use crate::grants;
use crate::instance::CallLimits;
use crate::limits::Limits;
use crate::output::OutputSink;
use crate::pool::{InstanceConfig, Isolation, Pool, PoolSettings};
use crate::runtime::Runtime;
use crate::sandbox::{Layout, Mount};
use crate::snapshot;
use crate::validation::Validator;

/// Default cap on one instance's linear memory.
pub const DEFAULT_MEMORY_LIMIT: u64 = 1 << 30;
/// Default wall-clock deadline of one call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap on what one call may print to each of stdout and stderr.
pub const DEFAULT_OUTPUT_LIMIT: usize = 16 << 20;
/// Default cap on the bytes one instance may write to its writable grants.
pub const DEFAULT_WRITE_QUOTA: u64 = 1 << 30;
/// Default for [`RuntimeBuilder::prepared_instances`].
pub const DEFAULT_PREPARED_INSTANCES: usize = 2;
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
    write_quota: u64,
    mounts: Vec<Mount>,
    max_instances: Option<u32>,
    acquire_timeout: Option<Duration>,
    isolation: Isolation,
    prepared_instances: usize,
    hash_seed: HashSeed,
    mask_kernels: MaskKernels,
    validator: Validator,
    epoch_interruption: bool,
    stdout_sink: Option<OutputSink>,
    stderr_sink: Option<OutputSink>,
}

/// Where an instance's `hash()` secret comes from (what CPython's
/// `PYTHONHASHSEED` decides). A script that knows the secret can craft
/// string keys that all collide in a dictionary (hash flooding); neither
/// choice lets a script learn another machine's secret.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashSeed {
    /// One secret per machine (per cache directory), drawn at random when
    /// the pre-initialised snapshot is built; all instances made from that
    /// snapshot share it, and `mung-runtime cache clean` draws a new one.
    /// Instances start in microseconds. (The default.)
    #[default]
    PerMachine,
    /// A new secret for every instance: instances start from the plain
    /// interpreter and pay its whole initialisation, imports included
    /// (see the benchmark table for the cost), and typed calls import what
    /// they use on first use.
    PerInstance,
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
            write_quota: DEFAULT_WRITE_QUOTA,
            mounts: Vec::new(),
            max_instances: None,
            acquire_timeout: None,
            isolation: Isolation::Warm,
            prepared_instances: DEFAULT_PREPARED_INSTANCES,
            hash_seed: HashSeed::PerMachine,
            mask_kernels: MaskKernels::Compiled,
            validator: Validator::Compiled,
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

    /// Caps how many bytes one instance may write to its writable grants
    /// (default 1 GiB), so a script cannot fill the disk. Past it, writes
    /// fail in the guest with "No space left on device". Every byte written
    /// counts, also those that overwrite earlier ones.
    pub fn write_quota(mut self, bytes: u64) -> Self {
        self.write_quota = bytes;
        self
    }

    /// Grants the guest a host directory. Symbolic links the guest creates
    /// in a writable grant may not lead out of it (they fail with
    /// `PermissionError`), and its writes count against the
    /// [write quota](Self::write_quota).
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

    /// How long a call waits for an instance when all
    /// [`max_instances`](Self::max_instances) are alive (default: the call's
    /// [timeout](Self::timeout)). Past it the call fails with
    /// [`Error::AllInstancesBusy`] (as [`SandboxError::Setup`](crate::SandboxError::Setup)
    /// for calls). Each live [`Session`](crate::Session) holds an instance
    /// until it is dropped, so a thread that keeps `max_instances` sessions
    /// and then calls [`Runtime::execute`] gets this error rather than
    /// waiting for itself forever.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = Some(timeout);
        self
    }

    /// Where each instance's `hash()` secret comes from (default
    /// [`HashSeed::PerMachine`]). This also decides how instances start:
    /// [`HashSeed::PerMachine`] from the snapshot taken after numpy, scipy,
    /// lxml, PIL, `mung` and `mstudio` were imported (in microseconds, with
    /// or without [mounted](Self::mount) directories: the snapshot is taken
    /// with the guest's table of mounts emptied, so each instance finds its
    /// own); [`HashSeed::PerInstance`] from the plain interpreter, which
    /// initialises itself and pays those imports (about a second) when it
    /// first needs them.
    pub fn hash_seed(mut self, seed: HashSeed) -> Self {
        self.hash_seed = seed;
        self
    }

    /// How typed calls get their instance (default [`Isolation::Warm`]).
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }

    /// How many fresh instances to keep booted ahead of time for
    /// [`Runtime::execute`], on a background thread that works while no
    /// fresh call runs and starts with the first `execute` (default 2; 0
    /// turns it off). An `execute` then takes one that is ready instead of
    /// starting its own, and leaves its used instance (like fresh typed calls
    /// under [`Isolation::Fresh`], which never enter the interpreter and make
    /// their own) to that thread to drop: what every fresh interpreter pays
    /// before and after its call (fresh randomness, first touches of the
    /// snapshot's memory, the slot's reset) is paid between calls. A prepared
    /// instance has only run the runtime's own start-up, so it is as fresh as
    /// one made for the call. Prepared instances count towards
    /// [`max_instances`](Self::max_instances); a call that needs their slot
    /// evicts them.
    pub fn prepared_instances(mut self, n: usize) -> Self {
        self.prepared_instances = n;
        self
    }

    /// Which code runs the mask tools (default [`MaskKernels::Compiled`]);
    /// [`MaskKernels::Reference`] runs `mstudio`'s numpy implementation
    /// instead, to compare the two.
    pub fn mask_kernels(mut self, kernels: MaskKernels) -> Self {
        self.mask_kernels = kernels;
        self
    }

    /// Which code validates documents (default [`Validator::Compiled`]);
    /// [`Validator::Reference`] runs `mstudio.validation` for every
    /// document instead, to compare the two.
    pub fn validator(mut self, validator: Validator) -> Self {
        self.validator = validator;
        self
    }

    /// Turns off epoch interruption, so the deadline can no longer stop a
    /// busy guest (only blocking calls). For measuring its overhead only.
    #[cfg(feature = "bench-internals")]
    pub(crate) fn without_epoch_interruption(mut self) -> Self {
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
        let mut layout =
            Layout::new(&upstream.interpreter.stdlib_dir(), packages.path(), &upstream.mung.site_dir(), &self.mounts)?;
        layout.env.extend(self.mask_kernels.guest_env());
        layout.env.extend(self.validator.guest_env());
        // The snapshot serves any mounts (see `snapshot.rs`). A secret per
        // instance needs the plain interpreter: the snapshot's is fixed when
        // it is built.
        let preinitialized = self.hash_seed == HashSeed::PerMachine;
        let core = if preinitialized {
            snapshot::ensure(&cache, &upstream, &packages, &layout)?
        } else {
            CoreModule::plain(&cache, &upstream)?
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
        grants::add_to_linker(&mut linker)?;
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
            hash_seed: self.hash_seed,
            packages_dir: packages.path().to_path_buf(),
            stdlib_dir: upstream.interpreter.stdlib_dir(),
            vendor_dir: upstream.mung.site_dir(),
            packages_hash: packages.hash().to_string(),
            max_instances,
            limits: Limits {
                memory: self.memory_limit,
                timeout: self.timeout,
                fuel: self.fuel,
                output: self.output_limit,
                write_quota: self.write_quota,
                ..Limits::default()
            },
            setup_time: start.elapsed(),
        };
        tracing::debug!(?info, "runtime ready");
        let instance = InstanceConfig {
            layout,
            memory_limit: self.memory_limit,
            output_limit: self.output_limit,
            write_quota: self.write_quota,
            stdout_sink: self.stdout_sink,
            stderr_sink: self.stderr_sink,
        };
        let settings = PoolSettings {
            isolation: self.isolation,
            max_instances,
            acquire_timeout: self.acquire_timeout.unwrap_or(self.timeout),
            limits: CallLimits { deadline: self.timeout, fuel: self.fuel },
            prepared: self.prepared_instances.min(max_instances as usize),
        };
        let holds = upstream.holds.iter().cloned().chain(packages.hold()).collect();
        let pool = Pool::new(pre, instance, settings, holds, tokio);
        Ok(Runtime::from_parts(Arc::new(pool), Arc::new(info)))
    }
}

/// Facts about a built [`Runtime`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RuntimeInfo {
    /// The cache directory in use.
    pub cache_dir: PathBuf,
    /// The standalone component file (runs under any WASI 0.2 host).
    pub component_path: PathBuf,
    /// The compiled form of the component for this engine.
    pub compiled_path: PathBuf,
    /// Whether the compiled component came from the cache.
    pub cache_outcome: CacheOutcome,
    /// Whether instances start from the pre-initialised snapshot: exactly
    /// when [`hash_seed`](Self::hash_seed) is [`HashSeed::PerMachine`].
    pub preinitialized: bool,
    /// Where the instances' `hash()` secret comes from.
    pub hash_seed: HashSeed,
    /// The packages tree mounted at `/packages`.
    pub packages_dir: PathBuf,
    /// The interpreter's stdlib directory, mounted at `/usr/local/lib`.
    pub stdlib_dir: PathBuf,
    /// The unpacked `mung` package, mounted at `/vendor`.
    pub vendor_dir: PathBuf,
    /// sha256 of that tree's contents.
    pub packages_hash: String,
    /// The most instances alive at once.
    pub max_instances: u32,
    /// What one instance and one call may use.
    pub limits: Limits,
    /// How long [`RuntimeBuilder::build`] took.
    pub setup_time: Duration,
}
