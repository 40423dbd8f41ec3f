//! A lean terminal screen model on the `vte` parser: what vt100 0.18 does for us (same grid
//! operations, same modes, output a fresh vt100 parser reproduces), at several times its speed.
//!
//! Why our own: vt100 0.18 parses 8–24 MB/s on ANSI-heavy output and alacritty_terminal ~33, both
//! below what one PTY delivers (~70 MB/s); see BENCHMARKS.md. This model keeps 16-byte cells,
//! writes printable ASCII straight into the row and allocates the alternate screen only when a
//! program enters it. Rows leaving the top go to a [`TermSink`] (the gateway stores them as
//! compact formatted lines) and, when the parser has one, into a bounded scrollback that a front
//! end can scroll through ([`Term::set_scrollback`]): a row is kept up to its last written cell
//! (as vt100 trims them), in the allocation of the row falling off the far end, while the screen
//! row is blanked in place and stays in cache.
//!
//! Printable ASCII, C0 controls and CSI sequences of the common shape skip `vte` while it is
//! proven to be in its ground state (`ground.rs`, `csi.rs`). No I/O: bytes in ([`Parser::process`]), cells, modes and formatted output out.

#![warn(missing_docs)]

mod cell;
mod csi;
mod format;
mod grid;
mod ground;
mod line;
mod perform;
mod reply;
mod tabs;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_csi;
#[cfg(test)]
mod tests_ground;
#[cfg(test)]
mod tests_plain;
#[cfg(test)]
mod tests_reply;
#[cfg(test)]
mod tests_scrollback;
#[cfg(test)]
mod tests_storage;
#[cfg(test)]
mod tests_sync;
#[cfg(test)]
mod tests_tabs;
mod view;

use cell::Attrs;
pub use cell::{Cell, Color, Row};
use grid::{Grid, Pos};
pub use line::line_basic;
pub use reply::{MAX_PENDING_REPLY_BYTES, Palette, ReplyConfig, Rgb};
use unicode_width::UnicodeWidthChar as _;

const MODE_APP_KEYPAD: u8 = 1;
const MODE_APP_CURSOR: u8 = 2;
const MODE_HIDE_CURSOR: u8 = 4;
const MODE_ALT_SCREEN: u8 = 8;
const MODE_BRACKETED_PASTE: u8 = 16;
const MODE_SYNC_OUTPUT: u8 = 32;
/// IRM (`ESC [ 4 h`): printed characters push the rest of the row right.
const MODE_INSERT: u8 = 64;
/// DECAWM reset (`CSI ? 7 l`): a character printed at the right margin overwrites the last
/// column instead of wrapping. A bit for "off", so the default (wrapping) is all zeros.
const MODE_NO_AUTOWRAP: u8 = 128;

/// xterm mouse reporting mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MouseMode {
    /// No mouse reports.
    #[default]
    None,
    /// Mode 9 (X10): button presses only.
    Press,
    /// Mode 1000: presses and releases.
    PressRelease,
    /// Mode 1002: presses, releases and motion while a button is held.
    ButtonMotion,
    /// Mode 1003: all motion.
    AnyMotion,
}

/// xterm mouse report encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MouseEncoding {
    /// `CSI M` with bytes offset by 32.
    #[default]
    Default,
    /// Mode 1005: `CSI M` with UTF-8 coordinates.
    Utf8,
    /// Mode 1006: `CSI < … M/m`.
    Sgr,
}

/// Cursor shape a program asked for with DECSCUSR (`CSI n SP q`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CursorStyle {
    /// 0: the terminal's own shape.
    #[default]
    Default,
    /// 1.
    BlinkBlock,
    /// 2.
    SteadyBlock,
    /// 3.
    BlinkUnderline,
    /// 4.
    SteadyUnderline,
    /// 5.
    BlinkVerticalBar,
    /// 6.
    SteadyVerticalBar,
}

/// Receives what leaves the screen and what the program signals (the vt100 callbacks we used).
pub trait TermSink {
    /// A main-screen row (not the alternate screen's) is about to scroll off the top, before it
    /// moves into the scrollback (if any).
    fn on_scroll(&mut self, row: &Row);
    /// BEL outside an escape sequence.
    fn on_bell(&mut self) {}
    /// OSC 0 or 2 set the window title.
    fn on_title(&mut self, _title: &[u8]) {}
    /// Any other OSC but 1 (icon name) and 52 (clipboard), e.g. OSC 9 / 777 notifications.
    fn on_osc(&mut self, _params: &[&[u8]]) {}
}

/// Ignores everything: for a front end that only draws the screen and its scrollback.
impl TermSink for () {
    #[inline]
    fn on_scroll(&mut self, _row: &Row) {}
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
    /// Tab stops a program changed (`None`: every eighth column, as vt100 has them); boxed,
    /// since almost no screen changes them.
    tabs: Option<Box<tabs::TabStops>>,
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
            tabs: None,
        }
    }
}

/// The screen: two grids, attributes, modes; fed through `vte`.
pub struct Term<S: TermSink> {
    main: Grid,
    alt: Grid,
    state: State,
    sink: S,
    /// Synchronized updates begun since the model was made (not reset by RIS), so a caller
    /// timing one can tell the next from it.
    sync_updates: u64,
    /// Answers to the program's queries, when this screen is its terminal (boxed: most
    /// screens never answer, and the hot fields stay together).
    replies: Option<Box<reply::Replies>>,
}

/// The screen plus the parser state.
pub struct Parser<S: TermSink> {
    vte: vte::Parser,
    /// `vte` is known to be in its ground state with no partial character (see `ground`).
    ground: bool,
    /// The start of a character cut off by the end of the last input (at most 3 bytes).
    carry: Vec<u8>,
    /// Where the CSI fast path parses a sequence (`csi.rs`), kept so it is not set up per
    /// sequence.
    csi: csi::PlainCsi,
    term: Term<S>,
}

impl<S: TermSink> std::fmt::Debug for Term<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Term")
            .field("size", &self.size())
            .field("cursor", &self.cursor_position())
            .field("scrollback", &(self.scrollback(), self.scrollback_len()))
            .finish_non_exhaustive()
    }
}

impl<S: TermSink> std::fmt::Debug for Parser<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parser").field("term", &self.term).finish_non_exhaustive()
    }
}

impl<S: TermSink> Parser<S> {
    /// A blank `cols × rows` screen (sizes below 1 become 1) without scrollback: rows leaving the
    /// top go only to `sink`.
    pub fn new(rows: u16, cols: u16, sink: S) -> Self {
        Self::with_scrollback(rows, cols, 0, sink)
    }

    /// A blank `cols × rows` screen that keeps the last `scrollback` rows leaving the top of
    /// the main screen (vt100's `Parser::new(rows, cols, scrollback)`).
    pub fn with_scrollback(rows: u16, cols: u16, scrollback: usize, sink: S) -> Self {
        Self {
            vte: vte::Parser::new(),
            ground: true,
            carry: Vec::new(),
            csi: csi::PlainCsi::new(),
            term: Term::new(rows.max(1), cols.max(1), scrollback, sink),
        }
    }

    /// The screen.
    pub fn term(&self) -> &Term<S> {
        &self.term
    }

    /// The screen, mutably (resize, scrollback view).
    pub fn term_mut(&mut self) -> &mut Term<S> {
        &mut self.term
    }

    /// Makes this screen answer the program's queries (cursor position, device attributes,
    /// modes, colours, size; see `reply.rs`) from now on. Only the program's own terminal may:
    /// a second copy of its screen that answered too would give it every answer twice.
    pub fn answer_queries(&mut self, config: ReplyConfig) {
        self.term.replies = Some(Box::new(reply::Replies::new(config)));
    }

    /// The answers to queries fed since the last call, in the order of the queries, to be
    /// written to the program's input; `None` when there are none (or answering is off). At
    /// most [`MAX_PENDING_REPLY_BYTES`] are held between calls: drain after every feed.
    pub fn take_replies(&mut self) -> Option<Vec<u8>> {
        self.term.replies.as_deref_mut().and_then(reply::Replies::take)
    }
}

impl<S: TermSink> Term<S> {
    fn new(rows: u16, cols: u16, scrollback: usize, sink: S) -> Self {
        let mut main = Grid::new(rows, cols, Some(scrollback));
        main.allocate_rows();
        Self {
            main,
            alt: Grid::new(rows, cols, None),
            state: State::new(),
            sink,
            sync_updates: 0,
            replies: None,
        }
    }

    /// The scroll sink.
    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// The scroll sink, to change what it keeps (e.g. pack its stored rows while idle).
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
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

    /// The alternate screen is showing (modes 47 / 1049).
    pub fn alternate_screen(&self) -> bool {
        self.mode(MODE_ALT_SCREEN)
    }

    /// The program hid the cursor (`CSI ? 25 l`).
    pub fn hide_cursor(&self) -> bool {
        self.mode(MODE_HIDE_CURSOR)
    }

    /// DECCKM: arrow keys send `ESC O x`.
    pub fn application_cursor(&self) -> bool {
        self.mode(MODE_APP_CURSOR)
    }

    /// DECKPAM: the keypad sends application sequences.
    pub fn application_keypad(&self) -> bool {
        self.mode(MODE_APP_KEYPAD)
    }

    /// Bracketed paste (mode 2004).
    pub fn bracketed_paste(&self) -> bool {
        self.mode(MODE_BRACKETED_PASTE)
    }

    /// Insert mode (IRM, `ESC [ 4 h`).
    pub fn insert_mode(&self) -> bool {
        self.mode(MODE_INSERT)
    }

    /// Autowrap (DECAWM, `CSI ? 7 h`, on unless a program turned it off with `CSI ? 7 l`).
    pub fn autowrap(&self) -> bool {
        !self.mode(MODE_NO_AUTOWRAP)
    }

    /// The columns with a tab stop, in order (every eighth one unless a program changed them).
    pub fn tab_stops(&self) -> Vec<u16> {
        let cols = self.size().1;
        match &self.state.tabs {
            Some(t) => t.stops(cols).collect(),
            None => tabs::TabStops::new().stops(cols).collect(),
        }
    }

    /// Synchronized output (mode 2026): the program is drawing a frame that should be shown
    /// whole, from `CSI ? 2026 h` until `CSI ? 2026 l` (or RIS). A DECRQM answer reads it.
    pub fn synchronized_output(&self) -> bool {
        self.mode(MODE_SYNC_OUTPUT)
    }

    /// The synchronized update in progress, numbered by how many began since this model was made
    /// (1 for the first); `None` when none is open. The state lives here, across reads, so a
    /// marker split between two feeds counts; there is no clock in the model, so the caller times
    /// the hold (terminals give up after 150 ms, as alacritty does) and uses the number to tell a
    /// new update from the one it is timing.
    pub fn synchronized_update(&self) -> Option<u64> {
        self.synchronized_output().then_some(self.sync_updates)
    }

    /// Mode 2026 set or reset; setting it while it is off begins a new update.
    fn set_synchronized_output(&mut self, on: bool) {
        if on && !self.synchronized_output() {
            self.sync_updates += 1;
        }
        self.set_mode(MODE_SYNC_OUTPUT, on);
    }

    /// Which mouse events the program wants.
    pub fn mouse_mode(&self) -> MouseMode {
        self.state.mouse_mode
    }

    /// How the program wants mouse events written.
    pub fn mouse_encoding(&self) -> MouseEncoding {
        self.state.mouse_encoding
    }

    /// The active grid.
    fn grid(&self) -> &Grid {
        if self.alternate_screen() { &self.alt } else { &self.main }
    }

    /// (rows, cols).
    pub fn size(&self) -> (u16, u16) {
        (self.main.rows_n, self.main.cols)
    }

    /// (row, col) on the live screen; `col` may equal `cols` right after the last column was
    /// written.
    pub fn cursor_position(&self) -> (u16, u16) {
        let p = self.grid().pos;
        (p.row, p.col)
    }

    /// The live screen's rows (the scrollback offset aside; see [`Term::visible_row`]).
    pub fn rows(&self) -> &std::collections::VecDeque<Row> {
        &self.grid().rows
    }

    /// Resizes both screens (sizes below 1 become 1) and returns to the live screen; main-screen
    /// rows pushed off the top go to the sink and the scrollback, and growing pulls them back.
    pub fn resize(&mut self, rows: u16, cols: u16) {
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
        if (' '..'\u{7f}').contains(&c) && self.state.modes & MODE_INSERT == 0 {
            let attrs = self.state.attrs;
            let grid = if self.state.modes & MODE_ALT_SCREEN != 0 { &mut self.alt } else { &mut self.main };
            let Pos { row, col } = grid.pos;
            if col < grid.cols {
                let r = &mut grid.rows[usize::from(row)];
                let i = usize::from(col);
                let cell = r.cell(i);
                let plain = !cell.is_wide() && !cell.has_extra() && (i == 0 || !r.cell(i - 1).is_wide());
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

    // Out of line, so the ASCII fast path in `text` stays a small leaf (no register spills).
    #[cold]
    #[inline(never)]
    fn text_slow(&mut self, c: char) {
        let attrs = self.state.attrs;
        let Some(width) = self.char_width(c) else { return };
        let mut base;
        let cell_was_wide;
        if width > 0 {
            if self.autowrap() {
                let wrap = self.should_wrap(width);
                self.with_grid(|g, on_row| g.col_wrap(width, wrap, on_row));
            } else {
                // DECAWM off: a character that does not fit overwrites the last column(s);
                // `char_width` has checked that it fits the screen at all.
                let g = self.grid_mut();
                g.pos.col = g.pos.col.min(g.cols - width);
            }
            let insert = self.state.modes & MODE_INSERT != 0;
            let g = self.grid_mut();
            if insert {
                g.insert_cells(width);
            }
            base = g.pos;
            let row = &mut g.rows[usize::from(base.row)];
            cell_was_wide = row.cell(usize::from(base.col)).is_wide();
            row.set(usize::from(base.col), c, attrs);
            g.col_inc(width);
            self.state.last_char = Some(c);
        } else {
            let g = self.grid_mut();
            let pos = g.pos;
            base = Pos { row: pos.row, col: pos.col - 1 };
            if g.rows[usize::from(pos.row)].cell(usize::from(base.col)).is_wide_continuation() {
                base.col = pos.col - 2;
            }
            let row = &mut g.rows[usize::from(base.row)];
            cell_was_wide = row.cell(usize::from(base.col)).is_wide();
            row.append(usize::from(base.col), c);
            let cell_is_wide = row.cell(usize::from(base.col)).is_wide();
            let no_room = !self.autowrap() && self.grid().pos.col >= self.grid().cols;
            if !cell_was_wide && cell_is_wide && !no_room {
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
        let cell_is_wide = g.rows[usize::from(base.row)].cell(usize::from(base.col)).is_wide();
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
            let last: &Cell = g.rows[usize::from(g.pos.row)].cell(usize::from(g.cols - 1));
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
        if col > 0 && row.cell(col - 1).is_wide() {
            let a = *row.cell(col - 1).attrs();
            row.clear_cell(col - 1, a);
        }
        // vt100 assumes a wide cell always has a cell after it; a one-column screen breaks that
        // (vt100 panics there), so stop at the edge.
        let width = usize::from(row.cols());
        if col + 1 >= width {
            return;
        }
        if cell_was_wide && !cell_is_wide {
            row.set(col + 1, ' ', attrs);
        }
        if !cell_was_wide && cell_is_wide && col + 2 <= width {
            let next_was_wide = row.cell(col + 1).is_wide();
            row.make_wide_continuation(col + 1);
            if next_was_wide && col + 2 < width {
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
        self.main.set_scrollback_offset(0);
        self.set_mode(MODE_ALT_SCREEN, true);
        self.alt.allocate_rows();
    }

    fn reset(&mut self) {
        let (rows, cols) = self.size();
        self.main = Grid::new(rows, cols, Some(self.main.scrollback_capacity()));
        self.main.allocate_rows();
        self.alt = Grid::new(rows, cols, None);
        self.state = State::new();
    }
}
