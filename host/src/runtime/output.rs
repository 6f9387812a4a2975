//! What a guest prints on stdout and stderr (a Rust panic message, a Python traceback):
//! kept per node, bounded, and handed to the trace after each call and to the report when
//! the node crashes. A guest that prints without end costs fuel, never host memory: only
//! the last [`KEEP`] bytes are kept.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// Bytes of a node's output kept.
pub const KEEP: usize = 4096;

#[derive(Debug, Default)]
struct Kept {
    /// The last bytes printed.
    tail: VecDeque<u8>,
    /// Bytes printed since the host last took them.
    fresh: usize,
    /// Bytes printed in all.
    total: u64,
}

/// One node's stdout and stderr, together.
#[derive(Debug, Clone, Default)]
pub struct GuestOutput(Arc<Mutex<Kept>>);

impl GuestOutput {
    fn push(&self, bytes: &[u8]) {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.total += bytes.len() as u64;
        kept.fresh = kept.fresh.saturating_add(bytes.len());
        let bytes = &bytes[bytes.len().saturating_sub(KEEP)..];
        let overflow = (kept.tail.len() + bytes.len()).saturating_sub(KEEP);
        kept.tail.drain(..overflow);
        kept.tail.extend(bytes);
    }

    /// What was printed since the last call to `take_fresh` (at most the last [`KEEP`]
    /// bytes of it), as text.
    pub fn take_fresh(&self) -> Option<String> {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kept.fresh == 0 {
            return None;
        }
        let fresh = kept.fresh.min(kept.tail.len());
        kept.fresh = 0;
        let start = kept.tail.len() - fresh;
        let bytes: Vec<u8> = kept.tail.range(start..).copied().collect();
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The last lines printed (at most [`KEEP`] bytes), as text.
    pub fn last(&self) -> Option<String> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kept.tail.is_empty() {
            return None;
        }
        let bytes: Vec<u8> = kept.tail.iter().copied().collect();
        Some(String::from_utf8_lossy(&bytes).trim_end().to_string())
    }
}

/// The one line that says why a guest died, from what it printed: the exception line of
/// the last Python traceback (`RuntimeError: ...`), else the last line that is not a
/// runtime's note (`note: run with RUST_BACKTRACE=1`), so a Rust panic gives its message.
pub fn last_words(printed: &str) -> Option<&str> {
    let lines: Vec<&str> = printed.lines().collect();
    if let Some(start) = lines
        .iter()
        .rposition(|l| l.starts_with("Traceback (most recent call last)"))
    {
        // Frames are indented; the exception is the first line after them that is not.
        let exception = lines[start + 1..]
            .iter()
            .find(|l| !l.starts_with(' ') && !l.trim().is_empty());
        if let Some(line) = exception {
            return Some(line.trim());
        }
    }
    lines
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| !l.is_empty() && !l.starts_with("note: "))
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

#[async_trait::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keeps_the_last_bytes_and_hands_out_what_is_new() {
        let out = GuestOutput::default();
        assert_eq!(out.take_fresh(), None);
        out.push(b"hello\n");
        assert_eq!(out.take_fresh().as_deref(), Some("hello\n"));
        assert_eq!(out.take_fresh(), None);
        out.push(&vec![b'x'; 3 * KEEP]);
        out.push(b"panicked at guest/src/lib.rs\n");
        let last = out.last().unwrap();
        assert_eq!(last.len(), KEEP - 1);
        assert!(last.ends_with("panicked at guest/src/lib.rs"));
        assert_eq!(out.take_fresh().unwrap().len(), KEEP);
    }

    #[test]
    fn the_last_words_are_the_exception_or_the_panic_message() {
        let python = "Traceback (most recent call last):\n  File \"/0/a.py\", line 3, in handle\n\
                      RuntimeError: store number 3\n\nthread '<unnamed>' panicked at runtime/src/lib.rs:1:2:\n\
                      Python function threw an unexpected exception\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(last_words(python), Some("RuntimeError: store number 3"));
        let rust = "thread '<unnamed>' panicked at guest/src/x.rs:1:2:\nN2 traps\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(last_words(rust), Some("N2 traps"));
        assert_eq!(last_words("\n  \n"), None);
    }
}
