//! Keystroke echo round trips (`stty raw -echo; cat`): a raw PTY, a bare WebSocket forwarder,
//! ttyd (when it runs here) and the gateway, idle and while another program floods.
//!
//! Like for like: every contender's client runs on one dedicated measuring thread with a
//! current-thread runtime, and is read on that thread: the raw PTY with a blocking `read`, the
//! WebSocket clients by the runtime, which sleeps in `epoll_wait` on that same thread. Each
//! round trip is write → sleep in the kernel → wake on this thread → read. (Before, the raw PTY
//! was read by a reader thread handing chunks over a channel, and the WebSocket clients ran in
//! the multi-thread harness runtime's `block_on`, woken through a runtime worker thread: two
//! different client-side paths with different thread hops, and the WebSocket clients shared two
//! cores with two idle runtime workers the raw side did not have.) The WebSocket client-side cost
//! that remains (a readiness wait, then `recv`, frame parsing) is part of any WebSocket terminal.

use crate::forwarder::Forwarder;
use crate::gateway::{Endpoint, Gateway};
use crate::peers::{self, DirectPty};
use crate::relay::Relay;
use crate::report::{Report, Row};
use crate::scenarios::Plan;
use crate::ttyd::{self, Ttyd};
use controlroom_bench::summarize;
use futures_util::StreamExt as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Bytes a flood delivers before echoes are timed under it.
const FLOOD_WARM_UP: usize = 1 << 20;

/// The command every echo contender runs.
const CAT: [&str; 3] = ["sh", "-c", "stty raw -echo; echo ready; exec cat"];

/// Runs the echo section on a measuring thread of its own with a current-thread runtime (see the
/// file comment).
pub async fn echo(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let measuring =
                std::thread::Builder::new().name("echo-client".into()).spawn_scoped(scope, || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                    runtime.block_on(measure(plan, report))
                })?;
            measuring.join().unwrap_or_else(|_| Err(anyhow::anyhow!("the echo thread panicked")))
        })
    })
}

/// Idle echo (raw PTY, forwarder, gateway interleaved), then echo while another program floods
/// (raw PTY and gateway interleaved); blocks this thread in the raw PTY's reads.
async fn measure(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let (gw, _) = Gateway::start(&[])?;
    let cat: Vec<String> = CAT.iter().map(|s| s.to_string()).collect();
    let fwd = Forwarder::start(&CAT)?;
    let mut relay = fwd.connect().await?;
    relay.wait_for(b"ready").await?;
    let (sid, wids) = gw.session(std::slice::from_ref(&cat), 80, 24).await?;
    let mut client = gw.attach(&sid, &wids[0]).await?;
    client.wait_for("ready").await?;
    let mut raw_pty = DirectPty::spawn(&CAT, 80, 24)?;
    raw_pty.wait_for(b"ready")?;
    // ttyd, driven with its own protocol, on this same measuring thread.
    let tty = Ttyd::start(&CAT)?;
    let mut tty_client = match &tty {
        Some(t) => {
            let mut c = t.connect(80, 24).await?;
            c.wait_for(b"ready").await?;
            Some(c)
        }
        None => None,
    };
    // The holder's relay alone (no gateway): what the descriptor passing (SCM_RIGHTS) the
    // continuity issue asks about could save against the raw PTY above.
    let mut relay_only = Relay::start(&CAT, 80, 24)?;
    relay_only.wait_for(b"ready")?;
    let mut held = Vec::new();
    let (mut raw, mut relayed, mut ours, mut theirs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // The gateway's CPU ticks and context switches (all its threads) over the keys it echoed.
    let mut gateway_cost = (0u64, peers::Switches::default());
    // ttyd's, over the keys it echoed (one thread), for the same comparison.
    let mut ttyd_switches = peers::Switches::default();
    let mut by_thread = std::collections::BTreeMap::<String, peers::Switches>::new();
    let per_run = (plan.echoes / plan.runs).max(10);
    let keys = b"abcdefghijklmnopqrstuvwxyz";
    for run in 0..plan.runs {
        for i in 0..per_run {
            let k = keys[(run * per_run + i) % keys.len()];
            let t0 = Instant::now();
            raw_pty.write(&[k])?;
            raw_pty.wait_for(&[k])?;
            raw.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        for i in 0..per_run {
            let k = keys[(run * per_run + i) % keys.len()];
            let t0 = Instant::now();
            relay_only.write(&[k])?;
            relay_only.wait_for(&[k])?;
            held.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        for i in 0..per_run {
            let k = keys[(run * per_run + i) % keys.len()];
            let t0 = Instant::now();
            relay.input(&[k]).await?;
            relay.wait_for(&[k]).await?;
            relayed.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        let (ticks0, switches0) = peers::cpu_and_switches(gw.pid())?;
        let by_thread0 = peers::switches_by_thread(gw.pid());
        for i in 0..per_run {
            let k = keys[(run * per_run + i) % keys.len()] as char;
            let t0 = Instant::now();
            client.input(&k.to_string()).await?;
            client.wait_for(&k.to_string()).await?;
            ours.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        let (ticks1, switches1) = peers::cpu_and_switches(gw.pid())?;
        gateway_cost.0 += ticks1.saturating_sub(ticks0);
        gateway_cost.1.add(switches1.since(switches0));
        for (name, n) in peers::switches_by_thread(gw.pid()) {
            let before = by_thread0.get(&name).copied().unwrap_or_default();
            by_thread.entry(name).or_default().add(n.since(before));
        }
        if let (Some(c), Some(t)) = (&mut tty_client, &tty) {
            let (_, before) = peers::cpu_and_switches(t.pid())?;
            for i in 0..per_run {
                let k = keys[(run * per_run + i) % keys.len()];
                let t0 = Instant::now();
                c.input(&[k]).await?;
                c.wait_for(&[k]).await?;
                theirs.push(t0.elapsed().as_secs_f64() * 1e3);
            }
            let (_, after) = peers::cpu_and_switches(t.pid())?;
            ttyd_switches.add(after.since(before));
        }
    }
    drop(tty_client);
    drop(tty);
    drop(relay);
    drop(fwd);
    let (r, f, o) = (summarize(&raw), summarize(&relayed), summarize(&ours));
    report.row(Row::latency("echo: raw PTY", &raw, None));
    let h = summarize(&held);
    report.row(
        Row::latency("echo: holder relay alone (no gateway)", &held, Some(h.p99 / r.p99)).with_note(format!(
            "ratio is p99/p99 vs raw; the relay adds {:.0} µs at p50 and {:.0} µs at p99 over the raw PTY (what SCM_RIGHTS could save)",
            (h.median - r.median) * 1e3,
            (h.p99 - r.p99) * 1e3
        )),
    );
    drop(relay_only);
    report.row(
        Row::latency("echo: bare WebSocket forwarder", &relayed, Some(f.p99 / r.p99))
            .with_note("ratio is p99/p99 vs raw".into()),
    );
    let keys_typed = ours.len().max(1) as f64;
    // Voluntary switches are the wake-ups the code asks for; nonvoluntary ones are mostly the
    // machine's load preempting it, so they are reported apart (and in the total).
    let per_key = |n: u64| n as f64 / keys_typed;
    let mut threads: Vec<(String, peers::Switches)> =
        by_thread.into_iter().filter(|(_, n)| n.total() > 0).collect();
    threads.sort_by_key(|(_, n)| std::cmp::Reverse((n.voluntary, n.total())));
    let threads: Vec<String> = threads
        .iter()
        .take(3)
        .map(|(name, n)| format!("{name} {:.2} + {:.2}", per_key(n.voluntary), per_key(n.nonvoluntary)))
        .collect();
    let switches = gateway_cost.1;
    report.row(Row::latency("echo: controlroom", &ours, Some(o.p99 / r.p99)).with_note(format!(
        "ratio is p99/p99 vs raw; p99 is {:.2}× the forwarder's (p50 {:.2}×); gateway per key: {:.2} context switches, {:.2} voluntary + {:.2} nonvoluntary (by thread, voluntary + nonvoluntary: {}), {:.0} µs CPU",
        o.p99 / f.p99,
        o.median / f.median,
        per_key(switches.total()),
        per_key(switches.voluntary),
        per_key(switches.nonvoluntary),
        threads.join(", "),
        gateway_cost.0 as f64 / peers::clock_ticks() / keys_typed * 1e6
    )));
    if theirs.is_empty() {
        report.note(ttyd::ABSENT);
    } else {
        let t = summarize(&theirs);
        let per_key = |n: u64| n as f64 / theirs.len() as f64;
        report.row(Row::latency("echo: ttyd 1.7.7", &theirs, Some(t.p99 / r.p99)).with_note(format!(
            "ratio is p99/p99 vs raw; controlroom's p50 is {:.2}× ttyd's, p99 {:.2}×; ttyd per key: {:.2} context switches, {:.2} voluntary + {:.2} nonvoluntary",
            o.median / t.median,
            o.p99 / t.p99,
            per_key(ttyd_switches.total()),
            per_key(ttyd_switches.voluntary),
            per_key(ttyd_switches.nonvoluntary)
        )));
    }
    report.note("echo: every contender's client is read on one measuring thread (raw PTY: blocking read; WebSocket clients: current-thread runtime), see bench/src/echo.rs.");

    // Another program floods while we type, in interleaved blocks: `yes` in a raw PTY drained by
    // a thread (the machine's floor), and `yes` in another worker drained by a client on its own
    // thread and runtime (as another front end would be).
    let (mut raw_flooded, mut flooded) = (Vec::new(), Vec::new());
    let (mut raw_bytes, mut gw_bytes) = (0, 0);
    // Blocks this thread: nothing else runs on its runtime meanwhile (each flood is drained on
    // a thread of its own).
    let keep_flowing = |n: &dyn Fn() -> usize| -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while n() < FLOOD_WARM_UP {
            anyhow::ensure!(Instant::now() < deadline, "the flood did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    };
    for run in 0..plan.runs {
        {
            let flood = peers::RawFlood::start(&["yes"], 200, 50)?;
            keep_flowing(&|| flood.drained())?;
            for i in 0..per_run {
                let k = keys[(run * per_run + i) % keys.len()];
                let t0 = Instant::now();
                raw_pty.write(&[k])?;
                raw_pty.wait_for(&[k])?;
                raw_flooded.push(t0.elapsed().as_secs_f64() * 1e3);
            }
            raw_bytes += flood.drained();
        }
        let (fsid, fwids) = gw.session(&[vec!["yes".into()]], 200, 50).await?;
        let (drainer, drained) = drain_on_own_thread(gw.endpoint(), fsid.clone(), fwids[0].clone())?;
        keep_flowing(&|| drained.load(Ordering::Relaxed))?;
        for i in 0..per_run {
            let k = (keys[(run * per_run + i) % keys.len()] as char).to_string();
            let t0 = Instant::now();
            client.input(&k).await?;
            client.wait_for(&k).await?;
            flooded.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        // Deleting the session closes the flood's socket, which ends the drainer.
        gw.http("DELETE", &format!("/api/sessions/{fsid}"), None).await?;
        gw_bytes += drainer.join().unwrap_or(0);
    }
    let (rf, f) = (summarize(&raw_flooded), summarize(&flooded));
    report.row(
        Row::latency("echo while another program floods: raw PTY", &raw_flooded, Some(rf.p99 / r.p99))
            .with_note(format!("ratio is p99 vs idle raw p99; flood delivered {:.0} MB", mb(raw_bytes))),
    );
    report.row(
        Row::latency("echo while another worker floods: controlroom", &flooded, Some(f.p99 / o.p99))
            .with_note(format!(
                "ratio is p99 vs idle p99; {:.2}× the raw PTY's p99 under flood; flood delivered {:.0} MB",
                f.p99 / rf.p99,
                mb(gw_bytes)
            )),
    );
    crate::relay::relay_vs_raw(plan, report)
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

/// Attaches to worker `wid` of session `sid` from a thread with its own runtime (the socket is
/// opened there, so that runtime drives it) and reads it to its end, counting bytes; the thread
/// returns the total (0 if the attach failed).
fn drain_on_own_thread(
    gateway: Endpoint,
    sid: String,
    wid: String,
) -> anyhow::Result<(std::thread::JoinHandle<usize>, Arc<AtomicUsize>)> {
    let drained = Arc::new(AtomicUsize::new(0));
    let counter = drained.clone();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let thread = std::thread::Builder::new().name("flood-client".into()).spawn(move || {
        runtime.block_on(async move {
            let Ok(flood) = gateway.attach_as(&sid, &wid, false).await else { return 0 };
            let mut ws = flood.ws;
            while let Some(Ok(m)) = ws.next().await {
                counter.fetch_add(m.len(), Ordering::Relaxed);
            }
            counter.load(Ordering::Relaxed)
        })
    })?;
    Ok((thread, drained))
}
