//! Spare holders (`--spare-holders`): a worker started from a spare runs its program exactly as
//! one started in a new holder (cwd, environment, terminal size), a spare that cannot be used
//! gives way to a new holder, `--spare-holders 0` starts none, and no spare outlives its
//! gateway or survives the next gateway's start.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use support::{Gateway, HolderGuard, holder_pids, holder_program, send_signal, spare_pids, wait_for};

fn worker_path(sid: &str, wid: &str) -> String {
    format!("/ws/session/{sid}/worker/{wid}")
}

/// A gateway in `data` with `flags`, with a variable of its own environment that workers inherit.
fn gateway(data: &Path, flags: &[&str]) -> Gateway {
    Gateway::start_with(data, "127.0.0.1:0", flags, &[("CR_INHERITED", "from-gateway")])
}

/// The one spare holder, once the gateway has it ready (connected and greeted: a worker
/// started before that gets a new holder).
async fn one_spare(gw: &Gateway, data: &Path) -> u32 {
    wait_for("one spare holder", || async { spare_pids(data).len() == 1 }).await;
    wait_for("the gateway to have it ready", || async { gw.log().contains("spare holder ready") }).await;
    spare_pids(data)[0]
}

/// A gateway in `data` with its one spare ready: the guard (which ends the holders left in
/// `data`, so it is dropped after the gateway), the gateway, the spare's pid.
async fn gateway_with_spare(data: &Path) -> (HolderGuard, Gateway, u32) {
    let guard = HolderGuard(data.to_path_buf());
    let gw = gateway(data, &[]);
    let spare = one_spare(&gw, data).await;
    (guard, gw, spare)
}

/// The process `spare` forked ahead for its next worker, once its gateway is connected.
async fn forked_ahead(spare: u32) -> u32 {
    wait_for("the spare's child forked ahead", || async { holder_program(spare).is_some() }).await;
    holder_program(spare).expect("the child forked ahead")
}

/// What the program saw, one `[name:value]` per line.
const REPORT: &str = "echo \"[pwd:$(pwd)]\"; echo \"[env:$CR_SPEC_VAR]\"; echo \"[inherited:$CR_INHERITED]\"; \
     echo \"[size:$(stty size)]\"; echo \"[term:$TERM]\"; echo \"[token:${CONTROLROOM_TOKEN:-none}]\"; \
     echo \"[$(grep -E '^SigIgn' /proc/self/status | tr -d '\\t')]\"; echo report-done; exec sleep 1000";

/// Starts the reporting program with a cwd, an env and a size; returns what it printed (the
/// `[..]` items, sorted) and its holder's pid.
async fn report(gw: &Gateway, cwd: &Path) -> (Vec<String>, u32) {
    let worker = json!({
        "command": ["sh", "-c", REPORT],
        "cwd": cwd.to_str().expect("utf-8 path"),
        "env": {"CR_SPEC_VAR": "from-spec"},
        "cols": 97,
        "rows": 31,
    });
    let (status, body) = gw
        .http("POST", "/api/sessions", Some(json!({"title": "report", "cwd": "/tmp", "workers": [worker]})))
        .await;
    assert_eq!(status, 201, "{body}");
    let (sid, wid) = (body["id"].as_str().expect("id"), body["workers"][0]["id"].as_str().expect("wid"));
    let pid = body["workers"][0]["pid"].as_u64().expect("pid");
    let mut ws = gw.ws(&worker_path(sid, wid)).await;
    let text = ws.output_until(|o| o.contains("report-done")).await;
    let mut items: Vec<String> = text
        .split('[')
        .skip(1)
        .filter_map(|rest| rest.split_once(']').map(|(item, _)| item.to_string()))
        .filter(|item| item.contains(':'))
        .collect();
    items.sort();
    items.dedup();
    (items, parent(u32::try_from(pid).expect("pid")))
}

fn parent(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after = stat.rsplit_once(')').expect("stat").1;
    after.split_whitespace().nth(1).expect("ppid").parse().expect("ppid")
}

#[tokio::test]
async fn a_worker_from_a_spare_runs_as_one_from_a_new_holder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cwd = dir.path().join("project");
    std::fs::create_dir(&cwd).expect("cwd");
    let cwd = cwd.canonicalize().expect("canonical cwd");

    let fresh_data = dir.path().join("fresh");
    let _guard = HolderGuard(fresh_data.clone());
    let fresh = gateway(&fresh_data, &["--spare-holders", "0"]);
    let (expected, _) = report(&fresh, &cwd).await;
    assert!(spare_pids(&fresh_data).is_empty(), "--spare-holders 0 starts none");
    drop(fresh);

    let data = dir.path().join("spare");
    let (_guard, gw, spare) = gateway_with_spare(&data).await;
    let ahead = forked_ahead(spare).await;
    let (seen, holder) = report(&gw, &cwd).await;
    assert_eq!(holder, spare, "the worker's holder is the spare that was waiting");
    assert_eq!(holder_program(holder), Some(ahead), "the program runs in the process forked ahead");
    assert_eq!(seen, expected, "the same cwd, environment and size as from a new holder");
    for item in [
        format!("pwd:{}", cwd.display()),
        "env:from-spec".into(),
        "inherited:from-gateway".into(),
        "size:31 97".into(),
        "term:xterm-256color".into(),
        "token:none".into(),
        // Not even glibc's own two (32, 33), which a holder started by the gateway ignores.
        "SigIgn:0000000000000000".into(),
    ] {
        assert!(seen.contains(&item), "{item} in {seen:?}");
    }
    assert_eq!(holder_pids(&data), vec![holder], "the taken spare counts as the worker's holder");
    // Its `hello` passed the PTY master, as a new holder's does: the gateway writes input itself.
    let masters = std::fs::read_dir(format!("/proc/{}/fd", gw.child.id()))
        .expect("the gateway's descriptors")
        .flatten()
        .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == Path::new("/dev/ptmx")))
        .count();
    assert_eq!(masters, 1, "the gateway holds the worker's PTY master");
    let socket = data.join("workers");
    assert!(
        std::fs::read_dir(&socket)
            .expect("workers dir")
            .flatten()
            .any(|e| { e.file_name().to_str().is_some_and(|n| n.starts_with('w') && n.ends_with(".sock")) }),
        "the spare serves the worker's socket"
    );
    // Another spare takes its place.
    wait_for("a new spare", || async { spare_pids(&data).iter().any(|p| *p != spare) }).await;
}

#[tokio::test]
async fn a_dead_spare_gives_way_to_a_new_holder_and_a_failed_program_fails_as_before() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (_guard, gw, spare) = gateway_with_spare(&data).await;
    send_signal(spare, libc::SIGKILL);
    wait_for("the spare to be gone", || async { !spare_pids(&data).contains(&spare) }).await;
    let (_, wid) = gw.session_with("after", Some(&["sh", "-c", "echo alive; exec sleep 1000"])).await;
    // Until the program's exec, the holder's fork for it has the holder's command line and
    // name (seen as two holders, PIDs N and N+1): one holder once the fork is the program.
    wait_for("one holder", || async { holder_pids(&data).len() == 1 }).await;
    let holders = holder_pids(&data);
    assert!(holder_program(holders[0]).is_some(), "its program runs");
    assert!(data.join("workers").join(format!("{wid}.sock")).exists());

    // A program that cannot start: the same answer with and without a spare.
    let bad = json!({"title": "bad", "cwd": "/tmp", "workers": [{"command": ["/nonexistent/program"]}]});
    wait_for("a spare again", || async { spare_pids(&data).len() == 1 }).await;
    let (with_spare, body) = gw.http("POST", "/api/sessions", Some(bad.clone())).await;
    let other = dir.path().join("other");
    let _other_guard = HolderGuard(other.clone());
    let fresh = gateway(&other, &["--spare-holders", "0"]);
    let (without, body0) = fresh.http("POST", "/api/sessions", Some(bad)).await;
    assert_eq!(with_spare, without, "{body} vs {body0}");
    assert!(with_spare >= 400, "{body}");
    let msg =
        |b: &Value| b["error"]["message"].as_str().or(b["message"].as_str()).unwrap_or_default().to_string();
    assert!(msg(&body).contains("nonexistent"), "the reason is named: {body}");
    assert_eq!(holder_pids(&data).len(), 1, "the failed start left no holder");
}

#[tokio::test]
async fn a_spare_whose_child_forked_ahead_was_killed_forks_the_program_when_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (_guard, gw, spare) = gateway_with_spare(&data).await;
    let ahead = forked_ahead(spare).await;
    send_signal(ahead, libc::SIGKILL);
    // Dead (a zombie until its spare reaps it) before the start looks at it.
    let dead = || {
        std::fs::read_to_string(format!("/proc/{ahead}/stat"))
            .map_or(true, |s| s.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')))
    };
    wait_for("the child to die", || async { dead() }).await;
    let (sid, wid) = gw.session_with("after", Some(&["sh", "-c", "echo alive; exec sleep 1000"])).await;
    let mut ws = gw.ws(&worker_path(&sid, &wid)).await;
    ws.output_until(|o| o.contains("alive")).await;
    assert_eq!(holder_pids(&data), vec![spare], "the spare serves the worker");
    let program = holder_program(spare).expect("its program");
    assert_ne!(program, ahead, "a new fork, not the killed child");
}

async fn stopping_leaves_no_spare(signal: i32) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let mut gw = gateway(&data, &["--spare-holders", "2"]);
    wait_for("two spares", || async { spare_pids(&data).len() == 2 }).await;
    gw.stop(signal);
    wait_for("the spares to end", || async { spare_pids(&data).is_empty() }).await;
    wait_for("their sockets and logs to go", || async {
        std::fs::read_dir(data.join("workers"))
            .expect("workers dir")
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with("spare-"))
    })
    .await;
}

#[tokio::test]
async fn no_spare_is_left_after_the_gateway_stops() {
    stopping_leaves_no_spare(libc::SIGTERM).await;
}

#[tokio::test]
async fn no_spare_is_left_after_the_gateway_is_killed() {
    stopping_leaves_no_spare(libc::SIGKILL).await;
}

/// Starts a spare in `data` as a gateway does, and connects to it never: one whose gateway died
/// before connecting. Returns its pid and socket.
fn unconnected_spare(data: &Path) -> (u32, std::path::PathBuf) {
    let workers = data.join("workers");
    std::fs::create_dir_all(&workers).expect("workers dir");
    let socket = workers.join("spare-left.sock");
    let out = std::process::Command::new(support::bin())
        .args(["__holder", "--socket"])
        .arg(&socket)
        .arg("--spare")
        .stdin(std::process::Stdio::null())
        // Its log: a pipe here would stay open in the spare, and `output` would wait for it.
        .stderr(std::process::Stdio::null())
        .output()
        .expect("start a spare");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok 0"), "{out:?}");
    let left = spare_pids(data);
    assert_eq!(left.len(), 1, "the spare runs");
    (left[0], socket)
}

#[tokio::test]
async fn a_spare_an_earlier_gateway_left_is_stopped_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let (left, socket) = unconnected_spare(&data);
    let _gw = gateway(&data, &["--spare-holders", "0"]);
    wait_for("the leftover spare to end", || async { !spare_pids(&data).contains(&left) }).await;
    wait_for("its socket to go", || async { !socket.exists() }).await;
}

#[tokio::test]
async fn a_spare_no_gateway_connects_to_ends_by_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let _guard = HolderGuard(data.clone());
    let (left, socket) = unconnected_spare(&data);
    // Its wait (10 s) is within the deadline of `wait_for` (15 s).
    wait_for("the spare to end", || async { !spare_pids(&data).contains(&left) }).await;
    assert!(!socket.exists(), "its socket went with it");
}
