//! Shared end-to-end helpers: run the built `controlroom serve` on an ephemeral port with a temp
//! data dir, talk HTTP and WebSocket to it, and wait on predicates with deadlines.
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// How long any wait in these tests may take before failing.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// The path of the binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_controlroom")
}

/// A `controlroom serve` child process.
pub struct Gateway {
    pub child: Child,
    pub url: String,
    pub addr: String,
    pub token: String,
    pub data_dir: PathBuf,
    pub log_path: PathBuf,
}

impl Gateway {
    /// Starts a gateway on 127.0.0.1:0 in `data_dir` with extra flags; waits for its line.
    pub fn start_in(data_dir: &Path, extra: &[&str]) -> Gateway {
        Self::start_on(data_dir, "127.0.0.1:0", extra)
    }

    /// Starts a gateway listening on `listen` in `data_dir` with extra flags.
    pub fn start_on(data_dir: &Path, listen: &str, extra: &[&str]) -> Gateway {
        Self::start_with(data_dir, listen, extra, &[])
    }

    /// Like `start_on`, with extra environment variables for the gateway process.
    pub fn start_with(data_dir: &Path, listen: &str, extra: &[&str], envs: &[(&str, &str)]) -> Gateway {
        let log_path = data_dir.with_extension(format!("gateway-{}.log", next_log_number()));
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut child = Command::new(bin())
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env_remove("CONTROLROOM_TOKEN")
            // Never read the user's config.toml.
            .env_remove("CONTROLROOM_CONFIG")
            .env("XDG_CONFIG_HOME", data_dir.with_extension("xdg-config"))
            .env("SHELL", "/bin/sh")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn controlroom serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
        let url = line
            .trim()
            .strip_prefix("controlroom listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "unexpected first line {line:?}; log: {}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                )
            })
            .to_string();
        let addr = url.trim_start_matches("http://").to_string();
        let token = std::fs::read_to_string(data_dir.join("token")).expect("token file").trim().to_string();
        Gateway { child, url, addr, token, data_dir: data_dir.to_path_buf(), log_path }
    }

    /// The log written so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Sends a signal and waits for the process to exit; returns its exit code.
    pub fn stop(&mut self, signal: i32) -> Option<i32> {
        send_signal(self.child.id(), signal);
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(Instant::now() < deadline, "gateway did not exit after signal {signal}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// HTTP with the owner token.
    pub async fn http(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let auth = format!("Bearer {}", self.token);
        http_raw(&self.addr, method, path, &[("Authorization", auth.as_str())], body.map(|b| b.to_string()))
            .await
    }

    /// Creates a session with one worker running `command` (or the default shell); returns
    /// (sessionId, workerId).
    pub async fn session_with(&self, title: &str, command: Option<&[&str]>) -> (String, String) {
        let worker = match command {
            Some(c) => serde_json::json!({ "command": c }),
            None => serde_json::json!({}),
        };
        let (status, body) = self
            .http(
                "POST",
                "/api/sessions",
                Some(serde_json::json!({"title": title, "cwd": "/tmp", "workers": [worker]})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        (body["id"].as_str().expect("id").into(), body["workers"][0]["id"].as_str().expect("wid").into())
    }

    /// Opens an authenticated WebSocket on `path` with the subprotocols a browser would offer.
    pub async fn ws(&self, path: &str) -> Ws {
        let (ws, resp) = self
            .ws_with(path, Some(&format!("controlroom.v1, bearer.{}", self.token)), None)
            .await
            .expect("connect");
        assert_eq!(
            resp.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()),
            Some("controlroom.v1")
        );
        ws
    }

    /// Opens a WebSocket with chosen headers; Err carries the HTTP status of a refusal.
    pub async fn ws_with(
        &self,
        path: &str,
        protocols: Option<&str>,
        authorization: Option<&str>,
    ) -> Result<(Ws, tokio_tungstenite::tungstenite::handshake::client::Response), u16> {
        let mut req = format!("ws://{}{}", self.addr, path).into_client_request().expect("request");
        if let Some(p) = protocols {
            req.headers_mut().insert("Sec-WebSocket-Protocol", p.parse().expect("header"));
        }
        if let Some(a) = authorization {
            req.headers_mut().insert("Authorization", a.parse().expect("header"));
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, resp)) => Ok((Ws { inner: ws }, resp)),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(e) => panic!("websocket connect failed: {e}"),
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn next_log_number() -> u64 {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A loopback port that was free a moment ago (for tests that restart a gateway on one port).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Signals a process we own, through kill(1).
pub fn send_signal(pid: u32, signal: i32) {
    let status = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().expect("kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// A minimal HTTP/1.1 client (Connection: close), enough for JSON APIs.
pub async fn http_raw(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = body.unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut raw)).await.expect("http timeout").expect("read");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    let value = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()));
    (status, value)
}

/// A WebSocket client with JSON helpers.
pub struct Ws {
    pub inner: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

/// What a socket ended with.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// A close frame with this code.
    Close(u16),
    /// The connection dropped without a close frame.
    Dropped,
}

impl Ws {
    pub async fn send_json(&mut self, v: Value) {
        self.inner.send(Message::Text(v.to_string().into())).await.expect("send");
    }

    pub async fn send_text(&mut self, t: &str) {
        self.inner.send(Message::Text(t.to_string().into())).await.expect("send");
    }

    /// The next JSON text message (pings are answered by the library while we read).
    pub async fn next_json(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.inner.next())
                .await
                .expect("timed out waiting for a message");
            match msg {
                Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).expect("json"),
                Some(Ok(Message::Close(c))) => panic!("socket closed: {c:?}"),
                Some(Ok(_)) => continue,
                other => panic!("socket ended: {other:?}"),
            }
        }
    }

    /// Reads until a message satisfies `pred`; returns it.
    pub async fn until(&mut self, mut pred: impl FnMut(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            assert!(tokio::time::Instant::now() < deadline, "no matching message before the deadline");
            let v = self.next_json().await;
            if pred(&v) {
                return v;
            }
        }
    }

    /// Reads worker output until the concatenated `data` satisfies `pred`; returns all of it.
    pub async fn output_until(&mut self, mut pred: impl FnMut(&str) -> bool) -> String {
        let mut all = String::new();
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !pred(&all) {
            assert!(tokio::time::Instant::now() < deadline, "output never matched; got {all:?}");
            let v = self.next_json().await;
            if v["type"] == "output" || v["type"] == "history" {
                all.push_str(v["data"].as_str().unwrap_or_default());
            }
        }
        all
    }

    /// Reads until the socket ends; returns how.
    pub async fn ended(&mut self) -> Ended {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            match tokio::time::timeout_at(deadline, self.inner.next())
                .await
                .expect("socket did not end before the deadline")
            {
                Some(Ok(Message::Close(Some(frame)))) => return Ended::Close(frame.code.into()),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return Ended::Dropped,
                Some(Ok(_)) => continue,
            }
        }
    }
}

/// Waits until `check` returns true, polling; fails after the deadline with `what`.
pub async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
