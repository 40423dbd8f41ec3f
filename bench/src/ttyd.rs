//! ttyd as a peer (`../shared/tools/ttyd-1.7.7/ttyd`, or `CONTROLROOM_BENCH_TTYD`, or `ttyd` on
//! PATH; skipped with a note when none runs): started on a free loopback port, writable (`-W`),
//! running one command per connection, and driven with its own protocol — subprotocol `tty`, the
//! client's first message `{"AuthToken":"","columns":C,"rows":R}`, output in binary frames whose
//! first byte is `'0'`, input as `'0'` followed by the bytes. ttyd pauses its PTY until each read
//! is written to the socket, so a slow reader gets every byte; it closes the socket when the
//! program exits, and here often loses the last few KB of a fast burst (see ../shared/tools/README.md):
//! the harness reports the bytes it delivered.

use crate::gateway::DEADLINE;
use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

/// Where the workspace keeps the ttyd build for benchmarks, relative to the bench crate.
const SHARED_TTYD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/tools/ttyd-1.7.7/ttyd");

/// How long ttyd may take to accept connections after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(10);

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The ttyd binary that runs here, if any.
pub fn binary() -> Option<PathBuf> {
    let candidates =
        [std::env::var_os("CONTROLROOM_BENCH_TTYD").map(PathBuf::from), Some(SHARED_TTYD.into())];
    candidates
        .into_iter()
        .flatten()
        .chain(std::iter::once(PathBuf::from("ttyd")))
        .find(|p| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))
}

/// The note a section adds when ttyd is absent.
pub const ABSENT: &str = "ttyd does not run here (install libjson-c5 and libuv1 for ../shared/tools/ttyd-1.7.7/ttyd, or set CONTROLROOM_BENCH_TTYD): its rows are skipped.";

/// A running ttyd, killed on drop.
pub struct Ttyd {
    child: Child,
    /// `127.0.0.1:PORT`.
    addr: String,
}

impl Ttyd {
    /// Starts ttyd running `argv` for every connection; `None` when ttyd does not run here.
    pub fn start(argv: &[&str]) -> anyhow::Result<Option<Ttyd>> {
        Self::start_with(argv, false, None)
    }

    /// Starts ttyd running `argv` for every connection, each connection's URL arguments
    /// appended to it (`-a`, see [`Ttyd::connect_with_args`]): one ttyd serving terminals that
    /// run different programs, as one gateway serves different workers.
    pub fn start_with_url_args(argv: &[&str]) -> anyhow::Result<Option<Ttyd>> {
        Self::start_with(argv, true, None)
    }

    /// [`Ttyd::start_with_url_args`] with ttyd's WebSocket ping every `ping` (its `-P`; default
    /// 5 s): a client left unread for longer than ttyd waits for a pong is closed, as in the echo
    /// rows with `--echo-gap-ms`, where every other contender types before ttyd's turn.
    pub fn start_with_url_args_ping(argv: &[&str], ping: Duration) -> anyhow::Result<Option<Ttyd>> {
        Self::start_with(argv, true, Some(ping))
    }

    fn start_with(argv: &[&str], url_args: bool, ping: Option<Duration>) -> anyhow::Result<Option<Ttyd>> {
        let Some(bin) = binary() else { return Ok(None) };
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(bin)
            .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-W", "-d", "0"])
            .args(url_args.then_some("-a"))
            .args(ping.map(|p| ["-P".to_string(), p.as_secs().max(1).to_string()]).into_iter().flatten())
            .args(argv)
            .env("SHELL", "/bin/sh")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting ttyd")?;
        let ttyd = Ttyd { child, addr: format!("127.0.0.1:{port}") };
        let deadline = Instant::now() + START_TIMEOUT;
        while std::net::TcpStream::connect(&ttyd.addr).is_err() {
            if Instant::now() > deadline {
                bail!("ttyd did not listen on {} within {START_TIMEOUT:?}", ttyd.addr);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(Some(ttyd))
    }

    /// ttyd's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A new terminal: connects and sends the size, which makes ttyd spawn the command.
    pub async fn connect(&self, cols: u16, rows: u16) -> anyhow::Result<TtydClient> {
        self.connect_with_args(cols, rows, &[]).await
    }

    /// [`Ttyd::connect`] with `args` appended to the command (`?arg=…`; only a ttyd started
    /// with [`Ttyd::start_with_url_args`] uses them).
    pub async fn connect_with_args(&self, cols: u16, rows: u16, args: &[&str]) -> anyhow::Result<TtydClient> {
        connect_to(&self.addr, cols, rows, args).await
    }

    /// Its `127.0.0.1:PORT`, to connect from another thread and runtime ([`connect_to`]).
    pub fn addr(&self) -> String {
        self.addr.clone()
    }
}

/// A new terminal of the ttyd at `addr` (see [`Ttyd::connect_with_args`]), driven by the runtime
/// that awaits it.
pub async fn connect_to(addr: &str, cols: u16, rows: u16, args: &[&str]) -> anyhow::Result<TtydClient> {
    let query: Vec<String> = args.iter().map(|a| format!("arg={a}")).collect();
    let query = if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) };
    let mut req = format!("ws://{addr}/ws{query}").into_client_request()?;
    req.headers_mut().insert("Sec-WebSocket-Protocol", "tty".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.context("ttyd websocket connect")?;
    let hello = format!(r#"{{"AuthToken":"","columns":{cols},"rows":{rows}}}"#);
    ws.send(Message::Text(hello.into())).await?;
    Ok(TtydClient { ws, seen: Vec::new() })
}

impl Drop for Ttyd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One ttyd terminal.
pub struct TtydClient {
    ws: Ws,
    /// What `wait_for` has seen and not consumed yet.
    seen: Vec<u8>,
}

/// How a ttyd socket ended.
pub struct Ended {
    /// The PTY bytes received.
    pub bytes: Vec<u8>,
    /// The close code, if ttyd sent one.
    pub code: Option<u16>,
}

impl TtydClient {
    /// Types `bytes`.
    pub async fn input(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let mut frame = Vec::with_capacity(bytes.len() + 1);
        frame.push(b'0');
        frame.extend_from_slice(bytes);
        self.ws.send(Message::Binary(frame.into())).await?;
        Ok(())
    }

    /// Reads output, counting the PTY bytes into `counter` as they come (a flooding terminal
    /// drained by a client of its own), until the socket ends or `stop` is set (checked after
    /// each message: a flood never leaves it waiting long); returns the total.
    pub async fn drain(
        &mut self,
        counter: &std::sync::atomic::AtomicUsize,
        stop: &std::sync::atomic::AtomicBool,
    ) -> usize {
        use std::sync::atomic::Ordering;
        while let Some(Ok(msg)) = self.ws.next().await {
            if let Message::Binary(b) = msg {
                counter.fetch_add(b.len().saturating_sub(1), Ordering::Relaxed);
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
        counter.load(Ordering::Relaxed)
    }

    /// The next output frame's PTY bytes (other ttyd frames skipped); `None` when the socket ended.
    async fn next_output(&mut self) -> anyhow::Result<Result<Vec<u8>, Option<u16>>> {
        loop {
            let msg =
                tokio::time::timeout(DEADLINE, self.ws.next()).await.context("waiting for ttyd output")?;
            match msg {
                Some(Ok(Message::Binary(b))) if b.first() == Some(&b'0') => return Ok(Ok(b[1..].to_vec())),
                Some(Ok(Message::Close(f))) => return Ok(Err(f.map(|f| u16::from(f.code)))),
                None | Some(Err(_)) => return Ok(Err(None)),
                Some(Ok(_)) => {}
            }
        }
    }

    /// Reads output until ttyd closes the socket (the program exited), at most `rate` bytes per
    /// second when given (a slow reader: the socket is not read ahead of that pace).
    pub async fn read_until_close(&mut self, rate: Option<f64>) -> anyhow::Result<Ended> {
        let started = tokio::time::Instant::now();
        let mut bytes = Vec::new();
        loop {
            match self.next_output().await? {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(code) => return Ok(Ended { bytes, code }),
            }
            if let Some(rate) = rate {
                tokio::time::sleep_until(started + Duration::from_secs_f64(bytes.len() as f64 / rate)).await;
            }
        }
    }

    /// Waits until the output received contains `needle`; what was seen up to it is consumed.
    pub async fn wait_for(&mut self, needle: &[u8]) -> anyhow::Result<()> {
        loop {
            if crate::peers::take_through(&mut self.seen, needle) {
                return Ok(());
            }
            match self.next_output().await? {
                Ok(chunk) => self.seen.extend_from_slice(&chunk),
                Err(code) => bail!("ttyd closed the socket ({code:?}) before {needle:?}"),
            }
        }
    }
}
