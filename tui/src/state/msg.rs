//! What changes the state ([`Msg`]) and what the state asks of the runtime ([`Effect`], returned in
//! one [`Update`] per message).

use controlroom_protocol::{
    AppServerMsg, CreateSession, Preset, Session, SessionId, Worker, WorkerClientMsg, WorkerId,
    WorkerServerMsg, WorkerSpec,
};
use crossterm::event::{KeyEvent, MouseEvent};
use std::time::{Duration, Instant};

/// Connection events from the `/ws/app` task.
#[derive(Debug, Clone, PartialEq)]
pub enum AppEvent {
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

/// Events from the watched worker's socket task.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerEvent {
    /// A message arrived.
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

/// Results of HTTP requests the runtime made for an [`Effect`].
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    /// A session was created (select it).
    SessionCreated(Session),
    /// A worker was created or restarted (select it and watch it afresh).
    WorkerStarted {
        /// Its session.
        session: SessionId,
        /// The worker.
        worker: Worker,
    },
    /// The gateway's worker presets arrived.
    Presets(Vec<Preset>),
    /// Directories `typed` could continue to (for [`Effect::CompletePath`]).
    PathCompletions {
        /// What the field held when asked.
        typed: String,
        /// Candidates as the user would type them, each ending in `/`.
        candidates: Vec<String>,
    },
    /// `POST …/reply` answered (see [`Effect::Reply`]; boxed: it is large).
    Replied(Box<Replied>),
    /// A session's diff arrived (for the `d` pane).
    Diff {
        /// Whose.
        session: SessionId,
        /// The gateway's answer.
        diff: controlroom_protocol::DiffResponse,
    },
    /// Removing a session's worktree was refused: it would lose uncommitted changes or unmerged
    /// commits (409).
    WorktreeDirty {
        /// The session (still there).
        session: SessionId,
        /// The gateway's message.
        message: String,
    },
    /// Something else succeeded; show this.
    Ok(String),
    /// A request failed; show this.
    Failed(String),
}

/// What a reply ([`Effect::Reply`]) did.
#[derive(Debug, Clone, PartialEq)]
pub struct Replied {
    /// The session.
    pub session: SessionId,
    /// The worker.
    pub worker: WorkerId,
    /// What was asked to be sent.
    pub text: String,
    /// The gateway's answer: the prompt answered and what was typed.
    pub response: controlroom_protocol::ReplyResponse,
}

/// Everything that can change the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// Pasted text.
    Paste(String),
    /// A mouse event at a moment (for double clicks).
    Mouse {
        /// The event.
        event: MouseEvent,
        /// When it happened.
        at: Instant,
    },
    /// The terminal was resized.
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// The clock moved (ages and countdowns).
    Tick {
        /// Wall-clock time.
        now: jiff::Timestamp,
        /// Monotonic time.
        instant: Instant,
    },
    /// From the app socket.
    App(AppEvent),
    /// From a worker socket.
    Worker {
        /// Its session.
        session: SessionId,
        /// The worker.
        worker: WorkerId,
        /// What happened.
        event: WorkerEvent,
    },
    /// A request finished.
    Done(Done),
    /// The first key of a two-key chord waited `chord-timeout-ms` for its second: it does what
    /// it does alone (see [`State::chord_pending`](super::State::chord_pending)).
    ChordTimeout,
}

/// Work for the runtime: requests to make and messages to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// `POST /api/sessions`.
    CreateSession(CreateSession),
    /// `POST /api/sessions/{id}/workers`.
    CreateWorker {
        /// The session.
        session: SessionId,
        /// What to run.
        spec: WorkerSpec,
    },
    /// `PATCH /api/sessions/{id}`.
    RenameSession {
        /// The session.
        session: SessionId,
        /// The new title.
        title: String,
    },
    /// `PATCH /api/sessions/{id}/workers/{wid}`.
    RenameWorker {
        /// The session.
        session: SessionId,
        /// The worker.
        worker: WorkerId,
        /// The new name.
        name: String,
    },
    /// `POST /api/sessions/{id}/workers/{wid}/stop`: the worker stays, exited, and can restart.
    StopWorker {
        /// The session.
        session: SessionId,
        /// The worker.
        worker: WorkerId,
    },
    /// `DELETE /api/sessions/{id}/workers/{wid}`: the worker is gone.
    DeleteWorker {
        /// The session.
        session: SessionId,
        /// The worker.
        worker: WorkerId,
    },
    /// `POST .../restart`.
    RestartWorker {
        /// The session.
        session: SessionId,
        /// The worker.
        worker: WorkerId,
    },
    /// `DELETE /api/sessions/{id}`.
    DeleteSession(SessionId),
    /// Watch this worker's socket instead of the current one (`None`: close it).
    Watch(Option<(SessionId, WorkerId)>),
    /// Send on the watched worker's socket.
    Send(WorkerClientMsg),
    /// Type these exact bytes into the watched worker (a binary frame on its socket: keys,
    /// pastes and mouse reports reach the program byte for byte, UTF-8 or not).
    Input {
        /// The bytes, as a terminal would send them.
        bytes: Vec<u8>,
    },
    /// Send `request-sync` on the app socket.
    RequestSync {
        /// The last seq seen.
        since: Option<u64>,
    },
    /// `GET /api/presets`, for the new-worker dialog.
    LoadPresets,
    /// Switch to the theme with this name.
    Theme(String),
    /// A desktop notification: a worker needs the user (see `attention::notification_bytes`).
    Notify {
        /// Short title.
        title: String,
        /// What happened.
        body: String,
    },
    /// List the directories `typed` could continue to, on this machine (Tab in a form).
    CompletePath {
        /// What the directory field holds.
        typed: String,
    },
    /// Leave the program.
    Quit,
    /// `POST /api/sessions/{id}/workers/{wid}/reply`: answer the worker's prompt or type a line.
    Reply {
        /// The session.
        session: SessionId,
        /// The worker.
        worker: WorkerId,
        /// The answer or line (Enter follows as the gateway decides).
        text: String,
        /// Type `text` and Enter as they are (the `i` line).
        literal: bool,
    },
    /// `POST /api/sessions/{id}/workers/{wid}/auto-answer`.
    AutoAnswer {
        /// The session.
        session: SessionId,
        /// The worker.
        worker: WorkerId,
        /// On or off.
        enabled: bool,
    },
    /// Watch exactly these workers for the wall's tiles (each its own socket, beside the
    /// [`Effect::Watch`]ed one; a worker in both shares one socket). Tiles only read: nothing
    /// is sent on their sockets, so the wall never resizes a worker.
    WatchTiles(Vec<(SessionId, WorkerId)>),
    /// `GET /api/sessions/{id}/diff`, for the diff pane.
    LoadDiff(SessionId),
    /// `DELETE /api/sessions/{id}?removeWorktree=true`: the session, its worktree and branch
    /// (with `force`, even when that loses uncommitted changes or unmerged commits).
    DeleteSessionWorktree {
        /// The session.
        session: SessionId,
        /// Remove even when work is lost (the user confirmed twice).
        force: bool,
    },
    /// Put this text on the outer terminal's clipboard (OSC 52, see
    /// `copy_attach::clipboard_bytes`): a copy in copy mode.
    Clipboard {
        /// The text copied.
        text: String,
    },
}

/// What one [`Msg`] did: the work it asks for and whether the screen must be drawn again.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Update {
    /// Requests and socket sends for the runtime, in order.
    pub effects: Vec<Effect>,
    /// Something visible changed. `false` only for input forwarded to the attached program that
    /// changed nothing on screen: drawing for the keystroke itself would make its echo wait for the
    /// next frame slot (the echo, when it comes, is drawn).
    pub redraw: bool,
}
