//! The hub's outward feeds: session sources merged into the sessions, and the worker gauges.

use super::{Hub, HubCmd, Record};
use crate::file_config::SourceSection;
use crate::hub::diff::{ActivityMap, SessionMap};
use crate::hub::sources::{self, SourceError, SourceItem};
use crate::metrics as m;
use crate::time::now_iso;
use controlroom_protocol::{ActivityState, Session, SourceStatus, WorkerState};
use std::collections::{BTreeMap, BTreeSet};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A configured session source and how its reads are going.
pub(super) struct SourceState {
    pub(super) section: SourceSection,
    /// `kind = "http"`: the URL with its TLS trust, built once at start.
    pub(super) http: Option<crate::outbound::http_client::Target>,
    pub(super) status: SourceStatus,
    pub(super) in_flight: bool,
    pub(super) next_due: Instant,
}

/// The configured session sources: when each is read next, and how its last read went.
pub(super) struct Feeds {
    pub(super) sources: BTreeMap<String, SourceState>,
    /// How often a source without its own `interval-ms` is read.
    pub(super) poll_interval: std::time::Duration,
    /// Where a read's result goes (the hub's queue).
    pub(super) tx: mpsc::Sender<HubCmd>,
}

impl Feeds {
    /// Starts a read of every source that is due and not still being read.
    pub(super) fn poll_sources(&mut self) {
        let now = Instant::now();
        for state in self.sources.values_mut() {
            if state.in_flight || now < state.next_due {
                continue;
            }
            state.in_flight = true;
            let interval =
                state.section.interval_ms.map_or(self.poll_interval, std::time::Duration::from_millis);
            state.next_due = now + interval;
            let section = state.section.clone();
            let http = state.http.clone();
            let tx = self.tx.clone();
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let result = sources::read(&section, http.as_ref()).await;
                metrics::histogram!(m::SOURCE_READ_SECONDS, "source" => section.name.clone())
                    .record(started.elapsed().as_secs_f64());
                let _ = tx.send(HubCmd::SourceResult { name: section.name, result }).await;
            });
        }
    }

    /// Records how a read of source `name` went; on success, its items (with the time of the
    /// read) to merge into the sessions.
    pub(super) fn record_result(
        &mut self,
        name: &str,
        result: Result<Vec<SourceItem>, SourceError>,
    ) -> Option<(Vec<SourceItem>, String)> {
        let state = self.sources.get_mut(name)?;
        state.in_flight = false;
        let items = match result {
            Ok(items) => items,
            Err(e) => {
                let e = e.to_string();
                if state.status.error.as_deref() != Some(e.as_str()) {
                    tracing::warn!(source = name, error = %e, "session source failed");
                }
                state.status.ok = false;
                state.status.error = Some(e);
                return None;
            }
        };
        let now = now_iso();
        state.status.ok = true;
        state.status.error = None;
        state.status.last_success = Some(now.clone());
        state.status.session_count = items.len();
        Some((items, now))
    }

    /// Every source's status now.
    pub(super) fn statuses(&self) -> BTreeMap<String, SourceStatus> {
        self.sources.iter().map(|(k, v)| (k.clone(), v.status.clone())).collect()
    }
}

impl Hub {
    /// Merges one source read into the sessions: created, updated (title, status) and deleted.
    pub(super) fn source_result(&mut self, name: &str, result: Result<Vec<SourceItem>, SourceError>) {
        let Some((items, now)) = self.feeds.record_result(name, result) else { return };
        let mut seen = BTreeSet::new();
        for item in items {
            let id = sources::session_id(name, &item.id);
            seen.insert(id.clone());
            match self.records.get_mut(&id) {
                Some(rec) => {
                    if rec.session.title != item.title || rec.session.status != item.status {
                        rec.session.title = item.title;
                        rec.session.status = item.status;
                        rec.session.updated_at.clone_from(&now);
                    }
                }
                None => {
                    let session = Session {
                        id: id.clone(),
                        title: item.title,
                        cwd: String::new(),
                        repository: None,
                        branch: None,
                        created_at: now.clone(),
                        updated_at: now.clone(),
                        workers: Vec::new(),
                        source: Some(name.to_owned()),
                        status: item.status,
                        read_only: true,
                        git: None,
                    };
                    self.records.insert(
                        id,
                        Record { session, env: BTreeMap::new(), handles: BTreeMap::new(), worktree: None },
                    );
                }
            }
        }
        self.records.retain(|id, r| r.session.source.as_deref() != Some(name) || seen.contains(id));
    }
}

/// Sets the worker gauges from the state being published.
pub(super) fn record_gauges(sessions: &SessionMap, activity: &ActivityMap) {
    let (mut running, mut exited) = (0usize, 0usize);
    for w in sessions.values().flat_map(|s| &s.workers) {
        match w.state {
            WorkerState::Running => running += 1,
            WorkerState::Exited => exited += 1,
        }
    }
    metrics::gauge!(m::WORKERS, "state" => "running").set(running as f64);
    metrics::gauge!(m::WORKERS, "state" => "exited").set(exited as f64);
    for (state, label) in [
        (ActivityState::Unknown, "unknown"),
        (ActivityState::Active, "active"),
        (ActivityState::Idle, "idle"),
        (ActivityState::Asking, "asking"),
        (ActivityState::Exited, "exited"),
    ] {
        let n = activity.values().filter(|a| **a == state).count();
        metrics::gauge!(m::WORKER_ACTIVITY, "activity" => label).set(n as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_config::SourceKind;

    fn feeds() -> Feeds {
        let section = SourceSection {
            name: "src".into(),
            kind: SourceKind::Command,
            url: None,
            ca_file: None,
            headers: BTreeMap::new(),
            command: None,
            list: String::new(),
            id: None,
            title: None,
            status: None,
            timeout_ms: None,
            interval_ms: None,
        };
        let status = SourceStatus {
            name: "src".into(),
            kind: SourceKind::Command.as_str().into(),
            ok: false,
            error: None,
            last_success: None,
            session_count: 0,
        };
        let state = SourceState { section, http: None, status, in_flight: true, next_due: Instant::now() };
        let tx = mpsc::channel(1).0;
        Feeds {
            sources: BTreeMap::from([("src".into(), state)]),
            poll_interval: std::time::Duration::from_secs(1),
            tx,
        }
    }

    #[test]
    fn a_read_updates_the_status_and_hands_back_its_items() {
        let mut f = feeds();
        let item = SourceItem { id: "1".into(), title: "one".into(), status: None };
        let (items, _) = f.record_result("src", Ok(vec![item])).expect("items to merge");
        assert_eq!(items.len(), 1);
        let st = &f.statuses()["src"];
        assert!(st.ok && st.error.is_none() && st.last_success.is_some());
        assert_eq!(st.session_count, 1);
        assert!(!f.sources["src"].in_flight, "the next poll may read it again");
        assert!(f.record_result("other", Ok(Vec::new())).is_none(), "an unknown source is ignored");
    }

    #[test]
    fn a_failed_read_keeps_the_sessions_and_records_the_error() {
        let mut f = feeds();
        assert!(f.record_result("src", Err(SourceError::TimedOut { ms: 5 })).is_none());
        let st = &f.statuses()["src"];
        assert!(!st.ok);
        assert!(st.error.as_deref().is_some_and(|e| e.contains("timed out")));
    }
}
