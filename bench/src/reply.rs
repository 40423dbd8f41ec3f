//! Answering without attaching: from the request to the program reading the line, for the
//! gateway's `POST …/reply` and `POST …/input` (what `controlroom send` sends), the
//! `controlroom reply` and `controlroom send --enter` commands, the dashboard's `i` + line +
//! Enter, and `tmux send-keys` beside them, interleaved in blocks.
//!
//! The program under test (`READER`) reads lines from its terminal and writes each to a FIFO the
//! harness reads on a thread of its own, so "read by the program" is timed where it happens, not
//! through a screen.

use crate::gateway::Gateway;
use crate::peers::{RawPty, Tmux, tmux_available};
use crate::report::{Report, Row};
use crate::scenarios::Plan;
use crate::tui::client_env;
use anyhow::{Context as _, bail};
use serde_json::json;
use std::io::BufRead as _;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Reads lines from the terminal and hands each to the FIFO named by `$FIFO`.
const READER: &str =
    "exec 3<>\"$FIFO\"; echo ready; while IFS= read -r l; do printf '%s\\n' \"$l\" >&3; done";

/// How long one line may take to arrive before the run fails.
const LINE_DEADLINE: Duration = Duration::from_secs(30);

/// Lines read from one FIFO, each with when it was read.
struct Lines {
    rx: mpsc::Receiver<(Instant, String)>,
}

impl Lines {
    /// Makes the FIFO `path` and reads it on a thread.
    fn open(path: &Path) -> anyhow::Result<Lines> {
        let status = Command::new("mkfifo").arg(path).status().context("mkfifo")?;
        anyhow::ensure!(status.success(), "mkfifo {} failed", path.display());
        // Read and write: opening never blocks, and the FIFO never sees end of file.
        let file = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(file).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        Ok(Lines { rx })
    }

    /// When `want` was read (skipping any other line).
    fn wait(&self, want: &str) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + LINE_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (at, line) = self.rx.recv_timeout(left).with_context(|| format!("waiting for {want:?}"))?;
            if line == want {
                return Ok(at);
            }
        }
    }
}

/// One contender's samples (ms).
#[derive(Default)]
struct Samples(Vec<f64>);

impl Samples {
    fn push(&mut self, t0: Instant, at: Instant) {
        self.0.push(at.duration_since(t0).as_secs_f64() * 1e3);
    }
}

/// Runs the reply section.
pub async fn reply(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let bin = crate::gateway::binary()?.to_string_lossy().into_owned();
    let (gw, _) = Gateway::start(&[])?;
    let dir = tempfile::tempdir()?;
    let fifo = dir.path().join("gateway.fifo");
    let lines = Lines::open(&fifo)?;
    let command = vec!["sh".to_owned(), "-c".to_owned(), READER.to_owned()];
    let body = json!({"title": "bench", "cwd": "/tmp",
        "workers": [{"command": command, "env": {"FIFO": fifo.display().to_string()}}]});
    let (status, created) = gw.http("POST", "/api/sessions", Some(body)).await?;
    if status != 201 {
        bail!("creating the session failed: {status} {created}");
    }
    let sid = created["id"].as_str().context("session id")?.to_owned();
    let wid = created["workers"][0]["id"].as_str().context("worker id")?.to_owned();
    let target = format!("{sid}/{wid}");
    let env = client_env(&gw, dir.path());
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // The dashboard, its one session selected (its first worker is the reader).
    let mut tui = tokio::task::block_in_place(|| RawPty::spawn_env(&[&bin], &env_ref, 120, 40))?;
    tokio::task::block_in_place(|| tui.wait_for(b"bench"))?;

    let tmux = if tmux_available() {
        let t = Tmux::new("crbench-reply");
        let tfifo = dir.path().join("tmux.fifo");
        let tlines = Lines::open(&tfifo)?;
        let script = format!("FIFO='{}'; {READER}", tfifo.display());
        t.session_sized("reply", &script, 80, 24)?;
        Some((t, tlines))
    } else {
        None
    };

    let per_run = (plan.echoes / plan.runs.max(1)).clamp(5, 40);
    let (mut route, mut input, mut reply_cmd) = (Samples::default(), Samples::default(), Samples::default());
    let (mut send_cmd, mut front, mut tmux_keys) =
        (Samples::default(), Samples::default(), Samples::default());
    let mut n = 0usize;
    let mut next = || {
        n += 1;
        format!("line-{n}")
    };
    for _ in 0..plan.runs {
        for _ in 0..per_run {
            let l = next();
            let t0 = Instant::now();
            let (status, _) = gw
                .http("POST", &format!("/api/sessions/{sid}/workers/{wid}/reply"), Some(json!({"text": l})))
                .await?;
            anyhow::ensure!(status == 200, "reply route: {status}");
            route.push(t0, tokio::task::block_in_place(|| lines.wait(&l))?);
        }
        for _ in 0..per_run {
            let l = next();
            let t0 = Instant::now();
            let (status, _) = gw
                .http(
                    "POST",
                    &format!("/api/sessions/{sid}/workers/{wid}/input"),
                    Some(json!({"data": format!("{l}\r")})),
                )
                .await?;
            anyhow::ensure!(status == 204, "input route: {status}");
            input.push(t0, tokio::task::block_in_place(|| lines.wait(&l))?);
        }
        for _ in 0..per_run {
            let l = next();
            let t0 = Instant::now();
            let out =
                Command::new(&bin).args(["reply", &target, &l]).envs(env_ref.iter().copied()).output()?;
            anyhow::ensure!(
                out.status.success(),
                "controlroom reply: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            reply_cmd.push(t0, tokio::task::block_in_place(|| lines.wait(&l))?);
        }
        for _ in 0..per_run {
            let l = next();
            let t0 = Instant::now();
            let out = Command::new(&bin)
                .args(["send", &target, &l, "--enter"])
                .envs(env_ref.iter().copied())
                .output()?;
            anyhow::ensure!(
                out.status.success(),
                "controlroom send: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            send_cmd.push(t0, tokio::task::block_in_place(|| lines.wait(&l))?);
        }
        for _ in 0..per_run {
            let l = next();
            let t0 = Instant::now();
            // `i` opens the reply line, the text is typed, Enter sends it.
            tui.write(format!("i{l}\r").as_bytes())?;
            front.push(t0, tokio::task::block_in_place(|| lines.wait(&l))?);
        }
        if let Some((t, tlines)) = &tmux {
            for _ in 0..per_run {
                let l = next();
                let t0 = Instant::now();
                t.send_keys("reply", &[&l, "Enter"])?;
                tmux_keys.push(t0, tokio::task::block_in_place(|| tlines.wait(&l))?);
            }
        }
    }
    let note = "from the request to the program reading the line (its read, timed through a FIFO)";
    report.row(
        Row::latency("reply: POST …/reply → program reads the line", &route.0, None).with_note(note.into()),
    );
    report.row(Row::latency(
        "reply: POST …/input (`send`'s request) → program reads the line",
        &input.0,
        None,
    ));
    report.row(
        Row::latency("reply: `controlroom reply` process → program reads the line", &reply_cmd.0, None)
            .with_note("includes the process's start, reading the sessions list and the request".into()),
    );
    report.row(Row::latency(
        "reply: `controlroom send --enter` process → program reads the line",
        &send_cmd.0,
        None,
    ));
    report.row(Row::latency("reply: dashboard `i` + line + Enter → program reads the line", &front.0, None));
    if tmux.is_some() {
        report.row(Row::latency(
            "reply: `tmux send-keys` process → program reads the line",
            &tmux_keys.0,
            None,
        ));
    } else {
        report.note("reply: tmux is not installed here; no `tmux send-keys` row.");
    }
    Ok(())
}
