//! The gateway's blocking pool shrinks back after a burst. Starting many workers at once takes
//! many blocking threads (each holder start is a blocking fork, exec and handshake); once the
//! burst is over and `--blocking-keep-alive` has passed with no job for them, those threads end
//! and the gateway's thread count returns near its idle level. A blocking job on a short timer
//! (the owner token's file was once checked through `tokio::fs` every 250 ms) kept every one of
//! them alive, since the pool hands each job to the thread that has waited longest.

mod support;

use serde_json::json;
use support::{Gateway, wait_for};

/// Workers started at once, in one session (each start is its own blocking job).
const STARTS: usize = 32;

/// `--blocking-keep-alive` here: how long an idle blocking thread waits before it ends.
const KEEP_ALIVE: &str = "2s";

/// Threads over the idle count still accepted once settled: the poll tick's git read may be
/// running on one.
const SLACK: usize = 2;

/// The gateway's threads, from `/proc/PID/task`.
fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, Iterator::count)
}

/// An idle gateway's threads: the main thread, the store's, and the runtime's workers (one per
/// core, as tokio starts them); the blocking pool has none left.
fn idle_threads() -> usize {
    2 + std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_burst_of_starts_the_blocking_pool_shrinks_back_to_idle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &["--blocking-keep-alive", KEEP_ALIVE]);
    let pid = gw.child.id();
    // The owner authenticates first, as the dashboard does: from then on the gateway follows
    // the token file for a rotation.
    assert_eq!(gw.http("GET", "/api/sessions", None).await.0, 200);
    // Idle: start-up's own blocking jobs (a spare holder) are done and their threads gone.
    let idle = idle_threads();
    wait_for(&format!("the idle gateway's threads to number {idle} + {SLACK}"), || {
        let now = threads(pid);
        async move { now <= idle + SLACK }
    })
    .await;

    let workers: Vec<_> =
        (0..STARTS).map(|i| json!({"name": format!("w{i}"), "command": ["sleep", "1000"]})).collect();
    let (status, s) = gw
        .http("POST", "/api/sessions", Some(json!({"title": "burst", "cwd": "/tmp", "workers": workers})))
        .await;
    assert_eq!(status, 201, "{s}");
    let peak = threads(pid);
    assert!(peak > idle + SLACK, "the burst ran on blocking threads ({peak} threads, idle {idle})");

    // Settled: every thread the burst started has ended, however often the owner's token file
    // would have been checked meanwhile.
    wait_for(&format!("the thread count ({peak} after the burst) to return to {idle} + {SLACK}"), || {
        let now = threads(pid);
        async move { now <= idle + SLACK }
    })
    .await;
    // And the gateway still serves (the pool grows again on demand).
    let (status, list) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["sessions"][0]["workers"].as_array().map(Vec::len), Some(STARTS));
}
