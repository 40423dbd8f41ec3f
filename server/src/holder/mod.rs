//! The holder: one small process per worker that owns its PTY master, starts and reaps the
//! program, and serves one gateway at a time over a Unix socket in `DATA_DIR/workers/`, so the
//! gateway can stop, crash or be upgraded without the program noticing.
//!
//! It runs as the hidden `controlroom __holder` subcommand (src/ only dispatches here): the
//! gateway starts it, it leaves the gateway's session (`setsid`) and forks once more so it is
//! neither a session leader nor the gateway's child, reads the worker's spec on stdin, binds its
//! socket, starts the program and answers `ok PID` (or `err MESSAGE`) on stdout; then its stdin
//! and stdout go to /dev/null and stderr is its log (`DATA_DIR/workers/ID.log`). While no
//! gateway is attached it keeps reading the PTY into a bounded in-memory log with absolute
//! offsets (`--holder-log`), so the program never blocks on a full terminal; the protocol is in
//! [`wire`].
//!
//! With `--spare` it starts with no program (`spare.rs`): the gateway keeps it ready and, for a
//! new worker, sends it the spec over the socket instead of starting a holder then.

/// A line in the holder's log (its stderr). Never panics (as `eprintln!` does when the disk
/// is full): a holder must not die because its log cannot be written.
macro_rules! holder_log {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        // One write per line (stderr is unbuffered: `writeln!` would write each piece).
        let mut line = format!($($arg)*);
        line.push('\n');
        let _ = std::io::stderr().write_all(line.as_bytes());
    }};
}

pub mod backend;
mod event_loop;
mod fdpass;
mod log;
pub mod peer;
mod shed;
mod spare;
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

/// Spare holders kept started ahead by default (`--spare-holders`).
pub const DEFAULT_SPARE_HOLDERS: usize = 1;

/// Most spare holders a gateway keeps (`--spare-holders`): each is an idle process.
pub const MAX_SPARE_HOLDERS: usize = 16;

/// Default `--spare-replenish-after`: how long after a spare was taken the next one starts. A
/// holder's start (an exec of the gateway binary, its loader, a fork) costs a few ms of CPU,
/// which on a small machine the new worker's program, its first output and the gateway's answer
/// would otherwise share. A second worker within that time gets a new holder, as one past the
/// spares always did.
pub const DEFAULT_SPARE_REPLENISH_AFTER: std::time::Duration = std::time::Duration::from_millis(50);

/// Default `--holder-hello-timeout`: how long a holder has to say hello (it answers at once
/// unless wedged).
pub const DEFAULT_HELLO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Default `--spare-retries`: times a failed round of starting spares is tried again before
/// waiting for the next worker's start.
pub const DEFAULT_SPARE_RETRIES: usize = 3;

/// Most `--spare-retries`.
pub const MAX_SPARE_RETRIES: usize = 100;

/// Default `--spare-retry-wait`: how long after a failed round of starting spares the next is
/// tried.
pub const DEFAULT_SPARE_RETRY_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

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
    /// The worker's key, sent to a spare only: it takes the worker's socket and log names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Stream offset of the program's first byte (a restarted worker's output goes on from
    /// its last one): the log counts from here, as the gateway does. Absent from a gateway of
    /// protocol version 1: 0.
    #[serde(default)]
    pub offset: u64,
}

/// The socket of worker `key`'s holder in `workers_dir`.
pub fn socket_path(workers_dir: &Path, key: &str) -> PathBuf {
    workers_dir.join(format!("{key}.sock"))
}

/// The log file of worker `key`'s holder in `workers_dir`.
pub fn log_path(workers_dir: &Path, key: &str) -> PathBuf {
    workers_dir.join(format!("{key}.log"))
}

/// The flag that starts a spare holder (no spec on stdin; the gateway sends it later).
pub const SPARE_FLAG: &str = "--spare";

/// What a holder's command line asks for.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    socket: PathBuf,
    log_bytes: usize,
    spare: bool,
}

/// Runs a holder from its command line, the arguments after `__holder`:
/// `--socket PATH [--holder-log BYTES] [--spare]`; returns the process's exit code (2 for a bad command
/// line, said on stderr). Parsed by hand, not with the CLI parser: the binary dispatches here
/// first thing, so no parser, runtime or logging leaves its memory in every holder.
pub fn main_with_args(args: impl Iterator<Item = std::ffi::OsString>) -> i32 {
    match parse_args(args) {
        Ok(a) => main(&a.socket, a.log_bytes, a.spare),
        Err(e) => {
            holder_log!("controlroom {SUBCOMMAND}: {e} (internal: started by the gateway, never by hand)");
            2
        }
    }
}

/// `--socket PATH [--holder-log BYTES] [--spare]`, in any order.
fn parse_args(mut args: impl Iterator<Item = std::ffi::OsString>) -> Result<Args, String> {
    let (mut socket, mut log_bytes, mut spare) = (None, DEFAULT_LOG_BYTES, false);
    while let Some(flag) = args.next() {
        let value =
            |v: Option<std::ffi::OsString>| v.ok_or_else(|| format!("{} needs a value", flag.display()));
        match flag.to_str() {
            Some("--socket") => socket = Some(PathBuf::from(value(args.next())?)),
            Some("--holder-log") => {
                let v = value(args.next())?;
                log_bytes = v
                    .to_str()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("--holder-log needs a byte count, not {:?}", v.display()))?;
            }
            Some(SPARE_FLAG) => spare = true,
            _ => return Err(format!("unknown argument {:?}", flag.display())),
        }
    }
    Ok(Args { socket: socket.ok_or("--socket PATH is required")?, log_bytes, spare })
}

/// Runs a holder serving `socket` with an output log of `log_bytes` (a spare one when `spare`);
/// returns the process's exit code. Must be called before any other thread exists (it forks).
#[allow(unsafe_code)]
pub fn main(socket: &Path, log_bytes: usize, spare: bool) -> i32 {
    // A new session, out of the gateway's process group, so a terminal's SIGINT/SIGHUP to the
    // gateway's group never reaches the holder or its program. Done here rather than by the
    // gateway between its fork and the exec (which made std fork the whole gateway instead of
    // using posix_spawn); until this line the starting holder is in the gateway's group, where
    // such a signal would have stopped the gateway too. It fails only for a process that leads
    // a group already (started by hand, or by a gateway that did it): nothing to do then.
    let _ = rustix::process::setsid();
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
    if spare {
        return spare::main(socket, log_bytes);
    }
    set_name(HOLDER_NAME);
    let mut out = std::io::stdout();
    match start(socket, log_bytes) {
        Ok(mut holder) => {
            let _ = writeln!(out, "ok {}", holder.pid());
            let _ = out.flush();
            detach_stdio();
            shed::trim_heap();
            let stack = shed::trim_stack();
            // Start-up is over, what it mapped of the binary can go: once the gateway that
            // started us has its first output, not before (it is connecting now).
            holder.shed_soon();
            holder_log!(
                "controlroom holder {}: serving {} ({} KiB of stack let go)",
                std::process::id(),
                socket.display(),
                stack / 1024
            );
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
    let holder = start_program(listener, socket, spec, log_bytes, None);
    if holder.is_err() {
        let _ = std::fs::remove_file(socket);
    }
    holder
}

/// Starts `spec`'s program on a new PTY (in `preforked`'s child, made ahead, when there is
/// one) and the holder that serves it on `listener`. On an error the caller removes the socket.
fn start_program(
    listener: UnixListener,
    socket: &Path,
    spec: HolderSpec,
    log_bytes: usize,
    preforked: Option<crate::worker::pty::Preforked>,
) -> Result<event_loop::Holder, String> {
    let spawn = SpawnSpec {
        key: String::new(),
        command: spec.command,
        cwd: spec.cwd,
        env: spec.env,
        cols: spec.cols,
        rows: spec.rows,
        activity: None,
        offset: spec.offset,
    };
    // One thread here: the program is forked, and the holder answers without waiting for it.
    // A child forked ahead that is gone (killed while it waited, say) is reaped, and the
    // program forked now instead.
    let started = match preforked.and_then(|mut child| child.waiting().then_some(child)) {
        Some(child) => child.launch(&spawn),
        None => crate::worker::pty::spawn_on_pty(&spawn, crate::worker::pty::Start::Fork),
    };
    let (master, pid) = started.map_err(|e| match e {
        // The gateway names the command itself; only the reason goes back.
        crate::worker::WorkerError::Spawn { message, .. } => message,
        other => other.to_string(),
    })?;
    // The program has its own cwd; the holder keeps none busy (an unmount, a deleted dir).
    let _ = std::env::set_current_dir("/");
    event_loop::Holder::new(
        listener,
        socket.to_path_buf(),
        master,
        pid,
        (spec.cols, spec.rows),
        log_bytes,
        spawn.offset,
    )
}

/// How long a new holder waits for the previous holder of its worker to leave the socket: a
/// restart acknowledges the old exit just before starting the new holder, and the old one
/// removes its socket as soon as it reads that.
const PREVIOUS_HOLDER_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Binds `path` (0600); a stale socket left by a holder that is gone (a reboot) is replaced,
/// a live one is not (after [`PREVIOUS_HOLDER_WAIT`] for it to leave).
fn bind(path: &Path) -> std::io::Result<UnixListener> {
    let listener = claim(path, || UnixListener::bind(path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Runs `make`, which creates the socket file at `path` (a bind, or a spare's link to its new
/// name) and fails with `AddrInUse` or `AlreadyExists` while another file is there: a stale one
/// (nothing listens) is removed, a live holder's is waited for up to [`PREVIOUS_HOLDER_WAIT`].
fn claim<T>(path: &Path, mut make: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    let deadline = std::time::Instant::now() + PREVIOUS_HOLDER_WAIT;
    loop {
        match make() {
            Ok(made) => return Ok(made),
            Err(e)
                if matches!(e.kind(), std::io::ErrorKind::AddrInUse | std::io::ErrorKind::AlreadyExists) =>
            {
                if std::time::Instant::now() >= deadline {
                    return Err(std::io::Error::other("another holder is serving this socket"));
                }
                if UnixStream::connect(path).is_err() {
                    // Stale (or just removed by the holder leaving it): bind again.
                    match std::fs::remove_file(path) {
                        Ok(()) => continue,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e),
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => return Err(e),
        }
    }
}

/// The name (`/proc/PID/comm`, what `ps` and `top` show) of a holder serving a worker.
pub const HOLDER_NAME: &std::ffi::CStr = c"cr-holder";

/// Sets this process's name as `ps` shows it (best effort: only a label).
#[allow(unsafe_code)]
fn set_name(name: &std::ffi::CStr) {
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes (longer ones are
    // cut); `name` is a valid C string that outlives the call.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, name.as_ptr() as libc::c_ulong, 0, 0, 0);
    }
}

/// Points stdin and stdout at /dev/null: the gateway that started us may be gone any time.
fn detach_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        // Each replaces its descriptor atomically; a failure leaves the old one (harmless: the
        // holder never reads stdin again, and writes to stdout only before this).
        let _ = rustix::stdio::dup2_stdin(&null);
        let _ = rustix::stdio::dup2_stdout(&null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> impl Iterator<Item = std::ffi::OsString> {
        list.iter().map(std::ffi::OsString::from).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn the_command_line_is_read_by_hand() {
        let a = parse_args(args(&["--socket", "/tmp/w.sock"])).expect("ok");
        assert_eq!(
            a,
            Args { socket: PathBuf::from("/tmp/w.sock"), log_bytes: DEFAULT_LOG_BYTES, spare: false }
        );
        let a = parse_args(args(&["--holder-log", "70000", "--spare", "--socket", "s"])).expect("ok");
        assert_eq!((a.log_bytes, a.spare), (70_000, true));
        let e = parse_args(args(&[])).expect_err("no socket");
        assert!(e.contains("--socket PATH is required"), "{e}");
        let e = parse_args(args(&["--socket", "s", "--holder-log", "lots"])).expect_err("bad size");
        assert!(e.contains("byte count") && e.contains("lots"), "{e}");
        let e = parse_args(args(&["--socket"])).expect_err("no value");
        assert!(e.contains("--socket needs a value"), "{e}");
        let e = parse_args(args(&["--verbose"])).expect_err("unknown");
        assert!(e.contains("unknown argument") && e.contains("--verbose"), "{e}");
    }
}
