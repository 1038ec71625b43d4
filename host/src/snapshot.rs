//! The pre-initialised snapshot (placeholder until implemented).

use mung_runtime_python_wasm::CacheDir;

use crate::artifacts::{CoreModule, PackagesDir, Upstream};
use crate::error::Error;
use crate::sandbox::Layout;

pub(crate) fn ensure(_cache: &CacheDir, upstream: &Upstream, _packages: &PackagesDir, _layout: &Layout) -> Result<CoreModule, Error> {
    Ok(CoreModule {
        path: upstream.interpreter.module_path(),
        sha256: upstream.interpreter.module_sha256().to_string(),
    })
}
