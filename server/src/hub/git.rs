//! Reads a working directory's repository and branch from `.git` files directly (no `git`
//! subprocess per poll), without ever blocking the hub or piling up threads: any local user can
//! put a FIFO at `/tmp/.git/HEAD`, and opening one for reading blocks until a writer comes.
//!
//! - only regular files are read: each is opened with `O_NONBLOCK` (a FIFO opens at once) and its
//!   type checked on the open descriptor (`fstat`) before a byte is read, at most
//!   [`MAX_GIT_FILE`] bytes;
//! - the walk up from the cwd stops at a filesystem boundary (`st_dev` changes) and at a directory
//!   (or `.git`) owned by another user than the gateway's, as git's `safe.directory` does;
//! - reads run on blocking threads, at most [`MAX_GIT_READS_IN_FLIGHT`] at once ([`GitReads`]): a
//!   poll whose read is still running skips its turn, so a read stuck on a slow filesystem holds
//!   one thread, never one per poll.

use std::fs;
use std::io::Read as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Largest `.git` file read (HEAD, a `gitdir:` file, `commondir`, `config`); past it the rest is
/// ignored.
pub const MAX_GIT_FILE: u64 = 256 * 1024;
/// Git reads running at once per gateway (each holds a blocking thread while it runs).
pub const MAX_GIT_READS_IN_FLIGHT: usize = 2;
/// How long creating a session waits for its cwd's git read before answering without it.
pub const GIT_READ_WAIT: Duration = Duration::from_secs(2);

/// What the poller learns about a session's cwd.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitInfo {
    /// Remote `origin` URL, else the repository folder's name.
    pub repository: Option<String>,
    /// Branch name, or a short commit id when HEAD is detached.
    pub branch: Option<String>,
}

/// The gateway's git reads, bounded in number ([`MAX_GIT_READS_IN_FLIGHT`]).
#[derive(Debug, Clone)]
pub struct GitReads {
    slots: Arc<Semaphore>,
}

impl Default for GitReads {
    fn default() -> Self {
        Self { slots: Arc::new(Semaphore::new(MAX_GIT_READS_IN_FLIGHT)) }
    }
}

impl GitReads {
    /// Reads every cwd on one blocking thread, or `None` at once when every slot is taken (an
    /// earlier read still running): the caller skips this turn.
    pub async fn read_all<K: Send + 'static>(&self, cwds: Vec<(K, String)>) -> Option<Vec<(K, GitInfo)>> {
        let permit = self.slots.clone().try_acquire_owned().ok()?;
        tokio::task::spawn_blocking(move || {
            let results = cwds.into_iter().map(|(k, cwd)| (k, read(Path::new(&cwd)))).collect();
            // The slot is free only once the thread is done, however long it took.
            drop(permit);
            results
        })
        .await
        .ok()
    }

    /// Reads one cwd, waiting at most [`GIT_READ_WAIT`] for a slot and for the read; nothing
    /// when either takes longer (the next poll fills it in).
    pub async fn read_one(&self, cwd: PathBuf) -> GitInfo {
        let read = async {
            let permit = self.slots.clone().acquire_owned().await.ok()?;
            tokio::task::spawn_blocking(move || {
                let info = read(&cwd);
                drop(permit);
                info
            })
            .await
            .ok()
        };
        tokio::time::timeout(GIT_READ_WAIT, read).await.ok().flatten().unwrap_or_default()
    }
}

/// Finds the repository containing `cwd` and reads its HEAD and origin. Blocking (file reads),
/// but never on a FIFO or device; call it through [`GitReads`].
pub fn read(cwd: &Path) -> GitInfo {
    let Some((worktree, git_dir)) = find_git_dir(cwd) else { return GitInfo::default() };
    let branch = read_regular(&git_dir.join("HEAD")).and_then(|head| parse_head(&head));
    // A linked worktree's config lives in the main repository (`commondir`).
    let common = read_regular(&git_dir.join("commondir"))
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|| git_dir.clone());
    let origin = read_regular(&common.join("config")).and_then(|c| origin_url(&c));
    // Without a remote, a linked worktree is named after its main repository (the folder
    // holding the common `.git`), not after its own folder (usually the branch's name).
    let common = lexical(&common);
    let main = match common.file_name() {
        Some(n) if n == ".git" && common != git_dir => common.parent().map(Path::to_path_buf),
        _ => None,
    };
    let folder = main.unwrap_or(worktree);
    let repository = origin.or_else(|| folder.file_name().map(|n| n.to_string_lossy().into_owned()));
    GitInfo { repository, branch }
}

/// `path` with `.` and `..` resolved without touching the file system (`commondir` is relative).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// Reads `path` if it is a regular file (checked on the open descriptor, so a FIFO or device
/// swapped in after a `stat` is still refused), at most [`MAX_GIT_FILE`] bytes.
fn read_regular(path: &Path) -> Option<String> {
    let file =
        fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path).ok()?;
    if !file.metadata().ok()?.file_type().is_file() {
        return None;
    }
    let mut text = String::new();
    file.take(MAX_GIT_FILE).read_to_string(&mut text).ok()?;
    Some(text)
}

/// The gateway's effective user id.
#[allow(unsafe_code)]
fn own_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, touches no memory of ours and cannot fail.
    unsafe { libc::geteuid() }
}

fn find_git_dir(start: &Path) -> Option<(PathBuf, PathBuf)> {
    let uid = own_uid();
    let dev = fs::metadata(start).ok()?.dev();
    let mut dir = Some(start);
    while let Some(d) = dir {
        // Stop where another user's tree or another filesystem begins: a `.git` there is not
        // ours to trust (git's `safe.directory`), and a mount point may be slow or hostile.
        let meta = fs::metadata(d).ok()?;
        if meta.dev() != dev || meta.uid() != uid {
            return None;
        }
        let dot_git = d.join(".git");
        if let Ok(m) = fs::metadata(&dot_git) {
            if m.uid() != uid {
                return None;
            }
            if m.is_dir() {
                return Some((d.to_path_buf(), dot_git));
            }
            let text = read_regular(&dot_git)?;
            let target = text.strip_prefix("gitdir:")?.trim();
            return Some((d.to_path_buf(), d.join(target)));
        }
        dir = d.parent();
    }
    None
}

fn parse_head(head: &str) -> Option<String> {
    let head = head.trim();
    // Git refuses control characters in ref names; one here is a planted file, not a branch
    // (and would reach terminals that print the branch).
    if head.chars().any(char::is_control) {
        return None;
    }
    if let Some(r) = head.strip_prefix("ref:") {
        let r = r.trim();
        return Some(r.strip_prefix("refs/heads/").unwrap_or(r).to_string());
    }
    (head.len() >= 7 && head.chars().all(|c| c.is_ascii_hexdigit())).then(|| head[..7].to_string())
}

fn origin_url(config: &str) -> Option<String> {
    let mut in_origin = false;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_origin = line.replace(' ', "") == "[remote\"origin\"]";
            continue;
        }
        if in_origin
            && let Some((key, value)) = line.split_once('=')
            && key.trim() == "url"
        {
            return Some(value.trim().to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_branch_and_origin_from_a_subdirectory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let git = dir.path().join("proj/.git");
        std::fs::create_dir_all(&git).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("proj/src/deep")).expect("mkdir");
        std::fs::write(git.join("HEAD"), "ref: refs/heads/feature/x\n").expect("write");
        std::fs::write(
            git.join("config"),
            "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = git@example.org:me/proj.git\n",
        )
        .expect("write");
        let info = read(&dir.path().join("proj/src/deep"));
        assert_eq!(info.branch.as_deref(), Some("feature/x"));
        assert_eq!(info.repository.as_deref(), Some("git@example.org:me/proj.git"));
    }

    #[test]
    fn detached_head_and_no_remote() {
        let dir = tempfile::tempdir().expect("tempdir");
        let git = dir.path().join("repo/.git");
        std::fs::create_dir_all(&git).expect("mkdir");
        std::fs::write(git.join("HEAD"), "0123456789abcdef0123456789abcdef01234567\n").expect("write");
        let info = read(&dir.path().join("repo"));
        assert_eq!(info.branch.as_deref(), Some("0123456"));
        assert_eq!(info.repository.as_deref(), Some("repo"));
    }

    /// Runs `read` on a thread and fails (instead of hanging) if it does not finish in time.
    fn read_within_deadline(cwd: &Path) -> GitInfo {
        let cwd = cwd.to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(read(&cwd));
        });
        rx.recv_timeout(Duration::from_secs(10)).expect("the git read blocked")
    }

    #[allow(unsafe_code)]
    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
    }

    #[test]
    fn fifos_in_place_of_git_files_are_skipped_without_blocking() {
        let dir = tempfile::tempdir().expect("tempdir");
        let git = dir.path().join("repo/.git");
        std::fs::create_dir_all(&git).expect("mkdir");
        mkfifo(&git.join("HEAD"));
        mkfifo(&git.join("config"));
        let info = read_within_deadline(&dir.path().join("repo"));
        assert_eq!(info, GitInfo { repository: Some("repo".into()), branch: None });

        let file_repo = dir.path().join("linked");
        std::fs::create_dir_all(&file_repo).expect("mkdir");
        mkfifo(&file_repo.join(".git"));
        assert_eq!(read_within_deadline(&file_repo), GitInfo::default(), "a FIFO .git file is no repository");
    }

    #[test]
    fn the_walk_stops_at_a_directory_owned_by_someone_else() {
        // Only root can make a directory owned by another user; elsewhere this is covered by
        // the ownership check being the same code path as the uid comparison.
        if own_uid() != 0 {
            eprintln!("SKIPPED: needs root to chown");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let shared = dir.path().join("shared");
        std::fs::create_dir_all(shared.join(".git")).expect("mkdir");
        std::fs::write(shared.join(".git/HEAD"), "ref: refs/heads/planted\n").expect("write");
        std::fs::create_dir_all(shared.join("mine")).expect("mkdir");
        std::os::unix::fs::chown(&shared, Some(65534), Some(65534)).expect("chown");
        assert_eq!(read_within_deadline(&shared.join("mine")), GitInfo::default(), "not walked into");
        assert_eq!(read_within_deadline(&shared), GitInfo::default(), "a cwd owned by another user");
    }

    #[tokio::test]
    async fn reads_in_flight_are_bounded_and_a_busy_poll_skips_its_turn() {
        let reads = GitReads::default();
        let held: Vec<_> = (0..MAX_GIT_READS_IN_FLIGHT)
            .map(|_| reads.slots.clone().try_acquire_owned().expect("slot"))
            .collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let cwd = dir.path().display().to_string();
        assert!(reads.read_all(vec![((), cwd.clone())]).await.is_none(), "no slot: skipped");
        drop(held);
        assert!(reads.read_all(vec![((), cwd)]).await.is_some());
    }

    #[test]
    fn a_head_with_control_characters_names_no_branch() {
        assert_eq!(parse_head("ref: refs/heads/ok\n"), Some("ok".into()));
        assert_eq!(parse_head("ref: refs/heads/x\u{1b}]0;pwned\u{7}"), None);
    }

    #[test]
    fn a_linked_worktree_without_a_remote_is_named_after_its_main_repository() {
        let dir = tempfile::tempdir().expect("tempdir");
        let admin = dir.path().join("app/.git/worktrees/feat-x");
        std::fs::create_dir_all(&admin).expect("mkdir");
        std::fs::write(dir.path().join("app/.git/config"), "[core]\n").expect("write");
        std::fs::write(admin.join("HEAD"), "ref: refs/heads/feat-x\n").expect("write");
        std::fs::write(admin.join("commondir"), "../..\n").expect("write");
        let wt = dir.path().join("app.worktrees/feat-x");
        std::fs::create_dir_all(&wt).expect("mkdir");
        std::fs::write(wt.join(".git"), format!("gitdir: {}\n", admin.display())).expect("write");
        let info = read(&wt);
        assert_eq!(info.branch.as_deref(), Some("feat-x"));
        assert_eq!(info.repository.as_deref(), Some("app"));
    }

    #[test]
    fn outside_a_repository_is_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read(dir.path()), GitInfo::default());
    }
}
