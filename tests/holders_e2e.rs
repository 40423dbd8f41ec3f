//! Workers outlive the gateway: every way a gateway can stop (kill -9, SIGTERM) leaves its
//! workers running in their holders; the next gateway adopts them with their output intact,
//! reports a worker that ended meanwhile by its real signal, marks output lost past the holder's
//! bound, reports holders it cannot speak to, and brings workers back `lost` after a "reboot".

mod support;

use serde_json::{Value, json};
use std::path::Path;
use support::{Gateway, HolderGuard, kill_holders, send_signal, wait_for};

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn worker_path(sid: &str, wid: &str) -> String {
    format!("/ws/session/{sid}/worker/{wid}")
}

/// The numbers of every `line-N` in `text`, in order.
fn numbers(text: &str) -> Vec<u32> {
    text.split("line-")
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

/// Prints `line-1` .. `line-N` (N = `count`), then echoes one line of input back.
fn counter(count: u32) -> Vec<String> {
    let script = format!(
        "i=0; while [ $i -lt {count} ]; do i=$((i+1)); echo line-$i; sleep 0.01; done; \
         echo all-printed; read x; echo got-$x; sleep 1000"
    );
    vec!["sh".into(), "-c".into(), script]
}

async fn worker(gw: &Gateway) -> Value {
    let (_, list) = gw.http("GET", "/api/sessions", None).await;
    list["sessions"][0]["workers"][0].clone()
}

/// Stops the first gateway with `signal` while its worker prints, starts another on the same
/// data dir, and checks the worker is the same process, running, with every line once and in
/// order, and that input reaches it again.
async fn survives(signal: i32) {
    let dir = temp();
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    // A fast poll saves screens while the worker prints: adoption starts from a saved screen.
    let flags = ["--poll-interval", "200ms"];
    let mut gw = Gateway::start_in(&data, &flags);
    let command = counter(400);
    let argv: Vec<&str> = command.iter().map(String::as_str).collect();
    let (sid, wid) = gw.session_with("survivor", Some(&argv)).await;
    let before = worker(&gw).await;
    let pid = before["pid"].as_u64().expect("pid");
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    ws.output_until(|o| numbers(o).contains(&30)).await;
    gw.stop(signal);
    assert!(Path::new(&format!("/proc/{pid}")).exists(), "the worker outlived its gateway");

    let gw = Gateway::start_in(&data, &flags);
    let after = worker(&gw).await;
    assert_eq!(after["state"], "running", "{after}");
    assert_eq!(after["pid"].as_u64(), Some(pid), "the same process");
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    let all = ws.output_until(|o| o.contains("all-printed")).await;
    assert_eq!(numbers(&all), (1..=400).collect::<Vec<_>>(), "every line once and in order");
    ws.send_json(json!({"type": "input", "data": "again\r"})).await;
    ws.output_until(|o| o.contains("got-again")).await;
}

#[tokio::test]
async fn kill_9_of_the_gateway_loses_no_worker_and_no_output() {
    survives(libc::SIGKILL).await;
}

#[tokio::test]
async fn sigterm_of_the_gateway_leaves_workers_running() {
    survives(libc::SIGTERM).await;
}

#[tokio::test]
async fn a_worker_killed_while_no_gateway_runs_is_reported_by_its_signal() {
    let dir = temp();
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let mut gw = Gateway::start_in(&data, &[]);
    let (sid, wid) = gw.session_with("victim", Some(&["sleep", "1000"])).await;
    let pid = worker(&gw).await["pid"].as_u64().expect("pid");
    gw.stop(libc::SIGKILL);
    send_signal(u32::try_from(pid).expect("pid"), libc::SIGKILL);

    let gw = Gateway::start_in(&data, &[]);
    wait_for("the worker to be reported exited", || async { worker(&gw).await["state"] == "exited" }).await;
    let w = worker(&gw).await;
    assert_eq!(w["signal"], "SIGKILL", "{w}");
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    assert_eq!(ws.until(|v| v["type"] == "exit").await["signal"], "SIGKILL");
    // The exit was acknowledged: the holder is gone.
    wait_for("the holder to end", || async { support::holder_pids(&data).is_empty() }).await;
}

#[tokio::test]
async fn an_exit_the_store_had_not_committed_survives_a_crash_of_the_gateway() {
    let dir = temp();
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    // The exit's commit waits (a long coalesce, no poll tick): the gateway dies before it.
    let mut gw = Gateway::start_in(&data, &["--coalesce", "1h", "--poll-interval", "1h"]);
    let (sid, wid) = gw.session_with("quitter", Some(&["sh", "-c", "read x; exit 7"])).await;
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    ws.send_json(json!({"type": "input", "data": "bye\r"})).await;
    assert_eq!(ws.until(|v| v["type"] == "exit").await["exitCode"], 7);
    // Not acknowledged before the commit: the holder still keeps the exit.
    assert_eq!(support::holder_pids(&data).len(), 1, "the holder waits with the exit");
    gw.stop(libc::SIGKILL);

    let gw = Gateway::start_in(&data, &[]);
    wait_for("the worker to be reported exited", || async { worker(&gw).await["state"] == "exited" }).await;
    let w = worker(&gw).await;
    assert_eq!(w["exitCode"], 7, "the real exit code, not lost: {w}");
    assert!(w["signal"].is_null(), "{w}");
    // Committed by this gateway, then acknowledged: the holder ends.
    wait_for("the holder to end", || async { support::holder_pids(&data).is_empty() }).await;
}

#[tokio::test]
async fn a_second_gateway_on_the_same_data_dir_is_refused() {
    let dir = temp();
    let data = dir.path().join("data");
    let gw = Gateway::start_in(&data, &[]);
    let out = std::process::Command::new(support::bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env_remove("CONTROLROOM_TOKEN")
        .env("XDG_CONFIG_HOME", data.with_extension("xdg-config"))
        .output()
        .expect("run a second serve");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another gateway already serves"), "{err}");
    assert!(err.contains(&format!("pid {}", gw.child.id())), "names the running one: {err}");
    assert!(err.contains(&gw.url), "names its url: {err}");
}

#[tokio::test]
async fn a_holder_whose_gateway_never_returns_keeps_within_its_bound_and_marks_the_gap() {
    let dir = temp();
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let go = dir.path().join("go");
    let done = dir.path().join("done");
    let script = format!(
        "while [ ! -e {go} ]; do sleep 0.02; done; head -c 400000 /dev/zero | tr '\\0' x; \
         echo; echo end-marker; touch {done}; sleep 1000",
        go = go.display(),
        done = done.display()
    );
    let mut gw = Gateway::start_in(&data, &["--holder-log", "64KiB"]);
    let (sid, wid) = gw.session_with("flood", Some(&["sh", "-c", &script])).await;
    gw.stop(libc::SIGKILL);
    std::fs::write(&go, b"").expect("go");
    wait_for("the flood to be printed", || async { done.exists() }).await;

    let gw = Gateway::start_in(&data, &[]);
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    let history = ws.next_json().await;
    assert_eq!(history["type"], "history");
    let gap = ws.next_json().await;
    assert_eq!(gap["type"], "gap", "{gap}");
    let lost = gap["bytes"].as_u64().expect("bytes");
    // 400 KB printed, at most 64 KiB kept.
    assert!(lost >= 400_000 - 64 * 1024, "lost {lost}");
    // The history follows the gap: it holds what the holder kept after it.
    assert!(gap["offset"].as_u64().expect("offset") + lost <= history["offset"].as_u64().expect("offset"));
    let text = history["data"].as_str().expect("data");
    assert!(text.contains("bytes of output lost"), "the screen marks it too");
    // What the bound kept is there: in the history, or right after it when the holder had not yet
    // read the program's last line off the PTY when the new gateway attached (`done` is touched
    // once the line is written, which can be before the holder reads it).
    if !text.contains("end-marker") {
        ws.output_until(|o| o.contains("end-marker")).await;
    }
}

#[tokio::test]
async fn after_a_reboot_workers_come_back_lost_and_restart_resumes_them() {
    let dir = temp();
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let mut gw = Gateway::start_in(&data, &[]);
    let (sid, wid) = gw.session_with("rebooted", Some(&["sh", "-c", "echo before-reboot; sleep 1000"])).await;
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    ws.output_until(|o| o.contains("before-reboot")).await;
    // A reboot stops the gateway first (SIGTERM, which saves every screen) ...
    gw.stop(libc::SIGTERM);
    // ... then every holder and program is gone, their sockets left behind.
    kill_holders(&data);
    wait_for("the holders to be gone", || async { support::holder_pids(&data).is_empty() }).await;

    let gw = Gateway::start_in(&data, &[]);
    let w = worker(&gw).await;
    assert_eq!((w["state"].as_str(), w["signal"].as_str()), (Some("exited"), Some("lost")), "{w}");
    let (_, screen) = gw.http("GET", &format!("/api/sessions/{sid}/workers/{wid}/screen"), None).await;
    assert!(screen["lines"].to_string().contains("before-reboot"), "the last screen is back: {screen}");
    let out = cli(&data, &["restart", &format!("{sid}/{wid}")]);
    assert!(out.contains("running"), "{out}");
    assert_eq!(worker(&gw).await["state"], "running");
}

/// Runs `controlroom ARGS --data-dir DATA` against the gateway of `data`; returns its stdout.
fn cli(data: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(support::bin())
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("CONTROLROOM_URL")
        .env_remove("CONTROLROOM_TOKEN")
        .output()
        .expect("run controlroom");
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn controlroom_stop_ends_a_worker_and_its_holder() {
    let dir = temp();
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let gw = Gateway::start_in(&data, &[]);
    let (sid, _wid) = gw.session_with("to-stop", Some(&["sleep", "1000"])).await;
    let pid = worker(&gw).await["pid"].as_u64().expect("pid");
    let out = cli(&data, &["stop", &sid]);
    assert!(out.contains("stopped"), "{out}");
    let w = worker(&gw).await;
    assert_eq!((w["state"].as_str(), w["signal"].as_str()), (Some("exited"), Some("stopped")), "{w}");
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "the program is gone");
    wait_for("the holder to end", || async { support::holder_pids(&data).is_empty() }).await;
}

#[tokio::test]
async fn a_holder_of_another_protocol_version_is_reported_not_killed() {
    let dir = temp();
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let mut gw = Gateway::start_in(&data, &[]);
    let (_sid, wid) = gw.session_with("old", Some(&["sleep", "1000"])).await;
    gw.stop(libc::SIGKILL);
    kill_holders(&data);
    wait_for("the holders to be gone", || async { support::holder_pids(&data).is_empty() }).await;
    // A holder from the future: it says hello with protocol version 99.
    let socket = data.join("workers").join(format!("{wid}.sock"));
    let _ = std::fs::remove_file(&socket);
    let listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
    let fake = std::thread::spawn(move || {
        use std::io::Write as _;
        let (mut conn, _) = listener.accept().expect("accept");
        let mut hello = vec![0, 0, 0, 27, 1];
        hello.extend_from_slice(&99u16.to_be_bytes());
        hello.extend_from_slice(&4242u32.to_be_bytes());
        hello.extend_from_slice(&[0; 16]);
        hello.extend_from_slice(&80u16.to_be_bytes());
        hello.extend_from_slice(&24u16.to_be_bytes());
        conn.write_all(&hello).expect("hello");
        // Whatever the gateway does next, it never asks us to stop: read until it hangs up.
        let mut rest = Vec::new();
        let _ = std::io::Read::read_to_end(&mut conn, &mut rest);
        rest
    });
    let gw = Gateway::start_in(&data, &[]);
    let w = worker(&gw).await;
    assert_eq!(
        (w["state"].as_str(), w["signal"].as_str()),
        (Some("exited"), Some("holder-incompatible")),
        "{w}"
    );
    assert!(gw.log().contains("speaks holder protocol 99"), "the log says why");
    drop(gw);
    let sent = fake.join().expect("fake holder");
    assert!(sent.is_empty(), "nothing was sent to it (no signal, no attach): {sent:?}");
}

#[tokio::test]
async fn a_paste_of_megabytes_reaches_the_program_through_its_holder() {
    let dir = temp();
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let gw = Gateway::start_in(&data, &[]);
    // Raw mode: no line-length limit, no echo; the count comes back once every byte arrived.
    let script = "stty raw -echo; echo ready; head -c 2000000 | wc -c; sleep 1000";
    let (sid, wid) = gw.session_with("paste", Some(&["sh", "-c", script])).await;
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    ws.output_until(|o| o.contains("ready")).await;
    // Larger than one holder frame: it goes as many.
    ws.send_json(json!({"type": "input", "data": "x".repeat(2_000_000)})).await;
    ws.output_until(|o| o.contains("2000000")).await;
}

/// The offset of `wid`'s saved screen in the store (0 when none is saved yet).
fn saved_offset(data: &Path, wid: &str) -> u64 {
    let Ok(db) = rusqlite::Connection::open_with_flags(
        data.join("controlroom.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    ) else {
        return 0;
    };
    db.query_row("SELECT offset FROM screens WHERE worker_id = ?1", [wid], |r| r.get::<_, i64>(0))
        .map_or(0, |o| u64::try_from(o).unwrap_or(0))
}

/// What `wid`'s holder says when a gateway connects: the oldest and newest offsets of its log
/// (the connection is then dropped; the holder waits for the next gateway).
fn holder_log_range(data: &Path, wid: &str) -> (u64, u64) {
    use std::io::Read as _;
    let socket = data.join("workers").join(format!("{wid}.sock"));
    let mut conn = std::os::unix::net::UnixStream::connect(&socket).expect("connect to the holder");
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
    // Length, type 1, version, pid, log start, log end, cols, rows.
    let mut hello = [0u8; 4 + 1 + 2 + 4 + 8 + 8 + 2 + 2];
    conn.read_exact(&mut hello).expect("hello");
    assert_eq!(hello[4], 1, "a hello");
    let u64_at = |at: usize| u64::from_be_bytes(hello[at..at + 8].try_into().expect("8 bytes"));
    (u64_at(11), u64_at(19))
}

#[tokio::test]
async fn kill_9_right_after_a_save_loses_nothing_though_the_holder_let_go_of_what_it_covers() {
    let dir = temp();
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let flags = ["--screen-save-interval", "100ms"];
    let mut gw = Gateway::start_in(&data, &flags);
    let command = counter(500);
    let argv: Vec<&str> = command.iter().map(String::as_str).collect();
    let (sid, wid) = gw.session_with("saved", Some(&argv)).await;
    // Two committed saves: the first one's `Saved` went to the holder before the second save's
    // screen was taken (the worker handles its commands in order).
    wait_for("a first save", || async { saved_offset(&data, &wid) > 0 }).await;
    let first = saved_offset(&data, &wid);
    wait_for("a second save", || async { saved_offset(&data, &wid) > first }).await;
    gw.stop(libc::SIGKILL);
    let stored = saved_offset(&data, &wid);
    let (log_start, log_end) = holder_log_range(&data, &wid);
    assert!(log_start >= first, "the holder let go of what the first save covers ({log_start} < {first})");
    assert!(log_start <= stored, "never of more than the store has ({log_start} > {stored})");
    assert!(log_end >= stored);

    // The saved screen is newer than the oldest byte the holder kept: the new gateway resumes
    // from it, with no gap and every line once and in order.
    let gw = Gateway::start_in(&data, &flags);
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    let history = ws.next_json().await;
    assert_eq!(history["type"], "history");
    assert!(history["offset"].as_u64().expect("offset") >= stored);
    let mut all = history["data"].as_str().expect("data").to_owned();
    while !all.contains("all-printed") {
        let msg = ws.next_json().await;
        assert_ne!(msg["type"], "gap", "nothing was lost: {msg}");
        if msg["type"] == "output" {
            all.push_str(msg["data"].as_str().unwrap_or_default());
        }
    }
    assert_eq!(numbers(&all), (1..=500).collect::<Vec<_>>(), "every line once and in order");
    ws.send_json(json!({"type": "input", "data": "again\r"})).await;
    ws.output_until(|o| o.contains("got-again")).await;
}

#[tokio::test]
async fn a_holder_no_stored_worker_owns_is_stopped_by_the_next_gateway() {
    let dir = temp();
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let mut gw = Gateway::start_in(&data, &[]);
    gw.stop(libc::SIGTERM);
    // A start the gateway did not record (it stopped in between): a holder, started as the
    // gateway starts one, that no session knows.
    let socket = data.join("workers").join("wstray0000.sock");
    let mut holder = std::process::Command::new(support::bin())
        .arg("__holder")
        .arg("--socket")
        .arg(&socket)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start a holder");
    let spec = json!({"command": ["sleep", "1000"], "cwd": "/", "env": {}, "cols": 80, "rows": 24});
    {
        use std::io::{Read as _, Write as _};
        let mut stdin = holder.stdin.take().expect("stdin");
        stdin.write_all(spec.to_string().as_bytes()).expect("spec");
        drop(stdin);
        let mut answer = String::new();
        holder.stdout.take().expect("stdout").read_to_string(&mut answer).expect("answer");
        assert!(answer.starts_with("ok "), "{answer}");
    }
    let _ = holder.wait();
    assert_eq!(support::holder_pids(&data).len(), 1, "the stray holder runs");

    let gw = Gateway::start_in(&data, &[]);
    wait_for("the stray holder to end", || async { support::holder_pids(&data).is_empty() }).await;
    assert!(!socket.exists(), "its socket is gone");
    wait_for("the log to say so", || async { gw.log().contains("a holder no stored worker owns") }).await;
}

#[tokio::test]
async fn a_restart_records_the_last_exit_before_its_holder_forgets_it() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp();
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let program = dir.path().join("quit.sh");
    std::fs::write(&program, "#!/bin/sh\nread x; exit 7\n").expect("script");
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // No commit happens on its own (a long coalesce, no poll tick).
    let mut gw = Gateway::start_in(&data, &["--coalesce", "1h", "--poll-interval", "1h"]);
    let program_arg = program.to_str().expect("utf-8 path");
    let (sid, wid) = gw.session_with("again", Some(&[program_arg])).await;
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    ws.send_json(json!({"type": "input", "data": "bye\r"})).await;
    assert_eq!(ws.until(|v| v["type"] == "exit").await["exitCode"], 7);
    // The restart tells the old holder the exit is recorded, then cannot start the program
    // (it is gone); the gateway dies before anything else commits.
    std::fs::remove_file(&program).expect("remove the program");
    let (status, body) =
        gw.http("POST", &format!("/api/sessions/{sid}/workers/{wid}/restart"), Some(json!({}))).await;
    assert_ne!(status, 200, "the restart fails: {body}");
    gw.stop(libc::SIGKILL);

    let gw = Gateway::start_in(&data, &[]);
    let w = worker(&gw).await;
    assert_eq!(w["state"], "exited", "{w}");
    assert_eq!(w["exitCode"], 7, "the exit was recorded before its holder forgot it, not lost: {w}");
}

/// How many descriptors of `pid` are a PTY master (`/dev/ptmx`).
fn pty_masters(pid: u32) -> usize {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return 0 };
    fds.flatten()
        .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == Path::new("/dev/ptmx")))
        .count()
}

/// Voluntary context switches of `pid`'s threads so far: the times it slept waiting for
/// something, each ended by a wake-up.
fn voluntary_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .filter_map(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|n| n.trim().parse::<u64>().ok())
        })
        .sum()
}

/// Types `keys` one at a time, each in its own message, waiting for each echo; returns what
/// came back.
async fn type_one_by_one(ws: &mut support::Ws, keys: std::ops::Range<u32>) -> String {
    let mut echoed = String::new();
    for k in keys {
        let key = format!("<{k}>");
        ws.send_json(json!({"type": "input", "data": key})).await;
        echoed.push_str(&ws.output_until(|o| o.contains(&key)).await);
    }
    echoed
}

/// With a version-3 holder the gateway holds the PTY master the holder passed and writes the
/// program's input on it itself (the holder is woken for each echo, not for each key too). Every key
/// reaches the program in order, before and after a gateway restart (the next gateway is passed
/// the master again), and a burst of separate messages arrives in order.
#[tokio::test]
async fn input_goes_straight_to_the_pty_in_order_and_again_after_a_gateway_restart() {
    let dir = temp();
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let mut gw = Gateway::start_in(&data, &["--spare-holders", "0"]);
    let script = "stty raw -echo; echo ready; exec cat";
    let (sid, wid) = gw.session_with("direct", Some(&["sh", "-c", script])).await;
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    ws.output_until(|o| o.contains("ready")).await;
    assert_eq!(pty_masters(gw.child.id()), 1, "the gateway holds the worker's PTY master");
    let holder = support::holder_pids(&data)[0];
    let keys = 200;
    let before = voluntary_switches(holder);
    let echoed = type_one_by_one(&mut ws, 0..keys).await;
    let woken = voluntary_switches(holder) - before;
    let expected: String = (0..keys).map(|k| format!("<{k}>")).collect();
    assert_eq!(echoed, expected, "every key once, in order");
    // One wake-up per echo (reading the PTY); through the relay each key woke it for its input
    // as well. Wake-ups depend on the machine's load (a loaded CI machine measured 1.3–1.9 per
    // key), so this is reported, not asserted; the bench's echo row counts them on a quiet
    // machine. That the gateway writes the input itself is asserted above (it holds the master).
    eprintln!("the holder woke {woken} times for {keys} keys");

    gw.stop(libc::SIGKILL);
    let gw = Gateway::start_in(&data, &["--spare-holders", "0"]);
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    assert_eq!(pty_masters(gw.child.id()), 1, "the next gateway is passed the master again");
    let echoed = type_one_by_one(&mut ws, keys..2 * keys).await;
    let expected: String = (keys..2 * keys).map(|k| format!("<{k}>")).collect();
    assert!(echoed.ends_with(&expected), "every key once, in order, after the restart: {echoed}");
    // A burst: separate messages, none waiting for the last one's echo.
    for k in 0..keys {
        ws.send_json(json!({"type": "input", "data": format!("[{k}]")})).await;
    }
    let burst: String = (0..keys).map(|k| format!("[{k}]")).collect();
    let got = ws.output_until(|o| o.contains(&format!("[{}]", keys - 1))).await;
    assert!(got.ends_with(&burst), "the burst arrived whole and in order: {got}");
    // The worker ends: its PTY master is let go.
    let (_, _) = gw.http("POST", &format!("/api/sessions/{sid}/workers/{wid}/stop"), None).await;
    wait_for("the gateway to let go of the PTY", || async { pty_masters(gw.child.id()) == 0 }).await;
}
