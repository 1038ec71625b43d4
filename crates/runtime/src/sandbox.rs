//! What one instance sees: its WASI context (mounts, environment, captured
//! stdio, no network) and its resource limits.

use std::path::{Path, PathBuf};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::error::Error;
use crate::grants::WriteQuota;
use crate::output::{Capture, OutputSink};

/// Guest path of the stdlib directory (holding `python315.zip`).
pub const STDLIB_GUEST_PATH: &str = "/usr/local/lib";
/// Guest path of the packages tree.
pub const PACKAGES_GUEST_PATH: &str = "/packages";
/// Guest path of the vendored `mung` package.
pub const VENDOR_GUEST_PATH: &str = "/vendor";

/// A host directory made visible to the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the guest sees it (an absolute path).
    pub guest: String,
    /// Whether the guest may create, change and delete files in it.
    pub writable: bool,
}

impl Mount {
    /// A read-only mount.
    pub fn read_only(host: impl Into<PathBuf>, guest: impl Into<String>) -> Mount {
        Mount { host: host.into(), guest: guest.into(), writable: false }
    }

    /// A read-write mount.
    pub fn read_write(host: impl Into<PathBuf>, guest: impl Into<String>) -> Mount {
        Mount { host: host.into(), guest: guest.into(), writable: true }
    }
}

/// The fixed mounts, in preopen order, followed by the caller's grants.
///
/// The pre-initialised snapshot is taken with the fixed mounts only, and with
/// the guest libc's preopen table emptied just before (see `snapshot.rs`), so
/// every instance scans its own preopens on its first path lookup: the
/// grants may differ from one runtime to the next without a new snapshot,
/// and the guest sees each grant at the guest path it was given.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub mounts: Vec<Mount>,
    /// Environment variables of the guest beyond the fixed ones (not part of
    /// the snapshot: the interpreter read its environment before it).
    pub env: Vec<(&'static str, &'static str)>,
}

/// How many of [`Layout::mounts`] are the fixed ones.
const FIXED_MOUNTS: usize = 3;

impl Layout {
    pub(crate) fn new(stdlib: &Path, packages: &Path, vendor: &Path, extra: &[Mount]) -> Result<Layout, Error> {
        let mounts = vec![
            Mount::read_only(stdlib, STDLIB_GUEST_PATH),
            Mount::read_only(packages, PACKAGES_GUEST_PATH),
            Mount::read_only(vendor, VENDOR_GUEST_PATH),
        ];
        let mut layout = Layout { mounts, env: Vec::new() };
        for m in extra {
            layout.push(m)?;
        }
        Ok(layout)
    }

    /// This layout and one more grant (a session's directory).
    pub(crate) fn with(&self, mount: &Mount) -> Result<Layout, Error> {
        let mut layout = self.clone();
        layout.push(mount)?;
        Ok(layout)
    }

    fn push(&mut self, m: &Mount) -> Result<(), Error> {
        let guest = normalize_guest_path(&m.guest).ok_or_else(|| {
            Error::Config(format!(
                "the guest path {:?} of {} must be absolute and must not contain `..`",
                m.guest,
                m.host.display()
            ))
        })?;
        if self.mounts.iter().any(|e| e.guest == guest) {
            return Err(Error::Config(format!("two directories are mounted at {guest}")));
        }
        match std::fs::metadata(&m.host) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(Error::Mount { path: m.host.clone(), reason: "not a directory".into() }),
            Err(e) => return Err(Error::Mount { path: m.host.clone(), reason: e.to_string() }),
        }
        self.mounts.push(Mount { host: m.host.clone(), guest, writable: m.writable });
        Ok(())
    }

    /// The fixed mounts alone, without extra environment: what the snapshot
    /// is taken with.
    pub(crate) fn fixed(&self) -> Layout {
        Layout { mounts: self.mounts[..FIXED_MOUNTS].to_vec(), env: Vec::new() }
    }

    /// The guest paths in preopen order.
    pub(crate) fn guest_paths(&self) -> Vec<&str> {
        self.mounts.iter().map(|m| m.guest.as_str()).collect()
    }

    /// A WASI context with these mounts, the guest environment and the
    /// given stdio captures; no network, no host environment, no stdin.
    pub(crate) fn wasi(&self, stdout: &Capture, stderr: &Capture) -> Result<WasiCtx, Error> {
        Ok(self.wasi_builder(stdout, stderr)?.build())
    }

    /// The builder behind [`Self::wasi`] (also used for WASI preview1).
    pub(crate) fn wasi_builder(&self, stdout: &Capture, stderr: &Capture) -> Result<WasiCtxBuilder, Error> {
        let mut b = WasiCtxBuilder::new();
        // File operations run on tokio's blocking pool, not on the calling
        // thread: a read or open that blocks (a FIFO or a device in a grant)
        // then leaves the call's future pending, so the deadline still stops
        // the call. The blocked host thread itself stays until the operation
        // returns (it cannot be cancelled); the call and its instance are
        // gone. This costs a thread hop per file operation (~10 µs).
        b.allow_blocking_current_thread(false);
        // argv[1:] are appended to sys.path by the interpreter's first turn.
        b.args(&["python", PACKAGES_GUEST_PATH, VENDOR_GUEST_PATH])
            .env("HOME", "/tmp")
            .env("TMPDIR", "/tmp")
            .env("PYTHONTZPATH", "")
            .envs(&self.env)
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        for m in &self.mounts {
            let perms = if m.writable { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
            b.preopened_dir(&m.host, &m.guest, perms)
                .map_err(|e| Error::Mount { path: m.host.clone(), reason: e.to_string() })?;
        }
        Ok(b)
    }
}

/// `/data/./x//` → `/data/x`: the form the guest libc matches paths against.
/// `None` if the path is relative or has a `..` component.
fn normalize_guest_path(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let mut out = String::new();
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            return None;
        }
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

/// Caps the guest's memory. A denied `memory.grow` is reported to Python as
/// `MemoryError`; `hit` remembers it so a later hard failure can be named.
/// It also counts the linear memory the instance holds (for
/// [`Usage`](crate::Usage)): wasmtime asks it before creating a memory
/// (from 0) and before every growth.
pub(crate) struct Limiter {
    pub memory_limit: u64,
    pub hit: bool,
    /// Bytes of linear memory held, over all the instance's memories.
    pub held: u64,
    /// The growth last allowed, taken back if wasmtime then fails it.
    last_growth: u64,
}

impl Limiter {
    pub(crate) fn new(memory_limit: u64) -> Limiter {
        Limiter { memory_limit, hit: false, held: 0, last_growth: 0 }
    }
}

/// The most table elements an instance may grow to.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired as u64 > self.memory_limit {
            self.hit = true;
            return Ok(false);
        }
        self.last_growth = desired.saturating_sub(current) as u64;
        self.held += self.last_growth;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        tracing::debug!(%error, "a memory growth the limiter allowed failed");
        self.held -= std::mem::take(&mut self.last_growth);
        Ok(())
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// The data of one instance's store.
pub(crate) struct State {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub limiter: Limiter,
    pub stdout: Capture,
    pub stderr: Capture,
    /// What is left of the write quota (see `grants.rs`).
    pub write_quota: WriteQuota,
}

impl State {
    pub(crate) fn new(
        layout: &Layout,
        memory_limit: u64,
        output_limit: usize,
        write_quota: u64,
        stdout_sink: Option<OutputSink>,
        stderr_sink: Option<OutputSink>,
    ) -> Result<State, Error> {
        let stdout = Capture::new(output_limit, stdout_sink);
        let stderr = Capture::new(output_limit, stderr_sink);
        Ok(State {
            wasi: layout.wasi(&stdout, &stderr)?,
            table: ResourceTable::new(),
            limiter: Limiter::new(memory_limit),
            stdout,
            stderr,
            write_quota: WriteQuota::new(write_quota),
        })
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}
