//! The status bar: connection state, latency, gateway address, counts, notices and hints.

use crate::state::{Link, Mode, State};
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The connection state in words, with its colour.
pub fn link_label(state: &State, theme: &Theme) -> Span<'static> {
    match &state.link {
        Link::Connecting => Span::styled("◌ connecting…", Style::new().fg(theme.idle)),
        Link::Connected => Span::styled("● connected", Style::new().fg(theme.active)),
        Link::Reconnecting { reason, attempt, retry_at } => {
            let secs = retry_at.saturating_duration_since(state.instant).as_secs_f32().ceil();
            Span::styled(
                format!("↻ {reason} · reconnecting in {secs:.0}s (attempt {attempt})"),
                Style::new().fg(theme.asking),
            )
        }
        Link::AuthFailed(reason) => Span::styled(format!("✕ {reason}"), Style::new().fg(theme.error)),
    }
}

/// Draws the status line.
pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let muted = Style::new().fg(theme.muted);
    if state.mode == Mode::Filter {
        let line = Line::from(vec![
            Span::styled(" filter: ", Style::new().fg(theme.accent)),
            Span::styled(state.filter.clone(), Style::new().fg(theme.text)),
            Span::styled("   Enter keep · Esc clear", muted),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        let x = area.x + 9 + u16::try_from(state.filter.chars().count()).unwrap_or(0);
        frame.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
        return;
    }
    let mut left = vec![Span::raw(" "), link_label(state, theme)];
    // What needs the user comes first, so a narrow terminal cuts the details, not this.
    let (mut asking, mut failing) = (0usize, 0usize);
    for s in state.store.all() {
        for w in &s.workers {
            if state.store.activity(&s.id, w) == controlroom_protocol::ActivityState::Asking {
                asking += 1;
            } else if crate::state::sessions::failed(w) {
                failing += 1;
            }
        }
    }
    let bold = ratatui::style::Modifier::BOLD;
    if asking > 0 {
        left.push(Span::styled(
            format!(" · ◆ {asking} asking"),
            Style::new().fg(theme.asking).add_modifier(bold),
        ));
    }
    if failing > 0 {
        left.push(Span::styled(
            format!(" · ✕ {failing} failed"),
            Style::new().fg(theme.error).add_modifier(bold),
        ));
    }

    if let Some(rtt) = state.rtt {
        left.push(Span::styled(format!(" · {}ms", rtt.as_millis()), muted));
    }
    let addr = state.url.trim_start_matches("http://").trim_start_matches("https://");
    left.push(Span::styled(format!(" · {addr}"), muted));
    let sessions = state.store.all().len();
    let workers: usize = state.store.all().iter().map(|s| s.workers.len()).sum();
    let running = state.store.running_workers();
    left.push(Span::styled(format!(" · {sessions} sessions · {running}/{workers} workers running"), muted));

    let right = match &state.notice {
        Some(n) => Span::styled(
            format!("{} ", n.text),
            Style::new().fg(if n.error { theme.error } else { theme.accent }),
        ),
        None => Span::styled(
            format!(
                "{} help · {} new · {} quit ",
                state.settings.keys.labels(crate::keymap::Action::Help),
                state.settings.keys.labels(crate::keymap::Action::NewSession),
                state.settings.keys.labels(crate::keymap::Action::Quit)
            ),
            muted,
        ),
    };
    let right_w = u16::try_from(right.width()).unwrap_or(area.width).min(area.width);
    let left_area = Rect { width: area.width.saturating_sub(right_w + 1), ..area };
    let right_area = Rect { x: area.right().saturating_sub(right_w), width: right_w, ..area };
    frame.render_widget(Paragraph::new(Line::from(left)), left_area);
    frame.render_widget(Paragraph::new(Line::from(right)), right_area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Settings;

    #[test]
    fn an_expired_token_says_how_to_fix_it() {
        let mut st = State::new(Settings::default(), "http://127.0.0.1:1", "dark");
        st.link = Link::AuthFailed(crate::client::ws::TOKEN_EXPIRED.to_owned());
        let label = link_label(&st, &Theme::default()).content.into_owned();
        assert_eq!(label, "✕ token expired — mint a new one with `controlroom token --ttl ...`");
    }
}
