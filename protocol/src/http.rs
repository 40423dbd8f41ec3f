//! Bodies of the HTTP API (JSON, camelCase).

use crate::{ActivityEntry, Delta, Preset, Session, SourceStatus, WorkerSpec};
use serde::{Deserialize, Serialize};

/// `GET /api/config`: what a client needs to know before connecting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppConfig {
    /// Gateway version.
    pub version: String,
    /// Protocol version (`1`).
    pub protocol: u32,
    /// Identifies the gateway's data (see `SessionsSync::epoch`).
    pub epoch: String,
    /// Route of the session-state socket.
    pub ws_app: String,
    /// Route template of the worker socket.
    pub ws_worker: String,
    /// Route of the socket that creates a session and attaches to it (`/ws/new`); absent from
    /// gateways older than it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ws_new: Option<String>,
    /// How often the poller runs, in milliseconds.
    pub poll_interval_ms: u64,
    /// How often the gateway pings each socket, in milliseconds.
    pub heartbeat_ms: u64,
}

/// `GET /api/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsResponse {
    /// Every session.
    pub sessions: Vec<Session>,
    /// Every worker's activity.
    pub activity_states: Vec<ActivityEntry>,
    /// Health of every configured session source (empty when none are configured).
    #[serde(default)]
    pub sources: Vec<SourceStatus>,
    /// The seq of the last delta this state includes.
    pub seq: u64,
}

/// `POST /api/sessions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSession {
    /// Title.
    pub title: String,
    /// Working directory; defaults to the gateway's home directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Workers to start right away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<Vec<WorkerSpec>>,
    /// Make a git worktree for a new branch (`cwd` must be in a repository) and run the session
    /// in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<WorktreeRequest>,
}

/// `CreateSession.worktree`: the new branch and what it starts from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorktreeRequest {
    /// The branch to create (it must not exist).
    pub branch: String,
    /// What the branch starts from (a branch, tag or commit); default `HEAD` of `cwd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
}

/// `GET /api/sessions/{id}/diff`: the session's changes against its base, as `git diff` prints
/// them (no colour).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffResponse {
    /// The ref the diff is against (`HEAD` for a session that is not a worktree session).
    pub base: String,
    /// The diff text; when truncated it ends with a marker line.
    pub diff: String,
    /// Whether the diff was longer than the gateway's `--max-diff-bytes` and was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// `PATCH /api/sessions/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateSession {
    /// New title.
    pub title: String,
}

/// `PATCH /api/sessions/{id}/workers/{wid}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWorker {
    /// New name, unique within the session.
    pub name: String,
}

/// `POST /api/sessions/{id}/workers/{wid}/input`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InputRequest {
    /// Text to type into the worker.
    pub data: String,
}

/// `POST /api/sessions/{id}/workers/{wid}/reply`: answer the worker's prompt, or type a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplyRequest {
    /// The answer (`1`, `y`) or a line of text; empty sends Enter alone.
    pub text: String,
    /// Send `text` and Enter as typed even when it is one of the prompt's answers (the front
    /// end's `i` line); by default an answer is sent the way its prompt takes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub literal: bool,
}

/// What `POST …/reply` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyResponse {
    /// The question it answered; absent when the worker was not asking with a prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// The bytes written to the program (`1`, `y\r`, `text\r`).
    pub sent: String,
    /// The worker's activity when the reply arrived.
    pub activity_state: crate::ActivityState,
}

/// `POST /api/sessions/{id}/workers/{wid}/auto-answer`: switch the preset's auto-answer on or
/// off for one worker; answers the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoAnswerRequest {
    /// `false` stops the countdown and keeps it off; `true` lets it count again.
    pub enabled: bool,
}

/// `GET /api/sessions/{id}/workers/{wid}/screen`: the current screen as plain text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScreenResponse {
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
    /// Cursor position, `[row, col]`, zero-based.
    pub cursor: [u16; 2],
    /// One string per screen row, trailing blanks trimmed.
    pub lines: Vec<String>,
}

/// `GET /api/deltas?since=SEQ`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeltasResponse {
    /// The deltas after `since`, in order.
    pub deltas: Vec<Delta>,
    /// The seq of the last delta.
    pub seq: u64,
}

/// Every HTTP error body: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// The error.
    pub error: ApiError,
}

/// The error inside `ApiErrorBody`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Machine-readable code (see `error_code`).
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// `GET /api/presets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresetsResponse {
    /// Built-in presets whose command is on the gateway's PATH, then the config's.
    pub presets: Vec<Preset>,
}
