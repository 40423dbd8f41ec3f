//! Every limit and interval of the gateway, with its named default; `controlroom serve` has a flag
//! (and a `CONTROLROOM_*` variable) for each, derived from [`ServeConfig`] itself.

use crate::file_config::{FileConfig, SourceSection};
use crate::flag_values;
use crate::outbound::notify::NotifyConfig;
use crate::presets::{PresetError, Presets};
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
/// Default `--screen-save-interval`: how often the screens that changed are saved, so the screen
/// restored after a crash (`kill -9`) is at most this old.
pub const DEFAULT_SCREEN_SAVE_INTERVAL: Duration = Duration::from_secs(2);
/// Default `--screen-save-budget`: most bytes of screens (scrollback included) one save round
/// writes; screens over it wait for the next round, the longest-unsaved first, so many busy
/// workers cost bounded disk writes per interval.
pub const DEFAULT_SCREEN_SAVE_BUDGET: usize = 32 * 1024 * 1024;
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
/// Default `--max-title-bytes`: the longest session title a client may set. Every client-set
/// text field reaches every `/ws/app` client in each `sessions-sync`, so each is bounded.
pub const DEFAULT_MAX_TITLE_BYTES: usize = 1024;
/// Default `--max-worker-name-bytes`.
pub const DEFAULT_MAX_WORKER_NAME_BYTES: usize = 256;
/// Default `--max-command-bytes`: a worker's command line, all arguments together.
pub const DEFAULT_MAX_COMMAND_BYTES: usize = 16 * 1024;
/// Default `--max-cwd-bytes` (Linux's `PATH_MAX`).
pub const DEFAULT_MAX_CWD_BYTES: usize = 4096;
/// Default `--max-inflight-messages`: bytes of partially received WebSocket messages the gateway
/// holds across all sockets; the connection whose bytes pass it is closed with 1009. Four
/// worker messages at their largest (16 MiB, a pasted image) fit at once.
pub const DEFAULT_MAX_INFLIGHT_MESSAGES: usize = 64 * 1024 * 1024;
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
/// Default `--max-auth-failures`: refused tokens per source (an address;
/// all of loopback is one, IPv6 counts by /64) per window before 429.
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

/// Everything `server::run` needs to know. `controlroom serve` flattens it: each flag, its
/// `CONTROLROOM_*` variable and its default (a `DEFAULT_*` constant above) are written here once;
/// the fields marked `skip` are set from other flags and the config file.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Where the token, the database, images and `gateway.json` live.
    #[arg(skip)]
    pub data_dir: PathBuf,
    /// Overrides the token file (`CONTROLROOM_TOKEN`).
    #[arg(skip)]
    pub token_override: Option<String>,
    /// How often the poller looks at sessions (git branch, liveness).
    #[arg(
        long,
        env = "CONTROLROOM_POLL_INTERVAL",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(DEFAULT_POLL_INTERVAL)
    )]
    pub poll_interval: Duration,
    /// How often the screens that changed are saved: after a crash the restored screen is at
    /// most this old (screens are also saved on every exit and on shutdown).
    #[arg(
        long,
        env = "CONTROLROOM_SCREEN_SAVE_INTERVAL",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(DEFAULT_SCREEN_SAVE_INTERVAL)
    )]
    pub screen_save_interval: Duration,
    /// Most bytes of screens (scrollback included) one save round writes; the rest wait for the
    /// next round, the longest-unsaved first (at least one screen is always saved).
    #[arg(
        long,
        env = "CONTROLROOM_SCREEN_SAVE_BUDGET",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(DEFAULT_SCREEN_SAVE_BUDGET)
    )]
    pub screen_save_budget: usize,
    /// Ping period; a socket that misses a ping is closed.
    #[arg(
        long,
        env = "CONTROLROOM_HEARTBEAT",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(DEFAULT_HEARTBEAT)
    )]
    pub heartbeat: Duration,
    /// Bytes queued for one client before it is closed with 4008 (live traffic: a worker's
    /// attach-time history and catch-up are not counted).
    #[arg(
        long,
        env = "CONTROLROOM_MAX_CLIENT_BUFFER",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(DEFAULT_MAX_CLIENT_BUFFER)
    )]
    pub max_client_buffer: usize,
    /// Deltas kept for `request-sync since` and `/api/deltas`.
    #[arg(long, env = "CONTROLROOM_DELTA_LOG", value_parser = at_least_one::<usize>, default_value_t = DEFAULT_DELTA_LOG)]
    pub delta_log: usize,
    /// How long worker status changes are gathered before their deltas go out.
    #[arg(
        long,
        env = "CONTROLROOM_COALESCE",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(DEFAULT_COALESCE)
    )]
    pub coalesce: Duration,
    /// Malformed client messages tolerated before closing with 1008.
    #[arg(
        long,
        env = "CONTROLROOM_MAX_BAD_MESSAGES",
        value_parser = at_least_one::<u32>,
        default_value_t = DEFAULT_MAX_BAD_MESSAGES
    )]
    pub max_bad_messages: u32,
    /// Largest client message on /ws/app.
    #[arg(
        long,
        env = "CONTROLROOM_MAX_APP_MESSAGE",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(DEFAULT_MAX_APP_MESSAGE)
    )]
    pub max_app_message: usize,
    /// Largest client message on a worker socket.
    #[arg(
        long,
        env = "CONTROLROOM_MAX_WORKER_MESSAGE",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(DEFAULT_MAX_WORKER_MESSAGE)
    )]
    pub max_worker_message: usize,
    /// Bytes of partially received WebSocket messages held across all connections; the
    /// connection whose message passes it is closed with 1009.
    #[arg(
        long,
        env = "CONTROLROOM_MAX_INFLIGHT_MESSAGES",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(DEFAULT_MAX_INFLIGHT_MESSAGES)
    )]
    pub max_inflight_messages: usize,
    /// Largest HTTP request body.
    #[arg(
        long,
        env = "CONTROLROOM_MAX_HTTP_BODY",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(DEFAULT_MAX_HTTP_BODY)
    )]
    pub max_http_body: usize,
    /// Initial read buffer of each WebSocket connection (grows for larger messages).
    #[arg(
        long,
        env = "CONTROLROOM_WS_READ_BUFFER",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(DEFAULT_WS_READ_BUFFER)
    )]
    pub ws_read_buffer: usize,
    /// Bytes a WebSocket connection gathers before writing to its socket.
    #[arg(
        long,
        env = "CONTROLROOM_WS_WRITE_BUFFER",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(DEFAULT_WS_WRITE_BUFFER)
    )]
    pub ws_write_buffer: usize,
    /// Per-worker limits.
    #[command(flatten)]
    pub worker: WorkerConfig,
    /// Extra Origin allowed for browsers (repeatable).
    #[arg(long = "allow-origin", env = "CONTROLROOM_ALLOW_ORIGIN", value_delimiter = ',')]
    pub allow_origins: Vec<String>,
    /// Extra Host header value accepted (repeatable).
    // Beyond loopback names and the bound address.
    #[arg(long = "allow-host", env = "CONTROLROOM_ALLOW_HOST", value_delimiter = ',')]
    pub allow_hosts: Vec<String>,
    /// Open WebSockets (both endpoints) before new upgrades get 503.
    #[arg(
        long,
        env = "CONTROLROOM_MAX_CONNECTIONS",
        value_parser = at_least_one::<usize>,
        default_value_t = DEFAULT_MAX_CONNECTIONS
    )]
    pub max_connections: usize,
    /// TCP connections served HTTP at once (WebSockets leave this count when they upgrade);
    /// past it a new connection gets 503 and is closed.
    #[arg(
        long,
        env = "CONTROLROOM_MAX_HTTP_CONNECTIONS",
        value_parser = at_least_one::<usize>,
        default_value_t = DEFAULT_MAX_HTTP_CONNECTIONS
    )]
    pub max_http_connections: usize,
    /// Longest session title a client may set, in bytes (400 `invalid` past it).
    #[arg(
        long,
        env = "CONTROLROOM_MAX_TITLE_BYTES",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(DEFAULT_MAX_TITLE_BYTES)
    )]
    pub max_title_bytes: usize,
    /// Longest worker name a client may set, in bytes.
    #[arg(
        long,
        env = "CONTROLROOM_MAX_WORKER_NAME_BYTES",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(DEFAULT_MAX_WORKER_NAME_BYTES)
    )]
    pub max_worker_name_bytes: usize,
    /// Longest worker command line (all arguments together) a client may give, in bytes.
    #[arg(
        long,
        env = "CONTROLROOM_MAX_COMMAND_BYTES",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(DEFAULT_MAX_COMMAND_BYTES)
    )]
    pub max_command_bytes: usize,
    /// Longest working directory a client may give, in bytes.
    #[arg(
        long,
        env = "CONTROLROOM_MAX_CWD_BYTES",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(DEFAULT_MAX_CWD_BYTES)
    )]
    pub max_cwd_bytes: usize,
    /// Sessions before creating another is refused (409 limit).
    #[arg(long, env = "CONTROLROOM_MAX_SESSIONS", default_value_t = DEFAULT_MAX_SESSIONS)]
    pub max_sessions: usize,
    /// Workers across all sessions before starting another is refused (409 limit).
    #[arg(long, env = "CONTROLROOM_MAX_WORKERS", default_value_t = DEFAULT_MAX_WORKERS)]
    pub max_workers: usize,
    /// Time a client has to send a request's headers (and a TLS handshake) before it is dropped.
    #[arg(
        long,
        env = "CONTROLROOM_HEADER_TIMEOUT",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(DEFAULT_HEADER_TIMEOUT)
    )]
    pub header_timeout: Duration,
    /// Time a client has, once its headers are in, to send the whole request body (answered 408
    /// past it).
    #[arg(
        long,
        env = "CONTROLROOM_BODY_TIMEOUT",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(DEFAULT_BODY_TIMEOUT)
    )]
    pub body_timeout: Duration,
    /// Refused tokens per source (an address; all of loopback is one, IPv6 counts by /64) within --auth-failure-window before every request from it
    /// gets 429.
    #[arg(
        long,
        env = "CONTROLROOM_MAX_AUTH_FAILURES",
        value_parser = at_least_one::<u32>,
        default_value_t = DEFAULT_MAX_AUTH_FAILURES
    )]
    pub max_auth_failures: u32,
    /// Window of the failed-authentication limit.
    #[arg(
        long,
        env = "CONTROLROOM_AUTH_FAILURE_WINDOW",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(DEFAULT_AUTH_FAILURE_WINDOW)
    )]
    pub auth_failure_window: Duration,
    /// Where inotify is unavailable: how often the owner token and signing secret files are
    /// checked for a rotation while nobody authenticates (with inotify nothing polls; the
    /// change itself wakes the gateway).
    #[arg(
        long,
        env = "CONTROLROOM_SECRET_POLL_INTERVAL",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(crate::auth::scoped::SECRET_CHECK_INTERVAL)
    )]
    pub secret_poll_interval: Duration,
    /// Serve HTTPS/WSS with these (`--tls-cert`, `--tls-key`).
    #[arg(skip)]
    pub tls: Option<TlsPaths>,
    /// PEM file of CA certificates trusted for outbound https:// (webhook, http sources) beside
    /// the web roots.
    #[arg(long, env = "CONTROLROOM_OUTBOUND_CA", value_name = "FILE")]
    pub outbound_ca: Option<PathBuf>,
    /// Write `DATA_DIR/gateway.json` while serving.
    #[arg(skip = true)]
    pub write_gateway_file: bool,
    /// Presets (built-ins and `[[presets]]`).
    #[arg(skip = builtin_presets())]
    pub presets: Arc<Presets>,
    /// External session sources (`[[sources]]`).
    #[arg(skip)]
    pub sources: Vec<SourceSection>,
    /// The webhook notifier; off without a URL.
    #[arg(skip)]
    pub notify: NotifyConfig,
    /// Run each worker in a holder process started from this executable (`EXE __holder`), so
    /// workers outlive the gateway; `None` keeps PTYs in the gateway's process (and workers
    /// stop with it), as library tests and benches do. `controlroom serve` always sets it.
    #[arg(skip)]
    pub holder_exe: Option<PathBuf>,
    /// Output each worker's holder keeps (in memory) while no gateway is attached; past it the
    /// oldest is dropped and the gap marked.
    #[arg(
        long,
        env = "CONTROLROOM_HOLDER_LOG",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(crate::holder::DEFAULT_LOG_BYTES)
    )]
    pub holder_log: usize,
    /// Holders started ahead with no program: a new worker takes one and only its program is
    /// started (a fork and exec from the small holder, not an exec of this binary); 0 turns
    /// them off. Each costs one idle holder.
    #[arg(
        long,
        env = "CONTROLROOM_SPARE_HOLDERS",
        default_value_t = crate::holder::DEFAULT_SPARE_HOLDERS,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=crate::holder::MAX_SPARE_HOLDERS as u64)
    )]
    pub spare_holders: usize,
    /// How long after a spare holder was taken the next one starts (so its start does not
    /// share the CPU with the new worker's first output); a worker started meanwhile gets a
    /// holder of its own.
    #[arg(
        long,
        env = "CONTROLROOM_SPARE_REPLENISH_AFTER",
        value_parser = flag_values::duration_or_zero,
        default_value = flag_values::show_duration(crate::holder::DEFAULT_SPARE_REPLENISH_AFTER)
    )]
    pub spare_replenish_after: Duration,
    /// Times a failed round of starting spare holders is tried again (`--spare-retry-wait`
    /// apart) before waiting for the next worker's start.
    #[arg(
        long,
        env = "CONTROLROOM_SPARE_RETRIES",
        default_value_t = crate::holder::DEFAULT_SPARE_RETRIES,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=crate::holder::MAX_SPARE_RETRIES as u64)
    )]
    pub spare_retries: usize,
    /// How long after a failed round of starting spare holders the next is tried.
    #[arg(
        long,
        env = "CONTROLROOM_SPARE_RETRY_WAIT",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(crate::holder::DEFAULT_SPARE_RETRY_WAIT)
    )]
    pub spare_retry_wait: Duration,
    /// How long a worker's holder has to greet the gateway (on a start, an adoption or a spare's
    /// start) before it is taken as unusable.
    #[arg(
        long,
        env = "CONTROLROOM_HOLDER_HELLO_TIMEOUT",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(crate::holder::DEFAULT_HELLO_TIMEOUT)
    )]
    pub holder_hello_timeout: Duration,
    /// Stop every worker when the gateway stops (tmux's kill-server); by default they keep
    /// running in their holders and the next gateway adopts them.
    #[arg(long, env = "CONTROLROOM_STOP_WORKERS_ON_EXIT")]
    pub stop_workers_on_exit: bool,
    /// Worktree sessions, change counts and diffs.
    #[command(flatten)]
    pub worktree: crate::worktree::WorktreeConfig,
}

/// A count flag that must be at least one (clap refuses 0 with the range in its message).
/// A count flag that refuses 0 (clap's own range check would print the type's maximum).
fn at_least_one<T: std::str::FromStr + PartialEq + From<u8>>(value: &str) -> Result<T, CountError> {
    let n: T = value.trim().parse().map_err(|_| CountError::NotACount(value.to_owned()))?;
    if n == T::from(0) { Err(CountError::Zero) } else { Ok(n) }
}

/// Why a count flag's value was refused.
#[derive(Debug, thiserror::Error)]
pub enum CountError {
    /// Not a whole number.
    #[error("`{0}` is not a whole number")]
    NotACount(String),
    /// Zero, where at least one is needed.
    #[error("must be at least 1 (1..)")]
    Zero,
}

/// The built-in presets over the default activity rules.
fn builtin_presets() -> Arc<Presets> {
    // The built-ins' patterns are fixed strings tested in `presets`; `build` fails only on a
    // section's pattern, and there are none here.
    Arc::new(Presets::build(&WorkerConfig::default().activity, &[]).unwrap_or_default())
}

/// The config file could not be applied: a table's values were refused.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// `[activity]` has a bad pattern.
    #[error("[activity]: {message}")]
    Activity {
        /// What is wrong with it.
        message: String,
    },
    /// A `[[presets]]` entry was refused.
    #[error(transparent)]
    Preset(#[from] PresetError),
    /// `[notify]` was refused.
    #[error("{message}")]
    Notify {
        /// What is wrong with it.
        message: String,
    },
}

impl ServeConfig {
    /// Defaults for everything but the data dir.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            token_override: None,
            poll_interval: DEFAULT_POLL_INTERVAL,
            screen_save_interval: DEFAULT_SCREEN_SAVE_INTERVAL,
            screen_save_budget: DEFAULT_SCREEN_SAVE_BUDGET,
            heartbeat: DEFAULT_HEARTBEAT,
            max_client_buffer: DEFAULT_MAX_CLIENT_BUFFER,
            delta_log: DEFAULT_DELTA_LOG,
            coalesce: DEFAULT_COALESCE,
            max_bad_messages: DEFAULT_MAX_BAD_MESSAGES,
            max_app_message: DEFAULT_MAX_APP_MESSAGE,
            max_worker_message: DEFAULT_MAX_WORKER_MESSAGE,
            max_inflight_messages: DEFAULT_MAX_INFLIGHT_MESSAGES,
            max_http_body: DEFAULT_MAX_HTTP_BODY,
            ws_read_buffer: DEFAULT_WS_READ_BUFFER,
            ws_write_buffer: DEFAULT_WS_WRITE_BUFFER,
            allow_origins: Vec::new(),
            allow_hosts: Vec::new(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_http_connections: DEFAULT_MAX_HTTP_CONNECTIONS,
            max_title_bytes: DEFAULT_MAX_TITLE_BYTES,
            max_worker_name_bytes: DEFAULT_MAX_WORKER_NAME_BYTES,
            max_command_bytes: DEFAULT_MAX_COMMAND_BYTES,
            max_cwd_bytes: DEFAULT_MAX_CWD_BYTES,
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_workers: DEFAULT_MAX_WORKERS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_auth_failures: DEFAULT_MAX_AUTH_FAILURES,
            auth_failure_window: DEFAULT_AUTH_FAILURE_WINDOW,
            secret_poll_interval: crate::auth::scoped::SECRET_CHECK_INTERVAL,
            tls: None,
            outbound_ca: None,
            worker: WorkerConfig::default(),
            write_gateway_file: true,
            presets: builtin_presets(),
            sources: Vec::new(),
            notify: NotifyConfig::default(),
            holder_exe: None,
            holder_log: crate::holder::DEFAULT_LOG_BYTES,
            spare_holders: crate::holder::DEFAULT_SPARE_HOLDERS,
            spare_replenish_after: crate::holder::DEFAULT_SPARE_REPLENISH_AFTER,
            spare_retries: crate::holder::DEFAULT_SPARE_RETRIES,
            spare_retry_wait: crate::holder::DEFAULT_SPARE_RETRY_WAIT,
            holder_hello_timeout: crate::holder::DEFAULT_HELLO_TIMEOUT,
            stop_workers_on_exit: false,
            worktree: crate::worktree::WorktreeConfig::default(),
        }
    }

    /// Applies the config file: `[activity]` (with `idle_after` from `--idle-after` winning),
    /// `[[presets]]`, `[[sources]]` and `[notify]` (flags set on `notify` afterwards win).
    pub fn apply_file(&mut self, file: &FileConfig, idle_after: Option<Duration>) -> Result<(), ApplyError> {
        let mut rules = ActivityRules::defaults(WorkerConfig::DEFAULT_IDLE_AFTER)
            .with(&file.activity)
            .map_err(|message| ApplyError::Activity { message: message.to_string() })?;
        if let Some(v) = idle_after {
            rules.idle_after = v;
        }
        self.worker.activity = Arc::new(rules);
        self.presets = Arc::new(Presets::build(&self.worker.activity, &file.presets)?);
        self.sources = file.sources.clone();
        self.notify.apply_section(&file.notify).map_err(|e| ApplyError::Notify { message: e.to_string() })?;
        // The flags win over the file.
        if self.worktree.dir.is_none() {
            self.worktree.dir.clone_from(&file.worktree_dir);
        }
        if self.worktree.setup.is_none() {
            self.worktree.setup.clone_from(&file.worktree_setup);
        }
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
