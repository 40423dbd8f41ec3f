//! A ratatui widget that draws the worker's screen model: colours, attributes, wide characters,
//! the scrollback when scrolled back.

use controlroom_term::{Cell, Term, TermSink};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;

/// Draws `screen` (its visible rows, honouring its scrollback offset) into the area, clipped.
#[derive(Debug)]
pub struct TerminalView<'a, S: TermSink> {
    screen: &'a Term<S>,
}

impl<'a, S: TermSink> TerminalView<'a, S> {
    /// A widget over a screen.
    pub fn new(screen: &'a Term<S>) -> Self {
        Self { screen }
    }
}

/// Maps a screen colour to a ratatui colour (`Default` keeps the terminal's own).
pub fn color(c: controlroom_term::Color) -> Color {
    match c {
        controlroom_term::Color::Default => Color::Reset,
        controlroom_term::Color::Idx(i) => Color::Indexed(i),
        controlroom_term::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

fn cell_style(cell: &Cell) -> Style {
    let mut style = Style::default().fg(color(cell.fg())).bg(color(cell.bg()));
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
    style = style.add_modifier(m);
    style
}

impl<S: TermSink> Widget for TerminalView<'_, S> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (rows, cols) = self.screen.size();
        let height = area.height.min(rows);
        let width = area.width.min(cols);
        // One buffer for the text of every cell (a character plus any combining marks).
        let mut text = String::new();
        for row in 0..height {
            let Some(line) = self.screen.visible_row(row) else { break };
            let mut col = 0;
            while col < width {
                let pos = (area.x + col, area.y + row);
                // A scrollback row narrower than the screen (it left before a resize) ends in
                // blanks.
                let cell = line.cells().get(usize::from(col)).unwrap_or(&Cell::DEFAULT);
                if cell.is_wide_continuation() {
                    col += 1;
                    continue;
                }
                let style = cell_style(cell);
                let wide = cell.is_wide();
                if wide && col + 1 >= width {
                    // Half a wide character would not fit: show a blank like terminals do.
                    buf[pos].set_symbol(" ").set_style(style);
                    break;
                }
                let symbol = if cell.has_contents() {
                    text.clear();
                    line.push_contents(usize::from(col), &mut text);
                    text.as_str()
                } else {
                    " "
                };
                buf[pos].set_symbol(symbol).set_style(style);
                if wide {
                    buf[(pos.0 + 1, pos.1)].reset();
                    buf[(pos.0 + 1, pos.1)].set_style(style);
                    col += 2;
                } else {
                    col += 1;
                }
            }
        }
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
