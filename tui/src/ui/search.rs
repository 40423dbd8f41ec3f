//! The scrollback search on screen: its prompt or results in the attach header, and its matches
//! highlighted over the worker's screen in the theme's search colours.

use crate::state::search::{Edge, Search, view_top};
use crate::state::term::TermView;
use crate::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// The right side of the attach header while a search is open, on the header's background, and
/// where the prompt's cursor goes (columns from the line's start) while a query is typed.
pub fn header<'a>(search: &'a Search, scrolled: usize, theme: &Theme) -> (Line<'a>, Option<u16>) {
    let bg = theme.selection;
    let muted = Style::new().fg(theme.muted).bg(bg);
    let query = Style::new().fg(theme.text).bg(bg).add_modifier(Modifier::BOLD);
    let scroll = if scrolled > 0 { format!("  scrollback −{scrolled} ") } else { " ".into() };
    if let Some(prompt) = &search.prompt {
        let typed = Span::styled(prompt.as_str(), query);
        let cursor = u16::try_from(1 + typed.width()).ok();
        let line = Line::from(vec![
            Span::styled("/", muted),
            typed,
            Span::styled("  enter search · esc cancel ", muted),
        ]);
        return (line, cursor);
    }
    let Some(results) = &search.results else { return (Line::default(), None) };
    let mut spans = Vec::new();
    if results.count() == 0 {
        spans.push(Span::styled(
            format!("no match for \"{}\"", results.query()),
            Style::new().fg(theme.error).bg(bg),
        ));
    } else {
        spans.push(Span::styled("/", muted));
        spans.push(Span::styled(results.query(), query));
        let place = match results.position() {
            Some(k) => format!("  {k} of {}", results.count()),
            // Output rewrote the row the current match was on.
            None => format!("  {} matches", results.count()),
        };
        spans.push(Span::styled(place, Style::new().fg(theme.accent).bg(bg)));
        if let Some(edge) = results.edge() {
            let note = match edge {
                Edge::Oldest => " · no older match",
                Edge::Newest => " · no newer match",
            };
            spans.push(Span::styled(note, Style::new().fg(theme.asking).bg(bg)));
        }
    }
    spans.push(Span::styled(scroll, muted));
    (Line::from(spans), None)
}

/// Paints the matches in view over the worker's screen drawn in `area`: every match in
/// `search-match`, the current one in `search-current` (bold, so colour is not the only cue).
pub fn highlight(buf: &mut Buffer, area: Rect, term: &TermView, theme: &Theme) {
    let Some(results) = term.search.as_ref().and_then(|s| s.results.as_ref()) else { return };
    let screen = term.parser.term();
    let (rows, cols) = screen.size();
    let (height, width) = (area.height.min(rows), area.width.min(cols));
    let top = view_top(screen);
    let current = results.current();
    let other = Style::new().bg(theme.search_match);
    let mut chosen = Style::new().bg(theme.search_current).add_modifier(Modifier::BOLD);
    if theme.search_current_text != Color::Reset {
        chosen = chosen.fg(theme.search_current_text);
    }
    for m in results.on_lines(top, top + u64::from(height)) {
        // `on_lines` keeps `m.line - top` below `height`.
        let Ok(row) = u16::try_from(m.line - top) else { continue };
        let style = if Some(*m) == current { chosen } else { other };
        let end = m.col.saturating_add(m.width).min(width);
        for col in m.col..end {
            buf[(area.x + col, area.y + row)].set_style(style);
        }
    }
}
