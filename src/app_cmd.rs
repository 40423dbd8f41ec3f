//! The client side of the binary: the TUI (no subcommand), `attach`, `ls`, `new`, `send`, `watch`,
//! `stop`, `restart` (`reply` and `rm` have files of their own).
//!
//! Every command finds a gateway the same way: `--connect`/`CONTROLROOM_URL`, else the config's
//! `gateway-url`, else `DATA_DIR/gateway.json` if a gateway answers there; the TUI (and `attach`)
//! otherwise starts one in the background (`background.rs`), which stays when they quit. All of
//! them then speak HTTP + WebSocket only.

use anyhow::{Context as _, anyhow, bail};
use controlroom_protocol::{CreateSession, Session, WorkerSpec, WorkerState, WorktreeRequest};
use controlroom_tui::client::GatewayFile;
use controlroom_tui::client::Trust;
use controlroom_tui::client::http::Gateway;
use controlroom_tui::config::Config;
use controlroom_tui::runtime::Options;
use controlroom_tui::state::Settings;
use controlroom_tui::theme::ThemeSet;
use std::path::{Path, PathBuf};

/// Where to find the gateway and the user's files; shared by every client command.
///
/// Every flag is global: `controlroom --data-dir D ls` and `controlroom ls --data-dir D` mean
/// the same (clap carries a value given on either side of the subcommand to the other).
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// Data directory (token, gateway.json, logs).
    #[arg(long, env = "CONTROLROOM_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Config directory (config.toml, themes/).
    #[arg(long, env = "CONTROLROOM_CONFIG_DIR", global = true)]
    config_dir: Option<PathBuf>,
    /// Gateway URL (e.g. `http://127.0.0.1:7420` or `https://gw.example:7420`) instead of the local one.
    #[arg(long = "connect", env = "CONTROLROOM_URL", value_name = "URL", global = true)]
    connect: Option<String>,
    /// PEM file of the CA (or the self-signed certificate) to trust for an https:// gateway, beside
    /// the usual web roots (default: config.toml's `tls-ca`).
    #[arg(long, env = "CONTROLROOM_TLS_CA", value_name = "FILE", global = true)]
    tls_ca: Option<PathBuf>,
    /// File holding the token (default: DATA_DIR/token; `CONTROLROOM_TOKEN` overrides both).
    #[arg(long, value_name = "FILE", global = true)]
    token_file: Option<PathBuf>,
}

/// `controlroom attach SESSION[/WORKER]`.
#[derive(Debug, clap::Args)]
pub struct AttachArgs {
    /// Session (id, title or unique prefix), optionally `/WORKER`.
    target: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// `controlroom ls`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Print the gateway's JSON (`{sessions, activityStates, seq}`).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    client: ClientArgs,
}

/// `controlroom new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// Session title (default: the directory's name).
    #[arg(long)]
    title: Option<String>,
    /// Working directory (default: the current one).
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Make a git worktree for this new branch (from the directory's repository) and start there.
    #[arg(long, value_name = "BRANCH")]
    worktree: Option<String>,
    /// What the worktree's branch starts from (default: the branch checked out in the directory).
    #[arg(long, value_name = "REF", requires = "worktree")]
    base: Option<String>,
    /// Attach to the new worker at once, as `attach` does (the detach chord leaves it running),
    /// instead of printing `SESSION_ID/WORKER_ID`.
    #[arg(long, short = 'a')]
    attach: bool,
    /// Command to run (default: the gateway's shell).
    #[arg(last = true)]
    command: Vec<String>,
    #[command(flatten)]
    client: ClientArgs,
}

/// `controlroom send`.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// `SESSION/WORKER` (ids, names or unique prefixes).
    target: String,
    /// Text to type, as is.
    text: String,
    /// Press Enter after the text.
    #[arg(long)]
    enter: bool,
    #[command(flatten)]
    client: ClientArgs,
}

/// `controlroom stop`.
#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// `SESSION` (every running worker) or `SESSION/WORKER` (ids, names or unique prefixes).
    target: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// `controlroom restart`.
#[derive(Debug, clap::Args)]
pub struct RestartArgs {
    /// `SESSION/WORKER` (ids, names or unique prefixes).
    target: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// `controlroom watch`.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    #[command(flatten)]
    client: ClientArgs,
}

/// A gateway to talk to.
struct Conn {
    url: String,
    token: String,
    /// The file the token was read from (`None`: `CONTROLROOM_TOKEN`), re-read by the TUI when
    /// the token is refused.
    token_file: Option<PathBuf>,
    /// Certificates accepted for an `https://` gateway.
    trust: Trust,
    /// Set when found through `gateway.json` (re-read on reconnect).
    gateway_json: Option<PathBuf>,
}

impl ClientArgs {
    fn data_dir(&self) -> anyhow::Result<PathBuf> {
        crate::data_dir(self.data_dir.clone())
    }

    fn config_dir(&self) -> Option<PathBuf> {
        self.config_dir.clone().or_else(controlroom_server::file_config::default_config_dir)
    }

    fn config(&self) -> anyhow::Result<Config> {
        match self.config_dir() {
            Some(dir) => Ok(Config::load(&dir)?),
            None => Ok(Config::default()),
        }
    }

    /// The token, and the file it was read from (`None` when it came from the environment).
    fn token(&self, data_dir: &Path) -> anyhow::Result<(String, Option<PathBuf>)> {
        if let Ok(t) = std::env::var("CONTROLROOM_TOKEN")
            && !t.trim().is_empty()
        {
            return Ok((t.trim().to_owned(), None));
        }
        let path = self.token_file.clone().unwrap_or_else(|| data_dir.join("token"));
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("no token at {} (run `controlroom token` on the gateway host)", path.display())
        })?;
        Ok((text.trim().to_owned(), Some(path)))
    }

    /// The web roots plus `--tls-ca` (or config.toml's `tls-ca`), checked readable now.
    fn trust(&self, config: &Config) -> anyhow::Result<Trust> {
        let trust = Trust::new(self.tls_ca.clone().or_else(|| config.tls_ca.clone()));
        trust.check()?;
        Ok(trust)
    }

    /// `--connect` (or config.toml's `gateway-url`), checked to parse: a URL that cannot parse
    /// is a final error, reported once, never something to retry.
    fn gateway_url(&self, config: &Config) -> anyhow::Result<Option<String>> {
        let Some(url) = self.connect.clone().or_else(|| config.gateway_url.clone()) else {
            return Ok(None);
        };
        match controlroom_tui::client::Endpoint::parse(&url) {
            Ok(_) => Ok(Some(url)),
            Err(e) => bail!("{e} (pass --connect http://HOST:PORT or https://HOST:PORT)"),
        }
    }

    /// Finds a gateway; with `start`, starts one in the background when none answers.
    async fn connect(&self, config: &Config, start: bool) -> anyhow::Result<Conn> {
        let data_dir = self.data_dir()?;
        let trust = self.trust(config)?;
        if let Some(url) = self.gateway_url(config)? {
            let (token, token_file) = self.token(&data_dir)?;
            return Ok(Conn { url, token, token_file, trust, gateway_json: None });
        }
        if let Some(conn) = self.local(&data_dir, &trust).await? {
            return Ok(conn);
        }
        if !start {
            bail!("no gateway running (start one with `controlroom serve`, or pass --connect URL)");
        }
        let mut child = crate::background::spawn(&data_dir, self.config_dir().as_deref())?;
        tracing::info!(pid = child.id(), "started a background gateway");
        let deadline = std::time::Instant::now() + BACKGROUND_START;
        loop {
            if let Some(conn) = self.local(&data_dir, &trust).await? {
                return Ok(conn);
            }
            if let Ok(Some(status)) = child.try_wait() {
                bail!(
                    "the background gateway stopped ({status}); {}:\n{}",
                    data_dir.join(crate::background::LOG_FILE).display(),
                    crate::background::log_tail(&data_dir)
                );
            }
            if std::time::Instant::now() > deadline {
                bail!(
                    "the background gateway did not answer within {}s; see {}",
                    BACKGROUND_START.as_secs(),
                    data_dir.join(crate::background::LOG_FILE).display()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The gateway `DATA_DIR/gateway.json` names, if it answers.
    async fn local(&self, data_dir: &Path, trust: &Trust) -> anyhow::Result<Option<Conn>> {
        let path = data_dir.join("gateway.json");
        let Ok(file) = GatewayFile::read(&path) else { return Ok(None) };
        let (token, token_file) = self.token(data_dir)?;
        // A gateway serving TLS names its certificate, so a self-signed one is trusted here.
        let local = match file.tls_cert {
            Some(cert) => trust.clone().with(cert),
            None => trust.clone(),
        };
        match Gateway::new(&file.url, token.clone(), local.clone())?.healthz().await {
            Ok(()) => {
                Ok(Some(Conn { url: file.url, token, token_file, trust: local, gateway_json: Some(path) }))
            }
            // A gateway answers but cannot be trusted: say so rather than start another.
            Err(e @ controlroom_tui::Error::Certificate { .. }) => Err(e.into()),
            Err(_) => Ok(None),
        }
    }
}

/// How long a background gateway has to answer after it is started.
const BACKGROUND_START: std::time::Duration = std::time::Duration::from_secs(20);

/// Sends tracing output to `DATA_DIR/controlroom.log`: the TUI owns the terminal.
fn log_to_file(data_dir: &Path) {
    use std::os::unix::fs::OpenOptionsExt as _;
    let _ = std::fs::create_dir_all(data_dir);
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(data_dir.join("controlroom.log"))
    else {
        return;
    };
    crate::logging::init_file(file);
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("starting the async runtime")
}

/// The front end's runtime: one thread. Its loop, its sockets and the terminal are all waited on
/// by one poller, so a keystroke and its echo never wake a second thread (on a multi-thread
/// runtime the worker socket's task and the loop ran on different threads, a futex wake-up each
/// way); the gateway it talks to is another process, and the one heavy job (a flood's parsing)
/// runs on the loop in budgeted slices either way.
fn front_end_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")
}

/// `controlroom` with no subcommand: the dashboard.
pub fn tui(args: ClientArgs) -> anyhow::Result<()> {
    run_tui(args, None)
}

/// `controlroom attach`: straight into a worker; detaching leaves the program.
pub fn attach(args: AttachArgs) -> anyhow::Result<()> {
    run_tui(args.client, Some(args.target))
}

/// The TUI was started without a terminal on stdin and stdout: one line, exit 2.
#[derive(Debug)]
pub struct NeedsTerminal;

impl std::fmt::Display for NeedsTerminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("controlroom needs a terminal; use `ls`, `send`, `watch` from scripts")
    }
}

impl std::error::Error for NeedsTerminal {}

fn run_tui(args: ClientArgs, target: Option<String>) -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    let config = args.config()?;
    // Flag errors first (as clap's own are), then the terminal, before any terminal setup or a
    // gateway is started.
    args.gateway_url(&config)?;
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return Err(NeedsTerminal.into());
    }
    let data_dir = args.data_dir()?;
    log_to_file(&data_dir);
    front_end_runtime()?.block_on(async move {
        let conn = args.connect(&config, true).await?;
        let attach = match &target {
            Some(spec) => {
                let gw = Gateway::new(&conn.url, conn.token.clone(), conn.trust.clone())?;
                let list = gw.sessions().await;
                let found = list.map_err(anyhow::Error::from).and_then(|l| {
                    let (s, w) = controlroom_tui::names::target(&l.sessions, spec)?;
                    Ok((s.id.clone(), w.id.clone()))
                });
                Some(found?)
            }
            None => None,
        };
        let (themes, mut warnings) = ThemeSet::load(args.config_dir().map(|d| d.join("themes")).as_deref());
        warnings.iter().for_each(|w| tracing::warn!(warning = %w, "theme"));
        let settings = Settings {
            keys: config.keys.clone(),
            exit_on_detach: target.is_some(),
            default_command: config.default_command.clone(),
            themes: themes.names().to_vec(),
            scrollback_lines: config.scrollback_lines,
            frame_interval: config.frame_interval,
            max_message: config.max_message,
            wall_max_tiles: config.wall_max_tiles,
            chord_timeout: config.chord_timeout,
            clipboard_max: config.clipboard_max,
            ws_read_buffer: config.ws_read_buffer,
            queues: config.queues,
            read_only: controlroom_tui::client::token::is_read_only(&conn.token),
            // Only a gateway on this machine can start a session in this machine's directory.
            start_dir: is_local(&conn.url)
                .then(|| std::env::current_dir().ok().map(|d| d.display().to_string()))
                .flatten(),
            notify: config.notify.resolve(
                std::env::var("TERM_PROGRAM").ok().as_deref(),
                std::env::var("TERM").ok().as_deref(),
                std::env::var_os("WT_SESSION").is_some(),
            ),
        };
        let opts = Options {
            url: conn.url.clone(),
            token: conn.token.clone(),
            token_file: conn.token_file.clone(),
            trust: conn.trust.clone(),
            gateway_json: conn.gateway_json.clone(),
            settings,
            themes,
            theme: config.theme.clone(),
            warnings: std::mem::take(&mut warnings),
            attach,
            state_file: args.data_dir().ok().map(|d| d.join(controlroom_tui::remembered::FILE_NAME)),
        };
        // The gateway (ours or not) and its workers keep running after we quit.
        controlroom_tui::runtime::run(opts).await.map_err(anyhow::Error::from)
    })
}

pub(crate) async fn remote(args: &ClientArgs) -> anyhow::Result<Gateway> {
    let config = args.config()?;
    let conn = args.connect(&config, false).await?;
    Ok(Gateway::new(&conn.url, conn.token, conn.trust)?)
}

/// `text` with control characters escaped (`\u{1b}`): titles, names and commands come from
/// whoever can create sessions, or from a session source (a pull request's title), and printed raw
/// an escape sequence would drive the reader's terminal.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() })
        .collect::<String>()
        .into()
}

/// `controlroom ls [--json]`.
pub fn ls(args: LsArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        let list = remote(&args.client).await?.sessions().await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&list)?);
            return Ok(());
        }
        let activity = |s: &Session, w: &controlroom_protocol::Worker| {
            list.activity_states
                .iter()
                .find(|a| a.session_id == s.id && a.worker_id == w.id)
                .map(|a| format!("{:?}", a.activity_state).to_lowercase())
        };
        if list.sessions.is_empty() {
            // stderr: a script reading stdout sees an empty list, a person sees what to do next.
            eprintln!("no sessions (start one with `controlroom new` or in `controlroom`)");
        }
        for s in &list.sessions {
            let place = s.branch.as_ref().map_or(s.cwd.clone(), |b| format!("{} @ {b}", s.cwd));
            println!("{}  {}  {}", s.id, printable(&s.title), printable(&place));
            for w in &s.workers {
                let state = match (w.state, w.exit_code, &w.signal) {
                    (WorkerState::Running, _, _) => activity(s, w).unwrap_or_else(|| "running".into()),
                    (_, Some(c), _) => format!("exited {c}"),
                    (_, None, Some(sig)) => sig.clone(),
                    _ => "exited".into(),
                };
                let command = w.command.join(" ");
                println!("  {}  {}  {}  {}", w.id, printable(&w.name), state, printable(&command));
            }
        }
        Ok(())
    })
}

/// `controlroom new`: prints `SESSION_ID/WORKER_ID`, or with `--attach` lands in the new worker.
pub fn new(args: NewArgs) -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    // Refused before anything is created: a session nobody could attach to would be left over.
    if args.attach && !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return Err(NeedsTerminal.into());
    }
    let client = args.client.clone();
    let attach = args.attach;
    let target = runtime()?.block_on(async move {
        let gw = remote(&args.client).await?;
        let cwd = match args.cwd {
            Some(c) => c,
            None => std::env::current_dir().context("reading the current directory")?,
        };
        let cwd = std::fs::canonicalize(&cwd).unwrap_or(cwd);
        let title = args.title.or_else(|| args.worktree.clone()).unwrap_or_else(|| {
            cwd.file_name().map_or_else(|| "session".into(), |n| n.to_string_lossy().into_owned())
        });
        let worktree = args.worktree.map(|branch| WorktreeRequest { branch, base: args.base });
        let command = (!args.command.is_empty()).then_some(args.command);
        let req = CreateSession {
            title,
            cwd: Some(cwd.to_string_lossy().into_owned()),
            workers: Some(vec![WorkerSpec { command, ..WorkerSpec::default() }]),
            worktree,
        };
        let session = gw.create_session(&req).await?;
        anyhow::Ok(match session.workers.first() {
            Some(w) => format!("{}/{}", session.id, w.id),
            None => session.id.to_string(),
        })
    })?;
    if attach {
        return run_tui(client, Some(target));
    }
    println!("{target}");
    Ok(())
}

/// `controlroom send SESSION/WORKER TEXT`.
pub fn send(args: SendArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        let gw = remote(&args.client).await?;
        let list = gw.sessions().await?;
        let (s, w) = controlroom_tui::names::target(&list.sessions, &args.target)?;
        let mut text = args.text;
        if args.enter {
            text.push('\r');
        }
        gw.input(s.id.as_str(), w.id.as_str(), &text).await?;
        Ok(())
    })
}

/// `controlroom stop SESSION[/WORKER]`: SIGHUP, then SIGKILL after the gateway's grace period.
pub fn stop(args: StopArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        let gw = remote(&args.client).await?;
        let list = gw.sessions().await?;
        let stops: Vec<(String, String, String)> = if args.target.contains('/') {
            let (s, w) = controlroom_tui::names::target(&list.sessions, &args.target)?;
            vec![(s.id.to_string(), w.id.to_string(), w.name.clone())]
        } else {
            let s = controlroom_tui::names::session(&list.sessions, &args.target)?;
            s.workers
                .iter()
                .filter(|w| w.state == WorkerState::Running)
                .map(|w| (s.id.to_string(), w.id.to_string(), w.name.clone()))
                .collect()
        };
        for (sid, wid, name) in stops {
            let w = gw.stop_process(&sid, &wid).await?;
            let how = match (w.exit_code, &w.signal) {
                (Some(c), _) => format!("exited {c}"),
                (None, Some(sig)) => sig.clone(),
                _ => "stopped".into(),
            };
            println!("{sid}/{wid}  {name}  {how}");
        }
        Ok(())
    })
}

/// `controlroom restart SESSION/WORKER`.
pub fn restart(args: RestartArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        let gw = remote(&args.client).await?;
        let list = gw.sessions().await?;
        let (s, w) = controlroom_tui::names::target(&list.sessions, &args.target)?;
        let w = gw.restart_worker(s.id.as_str(), w.id.as_str()).await?;
        println!(
            "{}/{}  {}  running (pid {})",
            s.id,
            w.id,
            w.name,
            w.pid.map_or("?".into(), |p| p.to_string())
        );
        Ok(())
    })
}

/// `controlroom watch`: deltas as JSON lines until interrupted.
pub fn watch(args: WatchArgs) -> anyhow::Result<()> {
    use std::io::Write as _;
    runtime()?.block_on(async move {
        let config = args.client.config()?;
        let conn = args.client.connect(&config, false).await?;
        let mut out = std::io::stdout().lock();
        let mut failed = None;
        let result = controlroom_tui::client::watch::watch_deltas(
            &conn.url,
            &conn.token,
            &conn.trust,
            |d| {
                let line = serde_json::to_string(d).map_err(anyhow::Error::from);
                match line.and_then(|l| writeln!(out, "{l}").and_then(|()| out.flush()).map_err(Into::into)) {
                    Ok(()) => std::ops::ControlFlow::Continue(()),
                    // stdout is gone (e.g. `controlroom watch | head -1`): stop watching.
                    Err(e) => {
                        failed.get_or_insert(e);
                        std::ops::ControlFlow::Break(())
                    }
                }
            },
            |status| eprintln!("controlroom watch: {status}"),
        )
        .await;
        if let Some(e) = failed {
            return Err(e);
        }
        result.map_err(|e| anyhow!(e))
    })
}

/// Whether the gateway runs on this machine (embedded, or reached over loopback).
fn is_local(url: &str) -> bool {
    let rest = url.split("://").nth(1).unwrap_or(url);
    ["127.", "localhost:", "localhost/", "[::1]"].iter().any(|p| rest.starts_with(p)) || rest == "localhost"
}
