//! Messages of `/ws/session/{sessionId}/worker/{workerId}`, one worker's terminal socket.

use serde::{Deserialize, Serialize};

/// How a worker's process ended: the fields of the `exit` message, and what the gateway and the
/// front end both keep about it (one type, so the two sides cannot drift apart).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExitInfo {
    /// Exit code, when it exited normally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Signal name when killed (e.g. `SIGKILL`), or `gateway-stopped` after a gateway restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
}

impl ExitInfo {
    /// "exited with code 0" / "killed by SIGKILL" / "stopped with the gateway".
    pub fn describe(&self) -> String {
        match (&self.exit_code, &self.signal) {
            (Some(c), _) => format!("exited with code {c}"),
            (None, Some(s)) if s == crate::GATEWAY_STOPPED => "stopped with the gateway".into(),
            (None, Some(s)) if s == crate::WORKER_STOPPED => "stopped on request".into(),
            (None, Some(s)) => format!("killed by {s}"),
            (None, None) => "exited".into(),
        }
    }
}

impl From<ExitInfo> for WorkerServerMsg {
    /// The `exit` message for a process that ended this way.
    fn from(exit: ExitInfo) -> Self {
        WorkerServerMsg::Exit { exit_code: exit.exit_code, signal: exit.signal }
    }
}

/// Server → client messages on a worker socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", rename_all_fields = "camelCase")]
pub enum WorkerServerMsg {
    /// Sent first on a socket that created its session (`/ws/new`), before `history`: the
    /// session as `POST /api/sessions` answers it (stored, so it survives a gateway restart) and
    /// the worker this socket is attached to (its first).
    Created {
        /// The new session.
        session: Box<crate::Session>,
        /// The worker this socket shows.
        worker_id: crate::WorkerId,
    },
    /// Sent first: terminal output that redraws the screen and recent scrollback.
    History {
        /// Terminal output (escape sequences included) that reproduces the worker's screen.
        data: String,
        /// Terminal columns.
        cols: u16,
        /// Terminal rows.
        rows: u16,
        /// Byte position in the worker's output stream this snapshot reflects; the next
        /// `output` starts exactly there.
        offset: u64,
    },
    /// Output as it arrives.
    Output {
        /// Terminal output, valid UTF-8 (a character split across reads is carried over).
        data: String,
        /// Byte position in the worker's output stream of the first byte of `data`.
        offset: u64,
    },
    /// Output the gateway could not recover: bytes the program printed while no gateway ran,
    /// beyond the holder's log bound (`--holder-log`). The next `output` starts at
    /// `offset + bytes`; never sent for bytes that were merely slow.
    Gap {
        /// How many bytes are missing.
        bytes: u64,
        /// Stream offset of the first missing byte.
        offset: u64,
    },
    /// The process exited; sent after all of its output.
    Exit {
        /// Exit code, when it exited normally.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        /// Signal name, when killed by a signal (`gateway-stopped` after a gateway stopped with
        /// `--stop-workers-on-exit`, `lost` when its holder was gone, e.g. after a reboot).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<String>,
    },
    /// A message from the client was refused; the connection stays open.
    Error {
        /// Machine-readable code (see `error_code`).
        code: String,
        /// Human-readable explanation.
        message: String,
    },
}

/// Client → server messages on a worker socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum WorkerClientMsg {
    /// Bytes to type into the worker.
    Input {
        /// The text, as the terminal would send it (escape sequences included).
        data: String,
    },
    /// The client's terminal size (1..=1000 each).
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// An image to hand to the worker: saved under the data dir, its path typed in.
    Image {
        /// Base64 of the image bytes (at most 10 MiB decoded).
        data: String,
        /// One of `image/png`, `image/jpeg`, `image/gif`, `image/webp`.
        mime_type: String,
    },
}
