//! [`SessionFiles`]: a session's directory seen from the host, with the
//! rules every host-side access obeys (relative paths without `..`, no
//! symbolic links followed, the files quota).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The longest path accepted, in bytes.
const MAX_PATH_BYTES: usize = 1024;
/// The deepest path accepted, in components.
const MAX_PATH_DEPTH: usize = 32;
/// The longest file name accepted, in bytes (the usual file system limit).
const MAX_NAME_BYTES: usize = 255;

/// Why a host-side file operation on a session's directory was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The path is not a plain relative path inside the directory.
    #[error("invalid file path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A component of the path is a symbolic link, which is never followed.
    #[error("{path:?} goes through a symbolic link; links in a session directory are not followed")]
    Link {
        /// The path as given.
        path: String,
    },
    /// Nothing at the path.
    #[error("no file {path:?} in the session")]
    NotFound {
        /// The path as given.
        path: String,
    },
    /// The file does not fit in the session's quota.
    #[error("{needed} bytes do not fit: the session's files quota is {quota} bytes and {available} are free")]
    Quota {
        /// Bytes that were to be written.
        needed: u64,
        /// Bytes free for this file (replacing a file frees its size).
        available: u64,
        /// The whole quota.
        quota: u64,
    },
    /// The file system failed.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl FileError {
    fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> FileError {
        let context = context.into();
        move |source| FileError::Io { context, source }
    }
}

/// One file in a [`FileListing`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct FileEntry {
    /// The path relative to the directory, with `/` separators.
    pub path: String,
    /// Its length in bytes.
    pub size: u64,
}

/// The files of a session directory.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct FileListing {
    /// The files, sorted by path, at most the number asked for.
    pub files: Vec<FileEntry>,
    /// Bytes held by all the files (also those past the list's end).
    pub used: u64,
    /// Whether there were more files than the list holds.
    pub truncated: bool,
}

/// A file being written by [`SessionFiles::start_upload`].
#[derive(Debug)]
pub struct Upload {
    temp: tempfile::TempPath,
    target: PathBuf,
    path: String,
    replaces: bool,
}

impl Upload {
    /// Whether a file was at the path when the upload started.
    pub fn replaces(&self) -> bool {
        self.replaces
    }

    /// Puts the written file in place, replacing what was there.
    pub fn finish(self) -> Result<(), FileError> {
        let path = self.path;
        self.temp
            .persist(&self.target)
            .map_err(|e| FileError::Io { context: format!("saving {path:?}"), source: e.error })
    }
}

/// A session's files directory as the host sees it: cheap to clone, usable
/// while the session's interpreter runs. Symbolic links (which a guest may
/// create inside the directory) are never followed by these methods.
#[derive(Clone, Debug)]
pub struct SessionFiles {
    dir: Arc<Path>,
    quota: u64,
}

impl SessionFiles {
    pub(crate) fn new(dir: &Path, quota: u64) -> SessionFiles {
        SessionFiles { dir: dir.into(), quota }
    }

    /// The directory on the host.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The most bytes the directory may hold.
    pub fn quota(&self) -> u64 {
        self.quota
    }

    /// Bytes the directory holds now: the sum of its files' lengths.
    pub fn used(&self) -> Result<u64, FileError> {
        let mut used = 0u64;
        self.walk(|_, len| used = used.saturating_add(len))?;
        Ok(used)
    }

    /// Up to `max` files, sorted by path, and the bytes all of them hold.
    pub fn list(&self, max: usize) -> Result<FileListing, FileError> {
        let mut listing = FileListing { files: Vec::new(), used: 0, truncated: false };
        self.walk(|path, size| {
            listing.used = listing.used.saturating_add(size);
            if listing.files.len() < max {
                listing.files.push(FileEntry { path: path.to_string(), size });
            } else {
                listing.truncated = true;
            }
        })?;
        listing.files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(listing)
    }

    /// The host path of `path` (relative, `/`-separated, no `.`/`..`, no
    /// links along the way); it need not exist yet.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, FileError> {
        let invalid = |reason| FileError::InvalidPath { path: path.to_string(), reason };
        if path.is_empty() {
            return Err(invalid("it is empty"));
        }
        if path.len() > MAX_PATH_BYTES {
            return Err(invalid("it is longer than 1024 bytes"));
        }
        let mut host = self.dir.to_path_buf();
        for (depth, part) in path.split('/').enumerate() {
            match part {
                _ if depth >= MAX_PATH_DEPTH => return Err(invalid("it is deeper than 32 directories")),
                "" => return Err(invalid("it has an empty component (a leading, trailing or double `/`)")),
                "." | ".." => return Err(invalid("`.` and `..` are not allowed")),
                _ if part.len() > MAX_NAME_BYTES => return Err(invalid("a name is longer than 255 bytes")),
                _ if part.contains(['\0', '\\']) => return Err(invalid("NUL and `\\` are not allowed")),
                _ => {}
            }
            host.push(part);
            match std::fs::symlink_metadata(&host) {
                Ok(meta) if meta.file_type().is_symlink() => return Err(FileError::Link { path: path.to_string() }),
                _ => {}
            }
        }
        Ok(host)
    }

    /// Bytes free for writing `path` now: what the quota leaves, plus the
    /// size of the file it would replace.
    pub fn available_for(&self, path: &str) -> Result<u64, FileError> {
        let host = self.resolve(path)?;
        let replaced = std::fs::metadata(&host).ok().filter(|m| m.is_file()).map_or(0, |m| m.len());
        Ok(self.quota.saturating_sub(self.used()?.saturating_sub(replaced)))
    }

    /// Starts writing `path` atomically: a new temporary file beside its
    /// final place (its directories created), put in place by
    /// [`Upload::finish`] and removed if the [`Upload`] is dropped first.
    /// The caller keeps the writes within [`Self::available_for`].
    pub fn start_upload(&self, path: &str) -> Result<(std::fs::File, Upload), FileError> {
        let target = self.resolve(path)?;
        if target.is_dir() {
            return Err(FileError::InvalidPath { path: path.to_string(), reason: "it is a directory" });
        }
        let parent = target.parent().expect("a resolved path is inside the directory");
        std::fs::create_dir_all(parent).map_err(FileError::io(format!("creating the directories of {path:?}")))?;
        let temp = tempfile::Builder::new()
            .prefix(".upload-")
            .tempfile_in(parent)
            .map_err(FileError::io(format!("creating a file for {path:?}")))?;
        let (file, temp) = temp.into_parts();
        let replaces = target.exists();
        Ok((file, Upload { temp, target, path: path.to_string(), replaces }))
    }

    /// Writes `bytes` to `path` atomically, within the quota.
    pub fn write(&self, path: &str, bytes: &[u8]) -> Result<(), FileError> {
        let available = self.available_for(path)?;
        if bytes.len() as u64 > available {
            return Err(FileError::Quota { needed: bytes.len() as u64, available, quota: self.quota });
        }
        let (mut file, upload) = self.start_upload(path)?;
        file.write_all(bytes).map_err(FileError::io(format!("writing {path:?}")))?;
        drop(file);
        upload.finish()
    }

    /// Reads `path` whole, if it is a file of at most `max` bytes.
    pub fn read(&self, path: &str, max: u64) -> Result<Vec<u8>, FileError> {
        let host = self.resolve(path)?;
        let meta = self.file_metadata(path, &host)?;
        if meta.len() > max {
            return Err(FileError::Quota { needed: meta.len(), available: max, quota: max });
        }
        std::fs::read(&host).map_err(FileError::io(format!("reading {path:?}")))
    }

    /// The metadata of the regular file `path` resolved to.
    pub fn file_metadata(&self, path: &str, host: &Path) -> Result<std::fs::Metadata, FileError> {
        match std::fs::metadata(host) {
            Ok(meta) if meta.is_file() => Ok(meta),
            Ok(_) => Err(FileError::InvalidPath { path: path.to_string(), reason: "it is not a file" }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(FileError::NotFound { path: path.to_string() }),
            Err(e) => Err(FileError::Io { context: format!("reading {path:?}"), source: e }),
        }
    }

    /// Removes the file or the directory (with its contents) at `path`.
    pub fn remove(&self, path: &str) -> Result<(), FileError> {
        let host = self.resolve(path)?;
        let result = match std::fs::symlink_metadata(&host) {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&host),
            Ok(_) => std::fs::remove_file(&host),
            Err(e) => Err(e),
        };
        result.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FileError::NotFound { path: path.to_string() },
            _ => FileError::Io { context: format!("removing {path:?}"), source: e },
        })
    }

    /// Calls `visit` with the relative path and length of every file,
    /// links not followed. Iterative, so a guest's deeply nested
    /// directories cannot overflow the host's stack.
    fn walk(&self, mut visit: impl FnMut(&str, u64)) -> Result<(), FileError> {
        let mut pending = vec![(self.dir.to_path_buf(), String::new())];
        while let Some((dir, prefix)) = pending.pop() {
            let context = || format!("listing {}", dir.display());
            for entry in std::fs::read_dir(&dir).map_err(FileError::io(context()))? {
                let entry = entry.map_err(FileError::io(context()))?;
                let meta = entry.metadata().map_err(FileError::io(context()))?;
                let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
                if meta.is_dir() {
                    pending.push((entry.path(), format!("{name}/")));
                } else {
                    visit(&name, meta.len());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(quota: u64) -> (tempfile::TempDir, SessionFiles) {
        let dir = tempfile::tempdir().unwrap();
        let files = SessionFiles::new(dir.path(), quota);
        (dir, files)
    }

    #[test]
    fn paths_are_plain_relative_paths() {
        let (_dir, f) = files(100);
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/", "./a", "a\\b", "a\0b"] {
            assert!(matches!(f.resolve(bad), Err(FileError::InvalidPath { .. })), "{bad:?}");
        }
        assert!(f.resolve(&"a/".repeat(40)).is_err(), "too deep");
        assert!(f.resolve(&"x".repeat(300)).is_err(), "name too long");
        assert_eq!(f.resolve("a/b.txt").unwrap(), f.dir().join("a/b.txt"));
    }

    #[test]
    #[cfg(unix)]
    fn links_are_never_followed() {
        let (dir, f) = files(100);
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
        assert!(matches!(f.resolve("out/secret"), Err(FileError::Link { .. })));
        assert!(matches!(f.read("out", 10), Err(FileError::Link { .. })));
        assert_eq!(f.used().unwrap(), outside.path().as_os_str().len() as u64, "the link counts as its own length");
    }

    #[test]
    fn writes_stay_within_the_quota_and_replacing_frees_the_old_size() {
        let (_dir, f) = files(10);
        f.write("a/b", b"123456").unwrap();
        assert!(matches!(f.write("c", b"12345"), Err(FileError::Quota { needed: 5, available: 4, quota: 10 })));
        f.write("a/b", b"1234567890").unwrap();
        assert_eq!(f.read("a/b", 100).unwrap(), b"1234567890");
        let listing = f.list(10).unwrap();
        assert_eq!(listing.used, 10);
        assert_eq!(listing.files, vec![FileEntry { path: "a/b".into(), size: 10 }]);
        f.remove("a").unwrap();
        assert!(matches!(f.remove("a"), Err(FileError::NotFound { .. })));
        assert_eq!(f.used().unwrap(), 0);
    }

    #[test]
    fn listings_are_bounded_and_the_walk_survives_deep_trees() {
        let (dir, f) = files(1000);
        let mut deep = dir.path().to_path_buf();
        for _ in 0..300 {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("x"), "12345").unwrap();
        for i in 0..5 {
            std::fs::write(dir.path().join(format!("f{i}")), "1").unwrap();
        }
        let listing = f.list(3).unwrap();
        assert_eq!(listing.files.len(), 3);
        assert!(listing.truncated);
        assert_eq!(listing.used, 10);
    }
}
