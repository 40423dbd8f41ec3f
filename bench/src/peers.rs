//! The baselines measured in the same run: a raw PTY read directly (the physical limit) and tmux;
//! and what `/proc` says about a process (memory, CPU time, context switches).

use anyhow::{Context as _, bail};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A program in a raw PTY, read directly on a thread.
pub struct RawPty {
    writer: Box<dyn std::io::Write + Send>,
    /// Unbounded: the reader never makes the program wait for the harness, so what is measured
    /// is the program's speed; chunks carry the time they were read.
    rx: std::sync::mpsc::Receiver<(Instant, Vec<u8>)>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

/// A program started in a fresh PTY, with both ends of the master side.
struct Spawned {
    reader: Box<dyn std::io::Read + Send>,
    writer: Box<dyn std::io::Write + Send>,
    master: Box<dyn portable_pty::MasterPty + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

/// Starts `argv` in a `cols × rows` PTY (cwd `/tmp`, `TERM=xterm-256color`, plus `env`).
fn spawn_in_pty(argv: &[&str], env: &[(&str, &str)], cols: u16, rows: u16) -> anyhow::Result<Spawned> {
    let pair = native_pty_system()
        .openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
        .context("openpty")?;
    let mut cmd = CommandBuilder::new(argv[0]);
    cmd.args(&argv[1..]);
    cmd.cwd("/tmp");
    cmd.env("TERM", "xterm-256color");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = pair.slave.spawn_command(cmd).context("spawn in pty")?;
    drop(pair.slave);
    let reader = pair.master.try_clone_reader().context("pty reader")?;
    let writer = pair.master.take_writer().context("pty writer")?;
    Ok(Spawned { reader, writer, master: pair.master, child })
}

/// Consumes `seen` up to and including `needle` and says so; otherwise keeps at most 4 KiB of it
/// (enough to find a needle that arrives split across reads) and says not yet.
pub fn take_through(seen: &mut Vec<u8>, needle: &[u8]) -> bool {
    if let Some(at) = seen.windows(needle.len()).position(|w| w == needle) {
        seen.drain(..at + needle.len());
        return true;
    }
    if seen.len() > 4096 {
        seen.drain(..seen.len() - needle.len());
    }
    false
}

impl RawPty {
    /// Spawns `argv` in a `cols × rows` PTY.
    pub fn spawn(argv: &[&str], cols: u16, rows: u16) -> anyhow::Result<RawPty> {
        Self::spawn_env(argv, &[], cols, rows)
    }

    /// Spawns `argv` with extra environment in a `cols × rows` PTY.
    pub fn spawn_env(argv: &[&str], env: &[(&str, &str)], cols: u16, rows: u16) -> anyhow::Result<RawPty> {
        let Spawned { mut reader, writer, master, child } = spawn_in_pty(argv, env, cols, rows)?;
        let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Ok(RawPty { writer, rx, _master: master, child })
    }

    /// Writes `bytes` to the program.
    pub fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.writer.write_all(bytes)?;
        self.writer.flush()?;
        Ok(())
    }

    /// The program's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    /// Reads until EOF; returns the byte count.
    pub fn drain_to_eof(&mut self) -> usize {
        let mut n = 0;
        while let Ok((_, chunk)) = self.rx.recv() {
            n += chunk.len();
        }
        n
    }

    /// Reads until the output seen contains `needle`.
    pub fn wait_for(&mut self, needle: &[u8]) -> anyhow::Result<()> {
        let mut seen = Vec::new();
        loop {
            let (_, chunk) =
                self.rx.recv_timeout(Duration::from_secs(30)).context("waiting for pty output")?;
            seen.extend_from_slice(&chunk);
            if seen.windows(needle.len()).any(|w| w == needle) {
                return Ok(());
            }
            if seen.len() > 4096 {
                seen.drain(..seen.len() - needle.len());
            }
        }
    }
}

impl RawPty {
    /// The next output chunk and when it was read, or `None` after `timeout` or at EOF.
    pub fn next_chunk(&mut self, timeout: Duration) -> Option<(Instant, Vec<u8>)> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// Output chunks with their arrival times, for `window`.
    pub fn collect(&mut self, window: Duration) -> Vec<(Instant, usize)> {
        let end = Instant::now() + window;
        let mut out = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.rx.recv_timeout(left) {
                Ok((t, chunk)) => out.push((t, chunk.len())),
                Err(_) => break,
            }
        }
        out
    }
}

/// A program in a raw PTY read on the caller's thread: a blocking `read` on the thread that
/// measures, with no reader thread and channel in between. The echo section uses it so the raw
/// PTY is read the way its WebSocket contenders are (each on the measuring thread, which sleeps
/// in the kernel until its bytes arrive; see `echo.rs`).
pub struct DirectPty {
    reader: Box<dyn std::io::Read + Send>,
    writer: Box<dyn std::io::Write + Send>,
    /// What `wait_for` has read and not consumed yet.
    seen: Vec<u8>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl DirectPty {
    /// Spawns `argv` in a `cols × rows` PTY.
    pub fn spawn(argv: &[&str], cols: u16, rows: u16) -> anyhow::Result<DirectPty> {
        let Spawned { reader, writer, master, child } = spawn_in_pty(argv, &[], cols, rows)?;
        Ok(DirectPty { reader, writer, seen: Vec::new(), _master: master, child })
    }

    /// Writes `bytes` to the program.
    pub fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.writer.write_all(bytes)?;
        self.writer.flush()?;
        Ok(())
    }

    /// Reads (blocking, on this thread) until the output contains `needle`; what was read up to
    /// it is consumed. Ends with an error at EOF (the program exited).
    pub fn wait_for(&mut self, needle: &[u8]) -> anyhow::Result<()> {
        let mut buf = [0u8; 4096];
        loop {
            if take_through(&mut self.seen, needle) {
                return Ok(());
            }
            match self.reader.read(&mut buf) {
                Ok(0) => bail!("the program closed its PTY"),
                Ok(n) => self.seen.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e).context("reading the PTY"),
            }
        }
    }
}

impl Drop for DirectPty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A program flooding a raw PTY, drained on its own thread (as a terminal would) until dropped.
pub struct RawFlood {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    drained: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RawFlood {
    /// Starts `argv` in a `cols × rows` PTY and drains it.
    pub fn start(argv: &[&str], cols: u16, rows: u16) -> anyhow::Result<RawFlood> {
        use std::sync::atomic::Ordering;
        let pty = RawPty::spawn(argv, cols, rows)?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let drained = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (s, d) = (stop.clone(), drained.clone());
        let thread = std::thread::Builder::new().name("raw-flood".into()).spawn(move || {
            // The poll interval only bounds how long a stop waits.
            while !s.load(Ordering::Relaxed) {
                match pty.rx.recv_timeout(Duration::from_millis(50)) {
                    Ok((_, chunk)) => {
                        d.fetch_add(chunk.len(), Ordering::Relaxed);
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            drop(pty);
        })?;
        Ok(RawFlood { stop, drained, thread: Some(thread) })
    }

    /// Bytes drained so far.
    pub fn drained(&self) -> usize {
        self.drained.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for RawFlood {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RawPty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Seconds for a raw PTY to deliver `file` after a keystroke (`read x; cat FILE`), and the bytes.
pub fn raw_throughput(file: &Path) -> anyhow::Result<(Duration, usize)> {
    let script = format!("read x; exec cat '{}'", file.display());
    let mut pty = RawPty::spawn(&["sh", "-c", &script], 200, 50)?;
    std::thread::sleep(Duration::from_millis(50));
    let t0 = Instant::now();
    pty.write(b"\n")?;
    let n = pty.drain_to_eof();
    Ok((t0.elapsed(), n))
}

/// Whether tmux is installed.
pub fn tmux_available() -> bool {
    Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success())
}

/// A private tmux server (its own socket name), killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A server with the given socket name; starts when the first session is made.
    pub fn new(socket: &str) -> Tmux {
        let t = Tmux { socket: socket.to_string() };
        t.kill_server();
        t
    }

    fn cmd(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new("tmux").args(["-L", &self.socket, "-f", "/dev/null"]).args(args).output()?;
        if !out.status.success() {
            bail!("tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A detached 200×50 session running `script` with `history` lines of scrollback.
    pub fn session(&self, name: &str, script: &str, history: usize) -> anyhow::Result<()> {
        self.cmd(&["new-session", "-d", "-s", name, "-x", "200", "-y", "50", "sh", "-c", script])?;
        self.cmd(&["set-option", "-g", "history-limit", &history.to_string()])?;
        Ok(())
    }

    /// A detached `cols × rows` session running `script`.
    pub fn session_sized(&self, name: &str, script: &str, cols: u16, rows: u16) -> anyhow::Result<()> {
        let (cols, rows) = (cols.to_string(), rows.to_string());
        self.cmd(&["new-session", "-d", "-s", name, "-x", &cols, "-y", &rows, "sh", "-c", script])?;
        Ok(())
    }

    /// Ends `session` and its panes.
    pub fn kill_session(&self, session: &str) -> anyhow::Result<()> {
        self.cmd(&["kill-session", "-t", session])?;
        Ok(())
    }

    /// A tmux client attached to `session` in a `cols × rows` PTY the harness reads.
    pub fn attach(&self, session: &str, cols: u16, rows: u16) -> anyhow::Result<RawPty> {
        let argv = ["tmux", "-L", &self.socket, "-f", "/dev/null", "attach-session", "-t", session];
        // An empty TMUX: the harness may itself run inside tmux, and this is not nesting.
        RawPty::spawn_env(&argv, &[("TMUX", "")], cols, rows)
    }

    /// Another window in `session` running `script`.
    pub fn window(&self, session: &str, script: &str) -> anyhow::Result<()> {
        self.cmd(&["new-window", "-d", "-t", session, "sh", "-c", script])?;
        Ok(())
    }

    /// Types `keys` (tmux key names or text) into `target` in one `send-keys`.
    pub fn send_keys(&self, target: &str, keys: &[&str]) -> anyhow::Result<()> {
        let mut args = vec!["send-keys", "-t", target];
        args.extend_from_slice(keys);
        self.cmd(&args)?;
        Ok(())
    }

    /// Types Enter into `target`.
    pub fn enter(&self, target: &str) -> anyhow::Result<()> {
        self.cmd(&["send-keys", "-t", target, "Enter"])?;
        Ok(())
    }

    /// Blocks until `channel` is signalled (`tmux wait-for -S`).
    pub fn wait_for(&self, channel: &str) -> anyhow::Result<()> {
        self.cmd(&["wait-for", channel])?;
        Ok(())
    }

    /// `format` expanded for `target` (`display-message -p`).
    pub fn display(&self, target: &str, format: &str) -> anyhow::Result<String> {
        self.cmd(&["display-message", "-p", "-t", target, format])
    }

    /// The server's pid.
    pub fn pid(&self) -> anyhow::Result<u32> {
        let out = self.cmd(&["display-message", "-p", "#{pid}"])?;
        out.trim().parse().context("tmux pid")
    }

    /// The `tmux` command prefix for scripts running inside this server.
    pub fn prefix(&self) -> String {
        format!("tmux -L {}", self.socket)
    }

    fn kill_server(&self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).output();
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.kill_server();
    }
}

/// Seconds for tmux to take `file` into a pane after a keystroke.
pub fn tmux_throughput(file: &Path) -> anyhow::Result<Duration> {
    let tmux = Tmux::new("crbench-tp");
    let script = format!("read x; cat '{}'; {} wait-for -S tp-done; sleep 60", file.display(), tmux.prefix());
    tmux.session("tp", &script, 2000)?;
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    tmux.enter("tp")?;
    tmux.wait_for("tp-done")?;
    Ok(t0.elapsed())
}

/// Resident memory of `pid`, in bytes.
pub fn rss(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("VmRSS")?;
    Ok(kb * 1024)
}

/// Context switches of a thread or a process, voluntary (it blocked: a wake-up the code asked
/// for) and nonvoluntary (the scheduler preempted it: mostly the machine's load) apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Switches {
    /// The thread blocked (`voluntary_ctxt_switches`).
    pub voluntary: u64,
    /// The scheduler took the core away (`nonvoluntary_ctxt_switches`).
    pub nonvoluntary: u64,
}

impl Switches {
    /// Both kinds.
    pub fn total(&self) -> u64 {
        self.voluntary + self.nonvoluntary
    }

    /// The switches since `before` (counters only grow; a thread that ended counts as none).
    pub fn since(&self, before: Switches) -> Switches {
        Switches {
            voluntary: self.voluntary.saturating_sub(before.voluntary),
            nonvoluntary: self.nonvoluntary.saturating_sub(before.nonvoluntary),
        }
    }

    /// Adds `other` to these.
    pub fn add(&mut self, other: Switches) {
        self.voluntary += other.voluntary;
        self.nonvoluntary += other.nonvoluntary;
    }

    /// One `/proc/PID/task/TID/status` file's counts.
    fn from_status(status: &str) -> Switches {
        let mut s = Switches::default();
        for line in status.lines() {
            if let Some(v) = line.strip_prefix("voluntary_ctxt_switches:") {
                s.voluntary += v.trim().parse::<u64>().unwrap_or(0);
            } else if let Some(v) = line.strip_prefix("nonvoluntary_ctxt_switches:") {
                s.nonvoluntary += v.trim().parse::<u64>().unwrap_or(0);
            }
        }
        s
    }
}

/// CPU time (user + system) of `pid` in clock ticks, and its context switches over all threads.
pub fn cpu_and_switches(pid: u32) -> anyhow::Result<(u64, Switches)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').map(|(_, a)| a).context("stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields after the command name start at field 3 (state); utime and stime are 14 and 15.
    let ticks = fields.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let mut switches = Switches::default();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let Ok(task) = task else { continue };
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else { continue };
        switches.add(Switches::from_status(&status));
    }
    Ok((ticks, switches))
}

/// Context switches per thread name of `pid` (threads of one name summed).
pub fn switches_by_thread(pid: u32) -> std::collections::BTreeMap<String, Switches> {
    let mut out = std::collections::BTreeMap::<String, Switches>::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return out };
    for task in tasks.flatten() {
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default().trim().to_string();
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else { continue };
        out.entry(name).or_default().add(Switches::from_status(&status));
    }
    out
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// What an idle process costs over a window.
#[derive(Debug)]
pub struct IdleCost {
    /// CPU, % of one core.
    pub cpu: f64,
    /// Context switches (wake-ups) per second, all threads.
    pub wakeups: f64,
    /// The threads that woke, busiest first: (name, wake-ups/s).
    pub by_thread: Vec<(String, f64)>,
}

/// CPU % of one core and wake-ups (context switches) per second of `pid` over `window`.
pub async fn idle_cost(pid: u32, window: Duration) -> anyhow::Result<IdleCost> {
    let (t0, s0) = cpu_and_switches(pid)?;
    let before = switches_by_thread(pid);
    tokio::time::sleep(window).await;
    let (t1, s1) = cpu_and_switches(pid)?;
    let after = switches_by_thread(pid);
    let secs = window.as_secs_f64();
    let mut by_thread: Vec<(String, f64)> = after
        .iter()
        .map(|(k, v)| (k.clone(), v.since(before.get(k).copied().unwrap_or_default()).total() as f64 / secs))
        .filter(|(_, v)| *v > 0.0)
        .collect();
    by_thread.sort_by(|a, b| b.1.total_cmp(&a.1));
    // A thread that exits in the window (an idle blocking-pool thread) takes its count with it,
    // so the sum can go down: count nothing rather than wrap.
    Ok(IdleCost {
        cpu: t1.saturating_sub(t0) as f64 / clock_ticks() / secs * 100.0,
        wakeups: s1.since(s0).total() as f64 / secs,
        by_thread,
    })
}
