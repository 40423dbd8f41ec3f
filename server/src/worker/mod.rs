//! One actor per worker: owns its PTY, its raw output ring and its screen model, and streams
//! output to every attached client.
//!
//! Tasks and threads per worker: the actor task, which owns everything and, for a holder-backed
//! worker (the default), reads and writes the holder's socket itself; its screen model (the lean
//! `term` model fed from a bounded backlog) is applied by a job on the blocking pool while it has
//! work. No thread is the worker's own, except for a PTY in the gateway's process (library
//! tests, benches): a reader thread (blocking reads into a byte-bounded pipe; reaps the child
//! after EOF) and a writer thread (input can block when the program does not read it).
//! Idle detection polls nothing: each actor sets one timer to its tracker's next deadline (see
//! `activity`).

use crate::outbox::OutboxSender;
use controlroom_protocol::{ActivityState, HistoryScope, ScreenResponse};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Notify, watch};

mod activity;
mod actor;
pub(crate) mod answers;
mod auto_answer;
mod config;
pub(crate) mod detect;
pub(crate) mod env;
pub(crate) mod heap;
mod input;
mod pattern;
mod pipe;
mod process;
pub(crate) mod pty;
mod pty_io;
pub(crate) mod ring;
pub(crate) mod screen;
mod scroll_store;
pub(crate) mod size;
pub(crate) mod utf8;

#[cfg(test)]
mod detect_fixtures;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_lossless;
#[cfg(test)]
mod tests_prompts;
#[cfg(test)]
mod tests_replies;
#[cfg(test)]
mod tests_restart;

pub use activity::EvidenceItem;
pub use actor::ActivityInfo;
use actor::Cmd;
pub use config::WorkerConfig;
pub use controlroom_term::{Palette, ReplyConfig, Rgb};
use detect::ActivityRules;
use input::InputBudget;
use size::validate_size;
use tokio::sync::{mpsc, oneshot};

/// What to run.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    /// The worker's id: names its holder's socket (`DATA_DIR/workers/ID.sock`).
    pub key: String,
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
    /// Activity rules of the worker's preset; `None` uses the gateway's.
    pub activity: Option<Arc<ActivityRules>>,
    /// Stream offset of the process's first output byte: 0 for a new worker, where the last
    /// process's output ended for a restart (set by the worker actor). A holder counts its log
    /// from here, so its offsets and the gateway's agree.
    pub offset: u64,
}

/// How a process ended: the protocol's type, shared with the front end.
pub use controlroom_protocol::ExitInfo;

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
    /// The OSC 9/777 notification text it is `asking` with, while it does.
    pub notification: Option<String>,
    /// The prompt it is `asking` with, while one matches its screen.
    pub prompt: Option<controlroom_protocol::WorkerPrompt>,
    /// The process has exited and its holder still waits to hear that the exit is recorded
    /// (the hub sends [`WorkerHandle::ack_exit`] once its store committed it).
    pub exit_unacked: bool,
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

/// How a client wants `output` framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// JSON `output` text frames with UTF-8 `data` (`controlroom.v1`).
    Json,
    /// Binary frames: big-endian offset, then raw bytes (`controlroom.v1.binary`).
    Binary,
}

/// Identifies one attached client within a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientId(pub u64);

/// Errors of worker operations.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The process could not be started.
    #[error("could not start {command}: {message}")]
    Spawn {
        /// The command line.
        command: String,
        /// What went wrong.
        message: String,
    },
    /// The worker has exited; input cannot be delivered.
    #[error("worker has exited")]
    Exited,
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
    /// Limits and timings.
    pub config: Arc<WorkerConfig>,
    /// How processes are started.
    pub backend: Arc<dyn pty::PtyBackend>,
    /// Poked (never awaited) whenever `WorkerStatus` changes.
    pub poke: Arc<Notify>,
}

/// Cheap, cloneable handle to a worker actor. The actor ends on [`WorkerHandle::shutdown`] or
/// when every handle is dropped (a still-running process then gets SIGHUP).
#[derive(Clone)]
pub struct WorkerHandle {
    cmd: mpsc::Sender<Cmd>,
    status: watch::Receiver<WorkerStatus>,
    /// The end offset of the output the actor has taken, stored by the actor after every batch.
    /// Shared rather than a command so the hub's screen-save schedule can see which screens
    /// changed without a round trip to every worker (one relaxed store per batch).
    output_end: Arc<AtomicU64>,
    /// Room in the worker's input queue, waited for before input is sent to the actor (which
    /// never waits).
    input: InputBudget,
    /// Largest width or height a `resize` or restart may ask for (`--max-terminal-size`).
    max_size: u16,
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle").field("status", &*self.status.borrow()).finish()
    }
}

/// Capacity of a worker's command channel.
const CMD_QUEUE: usize = 64;

impl WorkerHandle {
    /// Starts a process in a new PTY and its actor. Must be called within a tokio runtime.
    pub fn spawn(ctx: WorkerContext, spec: SpawnSpec) -> Result<WorkerHandle, WorkerError> {
        validate_size(spec.cols, spec.rows, ctx.config.max_terminal_size)?;
        let max_size = ctx.config.max_terminal_size;
        let (cmd, rx) = mpsc::channel(CMD_QUEUE);
        let input = InputBudget::new(ctx.config.input_queue_bytes);
        let output_end = Arc::new(AtomicU64::new(0));
        let status = actor::spawn_running(
            ctx,
            spec,
            None,
            actor::HandleShared { input: input.clone(), output_end: output_end.clone() },
            rx,
        )?;
        Ok(WorkerHandle { cmd, status, output_end, input, max_size })
    }

    /// Starts `spec`'s process on the backend, without an actor; the hub hands the process to
    /// [`WorkerHandle::spawn_started`]. A spare holder is sent the spec in this call (it never
    /// blocks) and answers on the runtime; any other start (a fork, an exec and its answer)
    /// runs in `spawn_blocking`. Must be called within a tokio runtime.
    pub fn start(ctx: &WorkerContext, spec: SpawnSpec) -> pty::SpawnFuture {
        if let Err(e) = validate_size(spec.cols, spec.rows, ctx.config.max_terminal_size) {
            return Box::pin(std::future::ready(Err(e)));
        }
        if let Some(started) = ctx.backend.spawn_on_runtime(&spec) {
            return started;
        }
        let backend = ctx.backend.clone();
        Box::pin(async move {
            let command = spec.command.join(" ");
            tokio::task::spawn_blocking(move || backend.spawn(&spec))
                .await
                .unwrap_or_else(|e| Err(WorkerError::Spawn { command, message: e.to_string() }))
        })
    }

    /// The actor of a process started with [`WorkerHandle::start`]. Must be called
    /// within a tokio runtime.
    pub fn spawn_started(
        ctx: WorkerContext,
        spec: SpawnSpec,
        process: pty::PtyProcess,
    ) -> Result<WorkerHandle, WorkerError> {
        let max_size = ctx.config.max_terminal_size;
        let (cmd, rx) = mpsc::channel(CMD_QUEUE);
        let input = InputBudget::new(ctx.config.input_queue_bytes);
        let output_end = Arc::new(AtomicU64::new(0));
        let status = actor::spawn_running(
            ctx,
            spec,
            Some(process),
            actor::HandleShared { input: input.clone(), output_end: output_end.clone() },
            rx,
        )?;
        Ok(WorkerHandle { cmd, status, output_end, input, max_size })
    }

    /// An exited worker restored from the store: its screen rebuilt from `history`, no process.
    /// Must be called within a tokio runtime.
    pub fn restore(
        ctx: WorkerContext,
        history: &HistorySnapshot,
        exit: ExitInfo,
        started_at: String,
        activity: Option<Arc<ActivityRules>>,
    ) -> WorkerHandle {
        let max_size = ctx.config.max_terminal_size;
        let (cmd, rx) = mpsc::channel(CMD_QUEUE);
        let input = InputBudget::new(ctx.config.input_queue_bytes);
        let output_end = Arc::new(AtomicU64::new(history.offset));
        let status = actor::spawn_restored(
            ctx,
            history,
            exit,
            started_at,
            activity,
            actor::HandleShared { input: input.clone(), output_end: output_end.clone() },
            rx,
        );
        WorkerHandle { cmd, status, output_end, input, max_size }
    }

    /// A running worker taken over from an earlier gateway: its screen rebuilt from `history`
    /// (the last saved screen) plus the output its holder kept since. Must be called within a
    /// tokio runtime.
    pub fn adopt(
        ctx: WorkerContext,
        history: &HistorySnapshot,
        adopted: pty::Adopted,
        started_at: String,
        activity: Option<Arc<ActivityRules>>,
    ) -> Result<WorkerHandle, WorkerError> {
        let max_size = ctx.config.max_terminal_size;
        let (cmd, rx) = mpsc::channel(CMD_QUEUE);
        let input = InputBudget::new(ctx.config.input_queue_bytes);
        let output_end = Arc::new(AtomicU64::new(history.offset));
        let shared = actor::HandleShared { input: input.clone(), output_end: output_end.clone() };
        let status = actor::spawn_adopted(ctx, history, adopted, Some(started_at), activity, shared, rx)?;
        Ok(WorkerHandle { cmd, status, output_end, input, max_size })
    }

    /// Latest status (watch).
    pub fn status(&self) -> watch::Receiver<WorkerStatus> {
        self.status.clone()
    }

    /// Bytes of output so far (the stream offset after the last batch): grows when the screen
    /// may have changed.
    pub fn output_end(&self) -> u64 {
        self.output_end.load(Ordering::Relaxed)
    }

    async fn call<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Cmd) -> Result<T, WorkerError> {
        let (tx, rx) = oneshot::channel();
        self.cmd.send(make(tx)).await.map_err(|_| WorkerError::Gone)?;
        rx.await.map_err(|_| WorkerError::Gone)
    }

    /// Attaches a client: queues `history`, then output from exactly the snapshot offset, then
    /// live output (and `exit` if/when it exits) into `outbox`, `output` framed as `format`.
    /// Resolves once `history` is queued.
    pub async fn attach(&self, outbox: OutboxSender, format: OutputFormat) -> Result<ClientId, WorkerError> {
        self.attach_with(outbox, format, HistoryScope::Full).await
    }

    /// [`WorkerHandle::attach`] with a `history` of `scope`: [`HistoryScope::Screen`] leaves
    /// the scrollback out (a client that never scrolls back, such as a wall tile).
    pub async fn attach_with(
        &self,
        outbox: OutboxSender,
        format: OutputFormat,
        history: HistoryScope,
    ) -> Result<ClientId, WorkerError> {
        self.call(|reply| Cmd::Attach { outbox, format, history, reply }).await
    }

    /// Detaches a client.
    pub async fn detach(&self, client: ClientId) {
        let _ = self.cmd.send(Cmd::Detach { client }).await;
    }

    /// Types `data`; the PTY size follows the client that typed. Resolves once every byte is
    /// in the worker's input queue, waiting for room as long as the program takes to read (a
    /// piece at a time, so a paste larger than the queue goes in as the program reads it);
    /// never refuses for want of room. Bytes are written in the order they were queued.
    pub async fn input(&self, client: Option<ClientId>, data: Vec<u8>) -> Result<(), WorkerError> {
        let chunk = self.input.chunk();
        if data.len() <= chunk {
            return self.input_chunk(client, data).await;
        }
        for piece in data.chunks(chunk) {
            self.input_chunk(client, piece.to_vec()).await?;
        }
        Ok(())
    }

    /// Queues at most one chunk of input, once it fits.
    async fn input_chunk(&self, client: Option<ClientId>, data: Vec<u8>) -> Result<(), WorkerError> {
        let share = self.input.reserve(data.len()).await.ok_or(WorkerError::Gone)?;
        self.call(|reply| Cmd::Input { client, data, share, reply: Some(reply) }).await?
    }

    /// [`WorkerHandle::input`] for an attached client's own socket: resolves once every byte is
    /// handed to the actor (waiting for room as `input` does), without waiting for its answer;
    /// a refusal (the worker has exited) reaches `client` as an `error` message in its outbox.
    /// So a keystroke wakes its connection task once, not a second time for the actor's answer.
    pub async fn type_keys(&self, client: ClientId, data: Vec<u8>) -> Result<(), WorkerError> {
        let chunk = self.input.chunk();
        let mut rest = data;
        loop {
            let piece = if rest.len() > chunk { rest.split_off(chunk) } else { Vec::new() };
            let data = std::mem::replace(&mut rest, piece);
            let share = self.input.reserve(data.len()).await.ok_or(WorkerError::Gone)?;
            let cmd = Cmd::Input { client: Some(client), data, share, reply: None };
            self.cmd.send(cmd).await.map_err(|_| WorkerError::Gone)?;
            if rest.is_empty() {
                return Ok(());
            }
        }
    }

    /// Records a client's size and resizes the PTY to it.
    pub async fn resize(&self, client: Option<ClientId>, cols: u16, rows: u16) -> Result<(), WorkerError> {
        validate_size(cols, rows, self.max_size)?;
        self.call(|reply| Cmd::Resize { client, cols, rows, reply }).await?
    }

    /// The screen as plain text.
    pub async fn screen(&self) -> Result<ScreenResponse, WorkerError> {
        self.call(|reply| Cmd::Screen { reply }).await
    }

    /// The activity state and the evidence behind it.
    pub async fn activity(&self) -> Result<ActivityInfo, WorkerError> {
        self.call(|reply| Cmd::Activity { reply }).await
    }

    /// A history snapshot (for persistence).
    pub async fn history(&self) -> Result<HistorySnapshot, WorkerError> {
        self.call(|reply| Cmd::History { reply }).await
    }

    /// Starts the process again with `spec` (same id, new pid); errors if still running. With
    /// `exit_recorded` the caller has committed the last exit to the store; without, a last exit
    /// whose holder still keeps it refuses the restart (the holder would forget an exit nothing
    /// recorded).
    pub async fn restart(&self, spec: SpawnSpec, exit_recorded: bool) -> Result<(), WorkerError> {
        validate_size(spec.cols, spec.rows, self.max_size)?;
        self.call(|reply| Cmd::Restart { spec, exit_recorded, reply }).await?
    }

    /// SIGHUP to the process group, SIGKILL after the grace period; returns once exited.
    pub async fn stop(&self) {
        let _ = self.call(|reply| Cmd::Stop { reply }).await;
    }

    /// The worker's exit is committed to the store: its holder may forget it and end. Never
    /// waits (a full queue is retried with the next commit: the status still says unacked).
    pub fn ack_exit(&self) {
        let _ = self.cmd.try_send(Cmd::AckExit);
    }

    /// A committed screen save covers the worker's output up to stream offset `offset`: its
    /// holder may drop what it kept before it. Never waits (a full queue skips it: the next
    /// save says it again).
    pub fn screen_saved(&self, offset: u64) {
        let _ = self.cmd.try_send(Cmd::Saved { offset });
    }

    /// Closes every attached client with `code` and ends the actor (process must be stopped).
    pub async fn shutdown(&self, code: u16, reason: &'static str) {
        let _ = self.call(|reply| Cmd::Shutdown { code, reason, reply }).await;
    }

    /// Switches its preset's auto-answer on or off (off also stops a running countdown).
    pub async fn set_auto_answer(&self, enabled: bool) -> Result<(), WorkerError> {
        self.call(|reply| Cmd::AutoAnswer { enabled, reply }).await
    }
}
