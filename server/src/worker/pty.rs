//! The PTY behind a narrow interface, with a portable-pty implementation (the PTY in the
//! gateway's process: blocking reader and writer halves, each driven by a thread) and, in
//! `crate::holder::backend`, the default one: each PTY held by a holder process that outlives the
//! gateway, reached through a non-blocking [`PtyLink`] the worker actor drives on the runtime
//! itself (no thread per worker).

use super::pty_io::{MasterReader, MasterWriter, set_nonblocking};
use super::{ExitInfo, SpawnSpec, WorkerError};
use portable_pty::{MasterPty, PtySize};
use rustix::process::{Pid, Signal, WaitOptions};
use std::io::Read;
use std::os::fd::{OwnedFd, RawFd};
use std::task::{Context, Poll};
use tokio::sync::OwnedSemaphorePermit;

mod prefork;
mod spawn;
pub(crate) use prefork::Preforked;
pub(crate) use spawn::{Start, resolve, spawn_on_pty};

/// Signals a worker's process group can be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupSignal {
    /// SIGHUP: the terminal went away.
    Hangup,
    /// SIGKILL.
    Kill,
}

/// A start finishing on the runtime (see [`PtyBackend::spawn_on_runtime`]).
pub type SpawnFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<PtyProcess, WorkerError>> + Send>>;

/// Starts processes in new PTYs.
pub trait PtyBackend: Send + Sync {
    /// Spawns `spec` as the leader of a new session on a new PTY. Blocking.
    fn spawn(&self, spec: &SpawnSpec) -> Result<PtyProcess, WorkerError>;

    /// Starts `spec` with no blocking thread when the backend can: what must not wait (a spare
    /// holder sent its spec, so the program starts now) is done in this call, which never
    /// blocks, and the future finishes on the runtime. `None`: start it with
    /// [`PtyBackend::spawn`] off the runtime. Must be called within a tokio runtime.
    fn spawn_on_runtime(&self, spec: &SpawnSpec) -> Option<SpawnFuture> {
        let _ = spec;
        None
    }

    /// Reconnects to the still-running worker `key` (a worker id) left by an earlier gateway,
    /// asking for its output from stream offset `from`. Blocking (a local connect and one
    /// answer, with a deadline).
    fn adopt(&self, key: &str, from: u64) -> Result<Adopted, AdoptError> {
        let _ = (key, from);
        Err(AdoptError::Unsupported)
    }

    /// Whether its processes keep running when the gateway stops (so stopping the gateway
    /// leaves them alone unless asked to stop them).
    fn outlives_gateway(&self) -> bool {
        false
    }

    /// Gets ready for the next [`PtyBackend::spawn`] (a holder backend starts its spare
    /// holders). Blocking; called off the runtime at start, after a spawn used what was ready,
    /// never on a worker's start path.
    fn replenish(&self) {}

    /// The gateway is stopping: lets go of what [`PtyBackend::replenish`] prepared.
    fn shutdown(&self) {}

    /// The keys of processes it keeps that none of `known` (every stored worker) owns: started
    /// by a gateway that stopped before it recorded them. Quick (a directory listing).
    fn strays(&self, known: &std::collections::BTreeSet<String>) -> Vec<String> {
        let _ = known;
        Vec::new()
    }

    /// Stops stray `key` (SIGHUP, SIGKILL after `grace`) and lets its keeper end; says what it
    /// did. Blocking.
    fn stop_stray(&self, key: &str, grace: std::time::Duration) -> Result<&'static str, String> {
        let _ = (key, grace);
        Ok("nothing to stop")
    }
}

/// A worker taken over from an earlier gateway.
#[derive(Debug)]
pub struct Adopted {
    /// The live process; its reader yields output from `from + gap` on.
    pub process: PtyProcess,
    /// Bytes between the offset asked for and the oldest one the holder still had (its log
    /// bound was passed while no gateway ran); they are lost and marked as a gap.
    pub gap: u64,
    /// The PTY's size now.
    pub cols: u16,
    /// The PTY's size now.
    pub rows: u16,
}

/// Why a worker could not be adopted.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    /// This backend's processes never outlive a gateway.
    #[error("this backend cannot adopt workers")]
    Unsupported,
    /// The holder is gone (its socket is missing or refuses): the program is gone too.
    #[error("the worker's holder is gone: {0}")]
    Lost(String),
    /// The holder answers but cannot be used (another protocol version, another gateway
    /// attached, a broken answer); it is left running.
    #[error("the worker's holder cannot be adopted: {0}")]
    Unusable(String),
}

/// A running process on a PTY.
pub enum PtyProcess {
    /// Blocking halves, each driven by a thread of its own (a PTY in this process: its reads
    /// block).
    Threads(ThreadedPty),
    /// A non-blocking link the worker actor drives on the runtime itself (a holder's socket).
    Link(Box<dyn PtyLink>),
}

/// A process on a PTY split into the parts that live on different threads.
pub struct ThreadedPty {
    /// Blocking reader of the PTY output (EOF or EIO once every slave fd is closed).
    pub reader: Box<dyn Read + Send>,
    /// Writer of the PTY input; waits while the program does not read its input.
    pub writer: Box<dyn PtyInput>,
    /// Resize and signals.
    pub control: Box<dyn PtyControl>,
    /// Reaps the process.
    pub waiter: Box<dyn ProcessWaiter>,
}

impl PtyProcess {
    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        match self {
            PtyProcess::Threads(t) => t.control.pid(),
            PtyProcess::Link(l) => l.pid(),
        }
    }
}

impl std::fmt::Debug for PtyProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PtyProcess").field("pid", &self.pid()).finish_non_exhaustive()
    }
}

/// What a [`PtyLink`] hands the actor.
#[derive(Debug)]
pub enum LinkOutput {
    /// Output bytes, in stream order.
    Data(Vec<u8>),
    /// The process ended, after every byte before it was taken.
    Exit(ExitInfo),
}

/// A PTY behind one non-blocking connection that the worker actor polls from its own task:
/// output, input and control share it, so a keystroke and its echo cross no thread of the
/// gateway's. Every method returns at once; `poll_*` register the task's waker when they
/// cannot make progress.
pub trait PtyLink: PtyControl {
    /// Reads output until at least `want` bytes wait to be taken (or the stream ended), reading
    /// no more than makes `max` wait. `Pending` (woken when more arrives) otherwise.
    fn poll_fill(&mut self, cx: &mut Context<'_>, want: usize, max: usize) -> Poll<()>;
    /// Output bytes read and not yet taken.
    fn buffered(&self) -> usize;
    /// Takes up to `max` bytes of output, or the exit once every byte was taken; `None` when
    /// nothing waits.
    fn take(&mut self, max: usize) -> Option<LinkOutput>;
    /// Whether the next [`PtyLink::take`] returns the exit.
    fn at_exit(&self) -> bool;
    /// Queues `bytes` for the program's input and writes what the connection takes now;
    /// `share` (its room in the worker's input budget) is released once every byte is written.
    /// Fails once the connection is broken.
    fn queue_input(&mut self, bytes: &[u8], share: Option<OwnedSemaphorePermit>) -> std::io::Result<()>;
    /// Whether queued bytes wait for room in the connection.
    fn wants_flush(&self) -> bool;
    /// Writes queued bytes while the connection takes them; `Ready` once none wait (or it broke).
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}

/// Writes the program's input (on the writer thread).
pub trait PtyInput: Send {
    /// Writes all of `bytes`, waiting while the program does not read; gives up with an error
    /// when the program's side of the terminal is closed, or when `stop` (asked at least every
    /// 100 ms while waiting) says the worker is gone.
    fn write_all_unless(&mut self, bytes: &[u8], stop: &dyn Fn() -> bool) -> std::io::Result<()>;
}

impl PtyInput for MasterWriter {
    fn write_all_unless(&mut self, bytes: &[u8], stop: &dyn Fn() -> bool) -> std::io::Result<()> {
        MasterWriter::write_all_unless(self, bytes, stop)
    }
}

/// Resizes the PTY and signals the process group; owned by the worker actor.
pub trait PtyControl: Send {
    /// The process id (also its process group and session id).
    fn pid(&self) -> Option<u32>;
    /// Sets the PTY size (the kernel sends SIGWINCH).
    fn resize(&mut self, cols: u16, rows: u16) -> std::io::Result<()>;
    /// Sends `signal` to the whole process group.
    fn signal_group(&mut self, signal: GroupSignal) -> std::io::Result<()>;
    /// Whether the process keeps running when this control is dropped (a holder's does; an
    /// in-process PTY's gets SIGHUP).
    fn outlives_gateway(&self) -> bool {
        false
    }
    /// A committed screen save covers the process's output up to stream offset `offset`: a
    /// holder may forget what it kept before it (the next gateway resumes from that screen).
    fn saved(&mut self, offset: u64) -> std::io::Result<()> {
        let _ = offset;
        Ok(())
    }
    /// After the process exited: its exit is recorded (committed to the store), so whoever
    /// kept it for the gateway (a holder) may forget it. Until then a holder keeps the exit for
    /// the next gateway, so a crash between exit and commit loses nothing.
    fn ack_exit(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Waits for the process to end; called once, on the reader thread, after output EOF.
pub trait ProcessWaiter: Send {
    /// Blocks until the process has exited and been reaped.
    fn wait(self: Box<Self>) -> ExitInfo;
}

/// The portable-pty backend (the host's native PTYs).
#[derive(Debug, Default, Clone, Copy)]
pub struct PortablePty;

fn spawn_error(spec: &SpawnSpec, e: impl std::fmt::Display) -> WorkerError {
    WorkerError::Spawn { command: spec.command.join(" "), message: e.to_string() }
}

impl PtyBackend for PortablePty {
    fn spawn(&self, spec: &SpawnSpec) -> Result<PtyProcess, WorkerError> {
        let (master, pid) = spawn_on_pty(spec, Start::Spawn)?;
        let pair = PairMaster { master };
        let pid = Some(pid);
        let io = pair
            .master
            .as_raw_fd()
            .ok_or_else(|| std::io::Error::other("the PTY has no descriptor"))
            .and_then(|fd| Ok((dup_master(fd)?, dup_master(fd)?)))
            .and_then(|(r, w)| set_nonblocking(&r).map(|()| (r, w)));
        let (reader, writer) = match io {
            Ok(fds) => fds,
            Err(e) => {
                let _ = killpg_of(pid, Signal::KILL);
                return Err(spawn_error(spec, e));
            }
        };
        Ok(PtyProcess::Threads(ThreadedPty {
            reader: Box::new(MasterReader::new(reader)),
            writer: Box::new(MasterWriter::new(writer)),
            control: Box::new(PortableControl { master: pair.master, pid }),
            waiter: Box::new(PortableWaiter { pid }),
        }))
    }
}

struct PortableControl {
    master: Box<dyn MasterPty + Send>,
    pid: Option<u32>,
}

impl PtyControl for PortableControl {
    fn pid(&self) -> Option<u32> {
        self.pid
    }

    fn resize(&mut self, cols: u16, rows: u16) -> std::io::Result<()> {
        self.master
            .resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .map_err(std::io::Error::other)
    }

    fn signal_group(&mut self, signal: GroupSignal) -> std::io::Result<()> {
        let pid = self.pid.ok_or_else(|| std::io::Error::other("process has no pid"))?;
        let sig = match signal {
            GroupSignal::Hangup => Signal::HUP,
            GroupSignal::Kill => Signal::KILL,
        };
        killpg(pid, sig)
    }
}

/// The master half, named as the code above it expects.
struct PairMaster {
    master: Box<dyn MasterPty + Send>,
}

/// A descriptor of its own for the master `fd` (the same open file: its non-blocking mode is
/// shared).
#[allow(unsafe_code)]
fn dup_master(fd: RawFd) -> std::io::Result<OwnedFd> {
    // SAFETY: `fd` is the master of a PTY pair the caller holds open for the whole call.
    let master = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    Ok(rustix::io::dup(master)?)
}

/// Signals the process group of a child that could not be set up, if it has a pid.
fn killpg_of(pid: Option<u32>, sig: Signal) -> std::io::Result<()> {
    killpg(pid.ok_or_else(|| std::io::Error::other("process has no pid"))?, sig)
}

/// Sends `sig` to process group `pgid`.
pub(crate) fn killpg(pgid: u32, sig: Signal) -> std::io::Result<()> {
    let raw = i32::try_from(pgid).map_err(std::io::Error::other)?;
    if raw <= 1 {
        return Err(std::io::Error::other("refusing to signal process group <= 1"));
    }
    let pgid =
        Pid::from_raw(raw).ok_or_else(|| std::io::Error::other("refusing to signal process group 0"))?;
    Ok(rustix::process::kill_process_group(pgid, sig)?)
}

/// Waits for `pid` and returns its raw wait status.
pub(crate) fn waitpid(pid: Pid) -> std::io::Result<i32> {
    loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Ok(Some((_, status))) => return Ok(status.as_raw()),
            // Only `NOHANG` waits return no status; this one blocks.
            Ok(None) => return Err(std::io::Error::other("waitpid returned no status")),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

struct PortableWaiter {
    pid: Option<u32>,
}

impl ProcessWaiter for PortableWaiter {
    fn wait(self: Box<Self>) -> ExitInfo {
        let pid = self.pid.and_then(|p| i32::try_from(p).ok()).and_then(Pid::from_raw);
        match pid.map(waitpid) {
            Some(Ok(raw)) => {
                use std::os::unix::process::ExitStatusExt as _;
                let status = std::process::ExitStatus::from_raw(raw);
                ExitInfo { exit_code: status.code(), signal: status.signal().map(signal_name) }
            }
            Some(Err(e)) => ExitInfo { exit_code: None, signal: Some(format!("wait failed: {e}")) },
            None => ExitInfo { exit_code: None, signal: Some("wait failed: no pid".into()) },
        }
    }
}

/// `SIGKILL` for 9, and so on; `SIG<n>` for the rest.
pub(crate) fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGCONT => "SIGCONT",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGTSTP => "SIGTSTP",
        libc::SIGTTIN => "SIGTTIN",
        libc::SIGTTOU => "SIGTTOU",
        libc::SIGURG => "SIGURG",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGVTALRM => "SIGVTALRM",
        libc::SIGPROF => "SIGPROF",
        libc::SIGWINCH => "SIGWINCH",
        libc::SIGSYS => "SIGSYS",
        other => return format!("SIG{other}"),
    };
    name.to_owned()
}
