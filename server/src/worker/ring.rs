//! Raw output addressed by absolute stream offsets: [`CatchUpRing`], the worker's catch-up
//! buffer, which keeps bytes only while an attaching client's snapshot needs them (the holder's
//! log is `holder/log.rs`).

use std::collections::{BTreeMap, VecDeque};

/// Bytes a [`CatchUpRing`] keeps with no snapshot pending: the longest UTF-8 character, so a
/// snapshot taken before a split character's last byte still finds the character's first bytes.
pub(crate) const CATCH_UP_TAIL: usize = 4;
/// A [`CatchUpRing`] whose buffer grew past this while snapshots were pending gives the memory
/// back when the last one is answered (a flood during an attach left up to a backlog of bytes).
const CATCH_UP_SHRINK_ABOVE: usize = 16 * 1024;

/// The worker's raw output from the oldest pending snapshot's offset to the end.
///
/// A client attaching gets a `history` snapshot at some offset, then the raw output from that
/// offset to the end; that catch-up is all the bytes are kept for. So the actor *pins* the offset
/// of every snapshot it asks for and unpins it when the snapshot is answered; with nothing
/// pinned only the last [`CATCH_UP_TAIL`] bytes stay. What a pin holds is bounded by the screen
/// backlog (the screen thread answers a snapshot before applying anything sent after it, and the
/// actor sends at most a backlog ahead), and by `cap`: past it the oldest bytes go even when
/// pinned, and the attach asks for a fresh snapshot.
#[derive(Debug)]
pub(crate) struct CatchUpRing {
    buf: VecDeque<u8>,
    /// Stream offset of `buf[0]`.
    start: u64,
    /// Most bytes kept, pinned or not.
    cap: usize,
    /// Pinned offsets and how many pins each has.
    pins: BTreeMap<u64, usize>,
}

impl CatchUpRing {
    /// An empty ring whose next byte has stream offset `start`, holding at most `cap` bytes.
    pub(crate) fn new(cap: usize, start: u64) -> Self {
        Self { buf: VecDeque::new(), start, cap: cap.max(CATCH_UP_TAIL), pins: BTreeMap::new() }
    }

    /// Offset of the oldest byte kept.
    pub(crate) fn start(&self) -> u64 {
        self.start
    }

    /// Offset one past the newest byte (the stream length so far).
    pub(crate) fn end(&self) -> u64 {
        self.start + self.buf.len() as u64
    }

    /// Bytes held now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.buf.len()
    }

    /// Bytes of memory the buffer holds now.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Appends bytes, keeping those from the oldest pin on (at most `cap`), or only the tail.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let end = self.end() + bytes.len() as u64;
        let keep_from = match self.pins.keys().next() {
            Some(&pin) => pin.max(end.saturating_sub(self.cap as u64)),
            None => end.saturating_sub(CATCH_UP_TAIL as u64),
        };
        if keep_from >= self.end() {
            // Nothing held survives: keep only the part of `bytes` past `keep_from`.
            // Fits in usize: end - keep_from <= bytes.len().
            let skip = bytes.len() - (end - keep_from) as usize;
            self.buf.clear();
            self.buf.extend(&bytes[skip..]);
        } else {
            // Fits in usize: keep_from - start < buf.len().
            self.buf.drain(..(keep_from.saturating_sub(self.start)) as usize);
            self.buf.extend(bytes);
        }
        self.start = keep_from.max(self.start);
    }

    /// Keeps the bytes from `offset` on until [`CatchUpRing::unpin`]; `false` (and no pin) when
    /// `offset` is no longer (or not yet) held.
    pub(crate) fn pin(&mut self, offset: u64) -> bool {
        if offset < self.start || offset > self.end() {
            return false;
        }
        *self.pins.entry(offset).or_default() += 1;
        true
    }

    /// Lets go of one pin at `offset`; the last one gives back the memory held for it.
    pub(crate) fn unpin(&mut self, offset: u64) {
        let Some(n) = self.pins.get_mut(&offset) else { return };
        *n -= 1;
        if *n == 0 {
            self.pins.remove(&offset);
        }
        let keep_from = match self.pins.keys().next() {
            Some(&pin) => pin,
            None => self.end().saturating_sub(CATCH_UP_TAIL as u64),
        };
        if keep_from > self.start {
            // Fits in usize: keep_from - start <= buf.len().
            self.buf.drain(..(keep_from - self.start) as usize);
            self.start = keep_from;
        }
        if self.pins.is_empty() && self.buf.capacity() > CATCH_UP_SHRINK_ABOVE {
            self.buf.shrink_to_fit();
        }
    }

    /// The bytes from `offset` to the end, or `None` when `offset` is no longer (or not yet)
    /// held.
    pub(crate) fn since(&self, offset: u64) -> Option<Vec<u8>> {
        if offset < self.start || offset > self.end() {
            return None;
        }
        // Fits in usize: offset - start <= buf.len().
        let skip = (offset - self.start) as usize;
        Some(self.buf.range(skip..).copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_up_keeps_only_a_tail_with_nothing_pinned() {
        let mut r = CatchUpRing::new(1 << 20, 10);
        r.push(&[b'x'; 100_000]);
        r.push(b"abc\xe2");
        assert_eq!(r.end(), 100_014);
        assert_eq!(r.held(), CATCH_UP_TAIL);
        assert_eq!(r.since(100_010).as_deref(), Some(&b"abc\xe2"[..]));
        assert_eq!(r.since(100_013).as_deref(), Some(&b"\xe2"[..]), "a split character's start is kept");
        assert_eq!(r.since(100_009), None, "not kept: nothing was pinned");
        assert!(r.capacity() < CATCH_UP_SHRINK_ABOVE, "a flood with no attach holds no memory");
        r.push(b"d");
        assert_eq!(r.since(r.start()).as_deref(), Some(&b"bc\xe2d"[..]));
    }

    #[test]
    fn a_pin_keeps_everything_after_it_until_unpinned_then_the_memory_goes() {
        let mut r = CatchUpRing::new(1 << 20, 0);
        r.push(b"before ");
        let at = r.end();
        assert!(r.pin(at));
        r.push(b"catch");
        for _ in 0..100 {
            r.push(&[b'y'; 4096]);
        }
        r.push(b"up");
        let got = r.since(at).expect("pinned bytes kept");
        assert_eq!(got.len(), 5 + 100 * 4096 + 2);
        assert!(got.starts_with(b"catch") && got.ends_with(b"yup"));
        // A second, later pin; the first one going keeps what the second needs.
        let later = r.end() - 2;
        assert!(r.pin(later));
        r.unpin(at);
        assert_eq!(r.since(at), None);
        assert_eq!(r.since(later).as_deref(), Some(&b"up"[..]));
        r.unpin(later);
        // What the last pin held, no more than the tail (nothing before it can come back).
        assert_eq!(r.since(later).as_deref(), Some(&b"up"[..]));
        r.push(b"!!");
        assert_eq!(r.held(), CATCH_UP_TAIL);
        assert!(r.capacity() <= CATCH_UP_SHRINK_ABOVE, "capacity {} kept after the last pin", r.capacity());
        assert!(!r.pin(at), "an offset no longer held cannot be pinned");
        assert!(!r.pin(r.end() + 1), "nor one in the future");
        r.unpin(12345); // not pinned: nothing happens
        assert_eq!(r.held(), CATCH_UP_TAIL);
    }

    #[test]
    fn the_cap_bounds_even_pinned_bytes() {
        let mut r = CatchUpRing::new(8, 0);
        assert!(r.pin(0));
        assert!(r.pin(0));
        r.push(b"hello");
        assert_eq!(r.since(0).as_deref(), Some(&b"hello"[..]));
        r.push(b" world");
        assert_eq!((r.start(), r.end()), (3, 11));
        assert_eq!(r.since(0), None, "past the cap: the attach takes a fresh snapshot");
        r.unpin(0);
        assert_eq!(r.since(3).as_deref(), Some(&b"lo world"[..]), "one pin of two is left");
        r.unpin(0);
        assert_eq!(r.since(7).as_deref(), Some(&b"orld"[..]));
        assert_eq!(r.held(), CATCH_UP_TAIL);
    }
}
