//! End-to-end tests of the `controlroom.v1.binary` worker-socket subprotocol: the real binary,
//! real PTYs, real WebSocket clients of both kinds on one worker.

mod support;

use controlroom_protocol::{BINARY_SUBPROTOCOL, decode_output};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::{DEADLINE, Gateway, Ws};
use tokio_tungstenite::tungstenite::Message;

/// A program that turns echo off, says `R`, waits for a line, then writes bytes that are not
/// UTF-8 and an `é` split across two reads a second apart, then what it read, and exits.
const SCRIPT: &str =
    "stty -echo; printf R; read go; printf 'x\\377y\\303'; sleep 1; printf '\\251z%s' \"$go\"; exit 0";

/// Exactly what [`SCRIPT`] writes when it reads `go`.
const WRITTEN: &[u8] = b"Rx\xffy\xc3\xa9zgo";

fn worker_path(sid: &str, wid: &str) -> String {
    format!("/ws/session/{sid}/worker/{wid}")
}

/// Everything one socket received up to `exit`: JSON messages and binary frames in order.
#[derive(Debug, Default)]
struct Received {
    json: Vec<Value>,
    /// (offset, bytes) of every binary frame.
    binary: Vec<(u64, Vec<u8>)>,
}

impl Received {
    fn history_offset(&self) -> u64 {
        assert_eq!(self.json[0]["type"], "history", "history comes first: {:?}", self.json);
        self.json[0]["offset"].as_u64().expect("offset")
    }

    /// The binary frames' bytes, checking each frame follows on exactly from the history offset.
    fn binary_stream(&self) -> Vec<u8> {
        let mut next = self.history_offset();
        let mut stream = Vec::new();
        for (offset, bytes) in &self.binary {
            assert_eq!(*offset, next, "binary frames must be contiguous: {:?}", self.binary);
            next += bytes.len() as u64;
            stream.extend_from_slice(bytes);
        }
        stream
    }

    fn json_output(&self) -> String {
        self.json.iter().filter(|m| m["type"] == "output").filter_map(|m| m["data"].as_str()).collect()
    }
}

/// Reads text and binary frames into `got` until `ready` holds or `exit` arrives.
async fn read_until(ws: &mut Ws, got: &mut Received, ready: impl Fn(&Received) -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !ready(got) {
        let msg = tokio::time::timeout_at(deadline, ws.inner.next())
            .await
            .unwrap_or_else(|_| panic!("no exit before the deadline; got {got:?}"));
        match msg {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(t.as_str()).expect("json");
                let exit = v["type"] == "exit";
                got.json.push(v);
                if exit {
                    return;
                }
            }
            Some(Ok(Message::Binary(b))) => {
                let (offset, bytes) = decode_output(&b).expect("a binary output frame");
                got.binary.push((offset, bytes.to_vec()));
            }
            Some(Ok(_)) => {}
            other => panic!("socket ended before exit: {other:?}; got {got:?}"),
        }
    }
}

/// Whether the program said it is ready (`R`): in the history, or in output of either format.
fn said_ready(got: &Received) -> bool {
    let in_history = got.json.first().and_then(|h| h["offset"].as_u64()).is_some_and(|o| o >= 1);
    in_history || got.binary.iter().any(|(_, b)| b.contains(&b'R')) || got.json_output().contains('R')
}

/// What the program wrote from the history offset on (`R` may be in the history).
fn written_since(got: &Received) -> &'static [u8] {
    &WRITTEN[usize::try_from(got.history_offset()).expect("small")..]
}

/// Connects offering `protocols` (and the token as `Authorization` when `bearer_header`);
/// returns the socket and the subprotocol the gateway selected.
async fn connect(
    gw: &Gateway,
    path: &str,
    protocols: Option<&str>,
    bearer_header: bool,
) -> (Ws, Option<String>) {
    let auth = format!("Bearer {}", gw.token);
    let (ws, resp) =
        gw.ws_with(path, protocols, bearer_header.then_some(auth.as_str())).await.expect("connect");
    let selected =
        resp.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (ws, selected)
}

#[tokio::test]
async fn binary_and_json_clients_on_one_worker_each_get_their_format_and_binary_input_is_typed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let (sid, wid) = gw.session_with("binary", Some(&["/bin/sh", "-c", SCRIPT])).await;
    let path = worker_path(&sid, &wid);
    // A browser offers both protocols and its token; binary is preferred.
    let offer = format!("controlroom.v1, {BINARY_SUBPROTOCOL}, bearer.{}", gw.token);
    let (mut bin, selected) = connect(&gw, &path, Some(&offer), false).await;
    assert_eq!(selected.as_deref(), Some(BINARY_SUBPROTOCOL));
    let mut json_client = gw.ws(&path).await;
    let (mut got, mut json_got) = (Received::default(), Received::default());
    read_until(&mut bin, &mut got, said_ready).await;
    read_until(&mut json_client, &mut json_got, said_ready).await;

    // Binary input is typed: the program reads "go" and goes on.
    bin.inner.send(Message::Binary(b"go\r".to_vec().into())).await.expect("send");

    read_until(&mut bin, &mut got, |_| false).await;
    assert_eq!(got.json.last(), Some(&json!({"type": "exit", "exitCode": 0})));
    assert!(
        got.json.iter().all(|m| m["type"] != "output"),
        "no JSON output on a binary socket: {:?}",
        got.json
    );
    assert_eq!(got.binary_stream(), written_since(&got), "exactly the bytes the program wrote, raw");
    assert!(
        got.binary.iter().any(|(_, b)| b.ends_with(b"\xc3")),
        "the split character is not carried: a frame ends mid-character: {:?}",
        got.binary
    );

    read_until(&mut json_client, &mut json_got, |_| false).await;
    assert!(json_got.binary.is_empty(), "no binary frames on a JSON socket");
    assert_eq!(
        json_got.json_output(),
        String::from_utf8_lossy(written_since(&json_got)),
        "JSON output is UTF-8 (U+FFFD for the invalid byte), the split é whole"
    );
    assert!(json_got.json_output().ends_with("x\u{FFFD}y\u{e9}zgo"));
}

#[tokio::test]
async fn without_the_binary_subprotocol_output_stays_json_and_binary_frames_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let (sid, wid) = gw.session_with("json", Some(&["/bin/sh", "-c", SCRIPT])).await;
    let path = worker_path(&sid, &wid);
    // A non-browser client with the token in a header and no subprotocol at all.
    let (mut plain, selected) = connect(&gw, &path, None, true).await;
    assert_eq!(selected, None);
    // A non-browser binary client: the token in a header, only the binary subprotocol offered.
    let (mut bin, selected) = connect(&gw, &path, Some(BINARY_SUBPROTOCOL), true).await;
    assert_eq!(selected.as_deref(), Some(BINARY_SUBPROTOCOL));
    let (mut got, mut plain_got) = (Received::default(), Received::default());
    read_until(&mut bin, &mut got, said_ready).await;
    read_until(&mut plain, &mut plain_got, said_ready).await;

    // A binary frame from a JSON client is refused as before and types nothing.
    plain.inner.send(Message::Binary(b"go\r".to_vec().into())).await.expect("send");
    let err = plain.until(|m| m["type"] == "error").await;
    assert_eq!(err["code"], "bad-message", "{err}");
    // A read-only token's binary input is refused like its JSON input.
    let read_only = gw.token_cmd(&["--ttl", "1h", "--read-only"]);
    let offer = format!("{BINARY_SUBPROTOCOL}, bearer.{read_only}");
    let (mut viewer, selected) = connect(&gw, &path, Some(&offer), false).await;
    assert_eq!(selected.as_deref(), Some(BINARY_SUBPROTOCOL));
    viewer.inner.send(Message::Binary(b"go\r".to_vec().into())).await.expect("send");
    let err = viewer.until(|m| m["type"] == "error").await;
    assert_eq!(err["code"], "forbidden", "{err}");
    // JSON input keeps working on both kinds of socket.
    bin.send_json(json!({"type": "input", "data": "go\r"})).await;

    read_until(&mut bin, &mut got, |_| false).await;
    assert_eq!(got.binary_stream(), written_since(&got));
    read_until(&mut plain, &mut plain_got, |_| false).await;
    assert!(plain_got.binary.is_empty());
    assert_eq!(plain_got.json_output(), String::from_utf8_lossy(written_since(&plain_got)));
}

#[tokio::test]
async fn binary_input_reaches_the_program_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    // Raw mode: the line discipline passes every byte; the program prints what it read in hex.
    let script = "stty raw -echo; printf R; head -c 8 | od -An -tx1; exit 0";
    let (sid, wid) = gw.session_with("bytes", Some(&["/bin/sh", "-c", script])).await;
    let path = worker_path(&sid, &wid);
    let offer = format!("{BINARY_SUBPROTOCOL}, controlroom.v1");
    let (mut bin, selected) = connect(&gw, &path, Some(&offer), true).await;
    assert_eq!(selected.as_deref(), Some(BINARY_SUBPROTOCOL));
    let mut got = Received::default();
    read_until(&mut bin, &mut got, said_ready).await;

    // An X10 mouse report past column 95 (0xE9 is not UTF-8 on its own), then more such bytes.
    let input = b"\x1b[M \xe9#\xff\xc3";
    bin.inner.send(Message::Binary(input.to_vec().into())).await.expect("send");

    read_until(&mut bin, &mut got, |_| false).await;
    assert_eq!(got.json.last(), Some(&json!({"type": "exit", "exitCode": 0})));
    let printed =
        String::from_utf8_lossy(&got.binary_stream()).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        printed.contains("1b 5b 4d 20 e9 23 ff c3"),
        "the program read exactly the bytes sent: {printed:?}"
    );
}
