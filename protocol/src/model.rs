//! The session and worker model shared by the HTTP API, the deltas and the store.

use crate::{SessionId, WorkerId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A session: a titled group of workers sharing a working directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// Stable id.
    pub id: SessionId,
    /// Human title, unique prefixes of which clients may use to name it.
    pub title: String,
    /// Working directory new workers start in.
    pub cwd: String,
    /// Repository the cwd belongs to (remote `origin` URL, else the repository folder name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Checked-out branch of that repository (or a short commit id when detached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// ISO-8601 creation time.
    pub created_at: String,
    /// ISO-8601 time of the last change to anything in this record.
    pub updated_at: String,
    /// The session's workers, in creation order.
    pub workers: Vec<Worker>,
    /// Name of the `[[sources]]` entry this session comes from; absent for local sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Status reported by the source (e.g. `open`, `running`); absent for local sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Sessions read from a source cannot be renamed, deleted or given workers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// The cwd's git state against the session's base (absent outside a repository, and until
    /// the gateway's first count of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<SessionGit>,
}

/// A session's git state, counted against its base: the ref a worktree session's branch was
/// made from, or `HEAD` for a session that only runs in a repository (then only uncommitted
/// changes count). Changes are the merge base's tree against the working tree (tracked files:
/// committed and uncommitted work on the branch).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionGit {
    /// Checked-out branch (or a short commit id when detached).
    pub branch: String,
    /// Whether the gateway made this worktree for the session (`--worktree`).
    pub worktree: bool,
    /// Commits on the branch that are not on the base.
    pub ahead: u32,
    /// Commits on the base that are not on the branch.
    pub behind: u32,
    /// Files changed since the merge base.
    pub changed_files: u32,
    /// Lines added since the merge base.
    pub insertions: u32,
    /// Lines removed since the merge base.
    pub deletions: u32,
}

/// What a worker runs, which decides how clients present it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkerKind {
    /// An interactive shell.
    #[default]
    Shell,
    /// An AI coding agent CLI.
    Agent,
    /// A build, test run or other job that is expected to finish.
    Job,
}

/// Whether a worker's process is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkerState {
    /// The process is running.
    Running,
    /// The process has exited (or the gateway stopped while it ran).
    Exited,
}

/// One PTY process inside a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Worker {
    /// Stable id, kept across restarts of the process.
    pub id: WorkerId,
    /// Human name, unique within the session.
    pub name: String,
    /// What the worker runs.
    pub kind: WorkerKind,
    /// argv of the process.
    pub command: Vec<String>,
    /// Working directory of the process.
    pub cwd: String,
    /// Running or exited.
    pub state: WorkerState,
    /// Exit code once exited normally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Signal name once killed by a signal, or `gateway-stopped` when the gateway stopped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// Process id while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Terminal columns.
    pub cols: u16,
    /// Terminal rows.
    pub rows: u16,
    /// ISO-8601 time the current process started.
    pub started_at: String,
    /// The preset the worker was started from, if any (its activity patterns apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// The text of the OSC 9/777 notification the worker is `asking` with, while it asks
    /// because of one (gone once it is answered, looked at, or asks for another reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<String>,
    /// The prompt the worker is `asking` with, while a prompt pattern matches its screen: the
    /// question, the keys it takes and any auto-answer counting down (boxed: most workers have
    /// none, and a `Worker` is moved around often).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<Box<WorkerPrompt>>,
}

/// The prompt a worker is `asking` with (`Worker.prompt`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerPrompt {
    /// The question line that matched, with a numbered menu's choices after it
    /// (`Do you want to proceed? ❯ 1. Yes  2. No`).
    pub question: String,
    /// The answers the prompt takes (`["1","2","3"]`, `["y","n"]`); empty when no preset says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<String>,
    /// Whether an answer is followed by Enter (`y⏎` for `[y/N]`); a menu takes the key alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enter: bool,
    /// The preset's auto-answer for this prompt, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_answer: Option<AutoAnswer>,
}

/// A preset's `auto-answer` for the prompt on screen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoAnswer {
    /// The answer it sends (`1`).
    pub answer: String,
    /// The preset's `auto-answer-delay-ms`.
    pub delay_ms: u64,
    /// ISO-8601 time it answers, while it counts down; absent once cancelled (a client typed or
    /// attached) or while switched off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Switched off for this worker (`POST …/auto-answer {"enabled": false}`, `a`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub off: bool,
}

/// The value of `signal` for workers that were running when the gateway stopped.
pub const GATEWAY_STOPPED: &str = "gateway-stopped";

/// The value of `signal` for workers stopped on request (`x` in the front end,
/// `POST …/workers/{wid}/stop`, `controlroom stop`): whatever ended the program, it was asked to,
/// so it is neither a failure nor an exit of its own.
pub const WORKER_STOPPED: &str = "stopped";

/// The value of `signal` for workers whose holder process was gone when the gateway started
/// (a reboot, or the holder was killed): the program is gone; `restart` resumes the worker.
pub const WORKER_LOST: &str = "lost";

/// The value of `signal` for workers whose holder speaks a holder protocol this gateway does
/// not: the program may still run (it is not killed); see the gateway log for the holder's pid.
pub const HOLDER_INCOMPATIBLE: &str = "holder-incompatible";

/// What a client asks for when it adds a worker; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkerSpec {
    /// Name; defaults to the program name, made unique within the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Kind; defaults to `shell`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<WorkerKind>,
    /// argv; defaults to `$SHELL` or `/bin/sh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Working directory; defaults to the session's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Extra environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    /// Initial columns (1..=1000, default 80).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cols: Option<u16>,
    /// Initial rows (1..=1000, default 24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u16>,
    /// A preset (`GET /api/presets`) supplying command, kind, env and activity patterns; fields
    /// given here win over the preset's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
}

/// How busy a worker is, as judged by the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActivityState {
    /// Not yet known (no output seen).
    #[default]
    Unknown,
    /// Output is flowing.
    Active,
    /// Quiet for a while.
    Idle,
    /// Waiting for the user (a prompt on screen, a notification or a bell).
    Asking,
    /// The process has exited.
    Exited,
}

/// One worker's activity, as carried in `activityStates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityEntry {
    /// The worker's session.
    pub session_id: SessionId,
    /// The worker.
    pub worker_id: WorkerId,
    /// Its current activity.
    pub activity_state: ActivityState,
}

/// One piece of evidence behind a worker's activity state, strongest kinds first: `signal`
/// (OSC 9/777 notification, bell, title), `screen` (a prompt pattern on the last lines), `rate`
/// (output chunks per window), `silence`, `input`, `exit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// `signal`, `screen`, `rate`, `silence`, `input`, `exit` or `start`.
    pub kind: String,
    /// What was seen, e.g. `pattern "Do you want to.*\\?" matched "Do you want to proceed?"`.
    pub detail: String,
    /// When it was seen (ISO-8601).
    pub at: String,
}

/// `GET /api/sessions/{id}/workers/{wid}/activity`: a worker's state and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityReport {
    /// The worker's session.
    pub session_id: SessionId,
    /// The worker.
    pub worker_id: WorkerId,
    /// Its current activity.
    pub state: ActivityState,
    /// When it entered that state (ISO-8601); absent if it never changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// The evidence that chose the state, most recent first.
    pub evidence: Vec<Evidence>,
    /// The preset whose patterns apply, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// The last lines of the screen the detector looked at.
    pub screen_tail: Vec<String>,
    /// The terminal title the program set, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// A way to start a worker, as listed by `GET /api/presets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preset {
    /// Name to pass as `WorkerSpec.preset`.
    pub name: String,
    /// argv; empty means the gateway's default shell.
    pub command: Vec<String>,
    /// Kind of the workers it starts.
    pub kind: WorkerKind,
    /// `builtin` or `config`.
    pub origin: String,
    /// Arguments appended to a worker's command when it is restarted after it was `lost` (its
    /// holder gone, e.g. a reboot), so an agent resumes instead of starting afresh (built-in:
    /// claude `--continue`, codex `resume --last`, aider `--restore-chat-history`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resume_args: Vec<String>,
}

/// The health of one `[[sources]]` entry, as carried in `sources` and `source-updated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceStatus {
    /// The source's name.
    pub name: String,
    /// `http` or `command`.
    pub kind: String,
    /// Whether its last read succeeded.
    pub ok: bool,
    /// Why the last read failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When a read last succeeded (ISO-8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
    /// Sessions it currently provides.
    pub session_count: usize,
}
