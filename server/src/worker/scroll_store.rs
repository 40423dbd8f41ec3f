//! The byte-bounded store of lines scrolled off a worker's screen: formatted lines back to
//! back in a few large buffers, oldest first, rather than one allocation per line (a flood
//! scrolls hundreds of thousands of lines a second through here, and most are evicted unread).

use std::collections::VecDeque;

/// Per-line bookkeeping charged against the byte cap, besides the text itself.
pub(crate) const LINE_OVERHEAD: usize = 32;
/// The first buffer's size; each new one doubles the last, up to [`MAX_CHUNK`], so a worker
/// with little scrollback holds little memory.
const MIN_CHUNK: usize = 4 * 1024;
/// The largest buffer (a longer line gets a buffer of its own size).
const MAX_CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, Copy)]
struct Meta {
    len: usize,
    wrapped: bool,
}

/// Lines, oldest first, bounded by `cap` bytes (text plus [`LINE_OVERHEAD`] each). A line never
/// spans two buffers, so reading walks the buffers in step with the lines.
#[derive(Debug)]
pub(crate) struct LineStore {
    chunks: VecDeque<String>,
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
        let fits = self.chunks.back().is_some_and(|c| c.capacity() - c.len() >= text.len());
        if !fits {
            let last = self.chunks.back().map_or(0, String::capacity);
            let size = (last * 2).clamp(MIN_CHUNK, MAX_CHUNK).max(text.len());
            self.chunks.push_back(String::with_capacity(size));
        }
        if let Some(chunk) = self.chunks.back_mut() {
            chunk.push_str(text);
        }
        self.lines.push_back(Meta { len: text.len(), wrapped });
        self.bytes += text.len() + LINE_OVERHEAD;
        while self.bytes > self.cap {
            if !self.pop_front() {
                break;
            }
        }
    }

    fn pop_front(&mut self) -> bool {
        let Some(old) = self.lines.pop_front() else { return false };
        self.bytes -= old.len + LINE_OVERHEAD;
        self.head += old.len;
        // Drop every buffer whose lines are all gone (the last one stays for appending).
        while self.chunks.len() > 1 && self.chunks.front().is_some_and(|c| self.head >= c.len()) {
            self.chunks.pop_front();
            self.head = 0;
        }
        if self.lines.is_empty() {
            self.head = 0;
            self.chunks.iter_mut().for_each(String::clear);
            self.chunks.truncate(1);
        }
        true
    }

    /// The lines, oldest first, with whether each continues on the next (wrapped).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, bool)> + '_ {
        let mut chunk = 0;
        let mut at = self.head;
        self.lines.iter().map(move |meta| {
            if meta.len == 0 {
                return ("", meta.wrapped);
            }
            // A line that does not fit in what is left of this buffer starts the next one.
            if self.chunks.get(chunk).is_some_and(|c| at + meta.len > c.len()) {
                chunk += 1;
                at = 0;
            }
            let text = self.chunks.get(chunk).and_then(|c| c.get(at..at + meta.len)).unwrap_or("");
            at += meta.len;
            (text, meta.wrapped)
        })
    }

    /// How many lines are held.
    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    /// Bytes charged against the cap.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether the newest line wrapped onto the row after it.
    pub(crate) fn last_wrapped(&self) -> bool {
        self.lines.back().is_some_and(|m| m.wrapped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(store: &LineStore) -> Vec<(String, bool)> {
        store.iter().map(|(t, w)| (t.to_string(), w)).collect()
    }

    #[test]
    fn lines_come_back_in_order_across_buffers_and_evictions() {
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
            assert_eq!(store.len(), expected.len(), "after line {i}");
            assert_eq!(store.bytes(), bytes, "after line {i}");
            if i % 250 == 0 || i > 4_990 {
                assert_eq!(collect(&store), Vec::from(expected.clone()), "after line {i}");
            }
        }
        assert_eq!(store.last_wrapped(), expected.back().is_some_and(|l| l.1));
        // Only the buffers still holding lines (plus the one being appended to) are kept.
        let held: usize = store.chunks.iter().map(String::capacity).sum();
        assert!(held <= cap + 2 * MAX_CHUNK + 10, "{held} bytes of buffers for a {cap}-byte cap");
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
