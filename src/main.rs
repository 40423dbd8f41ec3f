//! The `controlroom` binary: parses the command line and hands off to the gateway or the front end.

mod logging;
mod parse;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// A terminal control room for many long-lived terminal workers.
#[derive(Debug, Parser)]
#[command(name = "controlroom", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway headless: HTTP + WebSocket API over PTY workers.
    Serve(Box<serve::ServeArgs>),
    /// Print the gateway's owner token.
    Token(TokenArgs),
}

/// `controlroom token`.
#[derive(Debug, clap::Args)]
struct TokenArgs {
    /// Data directory holding the token.
    #[arg(long, env = "CONTROLROOM_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Serve(args)) => serve::main(*args),
        Some(Command::Token(args)) => token(args),
        None => Err(anyhow::anyhow!("the front end is not built yet; run `controlroom serve`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("controlroom: {e:#}");
            ExitCode::FAILURE
        }
    }
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
    let dir = data_dir(args.data_dir)?;
    let token = controlroom_server::auth::load_or_create_token(&dir)
        .with_context(|| format!("reading the token in {}", dir.display()))?;
    println!("{token}");
    Ok(())
}
