//! End-to-end test of the wall (`g`): the built binary runs in a real PTY with the gateway it
//! starts itself, its screen is read through vt100, and every step waits on a predicate with a
//! deadline.

mod support;

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_controlroom");
const COLS: u16 = 110;
const ROWS: u16 = 32;

/// The front end running in a PTY, its output parsed by vt100 on a reader thread.
struct Tui {
    screen: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    data: std::path::PathBuf,
}

impl Tui {
    fn spawn(data: &Path, config: &Path) -> Tui {
        let pty = native_pty_system()
            .openpty(PtySize { rows: ROWS, cols: COLS, pixel_width: 0, pixel_height: 0 })
            .expect("open pty");
        let mut cmd = CommandBuilder::new(BIN);
        cmd.arg("--data-dir");
        cmd.arg(data);
        cmd.arg("--config-dir");
        cmd.arg(config);
        cmd.env("TERM", "xterm-256color");
        cmd.env("SHELL", "/bin/sh");
        cmd.env_remove("CONTROLROOM_URL");
        cmd.env_remove("CONTROLROOM_TOKEN");
        let child = pty.slave.spawn_command(cmd).expect("spawn controlroom");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let nz = |n| std::num::NonZeroU16::new(n).expect("non-zero");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(nz(ROWS), nz(COLS), 0)));
        let feed = screen.clone();
        std::thread::spawn(move || {
            let _master = pty.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().expect("screen lock").process(&buf[..n]);
            }
        });
        Tui { screen, writer, child, data: data.to_path_buf() }
    }

    fn contents(&self) -> String {
        self.screen.lock().expect("screen lock").screen().contents()
    }

    fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let text = self.contents();
            if pred(&text) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_text(&self, text: &str, secs: u64) {
        self.wait_for(text, secs, |s| s.contains(text));
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to pty");
        self.writer.flush().expect("flush pty");
    }

    fn wait_exit(&mut self, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.child.try_wait().expect("try_wait").is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("controlroom did not exit; screen:\n{}", self.contents());
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        // The background gateway it started outlives it by design: end it here.
        if let Some(pid) = gateway_json(&self.data).and_then(|v| v["pid"].as_u64()) {
            let _ = Command::new("kill").args(["-s", "KILL", "--", &pid.to_string()]).status();
        }
        support::kill_holders(&self.data);
    }
}

fn gateway_json(data: &Path) -> Option<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(data.join("gateway.json")).ok()?).ok()
}

/// The background gateway's address and the `Authorization` header value for it.
fn gateway_addr_auth(data: &Path) -> (String, String) {
    let gw = gateway_json(data).expect("the background gateway's gateway.json");
    let addr = gw["url"].as_str().expect("url").trim_start_matches("http://").to_owned();
    let token = std::fs::read_to_string(data.join("token")).expect("token");
    (addr, format!("Bearer {}", token.trim()))
}

/// The screen row holding the focused (thick-bordered) tile's title.
fn focused_title(screen: &str) -> Option<String> {
    let line = screen.lines().find(|l| l.contains('┏'))?;
    let start = line.find('┏')?;
    let end = line[start..].find('┓').map_or(line.len(), |e| start + e);
    Some(line[start..end].to_owned())
}

#[test]
fn the_wall_shows_every_workers_screen_moves_focus_attaches_and_returns() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let mut tui = Tui::spawn(data.path(), config.path());
    tui.wait_text("No sessions yet", 30);

    // Three workers printing known text (computed, so the command line never matches), then
    // echoing what they are sent.
    let (addr, auth) = gateway_addr_auth(data.path());
    let worker = |name: &str, n: u32| {
        serde_json::json!({
            "name": name,
            "command": ["sh", "-c", format!("echo {name}-$(({n}+1))-ok; exec cat")],
        })
    };
    let body = serde_json::json!({
        "title": "wall-e2e",
        "cwd": "/tmp",
        "workers": [worker("alpha", 41), worker("beta", 42), worker("gamma", 43)],
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let (status, created) = rt.block_on(support::http_raw(
        &addr,
        "POST",
        "/api/sessions",
        &[("Authorization", &auth)],
        Some(body.to_string()),
    ));
    assert_eq!(status, 201, "{created}");
    tui.wait_for("the session on the dashboard", 20, |s| s.contains("wall-e2e") && s.contains("3 workers"));

    // g: the wall of the selected session, each tile its worker's live screen and name.
    tui.send(b"g");
    tui.wait_for("three tiles with their screens", 20, |s| {
        s.contains("Wall · session “wall-e2e” · 3 workers")
            && ["alpha-42-ok", "beta-43-ok", "gamma-44-ok"].iter().all(|t| s.contains(t))
            && ["alpha", "beta", "gamma"].iter().all(|n| s.lines().nth(1).is_some_and(|l| l.contains(n)))
    });
    let screen = tui.contents();
    assert!(focused_title(&screen).is_some_and(|t| t.contains("alpha")), "alpha is focused first:\n{screen}");

    // → moves the focus to beta; l to gamma; h back to beta.
    tui.send(b"\x1b[C");
    tui.wait_for("beta focused", 10, |s| focused_title(s).is_some_and(|t| t.contains("beta")));
    tui.send(b"l");
    tui.wait_for("gamma focused", 10, |s| focused_title(s).is_some_and(|t| t.contains("gamma")));
    tui.send(b"h");
    tui.wait_for("beta focused again", 10, |s| focused_title(s).is_some_and(|t| t.contains("beta")));

    // Enter attaches to beta: its header, its screen, and what is typed reaches beta.
    tui.send(b"\r");
    tui.wait_text("wall-e2e \u{203a} beta", 10);
    tui.wait_text("beta-43-ok", 10);
    tui.send(b"typed-into-beta\r");
    tui.wait_for("beta echoing the typed line", 10, |s| s.matches("typed-into-beta").count() >= 2);

    // Detaching returns to the wall, where beta's tile shows the typed line; the others do not.
    tui.send(b"\x1c");
    tui.wait_for("the wall again, beta's tile updated", 10, |s| {
        s.contains("Wall · session") && s.contains("typed-into-beta") && s.contains("alpha-42-ok")
    });
    assert!(focused_title(&tui.contents()).is_some_and(|t| t.contains("beta")), "beta is still focused");

    // g cycles the scope: nobody needs the user, and the wall says so.
    tui.send(b"g");
    tui.wait_text("No worker needs you.", 10);
    tui.send(b"g");
    tui.wait_for("every worker", 10, |s| s.contains("Wall · all · 3 workers") && s.contains("gamma-44-ok"));

    // Esc leaves for the dashboard; q quits.
    tui.send(b"\x1b");
    tui.wait_for("the dashboard", 10, |s| s.contains("Sessions 1") && !s.contains("Wall ·"));
    tui.send(b"q");
    tui.wait_exit(20);
}

#[test]
fn a_flooding_tile_holds_no_other_tile_back_and_attaching_from_a_tile_brings_its_scrollback() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let mut tui = Tui::spawn(data.path(), config.path());
    tui.wait_text("No sessions yet", 30);

    let (addr, auth) = gateway_addr_auth(data.path());
    // A flood beside a worker that printed 200 numbered lines (computed, so the command line
    // never matches) and then echoes what it is sent.
    let body = serde_json::json!({
        "title": "flood-e2e",
        "cwd": "/tmp",
        "workers": [
            {"name": "flood", "command": ["sh", "-c", "while :; do seq 1 100000; done"]},
            {"name": "calm", "command": ["sh", "-c", "seq -f 'numbered-%g' 1001 1200; exec cat"]},
        ],
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let post = |path: &str, body: serde_json::Value| {
        rt.block_on(support::http_raw(
            &addr,
            "POST",
            path,
            &[("Authorization", &auth)],
            Some(body.to_string()),
        ))
    };
    let (status, created) = post("/api/sessions", body);
    assert_eq!(status, 201, "{created}");
    let sid = created["id"].as_str().expect("id").to_owned();
    let calm = created["workers"][1]["id"].as_str().expect("calm's id").to_owned();
    tui.wait_for("the session on the dashboard", 20, |s| s.contains("flood-e2e") && s.contains("2 workers"));

    tui.send(b"g");
    tui.wait_for("both tiles, the calm one's screen on it", 20, |s| {
        s.contains("Wall · session “flood-e2e” · 2 workers") && s.contains("numbered-1200")
    });
    // While the flood tile keeps flooding, what the calm worker prints reaches its tile.
    let (status, body) = post(
        &format!("/api/sessions/{sid}/workers/{calm}/input"),
        serde_json::json!({"data": "typed-during-flood\r"}),
    );
    assert!(status < 300, "{status} {body}");
    tui.wait_for("the calm tile updated beside the flood", 15, |s| s.contains("typed-during-flood"));

    // Attaching to the calm tile: its screen at once, and its whole scrollback with it (a tile
    // only ever had the screen).
    tui.send(b"\x1b[C");
    tui.wait_for("calm focused", 10, |s| focused_title(s).is_some_and(|t| t.contains("calm")));
    tui.send(b"\r");
    tui.wait_text("flood-e2e \u{203a} calm", 10);
    let oldest = "numbered-1001";
    // Shift-PageUp until it shows (a key before the attach's history arrives scrolls the
    // tile's screen, which the history then replaces).
    let deadline = Instant::now() + Duration::from_secs(15);
    while !tui.contents().contains(oldest) {
        assert!(Instant::now() < deadline, "never scrolled back to {oldest}; screen:\n{}", tui.contents());
        tui.send(b"\x1b[5;2~");
        std::thread::sleep(Duration::from_millis(100));
    }

    tui.send(b"\x1c");
    tui.wait_text("Wall · session", 10);
    tui.send(b"\x1b");
    tui.wait_for("the dashboard", 10, |s| !s.contains("Wall ·"));
    tui.send(b"q");
    tui.wait_exit(20);
}
