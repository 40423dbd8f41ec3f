//! The end-to-end scenarios: throughput, fan-out, memory, idle cost, start-up (keystroke echo is
//! in echo.rs).
//! Each returns rows for the report; compared contenders run interleaved (A B A B …).

use crate::forwarder::Forwarder;
use crate::gateway::{Gateway, next_json, write_input};
use crate::peers;
use crate::report::{Report, Row};
use crate::ttyd::{self, Ttyd};
use controlroom_bench::{ansi_log, base64_text, summarize, through_pty};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Sizes and counts of a run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Burst size, bytes.
    pub burst: usize,
    /// Sustained size, bytes.
    pub sustained: usize,
    /// Interleaved repetitions of each comparison.
    pub runs: usize,
    /// Round trips per echo measurement.
    pub echoes: usize,
    /// Pause between two keys in the idle echo rows (`--echo-gap-ms`; zero: back to back), as a
    /// person types: work a gateway does once per interval (a screen scan) then falls on keys.
    pub echo_gap: Duration,
    /// `/ws/app` clients for fan-out.
    pub fanout_clients: usize,
    /// Idle workers in the idle-workers section.
    pub idle_workers: usize,
    /// Idle measurement window.
    pub idle_window: Duration,
    /// Measure only the gateway in throughput (for profiling).
    pub gateway_only: bool,
}

/// One contender's results in the throughput scenario (a controlroom client format, or the
/// forwarder, which has no binary or CPU figures).
#[derive(Debug, Default)]
struct Contender {
    /// MB/s per run.
    rates: Vec<f64>,
    /// Runs that delivered every byte before `exit`.
    exact: usize,
    /// Runs where the gateway selected binary frames.
    binary: usize,
    /// Gateway CPU time (user + system, all threads) per MB delivered, ms.
    cpu: Vec<f64>,
}

/// Contenders rotated in the throughput scenario: raw PTY, controlroom JSON, controlroom binary,
/// tmux, bare WebSocket forwarder, ttyd.
const CONTENDERS: usize = 6;

/// Length of a `/proc` clock tick (`CLK_TCK`, 100 Hz on Linux).
const MS_PER_TICK: f64 = 10.0;

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

/// Throughput of worker output → one WS client (JSON `output`, and binary frames), against a
/// raw PTY, tmux, a bare WebSocket forwarder and ttyd, both inputs.
pub async fn throughput(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let tmux = peers::tmux_available();
    if !tmux {
        report.note("tmux is not installed: its throughput column is skipped.");
    }
    if ttyd::binary().is_none() {
        report.note(ttyd::ABSENT);
    }
    let (gw, _) = Gateway::start(&[])?;
    for (kind, size) in
        [("base64", plan.burst), ("ansi", plan.burst), ("base64", plan.sustained), ("ansi", plan.sustained)]
    {
        let data = if kind == "ansi" { ansi_log(size) } else { base64_text(size) };
        let expected = through_pty(&data);
        let file = write_input(dir.path(), &format!("{kind}-{size}"), &data)?;
        let script = format!("read x; exec cat '{}'", file.display());
        let (mut raw, mut tm) = (Vec::new(), Vec::new());
        // Per client format (JSON, binary): rates, runs with every byte, runs that got binary.
        let mut ours = [Contender::default(), Contender::default()];
        // The forwarder runs this input's script for every connection.
        let fwd = if plan.gateway_only { None } else { Some(Forwarder::start(&["sh", "-c", &script])?) };
        let mut relayed = Contender::default();
        // ttyd runs this input's script for every connection; bytes it delivered per run.
        let tty = if plan.gateway_only { None } else { Ttyd::start(&["sh", "-c", &script])? };
        let (mut tty_runs, mut tty_bytes) = (Contender::default(), Vec::new());
        for run in 0..plan.runs {
            // Rotate the order so a slow moment of the machine does not always hit one side.
            for step in 0..CONTENDERS {
                let which = (run + step) % CONTENDERS;
                if plan.gateway_only && !matches!(which, 1 | 2) {
                    continue;
                }
                match which {
                    0 => {
                        let (t, n) = tokio::task::block_in_place(|| peers::raw_throughput(&file))?;
                        raw.push(mb(n) / t.as_secs_f64());
                    }
                    1 | 2 => {
                        let binary = which == 2;
                        let (sid, wids) =
                            gw.session(&[vec!["sh".into(), "-c".into(), script.clone()]], 200, 50).await?;
                        let mut c = gw.attach_as(&sid, &wids[0], binary).await?;
                        let (ticks0, _) = peers::cpu_and_switches(gw.pid())?;
                        let t0 = Instant::now();
                        c.input("\n").await?;
                        let got = c.read_until_exit().await?;
                        let t = t0.elapsed();
                        let (ticks1, _) = peers::cpu_and_switches(gw.pid())?;
                        let o = &mut ours[usize::from(binary)];
                        o.cpu.push((ticks1 - ticks0) as f64 * MS_PER_TICK / mb(got.len()));
                        // Every byte, in order, before `exit`: the echoed newline, then the file.
                        if got.len() == expected.len() + 2 && got.ends_with(&expected) {
                            o.exact += 1;
                        }
                        o.binary += usize::from(c.binary);
                        o.rates.push(mb(got.len()) / t.as_secs_f64());
                        gw.http("DELETE", &format!("/api/sessions/{sid}"), None).await?;
                    }
                    3 if tmux => {
                        let t = tokio::task::block_in_place(|| peers::tmux_throughput(&file))?;
                        tm.push(mb(expected.len()) / t.as_secs_f64());
                    }
                    4 => {
                        let Some(fwd) = &fwd else { continue };
                        let mut c = fwd.connect().await?;
                        // As for the raw PTY: let the shell reach `read` before the clock starts.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        let t0 = Instant::now();
                        c.input(b"\n").await?;
                        let got = c.read_until_close().await?;
                        let t = t0.elapsed();
                        // Every byte, in order, before the close: the echoed newline, then the file.
                        if got.len() == expected.len() + 2 && got.ends_with(&expected) {
                            relayed.exact += 1;
                        }
                        relayed.rates.push(mb(got.len()) / t.as_secs_f64());
                    }
                    5 => {
                        let Some(tty) = &tty else { continue };
                        let mut c = tty.connect(200, 50).await?;
                        // As for the forwarder: let the shell reach `read` before the clock starts.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        let t0 = Instant::now();
                        c.input(b"\n").await?;
                        let got = c.read_until_close(None).await?.bytes;
                        let t = t0.elapsed();
                        if got.len() == expected.len() + 2 && got.ends_with(&expected) {
                            tty_runs.exact += 1;
                        }
                        tty_bytes.push(got.len() as f64);
                        tty_runs.rates.push(mb(got.len()) / t.as_secs_f64());
                    }
                    _ => {}
                }
            }
        }
        let label = format!("{kind} {:.0} MB", mb(size));
        let r = (!plan.gateway_only).then(|| summarize(&raw));
        if r.is_some() {
            report.row(Row::rate(&format!("throughput {label}: raw PTY"), &raw, None));
        }
        for (o, format) in ours.iter().zip(["JSON", "binary"]) {
            let ratio = r.as_ref().map(|r| summarize(&o.rates).median / r.median);
            let mut note = format!("{}/{} runs delivered every byte before exit", o.exact, o.rates.len());
            if format == "binary" && o.binary < o.rates.len() {
                note.push_str(&format!("; only {} runs got binary frames (older gateway)", o.binary));
            }
            let name = format!("throughput {label}: controlroom ({format} frames)");
            report.row(Row::rate(&name, &o.rates, ratio).with_note(note));
            let name = format!("throughput {label}: gateway CPU per MB ({format} frames)");
            report.row(Row::samples(&name, &o.cpu, "ms", None));
        }
        if let (Some(r), true) = (&r, tmux) {
            let t = summarize(&tm);
            report.row(Row::rate(&format!("throughput {label}: tmux"), &tm, Some(t.median / r.median)));
        }
        if let Some(r) = &r {
            let f = summarize(&relayed.rates);
            let note =
                format!("{}/{} runs delivered every byte before close", relayed.exact, relayed.rates.len());
            let name = format!("throughput {label}: bare WebSocket forwarder");
            report.row(Row::rate(&name, &relayed.rates, Some(f.median / r.median)).with_note(note));
        }
        if let (Some(r), Some(_)) = (&r, &tty) {
            let t = summarize(&tty_runs.rates);
            let got = summarize(&tty_bytes);
            let note = format!(
                "{}/{} runs delivered every byte before close; delivered {:.0} of {} bytes (median; {:.0}–{:.0}); MB/s on the bytes delivered",
                tty_runs.exact,
                tty_runs.rates.len(),
                got.median,
                expected.len() + 2,
                got.min,
                got.max
            );
            let name = format!("throughput {label}: ttyd 1.7.7");
            report.row(Row::rate(&name, &tty_runs.rates, Some(t.median / r.median)).with_note(note));
        }
    }
    Ok(())
}

/// One delta to many `/ws/app` clients: time until the last client has it, against the kernel
/// floor (the same bytes written to as many loopback sockets by a plain loop).
pub async fn fanout(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let n = plan.fanout_clients;
    let deltas = 20;
    let (gw, _) = Gateway::start(&[])?;
    let (sid, _) = gw.session(&[vec!["sleep".into(), "100000".into()]], 80, 24).await?;
    let (mut floor, mut ours, mut e2e, mut stalled_ours) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..plan.runs {
        // Ours: every client reads; then the floor with the same message size; then 10 stalled.
        let all = gateway_fanout(&gw, &sid, n, 0, deltas, run).await?;
        ours.extend(all.spread);
        e2e.extend(all.end_to_end);
        floor.extend(kernel_fanout(n, all.frame_len, deltas).await?);
        let some = gateway_fanout(&gw, &sid, n - 10, 10, deltas, run + 100).await?;
        stalled_ours.extend(some.spread);
    }
    let (f, o, s) = (summarize(&floor), summarize(&ours), summarize(&stalled_ours));
    report.row(Row::latency(
        &format!("fan-out to {n} clients: kernel floor (first write → last reader)"),
        &floor,
        None,
    ));
    report.row(Row::latency(
        &format!("fan-out to {n} clients: controlroom (first → last client)"),
        &ours,
        Some(o.median / f.median),
    ));
    report.row(
        Row::latency(
            &format!("fan-out to {n} clients: controlroom (rename request → last client)"),
            &e2e,
            None,
        )
        .with_note("includes the HTTP request and the SQLite commit before the broadcast".into()),
    );
    report.row(
        Row::latency(
            &format!("fan-out, 10 of {n} never read: controlroom (first → last reader)"),
            &stalled_ours,
            Some(s.p99 / o.p99),
        )
        .with_note("ratio is p99 vs all-reading p99".into()),
    );
    Ok(())
}

/// Per-delta figures of one fan-out run, in ms.
struct Fanout {
    /// From sending the rename (HTTP PATCH: request, store commit, broadcast) to the last reader.
    end_to_end: Vec<f64>,
    /// From the first reader having the delta to the last one having it: the fan-out itself.
    spread: Vec<f64>,
    /// Length of the delta message.
    frame_len: usize,
}

/// Connects `readers` + `stalled` app clients and sends `deltas` renames.
async fn gateway_fanout(
    gw: &Gateway,
    sid: &str,
    readers: usize,
    stalled: usize,
    deltas: usize,
    tag: usize,
) -> anyhow::Result<Fanout> {
    let arrivals: Arc<std::sync::Mutex<Vec<Vec<Instant>>>> =
        Arc::new(std::sync::Mutex::new(vec![Vec::new(); deltas]));
    let frame_len = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    let mut idle = Vec::new();
    for _ in 0..stalled {
        // Connected and subscribed, but never reads again.
        idle.push(gw.ws("/ws/app").await?);
    }
    let ready = Arc::new(AtomicUsize::new(0));
    for _ in 0..readers {
        let mut ws = gw.ws("/ws/app").await?;
        let (arrivals, ready, frame_len) = (arrivals.clone(), ready.clone(), frame_len.clone());
        tasks.push(tokio::spawn(async move {
            while let Ok(msg) = next_json(&mut ws).await {
                let now = Instant::now();
                if msg["type"] == "sessions-sync" {
                    ready.fetch_add(1, Ordering::AcqRel);
                    continue;
                }
                let text = msg.to_string();
                // A rename delta carries the session now (`session`) and `before`; the new title says which.
                let title = msg["session"]["title"].as_str().unwrap_or_default();
                let k = title.strip_prefix(&format!("fan{tag}-"));
                if let Some(k) = k.and_then(|k| k.parse::<usize>().ok()) {
                    frame_len.store(text.len(), Ordering::Relaxed);
                    if let Ok(mut a) = arrivals.lock()
                        && k < a.len()
                    {
                        a[k].push(now);
                    }
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while ready.load(Ordering::Acquire) < readers && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (mut lat, mut spread) = (Vec::new(), Vec::new());
    for k in 0..deltas {
        let t0 = Instant::now();
        gw.http(
            "PATCH",
            &format!("/api/sessions/{sid}"),
            Some(serde_json::json!({"title": format!("fan{tag}-{k}")})),
        )
        .await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let done = arrivals.lock().map(|a| a[k].len() >= readers).unwrap_or(true);
            if done || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        if let Ok(a) = arrivals.lock()
            && let (Some(first), Some(last)) = (a[k].iter().min(), a[k].iter().max())
        {
            lat.push(last.duration_since(t0).as_secs_f64() * 1e3);
            spread.push(last.duration_since(*first).as_secs_f64() * 1e3);
        }
    }
    for t in tasks {
        t.abort();
    }
    drop(idle);
    Ok(Fanout { end_to_end: lat, spread, frame_len: frame_len.load(Ordering::Relaxed).max(64) })
}

/// `n` loopback socket pairs; a plain loop writes `len` bytes to each; per round, the time until
/// the last reader has them (ms).
async fn kernel_fanout(n: usize, len: usize, rounds: usize) -> anyhow::Result<Vec<f64>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut writers = Vec::with_capacity(n);
    let got = Arc::new(std::sync::Mutex::new(vec![Vec::<Instant>::new(); rounds]));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let client = tokio::net::TcpStream::connect(addr).await?;
        let (server, _) = listener.accept().await?;
        server.set_nodelay(true)?;
        writers.push(server);
        let got = got.clone();
        let mut client = client;
        tasks.push(tokio::spawn(async move {
            let mut buf = vec![0u8; len];
            for r in 0..rounds {
                if client.read_exact(&mut buf).await.is_err() {
                    return;
                }
                if let Ok(mut g) = got.lock() {
                    g[r].push(Instant::now());
                }
            }
        }));
    }
    let payload = vec![b'x'; len];
    let mut lat = Vec::new();
    for r in 0..rounds {
        let t0 = Instant::now();
        for w in &mut writers {
            w.write_all(&payload).await?;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while got.lock().map(|g| g[r].len() < n).unwrap_or(false) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        if let Ok(g) = got.lock()
            && let Some(last) = g[r].iter().max()
        {
            lat.push(last.duration_since(t0).as_secs_f64() * 1e3);
        }
    }
    for t in tasks {
        t.abort();
    }
    Ok(lat)
}
