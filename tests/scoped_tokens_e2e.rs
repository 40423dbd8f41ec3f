//! Scoped tokens end to end: `controlroom token --ttl/--read-only/--session/--rotate` against a
//! running gateway — what each token may see and do, and how its connections end.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::json;
use support::{Ended, Gateway, wait_for};

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn worker_path(sid: &str, wid: &str) -> String {
    format!("/ws/session/{sid}/worker/{wid}")
}

#[tokio::test]
async fn read_only_token_watches_but_changes_nothing() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let (sid, wid) = gw.session_with("watched", None).await;
    let ro = gw.token_cmd(&["--ttl", "1h", "--read-only"]);
    assert_eq!(ro.split('.').count(), 3, "a JWT");

    // HTTP: reads work, every mutation is 403 and changes nothing.
    let (status, list) = gw.http_as(&ro, "GET", "/api/sessions", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["sessions"][0]["id"], sid.as_str());
    let (status, _) =
        gw.http_as(&ro, "GET", &format!("/api/sessions/{sid}/workers/{wid}/screen"), None).await;
    assert_eq!(status, 200);
    let mutations = [
        ("POST", "/api/sessions".to_string(), Some(json!({"title": "x", "cwd": "/tmp"}))),
        ("PATCH", format!("/api/sessions/{sid}"), Some(json!({"title": "renamed"}))),
        ("POST", format!("/api/sessions/{sid}/workers"), Some(json!({}))),
        ("POST", format!("/api/sessions/{sid}/workers/{wid}/input"), Some(json!({"data": "echo no\r"}))),
        ("POST", format!("/api/sessions/{sid}/workers/{wid}/restart"), None),
        ("DELETE", format!("/api/sessions/{sid}/workers/{wid}"), None),
        ("DELETE", format!("/api/sessions/{sid}"), None),
    ];
    for (method, path, body) in mutations {
        let (status, err) = gw.http_as(&ro, method, &path, body).await;
        assert_eq!((status, err["error"]["code"].as_str()), (403, Some("forbidden")), "{method} {path}");
    }
    let (_, after) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(after["sessions"].as_array().map(Vec::len), Some(1));
    assert_eq!(after["sessions"][0]["title"], "watched");
    assert_eq!(after["sessions"][0]["workers"][0]["state"], "running");

    // /ws/app: the read-only client gets the state and later deltas.
    let mut app = gw.ws_as(&ro, "/ws/app").await.expect("read-only may watch");
    assert_eq!(app.next_json().await["type"], "sessions-sync");

    // Worker socket: input, resize and image are refused with `forbidden`; the socket stays open.
    let mut watcher = gw.ws_as(&ro, &worker_path(&sid, &wid)).await.expect("attach read-only");
    assert_eq!(watcher.next_json().await["type"], "history");
    watcher.send_json(json!({"type": "input", "data": "echo SHOULD-NOT-RUN\r"})).await;
    assert_eq!(watcher.until(|v| v["type"] == "error").await["code"], "forbidden");
    watcher.send_json(json!({"type": "resize", "cols": 120, "rows": 40})).await;
    assert_eq!(watcher.until(|v| v["type"] == "error").await["code"], "forbidden");
    let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\nrest");
    watcher.send_json(json!({"type": "image", "data": png, "mimeType": "image/png"})).await;
    assert_eq!(watcher.until(|v| v["type"] == "error").await["code"], "forbidden");

    // The owner types; the watcher sees it, the refused input never reached the shell, and the
    // PTY kept its size.
    let mut owner = gw.ws(&worker_path(&sid, &wid)).await;
    owner.next_json().await;
    owner.send_json(json!({"type": "input", "data": "stty size; echo owner-$((6*7))\r"})).await;
    let seen = watcher.output_until(|o| o.contains("owner-42")).await;
    assert!(seen.contains("24 80"), "a read-only client never resizes the PTY: {seen:?}");
    let (_, screen) = gw.http("GET", &format!("/api/sessions/{sid}/workers/{wid}/screen"), None).await;
    assert!(!screen["lines"].to_string().contains("SHOULD-NOT-RUN"), "{screen}");
    assert!(!std::fs::exists(gw.data_dir.join("images")).unwrap_or(false), "no image was saved");
    let (_, s) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
    assert_eq!((s["workers"][0]["cols"].as_u64(), s["workers"][0]["rows"].as_u64()), (Some(80), Some(24)));
    gw.http("PATCH", &format!("/api/sessions/{sid}"), Some(json!({"title": "by-owner"}))).await;
    let upd = app.until(|v| v["type"] == "session-updated").await;
    assert_eq!(upd["session"]["title"], "by-owner");
}

#[tokio::test]
async fn session_restricted_token_sees_and_attaches_to_its_session_only() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let (mine, my_worker) = gw.session_with("mine", Some(&["sleep", "1000"])).await;
    let (other, other_worker) = gw.session_with("other", Some(&["sleep", "1000"])).await;
    let (_, start) = gw.http("GET", "/api/sessions", None).await;
    let start_seq = start["seq"].as_u64().expect("seq");
    let t = gw.token_cmd(&["--ttl", "1h", "--session", &mine]);

    let (status, list) = gw.http_as(&t, "GET", "/api/sessions", None).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> =
        list["sessions"].as_array().expect("list").iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, vec![mine.as_str()]);
    assert!(list["activityStates"].to_string().find(&other).is_none());
    let (status, _) = gw.http_as(&t, "GET", &format!("/api/sessions/{other}"), None).await;
    assert_eq!(status, 403);
    let (status, _) =
        gw.http_as(&t, "GET", &format!("/api/sessions/{other}/workers/{other_worker}/screen"), None).await;
    assert_eq!(status, 403);
    let (status, _) =
        gw.http_as(&t, "POST", "/api/sessions", Some(json!({"title": "new", "cwd": "/tmp"}))).await;
    assert_eq!(status, 403, "cannot create sessions outside its scope");
    assert_eq!(gw.ws_as(&t, &worker_path(&other, &other_worker)).await.err(), Some(403));
    let mut w = gw.ws_as(&t, &worker_path(&mine, &my_worker)).await.expect("own worker");
    assert_eq!(w.next_json().await["type"], "history");

    let mut app = gw.ws_as(&t, "/ws/app").await.expect("app socket");
    let sync = app.next_json().await;
    assert_eq!(sync["sessions"].as_array().map(Vec::len), Some(1));
    assert_eq!(sync["sessions"][0]["id"], mine.as_str());
    // A change to the other session is not seen; the next one to its own session is.
    gw.http("PATCH", &format!("/api/sessions/{other}"), Some(json!({"title": "other-2"}))).await;
    gw.http("PATCH", &format!("/api/sessions/{mine}"), Some(json!({"title": "mine-2"}))).await;
    let next = app.until(|v| v["type"] != "worker-activity").await;
    assert_eq!(
        (next["type"].as_str(), next["sessionId"].as_str()),
        (Some("session-updated"), Some(mine.as_str()))
    );
    let (status, added) = gw
        .http_as(
            &t,
            "POST",
            &format!("/api/sessions/{mine}/workers"),
            Some(json!({"command": ["sleep", "1000"]})),
        )
        .await;
    assert_eq!(status, 201, "a write token may change its own session: {added}");

    // Replay and /api/deltas are filtered the same way.
    app.send_json(json!({"type": "request-sync", "since": start_seq})).await;
    let replay = app.until(|v| v["type"] == "replay").await;
    let deltas = replay["deltas"].as_array().expect("deltas");
    assert!(!deltas.is_empty());
    assert!(deltas.iter().all(|d| d["sessionId"] == mine.as_str()), "{replay}");
    // Subscribing to the other session does not widen what the token sees.
    app.send_json(json!({"type": "subscribe", "sessionIds": [other.as_str()]})).await;
    let narrowed = app.until(|v| v["type"] == "sessions-sync").await;
    assert_eq!(narrowed["sessions"], json!([]), "{narrowed}");
    let (status, _) = gw.http_as(&t, "GET", "/metrics", None).await;
    assert_eq!(status, 403);
    let (status, body) = gw.http_as(&t, "GET", "/api/deltas?since=0", None).await;
    assert_eq!(status, 200);
    let all = body["deltas"].as_array().expect("deltas");
    assert!(all.iter().any(|d| d["type"] == "session-created"));
    assert!(all.iter().all(|d| d["sessionId"] == mine.as_str()), "{body}");
}

fn forge(header: &str, payload: &str, sig: &str) -> String {
    format!("{}.{}.{sig}", B64.encode(header), B64.encode(payload))
}

#[tokio::test]
async fn expired_forged_and_foreign_tokens_are_refused_at_the_handshake() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let exp =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() + 3600;
    let payload = format!(r#"{{"exp":{exp},"iat":1,"scope":"write"}}"#);
    let good = gw.token_cmd(&["--ttl", "1h"]);
    let sig = good.rsplit('.').next().expect("sig");
    let foreign_dir = temp();
    let out = std::process::Command::new(support::bin())
        .args(["token", "--ttl", "1h", "--data-dir"])
        .arg(foreign_dir.path())
        .output()
        .expect("mint elsewhere");
    let foreign = String::from_utf8(out.stdout).expect("utf-8").trim().to_string();
    let cases = [
        ("alg none", forge(r#"{"alg":"none","typ":"JWT"}"#, &payload, "")),
        ("alg HS512", forge(r#"{"alg":"HS512","typ":"JWT"}"#, &payload, sig)),
        ("tampered claims", forge(r#"{"alg":"HS256","typ":"JWT"}"#, &payload, sig)),
        ("another gateway's secret", foreign),
        ("garbage", "a.b.c".to_string()),
    ];
    for (what, token) in &cases {
        let (status, body) = gw.http_as(token, "GET", "/api/sessions", None).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert!(!body.to_string().contains(token.as_str()), "the refusal never echoes the token");
        assert_eq!(gw.ws_as(token, "/ws/app").await.err(), Some(401), "{what}");
    }
    let (status, _) = gw.http_as(&good, "GET", "/api/sessions", None).await;
    assert_eq!(status, 200);

    let short = gw.token_cmd(&["--ttl", "1s"]);
    wait_for("the 1 s token to be refused as expired", || async {
        let (status, body) = gw.http_as(&short, "GET", "/api/sessions", None).await;
        status == 401 && body["error"]["message"] == "token expired"
    })
    .await;
    assert_eq!(gw.ws_as(&short, "/ws/app").await.err(), Some(401));
}

#[tokio::test]
async fn open_connections_close_with_4001_when_the_token_expires() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let (sid, wid) = gw.session_with("expiring", Some(&["sleep", "1000"])).await;
    let t = gw.token_cmd(&["--ttl", "2s"]);
    let mut app = gw.ws_as(&t, "/ws/app").await.expect("app");
    let mut worker = gw.ws_as(&t, &worker_path(&sid, &wid)).await.expect("worker");
    let mut owner = gw.ws("/ws/app").await;
    assert_eq!(app.ended().await, Ended::Close(4001));
    assert_eq!(worker.ended().await, Ended::Close(4001));
    owner.next_json().await;
    owner.send_json(json!({"type": "request-sync"})).await;
    assert_eq!(
        owner.until(|v| v["type"] == "sessions-sync").await["type"],
        "sessions-sync",
        "the owner stays"
    );
    wait_for("a token_expired log line", || async { gw.log().contains("token_expired") }).await;
}

#[tokio::test]
async fn rotating_the_secret_revokes_minted_tokens_and_their_connections_at_once() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let old = gw.token_cmd(&["--ttl", "1h", "--read-only"]);
    let mut app = gw.ws_as(&old, "/ws/app").await.expect("app");
    app.next_json().await;
    let new = gw.token_cmd(&["--rotate", "--ttl", "1h"]);
    let (status, body) = gw.http_as(&old, "GET", "/api/sessions", None).await;
    assert_eq!(status, 401, "refused on the very next request: {body}");
    assert_eq!(app.ended().await, Ended::Close(4001));
    let (status, _) = gw.http_as(&new, "GET", "/api/sessions", None).await;
    assert_eq!(status, 200, "tokens minted after the rotation work");
    let (status, _) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(status, 200, "the owner token is unaffected");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(gw.data_dir.join("token-secret")).expect("secret").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn token_command_flags_are_checked() {
    let dir = temp();
    let out = std::process::Command::new(support::bin())
        .args(["token", "--read-only", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!out.status.success(), "--read-only needs --ttl");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ttl"));
    let out = std::process::Command::new(support::bin())
        .args(["token", "--ttl", "forever", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("duration"));
}
