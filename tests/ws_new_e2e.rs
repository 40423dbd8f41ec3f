//! `/ws/new?session=…` (issue 17: new worker → first output in one exchange): the socket creates
//! the session, opens with `created` then `history`, and is the worker socket from then on; the
//! session is stored before the 101 (a gateway killed right after it restores it); every refusal
//! is an HTTP error before the upgrade and creates nothing.

mod support;

use controlroom_protocol::decode_output;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::{Gateway, HolderGuard, parse_response, wait_for};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

/// Percent-encodes `text` for a query value (everything but RFC 3986's unreserved characters).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn new_path(session: &Value) -> String {
    format!("/ws/new?session={}", encode(&session.to_string()))
}

/// An upgrade request by hand (`Connection: close, Upgrade`, so a refusal ends the exchange),
/// so what comes back is the handler's own answer, not the upgrade checks'.
async fn refused(gw: &Gateway, token: &str, path: &str) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(&gw.addr).await.expect("connect");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close, Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        gw.addr
    );
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(20), stream.read_to_end(&mut raw))
        .await
        .expect("an answer")
        .expect("read");
    parse_response(&raw)
}

async fn session_count(gw: &Gateway) -> usize {
    let (status, list) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(status, 200, "{list}");
    list["sessions"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn the_socket_creates_the_session_says_so_then_is_its_worker_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let gw = Gateway::start_in(&data, &[]);
    let session = json!({
        "title": "one exchange",
        "cwd": "/tmp",
        "workers": [{"command": ["sh", "-c", "echo first-words; read x; echo got-$x; sleep 1000"]}],
    });
    let mut ws = gw.ws(&new_path(&session)).await;
    let created = ws.next_json().await;
    assert_eq!(created["type"], "created", "{created}");
    assert_eq!(created["session"]["title"], "one exchange", "{created}");
    let sid = created["session"]["id"].as_str().expect("session id").to_owned();
    let wid = created["workerId"].as_str().expect("worker id").to_owned();
    assert_eq!(created["session"]["workers"][0]["id"], wid.as_str(), "{created}");
    assert_eq!(created["session"]["workers"][0]["state"], "running", "{created}");

    let history = ws.next_json().await;
    assert_eq!(history["type"], "history", "`history` comes right after `created`: {history}");
    let mut seen = history["data"].as_str().unwrap_or_default().to_owned();
    if !seen.contains("first-words") {
        seen.push_str(&ws.output_until(|o| o.contains("first-words")).await);
    }
    ws.send_json(json!({"type": "input", "data": "typed\r"})).await;
    ws.output_until(|o| o.contains("got-typed")).await;

    // The same session everyone else sees.
    let (status, stored) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["workers"][0]["id"], wid.as_str(), "{stored}");
    assert_eq!(stored["workers"][0]["pid"], created["session"]["workers"][0]["pid"], "{stored}");
    // And its worker socket by id is the same terminal.
    let mut again = gw.ws(&format!("/ws/session/{sid}/worker/{wid}")).await;
    again.output_until(|o| o.contains("got-typed")).await;
}

#[tokio::test]
async fn without_workers_the_session_gets_the_default_one_and_options_apply() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let gw = Gateway::start_in(&data, &[]);
    let path = format!(
        "{}&history=screen&delivery=lossless",
        new_path(&json!({"title": "default worker", "cwd": "/tmp"}))
    );
    let (mut ws, resp) = gw
        .ws_with(&path, Some(&format!("controlroom.v1.binary, bearer.{}", gw.token)), None)
        .await
        .expect("upgrade");
    assert_eq!(
        resp.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()),
        Some("controlroom.v1.binary"),
    );
    let created = ws.next_json().await;
    assert_eq!(created["type"], "created", "{created}");
    let workers = created["session"]["workers"].as_array().expect("workers");
    assert_eq!(workers.len(), 1, "one default worker: {created}");
    assert_eq!(ws.next_json().await["type"], "history");
    // Binary output frames, as the subprotocol promises: the shell echoes what is typed.
    ws.inner.send(Message::Binary(b"echo bin-$((6*7))\r".to_vec().into())).await.expect("send");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut out = Vec::new();
    while !String::from_utf8_lossy(&out).contains("bin-42") {
        let msg = tokio::time::timeout_at(deadline, ws.inner.next()).await.expect("output").expect("open");
        if let Ok(Message::Binary(b)) = msg {
            let (_, bytes) = decode_output(&b).expect("a binary output frame");
            out.extend_from_slice(bytes);
        }
    }
}

/// `kill -9` of the gateway the moment `created` arrived: the next gateway has the session and
/// its worker, the same process, as after a `201`.
#[tokio::test]
async fn a_session_announced_created_survives_a_kill_right_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let mut gw = Gateway::start_in(&data, &[]);
    let session = json!({"title": "kept", "cwd": "/tmp", "workers": [{"command": ["sh", "-c", "echo kept-1; read x; echo got-$x; sleep 1000"]}]});
    let mut ws = gw.ws(&new_path(&session)).await;
    let created = ws.next_json().await;
    gw.stop(libc::SIGKILL);
    let sid = created["session"]["id"].as_str().expect("sid").to_owned();
    let wid = created["workerId"].as_str().expect("wid").to_owned();
    let pid = created["session"]["workers"][0]["pid"].as_u64().expect("pid");

    let gw = Gateway::start_in(&data, &[]);
    let (status, stored) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
    assert_eq!(status, 200, "the announced session was stored: {stored}");
    assert_eq!(stored["workers"][0]["pid"].as_u64(), Some(pid), "the same process, adopted: {stored}");
    let mut ws = gw.ws(&format!("/ws/session/{sid}/worker/{wid}")).await;
    ws.output_until(|o| o.contains("kept-1")).await;
    ws.send_json(json!({"type": "input", "data": "on\r"})).await;
    ws.output_until(|o| o.contains("got-on")).await;
}

#[tokio::test]
async fn every_refusal_is_an_http_error_before_the_upgrade_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let gw = Gateway::start_in(&data, &["--max-sessions", "2"]);
    let owner = gw.token.clone();
    let good = json!({"title": "t", "cwd": "/tmp", "workers": [{"command": ["sleep", "1000"]}]});
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("no session parameter", "/ws/new".into(), 400, "bad-message"),
        ("not JSON", "/ws/new?session=%7Bnope".into(), 400, "bad-message"),
        ("an unknown field", new_path(&json!({"title": "t", "colour": "red"})), 400, "bad-message"),
        ("an unknown parameter", format!("{}&colour=red", new_path(&good)), 400, "bad-message"),
        ("no worker to attach to", new_path(&json!({"title": "t", "workers": []})), 400, "invalid"),
        ("an unknown delivery", format!("{}&delivery=eventually", new_path(&good)), 400, "invalid"),
        ("an unknown history", format!("{}&history=most", new_path(&good)), 400, "invalid"),
        (
            "a program that does not exist",
            new_path(&json!({"title": "t", "workers": [{"command": ["/nonexistent/program"]}]})),
            400,
            "invalid",
        ),
    ];
    for (what, path, status, code) in &cases {
        let (got, body) = refused(&gw, &owner, path).await;
        assert_eq!((got, body["error"]["code"].as_str()), (*status, Some(*code)), "{what}: {body}");
    }
    assert_eq!(session_count(&gw).await, 0, "nothing was created");

    // A page on another site (cross-site WebSocket), and a Host that is not the gateway's (DNS
    // rebinding): refused before the token is even looked at.
    let foreign = [
        ("Origin", "https://evil.example", 403),
        ("Origin", "null", 403),
        ("Host", "evil.example:7420", 421),
    ];
    for (name, value, status) in foreign {
        let got = gw.ws_headers(&new_path(&good), &[(name, value)]).await.err();
        assert_eq!(got, Some(status), "{name}: {value}");
    }
    assert_eq!(session_count(&gw).await, 0, "nothing was created");

    // Tokens: none, read-only, restricted to a session.
    let (status, _) = refused(&gw, "wrong-token", &new_path(&good)).await;
    assert_eq!(status, 401);
    let (sid, _) = gw.session_with("other", Some(&["sleep", "1000"])).await;
    let read_only = gw.token_cmd(&["--ttl", "1h", "--read-only"]);
    let (status, body) = refused(&gw, &read_only, &new_path(&good)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "read-only: {body}");
    let restricted = gw.token_cmd(&["--ttl", "1h", "--session", &sid]);
    let (status, body) = refused(&gw, &restricted, &new_path(&good)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "session token: {body}");
    assert_eq!(session_count(&gw).await, 1, "only the one made over HTTP");

    // At --max-sessions: 409, as POST /api/sessions answers.
    gw.session_with("second", Some(&["sleep", "1000"])).await;
    let (status, body) = refused(&gw, &owner, &new_path(&good)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("limit")), "{body}");
    assert_eq!(session_count(&gw).await, 2);
}

#[tokio::test]
async fn a_refused_connection_creates_no_session() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let gw = Gateway::start_in(&data, &["--max-connections", "1"]);
    let _held = gw.ws("/ws/app").await;
    let good = json!({"title": "t", "cwd": "/tmp", "workers": [{"command": ["sleep", "1000"]}]});
    let token = gw.token.clone();
    let (status, body) = refused(&gw, &token, &new_path(&good)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("limit")), "{body}");
    wait_for("the listing answers", || async { session_count(&gw).await == 0 }).await;
}
