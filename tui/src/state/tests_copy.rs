//! Copy mode through `State::update`: the chord, the copy's effect, the frozen view, the mouse.

use super::tests::{a1, a1_history, code, key, two_sessions};
use super::*;
use crate::keymap::parse_chord;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn keys(st: &mut State, typed: &str) -> Vec<Effect> {
    typed.chars().flat_map(|c| st.update(key(c)).effects).collect()
}

/// Attached to `a1`, which shows `data` on a 40×5 screen.
fn attached(data: &str) -> State {
    let mut st = two_sessions();
    st.update(Msg::Resize { cols: 40, rows: 6 });
    st.update(a1_history(data, 40, 5, 0));
    st.update(code(KeyCode::Enter));
    assert_eq!(st.mode, Mode::Attach);
    st
}

fn copy(st: &State) -> Option<&copy::CopyMode> {
    st.term.as_ref().and_then(|t| t.copy.as_ref())
}

fn mouse(kind: MouseEventKind, column: u16, row: u16) -> Msg {
    Msg::Mouse {
        event: MouseEvent { kind, column, row, modifiers: KeyModifiers::NONE },
        at: std::time::Instant::now(),
    }
}

#[test]
fn the_chord_enters_copy_mode_and_y_copies_to_the_clipboard_and_leaves() {
    let mut st = attached("$ echo hello world\r\nhello world\r\n$ ");
    let first = st.update(ctrl('\\'));
    assert!(first.effects.is_empty() && first.redraw, "the first key waits, and says so");
    assert!(st.chord_pending());
    let second = st.update(key('['));
    assert!(second.effects.is_empty(), "nothing reaches the program: {:?}", second.effects);
    assert!(!st.chord_pending());
    assert!(copy(&st).is_some(), "in copy mode");
    assert_eq!(st.mode, Mode::Attach);
    // Up to `hello world`, onto `world`, select it.
    assert!(keys(&mut st, "k0wve").is_empty());
    let fx = keys(&mut st, "y");
    assert_eq!(fx, vec![Effect::Clipboard { text: "world".into() }]);
    assert!(copy(&st).is_none(), "y leaves copy mode");
    assert_eq!(st.term.as_ref().and_then(|t| t.note.as_deref()), Some("copied 5 chars"));
    // The next key goes to the program again (and the note goes).
    let next = st.update(key('x'));
    assert_eq!(next.effects, vec![Effect::Input { bytes: b"x".to_vec() }]);
    assert!(next.redraw, "the note went");
}

#[test]
fn capital_y_copies_the_whole_screen() {
    let mut st = attached("one\r\ntwo\r\n$ ");
    st.update(ctrl('\\'));
    st.update(key('['));
    assert_eq!(keys(&mut st, "Y"), vec![Effect::Clipboard { text: "one\ntwo\n$".into() }]);
}

#[test]
fn the_detach_key_alone_still_detaches_after_the_timeout_or_another_key() {
    let mut st = attached("$ ");
    st.update(ctrl('\\'));
    let fx = st.update(Msg::ChordTimeout).effects;
    assert_eq!(st.mode, Mode::Dashboard);
    assert!(fx.is_empty());
    // Another key than `[` detaches at once, and is not read as a dashboard command.
    st.update(code(KeyCode::Enter));
    st.update(ctrl('\\'));
    let fx = st.update(key('x')).effects;
    assert_eq!(st.mode, Mode::Dashboard);
    assert!(fx.is_empty(), "x did not ask to stop the worker: {fx:?}");
    assert!(!st.update(Msg::ChordTimeout).redraw, "a late timeout does nothing");
}

#[test]
fn a_chord_on_another_first_key_sends_that_key_when_it_is_not_the_chord() {
    let mut st = two_sessions();
    st.settings.keys.copy_mode = parse_chord("ctrl-a [").expect("chord");
    st.update(a1_history("$ ", 40, 5, 0));
    st.update(code(KeyCode::Enter));
    assert!(st.update(ctrl('a')).effects.is_empty());
    let fx = st.update(key('x')).effects;
    assert_eq!(
        fx,
        vec![Effect::Input { bytes: vec![0x01] }, Effect::Input { bytes: b"x".to_vec() }],
        "ctrl-a then x reach the program in order"
    );
    st.update(ctrl('a'));
    assert_eq!(st.update(Msg::ChordTimeout).effects, vec![Effect::Input { bytes: vec![0x01] }]);
    assert_eq!(st.mode, Mode::Attach);
    // The detach key detaches at once when it does not start the chord.
    st.update(ctrl('\\'));
    assert_eq!(st.mode, Mode::Dashboard);
}

#[test]
fn a_one_key_chord_enters_at_once() {
    let mut st = two_sessions();
    st.settings.keys.copy_mode = parse_chord("f2").expect("chord");
    st.update(a1_history("$ ", 40, 5, 0));
    st.update(code(KeyCode::Enter));
    st.update(code(KeyCode::F(2)));
    assert!(copy(&st).is_some());
    assert!(!st.chord_pending());
    st.update(key('q'));
    assert!(copy(&st).is_none(), "q leaves");
    assert_eq!(st.mode, Mode::Attach);
}

#[test]
fn output_keeps_arriving_while_the_copy_stays_where_it_was() {
    let mut st = attached("before\r\n$ ");
    st.update(ctrl('\\'));
    st.update(key('['));
    st.update(a1(WorkerEvent::Output { offset: 10, bytes: bytes::Bytes::from_static(b"after\r\n$ ") }));
    let term = st.term.as_ref().expect("term");
    assert!(term.parser.term().contents().contains("after"), "the live screen took the output");
    assert_eq!(copy(&st).map(copy::CopyMode::screen_text).as_deref(), Some("before\n$"), "the copy did not");
    st.update(key('q'));
    assert!(copy(&st).is_none());
}

#[test]
fn a_copy_over_the_clipboard_cap_is_refused_with_a_note() {
    let mut st = attached("0123456789\r\n$ ");
    st.settings.clipboard_max = 4;
    st.update(ctrl('\\'));
    st.update(key('['));
    let fx = keys(&mut st, "kY");
    assert!(fx.is_empty(), "nothing sent: {fx:?}");
    let note = st.term.as_ref().and_then(|t| t.note.clone()).unwrap_or_default();
    assert!(note.contains("clipboard-max-kib"), "{note}");
}

#[test]
fn a_mouse_drag_over_a_program_without_mouse_reports_copies() {
    let mut st = attached("hello world\r\n$ ");
    // Row 1 of the terminal is the screen's first row (the header is row 0).
    let down = st.update(mouse(MouseEventKind::Down(MouseButton::Left), 6, 1));
    assert!(down.effects.is_empty());
    assert!(copy(&st).is_none(), "a press alone is no selection");
    st.update(mouse(MouseEventKind::Drag(MouseButton::Left), 8, 1));
    assert!(copy(&st).is_some_and(copy::CopyMode::dragging), "a drag selects in copy mode");
    st.update(mouse(MouseEventKind::Drag(MouseButton::Left), 10, 1));
    let fx = st.update(mouse(MouseEventKind::Up(MouseButton::Left), 10, 1)).effects;
    assert_eq!(fx, vec![Effect::Clipboard { text: "world".into() }]);
    assert!(copy(&st).is_none());
}

#[test]
fn a_program_that_asked_for_mouse_reports_gets_the_drag() {
    let mut st = attached("\x1b[?1002h\x1b[?1006hmouse app");
    st.update(mouse(MouseEventKind::Down(MouseButton::Left), 2, 1));
    let fx = st.update(mouse(MouseEventKind::Drag(MouseButton::Left), 4, 1)).effects;
    assert!(copy(&st).is_none());
    assert!(matches!(fx.as_slice(), [Effect::Input { .. }]), "{fx:?}");
}

#[test]
fn osc52_carries_the_text_in_base64_and_is_wrapped_inside_tmux() {
    assert_eq!(clipboard_bytes("hello", false), b"\x1b]52;c;aGVsbG8=\x07");
    assert_eq!(clipboard_bytes("hello", true), b"\x1bPtmux;\x1b\x1b]52;c;aGVsbG8=\x07\x1b\\");
    assert_eq!(clipboard_bytes("漢", false), b"\x1b]52;c;5ryi\x07", "UTF-8, then base64");
}

#[test]
fn a_resize_or_a_new_history_ends_copy_mode() {
    let mut st = attached("$ ");
    st.update(ctrl('\\'));
    st.update(key('['));
    st.update(Msg::Resize { cols: 50, rows: 10 });
    assert!(copy(&st).is_none(), "the copy was taken at the old size");
    st.update(ctrl('\\'));
    st.update(key('['));
    st.update(a1_history("fresh", 40, 5, 0));
    assert!(copy(&st).is_none());
}

/// Not copy mode, but the same view: while attached, another session's traffic is not drawn.
#[test]
fn while_attached_other_sessions_deltas_and_round_trips_draw_nothing() {
    use controlroom_protocol::{ActivityState, Delta, DeltaEvent};
    let mut st = attached("$ ");
    let delta = |seq, event| {
        Msg::App(AppEvent::Message(Box::new(AppServerMsg::Delta(Delta {
            seq,
            timestamp: String::new(),
            event,
        }))))
    };
    let activity = DeltaEvent::WorkerActivity {
        session_id: SessionId::new("b"),
        worker_id: WorkerId::new("b1"),
        activity_state: ActivityState::Active,
    };
    assert!(!st.update(delta(11, activity)).redraw, "a flooding session elsewhere spends no frame");
    assert!(!st.update(Msg::App(AppEvent::Rtt(std::time::Duration::from_millis(2)))).redraw);
    let before = st.store.get(&SessionId::new("a")).cloned().expect("session a");
    let renamed = Session { title: "renamed".into(), ..before.clone() };
    let update = DeltaEvent::SessionUpdated { session_id: SessionId::new("a"), session: renamed, before };
    assert!(st.update(delta(12, update)).redraw, "the attached session's title is in the header");
}
