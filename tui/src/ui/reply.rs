//! Answering without attaching, drawn: the reply line (`i`) at the bottom of the dashboard, and
//! the question an asking worker's row shows in place of its command, with the keys its prompt
//! takes and the auto-answer countdown.

use super::canvas::Canvas;
use super::pad;
use crate::state::reply::{ReplyLine, auto_answer_left};
use crate::theme::Theme;
use controlroom_protocol::WorkerPrompt;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

/// The reply line: a box over the bottom of the dashboard, above the status bar, with the
/// question the worker asks (if any) and the line being typed.
pub fn draw(frame: &mut Canvas<'_>, area: Rect, line: &ReplyLine, theme: &Theme) {
    let height = if line.question.is_some() { 4 } else { 3 };
    if area.height < height + 1 || area.width < 12 {
        return;
    }
    let rect = Rect { x: area.x, y: area.bottom() - 1 - height, width: area.width, height };
    frame.render_widget(Clear, rect);
    let key = Style::new().fg(theme.accent).add_modifier(Modifier::BOLD);
    let muted = Style::new().fg(theme.muted);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(theme.accent))
        .title(Span::styled(format!(" Reply to {} ", line.name), key))
        .title_bottom(Line::from(vec![
            Span::styled(" Enter", key),
            Span::styled(" sends the line and ⏎ (empty: ⏎ alone) · ", muted),
            Span::styled("Esc", key),
            Span::styled(" cancels ", muted),
        ]))
        .style(Style::new().fg(theme.text).bg(theme.background));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut lines = Vec::new();
    if let Some(q) = &line.question {
        lines.push(Line::from(vec![
            Span::styled("asks ", muted),
            Span::styled(q.clone(), Style::new().fg(theme.asking)),
        ]));
    }
    lines.push(Line::from(vec![Span::styled("› ", key), Span::raw(line.edit.as_str().to_owned())]));
    frame.render_widget(Paragraph::new(lines), inner);
    let cursor_y = inner.y + u16::from(line.question.is_some());
    let cursor_x = inner.x + 2 + u16::try_from(line.edit.cursor_chars()).unwrap_or(u16::MAX);
    if cursor_x < inner.right() {
        frame.set_cursor_position(Position::new(cursor_x, cursor_y));
    }
}

/// The row text of a worker asking with `prompt`, exactly `width` characters: the question,
/// then the keys it takes and the auto-answer (kept whole; the question is cut to fit).
pub fn prompt_spans(
    prompt: &WorkerPrompt,
    width: usize,
    now: jiff::Timestamp,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let mut tail = String::new();
    if !prompt.answers.is_empty() {
        tail.push_str(&format!(" {}", prompt.answers.join("/")));
    }
    if let Some(a) = &prompt.auto_answer {
        match auto_answer_left(prompt, now) {
            Some(secs) => tail.push_str(&format!(" · auto-answer {} in {secs}s", a.answer)),
            None if a.off => tail.push_str(" · auto-answer off"),
            None => tail.push_str(" · auto-answer cancelled"),
        }
    }
    let tail_w = tail.chars().count().min(width);
    let question = format!(" “{}”", prompt.question);
    let question_w = question.chars().count().min(width - tail_w);
    let question = pad(&question, question_w);
    let tail = pad(&tail, tail_w);
    vec![
        Span::styled(question, Style::new().fg(theme.asking)),
        Span::styled(tail, Style::new().fg(theme.accent).add_modifier(Modifier::BOLD)),
        Span::raw(" ".repeat(width - question_w - tail_w)),
    ]
}
