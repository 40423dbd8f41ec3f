//! Naming sessions and workers on the command line: by id, exact title/name, or unique prefix.

use crate::error::{Error, Result};
use controlroom_protocol::{Session, Worker, WorkerState};

/// The session named `name`: an id, an exact title, or a unique prefix of an id or title.
pub fn session<'a>(sessions: &'a [Session], name: &str) -> Result<&'a Session> {
    pick(sessions, name, "session", |s| s.id.as_str(), |s| s.title.as_str())
}

/// The worker named `name` in `session`; with no name, its first running worker (else its first).
pub fn worker<'a>(session: &'a Session, name: Option<&str>) -> Result<&'a Worker> {
    match name {
        Some(n) => pick(&session.workers, n, "worker", |w| w.id.as_str(), |w| w.name.as_str()),
        None => session
            .workers
            .iter()
            .find(|w| w.state == WorkerState::Running)
            .or_else(|| session.workers.first())
            .ok_or_else(|| Error::Name(format!("session “{}” has no workers", session.title))),
    }
}

/// `SESSION[/WORKER]` resolved against the sessions list.
pub fn target<'a>(sessions: &'a [Session], spec: &str) -> Result<(&'a Session, &'a Worker)> {
    let (s, w) = match spec.rsplit_once('/') {
        Some((s, w)) if !s.is_empty() => (s, Some(w).filter(|w| !w.is_empty())),
        _ => (spec, None),
    };
    let session = session(sessions, s)?;
    Ok((session, worker(session, w)?))
}

fn pick<'a, T>(
    items: &'a [T],
    name: &str,
    what: &str,
    id: impl Fn(&T) -> &str,
    label: impl Fn(&T) -> &str,
) -> Result<&'a T> {
    if let Some(t) = items.iter().find(|t| id(t) == name).or_else(|| items.iter().find(|t| label(t) == name))
    {
        return Ok(t);
    }
    let matches: Vec<&T> =
        items.iter().filter(|t| id(t).starts_with(name) || label(t).starts_with(name)).collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::Name(format!("no {what} matches “{name}”"))),
        many => Err(Error::Name(format!(
            "“{name}” matches {} {what}s: {}",
            many.len(),
            many.iter().map(|t| label(t)).collect::<Vec<_>>().join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use controlroom_protocol::{SessionId, WorkerId, WorkerKind};

    fn w(id: &str, name: &str, state: WorkerState) -> Worker {
        Worker {
            id: WorkerId::new(id),
            name: name.into(),
            kind: WorkerKind::Shell,
            command: vec![],
            cwd: String::new(),
            state,
            exit_code: None,
            signal: None,
            pid: None,
            cols: 80,
            rows: 24,
            started_at: String::new(),
            preset: None,
            notification: None,
            prompt: None,
        }
    }

    fn s(id: &str, title: &str, workers: Vec<Worker>) -> Session {
        Session {
            id: SessionId::new(id),
            title: title.into(),
            cwd: String::new(),
            repository: None,
            branch: None,
            created_at: String::new(),
            source: None,
            status: None,
            read_only: false,
            git: None,
            updated_at: String::new(),
            workers,
        }
    }

    #[test]
    fn resolves_by_id_title_and_unique_prefix() {
        let all = vec![
            s(
                "01abc",
                "api",
                vec![w("w1", "bash", WorkerState::Exited), w("w2", "claude", WorkerState::Running)],
            ),
            s("01abd", "apps", vec![]),
            s("02xyz", "web", vec![w("w3", "bash", WorkerState::Running)]),
        ];
        assert_eq!(session(&all, "api").expect("exact title").id.as_str(), "01abc");
        assert_eq!(session(&all, "we").expect("prefix").id.as_str(), "02xyz");
        assert_eq!(session(&all, "02").expect("id prefix").title, "web");
        let e = session(&all, "ap").expect_err("ambiguous").to_string();
        assert!(e.contains("api") && e.contains("apps"), "{e}");
        assert!(session(&all, "nope").is_err());
        let (sess, wk) = target(&all, "api/cl").expect("worker prefix");
        assert_eq!((sess.title.as_str(), wk.name.as_str()), ("api", "claude"));
        assert_eq!(target(&all, "api").expect("default worker").1.name, "claude", "first running");
        assert!(target(&all, "apps").is_err(), "no workers");
    }
}
