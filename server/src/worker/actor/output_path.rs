//! The output path of a worker: the ring of raw output, the UTF-8 alignment for JSON clients and
//! the screen model, and the batch size and flood coalescing of the reads.

use crate::worker::ring::CatchUpRing;
use crate::worker::utf8::Utf8Splitter;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A batch at least this big means output is flooding (a PTY read returns at most ~4 KiB), so
/// the next batch is taken `WorkerConfig::flood_coalesce` later (unless a whole batch is waiting
/// already): reads pile up into one batch instead of costing an actor, screen, writer and client
/// wake-up each. Output that is not flooding (echo, prompts) is never delayed.
pub(super) const FLOOD_BATCH_BYTES: usize = 2048;

/// What happens to each batch of output before it fans out.
pub(super) struct OutputPath {
    /// Raw output as read (binary clients get exactly these bytes), kept while an attaching
    /// client's catch-up needs it.
    pub(super) ring: CatchUpRing,
    /// Aligns output to UTF-8 characters for JSON clients and the screen model, which lag the
    /// ring by the carried bytes of a split character (at most 3).
    pub(super) utf8: Utf8Splitter,
    /// The most bytes taken as one batch.
    pub(super) batch_bytes: usize,
    /// While output floods: when the next batch is taken (see [`FLOOD_BATCH_BYTES`]).
    pub(super) coalesce_until: Option<tokio::time::Instant>,
    /// The ring's end, shared with the handle for the hub's screen-save schedule (see
    /// `WorkerHandle::output_end`).
    pub(super) end: Arc<AtomicU64>,
    /// While set, the actor takes no output from the process (the one switch for holding a
    /// worker back, e.g. to a slow client's pace): nothing is read from its holder's socket or
    /// its pipe, so the holder stops reading the PTY and the program blocks on a full terminal.
    /// Input, resizes and commands still flow. Clear it to resume; nothing is lost meanwhile.
    pub(super) paused: bool,
}

impl OutputPath {
    /// A ring of `ring_bytes` starting at stream offset `offset`.
    pub(super) fn new(ring_bytes: usize, offset: u64, batch_bytes: usize) -> Self {
        Self {
            ring: CatchUpRing::new(ring_bytes, offset),
            utf8: Utf8Splitter::default(),
            batch_bytes,
            coalesce_until: None,
            end: Arc::new(AtomicU64::new(offset)),
            paused: false,
        }
    }

    /// Notes a batch of `len` bytes: a flooding one delays the next take by `coalesce`.
    pub(super) fn note_batch(&mut self, len: usize, coalesce: Duration) {
        self.coalesce_until =
            (len >= FLOOD_BATCH_BYTES && !coalesce.is_zero()).then(|| tokio::time::Instant::now() + coalesce);
    }

    /// Pushes `raw` into the ring; returns its offset, and the bytes aligned to UTF-8
    /// characters with their offset.
    pub(super) fn push(&mut self, raw: &[u8]) -> (u64, Vec<u8>, u64) {
        let offset = self.ring.end();
        self.ring.push(raw);
        self.end.store(self.ring.end(), Ordering::Relaxed);
        // Fits: the carry is at most 3 bytes, all of them already in the ring.
        let aligned_offset = offset - self.utf8.carried_len() as u64;
        let aligned = self.utf8.split(raw);
        (offset, aligned, aligned_offset)
    }

    /// A split character that will never be completed (the process exited), with its offset.
    pub(super) fn flush_tail(&mut self) -> Option<(Vec<u8>, u64)> {
        let tail = self.utf8.flush();
        if tail.is_empty() {
            return None;
        }
        let offset = self.ring.end() - tail.len() as u64;
        Some((tail, offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_character_waits_for_its_end_with_the_right_offsets() {
        let mut out = OutputPath::new(1024, 100, 64);
        assert!(out.ring.pin(100), "as an attach does");
        let (offset, aligned, aligned_offset) = out.push(b"a\xe2\x82");
        assert_eq!((offset, aligned.as_slice(), aligned_offset), (100, &b"a"[..], 100));
        let (offset, aligned, aligned_offset) = out.push(b"\xacb");
        assert_eq!(offset, 103, "raw offsets count every byte");
        assert_eq!((aligned.as_slice(), aligned_offset), ("€b".as_bytes(), 101), "the carry comes first");
        assert_eq!(out.ring.since(100).as_deref(), Some(&b"a\xe2\x82\xacb"[..]));
        assert_eq!(out.end.load(Ordering::Relaxed), 105, "the shared end follows the ring");
    }

    #[test]
    fn the_tail_of_a_never_finished_character_is_flushed_at_its_offset() {
        let mut out = OutputPath::new(1024, 0, 64);
        out.push(b"ab\xe2");
        assert_eq!(out.flush_tail(), Some((b"\xe2".to_vec(), 2)));
        assert_eq!(out.flush_tail(), None);
    }

    #[test]
    fn only_a_flooding_batch_delays_the_next() {
        let mut out = OutputPath::new(1024, 0, 64);
        out.note_batch(FLOOD_BATCH_BYTES - 1, Duration::from_millis(5));
        assert!(out.coalesce_until.is_none());
        out.note_batch(FLOOD_BATCH_BYTES, Duration::ZERO);
        assert!(out.coalesce_until.is_none(), "zero turns coalescing off");
        out.note_batch(FLOOD_BATCH_BYTES, Duration::from_millis(5));
        assert!(out.coalesce_until.is_some());
    }
}
