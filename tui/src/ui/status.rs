//! The status bar: connection state, latency, gateway address, counts, notices and hints.

use super::canvas::Canvas;
use crate::state::{Link, Mode, State};
use crate::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
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

/// `text` cut to `max` characters, with an ellipsis when cut.
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Counts kept from before the connection was lost.
fn stale(theme: &Theme) -> Style {
    Style::new().fg(theme.muted).add_modifier(Modifier::ITALIC)
}

/// Draws the status line.
pub fn draw(frame: &mut Canvas<'_>, area: Rect, state: &State, theme: &Theme) {
    let muted = Style::new().fg(theme.muted);
    if state.mode == Mode::Filter {
        let line = Line::from(vec![
            Span::styled(" filter: ", Style::new().fg(theme.accent)),
            Span::styled(state.filter.to_string(), Style::new().fg(theme.text)),
            Span::styled("   Enter keep · Esc clear", muted),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        let before: String = state.filter.chars().take(state.filter.cursor_chars()).collect();
        let x = area.x + 9 + u16::try_from(Span::raw(before).width()).unwrap_or(0);
        frame.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
        return;
    }
    let mut left = vec![Span::raw(" "), link_label(state, theme)];
    if state.settings.read_only {
        left.push(Span::styled(" · read-only", Style::new().fg(theme.asking)));
    }
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
    // While disconnected every count is from before the loss: drawn muted, marked stale.
    let live = state.link == Link::Connected;
    let loud = |colour| {
        if live { Style::new().fg(colour).add_modifier(Modifier::BOLD) } else { stale(theme) }
    };
    if asking > 0 {
        left.push(Span::styled(format!(" · ◆ {asking} asking"), loud(theme.asking)));
    }
    // The first notification's words: what is waiting, without opening `explain`.
    let notified =
        state.store.all().iter().flat_map(|s| &s.workers).find_map(|w| {
            w.notification.as_ref().map(|text| format!(" · {}: “{}”", w.name, short(text, 40)))
        });
    if let Some(text) = notified {
        left.push(Span::styled(text, loud(theme.asking).remove_modifier(Modifier::BOLD)));
    }
    if failing > 0 {
        left.push(Span::styled(format!(" · ✕ {failing} failed"), loud(theme.error)));
    }

    if let Some(rtt) = state.rtt {
        left.push(Span::styled(format!(" · {}ms", rtt.as_millis()), muted));
    }
    let addr = state.url.trim_start_matches("http://").trim_start_matches("https://");
    left.push(Span::styled(format!(" · {addr}"), muted));
    let sessions = state.store.all().len();
    let workers: usize = state.store.all().iter().map(|s| s.workers.len()).sum();
    let running = state.store.running_workers();
    let counts = format!(
        " · {} · {running}/{} running",
        super::count(sessions, "session"),
        super::count(workers, "worker")
    );
    if live {
        left.push(Span::styled(counts, muted));
    } else {
        left.push(Span::styled(format!("{counts} (stale)"), stale(theme)));
    }

    let right = match &state.notice {
        Some(n) => Span::styled(
            format!("{} ", n.text),
            Style::new().fg(if n.error { theme.error } else { theme.accent }),
        ),
        None => {
            let keys = &state.settings.keys;
            let new = if state.settings.read_only {
                String::new()
            } else {
                format!("{} new · ", keys.labels(crate::keymap::Action::NewSession))
            };
            Span::styled(
                format!(
                    "{} help · {new}{} quit ",
                    keys.labels(crate::keymap::Action::Help),
                    keys.labels(crate::keymap::Action::Quit)
                ),
                muted,
            )
        }
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
