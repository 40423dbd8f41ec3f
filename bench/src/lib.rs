//! Shared pieces of controlroom's benchmarks: the inputs they generate (deterministic, so every
//! run and every contender sees the same bytes) and the statistics they report.

use base64::Engine as _;

/// A small deterministic generator (xorshift64), so inputs are identical across runs.
#[derive(Debug, Clone)]
pub struct Gen(u64);

impl Gen {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// `bytes` of base64 text in 76-column lines (what `base64 /dev/urandom` prints).
pub fn base64_text(bytes: usize) -> Vec<u8> {
    let mut g = Gen::new(0xB64);
    let mut out = Vec::with_capacity(bytes + 80);
    let mut raw = [0u8; 57];
    while out.len() < bytes {
        for b in &mut raw {
            *b = g.next_u64() as u8;
        }
        out.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(raw).as_bytes());
        out.push(b'\n');
    }
    out.truncate(bytes);
    out
}

const LEVELS: [&str; 4] =
    ["\x1b[32mINFO\x1b[0m", "\x1b[33mWARN\x1b[0m", "\x1b[31mERROR\x1b[0m", "\x1b[2mDEBUG\x1b[0m"];
const MODULES: [&str; 5] = ["hub::actor", "worker::pty", "conn", "store", "http"];
const WORDS: [&str; 12] = [
    "request", "handled", "session", "worker", "delta", "bytes", "client", "queued", "ok", "retry", "cache",
    "flush",
];

/// `bytes` of ANSI-heavy log output: coloured levels and fields on every line, a progress line
/// redrawn in place with `\r` + erase, and a status bar redrawn at a fixed position with
/// save/restore cursor every few lines (what build tools and agents print).
pub fn ansi_log(bytes: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut g = Gen::new(0xA851);
    let mut out = String::with_capacity(bytes + 256);
    let mut n: u64 = 0;
    while out.len() < bytes {
        n += 1;
        let level = LEVELS[g.below(4) as usize];
        let module = MODULES[g.below(5) as usize];
        let _ = write!(
            out,
            "\x1b[2m2026-01-01T12:{:02}:{:02}.{:03}Z\x1b[0m {level} \x1b[36m{module}\x1b[0m:",
            (n / 60) % 60,
            n % 60,
            n % 1000
        );
        for _ in 0..(4 + g.below(8)) {
            let word = WORDS[g.below(12) as usize];
            let pick = g.below(6);
            if pick == 0 {
                let _ = write!(out, " \x1b[1m{word}\x1b[22m=\x1b[35m{}\x1b[39m", g.below(100_000));
            } else if pick == 1 {
                let _ = write!(out, " \x1b[38;5;{}m{word}\x1b[39m", 16 + g.below(216));
            } else if pick == 2 {
                let _ =
                    write!(out, " \x1b[38;2;{};{};{}m{word}\x1b[m", g.below(256), g.below(256), g.below(256));
            } else {
                out.push(' ');
                out.push_str(word);
            }
        }
        out.push('\n');
        if n.is_multiple_of(2) {
            let pct = n % 101;
            let bar = "=".repeat((pct / 5) as usize);
            let _ = write!(
                out,
                "\r\x1b[K\x1b[1;34m[{bar:<20}]\x1b[0m {pct:>3}% \x1b[2m({n} lines)\x1b[0m\r\x1b[K"
            );
        }
        if n.is_multiple_of(4) {
            let _ = write!(
                out,
                "\x1b7\x1b[1;1H\x1b[2K\x1b[7m\x1b[38;5;{}m status: {n} lines, {} errors \x1b[0m\x1b[1;60H\x1b[33m{}s\x1b[0m\x1b8",
                16 + g.below(200),
                g.below(10),
                n / 7
            );
        }
    }
    let mut bytes_out = out.into_bytes();
    // Cut at a line end so the screen ends in a known state.
    bytes_out.truncate(bytes);
    if let Some(end) = bytes_out.iter().rposition(|b| *b == b'\n') {
        bytes_out.truncate(end + 1);
    }
    bytes_out
}

/// What a PTY with the default line discipline (`onlcr`) turns `input` into.
pub fn through_pty(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 40);
    for &b in input {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Summary of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Median.
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Sample count.
    pub n: usize,
}

/// Summarises `samples` (empty: all zeros).
pub fn summarize(samples: &[f64]) -> Summary {
    if samples.is_empty() {
        return Summary { median: 0.0, min: 0.0, max: 0.0, p99: 0.0, n: 0 };
    }
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let pct = |p: f64| s[(((s.len() as f64) * p).ceil() as usize).clamp(1, s.len()) - 1];
    let median = if s.len() % 2 == 1 { s[s.len() / 2] } else { (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0 };
    Summary { median, min: s[0], max: s[s.len() - 1], p99: pct(0.99), n: s.len() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_have_the_requested_size_and_shape() {
        let b = base64_text(10_000);
        assert_eq!(b.len(), 10_000);
        assert_eq!(b[76], b'\n');
        let a = ansi_log(50_000);
        assert!(a.len() <= 50_000 && a.len() > 45_000);
        let escapes = a.iter().filter(|b| **b == 0x1b).count();
        assert!(escapes > a.len() / 40, "ANSI-heavy: {escapes} escapes in {} bytes", a.len());
        assert_eq!(through_pty(b"a\nb\n"), b"a\r\nb\r\n");
    }

    #[test]
    fn summaries_take_median_and_percentiles() {
        let s = summarize(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((s.median, s.min, s.max, s.p99, s.n), (3.0, 1.0, 5.0, 5.0, 5));
        let many: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(summarize(&many).p99, 198.0);
    }
}
