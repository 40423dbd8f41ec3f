//! Placing overlays on the screen (the dashboard's panes are `state::layout`, shared with mouse
//! hit-testing).

use ratatui::layout::Rect;

/// A `width`×`height` rectangle centred in `area` (clamped to it).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}
