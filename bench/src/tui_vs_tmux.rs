//! The front end against a tmux client, both read from the PTY they draw on (parsed with vt100, as
//! a user's terminal would show it): keystroke-to-screen while another session floods against
//! idle, and how fast each drains a worker printing 16 MB.

use crate::gateway::{Gateway, write_input};
use crate::peers::{RawPty, Tmux, clock_ticks, cpu_and_switches, tmux_available};
use crate::report::{Report, Row};
use crate::scenarios::Plan;
use crate::tui::client_env;
use anyhow::bail;
use controlroom_bench::{Gen, ansi_log, base64_text, summarize, through_pty};
use std::time::{Duration, Instant};

/// The terminal both front ends run in.
const COLS: u16 = 120;
/// The terminal both front ends run in.
const ROWS: u16 = 40;

/// A second front-end binary for the echo rows (`--only tui-echo`), e.g. the build before a change:
/// its blocks join the rotation beside controlroom's and tmux's, typed into a worker of its own on
/// the same gateway, and report as `controlroom B`.
pub const TUI_B_ENV: &str = "CONTROLROOM_BENCH_TUI_B";

/// The rows a worker gets under a one-line header (ours) or status line (tmux's).
const PANE_ROWS: u16 = ROWS - 1;

/// The keys typed: each pass over the line writes every cell with the letter after the one it
/// held, so every keystroke changes exactly one cell of a 26-character line.
const KEYS: &[u8; 26] = b"abcdefghijklmnopqrstuvwxyz";

/// Longest pause between two keystrokes. Pauses are uniform below it: keys land at a random phase
/// to the front end's frame tick, some in bursts closer than a frame and most spaced as a person
/// types (typing back to back would lock onto the tick and measure only that).
const MAX_THINK: Duration = Duration::from_millis(100);

/// What the worker the user types into runs.
const CAT: &str = "stty raw -echo; printf 'ready\\r\\n'; exec cat";

/// Longest a front end may take to show the end of a drain (16 MB at 0.5 MB/s) before the run
/// counts as not finished.
const DRAIN_DEADLINE: Duration = Duration::from_secs(32);

/// What the other session runs while it floods.
const FLOOD: &str = "while :; do seq -f 'flood-line %g' 1 1000000; done";

/// A program's PTY output as a screen: every chunk the reader thread read, fed to vt100.
struct Screen {
    pty: RawPty,
    parser: vt100::Parser,
}

impl Screen {
    fn new(pty: RawPty) -> Screen {
        // The sizes are constants above zero.
        let (rows, cols) = (
            std::num::NonZeroU16::MIN.saturating_add(ROWS - 1),
            std::num::NonZeroU16::MIN.saturating_add(COLS - 1),
        );
        Screen { pty, parser: vt100::Parser::new(rows, cols, 0) }
    }

    /// Reads until the screen contains `text`; returns when the chunk that drew it was read (so
    /// parsing here, behind the reader, adds nothing to the figure), or `None` after `within`.
    fn poll_for(&mut self, text: &str, within: Duration) -> Option<Instant> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (at, chunk) = self.pty.next_chunk(left)?;
            self.parser.process(&chunk);
            if self.parser.screen().contents().contains(text) {
                return Some(at);
            }
        }
    }

    /// As [`Screen::poll_for`], an error naming what the screen shows instead.
    fn wait_for(&mut self, text: &str, within: Duration) -> anyhow::Result<Instant> {
        match self.poll_for(text, within) {
            Some(at) => Ok(at),
            None => bail!(
                "{text:?} not on screen within {within:?}; screen:\n{}",
                self.parser.screen().contents()
            ),
        }
    }

    /// The screen's first row (our header, with the link's state).
    fn top_row(&self) -> String {
        let contents = self.parser.screen().contents();
        contents.lines().next().unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.pty.write(bytes)
    }
}

/// One person typing into a `cat` line: knows what the line must show after each key.
struct Typist {
    line: Vec<u8>,
    pass: usize,
    at: usize,
    think: Gen,
}

impl Typist {
    fn new() -> Typist {
        Typist { line: KEYS.to_vec(), pass: 0, at: 0, think: Gen::new(0x7E57) }
    }

    /// Types the first line, untimed, so every later keystroke changes a full, unique line.
    fn warm_up(&mut self, screen: &mut Screen) -> anyhow::Result<()> {
        screen.write(KEYS)?;
        screen.wait_for(std::str::from_utf8(KEYS)?, Duration::from_secs(30))?;
        self.pass = 1;
        self.at = 0;
        screen.write(b"\r")
    }

    /// Types one key after a random pause; returns ms until the screen showed it.
    fn key(&mut self, screen: &mut Screen) -> anyhow::Result<f64> {
        std::thread::sleep(Duration::from_micros(self.think.below(MAX_THINK.as_micros() as u64)));
        let k = KEYS[(self.at + self.pass) % KEYS.len()];
        self.line[self.at] = k;
        let want = String::from_utf8_lossy(&self.line).into_owned();
        let t0 = Instant::now();
        screen.write(&[k])?;
        let shown = screen.wait_for(&want, Duration::from_secs(10))?;
        self.at += 1;
        if self.at == KEYS.len() {
            // Back to the line's start (the echo of `\r`) for the next pass.
            screen.write(b"\r")?;
            self.at = 0;
            self.pass += 1;
        }
        Ok(shown.saturating_duration_since(t0).as_secs_f64() * 1e3)
    }
}

/// What the front-end scenarios run against.
struct FrontEndSetup {
    /// The front end's binary.
    bin: String,
    /// A fresh gateway.
    gw: Gateway,
    /// The front end's data and config dirs live here.
    dir: tempfile::TempDir,
    /// The environment that points the front end at `gw`.
    env: Vec<(String, String)>,
}

fn front_end_setup() -> anyhow::Result<FrontEndSetup> {
    let bin = crate::gateway::binary()?.to_string_lossy().into_owned();
    let (gw, _) = Gateway::start(&[])?;
    let dir = tempfile::tempdir()?;
    let env = client_env(&gw, dir.path());
    Ok(FrontEndSetup { bin, gw, dir, env })
}

/// Keystroke-to-screen with another session idle and flooding, controlroom against tmux,
/// interleaved in blocks. The flooding session is started for a flooded block and ended after it
/// (stopping it with `SIGSTOP` would not do: tmux resumes a pane's stopped program).
pub async fn echo(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let FrontEndSetup { bin, gw, dir: _dir, env } = front_end_setup()?;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    let (sid, wids) = gw.session(&[vec!["sh".into(), "-c".into(), CAT.into()]], COLS, PANE_ROWS).await?;
    let target = format!("{sid}/{}", wids[0]);
    let mut ours = Screen::new(tokio::task::block_in_place(|| {
        RawPty::spawn_env(&[&bin, "attach", &target], &env, COLS, ROWS)
    })?);
    let mut ours_typist = Typist::new();
    tokio::task::block_in_place(|| {
        ours.wait_for("ready", Duration::from_secs(30))?;
        ours_typist.warm_up(&mut ours)
    })?;

    let mut tmux = if tmux_available() {
        let t = Tmux::new("crbench-tui-echo");
        t.session_sized("typing", CAT, COLS, PANE_ROWS)?;
        let mut screen = Screen::new(t.attach("typing", COLS, ROWS)?);
        let mut typist = Typist::new();
        tokio::task::block_in_place(|| {
            screen.wait_for("ready", Duration::from_secs(30))?;
            typist.warm_up(&mut screen)
        })?;
        Some((t, screen, typist))
    } else {
        report.note("tmux is not installed: the front end's echo is measured without it.");
        None
    };

    // A second front end for A/B runs (the build before a change), on a `cat` worker of its own.
    let mut other = match std::env::var_os(TUI_B_ENV) {
        Some(b) => {
            let b = b.to_string_lossy().into_owned();
            let (sid, wids) =
                gw.session(&[vec!["sh".into(), "-c".into(), CAT.into()]], COLS, PANE_ROWS).await?;
            let target = format!("{sid}/{}", wids[0]);
            let mut screen = Screen::new(tokio::task::block_in_place(|| {
                RawPty::spawn_env(&[&b, "attach", &target], &env, COLS, ROWS)
            })?);
            let mut typist = Typist::new();
            tokio::task::block_in_place(|| {
                screen.wait_for("ready", Duration::from_secs(30))?;
                typist.warm_up(&mut screen)
            })?;
            report.note(&format!("B: the front end of {b}, against the same gateway"));
            Some((screen, typist))
        }
        None => None,
    };

    let per_block = (plan.echoes / plan.runs.max(1)).max(KEYS.len());
    let kinds = if other.is_some() { 6 } else { 4 };
    // [ours idle, ours flooded, tmux idle, tmux flooded, B idle, B flooded]
    let mut samples: [Vec<f64>; 6] = Default::default();
    // The server's CPU time (clock ticks) and wall time per kind of block: shows the flood is real.
    let mut busy = [(0u64, Duration::ZERO); 6];
    for run in 0..plan.runs {
        for step in 0..kinds {
            // Rotate the order so a slow moment of the machine does not always hit one block.
            let block = (run + step) % kinds;
            let flooding = block % 2 == 1;
            let controlroom = match (block / 2, &mut tmux, &mut other) {
                (0, _, _) => Some((&mut ours, &mut ours_typist)),
                (2, _, Some((screen, typist))) => Some((screen, typist)),
                _ => None,
            };
            match (controlroom, &mut tmux) {
                (Some((screen, typist)), _) => {
                    let flood = if flooding {
                        let cmd = vec!["sh".into(), "-c".into(), FLOOD.into()];
                        Some(gw.session(&[cmd], COLS, PANE_ROWS).await?.0)
                    } else {
                        None
                    };
                    let (ticks0, started) = (cpu_and_switches(gw.pid())?.0, Instant::now());
                    for _ in 0..per_block {
                        samples[block].push(tokio::task::block_in_place(|| typist.key(screen))?);
                    }
                    busy[block].0 += cpu_and_switches(gw.pid())?.0.saturating_sub(ticks0);
                    busy[block].1 += started.elapsed();
                    if let Some(flood) = flood {
                        gw.http("DELETE", &format!("/api/sessions/{flood}"), None).await?;
                    }
                }
                (None, Some((t, screen, typist))) if block / 2 == 1 => {
                    if flooding {
                        t.session_sized("flood", FLOOD, COLS, PANE_ROWS)?;
                    }
                    let server = t.pid()?;
                    let (ticks0, started) = (cpu_and_switches(server)?.0, Instant::now());
                    for _ in 0..per_block {
                        samples[block].push(tokio::task::block_in_place(|| typist.key(screen))?);
                    }
                    busy[block].0 += cpu_and_switches(server)?.0.saturating_sub(ticks0);
                    busy[block].1 += started.elapsed();
                    if flooding {
                        t.kill_session("flood")?;
                    }
                }
                _ => {}
            }
        }
    }
    let names = [
        "front end echo, other session idle: controlroom",
        "front end echo, other session flooding: controlroom",
        "front end echo, other session idle: tmux",
        "front end echo, other session flooding: tmux",
        "front end echo, other session idle: controlroom B",
        "front end echo, other session flooding: controlroom B",
    ];
    for (i, name) in names.iter().enumerate() {
        if samples[i].is_empty() {
            continue;
        }
        let s = summarize(&samples[i]);
        let cpu = busy[i].0 as f64 / clock_ticks() / busy[i].1.as_secs_f64().max(1e-9) * 100.0;
        let server = if i / 2 == 1 { "tmux server" } else { "gateway" };
        let note = format!("max {:.1} ms; {server} CPU {cpu:.0} % of a core meanwhile", s.max);
        let row = if i % 2 == 1 {
            let idle = summarize(&samples[i - 1]);
            Row::latency(name, &samples[i], Some(s.p99 / idle.p99))
                .with_note(format!("{note}; ratio is p99 vs idle p99"))
        } else {
            Row::latency(name, &samples[i], None).with_note(note)
        };
        report.row(row);
    }
    Ok(())
}

/// What a drain worker runs: says it is ready, waits for Enter, prints the file, then the marker.
fn drain_script(file: &std::path::Path, n: usize) -> String {
    format!("echo ready-{n}; read x; cat '{}'; echo; echo DONE-{n}; exec sleep 100000", file.display())
}

/// Enter → the end marker on screen, on `screen` showing a worker that runs [`drain_script`];
/// `None` when the marker did not show within [`DRAIN_DEADLINE`].
fn time_drain(screen: &mut Screen, n: usize) -> anyhow::Result<Option<Duration>> {
    screen.wait_for(&format!("ready-{n}"), Duration::from_secs(30))?;
    let t0 = Instant::now();
    screen.write(b"\r")?;
    let Some(done) = screen.poll_for(&format!("DONE-{n}"), DRAIN_DEADLINE) else {
        eprintln!("  drain {n}: no end marker within {DRAIN_DEADLINE:?}; top row: {}", screen.top_row());
        return Ok(None);
    };
    Ok(Some(done.saturating_duration_since(t0)))
}

/// A worker prints 16 MB (ANSI-heavy, base64) while the front end or a tmux client shows it:
/// Enter → the end marker on the screen, interleaved.
pub async fn drain(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let FrontEndSetup { bin, gw, dir, env } = front_end_setup()?;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let tmux = tmux_available().then(|| Tmux::new("crbench-tui-drain"));
    if tmux.is_none() {
        report.note("tmux is not installed: the front end's drain is measured without it.");
    }
    let mut n = 0;
    for kind in ["ansi", "base64"] {
        let data = if kind == "ansi" { ansi_log(plan.burst) } else { base64_text(plan.burst) };
        let mb = through_pty(&data).len() as f64 / 1e6;
        let file = write_input(dir.path(), &format!("{kind}-{}", plan.burst), &data)?;
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        // Runs whose end marker never showed: (ours, tmux).
        let mut stuck = (0, 0);
        for run in 0..plan.runs {
            for step in 0..2 {
                n += 1;
                let script = drain_script(&file, n);
                if (run + step) % 2 == 0 {
                    let (sid, wids) =
                        gw.session(&[vec!["sh".into(), "-c".into(), script]], COLS, PANE_ROWS).await?;
                    let target = format!("{sid}/{}", wids[0]);
                    let t = tokio::task::block_in_place(|| {
                        let pty = RawPty::spawn_env(&[&bin, "attach", &target], &env, COLS, ROWS)?;
                        time_drain(&mut Screen::new(pty), n)
                    })?;
                    match t {
                        Some(t) => ours.push(mb / t.as_secs_f64()),
                        None => stuck.0 += 1,
                    }
                    gw.http("DELETE", &format!("/api/sessions/{sid}"), None).await?;
                } else if let Some(tmux) = &tmux {
                    let name = format!("drain{n}");
                    tmux.session_sized(&name, &script, COLS, PANE_ROWS)?;
                    let t = tokio::task::block_in_place(|| {
                        time_drain(&mut Screen::new(tmux.attach(&name, COLS, ROWS)?), n)
                    })?;
                    match t {
                        Some(t) => theirs.push(mb / t.as_secs_f64()),
                        None => stuck.1 += 1,
                    }
                    tmux.kill_session(&name)?;
                }
            }
        }
        let label = format!("front end drains {kind} {:.0} MB at {COLS}×{ROWS}", plan.burst as f64 / 1e6);
        let finished = |done: usize, stuck: usize| {
            if stuck == 0 {
                String::new()
            } else {
                format!("; {stuck} of {} runs never showed the end (within {DRAIN_DEADLINE:?})", done + stuck)
            }
        };
        let ratio = (!ours.is_empty() && !theirs.is_empty())
            .then(|| summarize(&ours).median / summarize(&theirs).median);
        report.row(Row::rate(&format!("{label}: controlroom"), &ours, ratio).with_note(format!(
            "Enter → end marker on the front end's screen; ratio is vs tmux{}",
            finished(ours.len(), stuck.0)
        )));
        if tmux.is_some() {
            report.row(
                Row::rate(&format!("{label}: tmux client"), &theirs, None)
                    .with_note(finished(theirs.len(), stuck.1).trim_start_matches("; ").to_string()),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_matched_on_a_raw_pty_screen() -> anyhow::Result<()> {
        // `cat` in a raw PTY draws what the typist types; each key must be found on the screen
        // (a wrong expected line would time out), across passes over the line.
        let mut screen = Screen::new(RawPty::spawn(&["sh", "-c", CAT], COLS, ROWS)?);
        screen.wait_for("ready", Duration::from_secs(10))?;
        let mut typist = Typist::new();
        typist.warm_up(&mut screen)?;
        for _ in 0..KEYS.len() * 2 + 3 {
            let ms = typist.key(&mut screen)?;
            assert!(ms < 10_000.0, "{ms} ms");
        }
        assert_eq!(typist.pass, 3);
        Ok(())
    }
}
