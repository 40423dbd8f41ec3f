//! The socket tasks: one for `/ws/app` (`app`), one per watched worker (`worker`). Each owns
//! its socket, retries with backoff, and reports into the UI loop as
//! [`ClientEvent`](super::events::ClientEvent)s (the loop's message type only has to be made from
//! one); the UI never waits on a socket. What both share is here: how a connected stretch ended,
//! the wait before a retry, and sending one JSON message.

mod app;
mod worker;

pub use app::{Target, app_task};
pub use worker::{WorkerDial, worker_task};

use futures_util::SinkExt;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// How one connected stretch of a socket ended.
enum Ended {
    /// The UI is gone or asked to stop.
    Stop,
    /// Lost; retry.
    Lost(String),
    /// Closed for falling behind live output (4008): a reconnect resyncs from a fresh `history`.
    FellBehind(String),
    /// Gone for good (the worker was deleted).
    Gone(String),
    /// The token was refused (401, or closed with 4001): a token rotated since is re-read.
    AuthRefused(String),
    /// Refused for good (a certificate, a message over the cap); retrying cannot help.
    Refused(String),
}

/// Waits out a backoff delay; `false` when the UI has gone (stop). Requests queued while
/// disconnected are dropped: a reconnect resyncs anyway.
async fn wait_to_retry<M, T>(delay: Duration, ui: &mpsc::Sender<M>, out: &mut mpsc::Receiver<T>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = ui.closed() => return false,
    }
    while out.try_recv().is_ok() {}
    true
}

/// Encodes one client message and sends it; `Err` says the connection is lost.
async fn send_json<S>(sink: &mut S, msg: &impl serde::Serialize) -> Result<(), Ended>
where
    S: futures_util::Sink<Message> + Unpin,
    S::Error: std::fmt::Display,
{
    match serde_json::to_string(msg) {
        Ok(text) => {
            sink.send(Message::text(text)).await.map_err(|e| Ended::Lost(format!("connection lost: {e}")))
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot encode a client message");
            Ok(())
        }
    }
}
