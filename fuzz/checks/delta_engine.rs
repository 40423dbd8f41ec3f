//! The delta engine: two snapshots decoded from the input; `apply(diff(a, b), a) == b`.
//! Shared by the cargo-fuzz target and `tests/fuzz_corpus.rs`, which replays the committed corpus
//! on stable in every test run.

use controlroom_protocol::{ActivityState, Session, SessionId, Worker, WorkerId, WorkerKind, WorkerState};
use controlroom_server::bench_api::fuzz::{ActivityMap, SessionMap, apply, diff};

/// Reads sessions from byte triples: (session id, title byte, worker bitmap + activity).
fn snapshot(bytes: &[u8]) -> (SessionMap, ActivityMap) {
    let (mut sessions, mut activity) = (SessionMap::new(), ActivityMap::new());
    for t in bytes.chunks_exact(3) {
        let id = SessionId::new(format!("s{}", t[0] % 6));
        let workers: Vec<Worker> = (0..4u8)
            .filter(|w| t[2] & (1 << w) != 0)
            .map(|w| Worker {
                id: WorkerId::new(format!("w{}{w}", t[0] % 6)),
                name: format!("n{w}"),
                kind: WorkerKind::Shell,
                command: vec!["sh".into()],
                cwd: "/".into(),
                state: if t[1] & 1 == 0 { WorkerState::Running } else { WorkerState::Exited },
                exit_code: None,
                signal: None,
                pid: None,
                cols: 80,
                rows: 24,
                started_at: "t".into(),
                preset: None,
                notification: None,
                prompt: None,
            })
            .collect();
        let states =
            [ActivityState::Unknown, ActivityState::Active, ActivityState::Idle, ActivityState::Exited];
        for w in &workers {
            activity.insert((id.clone(), w.id.clone()), states[usize::from(t[2] >> 6)]);
        }
        activity.retain(|(sid, wid), _| sid != &id || workers.iter().any(|w| &w.id == wid));
        let session = Session {
            id: id.clone(),
            title: format!("t{}", t[1] % 4),
            cwd: "/".into(),
            repository: None,
            branch: None,
            created_at: "c".into(),
            updated_at: "u".into(),
            source: None,
            status: None,
            read_only: false,
            workers,
            git: None,
        };
        sessions.insert(id, session);
    }
    (sessions, activity)
}

/// Panics when the property does not hold for `data`.
pub fn check(data: &[u8]) {
    let mid = data.len() / 2;
    let (a, act_a) = snapshot(&data[..mid]);
    let (b, act_b) = snapshot(&data[mid..]);
    let events = diff(&a, &b, &act_a, &act_b);
    let (mut sessions, mut activity) = (a, act_a);
    apply(&events, &mut sessions, &mut activity);
    assert_eq!(sessions, b);
    assert_eq!(activity, act_b);
}
