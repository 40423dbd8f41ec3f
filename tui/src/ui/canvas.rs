//! What the drawing functions draw on: a buffer, its area and where the cursor goes, as
//! ratatui's `Frame` offers them, plus the rows kept from the last frame. A `Frame` can only
//! be made by ratatui's `Terminal`, which starts every frame from a blank buffer and compares
//! all of it with the last; the front end's painter (`painter.rs`) draws on a buffer of its own
//! that keeps the rows nothing changed, and tests draw through a `Frame` ([`super::draw`]).

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::widgets::Widget;

/// A buffer being drawn, with the frame's cursor.
#[derive(Debug)]
pub struct Canvas<'a> {
    buffer: &'a mut Buffer,
    cursor: Option<Position>,
    /// Rows (by `y`, from the buffer's top) that still hold what this frame draws there, as
    /// drawn last frame (the attach view's header and the rows of its live screen that did not
    /// change, `painter.rs`): what draws them leaves them as they are. Empty for a frame drawn
    /// whole.
    kept: &'a [bool],
}

impl<'a> Canvas<'a> {
    /// A canvas over a whole buffer, every row drawn.
    pub fn new(buffer: &'a mut Buffer) -> Self {
        Self { buffer, cursor: None, kept: &[] }
    }

    /// A canvas whose rows marked in `kept` hold last frame's screen rows, unchanged.
    pub fn keeping(buffer: &'a mut Buffer, kept: &'a [bool]) -> Self {
        Self { buffer, cursor: None, kept }
    }

    /// The area drawn.
    pub fn area(&self) -> Rect {
        self.buffer.area
    }

    /// The buffer, for drawing cell by cell.
    pub fn buffer_mut(&mut self) -> &mut Buffer {
        self.buffer
    }

    /// Draws a widget into `area`.
    pub fn render_widget<W: Widget>(&mut self, widget: W, area: Rect) {
        widget.render(area, self.buffer);
    }

    /// Shows the terminal's cursor at `position` once the frame is drawn (hidden otherwise).
    pub fn set_cursor_position<P: Into<Position>>(&mut self, position: P) {
        self.cursor = Some(position.into());
    }

    /// Where the cursor is shown, if anywhere.
    pub fn cursor(&self) -> Option<Position> {
        self.cursor
    }

    /// The rows kept from the last frame (see the field).
    pub fn kept(&self) -> &'a [bool] {
        self.kept
    }
}
