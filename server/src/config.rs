//! Every limit and interval of the gateway, with its named default; `controlroom serve` has a flag
//! (and a `CONTROLROOM_*` variable) for each.

use crate::file_config::{FileConfig, SourceSection};
use crate::outbound::notify::NotifyConfig;
use crate::presets::Presets;
use crate::worker::WorkerConfig;
use crate::worker::detect::ActivityRules;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Default `--listen` address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7420";
/// Default `--poll-interval`.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// Default `--heartbeat`.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(30);
/// Default `--max-client-buffer`: bytes queued for one client before it is closed with 4008.
/// A flood fills 1 MiB in under 10 ms, so a client on a busy machine that merely missed a few
/// time slices was dropped and then sent a whole `history` (up to the 4 MiB scrollback) to
/// resync; 8 MiB (about 70 ms of a flood) drops only a client that really cannot keep up. The
/// memory is mostly shared: queued frames are encoded once and shared by every client of a
/// worker (or of `/ws/app`), so clients lagging on one worker hold at most one worker's worth.
pub const DEFAULT_MAX_CLIENT_BUFFER: usize = 8 * 1024 * 1024;
/// Default `--delta-log`: deltas kept for `request-sync since` and `/api/deltas`.
pub const DEFAULT_DELTA_LOG: usize = 10_000;
/// Default `--coalesce`: how long worker status changes are gathered before deltas go out.
pub const DEFAULT_COALESCE: Duration = Duration::from_millis(5);
/// Default `--max-bad-messages`: malformed messages tolerated before closing with 1008.
pub const DEFAULT_MAX_BAD_MESSAGES: u32 = 20;
/// Default `--max-app-message`: largest message a client may send on `/ws/app`.
pub const DEFAULT_MAX_APP_MESSAGE: usize = 64 * 1024;
/// Default `--max-worker-message`: largest message on a worker socket (fits a 10 MiB image in
/// base64 with room for the JSON around it).
pub const DEFAULT_MAX_WORKER_MESSAGE: usize = 16 * 1024 * 1024;
/// Default `--max-http-body`: largest HTTP request body.
pub const DEFAULT_MAX_HTTP_BODY: usize = 1024 * 1024;
/// Default `--ws-read-buffer`: initial read buffer of each WebSocket (tungstenite allocates
/// 128 KiB per connection otherwise; it still grows for a larger message).
pub const DEFAULT_WS_READ_BUFFER: usize = 4 * 1024;
/// Default `--ws-write-buffer`: bytes a WebSocket gathers before writing to the socket (every
/// message is flushed anyway; this only bounds how much is gathered).
pub const DEFAULT_WS_WRITE_BUFFER: usize = 8 * 1024;

/// Default `--max-http-connections`: TCP connections being served HTTP at once (a WebSocket
/// leaves this count when it upgrades; `--max-connections` counts it then). Past it a new
/// connection gets 503 and is closed, so clients that open connections and send nothing can
/// never use up the descriptors that workers' PTYs and the database need.
pub const DEFAULT_MAX_HTTP_CONNECTIONS: usize = 512;

/// Default `--max-connections`: open WebSockets (both endpoints) before upgrades get 503.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default `--max-sessions`.
pub const DEFAULT_MAX_SESSIONS: usize = 256;
/// Default `--max-workers`: workers across all sessions.
pub const DEFAULT_MAX_WORKERS: usize = 512;
/// Default `--header-timeout`: time a client has to send a request's headers (slowloris).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `--body-timeout`: time a client has, from its headers, to send the whole request body.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `--max-auth-failures`: refused tokens per peer address per window before 429.
pub const DEFAULT_MAX_AUTH_FAILURES: u32 = 20;
/// Default `--auth-failure-window`.
pub const DEFAULT_AUTH_FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Certificate and key for HTTPS/WSS (`--tls-cert`, `--tls-key`), PEM files.
#[derive(Debug, Clone)]
pub struct TlsPaths {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Everything `server::run` needs to know.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where the token, the database, images and `gateway.json` live.
    pub data_dir: PathBuf,
    /// Overrides the token file (`CONTROLROOM_TOKEN`).
    pub token_override: Option<String>,
    /// Period of the poller.
    pub poll_interval: Duration,
    /// Ping period; a socket that misses one is closed.
    pub heartbeat: Duration,
    /// Per-client outbound byte cap.
    pub max_client_buffer: usize,
    /// Deltas kept in the log.
    pub delta_log: usize,
    /// Coalescing delay for worker status changes.
    pub coalesce: Duration,
    /// Malformed messages tolerated per connection.
    pub max_bad_messages: u32,
    /// Largest client message on `/ws/app`.
    pub max_app_message: usize,
    /// Largest client message on a worker socket.
    pub max_worker_message: usize,
    /// Largest HTTP request body.
    pub max_http_body: usize,
    /// Initial WebSocket read buffer per connection.
    pub ws_read_buffer: usize,
    /// WebSocket write gathering size per connection.
    pub ws_write_buffer: usize,
    /// Extra `Origin` values browsers may connect from.
    pub allow_origins: Vec<String>,
    /// Extra `Host` values accepted (beyond loopback names and the bound address).
    pub allow_hosts: Vec<String>,
    /// Open WebSockets before new upgrades get 503.
    pub max_connections: usize,
    /// Connections being served HTTP at once (not yet upgraded); past it, 503 and close.
    pub max_http_connections: usize,
    /// Sessions before creating one more is refused.
    pub max_sessions: usize,
    /// Workers (all sessions) before starting one more is refused.
    pub max_workers: usize,
    /// Time allowed to send a request's headers.
    pub header_timeout: Duration,
    /// Time allowed, from the headers, to send the whole request body.
    pub body_timeout: Duration,
    /// Refused tokens per peer address per window before 429.
    pub max_auth_failures: u32,
    /// The failed-authentication window.
    pub auth_failure_window: Duration,
    /// Serve HTTPS/WSS with these.
    pub tls: Option<TlsPaths>,
    /// CA file trusted for every outbound `https://` request (webhook, http sources) beside the
    /// web PKI roots (`--outbound-ca`).
    pub outbound_ca: Option<PathBuf>,
    /// Per-worker limits.
    pub worker: WorkerConfig,
    /// Write `DATA_DIR/gateway.json` while serving.
    pub write_gateway_file: bool,
    /// Presets (built-ins and `[[presets]]`).
    pub presets: Arc<Presets>,
    /// External session sources (`[[sources]]`).
    pub sources: Vec<SourceSection>,
    /// The webhook notifier; off without a URL.
    pub notify: NotifyConfig,
    /// Run each worker in a holder process started from this executable (`EXE __holder`), so
    /// workers outlive the gateway; `None` keeps PTYs in the gateway's process (and workers
    /// stop with it), as library tests and benches do. `controlroom` always sets it.
    pub holder_exe: Option<PathBuf>,
    /// Output a holder keeps while no gateway is attached (`--holder-log`).
    pub holder_log: usize,
    /// Stop every worker when the gateway stops (`--stop-workers-on-exit`, tmux's kill-server).
    pub stop_workers_on_exit: bool,
}

impl ServeConfig {
    /// Defaults for everything but the data dir.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            token_override: None,
            poll_interval: DEFAULT_POLL_INTERVAL,
            heartbeat: DEFAULT_HEARTBEAT,
            max_client_buffer: DEFAULT_MAX_CLIENT_BUFFER,
            delta_log: DEFAULT_DELTA_LOG,
            coalesce: DEFAULT_COALESCE,
            max_bad_messages: DEFAULT_MAX_BAD_MESSAGES,
            max_app_message: DEFAULT_MAX_APP_MESSAGE,
            max_worker_message: DEFAULT_MAX_WORKER_MESSAGE,
            max_http_body: DEFAULT_MAX_HTTP_BODY,
            ws_read_buffer: DEFAULT_WS_READ_BUFFER,
            ws_write_buffer: DEFAULT_WS_WRITE_BUFFER,
            allow_origins: Vec::new(),
            allow_hosts: Vec::new(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_http_connections: DEFAULT_MAX_HTTP_CONNECTIONS,
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_workers: DEFAULT_MAX_WORKERS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_auth_failures: DEFAULT_MAX_AUTH_FAILURES,
            auth_failure_window: DEFAULT_AUTH_FAILURE_WINDOW,
            tls: None,
            outbound_ca: None,
            worker: WorkerConfig::default(),
            write_gateway_file: true,
            presets: Arc::new(Presets::build(&WorkerConfig::default().activity, &[]).unwrap_or_default()),
            sources: Vec::new(),
            notify: NotifyConfig::default(),
            holder_exe: None,
            holder_log: crate::holder::DEFAULT_LOG_BYTES,
            stop_workers_on_exit: false,
        }
    }

    /// Applies the config file: `[activity]` (with `idle_after` from `--idle-after` winning),
    /// `[[presets]]`, `[[sources]]` and `[notify]` (flags set on `notify` afterwards win).
    pub fn apply_file(&mut self, file: &FileConfig, idle_after: Option<Duration>) -> Result<(), String> {
        let mut rules = ActivityRules::defaults(WorkerConfig::DEFAULT_IDLE_AFTER)
            .with(&file.activity)
            .map_err(|e| format!("[activity]: {e}"))?;
        if let Some(v) = idle_after {
            rules.idle_after = v;
        }
        self.worker.activity = Arc::new(rules);
        self.presets = Arc::new(Presets::build(&self.worker.activity, &file.presets)?);
        self.sources = file.sources.clone();
        self.notify.apply_section(&file.notify)?;
        Ok(())
    }
}

impl ServeConfig {
    /// The CA files trusted for one outbound target: `--outbound-ca`, then the entry's own.
    pub fn outbound_cas(&self, entry: Option<&std::path::Path>) -> Vec<PathBuf> {
        self.outbound_ca.iter().cloned().chain(entry.map(std::path::Path::to_path_buf)).collect()
    }
}

/// The default data dir (from the `directories` crate), e.g. `~/.local/share/controlroom`.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "controlroom").map(|d| d.data_dir().to_path_buf())
}
