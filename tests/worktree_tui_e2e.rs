//! The worktree feature as a user meets it: `controlroom new --worktree` against a real
//! gateway in a temporary repository, then the dashboard (the built binary in a PTY, its screen
//! read with vt100) shows the branch with its counts, `d` shows the diff, and `D` asks twice
//! before removing a worktree whose branch has a commit nothing else has.

mod support;

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_controlroom");
const COLS: u16 = 120;
const ROWS: u16 = 32;

fn git_env(home: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("HOME", home.display().to_string()),
        ("GIT_CONFIG_NOSYSTEM", "1".into()),
        ("GIT_CONFIG_GLOBAL", home.join("gitconfig").display().to_string()),
        ("GIT_AUTHOR_NAME", "Test".into()),
        ("GIT_AUTHOR_EMAIL", "test@example.org".into()),
        ("GIT_COMMITTER_NAME", "Test".into()),
        ("GIT_COMMITTER_EMAIL", "test@example.org".into()),
    ]
}

fn git(home: &Path, dir: &Path, args: &[&str]) {
    let out = Command::new("git").arg("-C").arg(dir).args(args).envs(git_env(home)).output().expect("git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `controlroom serve` with the git environment, ended when dropped.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The front end in a PTY, its output parsed by vt100 on a reader thread.
struct Tui {
    screen: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Tui {
    fn spawn(data: &Path, config: &Path) -> Tui {
        let pty = native_pty_system()
            .openpty(PtySize { rows: ROWS, cols: COLS, pixel_width: 0, pixel_height: 0 })
            .expect("open pty");
        let mut cmd = CommandBuilder::new(BIN);
        cmd.arg("--data-dir");
        cmd.arg(data);
        cmd.arg("--config-dir");
        cmd.arg(config);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("CONTROLROOM_URL");
        cmd.env_remove("CONTROLROOM_TOKEN");
        let child = pty.slave.spawn_command(cmd).expect("spawn controlroom");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(ROWS).expect("non-zero"),
            std::num::NonZeroU16::new(COLS).expect("non-zero"),
            0,
        )));
        let feed = screen.clone();
        std::thread::spawn(move || {
            let _master = pty.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().expect("screen lock").process(&buf[..n]);
            }
        });
        Tui { screen, writer, child }
    }

    fn contents(&self) -> String {
        self.screen.lock().expect("screen lock").screen().contents()
    }

    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.contents();
            if pred(&text) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to pty");
        self.writer.flush().expect("flush pty");
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

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

    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--poll-interval",
            "100ms",
            "--git-stats-interval",
            "100ms",
        ])
        .arg("--data-dir")
        .arg(&data)
        .arg("--config-dir")
        .arg(&config)
        .envs(git_env(&home))
        .env("SHELL", "/bin/sh")
        .env_remove("CONTROLROOM_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("listening line");
    assert!(line.starts_with("controlroom listening on "), "{line}");
    let _serve = Serve(child);

    let out = Command::new(BIN)
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

    let mut tui = Tui::spawn(&data, &config);
    tui.wait_for("the session with its branch and counts", |s| {
        s.contains("feat-x") && s.contains("⎇ ↑0 ↓0 +2 −1 1 file")
    });
    tui.send(b"d");
    tui.wait_for("the diff pane", |s| {
        s.contains("Diff feat-x against main")
            && s.contains("+    let ok = check(user);")
            && s.contains("-    let ok = false;")
    });
    tui.send(b"q");
    tui.wait_for("the dashboard again", |s| s.contains("Sessions 1") && !s.contains("Diff feat-x"));

    // Committed, the worktree is clean but the branch holds a commit nothing else has: `D`, `y`
    // asks a second time with the count, and a second `y` removes the worktree and branch.
    git(&home, &wt, &["commit", "-q", "-a", "-m", "check the user"]);
    tui.send(b"D");
    tui.wait_for("the first question", |s| s.contains("remove its worktree and branch?"));
    tui.send(b"y");
    tui.wait_for("the second question, with the count", |s| {
        s.contains("has 1 unmerged commit (on `feat-x` only)") && s.contains("That work is lost.")
    });
    assert!(wt.exists(), "nothing removed before the second yes");
    tui.send(b"y");
    tui.wait_for("the session gone", |s| s.contains("session, worktree and branch removed"));
    assert!(!wt.exists(), "the worktree is gone");
    // A non-existent ref is refused with the gateway's words, nothing made.
    let out = Command::new(BIN)
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
