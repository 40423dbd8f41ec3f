//! The owner token as the running gateway sees it: `controlroom token --rotate --owner` renames a
//! new `DATA_DIR/token` into place, and the gateway notices the new file (an inotify watch read
//! on every owner authentication and woken by the change; without inotify, the metadata compared
//! on every owner authentication and every `--secret-poll-interval` once the owner has
//! authenticated), refuses the old token and cancels its generation, which closes every
//! connection that authenticated with it (4001) — the same path as a rotated signing secret.

use super::file_watch::{FileStamp, FileWatch, Held, WhenMissing, changed_since, reread};
use super::scoped::follow;
use super::token::{TOKEN_FILE, read_token};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq as _;
use tokio_util::sync::CancellationToken;

struct Current {
    token: Arc<str>,
    /// The file as last read (compared while there is no inotify watch).
    stamp: Option<FileStamp>,
    /// The watch's change count the token was read after.
    seen: u64,
    generation: CancellationToken,
}

/// The owner token in force, reloaded when its file is replaced.
#[derive(Clone)]
pub struct OwnerKeeper {
    /// `None` when the token came from `CONTROLROOM_TOKEN` (no file to watch).
    path: Option<PathBuf>,
    // Every owner authentication reads it and a rotation (rare) replaces it; a std Mutex held
    // for a clone or a swap, never across an await.
    current: Arc<Mutex<Current>>,
    /// Signalled when the owner first authenticates: until then no connection depends on the
    /// token, so `watch` keeps no timer.
    first_grant: Arc<tokio::sync::Notify>,
    /// Changes to the file, as inotify reports them; `None`: its metadata is compared instead
    /// (or there is no file).
    watch: Option<Arc<FileWatch>>,
}

impl std::fmt::Debug for OwnerKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnerKeeper").field("path", &self.path).finish_non_exhaustive()
    }
}

impl OwnerKeeper {
    /// Keeps `token`; with `data_dir`, follows `DATA_DIR/token` (without, the token is fixed).
    pub fn new(token: String, data_dir: Option<&Path>) -> Self {
        let path = data_dir.map(|d| d.join(TOKEN_FILE));
        let stamp = path.as_ref().and_then(|p| std::fs::metadata(p).ok()).map(|m| FileStamp::of(&m));
        let watch = path.as_deref().and_then(FileWatch::new).map(Arc::new);
        // Counts from here on: `token` is what the caller read from the file just before.
        let seen = watch.as_ref().map_or(0, |w| w.changes());
        let current = Current { token: token.into(), stamp, seen, generation: CancellationToken::new() };
        Self { path, current: Arc::new(Mutex::new(current)), first_grant: Arc::default(), watch }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        // Plain assignments under the lock: a panic cannot leave `Current` half-written.
        self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Rereads the token file if it changed; a different token revokes the old generation. A
    /// file that cannot be read (or is exposed) keeps the old token, with an error logged. With
    /// the inotify watch this costs one non-blocking read while nothing changed.
    pub async fn refresh(&self) {
        let Some(path) = &self.path else { return };
        let held = {
            let cur = self.lock();
            Held { seen: cur.seen, stamp: cur.stamp }
        };
        let Some(seen) = changed_since(self.watch.as_deref(), path, held, WhenMissing::KeepOld).await else {
            return;
        };
        let Some((read, stamp)) = reread(path, read_token).await else { return };
        let token = match read {
            Ok(token) => token,
            Err(e) => {
                tracing::error!(error = %e, "could not reread the owner token; keeping the old one");
                // Logged once per change of the file, not on every request.
                let mut cur = self.lock();
                cur.stamp = stamp;
                cur.seen = cur.seen.max(seen);
                return;
            }
        };
        let mut cur = self.lock();
        if seen < cur.seen {
            // A refresh that started after a later change has applied what it read: this
            // read may be older.
            return;
        }
        cur.seen = seen;
        if *cur.token != *token {
            tracing::info!("owner token replaced; closing connections that used the old one");
            cur.generation.cancel();
            cur.generation = CancellationToken::new();
            cur.token = token.into();
        }
        cur.stamp = stamp;
    }

    /// `Some(generation)` when `offered` is the owner token in force (compared in constant time).
    pub async fn check(&self, offered: &str) -> Option<CancellationToken> {
        self.refresh().await;
        let cur = self.lock();
        let matches: bool = offered.as_bytes().ct_eq(cur.token.as_bytes()).into();
        if !matches {
            return None;
        }
        self.first_grant.notify_one();
        Some(cur.generation.clone())
    }

    /// Follows the file until `stop`, so connections of a replaced token close even when
    /// nobody authenticates: woken by the change itself (inotify), or, without a watch, by
    /// checking every `poll` (`--secret-poll-interval`). Starts once the owner has authenticated.
    pub fn watch(self, stop: CancellationToken, poll: std::time::Duration) {
        if self.path.is_none() {
            return;
        }
        tokio::spawn(async move {
            tokio::select! {
                () = stop.cancelled() => return,
                () = self.first_grant.notified() => {}
            }
            follow(self.watch.clone(), poll, stop, || self.refresh()).await;
        });
    }
}

/// Replaces `DATA_DIR/token` with a new random token (a new file renamed over the old one);
/// returns it. A running gateway refuses the old one from then on.
pub fn rotate_owner_token(data_dir: &Path) -> Result<String, super::TokenError> {
    super::token::replace_secret_file(data_dir, TOKEN_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_replaced_token_file_revokes_the_old_generation_and_admits_the_new_token() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = super::super::load_or_create_token(dir.path()).expect("token");
        let keeper = OwnerKeeper::new(old.clone(), Some(dir.path()));
        let generation = keeper.check(&old).await.expect("the old token is the owner");
        assert!(keeper.check("wrong").await.is_none());
        let new = rotate_owner_token(dir.path()).expect("rotate");
        assert_ne!(new, old);
        assert!(keeper.check(&old).await.is_none(), "the old token is refused at once");
        assert!(generation.is_cancelled(), "its connections are told to close");
        let fresh = keeper.check(&new).await.expect("the new token is the owner");
        assert!(!fresh.is_cancelled());
    }

    #[tokio::test]
    async fn an_overridden_token_is_fixed() {
        let keeper = OwnerKeeper::new("from-env".into(), None);
        assert!(keeper.check("from-env").await.is_some());
        keeper.refresh().await;
        assert!(keeper.check("from-env").await.is_some());
    }
}
