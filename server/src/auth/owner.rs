//! The owner token as the running gateway sees it: `controlroom token --rotate --owner` renames a
//! new `DATA_DIR/token` into place, and the gateway notices the new file (checked on every owner
//! authentication and every [`super::scoped::SECRET_CHECK_INTERVAL`] once
//! the owner has authenticated), refuses the old token and cancels its generation, which closes
//! every connection that authenticated with it (4001) — the same path as a rotated signing secret.

use super::scoped::{FileStamp, SECRET_CHECK_INTERVAL};
use super::token::{TOKEN_FILE, read_token};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq as _;
use tokio_util::sync::CancellationToken;

struct Current {
    token: Arc<str>,
    stamp: Option<FileStamp>,
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
        let current = Current { token: token.into(), stamp, generation: CancellationToken::new() };
        Self { path, current: Arc::new(Mutex::new(current)), first_grant: Arc::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        // Plain assignments under the lock: a panic cannot leave `Current` half-written.
        self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Rereads the token file if it changed; a different token revokes the old generation. A
    /// file that cannot be read (or is exposed) keeps the old token, with an error logged.
    pub async fn refresh(&self) {
        let Some(path) = &self.path else { return };
        let stamp = tokio::fs::metadata(path).await.ok().map(|m| FileStamp::of(&m));
        if stamp.is_none() || stamp == self.lock().stamp {
            return;
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let token = match tokio::task::spawn_blocking(move || read_token(&dir)).await {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "could not reread the owner token; keeping the old one");
                // Logged once per change of the file, not on every request.
                self.lock().stamp = stamp;
                return;
            }
            Err(_) => return,
        };
        let mut cur = self.lock();
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

    /// Checks the file every `SECRET_CHECK_INTERVAL` until `stop`, so connections of a replaced
    /// token close even when nobody authenticates; starts once the owner has authenticated.
    pub fn watch(self, stop: CancellationToken) {
        if self.path.is_none() {
            return;
        }
        tokio::spawn(async move {
            tokio::select! {
                () = stop.cancelled() => return,
                () = self.first_grant.notified() => {}
            }
            let mut tick = tokio::time::interval(SECRET_CHECK_INTERVAL);
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = tick.tick() => self.refresh().await,
                }
            }
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
