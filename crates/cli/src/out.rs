//! Standard output that a closed pipe does not crash, and whose other write
//! errors are not lost.
//!
//! `mung-runtime validate corpus/ | head` closes stdout early; `println!`
//! would panic there. Writes go through [`write`] instead: the first failed
//! write marks stdout closed, later output is dropped, and long commands ask
//! [`closed`] whether anyone is still reading. A closed pipe is a normal end;
//! any other failure (a full disk, `> /dev/full`) is kept for [`failure`], so
//! that the command can report it and exit with status 2.

use std::fmt;
use std::io::{ErrorKind, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);
static FAILURE: Mutex<Option<String>> = Mutex::new(None);

/// Whether stdout has gone away (the reader closed the pipe, or a write
/// failed).
pub(crate) fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// The first write error other than a closed pipe, if any.
pub(crate) fn failure() -> Option<String> {
    FAILURE.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Writes to stdout, dropping the output once stdout is closed.
pub(crate) fn write(args: fmt::Arguments<'_>) {
    write_bytes(fmt::format(args).as_bytes());
}

/// Writes raw bytes (e.g. a script's output) to stdout, as [`write`].
pub(crate) fn write_bytes(bytes: &[u8]) {
    if closed() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != ErrorKind::BrokenPipe {
            FAILURE.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(|| e.to_string());
        }
    }
}

/// `println!` to stdout through [`write`].
macro_rules! outln {
    () => { $crate::out::write(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::write(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` to stdout through [`write`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::write(format_args!($($arg)*)) };
}

pub(crate) use {out, outln};
