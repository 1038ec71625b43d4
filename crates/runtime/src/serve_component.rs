//! The portable HTTP component: the standalone component with the HTTP
//! adapter (`guests/http-adapter/`) composed in front, for `wasmtime serve` and other
//! `wasi:http` hosts.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mung_runtime_python_wasm::CacheDir;
use mung_runtime_python_wasm::cache::{prune, write_atomic};
use mung_runtime_python_wasm::component::compose_http;

use crate::artifacts::{self, CoreModule, PackagesDir, Upstream};
use crate::builder::RuntimeInfo;
use crate::error::Error;
use crate::limits::Limits;
use crate::runtime::Runtime;
use crate::sandbox::{PACKAGES_GUEST_PATH, STDLIB_GUEST_PATH, VENDOR_GUEST_PATH};

/// The HTTP adapter component (built from `guests/http-adapter/` by `build.rs`).
const HTTP_ADAPTER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mung_runtime_http_adapter.wasm"));

/// HTTP components kept in the cache (each is about as large as the
/// standalone one).
const KEEP_HTTP_COMPONENTS: usize = 2;

/// The wasmtime-cli release the `wasmtime serve` command line was tested with.
pub const WASMTIME_SERVE_TESTED: &str = "48.0.8";

impl Runtime {
    /// The portable HTTP component: it exports `wasi:http/incoming-handler`
    /// (serving `POST /v1/validate`, `/v1/fix` and `/v1/extract/*` like
    /// `mung-runtime serve`, with the same problem+json errors) and still
    /// exports the three `mung:runtime` interfaces; it imports only WASI 0.2.
    ///
    /// Built from this runtime's standalone component on first use and kept
    /// under `<cache>/components/http/`; returns its path. Run it with
    /// [`Runtime::wasmtime_serve_args`].
    pub fn http_component_path(&self) -> Result<PathBuf, Error> {
        let info = self.info();
        let cache = CacheDir::new(info.cache_dir.clone());
        let standalone_key = info
            .component_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .ok_or_else(|| Error::Config(format!("no component file name in {}", info.component_path.display())))?;
        let key = artifacts::cache_key(&[
            standalone_key.as_bytes(),
            HTTP_ADAPTER,
            mung_runtime_python_wasm::pins::toolchain().as_bytes(),
        ]);
        let dir = cache.subdir("components")?.join("http");
        let path = dir.join(format!("{}.wasm", &key[..32]));
        if path.exists() {
            return Ok(path);
        }
        let _lock = cache.lock(&format!("http-component-{}", &key[..16]))?;
        if path.exists() {
            return Ok(path);
        }
        tracing::info!(path = %path.display(), "building the HTTP component");
        let standalone = match fs::read(&info.component_path) {
            Ok(bytes) => bytes,
            // The compiled form was cached but the standalone file was pruned.
            Err(_) => self.rebuild_standalone(&cache)?,
        };
        fs::create_dir_all(&dir).map_err(Error::io(format!("creating {}", dir.display())))?;
        let component = compose_http(&standalone, HTTP_ADAPTER)?;
        drop(standalone);
        write_atomic(&path, &component)?;
        prune(&dir, "wasm", KEEP_HTTP_COMPONENTS);
        Ok(path)
    }

    /// The standalone component again, from the same core module.
    fn rebuild_standalone(&self, cache: &CacheDir) -> Result<Vec<u8>, Error> {
        let info = self.info();
        let upstream = Upstream::ensure(cache)?;
        let core = if info.preinitialized {
            let packages = PackagesDir::at(&info.packages_dir)?;
            crate::snapshot::ensure(cache, &upstream, &packages, &self.pool.instance_config().layout)?
        } else {
            CoreModule::plain(cache, &upstream)?
        };
        artifacts::build_component(cache, &core)
    }

    /// The arguments after `wasmtime` that serve `component` (from
    /// [`Runtime::http_component_path`]) on `addr` with `wasmtime serve` of
    /// wasmtime-cli [`WASMTIME_SERVE_TESTED`]: the exceptions proposal, this
    /// runtime's [limits](crate::Limits) (wasm stack, memory cap, deadline,
    /// and pooling limits that fit the component), the three directories in
    /// the order the snapshot expects, the guest's environment, and instance
    /// reuse (like the library's warm instances).
    pub fn wasmtime_serve_args(&self, component: &Path, addr: &str) -> Vec<OsString> {
        wasmtime_serve_args(self.info(), component, addr)
    }
}

/// See [`Runtime::wasmtime_serve_args`].
pub(crate) fn wasmtime_serve_args(info: &RuntimeInfo, component: &Path, addr: &str) -> Vec<OsString> {
    let dir = |host: &Path, guest: &str| {
        let mut s = OsString::from(host.as_os_str());
        s.push("::");
        s.push(guest);
        s
    };
    let mut args: Vec<OsString> =
        ["serve", "--addr", addr, "-S", "cli", "-W"].into_iter().map(OsString::from).collect();
    args.push(wasm_flags(&info.limits).into());
    args.push("-O".into());
    args.push(pooling_flags(&info.limits).into());
    for (host, guest) in [
        (&info.stdlib_dir, STDLIB_GUEST_PATH),
        (&info.packages_dir, PACKAGES_GUEST_PATH),
        (&info.vendor_dir, VENDOR_GUEST_PATH),
    ] {
        args.push("--dir".into());
        args.push(dir(host, guest));
    }
    for env in ["HOME=/tmp", "TMPDIR=/tmp", "PYTHONTZPATH="] {
        args.push("--env".into());
        args.push(env.into());
    }
    args.push("--max-instance-reuse-count".into());
    args.push(MAX_INSTANCE_REUSE.to_string().into());
    args.push(component.as_os_str().to_owned());
    args
}

/// Requests one instance serves before `wasmtime serve` drops it.
const MAX_INSTANCE_REUSE: u32 = 1000;

/// `-W`: the runtime's engine settings and limits as `wasmtime serve` takes
/// them: the exceptions proposal (CPython for WASI uses it), the wasm stack
/// (with room for it on the async stack), the memory cap and the per-call
/// deadline (the timeout turns on epoch interruption). Fuel stays off:
/// `wasmtime serve` meters it per instance, not per request.
fn wasm_flags(limits: &Limits) -> String {
    format!(
        "exceptions=y,max-wasm-stack={},async-stack-size={},max-memory-size={},timeout={}",
        limits.wasm_stack,
        limits.async_stack,
        limits.memory,
        duration_flag(limits.timeout)
    )
}

/// `-O`: pooling limits that fit the composed component, as the runtime
/// sizes its own pool: the interpreter's funcref table is larger than
/// wasmtime's default 20,000 elements and its instance state larger than
/// the default 1 MiB.
fn pooling_flags(limits: &Limits) -> String {
    format!(
        "pooling-table-elements={},pooling-max-core-instance-size={},pooling-max-component-instance-size={}",
        limits.table_elements, limits.instance_size, limits.instance_size
    )
}

/// A duration as wasmtime-cli parses it: whole seconds, else milliseconds
/// (rounded up, so a deadline never shrinks to zero).
fn duration_flag(d: Duration) -> String {
    if d.subsec_nanos() == 0 { format!("{}s", d.as_secs()) } else { format!("{}ms", d.as_nanos().div_ceil(1_000_000)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags of a default runtime, as README.md shows them.
    #[test]
    fn default_flags() {
        let limits = Limits::default();
        assert_eq!(
            wasm_flags(&limits),
            "exceptions=y,max-wasm-stack=4194304,async-stack-size=5242880,max-memory-size=1073741824,timeout=60s"
        );
        assert_eq!(
            pooling_flags(&limits),
            "pooling-table-elements=65536,pooling-max-core-instance-size=2097152,\
             pooling-max-component-instance-size=2097152"
        );
    }

    /// A runtime's own memory cap and deadline reach the command line.
    #[test]
    fn flags_follow_the_runtime() {
        let limits = Limits { memory: 512 << 20, timeout: Duration::from_millis(1500), ..Limits::default() };
        assert!(wasm_flags(&limits).ends_with(",max-memory-size=536870912,timeout=1500ms"), "{}", wasm_flags(&limits));
        assert_eq!(duration_flag(Duration::from_secs(10)), "10s");
        assert_eq!(duration_flag(Duration::from_micros(1)), "1ms");
    }
}
