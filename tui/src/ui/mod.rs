//! Drawing: a pure function of the state and the theme.

mod attach;
pub mod canvas;
mod cells;
mod copy;
mod dashboard;
mod diff;
pub mod layout;
mod overlay;
mod reply;
mod search;
pub(crate) mod status;
pub mod terminal;
mod wall;

use crate::state::sessions::{exited_ok, failed};
use crate::state::{Mode, State};
use crate::theme::Theme;
use canvas::Canvas;
use controlroom_protocol::{ActivityState, Worker};
use ratatui::Frame;
use ratatui::style::{Color, Style};

pub use attach::{Header, LiveScreen, live_screen};

/// Draws the whole screen for `state` into a ratatui frame (tests, examples): [`draw_on`] on
/// the frame's blank buffer, the cursor passed on.
pub fn draw(frame: &mut Frame<'_>, state: &State, theme: &Theme) {
    let mut canvas = Canvas::new(frame.buffer_mut());
    draw_on(&mut canvas, state, theme);
    if let Some(cursor) = canvas.cursor() {
        frame.set_cursor_position(cursor);
    }
}

/// Draws the whole screen for `state` on `frame`, a blank buffer but for the rows it says were
/// kept from the last frame.
pub fn draw_on(frame: &mut Canvas<'_>, state: &State, theme: &Theme) {
    let area = frame.area();
    if state.mode == Mode::Attach {
        attach::draw(frame, area, state, theme);
        return;
    }
    // The background of every cell, a row at a time (the wall draws twelve screens over it).
    cells::fill(frame.buffer_mut(), area, base(theme));
    if state.wall.open {
        // The wall is the screen under the help and any dialog while it is open.
        wall::draw(frame, area, state, theme);
    } else {
        dashboard::draw(frame, area, state, theme);
    }
    match &state.mode {
        Mode::Help(view) => overlay::help(frame, area, state, *view, theme),
        Mode::Form(form) => overlay::form(frame, area, form, theme),
        Mode::Confirm(confirm) => overlay::confirm(frame, area, confirm, theme),
        Mode::Reply(line) => reply::draw(frame, area, line, theme),
        Mode::Diff(view) => diff::draw(frame, area, view, theme),
        Mode::Dashboard | Mode::Filter | Mode::Attach | Mode::Wall => {}
    }
}

/// Draws the frame of `live`, the attach view's live screen [`live_screen`] found for this
/// state: the same as [`draw_on`], without building the header a second time.
pub fn draw_live_on(frame: &mut Canvas<'_>, state: &State, live: LiveScreen<'_>, theme: &Theme) {
    let area = frame.area();
    attach::draw_live(frame, area, state, live, theme);
}

/// Text on the theme's background.
fn base(theme: &Theme) -> Style {
    Style::new().fg(theme.text).bg(theme.background)
}

/// The glyph and colour of a worker's activity badge (distinct glyphs so colour is not the only
/// cue). ✓ is kept for a worker that exited 0 on its own: one the gateway or the user stopped
/// shows ■, one that failed ✕.
fn badge(state: ActivityState, worker: &Worker, theme: &Theme) -> (&'static str, Color) {
    match state {
        ActivityState::Active => ("●", theme.active),
        ActivityState::Idle => ("○", theme.idle),
        ActivityState::Asking => ("◆", theme.asking),
        ActivityState::Exited if failed(worker) => ("✕", theme.error),
        ActivityState::Exited if exited_ok(worker) => ("✓", theme.exited),
        ActivityState::Exited => ("■", theme.muted),
        ActivityState::Unknown => ("·", theme.muted),
    }
}

/// Short word for an activity state.
fn activity_word(state: ActivityState) -> &'static str {
    match state {
        ActivityState::Active => "active",
        ActivityState::Idle => "idle",
        ActivityState::Asking => "asking",
        ActivityState::Exited => "exited",
        ActivityState::Unknown => "—",
    }
}

/// `1 worker`, `2 workers`: a count with its noun, never an abbreviation that reads as a unit.
fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// How long ago an ISO-8601 time was, compactly (`42s`, `5m`, `3h`, `2d`).
fn age(then: &str, now: jiff::Timestamp) -> String {
    let Ok(then) = then.parse::<jiff::Timestamp>() else { return String::new() };
    let secs = now.as_second().saturating_sub(then.as_second()).max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    }
}

/// Truncates with an ellipsis or pads with spaces to exactly `width` characters.
fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n > width {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        if width > 0 {
            t.push('…');
        }
        t
    } else {
        format!("{s}{}", " ".repeat(width - n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_compact() {
        let now: jiff::Timestamp = "2026-11-21T12:00:00Z".parse().expect("valid");
        assert_eq!(age("2026-11-21T11:59:18Z", now), "42s");
        assert_eq!(age("2026-11-21T11:00:00Z", now), "1h");
        assert_eq!(age("2026-11-19T12:00:00Z", now), "2d");
        assert_eq!(age("garbage", now), "");
    }
}
