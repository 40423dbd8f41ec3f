//! The byte-bounded store of lines scrolled off a worker's screen: formatted lines back to
//! back in a few large buffers, oldest first, rather than one allocation per line (a flood
//! scrolls hundreds of thousands of lines a second through here, and most are evicted unread).
//!
//! Buffers that are no longer appended to are *cold*; [`LineStore::pack_cold`] packs them with
//! LZ4 (the screen thread calls it once it has caught up with the output and the buffers have
//! been cold a while), so what a worker keeps after heavy output is a fraction of its text.
//! Reading unpacks one buffer at a time. The byte cap counts the text as formatted, packed or
//! not, so the lines kept do not depend on how well they pack.

use std::collections::VecDeque;

/// Per-line bookkeeping charged against the byte cap, besides the text itself.
pub(crate) const LINE_OVERHEAD: usize = 32;
/// The first buffer's size; each new one doubles the last, up to [`MAX_CHUNK`], so a worker
/// with little scrollback holds little memory.
const MIN_CHUNK: usize = 4 * 1024;
/// The largest buffer (a longer line gets a buffer of its own size).
const MAX_CHUNK: usize = 64 * 1024;
/// A packed buffer is kept only when it is at most this fraction (in eighths) of its text:
/// text that hardly packs (base64) is kept as text, so reading it costs no unpacking.
const PACK_KEEP_EIGHTHS: usize = 7;
/// The wrapped flag's bit in [`Meta`]; the rest is the line's length.
const WRAPPED: u32 = 1 << 31;

/// One line's length and whether it wrapped, in 4 bytes (a store holds tens of thousands).
#[derive(Debug, Clone, Copy)]
struct Meta(u32);

impl Meta {
    /// `None` for a line of 2 GiB or more (a formatted row is at most a few MiB: 65,535
    /// columns of a few dozen bytes each).
    fn new(len: usize, wrapped: bool) -> Option<Self> {
        let len = u32::try_from(len).ok().filter(|l| l & WRAPPED == 0)?;
        Some(Self(len | if wrapped { WRAPPED } else { 0 }))
    }

    fn len(self) -> usize {
        (self.0 & !WRAPPED) as usize
    }

    fn wrapped(self) -> bool {
        self.0 & WRAPPED != 0
    }
}

/// One buffer of lines, back to back.
#[derive(Debug)]
enum Chunk {
    /// Being appended to, or cold and not looked at yet.
    Open(String),
    /// Cold and kept as text (it did not pack well), at its exact size.
    Sealed(Box<str>),
    /// Cold and packed with LZ4: `len` bytes of text.
    Packed { data: Box<[u8]>, len: usize },
}

impl Chunk {
    /// Bytes of text.
    fn len(&self) -> usize {
        match self {
            Chunk::Open(s) => s.len(),
            Chunk::Sealed(s) => s.len(),
            Chunk::Packed { len, .. } => *len,
        }
    }

    /// Bytes of memory held.
    fn held(&self) -> usize {
        match self {
            Chunk::Open(s) => s.capacity(),
            Chunk::Sealed(s) => s.len(),
            Chunk::Packed { data, .. } => data.len(),
        }
    }
}

/// Lines, oldest first, bounded by `cap` bytes (text plus [`LINE_OVERHEAD`] each). A line never
/// spans two buffers, so reading walks the buffers in step with the lines.
#[derive(Debug)]
pub(crate) struct LineStore {
    chunks: VecDeque<Chunk>,
    lines: VecDeque<Meta>,
    /// Bytes at the start of `chunks[0]` that belong to evicted lines.
    head: usize,
    bytes: usize,
    cap: usize,
}

impl LineStore {
    /// An empty store holding at most `cap` bytes.
    pub(crate) fn new(cap: usize) -> Self {
        Self { chunks: VecDeque::new(), lines: VecDeque::new(), head: 0, bytes: 0, cap }
    }

    /// Appends a line, evicting the oldest while over the cap.
    pub(crate) fn push(&mut self, text: &str, wrapped: bool) {
        let Some(meta) = Meta::new(text.len(), wrapped) else { return };
        let fits = matches!(self.chunks.back(), Some(Chunk::Open(c)) if c.capacity() - c.len() >= text.len());
        if !fits {
            let last = self.chunks.back().map_or(0, |c| c.len().max(c.held()));
            let size = (last * 2).clamp(MIN_CHUNK, MAX_CHUNK).max(text.len());
            self.chunks.push_back(Chunk::Open(String::with_capacity(size)));
        }
        if let Some(Chunk::Open(chunk)) = self.chunks.back_mut() {
            chunk.push_str(text);
        }
        self.lines.push_back(meta);
        self.bytes += text.len() + LINE_OVERHEAD;
        while self.bytes > self.cap {
            if !self.pop_front() {
                break;
            }
        }
    }

    fn pop_front(&mut self) -> bool {
        let Some(old) = self.lines.pop_front() else { return false };
        self.bytes -= old.len() + LINE_OVERHEAD;
        self.head += old.len();
        // Drop every buffer whose lines are all gone (the last one stays for appending).
        while self.chunks.len() > 1 && self.chunks.front().is_some_and(|c| self.head >= c.len()) {
            self.chunks.pop_front();
            self.head = 0;
        }
        if self.lines.is_empty() {
            self.head = 0;
            self.chunks.clear();
        }
        true
    }

    /// Whether a cold buffer waits to be packed: they are packed all at once, so the unpacked
    /// ones are the newest, and the one before the last tells.
    pub(crate) fn packable(&self) -> bool {
        let n = self.chunks.len();
        let cold = n.checked_sub(2).and_then(|i| self.chunks.get(i));
        matches!(cold, Some(Chunk::Open(_)))
            || matches!(self.chunks.back(), Some(Chunk::Open(c)) if c.len() >= MAX_CHUNK / 2)
    }

    /// Packs every cold buffer (and the newest when it is at least half a [`MAX_CHUNK`]: the
    /// next line then starts a new one); returns the bytes of memory given back.
    pub(crate) fn pack_cold(&mut self) -> usize {
        let n = self.chunks.len();
        let mut saved = 0;
        for (i, chunk) in self.chunks.iter_mut().enumerate() {
            let Chunk::Open(text) = chunk else { continue };
            if i + 1 == n && text.len() < MAX_CHUNK / 2 {
                continue;
            }
            let before = text.capacity();
            let packed = lz4_flex::block::compress(text.as_bytes());
            *chunk = if packed.len() * 8 <= text.len() * PACK_KEEP_EIGHTHS {
                Chunk::Packed { data: packed.into_boxed_slice(), len: text.len() }
            } else {
                Chunk::Sealed(std::mem::take(text).into_boxed_str())
            };
            saved += before.saturating_sub(chunk.held());
        }
        saved
    }

    /// Calls `f` with each line, oldest first, and whether it continues on the next (wrapped).
    /// Packed buffers are unpacked one at a time into a scratch buffer.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&str, bool)) {
        let mut unpacked = String::new();
        let mut loaded = None;
        let mut chunk = 0;
        let mut at = self.head;
        for meta in &self.lines {
            let len = meta.len();
            if len == 0 {
                f("", meta.wrapped());
                continue;
            }
            // A line that does not fit in what is left of this buffer starts the next one.
            if self.chunks.get(chunk).is_some_and(|c| at + len > c.len()) {
                chunk += 1;
                at = 0;
            }
            let text = match self.chunks.get(chunk) {
                Some(Chunk::Open(s)) => s.get(at..at + len),
                Some(Chunk::Sealed(s)) => s.get(at..at + len),
                Some(Chunk::Packed { data, len: n }) => {
                    if loaded != Some(chunk) {
                        unpack(data, *n, &mut unpacked);
                        loaded = Some(chunk);
                    }
                    unpacked.get(at..at + len)
                }
                None => None,
            };
            at += len;
            f(text.unwrap_or(""), meta.wrapped());
        }
    }

    /// How many lines are held.
    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    /// Bytes charged against the cap.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Bytes of memory the buffers hold (packed ones at their packed size).
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.chunks.iter().map(Chunk::held).sum()
    }

    /// Whether the newest line wrapped onto the row after it.
    pub(crate) fn last_wrapped(&self) -> bool {
        self.lines.back().is_some_and(|m| m.wrapped())
    }
}

/// Unpacks `data` (`len` bytes of text) into `out`, reusing its buffer. Packed buffers are made
/// here from valid text, so a failure is not expected; it leaves `out` empty (those lines read
/// as blank) rather than stopping the screen thread.
fn unpack(data: &[u8], len: usize, out: &mut String) {
    let mut buf = std::mem::take(out).into_bytes();
    buf.clear();
    buf.resize(len, 0);
    match lz4_flex::block::decompress_into(data, &mut buf) {
        Ok(n) if n == len => {}
        _ => buf.clear(),
    }
    *out = String::from_utf8(buf).unwrap_or_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(store: &LineStore) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        store.for_each(|t, w| out.push((t.to_string(), w)));
        out
    }

    #[test]
    fn lines_come_back_in_order_across_buffers_evictions_and_packing() {
        let cap = 50_000;
        let mut store = LineStore::new(cap);
        let mut expected = VecDeque::new();
        let mut bytes = 0;
        for i in 0..5_000usize {
            // Lengths from 0 to a whole buffer and more, so lines land at every buffer edge.
            let len = if i % 997 == 0 { MAX_CHUNK + 10 } else { (i * 37) % 300 };
            let text: String = (0..len).map(|k| char::from(b'a' + ((i + k) % 26) as u8)).collect();
            let wrapped = i % 3 == 0;
            store.push(&text, wrapped);
            bytes += text.len() + LINE_OVERHEAD;
            expected.push_back((text, wrapped));
            while bytes > cap {
                let Some((old, _)) = expected.pop_front() else { break };
                bytes -= old.len() + LINE_OVERHEAD;
            }
            // Packing now and then, so packed, sealed and open buffers mix.
            if i % 400 == 0 {
                store.pack_cold();
            }
            assert_eq!(store.len(), expected.len(), "after line {i}");
            assert_eq!(store.bytes(), bytes, "after line {i}");
            if i % 250 == 0 || i > 4_990 {
                assert_eq!(collect(&store), Vec::from(expected.clone()), "after line {i}");
            }
        }
        assert_eq!(store.last_wrapped(), expected.back().is_some_and(|l| l.1));
        // Only the buffers still holding lines (plus the one being appended to) are kept.
        let held: usize = store.held();
        assert!(held <= cap + 2 * MAX_CHUNK + 10, "{held} bytes of buffers for a {cap}-byte cap");
    }

    #[test]
    fn packing_cold_buffers_keeps_every_line_and_gives_memory_back() {
        let mut store = LineStore::new(4 << 20);
        let mut expected = Vec::new();
        for i in 0..20_000 {
            // Formatted log lines: colour sequences and repeated words pack well.
            let text = format!(
                "\x1b[2m12:{:02}:{:02}\x1b[0m \x1b[32mINFO\x1b[0m worker::pty: read {i} bytes",
                i / 60 % 60,
                i % 60
            );
            store.push(&text, i % 7 == 0);
            expected.push((text, i % 7 == 0));
        }
        let text: usize = expected.iter().map(|(t, _)| t.len()).sum();
        assert!(store.packable());
        let before = store.held();
        assert!(before >= text);
        let saved = store.pack_cold();
        assert_eq!(before - store.held(), saved);
        assert!(store.held() * 3 < text, "{} bytes held for {text} bytes of text", store.held());
        assert!(!store.packable(), "everything cold is packed");
        assert_eq!(collect(&store), expected);
        // Appending after packing opens a new buffer; reading still walks them in order.
        store.push("after", false);
        expected.push(("after".into(), false));
        assert_eq!(collect(&store), expected);
    }

    #[test]
    fn text_that_does_not_pack_is_kept_as_text_at_its_size() {
        let mut store = LineStore::new(1 << 20);
        let mut g = 0x9E37_79B9_7F4A_7C15u64;
        let mut expected = Vec::new();
        for _ in 0..3_000 {
            // base64-like: no repeats for LZ4 to find.
            let line: String = (0..76)
                .map(|_| {
                    g ^= g << 13;
                    g ^= g >> 7;
                    g ^= g << 17;
                    char::from(
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                            [(g % 64) as usize],
                    )
                })
                .collect();
            store.push(&line, false);
            expected.push((line, false));
        }
        store.pack_cold();
        assert!(store.chunks.iter().any(|c| matches!(c, Chunk::Sealed(_))));
        assert!(!store.chunks.iter().any(|c| matches!(c, Chunk::Packed { .. })));
        assert_eq!(collect(&store), expected);
        assert!(store.held() <= 76 * 3_000 + MAX_CHUNK, "sealed buffers are at their exact size");
    }

    #[test]
    fn a_line_over_the_cap_is_not_kept() {
        let mut store = LineStore::new(100);
        store.push(&"x".repeat(200), false);
        assert_eq!(store.len(), 0);
        assert_eq!(store.bytes(), 0);
        store.push("short", true);
        assert_eq!(collect(&store), vec![("short".to_string(), true)]);
    }
}
