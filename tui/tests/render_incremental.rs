//! The painter keeps the attach view's unchanged rows between frames: after every step of long
//! scripts (output, scrolling back, searches, copy mode, the exit banner, resizes, detaching to
//! the dashboard, its help and dialogs, the wall, attaching again), its frame must equal a whole
//! frame drawn on a blank buffer, cell by cell with every style and the cursor, and a terminal
//! fed everything the painter sent must show what one fed a single whole frame shows.

mod common;

use common::*;
use controlroom_protocol::{AppServerMsg, Delta, DeltaEvent, SessionId, WorkerServerMsg};
use controlroom_term::Parser;
use controlroom_tui::painter::Painter;
use controlroom_tui::state::{AppEvent, Done, Mode, Msg, State, WorkerEvent};
use controlroom_tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use rand::{Rng, SeedableRng};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

/// Bytes a backend wrote, kept where the test can take them.
#[derive(Clone, Default)]
struct Wire(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl Wire {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

impl std::io::Write for Wire {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The painter under test and the terminal it draws on (a screen model fed its bytes).
struct Live {
    painter: Painter<CrosstermBackend<Wire>>,
    wire: Wire,
    shown: Parser<()>,
    theme: Theme,
}

impl Live {
    fn new(cols: u16, rows: u16) -> Live {
        let wire = Wire::default();
        let painter = Painter::new(CrosstermBackend::new(wire.clone()), Rect::new(0, 0, cols, rows));
        Live { painter, wire, shown: Parser::new(rows, cols, ()), theme: Theme::default() }
    }

    /// The terminal and the state are `cols × rows` now.
    fn resize(&mut self, st: &mut State, cols: u16, rows: u16) {
        st.update(Msg::Resize { cols, rows });
        self.painter.resize(Rect::new(0, 0, cols, rows)).expect("resizes");
        self.shown.term_mut().resize(rows, cols);
    }

    /// Paints a frame and checks it against a whole one.
    fn check(&mut self, st: &State, step: &str) {
        self.painter.paint(st, &self.theme).expect("paints");
        self.shown.process(&self.wire.take());
        let area = self.painter.area();
        let wire = Wire::default();
        let mut whole = Terminal::with_options(
            CrosstermBackend::new(wire.clone()),
            TerminalOptions { viewport: Viewport::Fixed(area) },
        )
        .expect("a fixed viewport");
        let frame = whole.draw(|f| controlroom_tui::ui::draw(f, st, &self.theme)).expect("draws");
        let expected = frame.buffer.clone();
        let got = self.painter.shown();
        assert_eq!(got.area, area);
        for y in area.top()..area.bottom() {
            for x in area.left()..area.right() {
                assert_eq!(got[(x, y)], expected[(x, y)], "{step}: cell {x},{y} differs from a whole frame");
            }
        }
        let mut fresh = Parser::new(area.height, area.width, ());
        fresh.process(&wire.take());
        let (a, b) = (cells(&self.shown), cells(&fresh));
        for y in 0..a.len() {
            assert_eq!(a[y], b[y], "{step}: row {y} on the terminal differs from a whole frame's");
        }
        // Where a hidden cursor is does not show (it is wherever the last write left it).
        let cursor = |p: &Parser<()>| (!p.term().hide_cursor()).then(|| p.term().cursor_position());
        assert_eq!(cursor(&self.shown), cursor(&fresh), "{step}: the cursor");
    }
}

/// Each cell's text, colours and attributes as a terminal shows them, row by row.
fn cells(p: &Parser<()>) -> Vec<String> {
    let (rows, cols) = p.term().size();
    (0..rows)
        .map(|r| {
            let mut out = String::new();
            for c in 0..cols {
                let cell = p.term().cell(r, c).expect("on screen");
                let mut text = String::new();
                if let Some(row) = p.term().visible_row(r) {
                    row.push_contents(usize::from(c), &mut text);
                }
                if text.is_empty() {
                    text.push(' ');
                }
                let attrs = [cell.bold(), cell.dim(), cell.italic(), cell.underline(), cell.inverse()];
                out.push_str(&format!("{text:?}{:?}{:?}{attrs:?}|", cell.fg(), cell.bg()));
            }
            out
        })
        .collect()
}

fn ctrl(st: &mut State, c: char) {
    st.update(Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)));
}

fn shift(st: &mut State, code: KeyCode) {
    st.update(Msg::Key(KeyEvent::new(code, KeyModifiers::SHIFT)));
}

/// The attached (or previewed) worker's output, at the offset the view expects next.
fn output(st: &mut State, bytes: &[u8]) {
    let Some(term) = &st.term else { return };
    let (session, worker, offset) =
        (term.session.clone(), term.worker.clone(), term.next_offset.unwrap_or(0));
    st.update(Msg::Worker {
        session,
        worker,
        event: WorkerEvent::Output { offset, bytes: bytes::Bytes::copy_from_slice(bytes) },
    });
}

fn worker_message(st: &mut State, msg: WorkerServerMsg) {
    let Some(term) = &st.term else { return };
    let (session, worker) = (term.session.clone(), term.worker.clone());
    st.update(Msg::Worker { session, worker, event: WorkerEvent::Message(msg) });
}

/// A new `history` at the attach view's size (a reconnect, a restart).
fn history(st: &mut State, data: &str) {
    let (cols, rows) = st.term.as_ref().map_or((80, 24), |t| {
        let (r, c) = t.parser.term().size();
        (c, r)
    });
    worker_message(st, WorkerServerMsg::History { data: data.into(), cols, rows, offset: 0 });
}

fn rename_session(st: &mut State, seq: u64, title: &str) {
    let mut session = st.store.get(&SessionId::new("s1")).expect("s1").clone();
    let before = session.clone();
    session.title = title.into();
    st.update(Msg::App(AppEvent::Message(Box::new(AppServerMsg::Delta(Delta {
        seq,
        timestamp: String::new(),
        event: DeltaEvent::SessionUpdated { session_id: SessionId::new("s1"), session, before },
    })))));
}

/// Output a program might write: text, line ends, colours, cursor moves, erases, wide and
/// combined characters, scroll regions, the alternate screen, and random bytes.
fn program_output(rng: &mut rand::rngs::StdRng) -> Vec<u8> {
    const PIECES: &[&str] = &[
        "hello world",
        "\r\n",
        "\r\n$ ",
        "x",
        "\x1b[31mred\x1b[m",
        "\x1b[1;4;7mstrong\x1b[0m",
        "\x1b[38;2;10;200;30mrgb\x1b[48;5;17mbg\x1b[m",
        "\x1b[H",
        "\x1b[5;10H",
        "\x1b[2J",
        "\x1b[K",
        "\x1b[1K",
        "\x1b[J",
        "\x1b[3L",
        "\x1b[2M",
        "\x1b[4@",
        "\x1b[2P",
        "漢字",
        "e\u{301}",
        "⌚\u{FE0E}",
        "\x1b[3;8r\x1b[8H\n\n\x1b[r",
        "\x1b[?1049h",
        "\x1b[?1049l",
        "\x1b[?25l",
        "\x1b[?25h",
        "\x1b[10S",
        "line of text that is long enough to wrap around a narrow screen at least once or twice",
    ];
    let mut out = Vec::new();
    for _ in 0..rng.random_range(1..6) {
        if rng.random_range(0..8) == 0 {
            let n = rng.random_range(1..40);
            out.extend((0..n).map(|_| rng.random::<u8>()));
        } else {
            out.extend_from_slice(PIECES[rng.random_range(0..PIECES.len())].as_bytes());
        }
    }
    out
}

/// Attached to `w1` of the busy state at `cols × rows`.
fn attached(live: &mut Live, cols: u16, rows: u16) -> State {
    let mut st = busy_state();
    live.resize(&mut st, cols, rows);
    history(&mut st, "one\r\ntwo\r\n$ ");
    key(&mut st, KeyCode::Enter);
    assert_eq!(st.mode, Mode::Attach);
    st
}

#[test]
fn a_typed_keys_echo_draws_only_its_row() {
    let mut live = Live::new(120, 40);
    let mut st = attached(&mut live, 120, 40);
    let mut text = String::new();
    for i in 0..60 {
        text.push_str(&format!("\x1b[34mfile-{i}.rs\x1b[m  {}\r\n", "x".repeat(i)));
    }
    text.push_str("$ ");
    history(&mut st, &text);
    live.check(&st, "history");
    live.check(&st, "again");
    let before = live.painter.stats();
    output(&mut st, b"l");
    live.check(&st, "echo");
    let after = live.painter.stats();
    assert_eq!(after.rows_drawn - before.rows_drawn, 0, "no row drawn whole");
    assert_eq!(after.rows_patched - before.rows_patched, 1, "the prompt's row patched");
    assert_eq!(after.cells_patched - before.cells_patched, 1, "in the echoed cell alone");
    assert_eq!(after.rows_kept - before.rows_kept, 39);
    // Enter scrolls the screen: every body row moved (drawn whole, or patched where the row
    // that moved there differs from the one before in a few cells); the header stays.
    output(&mut st, b"\r\n$ ");
    live.check(&st, "new line");
    let scrolled = live.painter.stats();
    let redrawn = |s: controlroom_tui::painter::PaintStats| s.rows_drawn + s.rows_patched;
    assert_eq!(redrawn(scrolled) - redrawn(after), 39);
    // A notice changes the header alone.
    st.update(Msg::Done(Done::Failed("something broke".into())));
    live.check(&st, "notice");
    assert_eq!(live.painter.stats().rows_drawn - scrolled.rows_drawn, 1, "the header alone");
}

#[test]
fn a_line_edited_in_place_patches_its_row_as_a_whole_frame_draws_it() {
    // Edits within one line, as a shell's line editor makes them: the row is patched where
    // the changed cells are narrow (an echo, a recoloured word, a deletion) and drawn whole
    // where a wide character or a combining mark is involved; every frame equals a whole one.
    const EDITS: &[&str] = &[
        "a",
        "b",
        "\x08",
        "\x08\x1b[K",
        "\x1b[D",
        "\x1b[2D",
        "\x1b[C",
        "\x1b[31mred\x1b[m",
        "\x1b[1;7mX\x1b[m",
        "\x1b[44m \x1b[m",
        "\x1b[38;2;1;2;3mq\x1b[m",
        "\x1b[2@",
        "\x1b[P",
        "\x1b[3X",
        "漢",
        "e\u{301}",
        "⌚\u{FE0E}",
        "\r$ ",
        "\x1b[1K",
        "\x1b[?25l",
        "\x1b[?25h",
    ];
    let mut patched = 0;
    for seed in 0..30u64 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let cols = rng.random_range(12..60);
        let mut live = Live::new(cols, 8);
        let mut st = attached(&mut live, cols, 8);
        history(&mut st, "one\r\n\x1b[34mtwo\x1b[m\r\n$ ");
        live.check(&st, "history");
        for step in 0..60 {
            let edit = EDITS[rng.random_range(0..EDITS.len())];
            let before = live.painter.stats().rows_patched;
            output(&mut st, edit.as_bytes());
            live.check(&st, &format!("seed {seed} step {step} ({edit:?})"));
            patched += live.painter.stats().rows_patched - before;
        }
    }
    assert!(patched > 200, "rows were patched ({patched}), not only drawn whole");
}

#[test]
fn a_frame_that_changes_nothing_writes_nothing() {
    let mut live = Live::new(80, 24);
    let mut st = attached(&mut live, 80, 24);
    history(&mut st, "$ ");
    live.check(&st, "history");
    // The clock's tick while attached: the same cells, the cursor where it was.
    st.update(Msg::Tick { now: jiff::Timestamp::now(), instant: std::time::Instant::now() });
    live.painter.paint(&st, &live.theme).expect("paints");
    assert_eq!(live.wire.take(), b"", "a frame of nothing but the same cursor is not sent");
    live.check(&st, "after the tick");
    // The program moves its cursor and writes nothing: the cursor alone is sent.
    output(&mut st, b"\x1b[5;10H");
    live.painter.paint(&st, &live.theme).expect("paints");
    let sent = live.wire.take();
    assert!(!sent.is_empty(), "the moved cursor is sent");
    live.shown.process(&sent);
    // Screen row 4 is the terminal's row 5, under the header.
    assert_eq!(live.shown.term().cursor_position(), (5, 9), "the terminal's cursor follows");
    live.check(&st, "cursor moved");
    // A resize clears the terminal: the next frame is sent whole, cursor included.
    live.resize(&mut st, 70, 20);
    live.check(&st, "resized");
}

#[test]
fn a_narrow_character_over_a_wide_one_leaves_no_coloured_blank_beside_it() {
    // The terminal clears the wide character's other half with the colours of what is written
    // over it (a blue `g`); the program then writes a default blank there, so the buffers hold
    // a default blank in that column before and after, and the diff alone would not send it:
    // the terminal would keep a blue blank beside the `g`.
    let mut live = Live::new(30, 6);
    let mut st = attached(&mut live, 30, 6);
    history(&mut st, "$ ");
    output(&mut st, "漢x".as_bytes());
    live.check(&st, "a wide character");
    output(&mut st, b"\r\x1b[3G\x1b[44mg\x1b[m ");
    live.check(&st, "a blue narrow one over its left half, a default blank after it");
}

#[test]
fn a_narrow_character_over_a_wide_one_in_a_whole_frame_leaves_no_coloured_blank_beside_it() {
    // The same in the list's preview of the worker: a frame that keeps no row is compared whole.
    let mut live = Live::new(80, 12);
    let mut st = busy_state();
    live.resize(&mut st, 80, 12);
    history(&mut st, "$ ");
    assert_ne!(st.mode, Mode::Attach);
    output(&mut st, "漢x".as_bytes());
    live.check(&st, "a wide character");
    let before = live.painter.stats();
    output(&mut st, b"\r\x1b[3G\x1b[44mg\x1b[m ");
    live.check(&st, "a blue narrow one over its left half, a default blank after it");
    assert_eq!(live.painter.stats().rows_kept, before.rows_kept, "a whole frame");
}

#[test]
fn frames_over_the_attach_view_equal_whole_frames() {
    let mut live = Live::new(60, 16);
    let mut st = attached(&mut live, 60, 16);
    let lines: String = (0..40).map(|i| format!("line {i} foo\r\n")).collect();
    history(&mut st, &(lines + "$ "));
    live.check(&st, "history");
    output(&mut st, b"ls");
    live.check(&st, "echo");
    // Scrolled back, searched, back to live.
    shift(&mut st, KeyCode::PageUp);
    live.check(&st, "scrolled back");
    key(&mut st, KeyCode::Char('/'));
    for c in "foo".chars() {
        key(&mut st, KeyCode::Char(c));
    }
    live.check(&st, "search prompt");
    key(&mut st, KeyCode::Enter);
    live.check(&st, "search results");
    key(&mut st, KeyCode::Esc);
    live.check(&st, "search closed");
    shift(&mut st, KeyCode::PageDown);
    live.check(&st, "live again");
    // Copy mode over the screen, then out of it.
    ctrl(&mut st, '\\');
    live.check(&st, "chord pending");
    key(&mut st, KeyCode::Char('['));
    live.check(&st, "copy mode");
    key(&mut st, KeyCode::Char('k'));
    key(&mut st, KeyCode::Char('v'));
    key(&mut st, KeyCode::Char('k'));
    live.check(&st, "a selection");
    key(&mut st, KeyCode::Char('q'));
    live.check(&st, "copy mode left");
    // A notice in the header, a renamed session.
    st.update(Msg::Done(Done::Failed("something broke".into())));
    live.check(&st, "notice");
    rename_session(&mut st, 43, "renamed");
    live.check(&st, "renamed");
    // The exit banner over the screen, then a restart's history.
    worker_message(&mut st, WorkerServerMsg::Exit { exit_code: Some(2), signal: None });
    live.check(&st, "exit banner");
    history(&mut st, "restarted\r\n$ ");
    live.check(&st, "restarted");
    // A resize, smaller then larger.
    live.resize(&mut st, 40, 10);
    live.check(&st, "smaller");
    live.resize(&mut st, 70, 20);
    live.check(&st, "larger");
    // Detached: the dashboard, its help, a dialog, the wall; attached again.
    ctrl(&mut st, '\\');
    st.update(Msg::ChordTimeout);
    assert_ne!(st.mode, Mode::Attach, "detached");
    live.check(&st, "dashboard");
    key(&mut st, KeyCode::Char('?'));
    live.check(&st, "help");
    key(&mut st, KeyCode::Esc);
    key(&mut st, KeyCode::Char('n'));
    live.check(&st, "new session dialog");
    key(&mut st, KeyCode::Esc);
    key(&mut st, KeyCode::Char('g'));
    live.check(&st, "wall");
    key(&mut st, KeyCode::Char('g'));
    key(&mut st, KeyCode::Enter);
    live.check(&st, "attached again");
    output(&mut st, b"more");
    live.check(&st, "output after attaching again");
}

#[test]
fn frames_after_random_scripts_equal_whole_frames() {
    for seed in 0..40u64 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let (cols, rows) = (rng.random_range(20..90), rng.random_range(5..30));
        let mut live = Live::new(cols, rows);
        let mut st = attached(&mut live, cols, rows);
        let mut seq = 43;
        for step in 0..80 {
            let what = match rng.random_range(0..40) {
                0..20 => {
                    output(&mut st, &program_output(&mut rng));
                    "output"
                }
                20..22 => {
                    shift(&mut st, KeyCode::PageUp);
                    "page up"
                }
                22..24 => {
                    shift(&mut st, KeyCode::PageDown);
                    "page down"
                }
                24 => {
                    for c in ['/', 'o', 'x'] {
                        key(&mut st, KeyCode::Char(c));
                    }
                    key(&mut st, KeyCode::Enter);
                    "search"
                }
                25 => {
                    key(&mut st, KeyCode::Esc);
                    "escape"
                }
                26 => {
                    ctrl(&mut st, '\\');
                    key(&mut st, KeyCode::Char('['));
                    key(&mut st, KeyCode::Char('k'));
                    "copy mode"
                }
                27 => {
                    key(&mut st, KeyCode::Char('q'));
                    "q"
                }
                28 => {
                    let (c, r) = (rng.random_range(10..100), rng.random_range(3..35));
                    live.resize(&mut st, c, r);
                    "resize"
                }
                29 => {
                    worker_message(&mut st, WorkerServerMsg::Exit { exit_code: Some(1), signal: None });
                    "exit"
                }
                30 => {
                    history(&mut st, "fresh\r\n$ ");
                    "history"
                }
                31 => {
                    ctrl(&mut st, '\\');
                    st.update(Msg::ChordTimeout);
                    "detach"
                }
                32 => {
                    key(&mut st, KeyCode::Enter);
                    "enter"
                }
                33 => {
                    key(&mut st, KeyCode::Char('?'));
                    "help"
                }
                34 => {
                    key(&mut st, KeyCode::Char('g'));
                    "wall"
                }
                35 => {
                    seq += 1;
                    rename_session(&mut st, seq, &format!("title {seq}"));
                    "rename"
                }
                36 => {
                    st.update(Msg::Done(Done::Failed(format!("failure {step}"))));
                    "notice"
                }
                _ => {
                    key(&mut st, KeyCode::Char('a'));
                    "a key"
                }
            };
            live.check(&st, &format!("seed {seed} step {step} ({what}, {:?})", st.mode));
        }
    }
}
