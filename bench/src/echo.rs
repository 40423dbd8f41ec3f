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

/// ttyd's own WebSocket ping interval (`-P`), kept unless keys are typed `--echo-gap-ms` apart.
const TTYD_DEFAULT_PING: Duration = Duration::from_secs(5);

/// Bytes a flood delivers before echoes are timed under it.
const FLOOD_WARM_UP: usize = 1 << 20;

/// A shell command run (`sh -c CMD hook start|stop CONTENDER PID...`) around the first run's
/// timed keys of controlroom (the gateway's pid, then its worker's holder's) and of ttyd (its
/// pid): attach `strace -c`, zero and dump callgrind counters (`callgrind_control`), and so on,
/// for counts per key; the harness waits for it each time.
pub const HOOK_ENV: &str = "CONTROLROOM_BENCH_ECHO_HOOK";

/// Runs the [`HOOK_ENV`] command, if set, with `args`.
fn hook(args: &[String]) -> anyhow::Result<()> {
    let Some(cmd) = std::env::var_os(HOOK_ENV) else { return Ok(()) };
    let status = std::process::Command::new("sh").arg("-c").arg(cmd).arg("hook").args(args).status()?;
    anyhow::ensure!(status.success(), "{HOOK_ENV} {args:?} failed: {status}");
    Ok(())
}

/// Waits `d` on the measuring thread before a timed key (`--echo-gap-ms`); nothing else runs
/// on it, and each key's echo was read before, so nothing is left waiting unread.
fn gap(d: Duration) {
    if !d.is_zero() {
        std::thread::sleep(d);
    }
}

/// The parent of `pid` (a worker's program's parent is its holder).
fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(1)?.parse().ok()
}

/// The command every echo contender runs.
const CAT: [&str; 3] = ["sh", "-c", "stty raw -echo; echo ready; exec cat"];

/// ttyd's command: [`CAT`], or `yes` for a connection that asks for `flood` in its URL (ttyd
/// runs one command for every connection; `-a` appends the URL's arguments), so one ttyd serves
/// the typing terminal and the flooding one, as one gateway serves both workers.
const TTYD_CAT_OR_FLOOD: [&str; 4] =
    ["sh", "-c", "if [ \"$1\" = flood ]; then exec yes; fi; stty raw -echo; echo ready; exec cat", "sh"];

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
    // Two workers: the first typed into by a binary client (`controlroom.v1.binary`, as the front
    // end is, and as ttyd's own protocol is binary), the second by a JSON one (a script's).
    let (sid, wids) = gw.session(&[cat.clone(), cat.clone()], 80, 24).await?;
    let mut client = gw.attach_as(&sid, &wids[0], true).await?;
    anyhow::ensure!(client.binary, "the gateway did not select controlroom.v1.binary");
    client.wait_for("ready").await?;
    let mut json_client = gw.attach(&sid, &wids[1]).await?;
    json_client.wait_for("ready").await?;
    // The worker's holder (the parent of its program; none for a build without holders).
    let (_, sessions) = gw.http("GET", "/api/sessions", None).await?;
    let program = sessions["sessions"][0]["workers"][0]["pid"].as_u64().and_then(|p| u32::try_from(p).ok());
    let holder = program.and_then(parent).filter(|h| *h != gw.pid());
    let mut raw_pty = DirectPty::spawn(&CAT, 80, 24)?;
    raw_pty.wait_for(b"ready")?;
    // ttyd, driven with its own protocol, on this same measuring thread.
    let tty = if plan.echo_gap.is_zero() {
        Ttyd::start_with_url_args(&TTYD_CAT_OR_FLOOD)?
    } else {
        // Every other contender types its keys, `echo_gap` apart, before ttyd's client is read
        // again (and answers ttyd's pings): ttyd waits longer for the pong than that takes.
        let idle = plan.echo_gap * u32::try_from(plan.echoes).unwrap_or(u32::MAX).saturating_mul(5);
        Ttyd::start_with_url_args_ping(&TTYD_CAT_OR_FLOOD, idle.max(TTYD_DEFAULT_PING))?
    };
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
    let mut ours_json = Vec::new();
    // The gateway's CPU ticks and context switches (all its threads) over the keys it echoed.
    let mut gateway_cost = (0u64, peers::Switches::default());
    // The holder's, over the same keys.
    let mut holder_cost = (0u64, peers::Switches::default());
    // ttyd's, over the keys it echoed (one thread), for the same comparison.
    let mut ttyd_switches = peers::Switches::default();
    let mut by_thread = std::collections::BTreeMap::<String, peers::Switches>::new();
    let per_run = (plan.echoes / plan.runs).max(10);
    let keys = b"abcdefghijklmnopqrstuvwxyz";
    for run in 0..plan.runs {
        for i in 0..per_run {
            let k = keys[(run * per_run + i) % keys.len()];
            gap(plan.echo_gap);
            let t0 = Instant::now();
            raw_pty.write(&[k])?;
            raw_pty.wait_for(&[k])?;
            raw.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        for i in 0..per_run {
            let k = keys[(run * per_run + i) % keys.len()];
            gap(plan.echo_gap);
            let t0 = Instant::now();
            relay_only.write(&[k])?;
            relay_only.wait_for(&[k])?;
            held.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        for i in 0..per_run {
            let k = keys[(run * per_run + i) % keys.len()];
            gap(plan.echo_gap);
            let t0 = Instant::now();
            relay.input(&[k]).await?;
            relay.wait_for(&[k]).await?;
            relayed.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        let mut pids = vec![gw.pid().to_string()];
        pids.extend(holder.map(|h| h.to_string()));
        if run == 0 {
            hook(&[["start".to_string(), "controlroom".to_string()].as_slice(), &pids].concat())?;
        }
        let holder0 = holder.and_then(|h| peers::cpu_and_switches(h).ok()).unwrap_or_default();
        let (ticks0, switches0) = peers::cpu_and_switches(gw.pid())?;
        let by_thread0 = peers::switches_by_thread(gw.pid());
        for i in 0..per_run {
            let k = keys[(run * per_run + i) % keys.len()];
            gap(plan.echo_gap);
            let t0 = Instant::now();
            client.input_bytes(&[k]).await?;
            client.wait_for(&(k as char).to_string()).await?;
            ours.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        let (ticks1, switches1) = peers::cpu_and_switches(gw.pid())?;
        gateway_cost.0 += ticks1.saturating_sub(ticks0);
        gateway_cost.1.add(switches1.since(switches0));
        let holder1 = holder.and_then(|h| peers::cpu_and_switches(h).ok()).unwrap_or_default();
        holder_cost.0 += holder1.0.saturating_sub(holder0.0);
        holder_cost.1.add(holder1.1.since(holder0.1));
        if run == 0 {
            hook(&[["stop".to_string(), "controlroom".to_string()].as_slice(), &pids].concat())?;
        }
        for (name, n) in peers::switches_by_thread(gw.pid()) {
            let before = by_thread0.get(&name).copied().unwrap_or_default();
            by_thread.entry(name).or_default().add(n.since(before));
        }
        // The JSON client, outside the counted window above (its worker is the second one).
        for i in 0..per_run {
            let k = (keys[(run * per_run + i) % keys.len()] as char).to_string();
            gap(plan.echo_gap);
            let t0 = Instant::now();
            json_client.input(&k).await?;
            json_client.wait_for(&k).await?;
            ours_json.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        if let (Some(c), Some(t)) = (&mut tty_client, &tty) {
            if run == 0 {
                hook(&["start".into(), "ttyd".into(), t.pid().to_string()])?;
            }
            let (_, before) = peers::cpu_and_switches(t.pid())?;
            for i in 0..per_run {
                let k = keys[(run * per_run + i) % keys.len()];
                gap(plan.echo_gap);
                let t0 = Instant::now();
                c.input(&[k]).await?;
                c.wait_for(&[k]).await?;
                theirs.push(t0.elapsed().as_secs_f64() * 1e3);
            }
            let (_, after) = peers::cpu_and_switches(t.pid())?;
            ttyd_switches.add(after.since(before));
            if run == 0 {
                hook(&["stop".into(), "ttyd".into(), t.pid().to_string()])?;
            }
        }
    }
    drop(relay);
    drop(fwd);
    let (r, f, o) = (summarize(&raw), summarize(&relayed), summarize(&ours));
    report.row(Row::latency("echo: raw PTY", &raw, None));
    let h = summarize(&held);
    report.row(
        Row::latency("echo: holder relay alone (no gateway)", &held, Some(h.p99 / r.p99)).with_note(format!(
            "ratio is p99/p99 vs raw; the relay adds {:.0} µs at p50 and {:.0} µs at p99 over the raw PTY (input and output relayed: the most passing the PTY master could save; the gateway gets it for input from holder protocol 3, output stays relayed)",
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
    let holder_note = match holder {
        Some(_) => format!(
            "; its holder per key: {:.2} voluntary + {:.2} nonvoluntary, {:.0} µs CPU",
            per_key(holder_cost.1.voluntary),
            per_key(holder_cost.1.nonvoluntary),
            holder_cost.0 as f64 / peers::clock_ticks() / keys_typed * 1e6
        ),
        None => String::new(),
    };
    report.row(Row::latency("echo: controlroom", &ours, Some(o.p99 / r.p99)).with_note(format!(
        "ratio is p99/p99 vs raw; p99 is {:.2}× the forwarder's (p50 {:.2}×); gateway per key: {:.2} context switches, {:.2} voluntary + {:.2} nonvoluntary (by thread, voluntary + nonvoluntary: {}), {:.0} µs CPU{holder_note}",
        o.p99 / f.p99,
        o.median / f.median,
        per_key(switches.total()),
        per_key(switches.voluntary),
        per_key(switches.nonvoluntary),
        threads.join(", "),
        gateway_cost.0 as f64 / peers::clock_ticks() / keys_typed * 1e6
    )));
    let oj = summarize(&ours_json);
    report.row(Row::latency("echo: controlroom, JSON client", &ours_json, Some(oj.p99 / r.p99)).with_note(format!(
        "ratio is p99/p99 vs raw; the row above is a binary client (`controlroom.v1.binary`: input a binary frame of the key, output an 8-byte offset + the bytes); this one sends `{{\"type\":\"input\"}}` and parses `output` JSON, on a second worker; p50 {:.2}× the binary client's",
        oj.median / o.median
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
    if !plan.echo_gap.is_zero() {
        report.note(&format!(
            "echo (idle rows): keys {} ms apart (`--echo-gap-ms`), as a person types",
            plan.echo_gap.as_millis()
        ));
    }
    report.note("echo: every contender's client is read on one measuring thread (raw PTY: blocking read; WebSocket clients: current-thread runtime), see bench/src/echo.rs.");

    // Another program floods while we type, in interleaved blocks: `yes` in a raw PTY drained by
    // a thread (the machine's floor), and `yes` in another worker drained by a client on its own
    // thread and runtime (as another front end would be).
    let (mut raw_flooded, mut flooded, mut ttyd_flooded) = (Vec::new(), Vec::new(), Vec::new());
    let (mut raw_bytes, mut gw_bytes, mut ttyd_bytes) = (0, 0, 0);
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
            let k = keys[(run * per_run + i) % keys.len()];
            let t0 = Instant::now();
            client.input_bytes(&[k]).await?;
            client.wait_for(&(k as char).to_string()).await?;
            flooded.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        // Deleting the session closes the flood's socket, which ends the drainer.
        gw.http("DELETE", &format!("/api/sessions/{fsid}"), None).await?;
        gw_bytes += drainer.join().unwrap_or(0);
        // ttyd: a second terminal of the same ttyd runs `yes`, drained by a client on its own
        // thread and runtime, while this one types.
        if let (Some(c), Some(t)) = (&mut tty_client, &tty) {
            let flood = TtydFlood::start(t.addr())?;
            keep_flowing(&|| flood.drained.load(Ordering::Relaxed))?;
            for i in 0..per_run {
                let k = keys[(run * per_run + i) % keys.len()];
                let t0 = Instant::now();
                c.input(&[k]).await?;
                c.wait_for(&[k]).await?;
                ttyd_flooded.push(t0.elapsed().as_secs_f64() * 1e3);
            }
            ttyd_bytes += flood.stop();
        }
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
    if !ttyd_flooded.is_empty() {
        let tf = summarize(&ttyd_flooded);
        let t = summarize(&theirs);
        report.row(
            Row::latency("echo while another terminal floods: ttyd 1.7.7", &ttyd_flooded, Some(tf.p99 / t.p99))
                .with_note(format!(
                    "ratio is p99 vs ttyd's idle p99; {:.2}× the raw PTY's p99 under flood; controlroom's p50 is {:.2}× ttyd's, p99 {:.2}×; flood delivered {:.0} MB",
                    tf.p99 / rf.p99,
                    f.median / tf.median,
                    f.p99 / tf.p99,
                    mb(ttyd_bytes)
                )),
        );
    }
    drop(tty_client);
    drop(tty);
    crate::relay::relay_vs_raw(plan, report)
}

/// A ttyd terminal running `yes`, drained by a client on a thread and runtime of its own.
struct TtydFlood {
    thread: std::thread::JoinHandle<usize>,
    drained: Arc<AtomicUsize>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl TtydFlood {
    /// Connects a flooding terminal to the ttyd at `addr` (started with URL arguments).
    fn start(addr: String) -> anyhow::Result<Self> {
        let drained = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (counter, stopped) = (drained.clone(), stop.clone());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let thread = std::thread::Builder::new().name("ttyd-flood-client".into()).spawn(move || {
            runtime.block_on(async move {
                let Ok(mut flood) = ttyd::connect_to(&addr, 200, 50, &["flood"]).await else { return 0 };
                flood.drain(&counter, &stopped).await
            })
        })?;
        Ok(Self { thread, drained, stop })
    }

    /// Ends the flood (its client leaves; ttyd hangs up `yes`); the bytes it delivered.
    fn stop(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or(0)
    }
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
            // Binary frames, as the front end reads them (ttyd's drainer reads its binary protocol).
            let Ok(flood) = gateway.attach_as(&sid, &wid, true).await else { return 0 };
            let mut ws = flood.ws;
            while let Some(Ok(m)) = ws.next().await {
                counter.fetch_add(m.len(), Ordering::Relaxed);
            }
            counter.load(Ordering::Relaxed)
        })
    })?;
    Ok((thread, drained))
}
