//! The `?` overlay's content (every binding, the attach keys, the wall's) and its scroll
//! position: at a small terminal height the overlay shows a window of its lines, moved with
//! ↑/↓, j/k, PgUp/PgDn, Home/End; any other key closes it.

use crate::keymap::{Action, KeyMap};
use crossterm::event::{KeyCode, KeyEvent};

/// A `key  what it does` pair of the overlay.
pub type HelpEntry = (String, &'static str);

/// Rows the overlay's frame takes from the height it is given (the top and bottom borders).
pub const HELP_CHROME_ROWS: u16 = 2;

/// The overlay's lines in two columns: the dashboard's bindings, then (with headings) the
/// attach view's and the wall's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpText {
    /// The dashboard's actions, as bound.
    pub dashboard: Vec<HelpEntry>,
    /// Keys while attached.
    pub attached: Vec<HelpEntry>,
    /// The wall's keys and the mouse.
    pub wall: Vec<HelpEntry>,
}

impl HelpText {
    /// What the overlay lists for `keys`: a `read_only` connection is not offered what the
    /// gateway would refuse.
    pub fn new(keys: &KeyMap, read_only: bool) -> Self {
        let dashboard = Action::ALL
            .iter()
            .filter(|(action, _, _)| !(read_only && action.changes()))
            .map(|(action, _, help)| (keys.labels(*action), *help))
            .collect();
        let attached = vec![
            (keys.detach.label(), "detach (the worker keeps running)"),
            (crate::keymap::chord_label(&keys.copy_mode), "copy mode (v select · y copy)"),
            ("shift-pgup/dn".into(), "scroll back a page"),
            ("/".into(), "search the scrollback (scrolled)"),
            ("n / N".into(), "older / newer match · esc closes"),
        ];
        let wall = vec![
            ("←↑↓→ hjkl".into(), "focus · enter attach · pgup/dn"),
            ("mouse".into(), "click selects · double-click attaches"),
        ];
        Self { dashboard, attached, wall }
    }

    /// Lines of the first column.
    pub fn first_len(&self) -> usize {
        self.dashboard.len()
    }

    /// Lines of the second column: a heading and the attach keys, a blank line, a heading and
    /// the wall's.
    pub fn second_len(&self) -> usize {
        1 + self.attached.len() + 1 + 1 + self.wall.len()
    }

    /// Whether the columns fit one under the other (with a blank line between) in `height`
    /// rows, frame included; else they go side by side.
    pub fn stacked(&self, height: u16) -> bool {
        let lines = self.first_len() + 1 + self.second_len();
        u16::try_from(lines).is_ok_and(|l| l.saturating_add(HELP_CHROME_ROWS) <= height)
    }

    /// Rows of text the overlay has at `height` (stacked, or side by side).
    pub fn rows(&self, height: u16) -> usize {
        if self.stacked(height) {
            self.first_len() + 1 + self.second_len()
        } else {
            self.first_len().max(self.second_len())
        }
    }

    /// Rows of text shown at `height`: what the frame leaves.
    pub fn visible(&self, height: u16) -> usize {
        usize::from(height.saturating_sub(HELP_CHROME_ROWS)).min(self.rows(height))
    }

    /// The furthest the overlay scrolls at `height`: 0 when every line fits.
    pub fn max_offset(&self, height: u16) -> usize {
        self.rows(height).saturating_sub(self.visible(height))
    }
}

/// The overlay's state: how far it is scrolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HelpView {
    /// First row of text shown.
    pub offset: usize,
}

/// What a key did to the overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpOutcome {
    /// It scrolled (or was at the end already): the overlay stays.
    Stay,
    /// Any other key: the overlay closes.
    Close,
}

impl HelpView {
    /// Scrolls for `ev` within `text` at a terminal `height`, or says the overlay closes.
    pub fn key(&mut self, ev: &KeyEvent, text: &HelpText, height: u16) -> HelpOutcome {
        let max = text.max_offset(height);
        let page = text.visible(height).max(1);
        self.offset = match ev.code {
            KeyCode::Up | KeyCode::Char('k') => self.offset.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.offset + 1,
            KeyCode::PageUp => self.offset.saturating_sub(page),
            KeyCode::PageDown | KeyCode::Char(' ') => self.offset + page,
            KeyCode::Home | KeyCode::Char('g') => 0,
            KeyCode::End | KeyCode::Char('G') => max,
            _ => return HelpOutcome::Close,
        }
        .min(max);
        HelpOutcome::Stay
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn press(view: &mut HelpView, code: KeyCode, text: &HelpText, height: u16) -> HelpOutcome {
        view.key(&KeyEvent::new(code, KeyModifiers::NONE), text, height)
    }

    #[test]
    fn it_scrolls_only_as_far_as_its_last_line_and_other_keys_close_it() {
        let text = HelpText::new(&KeyMap::default(), false);
        let tall = 60;
        assert!(text.stacked(tall));
        assert_eq!(text.max_offset(tall), 0, "everything fits");
        let mut view = HelpView::default();
        assert_eq!(press(&mut view, KeyCode::Down, &text, tall), HelpOutcome::Stay);
        assert_eq!(view.offset, 0, "nothing to scroll");

        let small = 12;
        assert!(!text.stacked(small));
        let max = text.max_offset(small);
        assert_eq!(max, text.first_len() - 10, "side by side, 10 rows inside the frame");
        press(&mut view, KeyCode::Char('j'), &text, small);
        press(&mut view, KeyCode::Down, &text, small);
        assert_eq!(view.offset, 2);
        press(&mut view, KeyCode::Char('k'), &text, small);
        assert_eq!(view.offset, 1);
        press(&mut view, KeyCode::PageDown, &text, small);
        assert_eq!(view.offset, max.min(11));
        for _ in 0..50 {
            press(&mut view, KeyCode::Down, &text, small);
        }
        assert_eq!(view.offset, max, "stops at the last line");
        press(&mut view, KeyCode::Up, &text, small);
        assert_eq!(view.offset, max - 1, "one key up moves at once, however often down was pressed");
        press(&mut view, KeyCode::PageUp, &text, small);
        press(&mut view, KeyCode::PageUp, &text, small);
        assert_eq!(view.offset, 0);
        press(&mut view, KeyCode::End, &text, small);
        assert_eq!(view.offset, max);
        assert_eq!(press(&mut view, KeyCode::Esc, &text, small), HelpOutcome::Close);
        assert_eq!(press(&mut view, KeyCode::Char('q'), &text, small), HelpOutcome::Close);
    }
}
