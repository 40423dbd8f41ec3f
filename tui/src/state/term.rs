//! The watched worker's terminal: the `controlroom-term` screen model (the gateway's own, with
//! `scrollback-lines` of scrollback) fed from the worker socket, with offsets
//! so output after a reconnect is neither duplicated nor lost.

use super::line_edit::LineEdit;
use super::search::{Results, Search, reveal};
use controlroom_protocol::{ExitInfo, SessionId, WorkerId};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub use super::screen::{RowsScrolled, Screen, ScreenParser};

/// Lines of scrollback the client keeps for the watched worker.
pub const SCROLLBACK_LINES: usize = 5_000;

/// How the worker socket is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerLink {
    /// Opening the socket.
    Connecting,
    /// History received; output is live.
    Live,
    /// Lost; the connection task is retrying.
    Lost(String),
    /// Closed for good (the worker or session was deleted).
    Gone(String),
}

/// One worker's screen as this client sees it.
pub struct TermView {
    /// The worker's session.
    pub session: SessionId,
    /// The worker.
    pub worker: WorkerId,
    /// The screen model.
    pub parser: ScreenParser,
    /// Stream offset of the next byte not yet fed (`None` until `history`).
    pub next_offset: Option<u64>,
    /// Set once the worker has exited.
    pub exit: Option<ExitInfo>,
    /// Socket state.
    pub link: WorkerLink,
    /// Scrollback lines kept.
    scrollback: usize,
    /// The scrollback search, while one is open (attached and scrolled back).
    pub search: Option<Search>,
    /// Copy mode, while it is on (attached).
    pub copy: Option<super::copy::CopyMode>,
    /// The first key of the two-key copy-mode chord was pressed; the next key decides.
    pub chord: bool,
    /// A left-button press (row and column of the worker's screen) over a program that did not
    /// ask for mouse reports: a drag from it selects in copy mode.
    pub press: Option<(u16, u16)>,
    /// A one-off message for the attach header (`copied 12 chars`), until the next key.
    pub note: Option<String>,
}

impl std::fmt::Debug for TermView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TermView")
            .field("session", &self.session)
            .field("worker", &self.worker)
            .field("next_offset", &self.next_offset)
            .field("exit", &self.exit)
            .field("link", &self.link)
            .finish_non_exhaustive()
    }
}

impl TermView {
    /// A view waiting for its socket's `history`. Its screen model never answers the
    /// program's queries (`answer_queries` is not called): the gateway is the worker's
    /// terminal and answers them once, attached or not; a second answer from here would reach
    /// the program as stray input.
    pub fn new(session: SessionId, worker: WorkerId, scrollback: usize) -> Self {
        Self {
            session,
            worker,
            parser: ScreenParser::with_scrollback(24, 80, scrollback, RowsScrolled::default()),
            next_offset: None,
            exit: None,
            link: WorkerLink::Connecting,
            scrollback,
            search: None,
            copy: None,
            chord: false,
            press: None,
            note: None,
        }
    }

    /// Keeps `lines` of scrollback from the next `history` on (a wall tile's screen becoming
    /// the attached view: its socket's next `history` brings the scrollback).
    pub fn set_scrollback(&mut self, lines: usize) {
        self.scrollback = lines;
    }

    /// Lines of scrollback this view keeps.
    pub fn scrollback_lines(&self) -> usize {
        self.scrollback
    }

    /// Whether this view shows `(session, worker)`.
    pub fn is(&self, session: &SessionId, worker: &WorkerId) -> bool {
        &self.session == session && &self.worker == worker
    }

    /// `history`: reset the screen and replay the snapshot.
    pub fn history(&mut self, data: &str, cols: u16, rows: u16, offset: u64) {
        self.parser = ScreenParser::with_scrollback(rows, cols, self.scrollback, RowsScrolled::default());
        self.parser.process(data.as_bytes());
        self.next_offset = Some(offset);
        self.exit = None;
        self.link = WorkerLink::Live;
        // A new screen model numbers its rows afresh and shows the live screen.
        self.search = None;
        self.copy = None;
    }

    /// `output` (a JSON message's data, or a binary frame's raw bytes): feed the bytes not yet
    /// applied. Returns how many bytes were fed.
    pub fn output(&mut self, bytes: &[u8], offset: u64) -> usize {
        let end = offset + bytes.len() as u64;
        let skip = match self.next_offset {
            Some(next) if end <= next => return 0,
            Some(next) if offset < next => usize::try_from(next - offset).unwrap_or(bytes.len()),
            _ => 0,
        };
        let fed = &bytes[skip.min(bytes.len())..];
        self.parser.process(fed);
        self.next_offset = Some(end);
        self.refresh_search();
        bytes.len() - skip.min(bytes.len())
    }

    /// Resizes the screen model (the attached client's size).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        if self.parser.term().size() != (rows.max(1), cols.max(1)) {
            self.parser.term_mut().resize(rows, cols);
            // A resize returns to the live screen, and growing pulls rows back out of the
            // scrollback (renumbering them): the search ends with the scrolled view, and copy
            // mode with the size its copy was taken at.
            self.search = None;
            self.copy = None;
        }
    }

    /// The program's synchronized update in progress (`CSI ? 2026 h` without the closing `l`
    /// yet), numbered so a new one is told from the last; the screen model tracks it across
    /// messages. Frames wait for it to end, up to a timeout the runtime keeps, so a redraw is
    /// never shown half done.
    pub fn synchronized_update(&self) -> Option<u64> {
        self.parser.term().synchronized_update()
    }

    /// Rows scrolled back from the live screen.
    pub fn scrolled(&self) -> usize {
        self.parser.term().scrollback()
    }

    /// Keeps an open search's matches in step with output; the alternate screen (a full-screen
    /// program started) has no scrollback to search, so it ends the search.
    fn refresh_search(&mut self) {
        let Some(search) = &mut self.search else { return };
        if self.parser.term().alternate_screen() {
            self.search = None;
        } else if let Some(results) = &mut search.results {
            results.refresh(self.parser.term());
        }
    }

    /// Scrolls back (positive) or forward (negative) by `rows`, clamped.
    pub fn scroll_by(&mut self, rows: isize) {
        let cur = self.scrolled();
        let next = cur.saturating_add_signed(rows);
        self.parser.term_mut().set_scrollback(next);
    }
}

/// The scrollback search's keys (the search itself is in `search.rs`).
impl TermView {
    /// Offers a key to the search; `true` when the search took it. While the prompt is open it
    /// takes every key; while results are shown it takes `n`, `N`, `/` and Esc; otherwise it
    /// takes only `/` in a scrolled-back view (the live view sends every key to the worker).
    pub fn search_key(&mut self, ev: &KeyEvent) -> bool {
        let plain = !ev.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SUPER);
        let Some(search) = &mut self.search else {
            if plain && ev.code == KeyCode::Char('/') && self.scrolled() > 0 {
                self.search = Some(Search { prompt: Some(LineEdit::default()), results: None });
                return true;
            }
            return false;
        };
        if let Some(prompt) = &mut search.prompt {
            match ev.code {
                KeyCode::Backspace if prompt.is_empty() => self.cancel_prompt(),
                KeyCode::Esc => self.cancel_prompt(),
                KeyCode::Enter => {
                    let query = std::mem::take(prompt);
                    if query.is_empty() {
                        self.cancel_prompt();
                    } else {
                        self.run_search(&query);
                    }
                }
                // The shared line editor; keys that do not edit do nothing while it is typed.
                _ => {
                    prompt.key(ev);
                }
            }
            return true;
        }
        match ev.code {
            KeyCode::Char('n') if plain => self.search_step(true),
            KeyCode::Char('N') if plain => self.search_step(false),
            KeyCode::Char('/') if plain => search.prompt = Some(LineEdit::default()),
            KeyCode::Esc => self.search = None,
            _ => return false,
        }
        true
    }

    /// Pasted text while the prompt is open joins the query (its first line); `false` when no
    /// prompt is open.
    pub fn search_paste(&mut self, text: &str) -> bool {
        let Some(prompt) = self.search.as_mut().and_then(|s| s.prompt.as_mut()) else { return false };
        prompt.insert_str(text.lines().next().unwrap_or(""));
        true
    }

    /// After the user scrolled: reaching the live view ends a search whose prompt is not open
    /// (as leaving tmux's copy mode does), so keys go to the worker again.
    pub fn search_after_scroll(&mut self) {
        if self.scrolled() == 0 && self.search.as_ref().is_some_and(|s| s.prompt.is_none()) {
            self.search = None;
        }
    }

    /// Closes the prompt: back to the last results, or no search at all.
    fn cancel_prompt(&mut self) {
        let Some(search) = &mut self.search else { return };
        search.prompt = None;
        if search.results.is_none() {
            self.search = None;
        }
    }

    fn run_search(&mut self, query: &str) {
        let mut results = Results::run(query, self.parser.term());
        if let Some(m) = results.start(self.parser.term()) {
            reveal(self.parser.term_mut(), m.line);
        }
        self.search = Some(Search { prompt: None, results: Some(results) });
    }

    fn search_step(&mut self, older: bool) {
        let Some(results) = self.search.as_mut().and_then(|s| s.results.as_mut()) else { return };
        if let Some(m) = results.step(older) {
            reveal(self.parser.term_mut(), m.line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synchronized_updates_open_and_close_across_messages() {
        let mut t = TermView::new(SessionId::new("s"), WorkerId::new("w"), SCROLLBACK_LINES);
        t.history("$ ", 80, 24, 0);
        assert_eq!(t.synchronized_update(), None);
        t.output(b"\x1b[?2026h\x1b[Hhalf", 2);
        let first = t.synchronized_update();
        assert!(first.is_some(), "an update began");
        t.output(b"more", 15);
        assert_eq!(t.synchronized_update(), first, "still inside it");
        t.output(b"done\x1b[?2026l\x1b[?2026h", 19);
        let second = t.synchronized_update();
        assert!(second.is_some() && second != first, "a new update is told apart from the last");
        t.output(b"\x1b[?2026l", 39);
        assert_eq!(t.synchronized_update(), None, "the end marker closes it");
    }

    #[test]
    fn a_synchronized_update_marker_split_across_messages_counts() {
        let mut t = view();
        t.history("$ ", 80, 24, 0);
        t.output(b"\x1b[?20", 2);
        assert_eq!(t.synchronized_update(), None);
        t.output(b"26hframe", 7);
        assert!(t.synchronized_update().is_some(), "a split begin starts the hold");
        t.output(b"\x1b[?20", 15);
        t.output(b"26l", 20);
        assert_eq!(t.synchronized_update(), None, "a split end releases it at once");
    }

    fn view() -> TermView {
        TermView::new(SessionId::new("s"), WorkerId::new("w"), SCROLLBACK_LINES)
    }

    #[test]
    fn the_front_end_never_answers_the_programs_queries() {
        let mut t = view();
        t.history("\x1b[6n\x1b[c", 80, 24, 0);
        t.output(b"\x1b[6n\x1b[>c\x1b]11;?\x07\x1b[18t", 0);
        assert_eq!(t.parser.take_replies(), None, "the gateway answers; the front end must not");
    }

    #[test]
    fn output_already_applied_is_skipped() {
        let mut t = view();
        t.history("hello ", 80, 24, 6);
        assert_eq!(t.output(b"world", 6), 5);
        assert_eq!(t.output(b"world", 6), 0, "same offset again is a duplicate");
        assert_eq!(t.output(b"ld!", 9), 1, "overlap feeds only the new byte");
        assert!(t.parser.term().contents().starts_with("hello world!"));
        assert_eq!(t.next_offset, Some(12));
    }

    #[test]
    fn history_resets_the_screen() {
        let mut t = view();
        t.history("old", 80, 24, 3);
        t.history("new", 100, 30, 50);
        assert_eq!(t.parser.term().contents(), "new");
        assert_eq!(t.parser.term().size().1, 100);
        assert_eq!(t.next_offset, Some(50));
    }

    #[test]
    fn scrolling_is_clamped() {
        let mut t = view();
        t.history(&"line\r\n".repeat(40), 80, 24, 0);
        t.scroll_by(100);
        assert_eq!(t.scrolled(), t.parser.term().scrollback_len().min(SCROLLBACK_LINES));
        t.scroll_by(-1000);
        assert_eq!(t.scrolled(), 0);
    }

    fn numbered(from: usize, to: usize) -> String {
        (from..to).map(|i| format!("line {i}\r\n")).collect()
    }

    /// vt100 0.18 as this view used it, fed the same bytes.
    fn vt100_with(scrollback: usize, rows: u16, cols: u16, data: &str) -> vt100::Parser {
        let nz = |n| std::num::NonZeroU16::new(n).expect("non-zero");
        let mut p = vt100::Parser::new(nz(rows), nz(cols), scrollback);
        p.process(data.as_bytes());
        p
    }

    #[test]
    fn scrolling_back_walks_the_history_as_vt100_did() {
        let mut t = view();
        let (history, live) = (numbered(0, 30), numbered(30, 45));
        t.history(&history, 40, 10, 0);
        t.output(live.as_bytes(), history.len() as u64);
        let mut theirs = vt100_with(SCROLLBACK_LINES, 10, 40, &(history + &live));
        for (step, expect) in [(3, 3), (10, 13), (-5, 8), (100, 36), (-1000, 0)] {
            t.scroll_by(step);
            theirs.screen_mut().set_scrollback(t.scrolled());
            assert_eq!(t.scrolled(), expect, "after scrolling {step}");
            assert_eq!(t.parser.term().contents(), theirs.screen().contents(), "at {expect} back");
        }
        t.scroll_by(36);
        assert_eq!(t.parser.term().contents().lines().next(), Some("line 0"), "the oldest line");
    }

    #[test]
    fn the_scrollback_lines_setting_caps_the_history() {
        let mut t = TermView::new(SessionId::new("s"), WorkerId::new("w"), 7);
        let data = numbered(0, 100);
        t.history(&data, 20, 5, 0);
        t.scroll_by(1000);
        assert_eq!(t.scrolled(), 7, "only the last 7 scrolled-off lines are kept");
        let theirs = {
            let mut p = vt100_with(7, 5, 20, &data);
            p.screen_mut().set_scrollback(1000);
            p
        };
        assert_eq!(t.parser.term().contents(), theirs.screen().contents());
        assert_eq!(t.parser.term().contents().lines().next(), Some("line 89"));
    }

    #[test]
    fn output_while_scrolled_back_keeps_the_view_and_a_resize_returns_to_live() {
        let mut t = view();
        let first = numbered(0, 30);
        t.history(&first, 40, 10, 0);
        t.scroll_by(5);
        let shown = t.parser.term().contents();
        t.output(numbered(30, 33).as_bytes(), first.len() as u64);
        assert_eq!(t.scrolled(), 8, "the offset follows new output");
        assert_eq!(t.parser.term().contents(), shown, "the same lines stay in view");
        t.resize(40, 12);
        assert_eq!(t.scrolled(), 0, "a resize shows the live screen");
    }
}
