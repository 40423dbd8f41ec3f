//! `controlroom-bench`: the end-to-end harness. Starts the release gateway on loopback, drives it
//! with Rust WebSocket clients, measures a raw PTY and tmux in the same run (interleaved), and
//! prints a Markdown table of medians, min–max and ratios. Re-executed with a hidden flag, it is
//! the bare WebSocket forwarder peer (see forwarder.rs).
//!
//! Usage: `controlroom-bench [--quick] [--runs N] [--only SECTION,...] [--gateway-only] [--out FILE]`
//! (the sections are `SECTIONS`, listed by `--help`; `--gateway-only`: throughput of the gateway
//! alone, for profiling). See BENCHMARKS.md; `bench/run.sh` regenerates everything.

mod echo;
mod forwarder;
mod gateway;
mod git_count;
mod holders;
mod memory_heavy;
mod peers;
mod reaper;
mod relay;
mod reply;
mod report;
mod resources;
mod scenarios;
mod slow;
mod ttyd;
mod tui;
mod tui_vs_tmux;
mod tui_wall;

use anyhow::Context as _;
use report::Report;
use scenarios::Plan;
use std::time::Duration;

/// What `--help` prints.
const USAGE: &str =
    "usage: controlroom-bench [--quick] [--runs N] [--only SECTION,...] [--fanout-clients N] [--echoes N]
                         [--echo-gap-ms N] [--idle-workers N] [--gateway-only] [--out FILE]
--quick          smaller inputs and fewer runs
--gateway-only   throughput of the gateway alone (for profiling; no raw PTY, forwarder or tmux)
--echoes N       keystrokes timed per contender in the echo sections (default 2000)
--echo-gap-ms N  pause between keys in the idle echo rows, as a person types (default 0)
--idle-workers N idle workers in the idle-workers section (default 1000; 200 with --quick)
CONTROLROOM_BENCH_GATEWAY=PATH runs another gateway build (CONTROLROOM_BENCH_HOLDER=PATH: whose
`__holder` the relay rows run, for a build without one); CONTROLROOM_BENCH_TUI_CONFIG=TEXT is
the front end's config.toml in the tui section (A/B of settings); CONTROLROOM_BENCH_FAIL_AFTER_START=1
fails each section once its workers started (to check nothing is left running);
CONTROLROOM_BENCH_ECHO_HOOK=CMD runs `sh -c CMD hook start|stop CONTENDER PID...` around the echo
section's first timed keys (strace, callgrind_control: counts per key); SIGINT or SIGTERM
stops the running section, ending what it started, and prints the report so far; see BENCHMARKS.md";

/// Every section, in the order they run.
const SECTIONS: &[&str] = &[
    "throughput",
    "echo",
    "fanout",
    "memory",
    "memory-heavy",
    "idle",
    "idle-workers",
    "holder",
    "adopt",
    "startup",
    "slow",
    "tui",
    "tui-echo",
    "tui-drain",
    "reply",
    "tui-wall",
    "git-count",
];

struct Args {
    plan: Plan,
    only: Vec<String>,
    out: Option<std::path::PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut plan = Plan {
        burst: 16_000_000,
        sustained: 100_000_000,
        runs: 5,
        echoes: 2000,
        echo_gap: Duration::ZERO,
        fanout_clients: 1000,
        idle_workers: 1000,
        idle_window: Duration::from_secs(20),
        gateway_only: false,
    };
    let mut only: Vec<String> = SECTIONS.iter().map(|s| s.to_string()).collect();
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => {
                plan = Plan {
                    burst: 4_000_000,
                    sustained: 16_000_000,
                    runs: 3,
                    echoes: 150,
                    echo_gap: plan.echo_gap,
                    fanout_clients: 200,
                    idle_workers: 200,
                    idle_window: Duration::from_secs(5),
                    gateway_only: plan.gateway_only,
                };
            }
            "--gateway-only" => plan.gateway_only = true,
            "--idle-workers" => {
                plan.idle_workers =
                    args.next().context("--idle-workers N")?.parse().context("--idle-workers N")?;
                anyhow::ensure!(plan.idle_workers > 0, "--idle-workers N: N must be positive");
            }
            "--echoes" => {
                plan.echoes = args.next().context("--echoes N")?.parse().context("--echoes N")?;
                anyhow::ensure!(plan.echoes > 0, "--echoes N: N must be positive");
            }
            "--echo-gap-ms" => {
                let ms: u64 = args.next().context("--echo-gap-ms N")?.parse().context("--echo-gap-ms N")?;
                plan.echo_gap = Duration::from_millis(ms);
            }
            "--fanout-clients" => {
                plan.fanout_clients =
                    args.next().context("--fanout-clients N")?.parse().context("--fanout-clients N")?;
            }
            "--runs" => plan.runs = args.next().context("--runs N")?.parse().context("--runs N")?,
            "--only" => only = args.next().context("--only LIST")?.split(',').map(str::to_string).collect(),
            "--out" => out = Some(args.next().context("--out FILE")?.into()),
            "--bench" => {} // passed by `cargo bench`; ignored
            "--help" | "-h" => {
                println!("{USAGE}\nsections (default: all): {}", SECTIONS.join(", "));
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other:?}\n{USAGE}\nsections: {}", SECTIONS.join(", ")),
        }
    }
    for s in &only {
        anyhow::ensure!(SECTIONS.contains(&s.as_str()), "unknown section {s:?}; one of {SECTIONS:?}");
    }
    Ok(Args { plan, only, out })
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{cpu}, {cores} cores; load average at start: {}",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    )
}

/// Resolves on SIGINT or SIGTERM with the signal's name (never, if neither can be watched).
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(mut int), Ok(mut term)) => tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        },
        _ => std::future::pending().await,
    }
}

fn main() -> anyhow::Result<()> {
    let mut argv = std::env::args().skip(1);
    if argv.next().as_deref() == Some(forwarder::CHILD_FLAG) {
        return forwarder::serve(argv.collect());
    }
    let args = parse_args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut report = Report::default();
    runtime.block_on(async {
        for section in SECTIONS.iter().filter(|s| args.only.iter().any(|o| o == *s)) {
            eprintln!("== {section}");
            let run = async {
                match *section {
                    "throughput" => scenarios::throughput(&args.plan, &mut report).await,
                    "echo" => echo::echo(&args.plan, &mut report).await,
                    "fanout" => scenarios::fanout(&args.plan, &mut report).await,
                    "memory" => resources::memory(&args.plan, &mut report).await,
                    "memory-heavy" => memory_heavy::memory_heavy(&args.plan, &mut report).await,
                    "idle" => resources::idle(&args.plan, &mut report).await,
                    "idle-workers" => resources::idle_workers(&args.plan, &mut report).await,
                    "holder" => holders::holder(&args.plan, &mut report).await,
                    "adopt" => holders::adopt(&args.plan, &mut report).await,
                    "startup" => resources::startup(&args.plan, &mut report).await,
                    "slow" => slow::slow(&args.plan, &mut report).await,
                    "tui" => tui::tui(&args.plan, &mut report).await,
                    "tui-echo" => tui_vs_tmux::echo(&args.plan, &mut report).await,
                    "reply" => reply::reply(&args.plan, &mut report).await,
                    "tui-wall" => tui_wall::wall(&args.plan, &mut report).await,
                    "git-count" => git_count::git_count(&args.plan, &mut report).await,
                    _ => tui_vs_tmux::drain(&args.plan, &mut report).await,
                }
            };
            // SIGINT or SIGTERM drops the running section, so its guards stop what it started
            // (gateways, holders, front ends); the report so far is still printed.
            let outcome = tokio::select! {
                result = run => Ok(result),
                signal = interrupted() => Err(signal),
            };
            let result = match outcome {
                Ok(result) => result,
                Err(signal) => {
                    report.note(&format!("{section} interrupted by {signal}; later sections not run"));
                    eprintln!("{section} interrupted by {signal}");
                    break;
                }
            };
            if let Err(e) = result {
                report.note(&format!("{section} failed: {e:#}"));
                eprintln!("{section} failed: {e:#}");
            }
        }
    });
    let text = format!("Machine: {}\n\n{}", machine(), report.markdown());
    println!("{text}");
    if let Some(path) = args.out {
        std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
