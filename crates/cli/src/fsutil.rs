//! Writing output files without ever leaving a half-written one, and
//! telling files apart.

use std::io::Write;
use std::path::Path;
#[cfg(not(unix))]
use std::path::PathBuf;

/// The identity of a file or directory: device and inode on Unix (the
/// canonical path elsewhere).
#[cfg(unix)]
pub(crate) type FileId = (u64, u64);
/// The identity of a file or directory: device and inode on Unix (the
/// canonical path elsewhere).
#[cfg(not(unix))]
pub(crate) type FileId = PathBuf;

/// The [`FileId`] of `path`, whose metadata (links followed) is `meta`.
#[cfg(unix)]
pub(crate) fn file_id(_path: &Path, meta: &std::fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

/// The [`FileId`] of `path`, whose metadata (links followed) is `meta`.
#[cfg(not(unix))]
pub(crate) fn file_id(path: &Path, _meta: &std::fs::Metadata) -> FileId {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Whether two paths name the same existing file (also through links).
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(ma), Ok(mb)) => file_id(a, &ma) == file_id(b, &mb),
        _ => false,
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, flushed, then renamed over `path`. The file gets the usual
/// mode (0666 less the umask), not the temporary file's private 0600.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_atomic_io(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn write_atomic_io(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".mung-runtime-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // open(2) applies the umask to this mode.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_whole_and_respects_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.xml");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            // Whatever the umask, the group/other read bits of a 0022 or 0002
            // umask survive; 0600 would mean the umask was not respected.
            assert_ne!(mode, 0o600, "mode {mode:o}");
        }
    }
}
