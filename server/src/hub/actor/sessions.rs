//! Session and worker mutations of the hub: creating, renaming and deleting sessions, starting,
//! removing and restarting workers, and the checks in front of them.

use super::*;
use crate::hub::field_limits;
use crate::worker::WorkerError;

impl Hub {
    pub(super) fn spawn_spec(
        &self,
        session: &Session,
        spec: &WorkerSpec,
    ) -> Result<(Worker, SpawnSpec), HubError> {
        let preset =
            match &spec.preset {
                Some(name) => Some(self.config.presets.get(name).ok_or_else(|| {
                    HubError::Invalid(format!("no preset {name:?} (see GET /api/presets)"))
                })?),
                None => None,
            };
        let preset_command = preset.map(|p| p.preset.command.clone()).filter(|c| !c.is_empty());
        let command = match spec.command.clone().or(preset_command) {
            Some(c) if c.is_empty() || c[0].is_empty() => {
                return Err(HubError::Invalid("command must name a program".into()));
            }
            Some(c) => c,
            None => vec![
                std::env::var("SHELL").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "/bin/sh".into()),
            ],
        };
        let cols = spec.cols.unwrap_or(DEFAULT_COLS);
        let rows = spec.rows.unwrap_or(DEFAULT_ROWS);
        let max = self.config.worker.max_terminal_size;
        if !crate::worker::size::fits(cols, rows, max) {
            return Err(HubError::Invalid(format!(
                "cols and rows must be within 1..={max} (got {cols}x{rows})"
            )));
        }
        let cwd = spec.cwd.clone().unwrap_or_else(|| session.cwd.clone());
        field_limits::check("cwd", &cwd, self.config.max_cwd_bytes)?;
        field_limits::check_command(&command, self.config.max_command_bytes)?;
        if let Some(name) = &spec.name {
            field_limits::check("the worker name", name, self.config.max_worker_name_bytes)?;
        }
        check_dir(&cwd)?;
        let named = spec.name.clone().filter(|n| !n.trim().is_empty());
        let base = named.or_else(|| preset.map(|p| p.preset.name.clone())).unwrap_or_else(|| {
            std::path::Path::new(&command[0])
                .file_name()
                .map_or("worker".into(), |n| n.to_string_lossy().into_owned())
        });
        let mut name = base.clone();
        let mut n = 2;
        while session.workers.iter().any(|w| w.name == name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        let worker = Worker {
            id: WorkerId::new(new_id('w')),
            name,
            kind: spec.kind.or(preset.map(|p| p.preset.kind)).unwrap_or(WorkerKind::Shell),
            command: command.clone(),
            cwd: cwd.clone(),
            state: WorkerState::Running,
            exit_code: None,
            signal: None,
            pid: None,
            cols,
            rows,
            started_at: now_iso(),
            preset: preset.map(|p| p.preset.name.clone()),
            notification: None,
            prompt: None,
        };
        let mut env = preset.map(|p| p.env.clone()).unwrap_or_default();
        env.extend(spec.env.clone().unwrap_or_default());
        let activity = preset.map(|p| p.rules.clone());
        let key = worker.id.as_str().to_owned();
        Ok((
            worker,
            SpawnSpec { key, command, cwd: PathBuf::from(cwd), env, cols, rows, activity, offset: 0 },
        ))
    }

    /// Checks and plans a new session, then starts its workers off the hub; `reply` is answered
    /// once they all started (or with the first error, creating nothing).
    pub(super) fn create(
        &mut self,
        req: CreateSession,
        git: crate::hub::GitRead,
        worktree: Option<crate::worktree::WorktreeMeta>,
        reply: tokio::sync::oneshot::Sender<Result<crate::hub::Created, HubError>>,
    ) {
        match self.plan_create(req) {
            Ok((session, env, planned)) => {
                self.starting.sessions += 1;
                let spawns = planned.iter().map(|(_, s)| s.clone()).collect();
                // The cwd's repository is read while the workers start (a session without
                // workers waits for the read alone).
                self.start_off_hub(spawns, git, move |results, git| starting::Started::Create {
                    session,
                    git,
                    worktree,
                    env,
                    planned,
                    results,
                    reply,
                });
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    /// A new session (not inserted yet), its workers' environments and its planned workers.
    #[allow(clippy::type_complexity)]
    fn plan_create(
        &self,
        req: CreateSession,
    ) -> Result<(Session, BTreeMap<WorkerId, BTreeMap<String, String>>, Vec<(Worker, SpawnSpec)>), HubError>
    {
        let title = req.title.trim().to_string();
        if title.is_empty() {
            return Err(HubError::Invalid("title must not be empty".into()));
        }
        field_limits::check("the title", &title, self.config.max_title_bytes)?;
        let local =
            self.records.values().filter(|r| r.session.source.is_none()).count() + self.starting.sessions;
        if local >= self.config.max_sessions {
            return Err(HubError::Limit(format!(
                "the gateway already has {local} sessions (--max-sessions {})",
                self.config.max_sessions
            )));
        }
        let cwd = match req.cwd {
            Some(c) => c,
            None => std::env::var("HOME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "/".into()),
        };
        field_limits::check("cwd", &cwd, self.config.max_cwd_bytes)?;
        check_dir(&cwd)?;
        let now = now_iso();
        let mut session = Session {
            id: SessionId::new(new_id('s')),
            title,
            cwd,
            // Filled in from the cwd's repository once read (`finish_create`).
            repository: None,
            branch: None,
            created_at: now.clone(),
            source: None,
            status: None,
            read_only: false,
            git: None,
            updated_at: now,
            workers: Vec::new(),
        };
        let mut env = BTreeMap::new();
        let mut planned = Vec::new();
        for spec in req.workers.unwrap_or_default() {
            let (worker, spawn) = self.plan_worker(&session, &spec, planned.len())?;
            env.insert(worker.id.clone(), spawn.env.clone());
            // Listed while planning so the next worker's name is unique; added for real once
            // started.
            session.workers.push(worker.clone());
            planned.push((worker, spawn));
        }
        session.workers.clear();
        Ok((session, env, planned))
    }

    pub(super) async fn rename(&mut self, id: &SessionId, title: String) -> Result<Session, HubError> {
        let title = title.trim().to_string();
        if title.is_empty() {
            return Err(HubError::Invalid("title must not be empty".into()));
        }
        field_limits::check("the title", &title, self.config.max_title_bytes)?;
        let rec = self.records.get_mut(id).ok_or_else(|| no_session(id))?;
        check_writable(&rec.session)?;
        if rec.session.title != title {
            rec.session.title = title;
            rec.session.updated_at = now_iso();
        }
        self.flush().await;
        self.publisher.published.get(id).cloned().ok_or_else(|| no_session(id))
    }

    pub(super) async fn delete(&mut self, id: &SessionId) -> Result<(), HubError> {
        check_writable(&self.records.get(id).ok_or_else(|| no_session(id))?.session)?;
        let rec = self.records.remove(id).ok_or_else(|| no_session(id))?;
        self.persistence.forget_session(id);
        self.flush().await;
        retire(rec.handles.into_values().collect(), controlroom_protocol::close_code::DELETED);
        tracing::info!(session_id = %id, "session deleted");
        Ok(())
    }

    /// Checks and plans a worker, then starts it off the hub; `reply` is answered once it
    /// started (or failed to).
    pub(super) fn add_worker(
        &mut self,
        id: &SessionId,
        spec: WorkerSpec,
        reply: tokio::sync::oneshot::Sender<Result<Worker, HubError>>,
    ) {
        let planned = self
            .records
            .get(id)
            .ok_or_else(|| no_session(id))
            .and_then(|rec| self.plan_worker(&rec.session, &spec, 0));
        match planned {
            Ok((worker, spawn)) => {
                let session_id = id.clone();
                let nothing = std::future::ready(());
                self.start_off_hub(vec![spawn.clone()], nothing, move |mut results, ()| {
                    starting::Started::AddWorker {
                        session_id,
                        worker,
                        spawn,
                        result: results.pop().unwrap_or_else(|| Err(WorkerError::Gone)),
                        reply,
                    }
                });
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    pub(super) async fn rename_worker(
        &mut self,
        id: &SessionId,
        wid: &WorkerId,
        name: String,
    ) -> Result<Worker, HubError> {
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err(HubError::Invalid("name must not be empty".into()));
        }
        field_limits::check("the worker name", &name, self.config.max_worker_name_bytes)?;
        let rec = self.records.get_mut(id).ok_or_else(|| no_session(id))?;
        check_writable(&rec.session)?;
        if rec.session.workers.iter().any(|w| w.name == name && &w.id != wid) {
            return Err(HubError::Invalid(format!("a worker named {name:?} is already in this session")));
        }
        let w = rec.session.workers.iter_mut().find(|w| &w.id == wid).ok_or_else(|| no_worker(id, wid))?;
        if w.name != name {
            w.name = name;
            rec.session.updated_at = now_iso();
        }
        self.flush().await;
        let published =
            self.publisher.published.get(id).and_then(|s| s.workers.iter().find(|w| &w.id == wid));
        published.cloned().ok_or_else(|| no_worker(id, wid))
    }

    pub(super) async fn remove_worker(&mut self, id: &SessionId, wid: &WorkerId) -> Result<(), HubError> {
        let rec = self.records.get_mut(id).ok_or_else(|| no_session(id))?;
        let handle = rec.handles.remove(wid).ok_or_else(|| no_worker(id, wid))?;
        rec.session.workers.retain(|w| &w.id != wid);
        rec.env.remove(wid);
        rec.session.updated_at = now_iso();
        self.persistence.forget_worker(id, wid);
        self.flush().await;
        retire(vec![handle], controlroom_protocol::close_code::DELETED);
        Ok(())
    }

    pub(super) fn restart_plan(&self, id: &SessionId, wid: &WorkerId) -> Result<RestartPlan, HubError> {
        let rec = self.records.get(id).ok_or_else(|| no_session(id))?;
        let handle = rec.handles.get(wid).cloned().ok_or_else(|| no_worker(id, wid))?;
        let w = rec.session.workers.iter().find(|w| &w.id == wid).ok_or_else(|| no_worker(id, wid))?;
        let mut command = w.command.clone();
        // A worker lost with its holder (a reboot) resumes where its preset says it can.
        if w.state == WorkerState::Exited
            && w.signal.as_deref() == Some(WORKER_LOST)
            && let Some(p) = w.preset.as_deref().and_then(|p| self.config.presets.get(p))
            && !p.preset.resume_args.is_empty()
        {
            command.extend(p.preset.resume_args.iter().cloned());
            tracing::info!(session_id = %id, worker_id = %wid, command = ?command, "resuming a lost worker");
        }
        let spec = SpawnSpec {
            key: wid.as_str().to_owned(),
            command,
            cwd: PathBuf::from(&w.cwd),
            env: rec.env.get(wid).cloned().unwrap_or_default(),
            cols: w.cols,
            rows: w.rows,
            activity: preset_rules(&self.config, w.preset.as_deref()),
            // The worker actor knows where its output ended.
            offset: 0,
        };
        Ok(RestartPlan { handle, spec })
    }
}

pub(super) fn new_id(prefix: char) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut id = String::with_capacity(11);
    id.push(prefix);
    for _ in 0..10 {
        id.push(ALPHABET[rand::random_range(0..ALPHABET.len())] as char);
    }
    id
}

pub(super) fn check_dir(cwd: &str) -> Result<(), HubError> {
    if std::path::Path::new(cwd).is_dir() {
        Ok(())
    } else {
        Err(HubError::Invalid(format!("cwd {cwd:?} is not a directory")))
    }
}

/// Refuses changes to sessions read from a source.
pub(super) fn check_writable(session: &Session) -> Result<(), HubError> {
    match &session.source {
        Some(source) if session.read_only => Err(HubError::ReadOnly(format!(
            "session {} comes from source {source:?} and is read-only",
            session.id
        ))),
        _ => Ok(()),
    }
}

pub(super) fn no_session(id: &SessionId) -> HubError {
    HubError::NotFound(format!("no session {id}"))
}

pub(super) fn no_worker(id: &SessionId, wid: &WorkerId) -> HubError {
    HubError::NotFound(format!("no worker {wid} in session {id}"))
}
