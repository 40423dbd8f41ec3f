//! The life of one WebSocket connection, shared by `/ws/app` and worker sockets: a writer that
//! owns the sink and drains the byte-bounded outbox, and a reader loop that handles client
//! messages, heartbeats, malformed input and shutdown, run concurrently in one task.

use crate::api::upgrade::WebSocket;
use crate::auth::scoped::Grant;
use crate::outbox::{OutFrame, OutboxReceiver, OutboxSender};
use controlroom_protocol::close_code;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_util::sync::CancellationToken;

/// How long a close frame may take to go out before the socket is dropped anyway.
const CLOSE_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

pub use crate::api::validate::ClientError;

#[derive(Serialize)]
struct ErrorMsg<'a> {
    r#type: &'static str,
    code: &'a str,
    message: &'a str,
}

/// Encodes the `error` message both endpoints share.
pub fn error_frame(e: &ClientError) -> String {
    serde_json::to_string(&ErrorMsg { r#type: "error", code: e.code, message: &e.message })
        .unwrap_or_default()
}

/// What an endpoint does with the messages of its clients.
pub trait MessageHandler: Send {
    /// Handles one text message.
    fn on_text(&mut self, text: &str) -> impl std::future::Future<Output = Result<(), ClientError>> + Send;

    /// Handles one binary message; endpoints that take none refuse it as malformed.
    fn on_binary(
        &mut self,
        _data: bytes::Bytes,
    ) -> impl std::future::Future<Output = Result<(), ClientError>> + Send {
        std::future::ready(Err(ClientError::malformed("binary frames are not accepted; send JSON text")))
    }
}

/// Fixed facts about one connection.
pub struct ConnSpec {
    /// `app` or `worker`, for logs.
    pub endpoint: &'static str,
    /// Ping period; a ping unanswered by the next one ends the connection.
    pub heartbeat: Duration,
    /// Malformed messages tolerated before closing with 1008.
    pub max_bad_messages: u32,
    /// What the connection's credential allows and until when: it closes with 4001 when the
    /// token expires or its secret is rotated.
    pub grant: Grant,
}

/// Runs a connection until the client leaves, misbehaves, falls behind, or the gateway stops.
pub async fn serve_socket(
    socket: WebSocket,
    outbox: OutboxSender,
    outbox_rx: OutboxReceiver,
    handler: &mut impl MessageHandler,
    spec: ConnSpec,
    shutdown: CancellationToken,
) {
    // Cancelled when this connection's unfinished message pushed the gateway past
    // `--max-inflight-messages`; the socket is no longer read from then.
    let over_budget = socket.get_ref().over_budget();
    let (sink, mut stream) = socket.split();
    let done = CancellationToken::new();
    // The writer is joined with the reader in this task, not spawned: the WebSocket wakes its
    // reader and its writer together on any readiness of the socket, so as two tasks every
    // frame received also woke the idle writer task, and scheduling a second task woke an idle
    // runtime thread, on the critical path of a keystroke's echo. Both halves still make
    // progress independently: the join polls each whenever the task is woken.
    let writer = write_loop(sink, outbox_rx, done.clone(), spec.endpoint);
    let reader = async {
        let mut next_ping = tokio::time::Instant::now() + spec.heartbeat;
        let mut awaiting_pong = false;
        let mut bad = 0u32;
        let expiry = async {
            match spec.grant.remaining() {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(expiry);
        // The owner token is never revoked: a token nobody cancels stands in for it.
        let revoked = spec.grant.revoked.clone().unwrap_or_default();
        // Every wait is made once and polled again on each turn (a cancellation wait or a timer
        // made anew each turn registered and deregistered itself every message: a few thousand
        // instructions per keystroke; BENCHMARKS.md issue 17, branch `gwkey`).
        let ping = tokio::time::sleep_until(next_ping);
        let (cancelled, revoked_wait) = (done.cancelled(), revoked.cancelled());
        let (over_budget_wait, stopping) = (over_budget.cancelled(), shutdown.cancelled());
        tokio::pin!(ping, cancelled, revoked_wait, over_budget_wait, stopping);
        // Set when the server queued a close frame that the writer should get out before ending.
        let mut closing = false;
        loop {
            tokio::select! {
                // In this order: the ends and the heartbeat before the client's next message, so
                // a client that never stops sending cannot hold them off (and no random start).
                biased;
                () = &mut cancelled => break,
                () = &mut expiry => {
                    tracing::info!(reason = "token_expired", endpoint = spec.endpoint, "closing connection");
                    closing = outbox.push(OutFrame::Close { code: close_code::TOKEN_EXPIRED, reason: "token expired" }).is_ok();
                    break;
                }
                () = &mut revoked_wait => {
                    tracing::info!(reason = "token_revoked", endpoint = spec.endpoint, "closing connection");
                    closing = outbox.push(OutFrame::Close { code: close_code::TOKEN_EXPIRED, reason: "token revoked" }).is_ok();
                    break;
                }
                () = &mut over_budget_wait => {
                    tracing::info!(reason = "max_inflight_messages", endpoint = spec.endpoint, "closing connection");
                    metrics::counter!(crate::metrics::TERMINATIONS, "reason" => "max_inflight_messages").increment(1);
                    closing = outbox.push(OutFrame::Close { code: close_code::MESSAGE_TOO_BIG, reason: "too many unfinished messages on the gateway" }).is_ok();
                    break;
                }
                () = &mut stopping => {
                    closing = outbox.push(OutFrame::Close { code: close_code::GOING_AWAY, reason: "gateway stopping" }).is_ok();
                    break;
                }
                () = &mut ping => {
                    next_ping += spec.heartbeat;
                    ping.as_mut().reset(next_ping);
                    if awaiting_pong {
                        tracing::info!(reason = "heartbeat_timeout", endpoint = spec.endpoint, "terminating connection");
                        metrics::counter!(crate::metrics::TERMINATIONS, "reason" => "heartbeat_timeout").increment(1);
                        done.cancel();
                        break;
                    }
                    awaiting_pong = true;
                    let _ = outbox.push(OutFrame::Ping);
                }
                msg = stream.next() => {
                    let Some(msg) = msg else { break };
                    let msg = match msg {
                        Ok(m) => m,
                        Err(e) => {
                            if let Some((code, reason, why)) = close_for(e, spec.endpoint) {
                                tracing::info!(reason = why, endpoint = spec.endpoint, "closing connection");
                                closing = outbox.push(OutFrame::Close { code, reason }).is_ok();
                            }
                            break;
                        }
                    };
                    let handled = async {
                        match msg {
                            Message::Text(text) => Some(handler.on_text(text.as_str()).await),
                            Message::Binary(data) => Some(handler.on_binary(data).await),
                            Message::Pong(_) => { awaiting_pong = false; Some(Ok(())) }
                            Message::Ping(_) => Some(Ok(())),
                            Message::Close(_) => None,
                            // Only produced when writing raw frames, never by reading.
                            Message::Frame(_) => Some(Ok(())),
                        }
                    };
                    // Input waits here for room in the worker's queue while the program is slow
                    // to read: the socket is not read meanwhile (TCP pushes back on the client),
                    // but the writer goes on and the gateway can still stop.
                    let outcome = tokio::select! {
                        biased;
                        () = &mut cancelled => break,
                        () = &mut stopping => {
                            closing = outbox.push(OutFrame::Close { code: close_code::GOING_AWAY, reason: "gateway stopping" }).is_ok();
                            break;
                        }
                        outcome = handled => outcome,
                    };
                    let Some(outcome) = outcome else { break };
                    // A ping due while the socket was not read counts from now: its pong may be
                    // waiting unread behind the input.
                    let now = tokio::time::Instant::now();
                    if now >= next_ping {
                        next_ping = now + spec.heartbeat;
                        ping.as_mut().reset(next_ping);
                    }
                    if let Err(e) = outcome {
                        let _ = outbox.push_text(error_frame(&e).into());
                        if e.malformed {
                            bad += 1;
                            if bad >= spec.max_bad_messages {
                                tracing::info!(reason = "protocol_abuse", endpoint = spec.endpoint, bad, "closing connection");
                                closing = outbox.push(OutFrame::Close { code: close_code::POLICY_VIOLATION, reason: "too many malformed messages" }).is_ok();
                                break;
                            }
                        }
                    }
                }
            }
        }
        // When the server is closing, let the writer send what is queued up to the close frame,
        // bounded in time; when the client left, there is nobody to write to.
        if !closing || tokio::time::timeout(CLOSE_WRITE_TIMEOUT, done.cancelled()).await.is_err() {
            done.cancel();
        }
    };
    tokio::join!(reader, writer);
}

/// The close frame (code, reason, log reason) for a socket error the client caused; `None` when
/// there is nobody to send one to.
fn close_for(
    e: tokio_tungstenite::tungstenite::Error,
    endpoint: &'static str,
) -> Option<(u16, &'static str, &'static str)> {
    use tokio_tungstenite::tungstenite::Error;
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    match e {
        // The client went away without a close frame (a TUI detaching, a closed laptop): an
        // ordinary end of a connection, not a protocol error, and nobody left to close.
        Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            tracing::debug!(endpoint, "client left without a close frame");
            None
        }
        Error::Capacity(_) => Some((close_code::MESSAGE_TOO_BIG, "message too big", "message_too_big")),
        Error::Utf8(_) => {
            Some((close_code::INVALID_PAYLOAD, "text frame is not valid UTF-8", "invalid_utf8"))
        }
        Error::Protocol(_) => {
            Some((close_code::PROTOCOL_ERROR, "WebSocket protocol error", "protocol_error"))
        }
        _ => None,
    }
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: OutboxReceiver,
    done: CancellationToken,
    endpoint: &'static str,
) {
    // Made once, polled on every turn (see the reader's waits).
    let cancelled = done.cancelled();
    tokio::pin!(cancelled);
    loop {
        let frame = tokio::select! {
            biased;
            () = &mut cancelled => break,
            f = rx.recv() => f,
        };
        let Some(frame) = frame else { break };
        // A client over its cap gets the close at once; what it has not read is dropped, except
        // an attach-time snapshot (uncapped, bounded elsewhere): the client resyncs from it.
        // A lossless client the worker gave up on (it stopped reading) is closed with 4009 the
        // same way (the worker logged and counted it).
        let frame = match rx.close_instead(&frame) {
            Some(close) => {
                if matches!(close, OutFrame::Close { code: close_code::SLOW_CONSUMER, .. }) {
                    tracing::warn!(reason = "backpressure_limit", endpoint, "closing slow consumer");
                    metrics::counter!(crate::metrics::TERMINATIONS, "reason" => "backpressure_limit")
                        .increment(1);
                }
                close
            }
            None => frame,
        };
        let (msg, last) = match frame {
            // Bytes to tungstenite's `Utf8Bytes` shares the buffer (no copy); the check always passes,
            // a `TextFrame` being made from a `str`.
            OutFrame::Text(t) => match tokio_tungstenite::tungstenite::Utf8Bytes::try_from(t.into_bytes()) {
                Ok(text) => (Message::Text(text), false),
                Err(e) => {
                    tracing::error!(error = %e, endpoint, "dropped a text frame that was not UTF-8");
                    continue;
                }
            },
            OutFrame::Binary(b) => (Message::Binary(b), false),
            OutFrame::Ping => (Message::Ping(Default::default()), false),
            OutFrame::Close { code, reason } => {
                let frame = CloseFrame { code: code.into(), reason: reason.into() };
                (Message::Close(Some(frame)), true)
            }
        };
        let sent = if last {
            tokio::time::timeout(CLOSE_WRITE_TIMEOUT, sink.send(msg)).await.unwrap_or(Ok(()))
        } else {
            tokio::select! {
                biased;
                () = &mut cancelled => break,
                r = sink.send(msg) => r,
            }
        };
        if sent.is_err() || last {
            break;
        }
    }
    done.cancel();
}
