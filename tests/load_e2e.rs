//! Load: 500 app clients and 50 worker clients on one gateway while three workers flood output
//! for a few seconds. Every app client gets every delta in order, every worker client gets output
//! with contiguous offsets (or a clear 4008), the gateway's memory stays under the bound its
//! limits imply, and its file descriptors return to the baseline afterwards.

mod support;

use futures_util::StreamExt as _;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use support::{Gateway, wait_for};
use tokio_tungstenite::tungstenite::Message;

const APP_CLIENTS: usize = 500;
const WORKER_CLIENTS: usize = 50;
const FLOOD_FOR: Duration = Duration::from_secs(3);
const CLIENT_BUFFER: usize = 256 * 1024;

fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// What one app client saw: the seq of its sync, then every delta's seq, until it has `target`.
async fn app_client(
    mut ws: support::Ws,
    synced: Arc<AtomicUsize>,
    target: Arc<AtomicU64>,
) -> (u64, Vec<u64>) {
    let sync = ws.next_json().await;
    let start = sync["seq"].as_u64().expect("seq");
    synced.fetch_add(1, Ordering::AcqRel);
    let mut seqs = Vec::new();
    loop {
        let want = target.load(Ordering::Acquire);
        if want != 0 && seqs.last().copied().unwrap_or(start) >= want {
            return (start, seqs);
        }
        let Ok(msg) = tokio::time::timeout(Duration::from_millis(100), ws.inner.next()).await else {
            continue;
        };
        match msg {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(t.as_str()).expect("json");
                seqs.push(v["seq"].as_u64().expect("a delta"));
            }
            Some(Ok(_)) => {}
            other => panic!("app client ended early: {other:?}"),
        }
    }
}

/// What one worker client saw: bytes received with contiguous offsets, and how it ended.
async fn worker_client(mut ws: support::Ws) -> (usize, Option<u16>) {
    let history = ws.next_json().await;
    let mut expected = history["offset"].as_u64().expect("offset");
    let mut bytes = 0usize;
    loop {
        match ws.inner.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(t.as_str()).expect("json");
                if v["type"] == "output" {
                    assert_eq!(v["offset"].as_u64(), Some(expected), "output offsets are contiguous");
                    let len = v["data"].as_str().expect("data").len();
                    expected += len as u64;
                    bytes += len;
                }
            }
            Some(Ok(Message::Close(frame))) => return (bytes, frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => {}
            _ => return (bytes, None),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_and_flooding_workers() {
    // 550 sockets here and there; raise the soft limit if it is low (ignored if not allowed).
    let _ = std::process::Command::new("prlimit")
        .args(["--pid", &std::process::id().to_string(), "--nofile=8192:"])
        .status();
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(
        &dir.path().join("data"),
        &["--max-connections", "2048", "--max-client-buffer", "256KiB", "--log-level", "warn"],
    );
    let pid = gw.child.id();
    let mut flooders = Vec::new();
    for n in 0..3 {
        let (sid, wid) = gw
            .session_with(&format!("flood{n}"), Some(&["sh", "-c", "read x; exec yes flood-0123456789"]))
            .await;
        flooders.push((sid, wid));
    }
    let (quiet_sid, quiet_wid) = gw.session_with("quiet", None).await;
    let fds_before = fd_count(pid);
    let rss_before = vm_rss_kib(pid);

    let synced = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(AtomicU64::new(0));
    let mut apps = Vec::new();
    for _ in 0..APP_CLIENTS {
        let ws = gw.ws("/ws/app").await;
        apps.push(tokio::spawn(app_client(ws, synced.clone(), target.clone())));
    }
    wait_for("every app client to sync", || async { synced.load(Ordering::Acquire) == APP_CLIENTS }).await;
    let mut workers = Vec::new();
    let targets: Vec<(String, String)> =
        flooders.iter().cloned().chain(std::iter::once((quiet_sid.clone(), quiet_wid.clone()))).collect();
    for i in 0..WORKER_CLIENTS {
        let (sid, wid) = &targets[i % targets.len()];
        let ws = gw.ws(&format!("/ws/session/{sid}/worker/{wid}")).await;
        workers.push(tokio::spawn(worker_client(ws)));
    }
    for (sid, wid) in &flooders {
        gw.http("POST", &format!("/api/sessions/{sid}/workers/{wid}/input"), Some(json!({"data": "go\n"})))
            .await;
    }
    // Deltas while flooding: renames, and the activity changes the floods cause.
    let mut peak_rss = 0;
    let until = std::time::Instant::now() + FLOOD_FOR;
    let mut n = 0;
    while std::time::Instant::now() < until {
        let (status, _) = gw
            .http("PATCH", &format!("/api/sessions/{quiet_sid}"), Some(json!({"title": format!("q{n}")})))
            .await;
        assert_eq!(status, 200);
        n += 1;
        peak_rss = peak_rss.max(vm_rss_kib(pid));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (sid, _) in &flooders {
        let (status, _) = gw.http("DELETE", &format!("/api/sessions/{sid}"), None).await;
        assert_eq!(status, 204);
    }
    let (status, _) = gw.http("DELETE", &format!("/api/sessions/{quiet_sid}"), None).await;
    assert_eq!(status, 204);
    let (_, last) = gw.http("GET", "/api/sessions", None).await;
    let final_seq = last["seq"].as_u64().expect("seq");
    // The floods really flooded: what the workers printed, from the gateway's own counter (how
    // much of it reached these clients before each fell behind and got 4008 depends on how fast
    // this test process reads next to the gateway, so that is not what is asserted on).
    let (_, metrics) = gw.http("GET", "/metrics", None).await;
    let printed: f64 = metrics
        .as_str()
        .expect("metrics text")
        .lines()
        .find(|l| l.starts_with("controlroom_pty_bytes_total{direction=\"out\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .expect("the PTY output counter");
    assert!(printed > 4.0 * 1024.0 * 1024.0, "the floods printed {printed} bytes");

    let mut worker_bytes = 0;
    for w in workers {
        let (bytes, code) = w.await.expect("worker client");
        assert!(
            matches!(code, Some(4004 | 4008)),
            "worker clients end with 4004 (deleted) or 4008 (slow): {code:?}"
        );
        worker_bytes += bytes;
    }
    assert!(worker_bytes > 0, "the floods reached the clients");
    // Each app client has every delta from its sync to the end, in order, once.
    target.store(final_seq, Ordering::Release);
    for a in apps {
        let (start, seqs) =
            tokio::time::timeout(support::DEADLINE, a).await.expect("app client done").expect("task");
        let want: Vec<u64> = ((start + 1)..=final_seq).collect();
        assert_eq!(seqs, want, "every delta, in order, once");
    }
    // Memory: under what the limits allow (every connection's queue full, every worker's
    // ring and scrollback full) on top of the idle gateway.
    let worker_cap_kib = 4 * (2 + 4) * 1024;
    let bound = rss_before + ((APP_CLIENTS + WORKER_CLIENTS) * CLIENT_BUFFER / 1024) as u64 + worker_cap_kib;
    assert!(peak_rss < bound, "peak RSS {peak_rss} KiB over the bound {bound} KiB (idle {rss_before} KiB)");
    eprintln!("load: {n} renames, peak RSS {peak_rss} KiB (idle {rss_before} KiB, bound {bound} KiB)");
    wait_for("file descriptors back to the baseline", || async { fd_count(pid) <= fds_before }).await;
}
