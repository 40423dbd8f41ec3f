//! Snapshot tests: the state drawn into ratatui's `TestBackend`, compared with insta snapshots.
//! Attach views replay real program output recorded from a PTY (`tests/fixtures/*.bin`).

mod common;

use common::*;
use controlroom_protocol::{
    AppServerMsg, Session, SessionId, SessionsSync, WorkerId, WorkerKind, WorkerServerMsg,
};
use controlroom_tui::state::{AppEvent, Link, Mode, Msg, State, WorkerEvent};
use controlroom_tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};

#[test]
fn dashboard_empty() {
    let st = base_state();
    insta::assert_snapshot!(render(&st, 100, 28));
}

#[test]
fn dashboard_sessions_with_every_activity_state() {
    let mut st = busy_state();
    feed_history(&mut st, include_bytes!("fixtures/shell_prompt.bin"));
    insta::assert_snapshot!(render(&st, 100, 28));
}

#[test]
fn dashboard_workers_focus_and_filter() {
    let mut st = busy_state();
    key(&mut st, KeyCode::Char('/'));
    for c in "do".chars() {
        key(&mut st, KeyCode::Char(c));
    }
    key(&mut st, KeyCode::Enter);
    key(&mut st, KeyCode::Tab);
    key(&mut st, KeyCode::Down);
    insta::assert_snapshot!(render(&st, 100, 20));
}

#[test]
fn dashboard_groups_source_sessions_and_shows_source_health() {
    use controlroom_protocol::{Delta, DeltaEvent, SourceStatus};
    let mut st = base_state();
    let from_source = |id: &str, title: &str, source: &str, status: &str| Session {
        source: Some(source.into()),
        status: Some(status.into()),
        read_only: true,
        cwd: String::new(),
        ..session(id, title, "2026-11-21T08:00:00Z", None, vec![])
    };
    st.update(Msg::App(AppEvent::Message(Box::new(AppServerMsg::SessionsSync(SessionsSync {
        sessions: vec![
            from_source("x-gh-1", "Fix login redirect", "github", "open"),
            session(
                "s1",
                "api",
                "2026-11-21T09:00:00Z",
                Some(("git@github.com:ada/api.git", "main")),
                vec![],
            ),
            from_source("x-ci-7", "nightly build", "ci", "running"),
        ],
        activity_states: vec![],
        sources: vec![SourceStatus {
            name: "github".into(),
            kind: "http".into(),
            ok: true,
            error: None,
            last_success: Some("2026-11-21T11:59:48Z".into()),
            session_count: 1,
        }],
        seq: 7,
        epoch: "e".into(),
        timestamp: String::new(),
    })))));
    // A source that starts failing reports it through a delta.
    st.update(Msg::App(AppEvent::Message(Box::new(AppServerMsg::Delta(Delta {
        seq: 8,
        timestamp: String::new(),
        event: DeltaEvent::SourceUpdated {
            name: "ci".into(),
            source: SourceStatus {
                name: "ci".into(),
                kind: "command".into(),
                ok: false,
                error: Some("timed out after 10s".into()),
                last_success: Some("2026-11-21T11:55:00Z".into()),
                session_count: 1,
            },
        },
    })))));
    st.update(Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)));
    let screen = render(&st, 100, 20);
    assert!(screen.contains("Read from ci: read-only"));
    let api = screen.find("api").expect("local session shown");
    let ci = screen.find("nightly build").expect("ci session shown");
    let gh = screen.find("Fix login redirect").expect("github session shown");
    assert!(api < ci && ci < gh, "local first, then grouped by source name");
    insta::assert_snapshot!(screen);
}

#[test]
fn status_bar_reconnecting() {
    let mut st = busy_state();
    let now = Instant::now();
    st.instant = now;
    st.link = Link::Reconnecting {
        reason: "gateway stopped".into(),
        attempt: 3,
        retry_at: now + Duration::from_secs(4),
    };
    st.rtt = None;
    let screen = render(&st, 100, 28);
    let last = screen.lines().last().expect("status line").to_owned();
    insta::assert_snapshot!(last);
}

#[test]
fn help_overlay() {
    let mut st = busy_state();
    key(&mut st, KeyCode::Char('?'));
    insta::assert_snapshot!(render(&st, 100, 28));
}

#[test]
fn help_overlay_scrolls_at_a_small_height() {
    let mut st = busy_state();
    st.update(Msg::Resize { cols: 100, rows: 12 });
    key(&mut st, KeyCode::Char('?'));
    let top = render(&st, 100, 12);
    assert!(top.contains("move up") && !top.contains("the session's git diff"), "{top}");
    assert!(top.contains("1–10 of 20"), "the border says there is more: {top}");
    // j scrolls a line, PgDn a page: the last binding comes into view, then the end stops it.
    key(&mut st, KeyCode::Char('j'));
    assert!(!render(&st, 100, 12).contains("move up"));
    key(&mut st, KeyCode::PageDown);
    key(&mut st, KeyCode::Down);
    let bottom = render(&st, 100, 12);
    assert!(bottom.contains("the session's git diff") && bottom.contains("11–20 of 20"), "{bottom}");
    insta::assert_snapshot!(bottom);
    // k goes back up; any other key closes the overlay.
    key(&mut st, KeyCode::Char('k'));
    assert!(render(&st, 100, 12).contains("10–19 of 20"));
    key(&mut st, KeyCode::Esc);
    assert_eq!(st.mode, Mode::Dashboard);
}

#[test]
fn new_session_dialog() {
    let mut st = busy_state();
    key(&mut st, KeyCode::Char('n'));
    for c in "payments".chars() {
        key(&mut st, KeyCode::Char(c));
    }
    key(&mut st, KeyCode::Tab);
    insta::assert_snapshot!(render(&st, 100, 28));
}

#[test]
fn new_worker_dialog_with_presets() {
    use controlroom_protocol::Preset;
    use controlroom_tui::state::Done;
    let mut st = busy_state();
    let preset = |name: &str, command: &[&str], kind| Preset {
        name: name.into(),
        command: command.iter().map(|c| c.to_string()).collect(),
        kind,
        origin: "builtin".into(),
        resume_args: Vec::new(),
    };
    st.update(Msg::Done(Done::Presets(vec![
        preset("shell", &[], WorkerKind::Shell),
        preset("claude", &["claude"], WorkerKind::Agent),
        preset("review", &["claude", "--model", "opus"], WorkerKind::Agent),
    ])));
    key(&mut st, KeyCode::Char('w'));
    key(&mut st, KeyCode::Right);
    key(&mut st, KeyCode::Right);
    insta::assert_snapshot!(render(&st, 100, 28));
    // Submitting sends the preset; the gateway fills in its command and kind.
    let fx = st.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))).effects;
    let spec = fx
        .iter()
        .find_map(|e| match e {
            controlroom_tui::state::Effect::CreateWorker { spec, .. } => Some(spec.clone()),
            _ => None,
        })
        .expect("a create-worker effect");
    assert_eq!(spec.preset.as_deref(), Some("review"));
    assert_eq!(spec.command, None);
}

#[test]
fn confirm_delete_dialog() {
    let mut st = busy_state();
    key(&mut st, KeyCode::Char('D'));
    insta::assert_snapshot!(render(&st, 100, 28));
}

fn attached(fixture: &[u8]) -> State {
    let mut st = busy_state();
    st.update(Msg::Resize { cols: 80, rows: 25 });
    feed_history(&mut st, fixture);
    key(&mut st, KeyCode::Enter);
    st
}

#[test]
fn attach_shell_prompt() {
    let st = attached(include_bytes!("fixtures/shell_prompt.bin"));
    insta::assert_snapshot!(render(&st, 80, 25));
}

#[test]
fn attach_vim() {
    let st = attached(include_bytes!("fixtures/vim.bin"));
    insta::assert_snapshot!(render(&st, 80, 25));
}

#[test]
fn attach_less() {
    let st = attached(include_bytes!("fixtures/less.bin"));
    insta::assert_snapshot!(render(&st, 80, 25));
}

#[test]
fn attach_top() {
    let st = attached(include_bytes!("fixtures/top.bin"));
    insta::assert_snapshot!(render(&st, 80, 25));
}

#[test]
fn attach_exit_banner() {
    let mut st = attached(include_bytes!("fixtures/shell_prompt.bin"));
    st.update(Msg::Worker {
        session: SessionId::new("s1"),
        worker: WorkerId::new("w1"),
        event: WorkerEvent::Message(WorkerServerMsg::Exit { exit_code: Some(1), signal: None }),
    });
    insta::assert_snapshot!(render(&st, 80, 25));
}

#[test]
fn attach_scrolled_back() {
    let mut text = String::new();
    for i in 1..=60 {
        text.push_str(&format!("line {i}\r\n"));
    }
    let mut st = attached(text.as_bytes());
    st.update(Msg::Key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::SHIFT)));
    insta::assert_snapshot!(render(&st, 80, 25));
}

/// 60 lines on an 80×24 worker; every third line from line 1 to 49 (17 of them) has `foo`,
/// after two wide characters on every other one of those.
fn attached_with_foo() -> State {
    let mut text = String::new();
    for i in 0..60 {
        match i % 6 {
            1 if i < 51 => text.push_str(&format!("漢字 foo {i}\r\n")),
            4 if i < 51 => text.push_str(&format!("line {i}: foo\r\n")),
            _ => text.push_str(&format!("line {i}\r\n")),
        }
    }
    let mut st = attached(text.as_bytes());
    // Twelve rows back (four wheel steps), where the searches below start.
    for _ in 0..4 {
        let event =
            MouseEvent { kind: MouseEventKind::ScrollUp, column: 5, row: 5, modifiers: KeyModifiers::NONE };
        st.update(Msg::Mouse { event, at: Instant::now() });
    }
    st
}

fn type_str(st: &mut State, text: &str) {
    for c in text.chars() {
        key(st, KeyCode::Char(c));
    }
}

/// The screen's text, then a mask of the search highlights: `#` the current match, `~` the
/// others (read from the cells' background colours).
fn render_with_highlights(st: &State, cols: u16, rows: u16) -> String {
    let theme = Theme::default();
    let mut terminal = Terminal::new(TestBackend::new(cols, rows)).expect("test backend");
    terminal.draw(|f| controlroom_tui::ui::draw(f, st, &theme)).expect("draws");
    let buf = terminal.backend().buffer();
    let mut out = terminal.backend().to_string();
    out.push_str("highlights:\n");
    for y in 0..rows {
        let mask: String = (0..cols)
            .map(|x| match buf[(x, y)].bg {
                bg if bg == theme.search_current => '#',
                bg if bg == theme.search_match => '~',
                _ => ' ',
            })
            .collect();
        out.push_str(mask.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn attach_search_prompt() {
    use ratatui::backend::Backend as _;
    let mut st = attached_with_foo();
    key(&mut st, KeyCode::Char('/'));
    type_str(&mut st, "foo");
    let mut terminal = Terminal::new(TestBackend::new(80, 25)).expect("test backend");
    terminal.draw(|f| controlroom_tui::ui::draw(f, &st, &Theme::default())).expect("draws");
    let header: String = (0..80).map(|x| terminal.backend().buffer()[(x, 0)].symbol().to_owned()).collect();
    let after_query = header.chars().position(|c| c == '/').expect("the prompt") + 4;
    assert_eq!(
        terminal.backend_mut().get_cursor_position().expect("cursor"),
        ratatui::layout::Position::new(u16::try_from(after_query).expect("fits"), 0),
        "the cursor follows the query"
    );
    insta::assert_snapshot!(render(&st, 80, 25));
}

#[test]
fn attach_search_third_of_seventeen_matches() {
    let mut st = attached_with_foo();
    key(&mut st, KeyCode::Char('/'));
    type_str(&mut st, "Foo");
    key(&mut st, KeyCode::Enter);
    let header = render(&st, 80, 25).lines().next().map(str::to_owned);
    assert!(header.is_some_and(|h| h.contains("no match for \"Foo\"")), "a capital: exact case");
    key(&mut st, KeyCode::Char('/'));
    type_str(&mut st, "foo");
    key(&mut st, KeyCode::Enter);
    key(&mut st, KeyCode::Char('n'));
    insta::assert_snapshot!(render_with_highlights(&st, 80, 25));
}

#[test]
fn attach_search_no_match() {
    let mut st = attached_with_foo();
    key(&mut st, KeyCode::Char('/'));
    type_str(&mut st, "nothing");
    key(&mut st, KeyCode::Enter);
    insta::assert_snapshot!(render_with_highlights(&st, 80, 25));
}
