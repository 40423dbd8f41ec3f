//! Persistence: one SQLite file (WAL) in the data dir, owned by a dedicated thread.
//!
//! rusqlite is blocking, so the connection lives on its own `std::thread` and takes commands over
//! a bounded channel; callers await a oneshot reply. A delta is committed (in the same
//! transaction as the session rows it describes) before the hub broadcasts it.

use controlroom_protocol::{Delta, Session, SessionId, WorkerId};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tokio::sync::{mpsc, oneshot};

mod schema;

/// File name of the database inside the data dir.
pub const DB_FILE: &str = "controlroom.db";
/// Commands queued for the store thread before callers wait.
const STORE_QUEUE: usize = 256;

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused (disk full, read-only, corrupt …).
    #[error("database error in {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A stored row did not decode.
    #[error("stored data is unreadable: {0}")]
    Decode(#[from] serde_json::Error),
    /// The store thread is gone.
    #[error("the store has stopped")]
    Stopped,
    /// The file's schema cannot be used (written by a newer controlroom).
    #[error("database {path}: {source}")]
    Schema {
        /// The database file.
        path: PathBuf,
        /// Which versions.
        source: schema::SchemaError,
    },
}

/// A session as persisted: the public model plus what clients must not see (worker env).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSession {
    /// The session as last published.
    pub session: Session,
    /// Each worker's extra environment.
    #[serde(default)]
    pub env: BTreeMap<WorkerId, BTreeMap<String, String>>,
    /// The worktree the gateway made for the session, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<crate::worktree::WorktreeMeta>,
}

/// A worker's last screen, kept so it stays readable after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredScreen {
    /// Terminal output redrawing scrollback and screen.
    pub data: String,
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
    /// Stream offset it reflects.
    pub offset: u64,
}

/// Everything loaded at start-up.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Identifies this data dir's seq space.
    pub epoch: String,
    /// The last seq written.
    pub seq: u64,
    /// Every session.
    pub sessions: Vec<StoredSession>,
    /// Last screens by worker.
    pub screens: BTreeMap<WorkerId, StoredScreen>,
    /// The newest deltas, oldest first.
    pub deltas: Vec<Delta>,
}

/// One atomic write: session rows and the deltas that describe the change.
#[derive(Debug, Default)]
pub struct Commit {
    /// Sessions created or changed.
    pub upserts: Vec<StoredSession>,
    /// Sessions deleted (their screens go too).
    pub deletes: Vec<SessionId>,
    /// Deltas to append.
    pub deltas: Vec<Delta>,
}

impl Commit {
    /// Folds a later commit into this one (a refused commit waiting for its retry): deltas in
    /// order, the latest row of each session, deletions winning over earlier upserts. At most
    /// `keep_deltas` deltas are kept, as the log would keep no more anyway.
    pub fn then(mut self, later: Commit, keep_deltas: usize) -> Commit {
        for s in later.upserts {
            self.upserts.retain(|u| u.session.id != s.session.id);
            self.upserts.push(s);
        }
        for id in later.deletes {
            self.upserts.retain(|u| u.session.id != id);
            if !self.deletes.contains(&id) {
                self.deletes.push(id);
            }
        }
        self.deltas.extend(later.deltas);
        let excess = self.deltas.len().saturating_sub(keep_deltas);
        self.deltas.drain(..excess);
        self
    }
}

enum StoreCmd {
    Load {
        epoch_if_new: String,
        reply: oneshot::Sender<Result<Loaded, StoreError>>,
    },
    Commit {
        commit: Commit,
        reply: oneshot::Sender<Result<(), (StoreError, Commit)>>,
    },
    SaveScreen {
        session_id: SessionId,
        worker_id: WorkerId,
        screen: StoredScreen,
        /// Told whether the screen is committed.
        done: Option<oneshot::Sender<bool>>,
    },
    DeleteScreen {
        worker_id: WorkerId,
    },
    Close {
        reply: oneshot::Sender<()>,
    },
}

/// Handle to the store thread.
#[derive(Clone)]
pub struct Store {
    tx: mpsc::Sender<StoreCmd>,
}

impl Store {
    /// Opens (creating if needed) `DATA_DIR/controlroom.db` and starts the store thread.
    pub fn open(data_dir: &Path, delta_log: usize) -> Result<Self, StoreError> {
        let path = data_dir.join(DB_FILE);
        let db = Db::open(&path, delta_log)?;
        let (tx, rx) = mpsc::channel(STORE_QUEUE);
        std::thread::Builder::new().name("controlroom-store".into()).spawn(move || db.run(rx)).map_err(
            |e| StoreError::Sqlite { path, source: rusqlite::Error::ToSqlConversionFailure(e.into()) },
        )?;
        Ok(Self { tx })
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> StoreCmd,
    ) -> Result<T, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| StoreError::Stopped)?;
        rx.await.map_err(|_| StoreError::Stopped)?
    }

    /// Loads everything; sets the epoch to `epoch_if_new` on a fresh database.
    pub async fn load(&self, epoch_if_new: String) -> Result<Loaded, StoreError> {
        self.call(|reply| StoreCmd::Load { epoch_if_new, reply }).await
    }

    /// Writes sessions and deltas in one transaction. When SQLite refuses (disk full, I/O error)
    /// nothing of it is written and the commit comes back with the error, to be retried.
    pub async fn commit(&self, commit: Commit) -> Result<(), (StoreError, Option<Commit>)> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(StoreCmd::Commit { commit, reply }).await.map_err(|_| (StoreError::Stopped, None))?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err((e, commit))) => Err((e, Some(commit))),
            Err(_) => Err((StoreError::Stopped, None)),
        }
    }

    /// Saves a worker's last screen (fire and forget; failures are logged by the store thread).
    /// False when the store's queue was full and the screen was dropped. A screen older (by
    /// offset) than the stored one is not written: saves taken in one order may land in another.
    pub fn save_screen(&self, session_id: SessionId, worker_id: WorkerId, screen: StoredScreen) -> bool {
        self.queue_screen(session_id, worker_id, screen, None)
    }

    /// Saves a worker's last screen; the answer says whether it is committed (`false`: SQLite
    /// refused, see the log). `None` when the store's queue was full and the screen was dropped.
    /// A screen older (by offset) than the one stored is not written, and answers `true`: the
    /// store has a screen at least as new.
    pub fn save_screen_committed(
        &self,
        session_id: SessionId,
        worker_id: WorkerId,
        screen: StoredScreen,
    ) -> Option<oneshot::Receiver<bool>> {
        let (done, rx) = oneshot::channel();
        self.queue_screen(session_id, worker_id, screen, Some(done)).then_some(rx)
    }

    fn queue_screen(
        &self,
        session_id: SessionId,
        worker_id: WorkerId,
        screen: StoredScreen,
        done: Option<oneshot::Sender<bool>>,
    ) -> bool {
        if self.tx.try_send(StoreCmd::SaveScreen { session_id, worker_id, screen, done }).is_err() {
            tracing::warn!("store queue full; a worker screen was not saved this time");
            return false;
        }
        true
    }

    /// Forgets a worker's screen.
    pub fn delete_screen(&self, worker_id: WorkerId) {
        if self.tx.try_send(StoreCmd::DeleteScreen { worker_id }).is_err() {
            tracing::warn!("store queue full; a worker screen was not deleted");
        }
    }

    /// Finishes queued writes, checkpoints the WAL and closes the database.
    pub async fn close(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(StoreCmd::Close { reply }).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// SQLite integers are signed; our counters never get near `i64::MAX`.
fn to_sql(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

struct Db {
    conn: Connection,
    path: PathBuf,
    delta_log: usize,
}

impl Db {
    fn open(path: &Path, delta_log: usize) -> Result<Self, StoreError> {
        let err = |source| StoreError::Sqlite { path: path.to_path_buf(), source };
        let mut conn = Connection::open(path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        // NORMAL in WAL mode survives a process crash (kill -9); only power loss may drop the
        // last transactions, which is the usual trade for not fsyncing every delta.
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(err)?;
        schema::migrate(&mut conn).map_err(|e| match e {
            schema::SchemaError::Sqlite(source) => err(source),
            newer => StoreError::Schema { path: path.to_path_buf(), source: newer },
        })?;
        Ok(Self { conn, path: path.to_path_buf(), delta_log })
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), source }
    }

    fn run(mut self, mut rx: mpsc::Receiver<StoreCmd>) {
        while let Some(cmd) = rx.blocking_recv() {
            match cmd {
                StoreCmd::Load { epoch_if_new, reply } => {
                    let _ = reply.send(self.load(epoch_if_new));
                }
                StoreCmd::Commit { commit, reply } => {
                    let _ = reply.send(self.commit(&commit).map_err(|e| (e, commit)));
                }
                StoreCmd::SaveScreen { session_id, worker_id, screen, done } => {
                    let saved = self.save_screen(&session_id, &worker_id, &screen);
                    if let Err(e) = &saved {
                        tracing::error!(error = %e, worker_id = %worker_id, "could not save worker screen");
                    }
                    if let Some(done) = done {
                        let _ = done.send(saved.is_ok());
                    }
                }
                StoreCmd::DeleteScreen { worker_id } => {
                    if let Err(e) =
                        self.conn.execute("DELETE FROM screens WHERE worker_id = ?1", [worker_id.as_str()])
                    {
                        tracing::error!(error = %e, "could not delete worker screen");
                    }
                }
                StoreCmd::Close { reply } => {
                    if let Err(e) = self.conn.pragma_update(None, "wal_checkpoint", "TRUNCATE") {
                        tracing::warn!(error = %e, "WAL checkpoint failed at close");
                    }
                    let _ = reply.send(());
                    return;
                }
            }
        }
    }

    fn load(&mut self, epoch_if_new: String) -> Result<Loaded, StoreError> {
        let epoch: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        let epoch = match epoch {
            Some(e) => e,
            None => {
                self.conn
                    .execute("INSERT INTO meta (key, value) VALUES ('epoch', ?1)", [&epoch_if_new])
                    .map_err(|e| self.err(e))?;
                epoch_if_new
            }
        };
        let seq: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'seq'", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        let seq = seq.and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut sessions = Vec::new();
        {
            let mut stmt = self.conn.prepare("SELECT body FROM sessions").map_err(|e| self.err(e))?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(|e| self.err(e))?;
            for row in rows {
                let body = row.map_err(|e| self.err(e))?;
                sessions.push(serde_json::from_str::<StoredSession>(&body)?);
            }
        }
        sessions.sort_by(|a, b| {
            (a.session.created_at.as_str(), a.session.id.as_str())
                .cmp(&(b.session.created_at.as_str(), b.session.id.as_str()))
        });
        let mut screens = BTreeMap::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT worker_id, cols, rows, offset, data FROM screens")
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        StoredScreen {
                            cols: r.get(1)?,
                            rows: r.get(2)?,
                            offset: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                            data: r.get(4)?,
                        },
                    ))
                })
                .map_err(|e| self.err(e))?;
            for row in rows {
                let (id, screen) = row.map_err(|e| self.err(e))?;
                screens.insert(WorkerId::new(id), screen);
            }
        }
        let mut deltas = Vec::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT body FROM deltas ORDER BY seq DESC LIMIT ?1")
                .map_err(|e| self.err(e))?;
            let limit = i64::try_from(self.delta_log).unwrap_or(i64::MAX);
            let rows = stmt.query_map([limit], |r| r.get::<_, String>(0)).map_err(|e| self.err(e))?;
            for row in rows {
                let body = row.map_err(|e| self.err(e))?;
                deltas.push(serde_json::from_str::<Delta>(&body)?);
            }
        }
        deltas.reverse();
        Ok(Loaded { epoch, seq, sessions, screens, deltas })
    }

    fn commit(&mut self, commit: &Commit) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(err)?;
        for s in &commit.upserts {
            let body = serde_json::to_string(s)?;
            tx.execute(
                "INSERT INTO sessions (id, body) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                params![s.session.id.as_str(), body],
            )
            .map_err(err)?;
        }
        for id in &commit.deletes {
            tx.execute("DELETE FROM sessions WHERE id = ?1", [id.as_str()]).map_err(err)?;
            tx.execute("DELETE FROM screens WHERE session_id = ?1", [id.as_str()]).map_err(err)?;
        }
        if let Some(last) = commit.deltas.last() {
            for d in &commit.deltas {
                let body = serde_json::to_string(d)?;
                tx.execute("INSERT INTO deltas (seq, body) VALUES (?1, ?2)", params![to_sql(d.seq), body])
                    .map_err(err)?;
            }
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('seq', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [last.seq.to_string()],
            )
            .map_err(err)?;
            let keep_from = last.seq.saturating_sub(self.delta_log as u64);
            tx.execute("DELETE FROM deltas WHERE seq <= ?1", [to_sql(keep_from)]).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    fn save_screen(
        &mut self,
        session_id: &SessionId,
        worker_id: &WorkerId,
        s: &StoredScreen,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO screens (worker_id, session_id, cols, rows, offset, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(worker_id) DO UPDATE SET session_id = excluded.session_id, cols = excluded.cols,
                 rows = excluded.rows, offset = excluded.offset, data = excluded.data
                 WHERE excluded.offset >= screens.offset",
                params![worker_id.as_str(), session_id.as_str(), s.cols, s.rows, to_sql(s.offset), s.data],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use controlroom_protocol::DeltaEvent;

    fn session(id: &str) -> Session {
        Session {
            id: SessionId::new(id),
            title: format!("title {id}"),
            cwd: "/".into(),
            repository: None,
            branch: None,
            created_at: format!("2026-01-01T00:00:0{}Z", id.len()),
            source: None,
            status: None,
            read_only: false,
            git: None,
            updated_at: "2026-01-01T00:00:00Z".into(),
            workers: vec![],
        }
    }

    fn delta(seq: u64, s: &Session) -> Delta {
        Delta {
            seq,
            timestamp: "t".into(),
            event: DeltaEvent::SessionCreated { session_id: s.id.clone(), session: s.clone() },
        }
    }

    #[tokio::test]
    async fn a_committed_screen_is_confirmed_and_never_replaced_by_an_older_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), 3).expect("open");
        let _ = store.load("e".into()).await.expect("load");
        let (sid, wid) = (SessionId::new("s"), WorkerId::new("w"));
        let screen = |data: &str, offset| StoredScreen { data: data.into(), cols: 80, rows: 24, offset };
        let newer =
            store.save_screen_committed(sid.clone(), wid.clone(), screen("newer", 200)).expect("queued");
        assert!(newer.await.expect("answer"), "committed");
        // Taken earlier, landing later: the store keeps the newer screen (a holder may have let
        // go of what lies before it).
        let older =
            store.save_screen_committed(sid.clone(), wid.clone(), screen("older", 100)).expect("queued");
        assert!(older.await.expect("answer"));
        let loaded = store.load("e".into()).await.expect("load");
        assert_eq!(loaded.screens[&wid], screen("newer", 200));
        store.save_screen(sid, wid.clone(), screen("newest", 300));
        let loaded = store.load("e".into()).await.expect("load");
        assert_eq!(loaded.screens[&wid].offset, 300);
    }

    #[tokio::test]
    async fn sessions_deltas_and_screens_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), 3).expect("open");
        let first = store.load("epoch-1".into()).await.expect("load");
        assert_eq!((first.epoch.as_str(), first.seq), ("epoch-1", 0));
        let a = session("a");
        let b = session("bb");
        let mut env = BTreeMap::new();
        env.insert(WorkerId::new("w"), BTreeMap::from([("K".to_string(), "V".to_string())]));
        store
            .commit(Commit {
                upserts: vec![
                    StoredSession { session: a.clone(), env, worktree: None },
                    StoredSession { session: b.clone(), env: BTreeMap::new(), worktree: None },
                ],
                deletes: vec![],
                deltas: (1..=5).map(|i| delta(i, &a)).collect(),
            })
            .await
            .expect("commit");
        store
            .commit(Commit { upserts: vec![], deletes: vec![b.id.clone()], deltas: vec![delta(6, &b)] })
            .await
            .expect("commit");
        store.save_screen(
            a.id.clone(),
            WorkerId::new("w"),
            StoredScreen { data: "hi".into(), cols: 80, rows: 24, offset: 2 },
        );
        store.close().await;

        let store = Store::open(dir.path(), 3).expect("reopen");
        let loaded = store.load("epoch-2".into()).await.expect("load");
        assert_eq!(loaded.epoch, "epoch-1", "the epoch is kept");
        assert_eq!(loaded.seq, 6);
        assert_eq!(loaded.sessions.len(), 1);
        assert_eq!(loaded.sessions[0].session, a);
        assert_eq!(loaded.sessions[0].env[&WorkerId::new("w")]["K"], "V");
        assert_eq!(
            loaded.deltas.iter().map(|d| d.seq).collect::<Vec<_>>(),
            vec![4, 5, 6],
            "log keeps the last 3"
        );
        assert_eq!(loaded.screens[&WorkerId::new("w")].data, "hi");
    }

    #[test]
    fn a_refused_commit_folds_into_the_next() {
        let (a, b, c) = (session("a"), session("b"), session("c"));
        let stored = |s: &Session| StoredSession { session: s.clone(), env: BTreeMap::new(), worktree: None };
        let first =
            Commit { upserts: vec![stored(&a), stored(&b)], deletes: vec![], deltas: vec![delta(1, &a)] };
        let mut a2 = a.clone();
        a2.title = "a2".into();
        let later = Commit {
            upserts: vec![stored(&a2), stored(&c)],
            deletes: vec![b.id.clone()],
            deltas: vec![delta(2, &a2), delta(3, &c)],
        };
        let merged = first.then(later, 10);
        let ids: Vec<(&str, &str)> =
            merged.upserts.iter().map(|u| (u.session.id.as_str(), u.session.title.as_str())).collect();
        assert_eq!(ids, vec![("a", "a2"), ("c", "title c")], "latest row of each, deleted ones dropped");
        assert_eq!(merged.deletes, vec![b.id.clone()]);
        assert_eq!(merged.deltas.iter().map(|d| d.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        let capped = merged.then(Commit::default(), 2);
        assert_eq!(capped.deltas.iter().map(|d| d.seq).collect::<Vec<_>>(), vec![2, 3]);
    }

    #[tokio::test]
    async fn a_database_from_a_newer_version_is_refused_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = Connection::open(dir.path().join(DB_FILE)).expect("create");
        conn.pragma_update(None, "user_version", 2).expect("pragma");
        drop(conn);
        let err = Store::open(dir.path(), 10).err().expect("must refuse");
        let text = err.to_string();
        assert!(text.contains("controlroom.db") && text.contains("version 2"), "{text}");
    }

    #[tokio::test]
    async fn unwritable_dir_is_a_clear_error() {
        let err = Store::open(Path::new("/proc/definitely/not/here"), 10).err().expect("must fail");
        assert!(err.to_string().contains("controlroom.db"), "{err}");
    }
}
