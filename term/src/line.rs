//! One row as compact SGR-only text (`line_basic`): what the gateway stores for every row that
//! scrolls off the main screen, so it runs for every line of output.
//!
//! Why a byte buffer: a coloured log line is a dozen short runs, each behind an SGR diff; pushed
//! into the `String` a character and a parameter at a time, the pushes cost more than the
//! cells. The row is gathered on the stack instead (ASCII only, so it needs one UTF-8 check per
//! chunk) and appended in one copy (BENCHMARKS.md, "line buffer").

use super::cell::{Attrs, Cell, Row};
use super::format::{SGR_SLOT, attrs_diff, write_sgr_diff};

/// Bytes gathered before they are appended to the output (a coloured 200-column row fits).
const LINE_CHUNK: usize = 512;

/// Formatted ASCII on its way into `out`: only ASCII is written here (a non-ASCII character
/// goes to `out` itself after a flush), so every chunk passes the UTF-8 check.
struct LineBuf<'a> {
    buf: [u8; LINE_CHUNK],
    len: usize,
    out: &'a mut String,
}

impl<'a> LineBuf<'a> {
    fn new(out: &'a mut String) -> Self {
        Self { buf: [0; LINE_CHUNK], len: 0, out }
    }

    /// Appends what is gathered to the output.
    fn flush(&mut self) {
        let bytes = &self.buf[..self.len];
        match std::str::from_utf8(bytes) {
            Ok(text) => self.out.push_str(text),
            // Not reached (only ASCII is gathered); each byte still lands as a character.
            Err(_) => self.out.extend(bytes.iter().map(|b| char::from(*b))),
        }
        self.len = 0;
    }

    /// The free part of the buffer (never empty: a full buffer is flushed first).
    #[inline]
    fn room(&mut self) -> &mut [u8] {
        if self.len == LINE_CHUNK {
            self.flush();
        }
        &mut self.buf[self.len..]
    }

    /// Appends ASCII bytes.
    #[inline]
    fn push_ascii(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let room = self.room();
            let n = room.len().min(bytes.len());
            room[..n].copy_from_slice(&bytes[..n]);
            self.len += n;
            bytes = &bytes[n..];
        }
    }

    /// Appends the SGR that turns `prev` into `attrs`, written straight into the buffer.
    #[inline]
    fn push_sgr_diff(&mut self, attrs: &Attrs, prev: &Attrs) {
        if LINE_CHUNK - self.len < SGR_SLOT {
            self.flush();
        }
        // `len` ≤ LINE_CHUNK - SGR_SLOT after the flush, so the slot is whole.
        if let Ok(slot) = <&mut [u8; SGR_SLOT]>::try_from(&mut self.buf[self.len..self.len + SGR_SLOT]) {
            self.len += write_sgr_diff(slot, attrs, prev);
        }
    }

    /// Appends `n` spaces.
    fn push_spaces(&mut self, mut n: usize) {
        while n > 0 {
            let room = self.room();
            let k = room.len().min(n);
            room[..k].fill(b' ');
            self.len += k;
            n -= k;
        }
    }

    /// Appends one character, ASCII or not.
    fn push_char(&mut self, c: char) {
        if c.is_ascii() {
            // ASCII, so the cast keeps the whole character.
            self.push_ascii(&[c as u8]);
        } else {
            self.flushed().push(c);
        }
    }

    /// The output with everything gathered so far in it, for text that is not ASCII.
    fn flushed(&mut self) -> &mut String {
        self.flush();
        self.out
    }
}

/// Gathers the printable ASCII characters of the plain cells at the start of `cells` that are
/// drawn with `attrs`; returns how many cells it took. Each cell is checked and its byte stored
/// in one pass. `NARROW`: the row is known to have no flagged cell, so the flags go unchecked.
#[inline]
fn push_ascii_run<const NARROW: bool>(cells: &[Cell], attrs: &Attrs, line: &mut LineBuf) -> usize {
    let mut taken = 0;
    loop {
        let room = line.room();
        let space = room.len();
        let mut n = 0;
        for (b, cell) in room.iter_mut().zip(&cells[taken..]) {
            if !((NARROW || cell.is_plain()) && (' '..='~').contains(&cell.ch()) && cell.attrs() == attrs) {
                break;
            }
            // Printable ASCII (checked just above), so the cast keeps the whole character.
            *b = cell.ch() as u8;
            n += 1;
        }
        line.len += n;
        taken += n;
        if n < space {
            // Stopped at a cell of another kind or at the end of `cells`.
            return taken;
        }
    }
}

/// A stack buffer aligned like a machine word, so `from_utf8` checks it a word at a time from
/// the first byte.
#[repr(align(16))]
struct RunBuf([u8; PLAIN_CHUNK]);

/// Cells of a plain row copied per `push_str` (a whole 200-column row in one).
const PLAIN_CHUNK: usize = 256;

/// Appends the characters of `cells`, all plain printable ASCII, one byte each.
fn push_plain_ascii(cells: &[Cell], out: &mut String) {
    out.reserve(cells.len());
    let mut buf = RunBuf([0; PLAIN_CHUNK]);
    for chunk in cells.chunks(PLAIN_CHUNK) {
        let bytes = &mut buf.0[..chunk.len()];
        // Printable ASCII (the row says so), so each cast keeps the whole character. Eight
        // cells per step: the loop costs less than the loads and stores.
        let mut outs = bytes.chunks_exact_mut(8);
        let mut ins = chunk.chunks_exact(8);
        for (o, i) in (&mut outs).zip(&mut ins) {
            for (b, cell) in o.iter_mut().zip(i) {
                *b = cell.ch() as u8;
            }
        }
        for (b, cell) in outs.into_remainder().iter_mut().zip(ins.remainder()) {
            *b = cell.ch() as u8;
        }
        if let Ok(text) = std::str::from_utf8(bytes) {
            out.push_str(text);
        }
    }
}

/// Appends one row as SGR-only text starting from default attributes, trailing blanks trimmed.
///
/// Hot: every row scrolling off the main screen goes through here, so runs of plain ASCII cells
/// with the same attributes are copied as bytes (no attribute diff, no combining-mark lookup).
pub fn line_basic(row: &Row, out: &mut String) {
    if let Some(attrs) = row.plain_attrs() {
        // Known plain (see `Row::plain`): what the loop below writes for it, without looking
        // at attributes or trailing blanks cell by cell.
        if attrs != Attrs::DEFAULT {
            attrs_diff(out, &attrs, &Attrs::DEFAULT);
        }
        push_plain_ascii(row.used_cells(), out);
        return;
    }
    if row.is_narrow() {
        line_cells::<true>(row, out);
    } else {
        line_cells::<false>(row, out);
    }
}

/// `line_basic` for a row not known to be plain, cell by cell. Its own function so the plain
/// path does not set up the line buffer. `NARROW`: the row is known to hold no wide or combined
/// cell (`Row::is_narrow`), so no cell's flags are looked at (a coloured log line).
#[inline(never)]
fn line_cells<const NARROW: bool>(row: &Row, out: &mut String) {
    let used = row.used_cells();
    let Some(end) = used.iter().rposition(|c| *c != Cell::DEFAULT) else { return };
    out.reserve(end + 1);
    let cells = &used[..=end];
    let mut line = LineBuf::new(out);
    let mut current = Attrs::DEFAULT;
    let mut prev_was_wide = false;
    let mut empty = 0usize;
    let mut col = 0;
    while let Some(cell) = cells.get(col) {
        if NARROW || (cell.is_plain() && !prev_was_wide) {
            if *cell == Cell::DEFAULT {
                empty += 1;
                col += 1;
                continue;
            }
            if empty > 0 {
                line.push_spaces(std::mem::take(&mut empty));
            }
            if *cell.attrs() != current {
                line.push_sgr_diff(cell.attrs(), &current);
                current = *cell.attrs();
            }
            let run = push_ascii_run::<NARROW>(&cells[col..], &current, &mut line);
            if run == 0 {
                line.push_char(if cell.has_contents() { cell.ch() } else { ' ' });
                col += 1;
            } else {
                col += run;
            }
            continue;
        }
        let this = col;
        col += 1;
        if std::mem::take(&mut prev_was_wide) {
            continue;
        }
        prev_was_wide = cell.is_wide();
        if *cell == Cell::DEFAULT {
            empty += 1;
            continue;
        }
        line.push_spaces(std::mem::take(&mut empty));
        line.push_sgr_diff(cell.attrs(), &current);
        current = *cell.attrs();
        if cell.has_contents() {
            row.push_contents(this, line.flushed());
        } else {
            line.push_ascii(b" ");
        }
    }
    line.flush();
}
