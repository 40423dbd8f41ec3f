//! Scoped tokens: HS256 JWTs signed with the gateway's secret (`DATA_DIR/token-secret`, 0600, kept
//! apart from the owner token), carrying an expiry, a scope (`read` or `write`) and optionally one
//! session. The algorithm is pinned: a header naming anything but `HS256` (`none` included) is
//! refused before the signature is looked at, and the signature is compared in constant time.
//!
//! `controlroom token --rotate` replaces the secret file; the running gateway notices the new file
//! (an inotify watch on the data dir, read on every scoped authentication and woken by the
//! change itself, `auth/file_watch.rs`; without inotify, the file's metadata compared on every
//! scoped authentication and every `--secret-poll-interval`) and cancels the old secret's
//! generation, which closes every connection that authenticated with it (4001).

use crate::auth::file_watch::{FileStamp, FileWatch, Held, WhenMissing, changed_since, reread};
use crate::auth::token::TokenError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use controlroom_protocol::SessionId;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

type HmacSha256 = Hmac<Sha256>;

/// File name of the signing secret inside the data dir.
pub const SECRET_FILE: &str = "token-secret";
/// Random bytes in a new secret.
const SECRET_BYTES: usize = 32;
/// Clock leeway when checking `exp` (the issue allows at most 5 s).
pub const EXPIRY_LEEWAY: Duration = Duration::from_secs(1);
/// Default `--secret-poll-interval`: how often the gateway looks for a rotated secret or owner
/// token file while nobody authenticates, where inotify is unavailable (with it, nothing polls).
pub const SECRET_CHECK_INTERVAL: Duration = Duration::from_millis(250);
/// The only algorithm accepted and produced.
const ALGORITHM: &str = "HS256";

/// What a scoped token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// See sessions and worker output; change nothing.
    Read,
    /// Everything the owner token allows (within the token's session, if any).
    Write,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
}

/// The claims of a scoped token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// `read` or `write`.
    pub scope: Scope,
    /// The one session this token may see, if restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<SessionId>,
}

/// Why a scoped token was refused; never includes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopedError {
    /// Not three base64url parts with JSON inside.
    #[error("malformed token")]
    Malformed,
    /// The header names another algorithm (`none` included).
    #[error("token algorithm {0:?} is refused; only HS256 is accepted")]
    Algorithm(String),
    /// The signature does not match the gateway's current secret.
    #[error("token signature does not match (wrong gateway, or the secret was rotated)")]
    Signature,
    /// `exp` has passed.
    #[error("token expired")]
    Expired,
}

/// Seconds since the Unix epoch now.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn sign(secret: &[u8], signing_input: &str) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(signing_input.as_bytes());
    mac
}

/// Mints a token for `claims` with `secret`.
pub fn mint(secret: &[u8], claims: &Claims) -> String {
    let header = Header { alg: ALGORITHM.into(), typ: Some("JWT".into()) };
    // Serializing these plain structs cannot fail.
    let h = B64.encode(serde_json::to_vec(&header).unwrap_or_default());
    let p = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
    let input = format!("{h}.{p}");
    let sig = B64.encode(sign(secret, &input).finalize().into_bytes());
    format!("{input}.{sig}")
}

/// Verifies `token` against `secret` at `now` (Unix seconds).
pub fn verify(token: &str, secret: &[u8], now: u64) -> Result<Claims, ScopedError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(ScopedError::Malformed);
    };
    let header: Header =
        B64.decode(h).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(ScopedError::Malformed)?;
    if header.alg != ALGORITHM {
        return Err(ScopedError::Algorithm(header.alg.chars().take(16).collect()));
    }
    let sig = B64.decode(s).map_err(|_| ScopedError::Malformed)?;
    let input_len = h.len() + 1 + p.len();
    sign(secret, &token[..input_len]).verify_slice(&sig).map_err(|_| ScopedError::Signature)?;
    let claims: Claims =
        B64.decode(p).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(ScopedError::Malformed)?;
    if now >= claims.exp.saturating_add(EXPIRY_LEEWAY.as_secs()) {
        return Err(ScopedError::Expired);
    }
    Ok(claims)
}

/// Why a grant does not allow a request (answered with 403 and this text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A write with a read-only token.
    #[error("this token is read-only")]
    ReadOnly,
    /// A path naming another session than the token's.
    #[error("this token is restricted to another session")]
    OtherSession,
    /// `POST /api/sessions` with a session-restricted token.
    #[error("a session-restricted token cannot create sessions")]
    CreateSession,
    /// `/metrics` with a session-restricted token.
    #[error("a session-restricted token cannot read gateway-wide metrics")]
    Metrics,
}

/// What one authenticated request or connection may do; put in the request's extensions.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Read or write.
    pub scope: Scope,
    /// The one session visible, if restricted.
    pub session: Option<SessionId>,
    /// When the credential stops working (Unix seconds, leeway included); `None` for the owner.
    pub ends_at: Option<u64>,
    /// Cancelled when the credential is revoked: the signing secret rotated (scoped tokens) or
    /// the owner token replaced (`controlroom token --rotate --owner`).
    pub revoked: Option<CancellationToken>,
    /// Whether the credential is the owner token (loader variables in worker specs need it).
    pub owner: bool,
}

impl Grant {
    /// The owner token's grant: everything, until the owner token is replaced (`revoked`).
    pub fn owner(revoked: Option<CancellationToken>) -> Self {
        Self { scope: Scope::Write, session: None, ends_at: None, revoked, owner: true }
    }

    /// Whether this grant may change things.
    pub fn can_write(&self) -> bool {
        self.scope == Scope::Write
    }

    /// The session filter for listings and deltas.
    pub fn only(&self) -> Option<&SessionId> {
        self.session.as_ref()
    }

    /// Whether `path` with `method` is allowed; `Err` says why not (answered with 403).
    pub fn permits(&self, method: &http::Method, path: &str) -> Result<(), Refusal> {
        // `/ws/new` is a GET (a WebSocket upgrade) that creates a session: a write, and a create.
        let creating = path == controlroom_protocol::WS_NEW_PATH;
        let reading = matches!(*method, http::Method::GET | http::Method::HEAD) && !creating;
        if !reading && !self.can_write() {
            return Err(Refusal::ReadOnly);
        }
        let Some(allowed) = &self.session else { return Ok(()) };
        let named = path
            .strip_prefix("/api/sessions/")
            .or_else(|| path.strip_prefix("/ws/session/"))
            .map(|rest| rest.split('/').next().unwrap_or_default());
        match named {
            // Ids are alphanumeric, so an encoded segment can never equal one: compare raw.
            Some(id) if id != allowed.as_str() => Err(Refusal::OtherSession),
            None if (path == "/api/sessions" && !reading) || creating => Err(Refusal::CreateSession),
            None if path == "/metrics" => Err(Refusal::Metrics),
            _ => Ok(()),
        }
    }

    /// How long until the grant ends, from now.
    pub fn remaining(&self) -> Option<Duration> {
        let end = self.ends_at?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Some(Duration::from_secs(end).saturating_sub(now))
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TokenError + '_ {
    move |source| TokenError::Io { path: path.display().to_string(), source }
}

fn new_secret_text() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::fill(&mut bytes);
    B64.encode(bytes)
}

/// Reads `DATA_DIR/token-secret`, creating it on first use; refuses a file readable by others.
pub fn load_or_create_secret(data_dir: &Path) -> Result<Vec<u8>, TokenError> {
    super::token::ensure_data_dir(data_dir)?;
    let path = data_dir.join(SECRET_FILE);
    match fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
        Ok(mut f) => {
            let text = new_secret_text();
            f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).map_err(io_err(&path))?;
            return Ok(text.into_bytes());
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err(&path)(e)),
    }
    read_secret(&path)
}

fn read_secret(path: &Path) -> Result<Vec<u8>, TokenError> {
    let mode = fs::metadata(path).map_err(io_err(path))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(TokenError::Exposed { path: path.display().to_string(), mode });
    }
    let text = fs::read_to_string(path).map_err(io_err(path))?.trim().to_string();
    if text.is_empty() {
        return Err(TokenError::Empty { path: path.display().to_string() });
    }
    Ok(text.into_bytes())
}

/// Replaces the secret (a new file renamed over the old one): every minted token stops working.
pub fn rotate_secret(data_dir: &Path) -> Result<(), TokenError> {
    super::token::ensure_data_dir(data_dir)?;
    super::token::write_private_atomically(data_dir, SECRET_FILE, new_secret_text().as_bytes())
}

/// Mints a token from the data dir's secret (creating the secret if needed).
pub fn mint_in(
    data_dir: &Path,
    scope: Scope,
    session: Option<SessionId>,
    ttl: Duration,
) -> Result<(String, Claims), TokenError> {
    let secret = load_or_create_secret(data_dir)?;
    let iat = unix_now();
    let claims = Claims { exp: iat.saturating_add(ttl.as_secs().max(1)), iat, scope, sid: session };
    Ok((mint(&secret, &claims), claims))
}

struct Current {
    secret: Vec<u8>,
    /// The file as last read (compared while there is no inotify watch).
    stamp: Option<FileStamp>,
    /// The watch's change count the secret was read after.
    seen: u64,
    generation: CancellationToken,
}

/// The gateway's view of the secret: reloaded when the file changes, and the generation of the
/// old secret cancelled so connections it authenticated close.
#[derive(Clone)]
pub struct SecretKeeper {
    path: PathBuf,
    // Shared because every authentication reads it and a rotation (rare) replaces it; a
    // std Mutex held for a clone or a swap, never across an await.
    current: Arc<Mutex<Current>>,
    /// Signalled when a scoped token is first accepted: until then no connection depends on the
    /// secret, so `watch` does not poll the file (an idle gateway keeps no timer for it).
    first_grant: Arc<tokio::sync::Notify>,
    /// Changes to the file, as inotify reports them; `None`: its metadata is compared instead.
    watch: Option<Arc<FileWatch>>,
}

impl std::fmt::Debug for SecretKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKeeper").field("path", &self.path).finish()
    }
}

impl SecretKeeper {
    /// Loads (or creates) the secret in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, TokenError> {
        // Made first, so the directory the watch is on exists.
        load_or_create_secret(data_dir)?;
        let path = data_dir.join(SECRET_FILE);
        // Counted before reading: a rotation after the count is a change the next refresh
        // reads, one before it is in what is read here.
        let watch = FileWatch::new(&path).map(Arc::new);
        let seen = watch.as_ref().map_or(0, |w| w.changes());
        let secret = load_or_create_secret(data_dir)?;
        let stamp = fs::metadata(&path).ok().map(|m| FileStamp::of(&m));
        let current = Current { secret, stamp, seen, generation: CancellationToken::new() };
        Ok(Self { path, current: Arc::new(Mutex::new(current)), first_grant: Arc::default(), watch })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        // A panic while holding this lock cannot leave `Current` half-written (plain assignments).
        self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reloads the secret if its file changed; a changed secret revokes the old generation.
    /// With the inotify watch this costs one non-blocking read while nothing changed.
    pub async fn refresh(&self) {
        let held = {
            let cur = self.lock();
            Held { seen: cur.seen, stamp: cur.stamp }
        };
        let Some(seen) = changed_since(self.watch.as_deref(), &self.path, held, WhenMissing::Reread).await
        else {
            return;
        };
        let Some((loaded, stamp)) = reread(&self.path, load_or_create_secret).await else { return };
        let secret = loaded.unwrap_or_else(|e| {
            tracing::error!(error = %e, "could not reload the token secret; refusing scoped tokens");
            Vec::new()
        });
        let mut cur = self.lock();
        if seen < cur.seen {
            // A refresh that started after a later change has applied what it read: this
            // read may be older. (Changes after `seen` was counted are read by the next one.)
            return;
        }
        cur.seen = seen;
        if cur.secret != secret {
            tracing::info!("token secret rotated; closing connections that used scoped tokens");
            cur.generation.cancel();
            cur.generation = CancellationToken::new();
            cur.secret = secret;
        }
        cur.stamp = stamp;
    }

    /// Verifies a scoped token against the current secret and turns it into a grant.
    pub async fn verify(&self, token: &str) -> Result<Grant, ScopedError> {
        self.refresh().await;
        let (secret, generation) = {
            let cur = self.lock();
            (cur.secret.clone(), cur.generation.clone())
        };
        if secret.is_empty() {
            return Err(ScopedError::Signature);
        }
        let claims = verify(token, &secret, unix_now())?;
        self.first_grant.notify_one();
        Ok(Grant {
            scope: claims.scope,
            session: claims.sid,
            ends_at: Some(claims.exp.saturating_add(EXPIRY_LEEWAY.as_secs())),
            revoked: Some(generation),
            owner: false,
        })
    }

    /// Follows the file until `stop`, so open connections of a rotated secret close even when
    /// nobody authenticates: woken by the change itself (inotify), or, without a watch, by
    /// checking every `poll` (`--secret-poll-interval`). Starts once a scoped token has been
    /// accepted (before that no connection depends on the secret).
    pub fn watch(self, stop: CancellationToken, poll: Duration) {
        tokio::spawn(async move {
            tokio::select! {
                () = stop.cancelled() => return,
                () = self.first_grant.notified() => {}
            }
            follow(self.watch.clone(), poll, stop, || self.refresh()).await;
        });
    }
}

/// Calls `refresh` whenever `watch` sees the file change, or every `poll` without a watch,
/// until `stop`: the loop both keepers' `watch` tasks run.
pub(super) async fn follow<F, Fut>(
    watch: Option<Arc<FileWatch>>,
    poll: Duration,
    stop: CancellationToken,
    refresh: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    match watch {
        Some(watch) => loop {
            tokio::select! {
                () = stop.cancelled() => break,
                () = watch.changed() => refresh().await,
            }
        },
        None => {
            let mut tick = tokio::time::interval(poll);
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = tick.tick() => refresh().await,
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "scoped_tests.rs"]
mod tests;
