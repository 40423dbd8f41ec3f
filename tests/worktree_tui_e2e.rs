//! The worktree feature as a user meets it: `controlroom new --worktree` against a real
//! gateway in a temporary repository, then the dashboard (the built binary in a PTY, its screen
//! read with vt100) shows the branch with its counts, `d` shows the diff, and `D` asks twice
//! before removing a worktree whose branch has a commit nothing else has.

mod support;
#[path = "support/tui.rs"]
mod tui;

use std::process::Command;
use support::{bin, git, git_env};
use tui::{Serve, Tui};

const SIZE: (u16, u16) = (120, 32);
/// How long each step of the dashboard may take.
const STEP_SECS: u64 = 30;

#[test]
fn new_worktree_then_the_dashboard_shows_the_branch_and_d_shows_the_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (home, repo, data, config) =
        (dir.path().join("home"), dir.path().join("app"), dir.path().join("data"), dir.path().join("config"));
    for d in [&home, &repo, &config] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    git(&home, &repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("login.rs"), "fn login() {\n    let ok = false;\n}\n").expect("write");
    git(&home, &repo, &["add", "login.rs"]);
    git(&home, &repo, &["commit", "-q", "-m", "first"]);

    let config_arg = config.to_str().expect("utf-8");
    let flags = ["--poll-interval", "100ms", "--git-stats-interval", "100ms", "--config-dir", config_arg];
    let _serve = Serve::start_env(&data, &flags, &git_env(&home));

    let out = Command::new(bin())
        .args(["new", "--worktree", "feat-x", "--base", "main", "--cwd"])
        .arg(&repo)
        .arg("--data-dir")
        .arg(&data)
        .args(["--", "sleep", "1000"])
        .env_remove("CONTROLROOM_URL")
        .env_remove("CONTROLROOM_TOKEN")
        .output()
        .expect("run controlroom new");
    assert!(out.status.success(), "new failed: {}", String::from_utf8_lossy(&out.stderr));
    let wt = dir.path().join("app.worktrees/feat-x");
    assert!(wt.join("login.rs").exists(), "the worktree was made beside the repository");
    std::fs::write(wt.join("login.rs"), "fn login() {\n    let ok = check(user);\n    log(ok);\n}\n")
        .expect("edit");

    let mut tui = Tui::spawn(&data, &config, SIZE);
    tui.wait_for("the session with its branch and counts", STEP_SECS, |s| {
        s.contains("feat-x") && s.contains("⎇ ↑0 ↓0 +2 −1 1 file")
    });
    tui.send(b"d");
    tui.wait_for("the diff pane", STEP_SECS, |s| {
        s.contains("Diff feat-x against main")
            && s.contains("+    let ok = check(user);")
            && s.contains("-    let ok = false;")
    });
    tui.send(b"q");
    tui.wait_for("the dashboard again", STEP_SECS, |s| {
        s.contains("Sessions 1") && !s.contains("Diff feat-x")
    });

    // Committed, the worktree is clean but the branch holds a commit nothing else has: `D`, `y`
    // asks a second time with the count, and a second `y` removes the worktree and branch.
    git(&home, &wt, &["commit", "-q", "-a", "-m", "check the user"]);
    tui.send(b"D");
    tui.wait_for("the first question", STEP_SECS, |s| s.contains("remove its worktree and branch?"));
    tui.send(b"y");
    tui.wait_for("the second question, with the count", STEP_SECS, |s| {
        s.contains("has 1 unmerged commit (on `feat-x` only)") && s.contains("That work is lost.")
    });
    assert!(wt.exists(), "nothing removed before the second yes");
    tui.send(b"y");
    tui.wait_for("the session gone", STEP_SECS, |s| s.contains("session, worktree and branch removed"));
    assert!(!wt.exists(), "the worktree is gone");
    // A non-existent ref is refused with the gateway's words, nothing made.
    let out = Command::new(bin())
        .args(["new", "--worktree", "feat-y", "--base", "nope", "--cwd"])
        .arg(&repo)
        .arg("--data-dir")
        .arg(&data)
        .env_remove("CONTROLROOM_URL")
        .env_remove("CONTROLROOM_TOKEN")
        .output()
        .expect("run controlroom new");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`nope` is not a branch, tag or commit in this repository"), "{err}");
    assert!(!dir.path().join("app.worktrees/feat-y").exists());
    support::kill_holders(&data);
}
