//! The screen model as the front end holds it: the `controlroom-term` model with a sink that
//! numbers rows as they scroll off (the search's line numbers). Imports nothing else of `state`,
//! so both the watched worker's view (`term`) and the search (`search`) build on it.

/// The screen a front end reads: everything it needs is in the model, and its sink counts the
/// rows that scrolled off (the search numbers lines by it).
pub type Screen = controlroom_term::Term<RowsScrolled>;

/// The screen model with its parser state.
pub type ScreenParser = controlroom_term::Parser<RowsScrolled>;

/// Counts main-screen rows that left the top since the screen model was made: with the
/// scrollback's length it gives every row a number that stays put while output scrolls it
/// (scrollback row `i` is line `count - len + i`, screen row `r` is line `count + r`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowsScrolled(pub u64);

impl controlroom_term::TermSink for RowsScrolled {
    #[inline]
    fn on_scroll(&mut self, _row: &controlroom_term::Row) {
        self.0 += 1;
    }
}
