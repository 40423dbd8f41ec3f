//! The gateway under test: the release `controlroom serve` binary started on `127.0.0.1:0` with a
//! temp data dir (a separate process, so its memory, CPU time and wake-ups are its own), plus a
//! minimal HTTP client and WebSocket clients for the app and worker sockets.

use crate::reaper::DataDir;
use anyhow::{Context as _, bail};
use controlroom_protocol::{BINARY_SUBPROTOCOL, SUBPROTOCOL, decode_output};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A WebSocket to the gateway.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any single wait may take before the harness gives up.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// The gateway binary: `CONTROLROOM_BENCH_GATEWAY` if set (to compare builds), else the
/// `controlroom` built next to this one (`cargo build --release -p controlroom`).
pub fn binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("CONTROLROOM_BENCH_GATEWAY") {
        return Ok(path.into());
    }
    let exe = std::env::current_exe().context("locating the harness binary")?;
    let path = exe.with_file_name("controlroom");
    if !path.exists() {
        bail!("{} not found: run `cargo build --release -p controlroom` first", path.display());
    }
    Ok(path)
}

/// A running gateway process.
pub struct Gateway {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Owner token.
    pub token: String,
    /// The data dir (its holders end when it is dropped); `None` once [`Gateway::kill`] handed
    /// it on.
    dir: Option<DataDir>,
}

/// Set (to anything) to make [`Gateway::session`] fail right after it started its workers: a
/// section failing midway, to check that nothing is left running (`pgrep -af __holder`).
pub const FAIL_AFTER_START_ENV: &str = "CONTROLROOM_BENCH_FAIL_AFTER_START";

impl Gateway {
    /// Starts `controlroom serve` with `extra` flags; returns it and the time to its ready line.
    pub fn start(extra: &[&str]) -> anyhow::Result<(Gateway, Duration)> {
        Self::start_in(DataDir::new().context("temp data dir")?, extra)
    }

    /// Starts `controlroom serve` on the data dir `dir` (a restart: a new gateway adopts the
    /// workers a killed one left), with `extra` flags.
    pub fn start_in(dir: DataDir, extra: &[&str]) -> anyhow::Result<(Gateway, Duration)> {
        let t0 = Instant::now();
        let child = Command::new(binary()?)
            .args(["serve", "--listen", "127.0.0.1:0", "--log-level", "warn", "--data-dir"])
            .arg(dir.path())
            .args(extra)
            .env_remove("CONTROLROOM_TOKEN")
            .env("SHELL", "/bin/sh")
            // Workers end with the gateway (builds with holders keep them otherwise); a variable,
            // not the flag, so an older build under CONTROLROOM_BENCH_GATEWAY still starts.
            .env("CONTROLROOM_STOP_WORKERS_ON_EXIT", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting controlroom serve")?;
        // Owned by the guard from here on: a failure below stops it (and its holders) too.
        let mut gw = Gateway { child, addr: String::new(), token: String::new(), dir: Some(dir) };
        let stdout = gw.child.stdout.take().context("gateway stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).context("reading the ready line")?;
        let ready = t0.elapsed();
        let url = line.trim().strip_prefix("controlroom listening on ").context("unexpected ready line")?;
        gw.addr = url.trim_start_matches("http://").to_string();
        let token = std::fs::read_to_string(gw.data_dir().join("token")).context("token file")?;
        gw.token = token.trim().to_string();
        Ok((gw, ready))
    }

    /// `kill -9` of the gateway (its workers' holders stay); returns the data dir for the next,
    /// which ends them when dropped.
    pub fn kill(mut self) -> anyhow::Result<DataDir> {
        self.child.kill().context("kill -9 of the gateway")?;
        self.child.wait().context("reaping the gateway")?;
        self.dir.take().context("the data dir was already handed on")
    }

    /// Its data dir (holder sockets are in `workers/`).
    pub fn data_dir(&self) -> &Path {
        // Only `kill` (which consumes the gateway) takes the dir.
        self.dir.as_ref().map_or(Path::new(""), |d| d.path())
    }

    /// The gateway's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// An authenticated HTTP request; returns (status, JSON body).
    pub async fn http(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<(u16, Value)> {
        let mut stream = TcpStream::connect(&self.addr).await?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            self.token,
            body.len()
        );
        stream.write_all(req.as_bytes()).await?;
        let mut raw = Vec::new();
        tokio::time::timeout(DEADLINE, stream.read_to_end(&mut raw)).await??;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
    }

    /// Creates a session whose workers run `commands`; returns (sessionId, workerIds).
    pub async fn session(
        &self,
        commands: &[Vec<String>],
        cols: u16,
        rows: u16,
    ) -> anyhow::Result<(String, Vec<String>)> {
        let workers: Vec<Value> =
            commands.iter().map(|c| json!({"command": c, "cols": cols, "rows": rows})).collect();
        let (status, body) = self
            .http("POST", "/api/sessions", Some(json!({"title": "bench", "cwd": "/tmp", "workers": workers})))
            .await?;
        if status != 201 {
            bail!("creating a session failed: {status} {body}");
        }
        if std::env::var_os(FAIL_AFTER_START_ENV).is_some() {
            bail!("failing on purpose after starting {} worker(s) ({FAIL_AFTER_START_ENV})", commands.len());
        }
        let sid = body["id"].as_str().context("session id")?.to_string();
        let wids = body["workers"]
            .as_array()
            .context("workers")?
            .iter()
            .filter_map(|w| w["id"].as_str().map(str::to_string))
            .collect();
        Ok((sid, wids))
    }

    /// Opens an authenticated WebSocket on `path`.
    pub async fn ws(&self, path: &str) -> anyhow::Result<Ws> {
        self.endpoint().ws(path).await
    }

    /// Attaches to a worker (JSON `output`) and waits for its `history`.
    pub async fn attach(&self, sid: &str, wid: &str) -> anyhow::Result<WorkerClient> {
        self.endpoint().attach_as(sid, wid, false).await
    }

    /// Attaches to a worker, offering binary `output` frames when `binary` (a gateway that
    /// predates them answers `controlroom.v1` and sends JSON; see [`WorkerClient::binary`]).
    pub async fn attach_as(&self, sid: &str, wid: &str, binary: bool) -> anyhow::Result<WorkerClient> {
        self.endpoint().attach_as(sid, wid, binary).await
    }

    /// Attaches to a worker with a query on the socket's URL (`?delivery=lossless`).
    pub async fn attach_query(
        &self,
        sid: &str,
        wid: &str,
        binary: bool,
        query: &str,
    ) -> anyhow::Result<WorkerClient> {
        self.endpoint().attach_query(sid, wid, binary, query).await
    }

    /// Its address and token, to open sockets from another thread and runtime.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint { addr: self.addr.clone(), token: self.token.clone() }
    }
}

/// Where a gateway listens and its owner token: opens sockets on whichever runtime awaits it
/// (a socket is driven by the runtime it was opened on).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `127.0.0.1:PORT`.
    addr: String,
    /// Owner token.
    token: String,
}

impl Endpoint {
    /// Opens an authenticated WebSocket on `path`.
    pub async fn ws(&self, path: &str) -> anyhow::Result<Ws> {
        Ok(self.ws_offering(path, SUBPROTOCOL).await?.0)
    }

    /// Opens an authenticated WebSocket on `path` offering `protocols` (and the token, as a
    /// browser would); returns it and whether the gateway selected `controlroom.v1.binary`.
    async fn ws_offering(&self, path: &str, protocols: &str) -> anyhow::Result<(Ws, bool)> {
        let mut req = format!("ws://{}{}", self.addr, path).into_client_request()?;
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", format!("{protocols}, bearer.{}", self.token).parse()?);
        let (ws, resp) = tokio_tungstenite::connect_async(req).await.context("websocket connect")?;
        let selected = resp.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok());
        Ok((ws, selected == Some(BINARY_SUBPROTOCOL)))
    }

    /// Attaches to a worker, offering binary `output` frames when `binary`, and waits for its
    /// `history`.
    pub async fn attach_as(&self, sid: &str, wid: &str, binary: bool) -> anyhow::Result<WorkerClient> {
        self.attach_query(sid, wid, binary, "").await
    }

    /// Attaches to a worker (JSON `output`) and waits for its `history`; also returns when the
    /// WebSocket handshake had completed (its `101` read), to time the upgrade apart from the
    /// `history`.
    pub async fn attach_timed(&self, sid: &str, wid: &str) -> anyhow::Result<(WorkerClient, Instant)> {
        let (mut ws, binary) =
            self.ws_offering(&format!("/ws/session/{sid}/worker/{wid}"), SUBPROTOCOL).await?;
        let upgraded = Instant::now();
        loop {
            let msg = next_json(&mut ws).await?;
            if msg["type"] == "history" {
                let seen = msg["data"].as_str().unwrap_or_default().to_string();
                let next_offset = msg["offset"].as_u64().unwrap_or_default();
                return Ok((WorkerClient { ws, seen, binary, next_offset }, upgraded));
            }
        }
    }

    /// Creates a session on `/ws/new` (the session's JSON in its query) and waits for `created`
    /// and `history`; returns the session's id, the client, and when the `101` was read.
    pub async fn create_attached(&self, session: &Value) -> anyhow::Result<(String, WorkerClient, Instant)> {
        let path = format!("/ws/new?session={}", percent_encode(&session.to_string()));
        let (mut ws, binary) = self.ws_offering(&path, SUBPROTOCOL).await?;
        let upgraded = Instant::now();
        let created = next_json(&mut ws).await?;
        anyhow::ensure!(created["type"] == "created", "/ws/new opened with {created}, not `created`");
        let sid = created["session"]["id"].as_str().context("`created` without a session id")?.to_string();
        let history = next_json(&mut ws).await?;
        anyhow::ensure!(history["type"] == "history", "`created` was followed by {history}, not `history`");
        let seen = history["data"].as_str().unwrap_or_default().to_string();
        let next_offset = history["offset"].as_u64().unwrap_or_default();
        Ok((sid, WorkerClient { ws, seen, binary, next_offset }, upgraded))
    }

    /// [`Self::attach_as`] with a query on the socket's URL (`?delivery=lossless`).
    pub async fn attach_query(
        &self,
        sid: &str,
        wid: &str,
        binary: bool,
        query: &str,
    ) -> anyhow::Result<WorkerClient> {
        let offer = if binary { format!("{BINARY_SUBPROTOCOL}, {SUBPROTOCOL}") } else { SUBPROTOCOL.into() };
        let (mut ws, binary) =
            self.ws_offering(&format!("/ws/session/{sid}/worker/{wid}{query}"), &offer).await?;
        loop {
            let msg = next_json(&mut ws).await?;
            if msg["type"] == "history" {
                let seen = msg["data"].as_str().unwrap_or_default().to_string();
                let next_offset = msg["offset"].as_u64().unwrap_or_default();
                return Ok(WorkerClient { ws, seen, binary, next_offset });
            }
        }
    }
}

impl Drop for Gateway {
    /// Stops the gateway; then the data dir, dropped with it, ends any holder still running
    /// (one the gateway did not stop, or all of them if it had to be killed).
    fn drop(&mut self) {
        if self.dir.is_none() {
            // Killed and reaped already (`kill`).
            return;
        }
        // SIGTERM for a clean stop (workers get SIGHUP), then reap.
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encodes `text` for a query value (all but RFC 3986's unreserved characters).
fn percent_encode(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Reads the next text message as JSON (pings are answered by tungstenite).
pub async fn next_json(ws: &mut Ws) -> anyhow::Result<Value> {
    loop {
        let msg = tokio::time::timeout(DEADLINE, ws.next()).await.context("waiting for a message")?;
        match msg {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(t.as_str())?),
            Some(Ok(Message::Close(f))) => bail!("socket closed: {f:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => bail!("socket ended"),
        }
    }
}

/// A client attached to one worker.
pub struct WorkerClient {
    /// The socket.
    pub ws: Ws,
    /// What `wait_for` has seen and not consumed yet (starts with the history).
    seen: String,
    /// The gateway selected `controlroom.v1.binary`: `output` arrives as binary frames.
    pub binary: bool,
    /// Offset the next binary frame must start at (from the history's).
    next_offset: u64,
}

impl WorkerClient {
    /// What was received and not consumed by [`WorkerClient::wait_for`]: right after attaching,
    /// the `history`'s data.
    pub fn history(&self) -> &str {
        &self.seen
    }

    /// The bytes of a binary `output` frame, checked to continue the stream where the last one
    /// ended.
    fn contiguous<'a>(&mut self, frame: &'a [u8]) -> anyhow::Result<&'a [u8]> {
        let (offset, bytes) = decode_output(frame)?;
        if offset != self.next_offset {
            bail!("binary output at {offset}, expected {}", self.next_offset);
        }
        self.next_offset += bytes.len() as u64;
        Ok(bytes)
    }

    /// Types `data`.
    pub async fn input(&mut self, data: &str) -> anyhow::Result<()> {
        let msg = json!({"type": "input", "data": data}).to_string();
        self.ws.send(Message::Text(msg.into())).await?;
        Ok(())
    }

    /// Types `bytes` as the front end does: one binary frame of the exact bytes when the gateway
    /// selected `controlroom.v1.binary`, else a JSON `input`.
    pub async fn input_bytes(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        if !self.binary {
            return self.input(&String::from_utf8_lossy(bytes)).await;
        }
        self.ws.send(Message::Binary(bytes.to_vec().into())).await?;
        Ok(())
    }

    /// Collects `output` data (JSON `data`, or binary frames' raw bytes, checked contiguous)
    /// until `exit`; returns everything received. Parses only the fields it needs, as a lean
    /// client would.
    pub async fn read_until_exit(&mut self) -> anyhow::Result<Vec<u8>> {
        #[derive(serde::Deserialize)]
        struct Frame {
            r#type: String,
            #[serde(default)]
            data: Option<String>,
        }
        let mut out = Vec::new();
        loop {
            let msg = tokio::time::timeout(DEADLINE, self.ws.next()).await.context("waiting for output")?;
            let text = match msg {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Binary(frame))) => {
                    out.extend_from_slice(self.contiguous(&frame)?);
                    continue;
                }
                Some(Ok(Message::Close(f))) => bail!("socket closed: {f:?}"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => bail!("socket ended"),
            };
            let frame: Frame = serde_json::from_str(text.as_str())?;
            match frame.r#type.as_str() {
                "output" => out.extend_from_slice(frame.data.unwrap_or_default().as_bytes()),
                "exit" => return Ok(out),
                _ => {}
            }
        }
    }

    /// Reads `output` (binary frames, checked contiguous, or JSON) no faster than `rate` bytes
    /// per second (the socket is not read ahead of that pace, so TCP pushes back) until `exit`
    /// or a close; returns what arrived and the close code (`None` after `exit`).
    pub async fn read_paced(&mut self, rate: f64) -> anyhow::Result<(Vec<u8>, Option<u16>)> {
        let started = tokio::time::Instant::now();
        let mut out = Vec::new();
        loop {
            let msg = tokio::time::timeout(DEADLINE, self.ws.next()).await.context("waiting for output")?;
            match msg {
                Some(Ok(Message::Binary(frame))) => out.extend_from_slice(self.contiguous(&frame)?),
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str())?;
                    match v["type"].as_str() {
                        Some("output") => {
                            out.extend_from_slice(v["data"].as_str().unwrap_or_default().as_bytes())
                        }
                        Some("exit") => return Ok((out, None)),
                        _ => {}
                    }
                }
                Some(Ok(Message::Close(f))) => return Ok((out, Some(f.map_or(1005, |f| u16::from(f.code))))),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Ok((out, Some(1006))),
            }
            tokio::time::sleep_until(started + Duration::from_secs_f64(out.len() as f64 / rate)).await;
        }
    }

    /// Waits until the history or output received contains `needle`; what was seen up to the
    /// needle is consumed.
    pub async fn wait_for(&mut self, needle: &str) -> anyhow::Result<()> {
        loop {
            if let Some(at) = self.seen.find(needle) {
                self.seen.drain(..at + needle.len());
                return Ok(());
            }
            if self.seen.len() > 4096 {
                let keep = self.seen.len() - needle.len();
                let cut = (keep..self.seen.len()).find(|i| self.seen.is_char_boundary(*i)).unwrap_or(keep);
                self.seen.drain(..cut);
            }
            let msg = tokio::time::timeout(DEADLINE, self.ws.next()).await.context("waiting for output")?;
            match msg {
                Some(Ok(Message::Binary(frame))) => {
                    let text = String::from_utf8_lossy(self.contiguous(&frame)?).into_owned();
                    self.seen.push_str(&text);
                }
                Some(Ok(Message::Text(t))) => {
                    let msg: Value = serde_json::from_str(t.as_str())?;
                    if msg["type"] == "output" {
                        self.seen.push_str(msg["data"].as_str().unwrap_or_default());
                    }
                }
                Some(Ok(Message::Close(f))) => bail!("socket closed: {f:?}"),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => bail!("socket ended"),
            }
        }
    }
}

/// Writes `data` to a file in `dir` and returns its path.
pub fn write_input(dir: &Path, name: &str, data: &[u8]) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, data).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
