//! Completing a directory typed in the new-session form (Tab), from this machine's file system.
//!
//! Only directories are offered (a session's directory is one); `~/` stands for `$HOME` and is
//! kept as typed. Reading a directory blocks, so the runtime calls this off the UI loop.

use std::path::{Path, PathBuf};

/// Most candidates returned: enough to show a few and to find their common prefix.
const MAX_CANDIDATES: usize = 200;

/// The directories `typed` could continue to, each as the user would type it, ending in `/`.
pub fn complete_dir(typed: &str, home: Option<&Path>) -> Vec<String> {
    let (dir_part, stem) = match typed.rfind('/') {
        Some(i) => (&typed[..=i], &typed[i + 1..]),
        None => ("", typed),
    };
    let dir: PathBuf = match dir_part.strip_prefix("~/") {
        Some(rest) => match home {
            Some(h) => h.join(rest),
            None => return Vec::new(),
        },
        None if dir_part.is_empty() => PathBuf::from("."),
        None => PathBuf::from(dir_part),
    };
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut out: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        // Hidden directories only when asked for by a leading dot.
        .filter(|name| name.starts_with(stem) && (stem.starts_with('.') || !name.starts_with('.')))
        .take(MAX_CANDIDATES)
        .map(|name| format!("{dir_part}{name}/"))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_directories_only_and_keeps_the_tilde() {
        let tmp = std::env::temp_dir().join(format!("controlroom-paths-{}", std::process::id()));
        for d in ["src", "srv", ".git"] {
            std::fs::create_dir_all(tmp.join(d)).expect("mkdir");
        }
        std::fs::write(tmp.join("sre.txt"), "").expect("a file");
        let base = format!("{}/", tmp.display());
        assert_eq!(complete_dir(&format!("{base}sr"), None), [format!("{base}src/"), format!("{base}srv/")]);
        assert_eq!(complete_dir(&format!("{base}."), None), [format!("{base}.git/")]);
        assert_eq!(complete_dir("~/sr", Some(&tmp)), ["~/src/", "~/srv/"]);
        assert!(complete_dir(&format!("{base}nope/x"), None).is_empty());
        std::fs::remove_dir_all(&tmp).expect("cleanup");
    }
}
