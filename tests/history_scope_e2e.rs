//! `?history=screen` on a worker socket, against a gateway running in this process
//! (`controlroom_server::embedded`) over real WebSockets: the opening `history` redraws the
//! same screen as the full one without a row of scrollback, live output follows it as usual, and
//! an unknown value is refused with 400 before the upgrade.

mod support;

use controlroom_server::ServeConfig;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use support::{Ws, http_raw};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A gateway in this process on 127.0.0.1:0 whose workers stop with it.
async fn gateway(data: &Path) -> controlroom_server::embedded::EmbeddedGateway {
    let mut config = ServeConfig::new(data.to_path_buf());
    config.holder_exe = Some(PathBuf::from(support::bin()));
    config.stop_workers_on_exit = true;
    controlroom_server::embedded::start(config).await.expect("the gateway starts")
}

fn addr(url: &str) -> &str {
    url.trim_start_matches("http://")
}

/// Opens `path` with the owner token; `Err` is the refusal's status and body.
async fn open(url: &str, token: &str, path: &str) -> Result<Ws, (u16, Value)> {
    let mut req = format!("ws://{}{path}", addr(url)).into_client_request().expect("request");
    let offer = format!("controlroom.v1, bearer.{token}");
    req.headers_mut().insert("Sec-WebSocket-Protocol", offer.parse().expect("header"));
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(Ws { inner: ws }),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            let body = resp.body().clone().unwrap_or_default();
            Err((resp.status().as_u16(), serde_json::from_slice(&body).unwrap_or(Value::Null)))
        }
        Err(e) => panic!("websocket connect failed: {e}"),
    }
}

/// A `history` message replayed into a terminal: (its screen, its scrollback rows).
fn replay(history: &Value) -> (String, usize) {
    assert_eq!(history["type"], "history", "{history}");
    let dim =
        |k: &str| std::num::NonZeroU16::new(history[k].as_u64().expect("size") as u16).expect("non-zero");
    let mut p = vt100::Parser::new(dim("rows"), dim("cols"), 10_000);
    p.process(history["data"].as_str().expect("data").as_bytes());
    let screen = p.screen().contents();
    p.screen_mut().set_scrollback(usize::MAX);
    (screen, p.screen().scrollback())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_only_history_has_the_screen_without_the_scrollback_and_bad_values_get_400() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let gw = gateway(&data).await;
    let auth = format!("Bearer {}", gw.token);
    // 300 numbered lines: most of them scroll off into the scrollback; then it echoes.
    let body = json!({
        "title": "history-scope",
        "cwd": "/tmp",
        "workers": [{"command": ["sh", "-c", "seq 1 300; exec cat"], "cols": 80, "rows": 24}],
    });
    let (status, created) =
        http_raw(addr(&gw.url), "POST", "/api/sessions", &[("Authorization", &auth)], Some(body.to_string()))
            .await;
    assert_eq!(status, 201, "{created}");
    let (sid, wid) =
        (created["id"].as_str().expect("id"), created["workers"][0]["id"].as_str().expect("wid"));
    let path = format!("/ws/session/{sid}/worker/{wid}");

    // Wait until the last line is printed, so both snapshots below see all of it.
    let mut first = open(&gw.url, &gw.token, &path).await.expect("default socket");
    first.output_until(|s| s.contains("300")).await;

    let mut full = open(&gw.url, &gw.token, &format!("{path}?history=full")).await.expect("full");
    let mut screen = open(&gw.url, &gw.token, &format!("{path}?history=screen")).await.expect("screen");
    let (full_history, screen_history) = (full.next_json().await, screen.next_json().await);
    let ((full_screen, full_rows), (screen_screen, screen_rows)) =
        (replay(&full_history), replay(&screen_history));
    assert!(full_screen.contains("300"), "{full_screen}");
    assert_eq!(screen_screen, full_screen, "the same screen");
    assert!(full_rows >= 250, "the full history has the scrollback: {full_rows} rows");
    assert_eq!(screen_rows, 0, "the screen-only history has none");
    assert_eq!(screen_history["offset"], full_history["offset"]);
    let len = |v: &Value| v["data"].as_str().map_or(0, str::len);
    assert!(len(&screen_history) < len(&full_history), "{} vs {}", len(&screen_history), len(&full_history));

    // Live output follows a screen-only history as it follows a full one.
    screen.send_json(json!({"type": "input", "data": "typed-after\r"})).await;
    screen.output_until(|s| s.contains("typed-after")).await;

    // It combines with `delivery`; an unknown value is refused before the upgrade.
    let mut both = open(&gw.url, &gw.token, &format!("{path}?delivery=lossless&history=screen"))
        .await
        .expect("both parameters");
    assert_eq!(replay(&both.next_json().await).1, 0);
    let (status, body) = match open(&gw.url, &gw.token, &format!("{path}?history=everything")).await {
        Ok(_) => panic!("?history=everything was accepted"),
        Err(refusal) => refusal,
    };
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid", "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("\"everything\""), "{body}");

    drop((first, full, screen, both));
    gw.shutdown().await.expect("the gateway stops");
    support::kill_holders(&data);
}
