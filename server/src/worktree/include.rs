//! `.worktreeinclude`: the untracked files a new worktree needs (`.env`, local config, sometimes
//! `node_modules`), listed at the repository's root one path or glob a line (`#` starts a
//! comment), copied — never symlinked, so the worktree's copy can change without touching the
//! original. A line that could reach outside the repository (absolute, `..`, or a symlink leading
//! out) refuses the whole list: the gateway copies files on behalf of a client, and a list in a
//! cloned repository is not to be trusted with the rest of the disk.
//!
//! Blocking (file system walks and copies): run it on a blocking thread.

use regex::Regex;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// The file's name, at the repository root.
pub const INCLUDE_FILE: &str = ".worktreeinclude";
/// Most directory entries one glob line may look at before the copy is refused (a `**` over a
/// large tree would otherwise hold a thread for minutes).
pub const MAX_GLOB_WALK: usize = 200_000;
/// Largest `.worktreeinclude` read.
const MAX_INCLUDE_FILE: u64 = 64 * 1024;

/// Why the listed files could not be copied.
#[derive(Debug, thiserror::Error)]
pub enum IncludeError {
    /// A line names something outside the repository.
    #[error(
        "{INCLUDE_FILE} line {line}: `{pattern}` is outside the repository; only paths inside it are copied"
    )]
    Escapes {
        /// 1-based line number.
        line: usize,
        /// The line as written.
        pattern: String,
    },
    /// A glob line matched too much of the tree to walk.
    #[error(
        "{INCLUDE_FILE} line {line}: `{pattern}` looks at more than {MAX_GLOB_WALK} entries; name the paths instead"
    )]
    TooBroad {
        /// 1-based line number.
        line: usize,
        /// The line as written.
        pattern: String,
    },
    /// A line is not a usable glob.
    #[error("{INCLUDE_FILE} line {line}: `{pattern}` is not a valid pattern")]
    BadPattern {
        /// 1-based line number.
        line: usize,
        /// The line as written.
        pattern: String,
    },
    /// Reading or copying failed.
    #[error("{INCLUDE_FILE}: copying {}: {source}", path.display())]
    Io {
        /// The file being read or copied.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IncludeError + '_ {
    move |source| IncludeError::Io { path: path.to_path_buf(), source }
}

/// Copies what `REPO/.worktreeinclude` lists from `repo` into `worktree` (same relative paths);
/// returns the relative paths copied. No file: nothing to do.
pub fn copy_listed(repo: &Path, worktree: &Path) -> Result<Vec<PathBuf>, IncludeError> {
    let list = repo.join(INCLUDE_FILE);
    let text = match fs::symlink_metadata(&list) {
        Ok(m) if m.is_file() => {
            use std::io::Read as _;
            let mut text = String::new();
            fs::File::open(&list)
                .and_then(|f| f.take(MAX_INCLUDE_FILE).read_to_string(&mut text))
                .map_err(io(&list))?;
            text
        }
        _ => return Ok(Vec::new()),
    };
    let repo_real = fs::canonicalize(repo).map_err(io(repo))?;
    // Every line is checked before anything is copied: a bad list copies nothing.
    let mut picked = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let pattern = raw.trim();
        if pattern.is_empty() || pattern.starts_with('#') {
            continue;
        }
        let rel = pattern.trim_start_matches("./").trim_end_matches('/');
        let escapes = Path::new(rel).is_absolute()
            || Path::new(rel).components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
        if escapes || rel.is_empty() {
            return Err(IncludeError::Escapes { line, pattern: pattern.to_owned() });
        }
        let matches = if rel.contains(['*', '?', '[']) {
            glob(&repo_real, rel).map_err(|e| match e {
                GlobError::TooBroad => IncludeError::TooBroad { line, pattern: pattern.to_owned() },
                GlobError::Bad => IncludeError::BadPattern { line, pattern: pattern.to_owned() },
            })?
        } else if fs::symlink_metadata(repo_real.join(rel)).is_ok() {
            vec![PathBuf::from(rel)]
        } else {
            Vec::new()
        };
        for m in matches {
            // A symlink on the way (or the entry itself) may lead out of the repository.
            let real = fs::canonicalize(repo_real.join(&m)).map_err(io(&m))?;
            if !real.starts_with(&repo_real) {
                return Err(IncludeError::Escapes { line, pattern: pattern.to_owned() });
            }
            if m.components().next().is_some_and(|c| c.as_os_str() == ".git") {
                continue;
            }
            if !picked.contains(&m) {
                picked.push(m);
            }
        }
    }
    for rel in &picked {
        copy_tree(&repo_real.join(rel), &worktree.join(rel))?;
    }
    Ok(picked)
}

/// Copies a file, or a directory recursively (symlinks inside are recreated as links, as
/// `cp -a` does; they are not followed).
fn copy_tree(from: &Path, to: &Path) -> Result<(), IncludeError> {
    let meta = fs::metadata(from).map_err(io(from))?;
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    if meta.is_file() {
        fs::copy(from, to).map_err(io(from))?;
        return Ok(());
    }
    if !meta.is_dir() {
        return Ok(()); // FIFOs, sockets, devices: nothing to copy
    }
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((src, dst)) = stack.pop() {
        fs::create_dir_all(&dst).map_err(io(&dst))?;
        for entry in fs::read_dir(&src).map_err(io(&src))? {
            let entry = entry.map_err(io(&src))?;
            let (s, d) = (entry.path(), dst.join(entry.file_name()));
            let ty = entry.file_type().map_err(io(&s))?;
            if ty.is_dir() {
                stack.push((s, d));
            } else if ty.is_file() {
                fs::copy(&s, &d).map_err(io(&s))?;
            } else if ty.is_symlink() {
                let target = fs::read_link(&s).map_err(io(&s))?;
                let _ = fs::remove_file(&d);
                std::os::unix::fs::symlink(target, &d).map_err(io(&d))?;
            }
        }
    }
    Ok(())
}

enum GlobError {
    TooBroad,
    Bad,
}

/// The paths under `root` (relative) a glob matches: `*` and `?` within one component, `[...]`
/// classes, `**` any number of components. A matching directory is not walked into.
fn glob(root: &Path, pattern: &str) -> Result<Vec<PathBuf>, GlobError> {
    let re = Regex::new(&glob_regex(pattern)).map_err(|_| GlobError::Bad)?;
    // Walk only below the pattern's literal leading components.
    let literal: PathBuf = Path::new(pattern)
        .components()
        .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
        .collect();
    let mut out = Vec::new();
    let mut seen = 0usize;
    let mut stack = vec![literal];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = fs::read_dir(root.join(&rel)) else { continue };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_GLOB_WALK {
                return Err(GlobError::TooBroad);
            }
            let path = rel.join(entry.file_name());
            if path.as_os_str() == ".git" {
                continue;
            }
            let text = path.to_string_lossy();
            if re.is_match(&text) {
                out.push(path);
            } else if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn glob_regex(pattern: &str) -> String {
    let mut re = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 1;
                if chars.get(i + 1) == Some(&'/') {
                    i += 1;
                    re.push_str("(?:.*/)?");
                } else {
                    re.push_str(".*");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                let end = chars[i..].iter().position(|&c| c == ']').map(|p| p + i);
                match end {
                    Some(end) if end > i + 1 => {
                        let mut class: String = chars[i + 1..end].iter().collect();
                        if let Some(rest) = class.strip_prefix('!') {
                            class = format!("^{rest}");
                        }
                        re.push('[');
                        re.push_str(&class.replace('\\', "\\\\"));
                        re.push(']');
                        i = end;
                    }
                    _ => re.push_str("\\["),
                }
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, text: &str) {
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, text).expect("write");
    }

    #[test]
    fn listed_paths_and_globs_are_copied_and_comments_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (repo, wt) = (dir.path().join("repo"), dir.path().join("wt"));
        write(&repo.join(".env"), "SECRET=1\n");
        write(&repo.join("config/local.toml"), "a = 1\n");
        write(&repo.join("config/other.txt"), "no\n");
        write(&repo.join("node_modules/pkg/index.js"), "js\n");
        write(&repo.join("apps/web/.env.local"), "X=2\n");
        write(
            &repo.join(INCLUDE_FILE),
            "# local files\n.env\n\nconfig/*.toml\nnode_modules/\n**/.env.local\nmissing.txt\n",
        );
        fs::create_dir_all(&wt).expect("mkdir");
        let copied = copy_listed(&repo, &wt).expect("copy");
        assert_eq!(fs::read_to_string(wt.join(".env")).expect("copied"), "SECRET=1\n");
        assert_eq!(fs::read_to_string(wt.join("config/local.toml")).expect("copied"), "a = 1\n");
        assert!(!wt.join("config/other.txt").exists(), "not listed");
        assert_eq!(fs::read_to_string(wt.join("node_modules/pkg/index.js")).expect("copied"), "js\n");
        assert_eq!(fs::read_to_string(wt.join("apps/web/.env.local")).expect("copied"), "X=2\n");
        assert!(!fs::symlink_metadata(wt.join(".env")).expect("meta").file_type().is_symlink(), "a copy");
        assert_eq!(copied.len(), 4, "{copied:?}");
    }

    #[test]
    fn paths_escaping_the_repository_refuse_the_whole_list() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (repo, wt) = (dir.path().join("repo"), dir.path().join("wt"));
        write(&dir.path().join("outside.txt"), "secret\n");
        write(&repo.join(".env"), "ok\n");
        fs::create_dir_all(&wt).expect("mkdir");
        for bad in ["../outside.txt", "/etc/passwd", "sub/../../outside.txt"] {
            write(&repo.join(INCLUDE_FILE), &format!(".env\n{bad}\n"));
            let err = copy_listed(&repo, &wt).expect_err(bad);
            assert_eq!(
                err.to_string(),
                format!(
                    "{INCLUDE_FILE} line 2: `{bad}` is outside the repository; only paths inside it are copied"
                )
            );
            assert!(!wt.join(".env").exists(), "nothing copied from a bad list");
        }
        std::os::unix::fs::symlink(dir.path().join("outside.txt"), repo.join("link")).expect("symlink");
        write(&repo.join(INCLUDE_FILE), "link\n");
        assert!(matches!(copy_listed(&repo, &wt), Err(IncludeError::Escapes { line: 1, .. })));
    }

    #[test]
    fn no_list_copies_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(copy_listed(dir.path(), dir.path()).expect("ok").is_empty());
    }
}
