//! A ratatui widget that draws a vt100 screen: colours, attributes, wide characters.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;

/// Draws `screen` (its visible rows, honouring its scrollback offset) into the area, clipped.
#[derive(Debug, Clone, Copy)]
pub struct TerminalView<'a> {
    screen: &'a vt100::Screen,
}

impl<'a> TerminalView<'a> {
    /// A widget over a screen.
    pub fn new(screen: &'a vt100::Screen) -> Self {
        Self { screen }
    }
}

/// Maps a vt100 colour to a ratatui colour (`Default` keeps the terminal's own).
pub fn color(c: vt100::Color) -> Color {
    match c {
        vt100::Color::Default => Color::Reset,
        vt100::Color::Idx(i) => Color::Indexed(i),
        vt100::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

fn cell_style(cell: &vt100::Cell) -> Style {
    let mut style = Style::default().fg(color(cell.fgcolor())).bg(color(cell.bgcolor()));
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

impl Widget for TerminalView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (rows, cols) = self.screen.size();
        let height = area.height.min(rows.get());
        let width = area.width.min(cols.get());
        for row in 0..height {
            let mut col = 0;
            while col < width {
                let pos = (area.x + col, area.y + row);
                let Some(cell) = self.screen.cell(row, col) else { break };
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
                let symbol = if cell.has_contents() { cell.contents() } else { " " };
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
pub fn cursor(screen: &vt100::Screen, area: Rect) -> Option<(u16, u16)> {
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
        let mut p = vt100::Parser::new(crate::state::term::dim(h), crate::state::term::dim(w), 0);
        p.process(bytes);
        let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
        TerminalView::new(p.screen()).render(buf.area, &mut buf);
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
        let mut p = vt100::Parser::default();
        p.process(b"ab\r\ncd");
        assert_eq!(cursor(p.screen(), Rect::new(0, 1, 80, 24)), Some((2, 2)));
        p.process(b"\x1b[?25l");
        assert_eq!(cursor(p.screen(), Rect::new(0, 1, 80, 24)), None);
    }
}
