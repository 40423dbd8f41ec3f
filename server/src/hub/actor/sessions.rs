//! Session and worker mutations of the hub: creating, renaming and deleting sessions, starting,
//! removing and restarting workers, and the checks in front of them.

use super::*;
use crate::hub::field_limits;

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
        if !TERMINAL_DIM_RANGE.contains(&cols) || !TERMINAL_DIM_RANGE.contains(&rows) {
            return Err(HubError::Invalid(format!(
                "cols and rows must be within 1..=1000 (got {cols}x{rows})"
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
        Ok((worker, SpawnSpec { key, command, cwd: PathBuf::from(cwd), env, cols, rows, activity }))
    }

    pub(super) fn start_worker(
        &mut self,
        session_id: &SessionId,
        spec: &WorkerSpec,
    ) -> Result<Worker, HubError> {
        let workers: usize = self.records.values().map(|r| r.handles.len()).sum();
        if workers >= self.config.max_workers {
            return Err(HubError::Limit(format!(
                "the gateway already has {workers} workers (--max-workers {})",
                self.config.max_workers
            )));
        }
        let rec = self.records.get(session_id).ok_or_else(|| no_session(session_id))?;
        check_writable(&rec.session)?;
        let (mut worker, spawn) = self.spawn_spec(&rec.session, spec)?;
        let handle = {
            // The worker actor's span is a child of this one: its log lines name the worker.
            let _span = tracing::info_span!("worker", session = %session_id, worker = %worker.id).entered();
            WorkerHandle::spawn(self.ctx.clone(), spawn.clone())?
        };
        worker_from_status(&mut worker, &handle.status().borrow());
        let rec = self.records.get_mut(session_id).ok_or_else(|| no_session(session_id))?;
        rec.env.insert(worker.id.clone(), spawn.env);
        rec.handles.insert(worker.id.clone(), handle);
        rec.session.workers.push(worker.clone());
        rec.session.updated_at = now_iso();
        tracing::info!(session_id = %session_id, worker_id = %worker.id, pid = ?worker.pid, "worker started");
        Ok(worker)
    }

    pub(super) async fn create(
        &mut self,
        req: CreateSession,
        git: GitInfo,
        worktree: Option<crate::worktree::WorktreeMeta>,
    ) -> Result<Session, HubError> {
        let title = req.title.trim().to_string();
        if title.is_empty() {
            return Err(HubError::Invalid("title must not be empty".into()));
        }
        field_limits::check("the title", &title, self.config.max_title_bytes)?;
        let local = self.records.values().filter(|r| r.session.source.is_none()).count();
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
        let id = SessionId::new(new_id('s'));
        let session = Session {
            id: id.clone(),
            title,
            cwd,
            repository: git.repository,
            branch: git.branch,
            created_at: now.clone(),
            source: None,
            status: None,
            read_only: false,
            git: None,
            updated_at: now,
            workers: Vec::new(),
        };
        self.records
            .insert(id.clone(), Record { session, env: BTreeMap::new(), handles: BTreeMap::new(), worktree });
        for spec in req.workers.unwrap_or_default() {
            if let Err(e) = self.start_worker(&id, &spec) {
                // All or nothing: a session whose workers could not all start is not created.
                if let Some(rec) = self.records.remove(&id) {
                    retire(rec.handles.into_values().collect(), controlroom_protocol::close_code::DELETED);
                }
                return Err(e);
            }
        }
        self.flush().await;
        tracing::info!(session_id = %id, "session created");
        self.publisher.published.get(&id).cloned().ok_or_else(|| no_session(&id))
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

    pub(super) async fn add_worker(&mut self, id: &SessionId, spec: WorkerSpec) -> Result<Worker, HubError> {
        let worker = self.start_worker(id, &spec)?;
        self.flush().await;
        Ok(self
            .publisher
            .published
            .get(id)
            .and_then(|s| s.workers.iter().find(|w| w.id == worker.id).cloned())
            .unwrap_or(worker))
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
