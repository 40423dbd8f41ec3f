//! The front end as a user runs it, for the end-to-end tests that drive it: the built binary in a
//! real PTY (its own data and config dirs, never the user's gateway or token), its screen read
//! through vt100 on a reader thread and, when asked, its raw output kept whole; every wait is on
//! a predicate with a deadline. Also the light `controlroom serve` guard and the
//! `controlroom new` helper these tests share. Included by path, as `mod tui;`, next to
//! `mod support;`.
#![allow(dead_code)]

use crate::support::{bin, kill_holders};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a wait looks at the screen again.
const POLL: Duration = Duration::from_millis(25);

/// How a front end is started: the size of its PTY, what comes before and after the directory
/// flags, its environment, and whether its raw output is kept.
#[derive(Debug, Clone)]
pub struct Spawn {
    cols: u16,
    rows: u16,
    before: Vec<String>,
    extra: Vec<String>,
    /// A variable to set (`Some`) or to remove (`None`).
    env: Vec<(String, Option<String>)>,
    keep_raw: bool,
}

impl Spawn {
    /// `controlroom --data-dir DATA --config-dir CONFIG` (the dashboard) in a `cols × rows` PTY.
    pub fn new(cols: u16, rows: u16) -> Spawn {
        Spawn { cols, rows, before: Vec::new(), extra: Vec::new(), env: Vec::new(), keep_raw: false }
    }

    /// Arguments before `--data-dir` (a subcommand: `attach TARGET`).
    pub fn before(mut self, args: &[&str]) -> Spawn {
        self.before.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Arguments after `--config-dir` (e.g. `--connect URL`).
    pub fn extra(mut self, args: &[&str]) -> Spawn {
        self.extra.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Sets (`Some`) or removes (`None`) an environment variable.
    pub fn env(mut self, name: &str, value: Option<&str>) -> Spawn {
        self.env.push((name.to_string(), value.map(str::to_string)));
        self
    }

    /// Keeps every byte the front end writes (for sequences vt100 does not show, e.g. OSC 52).
    pub fn keep_raw(mut self) -> Spawn {
        self.keep_raw = true;
        self
    }

    /// Starts it.
    pub fn run(self, data: &Path, config: &Path) -> Tui {
        let pty = native_pty_system()
            .openpty(PtySize { rows: self.rows, cols: self.cols, pixel_width: 0, pixel_height: 0 })
            .expect("open pty");
        let mut cmd = CommandBuilder::new(bin());
        cmd.args(&self.before);
        cmd.arg("--data-dir");
        cmd.arg(data);
        cmd.arg("--config-dir");
        cmd.arg(config);
        cmd.args(&self.extra);
        cmd.env("TERM", "xterm-256color");
        cmd.env("SHELL", "/bin/sh");
        cmd.env_remove("CONTROLROOM_URL");
        cmd.env_remove("CONTROLROOM_TOKEN");
        for (name, value) in &self.env {
            match value {
                Some(v) => cmd.env(name, v),
                None => cmd.env_remove(name),
            }
        }
        let child = pty.slave.spawn_command(cmd).expect("spawn controlroom");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let nz = |n| std::num::NonZeroU16::new(n).expect("non-zero");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(nz(self.rows), nz(self.cols), 0)));
        let raw = self.keep_raw.then(|| Arc::new(Mutex::new(Vec::new())));
        let (feed, keep) = (screen.clone(), raw.clone());
        std::thread::spawn(move || {
            // Keep the master alive as long as the reader runs.
            let _master = pty.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Some(keep) = &keep {
                    keep.lock().expect("raw lock").extend_from_slice(&buf[..n]);
                }
                feed.lock().expect("screen lock").process(&buf[..n]);
            }
        });
        Tui { screen, raw, writer, child, data: data.to_path_buf() }
    }
}

/// The front end running in a PTY, its output parsed by vt100 on a reader thread.
pub struct Tui {
    pub screen: Arc<Mutex<vt100::Parser>>,
    /// Every byte written, when started with [`Spawn::keep_raw`].
    raw: Option<Arc<Mutex<Vec<u8>>>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    /// Its data dir: a background gateway it started there, and their holders, end with it.
    data: PathBuf,
}

impl Tui {
    /// The dashboard in a `cols × rows` PTY.
    pub fn spawn(data: &Path, config: &Path, (cols, rows): (u16, u16)) -> Tui {
        Spawn::new(cols, rows).run(data, config)
    }

    /// The screen's text.
    pub fn contents(&self) -> String {
        self.screen.lock().expect("screen lock").screen().contents()
    }

    /// Waits until the screen satisfies `pred`, failing with the screen after `secs`.
    pub fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let text = self.contents();
            if pred(&text) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{text}");
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the screen shows `text`.
    pub fn wait_text(&self, text: &str, secs: u64) {
        self.wait_for(text, secs, |s| s.contains(text));
    }

    /// Waits until the raw output holds `needle` (needs [`Spawn::keep_raw`]).
    pub fn wait_bytes(&self, needle: &[u8], secs: u64) {
        let raw = self.raw.as_ref().expect("started with keep_raw");
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if raw.lock().expect("raw lock").windows(needle.len()).any(|w| w == needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {:?} in the output; screen:\n{}",
                String::from_utf8_lossy(needle),
                self.contents()
            );
            std::thread::sleep(POLL);
        }
    }

    /// Types `bytes`.
    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to pty");
        self.writer.flush().expect("flush pty");
    }

    /// Waits for the process to exit (bounded); kills it and fails with the screen after `secs`.
    pub fn wait_exit(&mut self, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.child.try_wait().expect("try_wait").is_some() {
                return;
            }
            std::thread::sleep(POLL);
        }
        let _ = self.child.kill();
        panic!("controlroom did not exit; screen:\n{}", self.contents());
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        // A background gateway it started (it logs to DATA/gateway.log) outlives it by design,
        // and so do its workers' holders: end them here.
        if self.data.join("gateway.log").exists() {
            if let Some(pid) = gateway_pid(&self.data) {
                let _ = Command::new("kill").args(["-s", "KILL", "--", &pid.to_string()]).status();
            }
            kill_holders(&self.data);
        }
    }
}

/// `DATA/gateway.json`, written by the gateway running there.
pub fn gateway_json(data: &Path) -> Option<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(data.join("gateway.json")).ok()?).ok()
}

/// The pid `DATA/gateway.json` names.
pub fn gateway_pid(data: &Path) -> Option<u32> {
    gateway_json(data)?["pid"].as_u64().and_then(|p| u32::try_from(p).ok())
}

/// A `controlroom serve` on a free port, without the trace log and credential checks of
/// [`crate::support::Gateway`]; killed, with its workers' holders, when dropped.
pub struct Serve {
    child: Child,
    pub url: String,
    data: PathBuf,
    /// Stopped with [`Serve::stop`]: its holders are left for the next gateway to adopt.
    stopped: bool,
}

impl Serve {
    /// `controlroom serve` on `data`.
    pub fn start(data: &Path) -> Serve {
        Self::start_env(data, &[], &[])
    }

    /// Like `start`, with extra flags (e.g. `--tls-cert`).
    pub fn start_with(data: &Path, extra: &[&str]) -> Serve {
        Self::start_env(data, extra, &[])
    }

    /// Like `start_with`, with extra environment variables.
    pub fn start_env(data: &Path, extra: &[&str], envs: &[(&str, String)]) -> Serve {
        let mut child = Command::new(bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .args(extra)
            .env("SHELL", "/bin/sh")
            .env_remove("CONTROLROOM_TOKEN")
            .envs(envs.iter().cloned())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read listening line");
        let url = line.trim().strip_prefix("controlroom listening on ").expect("listening line").to_owned();
        Serve { child, url, data: data.to_path_buf(), stopped: false }
    }

    /// SIGTERM and wait: a clean stop, as a user would do (workers keep running).
    pub fn stop(mut self) {
        let status =
            Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().expect("try_wait").is_none() {
            assert!(Instant::now() < deadline, "serve did not stop");
            std::thread::sleep(POLL);
        }
        self.stopped = true;
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.stopped {
            kill_holders(&self.data);
        }
    }
}

/// `controlroom new --title TITLE --data-dir DATA ARGS…` against the gateway of `data`; returns
/// the `SESSION/WORKER` it prints.
pub fn new_session(data: &Path, title: &str, args: &[&str]) -> String {
    let out = Command::new(bin())
        .args(["new", "--title", title, "--data-dir"])
        .arg(data)
        .args(args)
        .env_remove("CONTROLROOM_URL")
        .env_remove("CONTROLROOM_TOKEN")
        .output()
        .expect("run controlroom new");
    assert!(out.status.success(), "new failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
