//! A git worktree per session, against the built gateway and real temporary repositories
//! (`git` with `HOME` and the system config pointed away, so the user's config is never read
//! or touched): creating with a worktree (`.worktreeinclude` copied, the setup command run),
//! the clear 400s that leave nothing behind, the `git` object's counts after edits and commits
//! on both sides, the diff route with its size cap, and deleting with `removeWorktree`
//! (refused with uncommitted changes until `force=true`).

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{Gateway, git, git_env, wait_for};

fn git_ok(home: &Path, dir: &Path, args: &[&str]) -> bool {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .envs(git_env(home))
        .output()
        .expect("git")
        .status
        .success()
}

struct Fixture {
    _dir: tempfile::TempDir,
    home: PathBuf,
    repo: PathBuf,
    gw: Gateway,
}

/// A repository `app` on `main` with one commit (`a.txt`, three lines), an ignored `.env`
/// listed in `.worktreeinclude`, and a gateway whose setup command fails in a worktree named
/// `*fail*`, in one named `*slow*` leaves `setup-started` beside the repository and waits for a
/// `go` file there (at most 30s), and otherwise leaves `.setup-done` behind.
fn fixture(extra: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    let repo = dir.path().join("app");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::create_dir_all(&repo).expect("repo");
    git(&home, &repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("a.txt"), "one\ntwo\nthree\n").expect("write");
    std::fs::write(repo.join(".gitignore"), ".env\n.setup-done\n").expect("write");
    std::fs::write(repo.join(".worktreeinclude"), "# local secrets\n.env\n").expect("write");
    std::fs::write(repo.join(".env"), "TOKEN=local\n").expect("write");
    git(&home, &repo, &["add", "a.txt", ".gitignore", ".worktreeinclude"]);
    git(&home, &repo, &["commit", "-q", "-m", "first"]);
    let setup = concat!(
        r#"case "$PWD" in *fail*) echo "setup: boom" >&2; exit 3;; "#,
        r#"*slow*) touch ../../setup-started; i=0; "#,
        r#"while [ ! -e ../../go ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done;; esac; "#,
        "echo setup output; touch .setup-done"
    );
    let mut flags =
        vec!["--poll-interval", "100ms", "--git-stats-interval", "100ms", "--worktree-setup", setup];
    flags.extend_from_slice(extra);
    let env = git_env(&home);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let data = dir.path().join("data");
    let gw = Gateway::start_with(&data, "127.0.0.1:0", &flags, &env);
    Fixture { _dir: dir, home, repo, gw }
}

impl Fixture {
    async fn create(&self, cwd: &Path, worktree: Value) -> (u16, Value) {
        let body = json!({
            "title": "wt", "cwd": cwd.display().to_string(), "worktree": worktree,
            "workers": [{"command": ["sleep", "1000"]}],
        });
        self.gw.http("POST", "/api/sessions", Some(body)).await
    }

    async fn git_object(&self, id: &str) -> Value {
        let (status, s) = self.gw.http("GET", &format!("/api/sessions/{id}"), None).await;
        assert_eq!(status, 200, "{s}");
        s["git"].clone()
    }

    /// Waits until the session's `git` object has these counts.
    async fn wait_counts(&self, id: &str, want: Value) {
        let deadline = std::time::Instant::now() + support::DEADLINE;
        loop {
            let g = self.git_object(id).await;
            if ["ahead", "behind", "changedFiles", "insertions", "deletions"].iter().all(|k| g[k] == want[k])
            {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "git object {g} never became {want}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worktree_session_is_made_counted_diffed_and_removed() {
    let f = fixture(&["--max-diff-bytes", "4KiB"]);
    let (status, s) = f.create(&f.repo, json!({"branch": "feat-x"})).await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().expect("id").to_owned();
    let wt = f.repo.parent().expect("parent").join("app.worktrees/feat-x");
    assert_eq!(s["cwd"], wt.display().to_string(), "the session runs in the new worktree");
    assert_eq!(s["workers"][0]["cwd"], wt.display().to_string());
    assert_eq!(s["branch"], "feat-x");
    assert_eq!(git(&f.home, &wt, &["branch", "--show-current"]), "feat-x");
    assert_eq!(std::fs::read_to_string(wt.join(".env")).expect(".env copied"), "TOKEN=local\n");
    assert!(
        !std::fs::symlink_metadata(wt.join(".env")).expect("meta").file_type().is_symlink(),
        "copied, not linked"
    );
    assert!(wt.join(".setup-done").exists(), "the setup command ran in the worktree");
    let git_dir = git(&f.home, &wt, &["rev-parse", "--path-format=absolute", "--git-dir"]);
    let log = std::fs::read_to_string(Path::new(&git_dir).join("controlroom-setup.log")).expect("setup log");
    assert!(log.contains("setup output"), "{log}");

    // The git object: exact names, counted against main.
    f.wait_counts(&id, json!({"ahead": 0, "behind": 0, "changedFiles": 0, "insertions": 0, "deletions": 0}))
        .await;
    let g = f.git_object(&id).await;
    assert_eq!(g["branch"], "feat-x");
    assert_eq!(g["worktree"], true);
    let mut keys: Vec<_> = g.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["ahead", "behind", "branch", "changedFiles", "deletions", "insertions", "worktree"]);

    // An uncommitted edit: one line changed, two added.
    std::fs::write(wt.join("a.txt"), "one\nTWO\nthree\nfour\nfive\n").expect("edit");
    f.wait_counts(&id, json!({"ahead": 0, "behind": 0, "changedFiles": 1, "insertions": 3, "deletions": 1}))
        .await;
    // Committed, plus a new file: the branch is ahead, the changes still count.
    std::fs::write(wt.join("b.txt"), "new line\n").expect("write");
    git(&f.home, &wt, &["add", "-A"]);
    git(&f.home, &wt, &["commit", "-q", "-m", "work"]);
    f.wait_counts(&id, json!({"ahead": 1, "behind": 0, "changedFiles": 2, "insertions": 4, "deletions": 1}))
        .await;
    // main moves on: the branch is behind.
    std::fs::write(f.repo.join("c.txt"), "on main\n").expect("write");
    git(&f.home, &f.repo, &["add", "c.txt"]);
    git(&f.home, &f.repo, &["commit", "-q", "-m", "main moves"]);
    f.wait_counts(&id, json!({"ahead": 1, "behind": 1, "changedFiles": 2, "insertions": 4, "deletions": 1}))
        .await;

    // The diff: against the merge base, so main's own commit is not in it.
    let (status, d) = f.gw.http("GET", &format!("/api/sessions/{id}/diff"), None).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["base"], "main");
    let text = d["diff"].as_str().expect("diff");
    assert!(
        text.contains("diff --git a/a.txt b/a.txt") && text.contains("+TWO") && text.contains("-two"),
        "{text}"
    );
    assert!(text.contains("+new line") && !text.contains("on main"), "{text}");
    assert!(d.get("truncated").is_none(), "{d}");
    // Past --max-diff-bytes it is cut, with a marker.
    let big: String = (0..2000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(wt.join("big.txt"), big).expect("write");
    git(&f.home, &wt, &["add", "big.txt"]);
    let (_, d) = f.gw.http("GET", &format!("/api/sessions/{id}/diff"), None).await;
    assert_eq!(d["truncated"], true, "{d}");
    let text = d["diff"].as_str().expect("diff");
    assert!(text.len() <= 4096 + 100, "{}", text.len());
    assert!(text.ends_with("… diff truncated at 4096 bytes (--max-diff-bytes) …\n"), "{text}");

    // Deleting with removeWorktree: refused while there are uncommitted changes…
    let path = format!("/api/sessions/{id}?removeWorktree=true");
    let (status, e) = f.gw.http("DELETE", &path, None).await;
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["error"]["code"], "conflict");
    let msg = e["error"]["message"].as_str().expect("message");
    assert!(
        msg.contains("has uncommitted changes (1 file) and 1 unmerged commit (on `feat-x` only)")
            && msg.contains("force=true"),
        "{msg}"
    );
    assert_eq!(f.gw.http("GET", &format!("/api/sessions/{id}"), None).await.0, 200, "nothing was deleted");
    assert!(wt.exists());
    // …and done when confirmed.
    let (status, e) = f.gw.http("DELETE", &format!("{path}&force=true"), None).await;
    assert_eq!(status, 204, "{e}");
    assert_eq!(f.gw.http("GET", &format!("/api/sessions/{id}"), None).await.0, 404);
    assert!(!wt.exists(), "the worktree is gone");
    assert!(
        !git_ok(&f.home, &f.repo, &["show-ref", "--verify", "--quiet", "refs/heads/feat-x"]),
        "and its branch"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_worktree_refuses_to_lose_unmerged_commits() {
    let f = fixture(&[]);
    let (status, s) = f.create(&f.repo, json!({"branch": "feat-c"})).await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().expect("id").to_owned();
    let wt = PathBuf::from(s["cwd"].as_str().expect("cwd"));
    for file in ["b.txt", "c.txt"] {
        std::fs::write(wt.join(file), "work\n").expect("write");
        git(&f.home, &wt, &["add", file]);
        git(&f.home, &wt, &["commit", "-q", "-m", file]);
    }
    // Clean, but two commits only the branch has: refused as uncommitted changes are.
    let path = format!("/api/sessions/{id}?removeWorktree=true");
    let (status, e) = f.gw.http("DELETE", &path, None).await;
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["error"]["code"], "conflict");
    let msg = e["error"]["message"].as_str().expect("message");
    assert_eq!(
        msg,
        format!(
            "the worktree {} has 2 unmerged commits (on `feat-c` only); repeat with force=true to remove it anyway",
            wt.display()
        )
    );
    assert_eq!(f.gw.http("GET", &format!("/api/sessions/{id}"), None).await.0, 200, "nothing was deleted");
    assert!(wt.is_dir());
    assert!(git_ok(&f.home, &f.repo, &["show-ref", "--verify", "--quiet", "refs/heads/feat-c"]));

    // Once main has them, nothing is lost: removed without force.
    git(&f.home, &f.repo, &["merge", "-q", "--ff-only", "feat-c"]);
    let (status, e) = f.gw.http("DELETE", &path, None).await;
    assert_eq!(status, 204, "{e}");
    assert!(!wt.exists(), "the worktree is gone");
    assert!(!git_ok(&f.home, &f.repo, &["show-ref", "--verify", "--quiet", "refs/heads/feat-c"]));
    assert_eq!(git(&f.home, &f.repo, &["log", "-1", "--format=%s", "main"]), "c.txt", "the commits live on");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_setup_command_holds_up_only_its_own_request() {
    let f = fixture(&[]);
    let root = f.repo.parent().expect("parent").to_path_buf();
    let slow = f.create(&f.repo, json!({"branch": "slow-setup"}));
    let meanwhile = async {
        wait_for("the slow setup command to start", || async { root.join("setup-started").exists() }).await;
        // While it runs: the list answers, the hub makes a plain session and another worktree.
        let (status, list) = f.gw.http("GET", "/api/sessions", None).await;
        assert_eq!(status, 200, "{list}");
        let body = json!({"title": "plain", "cwd": root.display().to_string(), "workers": [{"command": ["sleep", "1000"]}]});
        let (status, s) = f.gw.http("POST", "/api/sessions", Some(body)).await;
        assert_eq!(status, 201, "{s}");
        let (status, s) = f.create(&f.repo, json!({"branch": "quick"})).await;
        assert_eq!(status, 201, "{s}");
        let (_, list) = f.gw.http("GET", "/api/sessions", None).await;
        let branches: Vec<&str> = list["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .filter_map(|s| s["branch"].as_str())
            .collect();
        assert!(!branches.contains(&"slow-setup"), "the slow session waits for its setup: {list}");
        std::fs::write(root.join("go"), "").expect("write go");
    };
    let ((status, s), ()) = tokio::join!(slow, meanwhile);
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["branch"], "slow-setup");
    let (_, list) = f.gw.http("GET", "/api/sessions", None).await;
    assert_eq!(list["sessions"].as_array().expect("sessions").len(), 3, "{list}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_clear_400s_that_leave_nothing_behind() {
    let f = fixture(&[]);
    let plain = f.repo.parent().expect("parent").join("plain");
    std::fs::create_dir_all(&plain).expect("mkdir");
    let wts = f.repo.parent().expect("parent").join("app.worktrees");
    let cases: Vec<(PathBuf, Value, &str)> = vec![
        (plain.clone(), json!({"branch": "x"}), "is not in a git repository"),
        (f.repo.clone(), json!({"branch": "main"}), "branch `main` already exists; pick another name"),
        (f.repo.clone(), json!({"branch": "bad..name"}), "`bad..name` is not a valid branch name"),
        (
            f.repo.clone(),
            json!({"branch": "y", "base": "no-such-ref"}),
            "`no-such-ref` is not a branch, tag or commit",
        ),
    ];
    for (cwd, wt, want) in cases {
        let (status, e) = f.create(&cwd, wt.clone()).await;
        assert_eq!(status, 400, "{wt}: {e}");
        let msg = e["error"]["message"].as_str().expect("message");
        assert!(msg.contains(want), "{wt}: {msg}");
    }
    assert!(!git_ok(&f.home, &f.repo, &["show-ref", "--verify", "--quiet", "refs/heads/y"]));

    // The location exists already.
    std::fs::create_dir_all(wts.join("taken")).expect("mkdir");
    let (status, e) = f.create(&f.repo, json!({"branch": "taken"})).await;
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .expect("message")
            .contains("already exists; remove it or set --worktree-dir")
    );
    assert!(!git_ok(&f.home, &f.repo, &["show-ref", "--verify", "--quiet", "refs/heads/taken"]));

    // A failing setup: reported with its output, the worktree and branch taken away again.
    let (status, e) = f.create(&f.repo, json!({"branch": "fail-setup"})).await;
    assert_eq!(status, 400, "{e}");
    let msg = e["error"]["message"].as_str().expect("message");
    assert!(
        msg.contains("the worktree setup command")
            && msg.contains("exited with 3")
            && msg.contains("setup: boom"),
        "{msg}"
    );
    assert!(!wts.join("fail-setup").exists(), "no half-made worktree");
    assert!(!git_ok(&f.home, &f.repo, &["show-ref", "--verify", "--quiet", "refs/heads/fail-setup"]));
    assert_eq!(git(&f.home, &f.repo, &["worktree", "list"]).lines().count(), 1, "only the main worktree");

    // .worktreeinclude naming a path outside the repository refuses the worktree.
    std::fs::write(f.repo.join(".worktreeinclude"), ".env\n../plain\n").expect("write");
    let (status, e) = f.create(&f.repo, json!({"branch": "escape"})).await;
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"]["message"].as_str().expect("message").contains("`../plain` is outside the repository"),
        "{e}"
    );
    assert!(!wts.join("escape").exists());
    let (_, list) = f.gw.http("GET", "/api/sessions", None).await;
    assert_eq!(list["sessions"].as_array().expect("sessions").len(), 0, "no session was made");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_remove_worktree_the_worktree_stays_and_plain_sessions_count_against_head() {
    let f = fixture(&[]);
    let (status, s) = f.create(&f.repo, json!({"branch": "keep-me", "base": "main"})).await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().expect("id");
    let wt = PathBuf::from(s["cwd"].as_str().expect("cwd"));
    assert_eq!(f.gw.http("DELETE", &format!("/api/sessions/{id}?removeWorktree=maybe"), None).await.0, 400);
    assert_eq!(f.gw.http("DELETE", &format!("/api/sessions/{id}"), None).await.0, 204);
    assert!(wt.is_dir(), "the worktree stays");
    assert!(git_ok(&f.home, &f.repo, &["show-ref", "--verify", "--quiet", "refs/heads/keep-me"]));

    // A session in the repository itself: worktree false, uncommitted changes against HEAD.
    let (status, s) = f
        .gw
        .http(
            "POST",
            "/api/sessions",
            Some(json!({"title": "plain", "cwd": f.repo.display().to_string(), "workers": [{"command": ["sleep", "1000"]}]})),
        )
        .await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().expect("id");
    std::fs::write(f.repo.join("a.txt"), "one\n").expect("edit");
    f.wait_counts(id, json!({"ahead": 0, "behind": 0, "changedFiles": 1, "insertions": 0, "deletions": 2}))
        .await;
    assert_eq!(f.git_object(id).await["worktree"], false);
    // A new file nobody has added yet counts, and shows in the diff; an ignored one does not.
    std::fs::write(f.repo.join("new.txt"), "first\nsecond\n").expect("write");
    std::fs::write(f.repo.join(".env"), "TOKEN=changed\nMORE=1\n").expect("write");
    f.wait_counts(id, json!({"ahead": 0, "behind": 0, "changedFiles": 2, "insertions": 2, "deletions": 2}))
        .await;
    let (_, d) = f.gw.http("GET", &format!("/api/sessions/{id}/diff"), None).await;
    assert_eq!(d["base"], "HEAD");
    let text = d["diff"].as_str().expect("diff");
    assert!(text.contains("-two"), "{d}");
    assert!(text.contains("+++ b/new.txt\n@@ -0,0 +1,2 @@\n+first\n+second\n"), "{text}");
    assert!(!text.contains("TOKEN"), "ignored files stay out: {text}");
    let (status, e) = f.gw.http("DELETE", &format!("/api/sessions/{id}?removeWorktree=true"), None).await;
    assert_eq!(status, 400, "{e}");
    assert!(e["error"]["message"].as_str().expect("m").contains("has no worktree of its own"));
    wait_for("nothing", || async { true }).await;
}

/// `controlroom rm ARGS --data-dir DATA` against the fixture's gateway.
fn rm(f: &Fixture, args: &[&str]) -> std::process::Output {
    Command::new(support::bin())
        .arg("rm")
        .args(args)
        .arg("--data-dir")
        .arg(&f.gw.data_dir)
        .env_remove("CONTROLROOM_URL")
        .env_remove("CONTROLROOM_TOKEN")
        .env_remove("CONTROLROOM_CONFIG_DIR")
        .env("XDG_CONFIG_HOME", f.home.join("xdg-config"))
        .output()
        .expect("run controlroom rm")
}

#[tokio::test(flavor = "multi_thread")]
async fn controlroom_rm_removes_the_worktree_when_asked_and_forced_only() {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let f = fixture(&[]);
    let (status, s) = f.create(&f.repo, json!({"branch": "feat-rm"})).await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().expect("id").to_owned();
    let wt = PathBuf::from(s["cwd"].as_str().expect("cwd"));
    std::fs::write(wt.join("a.txt"), "edited\n").expect("edit");

    // --force alone is a usage error: it only qualifies --remove-worktree.
    let out = rm(&f, &[&id, "--force"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--remove-worktree"), "{}", text(&out.stderr));

    // Uncommitted work: refused, in the command line's words, and nothing deleted.
    let out = rm(&f, &[&id, "--remove-worktree"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("has uncommitted changes (1 file)")
            && err.contains("repeat with --force")
            && err.contains("nothing was deleted")
            && !err.contains("force=true"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert_eq!(f.gw.http("GET", &format!("/api/sessions/{id}"), None).await.0, 200, "nothing was deleted");
    assert!(wt.is_dir());

    // Forced: the session, the worktree and its branch go.
    let out = rm(&f, &[&id, "--remove-worktree", "--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert_eq!(said, format!("{id}  wt  deleted, with its worktree {} and branch feat-rm\n", wt.display()));
    assert_eq!(f.gw.http("GET", &format!("/api/sessions/{id}"), None).await.0, 404);
    assert!(!wt.exists(), "the worktree is gone");
    assert!(
        !git_ok(&f.home, &f.repo, &["show-ref", "--verify", "--quiet", "refs/heads/feat-rm"]),
        "and its branch"
    );

    // Without --remove-worktree the worktree stays; the session goes (named by its title).
    let (status, s) = f.create(&f.repo, json!({"branch": "kept"})).await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().expect("id").to_owned();
    let wt = PathBuf::from(s["cwd"].as_str().expect("cwd"));
    let out = rm(&f, &["wt"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{id}  wt  deleted\n"));
    assert_eq!(f.gw.http("GET", &format!("/api/sessions/{id}"), None).await.0, 404);
    assert!(wt.is_dir(), "the worktree stays");
    assert!(git_ok(&f.home, &f.repo, &["show-ref", "--verify", "--quiet", "refs/heads/kept"]));
    // No such session: exit 1, one line.
    let out = rm(&f, &["nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr).lines().count(), 1, "{}", text(&out.stderr));
}
