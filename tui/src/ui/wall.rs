//! The wall: a title line with the scope and page, the page's tiles (each a worker's live
//! screen cropped to the tile, with its name, state badge and attention mark), the status bar.

use super::canvas::Canvas;
use super::cells;
use super::terminal::TerminalView;
use super::{badge, count, status};
use crate::keymap::Action;
use crate::state::State;
use crate::state::sessions::failed;
use crate::state::term::{TermView, WorkerLink};
use crate::state::wall::{TileKey, WallScope, crop_top};
use crate::theme::Theme;
use controlroom_protocol::ActivityState;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

/// Draws the wall over the whole `area`.
pub fn draw(frame: &mut Canvas<'_>, area: Rect, state: &State, theme: &Theme) {
    let page = state.wall_page();
    let title_area = Rect { height: 1.min(area.height), ..area };
    let status_area = Rect { y: area.bottom().saturating_sub(1), height: 1.min(area.height), ..area };
    title(frame, title_area, state, &page, theme);
    status::draw(frame, status_area, state, theme);
    let muted = Style::new().fg(theme.muted);
    if page.keys.is_empty() {
        let text = match state.wall.scope {
            WallScope::Session if state.session().is_none() => "No session selected — g shows every worker.",
            WallScope::Session => "This session has no workers.",
            WallScope::Attention => "No worker needs you.",
            WallScope::All => "No workers yet.",
        };
        let rect = super::layout::centered(page.area, u16::try_from(text.chars().count()).unwrap_or(40), 1);
        frame.render_widget(Paragraph::new(Span::styled(text, muted)), rect);
        return;
    }
    if page.grid.is_none() {
        let text = "The screen is too small for the wall.";
        frame.render_widget(Paragraph::new(Span::styled(text, muted)), page.area);
        return;
    }
    let first = page.page * page.per_page();
    for (i, key) in page.shown().iter().enumerate() {
        let Some(rect) = page.tile(i) else { continue };
        tile(frame, rect, state, key, first + i == page.focus, theme);
    }
}

fn title(
    frame: &mut Canvas<'_>,
    area: Rect,
    state: &State,
    page: &crate::state::wall::WallPage,
    theme: &Theme,
) {
    let bar = Style::new().fg(theme.muted).bg(theme.selection);
    let mut left = vec![
        Span::styled(" Wall ", Style::new().fg(theme.accent).bg(theme.selection).bold()),
        Span::styled("· ", bar),
        Span::styled(state.wall.scope.label(), Style::new().fg(theme.text).bg(theme.selection).bold()),
    ];
    if state.wall.scope == WallScope::Session
        && let Some(s) = state.session()
    {
        left.push(Span::styled(format!(" “{}”", s.title), bar));
    }
    left.push(Span::styled(format!(" · {}", count(page.keys.len(), "worker")), bar));
    if page.pages > 1 {
        left.push(Span::styled(format!(" · page {}/{}", page.page + 1, page.pages), bar));
    }
    let keys = &state.settings.keys;
    let right = Line::styled(
        format!("{} scope · ←↑↓→ move · enter attach · esc back ", keys.labels(Action::Wall)),
        bar,
    );
    frame.render_widget(Paragraph::new(Line::from(left)).style(bar), area);
    let rw = u16::try_from(right.width()).unwrap_or(0);
    // On a narrow line the hint goes: the scope is what must be read.
    if left_width(state, page).saturating_add(rw) < area.width {
        let right_area = Rect { x: area.right() - rw, width: rw, ..area };
        frame.render_widget(Paragraph::new(right), right_area);
    }
}

/// How wide the title's left part is (the scope, title, count and page).
fn left_width(state: &State, page: &crate::state::wall::WallPage) -> u16 {
    let mut n = 7 + 2 + state.wall.scope.label().chars().count();
    if state.wall.scope == WallScope::Session
        && let Some(s) = state.session()
    {
        n += s.title.chars().count() + 3;
    }
    n += count(page.keys.len(), "worker").chars().count() + 3;
    if page.pages > 1 {
        n += format!(" · page {}/{}", page.page + 1, page.pages).chars().count();
    }
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// One tile: the bordered worker screen, its name, session, badge and attention mark.
fn tile(frame: &mut Canvas<'_>, rect: Rect, state: &State, key: &TileKey, focused: bool, theme: &Theme) {
    let (sid, wid) = key;
    let session = state.store.get(sid);
    let worker = state.store.worker(sid, wid);
    let activity = worker.map_or(ActivityState::Unknown, |w| state.store.activity(sid, w));
    let attention = activity == ActivityState::Asking || worker.is_some_and(failed);
    let (glyph, colour) = match worker {
        Some(w) => badge(activity, w, theme),
        None => ("·", theme.muted),
    };
    let name = worker.map_or(wid.as_str(), |w| w.name.as_str());
    let mut head = vec![
        Span::raw(" "),
        Span::styled(glyph, Style::new().fg(colour)),
        Span::raw(" "),
        Span::styled(
            name.to_owned(),
            Style::new().fg(if focused { theme.accent } else { theme.text }).bold(),
        ),
    ];
    // The session matters when the scope mixes sessions.
    if state.wall.scope != WallScope::Session
        && let Some(s) = session
    {
        head.push(Span::styled(format!(" · {}", s.title), Style::new().fg(theme.muted)));
    }
    head.push(Span::raw(" "));
    let border = match (focused, attention) {
        (true, _) => theme.accent,
        (false, true) => theme.asking,
        (false, false) => theme.border,
    };
    let kind = if focused { BorderType::Thick } else { BorderType::Rounded };
    let edge = Style::new().fg(border);
    // The top border with the titles, as a bordered `Block` lays them out (the same area
    // between the corners), then the other sides drawn directly: a `Block` over the whole tile
    // would style every cell under the screen drawn over it, the frame's background already
    // being there (a third of a wall frame's drawing, callgrind).
    let mut top =
        Block::new().borders(Borders::TOP).border_type(kind).border_style(edge).title(Line::from(head));
    if attention {
        // A narrow tile keeps its name: the mark shrinks to the `!`.
        let wide = rect.width >= 40;
        let mark = match (activity == ActivityState::Asking, wide) {
            (_, false) => " ! ",
            (true, true) => " ! asking ",
            (false, true) => " ! failed ",
        };
        let colour = if activity == ActivityState::Asking { theme.asking } else { theme.error };
        top = top.title(
            Line::from(Span::styled(mark, Style::new().fg(colour).add_modifier(Modifier::BOLD)))
                .right_aligned(),
        );
    }
    let top_area = Rect {
        x: rect.x.saturating_add(1),
        width: rect.width.saturating_sub(2),
        height: 1.min(rect.height),
        ..rect
    };
    frame.render_widget(top, top_area);
    cells::border_sides(frame.buffer_mut(), rect, &kind.to_border_set(), edge);
    let inner = Rect {
        x: rect.x.saturating_add(1),
        y: rect.y.saturating_add(1),
        width: rect.width.saturating_sub(2),
        height: rect.height.saturating_sub(2),
    };
    let muted = |t: &str| Paragraph::new(Span::styled(t.to_owned(), Style::new().fg(theme.muted)));
    match state.wall.view(key) {
        None => frame.render_widget(muted("…"), inner),
        Some(view) => match &view.link {
            WorkerLink::Connecting => frame.render_widget(muted("connecting…"), inner),
            WorkerLink::Gone(reason) => frame.render_widget(muted(reason), inner),
            WorkerLink::Live | WorkerLink::Lost(_) => screen(frame, inner, view),
        },
    }
}

/// The worker's screen at its own size, cropped to `inner` so the cursor's line shows; the
/// cursor is drawn as a reversed cell (the terminal's own cursor stays hidden on the wall).
fn screen(frame: &mut Canvas<'_>, inner: Rect, view: &TermView) {
    let term = view.parser.term();
    let (rows, _) = term.size();
    let (cursor_row, cursor_col) = term.cursor_position();
    let top = crop_top(rows, cursor_row, inner.height);
    frame.render_widget(TerminalView::new(term).from_row(top), inner);
    if view.exit.is_none() && !term.hide_cursor() {
        let pos =
            Position::new(inner.x.saturating_add(cursor_col), inner.y + (cursor_row - top.min(cursor_row)));
        if cursor_row >= top && inner.contains(pos) {
            let cell = &mut frame.buffer_mut()[pos];
            cell.modifier.toggle(Modifier::REVERSED);
        }
    }
}
