//! Bringing a stored session's workers back on start: each is adopted from its holder when that
//! still answers, else restored exited with the reason — `lost` (its holder is gone),
//! `holder-incompatible` (left running, not killed), `gateway-stopped` (a backend whose workers
//! never outlive the gateway) or the exit the store recorded.

use super::preset_rules;
use crate::config::ServeConfig;
use crate::store::{Loaded, StoredScreen};
use crate::worker::pty::{AdoptError, Adopted};
use crate::worker::{ExitInfo, HistorySnapshot, WorkerContext, WorkerHandle};
use controlroom_protocol::{
    GATEWAY_STOPPED, HOLDER_INCOMPATIBLE, SessionId, WORKER_LOST, Worker, WorkerId, WorkerState,
};
use std::collections::BTreeMap;

/// The actor of stored worker `w`, given what adopting its holder gave.
pub(super) fn worker(
    ctx: &WorkerContext,
    config: &ServeConfig,
    session: &SessionId,
    w: &Worker,
    screens: &BTreeMap<WorkerId, StoredScreen>,
    adoption: Option<Result<Adopted, AdoptError>>,
) -> WorkerHandle {
    // The worker actor's span is a child of this one: its log lines name the worker.
    let _span = tracing::info_span!("worker", session = %session, worker = %w.id).entered();
    let history = stored_history(screens, w);
    let rules = preset_rules(config, w.preset.as_deref());
    let exit = match (w.state, adoption) {
        // Also for a worker stored exited whose holder still answers: the gateway stopped before
        // it acknowledged the exit; the holder tells it again (and then ends).
        (_, Some(Ok(adopted))) => {
            match WorkerHandle::adopt(ctx.clone(), &history, adopted, w.started_at.clone(), rules.clone()) {
                Ok(handle) => return handle,
                Err(e) => {
                    tracing::warn!(error = %e, "could not adopt a worker");
                    ExitInfo { exit_code: None, signal: Some(HOLDER_INCOMPATIBLE.into()) }
                }
            }
        }
        (WorkerState::Running, Some(Err(AdoptError::Lost(why)))) => {
            tracing::info!(reason = %why, "worker lost (its holder is gone)");
            ExitInfo { exit_code: None, signal: Some(WORKER_LOST.into()) }
        }
        (WorkerState::Running, Some(Err(AdoptError::Unusable(why)))) => {
            // Left running, not killed: a newer gateway (or the user) may still reach it.
            tracing::warn!(reason = %why, "worker's holder cannot be adopted; left running");
            ExitInfo { exit_code: None, signal: Some(HOLDER_INCOMPATIBLE.into()) }
        }
        (WorkerState::Running, _) => ExitInfo { exit_code: None, signal: Some(GATEWAY_STOPPED.into()) },
        (WorkerState::Exited, _) => ExitInfo { exit_code: w.exit_code, signal: w.signal.clone() },
    };
    WorkerHandle::restore(ctx.clone(), &history, exit, w.started_at.clone(), rules)
}

/// The last saved screen of `w` (empty at offset 0 when none was saved).
pub(super) fn stored_history(screens: &BTreeMap<WorkerId, StoredScreen>, w: &Worker) -> HistorySnapshot {
    screens
        .get(&w.id)
        .map(|s| HistorySnapshot { data: s.data.clone(), cols: s.cols, rows: s.rows, offset: s.offset })
        .unwrap_or_else(|| HistorySnapshot { data: String::new(), cols: w.cols, rows: w.rows, offset: 0 })
}

/// Stops, in the background, every process the backend keeps that no stored worker owns (a
/// start in flight when the last gateway stopped: its holder runs, no record knows it). Listed
/// now, before this gateway starts anything of its own; each is logged.
pub(super) fn stop_strays(ctx: &WorkerContext, loaded: &Loaded) {
    let known: std::collections::BTreeSet<String> = loaded
        .sessions
        .iter()
        .flat_map(|s| s.session.workers.iter())
        .map(|w| w.id.as_str().to_owned())
        .collect();
    let strays = ctx.backend.strays(&known);
    if strays.is_empty() {
        return;
    }
    let (backend, grace) = (ctx.backend.clone(), ctx.config.stop_grace);
    tokio::task::spawn_blocking(move || {
        for key in strays {
            match backend.stop_stray(&key, grace) {
                Ok(done) => tracing::warn!(worker_key = %key, outcome = done,
                    "a holder no stored worker owns (a start the last gateway did not record)"),
                Err(why) => tracing::warn!(worker_key = %key, reason = %why,
                    "a holder no stored worker owns could not be stopped"),
            }
        }
    });
}

/// Holders adopted at once on start: each adoption is a local connect and one answer, but a
/// wedged holder takes its whole hello timeout, which must not hold up the others.
const ADOPT_PARALLEL: usize = 16;

/// Reconnects to the holder of every worker, from its saved screen's offset: every worker stored
/// as running, and any stored as exited whose holder still waits to hand over its exit (a missing
/// socket is one failed connect). Off the runtime, up to [`ADOPT_PARALLEL`] at once.
pub(super) async fn adopt_all(
    ctx: &WorkerContext,
    loaded: &Loaded,
) -> BTreeMap<WorkerId, Result<Adopted, AdoptError>> {
    use futures_util::StreamExt as _;
    let wanted: Vec<(WorkerId, u64)> = loaded
        .sessions
        .iter()
        .flat_map(|s| s.session.workers.iter())
        .map(|w| (w.id.clone(), loaded.screens.get(&w.id).map_or(0, |s| s.offset)))
        .collect();
    if wanted.is_empty() || !ctx.backend.outlives_gateway() {
        return BTreeMap::new();
    }
    let started = std::time::Instant::now();
    let count = wanted.len();
    let adoptions = futures_util::stream::iter(wanted)
        .map(|(id, from)| {
            let backend = ctx.backend.clone();
            async move {
                let key = id.as_str().to_owned();
                match tokio::task::spawn_blocking(move || backend.adopt(&key, from)).await {
                    Ok(r) => Some((id, r)),
                    // The blocking task panicked: that worker is restored as if not adopted.
                    Err(_) => None,
                }
            }
        })
        .buffer_unordered(ADOPT_PARALLEL)
        .filter_map(std::future::ready)
        .collect::<BTreeMap<_, _>>()
        .await;
    tracing::info!(workers = count, elapsed_ms = started.elapsed().as_millis() as u64, "holders adopted");
    adoptions
}
