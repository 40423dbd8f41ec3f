//! Helpers shared by the snapshot tests: sample sessions and workers, a state built from them,
//! and drawing into ratatui's `TestBackend`.
#![allow(dead_code)]

use controlroom_protocol::{
    ActivityEntry, ActivityState, AppServerMsg, Session, SessionId, SessionsSync, Worker, WorkerId,
    WorkerKind, WorkerServerMsg, WorkerState,
};
use controlroom_tui::state::{AppEvent, Msg, Settings, State, WorkerEvent};
use controlroom_tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::Duration;

pub fn worker(
    id: &str,
    name: &str,
    kind: WorkerKind,
    cmd: &str,
    state: WorkerState,
    exit: Option<i32>,
) -> Worker {
    Worker {
        id: WorkerId::new(id),
        name: name.into(),
        kind,
        command: cmd.split(' ').map(str::to_owned).collect(),
        cwd: "/home/ada/api".into(),
        state,
        exit_code: exit,
        signal: None,
        pid: None,
        cols: 80,
        rows: 24,
        started_at: "2026-11-21T11:00:00Z".into(),
        preset: None,
        notification: None,
        prompt: None,
    }
}

pub fn session(
    id: &str,
    title: &str,
    created: &str,
    repo: Option<(&str, &str)>,
    workers: Vec<Worker>,
) -> Session {
    Session {
        id: SessionId::new(id),
        title: title.into(),
        cwd: format!("/home/ada/{title}"),
        repository: repo.map(|r| r.0.to_owned()),
        branch: repo.map(|r| r.1.to_owned()),
        created_at: created.into(),
        source: None,
        status: None,
        read_only: false,
        updated_at: created.into(),
        workers,
        git: None,
    }
}

pub fn activity(s: &str, w: &str, a: ActivityState) -> ActivityEntry {
    ActivityEntry { session_id: SessionId::new(s), worker_id: WorkerId::new(w), activity_state: a }
}

pub fn base_state() -> State {
    let mut st = State::new(Settings::default(), "http://127.0.0.1:7420", "dark");
    st.now = "2026-11-21T12:00:00Z".parse().expect("valid time");
    st.update(Msg::Resize { cols: 100, rows: 28 });
    st.update(Msg::App(AppEvent::Connected { url: "http://127.0.0.1:7420".into() }));
    st.rtt = Some(Duration::from_millis(3));
    st
}

pub fn sync(st: &mut State, sessions: Vec<Session>, activity_states: Vec<ActivityEntry>) {
    st.update(Msg::App(AppEvent::Message(Box::new(AppServerMsg::SessionsSync(SessionsSync {
        sessions,
        activity_states,
        sources: vec![],
        seq: 42,
        epoch: "e".into(),
        timestamp: String::new(),
    })))));
}

pub fn busy_state() -> State {
    let mut st = base_state();
    sync(
        &mut st,
        vec![
            session(
                "s1",
                "api",
                "2026-11-21T09:00:00Z",
                Some(("git@github.com:ada/api.git", "main")),
                vec![
                    worker("w1", "claude", WorkerKind::Agent, "claude", WorkerState::Running, None),
                    worker("w2", "bash", WorkerKind::Shell, "/bin/bash", WorkerState::Running, None),
                ],
            ),
            session(
                "s2",
                "web",
                "2026-11-21T10:30:00Z",
                Some(("https://github.com/ada/web", "feature/login")),
                vec![worker("w3", "tests", WorkerKind::Job, "cargo test", WorkerState::Exited, Some(101))],
            ),
            session(
                "s3",
                "docs",
                "2026-11-21T11:59:18Z",
                None,
                vec![
                    worker("w4", "bash", WorkerKind::Shell, "/bin/bash", WorkerState::Running, None),
                    worker("w5", "build", WorkerKind::Job, "make html", WorkerState::Exited, Some(0)),
                    worker("w6", "new", WorkerKind::Shell, "/bin/zsh", WorkerState::Running, None),
                ],
            ),
            session(
                "s4",
                "infra",
                "2026-11-19T08:00:00Z",
                None,
                vec![worker("w7", "agent", WorkerKind::Agent, "codex", WorkerState::Running, None)],
            ),
        ],
        vec![
            activity("s1", "w1", ActivityState::Active),
            activity("s1", "w2", ActivityState::Idle),
            activity("s3", "w4", ActivityState::Idle),
            activity("s4", "w7", ActivityState::Asking),
        ],
    );
    st
}

pub fn render(st: &State, cols: u16, rows: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(cols, rows)).expect("test backend");
    terminal.draw(|f| controlroom_tui::ui::draw(f, st, &Theme::default())).expect("draws");
    terminal.backend().to_string()
}

pub fn key(st: &mut State, code: KeyCode) {
    st.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

pub fn feed_history(st: &mut State, fixture: &[u8]) {
    let (session, worker) =
        st.term.as_ref().map(|t| (t.session.clone(), t.worker.clone())).expect("watching a worker");
    let data = String::from_utf8_lossy(fixture).into_owned();
    st.update(Msg::Worker {
        session,
        worker,
        event: WorkerEvent::Message(WorkerServerMsg::History { data, cols: 80, rows: 24, offset: 0 }),
    });
}
