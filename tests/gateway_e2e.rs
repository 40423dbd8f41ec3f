//! End-to-end tests of `controlroom serve`: the real binary, real PTYs, a real WebSocket client.

mod support;

use serde_json::json;
use support::{Ended, Gateway, wait_for};

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn worker_path(sid: &str, wid: &str) -> String {
    format!("/ws/session/{sid}/worker/{wid}")
}

#[tokio::test]
async fn listening_line_gateway_file_and_clean_exit() {
    let dir = temp();
    let data = dir.path().join("data");
    // With --stop-workers-on-exit a clean stop takes its workers down (by default they live on).
    let mut gw = Gateway::start_in(&data, &["--stop-workers-on-exit"]);
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("gateway.json")).expect("gateway.json"))
            .expect("json");
    assert_eq!(file["url"], gw.url.as_str());
    assert_eq!(file["pid"], gw.child.id());
    let (status, body) = support::http_raw(&gw.addr, "GET", "/healthz", &[], None).await;
    assert_eq!((status, body), (200, json!("ok")));
    let (status, cfg) = support::http_raw(&gw.addr, "GET", "/api/config", &[], None).await;
    assert_eq!(status, 200);
    assert_eq!(cfg["protocol"], 1);
    assert_eq!(cfg["wsWorker"], "/ws/session/{sessionId}/worker/{workerId}");
    // A worker whose child ignores SIGHUP in a subshell still goes: the whole group is signalled.
    let (sid, wid) = gw.session_with("stopping", Some(&["sh", "-c", "sleep 1000 & wait"])).await;
    let (_, session) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
    let pid = session["workers"][0]["pid"].as_u64().expect("pid");
    let mut app = gw.ws("/ws/app").await;
    app.next_json().await;
    let mut term = gw.ws(&worker_path(&sid, &wid)).await;
    term.next_json().await;
    let signal = tokio::task::spawn_blocking(move || {
        let code = gw.stop(libc::SIGTERM);
        (gw, code)
    });
    assert_eq!(app.ended().await, Ended::Close(1001));
    assert_eq!(term.ended().await, Ended::Close(1001));
    let (_gw, code) = signal.await.expect("join");
    assert_eq!(code, Some(0));
    assert!(!data.join("gateway.json").exists(), "gateway.json is removed on clean shutdown");
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the worker process is gone");
}

#[tokio::test]
async fn auth_is_required_and_never_in_urls() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let (status, body) = support::http_raw(&gw.addr, "GET", "/api/sessions", &[], None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let (status, _) =
        support::http_raw(&gw.addr, "GET", "/api/sessions", &[("Authorization", "Bearer nope")], None).await;
    assert_eq!(status, 401);
    let (status, _) =
        support::http_raw(&gw.addr, "GET", &format!("/api/sessions?token={}", gw.token), &[], None).await;
    assert_eq!(status, 401, "a token in the query is refused");
    let (status, _) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(status, 200);

    assert_eq!(gw.ws_with("/ws/app", Some("controlroom.v1"), None).await.err(), Some(401));
    assert_eq!(gw.ws_with("/ws/app", Some("controlroom.v1, bearer.wrong"), None).await.err(), Some(401));
    let q = format!("/ws/app?token={}", gw.token);
    assert_eq!(gw.ws_with(&q, Some("controlroom.v1"), None).await.err(), Some(401));
    let bearer = format!("Bearer {}", gw.token);
    let (mut ws, resp) =
        gw.ws_with("/ws/app", None, Some(&bearer)).await.expect("Authorization header works");
    assert!(resp.headers().get("sec-websocket-protocol").is_none());
    assert_eq!(ws.next_json().await["type"], "sessions-sync");
    // The subprotocol reply is controlroom.v1 and never echoes the token (checked in `ws`).
    let mut ws = gw.ws("/ws/app").await;
    assert_eq!(ws.next_json().await["type"], "sessions-sync");
    let unknown = worker_path("nope", "nope");
    let offer = format!("controlroom.v1, bearer.{}", gw.token);
    assert_eq!(gw.ws_with(&unknown, Some(&offer), None).await.err(), Some(404));
    let (status, _) =
        support::http_raw(&gw.addr, "GET", "/healthz", &[("Origin", "http://evil.example")], None).await;
    assert_eq!(status, 403, "a foreign Origin is refused");
}

#[tokio::test]
async fn two_app_clients_see_the_same_deltas_and_request_sync_since_replays() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let mut a = gw.ws("/ws/app").await;
    let mut b = gw.ws("/ws/app").await;
    let sync_a = a.next_json().await;
    assert_eq!(sync_a["type"], "sessions-sync");
    let start_seq = sync_a["seq"].as_u64().expect("seq");
    b.next_json().await;
    let (sid, _) = gw.session_with("alpha", Some(&["sleep", "1000"])).await;
    let created_a = a.until(|v| v["type"] == "session-created").await;
    let created_b = b.until(|v| v["type"] == "session-created").await;
    assert_eq!(created_a["seq"], created_b["seq"]);
    assert_eq!(created_a["sessionId"], sid.as_str());
    assert_eq!(created_a["session"]["title"], "alpha");

    let (status, renamed) =
        gw.http("PATCH", &format!("/api/sessions/{sid}"), Some(json!({"title": "beta"}))).await;
    assert_eq!((status, renamed["title"].as_str()), (200, Some("beta")));
    let updated = a.until(|v| v["type"] == "session-updated").await;
    assert_eq!(updated["before"]["title"], "alpha");
    assert_eq!(updated["session"]["title"], "beta");

    // A client that missed everything since `start_seq` gets exactly those deltas, in order.
    let (_, list) = gw.http("GET", "/api/sessions", None).await;
    let now = list["seq"].as_u64().expect("seq");
    let mut c = gw.ws("/ws/app").await;
    c.next_json().await;
    c.send_json(json!({"type": "request-sync", "since": start_seq})).await;
    let replay = c.until(|v| v["type"] == "replay").await;
    let seqs: Vec<u64> = replay["deltas"]
        .as_array()
        .expect("deltas")
        .iter()
        .map(|d| d["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(seqs, ((start_seq + 1)..=now).collect::<Vec<_>>());
    let (status, deltas) = gw.http("GET", &format!("/api/deltas?since={start_seq}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(deltas["deltas"], replay["deltas"]);
    c.send_json(json!({"type": "request-sync"})).await;
    let full = c.until(|v| v["type"] == "sessions-sync").await;
    assert_eq!(full["sessions"][0]["title"], "beta");
}

#[tokio::test]
async fn delta_log_limit_gives_410_and_full_sync() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &["--delta-log", "2"]);
    for t in ["a", "b", "c"] {
        let (status, _) = gw.http("POST", "/api/sessions", Some(json!({"title": t, "cwd": "/tmp"}))).await;
        assert_eq!(status, 201);
    }
    let (status, body) = gw.http("GET", "/api/deltas?since=0", None).await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(body["error"]["code"], "gone");
    let mut ws = gw.ws("/ws/app").await;
    ws.next_json().await;
    ws.send_json(json!({"type": "request-sync", "since": 0})).await;
    let msg = ws.next_json().await;
    assert_eq!(msg["type"], "sessions-sync", "a stale cursor gets a full sync");
    assert_eq!(msg["sessions"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn echo_resize_reattach_history_and_exit_code() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let (sid, wid) = gw.session_with("shell", None).await;
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    let history = ws.next_json().await;
    assert_eq!(history["type"], "history");
    assert!(history["offset"].is_u64());
    ws.send_json(json!({"type": "input", "data": "echo round-$((40+2))-trip\r"})).await;
    ws.output_until(|o| o.contains("round-42-trip")).await;

    ws.send_json(json!({"type": "resize", "cols": 100, "rows": 30})).await;
    ws.send_json(json!({"type": "input", "data": "stty size\r"})).await;
    ws.output_until(|o| o.contains("30 100")).await;
    let (_, session) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
    wait_for("the worker model to show the new size", || async {
        let (_, s) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
        s["workers"][0]["cols"] == 100 && s["workers"][0]["rows"] == 30
    })
    .await;
    assert_eq!(session["workers"][0]["state"], "running");

    // A second client attaching later gets the earlier output in its history.
    let mut again = gw.ws(&worker_path(&sid, &wid)).await;
    let h = again.next_json().await;
    assert_eq!(h["type"], "history");
    assert_eq!((h["cols"].as_u64(), h["rows"].as_u64()), (Some(100), Some(30)));
    assert!(h["data"].as_str().expect("data").contains("round-42-trip"), "{h}");
    let (status, screen) = gw.http("GET", &format!("/api/sessions/{sid}/workers/{wid}/screen"), None).await;
    assert_eq!(status, 200);
    assert!(
        screen["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .any(|l| l.as_str().is_some_and(|l| l.contains("30 100")))
    );

    ws.send_json(json!({"type": "input", "data": "exit 7\r"})).await;
    let exit = ws.until(|v| v["type"] == "exit").await;
    assert_eq!(exit["exitCode"], 7);
    let exit2 = again.until(|v| v["type"] == "exit").await;
    assert_eq!(exit2["exitCode"], 7);
    wait_for("the worker to be shown exited", || async {
        let (_, s) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
        s["workers"][0]["state"] == "exited" && s["workers"][0]["exitCode"] == 7
    })
    .await;
    ws.send_json(json!({"type": "input", "data": "echo too late\r"})).await;
    let err = ws.until(|v| v["type"] == "error").await;
    assert_eq!(err["code"], "worker-exited");
}

#[tokio::test]
async fn split_utf8_character_arrives_whole() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let (sid, wid) = gw
        .session_with(
            "utf8",
            Some(&["sh", "-c", "read x; printf 'A\\303'; sleep 0.3; printf '\\251B\\n'; sleep 1000"]),
        )
        .await;
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    ws.next_json().await;
    ws.send_json(json!({"type": "input", "data": "go\r"})).await;
    let out = ws.output_until(|o| o.contains('B')).await;
    assert!(out.contains("AéB"), "{out:?}");
    assert!(!out.contains('\u{fffd}'), "{out:?}");
}

#[tokio::test]
async fn delete_sends_session_deleted_and_closes_worker_sockets_with_4004() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let mut app = gw.ws("/ws/app").await;
    app.next_json().await;
    let (sid, wid) = gw.session_with("doomed", None).await;
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    ws.next_json().await;
    let (status, _) = gw.http("DELETE", &format!("/api/sessions/{sid}"), None).await;
    assert_eq!(status, 204);
    let deleted = app.until(|v| v["type"] == "session-deleted").await;
    assert_eq!(deleted["sessionId"], sid.as_str());
    assert_eq!(deleted["before"]["title"], "doomed");
    assert_eq!(ws.ended().await, Ended::Close(4004));
    let (status, body) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not-found")));
}

#[tokio::test]
async fn malformed_messages_get_errors_then_1008() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &["--max-bad-messages", "3"]);
    let mut ws = gw.ws("/ws/app").await;
    ws.next_json().await;
    ws.send_text("{not json").await;
    let err = ws.next_json().await;
    assert_eq!((err["type"].as_str(), err["code"].as_str()), (Some("error"), Some("bad-message")));
    ws.send_json(json!({"type": "launch-missiles"})).await;
    assert_eq!(ws.next_json().await["type"], "error");
    // Still usable after errors.
    ws.send_json(json!({"type": "request-sync"})).await;
    assert_eq!(ws.next_json().await["type"], "sessions-sync");
    ws.send_text("[]").await;
    assert_eq!(ws.until(|v| v["type"] == "error").await["code"], "bad-message");
    assert_eq!(ws.ended().await, Ended::Close(1008));

    let (sid, wid) = gw.session_with("w", Some(&["sleep", "1000"])).await;
    let mut w = gw.ws(&worker_path(&sid, &wid)).await;
    w.next_json().await;
    w.send_json(json!({"type": "resize", "cols": 0, "rows": 24})).await;
    let err = w.until(|v| v["type"] == "error").await;
    assert!(err["message"].as_str().expect("message").contains("1..=1000"));
    w.send_json(json!({"type": "image", "data": "!!!", "mimeType": "image/png"})).await;
    assert_eq!(w.until(|v| v["type"] == "error").await["code"], "invalid");
}

#[tokio::test]
async fn silent_client_is_terminated_by_heartbeat() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &["--heartbeat", "300ms"]);
    let ws = gw.ws("/ws/app").await;
    // Not reading means not answering pings.
    wait_for("a heartbeat_timeout log line", || async { gw.log().contains("heartbeat_timeout") }).await;
    drop(ws);
    // A client that keeps reading stays connected across several heartbeats.
    let mut live = gw.ws("/ws/app").await;
    live.next_json().await;
    let (_, _) = gw.session_with("keepalive", Some(&["sleep", "1000"])).await;
    let t0 = std::time::Instant::now();
    while t0.elapsed() < std::time::Duration::from_millis(1200) {
        let _ = tokio::time::timeout(std::time::Duration::from_millis(100), live.inner.next()).await;
    }
    live.send_json(json!({"type": "request-sync"})).await;
    assert_eq!(live.until(|v| v["type"] == "sessions-sync").await["type"], "sessions-sync");
}

use futures_util::StreamExt as _;

#[tokio::test]
async fn slow_consumer_gets_4008_while_another_keeps_receiving() {
    let dir = temp();
    // A throughput test: logging every frame at trace level would make the fast reader slow too.
    let gw = Gateway::start_in(
        &dir.path().join("data"),
        &["--max-client-buffer", "256KiB", "--log-level", "info"],
    );
    // A steady flood (about 0.5 MB/s) that a reading client keeps up with even on a loaded
    // machine (it would have to fall half a second behind to fill its 256 KiB); an unbounded
    // `yes` would outrun any client once the screen model no longer throttles the worker.
    let flood = "read x; while :; do yes flood | head -n 5000; sleep 0.05; done";
    let (sid, wid) = gw.session_with("flood", Some(&["sh", "-c", flood])).await;
    let path = worker_path(&sid, &wid);
    let mut slow = gw.ws(&path).await;
    let mut fast = gw.ws(&path).await;
    fast.next_json().await;
    fast.send_json(json!({"type": "input", "data": "go\r"})).await;
    // The fast client reads (twice the cap) while the slow one reads nothing.
    let mut got = 0usize;
    let started = std::time::Instant::now();
    while got < 512 * 1024 || !gw.log().contains("backpressure_limit") {
        assert!(started.elapsed() < support::DEADLINE, "no backpressure_limit log line after {got} bytes");
        let v = fast.next_json().await;
        got += v["data"].as_str().map_or(0, str::len);
    }
    assert_eq!(slow.ended().await, Ended::Close(4008));
    // The fast client still receives.
    let more = fast.until(|v| v["type"] == "output").await;
    assert!(more["data"].as_str().expect("data").contains("flood"));
}

#[tokio::test]
async fn sessions_survive_restart_and_kill_9() {
    let dir = temp();
    let data = dir.path().join("data");
    // Stopping the gateway stops its workers only when asked to (tmux's kill-server).
    let mut gw = Gateway::start_in(&data, &["--stop-workers-on-exit"]);
    let (sid, wid) = gw.session_with("survivor", None).await;
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    ws.next_json().await;
    ws.send_json(json!({"type": "input", "data": "echo before-restart\r"})).await;
    ws.output_until(|o| o.contains("before-restart\r\n")).await;
    let (_, list) = gw.http("GET", "/api/sessions", None).await;
    let seq_before = list["seq"].as_u64().expect("seq");
    assert_eq!(gw.stop(libc::SIGINT), Some(0));

    let mut gw = Gateway::start_in(&data, &[]);
    let (_, list) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(list["sessions"][0]["id"], sid.as_str());
    let worker = &list["sessions"][0]["workers"][0];
    assert_eq!(
        (worker["state"].as_str(), worker["signal"].as_str()),
        (Some("exited"), Some("gateway-stopped"))
    );
    assert!(list["seq"].as_u64().expect("seq") >= seq_before, "seq continues");
    let (_, screen) = gw.http("GET", &format!("/api/sessions/{sid}/workers/{wid}/screen"), None).await;
    assert!(screen["lines"].to_string().contains("before-restart"), "{screen}");
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    let h = ws.next_json().await;
    assert!(h["data"].as_str().expect("data").contains("before-restart"));
    assert_eq!(ws.next_json().await["signal"], "gateway-stopped");

    let (status, restarted) =
        gw.http("POST", &format!("/api/sessions/{sid}/workers/{wid}/restart"), None).await;
    assert_eq!(status, 200, "{restarted}");
    assert_eq!(restarted["state"], "running");
    assert_eq!(restarted["id"], wid.as_str());

    // kill -9 loses nothing that was committed.
    let (sid2, _) = gw.session_with("second", Some(&["sleep", "1000"])).await;
    gw.stop(libc::SIGKILL);
    let gw = Gateway::start_in(&data, &[]);
    let (_, list) = gw.http("GET", "/api/sessions", None).await;
    let ids: Vec<&str> =
        list["sessions"].as_array().expect("sessions").iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, vec![sid.as_str(), sid2.as_str()]);
    let (status, deltas) = gw.http("GET", "/api/deltas?since=0", None).await;
    assert_eq!(status, 200);
    let seqs: Vec<u64> =
        deltas["deltas"].as_array().expect("deltas").iter().filter_map(|d| d["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "no gaps or duplicates: {seqs:?}");
    assert_eq!(seqs.last().copied(), deltas["seq"].as_u64());
}

/// Every regular file under `dir`, recursively (holder sockets are not stored files).
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if path.is_file() {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn no_credential_in_any_log_or_stored_file() {
    let dir = temp();
    let mut gw =
        Gateway::start_in(&dir.path().join("data"), &["--log-level", "trace", "--log-format", "json"]);
    let (sid, wid) = gw.session_with("traced", None).await;
    let read_only = gw.token_cmd(&["--ttl", "1h", "--read-only"]);
    let session_only = gw.token_cmd(&["--ttl", "1h", "--session", &sid]);
    let old_secret = std::fs::read_to_string(gw.data_dir.join("token-secret")).expect("secret");
    // Every credential used on every path, right and wrong.
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    ws.next_json().await;
    ws.send_json(json!({"type": "input", "data": "echo hi\r"})).await;
    ws.output_until(|o| o.contains("hi")).await;
    let png =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==";
    ws.send_json(json!({"type": "image", "data": png, "mimeType": "image/png"})).await;
    ws.output_until(|o| o.contains(".png")).await;
    for t in [&read_only, &session_only] {
        assert_eq!(gw.http_as(t, "GET", "/api/sessions", None).await.0, 200);
        let mut w = gw.ws_as(t, &worker_path(&sid, &wid)).await.expect("scoped ws");
        w.next_json().await;
    }
    let _ =
        support::http_raw(&gw.addr, "GET", "/api/sessions", &[("Authorization", "Bearer wrong-token")], None)
            .await;
    let q = format!("/api/sessions?token={}", gw.token);
    let _ = support::http_raw(&gw.addr, "GET", &q, &[], None).await;
    let tampered = format!("{}x", read_only);
    assert_eq!(gw.http_as(&tampered, "GET", "/api/sessions", None).await.0, 401);
    let new_token = gw.token_cmd(&["--rotate", "--ttl", "1h"]);
    assert_eq!(gw.http_as(&read_only, "GET", "/api/sessions", None).await.0, 401);
    assert_eq!(gw.http_as(&new_token, "GET", "/api/sessions", None).await.0, 200);
    let new_secret = std::fs::read_to_string(gw.data_dir.join("token-secret")).expect("secret");
    assert_eq!(gw.stop(libc::SIGTERM), Some(0));

    let log = gw.log();
    assert!(log.contains("\"msg\""), "json log lines are written");
    assert!(
        log.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "one JSON object per line"
    );
    let signature = |t: &str| t.rsplit('.').next().expect("signature").to_string();
    let secrets = [
        ("owner token", gw.token.clone()),
        ("old secret", old_secret.trim().to_string()),
        ("new secret", new_secret.trim().to_string()),
        ("read-only token", read_only.clone()),
        ("read-only signature", signature(&read_only)),
        ("session token", session_only.clone()),
        ("new token", new_token.clone()),
    ];
    for (what, secret) in &secrets {
        assert!(!log.contains(secret.as_str()), "the {what} leaked into the log");
    }
    let files = files_under(&gw.data_dir);
    assert!(files.iter().any(|f| f.extension().is_some_and(|e| e == "png")), "an image was stored");
    assert!(files.iter().any(|f| f.ends_with("controlroom.db")));
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let bytes = std::fs::read(&file).expect("read stored file");
        for (what, secret) in &secrets {
            let own_file = (name == "token" && *what == "owner token")
                || (name == "token-secret" && *what == "new secret");
            if own_file {
                continue;
            }
            let hit = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!hit, "the {what} is stored in {}", file.display());
        }
    }
}

#[tokio::test]
async fn bad_flags_and_exposed_token_are_clear_errors() {
    let out = std::process::Command::new(support::bin())
        .args(["serve", "--poll-interval", "soon"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--poll-interval"));

    let dir = temp();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::write(data.join("token"), "secret-value").expect("write");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(data.join("token"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = std::process::Command::new(support::bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("readable by group or others"), "{err}");
    assert!(!err.contains("secret-value"));
    let out = std::process::Command::new(support::bin())
        .args(["token", "--data-dir"])
        .arg(&data)
        .output()
        .expect("run");
    assert!(!out.status.success(), "token refuses an exposed file too");
}
