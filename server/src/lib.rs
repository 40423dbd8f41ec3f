//! The controlroom gateway: HTTP + WebSocket API over PTY workers, with a poller that turns
//! every change into deltas, persisted in SQLite and broadcast to every client.
//!
//! `run` takes a bound listener and a shutdown future (as mini-redis does), so every test gets its
//! own gateway on an ephemeral port; `controlroom serve` and the embedded gateway call the same.

// The public facade is what the CLI (`src/`), the bench harness and the fuzz checks use: `run`,
// `ServeConfig` and the configuration files, `embedded`, the token helpers in `auth`, `holder`
// (`main` hands `__holder` to `holder::main_with_args` first thing) and `lock` (its error is
// `run`'s); everything else is crate-private.
mod api;
pub mod auth;
#[doc(hidden)]
pub mod bench_api;
pub mod config;
pub mod embedded;
pub mod file_config;
pub mod flag_values;
pub mod holder;
mod hub;
pub mod lock;
mod metrics;
mod outbound;
mod outbox;
pub mod presets;
mod store;

#[cfg(test)]
mod proptests;
pub(crate) mod time;
pub mod worker;
pub mod worktree;

use api::{listener, routes as http};
pub use auth::scoped;
pub use outbound::notify;

pub use config::ServeConfig;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// File in the data dir announcing a running gateway to local clients.
pub const GATEWAY_FILE: &str = "gateway.json";
/// SQLite's write-ahead log beside the database.
const DB_WAL_FILE: &str = "controlroom.db-wal";
/// SQLite's shared-memory index beside the database.
const DB_SHM_FILE: &str = "controlroom.db-shm";

/// Why the gateway could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Token file problems.
    #[error(transparent)]
    Token(#[from] auth::TokenError),
    /// Database problems.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// Hub start-up problems.
    #[error(transparent)]
    Hub(#[from] hub::HubError),
    /// `--tls-cert`/`--tls-key` problems.
    #[error(transparent)]
    Tls(#[from] listener::TlsError),
    /// Another gateway serves the data dir.
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    /// Socket or file problems.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// What `gateway.json` says.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct GatewayFile {
    /// Base URL, e.g. `http://127.0.0.1:7420` (`https://` with TLS).
    pub url: String,
    /// The gateway's process id.
    pub pid: u32,
    /// Its version.
    pub version: String,
    /// With TLS on: the certificate it serves (absolute path), so local clients can trust a
    /// self-signed one without being told.
    #[serde(rename = "tlsCert", default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
}

/// Where the gateway listens, known once it is bound.
#[derive(Debug, Clone)]
pub struct Ready {
    /// Base URL.
    pub url: String,
    /// The owner token in force.
    pub token: String,
}

/// Serves on `listener` until `shutdown` resolves; then closes sockets with 1001, stops workers,
/// flushes the store and removes `gateway.json`. `on_ready` is called once accepting.
pub async fn run(
    listener: TcpListener,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_ready: impl FnOnce(&Ready) + Send,
) -> Result<(), ServerError> {
    let config = Arc::new(config);
    // Large freed blocks (history snapshots) go back to the system instead of staying resident.
    worker::heap::tune();
    let token = match &config.token_override {
        Some(t) => {
            auth::ensure_data_dir(&config.data_dir)?;
            t.clone()
        }
        None => auth::load_or_create_token(&config.data_dir)?,
    };
    check_writable(&config.data_dir)?;
    // SQLite gives the -wal and -shm files the database's mode; files from before (or made
    // under a wide umask) are narrowed.
    for (name, create) in [(store::DB_FILE, true), (DB_WAL_FILE, false), (DB_SHM_FILE, false)] {
        auth::private_file(&config.data_dir.join(name), create)?;
    }
    let owner = auth::owner::OwnerKeeper::new(
        token.clone(),
        config.token_override.is_none().then_some(config.data_dir.as_path()),
    );
    let keeper = scoped::SecretKeeper::open(&config.data_dir)?;
    let tls = config.tls.as_ref().map(listener::tls_acceptor).transpose()?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServerError::Io { context: "reading the bound address".into(), source })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // Before the store is opened and any worker adopted: one gateway per data dir.
    let _lock = lock::lock(&config.data_dir, &local_url(scheme, addr))?;
    let store = store::Store::open(&config.data_dir, config.delta_log)?;
    let backend: Arc<dyn worker::pty::PtyBackend> = match &config.holder_exe {
        Some(exe) => Arc::new(
            holder::backend::HolderBackend::new(
                exe.clone(),
                &config.data_dir,
                config.holder_log,
                config.spare_holders,
                holder::backend::HolderTimings {
                    hello_timeout: config.holder_hello_timeout,
                    replenish_after: config.spare_replenish_after,
                    spare_retries: config.spare_retries,
                    spare_retry_wait: config.spare_retry_wait,
                },
            )
            .map_err(|source| ServerError::Io {
                context: format!("creating {}", config.data_dir.join(holder::WORKERS_DIR).display()),
                source,
            })?,
        ),
        None => Arc::new(worker::pty::PortablePty),
    };
    let ctx = worker::WorkerContext {
        config: Arc::new(config.worker.clone()),
        backend: backend.clone(),
        poke: Arc::default(),
    };
    let cancel = CancellationToken::new();
    metrics::handle();
    let notifier = match &config.notify.webhook {
        Some(_) => {
            let secret = auth::load_or_create_webhook_secret(&config.data_dir)?;
            let mut notify = config.notify.clone();
            notify.ca_files = config.outbound_ca.iter().cloned().chain(notify.ca_files).collect();
            notify::Notifier::start(&notify, secret, cancel.clone()).map_err(|e| ServerError::Io {
                context: "starting the webhook notifier".into(),
                source: std::io::Error::other(e),
            })?
        }
        None => None,
    };
    let hub = hub::start(config.clone(), hub::HubDeps { store: store.clone(), ctx, notifier }).await?;
    // After adoption (a spare is never one of the holders adopted), off the runtime.
    let spares = backend.clone();
    tokio::task::spawn_blocking(move || spares.replenish());
    let tracker = TaskTracker::new();
    let state = api::state::AppState {
        hub: hub.clone(),
        config: config.clone(),
        shutdown: cancel.clone(),
        tracker: tracker.clone(),
        app_clients: Arc::default(),
        worker_clients: Arc::default(),
        connections: Arc::new(tokio::sync::Semaphore::new(config.max_connections)),
        inflight: api::inflight::InflightBudget::new(config.max_inflight_messages),
    };
    keeper.clone().watch(cancel.clone(), config.secret_poll_interval);
    owner.clone().watch(cancel.clone(), config.secret_poll_interval);
    let auth = api::middleware::AuthState::new(owner, keeper, addr, &config);
    let app = http::router(state, auth);
    let url = format!("{scheme}://{addr}");
    let gateway_file = config.data_dir.join(GATEWAY_FILE);
    if config.write_gateway_file {
        let cert =
            config.tls.as_ref().map(|t| std::fs::canonicalize(&t.cert).unwrap_or_else(|_| t.cert.clone()));
        write_gateway_file(&gateway_file, &local_url(scheme, addr), cert)?;
    }
    tracing::info!(url = %url, data_dir = %config.data_dir.display(), "gateway listening");
    on_ready(&Ready { url, token });

    let stop = cancel.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down");
        stop.cancel();
    });
    let opts = listener::ListenOptions {
        header_timeout: config.header_timeout,
        body_timeout: config.body_timeout,
        max_http_connections: config.max_http_connections,
        tls,
    };
    // On a runtime worker, not on the thread that awaits `run` (`block_on`'s, outside the
    // workers): there every connection cost two wake-ups before its first read (a worker woke
    // that thread to accept, and it woke a worker for the connection's task); on a worker the
    // connection's task starts on the thread that accepted it.
    let serving = tokio::spawn(listener::serve(listener, app, opts, cancel.clone()));
    if let Err(e) = serving.await
        && e.is_panic()
    {
        std::panic::resume_unwind(e.into_panic());
    }
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
    hub.shutdown().await;
    backend.shutdown();
    store.close().await;
    if config.write_gateway_file {
        remove_gateway_file(&gateway_file);
    }
    tracing::info!("gateway stopped");
    Ok(())
}

/// The URL local clients use: a wildcard listen address (`0.0.0.0`, `::`) is reached through
/// loopback, which the Host check accepts and a certificate can name.
fn local_url(scheme: &str, addr: std::net::SocketAddr) -> String {
    match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => format!("{scheme}://127.0.0.1:{}", addr.port()),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => format!("{scheme}://[::1]:{}", addr.port()),
        _ => format!("{scheme}://{addr}"),
    }
}

/// Refuses a data dir that cannot be written (read-only mount, full disk) with a clear error,
/// instead of SQLite's "unable to open database file".
fn check_writable(dir: &Path) -> Result<(), ServerError> {
    let probe = dir.join(".write-check");
    std::fs::write(&probe, b"").and_then(|()| std::fs::remove_file(&probe)).map_err(|source| {
        ServerError::Io { context: format!("the data dir {} is not writable", dir.display()), source }
    })
}

fn write_gateway_file(path: &Path, url: &str, tls_cert: Option<PathBuf>) -> Result<(), ServerError> {
    let body = GatewayFile {
        url: url.into(),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").into(),
        tls_cert,
    };
    let text = serde_json::to_string_pretty(&body).unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or(GATEWAY_FILE);
    auth::token::write_private_atomically(dir, name, text.as_bytes()).map_err(|e| ServerError::Io {
        context: format!("writing {}", path.display()),
        source: std::io::Error::other(e.to_string()),
    })
}

/// Removes `gateway.json` only if it still names this process (another gateway may own it now).
fn remove_gateway_file(path: &PathBuf) {
    let ours = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<GatewayFile>(&t).ok())
        .is_some_and(|g| g.pid == std::process::id());
    if ours && let Err(e) = std::fs::remove_file(path) {
        tracing::warn!(error = %e, "could not remove gateway.json");
    }
}
