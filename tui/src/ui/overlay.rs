//! Overlays on the dashboard: help, form dialogs and confirmations.

use super::canvas::Canvas;
use super::layout::centered;
use crate::state::State;
use crate::state::dialog::{Confirm, Form, FormKind};
use crate::state::help::{HelpEntry, HelpText, HelpView};
use crate::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

fn dialog_block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(theme.accent))
        .title(Span::styled(format!(" {title} "), Style::new().fg(theme.accent).bold()))
        .style(Style::new().fg(theme.text).bg(theme.background))
}

/// The `?` overlay: every binding, then the attach keys; scrolled to `view`'s offset when the
/// screen is too short for all of it (the bottom border then says where it is).
pub fn help(frame: &mut Canvas<'_>, area: Rect, state: &State, view: HelpView, theme: &Theme) {
    let text = HelpText::new(&state.settings.keys, state.settings.read_only);
    let key_style = Style::new().fg(theme.accent).add_modifier(Modifier::BOLD);
    let heading = |text: &'static str| Line::from(Span::styled(text, Style::new().fg(theme.muted)));
    let first = key_lines(&text.dashboard, key_style);
    let mut second = vec![heading("Attached")];
    second.extend(key_lines(&text.attached, key_style));
    second.push(Line::raw(""));
    second.push(heading("Wall and mouse"));
    second.extend(key_lines(&text.wall, key_style));
    debug_assert_eq!((first.len(), second.len()), (text.first_len(), text.second_len()));
    let offset = view.offset.min(text.max_offset(area.height));
    let scroll = Scroll {
        stacked: text.stacked(area.height),
        offset,
        shown: text.visible(area.height),
        rows: text.rows(area.height),
    };
    draw_columns(frame, area, "Keys", first, second, scroll, theme);
}

/// `key  help` lines, the keys right-aligned to the longest of them.
fn key_lines(pairs: &[HelpEntry], key_style: Style) -> Vec<Line<'static>> {
    let width = pairs.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(key, help)| {
            Line::from(vec![Span::styled(format!("{key:>width$}  "), key_style), Span::raw(help.to_string())])
        })
        .collect()
}

/// How a two-column dialog is laid out, and which of its rows are on screen.
#[derive(Debug, Clone, Copy)]
struct Scroll {
    /// One column under the other (else side by side).
    stacked: bool,
    /// First row shown.
    offset: usize,
    /// Rows shown.
    shown: usize,
    /// Rows in all.
    rows: usize,
}

impl Scroll {
    /// `lines` from the offset on, at most as many as are shown.
    fn window(self, lines: Vec<Line<'static>>) -> Vec<Line<'static>> {
        lines.into_iter().skip(self.offset).take(self.shown).collect()
    }

    /// The bottom border's note when some rows are off screen: which rows show, and the keys.
    fn note(self) -> Option<String> {
        (self.shown < self.rows).then(|| {
            let last = (self.offset + self.shown).min(self.rows);
            format!(" {}–{} of {} · ↑↓ j k pgup/dn ", self.offset + 1, last, self.rows)
        })
    }
}

/// Draws `first` and then `second` in one dialog: one column under the other when the screen is
/// tall enough, else side by side (each line cut to its column when the screen is narrow too);
/// only the rows `scroll` shows, so at a small height the keys past the bottom are scrolled to.
fn draw_columns(
    frame: &mut Canvas<'_>,
    area: Rect,
    title: &str,
    first: Vec<Line<'static>>,
    second: Vec<Line<'static>>,
    scroll: Scroll,
    theme: &Theme,
) {
    let widest =
        |lines: &[Line]| u16::try_from(lines.iter().map(Line::width).max().unwrap_or(0)).unwrap_or(u16::MAX);
    let (w1, w2) = (widest(&first), widest(&second));
    let mut block = dialog_block(title, theme);
    if let Some(note) = scroll.note() {
        block = block.title_bottom(Span::styled(note, Style::new().fg(theme.muted)));
    }
    let height = u16::try_from(scroll.shown).unwrap_or(u16::MAX).saturating_add(2);
    if scroll.stacked {
        let mut lines = first;
        lines.push(Line::raw(""));
        lines.extend(second);
        let rect = centered(area, w1.max(w2) + 2, height);
        frame.render_widget(Clear, rect);
        frame.render_widget(Paragraph::new(scroll.window(lines)).block(block), rect);
        return;
    }
    let rect = centered(area, w1 + w2 + 5, height);
    frame.render_widget(Clear, rect);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let left_w = w1.min(inner.width);
    let left = Rect { width: left_w, ..inner };
    let gap = 3.min(inner.width - left_w);
    let right = Rect { x: inner.x + left_w + gap, width: inner.width - left_w - gap, ..inner };
    frame.render_widget(Paragraph::new(scroll.window(first)), left);
    frame.render_widget(Paragraph::new(scroll.window(second)), right);
}

/// A form dialog with its fields; the cursor sits in the focused field where it edits.
pub fn form(frame: &mut Canvas<'_>, area: Rect, form: &Form, theme: &Theme) {
    let height = u16::try_from(form.fields.len()).unwrap_or(3) * 2 + 3;
    let rect = centered(area, 64, height);
    frame.render_widget(Clear, rect);
    let label_w = form.fields.iter().map(|f| f.label.len()).max().unwrap_or(5) + 2;
    let mut lines = Vec::new();
    let mut cursor = None;
    for (i, field) in form.fields.iter().enumerate() {
        let focused = i == form.focus;
        let label_style =
            if focused { Style::new().fg(theme.accent).bold() } else { Style::new().fg(theme.muted) };
        let value = if field.value.is_empty() {
            Span::styled(
                field.placeholder.clone(),
                Style::new().fg(theme.muted).add_modifier(Modifier::ITALIC),
            )
        } else if !field.options.is_empty() {
            // A choice: ‹ value › while focused says ←/→ change it.
            let text = if focused { format!("‹ {} ›", field.value) } else { field.value.to_string() };
            Span::styled(text, Style::new().fg(theme.text))
        } else {
            Span::styled(field.value.to_string(), Style::new().fg(theme.text))
        };
        if focused && field.options.is_empty() {
            let before: String = field.value.chars().take(field.value.cursor_chars()).collect();
            let x = rect.x + 1 + u16::try_from(label_w + Span::raw(before).width()).unwrap_or(0);
            let y = rect.y + 1 + u16::try_from(lines.len()).unwrap_or(0);
            cursor = Some((x.min(rect.right().saturating_sub(2)), y));
        }
        lines.push(Line::from(vec![Span::styled(format!("{:<label_w$}", field.label), label_style), value]));
        lines.push(Line::raw(""));
    }
    let submit = match form.kind {
        FormKind::Rename { .. } | FormKind::RenameWorker { .. } => "rename",
        _ => "create",
    };
    let choose = if form.fields.iter().any(|f| !f.options.is_empty()) { " · ←/→ choose" } else { "" };
    let tab = if form.fields.iter().any(|f| f.label == crate::state::dialog::DIRECTORY) {
        "Tab completes/next"
    } else {
        "Tab next field"
    };
    lines.push(Line::from(Span::styled(
        format!("Enter {submit} · {tab}{choose} · Esc cancel"),
        Style::new().fg(theme.muted),
    )));
    frame.render_widget(Paragraph::new(lines).block(dialog_block(form.title(), theme)), rect);
    if let Some(pos) = cursor {
        frame.set_cursor_position(pos);
    }
}

/// A yes/no question.
pub fn confirm(frame: &mut Canvas<'_>, area: Rect, confirm: &Confirm, theme: &Theme) {
    let question = confirm.question();
    let mut lines: Vec<Line> = question.lines().map(|l| Line::raw(l.to_owned())).collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("y", Style::new().fg(theme.error).bold()),
        Span::styled(" yes   ", Style::new().fg(theme.muted)),
        Span::styled("n", Style::new().fg(theme.accent).bold()),
        Span::styled(" no", Style::new().fg(theme.muted)),
    ]));
    let width = question.lines().map(|l| l.chars().count()).max().unwrap_or(20).clamp(30, 70) + 4;
    let rect =
        centered(area, u16::try_from(width).unwrap_or(70), u16::try_from(lines.len()).unwrap_or(4) + 2);
    frame.render_widget(Clear, rect);
    let para = Paragraph::new(lines).wrap(Wrap { trim: false }).block(dialog_block("Confirm", theme));
    frame.render_widget(para, rect);
}
