//! `controlroom serve`: flags (each also a `CONTROLROOM_*` variable), logging, signals, and one
//! call to `controlroom_server::run`.

use crate::logging::{self, LogFormat};
use crate::parse;
use anyhow::Context as _;
use controlroom_server::config::{self as cfg, ServeConfig};
use controlroom_server::worker::WorkerConfig;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Flags of `controlroom serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one. Non-loopback addresses expose the API.
    #[arg(long, env = "CONTROLROOM_LISTEN", default_value = cfg::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Data directory (token, database, images, gateway.json).
    #[arg(long, env = "CONTROLROOM_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// How often the poller looks at sessions (git branch, liveness).
    #[arg(long, env = "CONTROLROOM_POLL_INTERVAL", default_value = "5s", value_parser = parse::duration)]
    poll_interval: Duration,
    /// Ping period; a socket that misses a ping is closed.
    #[arg(long, env = "CONTROLROOM_HEARTBEAT", default_value = "30s", value_parser = parse::duration)]
    heartbeat: Duration,
    /// Bytes queued for one client before it is closed with 4008 (live traffic: a worker's
    /// attach-time history and catch-up are not counted).
    #[arg(long, env = "CONTROLROOM_MAX_CLIENT_BUFFER", default_value = "8MiB", value_parser = parse::size)]
    max_client_buffer: usize,
    /// Log format.
    #[arg(long, env = "CONTROLROOM_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Log filter (e.g. `info`, `debug`, `controlroom_server=trace`).
    #[arg(long, env = "CONTROLROOM_LOG", default_value = "info")]
    log_level: String,
    /// Deltas kept for `request-sync since` and `/api/deltas`.
    #[arg(long, env = "CONTROLROOM_DELTA_LOG", default_value_t = cfg::DEFAULT_DELTA_LOG)]
    delta_log: usize,
    /// How long worker status changes are gathered before their deltas go out.
    #[arg(long, env = "CONTROLROOM_COALESCE", default_value = "5ms", value_parser = parse::duration)]
    coalesce: Duration,
    /// Malformed client messages tolerated before closing with 1008.
    #[arg(long, env = "CONTROLROOM_MAX_BAD_MESSAGES", default_value_t = cfg::DEFAULT_MAX_BAD_MESSAGES)]
    max_bad_messages: u32,
    /// Largest client message on /ws/app.
    #[arg(long, env = "CONTROLROOM_MAX_APP_MESSAGE", default_value = "64KiB", value_parser = parse::size)]
    max_app_message: usize,
    /// Largest client message on a worker socket.
    #[arg(long, env = "CONTROLROOM_MAX_WORKER_MESSAGE", default_value = "16MiB", value_parser = parse::size)]
    max_worker_message: usize,
    /// Largest HTTP request body.
    #[arg(long, env = "CONTROLROOM_MAX_HTTP_BODY", default_value = "1MiB", value_parser = parse::size)]
    max_http_body: usize,
    /// Initial read buffer of each WebSocket connection (grows for larger messages).
    #[arg(long, env = "CONTROLROOM_WS_READ_BUFFER", default_value = "4KiB", value_parser = parse::size)]
    ws_read_buffer: usize,
    /// Bytes a WebSocket connection gathers before writing to its socket.
    #[arg(long, env = "CONTROLROOM_WS_WRITE_BUFFER", default_value = "8KiB", value_parser = parse::size)]
    ws_write_buffer: usize,
    /// Formatted scrollback kept per worker.
    #[arg(long, env = "CONTROLROOM_SCROLLBACK", value_parser = parse::size)]
    scrollback: Option<usize>,
    /// Raw output kept per worker for catch-up after a snapshot.
    #[arg(long, env = "CONTROLROOM_OUTPUT_RING", value_parser = parse::size)]
    output_ring: Option<usize>,
    /// Largest output message; output read together is batched up to this size.
    #[arg(long, env = "CONTROLROOM_OUTPUT_BATCH", value_parser = parse::size)]
    output_batch: Option<usize>,
    /// While a worker's output floods, how long PTY reads pile up into one batch.
    #[arg(long, env = "CONTROLROOM_OUTPUT_COALESCE", value_parser = parse::duration)]
    output_coalesce: Option<Duration>,
    /// Niceness of each worker's screen-model thread, 0..=19 (0, the default, leaves it alone):
    /// higher lets the thread that only serves snapshots yield the CPU to live output.
    #[arg(long, env = "CONTROLROOM_SCREEN_NICE", value_parser = clap::value_parser!(i32).range(0..=19))]
    screen_nice: Option<i32>,
    /// How long a small output batch (an echoed keystroke) waits before each worker's
    /// screen-model thread is woken for it, so the echo reaches clients first (default 1ms; 0 feeds
    /// at once).
    #[arg(long, env = "CONTROLROOM_SCREEN_DEFER", value_parser = parse::duration_or_zero)]
    screen_defer: Option<Duration>,
    /// Time between SIGHUP and SIGKILL when stopping a worker.
    #[arg(long, env = "CONTROLROOM_STOP_GRACE", value_parser = parse::duration)]
    stop_grace: Option<Duration>,
    /// Silence after which an active worker is idle.
    #[arg(long, env = "CONTROLROOM_IDLE_AFTER", value_parser = parse::duration)]
    idle_after: Option<Duration>,
    /// Extra Origin allowed for browsers (repeatable).
    #[arg(long = "allow-origin", env = "CONTROLROOM_ALLOW_ORIGIN", value_delimiter = ',')]
    allow_origins: Vec<String>,
    /// Extra Host header value accepted (repeatable).
    #[arg(long = "allow-host", env = "CONTROLROOM_ALLOW_HOST", value_delimiter = ',')]
    allow_hosts: Vec<String>,
    /// Open WebSockets (both endpoints) before new upgrades get 503.
    #[arg(long, env = "CONTROLROOM_MAX_CONNECTIONS", default_value_t = cfg::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// TCP connections served HTTP at once (WebSockets leave this count when they upgrade);
    /// past it a new connection gets 503 and is closed.
    #[arg(long, env = "CONTROLROOM_MAX_HTTP_CONNECTIONS", default_value_t = cfg::DEFAULT_MAX_HTTP_CONNECTIONS)]
    max_http_connections: usize,
    /// Sessions before creating another is refused (409 limit).
    #[arg(long, env = "CONTROLROOM_MAX_SESSIONS", default_value_t = cfg::DEFAULT_MAX_SESSIONS)]
    max_sessions: usize,
    /// Workers across all sessions before starting another is refused (409 limit).
    #[arg(long, env = "CONTROLROOM_MAX_WORKERS", default_value_t = cfg::DEFAULT_MAX_WORKERS)]
    max_workers: usize,
    /// Time a client has to send a request's headers (and a TLS handshake) before it is dropped.
    #[arg(long, env = "CONTROLROOM_HEADER_TIMEOUT", default_value = "10s", value_parser = parse::duration)]
    header_timeout: Duration,
    /// Time a client has, once its headers are in, to send the whole request body (answered 408
    /// past it).
    #[arg(long, env = "CONTROLROOM_BODY_TIMEOUT", default_value = "10s", value_parser = parse::duration)]
    body_timeout: Duration,
    /// Refused tokens per peer address within --auth-failure-window before every request from it
    /// gets 429.
    #[arg(long, env = "CONTROLROOM_MAX_AUTH_FAILURES", default_value_t = cfg::DEFAULT_MAX_AUTH_FAILURES)]
    max_auth_failures: u32,
    /// Window of the failed-authentication limit.
    #[arg(long, env = "CONTROLROOM_AUTH_FAILURE_WINDOW", default_value = "60s", value_parser = parse::duration)]
    auth_failure_window: Duration,
    /// PEM certificate chain: serve HTTPS/WSS (needs --tls-key).
    #[arg(long, env = "CONTROLROOM_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "CONTROLROOM_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Config file ([activity], [[presets]], [[sources]], [notify]); default CONFIG_DIR/config.toml.
    #[arg(long, env = "CONTROLROOM_CONFIG")]
    config: Option<PathBuf>,
    /// Internal (the front end's background gateway): this config file if it exists, else none.
    #[arg(long, hide = true, conflicts_with = "config")]
    config_if_present: Option<PathBuf>,
    /// POST matching deltas to this http:// or https:// URL, signed with DATA_DIR/webhook-secret.
    #[arg(long, env = "CONTROLROOM_NOTIFY_WEBHOOK")]
    notify_webhook: Option<String>,
    /// Events sent to the webhook: created, updated, deleted, asking, exited, activity.
    #[arg(long, env = "CONTROLROOM_NOTIFY_ON")]
    notify_on: Option<String>,
    /// PEM file of CA certificates trusted for outbound https:// (webhook, http sources) beside
    /// the web roots.
    #[arg(long, env = "CONTROLROOM_OUTBOUND_CA", value_name = "FILE")]
    outbound_ca: Option<PathBuf>,
    /// Output each worker's holder keeps (in memory) while no gateway is attached; past it the
    /// oldest is dropped and the gap marked.
    #[arg(long, env = "CONTROLROOM_HOLDER_LOG", default_value = "16MiB", value_parser = parse::size)]
    holder_log: usize,
    /// Stop every worker when the gateway stops (tmux's kill-server); by default they keep
    /// running in their holders and the next gateway adopts them.
    #[arg(long, env = "CONTROLROOM_STOP_WORKERS_ON_EXIT")]
    stop_workers_on_exit: bool,
}

/// Runs the gateway until SIGINT or SIGTERM.
pub fn main(args: ServeArgs) -> anyhow::Result<()> {
    logging::init(args.log_format, &args.log_level);
    let data_dir = crate::data_dir(args.data_dir.clone())?;
    let mut worker = WorkerConfig::default();
    if let Some(v) = args.scrollback {
        worker.scrollback_bytes = v;
    }
    if let Some(v) = args.output_ring {
        worker.output_ring_bytes = v;
    }
    if let Some(v) = args.output_batch {
        worker.batch_bytes = v;
    }
    if let Some(v) = args.stop_grace {
        worker.stop_grace = v;
    }
    if let Some(v) = args.output_coalesce {
        worker.flood_coalesce = v;
    }
    if let Some(v) = args.screen_nice {
        worker.screen_nice = v;
    }
    if let Some(v) = args.screen_defer {
        worker.screen_defer = v;
    }

    let mut config = ServeConfig::new(data_dir);
    config.token_override = std::env::var("CONTROLROOM_TOKEN").ok().filter(|t| !t.trim().is_empty());
    config.poll_interval = args.poll_interval;
    config.heartbeat = args.heartbeat;
    config.max_client_buffer = args.max_client_buffer;
    config.delta_log = args.delta_log.max(1);
    config.coalesce = args.coalesce;
    config.max_bad_messages = args.max_bad_messages.max(1);
    config.max_app_message = args.max_app_message;
    config.max_worker_message = args.max_worker_message;
    config.max_http_body = args.max_http_body;
    config.ws_read_buffer = args.ws_read_buffer.max(1);
    config.ws_write_buffer = args.ws_write_buffer;
    if args.allow_origins.iter().any(|o| o.trim().eq_ignore_ascii_case("null")) {
        anyhow::bail!("--allow-origin null is refused: any sandboxed page or local file sends Origin: null");
    }
    config.allow_origins = args.allow_origins;
    config.allow_hosts = args.allow_hosts;
    config.max_connections = args.max_connections.max(1);
    config.max_http_connections = args.max_http_connections.max(1);
    config.max_sessions = args.max_sessions;
    config.max_workers = args.max_workers;
    config.header_timeout = args.header_timeout;
    config.body_timeout = args.body_timeout;
    config.max_auth_failures = args.max_auth_failures.max(1);
    config.auth_failure_window = args.auth_failure_window;
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        config.tls = Some(cfg::TlsPaths { cert, key });
    }
    config.outbound_ca = args.outbound_ca;
    config.worker = worker;
    config.holder_exe = Some(crate::holder_exe()?);
    config.holder_log = args.holder_log;
    config.stop_workers_on_exit = args.stop_workers_on_exit;
    let (config_file, optional) = match (&args.config, &args.config_if_present) {
        (Some(path), _) => (path.clone(), false),
        (None, Some(path)) => (path.clone(), true),
        (None, None) => match controlroom_server::file_config::default_config_file() {
            Some(path) => (path, true),
            None => (PathBuf::new(), true),
        },
    };
    let file = if config_file.as_os_str().is_empty() {
        controlroom_server::file_config::FileConfig::default()
    } else {
        controlroom_server::file_config::FileConfig::load(&config_file, optional)?
    };
    config
        .apply_file(&file, args.idle_after)
        .map_err(|e| anyhow::anyhow!("{}: {e}", config_file.display()))?;
    if let Some(url) = &args.notify_webhook {
        config.notify.set_webhook(url).map_err(|e| anyhow::anyhow!("--notify-webhook: {e}"))?;
    }
    if let Some(on) = &args.notify_on {
        config.notify.on =
            controlroom_server::notify::parse_events(on).map_err(|e| anyhow::anyhow!("--notify-on: {e}"))?;
    }
    if !args.listen.ip().is_loopback() && config.tls.is_none() {
        tracing::warn!(listen = %args.listen, "listening on a non-loopback address without TLS: anyone who can reach it sees the token in clear text and, with it, can type into your shells; add --tls-cert and --tls-key");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| {
            format!(
                "could not listen on {} (is another gateway running? try --listen 127.0.0.1:0)",
                args.listen
            )
        })?;
        controlroom_server::run(listener, config, shutdown_signal(), |ready| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "controlroom listening on {}", ready.url);
            let _ = out.flush();
        })
        .await
        .context("gateway failed")
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        tracing::error!("could not install signal handlers; stop the gateway with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!(signal = "SIGTERM", "stop requested"),
        _ = int.recv() => tracing::info!(signal = "SIGINT", "stop requested"),
    }
}
