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
            // Every test's gateway logs at trace level (a test's --log-level wins), so the
            // credential check in `Drop` covers the whole suite.
            .env("CONTROLROOM_LOG", "trace")
            // Never read the user's config.toml.
            .env_remove("CONTROLROOM_CONFIG")
            .env_remove("CONTROLROOM_CONFIG_DIR")
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
                    "unexpected first line {line:?} (gateway: {:?}); log: {}",
                    child.wait(),
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                )
            })
            .to_string();
        let addr = url.trim_start_matches("http://").trim_start_matches("https://").to_string();
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

    /// HTTP with another token.
    pub async fn http_as(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let auth = format!("Bearer {token}");
        http_raw(&self.addr, method, path, &[("Authorization", auth.as_str())], body.map(|b| b.to_string()))
            .await
    }

    /// Opens a WebSocket with another token (as a browser would offer it); Err is the status.
    pub async fn ws_as(&self, token: &str, path: &str) -> Result<Ws, u16> {
        self.ws_with(path, Some(&format!("controlroom.v1, bearer.{token}")), None).await.map(|(ws, _)| ws)
    }

    /// Runs `controlroom token --data-dir DIR ARGS..`; returns stdout, trimmed.
    pub fn token_cmd(&self, args: &[&str]) -> String {
        let out = Command::new(bin())
            .args(["token", "--data-dir"])
            .arg(&self.data_dir)
            .args(args)
            .output()
            .expect("run controlroom token");
        assert!(out.status.success(), "token {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8").trim().to_string()
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

    /// Opens a WebSocket with the owner token and extra (or overriding) headers; Err is the
    /// status of a refusal.
    pub async fn ws_headers(&self, path: &str, headers: &[(&str, &str)]) -> Result<Ws, u16> {
        let mut req = format!("ws://{}{}", self.addr, path).into_client_request().expect("request");
        let offer = format!("controlroom.v1, bearer.{}", self.token);
        req.headers_mut().insert("Sec-WebSocket-Protocol", offer.parse().expect("header"));
        for (k, v) in headers {
            let name = http::HeaderName::from_bytes(k.as_bytes()).expect("name");
            req.headers_mut().insert(name, v.parse().expect("header"));
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => Ok(Ws { inner: ws }),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(e) => panic!("websocket connect failed: {e}"),
        }
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
        // Workers outlive their gateway by design: end the ones this test started.
        kill_holders(&self.data_dir);
        if !std::thread::panicking() {
            assert_no_credential(&self.log(), &self.data_dir, &self.token);
        }
    }
}

/// The owner token and the token secret appear in no log line and in no stored file but their
/// own.
pub fn assert_no_credential(log: &str, data_dir: &Path, token: &str) {
    let secret = std::fs::read_to_string(data_dir.join("token-secret")).unwrap_or_default();
    let mut creds = vec![("owner token", token.to_string())];
    if !secret.trim().is_empty() {
        creds.push(("token secret", secret.trim().to_string()));
    }
    for (what, cred) in &creds {
        assert!(!log.contains(cred.as_str()), "the {what} leaked into the log");
    }
    let mut dirs = vec![data_dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            let Ok(bytes) = std::fs::read(&path) else { continue };
            for (what, cred) in &creds {
                if (name == "token" && *what == "owner token")
                    || (name == "token-secret" && *what == "token secret")
                {
                    continue;
                }
                let hit = bytes.windows(cred.len()).any(|w| w == cred.as_bytes());
                assert!(!hit, "the {what} is stored in {}", path.display());
            }
        }
    }
}

/// Pids of the holder processes (`controlroom __holder`) serving workers of `data_dir`.
pub fn holder_pids(data_dir: &Path) -> Vec<u32> {
    holders(data_dir).into_iter().filter(|(_, spare)| *spare == Some(false)).map(|(pid, _)| pid).collect()
}

/// Spare holders of `data_dir` (started ahead, serving no worker yet).
pub fn spare_pids(data_dir: &Path) -> Vec<u32> {
    holders(data_dir).into_iter().filter(|(_, spare)| *spare == Some(true)).map(|(pid, _)| pid).collect()
}

/// Every holder process of `data_dir` and whether it is a spare: started with `--spare` and
/// named `cr-spare` (it renames itself `cr-holder` when it takes a worker, before answering).
/// One started with `--spare` under neither name is still starting (the parent of its fork):
/// neither a spare nor a worker's holder yet. A holder's program in the moment between its
/// fork and its exec (the holder answers without waiting for the exec) has the holder's command
/// line: it is left out (its parent is a holder).
fn holders(data_dir: &Path) -> Vec<(u32, Option<bool>)> {
    let all = holder_processes(data_dir);
    let parent = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // After the `(comm)` field: state, then the parent's pid.
        stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
    };
    all.iter()
        .filter(|(pid, _)| parent(*pid).is_none_or(|pp| !all.iter().any(|(p, _)| *p == pp)))
        .copied()
        .collect()
}

/// Every process whose command line is a holder's of `data_dir`, and whether it is a spare.
fn holder_processes(data_dir: &Path) -> Vec<(u32, Option<bool>)> {
    let needle = format!("{}/workers/", data_dir.display());
    let mut pids = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return pids };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let args: Vec<String> =
            cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.iter().any(|a| a == "__holder") && args.iter().any(|a| a.starts_with(&needle)) {
            let named = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            let spare = match (args.iter().any(|a| a == "--spare"), named.trim()) {
                (false, _) | (true, "cr-holder") => Some(false),
                (true, "cr-spare") => Some(true),
                (true, _) => None,
            };
            pids.push((pid, spare));
        }
    }
    pids
}

/// The program a holder started (its child).
pub fn holder_program(holder: u32) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{holder}/task/{holder}/children")).ok()?;
    children.split_whitespace().next().and_then(|p| p.parse().ok())
}

/// SIGKILLs every holder of `data_dir` (spares too) and its program's process group: test
/// clean-up, since holders outlive gateways by design.
pub fn kill_holders(data_dir: &Path) {
    for (holder, _) in holders(data_dir) {
        if let Some(program) = holder_program(holder) {
            // `-s KILL --`: procps kill reads a bare `-9 -PGID` otherwise (and may signal far more).
            let group = format!("-{program}");
            let _ = Command::new("kill").args(["-s", "KILL", "--", &group]).stderr(Stdio::null()).status();
        }
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &holder.to_string()])
            .stderr(Stdio::null())
            .status();
    }
}

/// Kills the holders of a data dir when dropped (for tests whose gateways are not [`Gateway`]s).
pub struct HolderGuard(pub PathBuf);

impl Drop for HolderGuard {
    fn drop(&mut self) {
        kill_holders(&self.0);
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

/// Sends `request` as written (raw HTTP/1.1 text) and reads the answer until the server closes.
pub async fn http_text(addr: &str, request: &str) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut raw)).await.expect("http timeout").expect("read");
    parse_response(&raw)
}

/// Status and JSON (or text) body of a raw HTTP response.
pub fn parse_response(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let value = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()));
    (status, value)
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

/// Like `http_raw` with a bearer token, but `None` instead of a panic when the gateway is gone
/// (for tests that kill it mid-request).
pub async fn try_http(
    addr: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut raw)).await.ok()?.ok()?;
    let (status, value) = parse_response(&raw);
    (status != 0).then_some((status, value))
}

/// `PRAGMA integrity_check` of the data dir's database (with the gateway stopped).
pub fn integrity_check(data_dir: &Path) -> String {
    let conn = rusqlite::Connection::open(data_dir.join("controlroom.db")).expect("open db");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)).expect("integrity_check")
}

/// Every delta a socket carried (live, and inside replays), until it ends.
pub async fn collect_deltas(mut ws: Ws) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(DEADLINE, ws.inner.next()).await {
        let Message::Text(t) = msg else { continue };
        let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else { continue };
        if v["seq"].is_u64() && v["type"] != "sessions-sync" && v["type"] != "replay" {
            out.push(v);
        }
    }
    out
}

/// Sessions by id after applying `deltas` (as JSON) to `start`: a client's view of the state.
pub fn fold(
    mut sessions: std::collections::BTreeMap<String, Value>,
    deltas: &[Value],
) -> std::collections::BTreeMap<String, Value> {
    for d in deltas {
        let id = d["sessionId"].as_str().expect("sessionId").to_string();
        match d["type"].as_str() {
            Some("session-created" | "session-updated") => {
                sessions.insert(id, d["session"].clone());
            }
            Some("session-deleted") => {
                sessions.remove(&id);
            }
            _ => {}
        }
    }
    sessions
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as `NAME.pem` and
/// `NAME-key.pem` in `dir`; returns the two paths.
pub fn self_signed_files(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).expect("cert");
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}-key.pem"));
    std::fs::write(&cert, ck.cert.pem()).expect("write cert");
    std::fs::write(&key, ck.signing_key.serialize_pem()).expect("write key");
    (cert, key)
}

/// The environment every git command of a test and its gateway run with: `HOME` and the global
/// config in the test's own directory, no system config, a fixed author.
pub fn git_env(home: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("HOME", home.display().to_string()),
        ("GIT_CONFIG_NOSYSTEM", "1".into()),
        ("GIT_CONFIG_GLOBAL", home.join("gitconfig").display().to_string()),
        ("GIT_AUTHOR_NAME", "Test".into()),
        ("GIT_AUTHOR_EMAIL", "test@example.org".into()),
        ("GIT_COMMITTER_NAME", "Test".into()),
        ("GIT_COMMITTER_EMAIL", "test@example.org".into()),
    ]
}

/// Runs `git -C DIR ARGS…` with [`git_env`]; fails the test if git does; returns its output.
pub fn git(home: &Path, dir: &Path, args: &[&str]) -> String {
    let out =
        Command::new("git").arg("-C").arg(dir).args(args).envs(git_env(home)).output().expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
