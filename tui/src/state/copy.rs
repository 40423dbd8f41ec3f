//! Copy mode while attached, as tmux's: a frozen copy of the worker's history and screen taken
//! when the mode starts (the worker keeps running and its output keeps arriving, but the view
//! stays where the user is), a cursor moved with vi keys or the mouse, a selection
//! (character-wise `v`, line-wise `V`, block `Ctrl-v`), a search (`/`, `?`, `n`, `N`) and the text
//! a copy puts on the clipboard (`y`, `Y`).
//!
//! Positions are cells: `line` indexes the frozen copy (0 is the oldest scrollback row kept),
//! `col` is a column; a wide character is addressed by its first column, and a position never
//! rests on the second half of one.

use super::line_edit::LineEdit;
use super::screen::Screen;
use super::search::{Match, row_matches};
use controlroom_term::{Cell, Row};

/// Rows one turn of the mouse wheel moves the view.
pub const WHEEL_ROWS: usize = 3;

/// A cell of the frozen copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Row of the copy, 0 the oldest.
    pub line: usize,
    /// Column.
    pub col: u16,
}

/// How a selection spans the rows between its ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// From one cell to another, whole rows between (`v`).
    Chars,
    /// Whole rows (`V`).
    Lines,
    /// The rectangle between the two ends (`Ctrl-v`).
    Block,
}

/// A selection: it runs from `anchor` to the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// Where it started.
    pub anchor: Pos,
    /// Its shape.
    pub kind: Kind,
}

/// The search inside copy mode.
#[derive(Debug, Clone, Default)]
pub struct CopySearch {
    /// The query being typed, while the prompt is open.
    pub prompt: Option<LineEdit>,
    /// The prompt (or the last search) looks backward (`?`).
    pub backward: bool,
    /// The last query run.
    pub query: String,
    /// The match the cursor went to: where and how many cells.
    pub current: Option<(Pos, u16)>,
    /// What the last search step says (`wrapped`, `no match for …`).
    pub note: Option<String>,
}

/// The mouse's left button in copy mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Drag {
    /// Not held.
    #[default]
    Up,
    /// Pressed, not moved yet: a click moves the cursor only.
    Pressed,
    /// Moved while held: a selection follows it and the release copies it.
    Selecting,
}

/// What a key or mouse event in copy mode asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Still in copy mode; `true` when anything visible changed.
    Stay(bool),
    /// Leave copy mode without copying.
    Leave,
    /// Copy this text to the clipboard and leave copy mode.
    Copy(String),
}

/// Copy mode's state: the frozen copy and where the user is in it.
#[derive(Debug, Clone)]
pub struct CopyMode {
    /// The history then the screen, as they were when copy mode started.
    lines: Vec<Row>,
    /// How many of `lines` were history (the rest were the screen).
    history: usize,
    /// The view's size (the worker's screen).
    rows: u16,
    cols: u16,
    /// The first line in view.
    top: usize,
    cursor: Pos,
    /// The column vertical moves aim for (vi's "curswant").
    want_col: u16,
    /// The selection, while one is made.
    pub selection: Option<Selection>,
    /// The search.
    pub search: CopySearch,
    drag: Drag,
}

/// How a cell reads to the word motions (`w`, `b`, `e`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Blank,
    Word,
    Punct,
}

fn class_of(cell: &Cell) -> Class {
    let c = cell.ch();
    if !cell.has_contents() || c.is_whitespace() {
        Class::Blank
    } else if c.is_alphanumeric() || c == '_' {
        Class::Word
    } else {
        Class::Punct
    }
}

impl CopyMode {
    /// Copy mode over `screen` as it is now: the view starts where the user was looking (scrolled
    /// back or live), the cursor where the program's cursor is (or at the bottom-left of a
    /// scrolled-back view).
    pub fn enter(screen: &Screen) -> Self {
        let (rows, cols) = screen.size();
        let kept = screen.scrollback_len();
        let mut lines: Vec<Row> = (0..kept).filter_map(|i| screen.scrollback_row(i).cloned()).collect();
        let history = lines.len();
        lines.extend(screen.rows().iter().cloned());
        let back = screen.scrollback().min(history);
        let top = history - back;
        let cursor = if back == 0 {
            let (r, c) = screen.cursor_position();
            Pos { line: history + usize::from(r), col: c.min(cols.saturating_sub(1)) }
        } else {
            Pos { line: top + usize::from(rows) - 1, col: 0 }
        };
        let mut mode = Self {
            lines,
            history,
            rows: rows.max(1),
            cols: cols.max(1),
            top,
            cursor,
            want_col: cursor.col,
            selection: None,
            search: CopySearch::default(),
            drag: Drag::Up,
        };
        mode.cursor = mode.clamp(cursor);
        mode.want_col = mode.cursor.col;
        mode.follow();
        mode
    }

    /// The view's size: rows, columns.
    pub fn size(&self) -> (u16, u16) {
        (self.rows, self.cols)
    }

    /// The first line in view.
    pub fn top(&self) -> usize {
        self.top
    }

    /// Lines in the frozen copy (history and screen).
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether the copy holds no line (never: a screen has at least one row).
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// How far the view's top is above the screen as it was (0: the screen itself).
    pub fn scrolled(&self) -> usize {
        self.history.saturating_sub(self.top)
    }

    /// The history lines kept when copy mode started.
    pub fn history(&self) -> usize {
        self.history
    }

    /// The cursor.
    pub fn cursor(&self) -> Pos {
        self.cursor
    }

    /// Row `line` of the copy.
    pub fn line(&self, line: usize) -> Option<&Row> {
        self.lines.get(line)
    }

    /// Whether a drag (mouse selection) is under way.
    pub fn dragging(&self) -> bool {
        self.drag == Drag::Selecting
    }

    fn cell(&self, line: usize, col: u16) -> &Cell {
        self.lines.get(line).and_then(|r| r.cells().get(usize::from(col))).unwrap_or(&Cell::DEFAULT)
    }

    /// The column itself, or the first column of the wide character whose second half it is.
    fn snap_col(&self, line: usize, col: u16) -> u16 {
        let col = col.min(self.cols - 1);
        if col > 0 && self.cell(line, col).is_wide_continuation() { col - 1 } else { col }
    }

    /// The last column of the cell at `col` (the second for a wide character).
    fn cell_end(&self, line: usize, col: u16) -> u16 {
        if self.cell(line, col).is_wide() { (col + 1).min(self.cols - 1) } else { col }
    }

    fn clamp(&self, p: Pos) -> Pos {
        let line = p.line.min(self.lines.len().saturating_sub(1));
        Pos { line, col: self.snap_col(line, p.col) }
    }

    /// The last column holding text on `line` (blanks and spaces at the end are not text), if
    /// any.
    fn last_text_col(&self, line: usize) -> Option<u16> {
        let cells = self.lines.get(line)?.cells();
        let end = cells.iter().take(usize::from(self.cols)).rposition(|c| class_of(c) != Class::Blank)?;
        u16::try_from(end).ok().map(|c| self.snap_col(line, c))
    }

    /// Scrolls the view just enough to show the cursor.
    fn follow(&mut self) {
        let rows = usize::from(self.rows);
        if self.cursor.line < self.top {
            self.top = self.cursor.line;
        } else if self.cursor.line >= self.top + rows {
            self.top = self.cursor.line + 1 - rows;
        }
        self.top = self.top.min(self.max_top());
    }

    fn max_top(&self) -> usize {
        self.lines.len().saturating_sub(usize::from(self.rows))
    }

    /// Moves the cursor to `p` (clamped); a horizontal move also sets the column vertical moves
    /// aim for.
    fn go(&mut self, p: Pos, horizontal: bool) {
        self.cursor = self.clamp(p);
        if horizontal {
            self.want_col = self.cursor.col;
        }
        self.follow();
    }

    fn vertical(&mut self, line: usize) {
        let line = line.min(self.lines.len().saturating_sub(1));
        self.cursor = Pos { line, col: self.snap_col(line, self.want_col) };
        self.follow();
    }

    /// Moves the view by `delta` rows (older when negative), keeping the cursor in view.
    fn scroll_view(&mut self, delta: isize) {
        self.top = self.top.saturating_add_signed(delta).min(self.max_top());
        let rows = usize::from(self.rows);
        let line = self.cursor.line.clamp(self.top, self.top + rows - 1);
        if line != self.cursor.line {
            self.vertical(line);
        }
    }

    /// The next cell to the right, on to the next line at the end of one.
    fn step_right(&self, p: Pos) -> Option<Pos> {
        let next = self.cell_end(p.line, p.col) + 1;
        if next < self.cols {
            return Some(Pos { line: p.line, col: next });
        }
        (p.line + 1 < self.lines.len()).then_some(Pos { line: p.line + 1, col: 0 })
    }

    /// The next cell to the left, back to the end of the previous line at the start of one.
    fn step_left(&self, p: Pos) -> Option<Pos> {
        if p.col > 0 {
            return Some(Pos { line: p.line, col: self.snap_col(p.line, p.col - 1) });
        }
        let line = p.line.checked_sub(1)?;
        Some(Pos { line, col: self.snap_col(line, self.cols - 1) })
    }

    fn class(&self, p: Pos) -> Class {
        class_of(self.cell(p.line, p.col))
    }

    /// `w`: the start of the next word (a run of letters and digits, or of other marks).
    fn word_forward(&self, p: Pos) -> Pos {
        let start = self.class(p);
        let mut q = p;
        // With no word after this one, the cursor stays.
        loop {
            let Some(n) = self.step_right(q) else { return p };
            let crossed = n.line != q.line;
            q = n;
            if crossed || self.class(q) != start {
                break;
            }
        }
        while self.class(q) == Class::Blank {
            match self.step_right(q) {
                Some(n) => q = n,
                None => return p,
            }
        }
        q
    }

    /// `b`: the start of this word, or of the one before when already there.
    fn word_back(&self, p: Pos) -> Pos {
        let mut q = p;
        loop {
            let Some(n) = self.step_left(q) else { return q };
            q = n;
            if self.class(q) != Class::Blank {
                break;
            }
        }
        let class = self.class(q);
        while let Some(n) = self.step_left(q) {
            if n.line != q.line || self.class(n) != class {
                break;
            }
            q = n;
        }
        q
    }

    /// `e`: the end of this word, or of the next when already there.
    fn word_end(&self, p: Pos) -> Pos {
        let mut q = p;
        loop {
            let Some(n) = self.step_right(q) else { return q };
            q = n;
            if self.class(q) != Class::Blank {
                break;
            }
        }
        let class = self.class(q);
        while let Some(n) = self.step_right(q) {
            if n.line != q.line || self.class(n) != class {
                break;
            }
            q = n;
        }
        q
    }

    /// The matches of the last query on `line`.
    pub fn matches_on(&self, line: usize) -> Vec<Match> {
        match (self.search.query.is_empty(), self.lines.get(line)) {
            (false, Some(row)) => row_matches(row, line as u64, &self.search.query),
            _ => Vec::new(),
        }
    }

    /// The selection as a span, if one is made.
    fn span(&self) -> Option<Span> {
        let s = self.selection?;
        let (a, b) = if s.anchor <= self.cursor { (s.anchor, self.cursor) } else { (self.cursor, s.anchor) };
        let block = (s.anchor.col.min(self.cursor.col), s.anchor.col.max(self.cursor.col));
        Some(Span { a, b, kind: s.kind, block })
    }

    /// The columns of `line` a span covers, first and last (inclusive, a wide character's both
    /// halves included), if any.
    fn cols_in(&self, s: &Span, line: usize) -> Option<(u16, u16)> {
        if line < s.a.line || line > s.b.line {
            return None;
        }
        let last = self.cols - 1;
        Some(match s.kind {
            Kind::Lines => (0, last),
            Kind::Block => {
                (self.snap_col(line, s.block.0), self.cell_end(line, self.snap_col(line, s.block.1)))
            }
            Kind::Chars => {
                let from = if line == s.a.line { s.a.col } else { 0 };
                let to = if line == s.b.line { self.cell_end(line, s.b.col) } else { last };
                (from, to)
            }
        })
    }

    /// A span's text: rows joined by newlines (not after a row that wrapped onto the next,
    /// unless the span is a block), each row's blank tail left out.
    fn text_in(&self, s: &Span) -> String {
        let mut out = String::new();
        for line in s.a.line..=s.b.line {
            let Some(cols) = self.cols_in(s, line) else { continue };
            out.push_str(&self.row_text(line, cols));
            let joined = s.kind != Kind::Block
                && cols.1 == self.cols - 1
                && self.lines.get(line).is_some_and(Row::wrapped);
            if line != s.b.line && !joined {
                out.push('\n');
            }
        }
        out
    }

    /// The columns of `line` the selection covers, first and last (inclusive, a wide
    /// character's both halves included), if any.
    pub fn selected_cols(&self, line: usize) -> Option<(u16, u16)> {
        self.cols_in(&self.span()?, line)
    }

    /// The selected text (empty when nothing is selected): rows joined by newlines (not after
    /// a row that wrapped onto the next, unless the selection is a block), each row's blank
    /// tail left out.
    pub fn selected_text(&self) -> String {
        self.span().map(|s| self.text_in(&s)).unwrap_or_default()
    }

    /// Whole lines `from..=to` as text.
    fn lines_text(&self, from: usize, to: usize) -> String {
        let span = Span {
            a: Pos { line: from, col: 0 },
            b: Pos { line: to, col: self.cols - 1 },
            kind: Kind::Lines,
            block: (0, 0),
        };
        self.text_in(&span)
    }

    /// `Y`: the rows in view, as a line-wise selection of them would copy, without the blank
    /// rows at the bottom.
    pub fn screen_text(&self) -> String {
        let last = (self.top + usize::from(self.rows)).min(self.lines.len()).saturating_sub(1);
        let mut text = self.lines_text(self.top, last);
        while text.ends_with('\n') {
            text.pop();
        }
        text
    }

    /// The text of `line` between two columns (inclusive): blank cells inside the text read as
    /// spaces, the blank tail is left out.
    fn row_text(&self, line: usize, (from, to): (u16, u16)) -> String {
        let mut out = String::new();
        let Some(row) = self.lines.get(line) else { return out };
        let Some(last) = self.last_text_col(line) else { return out };
        let to = to.min(self.cell_end(line, last));
        let cells = row.cells();
        for col in from..=to {
            let Some(cell) = cells.get(usize::from(col)) else { break };
            if cell.is_wide_continuation() {
                continue;
            }
            if cell.has_contents() {
                row.push_contents(usize::from(col), &mut out);
            } else {
                out.push(' ');
            }
        }
        out
    }

    /// How big the selection is, as the status line says it: `12 chars`, `3 lines`, `4×10`.
    pub fn selection_size(&self) -> Option<String> {
        let s = self.span()?;
        let lines = s.b.line - s.a.line + 1;
        Some(match s.kind {
            Kind::Chars => format!("{} chars", self.text_in(&s).chars().count()),
            Kind::Lines => format!("{lines} line{}", if lines == 1 { "" } else { "s" }),
            Kind::Block => format!("{lines}×{}", s.block.1 - s.block.0 + 1),
        })
    }
}

/// A selection's extent: its ends in order, its kind, and (for a block) its columns.
#[derive(Debug, Clone, Copy)]
struct Span {
    a: Pos,
    b: Pos,
    kind: Kind,
    block: (u16, u16),
}

mod input;

#[cfg(test)]
#[path = "copy_tests.rs"]
mod tests;
