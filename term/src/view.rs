//! What a front end reads to draw the screen: the scrollback view offset, visible rows and cells
//! (vt100 0.18's `Screen::cell` / `set_scrollback` semantics), the cursor shape and plain text.

use super::cell::{Cell, Row};
use super::{CursorStyle, Term, TermSink};

impl<S: TermSink> Term<S> {
    /// Rows scrolled back from the live screen (0 = live; always 0 on the alternate screen).
    pub fn scrollback(&self) -> usize {
        self.grid().scrollback_offset()
    }

    /// Scrolls the view `rows` back from the live screen, clamped to [`Term::scrollback_len`].
    /// The visible rows are then the last `rows` scrolled-off rows followed by the first
    /// `rows - k` screen rows. New output that scrolls keeps the same rows in view (the offset
    /// grows with it); a resize returns to the live screen.
    pub fn set_scrollback(&mut self, rows: usize) {
        self.grid_mut().set_scrollback_offset(rows);
    }

    /// Rows the active screen's scrollback holds now.
    pub fn scrollback_len(&self) -> usize {
        self.grid().scrollback_len()
    }

    /// Row `i` of the active screen's scrollback, 0 being the oldest one kept, whatever the
    /// view offset (what a search through the history reads; the screen's rows are
    /// [`Term::rows`]).
    pub fn scrollback_row(&self, i: usize) -> Option<&Row> {
        self.grid().scrollback_row(i)
    }

    /// Rows the main screen's scrollback keeps at most.
    pub fn scrollback_capacity(&self) -> usize {
        self.main.scrollback_capacity()
    }

    /// Visible row `row` (0 at the top), honouring the scrollback offset.
    pub fn visible_row(&self, row: u16) -> Option<&Row> {
        self.grid().visible_row(row)
    }

    /// The visible cell at (`row`, `col`), honouring the scrollback offset; `None` off screen.
    /// A scrollback row narrower than the screen (it left before a resize) reads as blank cells.
    pub fn cell(&self, row: u16, col: u16) -> Option<&Cell> {
        let (_, cols) = self.size();
        if col >= cols {
            return None;
        }
        let r = self.visible_row(row)?;
        Some(r.cell(usize::from(col)))
    }

    /// The cursor shape the program asked for.
    pub fn cursor_style(&self) -> CursorStyle {
        match self.state.cursor_style {
            1 => CursorStyle::BlinkBlock,
            2 => CursorStyle::SteadyBlock,
            3 => CursorStyle::BlinkUnderline,
            4 => CursorStyle::SteadyUnderline,
            5 => CursorStyle::BlinkVerticalBar,
            6 => CursorStyle::SteadyVerticalBar,
            _ => CursorStyle::Default,
        }
    }

    /// The visible text (vt100's `Screen::contents`): rows joined by newlines except where a
    /// row wraps, trailing blanks per row and trailing empty lines dropped.
    pub fn contents(&self) -> String {
        let (rows, cols) = self.size();
        let mut out = String::new();
        let mut wrapping = false;
        for i in 0..rows {
            let Some(row) = self.visible_row(i) else { break };
            let start = out.len();
            row.write_plain_upto(&mut out, usize::from(cols));
            if out.len() == start && wrapping {
                out.push('\n');
            }
            if !row.wrapped() {
                out.push('\n');
            }
            wrapping = row.wrapped();
        }
        while out.ends_with('\n') {
            out.pop();
        }
        out
    }
}
