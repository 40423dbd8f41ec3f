//! The hub's task: owns the sessions, diffs, commits and broadcasts deltas, runs the poll tick.

use super::diff::{self, ActivityMap, SessionMap};
use super::git::GitReads;
use super::screen_saves::WorkerOutput;

use super::subscribers::Subscribers;
use super::{HUB_QUEUE, HubCmd, HubDeps, HubError, HubHandle, RestartPlan};
use crate::config::ServeConfig;
use crate::metrics as m;
use crate::outbox::{OutFrame, TextFrame};
use crate::store::{Commit, Store, StoredScreen, StoredSession};
use crate::time::now_iso;
use crate::worker::{HistorySnapshot, SpawnSpec, WorkerContext, WorkerHandle, WorkerStatus};
use controlroom_protocol::{
    ActivityState, AppServerMsg, CreateSession, Delta, DeltaEvent, DeltasResponse, GATEWAY_STOPPED, Replay,
    Session, SessionId, SessionsResponse, SourceStatus, WORKER_LOST, Worker, WorkerId, WorkerKind,
    WorkerSpec, WorkerState,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

mod feeds;
mod flush;
mod git_counts;
mod persistence;
mod publisher;
mod restore;
mod sessions;
mod start;
mod starting;
use feeds::{Feeds, SourceState, record_gauges};
use persistence::Persistence;
use publisher::Publisher;
use sessions::{check_writable, no_session, no_worker};
pub(crate) use start::start;
pub(in crate::hub) use starting::Started;

/// Default terminal size of a new worker.
pub const DEFAULT_COLS: u16 = 80;
/// Default terminal size of a new worker.
pub const DEFAULT_ROWS: u16 = 24;

struct Record {
    session: Session,
    env: BTreeMap<WorkerId, BTreeMap<String, String>>,
    handles: BTreeMap<WorkerId, WorkerHandle>,
    /// The worktree the gateway made for the session, if any.
    worktree: Option<crate::worktree::WorktreeMeta>,
}

/// The hub's state, in owned parts; the actor loop and the steps that span parts live here.
struct Hub {
    config: Arc<ServeConfig>,
    ctx: WorkerContext,
    tx: mpsc::Sender<HubCmd>,
    records: BTreeMap<SessionId, Record>,
    /// What clients last saw and the diff → commit → broadcast path's output end.
    publisher: Publisher,
    /// The store and what the hub still owes it.
    persistence: Persistence,
    /// The session sources.
    feeds: Feeds,
    stopping: bool,
    /// Bounded git reads of the poll tick (shared with the handle, which reads for `create`).
    git: GitReads,
    /// The change counts' schedule (the `git` object on each session).
    git_stats: crate::worktree::stats::GitStats<SessionId>,
    /// Sessions and workers being started off the hub.
    starting: starting::Starting,
}

fn worker_from_status(w: &mut Worker, st: &WorkerStatus) -> bool {
    let before = w.clone();
    w.state = if st.exit.is_some() { WorkerState::Exited } else { WorkerState::Running };
    w.exit_code = st.exit.as_ref().and_then(|e| e.exit_code);
    w.signal = st.exit.as_ref().and_then(|e| e.signal.clone());
    w.pid = st.pid;
    w.cols = st.cols;
    w.rows = st.rows;
    w.started_at.clone_from(&st.started_at);
    w.notification.clone_from(&st.notification);
    if w.prompt.as_deref() != st.prompt.as_ref() {
        w.prompt = st.prompt.clone().map(Box::new);
    }
    *w != before
}

impl Hub {
    async fn run(mut self, mut rx: mpsc::Receiver<HubCmd>) {
        let mut poll = tokio::time::interval(self.config.poll_interval);
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut save = tokio::time::interval(self.config.screen_save_interval);
        save.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let poke = self.ctx.poke.clone();
        let mut coalesce_at: Option<Instant> = None;
        loop {
            let coalesce = async {
                match coalesce_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    if let HubCmd::Shutdown { reply } = cmd {
                        self.shutdown().await;
                        let _ = reply.send(());
                        break;
                    }
                    self.handle(cmd).await;
                }
                () = poke.notified(), if coalesce_at.is_none() => {
                    coalesce_at = Some(Instant::now() + self.config.coalesce);
                }
                () = coalesce => {
                    coalesce_at = None;
                    self.flush().await;
                }
                _ = save.tick() => self.save_screens(),
                _ = poll.tick() => {
                    self.poll();
                    if self.persistence.has_pending() && self.persistence.persist(Commit::default()).await {
                        self.ack_committed_exits();
                    }
                }
            }
        }
    }

    async fn handle(&mut self, cmd: HubCmd) {
        match cmd {
            HubCmd::List { only, reply } => {
                let _ = reply.send(SessionsResponse {
                    sessions: self.publisher.published_sessions(only.as_ref()),
                    activity_states: self.publisher.published_activity(only.as_ref()),
                    sources: self.publisher.visible_sources(only.as_ref()),
                    seq: self.publisher.seq,
                });
            }
            HubCmd::Get { session_id, reply } => {
                let r =
                    self.publisher.published.get(&session_id).cloned().ok_or_else(|| no_session(&session_id));
                let _ = reply.send(r);
            }
            HubCmd::Create { req, git, worktree, reply } => self.create(req, git, worktree, reply),
            HubCmd::Started(started) => self.finish_start(*started).await,
            HubCmd::Rename { session_id, title, reply } => {
                let r = self.rename(&session_id, title).await;
                let _ = reply.send(r);
            }
            HubCmd::Delete { session_id, reply } => {
                let r = self.delete(&session_id).await;
                let _ = reply.send(r);
            }
            HubCmd::AddWorker { session_id, spec, reply } => self.add_worker(&session_id, spec, reply),
            HubCmd::RenameWorker { session_id, worker_id, name, reply } => {
                let r = self.rename_worker(&session_id, &worker_id, name).await;
                let _ = reply.send(r);
            }
            HubCmd::RemoveWorker { session_id, worker_id, reply } => {
                let r = self.remove_worker(&session_id, &worker_id).await;
                let _ = reply.send(r);
            }
            HubCmd::RestartPlan { session_id, worker_id, reply } => {
                let _ = reply.send(self.restart_plan(&session_id, &worker_id));
            }
            HubCmd::Commit { reply } => {
                self.flush().await;
                if self.persistence.has_pending() {
                    // A refused commit is retried with the next one; this one may be it.
                    let _ = self.persistence.persist(Commit::default()).await;
                }
                let _ = reply.send(!self.persistence.has_pending());
            }
            HubCmd::WorkerModel { session_id, worker_id, reply } => {
                self.flush().await;
                let r = self
                    .records
                    .get(&session_id)
                    .and_then(|r| r.session.workers.iter().find(|w| w.id == worker_id).cloned())
                    .ok_or_else(|| no_worker(&session_id, &worker_id));
                let _ = reply.send(r);
            }
            HubCmd::Handle { session_id, worker_id, reply } => {
                let r = self.records.get(&session_id).ok_or_else(|| no_session(&session_id)).and_then(|r| {
                    r.handles.get(&worker_id).cloned().ok_or_else(|| no_worker(&session_id, &worker_id))
                });
                let _ = reply.send(r);
            }
            HubCmd::Subscribe { outbox, only, reply } => {
                // The first sync is a snapshot, queued outside the byte cap as a worker's
                // `history` is (bounded by the field limits and session counts), so sessions
                // larger than --max-client-buffer never lock every dashboard out.
                let sync = OutFrame::Text(self.publisher.sync_message(None, only.as_ref()));
                let id = if outbox.push_uncapped(sync).is_ok() {
                    self.publisher.subscribers.add(outbox, only)
                } else {
                    0
                };
                let _ = reply.send(id);
            }
            HubCmd::Filter { id, outbox, sessions } => {
                let p = &mut self.publisher;
                if p.subscribers.set_filter(id, sessions) {
                    let msg = p.sync_message(p.subscribers.filter(id), p.subscribers.only(id));
                    let _ = outbox.push_text(msg);
                }
            }
            HubCmd::RequestSync { outbox, since, only } => {
                // A replay is the unfiltered log (but for a session-restricted token): clients
                // that filter resync fully.
                let p = &self.publisher;
                let msg = match since.and_then(|s| p.replay_since(s, only.as_ref())) {
                    Some(deltas) => encode(&AppServerMsg::Replay(Replay { deltas, seq: p.seq })),
                    None => p.sync_message(None, only.as_ref()),
                };
                let _ = outbox.push_text(msg);
            }
            HubCmd::SourceResult { name, result } => {
                self.source_result(&name, result);
                self.flush().await;
            }
            HubCmd::Deltas { since, only, reply } => {
                let p = &self.publisher;
                let r = p
                    .replay_since(since, only.as_ref())
                    .map(|deltas| DeltasResponse { deltas, seq: p.seq })
                    .ok_or(HubError::Gone { since, oldest: p.log.front().map_or(p.seq, |d| d.seq) });
                let _ = reply.send(r);
            }
            HubCmd::GitResults { results } => {
                let now = now_iso();
                for (id, info) in results {
                    if let Some(rec) = self.records.get_mut(&id)
                        && (rec.session.repository != info.repository || rec.session.branch != info.branch)
                    {
                        rec.session.repository = info.repository;
                        if info.branch.is_none() {
                            rec.session.git = None;
                        }
                        rec.session.branch = info.branch;
                        rec.session.updated_at.clone_from(&now);
                    }
                }
                self.flush().await;
            }
            HubCmd::ScreenSaved { session_id, worker_id, bytes } => {
                self.persistence.screen_saved(&(session_id, worker_id), bytes);
            }
            HubCmd::Shutdown { .. } => unreachable!("handled in run"),
            HubCmd::WorktreeOf { session_id, reply } => {
                let r = self
                    .records
                    .get(&session_id)
                    .map(|r| (r.session.clone(), r.worktree.clone()))
                    .ok_or_else(|| no_session(&session_id));
                let _ = reply.send(r);
            }
            HubCmd::GitCounts { results } => {
                self.git_counts(results);
                self.flush().await;
            }
        }
    }

    /// One round of the screen-save schedule (`screen_saves.rs`): snapshots are taken and
    /// written off the hub; each save reports back with `ScreenSaved`.
    fn save_screens(&mut self) {
        let workers = self.records.iter().flat_map(|(sid, r)| {
            r.handles.iter().map(move |(wid, h)| {
                let running = h.status().borrow().exit.is_none();
                ((sid.clone(), wid.clone()), WorkerOutput { end: h.output_end(), running })
            })
        });
        let due = self.persistence.screens_due(workers, self.config.screen_save_budget);
        for (sid, wid) in due {
            let Some(handle) = self.records.get(&sid).and_then(|r| r.handles.get(&wid)).cloned() else {
                continue;
            };
            let (store, tx) = (self.persistence.store.clone(), self.tx.clone());
            tokio::spawn(async move {
                let bytes = match handle.history().await {
                    // Not saved when the store's queue is full: tried again next round.
                    Ok(snap) => {
                        save_and_tell(&store, &sid, &wid, &handle, &snap).await.then_some(snap.data.len())
                    }
                    Err(_) => None,
                };
                let _ = tx.send(HubCmd::ScreenSaved { session_id: sid, worker_id: wid, bytes }).await;
            });
        }
    }

    /// The periodic poll: git state of every cwd and session sources (off the hub).
    fn poll(&mut self) {
        let started = std::time::Instant::now();
        let cwds: Vec<(SessionId, String)> = self
            .records
            .iter()
            .filter(|(_, r)| r.session.source.is_none())
            .map(|(id, r)| (id.clone(), r.session.cwd.clone()))
            .collect();
        let tx = self.tx.clone();
        self.feeds.poll_sources();
        crate::metrics::handle().run_upkeep();
        self.count_changes();
        let git = self.git.clone();
        tokio::spawn(async move {
            let read_started = std::time::Instant::now();
            let Some(results) = git.read_all(cwds).await else {
                tracing::debug!(reason = "git_read_in_flight", "skipped this poll's git reads");
                return;
            };
            metrics::histogram!(m::POLL_READ_SECONDS).record(read_started.elapsed().as_secs_f64());
            let _ = tx.send(HubCmd::GitResults { results }).await;
        });
        metrics::histogram!(m::POLL_SECONDS).record(started.elapsed().as_secs_f64());
    }

    /// Saves every screen and ends every worker actor. Workers whose holders outlive the
    /// gateway keep running (stored `running`, adopted by the next gateway) unless
    /// `--stop-workers-on-exit`; the others are stopped and marked `gateway-stopped`.
    async fn shutdown(&mut self) {
        self.refresh();
        let stop_workers = self.config.stop_workers_on_exit || !self.ctx.backend.outlives_gateway();
        if stop_workers {
            self.stopping = true;
        }
        let mut handles = Vec::new();
        for (sid, rec) in &mut self.records {
            for w in &mut rec.session.workers {
                if stop_workers && w.state == WorkerState::Running {
                    w.state = WorkerState::Exited;
                    w.signal = Some(GATEWAY_STOPPED.into());
                    w.exit_code = None;
                    w.pid = None;
                    rec.session.updated_at = now_iso();
                }
                if let Some(h) = rec.handles.get(&w.id) {
                    handles.push((sid.clone(), w.id.clone(), h.clone()));
                }
            }
        }
        self.flush().await;
        let store = self.persistence.store.clone();
        let grace = self.config.worker.stop_grace;
        let stops = handles.into_iter().map(|(sid, wid, h)| {
            let store = store.clone();
            async move {
                // The saved screen and its offset are where the next gateway resumes.
                if let Ok(Ok(snap)) = tokio::time::timeout(grace, h.history()).await {
                    save_and_tell(&store, &sid, &wid, &h, &snap).await;
                }
                if stop_workers {
                    h.stop().await;
                    // Stored `gateway-stopped` by the flush above: the holder may end.
                    h.ack_exit();
                }
                h.shutdown(controlroom_protocol::close_code::GOING_AWAY, "gateway stopping").await;
            }
        });
        futures_util::future::join_all(stops).await;
    }
}

fn to_stored(s: &HistorySnapshot) -> StoredScreen {
    StoredScreen { data: s.data.clone(), cols: s.cols, rows: s.rows, offset: s.offset }
}

/// Saves a worker's screen and, once the store has committed it, tells the worker (its holder
/// may then drop the output the screen covers: the next gateway resumes from this screen).
/// Whether it was saved.
async fn save_and_tell(
    store: &Store,
    sid: &SessionId,
    wid: &WorkerId,
    handle: &WorkerHandle,
    snap: &HistorySnapshot,
) -> bool {
    let Some(committed) = store.save_screen_committed(sid.clone(), wid.clone(), to_stored(snap)) else {
        return false;
    };
    let saved = committed.await.unwrap_or(false);
    if saved {
        handle.screen_saved(snap.offset);
    }
    saved
}

/// Saves a worker's screen in the background.
fn save_screen(store: &Store, sid: &SessionId, wid: &WorkerId, handle: &WorkerHandle) {
    let (store, sid, wid, handle) = (store.clone(), sid.clone(), wid.clone(), handle.clone());
    tokio::spawn(async move {
        if let Ok(snap) = handle.history().await {
            store.save_screen(sid, wid, to_stored(&snap));
        }
    });
}

/// Stops removed workers in the background, then closes their clients with `code`.
fn retire(handles: Vec<WorkerHandle>, code: u16) {
    tokio::spawn(async move {
        let stops = handles.into_iter().map(|h| async move {
            h.stop().await;
            h.shutdown(code, "deleted").await;
        });
        futures_util::future::join_all(stops).await;
    });
}

fn encode(msg: &AppServerMsg) -> TextFrame {
    // Serializing our own types to a String cannot fail (no maps with non-string keys).
    serde_json::to_string(msg).unwrap_or_default().into()
}

/// The activity rules of preset `name`, if it exists.
fn preset_rules(
    config: &ServeConfig,
    name: Option<&str>,
) -> Option<Arc<crate::worker::detect::ActivityRules>> {
    name.and_then(|n| config.presets.get(n)).map(|p| p.rules.clone())
}
