//! Lossless delivery end to end (`?delivery=lossless` on a worker socket): a real WebSocket
//! client reading at 4 MB/s gets every byte of a multi-MB burst in order while a default client
//! of the same worker still gets 4008; a read-only token is refused before the upgrade; a
//! lossless client that stops reading is closed with 4009 and the worker runs on.

mod support;

use futures_util::StreamExt as _;
use serde_json::json;
use std::time::Duration;
use support::{DEADLINE, Ended, Gateway, wait_for};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn worker_path(sid: &str, wid: &str) -> String {
    format!("/ws/session/{sid}/worker/{wid}")
}

/// `seq 1 N` as the terminal shows it (`\n` becomes `\r\n`).
fn seq_output(n: u32) -> String {
    (1..=n).map(|i| format!("{i}\r\n")).collect()
}

/// A WebSocket upgrade the gateway refuses: its status and the body's error message.
async fn refused(gw: &Gateway, token: &str, path: &str) -> (u16, serde_json::Value) {
    let mut req = format!("ws://{}{}", gw.addr, path).into_client_request().expect("request");
    let offer = format!("controlroom.v1, bearer.{token}");
    req.headers_mut().insert("Sec-WebSocket-Protocol", offer.parse().expect("header"));
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => panic!("{path} was accepted"),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            let body = resp.body().clone().unwrap_or_default();
            (resp.status().as_u16(), serde_json::from_slice(&body).unwrap_or(json!(null)))
        }
        Err(e) => panic!("connect failed: {e}"),
    }
}

#[tokio::test]
async fn a_lossless_reader_at_4_mb_per_s_gets_every_byte_while_a_default_one_gets_4008() {
    const N: u32 = 500_000;
    const RATE: f64 = 4.0 * 1024.0 * 1024.0;
    let dir = temp();
    // Every frame logged at trace level would slow the reader more than its pacing does.
    let gw = Gateway::start_in(
        &dir.path().join("data"),
        &["--max-client-buffer", "256KiB", "--log-level", "info"],
    );
    let script = format!("stty -echo; read x; seq 1 {N}");
    let (sid, wid) = gw.session_with("burst", Some(&["sh", "-c", &script])).await;
    let path = worker_path(&sid, &wid);
    let mut lossless = gw.ws(&format!("{path}?delivery=lossless")).await;
    let mut watcher = gw.ws(&path).await;
    let history = lossless.next_json().await;
    assert_eq!(history["type"], "history");
    let mut next = history["offset"].as_u64().expect("offset");
    lossless.send_json(json!({"type": "input", "data": "go\r"})).await;
    let started = tokio::time::Instant::now();
    let mut got = String::new();
    loop {
        let v = tokio::time::timeout(DEADLINE, lossless.next_json()).await.expect("output in time");
        match v["type"].as_str() {
            Some("output") => {
                let data = v["data"].as_str().expect("data");
                assert_eq!(v["offset"].as_u64(), Some(next), "output follows on exactly");
                next += data.len() as u64;
                got.push_str(data);
                let due = started + Duration::from_secs_f64(got.len() as f64 / RATE);
                tokio::time::sleep_until(due).await;
            }
            Some("exit") => break,
            other => panic!("unexpected {other:?}: {v}"),
        }
    }
    let expected = seq_output(N);
    assert!(expected.len() > 3_000_000, "a multi-MB burst");
    assert!(got.ends_with(&expected), "every byte in order: got {} of {} bytes", got.len(), expected.len());
    assert!(got.len() <= expected.len() + 8, "nothing but the burst (and at most the echo): {}", got.len());
    // The default client beside it read nothing and was closed as before.
    assert_eq!(watcher.ended().await, Ended::Close(4008));
    assert!(gw.log().contains("delivery=\"lossless\"") || gw.log().contains("delivery=lossless"));
}

#[tokio::test]
async fn lossless_delivery_needs_a_write_scoped_token_and_a_known_value() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let (sid, wid) = gw.session_with("watched", Some(&["sleep", "1000"])).await;
    let path = worker_path(&sid, &wid);
    let ro = gw.token_cmd(&["--ttl", "1h", "--read-only"]);
    let (status, body) = refused(&gw, &ro, &format!("{path}?delivery=lossless")).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "forbidden", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("lossless delivery needs a write-scoped token"), "{body}");
    // The watcher may still watch in the default mode, asked for or not.
    let mut watcher = gw.ws_as(&ro, &format!("{path}?delivery=default")).await.expect("read-only watches");
    assert_eq!(watcher.next_json().await["type"], "history");
    let (status, body) = refused(&gw, &gw.token, &format!("{path}?delivery=fast")).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid", "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("\"fast\""), "{body}");
    // A write-scoped scoped token may ask.
    let rw = gw.token_cmd(&["--ttl", "1h"]);
    let mut writer = gw.ws_as(&rw, &format!("{path}?delivery=lossless")).await.expect("write-scoped");
    assert_eq!(writer.next_json().await["type"], "history");
}

#[tokio::test]
async fn a_lossless_client_that_stops_reading_gets_4009_and_the_worker_runs_on() {
    let dir = temp();
    let gw = Gateway::start_in(
        &dir.path().join("data"),
        &["--max-client-buffer", "64KiB", "--lossless-stall-timeout", "500ms", "--log-level", "info"],
    );
    let (sid, wid) =
        gw.session_with("stalled", Some(&["sh", "-c", "stty -echo; read x; seq 1 1500000; echo done"])).await;
    let path = worker_path(&sid, &wid);
    let mut stuck = gw.ws(&format!("{path}?delivery=lossless")).await;
    assert_eq!(stuck.next_json().await["type"], "history");
    stuck.send_json(json!({"type": "input", "data": "go\r"})).await;
    // It reads nothing from here on; the worker still finishes its 12 MB (more than the socket
    // buffers of a loopback connection take in before the gateway's queue fills).
    wait_for("the worker to run on without the stalled client", || async {
        let (_, s) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
        s["workers"][0]["state"] == "exited"
    })
    .await;
    assert!(gw.log().contains("lossless_stalled"), "the gateway says why it let go");
    // Reading again, the client finds what was in flight, then the close.
    loop {
        match tokio::time::timeout(DEADLINE, stuck.inner.next()).await.expect("the close in time") {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 4009);
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("ended without 4009: {other:?}"),
        }
    }
}
