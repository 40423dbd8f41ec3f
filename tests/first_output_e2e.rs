//! A new worker's start (issue 17: new worker → first output): what the start's order must keep
//! however it overlaps. A `201` means the session is stored: a gateway killed right after it
//! answered leaves a session the next gateway restores, its worker adopted with every byte; a
//! program that printed (and even ended) before the answer has that output in the `history` of
//! a client that attaches after it, then its real exit; a session's repository is read while
//! its workers start and is in the answer.

mod support;

use serde_json::json;
use std::path::Path;
use support::{Gateway, HolderGuard, wait_for};

fn worker_path(sid: &str, wid: &str) -> String {
    format!("/ws/session/{sid}/worker/{wid}")
}

/// Creates a session with one worker running `command`; (session id, worker id, its pid).
async fn create(gw: &Gateway, command: &[&str]) -> (String, String, Option<u64>) {
    let body = json!({"title": "first", "cwd": "/tmp", "workers": [{"command": command}]});
    let (status, created) = gw.http("POST", "/api/sessions", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let sid = created["id"].as_str().expect("id").to_owned();
    let worker = &created["workers"][0];
    (sid, worker["id"].as_str().expect("wid").to_owned(), worker["pid"].as_u64())
}

/// `kill -9` of the gateway the moment its `201` arrived, then a new gateway on the data dir:
/// the session is there, its worker the same running process, its output and input intact.
async fn restored_after_a_kill_right_after_the_201(flags: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let mut gw = Gateway::start_in(&data, flags);
    let (sid, wid, pid) = create(&gw, &["sh", "-c", "echo started-1; read x; echo got-$x; sleep 1000"]).await;
    gw.stop(libc::SIGKILL);
    let pid = pid.expect("a running worker has a pid");
    assert!(Path::new(&format!("/proc/{pid}")).exists(), "the worker outlived its gateway");

    let gw = Gateway::start_in(&data, flags);
    let (status, session) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
    assert_eq!(status, 200, "the answered session was stored: {session}");
    let worker = &session["workers"][0];
    assert_eq!(worker["id"], wid.as_str(), "{session}");
    assert_eq!(worker["state"], "running", "{session}");
    assert_eq!(worker["pid"].as_u64(), Some(pid), "the same process, adopted: {session}");
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    ws.output_until(|o| o.contains("started-1")).await;
    ws.send_json(json!({"type": "input", "data": "again\r"})).await;
    ws.output_until(|o| o.contains("got-again")).await;
}

#[tokio::test]
async fn a_session_answered_201_survives_a_kill_right_after_with_a_spare_holder() {
    restored_after_a_kill_right_after_the_201(&[]).await;
}

#[tokio::test]
async fn a_session_answered_201_survives_a_kill_right_after_with_a_new_holder() {
    restored_after_a_kill_right_after_the_201(&["--spare-holders", "0"]).await;
}

/// A program that prints and ends at once, likely before the `POST` is answered: a client
/// attaching after the answer gets the output in `history`, then the real exit code.
#[tokio::test]
async fn output_and_exit_before_the_answer_reach_a_client_that_attaches_after_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let gw = Gateway::start_in(&data, &[]);
    for round in 0..3 {
        let (sid, wid, _) = create(&gw, &["sh", "-c", &format!("echo early-bird-{round}; exit 3")]).await;
        let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
        let mut seen = String::new();
        let exit = ws
            .until(|v| {
                if v["type"] == "history" || v["type"] == "output" {
                    seen.push_str(v["data"].as_str().unwrap_or_default());
                }
                v["type"] == "exit"
            })
            .await;
        assert!(seen.contains(&format!("early-bird-{round}")), "round {round}: {seen:?}");
        assert_eq!(exit["exitCode"], 3, "round {round}: {exit}");
    }
}

/// The cwd's repository is read while the workers start, yet the answer names it (and a
/// session without workers, which waits for the read alone, too).
#[tokio::test]
async fn the_answer_names_the_repository_read_while_the_workers_started() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let repo = dir.path().join("project");
    std::fs::create_dir_all(repo.join(".git")).expect("repo");
    std::fs::write(repo.join(".git/HEAD"), "ref: refs/heads/feature-x\n").expect("HEAD");
    let gw = Gateway::start_in(&data, &[]);
    let cwd = repo.to_str().expect("utf-8 path");
    for workers in [json!([{"command": ["sleep", "1000"]}]), json!([])] {
        let body = json!({"title": "repo", "cwd": cwd, "workers": workers});
        let (status, created) = gw.http("POST", "/api/sessions", Some(body)).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["repository"], "project", "{created}");
        assert_eq!(created["branch"], "feature-x", "{created}");
    }
    wait_for("both sessions listed", || async {
        gw.http("GET", "/api/sessions", None).await.1["sessions"].as_array().is_some_and(|s| s.len() == 2)
    })
    .await;
}
