//! The diff pane (`d`): the session's `git diff` against its base over the whole screen,
//! coloured as git colours it (file headers bold, hunks in the accent colour, added lines in the
//! active colour, removed ones in the error colour), with the keys on its bottom border.

use super::canvas::Canvas;
use crate::state::diff::{DIFF_CHROME_ROWS, DiffView};
use crate::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

/// Draws `view` over `area`.
pub fn draw(frame: &mut Canvas<'_>, area: Rect, view: &DiffView, theme: &Theme) {
    frame.render_widget(Clear, area);
    let mut title = vec![
        Span::styled(" Diff ", Style::new().fg(theme.accent).bold()),
        Span::styled(format!("{} ", view.title), Style::new().fg(theme.text).bold()),
    ];
    if let Some(base) = &view.base {
        title.push(Span::styled(format!("against {base} "), Style::new().fg(theme.muted)));
    }
    let page = usize::from(area.height.saturating_sub(DIFF_CHROME_ROWS));
    let position = if view.lines.is_empty() {
        String::new()
    } else {
        let last = (view.scroll + page).min(view.lines.len());
        format!(" {}–{} of {} ", view.scroll + 1, last, view.lines.len())
    };
    let hints = Line::from(vec![
        Span::styled(" ↑↓ PgUp PgDn g G", Style::new().fg(theme.accent)),
        Span::styled(" scroll  ", Style::new().fg(theme.muted)),
        Span::styled("r", Style::new().fg(theme.accent)),
        Span::styled(" reload  ", Style::new().fg(theme.muted)),
        Span::styled("q", Style::new().fg(theme.accent)),
        Span::styled(" close ", Style::new().fg(theme.muted)),
    ]);
    let block = Block::new()
        .borders(Borders::TOP | Borders::BOTTOM)
        .border_type(BorderType::Plain)
        .border_style(Style::new().fg(theme.border))
        .title(Line::from(title))
        .title(Line::from(Span::styled(position, Style::new().fg(theme.muted))).right_aligned())
        .title_bottom(hints)
        .style(Style::new().fg(theme.text).bg(theme.background));
    let lines: Vec<Line> = if view.loading && view.lines.is_empty() {
        vec![Line::from(Span::styled("loading the diff…", Style::new().fg(theme.muted)))]
    } else if view.lines.is_empty() {
        vec![Line::from(Span::styled("No changes against the base.", Style::new().fg(theme.muted)))]
    } else {
        view.lines.iter().skip(view.scroll).take(page).map(|l| diff_line(l, theme)).collect()
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// One line of `git diff` output, coloured by what it is.
fn diff_line<'a>(line: &'a str, theme: &Theme) -> Line<'a> {
    let style = if line.starts_with("diff --git")
        || line.starts_with("+++ ")
        || line.starts_with("--- ")
        || line.starts_with("index ")
        || line.starts_with("new file")
        || line.starts_with("deleted file")
    {
        Style::new().fg(theme.text).add_modifier(Modifier::BOLD)
    } else if line.starts_with("@@") {
        Style::new().fg(theme.accent)
    } else if line.starts_with('+') {
        Style::new().fg(theme.active)
    } else if line.starts_with('-') {
        Style::new().fg(theme.error)
    } else if line.starts_with('…') {
        Style::new().fg(theme.asking).add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(theme.text)
    };
    // Tabs would leave ratatui's idea of the column behind the terminal's.
    if line.contains('\t') {
        return Line::from(Span::styled(line.replace('\t', "    "), style));
    }
    Line::from(Span::styled(line, style))
}
