//! What a guest may do inside a writable grant beyond what wasmtime-wasi
//! allows: it may not create symbolic links that lead out of the grant, and
//! it may write only so many bytes.
//!
//! wasmtime-wasi already keeps the guest's own path lookups inside its
//! grants, and refuses absolute link targets; but a relative link such as
//! `../../etc` is created on the host as written, a trap for host tools that
//! later walk the directory. Nothing bounds how much a script writes either.
//! Both are enforced here by shadowing six `wasi:filesystem/types` methods
//! in the linker, which then call wasmtime-wasi's own implementation.
//!
//! A link is judged where it lies, so moving it counts as making it anew:
//! `a/l -> ..` stays inside, but renamed to `l` it would point out. `rename-at`
//! and `link-at` re-check a link that is moved or hard-linked at its new
//! place, and `rename-at` of a directory re-checks every link below it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::WasiFilesystemCtxView;
use wasmtime_wasi::filesystem::WasiFilesystemView;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    Descriptor, DescriptorFlags, DescriptorType, ErrorCode, HostDescriptor, HostDirectoryEntryStream, OpenFlags,
    PathFlags,
};
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

/// The most entries below a directory that `rename-at` checks for links;
/// renaming a larger tree inside a grant is refused.
const MAX_RENAMED_ENTRIES: usize = 100_000;

/// [`moved_links_escape`] as the error a guest gets: `NotPermitted` when a
/// link would lead out of the grant at its new place.
async fn check_move(
    fs: &mut WasiFilesystemCtxView<'_>,
    fd: &Resource<Descriptor>,
    old: &str,
    new: &str,
) -> Result<(), ErrorCode> {
    if moved_links_escape(fs, fd, old, new).await? { Err(ErrorCode::NotPermitted) } else { Ok(()) }
}

/// Whether moving (or hard-linking) what is at `old` under `fd` to `new`
/// under `new_fd` would leave a link that leads out of `new_fd`'s directory:
/// `old` itself if it is a link, or any link below it if it is a directory.
/// `Err` carries the error code the guest gets.
async fn moved_links_escape(
    fs: &mut WasiFilesystemCtxView<'_>,
    fd: &Resource<Descriptor>,
    old: &str,
    new: &str,
) -> Result<bool, ErrorCode> {
    let borrow = |r: &Resource<Descriptor>| Resource::<Descriptor>::new_borrow(r.rep());
    if let Ok(target) = HostDescriptor::readlink_at(fs, borrow(fd), old.to_string()).await {
        return Ok(link_escapes(new, &target));
    }
    match HostDescriptor::stat_at(fs, borrow(fd), PathFlags::empty(), old.to_string()).await {
        Ok(stat) if stat.type_ == DescriptorType::Directory => {}
        // Not a link, not a directory, or not there: nothing to check (the
        // operation itself reports a missing file).
        _ => return Ok(false),
    }
    // Over paths relative to `old`, one open directory at a time (a deep
    // tree must not use up file descriptors).
    let mut dirs = vec![String::new()];
    let mut seen = 0usize;
    while let Some(rel) = dirs.pop() {
        let path = if rel.is_empty() { old.to_string() } else { format!("{old}/{rel}") };
        let dir = HostDescriptor::open_at(
            fs,
            borrow(fd),
            PathFlags::empty(),
            path,
            OpenFlags::DIRECTORY,
            DescriptorFlags::READ,
        )
        .await
        .map_err(to_code)?;
        let result = links_in_dir(fs, &dir, &rel, new, &mut dirs, &mut seen).await;
        let _ = fs.table.delete(dir);
        if result? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Checks the links directly inside `dir` (at `rel` below the moved
/// directory, which goes to `new`) and queues its subdirectories.
async fn links_in_dir(
    fs: &mut WasiFilesystemCtxView<'_>,
    dir: &Resource<Descriptor>,
    rel: &str,
    new: &str,
    dirs: &mut Vec<String>,
    seen: &mut usize,
) -> Result<bool, ErrorCode> {
    let borrow = || Resource::<Descriptor>::new_borrow(dir.rep());
    let stream = HostDescriptor::read_directory(fs, borrow()).await.map_err(to_code)?;
    let mut entries = Vec::new();
    loop {
        match HostDirectoryEntryStream::read_directory_entry(fs, Resource::new_borrow(stream.rep())).await {
            Ok(Some(entry)) => entries.push(entry),
            Ok(None) => break,
            Err(e) => {
                let _ = fs.table.delete(stream);
                return Err(to_code(e));
            }
        }
    }
    let _ = fs.table.delete(stream);
    for entry in entries {
        *seen += 1;
        if *seen > MAX_RENAMED_ENTRIES {
            return Err(ErrorCode::NotPermitted);
        }
        let rel = if rel.is_empty() { entry.name.clone() } else { format!("{rel}/{}", entry.name) };
        match entry.type_ {
            DescriptorType::SymbolicLink => {
                let target = HostDescriptor::readlink_at(fs, borrow(), entry.name).await.map_err(to_code)?;
                if link_escapes(&format!("{new}/{rel}"), &target) {
                    return Ok(true);
                }
            }
            DescriptorType::Directory => dirs.push(rel),
            _ => {}
        }
    }
    Ok(false)
}

/// The error code of a failed filesystem call (a trap-worthy failure of the
/// host becomes an I/O error here; the operation then fails in the guest).
fn to_code(e: FsError) -> ErrorCode {
    e.downcast().unwrap_or(ErrorCode::Io)
}

/// Shadows `symlink-at`, `rename-at`, `link-at`, `write`, `write-via-stream`
/// and `append-via-stream` of `wasi:filesystem/types` in `linker` (after
/// wasmtime-wasi was added).
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
            "[method]descriptor.rename-at",
            |mut store: StoreContextMut<'_, State>,
             (fd, old, new_fd, new): (Resource<Descriptor>, String, Resource<Descriptor>, String)| {
                Box::new(async move {
                    let mut fs = store.data_mut().filesystem();
                    if let Err(code) = check_move(&mut fs, &fd, &old, &new).await {
                        return Ok((Err(code),));
                    }
                    Ok((guest_result(HostDescriptor::rename_at(&mut fs, fd, old, new_fd, new).await)?,))
                })
            },
        )
        .map_err(Error::wasmtime("shadowing rename-at"))?;
    types
        .func_wrap_async(
            "[method]descriptor.link-at",
            |mut store: StoreContextMut<'_, State>,
             (fd, flags, old, new_fd, new): (Resource<Descriptor>, PathFlags, String, Resource<Descriptor>, String)| {
                Box::new(async move {
                    let mut fs = store.data_mut().filesystem();
                    // A hard link to a link is a second name for it.
                    if let Err(code) = check_move(&mut fs, &fd, &old, &new).await {
                        return Ok((Err(code),));
                    }
                    Ok((guest_result(HostDescriptor::link_at(&mut fs, fd, flags, old, new_fd, new).await)?,))
                })
            },
        )
        .map_err(Error::wasmtime("shadowing link-at"))?;
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
