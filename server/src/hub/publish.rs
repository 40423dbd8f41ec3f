//! The hub's publishing side: what a client may see (filtered by a session-restricted token),
//! the delta log's replay, persisting commits (with retry) and broadcasting deltas.

use super::Hub;
use crate::outbox::OutboxSender;
use crate::store::Commit;
use crate::time::now_iso;
use axum::extract::ws::Utf8Bytes;
use controlroom_protocol::{ActivityEntry, AppServerMsg, Delta, Session, SessionId, SessionsSync};

impl Hub {
    /// The deltas after `since`, or `None` when the log no longer reaches back that far (or
    /// `since` is from the future, e.g. another data dir).
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

    pub(super) fn published_sessions(&self, only: Option<&SessionId>) -> Vec<Session> {
        let mut sessions: Vec<Session> =
            self.published.values().filter(|s| visible(only, &s.id)).cloned().collect();
        sessions.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        sessions
    }

    pub(super) fn published_activity(&self, only: Option<&SessionId>) -> Vec<ActivityEntry> {
        self.published_activity
            .iter()
            .filter(|((sid, _), _)| visible(only, sid))
            .map(|((sid, wid), st)| ActivityEntry {
                session_id: sid.clone(),
                worker_id: wid.clone(),
                activity_state: *st,
            })
            .collect()
    }

    pub(super) fn sync_message(&self, only: Option<&SessionId>) -> Utf8Bytes {
        encode(&AppServerMsg::SessionsSync(SessionsSync {
            sessions: self.published_sessions(only),
            activity_states: self.published_activity(only),
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

    pub(super) fn broadcast(&mut self, delta: &Delta) {
        let frame = encode(&AppServerMsg::Delta(delta.clone()));
        let payload_size = frame.len();
        let session_id = delta.event.session_id();
        self.subscribers.retain(|(s, only)| {
            if !visible(only.as_ref(), session_id) {
                return !s.is_closed();
            }
            push_or_drop(s, &frame)
        });
        let kind = delta.event.type_name();
        let session_id = session_id.as_str();
        let client_count = self.subscribers.len();
        if kind == "worker-activity" {
            tracing::debug!(
                r#type = kind,
                sessionId = session_id,
                clientCount = client_count,
                payloadSize = payload_size,
                seq = delta.seq,
                "broadcast"
            );
        } else {
            tracing::info!(
                r#type = kind,
                sessionId = session_id,
                clientCount = client_count,
                payloadSize = payload_size,
                seq = delta.seq,
                "broadcast"
            );
        }
    }
}

pub(super) fn encode(msg: &AppServerMsg) -> Utf8Bytes {
    // Serializing our own types to a String cannot fail (no maps with non-string keys).
    serde_json::to_string(msg).unwrap_or_default().into()
}

/// Whether a client restricted to `only` may see `session`.
pub(super) fn visible(only: Option<&SessionId>, session: &SessionId) -> bool {
    only.is_none_or(|o| o == session)
}

/// Queues a delta for one subscriber; false drops the subscriber.
pub(super) fn push_or_drop(s: &OutboxSender, frame: &Utf8Bytes) -> bool {
    match s.push_text(frame.clone()) {
        Ok(()) => true,
        Err(crate::outbox::PushError::Overflow) => {
            tracing::warn!(reason = "backpressure_limit", endpoint = "app", "closing slow app client");
            false
        }
        Err(crate::outbox::PushError::Closed) => false,
    }
}
