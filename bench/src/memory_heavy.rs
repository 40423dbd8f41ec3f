//! Memory a worker keeps after heavy output: a worker that printed a whole burst (16 MB, 4 MB
//! with `--quick`) of base64 text and of an ANSI-heavy log, against tmux with its
//! `history-limit` set to the number of lines controlroom's `history` holds, measured in the same
//! run. Reports lines of history per MiB kept for both.

use crate::gateway::{Gateway, write_input};
use crate::peers::{self, Tmux};
use crate::report::{Report, Row};
use crate::scenarios::Plan;
use anyhow::{Context as _, bail};
use controlroom_bench::{ansi_log, base64_text, summarize};
use std::num::NonZeroU16;
use std::time::{Duration, Instant};

const MIB: f64 = 1024.0 * 1024.0;
/// The pane both contenders print into.
const COLS: u16 = 200;
const ROWS: u16 = 50;
/// Printed after the burst; its arrival on the screen means the worker is done.
const DONE: &str = "crbench-heavy-done";
/// After the burst: the gateway's screen-save tick (2 s) has run and freed what it built.
const SETTLE: Duration = Duration::from_secs(3);
/// Most lines of scrollback the counting parser keeps (far above any `--scrollback`).
const COUNT_LINES: usize = 2_000_000;

/// Both inputs, each in a fresh gateway per run against a fresh tmux server per run,
/// interleaved (controlroom, tmux, controlroom, tmux, …).
pub async fn memory_heavy(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let runs = plan.runs.clamp(1, 5);
    let tmux = peers::tmux_available();
    if !tmux {
        report.note("tmux is not installed: no heavy-output memory comparison.");
    }
    for kind in ["base64", "ansi"] {
        let data = if kind == "ansi" { ansi_log(plan.burst) } else { base64_text(plan.burst) };
        let file = write_input(dir.path(), &format!("heavy-{kind}"), &data)?;
        let (mut ours, mut lines, mut theirs, mut their_lines) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let (mib, n) = ours_after(&file).await?;
            ours.push(mib);
            lines.push(n as f64);
            if tmux {
                // tmux keeps as many lines as our history held (its history-limit counts lines).
                let limit = summarize(&lines).median.round() as usize;
                let (mib, n) = tokio::task::block_in_place(|| tmux_after(&file, limit))?;
                theirs.push(mib);
                their_lines.push(n as f64);
            }
        }
        let size = format!("{} MB", plan.burst / 1_000_000);
        let o = summarize(&ours);
        let ol = summarize(&lines).median;
        let ratio = (!theirs.is_empty()).then(|| o.median / summarize(&theirs).median);
        report.row(
            Row::samples(
                &format!("memory kept after printing {size} of {kind}: controlroom"),
                &ours,
                "MiB",
                ratio,
            )
            .with_note(format!("{ol:.0} lines of history, {:.0} lines per MiB", ol / o.median)),
        );
        if !theirs.is_empty() {
            let t = summarize(&theirs);
            let tl = summarize(&their_lines).median;
            report.row(
                Row::samples(
                    &format!("memory kept after printing {size} of {kind}: tmux"),
                    &theirs,
                    "MiB",
                    None,
                )
                .with_note(format!(
                    "history-limit {:.0}: {tl:.0} lines of history, {:.0} lines per MiB",
                    ol,
                    tl / t.median
                )),
            );
        }
    }
    Ok(())
}

/// A fresh gateway with one idle worker; a second worker prints `file`. Returns the growth of
/// the gateway's RSS in MiB (the second worker's whole cost) and the lines of scrollback in the
/// `history` a client then gets.
async fn ours_after(file: &std::path::Path) -> anyhow::Result<(f64, usize)> {
    let (gw, _) = Gateway::start(&[])?;
    let pid = gw.pid();
    gw.session(&[vec!["sleep".into(), "100000".into()]], COLS, ROWS).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = peers::rss(pid)?;
    // The burst may end mid-line: the marker goes on a line of its own.
    let script = format!("cat '{}'; echo; echo {DONE}; exec sleep 100000", file.display());
    let (sid, wids) = gw.session(&[vec!["sh".into(), "-c".into(), script]], COLS, ROWS).await?;
    let wid = wids.first().context("worker id")?;
    let deadline = Instant::now() + crate::gateway::DEADLINE;
    loop {
        let (status, screen) =
            gw.http("GET", &format!("/api/sessions/{sid}/workers/{wid}/screen"), None).await?;
        let done = screen["lines"]
            .as_array()
            .is_some_and(|l| l.iter().any(|l| l.as_str().map(str::trim_end) == Some(DONE)));
        if status == 200 && done {
            break;
        }
        if Instant::now() > deadline {
            bail!("the worker did not finish printing (screen: {status})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(SETTLE).await;
    let after = peers::rss(pid)?;
    // Counted after measuring: attaching builds a `history` of its own.
    let client = gw.attach(&sid, wid).await?;
    let lines = scrollback_lines(client.history())?;
    Ok((after.saturating_sub(before) as f64 / MIB, lines))
}

/// A fresh tmux server with a `history-limit` of `limit` and one idle window; a second window
/// prints `file`. Returns the growth of the server's RSS in MiB and the window's history size.
fn tmux_after(file: &std::path::Path, limit: usize) -> anyhow::Result<(f64, usize)> {
    let tmux = Tmux::new("crbench-heavy");
    tmux.session("h", "exec sleep 100000", limit)?;
    let tpid = tmux.pid()?;
    std::thread::sleep(Duration::from_millis(300));
    let before = peers::rss(tpid)?;
    let script =
        format!("cat '{}'; {} wait-for -S heavy-done; exec sleep 100000", file.display(), tmux.prefix());
    tmux.window("h", &script)?;
    tmux.wait_for("heavy-done")?;
    std::thread::sleep(SETTLE);
    let after = peers::rss(tpid)?;
    let lines = tmux.display("h:1", "#{history_size}")?.trim().parse().context("tmux history_size")?;
    Ok((after.saturating_sub(before) as f64 / MIB, lines))
}

/// Lines a client's terminal holds in its scrollback after replaying `history`.
fn scrollback_lines(history: &str) -> anyhow::Result<usize> {
    let dim = |n| NonZeroU16::new(n).context("pane size");
    let mut p = vt100::Parser::new(dim(ROWS)?, dim(COLS)?, COUNT_LINES);
    p.process(history.as_bytes());
    Ok(p.screen().scrollback_len())
}
