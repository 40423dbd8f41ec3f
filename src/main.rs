//! The `controlroom` binary: parses the command line and hands off to the gateway or the front end.

mod app_cmd;
mod background;
mod cli_docs;
mod explain;
mod logging;
mod reply_cmd;
mod rm_cmd;
mod serve;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// A terminal control room for many long-lived terminal workers.
#[derive(Debug, Parser)]
#[command(name = "controlroom", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Gateway and directory flags of the dashboard (no subcommand).
    #[command(flatten)]
    client: app_cmd::ClientArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway headless: HTTP + WebSocket API over PTY workers.
    Serve(Box<serve::ServeArgs>),
    /// Print the gateway's owner token, mint a scoped token (--ttl), or rotate the signing secret
    /// (and with --owner the owner token).
    Token(TokenArgs),
    // Client commands (front end, src/app_cmd.rs).
    /// Attach to a worker's terminal: SESSION[/WORKER]; the detach chord (Ctrl-\\) leaves.
    Attach(app_cmd::AttachArgs),
    /// List sessions and workers.
    Ls(app_cmd::LsArgs),
    /// Create a session with one worker; prints SESSION_ID/WORKER_ID.
    New(app_cmd::NewArgs),
    /// Type text into a worker: SESSION/WORKER TEXT.
    Send(app_cmd::SendArgs),
    /// Print session deltas as JSON lines until interrupted.
    Watch(app_cmd::WatchArgs),
    /// Print a worker's activity state and the evidence that chose it: SESSION/WORKER.
    Explain(explain::ExplainArgs),
    /// Stop a worker, or every running worker of a session: SESSION[/WORKER]. Workers keep
    /// running when the gateway stops; this is how to end them (they stay listed, exited).
    Stop(app_cmd::StopArgs),
    /// Delete a session, stopping its workers: SESSION. With --remove-worktree, the git worktree
    /// and branch made for it go too (refused while that would lose work, unless --force).
    Rm(rm_cmd::RmArgs),
    /// Start an exited worker again (a `lost` agent resumes its conversation): SESSION/WORKER.
    Restart(app_cmd::RestartArgs),
    /// Answer a worker's prompt (or type a line and Enter) and say which prompt it answered:
    /// SESSION[/WORKER] TEXT. Exit 0: typed; 1: nothing typed (error on stderr); 2: usage.
    Reply(reply_cmd::ReplyArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(cli_docs::CompletionsArgs),
    /// Print the man page (roff), or write one page per command into --out-dir.
    Man(cli_docs::ManArgs),
}

/// Printed (stderr) with every minted token that can write: typing into a shell worker is the
/// gateway user's access, which reaches the owner token itself (SECURITY.md).
const WRITE_TOKEN_WARNING: &str = "controlroom: warning: this token can type into shell workers, which run as you: whoever holds it can do anything you can, read DATA_DIR/token and become the owner. Share only --read-only tokens.";

/// `controlroom token`.
#[derive(Debug, clap::Args)]
struct TokenArgs {
    /// Data directory holding the token.
    #[arg(long, env = "CONTROLROOM_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Mint a signed token valid this long (e.g. 8h, 30m) instead of printing the owner token.
    #[arg(long, value_parser = controlroom_server::flag_values::duration)]
    ttl: Option<std::time::Duration>,
    /// The minted token can watch but not type, resize, paste or change anything.
    #[arg(long, requires = "ttl")]
    read_only: bool,
    /// The minted token sees and attaches to this session only.
    #[arg(long, requires = "ttl", value_name = "ID")]
    session: Option<String>,
    /// Replace the signing secret: every minted token, and every connection using one, stops
    /// working at once. The owner token is unaffected unless --owner is given.
    #[arg(long)]
    rotate: bool,
    /// With --rotate: replace the owner token too (printed); a running gateway refuses the old
    /// one at once and closes its connections with 4001.
    #[arg(long, requires = "rotate", conflicts_with = "ttl")]
    owner: bool,
    /// Print the webhook signing secret (DATA_DIR/webhook-secret, created if missing) instead.
    #[arg(long, conflicts_with_all = ["ttl", "rotate"])]
    webhook_secret: bool,
}

/// Subcommands that are not clients of a gateway: the client flags (global, so they are carried
/// into every subcommand) are hidden from their help and refused there.
const NOT_CLIENTS: &[&str] = &["serve", "token", "completions", "man"];

/// The command line as parsed, documented, completed and turned into a man page.
pub(crate) fn command() -> clap::Command {
    let mut cmd = Cli::command();
    // Builds now so the global client flags are already copied into each subcommand.
    cmd.build();
    for name in NOT_CLIENTS {
        cmd = cmd
            .mut_subcommand(name, |sub| sub.mut_args(|a| if a.is_global_set() { a.hide(true) } else { a }));
    }
    cmd
}

/// A client flag given to a subcommand that does not use it (`controlroom --connect URL serve`).
fn misplaced_client_flag(cmd: &clap::Command, matches: &clap::ArgMatches) -> Option<String> {
    let (name, sub_matches) = matches.subcommand()?;
    let sub = cmd.find_subcommand(name).filter(|_| NOT_CLIENTS.contains(&name))?;
    sub.get_arguments()
        .filter(|a| a.is_global_set())
        .find(|a| sub_matches.value_source(a.get_id().as_str()) == Some(clap::parser::ValueSource::CommandLine))
        .map(|a| {
            let flag = a.get_long().unwrap_or_else(|| a.get_id().as_str());
            format!("--{flag} is for the client commands, not `{name}` (drop it, or use it with `ls`, `attach`, …)")
        })
}

fn main() -> ExitCode {
    // The holder (`controlroom __holder`, internal) is dispatched before anything else: no CLI
    // parser, runtime or logging is set up, so none of their memory stays in every holder
    // (ARCHITECTURE.md, "Holder memory"). It forks, so no thread may exist yet either.
    let mut args = std::env::args_os();
    if args.nth(1).as_deref() == Some(std::ffi::OsStr::new(controlroom_server::holder::SUBCOMMAND)) {
        let code = controlroom_server::holder::main_with_args(args);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let cmd = command();
    let matches = cmd.clone().get_matches();
    if let Some(message) = misplaced_client_flag(&cmd, &matches) {
        eprintln!("controlroom: {message}");
        return ExitCode::from(2);
    }
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Some(Command::Serve(args)) => serve::main(*args),
        Some(Command::Token(args)) => token(args),
        Some(Command::Attach(args)) => app_cmd::attach(args),
        Some(Command::Ls(args)) => app_cmd::ls(args),
        Some(Command::New(args)) => app_cmd::new(args),
        Some(Command::Send(args)) => app_cmd::send(args),
        Some(Command::Watch(args)) => app_cmd::watch(args),
        Some(Command::Explain(args)) => explain::explain(args),
        Some(Command::Stop(args)) => app_cmd::stop(args),
        Some(Command::Restart(args)) => app_cmd::restart(args),
        Some(Command::Rm(args)) => rm_cmd::rm(args),
        Some(Command::Reply(args)) => reply_cmd::reply(args),
        Some(Command::Completions(args)) => cli_docs::completions(&args, command()),
        Some(Command::Man(args)) => cli_docs::man(&args, command()),
        None => app_cmd::tui(cli.client),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Not a failure of the program but of how it was started: the usage exit code, as clap's.
        Err(e) if e.is::<app_cmd::NeedsTerminal>() => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("controlroom: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The executable holders run (this one): workers outlive the gateway in holder processes.
fn holder_exe() -> anyhow::Result<PathBuf> {
    use anyhow::Context as _;
    let exe = std::env::current_exe().context("finding this executable (holders run it)")?;
    // Once an upgrade has replaced the file, Linux names the running one "PATH (deleted)": new
    // holders then run the new executable at PATH.
    Ok(match exe.to_str().and_then(|p| p.strip_suffix(" (deleted)")) {
        Some(path) => PathBuf::from(path),
        None => exe,
    })
}

/// Resolves `--data-dir` or the platform default.
fn data_dir(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match flag {
        Some(d) => Ok(d),
        None => controlroom_server::config::default_data_dir()
            .ok_or_else(|| anyhow::anyhow!("no home directory to put the data dir in; pass --data-dir")),
    }
}

fn token(args: TokenArgs) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use controlroom_server::scoped;
    let dir = data_dir(args.data_dir)?;
    if args.webhook_secret {
        let secret = controlroom_server::auth::load_or_create_webhook_secret(&dir)
            .with_context(|| format!("reading the webhook secret in {}", dir.display()))?;
        println!("{secret}");
        return Ok(());
    }
    if args.rotate {
        scoped::rotate_secret(&dir)
            .with_context(|| format!("rotating the token secret in {}", dir.display()))?;
        eprintln!("controlroom: token secret rotated; every minted token is now refused");
        if args.owner {
            let token = controlroom_server::auth::owner::rotate_owner_token(&dir)
                .with_context(|| format!("replacing the owner token in {}", dir.display()))?;
            eprintln!("controlroom: owner token replaced; the old one is refused and its connections closed");
            if std::env::var_os("CONTROLROOM_TOKEN").is_some() {
                eprintln!(
                    "controlroom: note: a gateway started with CONTROLROOM_TOKEN uses that token, not DATA_DIR/token; restart it with the new one"
                );
            }
            println!("{token}");
            return Ok(());
        }
    }
    if let Some(ttl) = args.ttl {
        let scope = if args.read_only { scoped::Scope::Read } else { scoped::Scope::Write };
        let session = args.session.map(controlroom_protocol::SessionId::new);
        let (token, claims) = scoped::mint_in(&dir, scope, session, ttl)
            .with_context(|| format!("minting a token from the secret in {}", dir.display()))?;
        let expires = jiff::Timestamp::from_second(i64::try_from(claims.exp).unwrap_or(i64::MAX))
            .map_or_else(|_| claims.exp.to_string(), |t| t.to_string());
        let what = if args.read_only { "read-only" } else { "read-write" };
        let which = claims.sid.map_or_else(|| "all sessions".to_string(), |s| format!("session {s}"));
        eprintln!("controlroom: {what} token for {which}, expires {expires}");
        if !args.read_only {
            eprintln!("{WRITE_TOKEN_WARNING}");
        }
        println!("{token}");
    } else if !args.rotate {
        let token = controlroom_server::auth::load_or_create_token(&dir)
            .with_context(|| format!("reading the token in {}", dir.display()))?;
        println!("{token}");
    }
    Ok(())
}
