//! Adoption: the actor of a worker whose holder outlived the previous gateway, its screen
//! rebuilt from the last saved screen plus the bytes the holder kept since (output continues
//! at the saved offset, so clients see one stream), with a marked gap when the holder's log
//! bound was passed.

use super::spawn::actor_span;
use super::{Actor, Cmd, HandleShared, ScreenLink};
use crate::time::now_iso;
use crate::worker::detect::ActivityRules;
use crate::worker::process::run_process;
use crate::worker::pty::Adopted;
use crate::worker::screen::{ScreenModel, ScreenMsg, spawn_screen_thread};
use crate::worker::{HistorySnapshot, WorkerContext, WorkerError, WorkerStatus};
use controlroom_protocol::ActivityState;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::{mpsc, watch};
use tracing::{Instrument as _, info, warn};

/// What the screen shows where output was lost.
fn gap_marker(bytes: u64) -> String {
    format!("\r\n\x1b[m\x1b[7m[controlroom: {bytes} bytes of output lost while no gateway ran]\x1b[m\r\n")
}

/// Starts the actor of an adopted worker; returns its status receiver.
pub(in crate::worker) fn spawn_adopted(
    ctx: WorkerContext,
    history: &HistorySnapshot,
    adopted: Adopted,
    started_at: Option<String>,
    activity: Option<Arc<ActivityRules>>,
    shared: HandleShared,
    cmds: mpsc::Receiver<Cmd>,
) -> Result<watch::Receiver<WorkerStatus>, WorkerError> {
    let Adopted { process, gap, cols, rows } = adopted;
    let mut history = history.clone();
    if gap > 0 {
        warn!(bytes = gap, offset = history.offset, "output lost while no gateway ran (holder log bound)");
        history.data.push_str(&gap_marker(gap));
        history.offset += gap;
    }
    // Answering starts after the stored screen is replayed, as for a restored worker; the bytes
    // the holder kept were answered (or not) while no gateway ran.
    let mut model = ScreenModel::restored(&history, ctx.config.scrollback_bytes);
    model.answer_queries(ctx.config.replies());
    let rules = activity.unwrap_or_else(|| ctx.config.activity.clone());
    let thread =
        spawn_screen_thread(model, rules.clone(), ctx.config.screen_nice, ctx.config.scrollback_pack_after)
            .map_err(|e| WorkerError::Spawn { command: "adopted worker".into(), message: e.to_string() })?;
    let (running, pid) = run_process(&ctx, process, "adopted worker")?;
    let status = WorkerStatus {
        pid,
        exit: None,
        started_at: started_at.unwrap_or_else(now_iso),
        cols,
        rows,
        activity: ActivityState::Unknown,
        notification: None,
        prompt: None,
        exit_unacked: false,
    };
    let HandleShared { input, output_end } = shared;
    let link = ScreenLink { thread, rules, input };
    let size = (history.cols, history.rows);
    let mut actor = Actor::new(ctx, status, link, history.offset, size, ActivityState::Unknown);
    if size != (cols, rows) {
        actor.size = (cols, rows);
        actor.screen.send(ScreenMsg::Resize { cols, rows });
    }
    actor.gap = (gap > 0).then(|| (history.offset - gap, gap));
    actor.proc.process = Some(running);
    output_end.store(history.offset, Ordering::Relaxed);
    actor.output.end = output_end;
    info!(pid = ?pid, offset = history.offset, "worker adopted");
    let rx = actor.status.subscribe();
    tokio::spawn(actor.run(cmds).instrument(actor_span(pid)));
    Ok(rx)
}
