//! Browser attacks against a loopback gateway: foreign and `null` Origins (cross-site WebSocket
//! hijacking), foreign Host headers (DNS rebinding), and the non-loopback warning.

mod support;

use support::{Gateway, http_text};

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn port(gw: &Gateway) -> &str {
    gw.addr.rsplit(':').next().expect("port")
}

/// GET `path` with the owner token and exactly these extra header lines.
async fn get(gw: &Gateway, path: &str, host: Option<&str>, origin: Option<&str>) -> u16 {
    let mut req =
        format!("GET {path} HTTP/1.1\r\nConnection: close\r\nAuthorization: Bearer {}\r\n", gw.token);
    if let Some(h) = host {
        req.push_str(&format!("Host: {h}\r\n"));
    }
    if let Some(o) = origin {
        req.push_str(&format!("Origin: {o}\r\n"));
    }
    req.push_str("\r\n");
    http_text(&gw.addr, &req).await.0
}

#[tokio::test]
async fn origin_allow_list_on_http_and_websocket() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &["--allow-origin", "https://App.Example/"]);
    let p = port(&gw).to_string();
    let host = gw.addr.clone();
    let own = [format!("http://127.0.0.1:{p}"), format!("http://localhost:{p}"), format!("http://[::1]:{p}")];
    for o in &own {
        assert_eq!(get(&gw, "/api/sessions", Some(&host), Some(o)).await, 200, "{o}");
        assert!(gw.ws_headers("/ws/app", &[("Origin", o)]).await.is_ok(), "{o}");
    }
    assert_eq!(
        get(&gw, "/api/sessions", Some(&host), Some("https://app.example")).await,
        200,
        "--allow-origin"
    );
    assert!(gw.ws_headers("/ws/app", &[("Origin", "https://app.example")]).await.is_ok());
    let foreign = [
        "http://evil.example".to_string(),
        "null".into(),
        "NULL".into(),
        format!("http://127.0.0.1:{}", p.parse::<u16>().expect("port").wrapping_add(1)),
        format!("https://127.0.0.1:{p}"),
        format!("http://127.0.0.1.evil.example:{p}"),
        "http://app.example".into(),
    ];
    for o in &foreign {
        assert_eq!(get(&gw, "/api/sessions", Some(&host), Some(o)).await, 403, "{o}");
        assert_eq!(get(&gw, "/healthz", Some(&host), Some(o)).await, 403, "{o} (open routes too)");
        assert_eq!(gw.ws_headers("/ws/app", &[("Origin", o)]).await.err(), Some(403), "{o} before upgrade");
    }
    // No Origin (a non-browser client) with a valid token is fine; an allowed Origin still needs it.
    assert_eq!(get(&gw, "/api/sessions", Some(&host), None).await, 200);
    let req = format!(
        "GET /api/sessions HTTP/1.1\r\nHost: {host}\r\nOrigin: {}\r\nConnection: close\r\n\r\n",
        own[0]
    );
    assert_eq!(http_text(&gw.addr, &req).await.0, 401);
    wait_log(&gw, "refused request from a foreign Origin").await;
}

async fn wait_log(gw: &Gateway, needle: &str) {
    support::wait_for(needle, || async { gw.log().contains(needle) }).await;
}

#[tokio::test]
async fn host_header_must_be_loopback_the_bound_address_or_allowed() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &["--allow-host", "devbox.lan"]);
    let p = port(&gw).to_string();
    let good = [
        format!("127.0.0.1:{p}"),
        format!("localhost:{p}"),
        format!("LOCALHOST:{p}"),
        format!("[::1]:{p}"),
        "localhost".into(),
        "127.0.0.1".into(),
        "devbox.lan".into(),
        format!("devbox.lan:{p}"),
    ];
    for h in &good {
        assert_eq!(get(&gw, "/api/sessions", Some(h), None).await, 200, "{h}");
    }
    let bad = [
        "evil.example".to_string(),
        format!("evil.example:{p}"),
        format!("localhost:{}", p.parse::<u16>().expect("port").wrapping_add(1)),
        format!("127.0.0.2:{p}"),
        "devbox.lan.evil.example".into(),
        format!("localhost.:{p}"),
    ];
    for h in &bad {
        assert_eq!(get(&gw, "/api/sessions", Some(h), None).await, 421, "{h}");
        assert_eq!(get(&gw, "/healthz", Some(h), None).await, 421, "{h} (open routes too)");
        assert_eq!(gw.ws_headers("/ws/app", &[("Host", h)]).await.err(), Some(421), "{h} before upgrade");
    }
    assert_eq!(get(&gw, "/healthz", None, None).await, 421, "a missing Host is refused");
    wait_log(&gw, "unexpected Host").await;
}

#[tokio::test]
async fn allow_origin_null_is_refused_at_start() {
    let dir = temp();
    let out = std::process::Command::new(support::bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--allow-origin", "null", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-origin null is refused"));
}

#[tokio::test]
async fn non_loopback_listen_without_tls_warns() {
    let dir = temp();
    let gw = Gateway::start_on(&dir.path().join("data"), "0.0.0.0:0", &[]);
    assert!(gw.log().contains("non-loopback address without TLS"), "{}", gw.log());
    let (status, _) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(status, 200);
    let dir2 = temp();
    let local = Gateway::start_in(&dir2.path().join("data"), &[]);
    let (status, _) = local.http("GET", "/api/sessions", None).await;
    assert_eq!(status, 200);
    assert!(!local.log().contains("non-loopback"), "loopback does not warn");
}
