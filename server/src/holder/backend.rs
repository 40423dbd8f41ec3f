//! The gateway's side of holders, and its default PTY backend: each worker's PTY is held by a
//! holder process (`controlroom __holder`, the rest of this module) that outlives the gateway; the gateway reaches it over its
//! Unix socket, on start (spawn) and after a restart (adopt).
//!
//! On the gateway's side a holder looks like any PTY: the reader thread reads `Output` frames
//! straight into its buffer (one copy), input and control messages go through one writer thread
//! per holder (a bounded queue: the actor never blocks on the socket), and the reader ends at
//! the holder's `Exited` frame (the real exit) or at a dropped connection (`lost`).

use super::wire::{self, Exit, Frame};
use crate::holder::{self, HolderSpec};
use crate::worker::pty::{
    AdoptError, Adopted, GroupSignal, ProcessWaiter, PtyBackend, PtyControl, PtyInput, PtyProcess,
};
use crate::worker::{ExitInfo, SpawnSpec, WorkerError};
use std::io::{BufRead as _, BufReader, Read, Write};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Frames queued for a holder's socket before input waits (and control messages fail).
const TO_HOLDER_QUEUE: usize = 256;
/// How long a holder has to say hello (it answers at once unless wedged).
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts every worker in its own holder process.
#[derive(Debug, Clone)]
pub struct HolderBackend {
    exe: PathBuf,
    dir: PathBuf,
    log_bytes: usize,
}

impl HolderBackend {
    /// Holders run `exe __holder`, keep `log_bytes` of output each while no gateway is
    /// attached, and put their sockets in `DATA_DIR/workers/` (created 0700).
    pub fn new(exe: PathBuf, data_dir: &Path, log_bytes: usize) -> std::io::Result<Self> {
        let dir = data_dir.join(holder::WORKERS_DIR);
        std::fs::create_dir_all(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        Ok(Self { exe, dir, log_bytes })
    }

    fn start_holder(&self, spec: &SpawnSpec) -> Result<(), String> {
        let socket = holder::socket_path(&self.dir, &spec.key);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(holder::log_path(&self.dir, &spec.key))
            .map_err(|e| format!("opening the holder log: {e}"))?;
        let mut cmd = std::process::Command::new(&self.exe);
        cmd.arg(holder::SUBCOMMAND)
            .arg("--socket")
            .arg(&socket)
            .arg("--holder-log")
            .arg(self.log_bytes.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(log);
        // A new session: out of the gateway's process group, so a terminal's SIGINT/SIGHUP to
        // the gateway's group never reaches it (the holder then forks once more).
        #[allow(unsafe_code)]
        // SAFETY: setsid is async-signal-safe and touches no memory.
        unsafe {
            use std::os::unix::process::CommandExt as _;
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| format!("starting {}: {e}", self.exe.display()))?;
        let body = HolderSpec {
            command: spec.command.clone(),
            cwd: spec.cwd.clone(),
            env: spec.env.clone(),
            cols: spec.cols,
            rows: spec.rows,
        };
        let text = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(&text).map_err(|e| format!("sending the spec to the holder: {e}"))?;
        }
        // The first process forks and exits at once; its child (the holder) keeps the pipes.
        let _ = child.wait();
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout).read_line(&mut line).map_err(|e| format!("reading the holder: {e}"))?;
        }
        match line.trim().split_once(' ') {
            Some(("ok", _)) => Ok(()),
            Some(("err", why)) => Err(why.to_owned()),
            _ => Err(format!(
                "the holder did not start (see {})",
                holder::log_path(&self.dir, &spec.key).display()
            )),
        }
    }
}

impl PtyBackend for HolderBackend {
    fn spawn(&self, spec: &SpawnSpec) -> Result<PtyProcess, WorkerError> {
        if spec.command.is_empty() {
            return Err(WorkerError::Invalid("command must not be empty".into()));
        }
        let fail = |message: String| WorkerError::Spawn { command: spec.command.join(" "), message };
        self.start_holder(spec).map_err(fail)?;
        let socket = holder::socket_path(&self.dir, &spec.key);
        connect(&socket, 0).map(|a| a.process).map_err(|e| fail(e.to_string()))
    }

    fn adopt(&self, key: &str, from: u64) -> Result<Adopted, AdoptError> {
        connect(&holder::socket_path(&self.dir, key), from)
    }

    fn outlives_gateway(&self) -> bool {
        true
    }
}

/// Connects to the holder at `socket` and attaches from stream offset `from`.
pub fn connect(socket: &Path, from: u64) -> Result<Adopted, AdoptError> {
    let mut stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
        // Missing or refusing: no holder listens (a reboot, or it was killed).
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            AdoptError::Lost(format!("{}: {e}", socket.display()))
        }
        _ => AdoptError::Unusable(format!("{}: {e}", socket.display())),
    })?;
    let unusable = |why: String| AdoptError::Unusable(format!("{}: {why}", socket.display()));
    stream.set_read_timeout(Some(HELLO_TIMEOUT)).map_err(|e| unusable(e.to_string()))?;
    let hello = Frame::read_from(&mut stream).map_err(|e| unusable(e.to_string()))?;
    let (pid, log_start, log_end, cols, rows) = match hello {
        Some(Frame::Hello { version, pid, log_start, log_end, cols, rows }) => {
            if version != wire::VERSION {
                return Err(unusable(format!(
                    "holder (pid of its program {pid}) speaks holder protocol {version}, this gateway {}",
                    wire::VERSION
                )));
            }
            (pid, log_start, log_end, cols, rows)
        }
        Some(Frame::Busy) => return Err(unusable("another gateway is attached to it".into())),
        Some(other) => return Err(unusable(format!("unexpected first frame {other:?}"))),
        None => return Err(unusable("it closed the connection (see its log)".into())),
    };
    let from = from.min(log_end);
    let gap = log_start.saturating_sub(from);
    Frame::Attach { version: wire::VERSION, from }
        .write_to(&mut stream)
        .map_err(|e| unusable(e.to_string()))?;
    stream.set_read_timeout(None).map_err(|e| unusable(e.to_string()))?;
    let write_half = stream.try_clone().map_err(|e| unusable(e.to_string()))?;
    let (tx, rx) = sync_channel(TO_HOLDER_QUEUE);
    std::thread::Builder::new()
        .name("cr-holder-write".into())
        .spawn(move || write_frames(write_half, rx))
        .map_err(|e| unusable(e.to_string()))?;
    let slot = Arc::new(Mutex::new(None));
    let process = PtyProcess {
        reader: Box::new(HolderReader { stream, pending: Vec::new(), pos: 0, slot: slot.clone() }),
        writer: Box::new(HolderInput { tx: tx.clone() }),
        control: Box::new(HolderControl { pid, tx: tx.clone() }),
        waiter: Box::new(HolderWaiter { slot }),
    };
    Ok(Adopted { process, gap, cols, rows })
}

fn write_frames(mut stream: UnixStream, rx: Receiver<Frame>) {
    let mut buf = Vec::new();
    while let Ok(frame) = rx.recv() {
        buf.clear();
        frame.encode(&mut buf);
        // Whatever else is queued goes in the same write.
        while let Ok(more) = rx.try_recv() {
            more.encode(&mut buf);
        }
        if stream.write_all(&buf).is_err() {
            break;
        }
    }
}

/// Output from the holder: `Output` frames' bytes, read straight into the caller's buffer;
/// end of stream at `Exited` (recorded in `slot`) or when the holder is gone.
struct HolderReader {
    stream: UnixStream,
    /// A frame larger than the caller's buffer, handed out over several reads.
    pending: Vec<u8>,
    pos: usize,
    slot: Arc<Mutex<Option<Exit>>>,
}

impl Read for HolderReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.pos < self.pending.len() {
                let n = (self.pending.len() - self.pos).min(buf.len());
                buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            let mut head = [0u8; 5];
            if self.stream.read_exact(&mut head).is_err() {
                return Ok(0);
            }
            let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
            if len == 0 || len > wire::MAX_FRAME {
                return Ok(0);
            }
            if head[4] == wire::OUTPUT_TYPE && len >= 9 {
                let mut offset = [0u8; 8];
                self.stream.read_exact(&mut offset)?;
                let n = len - 9;
                if n <= buf.len() {
                    self.stream.read_exact(&mut buf[..n])?;
                    if n > 0 {
                        return Ok(n);
                    }
                    continue;
                }
                self.pending.resize(n, 0);
                self.pos = 0;
                self.stream.read_exact(&mut self.pending)?;
                continue;
            }
            let mut body = vec![0u8; len];
            body[0] = head[4];
            self.stream.read_exact(&mut body[1..])?;
            if let Ok(Frame::Exited { exit }) = Frame::decode(&body) {
                if let Ok(mut slot) = self.slot.lock() {
                    *slot = Some(exit);
                }
                return Ok(0);
            }
        }
    }
}

/// Input for the program (used on the worker's writer thread, so it may wait for room).
struct HolderInput {
    tx: SyncSender<Frame>,
}

/// Most input bytes per frame (a paste can be megabytes; frames stay far under `MAX_FRAME`).
const INPUT_FRAME: usize = 64 * 1024;

/// How long the writer thread waits before trying a full queue again (it is off the runtime,
/// and a full queue means the program is not reading its input anyway).
const FULL_QUEUE_RETRY: Duration = Duration::from_millis(5);

impl PtyInput for HolderInput {
    fn write_all_unless(&mut self, bytes: &[u8], stop: &dyn Fn() -> bool) -> std::io::Result<()> {
        let gone = || std::io::Error::new(std::io::ErrorKind::BrokenPipe, "holder gone");
        for chunk in bytes.chunks(INPUT_FRAME) {
            let mut frame = Frame::Input { data: chunk.to_vec() };
            loop {
                match self.tx.try_send(frame) {
                    Ok(()) => break,
                    Err(TrySendError::Disconnected(_)) => return Err(gone()),
                    Err(TrySendError::Full(back)) => {
                        if stop() {
                            return Err(std::io::Error::other("the worker is gone"));
                        }
                        frame = back;
                        std::thread::sleep(FULL_QUEUE_RETRY);
                    }
                }
            }
        }
        Ok(())
    }
}

struct HolderControl {
    pid: u32,
    tx: SyncSender<Frame>,
}

impl HolderControl {
    fn send(&self, frame: Frame) -> std::io::Result<()> {
        self.tx.try_send(frame).map_err(|e| match e {
            TrySendError::Full(_) => std::io::Error::other("the holder's queue is full"),
            TrySendError::Disconnected(_) => {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "holder gone")
            }
        })
    }
}

impl PtyControl for HolderControl {
    fn pid(&self) -> Option<u32> {
        Some(self.pid)
    }

    fn resize(&self, cols: u16, rows: u16) -> std::io::Result<()> {
        self.send(Frame::Resize { cols, rows })
    }

    fn signal_group(&self, signal: GroupSignal) -> std::io::Result<()> {
        let signal = match signal {
            GroupSignal::Hangup => libc::SIGHUP,
            GroupSignal::Kill => libc::SIGKILL,
        };
        self.send(Frame::Signal { signal })
    }

    fn outlives_gateway(&self) -> bool {
        true
    }

    fn ack_exit(&self) -> std::io::Result<()> {
        self.send(Frame::AckExit)
    }
}

struct HolderWaiter {
    slot: Arc<Mutex<Option<Exit>>>,
}

impl ProcessWaiter for HolderWaiter {
    fn wait(self: Box<Self>) -> ExitInfo {
        let exit = self.slot.lock().ok().and_then(|mut s| s.take());
        match exit {
            // Not acknowledged here: the hub does, through the control, once its store has
            // committed the exit (`PtyControl::ack_exit`).
            Some(exit) => exit_info(exit),
            None => ExitInfo { exit_code: None, signal: Some(controlroom_protocol::WORKER_LOST.into()) },
        }
    }
}

/// The exit as the gateway reports it.
pub(crate) fn exit_info(exit: Exit) -> ExitInfo {
    match exit {
        Exit::Code(code) => ExitInfo { exit_code: Some(code), signal: None },
        Exit::Signal(sig) => ExitInfo { exit_code: None, signal: Some(crate::worker::pty::signal_name(sig)) },
    }
}
