//! A git worktree per session: `POST /api/sessions` with `worktree: {branch, base}` makes a
//! worktree for a new branch (`create.rs`: `git worktree add`, the `.worktreeinclude` copies of
//! `include.rs`, the setup command), `DELETE …?removeWorktree=true` removes it and its branch, and
//! `stats.rs` counts each session's changes against its base (the `git` object on Session) and
//! serves its diff.
//!
//! Every git call is a child process run by `git_cmd.rs` (async, with a deadline, never on the
//! hub's task), and the counts run from the poll tick at most every `--git-stats-interval` per
//! session, one round at a time. This module imports nothing of the hub or the API.

mod create;
pub(crate) mod git_cmd;
pub(crate) mod include;
pub(crate) mod stats;

pub(crate) use create::{check_removable, create, discard, remove};

use crate::flag_values;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where a worktree goes when `--worktree-dir` and the config's `worktree-dir` are unset:
/// `{repo}` is the repository's path, `{name}` its folder's name, `{branch}` the new branch.
pub const DEFAULT_WORKTREE_DIR: &str = "{repo}/../{name}.worktrees/{branch}";
/// Default `--worktree-setup-timeout`: how long the setup command may run before the worktree
/// is given up (an `npm ci` on a cold cache takes minutes).
pub const DEFAULT_SETUP_TIMEOUT: Duration = Duration::from_secs(300);
/// Default `--git-timeout`: how long one git command (a count, a diff, an add or remove) may run.
pub const DEFAULT_GIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `--git-stats-interval`: least time between two counts of one session's changes.
pub const DEFAULT_GIT_STATS_INTERVAL: Duration = Duration::from_secs(10);
/// Default `--max-diff-bytes`: the most of a diff `GET /api/sessions/{id}/diff` returns.
pub const DEFAULT_MAX_DIFF_BYTES: usize = 1024 * 1024;

/// The worktree settings of `controlroom serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct WorktreeConfig {
    /// Where a session's worktree is made: `{repo}` the repository's path, `{name}` its
    /// folder's name, `{branch}` the branch [default: {repo}/../{name}.worktrees/{branch};
    /// config key `worktree-dir`].
    #[arg(long = "worktree-dir", env = "CONTROLROOM_WORKTREE_DIR", value_name = "TEMPLATE")]
    pub dir: Option<String>,
    /// A command run with `sh -c` in each new worktree before its workers start (e.g. `npm ci`);
    /// its output goes to the worktree's `controlroom-setup.log` in the repository's git dir, and
    /// a failure gives the worktree up [config key `worktree-setup`].
    #[arg(long = "worktree-setup", env = "CONTROLROOM_WORKTREE_SETUP", value_name = "COMMAND")]
    pub setup: Option<String>,
    /// How long the setup command may run.
    #[arg(
        long = "worktree-setup-timeout",
        env = "CONTROLROOM_WORKTREE_SETUP_TIMEOUT",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(DEFAULT_SETUP_TIMEOUT)
    )]
    pub setup_timeout: Duration,
    /// How long one git command may run (counts, diffs, worktree add and remove).
    #[arg(
        long = "git-timeout",
        env = "CONTROLROOM_GIT_TIMEOUT",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(DEFAULT_GIT_TIMEOUT)
    )]
    pub git_timeout: Duration,
    /// Least time between two counts of one session's changes (the `git` object).
    #[arg(
        long = "git-stats-interval",
        env = "CONTROLROOM_GIT_STATS_INTERVAL",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(DEFAULT_GIT_STATS_INTERVAL)
    )]
    pub stats_interval: Duration,
    /// The most of a session's diff `GET /api/sessions/{id}/diff` returns; past it the diff is
    /// cut with a marker line.
    #[arg(
        long = "max-diff-bytes",
        env = "CONTROLROOM_MAX_DIFF_BYTES",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(DEFAULT_MAX_DIFF_BYTES)
    )]
    pub max_diff_bytes: usize,
}

impl Default for WorktreeConfig {
    fn default() -> Self {
        Self {
            dir: None,
            setup: None,
            setup_timeout: DEFAULT_SETUP_TIMEOUT,
            git_timeout: DEFAULT_GIT_TIMEOUT,
            stats_interval: DEFAULT_GIT_STATS_INTERVAL,
            max_diff_bytes: DEFAULT_MAX_DIFF_BYTES,
        }
    }
}

/// What the gateway remembers of a worktree it made (stored with the session, never sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorktreeMeta {
    /// The repository it was made from (its main working tree).
    pub repo: String,
    /// The worktree's directory.
    pub path: String,
    /// The branch made for it.
    pub branch: String,
    /// What the branch started from, as the counts and the diff compare against.
    pub base: String,
}

/// Why a worktree could not be made or removed. Everything but `Git`'s internal failures is the
/// client's to fix (400), `WouldLose` asks for confirmation (409).
#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    /// The cwd is not inside a git repository.
    #[error("{0} is not in a git repository")]
    NotARepo(String),
    /// The branch name is not one git accepts.
    #[error("`{0}` is not a valid branch name")]
    BadBranch(String),
    /// The branch exists already.
    #[error("branch `{0}` already exists; pick another name")]
    BranchExists(String),
    /// The base does not name a commit.
    #[error("`{0}` is not a branch, tag or commit in this repository")]
    BadRef(String),
    /// Something is at the worktree's location already.
    #[error("{0} already exists; remove it or set --worktree-dir")]
    Exists(String),
    /// `.worktreeinclude` was refused or could not be copied.
    #[error(transparent)]
    Include(#[from] include::IncludeError),
    /// The setup command failed or ran too long.
    #[error("the worktree setup command `{command}` {why}; its output:\n{tail}")]
    Setup {
        /// The command.
        command: String,
        /// `exited with 1`, `took longer than 300s`, …
        why: String,
        /// The last lines it printed.
        tail: String,
    },
    /// The session has no worktree made by the gateway.
    #[error("this session has no worktree of its own (it was not created with a worktree)")]
    NoWorktree,
    /// Removing the worktree and its branch would lose uncommitted changes or commits no other
    /// branch has.
    #[error(
        "the worktree {path} has {}; repeat with force=true to remove it anyway",
        lost_work(*files, *commits, branch)
    )]
    WouldLose {
        /// The worktree.
        path: String,
        /// Its branch.
        branch: String,
        /// How many files `git status` lists.
        files: usize,
        /// How many commits only the branch (or the worktree's HEAD) holds.
        commits: usize,
    },
    /// A git command failed.
    #[error("git: {0}")]
    Git(#[from] git_cmd::GitCmdError),
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// `uncommitted changes (2 files) and 1 unmerged commit (on `x` only)`, naming only what there is.
fn lost_work(files: usize, commits: usize, branch: &str) -> String {
    let count = |n: usize, noun: &str| format!("{n} {noun}{}", if n == 1 { "" } else { "s" });
    let changes = (files > 0).then(|| format!("uncommitted changes ({})", count(files, "file")));
    let unmerged =
        (commits > 0).then(|| format!("{} (on `{branch}` only)", count(commits, "unmerged commit")));
    changes.into_iter().chain(unmerged).collect::<Vec<_>>().join(" and ")
}

impl WorktreeError {
    /// Whether the client can fix it (a 4xx) rather than the gateway failing.
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Self::Git(_) | Self::Io { .. })
    }
}
