//! What the drawing functions draw on: a buffer, its area and where the cursor goes, as
//! ratatui's `Frame` offers them, plus the rows kept from the last frame. A `Frame` can only
//! be made by ratatui's `Terminal`, which starts every frame from a blank buffer and compares
//! all of it with the last; the front end's painter (`painter.rs`) draws on a buffer of its own
//! that keeps the rows nothing changed, and tests draw through a `Frame` ([`super::draw`]).

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::widgets::Widget;

/// How much of a buffer row still holds what this frame draws there, as drawn last frame
/// (`painter.rs` decides; what draws the row leaves the kept cells as they are).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Kept {
    /// Nothing: the row is blank and drawn whole.
    #[default]
    No,
    /// All of it: the row is not drawn.
    Whole,
    /// All but the columns `from..to` (counted from the buffer's left), which are blank and
    /// drawn: a screen row whose only changed cells are there, none of them or their
    /// neighbours wide (an echoed key).
    But {
        /// First column drawn.
        from: u16,
        /// Column after the last drawn.
        to: u16,
    },
}

/// A buffer being drawn, with the frame's cursor.
#[derive(Debug)]
pub struct Canvas<'a> {
    buffer: &'a mut Buffer,
    cursor: Option<Position>,
    /// What each row (by `y`, from the buffer's top) still holds of what this frame draws
    /// there, as drawn last frame (the attach view's header and the rows of its live screen
    /// that did not change, or changed in a few cells, `painter.rs`): what draws them leaves
    /// the kept cells as they are. Empty for a frame drawn whole.
    kept: &'a [Kept],
}

impl<'a> Canvas<'a> {
    /// A canvas over a whole buffer, every row drawn.
    pub fn new(buffer: &'a mut Buffer) -> Self {
        Self { buffer, cursor: None, kept: &[] }
    }

    /// A canvas whose rows marked in `kept` hold last frame's screen rows, unchanged (or all
    /// but a few columns of them).
    pub fn keeping(buffer: &'a mut Buffer, kept: &'a [Kept]) -> Self {
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
    pub fn kept(&self) -> &'a [Kept] {
        self.kept
    }
}
