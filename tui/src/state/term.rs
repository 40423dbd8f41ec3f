//! The watched worker's terminal: a vt100 parser fed from the worker socket, with offsets
//! so output after a reconnect is neither duplicated nor lost.

use controlroom_protocol::{SessionId, WorkerId};
use std::num::NonZeroU16;

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
    pub parser: vt100::Parser,
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

/// A vt100 dimension from a terminal size (never zero).
pub fn dim(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}

impl TermView {
    /// A view waiting for its socket's `history`.
    pub fn new(session: SessionId, worker: WorkerId, scrollback: usize) -> Self {
        Self {
            session,
            worker,
            parser: vt100::Parser::new(dim(24), dim(80), scrollback),
            next_offset: None,
            exit: None,
            link: WorkerLink::Connecting,
            scrollback,
            synchronized: None,
        }
    }

    /// Whether this view shows `(session, worker)`.
    pub fn is(&self, session: &SessionId, worker: &WorkerId) -> bool {
        &self.session == session && &self.worker == worker
    }

    /// `history`: reset the screen and replay the snapshot.
    pub fn history(&mut self, data: &str, cols: u16, rows: u16, offset: u64) {
        self.parser = vt100::Parser::new(dim(rows), dim(cols), self.scrollback);
        self.parser.process(data.as_bytes());
        self.synchronized = synchronized_after(data.as_bytes(), offset, None);
        self.next_offset = Some(offset);
        self.exit = None;
        self.link = WorkerLink::Live;
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
        bytes.len() - skip.min(bytes.len())
    }

    /// Resizes the screen model (the attached client's size).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        let (r, c) = self.parser.screen().size();
        if (r.get(), c.get()) != (rows, cols) {
            self.parser.set_size(dim(rows), dim(cols));
        }
    }

    /// Rows scrolled back from the live screen.
    pub fn scrolled(&self) -> usize {
        self.parser.screen().scrollback()
    }

    /// Scrolls back (positive) or forward (negative) by `rows`, clamped.
    pub fn scroll_by(&mut self, rows: isize) {
        let cur = self.scrolled();
        let next = cur.saturating_add_signed(rows);
        self.parser.screen_mut().set_scrollback(next);
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
    fn output_already_applied_is_skipped() {
        let mut t = view();
        t.history("hello ", 80, 24, 6);
        assert_eq!(t.output(b"world", 6), 5);
        assert_eq!(t.output(b"world", 6), 0, "same offset again is a duplicate");
        assert_eq!(t.output(b"ld!", 9), 1, "overlap feeds only the new byte");
        assert!(t.parser.screen().contents().starts_with("hello world!"));
        assert_eq!(t.next_offset, Some(12));
    }

    #[test]
    fn history_resets_the_screen() {
        let mut t = view();
        t.history("old", 80, 24, 3);
        t.history("new", 100, 30, 50);
        assert_eq!(t.parser.screen().contents(), "new");
        assert_eq!(t.parser.screen().size().1.get(), 100);
        assert_eq!(t.next_offset, Some(50));
    }

    #[test]
    fn scrolling_is_clamped() {
        let mut t = view();
        t.history(&"line\r\n".repeat(40), 80, 24, 0);
        t.scroll_by(100);
        assert_eq!(t.scrolled(), t.parser.screen().scrollback_len().min(SCROLLBACK_LINES));
        t.scroll_by(-1000);
        assert_eq!(t.scrolled(), 0);
    }
}
