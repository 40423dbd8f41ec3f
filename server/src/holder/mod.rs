//! The holder: one small process per worker that owns its PTY master, starts and reaps the
//! program, and serves one gateway at a time over a Unix socket in `DATA_DIR/workers/`, so the
//! gateway can stop, crash or be upgraded without the program noticing.
//!
//! It runs as the hidden `controlroom __holder` subcommand (src/ only dispatches here): the
//! gateway starts it in a new session (`setsid`), it forks once more so it is neither a session
//! leader nor the gateway's child, reads the worker's spec on stdin, binds its socket, starts the
//! program and answers `ok PID` (or `err MESSAGE`) on stdout; then its stdin and stdout go to
//! /dev/null and stderr is its log (`DATA_DIR/workers/ID.log`). While no gateway is attached it
//! keeps reading the PTY into a bounded in-memory log with absolute offsets (`--holder-log`), so
//! the program never blocks on a full terminal; the protocol is in [`wire`].

/// A line in the holder's log (its stderr). Never panics (as `eprintln!` does when the disk
/// is full): a holder must not die because its log cannot be written.
macro_rules! holder_log {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod backend;
mod event_loop;
pub mod peer;
pub mod wire;

use crate::worker::SpawnSpec;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// The hidden subcommand that runs a holder.
pub const SUBCOMMAND: &str = "__holder";

/// Default bound of a holder's output log: 16 MiB, kept in memory (only as much as the program
/// printed: an idle holder's log is empty).
pub const DEFAULT_LOG_BYTES: usize = 16 * 1024 * 1024;

/// Smallest log bound accepted.
pub const MIN_LOG_BYTES: usize = 64 * 1024;

/// Directory of holder sockets and logs inside the data dir.
pub const WORKERS_DIR: &str = "workers";

/// What the gateway writes on a new holder's stdin (JSON).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HolderSpec {
    /// argv.
    pub command: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// PTY columns.
    pub cols: u16,
    /// PTY rows.
    pub rows: u16,
}

/// The socket of worker `key`'s holder in `workers_dir`.
pub fn socket_path(workers_dir: &Path, key: &str) -> PathBuf {
    workers_dir.join(format!("{key}.sock"))
}

/// The log file of worker `key`'s holder in `workers_dir`.
pub fn log_path(workers_dir: &Path, key: &str) -> PathBuf {
    workers_dir.join(format!("{key}.log"))
}

/// Runs a holder serving `socket` with an output log of `log_bytes`; returns the process's
/// exit code. Must be called before any other thread exists (it forks).
#[allow(unsafe_code)]
pub fn main(socket: &Path, log_bytes: usize) -> i32 {
    // SAFETY: the process is single-threaded here (called first thing from `main`), so the
    // child may keep running Rust code after fork.
    match unsafe { libc::fork() } {
        -1 => {
            holder_log!("controlroom holder: fork failed: {}", std::io::Error::last_os_error());
            return 1;
        }
        0 => {}
        // The parent ends at once (the gateway reaps it); the child is adopted by init, is not
        // a session leader and so can never gain a controlling terminal.
        // SAFETY: _exit ends the process without running anything of ours.
        _ => unsafe { libc::_exit(0) },
    }
    let log_bytes = log_bytes.max(MIN_LOG_BYTES);
    let mut out = std::io::stdout();
    match start(socket, log_bytes) {
        Ok(holder) => {
            let _ = writeln!(out, "ok {}", holder.pid());
            let _ = out.flush();
            detach_stdio();
            holder_log!("controlroom holder {}: serving {}", std::process::id(), socket.display());
            holder.run();
            0
        }
        Err(e) => {
            let _ = writeln!(out, "err {e}");
            let _ = out.flush();
            holder_log!("controlroom holder {}: could not start: {e}", std::process::id());
            1
        }
    }
}

fn start(socket: &Path, log_bytes: usize) -> Result<event_loop::Holder, String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).map_err(|e| format!("reading the spec: {e}"))?;
    let spec: HolderSpec = serde_json::from_str(&text).map_err(|e| format!("bad spec: {e}"))?;
    // Bound before the program starts, so a failure leaves nothing running.
    let listener = bind(socket).map_err(|e| format!("binding {}: {e}", socket.display()))?;
    let spawn = SpawnSpec {
        key: String::new(),
        command: spec.command,
        cwd: spec.cwd,
        env: spec.env,
        cols: spec.cols,
        rows: spec.rows,
        activity: None,
    };
    let (master, child) = match crate::worker::pty::spawn_on_pty(&spawn) {
        Ok(started) => started,
        Err(e) => {
            let _ = std::fs::remove_file(socket);
            // The gateway names the command itself; only the reason goes back.
            return Err(match e {
                crate::worker::WorkerError::Spawn { message, .. } => message,
                other => other.to_string(),
            });
        }
    };
    // The program has its own cwd; the holder keeps none busy (an unmount, a deleted dir).
    let _ = std::env::set_current_dir("/");
    event_loop::Holder::new(listener, socket.to_path_buf(), master, child, (spec.cols, spec.rows), log_bytes)
}

/// Binds `path` (0600); a stale socket left by a holder that is gone (a reboot) is replaced,
/// a live one is not.
fn bind(path: &Path) -> std::io::Result<UnixListener> {
    let listener = match UnixListener::bind(path) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            if UnixStream::connect(path).is_ok() {
                return Err(std::io::Error::other("another holder is serving this socket"));
            }
            std::fs::remove_file(path)?;
            UnixListener::bind(path)?
        }
        Err(e) => return Err(e),
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Points stdin and stdout at /dev/null: the gateway that started us may be gone any time.
#[allow(unsafe_code)]
fn detach_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        use std::os::fd::AsRawFd as _;
        // SAFETY: dup2 on descriptors we own; 0 and 1 are replaced atomically.
        unsafe {
            libc::dup2(null.as_raw_fd(), 0);
            libc::dup2(null.as_raw_fd(), 1);
        }
    }
}
