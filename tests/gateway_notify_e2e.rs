//! End-to-end tests of "knows when a worker needs you" through the real binary: prompts make a
//! worker `asking` (and `controlroom explain` says why), presets from the config file, the
//! webhook notifier (signature, retries, a hung receiver), `/metrics`, and selective subscriptions.

mod support;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::{Gateway, Ws, bin, wait_for};
use tokio::sync::mpsc;

fn is_activity(wid: &str, state: &'static str) -> impl FnMut(&Value) -> bool + use<> {
    let wid = wid.to_owned();
    move |v| v["type"] == "worker-activity" && v["workerId"] == wid.as_str() && v["activityState"] == state
}

/// Runs a client command of the built binary against the gateway in `data_dir`.
fn cli(data_dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(bin())
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("CONTROLROOM_TOKEN")
        .env_remove("CONTROLROOM_URL")
        .env("XDG_CONFIG_HOME", data_dir.with_extension("cli-xdg"))
        .output()
        .expect("run controlroom");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_prompt_makes_a_preset_worker_asking_explain_says_why_and_enter_clears_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        r#"
theme = "dark"   # a front-end key: the gateway skips it

[activity]
asking-after-ms = 100

[[presets]]
name = "deploy"
command = ["sh", "-c", "printf 'Deploy to prod? ready> '; read a; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo deploying $i; sleep 0.05; done; sleep 30"]
kind = "job"
[presets.activity]
asking-patterns = ['ready>\s*$']
"#,
    )
    .expect("write config");
    let gw =
        Gateway::start_in(&data, &["--config", config.to_str().expect("utf-8"), "--idle-after", "400ms"]);
    let (status, presets) = gw.http("GET", "/api/presets", None).await;
    assert_eq!(status, 200, "{presets}");
    let names: Vec<&str> =
        presets["presets"].as_array().expect("list").iter().filter_map(|p| p["name"].as_str()).collect();
    assert!(names.contains(&"shell") && names.contains(&"deploy"), "{presets}");

    let mut app = gw.ws("/ws/app").await;
    app.next_json().await;
    let (status, session) = gw
        .http(
            "POST",
            "/api/sessions",
            Some(json!({"title": "release", "cwd": "/tmp", "workers": [{"preset": "deploy"}]})),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    let worker = &session["workers"][0];
    assert_eq!((worker["kind"].as_str(), worker["preset"].as_str()), (Some("job"), Some("deploy")));
    let (sid, wid) = (session["id"].as_str().expect("id"), worker["id"].as_str().expect("wid"));
    app.until(is_activity(wid, "asking")).await;

    let (ok, out, err) = cli(&data, &["explain", "release/deploy"]);
    assert!(ok, "explain failed: {err}");
    assert!(out.starts_with("release/deploy: asking since "), "{out}");
    assert!(out.contains("(preset deploy)") && out.contains("ready>"), "{out}");
    assert!(out.contains("screen   pattern"), "{out}");
    let (status, report) = gw.http("GET", &format!("/api/sessions/{sid}/workers/{wid}/activity"), None).await;
    assert_eq!((status, report["state"].as_str()), (200, Some("asking")), "{report}");

    // Answering clears it; the job then works (sustained output) and goes quiet.
    gw.http("POST", &format!("/api/sessions/{sid}/workers/{wid}/input"), Some(json!({"data": "y\r"}))).await;
    app.until(is_activity(wid, "active")).await;
    app.until(is_activity(wid, "idle")).await;
    let (_, out, _) = cli(&data, &["explain", "rel/dep", "--json"]);
    let report: Value = serde_json::from_str(&out).expect("json report");
    let kinds: Vec<&str> =
        report["evidence"].as_array().expect("evidence").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds[..4], ["silence", "rate", "input", "screen"], "{report}");

    let (status, body) =
        gw.http("POST", &format!("/api/sessions/{sid}/workers"), Some(json!({"preset": "nope"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid")), "{body}");
}

#[tokio::test]
async fn a_bad_config_file_stops_serve_with_the_file_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[activity]\nidle-after-ms = 5\nbogus = 1\n").expect("write");
    let out = std::process::Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run serve");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(config.to_str().expect("utf-8")) && err.contains("line 3") && err.contains("bogus"),
        "{err}"
    );
}

/// What a test webhook receiver saw: headers and body of each POST.
type Seen = mpsc::UnboundedSender<(HeaderMap, String)>;

#[derive(Clone)]
struct Receiver {
    seen: Seen,
    calls: Arc<AtomicUsize>,
    /// Requests answered 500 before the receiver starts accepting.
    fail_first: usize,
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let n = r.calls.fetch_add(1, Ordering::SeqCst);
    let _ = r.seen.send((headers, body));
    if n < r.fail_first { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::NO_CONTENT }
}

async fn start_receiver(fail_first: usize) -> (String, mpsc::UnboundedReceiver<(HeaderMap, String)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let state = Receiver { seen: tx, calls: Arc::default(), fail_first };
    let app = axum::Router::new().route("/hook", axum::routing::post(hook)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), rx)
}

async fn next_post(rx: &mut mpsc::UnboundedReceiver<(HeaderMap, String)>) -> (HeaderMap, String) {
    tokio::time::timeout(support::DEADLINE, rx.recv())
        .await
        .expect("a webhook POST in time")
        .expect("receiver")
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[tokio::test]
async fn webhook_posts_signed_deltas_and_retries_after_a_500() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (url, mut rx) = start_receiver(1).await;
    let gw = Gateway::start_in(&data, &["--notify-webhook", &url, "--notify-on", "created,exited"]);
    let (ok, secret, err) = cli(&data, &["token", "--webhook-secret"]);
    assert!(ok, "{err}");
    let secret = secret.trim().to_owned();
    assert_ne!(secret, gw.token, "the webhook secret is not the owner token");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(data.join("webhook-secret")).expect("secret file").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    let (sid, _) = gw.session_with("hooked", Some(&["sh", "-c", "sleep 0.3; exit 3"])).await;
    // First attempt: answered 500. Second: accepted. Same delivery, same body, same signature.
    let (h1, b1) = next_post(&mut rx).await;
    let (h2, b2) = next_post(&mut rx).await;
    assert_eq!(b1, b2);
    assert_eq!(header(&h1, "x-controlroom-delivery"), header(&h2, "x-controlroom-delivery"));
    assert_eq!(header(&h1, "x-controlroom-event"), "created");
    assert_eq!(header(&h1, "content-type"), "application/json");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(b1.as_bytes());
    assert_eq!(
        header(&h1, "x-controlroom-signature"),
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    let delta: Value = serde_json::from_str(&b1).expect("json body");
    assert_eq!(
        (delta["type"].as_str(), delta["sessionId"].as_str()),
        (Some("session-created"), Some(sid.as_str()))
    );
    assert!(delta["seq"].as_u64().is_some());
    // The worker exits: a session-updated delta goes out as `exited`; nothing else was asked for.
    let (h3, b3) = next_post(&mut rx).await;
    assert_eq!(header(&h3, "x-controlroom-event"), "exited");
    let delta: Value = serde_json::from_str(&b3).expect("json");
    assert_eq!(delta["type"], "session-updated");
    assert_eq!(delta["session"]["workers"][0]["exitCode"], 3);
    // The receiver has the POST; the notifier counts it once it has read the answer.
    support::wait_for("two deliveries to be counted", || async {
        let (_, metrics) = gw.http("GET", "/metrics", None).await;
        let m = parse_metrics(metrics.as_str().unwrap_or_default());
        m.get("controlroom_webhook_deliveries_total") == Some(&2.0)
    })
    .await;
    let (_, metrics) = gw.http("GET", "/metrics", None).await;
    let m = parse_metrics(metrics.as_str().expect("text"));
    assert_eq!(m.get("controlroom_webhook_failures_total"), Some(&1.0), "{m:?}");
}

#[tokio::test]
async fn a_hung_webhook_receiver_does_not_delay_deltas() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Accepts connections, reads nothing, answers nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let held = accepted.clone();
    tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.fetch_add(1, Ordering::SeqCst);
            sockets.push(s);
        }
    });
    let gw = Gateway::start_in(
        &dir.path().join("data"),
        &["--notify-webhook", &url, "--notify-on", "created,deleted"],
    );
    let mut app = gw.ws("/ws/app").await;
    app.next_json().await;
    for i in 0..5 {
        let (status, s) =
            gw.http("POST", "/api/sessions", Some(json!({"title": format!("s{i}"), "cwd": "/tmp"}))).await;
        assert_eq!(status, 201);
        let sid = s["id"].as_str().expect("id").to_owned();
        app.until(|v| v["type"] == "session-created" && v["sessionId"] == sid.as_str()).await;
        let (status, _) = gw.http("DELETE", &format!("/api/sessions/{sid}"), None).await;
        assert_eq!(status, 204);
        app.until(|v| v["type"] == "session-deleted" && v["sessionId"] == sid.as_str()).await;
    }
    // Every delta reached the client while the receiver still sat on the first delivery.
    wait_for("the notifier to reach the receiver", || {
        let n = accepted.load(Ordering::SeqCst);
        async move { n >= 1 }
    })
    .await;
    let (_, metrics) = gw.http("GET", "/metrics", None).await;
    let m = parse_metrics(metrics.as_str().expect("text"));
    assert_eq!(m.get("controlroom_webhook_deliveries_total").copied().unwrap_or(0.0), 0.0, "{m:?}");
}

/// `name{labels} value` lines of a Prometheus text page (comments skipped).
fn parse_metrics(text: &str) -> std::collections::BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn metrics_count_what_a_scripted_scenario_did() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &["--heartbeat", "1s", "--poll-interval", "100ms"]);
    let (status, _) = support::http_raw(&gw.addr, "GET", "/metrics", &[], None).await;
    assert_eq!(status, 401, "/metrics needs the token");

    let mut app = gw.ws("/ws/app").await;
    app.next_json().await;
    // A client that never reads (so never answers a ping) is terminated by the heartbeat.
    let _silent = gw.ws("/ws/app").await;
    let (sid, wid) = gw.session_with("metered", Some(&["cat"])).await;
    let mut term: Ws = gw.ws(&format!("/ws/session/{sid}/worker/{wid}")).await;
    term.next_json().await;
    term.send_json(json!({"type": "input", "data": "hello metrics\r"})).await;
    term.output_until(|o| o.matches("hello metrics").count() >= 2).await;
    let (status, _) = gw.http("DELETE", &format!("/api/sessions/{sid}"), None).await;
    assert_eq!(status, 204);
    app.until(|v| v["type"] == "session-deleted").await;

    // Wait (with a deadline) for the heartbeat termination to be counted.
    let deadline = std::time::Instant::now() + support::DEADLINE;
    let m = loop {
        let (_, body) = gw.http("GET", "/metrics", None).await;
        let m = parse_metrics(body.as_str().unwrap_or_default());
        if m.contains_key(r#"controlroom_connection_terminations_total{reason="heartbeat_timeout"}"#) {
            break m;
        }
        assert!(std::time::Instant::now() < deadline, "no heartbeat termination counted: {m:#?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let get = |k: &str| m.get(k).copied().unwrap_or_else(|| panic!("no {k} in {m:#?}"));
    assert!(get(r#"controlroom_connections_total{endpoint="app"}"#) >= 2.0);
    assert_eq!(get(r#"controlroom_connections_total{endpoint="worker"}"#), 1.0);
    assert!(get(r#"controlroom_deltas_total{type="session-created"}"#) >= 1.0);
    assert!(get(r#"controlroom_deltas_total{type="session-deleted"}"#) >= 1.0);
    assert!(get("controlroom_broadcast_bytes_total") > 0.0);
    assert!(get(r#"controlroom_pty_bytes_total{direction="in"}"#) >= 14.0);
    assert!(get(r#"controlroom_pty_bytes_total{direction="out"}"#) >= 28.0);
    assert!(get("controlroom_poll_duration_seconds_count") >= 1.0);
    assert!(get(r#"controlroom_poll_duration_seconds_bucket{le="+Inf"}"#) >= 1.0);
    assert!(get("controlroom_delta_compute_seconds_count") >= 1.0);
    assert_eq!(get(r#"controlroom_workers{state="running"}"#), 0.0, "the only worker was deleted");
    assert!(m.keys().any(|k| k.starts_with("controlroom_worker_activity{")));
}

#[tokio::test]
async fn subscribe_limits_deltas_to_chosen_sessions_and_null_restores_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let mut app = gw.ws("/ws/app").await;
    app.next_json().await;
    let mut ids = Vec::new();
    for t in ["watched", "ignored"] {
        let (_, s) = gw.http("POST", "/api/sessions", Some(json!({"title": t, "cwd": "/tmp"}))).await;
        ids.push(s["id"].as_str().expect("id").to_owned());
    }
    app.until(|v| v["type"] == "session-created" && v["sessionId"] == ids[1].as_str()).await;
    app.send_json(json!({"type": "subscribe", "sessionIds": [ids[0]]})).await;
    let sync = app.until(|v| v["type"] == "sessions-sync").await;
    let titles: Vec<&str> =
        sync["sessions"].as_array().expect("list").iter().filter_map(|s| s["title"].as_str()).collect();
    assert_eq!(titles, ["watched"]);
    gw.http("PATCH", &format!("/api/sessions/{}", ids[1]), Some(json!({"title": "ignored-2"}))).await;
    gw.http("PATCH", &format!("/api/sessions/{}", ids[0]), Some(json!({"title": "watched-2"}))).await;
    let next = app.next_json().await;
    assert_eq!(
        (next["type"].as_str(), next["sessionId"].as_str()),
        (Some("session-updated"), Some(ids[0].as_str())),
        "{next}"
    );
    app.send_json(json!({"type": "subscribe", "sessionIds": null})).await;
    let sync = app.until(|v| v["type"] == "sessions-sync").await;
    assert_eq!(sync["sessions"].as_array().map(Vec::len), Some(2));
    app.send_json(json!({"type": "subscribe", "sessionIds": "all"})).await;
    let err = app.until(|v| v["type"] == "error").await;
    assert_eq!(err["code"], "bad-message");
}
