//! The worker actor: one tokio task owning the process, the output ring, the client list and the
//! link to the screen thread. It never waits on a client, on the PTY or on the screen model.

use super::activity::{ActivityTracker, EvidenceItem};
use super::detect::{ActivityRules, Observation};
use super::input::{InputBudget, InputChunk};
use super::pipe::Taken;
use super::process::{blocking_section, start_process};
use super::pty::GroupSignal;
use super::screen::{ScreenMsg, ScreenReply, ScreenThread};
use super::utf8::Utf8Splitter;
use super::{
    ClientId, ExitInfo, HistorySnapshot, OutputFormat, SpawnSpec, WorkerConfig, WorkerContext, WorkerError,
    WorkerStatus,
};
use crate::outbox::TextFrame;
use crate::outbox::{OutFrame, OutboxSender};
use crate::time::now_iso;
use activity_due::ActivityDue;
use controlroom_protocol::{ActivityState, HistoryScope, ScreenResponse, WorkerServerMsg, error_code};
use futures_util::StreamExt as _;
use screen_feed::ScreenFeed;
use spawn::limits;
pub(super) use spawn::{HandleShared, spawn_restored, spawn_running};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tracing::{debug, info, warn};

mod activity_due;
mod adopt;
pub(super) use adopt::spawn_adopted;
mod attach;
mod auto_answer;
mod clients;
mod fanout;
mod intake;
mod lossless;
mod output_path;
mod process_state;
mod screen_feed;
mod spawn;
use clients::{Client, Clients};
use output_path::OutputPath;
use process_state::ProcessState;

/// Most output batches the screen model may lag behind.
const MAX_BACKLOG_BATCHES: usize = 64;

/// Commands from [`super::WorkerHandle`] to the actor.
pub(super) enum Cmd {
    Attach {
        outbox: OutboxSender,
        format: OutputFormat,
        history: HistoryScope,
        reply: oneshot::Sender<ClientId>,
    },
    Detach {
        client: ClientId,
    },
    /// `share` is the room `data` takes in the input queue, reserved by the handle. Without
    /// `reply`, a refusal is told to `client` as an `error` message.
    Input {
        client: Option<ClientId>,
        data: Vec<u8>,
        share: OwnedSemaphorePermit,
        reply: Option<oneshot::Sender<Result<(), WorkerError>>>,
    },
    Resize {
        client: Option<ClientId>,
        cols: u16,
        rows: u16,
        reply: oneshot::Sender<Result<(), WorkerError>>,
    },
    Screen {
        reply: oneshot::Sender<ScreenResponse>,
    },
    Activity {
        reply: oneshot::Sender<ActivityInfo>,
    },
    History {
        reply: oneshot::Sender<HistorySnapshot>,
    },
    /// `exit_recorded`: the caller has committed the last exit to the store, so the holder
    /// keeping it may be told (it ends) before the new process starts.
    Restart {
        spec: SpawnSpec,
        exit_recorded: bool,
        reply: oneshot::Sender<Result<(), WorkerError>>,
    },
    Stop {
        reply: oneshot::Sender<()>,
    },
    Shutdown {
        code: u16,
        reason: &'static str,
        reply: oneshot::Sender<()>,
    },
    /// Switch the preset's auto-answer on or off.
    AutoAnswer {
        enabled: bool,
        reply: oneshot::Sender<()>,
    },
    /// The exit is committed: the holder may forget it.
    AckExit,
    /// A committed screen save covers the output up to `offset`: the holder may forget it.
    Saved {
        offset: u64,
    },
}

/// The actor's side of its screen thread.
struct ScreenLink {
    thread: ScreenThread,
    rules: Arc<ActivityRules>,
    /// The input queue's budgets (not the screen's, but handed over with it).
    input: InputBudget,
}

/// A worker's activity and the evidence behind it, for `explain`.
#[derive(Debug, Clone)]
pub struct ActivityInfo {
    /// Current state.
    pub state: ActivityState,
    /// When it began (ISO-8601).
    pub since: Option<String>,
    /// Evidence, most recent first.
    pub evidence: Vec<EvidenceItem>,
    /// The last screen lines scanned.
    pub tail: Vec<String>,
    /// The title the program set.
    pub title: Option<String>,
}

struct Actor {
    ctx: WorkerContext,
    status: watch::Sender<WorkerStatus>,
    /// The screen thread's input; small batches wait there briefly (see `screen_feed`).
    screen: ScreenFeed,
    /// What the screen thread last saw (signals, prompt).
    observations: watch::Receiver<Observation>,
    /// The screen model's answers to the program's queries, for its input.
    replies: mpsc::Receiver<ScreenReply>,
    /// The input queue's byte budgets (typed input is reserved by the handle).
    input: InputBudget,
    /// One permit per output batch the screen thread has not applied yet.
    backlog: Arc<Semaphore>,
    /// The ring, UTF-8 alignment and batch coalescing of the output.
    output: OutputPath,
    /// The attached clients, the fan-out to them and their pending snapshots.
    clients: Clients,
    /// Set while a full lossless client holds output back (see `lossless`).
    hold: Option<lossless::Hold>,
    /// The process, its exit, and who waits for it to stop.
    proc: ProcessState,
    activity: ActivityTracker,
    /// When the tracker next has something to decide (see `ActivityTracker::next_due`).
    activity_due: ActivityDue,
    size: (u16, u16),
    /// Output lost while no gateway ran (offset, bytes), told to every client after `history`.
    gap: Option<(u64, u64)>,
}

fn encode(msg: &WorkerServerMsg) -> Option<TextFrame> {
    match serde_json::to_string(msg) {
        Ok(s) => Some(s.into()),
        Err(e) => {
            warn!(error = %e, "could not encode a worker message");
            None
        }
    }
}

enum Flow {
    Continue,
    Stop,
}

impl Actor {
    fn new(
        ctx: WorkerContext,
        status: WorkerStatus,
        link: ScreenLink,
        offset: u64,
        size: (u16, u16),
        activity: ActivityState,
    ) -> Self {
        let (batch_bytes, backlog, ring_bytes) = limits(&ctx.config);
        let screen = ScreenFeed::new(link.thread.tx, ctx.config.screen_defer);
        Self {
            ctx,
            status: watch::channel(status).0,
            screen,
            observations: link.thread.observations,
            replies: link.thread.replies,
            input: link.input,
            backlog: Arc::new(Semaphore::new(backlog)),
            output: OutputPath::new(ring_bytes, offset, batch_bytes),
            clients: Clients::default(),
            hold: None,
            proc: ProcessState::new(offset),
            activity: ActivityTracker::new(link.rules, activity),
            activity_due: ActivityDue::default(),
            size,
            gap: None,
        }
    }

    async fn run(mut self, mut cmds: mpsc::Receiver<Cmd>) {
        loop {
            let running = self.proc.process.is_some();
            // The one place output intake stops: while paused the process's output is not read
            // (it waits in the holder, then in the program), input and commands still flow.
            let reading = !self.output.paused;
            let activity_due = self.activity_due.is_armed();
            let kill_at = self.proc.kill_at;
            let screen_due = self.screen.due();
            let screen_owes = self.screen.owes();
            // A full lossless client stops the intake of output until it drains.
            let held = self.update_hold();
            tokio::select! {
                // Commands first: input and attach are served even while output floods.
                biased;
                cmd = cmds.recv() => {
                    let Some(cmd) = cmd else { break };
                    if let Flow::Stop = self.on_cmd(cmd) {
                        break;
                    }
                }
                Some((client, pin, snap)) = self.clients.snapshots.next(), if !self.clients.snapshots.is_empty() => {
                    self.attach_ready(client, pin, snap);
                }
                (permit, taken) = intake::next_output(
                    &self.backlog,
                    self.proc.process.as_mut(),
                    // A held lossless client stops reading too (a holder's queued input
                    // is still written).
                    reading && !held,
                    self.output.batch_bytes,
                    self.output.coalesce_until,
                ), if running => self.on_output(permit, taken),
                end = lossless::wait(self.hold.as_ref()), if held => self.on_hold_end(end),
                () = self.activity_due.wait(), if activity_due => self.on_activity_due(),
                Ok(()) = self.observations.changed() => self.on_observation(),
                Some(reply) = self.replies.recv() => self.on_reply(reply),
                () = tokio::time::sleep_until(kill_at.unwrap_or_else(tokio::time::Instant::now)),
                    if kill_at.is_some() => self.proc.kill_now(),
                () = tokio::time::sleep_until(screen_due.unwrap_or_else(tokio::time::Instant::now)),
                    if screen_due.is_some() => self.screen.flush(),
                () = self.screen.owed_wait(), if screen_owes => self.screen.owed_work(),
            }
        }
        if let Some(p) = &mut self.proc.process {
            let control = p.control_mut();
            if control.outlives_gateway() {
                // Its holder keeps it running for the next gateway.
                info!(pid = ?control.pid(), "worker actor ended; the worker keeps running in its holder");
            } else {
                warn!(pid = ?control.pid(), "worker actor ended with its process running; sending SIGHUP");
                let _ = control.signal_group(GroupSignal::Hangup);
            }
        }
    }

    fn on_cmd(&mut self, cmd: Cmd) -> Flow {
        match cmd {
            Cmd::Attach { outbox, format, history, reply } => {
                let client =
                    Client { outbox, format, history, size: None, attached: false, reply: Some(reply) };
                let id = self.clients.add(client);
                self.request_snapshot(id);
            }
            Cmd::Detach { client } => {
                if self.clients.by_id.remove(&client).is_some() {
                    info!(client = client.0, clientCount = self.clients.by_id.len(), "client detached");
                }
            }
            Cmd::Input { client, data, share, reply } => {
                let typed = self.input(client, data, share);
                match reply {
                    Some(reply) => {
                        let _ = reply.send(typed);
                    }
                    None => {
                        if let (Err(e), Some(c)) = (typed, client.and_then(|c| self.clients.by_id.get(&c))) {
                            // Only `Exited` refuses input here.
                            let (code, message) = match e {
                                WorkerError::Exited => {
                                    (error_code::WORKER_EXITED, "the worker has exited".into())
                                }
                                other => (error_code::INTERNAL, other.to_string()),
                            };
                            let msg = WorkerServerMsg::Error { code: code.into(), message };
                            if let Some(frame) = encode(&msg) {
                                let _ = c.outbox.push_text(frame);
                            }
                        }
                    }
                }
            }
            Cmd::Resize { client, cols, rows, reply } => {
                if let Some(c) = client.and_then(|c| self.clients.by_id.get_mut(&c)) {
                    c.size = Some((cols, rows));
                    // A client that sizes the screen to its own is attached, not previewing:
                    // the user came to look at what notified them.
                    if self.activity.on_looked() {
                        self.publish_activity();
                    }
                }
                self.apply_size(cols, rows);
                let _ = reply.send(Ok(()));
            }
            Cmd::Screen { reply } => {
                // On failure the reply is dropped and the caller sees `Gone`.
                self.screen.send(ScreenMsg::Plain { reply });
            }
            Cmd::Activity { reply } => {
                let (state, since, evidence, tail, title) = self.activity.report();
                let _ = reply.send(ActivityInfo { state, since, evidence, tail, title });
            }
            Cmd::History { reply } => {
                self.screen.send(ScreenMsg::Snapshot { reply, scope: HistoryScope::Full });
            }
            Cmd::Restart { spec, exit_recorded, reply } => {
                let _ = reply.send(blocking_section(|| self.restart(&spec, exit_recorded)));
            }
            Cmd::Stop { reply } => self.proc.stop(reply, self.ctx.config.stop_grace),
            Cmd::AckExit => {
                if self.proc.ack_exit() {
                    self.update_status(|s| s.exit_unacked = false);
                }
            }
            Cmd::Saved { offset } => {
                // A save of an earlier process's output says nothing about this one's.
                if let Some(p) = &mut self.proc.process
                    && offset > self.proc.process_start
                    && let Err(e) = p.control_mut().saved(offset)
                {
                    debug!(error = %e, offset, "could not tell the holder about a saved screen");
                }
            }
            Cmd::Shutdown { code, reason, reply } => {
                if code == controlroom_protocol::close_code::DELETED {
                    // Deleted: no store keeps its exit any more, so its holder may end.
                    self.proc.ack_exit();
                }
                for client in self.clients.by_id.values() {
                    let _ = client.outbox.push(OutFrame::Close { code, reason });
                }
                info!(clientCount = self.clients.by_id.len(), code, "worker shut down");
                self.clients.by_id.clear();
                let _ = reply.send(());
                return Flow::Stop;
            }
            Cmd::AutoAnswer { enabled, reply } => {
                self.set_auto_answer(enabled);
                let _ = reply.send(());
            }
        }
        Flow::Continue
    }

    fn input(
        &mut self,
        client: Option<ClientId>,
        data: Vec<u8>,
        share: OwnedSemaphorePermit,
    ) -> Result<(), WorkerError> {
        if self.proc.process.is_none() {
            return Err(WorkerError::Exited);
        }
        // tmux `window-size latest`: the PTY takes the size of the client that typed.
        if let Some((cols, rows)) = client.and_then(|c| self.clients.by_id.get(&c)).and_then(|c| c.size) {
            self.apply_size(cols, rows);
        }
        let Some(p) = &mut self.proc.process else { return Err(WorkerError::Exited) };
        let answered = self.activity.on_input(&data, Instant::now());
        let typed = data.len() as u64;
        // Nothing to write: not queued, so empty messages cannot pile up in the queue.
        if !data.is_empty() {
            p.send_input(InputChunk::new(data, share)).map_err(|()| WorkerError::Exited)?;
        }
        crate::metrics::pty_bytes_in(typed);
        if answered {
            self.publish_activity();
        }
        Ok(())
    }

    /// Writes the screen model's answers to the program's queries to its input, behind any
    /// input queued before them. Not typing: the PTY size and the activity state stay as they
    /// are.
    fn on_reply(&mut self, reply: ScreenReply) {
        let Some(p) = &mut self.proc.process else { return };
        if reply.offset <= self.proc.process_start {
            return;
        }
        let len = reply.bytes.len() as u64;
        let Some(share) = self.input.try_reserve_reply(reply.bytes.len()) else {
            debug!(bytes = len, "answers to the program's queries dropped: it has not read the last ones");
            return;
        };
        if p.send_input(InputChunk::new(reply.bytes, share)).is_ok() {
            crate::metrics::pty_bytes_in(len);
        }
    }

    /// Resizes the PTY and, in order with the byte stream, the screen model.
    fn apply_size(&mut self, cols: u16, rows: u16) {
        let Some(p) = &mut self.proc.process else { return };
        if self.size == (cols, rows) {
            return;
        }
        if let Err(e) = p.control_mut().resize(cols, rows) {
            warn!(error = %e, cols, rows, "pty resize failed");
            return;
        }
        self.size = (cols, rows);
        self.screen.send(ScreenMsg::Resize { cols, rows });
        self.update_status(|s| {
            s.cols = cols;
            s.rows = rows;
        });
    }

    /// Starts the process again. Blocking: a spare holder's exchange, or a new holder's exec
    /// and its answer (ms; up to `--holder-hello-timeout`), so it runs in [`blocking_section`].
    fn restart(&mut self, spec: &SpawnSpec, exit_recorded: bool) -> Result<(), WorkerError> {
        if self.proc.process.is_some() {
            return Err(WorkerError::Invalid("worker is still running".into()));
        }
        if self.proc.unacked.is_some() {
            if !exit_recorded {
                // Its holder keeps the exit until the store has it: told earlier, a crash
                // before the commit would lose it (`lost` instead of its exit code).
                return Err(WorkerError::Invalid("the worker's exit is not recorded yet".into()));
            }
            // Recorded, and superseded: the old holder ends and frees the worker's socket for
            // the new one.
            self.proc.ack_exit();
        }
        // The new process's output goes on from the last one's: its holder counts from there.
        let spec = SpawnSpec { offset: self.output.ring.end(), ..spec.clone() };
        let (running, pid) = start_process(&self.ctx, &spec)?;
        if let Some(pid) = pid {
            // Runs inside the actor task, so the current span is the actor's.
            tracing::Span::current().record("pid", pid);
        }
        self.proc.process = Some(running);
        self.proc.process_start = self.output.ring.end();
        self.proc.exit = None;
        self.output.utf8 = Utf8Splitter::default();
        if self.size != (spec.cols, spec.rows) {
            self.size = (spec.cols, spec.rows);
            self.screen.send(ScreenMsg::Resize { cols: spec.cols, rows: spec.rows });
        }
        self.activity.on_start();
        let activity = self.activity.state();
        let (cols, rows) = self.size;
        self.update_status(|s| {
            *s = WorkerStatus {
                pid,
                exit: None,
                started_at: now_iso(),
                cols,
                rows,
                activity,
                notification: None,
                prompt: None,
                exit_unacked: false,
            };
        });
        Ok(())
    }

    fn on_output(&mut self, permit: Option<OwnedSemaphorePermit>, taken: Taken) {
        match taken {
            Taken::Data(batch) => {
                self.output.note_batch(batch.len(), self.ctx.config.flood_coalesce);
                self.emit(&batch, permit);
                // The exit right behind the last bytes is handled in the same step.
                let max = self.output.batch_bytes;
                let exit =
                    self.proc.process.as_mut().filter(|p| p.at_exit()).and_then(|p| match p.try_take(max) {
                        Some(Taken::Exit(e)) => Some(e),
                        _ => None,
                    });
                if let Some(e) = exit {
                    self.on_exit(e);
                }
            }
            Taken::Exit(e) => self.on_exit(e),
        }
    }

    /// Sends one batch of raw output to the ring, every attached client and the screen model.
    fn emit(&mut self, raw: &[u8], permit: Option<OwnedSemaphorePermit>) {
        if raw.is_empty() {
            return;
        }
        crate::metrics::pty_bytes_out(raw.len() as u64);
        let (offset, aligned, aligned_offset) = self.output.push(raw);
        self.clients.broadcast_output(Some((raw, offset)), &aligned, aligned_offset);
        self.screen.output(aligned, permit);
        if self.activity.on_output(Instant::now()) {
            self.publish_activity();
        }
        self.arm_activity_due();
    }

    /// Sets the activity timer to the tracker's next deadline (if earlier than the one set).
    fn arm_activity_due(&mut self) {
        self.activity_due.arm(self.activity.next_due());
    }

    fn on_observation(&mut self) {
        let obs = self.observations.borrow_and_update().clone();
        if self.activity.on_observation(&obs, Instant::now()) {
            self.publish_activity();
        }
        self.auto_answer();
        self.arm_activity_due();
    }

    fn on_exit(&mut self, exit: ExitInfo) {
        // A program that ends because it was asked to stop did not fail, nor exit on its own,
        // whatever its status: it is reported `stopped` (the front end shows neither ✓ nor ✕).
        if self.proc.stop_requested() {
            info!(exit_code = ?exit.exit_code, signal = ?exit.signal, "worker stopped on request");
        }
        let exit = if self.proc.stop_requested() {
            ExitInfo { exit_code: None, signal: Some(controlroom_protocol::WORKER_STOPPED.into()) }
        } else {
            exit
        };
        // A split character that will never be completed: binary clients already have its
        // bytes; JSON clients and the screen get them now (as U+FFFD).
        if let Some((tail, offset)) = self.output.flush_tail() {
            self.clients.broadcast_output(None, &tail, offset);
            self.screen.output(tail, None);
        }
        let pid = self.proc.take_process();
        info!(pid = ?pid, exit_code = ?exit.exit_code, signal = ?exit.signal, "worker exited");
        self.clients
            .broadcast(&WorkerServerMsg::Exit { exit_code: exit.exit_code, signal: exit.signal.clone() });
        self.activity.on_exit();
        self.activity_due.disarm();
        let activity = self.activity.state();
        let status_exit = exit.clone();
        self.proc.exit = Some(exit);
        let unacked = self.proc.unacked.is_some();
        self.update_status(|s| {
            s.pid = None;
            s.exit_unacked = unacked;
            s.exit = Some(status_exit);
            s.activity = activity;
            s.notification = None;
            s.prompt = None;
        });
        self.proc.release_stop_waiters();
    }

    /// The activity timer went off: the tracker decides what time has decided (a silence, a
    /// prompt's wait, a countdown), then the timer is set to the next deadline, if any.
    fn on_activity_due(&mut self) {
        let now = Instant::now();
        if self.activity.on_tick(now) {
            self.publish_activity();
        }
        self.auto_answer();
        // Every deadline it can report clears itself once passed; should one not, look again
        // after `OVERDUE_RECHECK` rather than at once, in a loop.
        let next = self
            .activity
            .next_due()
            .map(|at| if at <= now { now + super::activity::OVERDUE_RECHECK } else { at });
        self.activity_due.arm(next);
    }

    fn publish_activity(&mut self) {
        let activity = self.activity.state();
        let notification = self.activity.notification().map(str::to_owned);
        let prompt = self.activity.prompt();
        self.update_status(|s| {
            s.activity = activity;
            s.notification = notification;
            s.prompt = prompt;
        });
    }

    fn update_status(&self, change: impl FnOnce(&mut WorkerStatus)) {
        let changed = self.status.send_if_modified(|s| {
            let before = s.clone();
            change(s);
            *s != before
        });
        if changed {
            self.ctx.poke.notify_one();
        }
    }
}
