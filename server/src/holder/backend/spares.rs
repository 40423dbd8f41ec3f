//! Spare holders on the gateway's side: up to `--spare-holders` holders started ahead with no
//! program (`__holder --spare`), each connected and waiting. A new worker takes one and sends it
//! the spec (`Spawn`): the spare forks and execs the program and answers with the worker's
//! `Hello`, so the worker's start costs no exec of the gateway binary; another spare is then
//! started off that path. A spare belongs to no session and is never adopted (its socket is
//! `spare-*.sock`, never a worker's); it ends when its connection closes, so stopping the gateway
//! in any way stops its spares, and the next gateway stops any that were never connected.

use super::attach;
use crate::holder::wire::{self, Frame, WireError};
use crate::holder::{HolderSpec, fdpass};
use crate::worker::pty::Adopted;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

/// Name prefix of a spare's socket and log in `DATA_DIR/workers/`.
pub(super) const SPARE_PREFIX: &str = "spare-";

/// The spares of one gateway.
#[derive(Debug)]
pub(super) struct Spares {
    /// How many to keep ready.
    want: usize,
    /// Shared by the blocking threads that start workers and spares: held only to push or pop,
    /// never across a start or any I/O.
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    ready: Vec<Spare>,
    /// Being started now (counted so concurrent replenishing starts no more than `want`).
    starting: usize,
    /// The gateway is stopping: no spare is kept any more.
    stopped: bool,
}

/// A spare holder, connected and greeted; dropping it ends the spare.
#[derive(Debug)]
pub(super) struct Spare {
    stream: UnixStream,
}

/// Why a spare did not start a worker's program.
#[derive(Debug)]
pub(super) enum SpawnError {
    /// The program could not start (or the spare did not answer in time after `Spawn`): the
    /// worker's start fails, as it would have with a new holder.
    Program(String),
    /// The spare was gone before it took the spec: a new holder is started instead.
    Spare(String),
}

impl Spares {
    /// No spare yet; [`replenish`] starts them.
    pub(super) fn new(want: usize) -> Self {
        Self { want, state: Mutex::new(State::default()) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding it leaves a consistent list (push and pop only).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A ready spare, if any.
    pub(super) fn take(&self) -> Option<Spare> {
        self.state().ready.pop()
    }

    /// Lets every spare go (each ends when its connection closes) and keeps no more.
    pub(super) fn stop(&self) {
        let ready = {
            let mut state = self.state();
            state.stopped = true;
            std::mem::take(&mut state.ready)
        };
        if !ready.is_empty() {
            tracing::debug!(spares = ready.len(), "spare holders let go");
        }
    }
}

/// Starts spares with `start` until `want` are ready or being started; blocking. A failure is
/// logged and ends this round: false (the caller may try again later; the next worker's start
/// does in any case).
pub(super) fn replenish(spares: &Spares, start: impl Fn() -> Result<Spare, String>) -> bool {
    loop {
        {
            let mut state = spares.state();
            if state.stopped || state.ready.len() + state.starting >= spares.want {
                return true;
            }
            state.starting += 1;
        }
        let started = start();
        let mut state = spares.state();
        state.starting -= 1;
        match started {
            // Stopped meanwhile: dropped here, the spare ends.
            Ok(spare) if !state.stopped => {
                state.ready.push(spare);
                tracing::debug!(ready = state.ready.len(), "spare holder ready");
            }
            Ok(_) => return true,
            Err(why) => {
                tracing::warn!(reason = %why, "could not start a spare holder");
                return false;
            }
        }
    }
}

/// A new spare's key (its socket is `spare-KEY.sock`).
pub(super) fn new_key() -> String {
    format!("{SPARE_PREFIX}{:016x}", rand::random::<u64>())
}

/// Connects to the spare just started at `socket` and reads its greeting.
pub(super) fn connect(socket: &Path, hello_timeout: std::time::Duration) -> Result<Spare, String> {
    let mut stream = UnixStream::connect(socket).map_err(|e| format!("{}: {e}", socket.display()))?;
    stream.set_read_timeout(Some(hello_timeout)).map_err(|e| e.to_string())?;
    match Frame::read_from(&mut stream).map_err(|e| e.to_string())? {
        Some(Frame::Hello { version, pid: 0, .. })
            if wire::speaks(version) && version >= wire::SPARE_VERSION =>
        {
            stream.set_read_timeout(None).map_err(|e| e.to_string())?;
            Ok(Spare { stream })
        }
        other => Err(format!("{}: not a spare holder of this version: {other:?}", socket.display())),
    }
}

impl Spare {
    /// Has the spare start `spec`'s program (its `key` set) and attaches to it from offset 0.
    pub(super) fn spawn(
        self,
        spec: &HolderSpec,
        hello_timeout: std::time::Duration,
    ) -> Result<Adopted, SpawnError> {
        let mut stream = self.stream;
        let body = serde_json::to_vec(spec).map_err(|e| SpawnError::Program(e.to_string()))?;
        if let Err(e) = (Frame::Spawn { spec: body }).write_to(&mut stream) {
            return Err(SpawnError::Spare(format!("sending the spec: {e}")));
        }
        stream.set_read_timeout(Some(hello_timeout)).map_err(|e| SpawnError::Program(e.to_string()))?;
        // The worker's `Hello` brings its PTY master along (version 3 on).
        let answer = fdpass::read_frame_with_fd(&stream);
        adopt_answer(stream, answer)
    }
}

/// What a spare's answer to its spec makes: the worker's holder attached, the program's failure,
/// or a spare that could not be used (another holder is started instead).
fn adopt_answer(
    stream: UnixStream,
    answer: Result<(Option<Frame>, Option<OwnedFd>), WireError>,
) -> Result<Adopted, SpawnError> {
    match answer {
        Ok((Some(Frame::SpawnFailed { message }), _)) => Err(SpawnError::Program(message)),
        // Gone before it answered (killed): it never started the program.
        Ok((None, _)) => Err(SpawnError::Spare("it closed the connection".into())),
        Err(WireError::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {
            Err(SpawnError::Spare(e.to_string()))
        }
        Ok((hello, pty)) => attach(stream, hello, pty, 0).map_err(SpawnError::Program),
        Err(e) => Err(SpawnError::Program(format!("the spare holder did not answer: {e}"))),
    }
}

/// A spare that was sent its spec (or the part of it its socket took at once).
pub(super) struct Sent {
    stream: UnixStream,
    /// The end of the `Spawn` frame still to write (empty unless the spec is large).
    rest: Vec<u8>,
}

impl Spare {
    /// Sends the spare `spec` (its `key` set) without blocking: the program starts now, while
    /// the caller goes on; [`Sent::answer`] then waits for the spare's answer on the runtime.
    pub(super) fn send_spec(self, spec: &HolderSpec) -> Result<Sent, SpawnError> {
        use std::io::Write as _;
        let body = serde_json::to_vec(spec).map_err(|e| SpawnError::Program(e.to_string()))?;
        let frame = Frame::Spawn { spec: body }.to_bytes();
        let stream = self.stream;
        stream.set_nonblocking(true).map_err(|e| SpawnError::Spare(format!("sending the spec: {e}")))?;
        let written = match (&stream).write(&frame) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
            // Gone (killed): it never saw the spec.
            Err(e) => return Err(SpawnError::Spare(format!("sending the spec: {e}"))),
        };
        Ok(Sent { stream, rest: frame.get(written..).unwrap_or_default().to_vec() })
    }
}

impl Sent {
    /// Writes the rest of the spec, then waits up to `hello_timeout` for the worker's `Hello`
    /// (with its PTY master) and attaches from offset 0: [`Spare::spawn`]'s exchange on the
    /// runtime's reactor, with no thread waiting. Must be polled within a tokio runtime.
    pub(super) async fn answer(self, hello_timeout: std::time::Duration) -> Result<Adopted, SpawnError> {
        use std::io::Write as _;
        let stream = register(self.stream)
            .map_err(|e| SpawnError::Program(format!("watching the spare holder: {e}")))?;
        let mut rest = self.rest.as_slice();
        while !rest.is_empty() {
            let mut ready =
                stream.writable().await.map_err(|e| SpawnError::Spare(format!("sending the spec: {e}")))?;
            match ready.try_io(|s| s.get_ref().write(rest)) {
                Ok(Ok(n)) => rest = rest.get(n..).unwrap_or_default(),
                // Part of a spec is none: the spare never started a program.
                Ok(Err(e)) => return Err(SpawnError::Spare(format!("sending the spec: {e}"))),
                Err(_would_block) => {}
            }
        }
        let read = tokio::time::timeout(hello_timeout, fdpass::read_frame_with_fd_async(&stream)).await;
        let answer = read.unwrap_or_else(|_| {
            Err(WireError::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in time")))
        });
        // Non-blocking from here on: the link the actor drives wants it so, and the one write
        // before (`attach`, 15 bytes on a socket whose peer has read all it was sent) finds room.
        adopt_answer(stream.into_inner(), answer)
    }
}

/// Registers `stream` with the current runtime's reactor (both ways: the spec's end may wait
/// for room, the answer for bytes).
#[allow(unsafe_code)]
fn register(stream: UnixStream) -> std::io::Result<tokio::io::unix::AsyncFd<UnixStream>> {
    let interest = tokio::io::Interest::READABLE | tokio::io::Interest::WRITABLE;
    // SAFETY: a `UnixStream` owns its descriptor: it stays open, and `as_raw_fd` returns that
    // same descriptor, until the `AsyncFd` is dropped or hands the stream back (`into_inner`).
    Ok(unsafe { tokio::io::unix::AsyncFd::register_with_interest(stream, interest) }?)
}

/// Stops the spares an earlier gateway left in `dir` (it stopped before connecting to them):
/// a connection that closes at once is a spare's signal to end. Sockets nothing listens on
/// go with their logs.
pub(super) fn stop_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut stopped = 0;
    for path in entries.flatten().map(|e| e.path()) {
        let is_spare = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(SPARE_PREFIX) && path.extension().is_some_and(|e| e == "sock"));
        if !is_spare {
            continue;
        }
        match UnixStream::connect(&path) {
            // Dropped at once: the spare reads the end of its connection and removes its files.
            Ok(_) => stopped += 1,
            Err(_) => {
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(path.with_extension("log"));
            }
        }
    }
    if stopped > 0 {
        tracing::info!(spares = stopped, "stopped spare holders an earlier gateway left");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> Spare {
        let (a, _b) = UnixStream::pair().expect("pair");
        Spare { stream: a }
    }

    fn spec() -> HolderSpec {
        HolderSpec {
            command: vec!["sh".into()],
            cwd: "/".into(),
            env: Default::default(),
            cols: 80,
            rows: 24,
            key: Some("w1".into()),
            offset: 0,
        }
    }

    /// A spare that reads the spec, then answers with `answer` (and the PTY master, if any);
    /// returns the frames it was sent until the gateway hung up.
    fn fake_spare(
        conn: UnixStream,
        answer: Option<Frame>,
        pty: Option<std::os::fd::OwnedFd>,
    ) -> std::thread::JoinHandle<Vec<Frame>> {
        std::thread::spawn(move || {
            use std::os::fd::AsFd as _;
            let mut frames = vec![Frame::read_from(&mut &conn).expect("read").expect("the spec")];
            match (answer, &pty) {
                (Some(frame), Some(fd)) => {
                    let bytes = frame.to_bytes();
                    assert_eq!(fdpass::send_with_fd(&conn, &bytes, fd.as_fd()).expect("send"), bytes.len());
                }
                (Some(frame), None) => frame.write_to(&mut &conn).expect("send"),
                (None, _) => return frames,
            }
            while let Ok(Some(frame)) = Frame::read_from(&mut &conn) {
                frames.push(frame);
            }
            frames
        })
    }

    #[tokio::test]
    async fn on_the_runtime_the_spec_goes_at_once_and_the_hello_attaches() {
        let (gateway, conn) = UnixStream::pair().expect("pair");
        let (master, _slave) = fdpass::test_pty();
        let hello =
            Frame::Hello { version: wire::VERSION, pid: 4242, log_start: 0, log_end: 0, cols: 80, rows: 24 };
        // The spec is written before the spare even runs: in the call, not in the future.
        let sent = Spare { stream: gateway }.send_spec(&spec()).expect("sent");
        assert!(sent.rest.is_empty(), "a small spec goes whole at once");
        let fake = fake_spare(conn, Some(hello), Some(master));
        let adopted = sent.answer(std::time::Duration::from_secs(10)).await.expect("attached");
        assert_eq!(adopted.process.pid(), Some(4242));
        drop(adopted);
        let frames = fake.join().expect("fake spare");
        let Some(Frame::Spawn { spec: body }) = frames.first() else { panic!("{frames:?}") };
        let got: HolderSpec = serde_json::from_slice(body).expect("spec");
        assert_eq!(got.key.as_deref(), Some("w1"));
        assert_eq!(frames.get(1), Some(&Frame::Attach { version: wire::VERSION, from: 0 }));
    }

    #[tokio::test]
    async fn on_the_runtime_a_failed_program_fails_and_a_gone_spare_gives_way() {
        let failed = Frame::SpawnFailed { message: "no such program".into() };
        let (gateway, conn) = UnixStream::pair().expect("pair");
        let sent = Spare { stream: gateway }.send_spec(&spec()).expect("sent");
        let fake = fake_spare(conn, Some(failed), None);
        let r = sent.answer(std::time::Duration::from_secs(10)).await;
        assert!(matches!(&r, Err(SpawnError::Program(m)) if m == "no such program"), "{r:?}");
        drop(fake.join());

        // Hung up after reading the spec, before answering: a new holder is started instead.
        let (gateway, conn) = UnixStream::pair().expect("pair");
        let sent = Spare { stream: gateway }.send_spec(&spec()).expect("sent");
        let fake = fake_spare(conn, None, None);
        let r = sent.answer(std::time::Duration::from_secs(10)).await;
        assert!(matches!(r, Err(SpawnError::Spare(_))), "{r:?}");
        drop(fake.join());

        // Gone before the spec: the same.
        let (gateway, conn) = UnixStream::pair().expect("pair");
        drop(conn);
        let r = Spare { stream: gateway }.send_spec(&spec());
        assert!(matches!(r, Err(SpawnError::Spare(_))), "{:?}", r.err());
    }

    #[tokio::test]
    async fn on_the_runtime_a_spare_that_never_answers_times_out() {
        let (gateway, conn) = UnixStream::pair().expect("pair");
        let sent = Spare { stream: gateway }.send_spec(&spec()).expect("sent");
        let r = sent.answer(std::time::Duration::from_millis(50)).await;
        assert!(matches!(&r, Err(SpawnError::Program(m)) if m.contains("did not answer")), "{r:?}");
        drop(conn);
    }

    #[test]
    fn replenishing_keeps_the_wanted_count_and_stops_for_good() {
        let spares = Spares::new(2);
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let start = || {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(pair())
        };
        replenish(&spares, start);
        assert_eq!(spares.state().ready.len(), 2);
        replenish(&spares, start);
        assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 2, "none past the count");
        assert!(spares.take().is_some());
        replenish(&spares, start);
        assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 3, "the one taken is replaced");
        spares.stop();
        assert!(spares.take().is_none(), "stopping lets every spare go");
        replenish(&spares, start);
        assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 3, "none after the stop");
    }

    #[test]
    fn a_failed_start_ends_the_round_and_none_wanted_starts_none() {
        let spares = Spares::new(3);
        assert!(!replenish(&spares, || Err("no binary".into())), "a failed round says so");
        assert!(spares.take().is_none());
        let none = Spares::new(0);
        assert!(replenish(&none, || panic!("no spare is wanted")));
        assert!(none.take().is_none());
    }

    #[test]
    fn stale_spare_sockets_and_their_logs_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stale = dir.path().join("spare-00ff.sock");
        drop(std::os::unix::net::UnixListener::bind(&stale).expect("bind"));
        std::fs::write(dir.path().join("spare-00ff.log"), b"x").expect("log");
        let worker = dir.path().join("w1.sock");
        drop(std::os::unix::net::UnixListener::bind(&worker).expect("bind"));
        stop_leftovers(dir.path());
        assert!(!stale.exists() && !dir.path().join("spare-00ff.log").exists());
        assert!(worker.exists(), "a worker's socket is never a spare's");
    }
}
