//! The delta engine: the one path from "state before" and "state after" to deltas.

use controlroom_protocol::{ActivityState, DeltaEvent, Session, SessionId, WorkerId};
use std::collections::BTreeMap;

/// Sessions by id, as published to clients.
pub type SessionMap = BTreeMap<SessionId, Session>;
/// Activity by worker, as published to clients.
pub type ActivityMap = BTreeMap<(SessionId, WorkerId), ActivityState>;

/// Diffs two snapshots into created/updated/deleted deltas, then activity changes.
///
/// Session deltas come first so a client always knows a worker's session before its activity.
/// Activity of deleted sessions produces nothing (`session-deleted` says it all).
pub fn diff(
    before: &SessionMap,
    after: &SessionMap,
    activity_before: &ActivityMap,
    activity_after: &ActivityMap,
) -> Vec<DeltaEvent> {
    let mut out = Vec::new();
    for (id, old) in before {
        if !after.contains_key(id) {
            out.push(DeltaEvent::SessionDeleted { session_id: id.clone(), before: old.clone() });
        }
    }
    for (id, new) in after {
        match before.get(id) {
            None => out.push(DeltaEvent::SessionCreated { session_id: id.clone(), session: new.clone() }),
            Some(old) if old != new => out.push(DeltaEvent::SessionUpdated {
                session_id: id.clone(),
                session: new.clone(),
                before: old.clone(),
            }),
            Some(_) => {}
        }
    }
    for ((sid, wid), state) in activity_after {
        if activity_before.get(&(sid.clone(), wid.clone())) != Some(state) {
            out.push(DeltaEvent::WorkerActivity {
                session_id: sid.clone(),
                worker_id: wid.clone(),
                activity_state: *state,
            });
        }
    }
    out
}

/// Applies deltas to a snapshot; `apply(diff(a, b), a) == b` is the engine's contract.
pub fn apply(events: &[DeltaEvent], sessions: &mut SessionMap, activity: &mut ActivityMap) {
    for event in events {
        match event {
            DeltaEvent::SessionCreated { session_id, session } => {
                sessions.insert(session_id.clone(), session.clone());
            }
            DeltaEvent::SessionUpdated { session_id, session, .. } => {
                // A removed worker's activity goes with it.
                activity.retain(|(sid, wid), _| {
                    sid != session_id || session.workers.iter().any(|w| &w.id == wid)
                });
                sessions.insert(session_id.clone(), session.clone());
            }
            DeltaEvent::SessionDeleted { session_id, .. } => {
                sessions.remove(session_id);
                activity.retain(|(sid, _), _| sid != session_id);
            }
            DeltaEvent::WorkerActivity { session_id, worker_id, activity_state } => {
                activity.insert((session_id.clone(), worker_id.clone()), *activity_state);
            }
            DeltaEvent::SourceUpdated { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: &str, title: &str) -> Session {
        Session {
            id: SessionId::new(id),
            title: title.into(),
            cwd: "/".into(),
            repository: None,
            branch: None,
            created_at: "c".into(),
            source: None,
            status: None,
            read_only: false,
            git: None,
            updated_at: "u".into(),
            workers: vec![],
        }
    }

    fn map(items: &[Session]) -> SessionMap {
        items.iter().map(|x| (x.id.clone(), x.clone())).collect()
    }

    #[test]
    fn unchanged_state_produces_nothing() {
        let a = map(&[s("1", "a"), s("2", "b")]);
        assert!(diff(&a, &a, &ActivityMap::new(), &ActivityMap::new()).is_empty());
    }

    #[test]
    fn created_updated_deleted_and_activity() {
        let before = map(&[s("1", "a"), s("2", "b")]);
        let after = map(&[s("2", "b2"), s("3", "c")]);
        let act_before =
            ActivityMap::from([((SessionId::new("2"), WorkerId::new("w")), ActivityState::Idle)]);
        let act_after =
            ActivityMap::from([((SessionId::new("2"), WorkerId::new("w")), ActivityState::Active)]);
        let events = diff(&before, &after, &act_before, &act_after);
        let types: Vec<_> = events
            .iter()
            .map(|e| (e.type_name(), e.session_id().map(ToString::to_string).unwrap_or_default()))
            .collect();
        assert_eq!(
            types,
            vec![
                ("session-deleted", "1".to_string()),
                ("session-updated", "2".to_string()),
                ("session-created", "3".to_string()),
                ("worker-activity", "2".to_string()),
            ]
        );
        let mut replayed = before.clone();
        let mut replayed_act = act_before.clone();
        apply(&events, &mut replayed, &mut replayed_act);
        assert_eq!(replayed, after);
        assert_eq!(replayed_act, act_after);
    }
}
