//! The hub's outward feeds: session sources merged into the sessions, and the worker gauges.

use super::{Hub, HubCmd, Record};
use crate::file_config::SourceSection;
use crate::hub::diff::{ActivityMap, SessionMap};
use crate::hub::sources::{self, SourceError, SourceItem};
use crate::metrics as m;
use crate::time::now_iso;
use controlroom_protocol::{ActivityState, Session, SourceStatus, WorkerState};
use std::collections::{BTreeMap, BTreeSet};
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

impl Hub {
    /// Starts a read of every source that is due and not still being read.
    pub(super) fn poll_sources(&mut self) {
        let now = Instant::now();
        for state in self.sources.values_mut() {
            if state.in_flight || now < state.next_due {
                continue;
            }
            state.in_flight = true;
            let interval =
                state.section.interval_ms.map_or(self.config.poll_interval, std::time::Duration::from_millis);
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

    /// Merges one source read into the sessions: created, updated (title, status) and deleted.
    pub(super) fn source_result(&mut self, name: &str, result: Result<Vec<SourceItem>, SourceError>) {
        let Some(state) = self.sources.get_mut(name) else { return };
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
                return;
            }
        };
        let now = now_iso();
        state.status.ok = true;
        state.status.error = None;
        state.status.last_success = Some(now.clone());
        state.status.session_count = items.len();
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
                    };
                    self.records
                        .insert(id, Record { session, env: BTreeMap::new(), handles: BTreeMap::new() });
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
