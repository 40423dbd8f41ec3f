//! What a client may see (filtered by a session-restricted token and by its own subscription),
//! the delta log's replay, and persisting commits with a retry when the store refuses.

use super::{Hub, encode};
use crate::hub::subscribers::visible;
use crate::outbox::TextFrame;
use crate::store::Commit;
use crate::time::now_iso;
use controlroom_protocol::{
    ActivityEntry, AppServerMsg, Delta, Session, SessionId, SessionsSync, SourceStatus,
};
use std::collections::BTreeSet;

impl Hub {
    /// The deltas after `since` (with `only`, those of that session), or `None` when the log
    /// no longer reaches back that far (or `since` is from the future, e.g. another data dir).
    pub(super) fn replay_since(&self, since: u64, only: Option<&SessionId>) -> Option<Vec<Delta>> {
        if since > self.seq {
            return None;
        }
        let oldest = self.log.front().map_or(self.seq + 1, |d| d.seq);
        if since + 1 < oldest {
            return None;
        }
        Some(
            self.log
                .iter()
                .filter(|d| d.seq > since && visible(only, d.event.session_id()))
                .cloned()
                .collect(),
        )
    }

    /// Sessions in creation order (with `only`, that one).
    pub(super) fn published_sessions(&self, only: Option<&SessionId>) -> Vec<Session> {
        let mut sessions: Vec<Session> =
            self.published.values().filter(|s| visible(only, Some(&s.id))).cloned().collect();
        sessions.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        sessions
    }

    /// Every worker's activity (with `only`, that session's).
    pub(super) fn published_activity(&self, only: Option<&SessionId>) -> Vec<ActivityEntry> {
        self.published_activity
            .iter()
            .filter(|((sid, _), _)| visible(only, Some(sid)))
            .map(|((sid, wid), st)| ActivityEntry {
                session_id: sid.clone(),
                worker_id: wid.clone(),
                activity_state: *st,
            })
            .collect()
    }

    /// Source statuses; a session-restricted token sees none (they are about the gateway).
    pub(super) fn visible_sources(&self, only: Option<&SessionId>) -> Vec<SourceStatus> {
        if only.is_some() { Vec::new() } else { self.published_sources.values().cloned().collect() }
    }

    /// A `sessions-sync` of what a client follows (`filter`) and may see (`only`).
    pub(super) fn sync_message(
        &self,
        filter: Option<&BTreeSet<SessionId>>,
        only: Option<&SessionId>,
    ) -> TextFrame {
        let follows = |id: &SessionId| filter.is_none_or(|f| f.contains(id));
        let mut sessions = self.published_sessions(only);
        sessions.retain(|s| follows(&s.id));
        let mut activity_states = self.published_activity(only);
        activity_states.retain(|a| follows(&a.session_id));
        encode(&AppServerMsg::SessionsSync(SessionsSync {
            sessions,
            activity_states,
            sources: self.visible_sources(only),
            seq: self.seq,
            epoch: self.epoch.clone(),
            timestamp: now_iso(),
        }))
    }

    /// Commits, folding in a commit the store refused earlier. A refused commit is kept and
    /// retried with the next change or poll tick, so once the disk takes writes again the store
    /// has every session and delta, without gaps.
    pub(super) async fn persist(&mut self, commit: Commit) {
        let commit = match self.pending.take() {
            Some(earlier) => earlier.then(commit, self.config.delta_log),
            None => commit,
        };
        let held = commit.deltas.len();
        match self.store.commit(commit).await {
            Ok(()) => {
                if std::mem::take(&mut self.store_failing) {
                    tracing::info!(
                        persisted_deltas = held,
                        "the store takes writes again; held-back changes persisted"
                    );
                }
            }
            Err((e, back)) => {
                tracing::error!(error = %e, held_deltas = held, reason = "store_refused",
                    "could not persist changes; serving in-memory state and retrying");
                self.pending = back;
                self.store_failing = true;
            }
        }
    }
}
