//! End-to-end tests of the front end: the built binary runs in a real PTY, its screen is read
//! through vt100, and every step waits on a predicate with a deadline (no sleep-and-assert).

mod support;
#[path = "support/tui.rs"]
mod tui;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::bin;
use tui::{Serve, Spawn, Tui, new_session};

const COLS: u16 = 110;
const ROWS: u16 = 32;

/// The dashboard with extra command-line arguments (e.g. `--connect URL`).
fn spawn_with(data: &Path, config: &Path, extra: &[&str]) -> Tui {
    Spawn::new(COLS, ROWS).extra(extra).run(data, config)
}

/// `controlroom attach TARGET` with the given directories.
fn spawn_attach(data: &Path, config: &Path, target: &str) -> Tui {
    Spawn::new(COLS, ROWS).before(&["attach", target]).run(data, config)
}

/// `controlroom ls --json` against the gateway of `data`.
fn ls_json(data: &Path) -> serde_json::Value {
    let out = Command::new(bin())
        .args(["ls", "--json", "--data-dir"])
        .arg(data)
        .env_remove("CONTROLROOM_URL")
        .env_remove("CONTROLROOM_TOKEN")
        .output()
        .expect("run controlroom ls");
    assert!(out.status.success(), "ls failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn create_attach_echo_detach_quit_and_the_worker_keeps_running() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let mut tui = Tui::spawn(data.path(), config.path(), (COLS, ROWS));
    tui.wait_text("No sessions yet", 30);
    // No gateway answered: the front end started one in the background.
    assert!(data.path().join("gateway.log").exists(), "a background gateway logs to DATA/gateway.log");

    // n opens the dialog; type a title; Enter creates it with the default shell.
    tui.send(b"n");
    tui.wait_text("New session", 10);
    tui.send(b"e2e-demo\r");
    tui.wait_for("the session and its running worker", 20, |s| {
        s.contains("e2e-demo") && s.contains("running")
    });

    // Enter attaches: the header names the session.
    tui.send(b"\r");
    tui.wait_text("e2e-demo \u{203a} ", 10);
    tui.send(b"echo hi-$((40+2))\r");
    tui.wait_text("hi-42", 15);

    // Ctrl-\ detaches: back on the dashboard, the session is still there and running.
    tui.send(b"\x1c");
    tui.wait_for("the dashboard again", 10, |s| s.contains("Sessions 1") && s.contains("running"));
    tui.wait_text("hi-42", 10);

    // Quitting never asks; the worker keeps running and `ls` shows it so.
    tui.send(b"q");
    tui.wait_exit(20);
    let list = ls_json(data.path());
    assert_eq!(list["sessions"][0]["title"], "e2e-demo");
    assert_eq!(list["sessions"][0]["workers"][0]["state"], "running", "{list}");

    // `controlroom` again finds the same gateway and the worker's live screen.
    let mut tui = Tui::spawn(data.path(), config.path(), (COLS, ROWS));
    tui.wait_for("the session, still running", 30, |s| s.contains("e2e-demo") && s.contains("running"));
    tui.send(b"\r");
    tui.wait_text("hi-42", 15);
    tui.send(b"echo again-$((6*7))\r");
    tui.wait_text("again-42", 15);
}

#[test]
fn reconnects_and_resyncs_after_gateway_restart() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let serve = Serve::start(data.path());
    let mut tui = Tui::spawn(data.path(), config.path(), (COLS, ROWS));
    tui.wait_text("connected", 30);
    assert!(!data.path().join("gateway.log").exists(), "should use the running gateway");

    tui.send(b"n");
    tui.wait_text("New session", 10);
    tui.send(b"before-restart\r");
    tui.wait_text("before-restart", 20);

    serve.stop();
    tui.wait_text("reconnecting in", 20);

    // A new gateway on (most likely) another port: found again through gateway.json.
    let serve = Serve::start(data.path());
    let addr = serve.url.trim_start_matches("http://").to_owned();
    tui.wait_for("reconnected to the new gateway", 40, |s| {
        s.contains("\u{25cf} connected") && s.contains(&addr)
    });
    tui.wait_text("before-restart", 10);

    // Deltas flow again: a session created by a script shows up live.
    let target = new_session(data.path(), "after-restart", &[]);
    assert!(target.contains('/'), "prints SESSION/WORKER ids");
    tui.wait_text("after-restart", 20);

    tui.send(b"q");
    tui.wait_exit(20);
    drop(serve);
}

/// A `controlroom serve` with a fresh self-signed certificate in `dir`: the gateway, the
/// certificate file, and the gateway's data dir.
fn tls_serve(dir: &std::path::Path) -> (Serve, std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = support::self_signed_files(dir, "gateway");
    let gw_data = dir.join("gw");
    let args = ["--tls-cert", cert.to_str().expect("path"), "--tls-key", key.to_str().expect("path")];
    let serve = Serve::start_with(&gw_data, &args);
    (serve, cert, gw_data)
}

#[test]
fn dashboard_and_attach_over_https_and_wss() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let (serve, cert, gw_data) = tls_serve(data.path());
    let _holders = support::HolderGuard(gw_data.clone());
    let cert = cert.to_str().expect("path");
    assert!(serve.url.starts_with("https://"), "{}", serve.url);
    // A session made over HTTPS before the TUI starts.
    let out = Command::new(bin())
        .args(["new", "--title", "tls-demo", "--cwd", "/tmp", "--data-dir"])
        .arg(&gw_data)
        .args(["--connect", &serve.url, "--tls-ca", cert, "--", "sh"])
        .env_remove("CONTROLROOM_URL")
        .env_remove("CONTROLROOM_TOKEN")
        .env("CONTROLROOM_CONFIG_DIR", config.path())
        .output()
        .expect("run controlroom new");
    assert!(out.status.success(), "new failed: {}", String::from_utf8_lossy(&out.stderr));

    // The TUI is pointed at the gateway by URL (its token file is the gateway's).
    let token = gw_data.join("token");
    let mut tui = spawn_with(
        data.path(),
        config.path(),
        &["--connect", &serve.url, "--tls-ca", cert, "--token-file", token.to_str().expect("path")],
    );
    tui.wait_for("connected over TLS with the session listed", 30, |s| {
        s.contains("\u{25cf} connected") && s.contains("tls-demo") && s.contains("running")
    });
    assert!(tui.contents().contains(serve.url.trim_start_matches("https://")), "{}", tui.contents());

    // Attach over WSS, type, see the answer, detach.
    tui.send(b"\r");
    tui.wait_text("tls-demo \u{203a} ", 10);
    tui.send(b"echo wss-$((6*7))\r");
    tui.wait_text("wss-42", 15);
    tui.send(b"\x1c");
    tui.wait_for("the dashboard again", 10, |s| s.contains("Sessions 1"));
    tui.send(b"q");
    tui.wait_exit(20);
    drop(serve);
}

#[test]
fn an_untrusted_gateway_certificate_is_reported_once_not_retried() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let (serve, _cert, gw_data) = tls_serve(data.path());
    let _holders = support::HolderGuard(gw_data.clone());
    let token = gw_data.join("token");
    // No --tls-ca: the self-signed certificate cannot be trusted.
    let mut tui = spawn_with(
        data.path(),
        config.path(),
        &["--connect", &serve.url, "--token-file", token.to_str().expect("path")],
    );
    tui.wait_text("certificate not trusted", 20);
    let screen = tui.contents();
    assert!(!screen.contains("reconnecting"), "a certificate failure is final: {screen}");
    tui.send(b"q");
    tui.wait_exit(20);
    drop(serve);
}

#[test]
fn a_malformed_connect_url_ends_the_dashboard_with_one_line() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let mut tui = spawn_with(data.path(), config.path(), &["--connect", "http//bad"]);
    // Reported once and the program ends, instead of `↻ bad gateway URL … reconnecting` forever.
    tui.wait_text("bad gateway URL", 20);
    tui.wait_exit(20);
    let screen = tui.contents();
    assert!(!screen.contains("reconnecting"), "{screen}");
}

/// Waits until the worker `target` (`SESSION/WORKER`) shows `line` on its screen, read over HTTP.
fn wait_for_screen_line(serve: &Serve, data: &Path, target: &str, line: &str) {
    let (sid, wid) = target.split_once('/').expect("SESSION/WORKER");
    let token = std::fs::read_to_string(data.join("token")).expect("token");
    let auth = format!("Bearer {}", token.trim());
    let addr = serve.url.trim_start_matches("http://").to_owned();
    let path = format!("/api/sessions/{sid}/workers/{wid}/screen");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, screen) =
            runtime.block_on(support::http_raw(&addr, "GET", &path, &[("Authorization", &auth)], None));
        if screen["lines"].as_array().is_some_and(|l| l.iter().any(|l| l.as_str() == Some(line))) {
            return;
        }
        assert!(Instant::now() < deadline, "the worker never printed {line:?}: {screen}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_history_over_max_message_mib_is_reported_not_retried() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    std::fs::write(config.path().join("config.toml"), "max-message-mib = 1\n").expect("config");
    let serve = Serve::start(data.path());
    // About 1.2 MB of scrollback: its `history` message is over the 1 MiB the config allows.
    let target =
        new_session(data.path(), "big-history", &["--", "sh", "-c", "seq 1 180000; echo seq-done; exec cat"]);
    wait_for_screen_line(&serve, data.path(), &target, "seq-done");

    let mut tui = spawn_attach(data.path(), config.path(), &target);
    tui.wait_text("message is over max-message-mib (1 MiB): raise it", 15);
    let screen = tui.contents();
    assert!(!screen.contains("reconnecting"), "retrying cannot help, so it is not retried: {screen}");
    tui.send(b"\x1c");
    tui.wait_exit(20);
}

#[test]
fn attach_to_a_worker_whose_history_is_far_over_the_client_cap() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    // A 64 KiB client cap and ~1.2 MB of history: before the fix every attach was closed with 4008.
    let serve = Serve::start_with(data.path(), &["--max-client-buffer", "64KiB"]);
    let target = new_session(
        data.path(),
        "long-history",
        &["--", "sh", "-c", "seq 1 180000; echo seq-done; while read l; do echo \"typed-$l\"; done"],
    );
    // Attach only once the whole history is in the worker's screen model, so it all comes as
    // the `history` snapshot rather than as live output.
    wait_for_screen_line(&serve, data.path(), &target, "seq-done");

    let mut tui = spawn_attach(data.path(), config.path(), &target);
    tui.wait_text("seq-done", 15);
    assert!(!tui.contents().contains("fell behind"), "{}", tui.contents());
    tui.send(b"hello\r");
    tui.wait_text("typed-hello", 15);
    // The detach chord leaves `attach`.
    tui.send(b"\x1c");
    tui.wait_exit(20);
}

#[test]
fn attach_falls_behind_a_flood_then_resyncs_to_its_end() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    // A cap a flood passes in a few milliseconds: the front end falls behind (4008), reconnects
    // and must resync from a `history` that is itself far over the cap.
    let _serve = Serve::start_with(data.path(), &["--max-client-buffer", "16KiB"]);
    let script = "read x; seq 1 400000; echo flood-done; while read l; do echo \"typed-$l\"; done";
    let target = new_session(data.path(), "flood", &["--", "sh", "-c", script]);

    let mut tui = spawn_attach(data.path(), config.path(), &target);
    tui.wait_text("ctrl-\\ detach", 15);
    tui.send(b"go\r");
    tui.wait_for("the end of the flood", 20, |s| s.contains("flood-done") && !s.contains("fell behind"));
    tui.send(b"hello\r");
    tui.wait_text("typed-hello", 15);
    tui.send(b"\x1c");
    tui.wait_exit(20);
}

#[test]
fn the_theme_chosen_with_t_is_remembered_and_light_sets_its_background() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let state_file = data.path().join("tui-state.toml");
    let mut tui = Tui::spawn(data.path(), config.path(), (COLS, ROWS));
    tui.wait_text("No sessions yet", 30);
    tui.send(b"t");
    tui.wait_text("theme: light", 10);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&state_file).is_ok_and(|t| t.contains("theme = \"light\"")) {
        assert!(Instant::now() < deadline, "the theme was not remembered in {}", state_file.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    tui.send(b"q");
    tui.wait_exit(20);

    // The next start comes up in it, on the theme's own background rather than the terminal's.
    let mut again = Tui::spawn(data.path(), config.path(), (COLS, ROWS));
    again.wait_text("No sessions yet", 30);
    again.wait_for("the light background", 10, |_| {
        let screen = again.screen.lock().expect("screen lock");
        screen.screen().cell(5, 5).is_some_and(|c| c.bgcolor() == vt100::Color::Rgb(0xfa, 0xfa, 0xfa))
    });
    again.send(b"q");
    again.wait_exit(20);
}

#[test]
fn x_stops_a_worker_and_keeps_it_and_capital_x_deletes_it_after_asking() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let mut tui = Tui::spawn(data.path(), config.path(), (COLS, ROWS));
    tui.wait_text("No sessions yet", 30);
    tui.send(b"n");
    tui.wait_text("New session", 10);
    tui.send(b"keep-me\r");
    tui.wait_for("the running worker", 20, |s| s.contains("keep-me") && s.contains("running"));

    // x asks, then stops it: the worker stays, exited, for R to restart.
    tui.send(b"x");
    tui.wait_text("R restarts it", 10);
    tui.send(b"y");
    tui.wait_for("the stopped worker, still listed", 20, |s| {
        s.contains("exited") && s.contains("1 worker") && s.contains("0/1 worker running")
    });

    // X asks, then deletes it.
    tui.send(b"X");
    tui.wait_text("Delete worker", 10);
    tui.send(b"y");
    tui.wait_text("No workers", 20);
    tui.send(b"q");
    tui.wait_exit(20);
}

/// `controlroom token --rotate --owner` on `data`: the running gateway refuses the old owner
/// token from then on and closes its connections with 4001.
fn rotate_owner_token(data: &Path) {
    let out = Command::new(bin())
        .args(["token", "--rotate", "--owner", "--data-dir"])
        .arg(data)
        .env_remove("CONTROLROOM_TOKEN")
        .output()
        .expect("run controlroom token");
    assert!(out.status.success(), "rotate failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn after_the_owner_token_is_rotated_the_dashboard_rereads_it_and_carries_on() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let _serve = Serve::start(data.path());
    let mut tui = Tui::spawn(data.path(), config.path(), (COLS, ROWS));
    tui.wait_text("connected", 30);
    rotate_owner_token(data.path());
    // A script with the new token: its session reaches the dashboard.
    new_session(data.path(), "after-rotation", &[]);
    tui.wait_text("after-rotation", 20);
    // The dashboard's own request and its live socket both work with the re-read token.
    tui.send(b"n");
    tui.wait_text("New session", 10);
    tui.send(b"made-by-tui\r");
    tui.wait_for("the session made after the rotation", 20, |s| {
        s.contains("made-by-tui") && s.contains("Sessions 2")
    });
    let screen = tui.contents();
    assert!(!screen.contains("token expired") && screen.contains("\u{25cf} connected"), "{screen}");
    tui.send(b"q");
    tui.wait_exit(20);
}

#[test]
fn a_rotated_token_its_file_does_not_have_yet_is_reported() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let _serve = Serve::start(data.path());
    // The front end's token in a file of its own, which the rotation leaves as it was.
    let own = config.path().join("token");
    std::fs::copy(data.path().join("token"), &own).expect("copy the token");
    let mut tui = spawn_with(data.path(), config.path(), &["--token-file", own.to_str().expect("path")]);
    tui.wait_text("connected", 30);
    rotate_owner_token(data.path());
    tui.wait_text("token expired", 20);
    tui.send(b"q");
    tui.wait_exit(20);
}

/// `controlroom new --attach -- CMD`: creates the session and lands in its worker, as
/// `tmux new-session` does; the detach chord leaves, and the worker runs on. Without a terminal
/// it refuses before creating anything.
#[test]
fn new_attach_lands_in_the_new_worker_and_detach_leaves_it_running() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let _serve = Serve::start(data.path());
    let no_terminal = Command::new(bin())
        .args(["new", "--attach", "--title", "headless", "--data-dir"])
        .arg(data.path())
        .args(["--", "sleep", "1000"])
        .env_remove("CONTROLROOM_URL")
        .env_remove("CONTROLROOM_TOKEN")
        .output()
        .expect("run controlroom new --attach");
    assert_eq!(no_terminal.status.code(), Some(2), "{}", String::from_utf8_lossy(&no_terminal.stderr));
    assert!(String::from_utf8_lossy(&no_terminal.stderr).contains("needs a terminal"));

    let script = "echo new-and-attached; while read l; do echo \"typed-$l\"; done";
    let mut tui = Spawn::new(COLS, ROWS)
        .before(&["new", "--attach", "--title", "landed"])
        .extra(&["--", "sh", "-c", script])
        .run(data.path(), config.path());
    tui.wait_text("new-and-attached", 15);
    tui.wait_text("landed \u{203a} ", 10);
    tui.send(b"hello\r");
    tui.wait_text("typed-hello", 15);
    tui.send(b"\x1c");
    tui.wait_exit(20);

    let list = ls_json(data.path());
    let sessions = list["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 1, "only the attached one was created: {list}");
    assert_eq!(sessions[0]["title"], "landed");
    assert_eq!(sessions[0]["workers"][0]["state"], "running", "detaching left it running: {list}");
}
