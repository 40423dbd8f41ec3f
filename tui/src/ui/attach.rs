//! The attach view: a header line and the worker's screen filling the rest.

use super::canvas::{Canvas, Kept};
use super::copy;
use super::layout::centered;
use super::search;
use super::status::link_label;
use super::terminal::{TerminalView, cursor};
use crate::keymap::chord_label;
use crate::state::term::{Screen, TermView, WorkerLink};
use crate::state::{Mode, State};
use crate::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

/// The attached worker's live screen where the attach view draws it, in a frame that draws
/// nothing else over it, and the header line above it.
#[derive(Debug, Clone)]
pub struct LiveScreen<'a> {
    /// The area under the header the screen is drawn in.
    pub body: Rect,
    /// The screen model drawn there.
    pub screen: &'a Screen,
    /// The header's row.
    pub header_row: u16,
    /// What the header shows: the row is drawn from it alone.
    pub header: Header<'a>,
}

/// The attach header as drawn: its two sides and its background. Drawing it depends on nothing
/// else (and its row), so a header equal to the last frame's may be kept as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Header<'a> {
    left: Line<'a>,
    right: Line<'a>,
    style: Style,
    /// Where the cursor of a prompt typed in the right side goes (columns into it).
    prompt_cursor: Option<u16>,
}

impl Header<'_> {
    /// A copy that borrows nothing (the painter keeps the last frame's).
    pub fn to_owned_header(&self) -> Header<'static> {
        let owned = |line: &Line<'_>| Line {
            spans: line.spans.iter().map(|s| Span::styled(s.content.clone().into_owned(), s.style)).collect(),
            style: line.style,
            alignment: line.alignment,
        };
        Header {
            left: owned(&self.left),
            right: owned(&self.right),
            style: self.style,
            prompt_cursor: self.prompt_cursor,
        }
    }
}

/// The live screen of the attach view `draw` draws for `state` in `area`, when nothing is
/// drawn over its body: not in copy mode (a frozen copy instead), no search (its matches are
/// painted over the rows) and no exit banner. Only in such frames may the painter keep the
/// body's rows whose screen rows did not change, so anything `draw` ever puts over the body
/// must make this `None` (the painter's tests compare kept frames with whole ones). Its header
/// is the one `draw` draws.
pub fn live_screen<'a>(state: &'a State, area: Rect, theme: &Theme) -> Option<LiveScreen<'a>> {
    if state.mode != Mode::Attach {
        return None;
    }
    let term = state.term.as_ref()?;
    if term.copy.is_some() || term.search.is_some() || term.exit.is_some() {
        return None;
    }
    let [header, body] = areas(area);
    Some(LiveScreen {
        body,
        screen: term.parser.term(),
        header_row: header.y,
        header: header_line(state, term, theme),
    })
}

/// The header line and the body under it.
fn areas(area: Rect) -> [Rect; 2] {
    if area.height >= 2 {
        // What the layout below gives, without its solver and cache on every frame.
        let header = Rect { height: 1, ..area };
        return [header, Rect { y: area.y + 1, height: area.height - 1, ..area }];
    }
    Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area)
}

/// Draws the attached worker.
pub fn draw(frame: &mut Canvas<'_>, area: Rect, state: &State, theme: &Theme) {
    let Some(term) = &state.term else { return };
    draw_with(frame, area, state, term, header_line(state, term, theme), theme);
}

/// Draws the attached worker's live screen `live` (built for this frame by [`live_screen`]), with
/// the header built there rather than a second one.
pub fn draw_live(frame: &mut Canvas<'_>, area: Rect, state: &State, live: LiveScreen<'_>, theme: &Theme) {
    let Some(term) = &state.term else { return };
    draw_with(frame, area, state, term, live.header, theme);
}

/// Draws the attached worker with `head`, its header ([`header_line`]).
fn draw_with(
    frame: &mut Canvas<'_>,
    area: Rect,
    state: &State,
    term: &TermView,
    head: Header<'_>,
    theme: &Theme,
) {
    let [header, body] = areas(area);
    let prompt_cursor = head.prompt_cursor;
    let rw = u16::try_from(head.right.width()).unwrap_or(0).min(header.width);
    let right_area = Rect { x: header.right() - rw, width: rw, ..header };
    // A kept header row shows this very header already (`live_screen`).
    let kept = header.y.checked_sub(frame.area().y).and_then(|y| frame.kept().get(usize::from(y)));
    if kept != Some(&Kept::Whole) {
        frame.render_widget(Paragraph::new(head.left).style(head.style), header);
        frame.render_widget(Paragraph::new(head.right), right_area);
    }

    // No `Clear` over the body: every row not kept starts blank (the painter blanks it, as
    // ratatui's `Terminal` blanks its whole buffer), and clearing it again cost a fifth of an
    // echoed key's frame.
    if let Some(copy) = &term.copy {
        // The frozen copy, not the live screen; the exit banner waits until copy mode ends.
        copy::draw_body(frame, body, copy, theme);
        draw_prompt_cursor(frame, header, right_area, prompt_cursor);
        return;
    }
    let screen = term.parser.term();
    // Rows the painter kept hold this screen's rows as drawn last frame (`live_screen`).
    frame.render_widget(TerminalView::new(screen).keeping(frame.kept()), body);
    search::highlight(frame.buffer_mut(), body, term, theme);
    if let Some(exit) = &term.exit {
        let text = format!("Worker {}.", exit.describe());
        let mut keys = Vec::new();
        if !state.settings.read_only {
            keys.push(Span::styled("r", Style::new().fg(theme.accent).bold()));
            keys.push(Span::styled(" restart   ", Style::new().fg(theme.muted)));
        }
        keys.push(Span::styled("Enter", Style::new().fg(theme.accent).bold()));
        keys.push(Span::styled(" back to the dashboard", Style::new().fg(theme.muted)));
        let lines = vec![Line::raw(text.clone()), Line::raw(""), Line::from(keys)];
        let colour = if exit.exit_code.is_some_and(|c| c == 0) { theme.exited } else { theme.error };
        let rect = centered(body, u16::try_from(text.chars().count().max(40) + 4).unwrap_or(60), 5);
        frame.render_widget(Clear, rect);
        let block = Block::bordered()
            .border_type(BorderType::Rounded)
            .border_style(Style::new().fg(colour))
            .style(Style::new().fg(theme.text).bg(theme.background));
        frame.render_widget(Paragraph::new(lines).block(block), rect);
    } else if let Some(pos) = cursor(screen, body) {
        frame.set_cursor_position(pos);
    }
    draw_prompt_cursor(frame, header, right_area, prompt_cursor);
}

/// The header of the attach view over `term`.
fn header_line<'a>(state: &'a State, term: &'a TermView, theme: &Theme) -> Header<'a> {
    let session = state.store.get(&term.session).map_or(term.session.as_str(), |s| s.title.as_str());
    let worker =
        state.store.worker(&term.session, &term.worker).map_or(term.worker.as_str(), |w| w.name.as_str());
    let muted = Style::new().fg(theme.muted).bg(theme.selection);
    let title = Style::new().fg(theme.text).bg(theme.selection).bold();
    // Borrowed, not formatted: the header is built for every frame.
    let mut left = vec![
        Span::styled(" ", title),
        Span::styled(session, title),
        Span::styled(" › ", muted),
        Span::styled(worker, Style::new().fg(theme.accent).bg(theme.selection).bold()),
        Span::styled("  ", muted),
    ];
    match &term.link {
        WorkerLink::Lost(reason) => {
            left.push(Span::styled(format!("⚠ {reason}"), Style::new().fg(theme.asking).bg(theme.selection)))
        }
        WorkerLink::Connecting => left.push(Span::styled("connecting…", muted)),
        _ => left.push(link_label(state, theme).patch_style(Style::new().bg(theme.selection))),
    }
    if state.settings.read_only {
        left.push(Span::styled(" · read-only", Style::new().fg(theme.asking).bg(theme.selection)));
    }
    let scrolled = term.scrolled();
    let keys = &state.settings.keys;
    // (An if-else chain, not `if let` match guards: those need a newer Rust than rust-version.)
    let (right, prompt_cursor) = if let Some(copy) = &term.copy {
        copy::header(copy, theme)
    } else if term.chord {
        // The first key of the copy-mode chord waits for its second.
        let second = keys.copy_mode.get(1).map(crate::keymap::KeySpec::label).unwrap_or_default();
        let alone = if keys.copy_mode.first() == Some(&keys.detach) { "detach" } else { "send it" };
        (
            Line::styled(
                format!("{} … {second} copy mode · else {alone} ", chord_label(&keys.copy_mode[..1])),
                muted,
            ),
            None,
        )
    } else if let Some(note) = &term.note {
        (Line::styled(format!("{note} "), Style::new().fg(theme.accent).bg(theme.selection)), None)
    } else {
        match &term.search {
            Some(search) => search::header(search, scrolled, theme),
            None if scrolled > 0 => {
                (Line::styled(format!("scrollback −{scrolled}  shift-pgdn ↓ "), muted), None)
            }
            // A problem the user must know of now (a key dropped on a read-only connection).
            None if state.notice.as_ref().is_some_and(|n| n.error) => {
                let n = state.notice.as_ref().map_or("", |n| n.text.as_str());
                (Line::styled(format!("{n} "), Style::new().fg(theme.asking).bg(theme.selection)), None)
            }
            None => (
                Line::styled(
                    format!("{} detach · {} copy ", keys.detach.label(), chord_label(&keys.copy_mode)),
                    muted,
                ),
                None,
            ),
        }
    };
    Header { left: Line::from(left), right, style: muted, prompt_cursor }
}

/// Puts the cursor in a prompt typed in the header's right side (`x` columns into it).
fn draw_prompt_cursor(frame: &mut Canvas<'_>, header: Rect, right_area: Rect, x: Option<u16>) {
    if let Some(x) = x {
        frame.set_cursor_position((
            right_area.x.saturating_add(x).min(header.right().saturating_sub(1)),
            header.y,
        ));
    }
}
