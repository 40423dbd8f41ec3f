//! The hub: the actor that owns every session, runs the poller and the delta engine, keeps the
//! delta log and broadcasts deltas to `/ws/app` subscribers.
//!
//! Everything that changes session state goes through `HubHandle`; the hub diffs what clients
//! last saw against the state now (one path for every change), commits the deltas to the store
//! and only then broadcasts them. Workers never wait on the hub: they publish their status on a
//! watch channel and poke a shared `Notify`; the hub reads the statuses when poked.

mod actor;
pub(crate) mod diff;
pub(crate) mod field_limits;
pub(crate) mod git;
mod screen_saves;
pub(crate) mod sources;
mod subscribers;

use crate::outbox::OutboxSender;
use crate::store::{Store, StoreError};
use crate::worker::{SpawnSpec, WorkerError, WorkerHandle};
use crate::worktree::{WorktreeConfig, WorktreeError, WorktreeMeta};
use controlroom_protocol::{
    CreateSession, DeltasResponse, Session, SessionId, SessionsResponse, Worker, WorkerId, WorkerSpec,
};
use std::collections::BTreeSet;
use tokio::sync::{mpsc, oneshot};

pub(crate) use actor::start;
pub use subscribers::SubscriberId;

/// Commands queued for the hub before senders wait.
const HUB_QUEUE: usize = 256;

/// Errors the hub reports to HTTP and WebSocket handlers.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// No such session or worker.
    #[error("{0}")]
    NotFound(String),
    /// The request is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The session comes from a source and cannot be changed here.
    #[error("{0}")]
    ReadOnly(String),
    /// A configured limit (`--max-sessions`, `--max-workers`) is reached.
    #[error("{0}")]
    Limit(String),
    /// The worker refused.
    #[error(transparent)]
    Worker(#[from] WorkerError),
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `since` is older than the delta log keeps.
    #[error("seq {since} is older than the delta log (oldest kept: {oldest})")]
    Gone {
        /// What the client asked for.
        since: u64,
        /// The oldest seq still kept.
        oldest: u64,
    },
    /// The hub has stopped (gateway shutting down).
    #[error("the gateway is shutting down")]
    Stopped,
    /// A session's worktree could not be made or removed.
    #[error(transparent)]
    Worktree(#[from] WorktreeError),
}

/// A session just created (stored), and its first worker's handle (`None` without workers).
#[derive(Debug)]
pub struct Created {
    /// The session as `POST /api/sessions` answers it.
    pub session: Session,
    /// The actor of `session.workers[0]`.
    pub first: Option<WorkerHandle>,
}

/// What a restart needs: the worker and the spec it was started with.
pub struct RestartPlan {
    /// The worker's actor.
    pub handle: WorkerHandle,
    /// Its original spec.
    pub spec: SpawnSpec,
}

/// A session's cwd's repository read, not started until polled.
type GitRead = std::pin::Pin<Box<dyn std::future::Future<Output = git::GitInfo> + Send>>;

enum HubCmd {
    /// A start of workers off the hub finished (sent by the hub's own start task).
    Started(Box<actor::Started>),
    List {
        only: Option<SessionId>,
        reply: oneshot::Sender<SessionsResponse>,
    },
    Get {
        session_id: SessionId,
        reply: oneshot::Sender<Result<Session, HubError>>,
    },
    Create {
        req: CreateSession,
        /// The cwd's repository, read off the hub task once the workers' starts are under way
        /// (polled in their task, never on the hub task).
        git: GitRead,
        /// The worktree made for it before the command was sent (`req.cwd` is in it).
        worktree: Option<WorktreeMeta>,
        reply: oneshot::Sender<Result<Created, HubError>>,
    },
    Rename {
        session_id: SessionId,
        title: String,
        reply: oneshot::Sender<Result<Session, HubError>>,
    },
    Delete {
        session_id: SessionId,
        reply: oneshot::Sender<Result<(), HubError>>,
    },
    AddWorker {
        session_id: SessionId,
        spec: WorkerSpec,
        reply: oneshot::Sender<Result<Worker, HubError>>,
    },
    RenameWorker {
        session_id: SessionId,
        worker_id: WorkerId,
        name: String,
        reply: oneshot::Sender<Result<Worker, HubError>>,
    },
    RemoveWorker {
        session_id: SessionId,
        worker_id: WorkerId,
        reply: oneshot::Sender<Result<(), HubError>>,
    },
    RestartPlan {
        session_id: SessionId,
        worker_id: WorkerId,
        reply: oneshot::Sender<Result<RestartPlan, HubError>>,
    },
    /// Commits every change now (a worker's exit among them); answers whether the store has
    /// them all.
    Commit {
        reply: oneshot::Sender<bool>,
    },
    WorkerModel {
        session_id: SessionId,
        worker_id: WorkerId,
        reply: oneshot::Sender<Result<Worker, HubError>>,
    },
    Handle {
        session_id: SessionId,
        worker_id: WorkerId,
        reply: oneshot::Sender<Result<WorkerHandle, HubError>>,
    },
    Subscribe {
        outbox: OutboxSender,
        only: Option<SessionId>,
        reply: oneshot::Sender<SubscriberId>,
    },
    Filter {
        id: SubscriberId,
        outbox: OutboxSender,
        sessions: Option<BTreeSet<SessionId>>,
    },
    SourceResult {
        name: String,
        result: Result<Vec<sources::SourceItem>, sources::SourceError>,
    },
    RequestSync {
        outbox: OutboxSender,
        since: Option<u64>,
        only: Option<SessionId>,
    },
    Deltas {
        since: u64,
        only: Option<SessionId>,
        reply: oneshot::Sender<Result<DeltasResponse, HubError>>,
    },
    GitResults {
        results: Vec<(SessionId, git::GitInfo)>,
    },
    /// A screen save of the schedule finished: `bytes` written, `None` if it failed.
    ScreenSaved {
        session_id: SessionId,
        worker_id: WorkerId,
        bytes: Option<usize>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
    /// A session and the worktree the gateway made for it, if any.
    WorktreeOf {
        session_id: SessionId,
        reply: oneshot::Sender<Result<(Session, Option<WorktreeMeta>), HubError>>,
    },
    /// A round of change counts finished (`None`: that count failed).
    GitCounts {
        results: Vec<(SessionId, Option<controlroom_protocol::SessionGit>)>,
    },
}

/// A new session's cwd when the request names none: the gateway's home directory.
fn default_session_cwd() -> String {
    std::env::var("HOME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "/".into())
}

/// Cheap, cloneable handle to the hub actor.
#[derive(Clone)]
pub struct HubHandle {
    tx: mpsc::Sender<HubCmd>,
    epoch: String,
    git: git::GitReads,
    /// The worktree settings (creating a worktree happens on the handle's side, never on the hub).
    worktree: WorktreeConfig,
}

impl HubHandle {
    async fn call<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> HubCmd) -> Result<T, HubError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| HubError::Stopped)?;
        rx.await.map_err(|_| HubError::Stopped)
    }

    /// The data dir's epoch.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Every session, their activity and the seq they reflect.
    ///
    /// With `only` (a session-restricted token) just that session.
    pub async fn list(&self, only: Option<SessionId>) -> Result<SessionsResponse, HubError> {
        self.call(|reply| HubCmd::List { only, reply }).await
    }

    /// One session.
    pub async fn get(&self, session_id: SessionId) -> Result<Session, HubError> {
        self.call(|reply| HubCmd::Get { session_id, reply }).await?
    }

    /// Creates a session and starts its workers; with `req.worktree`, in a new git worktree
    /// made first (and removed again when the session cannot be created).
    pub async fn create(&self, req: CreateSession) -> Result<Session, HubError> {
        self.create_attached(req).await.map(|c| c.session)
    }

    /// [`HubHandle::create`], also handing back the first worker's handle (`/ws/new` attaches to
    /// it without asking the hub again, which by then may be committing the worker's next change).
    pub async fn create_attached(&self, mut req: CreateSession) -> Result<Created, HubError> {
        let cwd = req.cwd.get_or_insert_with(default_session_cwd);
        let worktree = match req.worktree.take() {
            Some(w) => {
                field_limits::check("the branch", &w.branch, crate::config::DEFAULT_MAX_TITLE_BYTES)?;
                let (meta, start) =
                    crate::worktree::create(&self.worktree, cwd, &w.branch, w.base.as_deref()).await?;
                *cwd = start;
                Some(meta)
            }
            None => None,
        };
        // Read while the workers start, not before: the read is a blocking-pool round trip, and
        // it begins only once a spare holder has its spec (the future is polled after).
        let (reads, path) = (self.git.clone(), std::path::PathBuf::from(cwd.as_str()));
        let git: GitRead = Box::pin(async move { reads.read_one(path).await });
        let made = worktree.clone();
        let r = self.call(|reply| HubCmd::Create { req, git, worktree, reply }).await.and_then(|r| r);
        if let (Err(_), Some(meta)) = (&r, &made) {
            // Nothing half-made: the session was refused, so its worktree goes too.
            crate::worktree::discard(&self.worktree, meta).await;
        }
        r
    }

    /// A session with the worktree the gateway made for it, if any.
    pub async fn worktree_of(
        &self,
        session_id: SessionId,
    ) -> Result<(Session, Option<WorktreeMeta>), HubError> {
        self.call(|reply| HubCmd::WorktreeOf { session_id, reply }).await?
    }

    /// The worktree settings.
    pub fn worktree_config(&self) -> &WorktreeConfig {
        &self.worktree
    }

    /// Renames a session.
    pub async fn rename(&self, session_id: SessionId, title: String) -> Result<Session, HubError> {
        self.call(|reply| HubCmd::Rename { session_id, title, reply }).await?
    }

    /// Deletes a session; its workers are stopped in the background.
    pub async fn delete(&self, session_id: SessionId) -> Result<(), HubError> {
        self.call(|reply| HubCmd::Delete { session_id, reply }).await?
    }

    /// Adds and starts a worker.
    pub async fn add_worker(&self, session_id: SessionId, spec: WorkerSpec) -> Result<Worker, HubError> {
        self.call(|reply| HubCmd::AddWorker { session_id, spec, reply }).await?
    }

    /// Renames a worker (names are unique within a session).
    pub async fn rename_worker(
        &self,
        session_id: SessionId,
        worker_id: WorkerId,
        name: String,
    ) -> Result<Worker, HubError> {
        self.call(|reply| HubCmd::RenameWorker { session_id, worker_id, name, reply }).await?
    }

    /// Removes a worker; it is stopped in the background.
    pub async fn remove_worker(&self, session_id: SessionId, worker_id: WorkerId) -> Result<(), HubError> {
        self.call(|reply| HubCmd::RemoveWorker { session_id, worker_id, reply }).await?
    }

    /// Stops a worker if it runs, starts it again with its spec, and returns its new model.
    pub async fn restart_worker(
        &self,
        session_id: SessionId,
        worker_id: WorkerId,
    ) -> Result<Worker, HubError> {
        let (sid, wid) = (session_id.clone(), worker_id.clone());
        let plan =
            self.call(|reply| HubCmd::RestartPlan { session_id: sid, worker_id: wid, reply }).await??;
        // Stopping waits up to the grace period, so it happens here, not in the hub's loop.
        if plan.handle.status().borrow().exit.is_none() {
            plan.handle.stop().await;
        }
        // The exit is committed before the restart tells its holder it is recorded (the holder
        // then forgets it and ends): a crash in between leaves the exit in the store or with the
        // holder, never lost.
        if !self.call(|reply| HubCmd::Commit { reply }).await? {
            return Err(HubError::Invalid(
                "the worker's exit could not be recorded (the store refuses writes); not restarted".into(),
            ));
        }
        plan.handle.restart(plan.spec, true).await?;
        self.call(|reply| HubCmd::WorkerModel { session_id, worker_id, reply }).await?
    }

    /// Stops a worker's program (SIGHUP, SIGKILL after the grace period) and keeps the worker,
    /// `exited` and restartable with [`Self::restart_worker`]; returns its model. A worker that
    /// has exited already is left as it is.
    pub async fn stop_worker(&self, session_id: SessionId, worker_id: WorkerId) -> Result<Worker, HubError> {
        let handle = self.worker(session_id.clone(), worker_id.clone()).await?;
        // Stopping waits up to the grace period, so it happens here, not in the hub's loop.
        handle.stop().await;
        self.call(|reply| HubCmd::WorkerModel { session_id, worker_id, reply }).await?
    }

    /// The actor of a worker, for attaching, input and screen reads.
    pub async fn worker(&self, session_id: SessionId, worker_id: WorkerId) -> Result<WorkerHandle, HubError> {
        self.call(|reply| HubCmd::Handle { session_id, worker_id, reply }).await?
    }

    /// Queues a `sessions-sync` into `outbox` and subscribes it to every later delta; with
    /// `only` (a session-restricted token), for good, to that session alone.
    pub async fn subscribe(
        &self,
        outbox: OutboxSender,
        only: Option<SessionId>,
    ) -> Result<SubscriberId, HubError> {
        self.call(|reply| HubCmd::Subscribe { outbox, only, reply }).await
    }

    /// Limits subscriber `id` to `sessions` (`None`: all) and queues a `sessions-sync` of what it
    /// now follows into `outbox`, in delta order.
    pub async fn set_filter(
        &self,
        id: SubscriberId,
        outbox: OutboxSender,
        sessions: Option<Vec<SessionId>>,
    ) -> Result<(), HubError> {
        let sessions = sessions.map(|s| s.into_iter().collect());
        self.tx.send(HubCmd::Filter { id, outbox, sessions }).await.map_err(|_| HubError::Stopped)
    }

    /// Queues a `sessions-sync`, or with `since` a `replay`, into `outbox` in delta order.
    /// With `only` (a session-restricted token) both are limited to that session.
    pub async fn request_sync(
        &self,
        outbox: OutboxSender,
        since: Option<u64>,
        only: Option<SessionId>,
    ) -> Result<(), HubError> {
        self.tx.send(HubCmd::RequestSync { outbox, since, only }).await.map_err(|_| HubError::Stopped)
    }

    /// The deltas after `since` (with `only`, those of that session).
    pub async fn deltas(&self, since: u64, only: Option<SessionId>) -> Result<DeltasResponse, HubError> {
        self.call(|reply| HubCmd::Deltas { since, only, reply }).await?
    }

    /// Marks running workers `gateway-stopped`, saves screens, stops every worker.
    pub async fn shutdown(&self) {
        let _ = self.call(|reply| HubCmd::Shutdown { reply }).await;
    }
}

/// Things the hub needs besides its config, for `start`.
pub(crate) struct HubDeps {
    pub store: Store,
    pub ctx: crate::worker::WorkerContext,
    pub notifier: Option<crate::outbound::notify::Notifier>,
}
