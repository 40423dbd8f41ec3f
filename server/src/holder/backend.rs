//! The gateway's side of holders, and its default PTY backend: each worker's PTY is held by a
//! holder process (`controlroom __holder`, the rest of this module) that outlives the gateway; the gateway reaches it over its
//! Unix socket, on start (spawn) and after a restart (adopt).
//!
//! On the gateway's side a holder is a `PtyLink` (`link.rs`): the
//! worker actor's own task reads `Output` frames from the non-blocking socket and writes input
//! and control frames to it, with no thread per worker; the output ends at the holder's `Exited`
//! frame (the real exit) or at a dropped connection (`lost`).

use super::wire::{self, Exit, Frame};
use crate::holder::{self, HolderSpec, fdpass};
use crate::worker::pty::{AdoptError, Adopted, PtyBackend, PtyProcess, SpawnFuture};
use crate::worker::{ExitInfo, SpawnSpec, WorkerError};
use link::HolderLink;
use std::io::{BufRead as _, BufReader, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

mod link;
mod spares;
mod strays;

/// How the gateway waits on its holders: `--holder-hello-timeout`, `--spare-replenish-after`,
/// `--spare-retries`, `--spare-retry-wait`.
#[derive(Debug, Clone, Copy)]
pub struct HolderTimings {
    /// How long a holder has to say hello (it answers at once unless wedged).
    pub hello_timeout: Duration,
    /// How long after a spare was taken the next one starts.
    pub replenish_after: Duration,
    /// Times a failed round of starting spares is tried again before waiting for the next
    /// worker's start.
    pub spare_retries: usize,
    /// How long after a failed round of starting spares the next is tried.
    pub spare_retry_wait: Duration,
}

impl Default for HolderTimings {
    fn default() -> Self {
        Self {
            hello_timeout: holder::DEFAULT_HELLO_TIMEOUT,
            replenish_after: holder::DEFAULT_SPARE_REPLENISH_AFTER,
            spare_retries: holder::DEFAULT_SPARE_RETRIES,
            spare_retry_wait: holder::DEFAULT_SPARE_RETRY_WAIT,
        }
    }
}

/// Starts every worker in its own holder process, a spare one started ahead when there is one.
#[derive(Debug, Clone)]
pub struct HolderBackend {
    exe: PathBuf,
    dir: PathBuf,
    log_bytes: usize,
    spares: Arc<spares::Spares>,
    timings: HolderTimings,
}

impl HolderBackend {
    /// Holders run `exe __holder`, keep `log_bytes` of output each while no gateway is
    /// attached, and put their sockets in `DATA_DIR/workers/` (created 0700); up to `spares`
    /// of them wait started ahead (`PtyBackend::replenish`), the next one `timings.replenish_after`
    /// a spare was taken. Spares an earlier gateway left there are stopped: call this only while
    /// owning the data dir.
    pub fn new(
        exe: PathBuf,
        data_dir: &Path,
        log_bytes: usize,
        spares: usize,
        timings: HolderTimings,
    ) -> std::io::Result<Self> {
        let dir = data_dir.join(holder::WORKERS_DIR);
        std::fs::create_dir_all(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        spares::stop_leftovers(&dir);
        Ok(Self { exe, dir, log_bytes, spares: Arc::new(spares::Spares::new(spares)), timings })
    }

    /// Starts [`PtyBackend::replenish`] on another thread (the runtime's blocking pool when
    /// there is one), `--spare-replenish-after` from now; a round whose start failed is tried
    /// again `--spare-retry-wait` later, up to `--spare-retries` times.
    fn replenish_in_background(&self) {
        let me = self.clone();
        let HolderTimings { replenish_after: after, spare_retries: retries, spare_retry_wait: wait, .. } =
            self.timings;
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn(async move {
                tokio::time::sleep(after).await;
                for _ in 0..=retries {
                    let me = me.clone();
                    if tokio::task::spawn_blocking(move || me.replenish_round()).await.unwrap_or(true) {
                        return;
                    }
                    tokio::time::sleep(wait).await;
                }
            })),
            Err(_) => {
                let _ = std::thread::Builder::new().name("cr-spare".into()).spawn(move || {
                    std::thread::sleep(after);
                    for _ in 0..=retries {
                        if me.replenish_round() {
                            return;
                        }
                        std::thread::sleep(wait);
                    }
                });
            }
        }
    }

    /// One round of starting spares until enough are ready; false when a start failed.
    fn replenish_round(&self) -> bool {
        spares::replenish(&self.spares, || {
            let key = spares::new_key();
            self.launch(&key, None)?;
            spares::connect(&holder::socket_path(&self.dir, &key), self.timings.hello_timeout)
        })
    }

    /// Starts `EXE __holder` for worker `key` (or, without a spec, a spare under that key) and
    /// waits for its `ok PID`.
    fn launch(&self, key: &str, spec: Option<&HolderSpec>) -> Result<(), String> {
        let socket = holder::socket_path(&self.dir, key);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(holder::log_path(&self.dir, key))
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
        if spec.is_none() {
            cmd.arg(holder::SPARE_FLAG).stdin(std::process::Stdio::null());
        }
        // No `pre_exec` (the holder calls `setsid` itself, first thing): with one, std forks
        // the whole gateway (its page tables copied, its threads stalled on the address space's
        // lock meanwhile); without, it uses `posix_spawn`, which only suspends this thread until
        // the exec.
        let mut child = cmd.spawn().map_err(|e| format!("starting {}: {e}", self.exe.display()))?;
        if let Some(spec) = spec {
            let text = serde_json::to_vec(spec).map_err(|e| e.to_string())?;
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(&text).map_err(|e| format!("sending the spec to the holder: {e}"))?;
            }
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
            _ => {
                Err(format!("the holder did not start (see {})", holder::log_path(&self.dir, key).display()))
            }
        }
    }
}

impl HolderBackend {
    /// Starts a new holder for `spec` (no spare) and attaches to it. Blocking.
    fn spawn_holder(&self, spec: &SpawnSpec) -> Result<PtyProcess, WorkerError> {
        let fail = |message: String| WorkerError::Spawn { command: spec.command.join(" "), message };
        self.launch(&spec.key, Some(&holder_spec(spec, false))).map_err(fail)?;
        let socket = holder::socket_path(&self.dir, &spec.key);
        connect(&socket, 0, self.timings.hello_timeout).map(|a| a.process).map_err(|e| fail(e.to_string()))
    }
}

/// What a holder is sent for `spec` (a spare also gets the worker's key; the cwd goes absolute,
/// since a spare's own cwd is `/`, not the gateway's).
fn holder_spec(spec: &SpawnSpec, spare: bool) -> HolderSpec {
    HolderSpec {
        command: spec.command.clone(),
        cwd: std::path::absolute(&spec.cwd).unwrap_or_else(|_| spec.cwd.clone()),
        env: spec.env.clone(),
        cols: spec.cols,
        rows: spec.rows,
        key: spare.then(|| spec.key.clone()),
        offset: spec.offset,
    }
}

impl PtyBackend for HolderBackend {
    fn spawn(&self, spec: &SpawnSpec) -> Result<PtyProcess, WorkerError> {
        if spec.command.is_empty() {
            return Err(WorkerError::Invalid("command must not be empty".into()));
        }
        let fail = |message: String| WorkerError::Spawn { command: spec.command.join(" "), message };
        if let Some(spare) = self.spares.take() {
            let started = spare.spawn(&holder_spec(spec, true), self.timings.hello_timeout);
            // Another spare in its place, off this start's path.
            self.replenish_in_background();
            match started {
                Ok(adopted) => return Ok(adopted.process),
                Err(spares::SpawnError::Program(message)) => return Err(fail(message)),
                Err(spares::SpawnError::Spare(why)) => {
                    tracing::warn!(reason = %why, "a spare holder could not be used; starting a holder");
                }
            }
        }
        self.spawn_holder(spec)
    }

    fn spawn_on_runtime(&self, spec: &SpawnSpec) -> Option<SpawnFuture> {
        if spec.command.is_empty() {
            // `spawn` says why.
            return None;
        }
        let spare = self.spares.take()?;
        // The spec goes now: the spare forks the program while the gateway goes on.
        let sent = spare.send_spec(&holder_spec(spec, true));
        self.replenish_in_background();
        let (me, spec) = (self.clone(), spec.clone());
        Some(Box::pin(async move {
            let fail = |message: String| WorkerError::Spawn { command: spec.command.join(" "), message };
            let started = match sent {
                Ok(sent) => sent.answer(me.timings.hello_timeout).await,
                Err(e) => Err(e),
            };
            match started {
                Ok(adopted) => Ok(adopted.process),
                Err(spares::SpawnError::Program(message)) => Err(fail(message)),
                Err(spares::SpawnError::Spare(why)) => {
                    tracing::warn!(reason = %why, "a spare holder could not be used; starting a holder");
                    let command = spec.command.join(" ");
                    tokio::task::spawn_blocking(move || me.spawn_holder(&spec))
                        .await
                        .unwrap_or_else(|e| Err(WorkerError::Spawn { command, message: e.to_string() }))
                }
            }
        }))
    }

    fn adopt(&self, key: &str, from: u64) -> Result<Adopted, AdoptError> {
        connect(&holder::socket_path(&self.dir, key), from, self.timings.hello_timeout)
    }

    fn outlives_gateway(&self) -> bool {
        true
    }

    fn replenish(&self) {
        if !self.replenish_round() {
            // Tried again in the background, so a spare that failed once (a start racing the
            // machine's limits, say) is not missing until the next worker's start.
            self.replenish_in_background();
        }
    }

    fn shutdown(&self) {
        self.spares.stop();
    }

    fn strays(&self, known: &std::collections::BTreeSet<String>) -> Vec<String> {
        strays::list(&self.dir, known)
            .iter()
            .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
            .collect()
    }

    fn stop_stray(&self, key: &str, grace: Duration) -> Result<&'static str, String> {
        strays::stop(&holder::socket_path(&self.dir, key), grace)
    }
}

/// Connects to the holder at `socket` and attaches from stream offset `from`, waiting up to
/// `hello_timeout` for its `Hello`.
pub fn connect(socket: &Path, from: u64, hello_timeout: Duration) -> Result<Adopted, AdoptError> {
    let stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
        // Missing or refusing: no holder listens (a reboot, or it was killed).
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            AdoptError::Lost(format!("{}: {e}", socket.display()))
        }
        _ => AdoptError::Unusable(format!("{}: {e}", socket.display())),
    })?;
    let unusable = |why: String| AdoptError::Unusable(format!("{}: {why}", socket.display()));
    stream.set_read_timeout(Some(hello_timeout)).map_err(|e| unusable(e.to_string()))?;
    // The `Hello` of a version-3 holder brings its PTY master along.
    let (hello, pty) = fdpass::read_frame_with_fd(&stream).map_err(|e| unusable(e.to_string()))?;
    attach(stream, hello, pty, from).map_err(unusable)
}

/// Answers a holder's first frame (`hello`, read with a deadline set on `stream`, and the PTY
/// master that came with it, if any) with `attach` from stream offset `from`, in the holder's
/// protocol version; the link the worker actor drives. Why not, otherwise.
fn attach(
    mut stream: UnixStream,
    hello: Option<Frame>,
    pty: Option<OwnedFd>,
    from: u64,
) -> Result<Adopted, String> {
    let (version, pid, log_start, log_end, cols, rows) = match hello {
        Some(Frame::Hello { version, pid, log_start, log_end, cols, rows }) => {
            if !wire::speaks(version) {
                return Err(format!(
                    "holder (pid of its program {pid}) speaks holder protocol {version}, this gateway {}..={}",
                    wire::MIN_VERSION,
                    wire::VERSION
                ));
            }
            (version, pid, log_start, log_end, cols, rows)
        }
        Some(Frame::Busy) => return Err("another gateway is attached to it".into()),
        Some(other) => return Err(format!("unexpected first frame {other:?}")),
        None => return Err("it closed the connection (see its log)".into()),
    };
    // A saved screen newer than the holder's log: a holder of version 2 goes on counting from
    // the screen's offset (nothing is missing: the screen has it all); an older one is asked for
    // its newest byte on.
    let from = if version >= wire::SAVED_SINCE { from } else { from.min(log_end) };
    let gap = log_start.saturating_sub(from);
    // The holder's own version: an older holder refuses an `attach` of a version it does not know.
    Frame::Attach { version, from }.write_to(&mut stream).map_err(|e| e.to_string())?;
    stream.set_read_timeout(None).map_err(|e| e.to_string())?;
    // From here the worker actor's task reads and writes the socket itself, on the runtime.
    stream.set_nonblocking(true).map_err(|e| e.to_string())?;
    // Input and resizes go straight to the PTY only from a holder that means it (an older one
    // never sends a descriptor), and only to a terminal in non-blocking mode (it shares the
    // holder's open file, which is).
    let pty = pty.filter(|fd| {
        version >= wire::DIRECT_INPUT_SINCE
            && fdpass::is_terminal(fd)
            && rustix::io::ioctl_fionbio(fd, true).is_ok()
    });
    let process = PtyProcess::Link(Box::new(HolderLink::new(pid, version, stream, pty)));
    Ok(Adopted { process, gap, cols, rows })
}

/// The exit as the gateway reports it.
pub(crate) fn exit_info(exit: Exit) -> ExitInfo {
    match exit {
        Exit::Code(code) => ExitInfo { exit_code: Some(code), signal: None },
        Exit::Signal(sig) => ExitInfo { exit_code: None, signal: Some(crate::worker::pty::signal_name(sig)) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// A holder that greets with protocol `version` and returns the first frame it is sent.
    fn fake_holder(socket: &Path, version: u16) -> std::thread::JoinHandle<Option<Frame>> {
        let listener = UnixListener::bind(socket).expect("bind");
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().expect("accept");
            let hello = Frame::Hello { version, pid: 4242, log_start: 0, log_end: 10, cols: 80, rows: 24 };
            hello.write_to(&mut conn).expect("hello");
            conn.set_read_timeout(Some(holder::DEFAULT_HELLO_TIMEOUT)).expect("timeout");
            Frame::read_from(&mut conn).ok().flatten()
        })
    }

    #[tokio::test]
    async fn an_older_holder_is_adopted_in_its_own_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("w1.sock");
        let fake = fake_holder(&socket, wire::MIN_VERSION);
        let adopted = connect(&socket, 4, holder::DEFAULT_HELLO_TIMEOUT).expect("adopted");
        assert_eq!(adopted.process.pid(), Some(4242));
        let sent = fake.join().expect("fake holder");
        assert_eq!(sent, Some(Frame::Attach { version: wire::MIN_VERSION, from: 4 }));
    }

    /// A holder of protocol `version` that greets with `pty` passed along (if any) and returns
    /// every frame it is sent until the gateway hangs up.
    fn fake_holder_passing(
        socket: &Path,
        version: u16,
        pty: Option<OwnedFd>,
    ) -> std::thread::JoinHandle<Vec<Frame>> {
        let listener = UnixListener::bind(socket).expect("bind");
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().expect("accept");
            let hello =
                Frame::Hello { version, pid: 4242, log_start: 0, log_end: 0, cols: 80, rows: 24 }.to_bytes();
            match &pty {
                Some(fd) => {
                    use std::os::fd::AsFd as _;
                    let sent = fdpass::send_with_fd(&conn, &hello, fd.as_fd()).expect("hello");
                    assert_eq!(sent, hello.len());
                }
                None => conn.write_all(&hello).expect("hello"),
            }
            conn.set_read_timeout(Some(holder::DEFAULT_HELLO_TIMEOUT)).expect("timeout");
            let mut frames = Vec::new();
            while let Ok(Some(frame)) = Frame::read_from(&mut conn) {
                frames.push(frame);
            }
            frames
        })
    }

    fn link(adopted: Adopted) -> Box<dyn crate::worker::pty::PtyLink> {
        match adopted.process {
            PtyProcess::Link(link) => link,
            PtyProcess::Threads(_) => panic!("a holder's process is a link"),
        }
    }

    /// What the program can read now (its terminal is non-blocking here).
    fn readable(slave: &std::fs::File) -> Vec<u8> {
        rustix::io::ioctl_fionbio(slave, true).expect("non-blocking");
        let mut buf = [0u8; 256];
        match rustix::io::read(slave, &mut buf) {
            Ok(n) => buf[..n].to_vec(),
            Err(_) => Vec::new(),
        }
    }

    #[tokio::test]
    async fn input_and_resizes_go_to_the_pty_a_holder_passed_not_to_its_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("w1.sock");
        let (master, slave) = fdpass::test_pty();
        let fake = fake_holder_passing(&socket, wire::VERSION, Some(master));
        let mut link = link(connect(&socket, 0, holder::DEFAULT_HELLO_TIMEOUT).expect("adopted"));
        link.queue_input(b"typed", None).expect("input");
        link.resize(100, 30).expect("resize");
        assert!(!link.wants_flush(), "written at once");
        assert_eq!(readable(&slave), b"typed", "the program reads its input from the PTY");
        let size = rustix::termios::tcgetwinsize(&slave).expect("size");
        assert_eq!((size.ws_col, size.ws_row), (100, 30));
        drop(link);
        let sent = fake.join().expect("fake holder");
        assert_eq!(
            sent,
            vec![Frame::Attach { version: wire::VERSION, from: 0 }],
            "nothing else to the holder"
        );
    }

    #[tokio::test]
    async fn an_older_holder_gets_input_and_resizes_as_frames_whatever_it_passes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("w1.sock");
        let (master, slave) = fdpass::test_pty();
        let older = wire::DIRECT_INPUT_SINCE - 1;
        let fake = fake_holder_passing(&socket, older, Some(master));
        let mut link = link(connect(&socket, 0, holder::DEFAULT_HELLO_TIMEOUT).expect("adopted"));
        link.queue_input(b"typed", None).expect("input");
        link.resize(100, 30).expect("resize");
        drop(link);
        let sent = fake.join().expect("fake holder");
        assert_eq!(
            sent,
            vec![
                Frame::Attach { version: older, from: 0 },
                Frame::Input { data: b"typed".to_vec() },
                Frame::Resize { cols: 100, rows: 30 }
            ]
        );
        assert!(readable(&slave).is_empty(), "nothing was written to the PTY by the gateway");
    }

    #[test]
    fn a_newer_holder_is_refused_and_sent_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("w1.sock");
        let fake = fake_holder(&socket, wire::VERSION + 1);
        let Err(AdoptError::Unusable(why)) = connect(&socket, 0, holder::DEFAULT_HELLO_TIMEOUT) else {
            panic!("refused as unusable")
        };
        assert!(why.contains(&format!("speaks holder protocol {}", wire::VERSION + 1)), "{why}");
        assert_eq!(fake.join().expect("fake holder"), None, "nothing was sent");
    }
}
