//! The screen model: the lean terminal model (`term`), applied off the runtime by a job on the
//! blocking pool while messages wait (`runner.rs`: no thread per worker), with scrollback kept as
//! compact formatted lines, producing `history` snapshots and plain-text screens. The same job
//! counts program signals (bell, OSC 9/777, title) and scans the last lines for prompts,
//! publishing an [`Observation`] at most every `scan_interval`.
//!
//! The model is the worker's terminal, so it also answers the program's queries (cursor
//! position, device attributes, colours, …): after each feed the job hands the answers to the
//! actor, which writes them to the PTY like typed input, whether or not a client is attached.
//!
//! The model's interface is small on purpose: feed bytes, resize, snapshot, plain lines, tail,
//! the signals its sink receives and the answers it owes the program.

use super::HistorySnapshot;
use super::detect::{ActivityRules, Observation, Signals, tail_lines};
use super::scroll_store::LineStore;
use controlroom_protocol::{HistoryScope, ScreenResponse};
use controlroom_term::{self as term, Row, TermSink};
use runner::ScreenSender;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, oneshot, watch};
use tracing::debug;

/// The most screen cells (with no scrollback) whose snapshot is taken on the actor's thread
/// rather than by a job on the blocking pool (see [`ScreenModel::snapshot_is_small`]): a
/// 200 × 60 screen formats in tens of µs, less than waking a thread.
pub(crate) const INLINE_SNAPSHOT_CELLS: usize = 200 * 60;

pub(crate) mod runner;

/// Answers owed to the program that may wait for the actor before the screen thread drops
/// more: a program that floods queries without reading the answers loses some (as
/// [`term::MAX_PENDING_REPLY_BYTES`] bounds each batch); one that asks and waits never does.
const REPLY_QUEUE: usize = 16;

/// Answers to the program's queries, from one feed.
#[derive(Debug)]
pub(crate) struct ScreenReply {
    /// The answers, in the order of the queries.
    pub(crate) bytes: Vec<u8>,
    /// The stream offset the model had reached when it answered: answers to a process that has
    /// since been replaced are not written to its successor.
    pub(crate) offset: u64,
}

/// One row that scrolled off the main screen, formatted so it redraws on its own.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScrollLine {
    /// SGR-formatted text, to be written after a reset (`ESC[m`).
    pub(crate) text: String,
    /// The row continued on the next one (no newline after it).
    pub(crate) wrapped: bool,
}

/// The model's sink: captures rows scrolled off the main screen into a byte-bounded store, and
/// counts the program's signals (bell, notifications, title changes).
#[derive(Debug)]
pub(crate) struct ScrollCapture {
    store: LineStore,
    signals: Signals,
    scratch: String,
}

impl ScrollCapture {
    fn new(cap: usize) -> Self {
        Self { store: LineStore::new(cap), signals: Signals::default(), scratch: String::new() }
    }

    /// The captured lines, oldest first.
    #[cfg(test)]
    pub(crate) fn lines(&self) -> Vec<ScrollLine> {
        let mut lines = Vec::new();
        self.store.for_each(|text, wrapped| lines.push(ScrollLine { text: text.to_string(), wrapped }));
        lines
    }
}

impl TermSink for ScrollCapture {
    fn on_scroll(&mut self, row: &Row) {
        // Format into a reused buffer, then copy into the store's current buffer.
        self.scratch.clear();
        term::line_basic(row, &mut self.scratch);
        self.store.push(&self.scratch, row.wrapped());
    }

    fn on_bell(&mut self) {
        self.signals.on_bell();
    }

    fn on_title(&mut self, title: &[u8]) {
        self.signals.on_title(title);
    }

    fn on_osc(&mut self, params: &[&[u8]]) {
        self.signals.on_osc(params);
    }
}

/// A terminal screen plus compact scrollback, and the stream offset of the bytes fed so far.
pub(crate) struct ScreenModel {
    parser: term::Parser<ScrollCapture>,
    offset: u64,
}

impl ScreenModel {
    /// A blank screen; `offset` is the stream offset of the next byte fed.
    pub(crate) fn new(cols: u16, rows: u16, scrollback_bytes: usize, offset: u64) -> Self {
        let parser = term::Parser::new(rows, cols, ScrollCapture::new(scrollback_bytes));
        Self { parser, offset }
    }

    /// A screen rebuilt from a stored snapshot (its scrollback lines land in the capture ring).
    pub(crate) fn restored(history: &HistorySnapshot, scrollback_bytes: usize) -> Self {
        let mut model = Self::new(history.cols, history.rows, scrollback_bytes, 0);
        model.feed(history.data.as_bytes());
        model.offset = history.offset;
        model
    }

    /// Answers the program's queries from now on ([`ScreenModel::take_replies`]).
    pub(crate) fn answer_queries(&mut self, config: term::ReplyConfig) {
        self.parser.answer_queries(config);
    }

    /// The answers owed for the output fed since the last call.
    pub(crate) fn take_replies(&mut self) -> Option<ScreenReply> {
        self.parser.take_replies().map(|bytes| ScreenReply { bytes, offset: self.offset })
    }

    /// Applies output.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        self.parser.process(bytes);
        self.offset += bytes.len() as u64;
    }

    /// Resizes the screen.
    pub(crate) fn resize(&mut self, cols: u16, rows: u16) {
        self.parser.term_mut().resize(rows, cols);
    }

    /// Whether scrolled-off rows wait to be packed ([`ScreenModel::pack_scrollback`]).
    pub(crate) fn scrollback_packable(&self) -> bool {
        self.parser.term().sink().store.packable()
    }

    /// Packs the scrollback's cold rows; returns the bytes of memory given back.
    pub(crate) fn pack_scrollback(&mut self) -> usize {
        self.parser.term_mut().sink_mut().store.pack_cold()
    }

    /// The captured scrollback.
    #[cfg(test)]
    pub(crate) fn scrollback(&self) -> &ScrollCapture {
        self.parser.term().sink()
    }

    /// Whether a snapshot costs only a few µs, so it may be taken on the worker actor's thread:
    /// no scrollback, and at most [`INLINE_SNAPSHOT_CELLS`] cells on the screen.
    pub(crate) fn snapshot_is_small(&self) -> bool {
        let screen = self.parser.term();
        let (rows, cols) = screen.size();
        screen.sink().store.bytes() == 0 && usize::from(rows) * usize::from(cols) <= INLINE_SNAPSHOT_CELLS
    }

    /// Terminal output that redraws the scrollback (unless `scope` is the screen only) and the
    /// screen, at the current offset.
    pub(crate) fn snapshot(&self, scope: HistoryScope) -> HistorySnapshot {
        let screen = self.parser.term();
        let (rows, cols) = screen.size();
        let lines = &screen.sink().store;
        let full = scope == HistoryScope::Full;
        let mut data = String::with_capacity(if full { lines.bytes() } else { 0 } + 4096);
        data.push_str("\x1b[m\x1b[H\x1b[2J");
        if full {
            push_scrollback(lines, rows, &mut data);
        }
        data.push_str("\x1b[m");
        if screen.alternate_screen() {
            data.push_str("\x1b[?1049h");
        }
        screen.contents_formatted(&mut data);
        screen.input_mode_formatted(&mut data);
        HistorySnapshot { data, cols, rows, offset: self.offset }
    }

    /// The last `n` non-blank lines up to the cursor (or the last text), colours stripped.
    pub(crate) fn tail(&self, n: usize) -> Vec<String> {
        let screen = self.parser.term();
        tail_lines(screen.plain_lines().into_iter(), usize::from(screen.cursor_position().0), n)
    }

    /// Program signals seen so far.
    pub(crate) fn signals(&self) -> &Signals {
        &self.parser.term().sink().signals
    }

    /// The visible screen as plain text.
    pub(crate) fn plain(&self) -> ScreenResponse {
        let screen = self.parser.term();
        let (rows, cols) = screen.size();
        let (row, col) = screen.cursor_position();
        ScreenResponse { cols, rows, cursor: [row, col], lines: screen.plain_lines() }
    }
}

/// Writes the scrollback's lines, then scrolls every one of them off a `rows`-row screen into
/// the client's scrollback.
fn push_scrollback(lines: &LineStore, rows: u16, data: &mut String) {
    lines.for_each(|text, wrapped| {
        data.push_str("\x1b[m");
        data.push_str(text);
        if !wrapped {
            data.push_str("\r\n");
        }
    });
    if lines.len() > 0 {
        // Scroll every written line off the screen into the client's scrollback. A final
        // wrapped line still sits on the cursor row and needs one more.
        let last_wrapped = lines.last_wrapped();
        let pushes = usize::from(rows - 1) + usize::from(last_wrapped);
        for _ in 0..pushes {
            data.push_str("\r\n");
        }
    }
}

/// What the screen thread is asked to do, in stream order.
pub(crate) enum ScreenMsg {
    /// Output bytes (aligned to UTF-8 boundaries), holding a backlog permit until applied.
    Output { bytes: Vec<u8>, permit: Option<OwnedSemaphorePermit> },
    /// The PTY was resized at this point of the stream.
    Resize { cols: u16, rows: u16 },
    /// A history snapshot of everything fed so far (`scope`: with the scrollback or not).
    Snapshot { reply: oneshot::Sender<HistorySnapshot>, scope: HistoryScope },
    /// The plain-text screen.
    Plain { reply: oneshot::Sender<ScreenResponse> },
}

/// What the actor holds of its screen model: the sending side, what the model observed and
/// the answers it owes the program.
pub(crate) struct ScreenThread {
    /// Messages for the model, applied in order.
    pub(crate) tx: ScreenSender,
    /// The last observation (signals, prompt).
    pub(crate) observations: watch::Receiver<Observation>,
    /// Answers to the program's queries, for its input.
    pub(crate) replies: tokio::sync::mpsc::Receiver<ScreenReply>,
}

impl ScreenThread {
    /// A screen that is not there (every request is dropped, so callers see `Gone`).
    pub(crate) fn missing() -> Self {
        Self {
            tx: ScreenSender::missing(),
            observations: watch::channel(Observation::default()).1,
            replies: tokio::sync::mpsc::channel(1).1,
        }
    }
}

/// Starts applying messages to `model`: no thread of its own (see [`runner`]); `nice` lowers the
/// priority of whichever thread applies them, while it does. Scrolled-off rows cold for
/// `pack_after` are packed once the output goes quiet (`pack_after` zero: never).
pub(crate) fn spawn_screen_thread(
    model: ScreenModel,
    rules: Arc<ActivityRules>,
    nice: i32,
    pack_after: Duration,
) -> std::io::Result<ScreenThread> {
    let (obs_tx, observations) = watch::channel(Observation::default());
    let (reply_tx, replies) = tokio::sync::mpsc::channel(REPLY_QUEUE);
    let tx = ScreenSender::start(runner::Job::new(model, rules, obs_tx, reply_tx, nice, pack_after));
    Ok(ScreenThread { tx, observations, replies })
}

/// Applies one message to the model; `true` when the screen may have changed.
fn apply(model: &mut ScreenModel, msg: ScreenMsg, reply_tx: &tokio::sync::mpsc::Sender<ScreenReply>) -> bool {
    match msg {
        ScreenMsg::Output { bytes, permit } => {
            feed(model, &bytes, reply_tx);
            drop(permit);
            true
        }
        ScreenMsg::Resize { cols, rows } => {
            model.resize(cols, rows);
            true
        }
        ScreenMsg::Snapshot { reply, scope } => {
            let _ = reply.send(model.snapshot(scope));
            false
        }
        ScreenMsg::Plain { reply } => {
            let _ = reply.send(model.plain());
            false
        }
    }
}

/// Applies output, and hands the answers the program is owed to the actor.
fn feed(model: &mut ScreenModel, bytes: &[u8], reply_tx: &tokio::sync::mpsc::Sender<ScreenReply>) {
    model.feed(bytes);
    if let Some(reply) = model.take_replies()
        && let Err(e) = reply_tx.try_send(reply)
    {
        debug!(error = %e, "answers to the program's queries dropped");
    }
}

/// Scans the last lines for prompts and publishes what changed.
fn scan(model: &ScreenModel, rules: &ActivityRules, obs_tx: &watch::Sender<Observation>) {
    let tail = model.tail(rules.scan_lines);
    let prompt = rules.find_prompt(&tail);
    let signals = model.signals();
    obs_tx.send_if_modified(|o| {
        if o.tail == tail && o.prompt == prompt && &o.signals == signals {
            return false;
        }
        *o = Observation { scans: o.scans + 1, signals: signals.clone(), prompt, tail };
        true
    });
}

#[cfg(test)]
pub(crate) fn numbered_lines(prefix: &str, n: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for i in 0..n {
        let _ = write!(s, "{prefix} {i}\r\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU16;

    fn replay(snap: &HistorySnapshot) -> ScreenModel {
        let mut fresh = ScreenModel::new(snap.cols, snap.rows, 1 << 20, 0);
        fresh.feed(snap.data.as_bytes());
        fresh
    }

    /// The snapshot as a vt100 client (the TUI) sees it.
    fn in_vt100(snap: &HistorySnapshot) -> vt100::Parser {
        let dim = |n| NonZeroU16::new(n).expect("non-zero");
        let mut p = vt100::Parser::new(dim(snap.rows), dim(snap.cols), 10_000);
        p.process(snap.data.as_bytes());
        p
    }

    fn assert_same_screen(a: &ScreenModel, b: &ScreenModel) {
        let mut fa = String::new();
        let mut fb = String::new();
        a.parser.term().contents_formatted(&mut fa);
        b.parser.term().contents_formatted(&mut fb);
        assert_eq!(fa, fb, "formatted screens");
        assert_eq!(a.plain(), b.plain());
        let (ta, tb) = (a.parser.term(), b.parser.term());
        assert_eq!(ta.alternate_screen(), tb.alternate_screen());
        assert_eq!(ta.hide_cursor(), tb.hide_cursor());
        let (mut ma, mut mb) = (String::new(), String::new());
        ta.input_mode_formatted(&mut ma);
        tb.input_mode_formatted(&mut mb);
        assert_eq!(ma, mb, "input modes");
    }

    #[test]
    fn history_reproduces_colours_and_scrollback_in_a_fresh_parser() {
        let mut m = ScreenModel::new(20, 5, 1 << 20, 0);
        m.feed(numbered_lines("\x1b[31mred\x1b[m line", 12).as_bytes());
        // A line that wraps across the 20 columns, then a coloured prompt.
        m.feed(b"0123456789abcdefghijKLMNOP\r\n");
        m.feed(numbered_lines("after", 6).as_bytes());
        m.feed(b"\x1b[1;32mbold green\x1b[m $ \x1b[?2004h");
        assert!(m.scrollback().lines().len() >= 8);
        assert!(m.scrollback().lines().iter().any(|l| l.wrapped));
        let snap = m.snapshot(HistoryScope::Full);
        assert_eq!(snap.offset, m.offset);
        let fresh = replay(&snap);
        assert_same_screen(&m, &fresh);
        assert_eq!(fresh.scrollback().lines(), m.scrollback().lines());
        assert!(fresh.scrollback().lines()[0].text.contains("\x1b[31mred"));
        assert!(fresh.parser.term().bracketed_paste());
        // A vt100 client shows the same screen, scrollback and modes.
        let client = in_vt100(&snap);
        assert_eq!(client.screen().contents(), "after 2\nafter 3\nafter 4\nafter 5\nbold green $ ");
        assert_eq!(client.screen().cursor_position(), (4, 13));
        assert!(client.screen().bracketed_paste());
        assert_eq!(client.screen().cell(4, 0).map(|c| c.fgcolor()), Some(vt100::Color::Idx(2)));
        assert!(client.screen().scrollback_len() >= 8);
    }

    #[test]
    fn a_screen_only_history_redraws_the_screen_without_a_scrollback_row() {
        let mut m = ScreenModel::new(20, 5, 1 << 20, 0);
        m.feed(numbered_lines("\x1b[31mold\x1b[m line", 40).as_bytes());
        m.feed(b"\x1b[1;32mbold green\x1b[m $ \x1b[?2004h");
        let full = m.snapshot(HistoryScope::Full);
        let screen = m.snapshot(HistoryScope::Screen);
        assert_eq!((screen.offset, screen.cols, screen.rows), (full.offset, full.cols, full.rows));
        assert!(!screen.data.contains("old line 0\r\n"), "no scrollback row: {:?}", screen.data);
        assert!(screen.data.len() < full.data.len() / 4, "{} vs {}", screen.data.len(), full.data.len());
        let fresh = replay(&screen);
        assert_same_screen(&m, &fresh);
        assert!(fresh.scrollback().lines().is_empty());
        assert!(fresh.parser.term().bracketed_paste());
        let client = in_vt100(&screen);
        assert_eq!(client.screen().contents(), in_vt100(&full).screen().contents());
        assert_eq!(client.screen().scrollback_len(), 0);
    }

    #[test]
    fn history_enters_the_alternate_screen_when_the_program_is_in_it() {
        let mut m = ScreenModel::new(30, 6, 1 << 20, 7);
        m.feed(numbered_lines("shell", 10).as_bytes());
        m.feed(b"\x1b[?1049h\x1b[H\x1b[2J\x1b[44mfull screen app\x1b[m\x1b[3;5Hx\x1b[?25l\x1b[?1h");
        let scrolled = m.scrollback().lines().len();
        let snap = m.snapshot(HistoryScope::Full);
        let fresh = replay(&snap);
        assert!(fresh.parser.term().alternate_screen());
        assert_same_screen(&m, &fresh);
        assert_eq!(fresh.scrollback().lines().len(), scrolled);
        assert!(fresh.parser.term().hide_cursor());
        assert!(fresh.parser.term().application_cursor());
        let client = in_vt100(&snap);
        assert!(client.screen().alternate_screen());
        assert!(client.screen().hide_cursor());
        assert!(client.screen().application_cursor());
        assert_eq!(client.screen().cursor_position(), (2, 5));
        assert_eq!(client.screen().cell(0, 0).map(|c| c.bgcolor()), Some(vt100::Color::Idx(4)));
    }

    #[test]
    fn scrollback_is_byte_bounded_and_restored_models_keep_it() {
        let mut m = ScreenModel::new(40, 4, 2000, 0);
        m.feed(numbered_lines("line", 500).as_bytes());
        let lines = m.scrollback().lines();
        assert!(m.scrollback().store.bytes() <= 2000);
        assert!(lines.last().is_some_and(|l| l.text.contains("line 496")));
        assert!(lines.first().is_some_and(|l| l.text != "line 0"), "oldest lines evicted");
        let snap = m.snapshot(HistoryScope::Full);
        let restored = ScreenModel::restored(&snap, 2000);
        assert_eq!(restored.offset, snap.offset);
        assert_eq!(restored.plain(), m.plain());
        assert_eq!(restored.scrollback().lines(), m.scrollback().lines());
    }

    #[test]
    fn program_signals_reach_the_activity_detector() {
        let mut m = ScreenModel::new(40, 4, 2000, 0);
        m.feed(b"\x1b]2;agent: waiting\x07done\x07\x1b]9;needs input\x07");
        let s = m.signals();
        assert_eq!((s.bells, s.title_changes, s.notifications), (1, 1, 1));
        assert_eq!(s.title.as_deref(), Some("agent: waiting"));
        assert_eq!(m.plain().lines[0], "done");
        assert_eq!(m.tail(3), vec!["done".to_string()]);
    }

    /// Coloured log lines, numbered, some wider than the screen (they wrap).
    fn log_lines(n: usize) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        for i in 0..n {
            let wide = if i % 5 == 0 { " and a tail long enough to wrap onto the next row" } else { "" };
            let _ =
                write!(s, "\x1b[2m12:00:{:02}\x1b[0m \x1b[3{}mINFO\x1b[0m line {i}{wide}\r\n", i % 60, i % 7);
        }
        s
    }

    #[test]
    fn packed_scrollback_gives_the_same_history_byte_for_byte() {
        let mut packed = ScreenModel::new(60, 10, 1 << 20, 0);
        let mut plain = ScreenModel::new(60, 10, 1 << 20, 0);
        let input = log_lines(8_000);
        packed.feed(input.as_bytes());
        plain.feed(input.as_bytes());
        assert!(packed.scrollback_packable());
        let before = packed.scrollback().store.held();
        let saved = packed.pack_scrollback();
        let after = packed.scrollback().store.held();
        assert!(saved > 0 && after * 3 < before, "held {before} bytes, then {after}");
        assert!(!packed.scrollback_packable());
        assert_eq!(packed.snapshot(HistoryScope::Full).data, plain.snapshot(HistoryScope::Full).data);
        // More output after packing lands after the packed rows, and evicts the oldest.
        let more = log_lines(3_000);
        packed.feed(more.as_bytes());
        plain.feed(more.as_bytes());
        packed.pack_scrollback();
        let snap = packed.snapshot(HistoryScope::Full);
        assert_eq!(snap.data, plain.snapshot(HistoryScope::Full).data);
        assert!(in_vt100(&snap).screen().scrollback_len() > 1_000, "a client gets the packed rows back");
        assert_eq!(replay(&snap).scrollback().lines(), plain.scrollback().lines());
    }

    #[test]
    fn the_screen_thread_packs_once_it_has_caught_up_and_history_is_unchanged() {
        let rules = Arc::new(ActivityRules::defaults(std::time::Duration::from_secs(2)));
        let mut reference = ScreenModel::new(60, 10, 1 << 20, 0);
        let thread =
            spawn_screen_thread(ScreenModel::new(60, 10, 1 << 20, 0), rules, 0, Duration::from_millis(5))
                .expect("screen thread");
        for chunk in log_lines(6_000).as_bytes().chunks(4096) {
            reference.feed(chunk);
            thread.tx.send(ScreenMsg::Output { bytes: chunk.to_vec(), permit: None });
        }
        // Long past the packing delay, with nothing more to apply: packed by now.
        std::thread::sleep(Duration::from_millis(200));
        let (reply, rx) = oneshot::channel();
        thread.tx.send(ScreenMsg::Snapshot { reply, scope: HistoryScope::Full });
        let snap = rx.blocking_recv().expect("snapshot");
        assert_eq!(snap.data, reference.snapshot(HistoryScope::Full).data);
        assert_eq!(snap.offset, reference.offset);
    }
}

#[cfg(test)]
mod pack_stress_tests {
    use super::*;

    /// Packing between bursts while the scrollback cap drops the oldest rows never loses or
    /// repeats a row (what `seq` through a loaded gateway does).
    #[test]
    fn packing_between_bursts_at_the_scrollback_cap_keeps_every_row_in_order() {
        let mut model = ScreenModel::new(80, 24, 64 * 1024, 0);
        let mut next = 1u64;
        for burst in 0..60 {
            let mut text = String::new();
            for _ in 0..(500 + burst * 37 % 400) {
                text.push_str(&format!("{next}\r\n"));
                next += 1;
            }
            for chunk in text.as_bytes().chunks(1000 + burst * 13) {
                model.feed(chunk);
            }
            if model.scrollback_packable() {
                model.pack_scrollback();
            }
            let snap = model.snapshot(HistoryScope::Full);
            let mut fresh = ScreenModel::new(snap.cols, snap.rows, 1 << 22, 0);
            fresh.feed(snap.data.as_bytes());
            let mut lines: Vec<String> = fresh.scrollback().lines().into_iter().map(|l| l.text).collect();
            lines.extend(fresh.plain().lines);
            let numbers: Vec<u64> = lines.iter().filter_map(|l| l.trim().parse().ok()).collect();
            let first = numbers[0];
            for (k, n) in numbers.iter().enumerate() {
                assert_eq!(*n, first + k as u64, "burst {burst}: row {k} after {first}");
            }
            assert_eq!(numbers.last(), Some(&(next - 1)), "burst {burst}");
        }
    }
}
