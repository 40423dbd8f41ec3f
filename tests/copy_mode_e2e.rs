//! End-to-end test of copy mode: `controlroom attach` runs in a real PTY against a real gateway;
//! keys and mouse reports are written to the PTY as a terminal would, and the raw bytes the front
//! end writes back are searched for the OSC 52 sequence that puts the copy on the clipboard.

mod support;

use base64::Engine as _;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Gateway, bin};

const COLS: u16 = 100;
const ROWS: u16 = 30;

/// What the worker prints before it waits.
const SCRIPT: &str = "printf 'alpha beta gamma\\nsecond line here\\n'; exec cat";

/// `controlroom attach` in a PTY: its raw output kept whole, and parsed by vt100.
struct Attached {
    raw: Arc<Mutex<Vec<u8>>>,
    screen: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Attached {
    fn spawn(data: &Path, config: &Path, target: &str, tmux: Option<&str>) -> Attached {
        let pty = native_pty_system()
            .openpty(PtySize { rows: ROWS, cols: COLS, pixel_width: 0, pixel_height: 0 })
            .expect("open pty");
        let mut cmd = CommandBuilder::new(bin());
        cmd.args(["attach", target, "--data-dir"]);
        cmd.arg(data);
        cmd.arg("--config-dir");
        cmd.arg(config);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("CONTROLROOM_URL");
        cmd.env_remove("CONTROLROOM_TOKEN");
        match tmux {
            Some(value) => cmd.env("TMUX", value),
            None => cmd.env_remove("TMUX"),
        }
        let child = pty.slave.spawn_command(cmd).expect("spawn controlroom attach");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let nz = |n| std::num::NonZeroU16::new(n).expect("non-zero");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(nz(ROWS), nz(COLS), 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (feed, keep) = (screen.clone(), raw.clone());
        std::thread::spawn(move || {
            let _master = pty.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                keep.lock().expect("raw lock").extend_from_slice(&buf[..n]);
                feed.lock().expect("screen lock").process(&buf[..n]);
            }
        });
        Attached { raw, screen, writer, child }
    }

    fn contents(&self) -> String {
        self.screen.lock().expect("screen lock").screen().contents()
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to pty");
        self.writer.flush().expect("flush pty");
    }

    /// Waits until `pred` holds for the screen, failing with the screen after `secs`.
    fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let text = self.contents();
            if pred(&text) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the raw output holds `needle`, failing after `secs` with what it holds.
    fn wait_bytes(&self, needle: &[u8], secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            {
                let raw = self.raw.lock().expect("raw lock");
                if raw.windows(needle.len()).any(|w| w == needle) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {:?} in the output; screen:\n{}",
                String::from_utf8_lossy(needle),
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_exit(&mut self, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.child.try_wait().expect("try_wait").is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("controlroom attach did not exit; screen:\n{}", self.contents());
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// `ESC ] 52 ; c ; BASE64 BEL` for `text`.
fn osc52(text: &str) -> Vec<u8> {
    format!("\x1b]52;c;{}\x07", base64::engine::general_purpose::STANDARD.encode(text)).into_bytes()
}

fn new_session(data: &Path) -> String {
    let out = Command::new(bin())
        .args(["new", "--title", "copy", "--data-dir"])
        .arg(data)
        .args(["--", "sh", "-c", SCRIPT])
        .env_remove("CONTROLROOM_URL")
        .env_remove("CONTROLROOM_TOKEN")
        .output()
        .expect("run controlroom new");
    assert!(out.status.success(), "new failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn copy_mode_puts_a_selection_and_the_screen_on_the_clipboard_by_osc52() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let _gateway = Gateway::start_in(data.path(), &[]);
    let target = new_session(data.path());
    let mut tui = Attached::spawn(data.path(), config.path(), &target, None);
    tui.wait_for("the worker's text", 20, |s| s.contains("second line here") && s.contains("detach"));

    // ctrl-\ [ : copy mode, the cursor where the program's is (under the two lines).
    tui.send(b"\x1c[");
    tui.wait_for("copy mode", 10, |s| s.contains("COPY") && s.contains("ln 3/"));
    // Up two lines, a word right, select to its end, copy.
    tui.send(b"kkwve");
    tui.wait_for("the selection's size", 10, |s| s.contains("sel 4 chars"));
    tui.send(b"y");
    tui.wait_bytes(&osc52("beta"), 10);
    tui.wait_for("the copy said and copy mode left", 10, |s| {
        s.contains("copied 4 chars") && !s.contains("COPY")
    });

    // Y copies the whole screen (its blank rows left out).
    tui.send(b"\x1c[");
    tui.wait_for("copy mode again", 10, |s| s.contains("COPY"));
    tui.send(b"Y");
    tui.wait_bytes(&osc52("alpha beta gamma\nsecond line here"), 10);

    // A mouse drag over a program that did not ask for the mouse selects, and its release
    // copies (SGR reports: the worker's first row is the terminal's second).
    tui.send(b"\x1b[<0;1;2M\x1b[<32;3;2M\x1b[<32;5;2M\x1b[<0;5;2m");
    tui.wait_bytes(&osc52("alpha"), 10);

    // The worker kept running all along: what is typed now reaches it.
    tui.send(b"still-here\r");
    tui.wait_for("the worker's echo", 10, |s| s.matches("still-here").count() >= 2);

    // The detach key alone still detaches (`attach` then exits).
    tui.send(b"\x1c");
    tui.wait_exit(20);
    drop(tui);
    support::kill_holders(data.path());
}

#[test]
fn inside_tmux_the_copy_is_wrapped_in_a_passthrough() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let _gateway = Gateway::start_in(data.path(), &[]);
    let target = new_session(data.path());
    let mut tui = Attached::spawn(data.path(), config.path(), &target, Some("/tmp/tmux-0/default,1,0"));
    tui.wait_for("the worker's text", 20, |s| s.contains("second line here") && s.contains("detach"));
    tui.send(b"\x1c[");
    tui.wait_for("copy mode", 10, |s| s.contains("COPY"));
    tui.send(b"kk0ve");
    tui.wait_for("the selection", 10, |s| s.contains("sel 5 chars"));
    tui.send(b"y");
    let b64 = base64::engine::general_purpose::STANDARD.encode("alpha");
    tui.wait_bytes(format!("\x1bPtmux;\x1b\x1b]52;c;{b64}\x07\x1b\\").as_bytes(), 10);
    drop(tui);
    support::kill_holders(data.path());
}
