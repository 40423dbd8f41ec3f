//! One actor per worker: owns its PTY, its raw output ring and its screen model, and streams
//! output to every attached client.
//!
//! Tasks and threads per worker: the actor task, which owns everything and, for a holder-backed
//! worker (the default), reads and writes the holder's socket itself; its screen model (the lean
//! `term` model fed from a bounded backlog) is applied by a job on the blocking pool while it has
//! work. No thread is the worker's own, except for a PTY in the gateway's process (library
//! tests, benches): a reader thread (blocking reads into a byte-bounded pipe; reaps the child
//! after EOF) and a writer thread (input can block when the program does not read it).
//! Idle detection uses one process-wide ticker (see `activity`), not a timer per worker.

use crate::flag_values;
use crate::outbox::OutboxSender;
use controlroom_protocol::{ActivityState, HistoryScope, ScreenResponse};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, watch};

mod activity;
mod actor;
pub(crate) mod answers;
mod auto_answer;
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
pub use controlroom_term::{Palette, ReplyConfig, Rgb};
use detect::ActivityRules;
use input::InputBudget;
use size::validate_size;
use tokio::sync::{mpsc, oneshot};

/// Limits and timings of every worker; each has a `serve` flag (`controlroom serve` flattens this
/// struct, so the flag, its variable and its default are written here once).
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerConfig {
    /// Formatted scrollback kept per worker.
    #[arg(
        long = "scrollback",
        env = "CONTROLROOM_SCROLLBACK",
        value_name = "SCROLLBACK",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(Self::DEFAULT_SCROLLBACK_BYTES)
    )]
    pub scrollback_bytes: usize,
    /// Most raw output kept per worker for an attaching client's catch-up after its snapshot
    /// (kept only while a snapshot is pending; at most a screen backlog is ever needed).
    // It also bounds the backlog of output not yet applied to the screen model.
    #[arg(
        long = "output-ring",
        env = "CONTROLROOM_OUTPUT_RING",
        value_name = "OUTPUT_RING",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(Self::DEFAULT_OUTPUT_RING_BYTES)
    )]
    pub output_ring_bytes: usize,
    /// Input queued for each worker's program; past it, input waits for the program to read (a
    /// client's socket is not read meanwhile), never refused.
    #[arg(
        long = "max-input-queue",
        env = "CONTROLROOM_MAX_INPUT_QUEUE",
        value_name = "MAX_INPUT_QUEUE",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(Self::DEFAULT_INPUT_QUEUE_BYTES)
    )]
    pub input_queue_bytes: usize,
    /// Largest output message; output read together is batched up to this size.
    #[arg(
        long = "output-batch",
        env = "CONTROLROOM_OUTPUT_BATCH",
        value_name = "OUTPUT_BATCH",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(Self::DEFAULT_BATCH_BYTES)
    )]
    pub batch_bytes: usize,
    /// While a worker's output floods, how long PTY reads pile up into one batch.
    // Fewer wake-ups per batch; zero (only settable in code) takes every read at once.
    #[arg(
        long = "output-coalesce",
        env = "CONTROLROOM_OUTPUT_COALESCE",
        value_name = "OUTPUT_COALESCE",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(Self::DEFAULT_FLOOD_COALESCE)
    )]
    pub flood_coalesce: Duration,
    /// Niceness of the threads that apply workers' screen models, 0..=19 (0, the default, leaves
    /// them alone): higher lets the work that only serves snapshots yield the CPU to live output.
    // The screen model only serves snapshots, never the live path (no measurable effect on two
    // cores, see BENCHMARKS.md).
    #[arg(
        long,
        env = "CONTROLROOM_SCREEN_NICE",
        value_parser = clap::value_parser!(i32).range(0..=i64::from(Self::MAX_SCREEN_NICE)),
        default_value_t = Self::DEFAULT_SCREEN_NICE
    )]
    pub screen_nice: i32,
    /// How long a small output batch (an echoed keystroke) waits for a busy screen model (an idle
    /// one takes it at once on the worker's task), so the echo reaches clients first (default
    /// 1ms; 0 feeds at once).
    // A batch smaller than 256 bytes; the echo goes out without a blocking-pool thread waking
    // beside it.
    #[arg(
        long,
        env = "CONTROLROOM_SCREEN_DEFER",
        value_parser = flag_values::duration_or_zero,
        default_value = flag_values::show_duration(Self::DEFAULT_SCREEN_DEFER)
    )]
    pub screen_defer: Duration,
    /// How long rows scrolled off a worker's screen stay cold before they are packed (LZ4, a
    /// fraction of their text's memory), once the screen model has caught up with the output
    /// (default 250ms; 0 never packs).
    #[arg(
        long,
        env = "CONTROLROOM_SCROLLBACK_PACK_AFTER",
        value_parser = flag_values::duration_or_zero,
        default_value = flag_values::show_duration(Self::DEFAULT_SCROLLBACK_PACK_AFTER)
    )]
    pub scrollback_pack_after: Duration,
    /// Time between SIGHUP and SIGKILL when stopping a worker.
    #[arg(
        long,
        env = "CONTROLROOM_STOP_GRACE",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(Self::DEFAULT_STOP_GRACE)
    )]
    pub stop_grace: Duration,
    /// How long a lossless client (`?delivery=lossless`) may hold its worker's output back while
    /// reading nothing before it is closed with 4009 and the worker runs on without it.
    #[arg(
        long,
        env = "CONTROLROOM_LOSSLESS_STALL_TIMEOUT",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(Self::DEFAULT_LOSSLESS_STALL_TIMEOUT)
    )]
    pub lossless_stall_timeout: Duration,
    /// Activity detection for workers without a preset of their own (`[activity]`).
    #[arg(skip = Arc::new(ActivityRules::defaults(WorkerConfig::DEFAULT_IDLE_AFTER)))]
    pub activity: Arc<ActivityRules>,
    /// Default foreground colour that programs in workers read with OSC 10, `#rrggbb`.
    #[arg(
        long,
        env = "CONTROLROOM_TERMINAL_FOREGROUND",
        value_parser = flag_values::colour,
        default_value = flag_values::show_colour(Palette::DEFAULT_FOREGROUND)
    )]
    pub terminal_foreground: Rgb,
    /// Default background colour that programs in workers read with OSC 11, `#rrggbb` (dark, so
    /// programs choosing a theme from it pick their dark one).
    #[arg(
        long,
        env = "CONTROLROOM_TERMINAL_BACKGROUND",
        value_parser = flag_values::colour,
        default_value = flag_values::show_colour(Palette::DEFAULT_BACKGROUND)
    )]
    pub terminal_background: Rgb,
    /// Cursor colour that programs in workers read with OSC 12, `#rrggbb` (default: the
    /// foreground colour).
    #[arg(long, env = "CONTROLROOM_TERMINAL_CURSOR", value_parser = flag_values::colour)]
    pub terminal_cursor: Option<Rgb>,
    /// Nominal cell size in pixels, WIDTHxHEIGHT, for the pixel sizes programs in workers read
    /// with `CSI 14 t` and `CSI 16 t` (the gateway has no font; the PTY carries no pixel size).
    #[arg(
        long,
        env = "CONTROLROOM_CELL_PIXELS",
        value_name = "WIDTHxHEIGHT",
        value_parser = flag_values::cell_pixels,
        default_value = flag_values::show_cell_pixels(ReplyConfig::DEFAULT_CELL_PIXELS)
    )]
    pub cell_pixels: (u16, u16),
    /// Largest terminal width or height a worker spec, a restart or a `resize` may ask for
    /// (each of cols and rows within 1 and this).
    #[arg(
        long,
        env = "CONTROLROOM_MAX_TERMINAL_SIZE",
        default_value_t = size::DEFAULT_MAX_TERMINAL_SIZE,
        value_parser = clap::value_parser!(u16).range(1..=i64::from(size::MAX_TERMINAL_SIZE_LIMIT))
    )]
    pub max_terminal_size: u16,
}

impl WorkerConfig {
    /// Default of [`WorkerConfig::scrollback_bytes`]: 4 MiB of formatted lines.
    pub const DEFAULT_SCROLLBACK_BYTES: usize = 4 * 1024 * 1024;
    /// Default of [`WorkerConfig::output_ring_bytes`]: 2 MiB of raw output.
    pub const DEFAULT_OUTPUT_RING_BYTES: usize = 2 * 1024 * 1024;
    /// Default of [`WorkerConfig::input_queue_bytes`]: 1 MiB.
    pub const DEFAULT_INPUT_QUEUE_BYTES: usize = 1024 * 1024;
    /// Default of [`WorkerConfig::batch_bytes`]: 64 KiB.
    pub const DEFAULT_BATCH_BYTES: usize = 64 * 1024;
    /// Default of [`WorkerConfig::flood_coalesce`]: 1 ms.
    pub const DEFAULT_FLOOD_COALESCE: Duration = Duration::from_millis(1);
    /// Default of [`WorkerConfig::screen_defer`]: 1 ms.
    pub const DEFAULT_SCREEN_DEFER: Duration = Duration::from_millis(1);
    /// Default of [`WorkerConfig::scrollback_pack_after`]: 250 ms, so a flood's rows are packed
    /// soon after it ends (while it lasts, the screen model's job is busy and packs nothing).
    pub const DEFAULT_SCROLLBACK_PACK_AFTER: Duration = Duration::from_millis(250);
    /// Default of [`WorkerConfig::screen_nice`].
    pub const DEFAULT_SCREEN_NICE: i32 = 0;
    /// Largest [`WorkerConfig::screen_nice`] (the lowest priority Linux has).
    pub const MAX_SCREEN_NICE: i32 = 19;
    /// Default of [`WorkerConfig::stop_grace`]: 3 s.
    pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(3);
    /// Default of [`WorkerConfig::lossless_stall_timeout`]: 30 s, so a lossless client that died
    /// without closing its connection holds an agent back no longer than a heartbeat would.
    pub const DEFAULT_LOSSLESS_STALL_TIMEOUT: Duration = Duration::from_secs(30);
    /// The XTVERSION answer (`CSI > q`): `controlroom` and the gateway's version.
    pub const TERMINAL_VERSION: &'static str = concat!("controlroom ", env!("CARGO_PKG_VERSION"));
    /// Default silence before `idle`: 2 s.
    pub const DEFAULT_IDLE_AFTER: Duration = Duration::from_secs(2);
}

impl WorkerConfig {
    /// What each worker's screen model answers the program's queries with beyond its own state:
    /// the XTVERSION name, the colours for OSC 10/11/12, the nominal cell size.
    pub fn replies(&self) -> ReplyConfig {
        let palette = Palette {
            foreground: self.terminal_foreground,
            background: self.terminal_background,
            cursor: self.terminal_cursor.unwrap_or(self.terminal_foreground),
        };
        ReplyConfig { palette, cell_pixels: self.cell_pixels, ..ReplyConfig::new(Self::TERMINAL_VERSION) }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            scrollback_bytes: Self::DEFAULT_SCROLLBACK_BYTES,
            output_ring_bytes: Self::DEFAULT_OUTPUT_RING_BYTES,
            input_queue_bytes: Self::DEFAULT_INPUT_QUEUE_BYTES,
            batch_bytes: Self::DEFAULT_BATCH_BYTES,
            stop_grace: Self::DEFAULT_STOP_GRACE,
            lossless_stall_timeout: Self::DEFAULT_LOSSLESS_STALL_TIMEOUT,
            flood_coalesce: Self::DEFAULT_FLOOD_COALESCE,
            screen_nice: Self::DEFAULT_SCREEN_NICE,
            screen_defer: Self::DEFAULT_SCREEN_DEFER,
            scrollback_pack_after: Self::DEFAULT_SCROLLBACK_PACK_AFTER,
            activity: Arc::new(ActivityRules::defaults(Self::DEFAULT_IDLE_AFTER)),
            terminal_foreground: Palette::DEFAULT_FOREGROUND,
            terminal_background: Palette::DEFAULT_BACKGROUND,
            terminal_cursor: None,
            cell_pixels: ReplyConfig::DEFAULT_CELL_PIXELS,
            max_terminal_size: size::DEFAULT_MAX_TERMINAL_SIZE,
        }
    }
}

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

    /// Starts `spec`'s process on the backend, without an actor. Blocking (a holder's start
    /// is a fork, an exec and its answer): the hub runs it off its task, in `spawn_blocking`,
    /// then hands the process to [`WorkerHandle::spawn_started`].
    pub fn start_blocking(ctx: &WorkerContext, spec: &SpawnSpec) -> Result<pty::PtyProcess, WorkerError> {
        validate_size(spec.cols, spec.rows, ctx.config.max_terminal_size)?;
        ctx.backend.spawn(spec)
    }

    /// The actor of a process started with [`WorkerHandle::start_blocking`]. Must be called
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
        self.call(|reply| Cmd::Input { client, data, share, reply }).await?
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
