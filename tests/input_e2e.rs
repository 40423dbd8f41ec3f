//! Input is exact and never dropped: a paste far larger than the input queue reaches the
//! program byte for byte (the gateway waits for the program instead of refusing), REST `input`
//! answers once its bytes are queued, and deleting a worker with input still queued frees its
//! PTY descriptor and threads.

mod support;

use serde_json::json;
use support::{Gateway, wait_for};

/// `lines` numbered 64-byte lines: a gap or a repeat anywhere shows.
fn numbered_text(lines: usize) -> String {
    (0..lines)
        .map(|i| format!("{i:08} {}\n", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQR"))
        .collect()
}

/// Starts `sh -c script` in a new session; returns (sessionId, workerId).
async fn sh(gw: &Gateway, script: &str) -> (String, String) {
    gw.session_with("input", Some(&["sh", "-c", script])).await
}

#[tokio::test]
async fn a_megabyte_paste_reaches_cat_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A queue much smaller than the paste: the paste must wait for cat, not be cut.
    let gw = Gateway::start_in(&dir.path().join("data"), &["--max-input-queue", "64KiB"]);
    let file = dir.path().join("pasted.txt");
    let script = format!("stty -echo; echo ready; cat > '{}'; echo cat-done", file.display());
    let (sid, wid) = sh(&gw, &script).await;
    let mut ws = gw.ws(&format!("/ws/session/{sid}/worker/{wid}")).await;
    ws.output_until(|o| o.contains("ready")).await;
    let text = numbered_text(16 * 1024);
    assert_eq!(text.len(), 1 << 20);
    // Half as one message, the rest as 64 KiB messages sent back to back, then ^D for EOF.
    let (first, rest) = text.split_at(text.len() / 2);
    ws.send_json(json!({"type": "input", "data": first})).await;
    for piece in rest.as_bytes().chunks(64 * 1024) {
        let piece = std::str::from_utf8(piece).expect("ASCII");
        ws.send_json(json!({"type": "input", "data": piece})).await;
    }
    ws.send_json(json!({"type": "input", "data": "\u{4}"})).await;
    let out = ws.output_until(|o| o.contains("cat-done") || o.contains("\"error\"")).await;
    assert!(out.contains("cat-done"), "{out}");
    let got = std::fs::read_to_string(&file).expect("pasted file");
    assert_eq!(got.len(), text.len(), "every byte arrived");
    assert!(got == text, "byte for byte, in order");
}

#[tokio::test]
async fn rest_input_larger_than_the_queue_waits_for_the_program() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &["--max-input-queue", "4KiB"]);
    let file = dir.path().join("posted.txt");
    let script = format!("stty -echo; cat > '{}'", file.display());
    let (sid, wid) = sh(&gw, &script).await;
    let text = numbered_text(2048);
    let path = format!("/api/sessions/{sid}/workers/{wid}/input");
    let (status, body) = gw.http("POST", &path, Some(json!({ "data": text }))).await;
    assert_eq!(status, 204, "{body}");
    wait_for("the posted text in the file", || {
        let file = file.clone();
        let len = text.len();
        async move { std::fs::metadata(&file).is_ok_and(|m| m.len() as usize >= len) }
    })
    .await;
    assert!(std::fs::read_to_string(&file).expect("file") == text);
}

/// Descriptors of `pid` open on `/dev/ptmx`.
fn ptmx_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .filter_map(Result::ok)
        .filter(|e| std::fs::read_link(e.path()).is_ok_and(|t| t.as_os_str() == "/dev/ptmx"))
        .count()
}

/// Threads of `pid` named `name`.
fn threads_named(pid: u32, name: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("task dir")
        .filter_map(Result::ok)
        .filter(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .count()
}

/// The names the gateway's per-worker threads had (reader, writer, screen, holder writer).
const PER_WORKER_THREADS: [&str; 4] = ["cr-pty-write", "cr-pty-read", "cr-screen", "cr-holder-write"];

#[tokio::test]
async fn deleting_a_worker_with_input_queued_frees_its_pty_and_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let gw = Gateway::start_in(&data, &[]);
    let pid = gw.child.id();
    // Raw mode, so the terminal keeps every byte until the program reads, and it never does.
    let (sid, wid) = sh(&gw, "stty raw -echo; echo ready; exec sleep 1000").await;
    let mut ws = gw.ws(&format!("/ws/session/{sid}/worker/{wid}")).await;
    ws.output_until(|o| o.contains("ready")).await;
    // The PTY is held by the worker's holder process, not by the gateway.
    let holders = support::holder_pids(&data);
    assert_eq!(holders.len(), 1, "one holder");
    let holder = holders[0];
    assert!(ptmx_fds(holder) > 0, "the worker's PTY is open");
    // No thread of the gateway's belongs to the worker: its actor reads and writes the holder's
    // socket itself, and its screen model runs on the blocking pool only while it has work.
    for name in PER_WORKER_THREADS {
        assert_eq!(threads_named(pid, name), 0, "a {name} thread for an attached worker");
    }
    // Far more than the terminal holds: the holder's socket fills and the rest waits in the
    // actor, within the worker's input budget.
    let text = numbered_text(8 * 1024);
    for piece in text.as_bytes().chunks(64 * 1024) {
        let piece = std::str::from_utf8(piece).expect("ASCII");
        ws.send_json(json!({"type": "input", "data": piece})).await;
    }
    // Messages are handled in order, each input once it is queued: the error answering this
    // bad resize means every piece before it is in the queue.
    ws.send_json(json!({"type": "resize", "cols": 0, "rows": 10})).await;
    ws.until(|m| m["type"] == "error").await;
    let (status, body) = gw.http("DELETE", &format!("/api/sessions/{sid}/workers/{wid}"), None).await;
    assert_eq!(status, 204, "{body}");
    // Its holder (and so the PTY) ends once the program is gone and the exit taken.
    wait_for("the worker's PTY closed with its holder", || async move {
        !std::path::Path::new(&format!("/proc/{holder}")).exists() || ptmx_fds(holder) == 0
    })
    .await;
    assert_eq!(ptmx_fds(pid), 0, "the gateway holds no PTY");
    for name in PER_WORKER_THREADS {
        wait_for(&format!("no {name} thread left"), || async move { threads_named(pid, name) == 0 }).await;
    }
}
