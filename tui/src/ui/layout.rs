//! Placing overlays on the screen (the dashboard's panes are `state::layout`, shared with mouse
//! hit-testing).

use ratatui::layout::Rect;

/// Below this many spare columns (or rows) an overlay takes the whole width (or height): a
/// one-cell strip of the screen under it would show as a stray border beside the box.
const MIN_MARGIN: u16 = 2;

/// A `width`×`height` rectangle centred in `area` (clamped to it, and widened to it when less
/// than `MIN_MARGIN` would be left beside it).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let fit = |want: u16, have: u16| if have.saturating_sub(want) < MIN_MARGIN { have } else { want };
    let w = fit(width, area.width);
    let h = fit(height, area.height);
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_that_would_leave_one_spare_cell_takes_the_whole_area() {
        let area = Rect::new(0, 0, 100, 12);
        assert_eq!(centered(area, 99, 12), area);
        assert_eq!(centered(area, 120, 30), area);
        assert_eq!(centered(area, 98, 10), Rect::new(1, 1, 98, 10));
        assert_eq!(centered(area, 40, 5), Rect::new(30, 3, 40, 5));
    }
}
