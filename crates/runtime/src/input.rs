//! Reading an input file that a user named: regular files only, and never
//! more than a bound, so that `/dev/zero`, a FIFO or a file that grows while
//! it is read cannot hang the host or exhaust its memory.

use std::io::Read;
use std::path::Path;

/// Why [`read_input`] refused a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// A FIFO, a device, a socket or a directory: refused without being read.
    #[error("not a regular file ({kind}); only regular files are read")]
    NotAFile {
        /// What it is instead, e.g. "a FIFO".
        kind: &'static str,
    },
    /// Larger than the bound (by its size, or by what reading it gave).
    #[error("the file is {size} bytes, more than the limit of {max} bytes")]
    TooLarge {
        /// The size found.
        size: u64,
        /// The bound.
        max: u64,
    },
    /// The file could not be opened or read.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads the regular file at `path`, of at most `max` bytes. Type and size
/// are checked before reading (a FIFO or a device is never opened for
/// reading, so it cannot block), and the read stops after `max + 1` bytes
/// whatever the file claims.
pub fn read_input(path: &Path, max: u64) -> Result<Vec<u8>, InputError> {
    let regular = |meta: &std::fs::Metadata| match meta.is_file() {
        true => Ok(()),
        false => Err(InputError::NotAFile { kind: file_kind(meta) }),
    };
    let meta = std::fs::metadata(path)?;
    regular(&meta)?;
    if meta.len() > max {
        return Err(InputError::TooLarge { size: meta.len(), max });
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Should the path have been swapped for a FIFO since the check, the
        // open must not wait for a writer.
        options.custom_flags(O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    regular(&meta)?;
    let mut bytes = Vec::with_capacity(meta.len().min(max) as usize);
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(InputError::TooLarge { size: meta.len().max(bytes.len() as u64), max });
    }
    Ok(bytes)
}

/// `O_NONBLOCK` (the same value on every Linux architecture but alpha,
/// sparc and parisc, and on the BSDs and macOS).
#[cfg(unix)]
const O_NONBLOCK: i32 = if cfg!(any(target_os = "linux", target_os = "android")) { 0o4000 } else { 0x0004 };

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() { "a directory" } else { "not a regular file" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_within_the_bound_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_input(&path, 5).unwrap(), b"12345");
        assert!(matches!(read_input(&path, 4), Err(InputError::TooLarge { size: 5, max: 4 })));
        assert!(matches!(read_input(dir.path(), 5), Err(InputError::NotAFile { kind: "a directory" })));
        assert!(matches!(read_input(&dir.path().join("missing"), 5), Err(InputError::Io(_))));
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_refused_unread() {
        let err = read_input(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(matches!(err, InputError::NotAFile { kind: "a device" }), "{err:?}");
    }
}
