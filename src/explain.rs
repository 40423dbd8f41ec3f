//! `controlroom explain SESSION/WORKER`: a worker's activity state and the evidence that chose it.

use crate::app_cmd::{ClientArgs, remote, runtime};
use controlroom_protocol::ActivityReport;
use std::fmt::Write as _;

/// `controlroom explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// `SESSION[/WORKER]` (ids, titles/names or unique prefixes).
    target: String,
    /// Print the gateway's JSON answer.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    client: ClientArgs,
}

/// Prints the report for the named worker.
pub fn explain(args: ExplainArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        let gw = remote(&args.client).await?;
        let list = gw.sessions().await?;
        let (session, worker) = controlroom_tui::names::target(&list.sessions, &args.target)?;
        let report = gw.activity(session.id.as_str(), worker.id.as_str()).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", render(&format!("{}/{}", session.title, worker.name), &report));
        }
        Ok(())
    })
}

/// The human-readable report.
fn render(name: &str, r: &ActivityReport) -> String {
    let state =
        serde_json::to_value(r.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let mut out = format!("{name}: {state}");
    if let Some(since) = &r.since {
        let _ = write!(out, " since {since}");
    }
    if let Some(preset) = &r.preset {
        let _ = write!(out, " (preset {preset})");
    }
    out.push('\n');
    if r.evidence.is_empty() {
        out.push_str("no evidence yet (no output seen)\n");
    } else {
        out.push_str("evidence, most recent first:\n");
        for e in &r.evidence {
            let _ = writeln!(out, "  {}  {:<8} {}", e.at, e.kind, e.detail);
        }
    }
    if let Some(title) = &r.title {
        let _ = writeln!(out, "title: {title}");
    }
    if !r.screen_tail.is_empty() {
        out.push_str("screen (last lines scanned):\n");
        for l in &r.screen_tail {
            let _ = writeln!(out, "  | {l}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use controlroom_protocol::{ActivityState, Evidence, SessionId, WorkerId};

    #[test]
    fn report_names_state_evidence_and_screen() {
        let r = ActivityReport {
            session_id: SessionId::new("s1"),
            worker_id: WorkerId::new("w1"),
            state: ActivityState::Asking,
            since: Some("2026-11-21T12:00:00.000Z".into()),
            evidence: vec![Evidence {
                kind: "screen".into(),
                detail: r#"pattern "Do you want to.*\\?" matched "Do you want to proceed?""#.into(),
                at: "2026-11-21T12:00:00.000Z".into(),
            }],
            preset: Some("claude".into()),
            screen_tail: vec!["Do you want to proceed?".into(), "❯ 1. Yes".into()],
            title: None,
        };
        let text = render("build/claude", &r);
        assert!(
            text.starts_with("build/claude: asking since 2026-11-21T12:00:00.000Z (preset claude)\n"),
            "{text}"
        );
        assert!(text.contains("screen   pattern"), "{text}");
        assert!(text.contains("  | ❯ 1. Yes\n"), "{text}");
    }
}
