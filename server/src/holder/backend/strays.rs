//! Holders no stored worker owns. A gateway that stops while a start is in flight (the holder
//! answered `ok`, the session was not committed yet) leaves a holder running that no record
//! knows: nothing would ever adopt it, and its program would run forever. On start, before it
//! starts anything itself, the gateway lists the sockets in `DATA_DIR/workers/` whose worker is
//! not in its store; it stops each such holder's program (SIGHUP, SIGKILL after the grace) and
//! acknowledges its exit, so the holder ends, and it removes stale sockets (a reboot). Each is
//! logged.

use crate::holder::wire::{self, Frame};
use std::collections::BTreeSet;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a stray holder has to say hello and to answer between frames.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// The sockets in `dir` whose worker key is not in `known`.
pub(super) fn list(dir: &Path, known: &BTreeSet<String>) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut strays: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sock"))
        // Spares (`spare-*.sock`) belong to no worker by design: the spare pool stops leftovers.
        .filter(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|key| !known.contains(key) && !key.starts_with(super::spares::SPARE_PREFIX))
        })
        .collect();
    strays.sort();
    strays
}

/// Stops the holder at `socket` and its program; gives it `grace` after SIGHUP before SIGKILL.
/// A socket nothing listens on is removed. Returns what was done, for the log.
pub(super) fn stop(socket: &Path, grace: Duration) -> Result<&'static str, String> {
    let mut stream = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e)
            if matches!(e.kind(), std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound) =>
        {
            let _ = std::fs::remove_file(socket);
            return Ok("stale socket removed");
        }
        Err(e) => return Err(e.to_string()),
    };
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).map_err(|e| e.to_string())?;
    let (version, log_end) = match Frame::read_from(&mut stream).map_err(|e| e.to_string())? {
        Some(Frame::Hello { version, log_end, .. }) if wire::speaks(version) => (version, log_end),
        Some(Frame::Hello { version, .. }) => {
            return Err(format!("it speaks holder protocol {version}; left running"));
        }
        Some(Frame::Busy) => return Err("another gateway is attached to it".into()),
        other => return Err(format!("unexpected answer {other:?}")),
    };
    // Nothing of its output is wanted: from its end on.
    Frame::Attach { version, from: log_end }.write_to(&mut stream).map_err(|e| e.to_string())?;
    Frame::Signal { signal: libc::SIGHUP }.write_to(&mut stream).map_err(|e| e.to_string())?;
    let mut killed = false;
    let mut deadline = Instant::now() + grace;
    loop {
        match Frame::read_from(&mut stream) {
            Ok(Some(Frame::Exited { .. })) => break,
            Ok(Some(_)) => {}
            Ok(None) => return Err("it hung up before its program ended".into()),
            Err(wire::WireError::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => return Err(e.to_string()),
        }
        if Instant::now() >= deadline {
            if killed {
                return Err("its program did not end after SIGKILL".into());
            }
            Frame::Signal { signal: libc::SIGKILL }.write_to(&mut stream).map_err(|e| e.to_string())?;
            killed = true;
            deadline = Instant::now() + ANSWER_TIMEOUT;
        }
    }
    // No record will ever want this exit: the holder may end.
    Frame::AckExit.write_to(&mut stream).map_err(|e| e.to_string())?;
    Ok(if killed { "stopped (SIGKILL)" } else { "stopped" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sockets_of_unknown_workers_are_strays() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["wknown.sock", "wstray.sock", "wknown.log", "wstray.log", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"").expect("write");
        }
        let known = BTreeSet::from(["wknown".to_owned()]);
        assert_eq!(list(dir.path(), &known), vec![dir.path().join("wstray.sock")]);
        assert!(list(&dir.path().join("missing"), &known).is_empty());
    }

    #[test]
    fn a_socket_nothing_listens_on_is_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("wgone.sock");
        drop(std::os::unix::net::UnixListener::bind(&socket).expect("bind"));
        assert_eq!(stop(&socket, Duration::from_secs(1)), Ok("stale socket removed"));
        assert!(!socket.exists());
    }
}
