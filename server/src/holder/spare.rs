//! A spare holder: started ahead of need with no program (`__holder --spare`), so a new worker
//! costs a fork and exec of its program from this small process instead of an exec of the whole
//! gateway binary. It binds its socket (`spare-KEY.sock`), says `ok 0`, and waits for its one
//! gateway connection (at most 10 s: the gateway connects at once), forks the worker's process
//! ahead on its PTY (`worker::pty::Preforked`: it waits to be told what to exec), then sleeps in a
//! read (no wake-ups). On `Spawn` it takes
//! the worker's socket and log names, starts the program and goes on as that worker's holder,
//! the gateway already connected; if its gateway goes away first (stopped, crashed, or a new
//! gateway stopping a spare it found), it removes its socket and log and ends: a spare belongs
//! to no session and is never adopted.

use super::{HolderSpec, event_loop, peer, wire};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use wire::Frame;

/// The name (`/proc/PID/comm`) of a spare holder until it takes a worker.
pub const SPARE_NAME: &std::ffi::CStr = c"cr-spare";

/// Runs a spare serving `socket`; returns the process's exit code.
pub(super) fn main(socket: &Path, log_bytes: usize) -> i32 {
    super::set_name(SPARE_NAME);
    let mut out = std::io::stdout();
    let listener = match super::bind(socket) {
        Ok(l) => l,
        Err(e) => {
            let _ = writeln!(out, "err binding {}: {e}", socket.display());
            let _ = out.flush();
            return 1;
        }
    };
    let _ = writeln!(out, "ok 0");
    let _ = out.flush();
    super::detach_stdio();
    // It keeps no directory busy; the gateway sends the program's cwd as an absolute path.
    let _ = std::env::set_current_dir("/");
    super::shed::trim_heap();
    super::shed::shed_executable_pages();
    let me = std::process::id();
    let stream = match wait_for_gateway(&listener) {
        Ok(s) => s,
        Err(e) => return give_up(socket, &format!("waiting for the gateway: {e}")),
    };
    // The worker's process, forked ahead on its PTY: a worker then costs its exec, not the
    // fork and the set-up too. Without it (no PTY to be had now), the start forks as a new
    // holder's does.
    let preforked = match crate::worker::pty::Preforked::new() {
        Ok(p) => Some(p),
        Err(e) => {
            holder_log!("controlroom holder {me}: forking ahead: {e}; the program will be forked when asked");
            None
        }
    };
    let spec = match read_spec(&stream) {
        Ok(Some(spec)) => spec,
        // Its gateway went away (or stopped it) before it was needed: its normal end.
        Ok(None) => return give_up(socket, "not needed"),
        Err(e) => return give_up(socket, &e),
    };
    match take(listener, socket, stream, spec, log_bytes, preforked) {
        Ok(holder) => {
            holder_log!("controlroom holder {me}: a spare, now serving a worker");
            holder.run();
            0
        }
        Err(Failed { socket, message, stream }) => {
            let _ = Frame::SpawnFailed { message: message.clone() }.write_to(&mut &stream);
            let _ = std::fs::remove_file(&socket);
            holder_log!("controlroom holder {me}: could not start the program: {message}");
            1
        }
    }
}

/// How long a spare waits for its gateway to connect: it does right after reading `ok 0`, so
/// only a gateway that died (or was killed) in between misses it, and its spare then ends
/// instead of waiting for the next gateway on the data dir.
const CONNECT_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Accepts the first connection of a process of our own user (others are refused and logged),
/// within [`CONNECT_WAIT`].
fn wait_for_gateway(listener: &UnixListener) -> std::io::Result<UnixStream> {
    use rustix::event::{PollFd, PollFlags};
    let uid = peer::own_uid();
    let deadline = std::time::Instant::now() + CONNECT_WAIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no gateway connected"));
        }
        let timeout = event_loop::timespec(left);
        let mut fds = [PollFd::new(listener, PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        if fds[0].revents().is_empty() {
            continue;
        }
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e)
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        let checked =
            peer::peer_uid(&stream).map_err(|e| e.to_string()).and_then(|u| peer::check_peer_uid(u, uid));
        match checked {
            Ok(()) => return Ok(stream),
            Err(why) => holder_log!("controlroom holder {}: connection refused: {why}", std::process::id()),
        }
    }
}

/// Greets the gateway as a spare (`Hello` with pid 0) and reads its `Spawn`; `None` when it
/// hung up instead. Blocking: a spare has nothing else to do.
fn read_spec(stream: &UnixStream) -> Result<Option<HolderSpec>, String> {
    let hello = Frame::Hello { version: wire::VERSION, pid: 0, log_start: 0, log_end: 0, cols: 0, rows: 0 };
    if hello.write_to(&mut &*stream).is_err() {
        return Ok(None);
    }
    match Frame::read_from(&mut &*stream) {
        Ok(Some(Frame::Spawn { spec })) => {
            serde_json::from_slice(&spec).map(Some).map_err(|e| format!("bad spec: {e}"))
        }
        Ok(Some(other)) => Err(format!("unexpected frame {other:?}")),
        Ok(None) => Ok(None),
        Err(wire::WireError::Io(_)) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// A spawn that failed: the socket to remove (by then the worker's), why, and the gateway.
struct Failed {
    socket: PathBuf,
    message: String,
    stream: UnixStream,
}

/// Takes the worker's names (socket, then log), starts its program and returns its holder with
/// the gateway connected and greeted.
fn take(
    listener: UnixListener,
    spare_socket: &Path,
    stream: UnixStream,
    spec: HolderSpec,
    log_bytes: usize,
    preforked: Option<crate::worker::pty::Preforked>,
) -> Result<event_loop::Holder, Failed> {
    let fail =
        |socket: &Path, message: String, stream| Failed { socket: socket.to_path_buf(), message, stream };
    let Some(key) = spec.key.clone().filter(|k| valid_key(k)) else {
        return Err(fail(spare_socket, format!("bad worker key {:?}", spec.key), stream));
    };
    let dir = spare_socket.parent().unwrap_or(Path::new("/"));
    let socket = super::socket_path(dir, &key);
    // A link, then the spare's name goes: the listener keeps serving the same socket under the
    // worker's name. A previous holder of this worker (a restart) may still be leaving it.
    if let Err(e) = super::claim(&socket, || std::fs::hard_link(spare_socket, &socket)) {
        return Err(fail(spare_socket, format!("taking {}: {e}", socket.display()), stream));
    }
    let _ = std::fs::remove_file(spare_socket);
    // The program first: the name and the log are the holder's own business (the program's
    // stdio is its terminal), so they wait until it is started.
    let started = super::start_program(listener, &socket, spec, log_bytes, preforked);
    super::set_name(super::HOLDER_NAME);
    switch_log(&super::log_path(dir, &key), &spare_log(spare_socket));
    let mut holder = match started {
        Ok(h) => h,
        Err(message) => return Err(fail(&socket, message, stream)),
    };
    holder_log!("controlroom holder {}: serving {} (was a spare)", std::process::id(), socket.display());
    if let Err(e) = holder.greet(stream) {
        // The program runs and the holder serves its socket: a gateway can still connect.
        holder_log!("controlroom holder {}: greeting the gateway: {e}", std::process::id());
    }
    Ok(holder)
}

/// Worker keys are ids (`w…`); anything that could leave the directory is refused.
fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The log a spare was started with (beside its socket).
fn spare_log(spare_socket: &Path) -> PathBuf {
    spare_socket.with_extension("log")
}

/// Points stderr (the holder's log) at the worker's log, appending as a fresh holder would,
/// and removes the spare's own log.
fn switch_log(log: &Path, spare_log: &Path) {
    let opened = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(log);
    match opened {
        Ok(file) => {
            if rustix::stdio::dup2_stderr(&file).is_ok() {
                let _ = std::fs::remove_file(spare_log);
            }
        }
        Err(e) => holder_log!("controlroom holder {}: opening {}: {e}", std::process::id(), log.display()),
    }
}

/// Ends a spare that was not needed (or could not be used): its socket and log go.
fn give_up(socket: &Path, why: &str) -> i32 {
    let _ = std::fs::remove_file(socket);
    let _ = std::fs::remove_file(spare_log(socket));
    holder_log!("controlroom holder {}: spare ending: {why}", std::process::id());
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_worker_keys_are_taken() {
        assert!(valid_key("w1a2b3") && valid_key("w-1_x"));
        for bad in ["", "../w", "w/x", "w.sock", "w x"] {
            assert!(!valid_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_spare_log_sits_beside_its_socket() {
        assert_eq!(spare_log(Path::new("/d/workers/spare-1.sock")), PathBuf::from("/d/workers/spare-1.log"));
    }
}
