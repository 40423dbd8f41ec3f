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
        let before: String = prompt.chars().take(prompt.cursor_chars()).collect();
        let cursor = u16::try_from(1 + Span::raw(before).width()).ok();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::search::{Results, Search};
    use controlroom_protocol::{SessionId, WorkerId};

    /// A 20×3 view of `data` searched for `query`, its current match chosen, drawn and painted.
    fn painted(data: &str, query: &str, theme: &Theme) -> Buffer {
        let mut t = TermView::new(SessionId::new("s"), WorkerId::new("w"), 100);
        t.history(data, 20, 3, 0);
        let mut results = Results::run(query, t.parser.term());
        results.start(t.parser.term());
        t.search = Some(Search { prompt: None, results: Some(results) });
        let area = Rect::new(0, 1, 20, 3);
        let mut buf = Buffer::empty(Rect::new(0, 0, 20, 4));
        ratatui::widgets::Widget::render(
            super::super::terminal::TerminalView::new(t.parser.term()),
            area,
            &mut buf,
        );
        highlight(&mut buf, area, &t, theme);
        buf
    }

    #[test]
    fn the_current_match_is_bold_in_its_own_colours_and_the_others_keep_their_text_colour() {
        let theme = Theme::default();
        let buf = painted("\x1b[31mab\x1b[0m ab\r\nab", "ab", &theme);
        let current = &buf[(0, 2)];
        assert_eq!((current.bg, current.fg), (theme.search_current, theme.search_current_text));
        assert!(current.modifier.contains(Modifier::BOLD));
        let other = &buf[(0, 1)];
        assert_eq!((other.bg, other.fg), (theme.search_match, Color::Indexed(1)), "the program's red stays");
        assert!(!other.modifier.contains(Modifier::BOLD));
        assert_eq!(buf[(2, 1)].bg, Color::Reset, "the space between matches is not painted");
        assert_eq!(buf[(3, 1)].bg, theme.search_match);
        assert_eq!(buf[(2, 2)].bg, Color::Reset, "a match ends where it ends");
    }

    #[test]
    fn a_reset_text_colour_keeps_the_programs_colour_on_the_current_match() {
        let theme = Theme { search_current_text: Color::Reset, ..Theme::default() };
        let buf = painted("\x1b[32mab\x1b[0m", "ab", &theme);
        assert_eq!((buf[(0, 1)].bg, buf[(0, 1)].fg), (theme.search_current, Color::Indexed(2)));
    }

    #[test]
    fn a_wide_character_before_a_match_does_not_shift_its_highlight() {
        let theme = Theme::default();
        let buf = painted("漢字 foo", "foo", &theme);
        let painted_cols: Vec<u16> = (0..20).filter(|&x| buf[(x, 1)].bg == theme.search_current).collect();
        assert_eq!(painted_cols, [5, 6, 7]);
        assert_eq!(buf[(5, 1)].symbol(), "f");
    }
}
