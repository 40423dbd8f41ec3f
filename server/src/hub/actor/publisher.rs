//! The hub's published state: what clients last saw, the delta log, the subscribers and the
//! notifier; what a client may see (filtered by a session-restricted token and by its own
//! subscription), the log's replay and the broadcast of each committed delta.

use super::encode;
use crate::hub::diff::{ActivityMap, SessionMap};
use crate::hub::subscribers::Subscribers;
use crate::hub::subscribers::visible;
use crate::metrics as m;
use crate::outbound::notify::Notifier;
use crate::outbox::TextFrame;
use crate::time::now_iso;
use controlroom_protocol::{
    ActivityEntry, AppServerMsg, Delta, Session, SessionId, SessionsSync, SourceStatus,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What clients last saw and the path a change takes to them: numbered, logged, broadcast.
pub(super) struct Publisher {
    /// Names this run of the store's sequence (a client seeing another epoch resyncs).
    pub(super) epoch: String,
    /// The last delta's number.
    pub(super) seq: u64,
    /// The sessions as clients last saw them.
    pub(super) published: SessionMap,
    /// Every worker's activity as clients last saw it.
    pub(super) published_activity: ActivityMap,
    /// The source statuses as clients last saw them.
    pub(super) published_sources: BTreeMap<String, SourceStatus>,
    /// The latest deltas, oldest first, for replays.
    pub(super) log: VecDeque<Delta>,
    pub(super) subscribers: Subscribers,
    pub(super) notifier: Option<Notifier>,
}

impl Publisher {
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

    /// Sends one delta to every subscriber that sees it and to the notifier.
    pub(super) fn broadcast(&mut self, delta: &Delta) {
        let frame = encode(&AppServerMsg::Delta(delta.clone()));
        let payload_size = frame.len();
        self.subscribers.send(delta, &frame);
        if let Some(n) = &self.notifier {
            n.offer(delta, frame.as_str());
        }
        let kind = delta.event.type_name();
        metrics::counter!(m::DELTAS, "type" => kind).increment(1);
        let session_id = delta.event.session_id().map_or("", |s| s.as_str());
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

impl Publisher {
    /// Makes `sessions` and `activity` what clients saw, then broadcasts and logs `deltas` (the
    /// diff between the two, already committed), keeping the last `keep` in the log.
    pub(super) fn publish(
        &mut self,
        sessions: SessionMap,
        activity: ActivityMap,
        deltas: Vec<Delta>,
        keep: usize,
    ) {
        self.published = sessions;
        self.published_activity = activity;
        for delta in deltas {
            self.broadcast(&delta);
            self.log.push_back(delta);
        }
        while self.log.len() > keep {
            self.log.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use controlroom_protocol::DeltaEvent;

    fn publisher() -> Publisher {
        Publisher {
            epoch: "e".into(),
            seq: 0,
            published: SessionMap::new(),
            published_activity: ActivityMap::new(),
            published_sources: BTreeMap::new(),
            log: VecDeque::new(),
            subscribers: Subscribers::default(),
            notifier: None,
        }
    }

    fn delta(p: &mut Publisher, name: &str) -> Delta {
        p.seq += 1;
        let source = SourceStatus {
            name: name.into(),
            kind: "command".into(),
            ok: true,
            error: None,
            last_success: None,
            session_count: 0,
        };
        Delta {
            seq: p.seq,
            timestamp: now_iso(),
            event: DeltaEvent::SourceUpdated { name: name.into(), source },
        }
    }

    #[test]
    fn publish_logs_and_trims_and_replays_what_the_log_still_reaches() {
        let mut p = publisher();
        let deltas: Vec<Delta> = ["a", "b", "c"].iter().map(|n| delta(&mut p, n)).collect();
        p.publish(SessionMap::new(), ActivityMap::new(), deltas, 2);
        assert_eq!(p.log.iter().map(|d| d.seq).collect::<Vec<_>>(), [2, 3], "the oldest is dropped");
        assert_eq!(p.replay_since(1, None).map(|d| d.len()), Some(2), "since 1: deltas 2 and 3");
        assert_eq!(p.replay_since(3, None).map(|d| d.len()), Some(0), "up to date");
        assert!(p.replay_since(0, None).is_none(), "delta 1 is gone from the log");
        assert!(p.replay_since(4, None).is_none(), "a seq from the future");
    }

    #[tokio::test]
    async fn published_deltas_reach_subscribers_and_sync_carries_the_seq() {
        let mut p = publisher();
        let (outbox, mut rx) = crate::outbox::outbox(1 << 20);
        p.subscribers.add(outbox, None);
        let d = delta(&mut p, "a");
        p.publish(SessionMap::new(), ActivityMap::new(), vec![d], 10);
        match rx.recv().await {
            Some(crate::outbox::OutFrame::Text(t)) => {
                assert!(t.as_str().contains(r#""seq":1"#), "{}", t.as_str())
            }
            _ => panic!("the subscriber got no delta"),
        }
        let sync = p.sync_message(None, None);
        assert!(sync.as_str().contains(r#""seq":1"#) && sync.as_str().contains(r#""epoch":"e""#));
    }

    #[test]
    fn a_session_restricted_token_sees_no_sources() {
        let mut p = publisher();
        let d = delta(&mut p, "a");
        if let DeltaEvent::SourceUpdated { name, source } = d.event {
            p.published_sources.insert(name, source);
        }
        assert_eq!(p.visible_sources(None).len(), 1);
        assert!(p.visible_sources(Some(&SessionId::new("s1".to_owned()))).is_empty());
    }
}
