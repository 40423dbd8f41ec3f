//! A lean terminal screen model on the `vte` parser: what vt100 0.18 does for us (same grid
//! operations, same modes, output a fresh vt100 parser reproduces), at several times its speed.
//!
//! Why our own: vt100 0.18 parses 8–24 MB/s on ANSI-heavy output and alacritty_terminal ~33, both
//! below what one PTY delivers (~70 MB/s); see BENCHMARKS.md. This model keeps 16-byte cells,
//! writes printable ASCII straight into the row, keeps no scrollback inside (rows leaving the
//! top go to [`TermSink`], which the worker stores as compact formatted lines) and allocates
//! the alternate screen only when a program enters it.

mod cell;
mod format;
mod grid;
mod perform;
#[cfg(test)]
mod tests;

pub(crate) use cell::Row;
use cell::{Attrs, Cell};
pub(crate) use format::line_basic;
use grid::{Grid, Pos};
use unicode_width::UnicodeWidthChar as _;

const MODE_APP_KEYPAD: u8 = 1;
const MODE_APP_CURSOR: u8 = 2;
const MODE_HIDE_CURSOR: u8 = 4;
const MODE_ALT_SCREEN: u8 = 8;
const MODE_BRACKETED_PASTE: u8 = 16;

/// xterm mouse reporting mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum MouseMode {
    #[default]
    None,
    Press,
    PressRelease,
    ButtonMotion,
    AnyMotion,
}

/// xterm mouse report encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum MouseEncoding {
    #[default]
    Default,
    Utf8,
    Sgr,
}

/// Receives what leaves the screen and what the program signals (the vt100 callbacks we used).
pub(crate) trait TermSink {
    /// A main-screen row (not the alternate screen's) is about to scroll off the top.
    fn on_scroll(&mut self, row: &Row);
    /// BEL outside an escape sequence.
    fn on_bell(&mut self) {}
    /// OSC 0 or 2 set the window title.
    fn on_title(&mut self, _title: &[u8]) {}
    /// Any other OSC but 1 (icon name) and 52 (clipboard), e.g. OSC 9 / 777 notifications.
    fn on_osc(&mut self, _params: &[&[u8]]) {}
}

/// Screen state besides the grids.
#[derive(Clone, Debug)]
struct State {
    attrs: Attrs,
    saved_attrs: Attrs,
    modes: u8,
    mouse_mode: MouseMode,
    mouse_encoding: MouseEncoding,
    cursor_style: u8,
    last_char: Option<char>,
}

impl State {
    fn new() -> Self {
        Self {
            attrs: Attrs::DEFAULT,
            saved_attrs: Attrs::DEFAULT,
            modes: 0,
            mouse_mode: MouseMode::None,
            mouse_encoding: MouseEncoding::Default,
            cursor_style: 0,
            last_char: None,
        }
    }
}

/// The screen: two grids, attributes, modes; fed through `vte`.
pub(crate) struct Term<S: TermSink> {
    main: Grid,
    alt: Grid,
    state: State,
    sink: S,
}

/// The screen plus the parser state.
pub(crate) struct Parser<S: TermSink> {
    vte: vte::Parser,
    term: Term<S>,
}

impl<S: TermSink> Parser<S> {
    /// A blank `cols × rows` screen.
    pub(crate) fn new(rows: u16, cols: u16, sink: S) -> Self {
        Self { vte: vte::Parser::new(), term: Term::new(rows.max(1), cols.max(1), sink) }
    }

    /// Applies output.
    pub(crate) fn process(&mut self, bytes: &[u8]) {
        self.vte.advance(&mut self.term, bytes);
    }

    /// The screen.
    pub(crate) fn term(&self) -> &Term<S> {
        &self.term
    }

    /// The screen, mutably (resize).
    pub(crate) fn term_mut(&mut self) -> &mut Term<S> {
        &mut self.term
    }
}

impl<S: TermSink> Term<S> {
    fn new(rows: u16, cols: u16, sink: S) -> Self {
        let mut main = Grid::new(rows, cols, true);
        main.allocate_rows();
        Self { main, alt: Grid::new(rows, cols, false), state: State::new(), sink }
    }

    /// The scroll sink.
    pub(crate) fn sink(&self) -> &S {
        &self.sink
    }

    fn mode(&self, m: u8) -> bool {
        self.state.modes & m != 0
    }

    fn set_mode(&mut self, m: u8, on: bool) {
        if on {
            self.state.modes |= m;
        } else {
            self.state.modes &= !m;
        }
    }

    pub(crate) fn alternate_screen(&self) -> bool {
        self.mode(MODE_ALT_SCREEN)
    }

    pub(crate) fn hide_cursor(&self) -> bool {
        self.mode(MODE_HIDE_CURSOR)
    }

    pub(crate) fn application_cursor(&self) -> bool {
        self.mode(MODE_APP_CURSOR)
    }

    pub(crate) fn application_keypad(&self) -> bool {
        self.mode(MODE_APP_KEYPAD)
    }

    pub(crate) fn bracketed_paste(&self) -> bool {
        self.mode(MODE_BRACKETED_PASTE)
    }

    pub(crate) fn mouse_mode(&self) -> MouseMode {
        self.state.mouse_mode
    }

    pub(crate) fn mouse_encoding(&self) -> MouseEncoding {
        self.state.mouse_encoding
    }

    /// The active grid.
    fn grid(&self) -> &Grid {
        if self.alternate_screen() { &self.alt } else { &self.main }
    }

    /// (rows, cols).
    pub(crate) fn size(&self) -> (u16, u16) {
        (self.main.rows_n, self.main.cols)
    }

    /// (row, col); `col` may equal `cols` right after the last column was written.
    pub(crate) fn cursor_position(&self) -> (u16, u16) {
        let p = self.grid().pos;
        (p.row, p.col)
    }

    /// The visible rows.
    pub(crate) fn rows(&self) -> &[Row] {
        &self.grid().rows
    }

    /// Resizes both screens; main-screen rows pushed off the top go to the sink.
    pub(crate) fn resize(&mut self, rows: u16, cols: u16) {
        let (rows, cols) = (rows.max(1), cols.max(1));
        let sink = &mut self.sink;
        self.main.set_size(rows, cols, &mut |row| sink.on_scroll(row));
        self.alt.set_size(rows, cols, &mut |_| {});
    }

    /// Runs `f` on the active grid with a row callback that feeds the sink for the main screen.
    fn with_grid<R>(&mut self, f: impl FnOnce(&mut Grid, &mut dyn FnMut(&Row)) -> R) -> R {
        if self.state.modes & MODE_ALT_SCREEN != 0 {
            f(&mut self.alt, &mut |_| {})
        } else {
            let sink = &mut self.sink;
            f(&mut self.main, &mut |row| sink.on_scroll(row))
        }
    }

    fn grid_mut(&mut self) -> &mut Grid {
        if self.state.modes & MODE_ALT_SCREEN != 0 { &mut self.alt } else { &mut self.main }
    }

    /// Prints one character (vt100's `text`), with a fast path for printable ASCII.
    #[inline]
    fn text(&mut self, c: char) {
        if (' '..'\u{7f}').contains(&c) {
            let attrs = self.state.attrs;
            let grid = if self.state.modes & MODE_ALT_SCREEN != 0 { &mut self.alt } else { &mut self.main };
            let Pos { row, col } = grid.pos;
            if col < grid.cols {
                let r = &mut grid.rows[usize::from(row)];
                let i = usize::from(col);
                let cell = r.cells[i];
                let plain = !cell.is_wide() && !cell.has_extra() && (i == 0 || !r.cells[i - 1].is_wide());
                if plain {
                    r.set_ascii(i, c, attrs);
                    self.state.last_char = Some(c);
                    grid.pos.col = col + 1;
                    return;
                }
            }
        }
        self.text_slow(c);
    }

    fn text_slow(&mut self, c: char) {
        let attrs = self.state.attrs;
        let Some(width) = self.char_width(c) else { return };
        let mut base;
        let cell_was_wide;
        if width > 0 {
            let wrap = self.should_wrap(width);
            self.with_grid(|g, on_row| g.col_wrap(width, wrap, on_row));
            let g = self.grid_mut();
            base = g.pos;
            let row = &mut g.rows[usize::from(base.row)];
            cell_was_wide = row.cells[usize::from(base.col)].is_wide();
            row.set(usize::from(base.col), c, attrs);
            g.col_inc(width);
            self.state.last_char = Some(c);
        } else {
            let g = self.grid_mut();
            let pos = g.pos;
            base = Pos { row: pos.row, col: pos.col - 1 };
            if g.rows[usize::from(pos.row)].cells[usize::from(base.col)].is_wide_continuation() {
                base.col = pos.col - 2;
            }
            let row = &mut g.rows[usize::from(base.row)];
            cell_was_wide = row.cells[usize::from(base.col)].is_wide();
            row.append(usize::from(base.col), c);
            let cell_is_wide = row.cells[usize::from(base.col)].is_wide();
            if !cell_was_wide && cell_is_wide {
                self.with_grid(|g, on_row| g.col_wrap(1, false, on_row));
                let g = self.grid_mut();
                let new_pos = g.pos;
                if new_pos.col == 0 {
                    // The widened cell moves to the start of the next row.
                    let from_row = usize::from(base.row);
                    let mut text = String::new();
                    g.rows[from_row].push_contents(usize::from(base.col), &mut text);
                    let mut chars = text.chars();
                    let to = &mut g.rows[usize::from(new_pos.row)];
                    if let Some(first) = chars.next() {
                        to.set(0, first, attrs);
                        for ch in chars {
                            to.append(0, ch);
                        }
                    }
                    g.rows[from_row].clear_cell(usize::from(base.col), attrs);
                    g.col_inc(2);
                    base = new_pos;
                } else {
                    g.col_inc(1);
                }
            }
        }
        let g = self.grid_mut();
        let cell_is_wide = g.rows[usize::from(base.row)].cells[usize::from(base.col)].is_wide();
        self.text_cleanup(base, cell_was_wide, cell_is_wide);
    }

    fn char_width(&self, c: char) -> Option<u16> {
        let g = self.grid();
        let width = c.width();
        if width.is_none() && u32::from(c) < 256 {
            return None;
        }
        let width = u16::try_from(width.unwrap_or(1)).unwrap_or(2).min(2);
        if width > g.cols || (width == 0 && g.pos.col == 0) {
            return None;
        }
        Some(width)
    }

    fn should_wrap(&self, width: u16) -> bool {
        let g = self.grid();
        if g.pos.col + width > g.cols {
            let last: &Cell = &g.rows[usize::from(g.pos.row)].cells[usize::from(g.cols - 1)];
            return last.has_contents() || last.is_wide_continuation();
        }
        false
    }

    fn text_cleanup(&mut self, base: Pos, cell_was_wide: bool, cell_is_wide: bool) {
        let attrs = self.state.attrs;
        let g = self.grid_mut();
        let cols = g.cols;
        let row = &mut g.rows[usize::from(base.row)];
        let col = usize::from(base.col);
        if col > 0 && row.cells[col - 1].is_wide() {
            let a = *row.cells[col - 1].attrs();
            row.clear_cell(col - 1, a);
        }
        // vt100 assumes a wide cell always has a cell after it; a one-column screen breaks that
        // (vt100 panics there), so stop at the edge.
        if col + 1 >= row.cells.len() {
            return;
        }
        if cell_was_wide && !cell_is_wide {
            row.set(col + 1, ' ', attrs);
        }
        if !cell_was_wide && cell_is_wide && col + 2 <= row.cells.len() {
            let next_was_wide = row.cells[col + 1].is_wide();
            row.make_wide_continuation(col + 1);
            if next_was_wide && col + 2 < row.cells.len() {
                row.clear_cell(col + 2, attrs);
                if base.col + 2 == cols - 1 {
                    row.wrapped = false;
                }
            }
        }
    }

    fn save_cursor(&mut self) {
        self.grid_mut().save_cursor();
        self.state.saved_attrs = self.state.attrs;
    }

    fn restore_cursor(&mut self) {
        self.grid_mut().restore_cursor();
        self.state.attrs = self.state.saved_attrs;
    }

    fn enter_alternate(&mut self) {
        self.set_mode(MODE_ALT_SCREEN, true);
        self.alt.allocate_rows();
    }

    fn reset(&mut self) {
        let (rows, cols) = self.size();
        self.main = Grid::new(rows, cols, true);
        self.main.allocate_rows();
        self.alt = Grid::new(rows, cols, false);
        self.state = State::new();
    }
}
