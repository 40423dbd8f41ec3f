//! Resource scenarios: memory per idle connection / worker / full scrollback, idle CPU and
//! wake-ups, start-up time and a new worker's first output — each against tmux or ttyd where
//! they have a comparable figure.

use crate::gateway::{Gateway, next_json};
use crate::peers::{self, Tmux};
use crate::report::{Report, Row};
use crate::scenarios::Plan;
use crate::ttyd::{self, Ttyd};
use controlroom_bench::summarize;
use std::time::{Duration, Instant};

const KIB: f64 = 1024.0;

/// Waits for the process's memory to settle (allocations done, freed pages returned).
async fn settled_rss(pid: u32) -> anyhow::Result<u64> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    peers::rss(pid)
}

/// 2,000 lines of 200 columns of text, then the program waits.
fn full_scrollback_script() -> String {
    "i=0; while [ $i -lt 2000 ]; do printf '%0200d\\n' $i; i=$((i+1)); done; exec sleep 100000".to_string()
}

/// Memory: per idle WebSocket, per idle worker, and a worker holding a full scrollback.
pub async fn memory(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let conns = 500;
    let (gw, _) = Gateway::start(&[])?;
    let pid = gw.pid();
    gw.session(&[vec!["sleep".into(), "100000".into()]], 80, 24).await?;
    let base = settled_rss(pid).await?;
    let mut sockets = Vec::new();
    for _ in 0..conns {
        let mut ws = gw.ws("/ws/app").await?;
        next_json(&mut ws).await?;
        sockets.push(ws);
    }
    let with_conns = settled_rss(pid).await?;
    let per_conn = (with_conns.saturating_sub(base)) as f64 / conns as f64 / KIB;
    report.row(Row::value(&format!("memory per idle /ws/app connection ({conns} open)"), per_conn, "KiB"));
    drop(sockets);

    drop(gw);
    let (gw, _) = Gateway::start(&[])?;
    let pid = gw.pid();
    gw.session(&[vec!["sleep".into(), "100000".into()]], 80, 24).await?;
    let workers = 50;
    let before = settled_rss(pid).await?;
    let sleepers: Vec<Vec<String>> = (0..workers).map(|_| vec!["sleep".into(), "100000".into()]).collect();
    gw.session(&sleepers, 80, 24).await?;
    let after = settled_rss(pid).await?;
    let per_worker = (after.saturating_sub(before)) as f64 / workers as f64 / KIB;
    report.row(Row::value(
        &format!("memory per idle worker ({workers} workers, child excluded)"),
        per_worker,
        "KiB",
    ));

    // One worker that printed 2,000 × 200 columns, against one that printed nothing; a fresh
    // gateway each time, so freed memory of earlier steps does not hide the growth.
    let mut ours = Vec::new();
    for _ in 0..plan.runs.min(3) {
        let (gw, _) = Gateway::start(&[])?;
        let pid = gw.pid();
        gw.session(&[vec!["sleep".into(), "100000".into()]], 200, 50).await?;
        let before = settled_rss(pid).await?;
        gw.session(&[vec!["sh".into(), "-c".into(), full_scrollback_script()]], 200, 50).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = settled_rss(pid).await?;
        ours.push((after.saturating_sub(before)) as f64 / KIB / KIB - per_worker / KIB);
    }
    let mut theirs = Vec::new();
    if peers::tmux_available() {
        for _ in 0..plan.runs.min(3) {
            let tmux = Tmux::new("crbench-mem");
            tmux.session("m", "exec sleep 100000", 2000)?;
            let tpid = tmux.pid()?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let before = peers::rss(tpid)?;
            tmux.window("m", &full_scrollback_script())?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            theirs.push((peers::rss(tpid)?.saturating_sub(before)) as f64 / KIB / KIB);
        }
    } else {
        report.note("tmux is not installed: no scrollback memory comparison.");
    }
    let o = summarize(&ours);
    let ratio = (!theirs.is_empty()).then(|| o.median / summarize(&theirs).median);
    report.row(Row::samples("memory of a full 2,000 × 200 scrollback: controlroom", &ours, "MiB", ratio));
    if !theirs.is_empty() {
        report.row(Row::samples("memory of a full 2,000 × 200 scrollback: tmux", &theirs, "MiB", None));
    }
    Ok(())
}

/// Idle cost: 50 idle workers and 10 clients, CPU % and wake-ups/s, against tmux with 50 idle
/// windows.
pub async fn idle(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let (gw, _) = Gateway::start(&[])?;
    let shells: Vec<Vec<String>> = (0..50).map(|_| vec!["sh".into()]).collect();
    let (sid, wids) = gw.session(&shells, 80, 24).await?;
    let mut clients = Vec::new();
    for wid in wids.iter().take(5) {
        clients.push(gw.attach(&sid, wid).await?);
    }
    let mut apps = Vec::new();
    for _ in 0..5 {
        let mut ws = gw.ws("/ws/app").await?;
        next_json(&mut ws).await?;
        apps.push(ws);
    }
    // Let prompts print, every worker go idle (--idle-after, 2 s) and the poller save the screens
    // of workers that were active (--poll-interval, 5 s): what is left is the steady idle cost.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let cost = peers::idle_cost(gw.pid(), plan.idle_window).await?;
    let threads: Vec<String> = cost.by_thread.iter().take(4).map(|(n, v)| format!("{n} {v:.1}/s")).collect();
    report.row(Row::value("idle, 50 workers + 10 clients: controlroom CPU", cost.cpu, "% of a core"));
    report.row(
        Row::value("idle, 50 workers + 10 clients: controlroom wake-ups", cost.wakeups, "/s")
            .with_note(format!("by thread: {}", threads.join(", "))),
    );
    if peers::tmux_available() {
        let tmux = Tmux::new("crbench-idle");
        tmux.session("idle", "exec sh", 2000)?;
        for _ in 1..50 {
            tmux.window("idle", "exec sh")?;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let cost = peers::idle_cost(tmux.pid()?, plan.idle_window).await?;
        report.row(Row::value("idle, 50 windows (no client): tmux CPU", cost.cpu, "% of a core"));
        report.row(Row::value("idle, 50 windows (no client): tmux wake-ups", cost.wakeups, "/s"));
    }
    drop(clients);
    // ttyd has a terminal only per client: 10 idle shells, each with its client.
    match Ttyd::start(&["sh"])? {
        Some(tty) => {
            let before = peers::rss(tty.pid())?;
            let mut terminals = Vec::new();
            for _ in 0..10 {
                terminals.push(tty.connect(80, 24).await?);
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            let after = peers::rss(tty.pid())?;
            let cost = peers::idle_cost(tty.pid(), plan.idle_window).await?;
            report.row(Row::value("idle, 10 terminals + 10 clients: ttyd CPU", cost.cpu, "% of a core"));
            report.row(Row::value("idle, 10 terminals + 10 clients: ttyd wake-ups", cost.wakeups, "/s"));
            report.row(Row::value(
                "idle: ttyd memory per terminal with its client (RSS growth / 10)",
                after.saturating_sub(before) as f64 / 10.0 / KIB,
                "KiB",
            ));
            drop(terminals);
        }
        None => report.note(ttyd::ABSENT),
    }
    Ok(())
}

/// Start-up: `controlroom serve` from exec to its ready line, on a warm cache.
pub async fn startup(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let mut times = Vec::new();
    // One unmeasured start warms the page cache.
    drop(Gateway::start(&[])?);
    for _ in 0..plan.runs.max(5) {
        let (gw, ready) = Gateway::start(&[])?;
        times.push(ready.as_secs_f64() * 1e3);
        drop(gw);
    }
    report.row(Row::latency("start-up: `serve` exec → listening line", &times, None));
    first_output(plan, report).await
}

/// What every contender of the first-output rows runs: it prints, then stays.
const FIRST: [&str; 3] = ["sh", "-c", "echo ready; exec sleep 1000"];

/// A new worker to its first output on a socket, beside ttyd (which starts a new terminal per
/// connection), interleaved: ours with a spare holder (the default) and without one
/// (`--spare-holders 0`: a holder is started per worker). Ours: `POST /api/sessions` with one
/// worker, attach, `ready` seen (in `history` or `output`), broken down into its steps as the
/// client sees them; ttyd: connect, send the size, `ready` seen. The floor beside them: the
/// same command started on a PTY by the harness itself (a fork and exec, as ttyd does) and
/// `ready` read from the PTY directly, with no socket at all.
async fn first_output(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let (gw, _) = Gateway::start(&[])?;
    let (fresh, _) = Gateway::start(&["--spare-holders", "0"])?;
    let tty = Ttyd::start(&FIRST)?;
    if tty.is_none() {
        report.note(ttyd::ABSENT);
    }
    let (mut ours, mut theirs, mut floor) = (FirstOutput::default(), Vec::new(), Vec::new());
    let mut without = FirstOutput::default();
    // `/ws/new` (one exchange): `None` once a gateway without it (an older build under test)
    // refused it.
    let mut one_exchange = Some(FirstOutput::default());
    let mut spare_missed = 0;
    // One unmeasured round each warms the page cache and the gateways' stores.
    for round in 0..=plan.runs.max(5) * 4 {
        // The gateway starts the next spare 50 ms after one is taken; the other contenders'
        // rounds take less, so without this wait a round would often start a new holder.
        if !spare_ready(&gw).await {
            spare_missed += 1;
        }
        let with_spare = first_output_once(&gw).await?;
        let with_holder = first_output_once(&fresh).await?;
        let mut on_new = None;
        if one_exchange.is_some() {
            if !spare_ready(&gw).await {
                spare_missed += 1;
            }
            match first_output_one_exchange(&gw).await {
                Ok(r) => on_new = Some(r),
                Err(e) => {
                    report.note(&format!("first output: /ws/new not measured: {e:#}"));
                    one_exchange = None;
                }
            }
        }
        let t3 = Instant::now();
        let mut measured = None;
        if let Some(tty) = &tty {
            let mut c = tty.connect(80, 24).await?;
            c.wait_for(b"ready").await?;
            measured = Some(t3.elapsed());
        }
        let direct = tokio::task::spawn_blocking(|| -> anyhow::Result<Duration> {
            let t = Instant::now();
            let mut pty = peers::DirectPty::spawn(&FIRST, 80, 24)?;
            pty.wait_for(b"ready")?;
            Ok(t.elapsed())
        })
        .await??;
        if round > 0 {
            ours.push(with_spare);
            without.push(with_holder);
            if let (Some(all), Some(r)) = (one_exchange.as_mut(), on_new) {
                all.push(r);
            }
            theirs.extend(measured.map(|d| d.as_secs_f64() * 1e3));
            floor.push(direct.as_secs_f64() * 1e3);
        }
    }
    if spare_missed > 0 {
        report.note(&format!(
            "first output: no spare holder was ready within {SPARE_WAIT:?} before {spare_missed} rounds (they started a new holder)"
        ));
    }
    let o = summarize(&ours.total);
    let ratio = (!theirs.is_empty()).then(|| o.median / summarize(&theirs).median);
    if let Some(all) = one_exchange.filter(|a| !a.total.is_empty()) {
        let n = summarize(&all.total);
        let ratio = (!theirs.is_empty()).then(|| n.median / summarize(&theirs).median);
        report.row(
            Row::latency(
                "new worker → its first output on a socket: controlroom, one exchange (/ws/new)",
                &all.total,
                ratio,
            )
            .with_note(
                "connect + /ws/new (the session created, stored, attached) + `ready` seen; ratio vs ttyd's"
                    .into(),
            ),
        );
        report.row(Row::latency(
            "  of which the upgrade (the session created and stored before the 101)",
            &all.upgraded,
            None,
        ));
        report.row(Row::latency("  of which the 101 → `created` and `history`", &all.history, None));
        report.row(
            Row::latency("  of which `history` → `ready` seen", &all.ready, None)
                .with_note("0 when `ready` was in the `history` already".into()),
        );
    }
    report.row(
        Row::latency("new worker → its first output on a socket: controlroom", &ours.total, ratio)
            .with_note("POST /api/sessions + attach + `ready` seen; ratio is median vs ttyd's".into()),
    );
    report.row(Row::latency(
        "  of which POST /api/sessions (spare holder taken, stored)",
        &ours.created,
        None,
    ));
    report.row(Row::latency("  of which the upgrade (connect + WebSocket handshake)", &ours.upgraded, None));
    report.row(Row::latency("  of which the upgrade → `history`", &ours.history, None));
    report.row(
        Row::latency("  of which `history` → `ready` seen", &ours.ready, None)
            .with_note("0 when `ready` was in the `history` already".into()),
    );
    report.row(
        Row::latency("  the same, --spare-holders 0", &without.total, None).with_note(
            "a holder started per worker (an exec of the gateway binary), as before spares".into(),
        ),
    );
    report.row(Row::latency(
        "  of which POST /api/sessions (holder started, stored)",
        &without.created,
        None,
    ));
    if !theirs.is_empty() {
        report.row(
            Row::latency("new worker → its first output on a socket: ttyd 1.7.7", &theirs, None)
                .with_note("connect + size message + `ready` seen (ttyd spawns per connection)".into()),
        );
    }
    report.row(
        Row::latency(
            "new worker → its first output: the floor (fork + exec on a PTY, no socket)",
            &floor,
            None,
        )
        .with_note("the harness starts the same command on a PTY and reads `ready` from it directly".into()),
    );
    Ok(())
}

/// How long a first-output round waits for the gateway's spare holder.
const SPARE_WAIT: Duration = Duration::from_secs(2);

/// Waits (up to [`SPARE_WAIT`]) until `gw` has a spare holder its gateway is connected to: a
/// connected Unix socket on a `spare-*.sock` path of its data dir in `/proc/net/unix`.
async fn spare_ready(gw: &Gateway) -> bool {
    let workers = gw.data_dir().join("workers");
    let prefix = format!("{}/spare-", workers.display());
    let deadline = Instant::now() + SPARE_WAIT;
    loop {
        let table = std::fs::read_to_string("/proc/net/unix").unwrap_or_default();
        // Columns: Num RefCount Protocol Flags Type St Inode Path; St 03 is connected.
        let connected = table.lines().any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() == 8 && cols[5] == "03" && cols[7].starts_with(&prefix) && cols[7].ends_with(".sock")
        });
        if connected {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// How long the idle-workers section waits for the start's blocking-pool threads to end.
const THREADS_SETTLE: Duration = Duration::from_secs(20);

/// Times of the first-output rounds, in ms: to `ready` seen, and its steps as the client sees
/// them: the `POST`, the upgrade, the `history`, then `ready`.
#[derive(Default)]
struct FirstOutput {
    total: Vec<f64>,
    created: Vec<f64>,
    upgraded: Vec<f64>,
    history: Vec<f64>,
    ready: Vec<f64>,
}

impl FirstOutput {
    fn push(&mut self, round: Round) {
        self.total.push(round.total);
        self.created.push(round.created);
        self.upgraded.push(round.upgraded);
        self.history.push(round.history);
        self.ready.push(round.ready);
    }
}

/// One first-output round's times in ms (see [`FirstOutput`]).
struct Round {
    total: f64,
    created: f64,
    upgraded: f64,
    history: f64,
    ready: f64,
}

/// One round on `gw`: a session with one worker running [`FIRST`], attached until `ready` is
/// seen, then deleted.
async fn first_output_once(gw: &Gateway) -> anyhow::Result<Round> {
    let argv: Vec<String> = FIRST.iter().map(|s| s.to_string()).collect();
    let t0 = Instant::now();
    let (sid, wids) = gw.session(std::slice::from_ref(&argv), 80, 24).await?;
    let t1 = Instant::now();
    let (mut c, upgraded) = gw.endpoint().attach_timed(&sid, &wids[0]).await?;
    finish_round(gw, &sid, &mut c, Marks { start: t0, created: t1, upgraded }).await
}

/// When a first-output round started, had its session (the `POST` answered; the start itself
/// over `/ws/new`) and read its `101`.
struct Marks {
    start: Instant,
    created: Instant,
    upgraded: Instant,
}

/// The rest of a first-output round: the `history` is in, so waits for `ready`, deletes the
/// session, and times the steps.
async fn finish_round(
    gw: &Gateway,
    sid: &str,
    c: &mut crate::gateway::WorkerClient,
    at: Marks,
) -> anyhow::Result<Round> {
    let t2 = Instant::now();
    c.wait_for("ready").await?;
    let t3 = Instant::now();
    gw.http("DELETE", &format!("/api/sessions/{sid}"), None).await?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(Round {
        total: ms(t3 - at.start),
        created: ms(at.created - at.start),
        upgraded: ms(at.upgraded - at.created),
        history: ms(t2 - at.upgraded),
        ready: ms(t3 - t2),
    })
}

/// One round on `gw` over `/ws/new`: the session created and attached in one exchange, until
/// `ready` is seen, then deleted. `created` is 0 (no separate `POST`); `upgraded` includes the
/// start.
async fn first_output_one_exchange(gw: &Gateway) -> anyhow::Result<Round> {
    let session = serde_json::json!({
        "title": "bench",
        "cwd": "/tmp",
        "workers": [{"command": FIRST, "cols": 80, "rows": 24}],
    });
    let t0 = Instant::now();
    let (sid, mut c, upgraded) = gw.endpoint().create_attached(&session).await?;
    finish_round(gw, &sid, &mut c, Marks { start: t0, created: t0, upgraded }).await
}

/// Workers per session when starting many (each session one request).
const WORKERS_PER_SESSION: usize = 100;

/// What each worker of the idle-workers section runs.
#[derive(Clone, Copy, Debug)]
enum Idler {
    /// `sleep`: a blank screen.
    Sleep,
    /// An interactive bash showing a coloured `user@host:dir$ ` prompt, as a user's idle shell
    /// does (no rc files, so the prompt is the same on every machine).
    ShellPrompt,
}

impl Idler {
    fn command(self) -> Vec<String> {
        match self {
            Idler::Sleep => vec!["sleep".to_string(), "100000".to_string()],
            Idler::ShellPrompt => vec![
                "sh".to_string(),
                "-c".to_string(),
                r"PS1='\[\e[1;32m\]\u@\h\[\e[m\]:\[\e[1;34m\]\w\[\e[m\]\$ ' exec bash --norc --noprofile -i"
                    .to_string(),
            ],
        }
    }

    /// How the rows name `n` such workers.
    fn label(self, n: usize) -> String {
        match self {
            Idler::Sleep => format!("idle, {n} workers"),
            Idler::ShellPrompt => format!("idle, {n} shell prompts"),
        }
    }
}

/// A gateway with `n` idle workers running `idler`, and its RSS and threads before the `n` (with
/// one worker) and after.
struct IdleGateway {
    gw: Gateway,
    rss: (u64, u64),
    threads: (usize, usize),
}

async fn start_idle(n: usize, idler: Idler) -> anyhow::Result<IdleGateway> {
    let limit = (n + 10).to_string();
    let (gw, _) = Gateway::start(&["--max-workers", &limit, "--max-sessions", &limit])?;
    let pid = gw.pid();
    // One worker first, so what is measured is per worker, not the first one's set-up.
    gw.session(&[idler.command()], 80, 24).await?;
    let before = settled_rss(pid).await?;
    let threads_before = threads(pid);
    let mut left = n;
    while left > 0 {
        let now = left.min(WORKERS_PER_SESSION);
        let commands: Vec<Vec<String>> = (0..now).map(|_| idler.command()).collect();
        gw.session(&commands, 80, 24).await?;
        left -= now;
    }
    // Every worker idle (--idle-after, 2 s) and the screen saves of the start done (5 s).
    tokio::time::sleep(Duration::from_secs(8)).await;
    // The start's screen jobs ran on the runtime's blocking pool, whose idle threads end after
    // tokio's 10 s keep-alive: wait for them (up to a deadline), so the figures are the idle
    // steady state and not the start's leftover threads, stacks and arenas.
    let deadline = Instant::now() + THREADS_SETTLE;
    while threads(pid) > threads_before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let after = settled_rss(pid).await?;
    Ok(IdleGateway { gw, rss: (before, after), threads: (threads_before, threads(pid)) })
}

/// The memory and threads rows of an idle gateway.
fn report_idle(report: &mut Report, n: usize, idler: Idler, idle: &IdleGateway) {
    let (before, after) = idle.rss;
    let per_worker = after.saturating_sub(before) as f64 / n as f64 / KIB;
    let label = idler.label(n);
    report.row(Row::value(&format!("{label}: gateway memory per worker"), per_worker, "KiB").with_note(
        format!(
            "gateway RSS {:.1} MiB with {n} workers ({:.1} MiB with one); target ≤ 32 KiB",
            after as f64 / KIB / KIB,
            before as f64 / KIB / KIB
        ),
    ));
    report.row(
        Row::value(&format!("{label}: gateway threads"), idle.threads.1 as f64, "")
            .with_note(format!("{} with one worker; target: none of a worker's own", idle.threads.0)),
    );
}

/// Idle workers (`sleep`, no client): the gateway's memory per worker, its threads and its
/// wake-ups/s; the holders (one process per worker) counted apart: their total PSS and
/// wake-ups/s. Then the same number of idle shell prompts: the gateway's memory per worker, its
/// threads and wake-ups (a prompt is a few written cells, where `sleep` leaves a blank screen).
pub async fn idle_workers(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let n = plan.idle_workers;
    let idle = start_idle(n, Idler::Sleep).await?;
    let pid = idle.gw.pid();
    let holders = worker_holder_pids(idle.gw.data_dir());
    let holder_switches = |pids: &[u32]| -> u64 {
        pids.iter().filter_map(|p| peers::cpu_and_switches(*p).ok()).map(|(_, s)| s.total()).sum()
    };
    let h0 = holder_switches(&holders);
    let cost = peers::idle_cost(pid, plan.idle_window).await?;
    let h1 = holder_switches(&holders);
    let pss: u64 = holders.iter().filter_map(|p| pss(*p).ok()).sum();
    report_idle(report, n, Idler::Sleep, &idle);
    report.row(
        Row::value(&format!("idle, {n} workers: gateway wake-ups"), cost.wakeups, "/s")
            .with_note(format!("CPU {:.2} % of a core", cost.cpu)),
    );
    report.row(
        Row::value(&format!("idle, {n} workers: holders' PSS, total"), pss as f64 / KIB / KIB, "MiB")
            .with_note(format!(
                "{} holders, {:.0} KiB each; their wake-ups {:.1}/s in all",
                holders.len(),
                pss as f64 / KIB / holders.len().max(1) as f64,
                h1.saturating_sub(h0) as f64 / plan.idle_window.as_secs_f64()
            )),
    );
    drop(idle);

    let idle = start_idle(n, Idler::ShellPrompt).await?;
    let cost = peers::idle_cost(idle.gw.pid(), plan.idle_window).await?;
    report_idle(report, n, Idler::ShellPrompt, &idle);
    report.row(
        Row::value(&format!("{}: gateway wake-ups", Idler::ShellPrompt.label(n)), cost.wakeups, "/s")
            .with_note(format!("CPU {:.2} % of a core", cost.cpu)),
    );
    Ok(())
}

/// Threads of `pid`.
fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map(|d| d.count()).unwrap_or(0)
}

/// Proportional set size of `pid`, in bytes (`/proc/PID/smaps_rollup`).
fn pss(pid: u32) -> anyhow::Result<u64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))?;
    let kb: u64 = rollup
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no Pss line for {pid}"))?;
    Ok(kb * 1024)
}

/// Holder processes serving workers under `data_dir` (a spare, started `--spare` and not yet
/// renamed `cr-holder`, serves none and is not counted).
fn worker_holder_pids(data_dir: &std::path::Path) -> Vec<u32> {
    crate::reaper::holder_pids(data_dir)
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).map_or(true, |n| n.trim() != "cr-spare")
        })
        .collect()
}
