//! A session's changes against its base: the counts of the `git` object on Session (refreshed
//! from the poll tick by [`GitStats`]) and the diff `GET /api/sessions/{id}/diff` serves.
//!
//! Changes are the merge base of the base and `HEAD` against the working tree (`git diff
//! --merge-base BASE`): what the branch did, committed or not, in tracked files. A session that
//! did not get a worktree of its own counts against `HEAD` (its uncommitted changes).

use super::WorktreeConfig;
use super::git_cmd::{GitCmdError, git};
use controlroom_protocol::SessionGit;
use std::collections::HashMap;
use std::hash::Hash;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

/// Most bytes of `git diff --numstat` read for a count (one line a file: tens of thousands of
/// files); past it the count covers the files read.
const MAX_NUMSTAT: usize = 4 * 1024 * 1024;

/// What to count for one session.
#[derive(Debug, Clone)]
pub struct CountTarget {
    /// The session's working directory.
    pub cwd: String,
    /// Its branch, as the poll last read it.
    pub branch: String,
    /// The base of a worktree the gateway made; `None`: count against `HEAD`.
    pub base: Option<String>,
}

/// Counts `target`'s changes (two git commands for a worktree session, one otherwise).
pub async fn count(config: &WorktreeConfig, target: &CountTarget) -> Result<SessionGit, GitCmdError> {
    let dir = Path::new(&target.cwd);
    let t = config.git_timeout;
    let mut out = SessionGit {
        branch: target.branch.clone(),
        worktree: target.base.is_some(),
        ..SessionGit::default()
    };
    let numstat = match &target.base {
        Some(base) => {
            let range = format!("{base}...HEAD");
            let lr = git(dir, &["rev-list", "--left-right", "--count", &range, "--"], t, 1024).await?;
            (out.behind, out.ahead) = parse_left_right(&String::from_utf8_lossy(&lr.stdout));
            git(
                dir,
                &["diff", "--numstat", "--no-renames", "--no-ext-diff", "--merge-base", base, "--"],
                t,
                MAX_NUMSTAT,
            )
            .await?
        }
        None => {
            git(dir, &["diff", "--numstat", "--no-renames", "--no-ext-diff", "HEAD", "--"], t, MAX_NUMSTAT)
                .await?
        }
    };
    let (files, ins, del) = parse_numstat(&String::from_utf8_lossy(&numstat.stdout));
    out.changed_files = files;
    out.insertions = ins;
    out.deletions = del;
    Ok(out)
}

/// The diff of `cwd` against `base` (`None`: `HEAD`), at most `config.max_diff_bytes`; the
/// text and whether it was cut (then it ends with a marker line).
pub async fn diff(
    config: &WorktreeConfig,
    cwd: &str,
    base: Option<&str>,
) -> Result<(String, bool), GitCmdError> {
    let mut args = vec!["diff", "--no-color", "--no-ext-diff", "--no-renames"];
    match base {
        Some(b) => args.extend(["--merge-base", b]),
        None => args.push("HEAD"),
    }
    args.push("--");
    let out = git(Path::new(cwd), &args, config.git_timeout, config.max_diff_bytes).await?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.truncated {
        // Cut at a line end so the last line shown is whole.
        if let Some(end) = text.rfind('\n') {
            text.truncate(end + 1);
        }
        text.push_str(&truncation_marker(config.max_diff_bytes));
    }
    Ok((text, out.truncated))
}

/// The line that ends a cut diff.
pub fn truncation_marker(max: usize) -> String {
    format!("… diff truncated at {max} bytes (--max-diff-bytes) …\n")
}

/// `BEHIND\tAHEAD` from `rev-list --left-right --count BASE...HEAD`.
fn parse_left_right(text: &str) -> (u32, u32) {
    let mut it = text.split_whitespace().map(|n| n.parse().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// Files, insertions and deletions from `--numstat` lines (`ADDED\tREMOVED\tPATH`; `-` for a
/// binary file, which counts as a file with no lines).
fn parse_numstat(text: &str) -> (u32, u32, u32) {
    let (mut files, mut ins, mut del) = (0u32, 0u32, 0u32);
    for line in text.lines() {
        let mut parts = line.splitn(3, '\t');
        let (Some(a), Some(d), Some(_)) = (parts.next(), parts.next(), parts.next()) else { continue };
        files = files.saturating_add(1);
        ins = ins.saturating_add(a.parse().unwrap_or(0));
        del = del.saturating_add(d.parse().unwrap_or(0));
    }
    (files, ins, del)
}

/// The poll tick's counting schedule: each session at most every `--git-stats-interval`, and
/// one round running at a time (a round still running when the next tick comes makes that
/// tick skip, so slow git never piles up processes).
#[derive(Debug, Clone)]
pub struct GitStats<K> {
    round: Arc<Semaphore>,
    last: Arc<std::sync::Mutex<HashMap<K, Instant>>>,
}

impl<K> Default for GitStats<K> {
    fn default() -> Self {
        // The map is touched only when a round is picked (on the hub, once per tick) and as each
        // count finishes (in the round's task): never contended for long, never across an await.
        Self { round: Arc::new(Semaphore::new(1)), last: Arc::default() }
    }
}

impl<K: Eq + Hash + Clone + Send + 'static> GitStats<K> {
    /// Counts the due targets in the background, one after the other, and hands the results to
    /// `done`; nothing when a round is still running or nothing is due.
    pub fn round<F, Fut>(&self, config: &WorktreeConfig, targets: Vec<(K, CountTarget)>, done: F)
    where
        F: FnOnce(Vec<(K, Option<SessionGit>)>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let Ok(permit) = self.round.clone().try_acquire_owned() else { return };
        let now = Instant::now();
        let due: Vec<(K, CountTarget)> = {
            let Ok(mut last) = self.last.lock() else { return };
            let keep: std::collections::HashSet<&K> = targets.iter().map(|(k, _)| k).collect();
            last.retain(|k, _| keep.contains(k));
            targets
                .into_iter()
                .filter(|(k, _)| last.get(k).is_none_or(|t| now.duration_since(*t) >= config.stats_interval))
                .collect()
        };
        if due.is_empty() {
            return;
        }
        let (config, last) = (config.clone(), self.last.clone());
        tokio::spawn(async move {
            let mut results = Vec::with_capacity(due.len());
            for (key, target) in due {
                let r = count(&config, &target).await;
                if let Err(e) = &r {
                    tracing::debug!(cwd = %target.cwd, error = %e, "git count failed");
                }
                if let Ok(mut last) = last.lock() {
                    last.insert(key.clone(), Instant::now());
                }
                results.push((key, r.ok()));
            }
            drop(permit);
            done(results).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numstat_and_left_right_counts_parse() {
        assert_eq!(parse_numstat("3\t1\tsrc/a.rs\n10\t0\tb.txt\n-\t-\timg.png\n"), (3, 13, 1));
        assert_eq!(parse_numstat(""), (0, 0, 0));
        assert_eq!(parse_left_right("1\t2\n"), (1, 2));
        assert_eq!(parse_left_right(""), (0, 0));
    }
}
