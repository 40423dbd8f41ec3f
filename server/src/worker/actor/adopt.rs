//! Adoption: the actor of a worker whose holder outlived the previous gateway, its screen
//! rebuilt from the last saved screen plus the bytes the holder kept since (output continues
//! at the saved offset, so clients see one stream), with a marked gap when the holder's log
//! bound was passed.

use super::{Actor, Cmd, ScreenLink};
use crate::time::now_iso;
use crate::worker::detect::ActivityRules;
use crate::worker::process::run_process;
use crate::worker::pty::Adopted;
use crate::worker::screen::{ScreenModel, ScreenMsg, spawn_screen_thread};
use crate::worker::{HistorySnapshot, WorkerContext, WorkerError, WorkerStatus};
use controlroom_protocol::ActivityState;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

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
    cmds: mpsc::Receiver<Cmd>,
) -> Result<watch::Receiver<WorkerStatus>, WorkerError> {
    let Adopted { process, gap, cols, rows } = adopted;
    let mut history = history.clone();
    if gap > 0 {
        warn!(bytes = gap, offset = history.offset, "output lost while no gateway ran (holder log bound)");
        history.data.push_str(&gap_marker(gap));
        history.offset += gap;
    }
    let model = ScreenModel::restored(&history, ctx.config.scrollback_bytes);
    let rules = activity.unwrap_or_else(|| ctx.config.activity.clone());
    let (screen, observations) = spawn_screen_thread(model, rules.clone(), ctx.config.screen_nice)
        .map_err(|e| WorkerError::Spawn { command: "adopted worker".into(), message: e.to_string() })?;
    let (running, pid) = run_process(&ctx, process, "adopted worker")?;
    let status = WorkerStatus {
        pid,
        exit: None,
        started_at: started_at.unwrap_or_else(now_iso),
        cols,
        rows,
        activity: ActivityState::Unknown,
    };
    let link = ScreenLink { screen, observations, rules };
    let size = (history.cols, history.rows);
    let mut actor = Actor::new(ctx, status, link, history.offset, size, ActivityState::Unknown);
    if size != (cols, rows) {
        actor.size = (cols, rows);
        actor.screen.send(ScreenMsg::Resize { cols, rows });
    }
    actor.gap = (gap > 0).then(|| (history.offset - gap, gap));
    actor.process = Some(running);
    info!(pid = ?pid, offset = history.offset, "worker adopted");
    let rx = actor.status.subscribe();
    tokio::spawn(actor.run(cmds));
    Ok(rx)
}
