//! `controlroom reply SESSION[/WORKER] TEXT`: answers a worker's prompt from a script, the way
//! the dashboard's `y`/`n`/`1`-`9` do, and says which prompt it answered.
//!
//! Exit codes: 0 the reply was typed (the line says whether it answered a prompt), 1 nothing was
//! typed (no such worker, several to choose from, the worker exited, an answer the prompt does
//! not take; one line on stderr), 2 the command line is wrong.

use crate::app_cmd::{ClientArgs, remote, runtime};
use controlroom_protocol::{ActivityEntry, ActivityState, ReplyRequest, Session, Worker};

/// `controlroom reply`.
#[derive(Debug, clap::Args)]
pub struct ReplyArgs {
    /// `SESSION[/WORKER]` (ids, titles/names or unique prefixes); WORKER may be left out when the
    /// session has one worker, or one worker asking.
    target: String,
    /// The answer (`1`, `y`) or a line to type; Enter follows unless the prompt takes the answer
    /// alone (a numbered menu). Empty: Enter alone.
    text: String,
    /// Type TEXT and Enter as they are, even when the prompt takes TEXT as a key alone.
    #[arg(long)]
    literal: bool,
    #[command(flatten)]
    client: ClientArgs,
}

/// Answers the named worker and prints what it answered.
pub fn reply(args: ReplyArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        let gw = remote(&args.client).await?;
        let list = gw.sessions().await?;
        let (session, worker) = reply_target(&list.sessions, &list.activity_states, &args.target)?;
        let req = ReplyRequest { text: args.text.clone(), literal: args.literal };
        let answer = gw.reply(session.id.as_str(), worker.id.as_str(), &req).await?;
        println!("{}", controlroom_tui::state::reply::describe_reply(&args.text, &answer));
        Ok(())
    })
}

/// `SESSION[/WORKER]`; without WORKER, the session's only worker or its only asking one.
fn reply_target<'a>(
    sessions: &'a [Session],
    activity: &[ActivityEntry],
    spec: &str,
) -> anyhow::Result<(&'a Session, &'a Worker)> {
    if spec.contains('/') {
        return Ok(controlroom_tui::names::target(sessions, spec)?);
    }
    let session = controlroom_tui::names::session(sessions, spec)?;
    let asking = |w: &&Worker| {
        activity.iter().any(|a| {
            a.session_id == session.id && a.worker_id == w.id && a.activity_state == ActivityState::Asking
        })
    };
    match session.workers.as_slice() {
        [] => anyhow::bail!("session “{}” has no workers", session.title),
        [one] => return Ok((session, one)),
        _ => {}
    }
    let askers: Vec<&Worker> = session.workers.iter().filter(asking).collect();
    if let [one] = askers.as_slice() {
        return Ok((session, one));
    }
    let names =
        |ws: &mut dyn Iterator<Item = &Worker>| ws.map(|w| w.name.clone()).collect::<Vec<_>>().join(", ");
    if askers.is_empty() {
        anyhow::bail!(
            "session “{}” has {} workers and none is asking; name one: {}/WORKER ({})",
            session.title,
            session.workers.len(),
            spec,
            names(&mut session.workers.iter())
        )
    }
    anyhow::bail!(
        "{} workers of session “{}” are asking; name one: {}/WORKER ({})",
        askers.len(),
        session.title,
        spec,
        names(&mut askers.into_iter())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use controlroom_protocol::{SessionId, WorkerId, WorkerKind, WorkerState};

    fn worker(id: &str) -> Worker {
        Worker {
            id: WorkerId::new(id),
            name: format!("{id}-name"),
            kind: WorkerKind::Shell,
            command: vec![],
            cwd: String::new(),
            state: WorkerState::Running,
            exit_code: None,
            signal: None,
            pid: None,
            cols: 80,
            rows: 24,
            started_at: String::new(),
            preset: None,
            notification: None,
            prompt: None,
        }
    }

    fn session(workers: &[&str]) -> Session {
        Session {
            id: SessionId::new("s1"),
            title: "build".into(),
            cwd: String::new(),
            repository: None,
            branch: None,
            created_at: String::new(),
            updated_at: String::new(),
            workers: workers.iter().map(|w| worker(w)).collect(),
            source: None,
            status: None,
            read_only: false,
            git: None,
        }
    }

    fn asking(w: &str) -> ActivityEntry {
        ActivityEntry {
            session_id: SessionId::new("s1"),
            worker_id: WorkerId::new(w),
            activity_state: ActivityState::Asking,
        }
    }

    #[test]
    fn the_worker_may_be_left_out_when_only_one_fits() {
        let one = [session(&["w1"])];
        assert_eq!(reply_target(&one, &[], "build").expect("one worker").1.id.as_str(), "w1");
        let two = [session(&["w1", "w2"])];
        assert_eq!(reply_target(&two, &[asking("w2")], "build").expect("one asking").1.id.as_str(), "w2");
        assert_eq!(reply_target(&two, &[], "build/w1-name").expect("named").1.id.as_str(), "w1");
        let err = reply_target(&two, &[], "build").expect_err("none asking").to_string();
        assert_eq!(
            err,
            "session “build” has 2 workers and none is asking; name one: build/WORKER (w1-name, w2-name)"
        );
        let err = reply_target(&two, &[asking("w1"), asking("w2")], "build").expect_err("both").to_string();
        assert_eq!(err, "2 workers of session “build” are asking; name one: build/WORKER (w1-name, w2-name)");
        assert!(reply_target(&[session(&[])], &[], "build").is_err());
    }
}
