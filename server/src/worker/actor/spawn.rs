//! Starting a worker actor: for a new process, or for an exited worker restored from the store
//! (its screen rebuilt from the stored history).

use super::*;
use crate::worker::screen::{ScreenModel, spawn_screen_thread};
use std::sync::atomic::AtomicU64;
use tracing::Instrument as _;

/// What the worker's handle and its actor share.
pub(in crate::worker) struct HandleShared {
    /// Room in the input queue.
    pub input: InputBudget,
    /// The end offset of the output the actor has taken.
    pub output_end: Arc<AtomicU64>,
}

/// Backlog batches and ring capacity for `config`: the ring always holds at least twice the
/// backlog, so the offset of a snapshot (at most one backlog behind) is still in the ring.
pub(super) fn limits(config: &WorkerConfig) -> (usize, usize, usize) {
    let batch = config.batch_bytes.max(1);
    let backlog = (config.output_ring_bytes / batch / 2).clamp(1, MAX_BACKLOG_BATCHES);
    let ring = config.output_ring_bytes.max(2 * backlog * batch);
    (batch, backlog, ring)
}

/// The actor task's span: a child of the caller's (the hub names the session and worker there),
/// with the process id, recorded again on each restart.
pub(super) fn actor_span(pid: Option<u32>) -> tracing::Span {
    let span = tracing::info_span!("actor", pid = tracing::field::Empty);
    if let Some(pid) = pid {
        span.record("pid", pid);
    }
    span
}

/// Starts the process for `spec` (or takes `started`, its process started already, off the
/// runtime) and the actor; returns the status receiver.
pub(in crate::worker) fn spawn_running(
    ctx: WorkerContext,
    spec: SpawnSpec,
    started: Option<crate::worker::pty::PtyProcess>,
    shared: HandleShared,
    cmds: mpsc::Receiver<Cmd>,
) -> Result<watch::Receiver<WorkerStatus>, WorkerError> {
    let spawn_err = |e: std::io::Error| WorkerError::Spawn {
        command: spec.command.join(" "),
        message: format!("could not start the screen thread: {e}"),
    };
    let rules = spec.activity.clone().unwrap_or_else(|| ctx.config.activity.clone());
    let mut model = ScreenModel::new(spec.cols, spec.rows, ctx.config.scrollback_bytes, 0);
    model.answer_queries(ctx.config.replies());
    let thread = match spawn_screen_thread(
        model,
        rules.clone(),
        ctx.config.screen_nice,
        ctx.config.scrollback_pack_after,
    ) {
        Ok(thread) => thread,
        Err(e) => {
            if let Some(p) = started {
                // Started but unusable without its screen: take it down.
                let kill = crate::worker::pty::GroupSignal::Kill;
                let _ = match p {
                    crate::worker::pty::PtyProcess::Threads(mut t) => t.control.signal_group(kill),
                    crate::worker::pty::PtyProcess::Link(mut link) => link.signal_group(kill),
                };
            }
            return Err(spawn_err(e));
        }
    };
    let (running, pid) = match started {
        Some(process) => {
            let running = crate::worker::process::run_process(&ctx, process, &spec.command.join(" "))?;
            info!(pid = ?running.1, command = ?spec.command, "worker process started");
            running
        }
        None => start_process(&ctx, &spec)?,
    };
    let status = WorkerStatus {
        pid,
        exit: None,
        started_at: now_iso(),
        cols: spec.cols,
        rows: spec.rows,
        activity: ActivityState::Unknown,
        notification: None,
        prompt: None,
        exit_unacked: false,
    };
    let HandleShared { input, output_end } = shared;
    let link = ScreenLink { thread, rules, input };
    let mut actor = Actor::new(ctx, status, link, 0, (spec.cols, spec.rows), ActivityState::Unknown);
    actor.proc.process = Some(running);
    actor.output.end = output_end;
    let rx = actor.status.subscribe();
    tokio::spawn(actor.run(cmds).instrument(actor_span(pid)));
    Ok(rx)
}

/// Starts an actor for an exited worker restored from the store.
pub(in crate::worker) fn spawn_restored(
    ctx: WorkerContext,
    history: &HistorySnapshot,
    exit: ExitInfo,
    started_at: String,
    activity: Option<Arc<ActivityRules>>,
    shared: HandleShared,
    cmds: mpsc::Receiver<Cmd>,
) -> watch::Receiver<WorkerStatus> {
    let status = WorkerStatus {
        pid: None,
        exit: Some(exit.clone()),
        started_at,
        cols: history.cols,
        rows: history.rows,
        activity: ActivityState::Exited,
        notification: None,
        prompt: None,
        exit_unacked: false,
    };
    // Answering starts after the stored screen is replayed: a restarted process gets answers
    // to its own queries only.
    let mut model = ScreenModel::restored(history, ctx.config.scrollback_bytes);
    model.answer_queries(ctx.config.replies());
    let rules = activity.unwrap_or_else(|| ctx.config.activity.clone());
    let thread = match spawn_screen_thread(
        model,
        rules.clone(),
        ctx.config.screen_nice,
        ctx.config.scrollback_pack_after,
    ) {
        Ok(thread) => thread,
        Err(e) => {
            // Without a screen thread every screen request fails with `Gone`; the worker is
            // still listed with its status.
            warn!(error = %e, "could not start the screen thread of a restored worker");
            ScreenThread::missing()
        }
    };
    let size = (history.cols, history.rows);
    let HandleShared { input, output_end } = shared;
    let link = ScreenLink { thread, rules, input };
    let mut actor = Actor::new(ctx, status, link, history.offset, size, ActivityState::Exited);
    actor.proc.exit = Some(exit);
    actor.output.end = output_end;
    let rx = actor.status.subscribe();
    tokio::spawn(actor.run(cmds).instrument(actor_span(None)));
    rx
}
