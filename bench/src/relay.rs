//! A holder driven directly, with no gateway: what relaying a PTY's bytes through the holder's
//! socket costs by itself, against the raw PTY that passing the PTY's descriptor to the gateway
//! (SCM_RIGHTS) would give it. The difference of the two is what descriptor passing could
//! save; see BENCHMARKS.md and ARCHITECTURE.md for the decision.

use crate::gateway;
use crate::reaper::DataDir;
use anyhow::{Context as _, bail};
use controlroom_server::holder::wire::{self, Frame};
use controlroom_server::holder::{HolderSpec, SUBCOMMAND};
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// A holder running a program, attached to this thread with a blocking socket.
pub struct Relay {
    stream: UnixStream,
    /// Output bytes not yet matched.
    seen: Vec<u8>,
    /// Where its socket is; the holder is ended when this is dropped, should the goodbye in
    /// `Drop` not reach it (or `start` fail half way).
    _dir: DataDir,
}

/// Names the binary whose `__holder` the relay rows run (default: the gateway's).
pub const HOLDER_ENV: &str = "CONTROLROOM_BENCH_HOLDER";

impl Relay {
    /// Starts `argv` in a `cols × rows` PTY held by a holder (the gateway binary's `__holder`),
    /// and attaches as a gateway would.
    pub fn start(argv: &[&str], cols: u16, rows: u16) -> anyhow::Result<Relay> {
        let dir = DataDir::new()?;
        let socket = dir.path().join("relay.sock");
        // `CONTROLROOM_BENCH_HOLDER` when set: a gateway build from before the holders (A/B
        // against it) has no `__holder` to run.
        let exe = match std::env::var_os(HOLDER_ENV) {
            Some(path) => path.into(),
            None => gateway::binary()?,
        };
        let mut child = std::process::Command::new(exe)
            .arg(SUBCOMMAND)
            .arg("--socket")
            .arg(&socket)
            .arg("--holder-log")
            .arg((16 * 1024 * 1024).to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("starting a holder")?;
        let spec = HolderSpec {
            command: argv.iter().map(|s| s.to_string()).collect(),
            cwd: "/tmp".into(),
            env: Default::default(),
            cols,
            rows,
            key: None,
            offset: 0,
        };
        child.stdin.take().context("holder stdin")?.write_all(&serde_json::to_vec(&spec)?)?;
        let _ = child.wait();
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("holder stdout")?).read_line(&mut line)?;
        if !line.starts_with("ok ") {
            bail!("the holder did not start: {line:?}");
        }
        let mut stream = UnixStream::connect(&socket)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        // In the holder's own version: an older build's holder refuses a newer `attach`. (A
        // version-3 holder's PTY master, passed with its `hello`, is dropped by this plain read:
        // these rows measure the relay, input included.)
        let version = match Frame::read_from(&mut stream)? {
            Some(Frame::Hello { version, .. }) => version.min(wire::VERSION),
            other => bail!("unexpected first frame {other:?}"),
        };
        Frame::Attach { version, from: 0 }.write_to(&mut stream)?;
        Ok(Relay { stream, seen: Vec::new(), _dir: dir })
    }

    /// Types `bytes` (one `input` frame).
    pub fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        Frame::Input { data: bytes.to_vec() }.write_to(&mut self.stream)?;
        Ok(())
    }

    /// Reads `output` frames until the output contains `needle`.
    pub fn wait_for(&mut self, needle: &[u8]) -> anyhow::Result<()> {
        loop {
            if crate::peers::take_through(&mut self.seen, needle) {
                return Ok(());
            }
            match Frame::read_from(&mut self.stream)? {
                Some(Frame::Output { data, .. }) => self.seen.extend_from_slice(&data),
                Some(Frame::Exited { .. }) | None => bail!("the program ended"),
                Some(_) => {}
            }
        }
    }

    /// Reads every output byte until the program exits; returns how many.
    pub fn drain_to_exit(&mut self) -> anyhow::Result<usize> {
        let mut total = self.seen.len();
        self.seen.clear();
        loop {
            match Frame::read_from(&mut self.stream)? {
                Some(Frame::Output { data, .. }) => total += data.len(),
                Some(Frame::Exited { .. }) => {
                    Frame::AckExit.write_to(&mut self.stream)?;
                    return Ok(total);
                }
                None => bail!("the holder closed before the exit"),
                Some(_) => {}
            }
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // Ends the program; the holder ends once its exit is acknowledged.
        let _ = Frame::Signal { signal: libc::SIGKILL }.write_to(&mut self.stream);
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(5)));
        while let Ok(Some(frame)) = Frame::read_from(&mut self.stream) {
            if let Frame::Exited { .. } = frame {
                let _ = Frame::AckExit.write_to(&mut self.stream);
                break;
            }
        }
    }
}

/// Seconds and bytes for `cat FILE` through a holder's relay, timed like
/// [`crate::peers::raw_throughput`] (from the line that starts it to the exit).
pub fn relay_throughput(file: &std::path::Path) -> anyhow::Result<(Duration, usize)> {
    let script = format!("read x; exec cat '{}'", file.display());
    let mut relay = Relay::start(&["sh", "-c", &script], 200, 50)?;
    std::thread::sleep(Duration::from_millis(50));
    let t0 = std::time::Instant::now();
    relay.write(b"\n")?;
    let n = relay.drain_to_exit()?;
    Ok((t0.elapsed(), n))
}

/// Throughput of 16 MB (`--quick`: the plan's burst) through the relay alone against the raw
/// PTY, interleaved: what the relay costs in bulk.
pub fn relay_vs_raw(plan: &crate::scenarios::Plan, report: &mut crate::report::Report) -> anyhow::Result<()> {
    use crate::report::Row;
    let dir = tempfile::tempdir()?;
    for (kind, data) in [
        ("ansi", controlroom_bench::ansi_log(plan.burst)),
        ("base64", controlroom_bench::base64_text(plan.burst)),
    ] {
        let file = gateway::write_input(dir.path(), &format!("relay-{kind}"), &data)?;
        let (mut raw, mut relayed, mut exact) = (Vec::new(), Vec::new(), 0);
        for _ in 0..plan.runs {
            let (t, _) = crate::peers::raw_throughput(&file)?;
            raw.push(data.len() as f64 / t.as_secs_f64() / 1e6);
            let (t, n) = relay_throughput(&file)?;
            relayed.push(data.len() as f64 / t.as_secs_f64() / 1e6);
            // The PTY turns each \n into \r\n: at least the input's bytes arrive.
            exact += usize::from(n >= data.len());
        }
        let (r, h) = (controlroom_bench::summarize(&raw), controlroom_bench::summarize(&relayed));
        let mb = data.len() / 1_000_000;
        report.row(Row::samples(
            &format!("throughput {kind} {mb} MB: raw PTY (relay A/B)"),
            &raw,
            "MB/s",
            None,
        ));
        report.row(
            Row::samples(
                &format!("throughput {kind} {mb} MB: holder relay alone (no gateway)"),
                &relayed,
                "MB/s",
                Some(h.median / r.median),
            )
            .with_note(format!("{exact}/{} runs delivered every byte", plan.runs)),
        );
    }
    Ok(())
}
