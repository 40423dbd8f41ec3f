//! A byte-bounded ring of raw output, addressed by absolute stream offsets.

use std::collections::VecDeque;

/// Keeps the last `cap` bytes of a stream; byte `i` of the stream has offset `i`.
#[derive(Debug)]
pub(crate) struct OutputRing {
    buf: VecDeque<u8>,
    /// Stream offset of `buf[0]`.
    start: u64,
    cap: usize,
}

impl OutputRing {
    /// An empty ring whose next byte has stream offset `start`.
    pub(crate) fn new(cap: usize, start: u64) -> Self {
        Self { buf: VecDeque::new(), start, cap }
    }

    /// Offset of the oldest byte kept.
    pub(crate) fn start(&self) -> u64 {
        self.start
    }

    /// Offset one past the newest byte (the stream length so far).
    pub(crate) fn end(&self) -> u64 {
        self.start + self.buf.len() as u64
    }

    /// Appends bytes, dropping the oldest past the cap.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        if bytes.len() >= self.cap {
            let skip = bytes.len() - self.cap;
            self.start = self.end() + skip as u64;
            self.buf.clear();
            self.buf.extend(&bytes[skip..]);
            return;
        }
        let excess = (self.buf.len() + bytes.len()).saturating_sub(self.cap);
        if excess > 0 {
            self.buf.drain(..excess);
            self.start += excess as u64;
        }
        self.buf.extend(bytes);
    }

    /// The bytes from `offset` to the end, or `None` when `offset` is no longer (or not yet)
    /// in the ring.
    pub(crate) fn since(&self, offset: u64) -> Option<Vec<u8>> {
        if offset < self.start || offset > self.end() {
            return None;
        }
        // Fits in usize: offset - start <= buf.len().
        let skip = (offset - self.start) as usize;
        Some(self.buf.range(skip..).copied().collect())
    }

    /// Appends up to `max` bytes from `offset` to `out` (no allocation beyond `out`'s growth);
    /// returns how many. Nothing when `offset` is outside the ring.
    pub(crate) fn copy_into(&self, offset: u64, max: usize, out: &mut Vec<u8>) -> usize {
        if offset < self.start || offset > self.end() {
            return 0;
        }
        // Fits in usize: offset - start <= buf.len().
        let skip = (offset - self.start) as usize;
        let n = (self.buf.len() - skip).min(max);
        let (a, b) = self.buf.as_slices();
        if skip < a.len() {
            let from_a = (a.len() - skip).min(n);
            out.extend_from_slice(&a[skip..skip + from_a]);
            out.extend_from_slice(&b[..n - from_a]);
        } else {
            let at = skip - a.len();
            out.extend_from_slice(&b[at..at + n]);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_every_byte_and_survive_wrapping() {
        let mut r = OutputRing::new(8, 0);
        r.push(b"hello");
        assert_eq!((r.start(), r.end()), (0, 5));
        assert_eq!(r.since(2).as_deref(), Some(&b"llo"[..]));
        r.push(b" world");
        assert_eq!((r.start(), r.end()), (3, 11));
        assert_eq!(r.since(3).as_deref(), Some(&b"lo world"[..]));
        assert_eq!(r.since(2), None, "evicted");
        assert_eq!(r.since(11).as_deref(), Some(&b""[..]));
        assert_eq!(r.since(12), None, "in the future");
        r.push(b"0123456789AB");
        assert_eq!((r.start(), r.end()), (15, 23));
        assert_eq!(r.since(15).as_deref(), Some(&b"456789AB"[..]));
    }

    #[test]
    fn copy_into_reads_across_the_wrap_and_skip_jumps() {
        let mut r = OutputRing::new(8, 0);
        r.push(b"hello");
        r.push(b" world");
        let mut out = Vec::new();
        assert_eq!(r.copy_into(4, 100, &mut out), 7);
        assert_eq!(out, b"o world");
        out.clear();
        assert_eq!(r.copy_into(3, 3, &mut out), 3);
        assert_eq!(out, b"lo ");
        assert_eq!(r.copy_into(2, 3, &mut out), 0, "evicted");
    }

    #[test]
    fn a_ring_can_start_at_a_restored_offset() {
        let mut r = OutputRing::new(4, 100);
        assert_eq!(r.since(100).as_deref(), Some(&b""[..]));
        r.push(b"abcdef");
        assert_eq!((r.start(), r.end()), (102, 106));
        assert_eq!(r.since(104).as_deref(), Some(&b"ef"[..]));
    }
}
