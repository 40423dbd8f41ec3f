//! A worker's socket task: connects with the `history` it asks for, reports messages and output
//! frames, sends what is typed (binary frames of the exact bytes when the gateway took
//! `controlroom.v1.binary`), and reconnects — at once after a 4008 once its `history` came,
//! else with backoff; a deleted worker, a refused certificate or a message over the cap end it.

use super::{Ended, send_json, wait_to_retry};
use crate::client::Trust;
use crate::client::backoff::Backoff;
use crate::client::credential::Credential;
use crate::client::events::{ClientEvent, WorkerReport, WorkerSend};
use crate::client::ws::{ConnectError, Offer, Opened, close_is_final, close_reason, connect_offering};
use crate::client::{Endpoint, worker_path};
use controlroom_protocol::{
    HISTORY_PARAM, HistoryScope, SessionId, WorkerClientMsg, WorkerId, WorkerServerMsg,
};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::{self, Message};

/// How the watched worker's socket is opened.
#[derive(Debug, Clone)]
pub struct WorkerDial {
    /// Current base URL of the gateway.
    pub url: watch::Receiver<String>,
    /// The token, re-read from its file once when refused.
    pub credential: Credential,
    /// Certificates accepted for `https://` gateways.
    pub trust: Trust,
    /// Largest message accepted (`max-message-mib`): the attach-time `history` must fit.
    pub max_message: usize,
    /// How much the opening `history` redraws: a wall tile asks for the screen only
    /// (`?history=screen`), the watched view for all of the scrollback.
    pub history: HistoryScope,
    /// Most bytes read from the socket at once (`ws-read-buffer-kib`).
    pub read_buffer: usize,
}

/// Runs one worker's socket, retrying, until the UI drops `out` or the worker is gone.
pub async fn worker_task<M: From<ClientEvent>>(
    dial: WorkerDial,
    session: SessionId,
    worker: WorkerId,
    ui: mpsc::Sender<M>,
    mut out: mpsc::Receiver<WorkerSend>,
) {
    let mut backoff = Backoff::default();
    let report =
        |report| M::from(ClientEvent::Worker { session: session.clone(), worker: worker.clone(), report });
    let WorkerDial { url, credential, trust, max_message, history, read_buffer } = dial;
    let mut fresh = false;
    loop {
        let base = url.borrow().clone();
        let token = credential.token();
        let result = match Endpoint::parse(&base) {
            Ok(e) => {
                let mut path = worker_path(session.as_str(), worker.as_str());
                if history != HistoryScope::Full {
                    path = format!("{path}?{HISTORY_PARAM}={}", history.as_str());
                }
                connect_offering(&e, &path, &token, &trust, Offer::Binary, max_message, read_buffer).await
            }
            Err(e) => Err(ConnectError::Other(e.to_string())),
        };
        // Past failures are forgotten once a `history` arrives, not on connect: a gateway that
        // accepts and then closes at once is retried ever more slowly.
        let mut live = false;
        let ended = match result {
            Ok(opened) => worker_session(opened, &ui, &mut out, &report, &mut live, max_message).await,
            Err(ConnectError::NotFound) => Ended::Gone("worker not found".into()),
            Err(e @ ConnectError::Unauthorized) => Ended::AuthRefused(e.describe()),
            Err(e @ ConnectError::Certificate(_)) => Ended::Refused(e.describe()),
            Err(e) => Ended::Lost(e.describe()),
        };
        if live {
            fresh = false;
        }
        match ended {
            Ended::Stop => return,
            Ended::AuthRefused(_) if credential.retry_fresh(&token, &mut fresh) => continue,
            Ended::Refused(reason) | Ended::AuthRefused(reason) => {
                // The app socket reports the same refusal in the status bar; stop retrying.
                let _ = ui.send(report(WorkerReport::Lost(reason))).await;
                return;
            }
            Ended::Gone(reason) => {
                let _ = ui.send(report(WorkerReport::Gone(reason))).await;
                return;
            }
            Ended::FellBehind(reason) if live => {
                // The gateway is fine and a fresh `history` catches up: reconnect at once (tmux
                // never leaves a screen stale). Each round needs a whole snapshot, so no storm.
                if ui.send(report(WorkerReport::Lost(reason))).await.is_err() {
                    return;
                }
                backoff.reset();
                continue;
            }
            Ended::Lost(reason) | Ended::FellBehind(reason) => {
                if ui.send(report(WorkerReport::Lost(reason))).await.is_err() {
                    return;
                }
            }
        }
        if live {
            backoff.reset();
        }
        let delay = backoff.next_delay(&mut rand::rng());
        if !wait_to_retry(delay, &ui, &mut out).await {
            return;
        }
    }
}

/// What the status bar says when a worker message is over `max-message-mib`; the advice comes
/// first, since a narrow status line cuts the end.
fn too_big(e: &tungstenite::error::CapacityError, max_message: usize) -> String {
    let limit = max_message >> 20;
    match e {
        tungstenite::error::CapacityError::MessageTooLong { size, .. } => format!(
            "a {:.1} MiB message is over max-message-mib ({limit} MiB): raise it in config.toml or \
             lower the gateway's --scrollback",
            *size as f64 / f64::from(1 << 20)
        ),
        other => format!("over max-message-mib ({limit} MiB): {other}"),
    }
}

async fn worker_session<M>(
    opened: Opened,
    ui: &mpsc::Sender<M>,
    out: &mut mpsc::Receiver<WorkerSend>,
    report: &impl Fn(WorkerReport) -> M,
    live: &mut bool,
    max_message: usize,
) -> Ended {
    let Opened { socket, binary } = opened;
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            // What was typed first: a key is written before the socket is read again (a read
            // that finds nothing still zeroes the WebSocket library's read buffer first), and
            // typing cannot hold output back for long.
            biased;
            req = out.recv() => {
                let Some(req) = req else { return Ended::Stop };
                let sent = match req {
                    WorkerSend::Message(msg) => send_json(&mut sink, &msg).await,
                    // The exact bytes: a mouse report past column 95 is not UTF-8.
                    WorkerSend::Input { bytes } if binary => sink
                        .send(Message::Binary(bytes.into()))
                        .await
                        .map_err(|e| Ended::Lost(format!("connection lost: {e}"))),
                    // A gateway without binary frames takes text only.
                    WorkerSend::Input { bytes } => {
                        let data = String::from_utf8_lossy(&bytes).into_owned();
                        send_json(&mut sink, &WorkerClientMsg::Input { data }).await
                    }
                };
                if let Err(ended) = sent {
                    return ended;
                }
            }
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<WorkerServerMsg>(&text) {
                    Ok(m) => {
                        *live |= matches!(m, WorkerServerMsg::History { .. });
                        if ui.send(report(WorkerReport::Message(m))).await.is_err() {
                            return Ended::Stop;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "unparsable worker message"),
                },
                Some(Ok(Message::Binary(frame))) => match controlroom_protocol::decode_output(&frame) {
                    Ok((offset, _)) => {
                        let bytes = frame.slice(controlroom_protocol::OUTPUT_HEADER_LEN..);
                        if ui.send(report(WorkerReport::Output { offset, bytes })).await.is_err() {
                            return Ended::Stop;
                        }
                        // The loop draws it before this task reads the socket again: a read
                        // that finds nothing still zeroes the WebSocket library's read buffer
                        // first (`ws-read-buffer-kib`), which would come before an echo's frame
                        // on the front end's one thread.
                        tokio::task::yield_now().await;
                    }
                    Err(e) => tracing::warn!(error = %e, "unparsable binary worker frame"),
                },
                Some(Ok(Message::Close(frame))) => {
                    let reason = close_reason(frame.as_ref());
                    return if frame.as_ref().is_some_and(|f| u16::from(f.code) == controlroom_protocol::close_code::DELETED) {
                        Ended::Gone("the worker was deleted".into())
                    } else if close_is_final(frame.as_ref()) {
                        Ended::AuthRefused(reason)
                    } else if frame.as_ref().is_some_and(|f| u16::from(f.code) == controlroom_protocol::close_code::SLOW_CONSUMER) {
                        Ended::FellBehind(reason)
                    } else {
                        Ended::Lost(reason)
                    };
                }
                Some(Ok(_)) => {}
                // The same `history` would be too big again on every retry.
                Some(Err(tungstenite::Error::Capacity(e))) => return Ended::Refused(too_big(&e, max_message)),
                Some(Err(e)) => return Ended::Lost(format!("connection lost: {e}")),
                None => return Ended::Lost("connection lost".into()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

    /// A worker socket stand-in that selects `protocol` and hands back the first frame a client
    /// sends.
    async fn recording_worker(protocol: &'static str) -> (String, tokio::sync::oneshot::Receiver<Message>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let Ok((tcp, _)) = listener.accept().await else { return };
            #[allow(clippy::result_large_err)] // tungstenite's callback signature
            let pick = move |_: &Request, mut resp: Response| {
                resp.headers_mut().insert("Sec-WebSocket-Protocol", protocol.parse().expect("header"));
                Ok(resp)
            };
            let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, pick).await else { return };
            if let Some(Ok(first)) = ws.next().await {
                let _ = tx.send(first);
            }
            while ws.next().await.is_some() {}
        });
        (url, rx)
    }

    async fn first_input_frame(protocol: &'static str, bytes: &[u8]) -> Message {
        let (url, first) = recording_worker(protocol).await;
        let (ui, _reports) = mpsc::channel::<ClientEvent>(16);
        let (out, out_rx) = mpsc::channel(16);
        let dial = WorkerDial {
            url: watch::channel(url).1,
            credential: Credential::new("t".into(), None),
            trust: Trust::default(),
            max_message: 1 << 20,
            history: HistoryScope::Full,
            read_buffer: crate::defaults::WS_READ_BUFFER,
        };
        let task = tokio::spawn(worker_task(dial, SessionId::new("s"), WorkerId::new("w"), ui, out_rx));
        // Queued before the socket opens: the task sends it once connected.
        out.try_send(WorkerSend::Input { bytes: bytes.to_vec() }).expect("queued");
        let frame =
            tokio::time::timeout(Duration::from_secs(10), first).await.expect("in time").expect("a frame");
        task.abort();
        frame
    }

    #[tokio::test]
    async fn input_goes_as_a_binary_frame_of_the_exact_bytes() {
        // An X10 mouse report past column 95: 0xE9 alone is not UTF-8.
        let report = b"\x1b[M \xe9#";
        let frame = first_input_frame(controlroom_protocol::BINARY_SUBPROTOCOL, report).await;
        assert_eq!(frame, Message::Binary(report.to_vec().into()));
    }

    #[tokio::test]
    async fn a_gateway_without_binary_frames_gets_json_input() {
        let frame = first_input_frame(controlroom_protocol::SUBPROTOCOL, b"ls\r").await;
        assert_eq!(frame, Message::text(r#"{"type":"input","data":"ls\r"}"#));
    }
}
