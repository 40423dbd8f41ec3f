//! Outbound HTTPS from the gateway: the webhook notifier and a `kind = "http"` session source,
//! each against a receiver served over TLS by the test (rustls, self-signed certificate), trusted
//! through `--outbound-ca` or a `ca-file` key — and refused, with a clear error, without it.

mod support;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use support::{DEADLINE, Gateway, self_signed_files, wait_for};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A TCP listener that hands axum TLS streams (failed handshakes are skipped).
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else { continue };
            if let Ok(Ok(tls)) = tokio::time::timeout(DEADLINE, self.acceptor.accept(tcp)).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Serves `app` over HTTPS on 127.0.0.1 with the certificate and key; returns the address.
async fn serve_tls(app: axum::Router, cert: &Path, key: &Path) -> SocketAddr {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(cert).expect("cert").collect::<Result<_, _>>().expect("certs");
    let key = PrivateKeyDer::from_pem_file(key).expect("key");
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server config");
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let listener = TlsListener { tcp, acceptor: TlsAcceptor::from(Arc::new(config)) };
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn hook(
    State(seen): State<mpsc::UnboundedSender<(HeaderMap, String)>>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let _ = seen.send((headers, body));
    StatusCode::NO_CONTENT
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// A counter's value in the gateway's `/metrics`.
async fn counter(gw: &Gateway, name: &str) -> f64 {
    let (_, text) = gw.http("GET", "/metrics", None).await;
    text.as_str()
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

#[tokio::test]
async fn webhook_over_https_trusts_outbound_ca_and_refuses_without_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = self_signed_files(dir.path(), "receiver");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route("/hook", axum::routing::post(hook)).with_state(tx);
    let addr = serve_tls(app, &cert, &key).await;
    let url = format!("https://{addr}/hook");

    // Trusted through --outbound-ca: a signed delta arrives over TLS.
    let data = dir.path().join("data");
    let gw = Gateway::start_in(
        &data,
        &["--notify-webhook", &url, "--notify-on", "created", "--outbound-ca", cert.to_str().expect("path")],
    );
    let (sid, _) = gw.session_with("hooked-over-tls", Some(&["sleep", "100"])).await;
    let (headers, body) =
        tokio::time::timeout(DEADLINE, rx.recv()).await.expect("a POST in time").expect("open");
    let delta: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (delta["type"].as_str(), delta["sessionId"].as_str()),
        (Some("session-created"), Some(sid.as_str()))
    );
    let secret = std::fs::read_to_string(data.join("webhook-secret")).expect("secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.trim().as_bytes()).expect("key");
    mac.update(body.as_bytes());
    assert_eq!(
        header(&headers, "x-controlroom-signature"),
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    drop(gw);

    // Not trusted without it: every attempt fails on the certificate, nothing is delivered.
    let gw =
        Gateway::start_in(&dir.path().join("data2"), &["--notify-webhook", &url, "--notify-on", "created"]);
    gw.session_with("not-delivered", Some(&["sleep", "100"])).await;
    wait_for("a failed attempt", || async {
        counter(&gw, "controlroom_webhook_failures_total").await >= 1.0
    })
    .await;
    assert!(gw.log().contains("certificate not trusted"), "{}", gw.log());
    assert!(rx.try_recv().is_err(), "nothing reached the receiver");

    // A CA file that is not a certificate stops the gateway at start, naming the file.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "nope").expect("write");
    let out = std::process::Command::new(support::bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data3"))
        .args(["--notify-webhook", &url, "--outbound-ca"])
        .arg(&junk)
        .env("XDG_CONFIG_HOME", dir.path().join("xdg"))
        .env_remove("CONTROLROOM_CONFIG")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("junk.pem"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn sessions_doc() -> axum::Json<Value> {
    axum::Json(json!({"items": [{"id": "t1", "title": "Served over TLS", "status": "OPEN"}]}))
}

#[tokio::test]
async fn https_source_with_ca_file_and_one_without() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = self_signed_files(dir.path(), "api");
    let app = axum::Router::new().route("/v1/items", axum::routing::get(sessions_doc));
    let addr = serve_tls(app, &cert, &key).await;
    let config = dir.path().join("config.toml");
    // `ca-file` is relative to the config file.
    std::fs::write(
        &config,
        format!(
            r#"
[[sources]]
name = "trusted"
kind = "http"
url = "https://{addr}/v1/items"
ca-file = "api.pem"
list = "items"
timeout-ms = 5000

[[sources]]
name = "untrusted"
kind = "http"
url = "https://{addr}/v1/items"
list = "items"
timeout-ms = 5000
"#
        ),
    )
    .expect("config");
    let gw = Gateway::start_in(
        &dir.path().join("data"),
        &["--config", config.to_str().expect("path"), "--poll-interval", "150ms"],
    );
    wait_for("both sources to report", || async {
        let (_, list) = gw.http("GET", "/api/sessions", None).await;
        let sources = list["sources"].as_array().cloned().unwrap_or_default();
        let by = |n: &str| sources.iter().find(|s| s["name"] == n).cloned().unwrap_or_default();
        by("trusted")["ok"] == true && by("untrusted")["error"].is_string()
    })
    .await;
    let (_, list) = gw.http("GET", "/api/sessions", None).await;
    let titles: Vec<&str> =
        list["sessions"].as_array().expect("list").iter().filter_map(|s| s["title"].as_str()).collect();
    assert_eq!(titles, ["Served over TLS"], "{list}");
    let untrusted =
        list["sources"].as_array().expect("sources").iter().find(|s| s["name"] == "untrusted").cloned();
    let error = untrusted.and_then(|s| s["error"].as_str().map(str::to_owned)).unwrap_or_default();
    assert!(error.contains("certificate not trusted"), "{error}");
}
