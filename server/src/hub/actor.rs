//! The hub's task: owns the sessions, diffs, commits and broadcasts deltas, runs the poll tick.

use super::diff::{self, ActivityMap, SessionMap};
use super::git::GitInfo;
use super::screen_saves::{ScreenSaves, WorkerOutput};

use super::subscribers::Subscribers;
use super::{HUB_QUEUE, HubCmd, HubDeps, HubError, HubHandle, RestartPlan};
use crate::config::ServeConfig;
use crate::metrics as m;
use crate::outbound::notify::Notifier;
use crate::outbox::TextFrame;
use crate::store::{Commit, Store, StoredScreen, StoredSession};
use crate::time::now_iso;
use crate::worker::{HistorySnapshot, SpawnSpec, WorkerContext, WorkerHandle, WorkerStatus};
use controlroom_protocol::{
    ActivityState, AppServerMsg, CreateSession, Delta, DeltaEvent, DeltasResponse, GATEWAY_STOPPED, Replay,
    Session, SessionId, SessionsResponse, SourceStatus, TERMINAL_DIM_RANGE, WORKER_LOST, Worker, WorkerId,
    WorkerKind, WorkerSpec, WorkerState,
};
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

mod feeds;
mod publish;
mod restore;
mod sessions;
use feeds::{SourceState, record_gauges};
use sessions::{no_session, no_worker};

/// Default terminal size of a new worker.
pub const DEFAULT_COLS: u16 = 80;
/// Default terminal size of a new worker.
pub const DEFAULT_ROWS: u16 = 24;

struct Record {
    session: Session,
    env: BTreeMap<WorkerId, BTreeMap<String, String>>,
    handles: BTreeMap<WorkerId, WorkerHandle>,
}

struct Hub {
    config: Arc<ServeConfig>,
    store: Store,
    ctx: WorkerContext,
    tx: mpsc::Sender<HubCmd>,
    epoch: String,
    seq: u64,
    records: BTreeMap<SessionId, Record>,
    published: SessionMap,
    published_activity: ActivityMap,
    log: VecDeque<Delta>,
    subscribers: Subscribers,
    notifier: Option<Notifier>,
    sources: BTreeMap<String, SourceState>,
    published_sources: BTreeMap<String, SourceStatus>,
    /// When each worker's screen was saved and which to save next (`--screen-save-interval`).
    screens: ScreenSaves,
    /// A commit the store refused (disk full, I/O error), retried with the next one.
    pending: Option<Commit>,
    /// Whether the last commit failed (to log the recovery once).
    store_failing: bool,
    stopping: bool,
}

/// Every configured source, not read yet; an `http` source's URL and CA files are checked here,
/// so a bad `ca-file` stops the gateway at start with the source's name.
fn source_states(config: &ServeConfig) -> Result<BTreeMap<String, SourceState>, HubError> {
    let mut states = BTreeMap::new();
    for s in &config.sources {
        let http = match (s.kind, &s.url) {
            (crate::file_config::SourceKind::Http, Some(url)) => Some(
                crate::outbound::http_client::Target::new(url, &config.outbound_cas(s.ca_file.as_deref()))
                    .map_err(|e| HubError::Invalid(format!("source `{}`: {e}", s.name)))?,
            ),
            _ => None,
        };
        let status = SourceStatus {
            name: s.name.clone(),
            kind: s.kind.as_str().into(),
            // Not read yet: neither ok nor failed.
            ok: false,
            error: None,
            last_success: None,
            session_count: 0,
        };
        let state =
            SourceState { section: s.clone(), http, status, in_flight: false, next_due: Instant::now() };
        states.insert(s.name.clone(), state);
    }
    Ok(states)
}

/// Loads the store, restores every session (workers that were running are adopted from their
/// holders; when that is not possible they come back exited: `lost`, `holder-incompatible` or,
/// for a backend whose workers never outlive the gateway, `gateway-stopped`) and starts the hub
/// task.
pub(crate) async fn start(config: Arc<ServeConfig>, deps: HubDeps) -> Result<HubHandle, HubError> {
    let sources = source_states(&config)?;
    let loaded = deps.store.load(new_epoch()).await?;
    let (tx, rx) = mpsc::channel(HUB_QUEUE);
    let mut records = BTreeMap::new();
    let mut published = SessionMap::new();
    let mut adoptions = restore::adopt_all(&deps.ctx, &loaded).await;
    for stored in loaded.sessions {
        let session = stored.session;
        if let Some(source) = &session.source
            && !config.sources.iter().any(|s| &s.name == source)
        {
            // Its source is no longer configured: published, not kept, so it goes as deleted.
            published.insert(session.id.clone(), session.clone());
            continue;
        }
        let mut handles = BTreeMap::new();
        for w in &session.workers {
            let handle =
                restore::worker(&deps.ctx, &config, &session.id, w, &loaded.screens, adoptions.remove(&w.id));
            handles.insert(w.id.clone(), handle);
        }
        published.insert(session.id.clone(), session.clone());
        records.insert(session.id.clone(), Record { session, env: stored.env, handles });
    }
    let mut hub = Hub {
        config: config.clone(),
        store: deps.store,
        ctx: deps.ctx,
        tx: tx.clone(),
        epoch: loaded.epoch.clone(),
        seq: loaded.seq,
        records,
        published,
        published_activity: ActivityMap::new(),
        log: loaded.deltas.into(),
        subscribers: Subscribers::default(),
        notifier: deps.notifier,
        sources,
        published_sources: BTreeMap::new(),
        screens: ScreenSaves::default(),
        pending: None,
        store_failing: false,
        stopping: false,
    };
    // Workers that were running are now exited: that change goes out (and into the log) at once.
    hub.flush().await;
    tokio::spawn(hub.run(rx));
    Ok(HubHandle { tx, epoch: loaded.epoch })
}

fn new_epoch() -> String {
    format!("{:016x}", rand::random::<u64>())
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
                    if self.pending.is_some() {
                        self.persist(Commit::default()).await;
                    }
                }
            }
        }
    }

    async fn handle(&mut self, cmd: HubCmd) {
        match cmd {
            HubCmd::List { only, reply } => {
                let _ = reply.send(SessionsResponse {
                    sessions: self.published_sessions(only.as_ref()),
                    activity_states: self.published_activity(only.as_ref()),
                    sources: self.visible_sources(only.as_ref()),
                    seq: self.seq,
                });
            }
            HubCmd::Get { session_id, reply } => {
                let r = self.published.get(&session_id).cloned().ok_or_else(|| no_session(&session_id));
                let _ = reply.send(r);
            }
            HubCmd::Create { req, reply } => {
                let r = self.create(req).await;
                let _ = reply.send(r);
            }
            HubCmd::Rename { session_id, title, reply } => {
                let r = self.rename(&session_id, title).await;
                let _ = reply.send(r);
            }
            HubCmd::Delete { session_id, reply } => {
                let r = self.delete(&session_id).await;
                let _ = reply.send(r);
            }
            HubCmd::AddWorker { session_id, spec, reply } => {
                let r = self.add_worker(&session_id, spec).await;
                let _ = reply.send(r);
            }
            HubCmd::RemoveWorker { session_id, worker_id, reply } => {
                let r = self.remove_worker(&session_id, &worker_id).await;
                let _ = reply.send(r);
            }
            HubCmd::RestartPlan { session_id, worker_id, reply } => {
                let _ = reply.send(self.restart_plan(&session_id, &worker_id));
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
                let id = if outbox.push_text(self.sync_message(None, only.as_ref())).is_ok() {
                    self.subscribers.add(outbox, only)
                } else {
                    0
                };
                let _ = reply.send(id);
            }
            HubCmd::Filter { id, outbox, sessions } => {
                if self.subscribers.set_filter(id, sessions) {
                    let msg = self.sync_message(self.subscribers.filter(id), self.subscribers.only(id));
                    let _ = outbox.push_text(msg);
                }
            }
            HubCmd::RequestSync { outbox, since, only } => {
                // A replay is the unfiltered log (but for a session-restricted token): clients
                // that filter resync fully.
                let msg = match since.and_then(|s| self.replay_since(s, only.as_ref())) {
                    Some(deltas) => encode(&AppServerMsg::Replay(Replay { deltas, seq: self.seq })),
                    None => self.sync_message(None, only.as_ref()),
                };
                let _ = outbox.push_text(msg);
            }
            HubCmd::SourceResult { name, result } => {
                self.source_result(&name, result);
                self.flush().await;
            }
            HubCmd::Deltas { since, only, reply } => {
                let r = self
                    .replay_since(since, only.as_ref())
                    .map(|deltas| DeltasResponse { deltas, seq: self.seq })
                    .ok_or(HubError::Gone { since, oldest: self.log.front().map_or(self.seq, |d| d.seq) });
                let _ = reply.send(r);
            }
            HubCmd::GitResults { results } => {
                let now = now_iso();
                for (id, info) in results {
                    if let Some(rec) = self.records.get_mut(&id)
                        && (rec.session.repository != info.repository || rec.session.branch != info.branch)
                    {
                        rec.session.repository = info.repository;
                        rec.session.branch = info.branch;
                        rec.session.updated_at.clone_from(&now);
                    }
                }
                self.flush().await;
            }
            HubCmd::ScreenSaved { session_id, worker_id, bytes } => {
                self.screens.done(&(session_id, worker_id), bytes);
            }
            HubCmd::Shutdown { .. } => unreachable!("handled in run"),
        }
    }

    /// Pulls every worker's latest status into the session records.
    fn refresh(&mut self) {
        if self.stopping {
            return;
        }
        let now = now_iso();
        for (sid, rec) in &mut self.records {
            let mut changed = false;
            for w in &mut rec.session.workers {
                let Some(handle) = rec.handles.get(&w.id) else { continue };
                let st = handle.status().borrow().clone();
                let was_running = w.state == WorkerState::Running;
                if worker_from_status(w, &st) {
                    changed = true;
                    if was_running && st.exit.is_some() {
                        tracing::info!(session_id = %sid, worker_id = %w.id, exit_code = ?w.exit_code,
                            signal = ?w.signal, "worker exited");
                        save_screen(&self.store, sid, &w.id, handle);
                    }
                }
            }
            if changed {
                rec.session.updated_at.clone_from(&now);
            }
        }
    }

    fn current_activity(&self) -> ActivityMap {
        let mut map = ActivityMap::new();
        for (sid, rec) in &self.records {
            for w in &rec.session.workers {
                let activity = if self.stopping {
                    ActivityState::Exited
                } else {
                    rec.handles.get(&w.id).map_or(ActivityState::Unknown, |h| h.status().borrow().activity)
                };
                map.insert((sid.clone(), w.id.clone()), activity);
            }
        }
        map
    }

    /// Diffs what clients last saw against the state now; commits, then broadcasts the deltas.
    async fn flush(&mut self) {
        let started = std::time::Instant::now();
        self.refresh();
        let current: SessionMap =
            self.records.iter().map(|(id, r)| (id.clone(), r.session.clone())).collect();
        let activity = self.current_activity();
        let mut events = diff::diff(&self.published, &current, &self.published_activity, &activity);
        let sources: BTreeMap<String, SourceStatus> =
            self.sources.iter().map(|(k, v)| (k.clone(), v.status.clone())).collect();
        for (name, status) in &sources {
            // A read that changes nothing but `lastSuccess` is not news: clients see the new
            // time in the next sync or `GET /api/sessions`, not as a delta every poll.
            let same = self.published_sources.get(name).is_some_and(|p| {
                SourceStatus { last_success: status.last_success.clone(), ..p.clone() } == *status
            });
            if !same {
                events.push(DeltaEvent::SourceUpdated { name: name.clone(), source: status.clone() });
            }
        }
        metrics::histogram!(m::DELTA_COMPUTE_SECONDS).record(started.elapsed().as_secs_f64());
        self.published_sources = sources;
        if events.is_empty() {
            return;
        }
        record_gauges(&current, &activity);
        let timestamp = now_iso();
        let deltas: Vec<Delta> = events
            .into_iter()
            .map(|event| {
                self.seq += 1;
                Delta { seq: self.seq, timestamp: timestamp.clone(), event }
            })
            .collect();
        let mut commit = Commit { deltas: deltas.clone(), ..Commit::default() };
        for (id, session) in &current {
            if self.published.get(id) != Some(session)
                && let Some(rec) = self.records.get(id)
            {
                commit.upserts.push(StoredSession { session: session.clone(), env: rec.env.clone() });
            }
        }
        commit.deletes = self.published.keys().filter(|id| !current.contains_key(*id)).cloned().collect();
        // Written before broadcast. If the disk refuses, clients still get the truth and the
        // error is logged loudly (serving live state beats hiding it); the commit is retried.
        self.persist(commit).await;
        self.published = current;
        self.published_activity = activity;
        for delta in deltas {
            self.broadcast(&delta);
            self.log.push_back(delta);
        }
        while self.log.len() > self.config.delta_log {
            self.log.pop_front();
        }
    }

    fn broadcast(&mut self, delta: &Delta) {
        let frame = encode(&AppServerMsg::Delta(delta.clone()));
        let payload_size = frame.len();
        self.subscribers.send(delta, &frame);
        if let Some(n) = &self.notifier {
            n.offer(delta, frame.as_str());
        }
        let kind = delta.event.type_name();
        metrics::counter!(m::DELTAS, "type" => kind).increment(1);
        let session_id = delta.event.session_id().map_or("", |s| s.as_str());
        let client_count = self.subscribers.len();
        if kind == "worker-activity" {
            tracing::debug!(
                r#type = kind,
                sessionId = session_id,
                clientCount = client_count,
                payloadSize = payload_size,
                seq = delta.seq,
                "broadcast"
            );
        } else {
            tracing::info!(
                r#type = kind,
                sessionId = session_id,
                clientCount = client_count,
                payloadSize = payload_size,
                seq = delta.seq,
                "broadcast"
            );
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
        let due = self.screens.due(workers, self.config.screen_save_budget);
        for (sid, wid) in due {
            let Some(handle) = self.records.get(&sid).and_then(|r| r.handles.get(&wid)).cloned() else {
                continue;
            };
            let (store, tx) = (self.store.clone(), self.tx.clone());
            tokio::spawn(async move {
                let bytes = match handle.history().await {
                    // Not saved when the store's queue is full: tried again next round.
                    Ok(snap) => store
                        .save_screen(sid.clone(), wid.clone(), to_stored(&snap))
                        .then_some(snap.data.len()),
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
        self.poll_sources();
        crate::metrics::handle().run_upkeep();
        tokio::spawn(async move {
            let read_started = std::time::Instant::now();
            let results = tokio::task::spawn_blocking(move || {
                cwds.into_iter()
                    .map(|(id, cwd)| (id, super::git::read(std::path::Path::new(&cwd))))
                    .collect::<Vec<(SessionId, GitInfo)>>()
            })
            .await;
            metrics::histogram!(m::POLL_READ_SECONDS).record(read_started.elapsed().as_secs_f64());
            if let Ok(results) = results {
                let _ = tx.send(HubCmd::GitResults { results }).await;
            }
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
        let store = self.store.clone();
        let grace = self.config.worker.stop_grace;
        let stops = handles.into_iter().map(|(sid, wid, h)| {
            let store = store.clone();
            async move {
                // The saved screen and its offset are where the next gateway resumes.
                if let Ok(Ok(snap)) = tokio::time::timeout(grace, h.history()).await {
                    store.save_screen(sid, wid, to_stored(&snap));
                }
                if stop_workers {
                    h.stop().await;
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
