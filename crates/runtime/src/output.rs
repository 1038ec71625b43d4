//! Capturing the guest's stdout and stderr, with a cap.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// A callback that receives output as the guest writes it.
pub type OutputSink = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// What a call wrote to stdout and stderr.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Everything written to stdout, up to the cap.
    pub stdout: Vec<u8>,
    /// Everything written to stderr, up to the cap.
    pub stderr: Vec<u8>,
    /// Whether stdout went over the cap (the rest was dropped).
    pub stdout_truncated: bool,
    /// Whether stderr went over the cap (the rest was dropped).
    pub stderr_truncated: bool,
}

impl Output {
    /// stdout as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (invalid UTF-8 replaced).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// One captured stream: a buffer that keeps the first `cap` bytes and
/// silently drops the rest (the guest keeps running), plus an optional sink
/// that sees the kept bytes as they arrive.
#[derive(Clone)]
pub(crate) struct Capture {
    inner: Arc<Mutex<CaptureInner>>,
}

struct CaptureInner {
    buf: Vec<u8>,
    cap: usize,
    truncated: bool,
    sink: Option<OutputSink>,
    /// The status announced by the prelude's `os._exit` just before it
    /// ended the process (see [`EXIT_MARK_PREFIX`]).
    exit_mark: Option<i32>,
}

/// How the prelude's `os._exit(n)` tells the host `n`.
///
/// WASI 0.2's `exit` carries only ok/error, and the preview1 adapter maps
/// every non-zero `proc_exit` status to "error", which wasmtime reports as
/// status 1. So `os._exit(n)` first writes exactly
/// `EXIT_MARK_PREFIX + n + EXIT_MARK_SUFFIX` to stderr in one write, then
/// exits. A capture takes such a write out of the output and remembers `n`;
/// the worker uses it only when the call really ended in a WASI exit whose
/// ok/error agrees with `n`. A script could forge the write, but that only
/// lets it choose its own exit status, which `os._exit` lets it do anyway.
pub(crate) const EXIT_MARK_PREFIX: &[u8] = b"\0\x1b[mung-runtime os._exit ";
/// The end of the exit mark.
pub(crate) const EXIT_MARK_SUFFIX: &[u8] = b"]\0";

fn parse_exit_mark(bytes: &[u8]) -> Option<i32> {
    let digits = bytes.strip_prefix(EXIT_MARK_PREFIX)?.strip_suffix(EXIT_MARK_SUFFIX)?;
    if digits.len() > 12 {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

impl Capture {
    pub(crate) fn new(cap: usize, sink: Option<OutputSink>) -> Capture {
        Capture {
            inner: Arc::new(Mutex::new(CaptureInner { buf: Vec::new(), cap, truncated: false, sink, exit_mark: None })),
        }
    }

    /// Takes what was captured since the last call.
    pub(crate) fn take(&self) -> (Vec<u8>, bool) {
        let mut inner = self.inner.lock().unwrap();
        let truncated = std::mem::take(&mut inner.truncated);
        (std::mem::take(&mut inner.buf), truncated)
    }

    /// Takes the status of an `os._exit` announced since the last call.
    pub(crate) fn take_exit_mark(&self) -> Option<i32> {
        self.inner.lock().unwrap().exit_mark.take()
    }

    fn push(&self, bytes: &[u8]) {
        let mut inner = self.inner.lock().unwrap();
        if bytes.first() == Some(&0)
            && let Some(code) = parse_exit_mark(bytes)
        {
            inner.exit_mark = Some(code);
            return;
        }
        let room = inner.cap.saturating_sub(inner.buf.len());
        let kept = &bytes[..bytes.len().min(room)];
        if kept.len() < bytes.len() {
            inner.truncated = true;
        }
        if kept.is_empty() {
            return;
        }
        inner.buf.extend_from_slice(kept);
        if let Some(sink) = inner.sink.clone() {
            drop(inner);
            sink(kept);
        }
    }
}

/// Takes both streams of a call.
pub(crate) fn take_output(stdout: &Capture, stderr: &Capture) -> Output {
    let (stdout, stdout_truncated) = stdout.take();
    let (stderr, stderr_truncated) = stderr.take();
    Output { stdout, stderr, stdout_truncated, stderr_truncated }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(CaptureWriter(self.clone()))
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(CaptureWriter(self.clone()))
    }
}

struct CaptureWriter(Capture);

#[async_trait::async_trait]
impl Pollable for CaptureWriter {
    async fn ready(&mut self) {}
}

impl OutputStream for CaptureWriter {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.0.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always writable: bytes past the cap are dropped, not refused, so a
        // chatty guest neither blocks nor fails.
        Ok(1 << 20)
    }
}

impl tokio::io::AsyncWrite for CaptureWriter {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exit_mark_is_taken_out_of_the_output() {
        let c = Capture::new(100, None);
        c.push(b"before\n");
        c.push(b"\0\x1b[mung-runtime os._exit -7]\0");
        c.push(b"\0\x1b[mung-runtime os._exit x]\0");
        assert_eq!(c.take_exit_mark(), Some(-7));
        assert_eq!(c.take_exit_mark(), None);
        let (buf, truncated) = c.take();
        assert!(!truncated);
        assert_eq!(buf, b"before\n\0\x1b[mung-runtime os._exit x]\0", "a malformed mark is ordinary output");
    }

    #[test]
    fn output_past_the_cap_is_dropped_and_reported() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink: OutputSink = {
            let seen = seen.clone();
            Arc::new(move |b: &[u8]| seen.lock().unwrap().extend_from_slice(b))
        };
        let c = Capture::new(10, Some(sink));
        c.push(b"hello ");
        c.push(b"world!");
        c.push(b"more");
        let (buf, truncated) = c.take();
        assert_eq!(buf, b"hello worl");
        assert!(truncated);
        assert_eq!(*seen.lock().unwrap(), b"hello worl", "the sink sees only what is kept");
        // `take` starts the next call afresh, under the same cap.
        c.push(b"ok");
        assert_eq!(c.take(), (b"ok".to_vec(), false));
    }

    #[test]
    fn a_zero_cap_keeps_nothing() {
        let c = Capture::new(0, None);
        c.push(b"x");
        assert_eq!(c.take(), (Vec::new(), true));
    }
}
