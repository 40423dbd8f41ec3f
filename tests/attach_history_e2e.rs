//! End-to-end tests of attaching to a worker whose history is bigger than the per-client buffer
//! cap (`--max-client-buffer`): the built gateway, a real PTY, a real WebSocket client.

mod support;

use serde_json::json;
use support::{Ended, Gateway, wait_for};

/// The per-client cap these tests run with: far below the history a worker prints.
const CAP: &str = "64KiB";
const CAP_BYTES: usize = 64 * 1024;

/// Lines of `seq` output: about 1.2 MB, many times the cap, well within the default scrollback.
const LINES: u32 = 180_000;

fn worker_path(sid: &str, wid: &str) -> String {
    format!("/ws/session/{sid}/worker/{wid}")
}

/// A gateway with a small client cap and a worker that printed `LINES` lines of `seq`, then
/// `seq-done`, and then runs `then` (a shell snippet); waits until the whole history is in the
/// worker's screen model. Returns the gateway and the worker's socket path.
async fn worker_with_long_history(dir: &std::path::Path, then: &str) -> (Gateway, String) {
    let gw = Gateway::start_in(&dir.join("data"), &["--max-client-buffer", CAP, "--log-level", "info"]);
    let script = format!("seq 1 {LINES}; echo seq-done; {then}");
    let (sid, wid) = gw.session_with("long-history", Some(&["sh", "-c", &script])).await;
    wait_for("the worker to print its whole history", || async {
        let (_, screen) = gw.http("GET", &format!("/api/sessions/{sid}/workers/{wid}/screen"), None).await;
        screen["lines"].as_array().is_some_and(|l| l.iter().any(|l| l.as_str() == Some("seq-done")))
    })
    .await;
    (gw, worker_path(&sid, &wid))
}

/// The text lines of a `history` snapshot, escape sequences stripped.
fn visible_lines(data: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = data.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            plain.push(c);
            continue;
        }
        // CSI: ESC [ params final; any other escape: ESC and one character.
        if chars.next() == Some('[') {
            for p in chars.by_ref() {
                if ('@'..='~').contains(&p) {
                    break;
                }
            }
        }
    }
    plain.split(['\n', '\r']).map(|l| l.trim_end().to_owned()).filter(|l| !l.is_empty()).collect()
}

#[tokio::test]
async fn a_history_far_over_the_client_cap_attaches_whole_then_live_output_follows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (gw, path) = worker_with_long_history(dir.path(), "while read l; do echo \"typed-$l\"; done").await;

    // Twice: the second attach is the reconnect that used to be refused forever.
    for (round, last_line) in [("first", "seq-done"), ("again", "typed-first")] {
        let mut ws = gw.ws(&path).await;
        let history = ws.next_json().await;
        assert_eq!(history["type"], "history", "{round}");
        let data = history["data"].as_str().expect("history data");
        assert!(data.len() > 4 * CAP_BYTES, "{round}: history of {} bytes is not over the cap", data.len());
        let lines = visible_lines(data);
        assert_eq!(lines.last().map(String::as_str), Some(last_line), "{round}: history ends elsewhere");
        // The scrollback, not only the screen: a line long scrolled off (the default scrollback,
        // 4 MiB with 32 bytes of bookkeeping a line, keeps the last ~100,000) and the last one.
        for n in [LINES / 2, LINES] {
            assert!(lines.contains(&n.to_string()), "{round}: seq line {n} is missing");
        }

        ws.send_json(json!({"type": "input", "data": format!("{round}\r")})).await;
        ws.output_until(|o| o.contains(&format!("typed-{round}"))).await;
    }
    assert!(!gw.log().contains("dropped while attaching"), "{}", gw.log());
}

#[tokio::test]
async fn a_client_that_stops_reading_after_a_long_history_still_gets_4008() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A steady flood once the client types, as in the gateway's slow-consumer test.
    let flood = "read x; while :; do yes flood | head -n 20000; sleep 0.05; done";
    let (gw, path) = worker_with_long_history(dir.path(), flood).await;
    let mut slow = gw.ws(&path).await;
    // Start the flood and never read: the history is admitted whole, the live output after it
    // passes the cap and the client is closed.
    slow.send_json(json!({"type": "input", "data": "go\r"})).await;
    wait_for("the worker to drop the slow consumer", || async {
        gw.log().contains("dropping worker client")
    })
    .await;
    assert!(gw.log().contains("backpressure_limit"));
    assert_eq!(slow.ended().await, Ended::Close(4008));

    // A client that reconnects resyncs from a fresh history, flood and all (at this flood rate
    // and cap it may well be closed with 4008 again right after: that is the resync loop).
    for _ in 0..2 {
        let mut again = gw.ws(&path).await;
        let history = again.next_json().await;
        assert_eq!(history["type"], "history");
        let lines = visible_lines(history["data"].as_str().expect("history data"));
        // The flood may have been caught mid-line; the lines before are whole.
        assert!(lines.iter().rev().take(3).any(|l| l == "flood"), "{:?}", lines.last());
    }
}
