//! One actor per worker: owns its PTY, its raw output ring and its screen model, and streams
//! output to every attached client. (INTERFACE DRAFT — the bodies are being written.)

use crate::outbox::OutboxSender;
use controlroom_protocol::{ActivityState, ScreenResponse};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

pub mod pty;

/// Limits and timings of every worker; each has a `serve` flag.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Bytes of formatted scrollback lines kept per worker (compact ring).
    pub scrollback_bytes: usize,
    /// Bytes of raw output kept per worker for catch-up after a snapshot; also bounds the
    /// backlog of output not yet applied to the screen model.
    pub output_ring_bytes: usize,
    /// Largest output message (bytes) before a batch is flushed.
    pub batch_bytes: usize,
    /// How long a stopped worker has between SIGHUP and SIGKILL.
    pub stop_grace: Duration,
    /// Silence after which an active worker becomes idle.
    pub idle_after: Duration,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    /// argv; never empty.
    pub command: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitInfo {
    /// Exit code when it exited normally.
    pub exit_code: Option<i32>,
    /// Signal name when killed (e.g. "SIGKILL"), or `gateway-stopped`.
    pub signal: Option<String>,
}

/// A worker's latest state, published on a watch channel; the hub reads it when poked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerStatus {
    /// Pid while running.
    pub pid: Option<u32>,
    /// `None` while running.
    pub exit: Option<ExitInfo>,
    /// ISO-8601 start time of the current process.
    pub started_at: String,
    /// Current PTY size.
    pub cols: u16,
    /// Current PTY size.
    pub rows: u16,
    /// Current activity.
    pub activity: ActivityState,
}

/// A snapshot for a new client or for persistence.
#[derive(Debug, Clone)]
pub struct HistorySnapshot {
    /// Terminal output that redraws scrollback and screen.
    pub data: String,
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
    /// Stream offset the snapshot reflects.
    pub offset: u64,
}

/// Identifies one attached client within a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientId(pub u64);

/// Errors of worker operations.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The process could not be started.
    #[error("could not start {command}: {message}")]
    Spawn { command: String, message: String },
    /// The worker has exited; input cannot be delivered.
    #[error("worker has exited")]
    Exited,
    /// The worker's input queue is full (the program is not reading its input).
    #[error("worker input queue is full")]
    InputFull,
    /// The actor is gone (worker deleted or gateway stopping).
    #[error("worker is gone")]
    Gone,
    /// Bad argument.
    #[error("{0}")]
    Invalid(String),
}

/// Shared context every worker gets from the gateway.
#[derive(Clone)]
pub struct WorkerContext {
    pub config: Arc<WorkerConfig>,
    pub backend: Arc<dyn pty::PtyBackend>,
    /// Poked (never awaited) whenever `WorkerStatus` changes.
    pub poke: Arc<Notify>,
}

/// Cheap, cloneable handle to a worker actor.
#[derive(Clone)]
pub struct WorkerHandle { /* cmd sender, status receiver */ }

impl WorkerHandle {
    /// Starts a process in a new PTY and its actor.
    pub fn spawn(_ctx: WorkerContext, _spec: SpawnSpec) -> Result<WorkerHandle, WorkerError> { todo!() }
    /// An exited worker restored from the store: its screen rebuilt from `history`, no process.
    pub fn restore(_ctx: WorkerContext, _history: &HistorySnapshot, _exit: ExitInfo, _started_at: String) -> WorkerHandle { todo!() }
    /// Latest status (watch).
    pub fn status(&self) -> watch::Receiver<WorkerStatus> { todo!() }
    /// Attaches a client: queues `history`, then output from exactly the snapshot offset, then
    /// live output (and `exit` if/when it exits) into `outbox`.
    pub async fn attach(&self, _outbox: OutboxSender) -> Result<ClientId, WorkerError> { todo!() }
    /// Detaches a client.
    pub async fn detach(&self, _client: ClientId) { todo!() }
    /// Types `data`; the PTY size follows the client that typed.
    pub async fn input(&self, _client: Option<ClientId>, _data: Vec<u8>) -> Result<(), WorkerError> { todo!() }
    /// Records a client's size and resizes the PTY to it.
    pub async fn resize(&self, _client: Option<ClientId>, _cols: u16, _rows: u16) -> Result<(), WorkerError> { todo!() }
    /// The screen as plain text.
    pub async fn screen(&self) -> Result<ScreenResponse, WorkerError> { todo!() }
    /// A history snapshot (for persistence).
    pub async fn history(&self) -> Result<HistorySnapshot, WorkerError> { todo!() }
    /// Starts the process again with `spec` (same id, new pid); errors if still running.
    pub async fn restart(&self, _spec: SpawnSpec) -> Result<(), WorkerError> { todo!() }
    /// SIGHUP to the process group, SIGKILL after the grace period; returns once exited.
    pub async fn stop(&self) { todo!() }
    /// Closes every attached client with `code` and ends the actor (process must be stopped).
    pub async fn shutdown(&self, _code: u16, _reason: &'static str) { todo!() }
}
