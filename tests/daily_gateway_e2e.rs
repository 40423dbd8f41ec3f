//! End-to-end tests of the gateway half of issue 16, against a real `controlroom serve`: stop
//! keeps the worker, the screen restored after `kill -9` is the newest one, an answered prompt
//! stays answered, a steady printer gets a state, and a client leaving is not a protocol error.

mod support;

use serde_json::{Value, json};
use support::{Gateway, wait_for};

fn worker_path(sid: &str, wid: &str, tail: &str) -> String {
    format!("/api/sessions/{sid}/workers/{wid}{tail}")
}

async fn activity(gw: &Gateway, sid: &str, wid: &str) -> Value {
    let (status, report) = gw.http("GET", &worker_path(sid, wid, "/activity"), None).await;
    assert_eq!(status, 200, "{report}");
    report
}

async fn screen_text(gw: &Gateway, sid: &str, wid: &str) -> String {
    let (_, screen) = gw.http("GET", &worker_path(sid, wid, "/screen"), None).await;
    screen["lines"].to_string()
}

#[tokio::test]
async fn stop_keeps_the_worker_exited_and_restartable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &["--stop-grace", "2s"]);
    let (sid, wid) =
        gw.session_with("stopper", Some(&["sh", "-c", "echo up-$((1+1)); exec sleep 1000"])).await;
    wait_for("the worker to print", || async { screen_text(&gw, &sid, &wid).await.contains("up-2") }).await;

    let (status, worker) = gw.http("POST", &worker_path(&sid, &wid, "/stop"), None).await;
    assert_eq!(status, 200, "{worker}");
    assert_eq!(worker["id"], wid.as_str());
    assert_eq!(worker["state"], "exited", "{worker}");
    assert!(worker["pid"].is_null(), "{worker}");
    assert_eq!(worker["signal"], "stopped", "stopped on request, not a failure: {worker}");

    // Still listed, with its last screen, not deleted.
    let (_, list) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(list["sessions"][0]["workers"][0]["id"], wid.as_str(), "{list}");
    assert_eq!(list["sessions"][0]["workers"][0]["state"], "exited");
    assert!(screen_text(&gw, &sid, &wid).await.contains("up-2"));
    // Stopping it again changes nothing.
    let (status, again) = gw.http("POST", &worker_path(&sid, &wid, "/stop"), None).await;
    assert_eq!((status, &again["state"]), (200, &json!("exited")));

    let (status, restarted) = gw.http("POST", &worker_path(&sid, &wid, "/restart"), None).await;
    assert_eq!(status, 200, "{restarted}");
    assert_eq!(restarted["state"], "running");
    assert_eq!(restarted["id"], wid.as_str());

    let (status, body) = gw.http("POST", &worker_path(&sid, "wnope", "/stop"), None).await;
    assert_eq!(status, 404, "{body}");
    // A read-only token cannot stop anything.
    let read_only = gw.token_cmd(&["--ttl", "1h", "--read-only"]);
    let (status, _) = gw.http_as(&read_only, "POST", &worker_path(&sid, &wid, "/stop"), None).await;
    assert_eq!(status, 403);
}

/// The screens table of the gateway's database holds `marker` for worker `wid`.
fn saved_screen_has(data_dir: &std::path::Path, wid: &str, marker: &str) -> bool {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let Ok(db) = rusqlite::Connection::open_with_flags(data_dir.join("controlroom.db"), flags) else {
        return false;
    };
    db.query_row("SELECT data FROM screens WHERE worker_id = ?1", [wid], |r| r.get::<_, String>(0))
        .is_ok_and(|data| data.contains(marker))
}

#[tokio::test]
async fn the_screen_restored_after_kill_9_is_the_newest_saved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let listen = format!("127.0.0.1:{}", support::free_port());
    let mut gw = Gateway::start_on(&data, &listen, &["--screen-save-interval", "200ms"]);
    // A quiet worker (never `active`), fed by input so each marker is printed when we say.
    let (sid, wid) =
        gw.session_with("saver", Some(&["sh", "-c", "while read l; do echo \"got:$l\"; done"])).await;
    for marker in ["first-7", "second-8"] {
        let input = json!({"data": format!("{marker}\r")});
        let (status, _) = gw.http("POST", &worker_path(&sid, &wid, "/input"), Some(input)).await;
        assert_eq!(status, 204);
        let line = format!("got:{marker}");
        wait_for("the marker on screen", || async { screen_text(&gw, &sid, &wid).await.contains(&line) })
            .await;
        wait_for("the marker saved", || async { saved_screen_has(&data, &wid, &line) }).await;
    }

    assert_eq!(gw.stop(libc::SIGKILL), None, "killed by a signal");
    // Its holder goes too (a reboot), so the screen can only come from the store.
    support::kill_holders(&data);
    wait_for("the holders to be gone", || async { support::holder_pids(&data).is_empty() }).await;
    let gw = Gateway::start_on(&data, &listen, &[]);
    let (_, list) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(list["sessions"][0]["workers"][0]["signal"], "lost", "{list}");
    let screen = screen_text(&gw, &sid, &wid).await;
    assert!(screen.contains("got:second-8"), "the newest screen comes back: {screen}");
}

#[tokio::test]
async fn an_answered_prompt_stays_answered_and_a_steady_printer_gets_a_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &["--idle-after", "1s"]);
    let script = r#"printf "Do you want to continue? [y/N] "; read a; echo "answered-$a"; sleep 2; printf "Second question? [y/N] "; read b; exec sleep 1000"#;
    let (sid, wid) = gw.session_with("sticky", Some(&["bash", "-c", script])).await;
    wait_for("asking", || async { activity(&gw, &sid, &wid).await["state"] == "asking" }).await;
    let (status, _) = gw.http("POST", &worker_path(&sid, &wid, "/input"), Some(json!({"data": "y\r"}))).await;
    assert_eq!(status, 204);
    // The next question asks again; the answered line (`… [y/N] y`) must not have in between.
    wait_for("the second question", || async {
        let report = activity(&gw, &sid, &wid).await;
        report["state"] == "asking" && report["evidence"][0]["detail"].to_string().contains("Second question")
    })
    .await;
    let report = activity(&gw, &sid, &wid).await;
    let evidence = report["evidence"].as_array().expect("evidence");
    let stale: Vec<&Value> =
        evidence.iter().filter(|e| e["detail"].to_string().contains("[y/N] y")).collect();
    assert!(stale.is_empty(), "the answered line counted again: {evidence:?}");

    // Like `while true; do date; sleep 1; done`: it printed, so it has a state and true evidence.
    let (sid, wid) =
        gw.session_with("clock", Some(&["sh", "-c", "while true; do echo tick; sleep 0.5; done"])).await;
    wait_for("a state for the steady printer", || async {
        let report = activity(&gw, &sid, &wid).await;
        report["state"] == "idle"
            && report["evidence"][0]["detail"].as_str().is_some_and(|d| d.contains("below the active rate"))
    })
    .await;
}

#[tokio::test]
async fn a_client_leaving_is_not_a_protocol_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let (sid, wid) = gw.session_with("leaver", Some(&["sh"])).await;
    let path = format!("/ws/session/{sid}/worker/{wid}");
    // As the TUI detaches: the socket is dropped without a close frame.
    let mut dropped = gw.ws(&path).await;
    dropped.until(|m| m["type"] == "history").await;
    drop(dropped);
    // As a polite client: a close frame first.
    let mut closed = gw.ws(&path).await;
    closed.until(|m| m["type"] == "history").await;
    closed.inner.close(None).await.expect("close");
    wait_for("both detaches handled", || async { gw.log().matches("client detached").count() >= 2 }).await;
    let log = gw.log();
    assert!(!log.contains("protocol_error"), "a normal close logged as an error:\n{log}");
    // The dropped socket did end without a close frame (what was logged as protocol_error).
    assert!(log.contains("client left without a close frame"), "{log}");
}
