//! Every limit at the limit and one past it: message and body sizes, connections (WebSocket and
//! HTTP), sessions, workers, the header-read and body timeouts, the failed-authentication limit, and no
//! permessage-deflate; the largest terminal size; and the screen threads' niceness.

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::{Ended, Gateway, http_text, parse_response, wait_for};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// `json` padded with spaces to exactly `len` bytes.
fn padded(json: &str, len: usize) -> String {
    assert!(json.len() <= len);
    format!("{json}{}", " ".repeat(len - json.len()))
}

#[tokio::test]
async fn app_and_worker_message_sizes_at_and_past_the_limit() {
    let dir = temp();
    let gw = Gateway::start_in(
        &dir.path().join("data"),
        &["--max-app-message", "1KiB", "--max-worker-message", "2KiB"],
    );
    let mut app = gw.ws("/ws/app").await;
    app.next_json().await;
    app.send_text(&padded(r#"{"type":"request-sync"}"#, 1024)).await;
    assert_eq!(app.next_json().await["type"], "sessions-sync", "exactly 1 KiB is accepted");
    app.send_text(&padded(r#"{"type":"request-sync"}"#, 1025)).await;
    assert_eq!(app.ended().await, Ended::Close(1009));

    let (sid, wid) = gw.session_with("sizes", Some(&["sleep", "1000"])).await;
    let path = format!("/ws/session/{sid}/worker/{wid}");
    let mut w = gw.ws(&path).await;
    w.next_json().await;
    w.send_text(&padded(r#"{"type":"resize","cols":90,"rows":20}"#, 2048)).await;
    w.send_json(json!({"type": "bogus"})).await;
    let err = w.until(|v| v["type"] == "error").await;
    assert_eq!(err["code"], "bad-message", "the 2 KiB message was accepted, only the bogus one refused");
    wait_for("the at-limit resize to apply", || async {
        let (_, s) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
        s["workers"][0]["cols"] == 90
    })
    .await;
    w.send_text(&padded(r#"{"type":"resize","cols":91,"rows":20}"#, 2049)).await;
    assert_eq!(w.ended().await, Ended::Close(1009));
    wait_for("a message_too_big log line", || async { gw.log().contains("message_too_big") }).await;
}

#[tokio::test]
async fn terminal_sizes_at_and_past_max_terminal_size() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &["--max-terminal-size", "200"]);
    let worker = |cols: u16| json!({"command": ["sleep", "1000"], "cols": cols, "rows": 40});
    let create = |cols| json!({"title": "size", "cwd": "/tmp", "workers": [worker(cols)]});
    let (status, e) = gw.http("POST", "/api/sessions", Some(create(201))).await;
    assert_eq!(status, 400, "{e}");
    let msg = e["error"]["message"].as_str().expect("message");
    assert!(msg.contains("1..=200") && msg.contains("201x40"), "{msg}");
    let (status, s) = gw.http("POST", "/api/sessions", Some(create(200))).await;
    assert_eq!(status, 201, "exactly the largest is accepted: {s}");
    let (sid, wid) = (s["id"].as_str().expect("id"), s["workers"][0]["id"].as_str().expect("id"));
    let mut w = gw.ws(&format!("/ws/session/{sid}/worker/{wid}")).await;
    w.next_json().await;
    w.send_json(json!({"type": "resize", "cols": 150, "rows": 201})).await;
    let err = w.until(|v| v["type"] == "error").await;
    assert_eq!(err["code"], "bad-message", "{err}");
    assert!(err["message"].as_str().expect("message").contains("1..=200"), "{err}");
    // A terminal larger than the limit resizes often: more refusals than --max-bad-messages
    // (20) allows malformed messages, and the connection stays open.
    for _ in 0..25 {
        w.send_json(json!({"type": "resize", "cols": 150, "rows": 201})).await;
    }
    w.send_json(json!({"type": "resize", "cols": 150, "rows": 200})).await;
    wait_for("the at-limit resize to apply", || async {
        let (_, s) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
        s["workers"][0]["rows"] == 200
    })
    .await;
    // Raised past the protocol's default: a size the default refuses is taken.
    let wide = Gateway::start_in(&dir.path().join("wide"), &["--max-terminal-size", "2000"]);
    let (status, s) = wide.http("POST", "/api/sessions", Some(create(1500))).await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["workers"][0]["cols"], 1500);
}

#[tokio::test]
async fn http_body_at_and_past_the_limit() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &["--max-http-body", "1KiB"]);
    let auth = format!("Bearer {}", gw.token);
    let headers = [("Authorization", auth.as_str())];
    let at = padded(r#"{"title":"fits","cwd":"/tmp"}"#, 1024);
    let (status, body) = support::http_raw(&gw.addr, "POST", "/api/sessions", &headers, Some(at)).await;
    assert_eq!(status, 201, "{body}");
    let over = padded(r#"{"title":"too big","cwd":"/tmp"}"#, 1025);
    let (status, _) = support::http_raw(&gw.addr, "POST", "/api/sessions", &headers, Some(over)).await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn connections_at_and_past_the_limit_get_503_before_upgrade() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &["--max-connections", "2"]);
    let (sid, wid) = gw.session_with("c", Some(&["sleep", "1000"])).await;
    let path = format!("/ws/session/{sid}/worker/{wid}");
    let mut a = gw.ws("/ws/app").await;
    a.next_json().await;
    let mut b = gw.ws(&path).await;
    b.next_json().await;
    let offer = format!("controlroom.v1, bearer.{}", gw.token);
    assert_eq!(gw.ws_with("/ws/app", Some(&offer), None).await.err(), Some(503));
    assert_eq!(gw.ws_with(&path, Some(&offer), None).await.err(), Some(503));
    let (status, _) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(status, 200, "plain HTTP still works");
    a.inner.close(None).await.expect("close");
    assert!(matches!(a.ended().await, Ended::Close(_) | Ended::Dropped));
    wait_for("a slot to free up", || async { gw.ws_with("/ws/app", Some(&offer), None).await.is_ok() }).await;
}

#[tokio::test]
async fn sessions_and_workers_at_and_past_the_limit() {
    let dir = temp();
    // The session limit comes from the environment, to check the variable too.
    let gw = Gateway::start_with(
        &dir.path().join("data"),
        "127.0.0.1:0",
        &["--max-workers", "3"],
        &[("CONTROLROOM_MAX_SESSIONS", "2")],
    );
    let sleep = json!({"command": ["sleep", "1000"]});
    let (status, s1) = gw
        .http(
            "POST",
            "/api/sessions",
            Some(json!({"title": "one", "cwd": "/tmp", "workers": [sleep, sleep]})),
        )
        .await;
    assert_eq!(status, 201);
    let sid1 = s1["id"].as_str().expect("id").to_string();
    let (status, _) = gw.http("POST", "/api/sessions", Some(json!({"title": "two", "cwd": "/tmp"}))).await;
    assert_eq!(status, 201, "the second session is at the limit");
    let (status, body) =
        gw.http("POST", "/api/sessions", Some(json!({"title": "three", "cwd": "/tmp"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("limit")), "{body}");
    assert!(body["error"]["message"].as_str().expect("message").contains("--max-sessions"));

    let (status, _) = gw.http("POST", &format!("/api/sessions/{sid1}/workers"), Some(sleep.clone())).await;
    assert_eq!(status, 201, "the third worker is at the limit");
    let (status, body) = gw.http("POST", &format!("/api/sessions/{sid1}/workers"), Some(sleep.clone())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("limit")), "{body}");
    let (_, list) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(list["sessions"].as_array().map(Vec::len), Some(2));
    assert_eq!(list["sessions"][0]["workers"].as_array().map(Vec::len), Some(3));
    let (status, _) = gw.http("DELETE", &format!("/api/sessions/{sid1}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = gw.http("POST", "/api/sessions", Some(json!({"title": "again", "cwd": "/tmp"}))).await;
    assert_eq!(status, 201, "room again after a delete");
}

#[tokio::test]
async fn header_read_timeout_drops_slow_and_idle_clients() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &["--header-timeout", "1s"]);
    // Within the limit: headers in two parts, completed quickly.
    let mut ok = tokio::net::TcpStream::connect(&gw.addr).await.expect("connect");
    ok.write_all(b"GET /healthz HTTP/1.1\r\n").await.expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    ok.write_all(format!("Host: {}\r\nConnection: close\r\n\r\n", gw.addr).as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    ok.read_to_end(&mut raw).await.expect("read");
    assert_eq!(parse_response(&raw).0, 200);

    // Past the limit: headers that never finish, and a connection that sends nothing.
    let start = Instant::now();
    let mut slow = tokio::net::TcpStream::connect(&gw.addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: 1\r\n").await.expect("write");
    let mut idle = tokio::net::TcpStream::connect(&gw.addr).await.expect("connect");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(support::DEADLINE, slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the slow client was dropped");
    assert!(start.elapsed() >= Duration::from_millis(900), "not before the timeout");
    let mut buf2 = Vec::new();
    assert!(
        tokio::time::timeout(support::DEADLINE, idle.read_to_end(&mut buf2)).await.is_ok(),
        "idle dropped"
    );
    wait_for("a header_timeout log line", || async { gw.log().contains("header_timeout") }).await;
    let (status, _) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(status, 200, "others are served");
}

#[tokio::test]
async fn a_request_body_not_sent_in_time_gets_408_and_the_connection_is_closed() {
    let dir = temp();
    let gw =
        Gateway::start_in(&dir.path().join("data"), &["--body-timeout", "1s", "--header-timeout", "60s"]);
    let json = r#"{"title":"slow-body","cwd":"/tmp"}"#;
    let head = format!(
        "POST /api/sessions HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        gw.addr,
        gw.token,
        json.len()
    );
    // Within the limit: the body in two parts, completed quickly.
    let mut ok = tokio::net::TcpStream::connect(&gw.addr).await.expect("connect");
    ok.write_all(head.replace("HTTP/1.1\r\n", "HTTP/1.1\r\nConnection: close\r\n").as_bytes())
        .await
        .expect("write");
    ok.write_all(&json.as_bytes()[..5]).await.expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    ok.write_all(&json.as_bytes()[5..]).await.expect("write");
    let mut raw = Vec::new();
    ok.read_to_end(&mut raw).await.expect("read");
    assert_eq!(parse_response(&raw).0, 201, "{}", String::from_utf8_lossy(&raw));

    // Past the limit: headers in time, then a body that keeps trickling but never completes.
    let start = Instant::now();
    let mut slow = tokio::net::TcpStream::connect(&gw.addr).await.expect("connect");
    slow.write_all(head.replace("slow-body", "never").as_bytes()).await.expect("write");
    let (mut rd, mut wr) = slow.into_split();
    let trickle = async move {
        for byte in &json.as_bytes()[..json.len() - 1] {
            if wr.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Never ends by itself: only the gateway's answer ends the select below.
        std::future::pending::<()>().await;
    };
    let answer = async {
        let mut raw = Vec::new();
        rd.read_to_end(&mut raw).await.expect("read");
        raw
    };
    let raw = tokio::select! {
        raw = tokio::time::timeout(support::DEADLINE, answer) => raw.expect("answered and closed"),
        () = trickle => unreachable!("the trickle never ends"),
    };
    assert!(start.elapsed() >= Duration::from_millis(900), "not before the timeout");
    let (status, body) = parse_response(&raw);
    assert_eq!(status, 408, "{}", String::from_utf8_lossy(&raw));
    assert_eq!(body["error"]["code"], "limit");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("--body-timeout")), "{body}");

    let (status, list) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(status, 200, "others are served");
    let titles: Vec<&str> =
        list["sessions"].as_array().expect("sessions").iter().filter_map(|s| s["title"].as_str()).collect();
    assert_eq!(titles, vec!["slow-body"], "the late body created nothing");
}

/// A keep-alive connection whose `/healthz` request was answered 200 (not refused), left open: it
/// holds an HTTP slot. A connection refused because a slot was still being freed is retried.
async fn held_connection(addr: &str) -> tokio::net::TcpStream {
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let deadline = Instant::now() + support::DEADLINE;
    loop {
        assert!(Instant::now() < deadline, "no connection was served");
        let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
        conn.write_all(request.as_bytes()).await.expect("write");
        // Until the whole response is in: headers, then `content-length` bytes.
        let mut raw = Vec::new();
        let mut buf = [0u8; 1024];
        let complete = |raw: &[u8]| {
            let text = String::from_utf8_lossy(raw);
            let Some((head, body)) = text.split_once("\r\n\r\n") else { return false };
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            body.len() >= len
        };
        while !complete(&raw) {
            let n = tokio::time::timeout(support::DEADLINE, conn.read(&mut buf))
                .await
                .expect("read")
                .expect("read");
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
        }
        if parse_response(&raw).0 == 200 {
            return conn;
        }
    }
}

#[tokio::test]
async fn http_connections_at_and_past_the_limit_get_503_and_upgraded_sockets_leave_the_count() {
    let dir = temp();
    let gw = Gateway::start_in(
        &dir.path().join("data"),
        &["--max-http-connections", "2", "--header-timeout", "60s"],
    );
    let health = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", gw.addr);
    // Upgraded WebSockets are counted by --max-connections, not here: with two of them open, both
    // HTTP slots can still be taken.
    let mut a = gw.ws("/ws/app").await;
    a.next_json().await;
    let mut b = gw.ws("/ws/app").await;
    b.next_json().await;

    // Two keep-alive connections, each answered once (so known to hold a slot), hold both slots
    // (the header timeout that would end them is a minute away): every new connection is refused.
    let idle1 = held_connection(&gw.addr).await;
    let idle2 = held_connection(&gw.addr).await;
    for _ in 0..3 {
        let (status, body) = http_text(&gw.addr, &health).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"]["code"], "limit");
        assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("--max-http-connections")));
    }

    // Slots free when connections end; the WebSockets were never disturbed.
    drop((idle1, idle2));
    wait_for("a slot to free up", || async { http_text(&gw.addr, &health).await.0 == 200 }).await;
    gw.session_with("after-the-limit", Some(&["sleep", "1000"])).await;
    for ws in [&mut a, &mut b] {
        ws.until(|m| m.to_string().contains("after-the-limit")).await;
    }
}

/// GET /api/sessions with `token` from a chosen loopback source address.
async fn get_from(gw: &Gateway, source: [u8; 4], token: &str) -> (u16, String) {
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.bind((std::net::Ipv4Addr::from(source), 0).into()).expect("bind source");
    let mut stream = sock.connect(gw.addr.parse().expect("addr")).await.expect("connect");
    let req = format!(
        "GET /api/sessions HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        gw.addr
    );
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).to_string();
    (parse_response(&raw).0, text)
}

#[tokio::test]
async fn failed_authentications_at_and_past_the_limit_get_429_per_address() {
    let dir = temp();
    let gw = Gateway::start_in(
        &dir.path().join("data"),
        &["--max-auth-failures", "3", "--auth-failure-window", "2s"],
    );
    let me = [127, 0, 0, 1];
    for _ in 0..3 {
        assert_eq!(get_from(&gw, me, "wrong").await.0, 401);
    }
    let (status, text) = get_from(&gw, me, &gw.token).await;
    assert_eq!(status, 429, "blocked, even with the right token: {text}");
    assert!(text.to_ascii_lowercase().contains("retry-after"), "{text}");
    assert_eq!(get_from(&gw, me, "wrong").await.0, 429);
    // All of loopback is one source: another loopback address is blocked too (issue 15, item 7).
    assert_eq!(get_from(&gw, [127, 0, 0, 2], &gw.token).await.0, 429, "loopback counts as one source");
    let (status, _) =
        http_text(&gw.addr, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await;
    assert_eq!(status, 200, "open routes stay open");
    wait_for("the window to end", || async { get_from(&gw, me, &gw.token).await.0 == 200 }).await;
    wait_for("an auth_rate_limit log line", || async { gw.log().contains("auth_rate_limit") }).await;
}

#[tokio::test]
async fn permessage_deflate_is_never_negotiated() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let mut stream = tokio::net::TcpStream::connect(&gw.addr).await.expect("connect");
    let req = format!(
        "GET /ws/app HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: controlroom.v1\r\nAuthorization: Bearer {}\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
        gw.addr, gw.token
    );
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.expect("read");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(!head.contains("sec-websocket-extensions"), "no extension accepted: {head}");
}

/// The niceness of every thread of `pid`.
fn thread_nices(pid: u32) -> Vec<i64> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks").flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // Fields after the parenthesised name: state is field 3, nice is field 19.
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
        if let Some(nice) = after.split_whitespace().nth(16).and_then(|n| n.parse().ok()) {
            out.push(nice);
        }
    }
    out
}

#[tokio::test]
async fn screen_jobs_run_at_the_configured_niceness() {
    for (flags, want) in
        [(&[][..], 0), (&["--screen-nice", "10"][..], 10), (&["--screen-nice", "19"][..], 19)]
    {
        let dir = temp();
        let gw = Gateway::start_in(&dir.path().join("data"), flags);
        // Output keeps coming, so the screen model keeps getting jobs on the blocking pool.
        gw.session_with("nice", Some(&["sh", "-c", "while :; do echo screen; sleep 0.01; done"])).await;
        let pid = gw.child.id();
        // A job lowers its thread's niceness as it starts: wait for one; no thread is at any
        // other niceness. On a timeout, say what was read, not only that.
        let deadline = Instant::now() + support::DEADLINE;
        let mut seen = thread_nices(pid);
        while !seen.contains(&want) {
            assert!(Instant::now() < deadline, "flags {flags:?}: threads' niceness {seen:?}, want {want}");
            tokio::time::sleep(Duration::from_millis(25)).await;
            seen = thread_nices(pid);
        }
        assert!(seen.iter().all(|n| *n == 0 || *n == want), "flags {flags:?}: {seen:?}");
    }
    let dir = temp();
    let out = std::process::Command::new(support::bin())
        .args(["serve", "--screen-nice", "20", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--screen-nice"), "names the flag");
}
