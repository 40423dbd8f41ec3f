//! Terminal output that redraws the model: compact SGR lines for scrollback, the whole screen with
//! the cursor (the same escape sequences vt100's `contents_formatted` writes, so any vt100 client
//! reproduces it cell for cell), and the input modes.

use super::cell::{Attrs, Cell, Color, INTENSITY, INVERSE, ITALIC, Row, UNDERLINE};
use super::grid::Pos;
use super::{MouseEncoding, MouseMode, Term, TermSink};

/// Appends `n` in decimal (no `fmt` machinery: this runs for every SGR parameter of every row
/// scrolling off).
#[inline]
fn push_num(out: &mut String, n: u16) {
    let mut digits = [0u8; 5];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// The longest SGR a diff writes: `ESC [`, both colours as 24-bit (`38;2;255;255;255`), the
/// intensity and three modes, `m`.
const SGR_MAX: usize = 2 + 2 * 17 + 3 + 3 * 3 + 1;

/// The slot a diff is written into: the longest SGR and room for the last parameter's
/// four-byte store (`Sgr::push`), which may reach a byte or two past the `m`.
pub(crate) const SGR_SLOT: usize = SGR_MAX + 3;

/// Every parameter value a diff writes (0..=255) as `;` and its decimal digits, padded to four
/// bytes: a parameter is one four-byte store and a length, not a division per digit.
const PARAMS: [[u8; 4]; 256] = {
    let mut table = [[0u8; 4]; 256];
    let mut n = 0;
    while n < 256 {
        // Each digit is below 10, so the casts are exact.
        let (h, t, o) = (b'0' + (n / 100) as u8, b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8);
        table[n] = if n >= 100 {
            [b';', h, t, o]
        } else if n >= 10 {
            [b';', t, o, 0]
        } else {
            [b';', o, 0, 0]
        };
        n += 1;
    }
    table
};

/// An SGR sequence being written into a fixed slot (on the stack, or straight into a row's
/// line buffer), so a diff costs stores, not a `String::push` per parameter. Every parameter is
/// written with a leading `;`; the first one's becomes the `[` when the sequence is finished.
struct Sgr<'a> {
    buf: &'a mut [u8; SGR_SLOT],
    len: usize,
}

impl<'a> Sgr<'a> {
    fn new(buf: &'a mut [u8; SGR_SLOT]) -> Self {
        buf[0] = 0x1b;
        Self { buf, len: 1 }
    }

    /// `;` and `n` in decimal.
    #[inline]
    fn push(&mut self, n: u8) {
        // `len` + 4 ≤ SGR_SLOT: a diff holds at most SGR_MAX bytes with its `m` (see SGR_SLOT).
        self.buf[self.len..self.len + 4].copy_from_slice(&PARAMS[usize::from(n)]);
        self.len += 2 + usize::from(n >= 10) + usize::from(n >= 100);
    }

    // Always inlined: the call cost a third of a colour's parameters.
    #[inline(always)]
    fn color(&mut self, c: Color, base: u8) {
        match c {
            Color::Default => self.push(base + 9),
            Color::Idx(i) if i < 8 => self.push(base + i),
            Color::Idx(i) if i < 16 => self.push(base + 52 + i),
            Color::Idx(i) => {
                self.push(base + 8);
                self.push(5);
                self.push(i);
            }
            Color::Rgb(r, g, b) => {
                self.push(base + 8);
                self.push(2);
                self.push(r);
                self.push(g);
                self.push(b);
            }
        }
    }

    /// The length of the finished sequence (0 when nothing was pushed).
    #[inline]
    fn finish(self) -> usize {
        if self.len == 1 {
            return 0;
        }
        self.buf[1] = b'[';
        self.buf[self.len] = b'm';
        self.len + 1
    }
}

/// Writes the SGR that turns `prev` into `attrs` (vt100's `write_escape_code_diff`) at the
/// start of `buf`; returns its length (0 when no change is needed). ASCII only.
pub(crate) fn write_sgr_diff(buf: &mut [u8; SGR_SLOT], attrs: &Attrs, prev: &Attrs) -> usize {
    if attrs == prev {
        return 0;
    }
    if *attrs == Attrs::DEFAULT {
        buf[..3].copy_from_slice(b"\x1b[m");
        return 3;
    }
    let mut sgr = Sgr::new(buf);
    if attrs.fg != prev.fg {
        sgr.color(attrs.fg.get(), 30);
    }
    if attrs.bg != prev.bg {
        sgr.color(attrs.bg.get(), 40);
    }
    if attrs.mode != prev.mode {
        if attrs.mode & INTENSITY != prev.mode & INTENSITY {
            sgr.push(match attrs.mode & INTENSITY {
                0 => 22,
                1 => 1,
                _ => 2,
            });
        }
        for (bit, on, off) in [(ITALIC, 3, 23), (UNDERLINE, 4, 24), (INVERSE, 7, 27)] {
            if attrs.mode & bit != prev.mode & bit {
                sgr.push(if attrs.mode & bit != 0 { on } else { off });
            }
        }
    }
    sgr.finish()
}

/// Appends the SGR that turns `prev` into `attrs`.
pub(crate) fn attrs_diff(out: &mut String, attrs: &Attrs, prev: &Attrs) {
    let mut buf = [0u8; SGR_SLOT];
    let len = write_sgr_diff(&mut buf, attrs, prev);
    // ASCII, so each byte is its own character.
    out.extend(buf[..len].iter().map(|b| char::from(*b)));
}

fn move_to(out: &mut String, to: Pos) {
    if to.row == 0 && to.col == 0 {
        out.push_str("\x1b[H");
    } else {
        out.push_str("\x1b[");
        push_num(out, to.row + 1);
        out.push(';');
        push_num(out, to.col + 1);
        out.push('H');
    }
}

fn move_from_to(out: &mut String, from: Pos, to: Pos) {
    if to.row == from.row + 1 && to.col == 0 {
        out.push_str("\r\n");
    } else if from.row == to.row && from.col < to.col {
        let n = to.col - from.col;
        if n == 1 {
            out.push_str("\x1b[C");
        } else {
            out.push_str("\x1b[");
            push_num(out, n);
            out.push('C');
        }
    } else if to != from {
        move_to(out, to);
    }
}

fn erase_chars(out: &mut String, n: u16) {
    match n {
        0 => {}
        1 => out.push_str("\x1b[X"),
        n => {
            out.push_str("\x1b[");
            push_num(out, n);
            out.push('X');
        }
    }
}

/// vt100's `Row::write_contents_formatted` for a whole row.
fn row_formatted(
    out: &mut String,
    row: &Row,
    i: u16,
    wrapping: bool,
    mut prev_pos: Pos,
    mut prev_attrs: Attrs,
) -> (Pos, Attrs) {
    let cols = row.cols();
    let mut prev_was_wide = false;
    if wrapping && *row.cell(0) == Cell::DEFAULT {
        if prev_attrs != Attrs::DEFAULT {
            attrs_diff(out, &Attrs::DEFAULT, &prev_attrs);
            prev_attrs = Attrs::DEFAULT;
        }
        out.push_str(" \x08\x1b[X");
        prev_pos = Pos { row: i, col: 0 };
    }
    let mut erase: Option<(u16, Attrs)> = None;
    let finish_erase =
        |out: &mut String, prev_pos: &mut Pos, prev_attrs: &mut Attrs, from: u16, attrs: Attrs| {
            let new_pos = Pos { row: i, col: from };
            if wrapping && prev_pos.row + 1 == new_pos.row && prev_pos.col >= cols {
                if new_pos.col > 0 {
                    for _ in 0..new_pos.col {
                        out.push(' ');
                    }
                } else {
                    out.push_str(" \x08");
                }
            } else {
                move_from_to(out, *prev_pos, new_pos);
            }
            *prev_pos = new_pos;
            if *prev_attrs != attrs {
                attrs_diff(out, &attrs, prev_attrs);
                *prev_attrs = attrs;
            }
        };
    // The stored cells, then one blank past them (all the others are the same blank) when the
    // row is wider: it ends a pending coloured erase exactly as vt100's walk over every cell.
    let stored = row.cells();
    let blank_tail = (stored.len() < usize::from(cols)).then_some(&Cell::DEFAULT);
    for (col, cell) in stored.iter().chain(blank_tail).enumerate() {
        if std::mem::take(&mut prev_was_wide) {
            continue;
        }
        prev_was_wide = cell.is_wide();
        let col = u16::try_from(col).unwrap_or(u16::MAX);
        let pos = Pos { row: i, col };
        if let Some((from, attrs)) = erase
            && (cell.has_contents() || *cell.attrs() != attrs)
        {
            finish_erase(out, &mut prev_pos, &mut prev_attrs, from, attrs);
            erase_chars(out, pos.col - from);
            erase = None;
        }
        if *cell != Cell::DEFAULT {
            let attrs = *cell.attrs();
            if cell.has_contents() {
                if pos != prev_pos {
                    if !wrapping
                        || prev_pos.row + 1 != pos.row
                        || prev_pos.col < cols - u16::from(cell.is_wide())
                        || pos.col != 0
                    {
                        move_from_to(out, prev_pos, pos);
                    }
                    prev_pos = pos;
                }
                if prev_attrs != attrs {
                    attrs_diff(out, &attrs, &prev_attrs);
                    prev_attrs = attrs;
                }
                prev_pos.col += if cell.is_wide() { 2 } else { 1 };
                row.push_contents(usize::from(col), out);
            } else if erase.is_none() {
                erase = Some((pos.col, attrs));
            }
        }
    }
    if let Some((from, attrs)) = erase {
        finish_erase(out, &mut prev_pos, &mut prev_attrs, from, attrs);
        out.push_str("\x1b[K");
    }
    (prev_pos, prev_attrs)
}

/// Redraws the last-column cell the cursor sits after (vt100's pending-wrap cursor handling).
fn redraw_cell(out: &mut String, row: &Row, pos: Pos, prev_pos: Option<Pos>, prev_attrs: &Attrs) {
    match prev_pos {
        Some(p) => move_from_to(out, p, pos),
        None => move_to(out, pos),
    }
    let cell = row.cell(usize::from(pos.col));
    attrs_diff(out, cell.attrs(), prev_attrs);
    row.push_contents(usize::from(pos.col), out);
    attrs_diff(out, prev_attrs, cell.attrs());
}

fn last_col(row: &Row, cols: u16) -> u16 {
    if row.cell(usize::from(cols - 1)).is_wide_continuation() { cols - 2 } else { cols - 1 }
}

fn cursor_formatted(
    out: &mut String,
    rows: &std::collections::VecDeque<Row>,
    cols: u16,
    cursor: Pos,
    prev_pos: Pos,
    prev_attrs: Attrs,
) {
    if prev_pos == cursor || cursor.col < cols {
        move_from_to(out, prev_pos, cursor);
        return;
    }
    let row = &rows[usize::from(cursor.row)];
    let pos = Pos { row: cursor.row, col: last_col(row, cols) };
    if row.cell(usize::from(pos.col)).has_contents() {
        redraw_cell(out, row, pos, Some(prev_pos), &prev_attrs);
        return;
    }
    for i in (0..cursor.row).rev() {
        let r = &rows[usize::from(i)];
        let p = Pos { row: i, col: last_col(r, cols) };
        if r.cell(usize::from(p.col)).has_contents() {
            if prev_pos.row != i || prev_pos.col < cols {
                redraw_cell(out, r, p, Some(prev_pos), &prev_attrs);
            }
            for _ in 0..cursor.row - i {
                out.push('\n');
            }
            return;
        }
    }
    let p = Pos { row: cursor.row, col: cols - 1 };
    move_from_to(out, prev_pos, p);
    out.push(' ');
    let end = *rows[usize::from(cursor.row)].cell(usize::from(p.col)).attrs();
    attrs_diff(out, &end, &prev_attrs);
    out.push_str("\x1b7\x08\x1b[X\x1b8");
    attrs_diff(out, &prev_attrs, &end);
}

impl<S: TermSink> Term<S> {
    /// The visible screen and cursor as terminal output (vt100's `contents_formatted`).
    pub fn contents_formatted(&self, out: &mut String) {
        out.push_str(if self.hide_cursor() { "\x1b[?25l" } else { "\x1b[?25h" });
        self.tab_stops_formatted(out);
        out.push_str("\x1b[m\x1b[H\x1b[J");
        let g = self.grid();
        let mut prev_pos = Pos::default();
        let mut prev_attrs = Attrs::DEFAULT;
        let mut wrapping = false;
        for (i, row) in g.rows.iter().enumerate() {
            let i = u16::try_from(i).unwrap_or(u16::MAX);
            (prev_pos, prev_attrs) = row_formatted(out, row, i, wrapping, prev_pos, prev_attrs);
            wrapping = row.wrapped;
        }
        cursor_formatted(out, &g.rows, g.cols, g.pos, prev_pos, prev_attrs);
        attrs_diff(out, &self.state.attrs, &prev_attrs);
    }

    /// The input modes a client must be in (vt100's `input_mode_formatted`).
    pub fn input_mode_formatted(&self, out: &mut String) {
        out.push_str(if self.application_keypad() { "\x1b=" } else { "\x1b>" });
        out.push_str(if self.application_cursor() { "\x1b[?1h" } else { "\x1b[?1l" });
        out.push_str(if self.bracketed_paste() { "\x1b[?2004h" } else { "\x1b[?2004l" });
        // Insert mode and autowrap off only when so (vt100 has neither, so its output never
        // carries them); after the screen, which is drawn with wrapping on.
        if self.insert_mode() {
            out.push_str("\x1b[4h");
        }
        if !self.autowrap() {
            out.push_str("\x1b[?7l");
        }
        out.push_str(match self.mouse_mode() {
            MouseMode::None => "",
            MouseMode::Press => "\x1b[?9h",
            MouseMode::PressRelease => "\x1b[?1000h",
            MouseMode::ButtonMotion => "\x1b[?1002h",
            MouseMode::AnyMotion => "\x1b[?1003h",
        });
        out.push_str(match self.mouse_encoding() {
            MouseEncoding::Default => "",
            MouseEncoding::Utf8 => "\x1b[?1005h",
            MouseEncoding::Sgr => "\x1b[?1006h",
        });
        if self.state.cursor_style != 0 {
            out.push_str("\x1b[");
            push_num(out, u16::from(self.state.cursor_style));
            out.push_str(" q");
        }
    }

    /// Tab stops a program changed: all cleared, then each set again (the cursor moves, so
    /// this comes before the screen is drawn); nothing while they are the default ones.
    fn tab_stops_formatted(&self, out: &mut String) {
        let Some(tabs) = &self.state.tabs else { return };
        out.push_str("\x1b[3g");
        for col in tabs.stops(self.size().1) {
            out.push_str("\x1b[");
            push_num(out, col + 1);
            out.push_str("G\x1bH");
        }
    }

    /// The visible rows as plain text, each trimmed at the end.
    pub fn plain_lines(&self) -> Vec<String> {
        self.rows()
            .iter()
            .map(|r| {
                let mut s = String::with_capacity(r.cells().len());
                r.write_plain(&mut s);
                s.truncate(s.trim_end().len());
                s
            })
            .collect()
    }
}
