//! Snapshot tests for the daily-driver fixes: what the dashboard says about stopped workers,
//! read-only connections and a lost gateway.

mod common;

use common::*;
use controlroom_protocol::{GATEWAY_STOPPED, WorkerKind, WorkerState};
use crossterm::event::KeyCode;

#[test]
fn a_worker_stopped_by_the_gateway_is_not_shown_as_exited_ok() {
    let mut st = base_state();
    let stopped = controlroom_protocol::Worker {
        signal: Some(GATEWAY_STOPPED.into()),
        ..worker("w1", "claude", WorkerKind::Agent, "claude", WorkerState::Exited, None)
    };
    let done = worker("w2", "build", WorkerKind::Job, "make", WorkerState::Exited, Some(0));
    let failed = worker("w3", "tests", WorkerKind::Job, "cargo test", WorkerState::Exited, Some(101));
    sync(
        &mut st,
        vec![session("s1", "api", "2026-11-21T09:00:00Z", None, vec![stopped, done, failed])],
        vec![],
    );
    key(&mut st, KeyCode::Tab);
    let screen = render(&st, 100, 16);
    // The badge is the glyph before the worker's name in its row.
    let badge = |name: &str| {
        let line = screen.lines().find(|l| l.contains(&format!(" {name} "))).unwrap_or_default();
        let at = line.find(&format!(" {name} ")).unwrap_or(0);
        line[..at].chars().next_back()
    };
    assert_eq!(badge("claude"), Some('■'), "gateway-stopped is not ✓");
    assert_eq!(badge("build"), Some('✓'), "exit 0 on its own is ✓");
    assert_eq!(badge("tests"), Some('✕'));
    insta::assert_snapshot!(screen);
}

#[test]
fn while_disconnected_the_counts_are_marked_stale() {
    let mut st = base_state();
    let w = worker("w1", "claude", WorkerKind::Agent, "claude", WorkerState::Running, None);
    sync(&mut st, vec![session("s1", "api", "2026-11-21T09:00:00Z", None, vec![w])], vec![]);
    let status = |st: &controlroom_tui::state::State| {
        render(st, 140, 16).lines().last().unwrap_or_default().to_owned()
    };
    let live = status(&st);
    assert!(live.contains("1 session · 1/1 worker running"), "{live}");
    assert!(!live.contains("stale"));
    let now = std::time::Instant::now();
    st.update(controlroom_tui::state::Msg::App(controlroom_tui::state::AppEvent::Disconnected {
        reason: "gateway stopped".into(),
        attempt: 1,
        retry_at: now,
    }));
    let lost = status(&st);
    assert!(lost.contains("1 session · 1/1 worker running (stale)"), "{lost}");
}

#[test]
fn a_read_only_connection_says_so_and_offers_no_changes() {
    let mut st = base_state();
    st.settings.read_only = true;
    let w = worker("w1", "claude", WorkerKind::Agent, "claude", WorkerState::Running, None);
    sync(&mut st, vec![session("s1", "api", "2026-11-21T09:00:00Z", None, vec![w])], vec![]);
    let screen = render(&st, 120, 16);
    let status = screen.lines().last().unwrap_or_default();
    assert!(status.contains("● connected · read-only"), "{status}");
    assert!(!status.contains("new"), "no new-session hint: {status}");
    key(&mut st, KeyCode::Char('?'));
    let help = render(&st, 100, 30);
    assert!(!help.contains("new session") && !help.contains("delete the"), "{help}");
    assert!(help.contains("attach to the worker"));
    insta::assert_snapshot!(help);
}

#[test]
fn a_notifications_text_shows_in_the_worker_row_and_the_status_bar() {
    let mut st = base_state();
    let w = controlroom_protocol::Worker {
        notification: Some("build: done building".into()),
        ..worker("w1", "claude", WorkerKind::Agent, "claude", WorkerState::Running, None)
    };
    let asking = activity("s1", "w1", controlroom_protocol::ActivityState::Asking);
    sync(&mut st, vec![session("s1", "api", "2026-11-21T09:00:00Z", None, vec![w])], vec![asking]);
    let screen = render(&st, 120, 12);
    let row = screen.lines().find(|l| l.contains("◆ claude")).unwrap_or_default();
    assert!(row.contains("“build: done building”"), "{row}");
    let status = screen.lines().last().unwrap_or_default();
    assert!(status.contains("◆ 1 asking · claude: “build: done building”"), "{status}");
    insta::assert_snapshot!(screen);
}
