//! The bare WebSocket forwarder peer: what a WebSocket relay with no screen model, no ring and no
//! auth achieves, the realistic ceiling for any gateway. It runs as a separate process (this
//! binary re-executed with `--forwarder-child`, so it has its own runtime like the gateway): per
//! connection it spawns the command in a 200×50 PTY, sends each PTY read as one binary frame,
//! writes the client's frames into the PTY, and closes the socket after EOF. Deliberately the
//! minimal design, not tuned.

use crate::gateway::{DEADLINE, Ws};
use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// The hidden flag that turns the harness binary into the forwarder (not in the usage text).
pub const CHILD_FLAG: &str = "--forwarder-child";

/// What the forwarder prints, followed by its port, once it listens.
const READY: &str = "forwarder listening on port";

/// Bytes per PTY read (the raw PTY peer reads the same).
const READ_CHUNK: usize = 64 * 1024;

/// PTY reads queued towards the socket before the reader thread waits (backpressure to the PTY).
const OUTPUT_QUEUE: usize = 64;

/// Client frames queued towards the PTY writer thread.
const INPUT_QUEUE: usize = 64;

/// The forwarder process's entry point: `--forwarder-child COMMAND [ARG...]`. Serves until killed.
pub fn serve(argv: Vec<String>) -> anyhow::Result<()> {
    anyhow::ensure!(!argv.is_empty(), "{CHILD_FLAG} needs a command to run per connection");
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.context("binding 127.0.0.1:0")?;
        println!("{READY} {}", listener.local_addr()?.port());
        let argv = Arc::new(argv);
        loop {
            let (stream, _) = listener.accept().await?;
            let argv = argv.clone();
            tokio::spawn(async move {
                if let Err(e) = forward(stream, &argv).await {
                    eprintln!("forwarder: {e:#}");
                }
            });
        }
    })
}

/// One connection: a PTY running `argv`, relayed both ways until EOF (or the client leaves).
async fn forward(stream: TcpStream, argv: &[String]) -> anyhow::Result<()> {
    let ws = tokio_tungstenite::accept_async(stream).await.context("websocket handshake")?;
    let pair = native_pty_system()
        .openpty(PtySize { rows: 50, cols: 200, pixel_width: 0, pixel_height: 0 })
        .context("openpty")?;
    let mut cmd = CommandBuilder::new(&argv[0]);
    cmd.args(&argv[1..]);
    cmd.cwd("/tmp");
    cmd.env("TERM", "xterm-256color");
    let mut child = pair.slave.spawn_command(cmd).context("spawn in pty")?;
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().context("pty reader")?;
    let mut writer = pair.master.take_writer().context("pty writer")?;

    // PTY reads block, so they run on their own thread; so do PTY writes.
    let (out_tx, mut out_rx) = mpsc::channel::<Vec<u8>>(OUTPUT_QUEUE);
    std::thread::Builder::new().name("fwd-pty-read".into()).spawn(move || {
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            match reader.read(&mut buf) {
                // EIO once the program and its children closed the PTY: that is EOF too.
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if out_tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    })?;
    let (in_tx, mut in_rx) = mpsc::channel::<Vec<u8>>(INPUT_QUEUE);
    std::thread::Builder::new().name("fwd-pty-write".into()).spawn(move || {
        while let Some(bytes) = in_rx.blocking_recv() {
            if writer.write_all(&bytes).and_then(|()| writer.flush()).is_err() {
                break;
            }
        }
    })?;

    let (mut sink, mut source) = ws.split();
    let eof = loop {
        tokio::select! {
            chunk = out_rx.recv() => match chunk {
                Some(bytes) => sink.send(Message::Binary(bytes.into())).await?,
                None => break true,
            },
            msg = source.next() => {
                let bytes = match msg {
                    Some(Ok(Message::Binary(b))) => b.to_vec(),
                    Some(Ok(Message::Text(t))) => t.as_str().as_bytes().to_vec(),
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => break false,
                };
                if in_tx.send(bytes).await.is_err() {
                    break false;
                }
            }
        }
    };
    if eof {
        // Every read was sent above; the close frame follows them.
        sink.close().await?;
    }
    let _ = child.kill();
    tokio::task::spawn_blocking(move || child.wait());
    drop(pair.master);
    Ok(())
}

/// A running forwarder process, killed on drop.
pub struct Forwarder {
    child: Child,
    /// `127.0.0.1:PORT`.
    addr: String,
}

impl Forwarder {
    /// Starts the forwarder (this binary in its hidden mode), running `argv` per connection.
    pub fn start(argv: &[&str]) -> anyhow::Result<Forwarder> {
        let exe = std::env::current_exe().context("locating the harness binary")?;
        let mut child = Command::new(exe)
            .arg(CHILD_FLAG)
            .args(argv)
            .env("SHELL", "/bin/sh")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the forwarder")?;
        let stdout = child.stdout.take().context("forwarder stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).context("reading the forwarder's ready line")?;
        let port = line.trim().strip_prefix(READY).map(str::trim);
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("unexpected forwarder ready line {line:?}");
        };
        Ok(Forwarder { addr: format!("127.0.0.1:{port}"), child })
    }

    /// A new connection (the forwarder spawns the command for it).
    pub async fn connect(&self) -> anyhow::Result<ForwarderClient> {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/", self.addr))
            .await
            .context("forwarder websocket connect")?;
        Ok(ForwarderClient { ws, seen: Vec::new() })
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client of the forwarder: binary frames both ways.
pub struct ForwarderClient {
    ws: Ws,
    /// What `wait_for` has seen and not consumed yet.
    seen: Vec<u8>,
}

impl ForwarderClient {
    /// Types `bytes` (one binary frame).
    pub async fn input(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.ws.send(Message::Binary(bytes.to_vec().into())).await?;
        Ok(())
    }

    /// Collects binary frames until the forwarder closes the socket; returns everything received.
    pub async fn read_until_close(&mut self) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let msg = tokio::time::timeout(DEADLINE, self.ws.next()).await.context("waiting for output")?;
            match msg {
                Some(Ok(Message::Binary(b))) => out.extend_from_slice(&b),
                Some(Ok(Message::Close(_))) | None => return Ok(out),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// Waits until the output received contains `needle`; what was seen up to it is consumed.
    pub async fn wait_for(&mut self, needle: &[u8]) -> anyhow::Result<()> {
        loop {
            if crate::peers::take_through(&mut self.seen, needle) {
                return Ok(());
            }
            let msg = tokio::time::timeout(DEADLINE, self.ws.next()).await.context("waiting for output")?;
            match msg {
                Some(Ok(Message::Binary(b))) => self.seen.extend_from_slice(&b),
                Some(Ok(Message::Close(f))) => bail!("forwarder closed the socket: {f:?}"),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => bail!("forwarder socket ended"),
            }
        }
    }
}
