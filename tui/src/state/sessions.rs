//! The client's copy of the gateway's sessions, kept current from `/ws/app` syncs and deltas.

use controlroom_protocol::{
    ActivityEntry, ActivityState, Delta, DeltaEvent, Session, SessionId, SessionsSync, SourceStatus, Worker,
    WorkerId, WorkerState,
};
use std::collections::HashMap;

/// Sessions and worker activity as last reported, plus the seq they reflect.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionStore {
    sessions: Vec<Session>,
    activity: HashMap<(SessionId, WorkerId), ActivityState>,
    /// The seq of the last delta applied (`None` before the first sync).
    pub seq: Option<u64>,
    /// The gateway data's epoch; seqs from another epoch are not comparable.
    pub epoch: Option<String>,
    /// Health of the gateway's session sources, in its order.
    pub sources: Vec<SourceStatus>,
}

impl SessionStore {
    /// Replaces everything with a full sync.
    pub fn apply_sync(&mut self, sync: SessionsSync) {
        self.sessions = sync.sessions;
        self.activity = activity_map(sync.activity_states);
        self.seq = Some(sync.seq);
        self.epoch = Some(sync.epoch);
        self.sources = sync.sources;
    }

    /// Applies one delta; returns false (and changes nothing) when its seq was already seen.
    pub fn apply_delta(&mut self, delta: Delta) -> bool {
        if self.seq.is_some_and(|seq| delta.seq <= seq) {
            return false;
        }
        self.seq = Some(delta.seq);
        match delta.event {
            DeltaEvent::SessionCreated { session_id, session }
            | DeltaEvent::SessionUpdated { session_id, session, .. } => {
                match self.sessions.iter_mut().find(|s| s.id == session_id) {
                    Some(slot) => *slot = session,
                    None => self.sessions.push(session),
                }
                // Forget activity of workers that are gone.
                let workers: Vec<WorkerId> = self
                    .get(&session_id)
                    .map(|s| s.workers.iter().map(|w| w.id.clone()).collect())
                    .unwrap_or_default();
                self.activity.retain(|(sid, wid), _| sid != &session_id || workers.contains(wid));
            }
            DeltaEvent::SessionDeleted { session_id, .. } => {
                self.sessions.retain(|s| s.id != session_id);
                self.activity.retain(|(sid, _), _| sid != &session_id);
            }
            DeltaEvent::WorkerActivity { session_id, worker_id, activity_state } => {
                self.activity.insert((session_id, worker_id), activity_state);
            }
            // Its sessions arrive as session deltas; this is only the source's health.
            DeltaEvent::SourceUpdated { source, .. } => {
                match self.sources.iter_mut().find(|s| s.name == source.name) {
                    Some(slot) => *slot = source,
                    None => self.sources.push(source),
                }
            }
        }
        true
    }

    /// Adds a session known from an HTTP answer before its delta arrives (the delta replaces it).
    pub fn insert_local(&mut self, session: Session) {
        if self.get(&session.id).is_none() {
            self.sessions.push(session);
        }
    }

    /// Every session in the gateway's order.
    pub fn all(&self) -> &[Session] {
        &self.sessions
    }

    /// The session with this id.
    pub fn get(&self, id: &SessionId) -> Option<&Session> {
        self.sessions.iter().find(|s| &s.id == id)
    }

    /// A worker by ids.
    pub fn worker(&self, sid: &SessionId, wid: &WorkerId) -> Option<&Worker> {
        self.get(sid).and_then(|s| s.workers.iter().find(|w| &w.id == wid))
    }

    /// A worker's activity; an exited worker is `exited` whatever was last reported.
    pub fn activity(&self, sid: &SessionId, worker: &Worker) -> ActivityState {
        if worker.state == WorkerState::Exited {
            return ActivityState::Exited;
        }
        self.activity.get(&(sid.clone(), worker.id.clone())).copied().unwrap_or_default()
    }

    /// Whether a session should catch the eye: a worker asking, or one that exited with a failure.
    pub fn needs_attention(&self, session: &Session) -> bool {
        session.workers.iter().any(|w| self.activity(&session.id, w) == ActivityState::Asking || failed(w))
    }

    /// Sessions in display order: local ones first, then each source's together; within a group
    /// those needing attention first, then by creation. Only those whose title, cwd, repository,
    /// branch, source or one of whose workers' names contains `filter` (case-insensitive).
    pub fn visible(&self, filter: &str) -> Vec<&Session> {
        let needle = filter.to_lowercase();
        let mut out: Vec<&Session> = self
            .sessions
            .iter()
            .filter(|s| {
                needle.is_empty()
                    || [
                        Some(&s.title),
                        Some(&s.cwd),
                        s.repository.as_ref(),
                        s.branch.as_ref(),
                        s.source.as_ref(),
                    ]
                    .into_iter()
                    .flatten()
                    .chain(s.workers.iter().map(|w| &w.name))
                    .any(|f| f.to_lowercase().contains(&needle))
            })
            .collect();
        out.sort_by_key(|s| (s.source.clone(), !self.needs_attention(s), s.created_at.clone()));
        out
    }

    /// How many workers are running in all sessions.
    pub fn running_workers(&self) -> usize {
        self.sessions.iter().flat_map(|s| &s.workers).filter(|w| w.state == WorkerState::Running).count()
    }
}

/// Whether a worker exited 0 on its own (not stopped by the gateway or the user).
pub fn exited_ok(w: &Worker) -> bool {
    w.state == WorkerState::Exited && w.exit_code == Some(0)
}

/// Whether a worker exited with a failure (non-zero code, or a signal other than a stop by the
/// gateway or on request).
pub fn failed(w: &Worker) -> bool {
    w.state == WorkerState::Exited
        && (w.exit_code.is_some_and(|c| c != 0)
            || w.signal.as_deref().is_some_and(|s| {
                s != controlroom_protocol::GATEWAY_STOPPED && s != controlroom_protocol::WORKER_STOPPED
            }))
}

fn activity_map(entries: Vec<ActivityEntry>) -> HashMap<(SessionId, WorkerId), ActivityState> {
    entries.into_iter().map(|e| ((e.session_id, e.worker_id), e.activity_state)).collect()
}

#[cfg(test)]
mod tests {
    use super::failed;
    use controlroom_protocol::{GATEWAY_STOPPED, WORKER_STOPPED, Worker, WorkerId, WorkerKind, WorkerState};

    fn exited(exit_code: Option<i32>, signal: Option<&str>) -> Worker {
        Worker {
            id: WorkerId::new("w"),
            name: "w".into(),
            kind: WorkerKind::Shell,
            command: vec!["sh".into()],
            cwd: "/tmp".into(),
            state: WorkerState::Exited,
            exit_code,
            signal: signal.map(Into::into),
            pid: None,
            cols: 80,
            rows: 24,
            started_at: "2026-01-01T00:00:00Z".into(),
            preset: None,
            notification: None,
            prompt: None,
        }
    }

    #[test]
    fn a_worker_stopped_on_request_or_with_the_gateway_has_not_failed() {
        assert!(!failed(&exited(None, Some(WORKER_STOPPED))), "x / POST …/stop");
        assert!(!failed(&exited(None, Some(GATEWAY_STOPPED))));
        assert!(!failed(&exited(Some(0), None)));
        assert!(failed(&exited(None, Some("SIGKILL"))), "killed by someone else");
        assert!(failed(&exited(Some(1), None)));
    }
}
