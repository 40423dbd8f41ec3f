//! Making a session's worktree and taking it away again: all or nothing — a failure after
//! `git worktree add` removes the worktree and the branch before the error is returned.

use super::git_cmd::{GitCmdError, git, git_text};
use super::include;
use super::{DEFAULT_WORKTREE_DIR, WorktreeConfig, WorktreeError, WorktreeMeta};
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;

/// Lines of the setup command's output quoted in the error when it fails.
const SETUP_TAIL_LINES: usize = 15;
/// The setup log's name, in the worktree's own git dir (`REPO/.git/worktrees/NAME/`), so it
/// neither shows as an untracked file nor outlives the worktree.
pub const SETUP_LOG: &str = "controlroom-setup.log";

/// Makes a worktree for new branch `branch` from `base` (default: what `cwd`'s repository has
/// checked out) at the configured location, copies `.worktreeinclude`, runs the setup command;
/// returns what to remember and the directory to start in (the worktree, or the same
/// subdirectory of it `cwd` was in).
pub async fn create(
    config: &WorktreeConfig,
    cwd: &str,
    branch: &str,
    base: Option<&str>,
) -> Result<(WorktreeMeta, String), WorktreeError> {
    let t = config.git_timeout;
    let branch = branch.trim();
    let cwd_path = Path::new(cwd);
    let top = match git_text(cwd_path, &["rev-parse", "--show-toplevel"], t).await {
        Ok(top) if !top.is_empty() => PathBuf::from(top),
        Ok(_) | Err(GitCmdError::Failed { .. }) => return Err(WorktreeError::NotARepo(cwd.to_owned())),
        Err(e) => return Err(e.into()),
    };
    // The main working tree (a cwd inside another worktree makes siblings of the main one).
    let common = git_text(&top, &["rev-parse", "--path-format=absolute", "--git-common-dir"], t).await?;
    let repo = match Path::new(&common).file_name() {
        Some(n) if n == ".git" => Path::new(&common).parent().map_or(top.clone(), Path::to_path_buf),
        _ => top.clone(),
    };
    if branch.is_empty()
        || branch.starts_with('-')
        || git_text(&repo, &["check-ref-format", "--branch", branch], t).await.is_err()
    {
        return Err(WorktreeError::BadBranch(branch.to_owned()));
    }
    let branch_ref = format!("refs/heads/{branch}");
    if git_text(&repo, &["show-ref", "--verify", "--quiet", &branch_ref], t).await.is_ok() {
        return Err(WorktreeError::BranchExists(branch.to_owned()));
    }
    // The base is kept by name (a branch that moves on makes `behind` grow); the default is the
    // branch checked out where the user is, or its commit when detached.
    let base = match base.map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => b.to_owned(),
        None => match git_text(&top, &["symbolic-ref", "--quiet", "--short", "HEAD"], t).await {
            Ok(b) if !b.is_empty() => b,
            _ => git_text(&top, &["rev-parse", "--verify", "HEAD"], t)
                .await
                .map_err(|_| WorktreeError::BadRef("HEAD".into()))?,
        },
    };
    if base.starts_with('-')
        || git_text(&top, &["rev-parse", "--verify", "--quiet", &format!("{base}^{{commit}}")], t)
            .await
            .is_err()
    {
        return Err(WorktreeError::BadRef(base));
    }
    let path = location(config.dir.as_deref().unwrap_or(DEFAULT_WORKTREE_DIR), &repo, branch);
    if std::fs::symlink_metadata(&path).is_ok() {
        return Err(WorktreeError::Exists(path.display().to_string()));
    }
    let path_text = path.to_string_lossy().into_owned();
    let added =
        git(&repo, &["worktree", "add", "-b", branch, &path_text, &base], config.setup_timeout, 64 * 1024)
            .await;
    if let Err(e) = added {
        // `worktree add` may have made the branch or directory before failing.
        let _ = git(&repo, &["worktree", "prune"], t, 1024).await;
        let _ = git(&repo, &["branch", "-D", branch], t, 1024).await;
        return Err(e.into());
    }
    let meta = WorktreeMeta {
        repo: repo.to_string_lossy().into_owned(),
        path: path_text,
        branch: branch.to_owned(),
        base,
    };
    match finish(config, &meta).await {
        Ok(()) => {}
        Err(e) => {
            discard(config, &meta).await;
            return Err(e);
        }
    }
    // Start where the user was, inside the new worktree, when that directory exists there.
    let start = cwd_path
        .strip_prefix(&top)
        .ok()
        .filter(|rel| !rel.as_os_str().is_empty())
        .map(|rel| path.join(rel))
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| path.clone());
    Ok((meta, start.to_string_lossy().into_owned()))
}

/// Copies the `.worktreeinclude` files and runs the setup command.
async fn finish(config: &WorktreeConfig, meta: &WorktreeMeta) -> Result<(), WorktreeError> {
    let (repo, path) = (PathBuf::from(&meta.repo), PathBuf::from(&meta.path));
    let copied =
        tokio::task::spawn_blocking(move || include::copy_listed(&repo, &path)).await.map_err(|e| {
            WorktreeError::Io { what: "copying .worktreeinclude".into(), source: std::io::Error::other(e) }
        })??;
    if !copied.is_empty() {
        tracing::info!(worktree = %meta.path, files = copied.len(), "copied the files .worktreeinclude lists");
    }
    let Some(command) = config.setup.as_deref().filter(|c| !c.trim().is_empty()) else { return Ok(()) };
    let git_dir = git_text(
        Path::new(&meta.path),
        &["rev-parse", "--path-format=absolute", "--git-dir"],
        config.git_timeout,
    )
    .await?;
    let log_path = Path::new(&git_dir).join(SETUP_LOG);
    run_setup(command, Path::new(&meta.path), &log_path, config.setup_timeout).await
}

/// Runs `sh -c COMMAND` in `dir`, its stdout and stderr into `log`.
async fn run_setup(
    command: &str,
    dir: &Path,
    log: &Path,
    timeout: std::time::Duration,
) -> Result<(), WorktreeError> {
    let io = |what: &str| {
        let what = what.to_owned();
        move |source| WorktreeError::Io { what, source }
    };
    let file = std::fs::File::create(log).map_err(io("creating the setup log"))?;
    let err_file = file.try_clone().map_err(io("creating the setup log"))?;
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err_file)
        .kill_on_drop(true)
        .process_group(0)
        .spawn()
        .map_err(io("starting the setup command"))?;
    let pid = child.id();
    let why = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => {
            tracing::info!(worktree = %dir.display(), log = %log.display(), "worktree setup command finished");
            return Ok(());
        }
        Ok(Ok(status)) => match status.code() {
            Some(code) => format!("exited with {code}"),
            None => "was killed by a signal".to_owned(),
        },
        Ok(Err(e)) => return Err(io("waiting for the setup command")(e)),
        Err(_) => {
            // Its own process group: take down what it started too (npm's children).
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                // SAFETY: killpg with a group id we created and a constant signal touches no memory.
                #[allow(unsafe_code)]
                unsafe {
                    libc::killpg(pid, libc::SIGKILL);
                }
            }
            let _ = child.wait().await;
            format!("took longer than {}s (--worktree-setup-timeout)", timeout.as_secs())
        }
    };
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(SETUP_TAIL_LINES)..].join("\n");
    Err(WorktreeError::Setup { command: command.to_owned(), why, tail })
}

/// Removes a worktree and its branch, whatever state they are in (clean-up after a failure and
/// the confirmed `removeWorktree`). Failures are logged: there is nothing better to do.
pub async fn discard(config: &WorktreeConfig, meta: &WorktreeMeta) {
    let repo = Path::new(&meta.repo);
    let t = config.git_timeout;
    if let Err(e) = git(repo, &["worktree", "remove", "--force", "--force", &meta.path], t, 64 * 1024).await {
        tracing::warn!(worktree = %meta.path, error = %e, "git worktree remove failed; removing the directory");
        let _ = tokio::fs::remove_dir_all(&meta.path).await;
        let _ = git(repo, &["worktree", "prune"], t, 1024).await;
    }
    if let Err(e) = git(repo, &["branch", "-D", &meta.branch], t, 1024).await {
        tracing::warn!(branch = %meta.branch, error = %e, "could not delete the worktree's branch");
    }
}

/// `DELETE …?removeWorktree=true`: refuses (`WouldLose`) while removing would lose work unless
/// `force`, then removes the worktree and its branch.
pub async fn remove(config: &WorktreeConfig, meta: &WorktreeMeta, force: bool) -> Result<(), WorktreeError> {
    if !force {
        check_removable(config, meta).await?;
    }
    discard(config, meta).await;
    Ok(())
}

/// Refuses (`WouldLose`) when removing the worktree and its branch would lose work: anything
/// `git status` lists in the worktree (untracked files count: they are work too), or commits
/// that only the branch (or the worktree's detached HEAD) holds.
pub async fn check_removable(config: &WorktreeConfig, meta: &WorktreeMeta) -> Result<(), WorktreeError> {
    let files = uncommitted_files(config, meta).await?;
    let commits = unmerged_commits(config, meta).await?;
    if files > 0 || commits > 0 {
        return Err(WorktreeError::WouldLose {
            path: meta.path.clone(),
            branch: meta.branch.clone(),
            files,
            commits,
        });
    }
    Ok(())
}

/// How many files `git status` lists in the worktree (none when it is gone already).
async fn uncommitted_files(config: &WorktreeConfig, meta: &WorktreeMeta) -> Result<usize, WorktreeError> {
    if !Path::new(&meta.path).is_dir() {
        return Ok(0); // already gone: nothing to lose
    }
    let status = git_text(Path::new(&meta.path), &["status", "--porcelain"], config.git_timeout).await?;
    Ok(status.lines().filter(|l| !l.trim().is_empty()).count())
}

/// How many commits `git branch -D` and the worktree's removal would leave unreachable: those
/// of the branch (and of the worktree's HEAD, should it be detached elsewhere) that no other
/// branch, tag or remote-tracking branch has and that are not in the base. A branch merged
/// anywhere, or pushed, loses nothing.
async fn unmerged_commits(config: &WorktreeConfig, meta: &WorktreeMeta) -> Result<usize, WorktreeError> {
    let t = config.git_timeout;
    let repo = Path::new(&meta.repo);
    let resolve = |dir: &Path, rev: String| {
        let dir = dir.to_path_buf();
        // Commit ids only go to `rev-list`: a base spelled `^x` or `HEAD` cannot change meaning.
        async move {
            git_text(&dir, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")], t).await.ok()
        }
    };
    let mut tips = Vec::new();
    tips.extend(resolve(repo, format!("refs/heads/{}", meta.branch)).await);
    if Path::new(&meta.path).is_dir() {
        tips.extend(resolve(Path::new(&meta.path), "HEAD".into()).await);
    }
    tips.retain(|t| !t.is_empty());
    if tips.is_empty() {
        return Ok(0); // the branch is gone already
    }
    let base = resolve(repo, meta.base.clone()).await.filter(|b| !b.is_empty());
    // `--exclude` applies to the `--branches` after it: every branch but this one.
    let exclude = format!("--exclude={}", meta.branch);
    let mut args = vec!["rev-list", "--count"];
    args.extend(tips.iter().map(String::as_str));
    args.extend(["--not", &exclude, "--branches", "--tags", "--remotes"]);
    args.extend(base.as_deref());
    let count = git_text(repo, &args, t).await?;
    count.parse().map_err(|_| {
        WorktreeError::Git(GitCmdError::Failed {
            code: None,
            stderr: format!("git rev-list --count printed {count:?}"),
        })
    })
}

/// The worktree's directory from the template, with `..` and `.` resolved lexically (the
/// repository's parent need not be canonical, and the path is shown to the user).
fn location(template: &str, repo: &Path, branch: &str) -> PathBuf {
    let name = repo.file_name().map_or_else(|| "repo".into(), |n| n.to_string_lossy().into_owned());
    let text = template
        .replace("{repo}", &repo.to_string_lossy())
        .replace("{name}", &name)
        .replace("{branch}", branch);
    let raw = PathBuf::from(text);
    let raw = if raw.is_absolute() { raw } else { repo.join(raw) };
    let mut out = PathBuf::new();
    for c in raw.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_location_is_beside_the_repository() {
        let repo = Path::new("/home/me/src/app");
        assert_eq!(
            location(DEFAULT_WORKTREE_DIR, repo, "feat-x"),
            Path::new("/home/me/src/app.worktrees/feat-x")
        );
        assert_eq!(location("/tmp/wt/{name}-{branch}", repo, "fix/y"), Path::new("/tmp/wt/app-fix/y"));
        assert_eq!(location(".trees/{branch}", repo, "b"), Path::new("/home/me/src/app/.trees/b"));
    }

    /// Runs git for the test's own edits: a fixed identity, no user or system config.
    fn run_git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.org", "-C"])
            .arg(dir)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .expect("run git");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn commit(dir: &Path, file: &str) {
        std::fs::write(dir.join(file), file).expect("write");
        run_git(dir, &["add", file]);
        run_git(dir, &["commit", "-q", "-m", file]);
    }

    /// What `check_removable` refuses for, as (files, commits).
    async fn loss(config: &WorktreeConfig, meta: &WorktreeMeta) -> (usize, usize) {
        match check_removable(config, meta).await {
            Ok(()) => (0, 0),
            Err(WorktreeError::WouldLose { files, commits, .. }) => (files, commits),
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    #[tokio::test]
    async fn removing_refuses_while_commits_would_be_lost_and_not_once_they_are_merged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("app");
        std::fs::create_dir_all(&repo).expect("mkdir");
        run_git(&repo, &["init", "-q", "-b", "main"]);
        commit(&repo, "a.txt");
        let config = WorktreeConfig::default();
        let repo_text = repo.to_string_lossy().into_owned();
        let (meta, _) = create(&config, &repo_text, "feat", None).await.expect("worktree");
        let wt = PathBuf::from(&meta.path);
        assert_eq!(meta.base, "main");
        assert_eq!(loss(&config, &meta).await, (0, 0), "a new worktree loses nothing");

        commit(&wt, "b.txt");
        commit(&wt, "c.txt");
        assert_eq!(loss(&config, &meta).await, (0, 2), "two commits only the branch has");
        std::fs::write(wt.join("untracked.txt"), "x").expect("write");
        let Err(e) = check_removable(&config, &meta).await else { panic!("refused") };
        let text = e.to_string();
        assert!(
            text.ends_with(
                "has uncommitted changes (1 file) and 2 unmerged commits (on `feat` only); repeat with force=true to remove it anyway"
            ),
            "{text}"
        );
        std::fs::remove_file(wt.join("untracked.txt")).expect("rm");

        // Another branch holding them (a merge, a push, a copy) is enough.
        run_git(&repo, &["merge", "-q", "--ff-only", "feat"]);
        assert_eq!(loss(&config, &meta).await, (0, 0), "merged into main");

        // A commit on a detached HEAD in the worktree goes with the worktree: it counts.
        run_git(&wt, &["checkout", "-q", "--detach"]);
        commit(&wt, "d.txt");
        assert_eq!(loss(&config, &meta).await, (0, 1), "the detached commit");
        run_git(&wt, &["tag", "keep"]);
        assert_eq!(loss(&config, &meta).await, (0, 0), "a tag holds it");
        discard(&config, &meta).await;
        assert!(!wt.exists());
        assert_eq!(loss(&config, &meta).await, (0, 0), "gone: nothing left to lose");
    }
}
