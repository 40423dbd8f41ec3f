//! Holder scenarios (issue 13): an idle holder's own memory (PSS, by mapping) and wake-ups,
//! alone and among many, its memory through a 16 MiB burst and after the screen save that
//! covers it, and the time a new gateway takes to adopt 50 workers after `kill -9` of the old
//! one.

use crate::gateway::{Gateway, next_json};
use crate::peers;
use crate::report::{Report, Row};
use crate::scenarios::Plan;
use anyhow::{Context as _, bail};
use controlroom_bench::summarize;
use futures_util::SinkExt as _;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Holders measured side by side (file-backed pages are shared between them).
const MANY_HOLDERS: usize = 20;
/// Workers adopted after the restart.
const ADOPT_WORKERS: usize = 50;
/// How long holders are left alone before they are measured (start-up done, pages settled).
const SETTLE: Duration = Duration::from_secs(1);
/// Output of the burst a holder's memory is measured through.
const BURST_BYTES: usize = 16 * 1024 * 1024;
/// The burst gateway's `--screen-save-interval`: the save covering the burst comes soon.
const BURST_SAVE_INTERVAL: &str = "500ms";
/// How long after the burst the holder may take to give its log back (a committed save, then
/// the trim), sampled every [`BURST_SAMPLE`].
const BURST_RELEASE: Duration = Duration::from_secs(15);
const BURST_SAMPLE: Duration = Duration::from_millis(250);
/// Below this PSS the burst's log counts as given back.
const RELEASED_KIB: f64 = 1024.0;

fn sleepers(n: usize) -> Vec<Vec<String>> {
    (0..n).map(|_| vec!["sleep".into(), "100000".into()]).collect()
}

/// The holder of every worker of the gateway: the parent of each worker's program.
async fn holder_pids(gw: &Gateway) -> anyhow::Result<Vec<u32>> {
    let (status, body) = gw.http("GET", "/api/sessions", None).await?;
    if status != 200 {
        bail!("listing sessions failed: {status} {body}");
    }
    let mut pids = Vec::new();
    for s in body["sessions"].as_array().context("sessions")? {
        for w in s["workers"].as_array().context("workers")? {
            let pid = w["pid"].as_u64().context("a worker without a pid")?;
            pids.push(parent(u32::try_from(pid)?)?);
        }
    }
    Ok(pids)
}

fn parent(pid: u32) -> anyhow::Result<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').map(|(_, a)| a).context("stat")?;
    // After the name: state, then ppid.
    Ok(after.split_whitespace().nth(1).context("ppid")?.parse()?)
}

/// PSS of a process in KiB: total, anonymous, file-backed (`/proc/PID/smaps_rollup`).
#[derive(Debug, Clone, Copy)]
struct Pss {
    total: f64,
    anon: f64,
    file: f64,
}

fn pss(pid: u32) -> anyhow::Result<Pss> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))?;
    let field = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    Ok(Pss { total: field("Pss:"), anon: field("Pss_Anon:"), file: field("Pss_File:") })
}

/// PSS in KiB by mapping name (`/proc/PID/smaps`; anonymous mappings as `[anon]`), largest
/// first.
fn pss_by_mapping(pid: u32) -> anyhow::Result<Vec<(String, u64)>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps"))?;
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            // A mapping's header: range, perms, offset, dev, inode, [path].
            let path = words.nth(4).unwrap_or("[anon]");
            let name = path.rsplit('/').next().unwrap_or(path);
            let perms = line.split_whitespace().nth(1).unwrap_or_default();
            current = format!("{name} {perms}");
        } else if first == "Pss:" {
            *by.entry(current.clone()).or_default() += words.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        }
    }
    let mut list: Vec<(String, u64)> = by.into_iter().filter(|(_, v)| *v > 0).collect();
    list.sort_by_key(|(_, kib)| std::cmp::Reverse(*kib));
    Ok(list)
}

/// An idle holder (`sleep`): its PSS by kind and by mapping, its wake-ups; then the PSS of each
/// of [`MANY_HOLDERS`] idle holders of one gateway.
pub async fn holder(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let (gw, _) = Gateway::start(&[])?;
    gw.session(&sleepers(1), 80, 24).await?;
    tokio::time::sleep(SETTLE).await;
    let pid = *holder_pids(&gw).await?.first().context("no holder")?;
    let one = pss(pid)?;
    let top: Vec<String> =
        pss_by_mapping(pid)?.iter().take(8).map(|(name, kib)| format!("{name} {kib}")).collect();
    report.row(Row::value("idle holder (1, `sleep`): PSS", one.total, "KiB").with_note(format!(
        "anonymous {:.0}, file-backed {:.0} KiB (shared with the gateway, which maps the same binary); by mapping (KiB): {}",
        one.anon,
        one.file,
        top.join(", ")
    )));
    let cost = peers::idle_cost(pid, plan.idle_window).await?;
    report.row(Row::value("idle holder: wake-ups", cost.wakeups, "/s").with_note(format!(
        "CPU {:.2} % over {} s",
        cost.cpu,
        plan.idle_window.as_secs()
    )));
    gw.session(&sleepers(MANY_HOLDERS - 1), 80, 24).await?;
    tokio::time::sleep(SETTLE).await;
    let all: Vec<Pss> = holder_pids(&gw).await?.into_iter().map(pss).collect::<anyhow::Result<_>>()?;
    let totals: Vec<f64> = all.iter().map(|p| p.total).collect();
    let anon = summarize(&all.iter().map(|p| p.anon).collect::<Vec<_>>()).median;
    let file = summarize(&all.iter().map(|p| p.file).collect::<Vec<_>>()).median;
    report.row(
        Row::samples(&format!("idle holder PSS, each of {} holders", all.len()), &totals, "KiB", None)
            .with_note(format!("median anonymous {anon:.0}, file-backed {file:.0} KiB")),
    );
    drop(gw);
    burst(report).await
}

/// A holder through a 16 MiB burst (lines of 71 bytes, the gateway attached): its PSS at the
/// peak, then once a committed screen save covers the burst (the log is cut and the heap
/// trimmed; a gateway of holder protocol 1 keeps the whole log, so it stays near the peak until
/// [`BURST_RELEASE`] runs out).
async fn burst(report: &mut Report) -> anyhow::Result<()> {
    let (gw, _) = Gateway::start(&["--screen-save-interval", BURST_SAVE_INTERVAL])?;
    let marker = gw.data_dir().join("burst-done");
    let script = format!(
        "yes 0123456789012345678901234567890123456789012345678901234567890123456789 | head -c {BURST_BYTES}; \
         touch {}; sleep 100000",
        marker.display()
    );
    gw.session(&[vec!["sh".into(), "-c".into(), script]], 80, 24).await?;
    let pid = *holder_pids(&gw).await?.first().context("no holder")?;
    let before = pss(pid)?;
    let mut peak = before;
    let t0 = Instant::now();
    while !marker.exists() {
        if t0.elapsed() > crate::gateway::DEADLINE {
            bail!("the burst did not end");
        }
        let now = pss(pid)?;
        if now.total > peak.total {
            peak = now;
        }
        tokio::time::sleep(BURST_SAMPLE / 5).await;
    }
    let released = Instant::now();
    let mut after = pss(pid)?;
    while after.total >= RELEASED_KIB && released.elapsed() < BURST_RELEASE {
        tokio::time::sleep(BURST_SAMPLE).await;
        after = pss(pid)?;
        peak = if after.total > peak.total { after } else { peak };
    }
    report.row(Row::value("holder through a 16 MiB burst: peak PSS", peak.total, "KiB").with_note(format!(
        "anonymous {:.0} KiB (before the burst: PSS {:.0}, anonymous {:.0})",
        peak.anon, before.total, before.anon
    )));
    let top: Vec<String> =
        pss_by_mapping(pid)?.iter().take(4).map(|(name, kib)| format!("{name} {kib}")).collect();
    report.row(Row::value("  after the save that covers it: PSS", after.total, "KiB").with_note(format!(
        "anonymous {:.0} KiB; by mapping (KiB): {}{}",
        after.anon,
        top.join(", "),
        if after.total >= RELEASED_KIB { " — not given back within 15 s" } else { "" }
    )));
    Ok(())
}

/// `kill -9` of a gateway with [`ADOPT_WORKERS`] running workers, then a new gateway on the same
/// data dir: the time from its exec to the first `/ws/app` `sessions-sync` showing every worker
/// running (and to its listening line).
pub async fn adopt(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let (mut to_sync, mut to_ready) = (Vec::new(), Vec::new());
    for _ in 0..plan.runs {
        let (gw, _) = Gateway::start(&[])?;
        gw.session(&sleepers(ADOPT_WORKERS), 80, 24).await?;
        let dir = gw.kill()?;
        let t0 = Instant::now();
        let (gw, ready) = Gateway::start_in(dir, &[])?;
        let mut ws = gw.ws("/ws/app").await?;
        loop {
            let msg = next_json(&mut ws).await?;
            if msg["type"] != "sessions-sync" {
                continue;
            }
            let running = msg["sessions"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s["workers"].as_array().into_iter().flatten())
                .filter(|w| w["state"] == "running")
                .count();
            if running == ADOPT_WORKERS {
                break;
            }
            if t0.elapsed() > crate::gateway::DEADLINE {
                bail!("only {running} of {ADOPT_WORKERS} workers running after the restart");
            }
            // Not all yet: ask again (each answer is a fresh sync).
            ws.send(Message::Text(r#"{"type":"request-sync"}"#.into())).await?;
        }
        to_sync.push(t0.elapsed().as_secs_f64() * 1e3);
        to_ready.push(ready.as_secs_f64() * 1e3);
        // Dropped: SIGTERM, and the workers stop with it (CONTROLROOM_STOP_WORKERS_ON_EXIT).
        drop(gw);
    }
    report.row(Row::latency(
        &format!("adopt {ADOPT_WORKERS} workers after kill -9: exec → sessions-sync all running"),
        &to_sync,
        None,
    ));
    report.row(Row::latency("  of which exec → listening line", &to_ready, None));
    Ok(())
}
