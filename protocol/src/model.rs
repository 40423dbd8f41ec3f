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
}

/// The value of `signal` for workers that were running when the gateway stopped.
pub const GATEWAY_STOPPED: &str = "gateway-stopped";

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
    /// Waiting for the user (a prompt or notification).
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
