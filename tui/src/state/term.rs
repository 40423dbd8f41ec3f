//! The watched worker's terminal: the `controlroom-term` screen model (the gateway's own, with
//! `scrollback-lines` of scrollback) fed from the worker socket, with offsets
//! so output after a reconnect is neither duplicated nor lost.

use controlroom_protocol::{SessionId, WorkerId};

/// The screen a front end reads: everything it needs is in the model, and its sink counts the
/// rows that scrolled off (the search numbers lines by it).
pub type Screen = controlroom_term::Term<RowsScrolled>;

/// The screen model with its parser state.
pub type ScreenParser = controlroom_term::Parser<RowsScrolled>;

/// Counts main-screen rows that left the top since the screen model was made: with the
/// scrollback's length it gives every row a number that stays put while output scrolls it
/// (scrollback row `i` is line `count - len + i`, screen row `r` is line `count + r`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowsScrolled(pub u64);

impl controlroom_term::TermSink for RowsScrolled {
    #[inline]
    fn on_scroll(&mut self, _row: &controlroom_term::Row) {
        self.0 += 1;
    }
}

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

/// How the worker's process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitInfo {
    /// Exit code, when it exited normally.
    pub exit_code: Option<i32>,
    /// Signal name, when killed.
    pub signal: Option<String>,
}

impl ExitInfo {
    /// "exited with code 0" / "killed by SIGKILL".
    pub fn describe(&self) -> String {
        match (&self.exit_code, &self.signal) {
            (Some(c), _) => format!("exited with code {c}"),
            (None, Some(s)) if s == controlroom_protocol::GATEWAY_STOPPED => {
                "stopped with the gateway".into()
            }
            (None, Some(s)) => format!("killed by {s}"),
            (None, None) => "exited".into(),
        }
    }
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
    /// The program is in a synchronized update (`CSI ? 2026 h` without the closing `l` yet):
    /// frames wait for the update to finish, so a redraw is never shown half done. The value
    /// tells updates apart (the stream offset of the message that opened it).
    pub synchronized: Option<u64>,
    /// The scrollback search, while one is open (attached and scrolled back).
    pub search: Option<super::search::Search>,
}

/// Begins a synchronized update (DEC private mode 2026).
const SYNC_BEGIN: &[u8] = b"\x1b[?2026h";
/// Ends a synchronized update.
const SYNC_END: &[u8] = b"\x1b[?2026l";

/// The synchronized update open after `data` (fed at stream `offset`), given the one open before.
fn synchronized_after(data: &[u8], offset: u64, before: Option<u64>) -> Option<u64> {
    let last = |marker: &[u8]| data.windows(marker.len()).rposition(|w| w == marker);
    match (last(SYNC_BEGIN), last(SYNC_END)) {
        (Some(b), Some(e)) if b < e => None,
        (Some(b), _) => Some(offset + b as u64),
        (None, Some(_)) => None,
        (None, None) => before,
    }
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
            synchronized: None,
            search: None,
        }
    }

    /// Whether this view shows `(session, worker)`.
    pub fn is(&self, session: &SessionId, worker: &WorkerId) -> bool {
        &self.session == session && &self.worker == worker
    }

    /// `history`: reset the screen and replay the snapshot.
    pub fn history(&mut self, data: &str, cols: u16, rows: u16, offset: u64) {
        self.parser = ScreenParser::with_scrollback(rows, cols, self.scrollback, RowsScrolled::default());
        self.parser.process(data.as_bytes());
        self.synchronized = synchronized_after(data.as_bytes(), offset, None);
        self.next_offset = Some(offset);
        self.exit = None;
        self.link = WorkerLink::Live;
        // A new screen model numbers its rows afresh and shows the live screen.
        self.search = None;
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
        self.synchronized = synchronized_after(fed, offset + skip as u64, self.synchronized);
        self.next_offset = Some(end);
        self.refresh_search();
        bytes.len() - skip.min(bytes.len())
    }

    /// Resizes the screen model (the attached client's size).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        if self.parser.term().size() != (rows.max(1), cols.max(1)) {
            self.parser.term_mut().resize(rows, cols);
            // A resize returns to the live screen, and growing pulls rows back out of the
            // scrollback (renumbering them): the search ends with the scrolled view.
            self.search = None;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synchronized_updates_open_and_close_across_messages() {
        let mut t = TermView::new(SessionId::new("s"), WorkerId::new("w"), SCROLLBACK_LINES);
        t.history("$ ", 80, 24, 0);
        assert_eq!(t.synchronized, None);
        t.output(b"\x1b[?2026h\x1b[Hhalf", 2);
        assert_eq!(t.synchronized, Some(2), "an update began");
        t.output(b"more", 15);
        assert_eq!(t.synchronized, Some(2), "still inside it");
        t.output(b"done\x1b[?2026l\x1b[?2026h", 19);
        assert_eq!(t.synchronized, Some(31), "a new update is told apart from the last");
        t.output(b"\x1b[?2026l", 39);
        assert_eq!(t.synchronized, None, "the end marker closes it");
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
