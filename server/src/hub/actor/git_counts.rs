//! The `git` object on each session: the poll tick starts a round of change counts off the hub
//! (`worktree::stats::GitStats`: each session at most every `--git-stats-interval`, one round at
//! a time, every git command with a deadline), and the results come back as `GitCounts`.

use super::*;
use crate::worktree::stats::CountTarget;
use controlroom_protocol::SessionGit;

impl Hub {
    /// Starts a round of counts for the local sessions in a repository that are due.
    pub(super) fn count_changes(&mut self) {
        let targets: Vec<(SessionId, CountTarget)> = self
            .records
            .iter()
            .filter(|(_, r)| r.session.source.is_none())
            .filter_map(|(id, r)| {
                let branch = r.session.branch.clone()?;
                let base = r.worktree.as_ref().map(|w| w.base.clone());
                Some((id.clone(), CountTarget { cwd: r.session.cwd.clone(), branch, base }))
            })
            .collect();
        let tx = self.tx.clone();
        self.git_stats.round(&self.config.worktree, targets, move |results| async move {
            let _ = tx.send(HubCmd::GitCounts { results }).await;
        });
    }

    /// Puts a round's counts on the sessions (a session that left its repository loses its
    /// `git` object; one whose count failed keeps the last one).
    pub(super) fn git_counts(&mut self, results: Vec<(SessionId, Option<SessionGit>)>) {
        let now = now_iso();
        for (id, counted) in results {
            let Some(rec) = self.records.get_mut(&id) else { continue };
            let next = match (&rec.session.branch, counted) {
                (None, _) => None,
                (Some(_), Some(mut g)) => {
                    // The branch as the poll read it last wins over the one the count started with.
                    g.branch = rec.session.branch.clone().unwrap_or(g.branch);
                    Some(g)
                }
                (Some(_), None) => rec.session.git.clone(),
            };
            if rec.session.git != next {
                rec.session.git = next;
                rec.session.updated_at.clone_from(&now);
            }
        }
    }
}
