//! The ground-state fast path: while `vte` is known to sit in its ground state (no escape
//! sequence open, no partial UTF-8 character held), printable ASCII runs go straight into the
//! row and C0 controls straight to `execute`, which is exactly what `vte` would call for them.
//! A whole CSI sequence of the common shape is parsed here too (`csi.rs`). Everything else
//! (other escape sequences, DEL, non-ASCII) goes through `vte`.
//!
//! Why: `vte` decodes every character and calls `print` once per character; most output is
//! printable ASCII, and writing a run into a row at once costs a fraction of that (BENCHMARKS.md,
//! "ground fast path").
//!
//! `vte` does not expose its state, so it is proven from its callbacks: from an ESC on, `vte`
//! runs (`advance_until_terminated`) until a CSI or ESC dispatch or a BEL-ended OSC, each of
//! which leaves it in ground, and stops right after that byte. A sequence that ends without such
//! a dispatch (an ignored CSI, CAN/SUB, a DCS ended by the C1 ST) leaves the rest of the input to
//! `vte` until the next one: slower, never wrong. A character cut off by the end of the input is
//! carried to the next call instead of left inside `vte`. `tests_ground` holds all of it to
//! `vte` alone on random and awkward input cut into random chunks.

use super::csi::parse_plain_csi;
use super::{MODE_ALT_SCREEN, Parser, Term, TermSink};
use vte::{Params, Perform};

const ESC: u8 = 0x1b;

impl<S: TermSink> Parser<S> {
    /// Applies output: the ground fast path where it can, `vte` for the rest.
    pub fn process(&mut self, bytes: &[u8]) {
        let mut i = 0;
        if !self.carry.is_empty() {
            i = self.finish_carried_char(bytes);
        }
        while i < bytes.len() {
            if self.ground {
                i += self.ground_step(&bytes[i..]);
                continue;
            }
            // In a sequence (or not known to be out of one): `vte` until a dispatch proves
            // ground; it stops right after the dispatching byte.
            let mut tracked = Tracked { term: &mut self.term, ground: false };
            i += self.vte.advance_until_terminated(&mut tracked, &bytes[i..]);
            self.ground = tracked.ground;
        }
    }

    /// Handles what `rest` (non-empty) starts with while in ground; returns the bytes used.
    fn ground_step(&mut self, rest: &[u8]) -> usize {
        match rest[0] {
            0x20..=0x7e => {
                let run = printable_ascii_prefix(rest);
                self.term.print_ascii(&rest[..run]);
                run
            }
            ESC => {
                // A whole CSI sequence of the common shape skips `vte` (`csi.rs`); `vte` stays in
                // ground, as it would be after dispatching it.
                if rest.get(1) == Some(&b'[')
                    && let Some(used) = parse_plain_csi(&rest[2..], &mut self.csi)
                {
                    let csi = &self.csi;
                    if csi.action == b'm' && csi.intermediates().is_empty() {
                        // SGR, most sequences in coloured output: where `csi_sequence` would
                        // route it, without the two dispatches on the way.
                        self.term.sgr_values(csi.values());
                    } else {
                        self.term.csi_sequence(csi, csi.intermediates(), char::from(csi.action));
                    }
                    return 2 + used;
                }
                // The sequence, in the same call, up to the dispatch that ends it (if it is whole).
                let mut tracked = Tracked { term: &mut self.term, ground: false };
                let used = self.vte.advance_until_terminated(&mut tracked, rest);
                self.ground = tracked.ground;
                used
            }
            control @ 0x00..=0x1f => {
                self.term.execute(control);
                1
            }
            _ => {
                // DEL and non-ASCII text (no ESC in it, so `vte` stays in ground).
                let run = rest.iter().position(|b| *b < 0x7f).unwrap_or(rest.len());
                self.non_ascii(&rest[..run], run == rest.len());
                run
            }
        }
    }

    /// Decodes DEL and non-ASCII text through `vte`. A character cut off by the end of the
    /// input (`at_end`) is carried to the next call rather than left inside `vte`, so the
    /// fast path goes on; broken UTF-8 leaves the rest to `vte` until the next dispatch.
    fn non_ascii(&mut self, text: &[u8], at_end: bool) {
        match std::str::from_utf8(text) {
            Ok(_) => self.vte.advance(&mut self.term, text),
            // `error_len` none: what follows `valid_up_to` is the start of one whole character.
            Err(e) if at_end && e.error_len().is_none() => {
                let (whole, tail) = text.split_at(e.valid_up_to());
                self.vte.advance(&mut self.term, whole);
                self.carry.extend_from_slice(tail);
            }
            Err(_) => {
                self.vte.advance(&mut self.term, text);
                self.ground = false;
            }
        }
    }

    /// Completes the character carried from the last call with the continuation bytes `bytes`
    /// starts with; returns how many it took.
    fn finish_carried_char(&mut self, bytes: &[u8]) -> usize {
        let more = bytes.iter().take(3).take_while(|b| (0x80..0xc0).contains(*b)).count();
        let mut text = std::mem::take(&mut self.carry);
        text.extend_from_slice(&bytes[..more]);
        self.non_ascii(&text, more == bytes.len());
        more
    }
}

/// How many bytes `bytes` starts with that are printable ASCII (0x20..=0x7e), eight at a time:
/// the first word with a byte outside the range gives its position, and the last few bytes are
/// checked as one word padded with spaces, so no byte is looked at on its own. Inlined: most
/// runs in coloured output are a word or two, where a call's set-up costs as much as the scan.
#[inline(always)]
pub(crate) fn printable_ascii_prefix(bytes: &[u8]) -> usize {
    let mut n = 0;
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if let Some(at) = first_non_printable(word) {
            return n + at;
        }
        n += 8;
    }
    let rest = words.remainder();
    let mut word = [b' '; 8];
    word[..rest.len()].copy_from_slice(rest);
    n + first_non_printable(word).unwrap_or(rest.len())
}

/// The index of the first byte of `word` outside 0x20..=0x7e.
#[inline]
fn first_non_printable(word: [u8; 8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let x = u64::from_le_bytes(word);
    // A byte below 0x20 sets its high bit in `low`, 0x7f in `high`, and one above 0x7f has it
    // already; no term carries or borrows between bytes (each stays within 0x00..=0xff), so the
    // lowest set high bit marks exactly the first such byte.
    let low = (x | HIGHS).wrapping_sub(ONES * 0x20) ^ HIGHS;
    let high = (x & !HIGHS).wrapping_add(ONES);
    let bad = (low | high | x) & HIGHS;
    // At most 63 trailing zeros, so the index is below 8.
    (bad != 0).then(|| (bad.trailing_zeros() / 8) as usize)
}

impl<S: TermSink> Term<S> {
    /// Prints a run of printable ASCII (0x20..=0x7e): what `text` does per character, with the
    /// row looked up once per stretch that fits before the right margin.
    fn print_ascii(&mut self, run: &[u8]) {
        if self.insert_mode() {
            // Each character shifts the row: the general path, one at a time.
            for &b in run {
                self.text(char::from(b));
            }
            return;
        }
        let mut rest = run;
        while let Some(&first) = rest.first() {
            let attrs = self.state.attrs;
            let grid = if self.state.modes & MODE_ALT_SCREEN != 0 { &mut self.alt } else { &mut self.main };
            let col = grid.pos.col;
            let room = usize::from(grid.cols.saturating_sub(col)).min(rest.len());
            let written = if room == 0 {
                0
            } else {
                grid.rows[usize::from(grid.pos.row)].write_ascii(usize::from(col), &rest[..room], attrs)
            };
            if written == 0 {
                // At the right margin (wrap) or over a wide or combined cell: the general path.
                self.text(char::from(first));
                rest = &rest[1..];
                continue;
            }
            // `written` ≤ `room` ≤ cols, which fits in u16.
            grid.pos.col = col + u16::try_from(written).unwrap_or(u16::MAX);
            self.state.last_char = Some(char::from(rest[written - 1]));
            rest = &rest[written..];
        }
    }
}

/// The performer for the byte-at-a-time path: forwards every callback to the screen and notes
/// whether the parser is known to be back in ground after it.
struct Tracked<'a, S: TermSink> {
    term: &'a mut Term<S>,
    ground: bool,
}

impl<S: TermSink> Perform for Tracked<'_, S> {
    fn print(&mut self, c: char) {
        // Not a proof: `vte` may go on to an ESC or a partial character in the same step.
        self.term.print(c);
    }

    fn execute(&mut self, byte: u8) {
        // Not a proof either (CAN/SUB end a sequence, but also occur in ground text).
        self.term.execute(byte);
    }

    fn hook(&mut self, params: &Params, intermediates: &[u8], ignore: bool, action: char) {
        self.term.hook(params, intermediates, ignore, action);
        self.ground = false;
    }

    fn put(&mut self, byte: u8) {
        self.term.put(byte);
        self.ground = false;
    }

    fn unhook(&mut self) {
        self.term.unhook();
        // Ended by ESC (a new sequence), ST or CAN/SUB: not a proof.
        self.ground = false;
    }

    fn osc_dispatch(&mut self, params: &[&[u8]], bell_terminated: bool) {
        self.term.osc_dispatch(params, bell_terminated);
        // Ended by ESC (or CAN/SUB), the parser is in the next sequence or not known to be out.
        self.ground = bell_terminated;
    }

    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], ignore: bool, action: char) {
        self.term.csi_dispatch(params, intermediates, ignore, action);
        self.ground = true;
    }

    fn esc_dispatch(&mut self, intermediates: &[u8], ignore: bool, byte: u8) {
        self.term.esc_dispatch(intermediates, ignore, byte);
        self.ground = true;
    }

    fn terminated(&self) -> bool {
        self.ground
    }
}

#[cfg(test)]
impl<S: TermSink> Parser<S> {
    /// Applies output through `vte` alone (the reference the fast path is tested against).
    pub(crate) fn process_through_vte(&mut self, bytes: &[u8]) {
        self.vte.advance(&mut self.term, bytes);
    }
}
