//! A row of cells: its wrap flag, the cells as far as it was written (a row stores no cell past
//! the furthest one written, as tmux's grid lines do, and an erased screen gives its buffers back:
//! an idle 80×24 screen costs its rows, not 30 KiB of blank cells), how far it is written now,
//! whether it holds only plain text or no wide or combined cell (the summaries the formatter and
//! the ASCII fast path rely on), and its rare combining marks. A child of `cell`, so it reaches
//! the cells' fields; its own `cells` stay private to this file.

use super::{Attrs, Cell, EXTRA, MAX_CELL_BYTES, WIDE};
use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

#[cfg(test)]
mod checks;

/// Cells a row's buffer holds at least once it is written (a prompt written a character at a
/// time grows it a few times, not once a cell).
const MIN_CELLS: usize = 8;

/// Blank cells a growing row copies from (4 KiB; a wider row copies them more than once).
static BLANKS: [Cell; 256] = [Cell::DEFAULT; 256];

/// One row of cells.
#[derive(Clone, Debug)]
pub struct Row {
    /// The cells as far as the row was ever written since its buffer was last given back, at
    /// most `cols`; every cell past the end reads as `Cell::DEFAULT` ([`Row::cell`]). Rows that
    /// scroll off keep their length (blanked up to `used`), so a flood writes into cells that
    /// are there and grows a row only when a line reaches further than any before it. Private
    /// to this file, so every write goes through a method that keeps `plain` true and the
    /// length within `cols`.
    cells: Vec<Cell>,
    /// The row's width: the screen's, or for a scrollback row the cells it kept.
    cols: u16,
    /// Every cell from here on is `Cell::DEFAULT` (an upper bound, at most `cells.len()`, so
    /// formatting a row that scrolls off skips its blank tail without looking at it).
    used: u16,
    pub(crate) wrapped: bool,
    /// A summary the writers keep: `Some(attrs)` says every cell before `used` is a plain
    /// printable ASCII character drawn with `attrs` (so `used` is exact, and no cell of the row
    /// is wide, a continuation or combined); `None` says nothing. Printable ASCII written from
    /// the left keeps it; every other write drops it until the row is cleared. A row of plain
    /// text then formats as one SGR and a byte copy, and takes more text without a scan.
    plain: Option<Attrs>,
    /// A second summary the writers keep: `true` says no cell of the row carries a flag (wide,
    /// wide continuation, combining marks), so printable ASCII can be written anywhere in it
    /// without looking at the cells first, and it formats without the wide-character checks;
    /// `false` says nothing. Only `set`, `append`, `make_wide_continuation` and `insert` set
    /// flags, and they drop it; a clear of the whole row brings it back. Whenever `plain` is
    /// `Some`, this is `true` (both start so, and whatever drops this drops `plain`).
    narrow: bool,
    /// Combining marks of cells flagged `EXTRA`, by column (rare; usually empty).
    extras: Vec<(u16, String)>,
}

impl Row {
    /// A blank row `cols` wide; it holds no cells until one is written.
    pub(crate) fn new(cols: u16) -> Self {
        Self {
            cells: Vec::new(),
            cols,
            used: 0,
            wrapped: false,
            plain: Some(Attrs::DEFAULT),
            narrow: true,
            extras: Vec::new(),
        }
    }

    /// The attributes every written cell shares when the row is known to hold only plain
    /// printable ASCII up to `used` (at least one cell); `None` when not known.
    #[inline]
    pub(crate) fn plain_attrs(&self) -> Option<Attrs> {
        self.plain.filter(|_| self.used > 0)
    }

    /// Whether the row is known to hold no wide, continuation or combined cell (see `narrow`).
    #[inline]
    pub(crate) fn is_narrow(&self) -> bool {
        self.narrow
    }

    /// Keeps `plain` true across a write of printable ASCII drawn with `attrs` from `col` on:
    /// it stays known only when the write starts inside or right after the written cells (no
    /// blank gap) with the same attributes. Call before `touch`.
    #[inline]
    fn note_ascii_write(&mut self, col: usize, attrs: Attrs) {
        self.plain = match self.plain {
            Some(a) if col <= usize::from(self.used) && (self.used == 0 || a == attrs) => Some(attrs),
            _ => None,
        };
    }

    /// The cells that may hold something; the rest are blank with default attributes.
    #[inline]
    pub(crate) fn used_cells(&self) -> &[Cell] {
        // `used <= cells.len()` (every writer stores the cell before it moves `used`).
        self.cells.get(..usize::from(self.used)).unwrap_or(&self.cells)
    }

    /// Cell `col`: a stored one, or a blank with default attributes past the stored cells
    /// (any `col`, so a scrollback row narrower than the screen reads as blank to its right).
    #[inline]
    pub fn cell(&self, col: usize) -> &Cell {
        self.cells.get(col).unwrap_or(&Cell::DEFAULT)
    }

    /// Marks cell `col` written, storing cells up to it first (blank ones past the stored end).
    #[inline]
    fn touch(&mut self, col: usize) {
        if col >= self.cells.len() {
            self.grow(col + 1);
        }
        let end = u16::try_from(col + 1).unwrap_or(u16::MAX);
        if end > self.used {
            self.used = end;
        }
    }

    /// Stores `end` cells, at most the row's width (blank ones past the stored end), copied
    /// from [`BLANKS`]: one `memcpy`, where `resize` writes cell by cell.
    #[inline(never)]
    fn grow(&mut self, end: usize) {
        let end = end.min(usize::from(self.cols));
        self.room_for(end);
        while self.cells.len() < end {
            let n = (end - self.cells.len()).min(BLANKS.len());
            self.cells.extend_from_slice(&BLANKS[..n]);
        }
    }

    /// Makes room for `end` cells without storing any.
    #[inline]
    fn room_for(&mut self, end: usize) {
        if end > self.cells.capacity() {
            self.reserve_cells(end);
        }
    }

    /// The buffer grows geometrically (writing a line a character at a time reallocates a few
    /// times, not once a cell) but never past the width, so a full row holds exactly its cells.
    #[cold]
    #[inline(never)]
    fn reserve_cells(&mut self, end: usize) {
        let cols = usize::from(self.cols);
        let want = (self.cells.capacity() * 2).max(MIN_CELLS).min(cols).max(end);
        self.cells.reserve_exact(want - self.cells.len());
    }

    /// Writes printable ASCII into a plain cell (the hot path of printing).
    #[inline]
    pub(crate) fn set_ascii(&mut self, col: usize, c: char, attrs: Attrs) {
        self.note_ascii_write(col, attrs);
        self.touch(col);
        self.cells[col].set_ascii(c, attrs);
    }

    /// Writes printable ASCII from `col` on while the cells are plain (no wide character before
    /// or under them, no combining marks); returns how many were written. `col + bytes.len()`
    /// must not pass the end of the row.
    #[inline]
    pub(crate) fn write_ascii(&mut self, col: usize, bytes: &[u8], attrs: Attrs) -> usize {
        // A plain row is always narrow too (`narrow`), so one flag covers both.
        let written = if self.narrow {
            // No cell of the row is wide or combined: all of it is written.
            bytes.len()
        } else {
            if col > 0 && self.cell(col - 1).is_wide() {
                return 0;
            }
            // Find where the plain cells end first, so the copy below is a loop without exits
            // (cells past the stored ones are blank, so plain).
            let stored = self.cells.len();
            let cells = &self.cells[col.min(stored)..(col + bytes.len()).min(stored)];
            cells.iter().position(|c| c.flags & (WIDE | EXTRA) != 0).unwrap_or(bytes.len())
        };
        if written == 0 {
            return 0;
        }
        self.note_ascii_write(col, attrs);
        self.touch(col + written - 1);
        let cells = &mut self.cells[col..col + written];
        // Each cell is a copy of a template (one 16-byte load and store) with its character
        // written over. Built field by field, the cell takes five stores, and the compiler
        // splits a plain template back into those fields; read through `black_box` (a codegen
        // hint only: the template is what it is either way), it stays one 16-byte value.
        let template = [Cell { ch: ' ', attrs, flags: 0 }];
        let template = std::hint::black_box(&template);
        for (cell, &b) in cells.iter_mut().zip(bytes) {
            cell.clone_from(&template[0]);
            cell.ch = char::from(b);
        }
        written
    }

    /// The row's width in cells.
    pub(crate) fn cols(&self) -> u16 {
        self.cols
    }

    /// The cells that may hold something, left to right (never past the row's width); every
    /// cell after them is blank with default attributes ([`Row::cell`] reads any column).
    pub fn cells(&self) -> &[Cell] {
        self.used_cells()
    }

    /// Whether `other` holds the same cells and combining marks, so drawing one draws the other
    /// (a front end keeps the rows it drew and redraws only those that differ). Exact, never
    /// loose: rows stored to different lengths, or with their marks noted in another order,
    /// compare unequal even when they read the same, which costs a redraw, never a stale row.
    pub fn same_cells(&self, other: &Row) -> bool {
        self.used_cells() == other.used_cells() && self.extras == other.extras
    }

    /// The row's text continues on the next row (it was wrapped, not ended by a newline).
    pub fn wrapped(&self) -> bool {
        self.wrapped
    }

    /// Writes the text of cell `col` (base character and combining marks); nothing for an
    /// empty cell.
    pub fn push_contents(&self, col: usize, out: &mut String) {
        let cell = self.cell(col);
        if !cell.has_contents() {
            return;
        }
        out.push(cell.ch);
        if cell.has_extra()
            && let Some((_, s)) = self.extras.iter().find(|(c, _)| usize::from(*c) == col)
        {
            out.push_str(s);
        }
    }

    fn contents_len(&self, col: usize) -> usize {
        let cell = self.cell(col);
        let extra = if cell.has_extra() {
            self.extras.iter().find(|(c, _)| usize::from(*c) == col).map_or(0, |(_, s)| s.len())
        } else {
            0
        };
        cell.ch.len_utf8() + extra
    }

    fn drop_extra(&mut self, col: usize) {
        if self.cell(col).has_extra() {
            self.extras.retain(|(c, _)| usize::from(*c) != col);
        }
    }

    /// Sets cell `col` to `c` (any width), dropping its combining marks.
    pub(crate) fn set(&mut self, col: usize, c: char, attrs: Attrs) {
        self.plain = None;
        self.drop_extra(col);
        self.touch(col);
        let wide = c.width().unwrap_or(1) > 1;
        if wide {
            self.narrow = false;
        }
        let cell = &mut self.cells[col];
        cell.ch = c;
        cell.attrs = attrs;
        cell.flags = if wide { WIDE } else { 0 };
    }

    /// Appends a combining mark to cell `col` (vt100: an empty cell gets a space first).
    pub(crate) fn append(&mut self, col: usize, c: char) {
        self.plain = None;
        self.narrow = false;
        self.touch(col);
        if self.contents_len(col) >= MAX_CELL_BYTES && self.cells[col].has_contents() {
            return;
        }
        let cell = &mut self.cells[col];
        if !cell.has_contents() {
            cell.ch = ' ';
        }
        if cell.has_extra() {
            if let Some((_, s)) = self.extras.iter_mut().find(|(k, _)| usize::from(*k) == col) {
                s.push(c);
            }
        } else {
            cell.flags |= EXTRA;
            let key = u16::try_from(col).unwrap_or(u16::MAX);
            self.extras.push((key, c.to_string()));
        }
        if c == '\u{FE0F}' {
            let mut text = String::new();
            self.push_contents(col, &mut text);
            let cell = &mut self.cells[col];
            if text.width() > 1 {
                cell.flags |= WIDE;
            } else {
                cell.flags &= !WIDE;
            }
        }
    }

    /// Empties cell `col` (wide flags too), giving it `attrs`.
    pub(crate) fn clear_cell(&mut self, col: usize, attrs: Attrs) {
        self.plain = None;
        self.drop_extra(col);
        if attrs != Attrs::DEFAULT {
            self.touch(col);
        }
        // A blank cell with default attributes past the stored ones is already there.
        if let Some(cell) = self.cells.get_mut(col) {
            *cell = Cell { ch: '\0', attrs, flags: 0 };
        }
    }

    pub(crate) fn make_wide_continuation(&mut self, col: usize) {
        self.clear_cell(col, Attrs::DEFAULT);
        self.narrow = false;
        self.touch(col);
        self.cells[col].set_wide_continuation(true);
    }

    /// Erases the row to blank cells with `attrs`.
    pub(crate) fn clear(&mut self, attrs: Attrs) {
        if attrs == Attrs::DEFAULT {
            self.reset();
            return;
        }
        self.cells.clear();
        // Room for exactly the width (`resize` alone may double past it).
        self.room_for(usize::from(self.cols));
        self.cells.resize(usize::from(self.cols), Cell { ch: '\0', attrs, flags: 0 });
        self.extras.clear();
        self.narrow = true;
        self.wrapped = false;
        // Coloured cells with no character: written, but not plain text.
        self.used = self.cols;
        self.plain = None;
    }

    /// Erases the row to blank cells with default attributes (a row scrolling off). The cell
    /// buffer stays for the next line written into the row (a flood scrolls a row off and
    /// writes it again at once; that must not cost an allocation).
    #[inline]
    pub(crate) fn reset(&mut self) {
        // Cells from `used` on are already blank: a row that scrolls off after a short line
        // costs the line, not the screen width.
        let used = usize::from(self.used).min(self.cells.len());
        self.cells[..used].fill(Cell::DEFAULT);
        self.used = 0;
        self.extras.clear();
        self.wrapped = false;
        self.plain = Some(Attrs::DEFAULT);
        // Every cell is blank now.
        self.narrow = true;
    }

    /// Gives the cell buffer back when no cell is stored (an erased screen, `ESC[2J`, costs
    /// nothing per row until it is written again). Not for rows that scroll off or lines
    /// erased one at a time: those are written again at once and keep their buffer.
    pub(crate) fn release_if_blank(&mut self) {
        if self.used == 0 && self.cells.capacity() > 0 {
            self.cells = Vec::new();
        }
    }

    /// Cells up to and including the last one that is not blank with default attributes.
    pub(crate) fn trimmed_len(&self) -> usize {
        self.used_cells().iter().rposition(|c| *c != Cell::DEFAULT).map_or(0, |i| i + 1)
    }

    /// A row with no cells, to be filled by [`Row::copy_trimmed_into`].
    pub(crate) fn empty() -> Self {
        Self::new(0)
    }

    /// Makes `into` a copy of this row without its blank tail (vt100 trims scrollback rows the
    /// same way), reusing `into`'s allocations.
    pub(crate) fn copy_trimmed_into(&self, into: &mut Row) {
        let len = self.trimmed_len();
        into.cells.clear();
        into.cells.extend_from_slice(&self.used_cells()[..len]);
        into.extras.clear();
        into.extras.extend(self.extras.iter().filter(|(c, _)| usize::from(*c) < len).cloned());
        into.wrapped = self.wrapped;
        // The copy is as wide as what it kept (len <= cols, a u16).
        into.cols = u16::try_from(len).unwrap_or(u16::MAX);
        into.used = into.cols;
        // A plain row has no blank cell before `used`, so the copy is the whole written part.
        into.plain = self.plain.filter(|_| len == usize::from(self.used));
        // A part of the row has no more flagged cells than all of it.
        into.narrow = self.narrow;
    }

    fn shift_extras(&mut self, from: usize, by: isize, len: usize) {
        if self.extras.is_empty() {
            return;
        }
        self.extras.retain_mut(|(c, _)| {
            let col = usize::from(*c);
            if col < from {
                return true;
            }
            let moved = col.checked_add_signed(by).filter(|n| *n < len && *n >= from);
            match moved.and_then(|n| u16::try_from(n).ok()) {
                Some(n) => {
                    *c = n;
                    true
                }
                None => false,
            }
        });
    }

    /// ICH: inserts `count` blank cells at `i`.
    pub(crate) fn insert(&mut self, i: u16, count: u16) {
        let i = usize::from(i);
        let cols = usize::from(self.cols);
        let count = usize::from(count).min(cols - i);
        if count == 0 {
            self.wrapped = false;
            return;
        }
        self.plain = None;
        // Marks of cells pushed off the end go with them.
        self.shift_extras(i, count as isize, cols);
        let used = usize::from(self.used);
        if i < used {
            let was_cont = self.cells[i].is_wide_continuation();
            if was_cont {
                self.cells[i].set_wide_continuation(false);
            }
            // The written cells move right by `count` (those passing the width drop off); the
            // blank ones past them stay blank.
            let end = (used + count).min(cols);
            self.touch(end - 1);
            let slice = &mut self.cells[i..end];
            slice.rotate_right(count);
            slice[..count].fill(Cell::DEFAULT);
            if was_cont {
                self.narrow = false;
                self.cells[i].set_wide_continuation(true);
            }
        }
        self.set_truncated();
    }

    /// DCH: removes the cells in `start..end`, shifting the rest left.
    pub(crate) fn remove(&mut self, start: u16, end: u16) {
        self.wrapped = false;
        if start >= end {
            return;
        }
        self.plain = None;
        self.clear_wide(start);
        let last = end - 1;
        if last != start {
            self.clear_wide(last);
        }
        let (start, count) = (usize::from(start), usize::from(end - start));
        for col in start..start + count {
            self.drop_extra(col);
        }
        self.shift_extras(start + count, -(count as isize), usize::from(self.cols));
        // The written cells after the range move left; blank ones come in from the right.
        let used = usize::from(self.used);
        if start < used {
            let slice = &mut self.cells[start..used];
            let count = count.min(slice.len());
            slice[..count].fill(Cell::DEFAULT);
            slice.rotate_left(count);
        }
    }

    /// Erases cells `start..end` (what `erase` does for each, in one pass).
    pub(crate) fn erase_range(&mut self, start: u16, end: u16, attrs: Attrs) {
        if start >= end {
            return;
        }
        let cols = self.cols();
        // vt100 clears the wrap flag when it erases the row's last character (a wide one ends
        // one column early); decide that from the cells before they are erased.
        let unwraps = |row: &Row, i: u16| {
            let wide = row.cell(usize::from(i)).is_wide();
            i == cols.saturating_sub(if wide { 2 } else { 1 })
        };
        let unwrap = (cols.saturating_sub(2).max(start)..end).any(|i| unwraps(self, i));
        self.clear_wide(start);
        if end - 1 != start {
            self.clear_wide(end - 1);
        }
        let (s, e) = (usize::from(start), usize::from(end));
        if !self.extras.is_empty() {
            self.extras.retain(|(c, _)| !(s..e).contains(&usize::from(*c)));
        }
        // Wide pairs inside the range are erased whole, so no halves are left behind.
        if attrs == Attrs::DEFAULT {
            // Cells from `used` on are already blank: erase only up to there (`ESC[K` on a
            // wide screen touches a few written cells, not the whole row), and when the erase
            // reaches the end of what was written, nothing is written from `start` on.
            let used = usize::from(self.used);
            if s < used {
                self.cells[s..e.min(used)].fill(Cell::DEFAULT);
            }
            if e >= used {
                // The written cells before `start` are untouched: a plain row stays plain.
                self.used = self.used.min(start);
            } else {
                // A blank gap inside the written cells.
                self.plain = None;
            }
        } else {
            self.plain = None;
            self.touch(e - 1);
            self.cells[s..e].fill(Cell { ch: '\0', attrs, flags: 0 });
        }
        if unwrap {
            self.wrapped = false;
        }
    }

    fn set_truncated(&mut self) {
        self.wrapped = false;
        let Some(last) = usize::from(self.cols).checked_sub(1) else { return };
        let cell = *self.cell(last);
        if cell.is_wide() {
            self.clear_cell(last, cell.attrs);
        }
    }

    /// Resizes to `len` cells.
    pub(crate) fn resize(&mut self, len: u16) {
        self.plain = None;
        match len.cmp(&self.cols) {
            std::cmp::Ordering::Equal => {}
            std::cmp::Ordering::Less => {
                self.cols = len;
                let len = usize::from(len);
                self.extras.retain(|(c, _)| usize::from(*c) < len);
                self.cells.truncate(len);
                self.used = self.used.min(self.cols);
                self.set_truncated();
            }
            std::cmp::Ordering::Greater => {
                // The new cells are blank: nothing to store.
                self.cols = len;
                self.wrapped = false;
            }
        }
    }

    /// Clears the other half of a wide character at `col`.
    pub(crate) fn clear_wide(&mut self, col: u16) {
        let col = usize::from(col);
        let cell = *self.cell(col);
        let other = if cell.is_wide() {
            let next = col + 1;
            if next >= usize::from(self.cols) {
                self.clear_cell(col, cell.attrs);
                return;
            }
            next
        } else if cell.is_wide_continuation() {
            col - 1
        } else {
            return;
        };
        let attrs = self.cell(other).attrs;
        self.clear_cell(other, attrs);
    }

    /// Plain text of the row (as vt100's `Screen::rows` gives it, before trimming: blank cells
    /// after the last character add nothing, so the stored cells are all of it).
    pub(crate) fn write_plain(&self, out: &mut String) {
        self.write_plain_upto(out, usize::from(self.used));
    }

    /// Plain text of the first `width` cells.
    pub(crate) fn write_plain_upto(&self, out: &mut String, width: usize) {
        let mut prev_was_wide = false;
        let mut prev_col = 0usize;
        for (col, cell) in self.used_cells().iter().take(width).enumerate() {
            if std::mem::take(&mut prev_was_wide) {
                continue;
            }
            prev_was_wide = cell.is_wide();
            if cell.has_contents() {
                for _ in prev_col..col {
                    out.push(' ');
                }
                self.push_contents(col, out);
                prev_col = col + if cell.is_wide() { 2 } else { 1 };
            }
        }
    }
}
