//! Reads a working directory's repository and branch from `.git` files directly (no `git`
//! subprocess per poll).

use std::path::{Path, PathBuf};

/// What the poller learns about a session's cwd.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitInfo {
    /// Remote `origin` URL, else the repository folder's name.
    pub repository: Option<String>,
    /// Branch name, or a short commit id when HEAD is detached.
    pub branch: Option<String>,
}

/// Finds the repository containing `cwd` and reads its HEAD and origin.
pub fn read(cwd: &Path) -> GitInfo {
    let Some((worktree, git_dir)) = find_git_dir(cwd) else { return GitInfo::default() };
    let branch = std::fs::read_to_string(git_dir.join("HEAD")).ok().and_then(|head| parse_head(&head));
    // A linked worktree's config lives in the main repository (`commondir`).
    let common = std::fs::read_to_string(git_dir.join("commondir"))
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|_| git_dir.clone());
    let origin = std::fs::read_to_string(common.join("config")).ok().and_then(|c| origin_url(&c));
    let repository = origin.or_else(|| worktree.file_name().map(|n| n.to_string_lossy().into_owned()));
    GitInfo { repository, branch }
}

fn find_git_dir(start: &Path) -> Option<(PathBuf, PathBuf)> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let dot_git = d.join(".git");
        if dot_git.is_dir() {
            return Some((d.to_path_buf(), dot_git));
        }
        if dot_git.is_file() {
            let text = std::fs::read_to_string(&dot_git).ok()?;
            let target = text.strip_prefix("gitdir:")?.trim();
            return Some((d.to_path_buf(), d.join(target)));
        }
        dir = d.parent();
    }
    None
}

fn parse_head(head: &str) -> Option<String> {
    let head = head.trim();
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

    #[test]
    fn outside_a_repository_is_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read(dir.path()), GitInfo::default());
    }
}
