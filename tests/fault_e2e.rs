//! Fault tests: kill -9 during mutation bursts, restarts under connected clients, workers killed
//! from outside, clients that vanish, and a full disk.

mod support;

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Gateway, collect_deltas, fold, integrity_check, try_http, wait_for};

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Creates, renames and deletes sessions until the gateway stops answering.
async fn mutate_until_dead(addr: String, token: String, tag: usize) {
    for n in 0.. {
        let title = format!("t{tag}-{n}");
        let Some((201, s)) =
            try_http(&addr, &token, "POST", "/api/sessions", Some(json!({"title": title, "cwd": "/tmp"})))
                .await
        else {
            return;
        };
        let id = s["id"].as_str().unwrap_or_default().to_string();
        let path = format!("/api/sessions/{id}");
        if try_http(&addr, &token, "PATCH", &path, Some(json!({"title": format!("{title}-r")})))
            .await
            .is_none()
        {
            return;
        }
        if n % 3 == 0 && try_http(&addr, &token, "DELETE", &path, None).await.is_none() {
            return;
        }
    }
}

#[tokio::test]
async fn kill_9_during_mutation_bursts_loses_no_broadcast_delta() {
    const ITERATIONS: u64 = 12;
    let dir = temp();
    let data = dir.path().join("data");
    let mut seen: Vec<Value> = Vec::new();
    for i in 0..ITERATIONS {
        let mut gw = Gateway::start_in(&data, &[]);
        let ws = gw.ws("/ws/app").await;
        let reader = tokio::spawn(collect_deltas(ws));
        let bursts: Vec<_> =
            (0..3).map(|t| tokio::spawn(mutate_until_dead(gw.addr.clone(), gw.token.clone(), t))).collect();
        // A different moment in each iteration, 20..=260 ms into the burst.
        tokio::time::sleep(Duration::from_millis(20 + (i * 53) % 241)).await;
        gw.stop(libc::SIGKILL);
        for b in bursts {
            b.await.expect("burst task");
        }
        let got = reader.await.expect("reader");
        assert_eq!(integrity_check(&data), "ok", "iteration {i}");
        seen.extend(got);
    }
    assert!(seen.len() > 50, "the bursts produced deltas: {}", seen.len());
    let gw = Gateway::start_in(&data, &[]);
    let (status, log) = gw.http("GET", "/api/deltas?since=0", None).await;
    assert_eq!(status, 200);
    let log = log["deltas"].as_array().expect("deltas").clone();
    let seqs: Vec<u64> = log.iter().map(|d| d["seq"].as_u64().expect("seq")).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "no gaps, no duplicates");
    let by_seq: BTreeMap<u64, &Value> = log.iter().map(|d| (d["seq"].as_u64().expect("seq"), d)).collect();
    let mut unique = BTreeSet::new();
    for d in &seen {
        let seq = d["seq"].as_u64().expect("seq");
        assert!(unique.insert(seq), "seq {seq} was broadcast twice");
        assert_eq!(by_seq.get(&seq), Some(&d), "broadcast delta {seq} is in the log as sent");
    }
    // Replaying the whole log gives the live state.
    let (_, live) = gw.http("GET", "/api/sessions", None).await;
    let live: BTreeMap<String, Value> = live["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| (s["id"].as_str().expect("id").to_string(), s.clone()))
        .collect();
    assert_eq!(fold(BTreeMap::new(), &log), live);
}

/// What a reconnecting client has: the deltas it applied and the cursor it is at.
#[derive(Default)]
struct ClientView {
    deltas: Vec<Value>,
    cursor: Option<u64>,
    duplicates: usize,
}

/// A client that reconnects with backoff and catches up with `request-sync since`.
async fn reconnecting_client(
    addr: String,
    token: String,
    view: Arc<Mutex<ClientView>>,
    stop: Arc<tokio::sync::Notify>,
) {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _};
    let mut backoff = Duration::from_millis(25);
    loop {
        let mut req = format!("ws://{addr}/ws/app").into_client_request().expect("request");
        let offer = format!("controlroom.v1, bearer.{token}");
        req.headers_mut().insert("Sec-WebSocket-Protocol", offer.parse().expect("header"));
        let connect = tokio::select! {
            () = stop.notified() => return,
            r = tokio_tungstenite::connect_async(req) => r,
        };
        let Ok((mut ws, _)) = connect else {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(400));
            continue;
        };
        backoff = Duration::from_millis(25);
        let cursor = view.lock().expect("view").cursor;
        if let Some(since) = cursor {
            let ask = json!({"type": "request-sync", "since": since}).to_string();
            if ws.send(Message::Text(ask.into())).await.is_err() {
                continue;
            }
        }
        // After a reconnect, what arrives before the replay is in the replay.
        let mut caught_up = cursor.is_none();
        loop {
            let msg = tokio::select! {
                () = stop.notified() => return,
                m = ws.next() => m,
            };
            let Some(Ok(Message::Text(t))) = msg else {
                if matches!(msg, Some(Ok(_))) {
                    continue;
                }
                break;
            };
            let v: Value = serde_json::from_str(t.as_str()).expect("json");
            let mut view = view.lock().expect("view");
            match v["type"].as_str() {
                Some("sessions-sync") if view.cursor.is_none() => {
                    view.cursor = v["seq"].as_u64();
                }
                Some("sessions-sync") => {}
                Some("replay") => {
                    for d in v["deltas"].as_array().expect("deltas") {
                        view.deltas.push(d.clone());
                    }
                    view.cursor = v["seq"].as_u64();
                    caught_up = true;
                }
                _ if caught_up => {
                    let seq = v["seq"].as_u64().expect("seq");
                    if view.cursor.is_some_and(|c| seq <= c) {
                        view.duplicates += 1;
                    } else {
                        view.cursor = Some(seq);
                        view.deltas.push(v);
                    }
                }
                _ => {}
            }
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

async fn some_mutations(gw: &Gateway, tag: &str) {
    for n in 0..4 {
        let (status, s) = gw
            .http("POST", "/api/sessions", Some(json!({"title": format!("{tag}{n}"), "cwd": "/tmp"})))
            .await;
        assert_eq!(status, 201);
        let id = s["id"].as_str().expect("id");
        gw.http("PATCH", &format!("/api/sessions/{id}"), Some(json!({"title": format!("{tag}{n}!")}))).await;
    }
}

#[tokio::test]
async fn clients_reconnect_across_restarts_and_end_with_exactly_the_log() {
    let dir = temp();
    let data = dir.path().join("data");
    let listen = format!("127.0.0.1:{}", free_port());
    // Its workers stop with it (gateway-stopped), as they did before workers had holders.
    let mut gw = Gateway::start_on(&data, &listen, &["--stop-workers-on-exit"]);
    gw.session_with("has-a-worker", Some(&["sleep", "1000"])).await;
    let (_, start) = gw.http("GET", "/api/sessions", None).await;
    let start_seq = start["seq"].as_u64().expect("seq");
    let stop = Arc::new(tokio::sync::Notify::new());
    let views: Vec<Arc<Mutex<ClientView>>> = (0..5).map(|_| Arc::default()).collect();
    let tasks: Vec<_> = views
        .iter()
        .map(|v| {
            tokio::spawn(reconnecting_client(gw.addr.clone(), gw.token.clone(), v.clone(), stop.clone()))
        })
        .collect();
    wait_for("every client to sync", || async {
        views.iter().all(|v| v.lock().expect("view").cursor.is_some_and(|c| c >= start_seq))
    })
    .await;
    let starts: Vec<u64> = views.iter().map(|v| v.lock().expect("view").cursor.unwrap_or(0)).collect();
    assert!(starts.iter().all(|s| *s == start_seq), "{starts:?}");

    some_mutations(&gw, "a").await;
    assert_eq!(gw.stop(libc::SIGTERM), Some(0));
    let mut gw = Gateway::start_on(&data, &listen, &[]);
    some_mutations(&gw, "b").await;
    gw.stop(libc::SIGKILL);
    let gw = Gateway::start_on(&data, &listen, &[]);
    some_mutations(&gw, "c").await;

    let (_, now) = gw.http("GET", "/api/sessions", None).await;
    let now_seq = now["seq"].as_u64().expect("seq");
    wait_for("every client to catch up", || async {
        views.iter().all(|v| v.lock().expect("view").cursor == Some(now_seq))
    })
    .await;
    stop.notify_waiters();
    for t in tasks {
        t.abort();
    }
    let (_, log) = gw.http("GET", &format!("/api/deltas?since={start_seq}"), None).await;
    let log = log["deltas"].as_array().expect("deltas").clone();
    assert!(
        log.iter().any(|d| d["session"]["workers"][0]["signal"] == "gateway-stopped"),
        "restarts made deltas"
    );
    for (i, v) in views.iter().enumerate() {
        let view = v.lock().expect("view");
        assert_eq!(view.duplicates, 0, "client {i} got a delta twice");
        assert_eq!(view.deltas, log, "client {i} has exactly the log");
    }
    // A cursor the gateway cannot serve (from the future, e.g. another data dir) gets a full sync.
    let mut ws = gw.ws("/ws/app").await;
    ws.next_json().await;
    ws.send_json(json!({"type": "request-sync", "since": now_seq + 1000})).await;
    let full = ws.next_json().await;
    assert_eq!((full["type"].as_str(), full["seq"].as_u64()), (Some("sessions-sync"), Some(now_seq)));
}

fn proc_state(pid: u64) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next())
}

/// Zombie children of `pid`.
fn zombies_of(pid: u32) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("proc").flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let Some((_, rest)) = stat.rsplit_once(") ") else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 1 && fields[0] == "Z" && fields[1] == pid.to_string() {
            out.push(stat);
        }
    }
    out
}

#[tokio::test]
async fn a_worker_killed_from_outside_exits_once_without_a_zombie() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let sleep = json!({"command": ["sleep", "1000"]});
    let shell = json!({"command": ["sh"]});
    let (status, s) = gw
        .http(
            "POST",
            "/api/sessions",
            Some(json!({"title": "k", "cwd": "/tmp", "workers": [sleep, sleep, shell]})),
        )
        .await;
    assert_eq!(status, 201);
    let sid = s["id"].as_str().expect("id").to_string();
    let workers = s["workers"].as_array().expect("workers").clone();
    let victim = workers[0]["pid"].as_u64().expect("pid");
    let wid = workers[0]["id"].as_str().expect("wid");
    let mut ws = gw.ws(&format!("/ws/session/{sid}/worker/{wid}")).await;
    ws.next_json().await;
    support::send_signal(u32::try_from(victim).expect("pid"), libc::SIGKILL);
    let exit = ws.until(|v| v["type"] == "exit").await;
    assert_eq!(exit["signal"], "SIGKILL");
    ws.send_json(json!({"type": "input", "data": "x"})).await;
    let next = ws.until(|v| v["type"] != "output").await;
    assert_eq!(
        (next["type"].as_str(), next["code"].as_str()),
        (Some("error"), Some("worker-exited")),
        "exactly one exit"
    );
    wait_for("the killed worker to be reaped", || async { proc_state(victim).is_none() }).await;
    assert!(zombies_of(gw.child.id()).is_empty(), "{:?}", zombies_of(gw.child.id()));
    wait_for("the session to show exactly the killed worker exited", || async {
        let (_, now) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
        let states: Vec<&str> =
            now["workers"].as_array().expect("w").iter().filter_map(|w| w["state"].as_str()).collect();
        states == ["exited", "running", "running"]
    })
    .await;
    for w in &workers[1..] {
        let pid = w["pid"].as_u64().expect("pid");
        assert!(matches!(proc_state(pid), Some('S' | 'R')), "worker {pid} is fine");
    }
    let shell_id = workers[2]["id"].as_str().expect("wid");
    let mut sh = gw.ws(&format!("/ws/session/{sid}/worker/{shell_id}")).await;
    sh.next_json().await;
    sh.send_json(json!({"type": "input", "data": "echo still-$((1+1))\r"})).await;
    sh.output_until(|o| o.contains("still-2")).await;
}

#[tokio::test]
async fn a_client_that_vanishes_is_reaped_within_two_heartbeats() {
    use tokio::io::AsyncWriteExt as _;
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &["--heartbeat", "400ms"]);
    let (sid, wid) = gw.session_with("v", None).await;
    let path = format!("/ws/session/{sid}/worker/{wid}");
    // A client that stops reading (a stopped process): it never answers a ping.
    let frozen = gw.ws(&path).await;
    let t0 = std::time::Instant::now();
    let reaped = |log: &str| log.contains("heartbeat_timeout") && log.contains("client detached");
    wait_for("the frozen client to be reaped", || async { reaped(&gw.log()) }).await;
    assert!(
        t0.elapsed() < Duration::from_millis(3 * 400),
        "reaped by the second heartbeat: {:?}",
        t0.elapsed()
    );
    drop(frozen);
    // A socket dropped without a close frame is noticed at once.
    let (mut raw, _) =
        gw.ws_with(&path, Some(&format!("controlroom.v1, bearer.{}", gw.token)), None).await.expect("ws");
    raw.next_json().await;
    let count = |log: &str| log.matches("client detached").count();
    let before = count(&gw.log());
    let tcp = raw.inner.get_mut();
    let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = tcp else { panic!("plain TCP") };
    tcp.shutdown().await.expect("shutdown");
    drop(raw);
    wait_for("the dropped client to be reaped", || async { count(&gw.log()) > before }).await;
    // The worker kept running and serves a new client.
    let mut again = gw.ws(&path).await;
    again.next_json().await;
    again.send_json(json!({"type": "input", "data": "echo alive-$((2+3))\r"})).await;
    again.output_until(|o| o.contains("alive-5")).await;
}
