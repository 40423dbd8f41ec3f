//! Unit tests of `State::update`.

use super::*;
use controlroom_protocol::{
    ActivityEntry, ActivityState, Delta, DeltaEvent, Replay, SessionsSync, WorkerKind, WorkerState,
};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn worker(id: &str, state: WorkerState) -> Worker {
    Worker {
        id: WorkerId::new(id),
        name: id.into(),
        kind: WorkerKind::Shell,
        command: vec!["bash".into()],
        cwd: "/tmp".into(),
        state,
        exit_code: (state == WorkerState::Exited).then_some(0),
        signal: None,
        pid: None,
        cols: 80,
        rows: 24,
        started_at: "2026-01-01T00:00:00Z".into(),
        preset: None,
        notification: None,
        prompt: None,
    }
}

fn session(id: &str, created: &str, workers: Vec<Worker>) -> Session {
    Session {
        id: SessionId::new(id),
        title: format!("title-{id}"),
        cwd: "/tmp".into(),
        repository: None,
        branch: None,
        created_at: created.into(),
        source: None,
        status: None,
        read_only: false,
        git: None,
        updated_at: created.into(),
        workers,
    }
}

fn sync(sessions: Vec<Session>, seq: u64) -> Msg {
    Msg::App(AppEvent::Message(Box::new(AppServerMsg::SessionsSync(SessionsSync {
        sessions,
        activity_states: vec![],
        sources: vec![],
        seq,
        epoch: "e1".into(),
        timestamp: String::new(),
    }))))
}

fn delta(seq: u64, event: DeltaEvent) -> Msg {
    Msg::App(AppEvent::Message(Box::new(AppServerMsg::Delta(Delta { seq, timestamp: String::new(), event }))))
}

/// An event from worker `a1` of session `a` (the one `two_sessions` watches).
pub(super) fn a1(event: WorkerEvent) -> Msg {
    Msg::Worker { session: SessionId::new("a"), worker: WorkerId::new("a1"), event }
}

/// `history` from worker `a1`.
pub(super) fn a1_history(data: &str, cols: u16, rows: u16, offset: u64) -> Msg {
    a1(WorkerEvent::Message(WorkerServerMsg::History { data: data.into(), cols, rows, offset }))
}

pub(super) fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub(super) fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

pub(super) fn two_sessions() -> State {
    let mut st = State::new(Settings::default(), "http://127.0.0.1:7420", "dark");
    st.update(sync(
        vec![
            session("a", "2026-01-01T00:00:00Z", vec![worker("a1", WorkerState::Running)]),
            session(
                "b",
                "2026-01-02T00:00:00Z",
                vec![worker("b1", WorkerState::Running), worker("b2", WorkerState::Running)],
            ),
        ],
        10,
    ));
    st
}

#[test]
fn sync_selects_first_session_and_watches_its_worker() {
    let mut st = State::new(Settings::default(), "http://x", "dark");
    let fx = st
        .update(sync(vec![session("a", "2026-01-01T00:00:00Z", vec![worker("a1", WorkerState::Running)])], 3))
        .effects;
    assert_eq!(st.selected_session, Some(SessionId::new("a")));
    assert_eq!(fx, vec![Effect::Watch(Some((SessionId::new("a"), WorkerId::new("a1"))))]);
    assert_eq!(st.store.seq, Some(3));
}

#[test]
fn deltas_with_seen_seq_are_ignored() {
    let mut st = two_sessions();
    let created = session("c", "2026-01-03T00:00:00Z", vec![]);
    st.update(delta(
        11,
        DeltaEvent::SessionCreated { session_id: SessionId::new("c"), session: created.clone() },
    ));
    assert_eq!(st.store.all().len(), 3);
    // A replayed older delta must not resurrect or duplicate anything.
    st.update(delta(
        12,
        DeltaEvent::SessionDeleted { session_id: SessionId::new("c"), before: created.clone() },
    ));
    st.update(delta(11, DeltaEvent::SessionCreated { session_id: SessionId::new("c"), session: created }));
    assert_eq!(st.store.all().len(), 2);
    assert_eq!(st.store.seq, Some(12));
}

#[test]
fn replay_applies_only_new_deltas() {
    let mut st = two_sessions();
    let replay = Replay {
        deltas: vec![
            Delta {
                seq: 9,
                timestamp: String::new(),
                event: DeltaEvent::SessionDeleted {
                    session_id: SessionId::new("a"),
                    before: session("a", "", vec![]),
                },
            },
            Delta {
                seq: 11,
                timestamp: String::new(),
                event: DeltaEvent::WorkerActivity {
                    session_id: SessionId::new("b"),
                    worker_id: WorkerId::new("b1"),
                    activity_state: ActivityState::Asking,
                },
            },
        ],
        seq: 11,
    };
    st.update(Msg::App(AppEvent::Message(Box::new(AppServerMsg::Replay(replay)))));
    assert_eq!(st.store.all().len(), 2, "seq 9 was already seen");
    // The asking session sorts first.
    assert_eq!(st.store.visible("")[0].id, SessionId::new("b"));
}

#[test]
fn reconnect_requests_sync_since_last_seq() {
    let mut st = two_sessions();
    st.update(Msg::App(AppEvent::Disconnected {
        reason: "gateway stopped".into(),
        attempt: 1,
        retry_at: Instant::now(),
    }));
    assert!(matches!(st.link, Link::Reconnecting { attempt: 1, .. }));
    let fx = st.update(Msg::App(AppEvent::Connected { url: "http://127.0.0.1:9999".into() })).effects;
    assert_eq!(fx, vec![Effect::LoadPresets, Effect::RequestSync { since: Some(10) }]);
    assert_eq!(st.link, Link::Connected);
    assert_eq!(st.url, "http://127.0.0.1:9999");
}

#[test]
fn moving_down_changes_the_watched_worker() {
    let mut st = two_sessions();
    let fx = st.update(key('j')).effects;
    assert_eq!(st.selected_session, Some(SessionId::new("b")));
    assert_eq!(fx, vec![Effect::Watch(Some((SessionId::new("b"), WorkerId::new("b1"))))]);
    st.update(code(KeyCode::Tab));
    assert_eq!(st.focus, Focus::Workers);
    let fx = st.update(code(KeyCode::Down)).effects;
    assert_eq!(fx, vec![Effect::Watch(Some((SessionId::new("b"), WorkerId::new("b2"))))]);
    st.update(code(KeyCode::Down));
    assert_eq!(st.selected_worker, Some(WorkerId::new("b2")), "clamped at the end");
}

#[test]
fn attach_sends_resize_and_detach_chord_returns() {
    let mut st = two_sessions();
    st.update(Msg::Resize { cols: 100, rows: 30 });
    st.update(a1_history("$ ", 80, 24, 2));
    let fx = st.update(code(KeyCode::Enter)).effects;
    assert_eq!(st.mode, Mode::Attach);
    assert_eq!(fx, vec![Effect::Send(WorkerClientMsg::Resize { cols: 100, rows: 29 })]);
    let fx = st.update(key('l')).effects;
    assert_eq!(fx, vec![Effect::Input { bytes: b"l".to_vec() }]);
    let fx = st.update(code(KeyCode::Up)).effects;
    assert_eq!(fx, vec![Effect::Input { bytes: b"\x1b[A".to_vec() }]);
    // `q` goes to the worker while attached, it does not quit.
    let fx = st.update(key('q')).effects;
    assert!(!st.quit);
    assert_eq!(fx.len(), 1);
    st.update(Msg::Key(KeyEvent::new(KeyCode::Char('\\'), KeyModifiers::CONTROL)));
    assert_eq!(st.mode, Mode::Attach, "ctrl-\\ waits for a `[` (copy mode) first");
    let fx = st.update(Msg::ChordTimeout).effects;
    assert_eq!(st.mode, Mode::Dashboard);
    assert!(fx.is_empty(), "detaching keeps the worker socket for the preview");
}

#[test]
fn typing_into_a_live_worker_needs_no_frame_but_anything_visible_does() {
    let mut st = two_sessions();
    st.update(Msg::Resize { cols: 100, rows: 30 });
    st.update(a1_history(&"line\r\n".repeat(60), 80, 24, 0));
    assert!(st.update(code(KeyCode::Enter)).redraw, "attaching changes the screen");
    assert!(!st.update(key('l')).redraw, "a key only sent to the program: its echo will draw");
    assert!(
        st.update(Msg::Key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::SHIFT))).redraw,
        "scrolling back is drawn"
    );
    assert!(
        st.update(key('x')).redraw,
        "typing while scrolled back jumps to the live screen, which is drawn"
    );
    assert!(st.update(Msg::Tick { now: jiff::Timestamp::UNIX_EPOCH, instant: Instant::now() }).redraw);
    assert!(
        st.update(Msg::Key(KeyEvent::new(KeyCode::Char('\\'), KeyModifiers::CONTROL))).redraw,
        "detaching is drawn"
    );
    assert!(st.update(Msg::ChordTimeout).redraw, "and so is the detach itself");
    assert!(st.update(key('j')).redraw, "dashboard keys are drawn");
}

#[test]
fn mouse_goes_to_programs_that_ask_and_scrolls_back_otherwise() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut st = two_sessions();
    st.update(Msg::Resize { cols: 100, rows: 30 });
    let history = |data: &str| a1_history(data, 80, 24, 0);
    let at = Instant::now();
    let mouse = |kind, column, row| Msg::Mouse {
        event: MouseEvent { kind, column, row, modifiers: KeyModifiers::NONE },
        at,
    };
    // A program with SGR mouse reporting on (as htop or vim with `mouse=a`) gets the click,
    // in its own coordinates (the header line is not part of its screen).
    st.update(history("\x1b[?1000h\x1b[?1006h"));
    st.update(code(KeyCode::Enter));
    let fx = st.update(mouse(MouseEventKind::Down(MouseButton::Left), 4, 3)).effects;
    assert_eq!(fx, vec![Effect::Input { bytes: b"\x1b[<0;5;3M".to_vec() }]);
    assert!(
        st.update(mouse(MouseEventKind::Down(MouseButton::Left), 4, 0)).effects.is_empty(),
        "header clicks stay local"
    );
    // A shell that did not ask: the wheel scrolls our scrollback and nothing is sent.
    st.update(history("$ "));
    assert!(st.update(mouse(MouseEventKind::ScrollUp, 4, 3)).effects.is_empty());
}

#[test]
fn mouse_reports_that_are_not_utf8_are_sent_byte_for_byte() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut st = two_sessions();
    st.update(Msg::Resize { cols: 250, rows: 30 });
    // Mode 1000 in the legacy X10 encoding: each coordinate is one byte, 32 + 1 + position.
    st.update(a1_history("\x1b[?1000h", 80, 24, 0));
    st.update(code(KeyCode::Enter));
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 200,
        row: 3,
        modifiers: KeyModifiers::NONE,
    };
    let update = st.update(Msg::Mouse { event: click, at: Instant::now() });
    // Column 200 is byte 0xE9, not UTF-8 on its own: it used to be dropped.
    assert_eq!(update.effects, vec![Effect::Input { bytes: b"\x1b[M \xe9#".to_vec() }]);
    assert!(!update.redraw, "a report only sent to the program draws nothing");
}

#[test]
fn a_paste_keeps_its_place_among_keys() {
    let mut st = two_sessions();
    st.update(a1_history("$ ", 80, 24, 0));
    st.update(code(KeyCode::Enter));
    let mut sent = Vec::new();
    for msg in [key('a'), Msg::Paste("pasted".into()), key('b')] {
        sent.extend(st.update(msg).effects);
    }
    let input = |b: &[u8]| Effect::Input { bytes: b.to_vec() };
    assert_eq!(sent, vec![input(b"a"), input(b"pasted"), input(b"b")]);
}

#[test]
fn output_is_deduplicated_by_offset() {
    let mut st = two_sessions();
    st.update(a1_history("$ ", 80, 24, 2));
    st.update(a1(WorkerEvent::Message(WorkerServerMsg::Output { data: "echo".into(), offset: 2 })));
    st.update(a1(WorkerEvent::Message(WorkerServerMsg::Output { data: "echo".into(), offset: 2 })));
    let term = st.term.as_ref().expect("watching");
    assert_eq!(term.parser.term().contents(), "$ echo");
    // Output for another worker is ignored.
    st.update(Msg::Worker {
        session: SessionId::new("b"),
        worker: WorkerId::new("b1"),
        event: WorkerEvent::Message(WorkerServerMsg::Output { data: "zzz".into(), offset: 0 }),
    });
    assert_eq!(st.term.as_ref().expect("watching").parser.term().contents(), "$ echo");
}

#[test]
fn binary_output_frames_feed_raw_bytes_joining_a_split_character() {
    let mut st = two_sessions();
    st.update(a1_history("$ ", 80, 24, 2));
    let bytes = |b: &'static [u8]| bytes::Bytes::from_static(b);
    st.update(a1(WorkerEvent::Output { offset: 2, bytes: bytes(b"caf\xc3") }));
    st.update(a1(WorkerEvent::Output { offset: 6, bytes: bytes(b"\xa9!") }));
    // A duplicate (same offset) is skipped, as in JSON mode.
    st.update(a1(WorkerEvent::Output { offset: 6, bytes: bytes(b"\xa9!") }));
    let term = st.term.as_ref().expect("watching");
    assert_eq!(term.parser.term().contents(), "$ caf\u{e9}!");
}

#[test]
fn exit_banner_offers_restart_and_back() {
    let mut st = two_sessions();
    let (s, w) = (SessionId::new("a"), WorkerId::new("a1"));
    st.update(code(KeyCode::Enter));
    st.update(Msg::Worker {
        session: s.clone(),
        worker: w.clone(),
        event: WorkerEvent::Message(WorkerServerMsg::Exit { exit_code: Some(1), signal: None }),
    });
    let fx = st.update(key('r')).effects;
    assert_eq!(fx, vec![Effect::RestartWorker { session: s.clone(), worker: w.clone() }]);
    let fx = st
        .update(Msg::Done(Done::WorkerStarted {
            session: s.clone(),
            worker: worker("a1", WorkerState::Running),
        }))
        .effects;
    assert_eq!(fx, vec![Effect::Watch(Some((s, w)))]);
    assert!(st.term.as_ref().is_some_and(|t| t.exit.is_none()));
}

#[test]
fn new_session_form_creates_with_command() {
    let mut st = two_sessions();
    st.update(key('n'));
    assert!(matches!(st.mode, Mode::Form(_)));
    for c in "api".chars() {
        st.update(key(c));
    }
    st.update(code(KeyCode::Tab));
    st.update(code(KeyCode::Tab));
    st.update(Msg::Paste("htop -d 5".into()));
    let fx = st.update(code(KeyCode::Enter)).effects;
    assert_eq!(st.mode, Mode::Dashboard);
    let [Effect::CreateSession(req)] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!(req.title, "api");
    assert_eq!(req.cwd, None);
    let spec = &req.workers.as_ref().expect("one worker")[0];
    assert_eq!(spec.command.as_deref(), Some(&["htop".to_owned(), "-d".into(), "5".into()][..]));
}

#[test]
fn delete_and_stop_confirm_first() {
    let mut st = two_sessions();
    assert!(st.update(key('D')).effects.is_empty());
    assert!(matches!(st.mode, Mode::Confirm(Confirm::DeleteSession { running: 1, .. })));
    assert!(st.update(key('n')).effects.is_empty());
    st.update(key('D'));
    assert_eq!(st.update(key('y')).effects, vec![Effect::DeleteSession(SessionId::new("a"))]);
    st.update(key('x'));
    let fx = st.update(code(KeyCode::Enter)).effects;
    assert_eq!(fx, vec![Effect::StopWorker { session: SessionId::new("a"), worker: WorkerId::new("a1") }]);
}

#[test]
fn quitting_never_asks_even_with_running_workers() {
    // Workers keep running in their holders after the front end (and its gateway) are gone.
    let mut st = State::new(Settings::default(), "http://x", "dark");
    st.update(sync(
        vec![session("a", "", vec![worker("a1", WorkerState::Running), worker("a2", WorkerState::Running)])],
        1,
    ));
    assert_eq!(st.update(key('q')).effects, vec![Effect::Quit]);
    assert!(st.quit);

    let mut remote = two_sessions();
    assert_eq!(remote.update(key('q')).effects, vec![Effect::Quit]);
}

#[test]
fn filter_narrows_and_escape_clears() {
    let mut st = two_sessions();
    st.update(key('/'));
    for c in "-b".chars() {
        st.update(key(c));
    }
    st.update(code(KeyCode::Enter));
    assert_eq!(st.store.visible(&st.filter).len(), 1);
    assert_eq!(st.selected_session, Some(SessionId::new("b")));
    st.update(code(KeyCode::Esc));
    assert!(st.filter.is_empty());
}

#[test]
fn theme_cycles_and_help_toggles() {
    let mut st = two_sessions();
    assert_eq!(st.update(key('t')).effects, vec![Effect::Theme("light".into())]);
    st.update(key('?'));
    assert_eq!(st.mode, Mode::Help(super::help::HelpView::default()));
    st.update(key('x'));
    assert_eq!(st.mode, Mode::Dashboard);
}

#[test]
fn auth_failure_is_terminal_state() {
    let mut st = two_sessions();
    st.update(Msg::App(AppEvent::AuthFailed("token rejected".into())));
    assert_eq!(st.link, Link::AuthFailed("token rejected".into()));
}

#[test]
fn expired_token_stops_retrying_and_says_how_to_fix_it() {
    let mut st = two_sessions();
    // The client's words for a 4001 close (`client::ws::TOKEN_EXPIRED`); how the status bar
    // shows them is tested in `ui/status.rs`.
    let reason = "token expired — mint a new one with `controlroom token --ttl ...`".to_owned();
    let fx = st.update(Msg::App(AppEvent::AuthFailed(reason.clone()))).effects;
    assert!(fx.is_empty(), "nothing is retried: {fx:?}");
    assert_eq!(st.link, Link::AuthFailed(reason));
    // Sessions seen before stay on screen.
    assert_eq!(st.store.all().len(), 2);
}

#[test]
fn activity_and_failed_exit_draw_attention() {
    let mut st = two_sessions();
    let mut failed = worker("a1", WorkerState::Exited);
    failed.exit_code = Some(2);
    let before = st.store.get(&SessionId::new("b")).cloned().expect("b");
    let mut after = before.clone();
    after.workers[0] = failed;
    after.workers[0].id = WorkerId::new("b1");
    st.update(delta(
        11,
        DeltaEvent::SessionUpdated { session_id: SessionId::new("b"), session: after, before },
    ));
    assert_eq!(st.store.visible("")[0].id, SessionId::new("b"));
    let entry = ActivityEntry {
        session_id: SessionId::new("a"),
        worker_id: WorkerId::new("a1"),
        activity_state: ActivityState::Idle,
    };
    assert_eq!(entry.activity_state, ActivityState::Idle);
}

#[test]
fn mouse_click_selects_and_double_click_attaches() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut st = two_sessions();
    st.update(Msg::Resize { cols: 100, rows: 30 });
    let click = |row| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 5,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let t0 = Instant::now();
    // Sessions start at row 1 inside the border, two rows each: row 3 is the second session.
    st.update(Msg::Mouse { event: click(3), at: t0 });
    assert_eq!(st.selected_session, Some(SessionId::new("b")));
    st.update(Msg::Mouse { event: click(3), at: t0 + Duration::from_millis(100) });
    assert_eq!(st.mode, Mode::Attach);
}

fn activity(seq: u64, s: &str, w: &str, state: ActivityState) -> Msg {
    delta(
        seq,
        DeltaEvent::WorkerActivity {
            session_id: SessionId::new(s),
            worker_id: WorkerId::new(w),
            activity_state: state,
        },
    )
}

#[test]
fn a_jumps_to_asking_workers_then_failed_ones() {
    let mut st = two_sessions();
    st.update(key('a'));
    assert_eq!(st.notice.as_ref().map(|n| n.text.as_str()), Some("no worker needs you"));
    st.update(activity(11, "b", "b2", ActivityState::Asking));
    let mut failed = session("a", "2026-01-01T00:00:00Z", vec![worker("a1", WorkerState::Exited)]);
    failed.workers[0].exit_code = Some(2);
    st.update(delta(
        12,
        DeltaEvent::SessionUpdated {
            session_id: SessionId::new("a"),
            session: failed,
            before: session("a", "", vec![]),
        },
    ));
    let fx = st.update(key('a')).effects;
    assert_eq!(
        (st.selected_session.clone(), st.selected_worker.clone()),
        (Some(SessionId::new("b")), Some(WorkerId::new("b2")))
    );
    assert_eq!(st.focus, Focus::Workers);
    assert_eq!(fx, vec![Effect::Watch(Some((SessionId::new("b"), WorkerId::new("b2"))))]);
    st.update(key('a'));
    assert_eq!(st.selected_worker, Some(WorkerId::new("a1")), "then the failed one");
    st.update(key('a'));
    assert_eq!(st.selected_worker, Some(WorkerId::new("b2")), "wraps around");
}

#[test]
fn asking_and_failed_exits_raise_debounced_notifications() {
    let settings = Settings { notify: attention::NotifyMode::Osc9, ..Settings::default() };
    let mut st = State::new(settings, "http://x", "dark");
    st.update(sync(vec![session("a", "2026-01-01T00:00:00Z", vec![worker("a1", WorkerState::Running)])], 10));
    let fx = st.update(activity(11, "a", "a1", ActivityState::Asking)).effects;
    assert_eq!(
        fx,
        vec![Effect::Notify { title: "controlroom".into(), body: "title-a/a1 is waiting for you".into() }]
    );
    // Still asking: nothing new. Asking again soon after: debounced.
    assert!(st.update(activity(12, "a", "a1", ActivityState::Asking)).effects.is_empty());
    st.update(activity(13, "a", "a1", ActivityState::Idle));
    assert!(st.update(activity(14, "a", "a1", ActivityState::Asking)).effects.is_empty());
    // A failed exit of another worker notifies; a clean exit does not.
    let before =
        session("a", "", vec![worker("a1", WorkerState::Running), worker("a2", WorkerState::Running)]);
    let mut after =
        session("a", "", vec![worker("a1", WorkerState::Running), worker("a2", WorkerState::Exited)]);
    after.workers[1].exit_code = Some(1);
    let fx = st
        .update(delta(
            15,
            DeltaEvent::SessionUpdated {
                session_id: SessionId::new("a"),
                session: after.clone(),
                before: before.clone(),
            },
        ))
        .effects;
    assert!(
        matches!(&fx[..], [Effect::Notify { body, .. }] if body.ends_with("a2 exited with code 1")),
        "{fx:?}"
    );
    after.workers[1].exit_code = Some(0);
    let mut quiet = State::new(
        Settings { notify: attention::NotifyMode::Osc9, ..Settings::default() },
        "http://x",
        "dark",
    );
    quiet.update(sync(vec![before.clone()], 10));
    let fx = quiet
        .update(delta(
            11,
            DeltaEvent::SessionUpdated { session_id: SessionId::new("a"), session: after, before },
        ))
        .effects;
    assert!(!fx.iter().any(|e| matches!(e, Effect::Notify { .. })), "{fx:?}");
    // Off means off.
    let mut off = State::new(Settings::default(), "http://x", "dark");
    off.update(sync(
        vec![session("a", "2026-01-01T00:00:00Z", vec![worker("a1", WorkerState::Running)])],
        10,
    ));
    assert!(off.update(activity(11, "a", "a1", ActivityState::Asking)).effects.is_empty());
}

#[test]
fn restarting_a_lost_agent_shows_the_resume_command_first() {
    let mut st = State::new(Settings::default(), "http://x", "dark");
    let lost = Worker {
        preset: Some("claude".into()),
        command: vec!["claude".into()],
        exit_code: None,
        signal: Some(controlroom_protocol::WORKER_LOST.into()),
        ..worker("a1", WorkerState::Exited)
    };
    st.update(sync(vec![session("a", "", vec![lost])], 1));
    st.update(Msg::Done(Done::Presets(vec![controlroom_protocol::Preset {
        name: "claude".into(),
        command: vec!["claude".into()],
        kind: WorkerKind::Agent,
        origin: "builtin".into(),
        resume_args: vec!["--continue".into()],
    }])));
    st.update(code(KeyCode::Tab));
    assert!(st.update(key('R')).effects.is_empty(), "asks first");
    let Mode::Confirm(c) = &st.mode else { panic!("should confirm") };
    assert!(c.question().contains("claude --continue"), "{}", c.question());
    let fx = st.update(key('y')).effects;
    assert_eq!(fx, vec![Effect::RestartWorker { session: SessionId::new("a"), worker: WorkerId::new("a1") }]);

    // Any other exited worker restarts at once.
    let mut plain = State::new(Settings::default(), "http://x", "dark");
    plain.update(sync(vec![session("a", "", vec![worker("a1", WorkerState::Exited)])], 1));
    plain.update(code(KeyCode::Tab));
    let fx = plain.update(key('R')).effects;
    assert_eq!(fx, vec![Effect::RestartWorker { session: SessionId::new("a"), worker: WorkerId::new("a1") }]);
}
