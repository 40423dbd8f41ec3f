//! The gateway-wide budget for partially received WebSocket messages (`--max-inflight-messages`).
//!
//! Each message is bounded by its endpoint's size limit, but a client can hold many sockets,
//! each with an unfinished message just under that limit, and pin their sum. tungstenite keeps
//! the bytes of an unfinished message (and of an unfinished frame) in memory and says nothing
//! about them, so every upgraded stream is read through a [`MeteredIo`] that follows the frame
//! headers on the raw bytes: payload bytes of a data message count from the moment they arrive
//! until the frame that finishes the message (FIN) has arrived, or the socket is gone. A
//! connection whose bytes push the gateway's total past the budget is told (its
//! [`MeteredIo::over_budget`] token), stops being read, and is closed with 1009.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::sync::CancellationToken;

/// Bytes of unfinished messages the gateway holds across all sockets, and its cap.
#[derive(Debug, Clone)]
pub struct InflightBudget {
    used: Arc<AtomicUsize>,
    max: usize,
}

impl InflightBudget {
    /// A budget of `max` bytes.
    pub fn new(max: usize) -> Self {
        Self { used: Arc::default(), max }
    }

    #[cfg(test)]
    /// Bytes of unfinished messages held now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// Where the parser is in the client's frame stream (RFC 6455 §5.2).
#[derive(Debug, Default)]
struct FrameParser {
    /// Header bytes gathered so far (at most 14: 2 + 8 length + 4 mask).
    header: [u8; 14],
    have: usize,
    /// Payload bytes of the current frame still to come; `None` while reading a header.
    remaining: Option<u64>,
    /// The current frame is a data frame (text, binary, continuation), not a control frame.
    data: bool,
    /// The current frame finishes its message.
    fin: bool,
    /// Payload bytes of the unfinished message so far.
    message: usize,
}

impl FrameParser {
    /// Header length once enough of it is known.
    fn header_len(&self) -> Option<usize> {
        if self.have < 2 {
            return None;
        }
        let mask = if self.header[1] & 0x80 != 0 { 4 } else { 0 };
        let ext = match self.header[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        Some(2 + ext + mask)
    }

    fn payload_len(&self) -> u64 {
        match self.header[1] & 0x7f {
            126 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
            127 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&self.header[2..10]);
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        }
    }

    fn end_frame(&mut self) {
        self.remaining = None;
        self.have = 0;
        if self.data && self.fin {
            self.message = 0;
        }
    }

    /// Follows `bytes` (the next bytes read from the client); returns the bytes of the
    /// unfinished message afterwards.
    fn feed(&mut self, mut bytes: &[u8]) -> usize {
        while !bytes.is_empty() {
            match self.remaining {
                None => {
                    let want = self.header_len().unwrap_or(2);
                    let take = (want - self.have).min(bytes.len());
                    self.header[self.have..self.have + take].copy_from_slice(&bytes[..take]);
                    self.have += take;
                    bytes = &bytes[take..];
                    if self.header_len() == Some(self.have) {
                        self.fin = self.header[0] & 0x80 != 0;
                        // Opcodes 0x8.. are control frames (close, ping, pong).
                        self.data = self.header[0] & 0x08 == 0;
                        let len = self.payload_len();
                        self.remaining = Some(len);
                        if len == 0 {
                            self.end_frame();
                        }
                    }
                }
                Some(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
                    if self.data {
                        self.message = self.message.saturating_add(take);
                    }
                    bytes = &bytes[take..];
                    let left = left - take as u64;
                    self.remaining = Some(left);
                    if left == 0 {
                        self.end_frame();
                    }
                }
            }
        }
        self.message
    }
}

/// An upgraded stream whose inbound frames are followed against the [`InflightBudget`].
#[derive(Debug)]
pub struct MeteredIo<T> {
    inner: T,
    budget: InflightBudget,
    parser: FrameParser,
    /// Bytes this connection has counted in the budget.
    counted: usize,
    over: CancellationToken,
}

impl<T> MeteredIo<T> {
    /// Wraps `inner`, counting against `budget`.
    pub fn new(inner: T, budget: InflightBudget) -> Self {
        Self { inner, budget, parser: FrameParser::default(), counted: 0, over: CancellationToken::new() }
    }

    /// Cancelled when this connection pushed the gateway past the budget: close it with 1009.
    pub fn over_budget(&self) -> CancellationToken {
        self.over.clone()
    }

    fn account(&mut self, now: usize) {
        if now > self.counted {
            let added = now - self.counted;
            let total = self.budget.used.fetch_add(added, Ordering::AcqRel) + added;
            if total > self.budget.max && !self.over.is_cancelled() {
                tracing::warn!(
                    reason = "max_inflight_messages",
                    held = total,
                    max = self.budget.max,
                    "a connection's unfinished message passed the gateway-wide budget"
                );
                self.over.cancel();
            }
        } else {
            self.budget.used.fetch_sub(self.counted - now, Ordering::AcqRel);
        }
        self.counted = now;
    }
}

impl<T> Drop for MeteredIo<T> {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.counted, Ordering::AcqRel);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for MeteredIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.over.is_cancelled() {
            // Read nothing more from a connection being closed for holding too much; its task
            // is woken by the token, not by this read.
            return Poll::Pending;
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let now = self.parser.feed(&buf.filled()[before..]);
        self.account(now);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for MeteredIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame header for `len` payload bytes.
    fn header(fin: bool, opcode: u8, len: usize) -> Vec<u8> {
        let mut h = vec![if fin { 0x80 } else { 0 } | opcode];
        match len {
            0..=125 => h.push(0x80 | len as u8),
            126..=0xffff => {
                h.push(0x80 | 126);
                h.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                h.push(0x80 | 127);
                h.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        h.extend_from_slice(&[1, 2, 3, 4]);
        h
    }

    #[test]
    fn unfinished_messages_count_until_their_final_frame_byte_by_byte_or_at_once() {
        let mut stream = header(false, 0x1, 300);
        stream.extend(vec![b'a'; 300]);
        stream.extend(header(true, 0x9, 4)); // a ping in between counts nothing
        stream.extend([0; 4]);
        stream.extend(header(false, 0x0, 70_000));
        stream.extend(vec![b'b'; 70_000]);
        stream.extend(header(true, 0x0, 5));
        stream.extend([b'c'; 5]);
        stream.extend(header(true, 0x2, 10)); // the next message, half sent
        stream.extend([0; 5]);
        let ends = [300 + 8, 300 + 8 + 6 + 4, stream.len() - 6 - 5 - 6 - 5, stream.len()];
        let mut whole = FrameParser::default();
        let mut bytewise = FrameParser::default();
        let mut seen = Vec::new();
        for (i, b) in stream.iter().enumerate() {
            let n = bytewise.feed(std::slice::from_ref(b));
            if ends.contains(&(i + 1)) {
                seen.push(n);
            }
        }
        assert_eq!(seen, vec![300, 300, 70_300, 5]);
        assert_eq!(whole.feed(&stream), 5, "one read of everything ends in the same place");
    }

    #[test]
    fn the_budget_is_shared_and_released_on_completion_and_drop() {
        let budget = InflightBudget::new(1000);
        let mut a = MeteredIo::new((), budget.clone());
        let mut b = MeteredIo::new((), budget.clone());
        let n = a.parser.feed(&[header(false, 0x1, 600), vec![0; 600]].concat());
        a.account(n);
        assert!(!a.over_budget().is_cancelled());
        let n = b.parser.feed(&[header(false, 0x1, 600), vec![0; 600]].concat());
        b.account(n);
        assert!(b.over_budget().is_cancelled(), "the connection that passed the budget is told");
        assert!(!a.over_budget().is_cancelled(), "the other is not");
        assert_eq!(budget.used(), 1200);
        let n = a.parser.feed(&header(true, 0x0, 0));
        a.account(n);
        assert_eq!(budget.used(), 600, "a finished message leaves the budget");
        drop(b);
        assert_eq!(budget.used(), 0, "a closed connection leaves the budget");
    }
}
