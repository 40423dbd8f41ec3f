//! When worker screens are saved: every `--screen-save-interval` the hub saves the screen of each
//! worker whose output moved since its last save, up to `--screen-save-budget` bytes a round
//! (estimated from each screen's last saved size), the longest-unsaved first. So after a crash
//! the restored screen is at most one interval old, and busy workers cost bounded disk writes.
//!
//! Pure bookkeeping, no I/O: the hub takes snapshots and writes them, then reports back.

use controlroom_protocol::{SessionId, WorkerId};
use std::collections::BTreeMap;

/// A worker, as the hub names it.
pub(crate) type WorkerKey = (SessionId, WorkerId);

/// One worker's saves.
#[derive(Debug, Default)]
struct Saved {
    /// Output offset the last finished save covers.
    offset: u64,
    /// Bytes that save wrote (the next one's estimate).
    bytes: usize,
    /// The round of the last save started (older first).
    round: u64,
    /// The offset a save in flight will cover.
    in_flight: Option<u64>,
}

/// What a worker looks like to a save round.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WorkerOutput {
    /// `WorkerHandle::output_end`.
    pub end: u64,
    /// Whether its program runs (a worker first seen exited was saved when it exited).
    pub running: bool,
}

/// The schedule's state across rounds.
#[derive(Debug, Default)]
pub(crate) struct ScreenSaves {
    workers: BTreeMap<WorkerKey, Saved>,
    round: u64,
}

impl ScreenSaves {
    /// Starts a round: the workers to save now, which are marked in flight until [`Self::done`].
    pub(crate) fn due(
        &mut self,
        workers: impl IntoIterator<Item = (WorkerKey, WorkerOutput)>,
        budget: usize,
    ) -> Vec<WorkerKey> {
        self.round += 1;
        let mut candidates: Vec<(u64, usize, WorkerKey, u64)> = Vec::new();
        for (key, out) in workers {
            let saved = self.workers.entry(key.clone()).or_insert_with(|| Saved {
                // First seen exited (restored from the store): its screen is saved already.
                offset: if out.running { 0 } else { out.end },
                ..Saved::default()
            });
            if out.end > saved.offset && saved.in_flight.is_none() {
                candidates.push((saved.round, saved.bytes, key, out.end));
            }
        }
        candidates.sort_by_key(|(round, ..)| *round);
        let mut spent = 0usize;
        let mut chosen = Vec::new();
        for (_, estimate, key, end) in candidates {
            if !chosen.is_empty() && spent.saturating_add(estimate) > budget {
                continue;
            }
            spent = spent.saturating_add(estimate);
            if let Some(saved) = self.workers.get_mut(&key) {
                saved.in_flight = Some(end);
                saved.round = self.round;
            }
            chosen.push(key);
        }
        chosen
    }

    /// A save finished: `bytes` written, or `None` if it failed (tried again next round).
    pub(crate) fn done(&mut self, key: &WorkerKey, bytes: Option<usize>) {
        let Some(saved) = self.workers.get_mut(key) else { return };
        let offset = saved.in_flight.take();
        if let (Some(offset), Some(bytes)) = (offset, bytes) {
            saved.offset = saved.offset.max(offset);
            saved.bytes = bytes;
        }
    }

    /// Forgets workers that are gone.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&WorkerKey) -> bool) {
        self.workers.retain(|k, _| keep(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(w: &str) -> WorkerKey {
        (SessionId::new("s"), WorkerId::new(w))
    }

    fn out(end: u64) -> WorkerOutput {
        WorkerOutput { end, running: true }
    }

    #[test]
    fn saves_what_changed_once_per_change() {
        let mut s = ScreenSaves::default();
        assert_eq!(s.due([(key("a"), out(0))], 100), Vec::<WorkerKey>::new(), "no output yet");
        assert_eq!(s.due([(key("a"), out(10))], 100), vec![key("a")]);
        assert!(s.due([(key("a"), out(20))], 100).is_empty(), "one save in flight at a time");
        s.done(&key("a"), Some(5));
        assert_eq!(s.due([(key("a"), out(20))], 100), vec![key("a")], "moved while saving");
        s.done(&key("a"), Some(5));
        assert!(s.due([(key("a"), out(20))], 100).is_empty(), "nothing new");
        // A failed save is tried again.
        assert_eq!(s.due([(key("a"), out(30))], 100), vec![key("a")]);
        s.done(&key("a"), None);
        assert_eq!(s.due([(key("a"), out(30))], 100), vec![key("a")]);
    }

    #[test]
    fn a_worker_first_seen_exited_is_not_saved_again() {
        let mut s = ScreenSaves::default();
        let restored = WorkerOutput { end: 500, running: false };
        assert!(s.due([(key("r"), restored)], 100).is_empty());
    }

    #[test]
    fn the_budget_defers_the_rest_to_the_next_round_longest_waiting_first() {
        let mut s = ScreenSaves::default();
        let all = |end| [(key("a"), out(end)), (key("b"), out(end)), (key("c"), out(end))];
        assert_eq!(s.due(all(1), 100).len(), 3, "sizes unknown yet");
        for w in ["a", "b", "c"] {
            s.done(&key(w), Some(60));
        }
        // 60 + 60 > 100: one screen a round (always at least one), each in turn.
        let first = s.due(all(2), 100);
        assert_eq!(first.len(), 1);
        s.done(&first[0], Some(60));
        let second = s.due(all(2), 100);
        assert_eq!(second.len(), 1);
        assert_ne!(second, first, "the one waiting longest goes next");
        s.done(&second[0], Some(60));
        let third = s.due(all(2), 100);
        assert!(third != first && third != second);
        s.retain(|k| k != &key("a"));
        assert_eq!(s.workers.len(), 2);
    }
}
