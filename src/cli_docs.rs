//! `controlroom completions SHELL` and `controlroom man`: generated from the same clap
//! definitions that parse the command line, so they never drift from it.

use anyhow::Context as _;
use std::io::Write as _;
use std::path::PathBuf;

/// `controlroom completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// `controlroom man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write `controlroom.1` and one `controlroom-COMMAND.1` per command into this directory
    /// instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// Prints the completion script for `args.shell`.
pub fn completions(args: &CompletionsArgs, mut cmd: clap::Command) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "controlroom", &mut script);
    print(&script).context("writing the completion script")
}

/// Prints the man page, or writes every page into `--out-dir`.
pub fn man(args: &ManArgs, cmd: clap::Command) -> anyhow::Result<()> {
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        // One page per command a user types (clap's `help` subcommand has none).
        let subs = cmd.get_subcommands().filter(|s| s.get_name() != "help");
        let pages = std::iter::once(("controlroom".to_owned(), cmd.clone())).chain(subs.map(|s| {
            (format!("controlroom-{}", s.get_name()), s.clone().version(env!("CARGO_PKG_VERSION")))
        }));
        for (name, page) in pages {
            let path = dir.join(format!("{name}.1"));
            let mut file =
                std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            clap_mangen::Man::new(page)
                .render(&mut file)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        return Ok(());
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut page).context("rendering the man page")?;
    print(&page).context("writing the man page")
}

/// Writes `bytes` to stdout; a reader that stopped early (`| head`) is not an error.
fn print(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
