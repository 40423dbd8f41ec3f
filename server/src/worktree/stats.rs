//! A session's changes against its base: the counts of the `git` object on Session (refreshed
//! from the poll tick by [`GitStats`]) and the diff `GET /api/sessions/{id}/diff` serves.
//!
//! Changes are the merge base of the base and `HEAD` against the working tree (`git diff
//! --merge-base BASE`): what the branch did, committed or not, in tracked files; plus the
//! untracked files git does not ignore (an agent's new files, before anyone runs `git add`),
//! each counted as a new file of its lines and shown as one in the diff. A session that did not
//! get a worktree of its own counts against `HEAD` (its uncommitted changes).

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

/// Most untracked files counted and shown per session (past it the rest are left out).
pub const MAX_UNTRACKED: usize = 1_000;
/// Largest untracked file whose lines are counted and shown (a bigger one counts as a file with
/// no lines, as a binary file does).
pub const MAX_UNTRACKED_FILE: u64 = 1024 * 1024;

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
    let new_files = untracked(config, dir).await?;
    let untracked_count = u32::try_from(new_files.len()).unwrap_or(u32::MAX);
    let dir_owned = dir.to_path_buf();
    let new_lines = tokio::task::spawn_blocking(move || {
        new_files.iter().map(|f| read_text(&dir_owned.join(f)).map_or(0, |t| line_count(&t))).sum::<u32>()
    });
    out.changed_files = files.saturating_add(untracked_count);
    out.insertions = ins.saturating_add(new_lines.await.unwrap_or(0));
    out.deletions = del;
    Ok(out)
}

/// The untracked files git does not ignore, anywhere in the repository, relative to `dir`.
async fn untracked(config: &WorktreeConfig, dir: &Path) -> Result<Vec<String>, GitCmdError> {
    let args = ["ls-files", "--others", "--exclude-standard", "-z", "--", ":/"];
    let out = git(dir, &args, config.git_timeout, MAX_NUMSTAT).await?;
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .take(MAX_UNTRACKED)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

/// A regular file's text, when it is at most [`MAX_UNTRACKED_FILE`] and not binary (no NUL).
/// Blocking.
fn read_text(path: &Path) -> Option<String> {
    use std::io::Read as _;
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_UNTRACKED_FILE {
        return None;
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path).ok()?.take(MAX_UNTRACKED_FILE).read_to_end(&mut bytes).ok()?;
    if bytes.contains(&0) {
        return None;
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn line_count(text: &str) -> u32 {
    u32::try_from(text.lines().count()).unwrap_or(u32::MAX)
}

/// An untracked file as `git diff` shows a new one.
fn new_file_diff(name: &str, text: Option<&str>) -> String {
    let mut out = format!("diff --git a/{name} b/{name}\nnew file (untracked)\n");
    match text {
        Some(t) if !t.is_empty() => {
            out.push_str(&format!("--- /dev/null\n+++ b/{name}\n@@ -0,0 +1,{} @@\n", line_count(t)));
            for line in t.lines() {
                out.push('+');
                out.push_str(line);
                out.push('\n');
            }
        }
        Some(_) => {}
        None => out.push_str(&format!("Binary or large file b/{name}\n")),
    }
    out
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
    let mut truncated = out.truncated;
    if !truncated {
        let files = untracked(config, Path::new(cwd)).await?;
        let (dir, max) = (Path::new(cwd).to_path_buf(), config.max_diff_bytes);
        let room = max.saturating_sub(text.len());
        let extra = tokio::task::spawn_blocking(move || {
            let mut extra = String::new();
            for f in files {
                extra.push_str(&new_file_diff(&f, read_text(&dir.join(&f)).as_deref()));
                if extra.len() > room {
                    break;
                }
            }
            extra
        })
        .await
        .unwrap_or_default();
        text.push_str(&extra);
        if text.len() > max {
            let mut cut = max;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            truncated = true;
        }
    }
    if truncated {
        // Cut at a line end so the last line shown is whole.
        if let Some(end) = text.rfind('\n') {
            text.truncate(end + 1);
        }
        text.push_str(&truncation_marker(config.max_diff_bytes));
    }
    Ok((text, truncated))
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
