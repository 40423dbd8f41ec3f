//! `controlroom rm SESSION [--remove-worktree [--force]]`: deletes a session from a script (its
//! workers are stopped), and with `--remove-worktree` the git worktree and branch the gateway
//! made for it (`DELETE /api/sessions/ID?removeWorktree=true[&force=true]`).
//!
//! Exit codes: 0 deleted, 1 nothing deleted (no such session, a worktree that would lose work
//! without `--force`; one line on stderr), 2 the command line is wrong.

use crate::app_cmd::{ClientArgs, printable, remote, runtime};
use controlroom_tui::error::Error;

/// `controlroom rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// `SESSION` (id, title or unique prefix).
    target: String,
    /// Remove the git worktree and branch the gateway made for the session too (`new
    /// --worktree`). Refused, and nothing deleted, while that would lose uncommitted changes or
    /// commits no other branch has, unless --force.
    #[arg(long)]
    remove_worktree: bool,
    /// With --remove-worktree: remove the worktree and branch even when that loses work.
    #[arg(long, requires = "remove_worktree")]
    force: bool,
    #[command(flatten)]
    client: ClientArgs,
}

/// Deletes the named session and prints what went.
pub fn rm(args: RmArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        let gw = remote(&args.client).await?;
        let list = gw.sessions().await?;
        let session = controlroom_tui::names::session(&list.sessions, &args.target)?;
        let (id, title) = (session.id.to_string(), printable(&session.title).into_owned());
        if !args.remove_worktree {
            gw.delete_session(&id).await?;
            println!("{id}  {title}  deleted");
            return Ok(());
        }
        gw.delete_session_and_worktree(&id, args.force).await.map_err(worded_for_the_cli)?;
        let branch =
            session.branch.as_deref().map_or_else(String::new, |b| format!(" and branch {}", printable(b)));
        println!("{id}  {title}  deleted, with its worktree {}{branch}", printable(&session.cwd));
        Ok(())
    })
}

/// The gateway's refusal to remove a worktree that would lose work names its query parameter
/// (`repeat with force=true`); on the command line it is the `--force` flag.
fn worded_for_the_cli(e: Error) -> anyhow::Error {
    match e {
        Error::Http { status: 409, message } => {
            let message = message.replace("repeat with force=true", "repeat with --force");
            anyhow::anyhow!("{message} (nothing was deleted)")
        }
        e => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_flag_not_the_query_parameter() {
        let e = Error::Http {
            status: 409,
            message: "the worktree /r.worktrees/x has uncommitted changes (1 file); repeat with force=true \
                      to remove it anyway"
                .into(),
        };
        let said = worded_for_the_cli(e).to_string();
        assert_eq!(
            said,
            "the worktree /r.worktrees/x has uncommitted changes (1 file); repeat with --force to remove it \
             anyway (nothing was deleted)"
        );
        let other = worded_for_the_cli(Error::Http { status: 404, message: "no such session".into() });
        assert_eq!(other.to_string(), "no such session (HTTP 404)");
    }
}
