//! What the socket tasks report to the front end, and what it sends on a worker socket: the
//! client's own types, so `client/` knows nothing of the state; the runtime maps reports into
//! state messages.

use controlroom_protocol::{AppServerMsg, SessionId, WorkerClientMsg, WorkerId, WorkerServerMsg};
use std::time::{Duration, Instant};

/// One report from a socket task.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// From the `/ws/app` task.
    App(AppReport),
    /// From the watched worker's task.
    Worker {
        /// Its session.
        session: SessionId,
        /// The worker.
        worker: WorkerId,
        /// What happened.
        report: WorkerReport,
    },
}

/// What happened on `/ws/app`.
#[derive(Debug, Clone, PartialEq)]
pub enum AppReport {
    /// The socket is open.
    Connected {
        /// The gateway's base URL (it may change when re-read from `gateway.json`).
        url: String,
    },
    /// A message arrived (boxed: a sync is large).
    Message(Box<AppServerMsg>),
    /// A heartbeat round trip completed.
    Rtt(Duration),
    /// The socket closed or could not open; retrying at `retry_at`.
    Disconnected {
        /// Short reason.
        reason: String,
        /// Next attempt number.
        attempt: u32,
        /// When the next attempt starts.
        retry_at: Instant,
    },
    /// The token was refused; the task has stopped.
    AuthFailed(String),
}

/// What happened on the watched worker's socket.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerReport {
    /// A JSON message arrived.
    Message(WorkerServerMsg),
    /// A binary `output` frame arrived (`controlroom.v1.binary`): raw bytes at `offset`.
    Output {
        /// Stream offset of the first byte.
        offset: u64,
        /// The raw PTY bytes.
        bytes: bytes::Bytes,
    },
    /// The socket closed; the task retries.
    Lost(String),
    /// The worker or session is gone; the task has stopped.
    Gone(String),
}

/// Something to send on the watched worker's socket, in the order queued (a paste keeps its
/// place among the keys around it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerSend {
    /// A JSON message (`resize`, `image`).
    Message(WorkerClientMsg),
    /// Input: sent as a binary frame of exactly these bytes when the gateway selected
    /// `controlroom.v1.binary`, else as a JSON `input` (which can only carry UTF-8).
    Input {
        /// The bytes to type.
        bytes: Vec<u8>,
    },
}
