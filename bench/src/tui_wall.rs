//! The front end's wall (`g`) of twelve busy workers: its frame cadence as the terminal sees it
//! (output bursts on the PTY it draws on), and its CPU beside the gateway's in the same window.

use crate::gateway::Gateway;
use crate::peers::{RawPty, clock_ticks, cpu_and_switches};
use crate::report::{Report, Row};
use crate::scenarios::Plan;
use crate::tui::client_env;
use std::time::{Duration, Instant};

/// Output chunks closer than this belong to one frame.
const FRAME_GAP: Duration = Duration::from_millis(2);

/// The floor's writer prints once per this (the front end's frame interval).
const FLOOR_TICK: Duration = Duration::from_millis(13);

/// Tiles on the wall: half redraw a full screen like `top`, half flood like `seq`.
const TILES: usize = 12;

/// A `top`-like worker: the whole screen redrawn in place twenty times a second.
const TOP_LIKE: &str = "i=0; while :; do i=$((i+1)); printf '\\033[H'; r=1; \
    while [ $r -le 22 ]; do printf 'row %02d tick %d load %d.%02d\\033[K\\n' $r $i $((i*r%7)) $((i*r%97)); \
    r=$((r+1)); done; sleep 0.05; done";

/// The floor's writer: perl on absolute deadlines (no fork per tick, no drift), else a shell
/// loop forking `sleep` (whose fork and drift show in its gaps); (argv, what the row calls it).
fn floor_writer() -> (Vec<String>, &'static str) {
    let tick = FLOOR_TICK.as_secs_f64();
    let perl = std::process::Command::new("perl")
        .args(["-e", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if perl {
        let script = format!(
            "use Time::HiRes qw(time sleep); $|=1; my $t=time; \
             while (1) {{ print 'x'; $t += {tick}; my $d = $t - time; sleep($d) if $d > 0 }}"
        );
        (vec!["perl".into(), "-e".into(), script], "a perl loop")
    } else {
        let ticker = format!("while :; do printf x; sleep {tick:.3}; done");
        (vec!["sh".into(), "-c".into(), ticker], "a shell loop")
    }
}

/// A flood-like worker: lines as fast as it can print them.
const FLOOD_LIKE: &str = "while :; do seq -f 'flood-line %g' 1 1000000; done";

/// The wall of [`TILES`] busy workers at 160×50: time between frames, and CPU of the front end
/// and the gateway over the same window.
pub async fn wall(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let bin = crate::gateway::binary()?;
    let bin = bin.to_string_lossy().into_owned();
    let (gw, _) = Gateway::start(&[])?;
    let commands: Vec<Vec<String>> = (0..TILES)
        .map(|i| {
            let script = if i % 2 == 0 { TOP_LIKE } else { FLOOD_LIKE };
            vec!["sh".into(), "-c".into(), script.into()]
        })
        .collect();
    // Each worker at a classic size: the tiles crop it, the wall never resizes it.
    let (_sid, _wids) = gw.session(&commands, 80, 24).await?;
    let dir = tempfile::tempdir()?;
    let env = client_env(&gw, dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut pty = tokio::task::block_in_place(|| RawPty::spawn_env(&[&bin], &env, 160, 50))?;
    tokio::task::block_in_place(|| pty.wait_for(b"bench"))?;
    pty.write(b"g")?;
    tokio::task::block_in_place(|| pty.wait_for(b"12 workers"))?;
    // Let every tile's socket open and its history arrive before measuring.
    tokio::task::block_in_place(|| pty.collect(Duration::from_secs(2)));

    let front = pty.pid().ok_or_else(|| anyhow::anyhow!("the front end's pid"))?;
    let window = plan.idle_window.min(Duration::from_secs(10));
    let (f0, _) = cpu_and_switches(front)?;
    let (g0, _) = cpu_and_switches(gw.pid())?;
    let t0 = Instant::now();
    let chunks = tokio::task::block_in_place(|| pty.collect(window));
    let elapsed = t0.elapsed().as_secs_f64();
    let (f1, _) = cpu_and_switches(front)?;
    let (g1, _) = cpu_and_switches(gw.pid())?;

    let (starts, intervals) = frames(&chunks);
    let bytes: usize = chunks.iter().map(|(_, n)| n).sum();
    report.row(
        Row::latency("front end, wall of 12 busy tiles (6 top-like, 6 floods): time between frames", &intervals, None)
            .with_note(format!(
                "{} frames, {:.0} KB drawn in {elapsed:.1} s; frames are output bursts ≥ 2 ms apart on the front end's PTY",
                starts.len(),
                bytes as f64 / 1e3
            )),
    );
    // The floor: a writer that does nothing but print a byte every frame interval, on a PTY
    // read the same way, while the same twelve workers run. Its gaps are what this machine's
    // scheduler gives any process that wants to draw at the frame rate under this load.
    drop(pty);
    let (argv, writer) = floor_writer();
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut floor = tokio::task::block_in_place(|| RawPty::spawn_env(&argv, &[], 80, 24))?;
    let floor_chunks = tokio::task::block_in_place(|| floor.collect(window));
    let (floor_starts, floor_intervals) = frames(&floor_chunks);
    report.row(
        Row::latency(&format!("the floor under the same 12 busy workers: {writer} printing a byte every 13 ms"), &floor_intervals, None)
            .with_note(format!(
                "{} writes seen in {:.1} s, read as the front end's frames are; what the scheduler gives a frame-rate writer beside these workers",
                floor_starts.len(),
                window.as_secs_f64()
            )),
    );
    let pct = |ticks: u64| ticks as f64 / clock_ticks() / elapsed * 100.0;
    let (front_pct, gw_pct) = (pct(f1.saturating_sub(f0)), pct(g1.saturating_sub(g0)));
    report.row(Row::value("front end CPU, wall of 12 busy tiles", front_pct, "% of a core").with_note(format!(
        "the gateway {gw_pct:.0} % of a core in the same window (front end / gateway = {:.2}); the workers' holders not counted",
        front_pct / gw_pct.max(0.01)
    )));
    Ok(())
}

/// Frame starts (output chunks more than [`FRAME_GAP`] after the last) and the intervals between
/// them, in ms.
fn frames(chunks: &[(Instant, usize)]) -> (Vec<Instant>, Vec<f64>) {
    let mut starts = Vec::new();
    let mut last: Option<Instant> = None;
    for (t, _) in chunks {
        if last.is_none_or(|l| t.duration_since(l) > FRAME_GAP) {
            starts.push(*t);
        }
        last = Some(*t);
    }
    let intervals = starts.windows(2).map(|w| w[1].duration_since(w[0]).as_secs_f64() * 1e3).collect();
    (starts, intervals)
}
