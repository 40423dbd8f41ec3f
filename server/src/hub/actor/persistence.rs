//! The hub's persistence: the store, the screens waiting to be saved, and a commit the store
//! refused, retried with the next one.

use crate::store::{Commit, Store};
use controlroom_protocol::{SessionId, WorkerId};
use std::collections::BTreeSet;

/// What the hub writes to the store and what it still owes it.
pub(super) struct Persistence {
    pub(super) store: Store,
    /// The most deltas a folded commit keeps (the delta log's length).
    pub(super) delta_log: usize,
    /// Workers whose screen changed since it was last saved.
    pub(super) dirty_screens: BTreeSet<(SessionId, WorkerId)>,
    /// A commit the store refused (disk full, I/O error), retried with the next one.
    pub(super) pending: Option<Commit>,
    /// Whether the last commit failed (to log the recovery once).
    pub(super) store_failing: bool,
}

impl Persistence {
    /// Nothing dirty or pending yet.
    pub(super) fn new(store: Store, delta_log: usize) -> Self {
        Self { store, delta_log, dirty_screens: BTreeSet::new(), pending: None, store_failing: false }
    }

    /// Whether a refused commit waits for a retry.
    pub(super) fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Notes that a worker's screen changed since it was last saved.
    pub(super) fn mark_dirty(&mut self, sid: &SessionId, wid: &WorkerId) {
        self.dirty_screens.insert((sid.clone(), wid.clone()));
    }

    /// The screens to save now; none are dirty afterwards.
    pub(super) fn take_dirty(&mut self) -> BTreeSet<(SessionId, WorkerId)> {
        std::mem::take(&mut self.dirty_screens)
    }

    /// Forgets the dirty screens of a deleted session.
    pub(super) fn forget_session(&mut self, id: &SessionId) {
        self.dirty_screens.retain(|(sid, _)| sid != id);
    }

    /// Forgets a removed worker: its dirty mark and its saved screen.
    pub(super) fn forget_worker(&mut self, id: &SessionId, wid: &WorkerId) {
        self.dirty_screens.remove(&(id.clone(), wid.clone()));
        self.store.delete_screen(wid.clone());
    }

    /// Commits, folding in a commit the store refused earlier. A refused commit is kept and
    /// retried with the next change or poll tick, so once the disk takes writes again the store
    /// has every session and delta, without gaps.
    pub(super) async fn persist(&mut self, commit: Commit) {
        let commit = match self.pending.take() {
            Some(earlier) => earlier.then(commit, self.delta_log),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn persistence(dir: &tempfile::TempDir) -> Persistence {
        Persistence::new(Store::open(dir.path(), 10).expect("store opens"), 10)
    }

    #[test]
    fn dirty_screens_are_taken_once_and_forgotten_with_their_session_or_worker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = persistence(&dir);
        let (s1, s2) = (SessionId::new("s1".to_owned()), SessionId::new("s2".to_owned()));
        let (w1, w2) = (WorkerId::new("w1".to_owned()), WorkerId::new("w2".to_owned()));
        p.mark_dirty(&s1, &w1);
        p.mark_dirty(&s1, &w1);
        p.mark_dirty(&s2, &w2);
        assert_eq!(p.take_dirty().len(), 2, "one entry per worker");
        assert!(p.take_dirty().is_empty(), "taken: nothing dirty until marked again");
        p.mark_dirty(&s1, &w1);
        p.mark_dirty(&s2, &w2);
        p.forget_session(&s1);
        assert_eq!(p.take_dirty().into_iter().collect::<Vec<_>>(), [(s2.clone(), w2.clone())]);
        p.mark_dirty(&s2, &w2);
        p.forget_worker(&s2, &w2);
        assert!(p.take_dirty().is_empty());
    }

    #[tokio::test]
    async fn a_commit_the_store_takes_leaves_nothing_pending() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = persistence(&dir);
        p.persist(Commit::default()).await;
        assert!(!p.has_pending() && !p.store_failing);
    }
}
