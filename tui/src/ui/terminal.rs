//! A ratatui widget that draws the worker's screen model: colours, attributes, wide characters,
//! the scrollback when scrolled back.

use super::canvas::Kept;
use super::cells;
use controlroom_term::{Cell, Row, Term, TermSink};
use ratatui::buffer::{Buffer, CellDiffOption, CellWidth};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::widgets::Widget;
use std::num::NonZeroU16;

/// Draws `screen` (its visible rows, honouring its scrollback offset) into the area, clipped.
#[derive(Debug)]
pub struct TerminalView<'a, S: TermSink> {
    screen: &'a Term<S>,
    /// The first of the screen's rows drawn (a wall tile crops the top to show the cursor).
    first_row: u16,
    /// Rows of the buffer (by `y` from its top) left as they are, whole or but for a few
    /// columns: they hold what this widget drew there last frame from rows that have not
    /// changed since, or only in those columns (see `Canvas::kept`).
    kept: &'a [Kept],
}

impl<'a, S: TermSink> TerminalView<'a, S> {
    /// A widget over a screen.
    pub fn new(screen: &'a Term<S>) -> Self {
        Self { screen, first_row: 0, kept: &[] }
    }

    /// Leaves the buffer rows marked in `kept` (by `y` from the buffer's top) as they are, or
    /// all of them but the columns marked.
    pub fn keeping(mut self, kept: &'a [Kept]) -> Self {
        self.kept = kept;
        self
    }

    /// Draws from the screen's row `row` down, leaving out the rows above it.
    pub fn from_row(mut self, row: u16) -> Self {
        self.first_row = row;
        self
    }
}

/// A wide character's columns.
const TWO_COLUMNS: NonZeroU16 = match NonZeroU16::new(2) {
    Some(n) => n,
    None => NonZeroU16::MIN,
};

/// Maps a screen colour to a ratatui colour (`Default` keeps the terminal's own).
pub fn color(c: controlroom_term::Color) -> Color {
    match c {
        controlroom_term::Color::Default => Color::Reset,
        controlroom_term::Color::Idx(i) => Color::Indexed(i),
        controlroom_term::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

/// The colours and attributes a screen cell is drawn with.
fn cell_style(cell: &Cell) -> (Color, Color, Modifier) {
    let mut m = Modifier::empty();
    if cell.bold() {
        m |= Modifier::BOLD;
    }
    if cell.dim() {
        m |= Modifier::DIM;
    }
    if cell.italic() {
        m |= Modifier::ITALIC;
    }
    if cell.underline() {
        m |= Modifier::UNDERLINED;
    }
    if cell.inverse() {
        m |= Modifier::REVERSED;
    }
    (color(cell.fg()), color(cell.bg()), m)
}

/// Printable ASCII, each character a one-byte string at `byte - 0x20`: a plain cell is drawn as
/// a static string, without reading its text from the row or measuring its width (most of the
/// cost of drawing a cell).
const ASCII: &str =
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// The static string of a printable ASCII character.
fn ascii(c: char) -> Option<&'static str> {
    let i = u32::from(c).checked_sub(0x20)? as usize;
    ASCII.get(i..i + 1)
}

impl<S: TermSink> Widget for TerminalView<'_, S> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (rows, cols) = self.screen.size();
        let height = area.height.min(rows.saturating_sub(self.first_row));
        let width = area.width.min(cols);
        // One buffer for the text of every cell (a character plus any combining marks).
        let mut text = String::new();
        // Buffer column `c` (from the buffer's left) shows the screen's column `c - left`.
        let left = usize::from(area.x.saturating_sub(buf.area.x));
        for row in 0..height {
            let y = area.y + row;
            let kept = y.checked_sub(buf.area.y).and_then(|i| self.kept.get(usize::from(i))).copied();
            let cols = match kept.unwrap_or_default() {
                Kept::Whole => continue,
                Kept::No => 0..usize::from(width),
                Kept::But { from, to } => {
                    usize::from(from).saturating_sub(left)..usize::from(to).saturating_sub(left)
                }
            };
            let Some(line) = self.screen.visible_row(row + self.first_row) else { break };
            render_cols(line, (area.x, y), width, cols, buf, &mut text);
        }
    }
}

/// Draws one row of the screen model at `at`, `width` cells of it (clipped to the buffer; copy
/// mode draws its frozen rows with it too); `text` is scratch space for a cell's text.
pub fn render_row(line: &Row, at: (u16, u16), width: u16, buf: &mut Buffer, text: &mut String) {
    render_cols(line, at, width, 0..usize::from(width), buf, text);
}

/// Draws the columns `cols` of [`render_row`]'s row, leaving the rest of the row as it is. A
/// range must not start on the second half of a wide character (the painter draws a part of a
/// row only where no cell of it or beside it is wide).
fn render_cols(
    line: &Row,
    at: (u16, u16),
    width: u16,
    cols: std::ops::Range<usize>,
    buf: &mut Buffer,
    text: &mut String,
) {
    let out = cells::row_mut(buf, at.0, at.1, width);
    let width = out.len();
    let end = width.min(cols.end);
    let mut col = cols.start;
    while col < end {
        // A scrollback row narrower than the screen (it left before a resize) ends in blanks.
        let cell = line.cells().get(col).unwrap_or(&Cell::DEFAULT);
        if cell.is_wide_continuation() {
            col += 1;
            continue;
        }
        let (fg, bg, modifier) = cell_style(cell);
        let wide = cell.is_wide();
        // As `set_style` would: colours set, attributes added.
        let style = |c: &mut ratatui::buffer::Cell| {
            c.fg = fg;
            c.bg = bg;
            c.modifier.insert(modifier);
        };
        if wide && col + 1 >= width {
            // Half a wide character would not fit: show a blank like terminals do.
            out[col].set_symbol(" ");
            style(&mut out[col]);
            break;
        }
        let plain = if !cell.has_contents() {
            Some(" ")
        } else if wide || cell.has_marks() {
            None
        } else {
            ascii(cell.ch())
        };
        match plain {
            // A static symbol: nothing copied (`Cell::new`), the cell's attributes kept.
            Some(symbol) => {
                let kept = out[col].modifier;
                out[col] = ratatui::buffer::Cell::new(symbol);
                out[col].modifier = kept;
            }
            None => {
                text.clear();
                line.push_contents(col, text);
                out[col].set_symbol(fitted(text, if wide { 2 } else { 1 }));
            }
        }
        style(&mut out[col]);
        out[col].set_diff_option(if wide {
            // The diff skips the covered column and the backend addresses the next cell with a
            // cursor move, whatever width the terminal gives this symbol.
            CellDiffOption::ForcedWidth(TWO_COLUMNS)
        } else {
            CellDiffOption::None
        });
        if wide {
            out[col + 1].reset();
            style(&mut out[col + 1]);
            col += 2;
        } else {
            col += 1;
        }
    }
}

/// The cell's text as drawn: ratatui must measure it as the screen model did (`width` columns).
///
/// ratatui's diff skips the columns it believes a symbol covers and its backend moves the cursor
/// only where it believes the last symbol ended. A symbol it measures otherwise than the model
/// (a wide character narrowed by U+FE0E, a halfwidth sound mark it counts as two) shifts the rest
/// of the row on the terminal or leaves a stale character beside it, there until a resize. Such a
/// cell is drawn as its base character when that has the model's width, else as a replacement.
fn fitted(text: &str, width: u16) -> &str {
    if text.cell_width() == width {
        return text;
    }
    let base = text.chars().next().map_or(0, char::len_utf8);
    match &text[..base] {
        b if b.cell_width() == width => b,
        _ if width == 2 => "\u{FF1F}",
        _ => "\u{FFFD}",
    }
}

/// The cursor's place in `area`, when it should be shown (visible, not scrolled back, on screen).
pub fn cursor<S: TermSink>(screen: &Term<S>, area: Rect) -> Option<(u16, u16)> {
    if screen.hide_cursor() || screen.scrollback() > 0 {
        return None;
    }
    let (row, col) = screen.cursor_position();
    (row < area.height && col < area.width).then_some((area.x + col, area.y + row))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(bytes: &[u8], w: u16, h: u16) -> Buffer {
        let mut p = controlroom_term::Parser::new(h, w, ());
        p.process(bytes);
        let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
        TerminalView::new(p.term()).render(buf.area, &mut buf);
        buf
    }

    #[test]
    fn colours_and_attributes_survive() {
        let buf = render(b"\x1b[1;31mR\x1b[0m\x1b[4;38;2;1;2;3mU\x1b[0m\x1b[7mI", 10, 2);
        assert_eq!(buf[(0, 0)].symbol(), "R");
        assert_eq!(buf[(0, 0)].fg, Color::Indexed(1));
        assert!(buf[(0, 0)].modifier.contains(Modifier::BOLD));
        assert_eq!(buf[(1, 0)].fg, Color::Rgb(1, 2, 3));
        assert!(buf[(1, 0)].modifier.contains(Modifier::UNDERLINED));
        assert!(buf[(2, 0)].modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn wide_characters_take_two_cells() {
        let buf = render("a漢b".as_bytes(), 10, 1);
        assert_eq!(buf[(1, 0)].symbol(), "漢");
        assert_eq!(buf[(3, 0)].symbol(), "b");
    }

    #[test]
    fn cursor_follows_the_screen() {
        let mut p = controlroom_term::Parser::new(24, 80, ());
        p.process(b"ab\r\ncd");
        assert_eq!(cursor(p.term(), Rect::new(0, 1, 80, 24)), Some((2, 2)));
        p.process(b"\x1b[?25l");
        assert_eq!(cursor(p.term(), Rect::new(0, 1, 80, 24)), None);
    }

    #[test]
    fn scrolled_back_shows_history_and_hides_the_cursor() {
        let mut p = controlroom_term::Parser::with_scrollback(3, 10, 100, ());
        p.process(b"one\r\ntwo\r\nthree\r\nfour\r\n$ ");
        let area = Rect::new(0, 0, 10, 3);
        assert_eq!(cursor(p.term(), area), Some((2, 2)));
        p.term_mut().set_scrollback(2);
        assert_eq!(cursor(p.term(), area), None, "no cursor while looking at history");
        let mut buf = Buffer::empty(area);
        TerminalView::new(p.term()).render(area, &mut buf);
        let rows: Vec<String> =
            (0..3).map(|y| (0..10).map(|x| buf[(x, y)].symbol()).collect::<String>()).collect();
        assert_eq!(rows, ["one       ", "two       ", "three     "]);
        p.term_mut().set_scrollback(0);
        assert_eq!(cursor(p.term(), area), Some((2, 2)));
    }
}

#[cfg(test)]
mod random_tests {
    //! Frames drawn one after another, as ratatui sends only what changed, must leave a real
    //! terminal showing what one fresh frame of the same model shows. The "real terminal" is
    //! the screen model itself, fed the bytes ratatui's crossterm backend writes.

    use super::*;
    use controlroom_term::Parser;
    use rand::{Rng, SeedableRng};
    use ratatui::backend::CrosstermBackend;
    use ratatui::{Terminal, TerminalOptions, Viewport};

    /// Bytes the backend wrote, kept where the test can take them.
    #[derive(Clone, Default)]
    struct Wire(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl std::io::Write for Wire {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    type Screen = (Terminal<CrosstermBackend<Wire>>, Wire);

    fn screen(w: u16, h: u16) -> Screen {
        let wire = Wire::default();
        let viewport = Viewport::Fixed(Rect::new(0, 0, w, h));
        let t = Terminal::with_options(CrosstermBackend::new(wire.clone()), TerminalOptions { viewport })
            .expect("fixed viewport");
        (t, wire)
    }

    /// Draws the model and feeds what was written to the emulated terminal.
    fn frame(t: &mut Screen, model: &Parser<()>, shown: &mut Parser<()>) {
        t.0.draw(|f| f.render_widget(TerminalView::new(model.term()), f.area())).expect("draws");
        shown.process(&std::mem::take(&mut *t.1.0.borrow_mut()));
    }

    /// Each cell's text and colours, row by row.
    fn cells(p: &Parser<()>) -> Vec<String> {
        let (rows, cols) = p.term().size();
        (0..rows)
            .map(|r| {
                let mut out = String::new();
                for c in 0..cols {
                    let cell = p.term().cell(r, c).expect("on screen");
                    let mut text = String::new();
                    if let Some(row) = p.term().visible_row(r) {
                        row.push_contents(usize::from(c), &mut text);
                    }
                    if text.is_empty() {
                        text.push(' ');
                    }
                    out.push_str(&format!("{text:?}{:?}{:?}|", cell.fg(), cell.bg()));
                }
                out
            })
            .collect()
    }

    #[test]
    fn frames_after_random_bytes_match_a_fresh_frame() {
        for seed in 0..100u64 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let (w, h) = (30, 8);
            let mut model = Parser::new(h, w, ());
            let mut live = screen(w, h);
            let mut live_shown = Parser::new(h, w, ());
            for step in 0..20 {
                let n = rng.random_range(1..200);
                let mut bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                // Text a large paste brings: wide, combining and emoji sequences.
                bytes.extend_from_slice("a漢\u{301}⌚\u{FE0E}#\u{FE0F}(".as_bytes());
                model.process(&bytes);
                frame(&mut live, &model, &mut live_shown);
                let mut fresh = screen(w, h);
                let mut fresh_shown = Parser::new(h, w, ());
                frame(&mut fresh, &model, &mut fresh_shown);
                let (a, b) = (cells(&live_shown), cells(&fresh_shown));
                for y in 0..a.len() {
                    assert_eq!(a[y], b[y], "seed {seed} step {step} row {y}");
                }
            }
        }
    }
}
