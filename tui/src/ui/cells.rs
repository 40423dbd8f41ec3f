//! Drawing straight into a buffer's cells, a row slice at a time: what a frame does for every
//! cell of the screen (the background, a worker's screen, twelve of them on the wall) costs one
//! bounds check per row here instead of one per cell (`buf[(x, y)]`), which was a third of a
//! wall frame's drawing (callgrind, `tui/examples/wall_frames.rs`).

use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::border;

/// The cells of row `y` from column `x`, `width` of them at most: clipped to the buffer, empty
/// when the row is outside it.
pub fn row_mut(buf: &mut Buffer, x: u16, y: u16, width: u16) -> &mut [Cell] {
    let area = buf.area;
    if y < area.top() || y >= area.bottom() || x < area.left() || x >= area.right() {
        return &mut [];
    }
    let width = usize::from(width.min(area.right() - x));
    let start = usize::from(y - area.y) * usize::from(area.width) + usize::from(x - area.x);
    buf.content.get_mut(start..start + width).unwrap_or_default()
}

/// Applies `style` to every cell of `area`, as `Buffer::set_style` does.
pub fn fill(buf: &mut Buffer, area: Rect, style: Style) {
    let area = area.intersection(buf.area);
    for y in area.top()..area.bottom() {
        for cell in row_mut(buf, area.x, y, area.width) {
            cell.set_style(style);
        }
    }
}

/// Draws the border of `rect` with `set`'s symbols in `style` (patched onto the cells, as a
/// bordered `Block` does), leaving the top row between the corners to the caller (its titles).
/// Nothing inside the border is touched.
pub fn border_sides(buf: &mut Buffer, rect: Rect, set: &border::Set<'_>, style: Style) {
    let rect = rect.intersection(buf.area);
    if rect.width < 2 || rect.height < 2 {
        return;
    }
    let (left, right, top, bottom) = (rect.left(), rect.right() - 1, rect.top(), rect.bottom() - 1);
    let mut put = |x: u16, y: u16, symbol: &str| {
        if let Some(cell) = row_mut(buf, x, y, 1).first_mut() {
            cell.set_symbol(symbol).set_style(style);
        }
    };
    for y in top + 1..bottom {
        put(left, y, set.vertical_left);
        put(right, y, set.vertical_right);
    }
    put(left, top, set.top_left);
    put(right, top, set.top_right);
    put(left, bottom, set.bottom_left);
    put(right, bottom, set.bottom_right);
    for cell in row_mut(buf, left + 1, bottom, rect.width - 2) {
        cell.set_symbol(set.horizontal_bottom).set_style(style);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;
    use ratatui::widgets::{Block, BorderType, Widget};

    #[test]
    fn rows_are_clipped_to_the_buffer() {
        let mut buf = Buffer::empty(Rect::new(2, 1, 5, 3));
        assert_eq!(row_mut(&mut buf, 3, 2, 10).len(), 4);
        assert!(row_mut(&mut buf, 0, 2, 10).is_empty(), "left of the buffer");
        assert!(row_mut(&mut buf, 3, 4, 10).is_empty(), "below the buffer");
        assert!(row_mut(&mut buf, 7, 1, 1).is_empty(), "right of the buffer");
        row_mut(&mut buf, 6, 3, 9)[0].set_symbol("x");
        assert_eq!(buf[(6, 3)].symbol(), "x");
    }

    #[test]
    fn fill_and_sides_draw_what_a_styled_bordered_block_draws() {
        let area = Rect::new(0, 0, 12, 6);
        let rect = Rect::new(1, 1, 9, 4);
        let base = Style::new().fg(Color::White).bg(Color::Black);
        let edge = Style::new().fg(Color::Yellow);
        for kind in [BorderType::Rounded, BorderType::Thick] {
            let mut want = Buffer::empty(area);
            Block::new().style(base).render(area, &mut want);
            Block::bordered().border_type(kind).border_style(edge).style(base).render(rect, &mut want);
            let mut got = Buffer::empty(area);
            fill(&mut got, area, base);
            let top = Rect { x: rect.x + 1, width: rect.width - 2, height: 1, ..rect };
            Block::new()
                .borders(ratatui::widgets::Borders::TOP)
                .border_type(kind)
                .border_style(edge)
                .render(top, &mut got);
            border_sides(&mut got, rect, &kind.to_border_set(), edge);
            assert_eq!(got, want, "{kind:?}");
        }
    }
}
