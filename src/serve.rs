//! `controlroom serve`: flags (each also a `CONTROLROOM_*` variable; the gateway's settings are
//! `ServeConfig`'s own), the config file, logging, signals, and one call to
//! `controlroom_server::run`.

use crate::logging::{self, LogFormat};
use anyhow::Context as _;
use controlroom_server::config::{self as cfg, ServeConfig};
use controlroom_server::{file_config, flag_values};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default `--blocking-threads`: tokio's own default. Bursts need many at once (a session's
/// workers start at once, each holder start a blocking fork, exec and handshake; every busy
/// worker's screen model is a job), and idle ones end after `--blocking-keep-alive`.
pub const DEFAULT_BLOCKING_THREADS: usize = 512;

/// Default `--blocking-keep-alive`: tokio's own default. An idle blocking thread ends once it
/// has had no job for this long. An idle gateway's only timed blocking job is the poll tick's git
/// reads (`--poll-interval`), so after a burst the pool shrinks back; a job every fraction of a
/// second would keep every thread alive, as the pool wakes its idle threads in turn.
pub const DEFAULT_BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Flags of `controlroom serve`: the gateway's own settings ([`ServeConfig`], flattened) and the
/// few that only this command reads.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one. Non-loopback addresses expose the API.
    #[arg(long, env = "CONTROLROOM_LISTEN", default_value = cfg::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Data directory (token, database, images, gateway.json).
    #[arg(long, env = "CONTROLROOM_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Config directory (config.toml); its config.toml is read unless --config names another file.
    #[arg(long, env = "CONTROLROOM_CONFIG_DIR")]
    config_dir: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "CONTROLROOM_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Log filter (e.g. `info`, `debug`, `controlroom_server=trace`).
    #[arg(long, env = "CONTROLROOM_LOG", default_value = "info")]
    log_level: String,
    /// The gateway's limits, intervals and allow-lists.
    #[command(flatten)]
    gateway: ServeConfig,
    /// Silence after which an active worker is idle.
    #[arg(long, env = "CONTROLROOM_IDLE_AFTER", value_parser = flag_values::duration)]
    idle_after: Option<Duration>,
    /// PEM certificate chain: serve HTTPS/WSS (needs --tls-key).
    #[arg(long, env = "CONTROLROOM_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "CONTROLROOM_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Config file (`[activity]`, `[[presets]]`, `[[sources]]`, `[notify]`); default CONFIG_DIR/config.toml.
    #[arg(long, env = "CONTROLROOM_CONFIG")]
    config: Option<PathBuf>,
    /// POST matching deltas to this http:// or https:// URL, signed with DATA_DIR/webhook-secret.
    #[arg(long, env = "CONTROLROOM_NOTIFY_WEBHOOK")]
    notify_webhook: Option<String>,
    /// Events sent to the webhook: created, updated, deleted, asking, exited, activity.
    #[arg(long, env = "CONTROLROOM_NOTIFY_ON")]
    notify_on: Option<String>,
    /// Most threads the runtime's blocking pool runs at once (holder starts, screen models, file
    /// and git reads); past it jobs queue.
    #[arg(
        long,
        env = "CONTROLROOM_BLOCKING_THREADS",
        default_value_t = DEFAULT_BLOCKING_THREADS,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096)
    )]
    blocking_threads: usize,
    /// How long an idle thread of the blocking pool waits for a job before it ends.
    #[arg(
        long,
        env = "CONTROLROOM_BLOCKING_KEEP_ALIVE",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(DEFAULT_BLOCKING_KEEP_ALIVE)
    )]
    blocking_keep_alive: Duration,
}

impl ServeArgs {
    /// The config file to read and whether it may be missing: `--config` must exist; the
    /// default, `CONFIG_DIR/config.toml`, may not.
    fn config_file(&self) -> Option<(PathBuf, bool)> {
        if let Some(path) = &self.config {
            return Some((path.clone(), false));
        }
        let dir = self.config_dir.clone().or_else(file_config::default_config_dir)?;
        Some((dir.join(controlroom_config::FILE_NAME), true))
    }
}

/// Runs the gateway until SIGINT or SIGTERM.
pub fn main(args: ServeArgs) -> anyhow::Result<()> {
    logging::init(args.log_format, &args.log_level);
    let data_dir = crate::data_dir(args.data_dir.clone())?;
    let config_file = args.config_file();
    let mut config = args.gateway;
    config.data_dir = data_dir;
    // Workers run in holder processes of this executable, so they outlive the gateway.
    config.holder_exe = Some(crate::holder_exe()?);
    config.token_override = std::env::var("CONTROLROOM_TOKEN").ok().filter(|t| !t.trim().is_empty());
    if config.allow_origins.iter().any(|o| o.trim().eq_ignore_ascii_case("null")) {
        anyhow::bail!("--allow-origin null is refused: any sandboxed page or local file sends Origin: null");
    }
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        config.tls = Some(cfg::TlsPaths { cert, key });
    }
    let file = match &config_file {
        Some((path, optional)) => file_config::load(path, *optional)?,
        None => file_config::FileConfig::default(),
    };
    config.apply_file(&file, args.idle_after).map_err(|e| {
        let path = config_file.as_ref().map(|(p, _)| p.display().to_string()).unwrap_or_default();
        anyhow::anyhow!("{path}: {e}")
    })?;
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(args.blocking_threads)
        .thread_keep_alive(args.blocking_keep_alive)
        .build()
        .context("starting the async runtime")?;
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
