//! Runs `git` as a child process, never on the hub: async (tokio's process reaper, no blocked
//! thread), with a deadline after which the child is killed, stdout read up to a cap (the rest is
//! left unread and the child killed), and an environment that keeps git from prompting or taking
//! optional locks (a count must never make the user's own `git commit` fail on `index.lock`).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt as _;

/// Most bytes of a git command's stderr kept for an error message.
const MAX_STDERR: usize = 8 * 1024;

/// What a finished git command printed.
#[derive(Debug)]
pub struct GitOutput {
    /// stdout, at most the cap given.
    pub stdout: Vec<u8>,
    /// Whether stdout was longer than the cap (the child was killed when it was reached).
    pub truncated: bool,
}

/// Why a git command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum GitCmdError {
    /// `git` could not be started (not installed, or no such directory).
    #[error("could not run git: {0}")]
    Spawn(#[source] std::io::Error),
    /// It ran longer than its deadline and was killed.
    #[error("git {args} took longer than {}s and was stopped", timeout.as_secs_f32())]
    Timeout {
        /// The arguments, for the message.
        args: String,
        /// The deadline.
        timeout: Duration,
    },
    /// It exited unsuccessfully; `stderr` is what it said (trimmed).
    #[error("{stderr}")]
    Failed {
        /// Its exit code, if it exited.
        code: Option<i32>,
        /// What it printed on stderr.
        stderr: String,
    },
    /// Reading its output failed.
    #[error("reading git's output: {0}")]
    Io(#[source] std::io::Error),
}

/// Runs `git -C dir ARGS`, returning stdout (at most `max_stdout` bytes) when it succeeds.
pub async fn git(
    dir: &Path,
    args: &[&str],
    timeout: Duration,
    max_stdout: usize,
) -> Result<GitOutput, GitCmdError> {
    let mut cmd = tokio::process::Command::new("git");
    // No fsmonitor hook: a count must never run a program a repository's config names.
    cmd.args(["-c", "core.fsmonitor=false", "-C"])
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(GitCmdError::Spawn)?;
    let (Some(mut out), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else {
        // Both were set to piped just above, so tokio always hands them out.
        return Err(GitCmdError::Spawn(std::io::Error::other("git's output pipes are missing")));
    };
    let run = async {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let read_out = async {
            // One byte past the cap tells a cut output from one that fit exactly.
            (&mut out).take(max_stdout as u64 + 1).read_to_end(&mut stdout).await
        };
        let read_err = async { (&mut err).take(MAX_STDERR as u64).read_to_end(&mut stderr).await };
        let (r_out, r_err) = tokio::join!(read_out, read_err);
        r_out.map_err(GitCmdError::Io)?;
        r_err.map_err(GitCmdError::Io)?;
        let truncated = stdout.len() > max_stdout;
        if truncated {
            stdout.truncate(max_stdout);
            // The rest is not wanted: stop git rather than wait for it to write it all.
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Ok(GitOutput { stdout, truncated });
        }
        let status = child.wait().await.map_err(GitCmdError::Io)?;
        if !status.success() {
            return Err(GitCmdError::Failed {
                code: status.code(),
                stderr: String::from_utf8_lossy(&stderr).trim().to_owned(),
            });
        }
        Ok(GitOutput { stdout, truncated })
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(r) => r,
        // Dropping the future drops the child, which kills it (`kill_on_drop`).
        Err(_) => Err(GitCmdError::Timeout { args: args.join(" "), timeout }),
    }
}

/// Runs `git -C dir ARGS` and returns its stdout as trimmed text.
pub async fn git_text(dir: &Path, args: &[&str], timeout: Duration) -> Result<String, GitCmdError> {
    let out = git(dir, args, timeout, 1024 * 1024).await?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
