//! Where the dashboard's panes go: geometry the state needs for mouse hit-testing and list
//! scrolling, and the drawing code lays out by. Plain arithmetic on rectangles, no drawing.

use ratatui::layout::{Constraint, Layout, Margin, Rect};

/// Rows each session takes in the list (title line and location line).
pub const SESSION_ROWS: u16 = 2;

/// Most worker rows shown before the workers pane scrolls.
const MAX_WORKER_ROWS: u16 = 8;

/// The dashboard's areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardLayout {
    /// Sessions list, with border.
    pub sessions: Rect,
    /// Workers of the selected session, with border.
    pub workers: Rect,
    /// Live preview of the selected worker, with border.
    pub preview: Rect,
    /// Bottom status line.
    pub status: Rect,
}

impl DashboardLayout {
    /// Splits `area`; the workers pane is as tall as the session's worker count allows.
    pub fn new(area: Rect, workers: usize) -> Self {
        let [main, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        let [sessions, right] =
            Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(main);
        let rows = u16::try_from(workers).unwrap_or(u16::MAX).clamp(1, MAX_WORKER_ROWS);
        let [workers, preview] =
            Layout::vertical([Constraint::Length(rows + 2), Constraint::Min(3)]).areas(right);
        Self { sessions, workers, preview, status }
    }

    /// The sessions list inside its border.
    pub fn sessions_inner(&self) -> Rect {
        self.sessions.inner(Margin::new(1, 1))
    }

    /// The workers list inside its border.
    pub fn workers_inner(&self) -> Rect {
        self.workers.inner(Margin::new(1, 1))
    }

    /// The preview inside its border.
    pub fn preview_inner(&self) -> Rect {
        self.preview.inner(Margin::new(1, 1))
    }
}

/// First item shown in a list of `capacity` visible items so that `selected` is visible.
pub fn list_offset(selected: usize, capacity: usize) -> usize {
    if capacity == 0 { selected } else { selected.saturating_sub(capacity - 1) }
}
