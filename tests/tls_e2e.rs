//! `--tls-cert`/`--tls-key`: HTTPS and WSS with rustls, against a self-signed certificate made in
//! the test and a rustls client that trusts only it.

mod support;

use std::sync::Arc;
use support::{DEADLINE, Gateway, parse_response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, RootCertStore, pki_types::ServerName};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

struct Tls {
    _dir: tempfile::TempDir,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    connector: TlsConnector,
}

fn self_signed() -> Tls {
    let dir = tempfile::tempdir().expect("tempdir");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).expect("cert");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).expect("write cert");
    std::fs::write(&key, ck.signing_key.serialize_pem()).expect("write key");
    let mut roots = RootCertStore::empty();
    roots.add(ck.cert.der().clone()).expect("trust");
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    Tls { _dir: dir, cert, key, connector: TlsConnector::from(Arc::new(config)) }
}

async fn tls_stream(gw: &Gateway, tls: &Tls) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(&gw.addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    tls.connector.connect(name, tcp).await.expect("TLS handshake")
}

async fn https_get(gw: &Gateway, tls: &Tls, path: &str, origin: Option<&str>) -> u16 {
    let mut s = tls_stream(gw, tls).await;
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n",
        gw.addr, gw.token
    );
    if let Some(o) = origin {
        req.push_str(&format!("Origin: {o}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    // A peer closing without close_notify is an error in rustls; the bytes read so far count.
    let _ = tokio::time::timeout(DEADLINE, s.read_to_end(&mut raw)).await.expect("read timeout");
    parse_response(&raw).0
}

#[tokio::test]
async fn https_and_wss_with_rustls() {
    let tls = self_signed();
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = tls.cert.to_str().expect("path");
    let key = tls.key.to_str().expect("path");
    let mut gw =
        Gateway::start_on(&dir.path().join("data"), "0.0.0.0:0", &["--tls-cert", cert, "--tls-key", key]);
    let line_url = std::fs::read_to_string(gw.data_dir.join("gateway.json")).expect("gateway.json");
    assert!(line_url.contains("\"https://"), "{line_url}");
    assert!(!gw.log().contains("without TLS"), "no warning with TLS on: {}", gw.log());
    let port = gw.addr.rsplit(':').next().expect("port").to_string();
    gw.addr = format!("127.0.0.1:{port}");

    assert_eq!(https_get(&gw, &tls, "/healthz", None).await, 200);
    assert_eq!(https_get(&gw, &tls, "/api/sessions", None).await, 200);
    let own = format!("https://localhost:{port}");
    assert_eq!(https_get(&gw, &tls, "/api/sessions", Some(&own)).await, 200);
    assert_eq!(https_get(&gw, &tls, "/api/sessions", Some(&format!("http://localhost:{port}"))).await, 403);

    // WSS: the same protocol over the TLS stream.
    let stream = tls_stream(&gw, &tls).await;
    let mut req = format!("wss://localhost:{port}/ws/app").into_client_request().expect("request");
    let offer = format!("controlroom.v1, bearer.{}", gw.token);
    req.headers_mut().insert("Sec-WebSocket-Protocol", offer.parse().expect("header"));
    req.headers_mut().insert("Host", gw.addr.parse().expect("host"));
    let (mut ws, _) = tokio_tungstenite::client_async(req, stream).await.expect("wss handshake");
    use futures_util::StreamExt as _;
    let first = tokio::time::timeout(DEADLINE, ws.next()).await.expect("message").expect("open").expect("ok");
    let v: serde_json::Value = serde_json::from_str(first.to_text().expect("text")).expect("json");
    assert_eq!(v["type"], "sessions-sync");

    // Plain HTTP on the TLS port gets nothing useful, and the gateway keeps serving TLS.
    let plain = support::http_text(
        &gw.addr,
        &format!("GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", gw.addr),
    )
    .await;
    assert_ne!(plain.0, 200);
    assert_eq!(https_get(&gw, &tls, "/healthz", None).await, 200);
}

#[tokio::test]
async fn bad_tls_files_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").expect("write");
    let out = std::process::Command::new(support::bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--tls-cert")
        .arg(&junk)
        .arg("--tls-key")
        .arg(&junk)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("junk.pem"), "{err}");
    let out = std::process::Command::new(support::bin())
        .args(["serve", "--tls-cert", "/x.pem"])
        .output()
        .expect("run");
    assert!(!out.status.success(), "--tls-cert needs --tls-key");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
}
