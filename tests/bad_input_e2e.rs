//! Bad input on every surface: each gets a clear error or close code, nothing panics, and the
//! clients beside the offender keep working. (Malformed JSON, unknown types, `[]`, resize 0 and bad
//! base64 on the basic paths are in gateway_e2e; oversize messages in limits_e2e.)

mod support;

use base64::Engine as _;
use futures_util::SinkExt as _;
use serde_json::json;
use support::{Gateway, Ws};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

fn worker_path(sid: &str, wid: &str) -> String {
    format!("/ws/session/{sid}/worker/{wid}")
}

/// Sends `text` and expects an `error` with `code`; the socket stays usable.
async fn refused(ws: &mut Ws, text: &str, code: &str) -> String {
    ws.send_text(text).await;
    let err = ws.until(|v| v["type"] == "error").await;
    assert_eq!(err["code"], code, "{text:.80}: {err}");
    err["message"].as_str().expect("message").to_string()
}

/// A WebSocket opened by hand, for frames no client library will send.
async fn raw_ws(gw: &Gateway, path: &str) -> tokio::net::TcpStream {
    let mut s = tokio::net::TcpStream::connect(&gw.addr).await.expect("connect");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Authorization: Bearer {}\r\n\r\n",
        gw.addr, gw.token
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).await.expect("read");
        head.push(b[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    s
}

/// Reads server frames until a close frame; returns its code.
async fn close_code(s: &mut tokio::net::TcpStream) -> u16 {
    tokio::time::timeout(support::DEADLINE, read_close(s)).await.expect("a close frame in time")
}

async fn read_close(s: &mut tokio::net::TcpStream) -> u16 {
    loop {
        let mut h = [0u8; 2];
        s.read_exact(&mut h).await.expect("frame header");
        let mut len = u64::from(h[1] & 0x7f);
        if len == 126 {
            let mut l = [0u8; 2];
            s.read_exact(&mut l).await.expect("len");
            len = u64::from(u16::from_be_bytes(l));
        } else if len == 127 {
            let mut l = [0u8; 8];
            s.read_exact(&mut l).await.expect("len");
            len = u64::from_be_bytes(l);
        }
        let mut body = vec![0u8; usize::try_from(len).expect("len")];
        s.read_exact(&mut body).await.expect("body");
        if h[0] & 0x0f == 0x8 {
            return u16::from_be_bytes([body[0], body[1]]);
        }
    }
}

fn masked_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [1u8, 2, 3, 4];
    let mut f = vec![0x80 | opcode, 0x80 | u8::try_from(payload.len()).expect("short")];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

#[tokio::test]
async fn bad_messages_on_both_sockets_get_clear_errors_and_bystanders_are_unaffected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &["--max-bad-messages", "100"]);
    let (sid, wid) = gw.session_with("target", None).await;
    let path = worker_path(&sid, &wid);
    let mut bystander_app = gw.ws("/ws/app").await;
    bystander_app.next_json().await;
    let mut bystander_term = gw.ws(&path).await;
    bystander_term.next_json().await;

    let mut app = gw.ws("/ws/app").await;
    app.next_json().await;
    refused(&mut app, r#"{"type":"request-sync","since":"#, "bad-message").await;
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    refused(&mut app, &deep, "bad-message").await;
    // Nesting the parser has to buffer (the tag comes last) hits its recursion limit, not the stack.
    let buried = format!("{{\"pad\":{}{},\"type\":\"request-sync\"}}", "[".repeat(5000), "]".repeat(5000));
    let msg = refused(&mut app, &buried, "bad-message").await;
    assert!(msg.contains("recursion limit"), "{msg}");
    refused(&mut app, r#"{"type":"request-sync","since":-1}"#, "bad-message").await;
    refused(&mut app, r#"{"type":"request-sync","since":99999999999999999999999}"#, "bad-message").await;
    refused(&mut app, r#"{"type":"request-sync","extra":1}"#, "bad-message").await;
    refused(&mut app, "", "bad-message").await;
    app.inner.send(Message::Binary(vec![0, 159, 146, 150].into())).await.expect("send");
    assert_eq!(app.until(|v| v["type"] == "error").await["code"], "bad-message");

    let mut term = gw.ws(&path).await;
    term.next_json().await;
    refused(&mut term, r#"{"type":"input","data":"ab"#, "bad-message").await;
    refused(&mut term, &deep, "bad-message").await;
    refused(&mut term, &buried, "bad-message").await;
    refused(&mut term, r#"{"type":"exec","command":"rm -rf /"}"#, "bad-message").await;
    refused(&mut term, r#"{"type":"input","data":"x","sudo":true}"#, "bad-message").await;
    refused(&mut term, r#"{"type":"input","data":42}"#, "bad-message").await;
    for resize in [
        r#"{"type":"resize","cols":0,"rows":24}"#,
        r#"{"type":"resize","cols":80,"rows":1001}"#,
        r#"{"type":"resize","cols":-1,"rows":24}"#,
        r#"{"type":"resize","cols":65536,"rows":24}"#,
        r#"{"type":"resize","cols":"80","rows":24}"#,
        r#"{"type":"resize","cols":80}"#,
    ] {
        refused(&mut term, resize, "bad-message").await;
    }
    term.inner.send(Message::Binary(b"echo binary\r".to_vec().into())).await.expect("send");
    assert_eq!(term.until(|v| v["type"] == "error").await["code"], "bad-message");

    // Images: unsupported type, not base64, base64 of the wrong bytes, and too big.
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let image = |data: &str, mime: &str| json!({"type": "image", "data": data, "mimeType": mime}).to_string();
    let svg = refused(&mut term, &image(&b64(b"<svg/>"), "image/svg+xml"), "invalid").await;
    assert!(svg.contains("unsupported image type"), "{svg}");
    let bad = refused(&mut term, &image("not*base64!", "image/png"), "invalid").await;
    assert!(bad.contains("not base64"), "{bad}");
    let wrong = refused(&mut term, &image(&b64(b"GIF89a-but-called-png"), "image/png"), "invalid").await;
    assert!(wrong.contains("is not a image/png"), "{wrong}");
    let mut huge = b"\x89PNG\r\n\x1a\n".to_vec();
    huge.resize(10 * 1024 * 1024 + 1, 0);
    let big = refused(&mut term, &image(&b64(&huge), "image/png"), "limit").await;
    assert!(big.contains("10 MiB"), "{big}");
    assert!(!std::fs::exists(gw.data_dir.join("images")).unwrap_or(false), "nothing was saved");

    // Nothing above reached the shell, changed its size, or disturbed anyone else.
    let (_, s) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
    assert_eq!((s["workers"][0]["cols"].as_u64(), s["workers"][0]["rows"].as_u64()), (Some(80), Some(24)));
    bystander_term.send_json(json!({"type": "input", "data": "echo fine-$((3*3))\r"})).await;
    let out = bystander_term.output_until(|o| o.contains("fine-9")).await;
    assert!(!out.contains("binary") && !out.contains("rm -rf"), "{out:?}");
    bystander_app.send_json(json!({"type": "request-sync"})).await;
    assert_eq!(bystander_app.until(|v| v["type"] == "sessions-sync").await["type"], "sessions-sync");
    app.send_json(json!({"type": "request-sync"})).await;
    assert_eq!(app.until(|v| v["type"] == "sessions-sync").await["type"], "sessions-sync", "still open");
    assert!(!gw.log().contains("panicked"));
}

#[tokio::test]
async fn broken_frames_close_with_1007_and_1002() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let mut s = raw_ws(&gw, "/ws/app").await;
    s.write_all(&masked_frame(0x1, &[b'{', 0xff, 0xfe, b'}'])).await.expect("write");
    assert_eq!(close_code(&mut s).await, 1007, "invalid UTF-8 in a text frame");
    let mut s = raw_ws(&gw, "/ws/app").await;
    s.write_all(&[0x81, 0x02, b'h', b'i']).await.expect("write");
    assert_eq!(close_code(&mut s).await, 1002, "an unmasked client frame");
    let mut s = raw_ws(&gw, "/ws/app").await;
    s.write_all(&masked_frame(0x3, b"x")).await.expect("write");
    assert_eq!(close_code(&mut s).await, 1002, "a reserved opcode");
    let mut ok = gw.ws("/ws/app").await;
    assert_eq!(ok.next_json().await["type"], "sessions-sync");
    assert!(!gw.log().contains("panicked"));
}

#[tokio::test]
async fn bad_urls_bodies_and_exited_workers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let (sid, wid) = gw.session_with("short", Some(&["true"])).await;
    let offer = format!("controlroom.v1, bearer.{}", gw.token);
    for path in [
        "/ws/session/..%2F..%2Fetc/worker/passwd".to_string(),
        "/ws/session/../../etc/worker/passwd".into(),
        format!("/ws/session/{sid}/worker/..%2F{wid}"),
        format!("/ws/session/{}/worker/{}", "s".repeat(4000), "w".repeat(4000)),
    ] {
        let status = gw.ws_with(&path, Some(&offer), None).await.err();
        assert!(matches!(status, Some(400..=499)), "{path:.60}: {status:?}");
    }
    for path in [
        "/api/sessions/%2e%2e%2f%2e%2e%2fetc%2fpasswd".to_string(),
        format!("/api/sessions/{sid}/workers/%00/screen"),
        format!("/api/sessions/{}", "x".repeat(60_000)),
        "/api/deltas?since=-1".into(),
        "/api/deltas?since=abc".into(),
        "/api/deltas?since=99999999999999999999999".into(),
        "/api/deltas".into(),
    ] {
        let (status, _) = gw.http("GET", &path, None).await;
        assert!((400..=499).contains(&status), "{path:.60}: {status}");
    }
    let auth = format!("Bearer {}", gw.token);
    let headers = [("Authorization", auth.as_str())];
    let deep = format!("{{\"title\":{}1{}}}", "[".repeat(3000), "]".repeat(3000));
    let (status, body) = support::http_raw(&gw.addr, "POST", "/api/sessions", &headers, Some(deep)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad-message")));
    let (status, _) =
        support::http_raw(&gw.addr, "POST", "/api/sessions", &headers, Some("{\"title\":\"a".into())).await;
    assert_eq!(status, 400);
    let body: &[u8] = b"{\"title\":\"\xff\xfe\"}";
    let mut raw = format!(
        "POST /api/sessions HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        gw.addr,
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    let mut s = tokio::net::TcpStream::connect(&gw.addr).await.expect("connect");
    s.write_all(&raw).await.expect("write");
    let mut resp = Vec::new();
    tokio::time::timeout(support::DEADLINE, s.read_to_end(&mut resp)).await.expect("answered").expect("read");
    assert_eq!(support::parse_response(&resp).0, 400, "invalid UTF-8 in a JSON body");

    // An exited worker: every kind of input is a clear `worker-exited`, on both paths.
    support::wait_for("the worker to exit", || async {
        let (_, s) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
        s["workers"][0]["state"] == "exited"
    })
    .await;
    let mut term = gw.ws(&worker_path(&sid, &wid)).await;
    term.until(|v| v["type"] == "exit").await;
    refused(&mut term, r#"{"type":"input","data":"late"}"#, "worker-exited").await;
    let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\n");
    let msg = json!({"type": "image", "data": png, "mimeType": "image/png"}).to_string();
    refused(&mut term, &msg, "worker-exited").await;
    let (status, body) = gw
        .http("POST", &format!("/api/sessions/{sid}/workers/{wid}/input"), Some(json!({"data": "x"})))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("worker-exited")));
    assert!(
        !std::fs::exists(gw.data_dir.join("images")).unwrap_or(false),
        "no image saved for an exited worker"
    );
    assert!(!gw.log().contains("panicked"));
}
