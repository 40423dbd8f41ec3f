//! The controlroom wire contract: serde types for every HTTP body and WebSocket message.
//!
//! Nothing here does I/O. The gateway (`server`), the front end (`tui`) and the end-to-end tests all
//! speak through these types, and `docs/protocol.md` documents them field by field.

mod app;
mod binary;
mod http;
mod ids;
mod model;
mod worker;

pub use app::{AppClientMsg, AppServerMsg, Delta, DeltaEvent, Replay, SessionsSync};
pub use binary::{BINARY_SUBPROTOCOL, OUTPUT_HEADER_LEN, ShortFrame, decode_output, encode_output};
pub use http::{
    ApiError, ApiErrorBody, AppConfig, CreateSession, DeltasResponse, DiffResponse, InputRequest,
    PresetsResponse, ScreenResponse, SessionsResponse, UpdateSession, UpdateWorker, WorktreeRequest,
};
pub use http::{AutoAnswerRequest, ReplyRequest, ReplyResponse};
pub use ids::{SessionId, WorkerId};
pub use model::{
    ActivityEntry, ActivityReport, ActivityState, Evidence, GATEWAY_STOPPED, HOLDER_INCOMPATIBLE, Preset,
    Session, SessionGit, SourceStatus, WORKER_LOST, WORKER_STOPPED, Worker, WorkerKind, WorkerSpec,
    WorkerState,
};
pub use model::{AutoAnswer, WorkerPrompt};
pub use worker::{ExitInfo, WorkerClientMsg, WorkerServerMsg};

/// The protocol version announced by `GET /api/config` (`protocol`).
pub const PROTOCOL_VERSION: u32 = 1;

/// The WebSocket subprotocol a client offers and the gateway selects.
pub const SUBPROTOCOL: &str = "controlroom.v1";

/// Prefix of the second subprotocol a browser client offers to carry its token (`bearer.<token>`).
pub const BEARER_SUBPROTOCOL_PREFIX: &str = "bearer.";

/// Route of the live session-state socket.
pub const WS_APP_PATH: &str = "/ws/app";

/// Route template of a worker's terminal socket.
pub const WS_WORKER_PATH: &str = "/ws/session/{sessionId}/worker/{workerId}";

/// Route of the socket that creates a session and attaches to its first worker in one exchange
/// (the new worker's first output without a second connection).
pub const WS_NEW_PATH: &str = "/ws/new";

/// The query parameter of [`WS_NEW_PATH`] that carries the new session: the JSON body
/// `POST /api/sessions` takes, percent-encoded.
pub const SESSION_PARAM: &str = "session";

/// Smallest and largest terminal dimension accepted in `resize` and worker specs by default
/// (a gateway's `--max-terminal-size` sets the largest).
pub const TERMINAL_DIM_RANGE: std::ops::RangeInclusive<u16> = 1..=1000;

/// Largest decoded image accepted by the worker socket's `image` message.
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;

/// Image types the worker socket's `image` message accepts.
pub const IMAGE_MIME_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// WebSocket close codes the gateway uses, beyond the standard ones.
pub mod close_code {
    /// The gateway is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// The client broke the WebSocket framing rules (e.g. an unmasked frame).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text frame that is not valid UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// Too many malformed messages, or a message on the wrong endpoint.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A message exceeded the size limit.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The connection's scoped token expired, or its secret was rotated (`controlroom token
    /// --rotate`); clients show "token expired" and need a new token.
    pub const TOKEN_EXPIRED: u16 = 4001;
    /// The session or worker was deleted while the socket was attached.
    pub const DELETED: u16 = 4004;
    /// The client did not read fast enough; its outbound queue passed the byte cap.
    pub const SLOW_CONSUMER: u16 = 4008;
    /// A lossless client (`?delivery=lossless`) held its worker's output back and took nothing
    /// from its queue for `--lossless-stall-timeout`; the worker runs on without it.
    pub const LOSSLESS_STALLED: u16 = 4009;
}

/// The worker socket's query parameter that chooses how output reaches a client that reads
/// slower than the program prints: `?delivery=lossless` or `?delivery=default` (the same as
/// leaving it out).
pub const DELIVERY_PARAM: &str = "delivery";

/// How a worker's output reaches one client (the worker socket's `delivery` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// The client never holds the worker back: past `--max-client-buffer` of unread output it
    /// is closed with 4008 and resyncs from a fresh `history`.
    #[default]
    Default,
    /// Every byte, in order: while the client's queue is full the worker stops taking output
    /// (its program blocks on write) until the client reads. Write-scoped tokens only.
    Lossless,
}

impl Delivery {
    /// The query value for this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Lossless => "lossless",
        }
    }

    /// Parses a `delivery` query value; `None` for anything but `default` or `lossless`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "default" => Some(Self::Default),
            "lossless" => Some(Self::Lossless),
            _ => None,
        }
    }
}

/// The worker socket's query parameter that chooses how much the opening `history` redraws:
/// `?history=screen` (the screen only, no scrollback rows: a wall tile shows nothing else) or
/// `?history=full` (the same as leaving it out).
pub const HISTORY_PARAM: &str = "history";

/// How much of a worker the opening `history` carries (the worker socket's `history` query
/// parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HistoryScope {
    /// The scrollback (up to the gateway's `--scrollback`) and then the screen.
    #[default]
    Full,
    /// The screen only: a client that never scrolls back (a wall tile) is spared the
    /// scrollback, which can be MiBs for a busy worker.
    Screen,
}

impl HistoryScope {
    /// The query value for this scope.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Screen => "screen",
        }
    }

    /// Parses a `history` query value; `None` for anything but `full` or `screen`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "full" => Some(Self::Full),
            "screen" => Some(Self::Screen),
            _ => None,
        }
    }
}

/// Machine-readable `code` values used in error messages and HTTP error bodies.
pub mod error_code {
    /// The message was not valid JSON or not a known message shape.
    pub const BAD_MESSAGE: &str = "bad-message";
    /// A field had a value outside its allowed range.
    pub const INVALID: &str = "invalid";
    /// Authentication failed.
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// The request was refused (Origin, Host, or scope).
    pub const FORBIDDEN: &str = "forbidden";
    /// No such session or worker.
    pub const NOT_FOUND: &str = "not-found";
    /// The worker has exited; input cannot be delivered.
    pub const WORKER_EXITED: &str = "worker-exited";
    /// `since` is older than the delta log keeps.
    pub const GONE: &str = "gone";
    /// The gateway could not complete the request.
    pub const INTERNAL: &str = "internal";
    /// A limit was reached.
    pub const LIMIT: &str = "limit";
    /// The session comes from a source and cannot be changed through the gateway.
    pub const READ_ONLY: &str = "read-only";
    /// The request would lose work (a worktree with uncommitted changes); repeat it with
    /// `force=true` to go ahead.
    pub const CONFLICT: &str = "conflict";
}

#[cfg(test)]
mod tests;
