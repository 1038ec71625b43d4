//! Standard output that a closed pipe does not crash.
//!
//! `mung-runtime validate corpus/ | head` closes stdout early; `println!`
//! would panic there. Writes go through [`write`] instead: the first failed
//! write marks stdout closed, later output is dropped, and long commands ask
//! [`closed`] whether anyone is still reading.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether stdout has gone away (the reader closed the pipe).
pub(crate) fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
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
    if stdout.write_all(bytes).and_then(|()| stdout.flush()).is_err() {
        CLOSED.store(true, Ordering::Relaxed);
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
