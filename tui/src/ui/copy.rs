//! Copy mode on screen: its frozen rows with the selection and the search's matches painted
//! over them, the cursor where copy mode's cursor is, and its status (COPY, position, selection
//! size, the search prompt) in the attach header.

use super::canvas::Canvas;
use super::terminal::render_row;
use crate::state::copy::CopyMode;
use crate::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// Draws copy mode's view into `area` (the worker's screen under the header).
pub fn draw_body(frame: &mut Canvas<'_>, area: Rect, copy: &CopyMode, theme: &Theme) {
    let (rows, cols) = copy.size();
    let (height, width) = (area.height.min(rows), area.width.min(cols));
    let top = copy.top();
    let buf = frame.buffer_mut();
    let mut text = String::new();
    let other = Style::new().bg(theme.search_match);
    let mut chosen = Style::new().bg(theme.search_current).add_modifier(Modifier::BOLD);
    if theme.search_current_text != Color::Reset {
        chosen = chosen.fg(theme.search_current_text);
    }
    // The selection in the theme's accent, as tmux draws its mode-style: clear on any colours
    // the program used, and not the search's colours.
    let selected = Style::new().bg(theme.accent).fg(theme.background);
    let current = copy.search.current;
    for r in 0..height {
        let line = top + usize::from(r);
        let Some(row) = copy.line(line) else { break };
        let y = area.y + r;
        render_row(row, (area.x, y), width, buf, &mut text);
        for m in copy.matches_on(line) {
            let style =
                if current.is_some_and(|(p, _)| p.line == line && p.col == m.col) { chosen } else { other };
            for col in m.col..m.col.saturating_add(m.width).min(width) {
                buf[(area.x + col, y)].set_style(style);
            }
        }
        if let Some((from, to)) = copy.selected_cols(line) {
            for col in from..=to.min(width.saturating_sub(1)) {
                buf[(area.x + col, y)].set_style(selected);
            }
        }
    }
    let cursor = copy.cursor();
    if let Some(r) = cursor.line.checked_sub(top).and_then(|r| u16::try_from(r).ok()).filter(|&r| r < height)
        && cursor.col < width
    {
        frame.set_cursor_position((area.x + cursor.col, area.y + r));
    }
}

/// The right side of the attach header in copy mode, on the header's background, and where the
/// prompt's cursor goes (columns from the line's start) while a search is typed.
pub fn header<'a>(copy: &'a CopyMode, theme: &Theme) -> (Line<'a>, Option<u16>) {
    let bg = theme.selection;
    let muted = Style::new().fg(theme.muted).bg(bg);
    let strong = Style::new().fg(theme.text).bg(bg).add_modifier(Modifier::BOLD);
    let badge = Style::new().fg(theme.background).bg(theme.accent).add_modifier(Modifier::BOLD);
    if let Some(prompt) = &copy.search.prompt {
        let lead = if copy.search.backward { "?" } else { "/" };
        let before: String = prompt.chars().take(prompt.cursor_chars()).collect();
        let cursor = u16::try_from(" COPY  ".len() + 1 + Span::raw(before).width()).ok();
        let line = Line::from(vec![
            Span::styled(" COPY ", badge),
            Span::styled(" ", muted),
            Span::styled(lead, muted),
            Span::styled(prompt.as_str(), strong),
            Span::styled("  enter search · esc cancel ", muted),
        ]);
        return (line, cursor);
    }
    let at = copy.cursor();
    let mut spans = vec![
        Span::styled(" COPY ", badge),
        Span::styled(format!("  ln {}/{} col {}", at.line + 1, copy.len(), at.col + 1), muted),
    ];
    if copy.scrolled() > 0 {
        spans.push(Span::styled(format!("  [−{}]", copy.scrolled()), muted));
    }
    if let Some(size) = copy.selection_size() {
        spans.push(Span::styled(format!("  sel {size}"), strong));
    }
    if let Some(note) = &copy.search.note {
        spans.push(Span::styled(format!("  {note}"), Style::new().fg(theme.asking).bg(bg)));
    }
    let hint = if copy.selection.is_some() { "  y copy · q quit " } else { "  v select · q quit " };
    spans.push(Span::styled(hint, muted));
    (Line::from(spans), None)
}
