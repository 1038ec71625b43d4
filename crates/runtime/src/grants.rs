//! What a guest may do inside a writable grant beyond what wasmtime-wasi
//! allows: it may not create symbolic links that lead out of the grant, and
//! it may write only so many bytes.
//!
//! wasmtime-wasi already keeps the guest's own path lookups inside its
//! grants, and refuses absolute link targets; but a relative link such as
//! `../../etc` is created on the host as written, a trap for host tools that
//! later walk the directory. Nothing bounds how much a script writes either.
//! Both are enforced here by shadowing four `wasi:filesystem/types` methods
//! in the linker, which then call wasmtime-wasi's own implementation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::WasiFilesystemView;
use wasmtime_wasi::p2::bindings::filesystem::types::{Descriptor, ErrorCode, HostDescriptor};
use wasmtime_wasi::p2::{DynOutputStream, FsError, OutputStream, Pollable, StreamError, StreamResult};

use crate::error::Error;
use crate::sandbox::State;

/// The interface whose methods are shadowed, at the version wasmtime-wasi 48
/// registers it (the component's older 0.2 imports resolve to it).
const FILESYSTEM_TYPES: &str = "wasi:filesystem/types@0.2.12";

/// `ENOSPC`, the same on Linux and macOS: the guest sees "No space left on
/// device" when its quota is spent.
const ENOSPC: i32 = 28;

/// How many more bytes the guest of one instance may write to its grants.
#[derive(Clone, Debug)]
pub(crate) struct WriteQuota(Arc<AtomicU64>);

impl WriteQuota {
    pub(crate) fn new(bytes: u64) -> WriteQuota {
        WriteQuota(Arc::new(AtomicU64::new(bytes)))
    }

    /// Sets how many more bytes may be written from now on.
    pub(crate) fn set(&self, bytes: u64) {
        self.0.store(bytes, Ordering::Relaxed);
    }

    /// Takes `n` bytes from the quota, or none if fewer are left.
    fn take(&self, n: usize) -> Result<(), std::io::Error> {
        let n = n as u64;
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(n))
            .map(drop)
            .map_err(|_| std::io::Error::from_raw_os_error(ENOSPC))
    }
}

/// Whether a link at `link` (a path relative to a directory descriptor) with
/// the text `target` could resolve outside that directory. Judged on the
/// text alone: `..` above the directory, or an absolute target. Stricter
/// than needed for descriptors of subdirectories, which is safe.
pub(crate) fn link_escapes(link: &str, target: &str) -> bool {
    if target.starts_with('/') {
        return true;
    }
    let parent = link.rsplit_once('/').map_or("", |(parent, _)| parent);
    let mut depth = 0usize;
    for part in parent.split('/').chain(target.split('/')) {
        match part {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            _ => depth += 1,
        }
    }
    false
}

/// Shadows `symlink-at`, `write`, `write-via-stream` and `append-via-stream`
/// of `wasi:filesystem/types` in `linker` (after wasmtime-wasi was added).
pub(crate) fn add_to_linker(linker: &mut Linker<State>) -> Result<(), Error> {
    linker.allow_shadowing(true);
    let mut types = linker.instance(FILESYSTEM_TYPES).map_err(Error::wasmtime("finding wasi:filesystem/types"))?;
    types
        .func_wrap_async(
            "[method]descriptor.symlink-at",
            |mut store: StoreContextMut<'_, State>, (fd, target, link): (Resource<Descriptor>, String, String)| {
                Box::new(async move {
                    if link_escapes(&link, &target) {
                        return Ok((Err(ErrorCode::NotPermitted),));
                    }
                    let mut fs = store.data_mut().filesystem();
                    Ok((guest_result(HostDescriptor::symlink_at(&mut fs, fd, target, link).await)?,))
                })
            },
        )
        .map_err(Error::wasmtime("shadowing symlink-at"))?;
    types
        .func_wrap_async(
            "[method]descriptor.write",
            |mut store: StoreContextMut<'_, State>, (fd, buf, offset): (Resource<Descriptor>, Vec<u8>, u64)| {
                Box::new(async move {
                    if store.data().write_quota.take(buf.len()).is_err() {
                        return Ok((Err(ErrorCode::InsufficientSpace),));
                    }
                    let mut fs = store.data_mut().filesystem();
                    Ok((guest_result(HostDescriptor::write(&mut fs, fd, buf, offset).await)?,))
                })
            },
        )
        .map_err(Error::wasmtime("shadowing write"))?;
    types
        .func_wrap(
            "[method]descriptor.write-via-stream",
            |mut store: StoreContextMut<'_, State>, (fd, offset): (Resource<Descriptor>, u64)| {
                let quota = store.data().write_quota.clone();
                let mut fs = store.data_mut().filesystem();
                let stream = HostDescriptor::write_via_stream(&mut fs, fd, offset);
                Ok((metered(fs.table, stream, quota)?,))
            },
        )
        .map_err(Error::wasmtime("shadowing write-via-stream"))?;
    types
        .func_wrap(
            "[method]descriptor.append-via-stream",
            |mut store: StoreContextMut<'_, State>, (fd,): (Resource<Descriptor>,)| {
                let quota = store.data().write_quota.clone();
                let mut fs = store.data_mut().filesystem();
                let stream = HostDescriptor::append_via_stream(&mut fs, fd);
                Ok((metered(fs.table, stream, quota)?,))
            },
        )
        .map_err(Error::wasmtime("shadowing append-via-stream"))?;
    Ok(())
}

/// wasmtime-wasi's result as the guest sees it: an error code, or a trap.
fn guest_result<T>(result: Result<T, FsError>) -> wasmtime::Result<Result<T, ErrorCode>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) => Ok(Err(e.downcast()?)),
    }
}

/// Replaces a new file stream in the table by one that counts its bytes.
fn metered(
    table: &mut wasmtime::component::ResourceTable,
    stream: Result<Resource<DynOutputStream>, FsError>,
    quota: WriteQuota,
) -> wasmtime::Result<Result<Resource<DynOutputStream>, ErrorCode>> {
    let stream = match guest_result(stream)? {
        Ok(stream) => stream,
        Err(code) => return Ok(Err(code)),
    };
    let inner = table.delete(stream)?;
    let metered: DynOutputStream = Box::new(MeteredStream { inner, quota });
    Ok(Ok(table.push(metered)?))
}

/// A file output stream that takes every byte from the write quota first.
struct MeteredStream {
    inner: DynOutputStream,
    quota: WriteQuota,
}

impl MeteredStream {
    fn take(&self, n: usize) -> StreamResult<()> {
        self.quota.take(n).map_err(|e| StreamError::LastOperationFailed(wasmtime::Error::from(e)))
    }
}

#[async_trait::async_trait]
impl Pollable for MeteredStream {
    async fn ready(&mut self) {
        self.inner.ready().await
    }
}

#[async_trait::async_trait]
impl OutputStream for MeteredStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.take(bytes.len())?;
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.inner.flush()
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.inner.check_write()
    }

    async fn blocking_write_and_flush(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.take(bytes.len())?;
        self.inner.blocking_write_and_flush(bytes).await
    }

    fn write_zeroes(&mut self, n: usize) -> StreamResult<()> {
        self.take(n)?;
        self.inner.write_zeroes(n)
    }

    async fn write_ready(&mut self) -> StreamResult<usize> {
        self.inner.write_ready().await
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_that_climb_out_escape() {
        for (link, target) in [
            ("l", "../x"),
            ("l", "/etc/passwd"),
            ("sub/l", "../../x"),
            ("l", "a/../../x"),
            ("sub/l", "./../.././x"),
            ("../l", "x"),
        ] {
            assert!(link_escapes(link, target), "{link} -> {target}");
        }
    }

    #[test]
    fn links_that_stay_inside_are_fine() {
        for (link, target) in
            [("l", "x"), ("l", "sub/x"), ("sub/l", "../x"), ("a/b/l", "../../x"), ("l", "a/../b"), ("l", ".")]
        {
            assert!(!link_escapes(link, target), "{link} -> {target}");
        }
    }

    #[test]
    fn the_quota_is_taken_whole_or_not_at_all() {
        let quota = WriteQuota::new(10);
        quota.take(6).unwrap();
        let err = quota.take(5).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(ENOSPC));
        quota.take(4).unwrap();
        assert!(quota.take(1).is_err());
        quota.take(0).unwrap();
    }
}
