//! The dashboard: sessions list, workers table, live preview, status bar.

use super::canvas::Canvas;
use super::terminal::TerminalView;
use super::{activity_word, age, badge, count, pad, status};
use crate::state::layout::{DashboardLayout, SESSION_ROWS, list_offset};
use crate::state::sessions::failed;
use crate::state::term::WorkerLink;
use crate::state::{Focus, State};
use crate::theme::Theme;
use controlroom_protocol::{Session, Worker, WorkerState};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};

/// Draws the dashboard into `area`.
pub fn draw(frame: &mut Canvas<'_>, area: Rect, state: &State, theme: &Theme) {
    let session = state.session();
    let layout = DashboardLayout::new(area, session.map_or(0, |s| s.workers.len()));
    sessions(frame, &layout, state, theme);
    workers(frame, &layout, session, state, theme);
    preview(frame, &layout, state, theme);
    status::draw(frame, layout.status, state, theme);
}

fn pane<'a>(title: Line<'a>, focused: bool, theme: &Theme) -> Block<'a> {
    let border = if focused { theme.accent } else { theme.border };
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(border))
        .title(title)
        .style(Style::new().fg(theme.text).bg(theme.background))
}

fn sessions(frame: &mut Canvas<'_>, layout: &DashboardLayout, state: &State, theme: &Theme) {
    let visible = state.store.visible(&state.filter);
    let mut title = vec![Span::styled(" Sessions ", Style::new().fg(theme.accent).bold())];
    title.push(Span::styled(format!("{} ", visible.len()), Style::new().fg(theme.muted)));
    if !state.filter.is_empty() {
        title.push(Span::styled(format!("/{} ", state.filter), Style::new().fg(theme.asking)));
    }
    let block = pane(Line::from(title), state.focus == Focus::Sessions, theme);
    let inner = layout.sessions_inner();
    frame.render_widget(block, layout.sessions);
    if visible.is_empty() {
        let hint = if state.store.all().is_empty() && state.settings.read_only {
            vec![Line::from(Span::styled("No sessions yet.", Style::new().fg(theme.muted)))]
        } else if state.store.all().is_empty() {
            vec![
                Line::from(Span::styled("No sessions yet.", Style::new().fg(theme.muted))),
                Line::from(vec![
                    Span::styled("Press ", Style::new().fg(theme.muted)),
                    Span::styled("n", Style::new().fg(theme.accent).bold()),
                    Span::styled(" to start one.", Style::new().fg(theme.muted)),
                ]),
            ]
        } else {
            vec![Line::from(Span::styled("Nothing matches the filter.", Style::new().fg(theme.muted)))]
        };
        frame.render_widget(Paragraph::new(hint), inner);
        return;
    }
    // Session sources' health sits at the bottom of the pane, one line each.
    let health = source_lines(state, theme);
    let footer = u16::try_from(health.len()).unwrap_or(0).min(inner.height / 2);
    let inner = Rect { height: inner.height - footer, ..inner };
    if footer > 0 {
        let area = Rect { y: inner.y + inner.height, height: footer, ..inner };
        frame.render_widget(Paragraph::new(health), area);
    }
    let selected = state.selected_session.as_ref().and_then(|id| visible.iter().position(|s| &s.id == id));
    let per = usize::from(SESSION_ROWS);
    let first = list_offset(selected.unwrap_or(0), usize::from(inner.height) / per);
    let mut y = inner.y;
    for (i, s) in visible.iter().enumerate().skip(first) {
        if y + SESSION_ROWS > inner.y + inner.height {
            break;
        }
        let rect = Rect::new(inner.x, y, inner.width, SESSION_ROWS);
        session_item(frame, rect, s, Some(i) == selected, state, theme);
        y += SESSION_ROWS;
    }
}

fn session_item(
    frame: &mut Canvas<'_>,
    rect: Rect,
    s: &Session,
    selected: bool,
    state: &State,
    theme: &Theme,
) {
    let bg = if selected { theme.selection } else { theme.background };
    let attention = state.store.needs_attention(s);
    let marker = match (attention, selected) {
        (true, _) => Span::styled("!", Style::new().fg(theme.asking).add_modifier(Modifier::BOLD)),
        (false, true) => Span::styled("▌", Style::new().fg(theme.accent)),
        _ => Span::raw(" "),
    };
    let mut badges: Vec<Span> = s
        .workers
        .iter()
        .map(|w| {
            let (glyph, colour) = badge(state.store.activity(&s.id, w), w, theme);
            Span::styled(glyph, Style::new().fg(colour))
        })
        .collect();
    let meta = format!(" {} {:>3}", count(s.workers.len(), "worker"), age(&s.created_at, state.now));
    let right_width = badges.len() + meta.chars().count();
    let title_width = usize::from(rect.width).saturating_sub(right_width + 2);
    let mut line1 = vec![
        marker.clone(),
        Span::styled(pad(&s.title, title_width), Style::new().fg(theme.text).add_modifier(Modifier::BOLD)),
        Span::raw(" "),
    ];
    line1.append(&mut badges);
    line1.push(Span::styled(meta, Style::new().fg(theme.muted)));
    let git = s.git.as_ref().map(|g| {
        // Counted against the base: `⎇ ↑2 ↓0 +120 −8 5 files` after the branch already shown.
        let summary = crate::state::diff::git_summary(g);
        let counts = summary.split_once(&g.branch).map_or(summary.clone(), |(_, rest)| rest.to_owned());
        if g.worktree { format!(" ⎇{counts}") } else { counts }
    });
    let room = usize::from(rect.width).saturating_sub(2);
    let place = match (&s.repository, &s.branch) {
        // The counts matter more than the repository's name when both do not fit.
        (Some(repo), Some(branch))
            if git.as_ref().is_some_and(|g| {
                short_repo(repo).chars().count() + branch.chars().count() + g.chars().count() + 3 > room
            }) =>
        {
            branch.clone()
        }
        (Some(repo), Some(branch)) => format!("{} @ {branch}", short_repo(repo)),
        (Some(repo), None) => short_repo(repo).to_owned(),
        _ => s.cwd.clone(),
    };
    let marker2 = if selected { Span::styled("▌", Style::new().fg(theme.accent)) } else { Span::raw(" ") };
    let mut line2 = vec![marker2];
    if let Some(source) = &s.source {
        // Read from a source: say where from and its status; it cannot be changed from here.
        let status = s.status.as_deref().map(|st| format!(" · {st}")).unwrap_or_default();
        line2.push(Span::styled(format!(" ⇣ {source}{status}"), Style::new().fg(theme.accent)));
        if !s.cwd.is_empty() {
            line2.push(Span::styled(format!(" · {place}"), Style::new().fg(theme.muted)));
        }
    } else {
        line2.push(Span::styled(format!(" {place}"), Style::new().fg(theme.muted)));
    }
    if let Some(counts) = git {
        line2.push(Span::styled(counts, Style::new().fg(theme.accent)));
    }
    let para = Paragraph::new(vec![Line::from(line1), Line::from(line2)]).style(Style::new().bg(bg));
    frame.render_widget(para, rect);
}

/// One line per session source: its name, health, session count and when it last worked.
fn source_lines(state: &State, theme: &Theme) -> Vec<Line<'static>> {
    state
        .store
        .sources
        .iter()
        .map(|src| {
            let last = src.last_success.as_deref().map(|t| format!("ok {} ago", age(t, state.now)));
            let mut spans = vec![Span::styled(format!(" ⇣ {} ", src.name), Style::new().fg(theme.accent))];
            if src.ok {
                spans.push(Span::styled("✓ ", Style::new().fg(theme.idle)));
                spans.push(Span::styled(
                    format!(
                        "{} sessions{}",
                        src.session_count,
                        last.map(|l| format!(" · {l}")).unwrap_or_default()
                    ),
                    Style::new().fg(theme.muted),
                ));
            } else {
                spans.push(Span::styled("✕ ", Style::new().fg(theme.error)));
                spans.push(Span::styled(
                    src.error.clone().unwrap_or_else(|| "failing".into()),
                    Style::new().fg(theme.error),
                ));
                spans.push(Span::styled(
                    format!(" · last {}", last.unwrap_or_else(|| "never worked".into())),
                    Style::new().fg(theme.muted),
                ));
            }
            Line::from(spans)
        })
        .collect()
}

/// `git@github.com:org/repo.git` → `org/repo`.
fn short_repo(repo: &str) -> &str {
    let r = repo.trim_end_matches(".git");
    let tail = r.rsplit(['/', ':']).take(2).collect::<Vec<_>>();
    match tail.as_slice() {
        [name, org] if !org.is_empty() => &r[r.len() - name.len() - org.len() - 1..],
        _ => r,
    }
}

fn workers(
    frame: &mut Canvas<'_>,
    layout: &DashboardLayout,
    session: Option<&Session>,
    state: &State,
    theme: &Theme,
) {
    let title = Line::from(Span::styled(" Workers ", Style::new().fg(theme.accent).bold()));
    frame.render_widget(pane(title, state.focus == Focus::Workers, theme), layout.workers);
    let inner = layout.workers_inner();
    let Some(session) = session else { return };
    if session.workers.is_empty() {
        let text = match &session.source {
            Some(source) => format!("Read from {source}: read-only, no workers here."),
            None if state.settings.read_only => "No workers.".into(),
            None => "No workers — press w to add one.".into(),
        };
        let hint = Line::from(Span::styled(text, Style::new().fg(theme.muted)));
        frame.render_widget(Paragraph::new(hint), inner);
        return;
    }
    let selected =
        state.selected_worker.as_ref().and_then(|id| session.workers.iter().position(|w| &w.id == id));
    let first = list_offset(selected.unwrap_or(0), usize::from(inner.height));
    let name_w = session.workers.iter().map(|w| w.name.chars().count()).max().unwrap_or(4).clamp(4, 16);
    let lines: Vec<Line> = session
        .workers
        .iter()
        .enumerate()
        .skip(first)
        .take(usize::from(inner.height))
        .map(|(i, w)| worker_line(session, w, Some(i) == selected, name_w, inner.width, state, theme))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn worker_line<'a>(
    session: &Session,
    w: &'a Worker,
    selected: bool,
    name_w: usize,
    width: u16,
    state: &State,
    theme: &Theme,
) -> Line<'a> {
    let activity = state.store.activity(&session.id, w);
    let (glyph, colour) = badge(activity, w, theme);
    let run_state = match (w.state, w.exit_code, &w.signal) {
        (WorkerState::Running, _, _) => "running".to_owned(),
        (WorkerState::Exited, Some(c), _) => format!("exit {c}"),
        (WorkerState::Exited, None, Some(s)) if s == controlroom_protocol::GATEWAY_STOPPED => {
            "stopped".into()
        }
        (WorkerState::Exited, None, Some(s)) => s.clone(),
        (WorkerState::Exited, None, None) => "exited".into(),
    };
    let kind = format!("{:?}", w.kind).to_lowercase();
    let fixed = 2 + name_w + 1 + 6 + 1 + 8 + 1 + 7;
    let cmd_w = usize::from(width).saturating_sub(fixed);
    let state_colour = if failed(w) {
        theme.error
    } else if w.state == WorkerState::Exited {
        theme.exited
    } else {
        theme.text
    };
    let mut spans = vec![
        Span::styled(format!("{glyph} "), Style::new().fg(colour)),
        Span::styled(pad(&w.name, name_w), Style::new().fg(theme.text).bold()),
        Span::styled(format!(" {kind:<6} "), Style::new().fg(theme.muted)),
        Span::styled(format!("{run_state:<8} "), Style::new().fg(state_colour)),
        Span::styled(format!("{:<7}", activity_word(activity)), Style::new().fg(colour)),
    ];
    match (&w.prompt, &w.notification) {
        // The question it asks, the keys that answer it and any auto-answer countdown.
        (Some(prompt), _) if activity == controlroom_protocol::ActivityState::Asking => {
            spans.extend(super::reply::prompt_spans(prompt, cmd_w, state.now, theme));
        }
        // What the program said it needs takes the command's place while it asks.
        (_, Some(text)) => {
            spans.push(Span::styled(pad(&format!(" “{text}”"), cmd_w), Style::new().fg(theme.asking)))
        }
        _ => spans.push(Span::styled(
            pad(&format!(" {}", w.command.join(" ")), cmd_w),
            Style::new().fg(theme.muted),
        )),
    }
    let line = Line::from(spans);
    if selected && state.focus == Focus::Workers {
        line.style(Style::new().bg(theme.selection))
    } else {
        line
    }
}

fn preview(frame: &mut Canvas<'_>, layout: &DashboardLayout, state: &State, theme: &Theme) {
    let worker = state.worker();
    let mut title = vec![Span::styled(" Preview ", Style::new().fg(theme.accent).bold())];
    if let (Some(w), Some(term)) = (worker, &state.term) {
        let (rows, cols) = term.parser.term().size();
        title.push(Span::styled(format!("{} {cols}×{rows} ", w.name), Style::new().fg(theme.muted)));
    }
    frame.render_widget(pane(Line::from(title), false, theme), layout.preview);
    let inner = layout.preview_inner();
    let muted = |t: &str| Paragraph::new(Span::styled(t.to_owned(), Style::new().fg(theme.muted)));
    match (&state.term, worker) {
        (Some(term), Some(_)) => match &term.link {
            WorkerLink::Connecting => frame.render_widget(muted("connecting…"), inner),
            WorkerLink::Gone(reason) => frame.render_widget(muted(reason), inner),
            WorkerLink::Live | WorkerLink::Lost(_) => {
                frame.render_widget(TerminalView::new(term.parser.term()), inner);
            }
        },
        _ => frame.render_widget(muted("No worker selected."), inner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repos_are_shortened() {
        assert_eq!(short_repo("git@github.com:org/repo.git"), "org/repo");
        assert_eq!(short_repo("https://github.com/org/repo"), "org/repo");
        assert_eq!(short_repo("repo"), "repo");
    }

    #[test]
    fn pad_truncates_with_ellipsis() {
        assert_eq!(pad("abcdef", 4), "abc…");
        assert_eq!(pad("ab", 4), "ab  ");
    }
}
