//! End-to-end tests of what the gateway notices on its own: git branches, activity, exits, limits.

mod support;

use serde_json::json;
use support::{Ended, Gateway};

#[tokio::test]
async fn poller_notices_a_branch_switch_and_unchanged_sessions_stay_quiet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).expect("mkdir");
    std::fs::write(repo.join(".git/HEAD"), "ref: refs/heads/main\n").expect("write");
    std::fs::write(
        repo.join(".git/config"),
        "[remote \"origin\"]\n\turl = https://example.org/me/repo.git\n",
    )
    .expect("write");
    let gw = Gateway::start_in(&dir.path().join("data"), &["--poll-interval", "200ms"]);
    let (status, s) = gw
        .http("POST", "/api/sessions", Some(json!({"title": "git", "cwd": repo.display().to_string()})))
        .await;
    assert_eq!(status, 201);
    assert_eq!(s["branch"], "main");
    assert_eq!(s["repository"], "https://example.org/me/repo.git");
    let mut app = gw.ws("/ws/app").await;
    let sync = app.next_json().await;
    let seq = sync["seq"].as_u64().expect("seq");

    std::fs::write(repo.join(".git/HEAD"), "ref: refs/heads/feature\n").expect("write");
    let updated = app.until(|v| v["type"] == "session-updated").await;
    assert_eq!(updated["before"]["branch"], "main");
    assert_eq!(updated["session"]["branch"], "feature");
    assert_eq!(updated["seq"].as_u64(), Some(seq + 1), "nothing else changed in between");

    // Several more poll ticks with nothing changed produce no deltas.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let (_, deltas) = gw.http("GET", &format!("/api/deltas?since={}", seq + 1), None).await;
    assert_eq!(deltas["deltas"], json!([]), "unchanged sessions produce nothing");
}

#[tokio::test]
async fn activity_goes_active_then_idle_then_exited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &["--idle-after", "300ms"]);
    let mut app = gw.ws("/ws/app").await;
    app.next_json().await;
    let (sid, wid) = gw
        .session_with(
            "busy",
            Some(&[
                "sh",
                "-c",
                "read x; for i in 1 2 3 4 5 6 7 8 9 10; do echo working $i; sleep 0.05; done; read y; exit 4",
            ]),
        )
        .await;
    let (status, _) = gw
        .http("POST", &format!("/api/sessions/{sid}/workers/{wid}/input"), Some(json!({"data": "go\n"})))
        .await;
    assert_eq!(status, 204);
    let is = |state: &'static str| {
        let wid = wid.clone();
        move |v: &serde_json::Value| {
            v["type"] == "worker-activity" && v["workerId"] == wid.as_str() && v["activityState"] == state
        }
    };
    app.until(is("active")).await;
    app.until(is("idle")).await;
    gw.http("POST", &format!("/api/sessions/{sid}/workers/{wid}/input"), Some(json!({"data": "done\n"})))
        .await;
    app.until(is("exited")).await;
    let (status, body) = gw
        .http("POST", &format!("/api/sessions/{sid}/workers/{wid}/input"), Some(json!({"data": "x\n"})))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("worker-exited")));
}

#[tokio::test]
async fn oversize_messages_close_with_1009_and_bodies_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &["--max-app-message", "1KiB"]);
    let mut ws = gw.ws("/ws/app").await;
    ws.next_json().await;
    let big = format!("{{\"type\":\"request-sync\",\"pad\":\"{}\"}}", "x".repeat(4096));
    ws.send_text(&big).await;
    assert_eq!(ws.ended().await, Ended::Close(1009));

    let (status, body) = gw.http("POST", "/api/sessions", Some(json!({"title": "t", "colour": "red"}))).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad-message");
    assert!(body["error"]["message"].as_str().expect("message").contains("colour"));
    let (status, body) =
        gw.http("POST", "/api/sessions", Some(json!({"title": "t", "cwd": "/no/such/dir"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid")));
    let (status, body) = gw
        .http("POST", "/api/sessions", Some(json!({"title": "t", "cwd": "/tmp", "workers": [{"cols": 0}]})))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid")));
    let (status, body) = gw
        .http(
            "POST",
            "/api/sessions",
            Some(json!({"title": "t", "cwd": "/tmp", "workers": [{"command": ["/no/such/program"]}]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (_, list) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(list["sessions"], json!([]), "failed creations leave nothing behind");
    let (status, _) = gw.http("GET", "/api/sessions/../../etc/passwd", None).await;
    assert_eq!(status, 404);
    let (status, _) = gw.http("GET", &format!("/api/sessions/{}", "9".repeat(5000)), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn worker_add_remove_and_name_uniqueness() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let (sid, _) = gw.session_with("team", Some(&["sleep", "1000"])).await;
    let (status, w2) = gw
        .http(
            "POST",
            &format!("/api/sessions/{sid}/workers"),
            Some(json!({"command": ["sleep", "1000"], "kind": "job"})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!((w2["name"].as_str(), w2["kind"].as_str()), (Some("sleep-2"), Some("job")));
    let wid2 = w2["id"].as_str().expect("id").to_string();
    let mut ws = gw.ws(&format!("/ws/session/{sid}/worker/{wid2}")).await;
    ws.next_json().await;
    let (status, _) = gw.http("DELETE", &format!("/api/sessions/{sid}/workers/{wid2}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(ws.ended().await, Ended::Close(4004));
    let (_, s) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
    assert_eq!(s["workers"].as_array().map(Vec::len), Some(1));
}
