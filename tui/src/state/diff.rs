//! The `d` diff pane: the selected session's changes against its base (`GET
//! /api/sessions/{id}/diff`, served by the gateway so it works for a remote one), scrolled with
//! the arrows, PgUp/PgDn, `g`/`G`; `q` or Esc closes it, `r` loads it again.

use controlroom_protocol::{DiffResponse, SessionGit, SessionId};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Rows the pane's frame takes from the terminal (border and title above, border and key hints
/// below), so the diff gets the rest.
pub const DIFF_CHROME_ROWS: u16 = 2;

/// The diff being shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffView {
    /// Whose diff.
    pub session: SessionId,
    /// The session's title, for the pane's title.
    pub title: String,
    /// What it is against, once loaded.
    pub base: Option<String>,
    /// The diff's lines, once loaded.
    pub lines: Vec<String>,
    /// The first line shown.
    pub scroll: usize,
    /// Waiting for the gateway.
    pub loading: bool,
    /// The gateway cut the diff at its size cap (the last line says so).
    pub truncated: bool,
}

/// What a key did in the pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffOutcome {
    /// Scrolled, or nothing.
    Stay,
    /// Closed.
    Close,
    /// Load it again.
    Reload,
}

impl DiffView {
    /// A pane waiting for `session`'s diff.
    pub fn loading(session: SessionId, title: impl Into<String>) -> Self {
        Self {
            session,
            title: title.into(),
            base: None,
            lines: Vec::new(),
            scroll: 0,
            loading: true,
            truncated: false,
        }
    }

    /// The gateway's answer arrived.
    pub fn loaded(&mut self, diff: DiffResponse) {
        self.lines = diff.diff.lines().map(str::to_owned).collect();
        self.base = Some(diff.base);
        self.truncated = diff.truncated;
        self.loading = false;
        self.scroll = self.scroll.min(self.lines.len().saturating_sub(1));
    }

    /// Handles a key; `page` is how many diff lines fit on screen.
    pub fn key(&mut self, ev: &KeyEvent, page: usize) -> DiffOutcome {
        let page = page.max(1);
        let last = self.lines.len().saturating_sub(page);
        match ev.code {
            KeyCode::Esc | KeyCode::Char('q') => return DiffOutcome::Close,
            KeyCode::Char('r') => return DiffOutcome::Reload,
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.scroll = (self.scroll + 1).min(last),
            KeyCode::PageUp | KeyCode::Char('b') => self.scroll = self.scroll.saturating_sub(page),
            KeyCode::Char('u') if ev.modifiers.contains(KeyModifiers::CONTROL) => {
                self.scroll = self.scroll.saturating_sub(page / 2)
            }
            KeyCode::Char('d') if ev.modifiers.contains(KeyModifiers::CONTROL) => {
                self.scroll = (self.scroll + page / 2).min(last)
            }
            KeyCode::PageDown | KeyCode::Char(' ') => self.scroll = (self.scroll + page).min(last),
            KeyCode::Home | KeyCode::Char('g') => self.scroll = 0,
            KeyCode::End | KeyCode::Char('G') => self.scroll = last,
            _ => {}
        }
        DiffOutcome::Stay
    }
}

/// A session's git state as one compact line: `feat-x ↑2 ↓0 +120 −8 5 files`.
pub fn git_summary(git: &SessionGit) -> String {
    let files =
        if git.changed_files == 1 { "1 file".to_owned() } else { format!("{} files", git.changed_files) };
    format!("{} ↑{} ↓{} +{} −{} {files}", git.branch, git.ahead, git.behind, git.insertions, git.deletions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn scrolling_stays_within_the_diff_and_q_closes() {
        let mut v = DiffView::loading(SessionId::new("s1"), "t");
        assert_eq!(v.key(&key(KeyCode::Down), 10), DiffOutcome::Stay, "nothing loaded: nothing moves");
        assert_eq!(v.scroll, 0);
        let diff: String = (0..100).map(|i| format!("+line {i}\n")).collect();
        v.loaded(DiffResponse { base: "main".into(), diff, truncated: false });
        assert!(!v.loading);
        v.key(&key(KeyCode::PageDown), 10);
        assert_eq!(v.scroll, 10);
        v.key(&key(KeyCode::Char('G')), 10);
        assert_eq!(v.scroll, 90, "the last page fills the screen");
        v.key(&key(KeyCode::Down), 10);
        assert_eq!(v.scroll, 90);
        v.key(&key(KeyCode::PageUp), 10);
        v.key(&key(KeyCode::Up), 10);
        assert_eq!(v.scroll, 79);
        v.key(&key(KeyCode::Char('g')), 10);
        assert_eq!(v.scroll, 0);
        assert_eq!(v.key(&key(KeyCode::Char('r')), 10), DiffOutcome::Reload);
        assert_eq!(v.key(&key(KeyCode::Esc), 10), DiffOutcome::Close);
        assert_eq!(v.key(&key(KeyCode::Char('q')), 10), DiffOutcome::Close);
    }

    #[test]
    fn the_summary_is_compact() {
        let g = SessionGit {
            branch: "feat-x".into(),
            worktree: true,
            ahead: 2,
            behind: 0,
            changed_files: 5,
            insertions: 120,
            deletions: 8,
        };
        assert_eq!(git_summary(&g), "feat-x ↑2 ↓0 +120 −8 5 files");
        assert_eq!(
            git_summary(&SessionGit { worktree: false, changed_files: 1, ..g }),
            "feat-x ↑2 ↓0 +120 −8 1 file"
        );
    }
}
