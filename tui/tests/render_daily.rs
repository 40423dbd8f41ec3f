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
