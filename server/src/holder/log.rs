//! The holder's output log: the PTY's bytes at absolute stream offsets, in fixed-size chunks
//! read straight from the PTY (no second copy), bounded by `--holder-log`, and cut at the front
//! as soon as the gateway says a committed screen save covers them (`Saved`), chunk by chunk, so
//! the memory goes back (`trim` then returns the freed pages to the kernel).

use std::collections::VecDeque;
use std::os::fd::AsFd;

/// Bytes per chunk: larger than any one PTY read (the kernel hands out at most a few KiB at a
/// time), small enough that a log cut at the front frees nearly all it held.
pub(super) const CHUNK: usize = 16 * 1024;

/// A byte-bounded log of the stream; byte `i` of the stream has offset `i`.
#[derive(Debug)]
pub(super) struct Log {
    /// Every chunk but the last is full (to its capacity, [`CHUNK`] bytes); `chunks[0][..head]`
    /// is dropped.
    chunks: VecDeque<Vec<u8>>,
    head: usize,
    /// Stream offset of the oldest byte kept (`chunks[0][head]`).
    start: u64,
    /// Bytes kept.
    held: usize,
    /// Most bytes kept.
    cap: usize,
}

impl Log {
    /// An empty log holding at most `cap` bytes whose next byte has stream offset `start`.
    pub(super) fn new(cap: usize, start: u64) -> Self {
        Self { chunks: VecDeque::new(), head: 0, start, held: 0, cap: cap.max(CHUNK) }
    }

    /// Offset of the oldest byte kept.
    pub(super) fn start(&self) -> u64 {
        self.start
    }

    /// Offset one past the newest byte.
    pub(super) fn end(&self) -> u64 {
        self.start + self.held as u64
    }

    /// Bytes of memory the chunks take.
    pub(super) fn allocated(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum()
    }

    /// Renumbers an empty-or-not log so its end is `end` (a gateway whose saved screen is newer
    /// than this log: it goes on from its own offset, and so does the log). Only forward.
    pub(super) fn continue_at(&mut self, end: u64) {
        if end > self.end() {
            self.start = end - self.held as u64;
        }
    }

    /// The chunk the next read goes into (one with room: a read into none would look like the
    /// end of the stream).
    fn tail(&mut self) -> &mut Vec<u8> {
        if self.chunks.back().is_none_or(|c| c.len() == c.capacity()) {
            self.chunks.push_back(Vec::with_capacity(CHUNK));
        }
        // Just ensured: there is a last chunk.
        let last = self.chunks.len() - 1;
        &mut self.chunks[last]
    }

    /// One read of `fd` into the log (at most [`CHUNK`] bytes); the oldest bytes past the bound
    /// are dropped. Returns what `read` returned.
    pub(super) fn read_from(&mut self, fd: impl AsFd) -> rustix::io::Result<usize> {
        let tail = self.tail();
        let n = rustix::io::read(fd, rustix::buffer::spare_capacity(tail))?;
        self.grew(n);
        Ok(n)
    }

    /// Appends `bytes` (tests, and anything not read from a descriptor).
    #[cfg(test)]
    pub(super) fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let tail = self.tail();
            let n = (tail.capacity() - tail.len()).min(bytes.len());
            tail.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            self.grew(n);
        }
    }

    fn grew(&mut self, n: usize) {
        self.held += n;
        if self.held > self.cap {
            let end = self.end();
            self.discard_before(end - self.cap as u64);
        }
    }

    /// Drops every byte before `offset` (no further than the end); whole chunks are freed.
    pub(super) fn discard_before(&mut self, offset: u64) {
        let offset = offset.min(self.end());
        if offset <= self.start {
            return;
        }
        // Fits in usize: offset - start <= held.
        let mut drop = (offset - self.start) as usize;
        self.start = offset;
        self.held -= drop;
        while drop > 0 {
            let Some(first) = self.chunks.front() else { break };
            let left = first.len() - self.head;
            if drop >= left && self.chunks.len() > 1 {
                self.chunks.pop_front();
                self.head = 0;
                drop -= left;
            } else {
                self.head += drop;
                drop = 0;
            }
        }
        if self.held == 0 {
            // Nothing kept: the last (partial) chunk goes too.
            self.chunks.clear();
            self.head = 0;
        }
        if self.chunks.capacity() > 2 * self.chunks.len().max(4) {
            self.chunks.shrink_to_fit();
        }
    }

    /// Appends up to `max` bytes from `offset` to `out`; returns how many. Nothing when `offset`
    /// is outside the log.
    pub(super) fn copy_into(&self, offset: u64, max: usize, out: &mut Vec<u8>) -> usize {
        if offset < self.start || offset > self.end() {
            return 0;
        }
        // Fits in usize: offset - start <= held.
        let mut skip = self.head + (offset - self.start) as usize;
        let mut left = max.min(self.end().saturating_sub(offset) as usize);
        let want = left;
        for chunk in &self.chunks {
            if left == 0 {
                break;
            }
            if skip >= chunk.len() {
                skip -= chunk.len();
                continue;
            }
            let n = (chunk.len() - skip).min(left);
            out.extend_from_slice(&chunk[skip..skip + n]);
            left -= n;
            skip = 0;
        }
        want - left
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(log: &Log, from: u64) -> Vec<u8> {
        let mut out = Vec::new();
        log.copy_into(from, usize::MAX, &mut out);
        out
    }

    fn stream(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn offsets_count_every_byte_across_chunks_and_the_bound() {
        let data = stream(5 * CHUNK + 123);
        let mut log = Log::new(2 * CHUNK, 0);
        log.push(&data);
        assert_eq!(log.end(), data.len() as u64);
        assert_eq!(log.start(), log.end() - 2 * CHUNK as u64, "the bound keeps the newest bytes");
        assert_eq!(all(&log, log.start()), &data[data.len() - 2 * CHUNK..]);
        let mut out = Vec::new();
        assert_eq!(log.copy_into(log.start() - 1, 10, &mut out), 0, "dropped");
        assert_eq!(log.copy_into(log.end() + 1, 10, &mut out), 0, "not yet written");
        let at = log.start() + CHUNK as u64 - 3;
        assert_eq!(log.copy_into(at, 7, &mut out), 7, "across a chunk boundary");
        assert_eq!(out, &data[at as usize..at as usize + 7]);
        assert!(log.allocated() <= 3 * CHUNK, "no more chunks than the bound needs");
    }

    #[test]
    fn a_saved_offset_frees_the_chunks_before_it() {
        let data = stream(64 * CHUNK);
        let mut log = Log::new(16 << 20, 1000);
        log.push(&data);
        assert_eq!(log.allocated(), 64 * CHUNK);
        log.discard_before(1000 + 60 * CHUNK as u64 + 5);
        assert_eq!(log.start(), 1000 + 60 * CHUNK as u64 + 5);
        assert_eq!(all(&log, log.start()), &data[60 * CHUNK + 5..]);
        assert_eq!(log.allocated(), 4 * CHUNK, "only the chunks still holding bytes stay");
        log.discard_before(0);
        assert_eq!(log.start(), 1000 + 60 * CHUNK as u64 + 5, "never backwards");
        log.discard_before(u64::MAX);
        assert_eq!((log.start(), log.end(), log.allocated()), (log.end(), 1000 + data.len() as u64, 0));
        log.push(b"next");
        assert_eq!(all(&log, log.end() - 4), b"next");
    }

    #[test]
    fn a_log_continues_at_a_newer_offset() {
        let mut log = Log::new(CHUNK, 0);
        log.push(b"abc");
        log.continue_at(100);
        assert_eq!((log.start(), log.end()), (97, 100));
        assert_eq!(all(&log, 97), b"abc");
        log.continue_at(50);
        assert_eq!(log.end(), 100, "only forward");
    }

    #[test]
    fn reads_go_straight_into_the_log() {
        let (a, b) = std::os::unix::net::UnixStream::pair().expect("pair");
        std::io::Write::write_all(&mut &a, b"hello").expect("write");
        let mut log = Log::new(CHUNK, 7);
        assert_eq!(log.read_from(&b).expect("read"), 5);
        assert_eq!(all(&log, 7), b"hello");
    }
}
