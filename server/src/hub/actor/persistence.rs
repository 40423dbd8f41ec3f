//! The hub's persistence: the store, the screen-save schedule, and a commit the store refused,
//! retried with the next one.

use crate::hub::screen_saves::{ScreenSaves, WorkerKey, WorkerOutput};
use crate::store::{Commit, Store};
use controlroom_protocol::{SessionId, WorkerId};

/// What the hub writes to the store and what it still owes it.
pub(super) struct Persistence {
    pub(super) store: Store,
    /// The most deltas a folded commit keeps (the delta log's length).
    pub(super) delta_log: usize,
    /// When each worker's screen was saved and which to save next (`--screen-save-interval`).
    screens: ScreenSaves,
    /// A commit the store refused (disk full, I/O error), retried with the next one.
    pub(super) pending: Option<Commit>,
    /// Whether the last commit failed (to log the recovery once).
    pub(super) store_failing: bool,
}

impl Persistence {
    /// Nothing saved or pending yet.
    pub(super) fn new(store: Store, delta_log: usize) -> Self {
        Self { store, delta_log, screens: ScreenSaves::default(), pending: None, store_failing: false }
    }

    /// Whether a refused commit waits for a retry.
    pub(super) fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Starts a round of the screen-save schedule: the workers whose screen to save now, at most
    /// `budget` bytes (estimated), each in flight until [`Self::screen_saved`].
    pub(super) fn screens_due(
        &mut self,
        workers: impl IntoIterator<Item = (WorkerKey, WorkerOutput)>,
        budget: usize,
    ) -> Vec<WorkerKey> {
        self.screens.due(workers, budget)
    }

    /// A scheduled screen save finished: `bytes` written, `None` if it failed.
    pub(super) fn screen_saved(&mut self, key: &WorkerKey, bytes: Option<usize>) {
        self.screens.done(key, bytes);
    }

    /// Forgets the screen saves of a deleted session.
    pub(super) fn forget_session(&mut self, id: &SessionId) {
        self.screens.retain(|(sid, _)| sid != id);
    }

    /// Forgets a removed worker: its screen saves and its saved screen.
    pub(super) fn forget_worker(&mut self, id: &SessionId, wid: &WorkerId) {
        self.screens.retain(|k| k != &(id.clone(), wid.clone()));
        self.store.delete_screen(wid.clone());
    }

    /// Commits, folding in a commit the store refused earlier. A refused commit is kept and
    /// retried with the next change or poll tick, so once the disk takes writes again the store
    /// has every session and delta, without gaps. Returns whether the store now has everything
    /// (nothing pending).
    pub(super) async fn persist(&mut self, commit: Commit) -> bool {
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
                true
            }
            Err((e, back)) => {
                tracing::error!(error = %e, held_deltas = held, reason = "store_refused",
                    "could not persist changes; serving in-memory state and retrying");
                self.pending = back;
                self.store_failing = true;
                false
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

    fn out(end: u64) -> WorkerOutput {
        WorkerOutput { end, running: true }
    }

    #[test]
    fn screen_saves_are_forgotten_with_their_session_or_worker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = persistence(&dir);
        let (s1, s2) = (SessionId::new("s1".to_owned()), SessionId::new("s2".to_owned()));
        let (w1, w2) = (WorkerId::new("w1".to_owned()), WorkerId::new("w2".to_owned()));
        let (k1, k2) = ((s1.clone(), w1.clone()), (s2.clone(), w2.clone()));
        let due = p.screens_due([(k1.clone(), out(10)), (k2.clone(), out(10))], 100);
        assert_eq!(due.len(), 2, "one save per worker whose output moved");
        assert!(p.screens_due([(k1.clone(), out(20))], 100).is_empty(), "still in flight");
        p.screen_saved(&k1, Some(5));
        p.screen_saved(&k2, Some(5));
        p.forget_session(&s1);
        // Forgotten: seen again, it is a new worker whose whole output is due.
        assert_eq!(p.screens_due([(k1.clone(), out(10))], 100), [k1]);
        assert!(p.screens_due([(k2.clone(), out(10))], 100).is_empty(), "saved up to 10 already");
        p.forget_worker(&s2, &w2);
        assert_eq!(p.screens_due([(k2.clone(), out(10))], 100), [k2]);
    }

    #[tokio::test]
    async fn a_commit_the_store_takes_leaves_nothing_pending() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = persistence(&dir);
        assert!(p.persist(Commit::default()).await, "committed");
        assert!(!p.has_pending() && !p.store_failing);
    }
}
