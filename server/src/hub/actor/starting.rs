//! Starting workers off the hub's task: a holder's start is a fork, an exec and its answer (a
//! few ms), so new sessions and added workers are planned on the hub (checks, names, limits),
//! their processes started in `spawn_blocking`, and the hub finishes when they report back
//! (`HubCmd::Started`); meanwhile it keeps serving every other message. Errors reach the caller
//! as before: a create whose workers could not all start creates nothing.

use super::*;
use crate::hub::HubError;
use crate::hub::git::GitInfo;
use crate::worker::WorkerError;
use crate::worker::pty::PtyProcess;
use tokio::sync::oneshot;

/// Sessions and workers being started off the hub (counted against the limits).
#[derive(Debug, Default)]
pub(super) struct Starting {
    /// Sessions being created.
    pub(super) sessions: usize,
    /// Workers whose process is being started.
    pub(super) workers: usize,
}

/// A start that finished off the hub, handed back to it.
pub(in crate::hub) enum Started {
    /// A new session: every worker started, or the first error.
    Create {
        session: Session,
        /// Its cwd's repository and branch, read while the workers started.
        git: GitInfo,
        worktree: Option<crate::worktree::WorktreeMeta>,
        env: BTreeMap<WorkerId, BTreeMap<String, String>>,
        planned: Vec<(Worker, SpawnSpec)>,
        results: Vec<Result<PtyProcess, WorkerError>>,
        reply: oneshot::Sender<Result<crate::hub::Created, HubError>>,
    },
    /// A worker added to a session.
    AddWorker {
        session_id: SessionId,
        worker: Worker,
        spawn: SpawnSpec,
        result: Result<PtyProcess, WorkerError>,
        reply: oneshot::Sender<Result<Worker, HubError>>,
    },
}

impl Hub {
    /// Checks the worker limit (counting workers still starting) and plans `spec` in `session`.
    pub(super) fn plan_worker(
        &self,
        session: &Session,
        spec: &WorkerSpec,
        planned_here: usize,
    ) -> Result<(Worker, SpawnSpec), HubError> {
        let workers: usize = self.records.values().map(|r| r.handles.len()).sum::<usize>()
            + self.starting.workers
            + planned_here;
        if workers >= self.config.max_workers {
            return Err(HubError::Limit(format!(
                "the gateway already has {workers} workers (--max-workers {})",
                self.config.max_workers
            )));
        }
        check_writable(session)?;
        self.spawn_spec(session, spec)
    }

    /// Starts the processes of `spawns` at once, off the hub, while `also` runs; `done` turns
    /// their results (and what `also` gave) into the command that finishes the job on the hub.
    pub(super) fn start_off_hub<T: Send + 'static>(
        &mut self,
        spawns: Vec<SpawnSpec>,
        also: impl std::future::Future<Output = T> + Send + 'static,
        done: impl FnOnce(Vec<Result<PtyProcess, WorkerError>>, T) -> Started + Send + 'static,
    ) {
        self.starting.workers += spawns.len();
        // Started here, on the hub: a spare holder gets its spec in this call, before anything
        // else of the request runs (`also`, the repository read, included), so the program's own
        // start overlaps the rest.
        let starts: Vec<_> = spawns.into_iter().map(|spec| WorkerHandle::start(&self.ctx, spec)).collect();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let (results, also) =
                futures_util::future::join(futures_util::future::join_all(starts), also).await;
            // The hub is gone only when the gateway stops; the processes then go with it.
            let _ = tx.send(HubCmd::Started(Box::new(done(results, also)))).await;
        });
    }

    /// Finishes a start on the hub.
    pub(super) async fn finish_start(&mut self, started: Started) {
        match started {
            Started::Create { mut session, git, worktree, env, planned, results, reply } => {
                self.starting.sessions -= 1;
                self.starting.workers -= results.len();
                session.repository = git.repository;
                session.branch = git.branch;
                let r = self.finish_create(session, worktree, env, planned, results).await;
                let _ = reply.send(r);
            }
            Started::AddWorker { session_id, worker, spawn, result, reply } => {
                self.starting.workers -= 1;
                let r = self.finish_add_worker(&session_id, worker, spawn, result).await;
                let _ = reply.send(r);
            }
        }
    }

    /// The actor of a started process (named in the log by session and worker).
    fn started_handle(
        &self,
        session_id: &SessionId,
        worker: &mut Worker,
        spawn: SpawnSpec,
        result: Result<PtyProcess, WorkerError>,
    ) -> Result<WorkerHandle, HubError> {
        let _span = tracing::info_span!("worker", session = %session_id, worker = %worker.id).entered();
        let handle = WorkerHandle::spawn_started(self.ctx.clone(), spawn, result?)?;
        worker_from_status(worker, &handle.status().borrow());
        tracing::info!(session_id = %session_id, worker_id = %worker.id, pid = ?worker.pid, "worker started");
        Ok(handle)
    }

    async fn finish_create(
        &mut self,
        mut session: Session,
        worktree: Option<crate::worktree::WorktreeMeta>,
        env: BTreeMap<WorkerId, BTreeMap<String, String>>,
        planned: Vec<(Worker, SpawnSpec)>,
        results: Vec<Result<PtyProcess, WorkerError>>,
    ) -> Result<crate::hub::Created, HubError> {
        let id = session.id.clone();
        let mut handles = BTreeMap::new();
        let mut failure = None;
        for ((mut worker, spawn), result) in planned.into_iter().zip(results) {
            match self.started_handle(&id, &mut worker, spawn, result) {
                Ok(handle) => {
                    handles.insert(worker.id.clone(), handle);
                    session.workers.push(worker);
                }
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        if let Some(e) = failure {
            // All or nothing: a session whose workers could not all start is not created.
            retire(handles.into_values().collect(), controlroom_protocol::close_code::DELETED);
            return Err(e);
        }
        let first = session.workers.first().and_then(|w| handles.get(&w.id).cloned());
        self.records.insert(id.clone(), Record { session, env, handles, worktree });
        self.flush().await;
        tracing::info!(session_id = %id, "session created");
        let session = self.publisher.published.get(&id).cloned().ok_or_else(|| no_session(&id))?;
        Ok(crate::hub::Created { session, first })
    }

    async fn finish_add_worker(
        &mut self,
        id: &SessionId,
        mut worker: Worker,
        spawn: SpawnSpec,
        result: Result<PtyProcess, WorkerError>,
    ) -> Result<Worker, HubError> {
        let handle = self.started_handle(id, &mut worker, spawn.clone(), result)?;
        let Some(rec) = self.records.get_mut(id) else {
            // Deleted while its worker started.
            retire(vec![handle], controlroom_protocol::close_code::DELETED);
            return Err(no_session(id));
        };
        // Another worker may have taken the name while this one started.
        let base = worker.name.clone();
        let mut n = 2;
        while rec.session.workers.iter().any(|w| w.name == worker.name) {
            worker.name = format!("{base}-{n}");
            n += 1;
        }
        rec.env.insert(worker.id.clone(), spawn.env);
        rec.handles.insert(worker.id.clone(), handle);
        rec.session.workers.push(worker.clone());
        rec.session.updated_at = now_iso();
        self.flush().await;
        Ok(self
            .publisher
            .published
            .get(id)
            .and_then(|s| s.workers.iter().find(|w| w.id == worker.id).cloned())
            .unwrap_or(worker))
    }
}
