//! A slow reader during a burst: a client that reads at 4 MB/s while the program prints 16 MB,
//! on controlroom with lossless delivery (`?delivery=lossless`), on controlroom's default (which
//! closes it with 4008 once it is `--max-client-buffer` behind) and on ttyd (which pauses its PTY
//! for the reader). Interleaved: the order rotates every run.

use crate::gateway::{Gateway, write_input};
use crate::report::{Report, Row};
use crate::scenarios::Plan;
use crate::ttyd::{self, Ttyd};
use controlroom_bench::{base64_text, summarize, through_pty};
use std::time::Instant;

/// The burst the program prints.
const BURST: usize = 16_000_000;
/// The reader's pace, bytes per second.
const RATE: f64 = 4_000_000.0;

/// One contender's runs.
#[derive(Default)]
struct Runs {
    /// MB delivered per run.
    delivered: Vec<f64>,
    /// Seconds from Enter to the end per run.
    seconds: Vec<f64>,
    /// Runs that got every byte in order.
    exact: usize,
    /// Close codes seen (none after `exit`).
    closes: Vec<u16>,
}

impl Runs {
    fn note(&self, expected: usize, what: &str) -> String {
        let closes =
            if self.closes.is_empty() { String::new() } else { format!("; closed with {:?}", self.closes) };
        let t = summarize(&self.seconds);
        format!(
            "{}/{} runs got all {:.1} MB in order{closes}; {what} in {:.1} s (median, {:.1}–{:.1})",
            self.exact,
            self.delivered.len(),
            expected as f64 / 1e6,
            t.median,
            t.min,
            t.max
        )
    }
}

/// The slow-reader section.
pub async fn slow(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = base64_text(BURST);
    // What every client must get: the echoed newline, then the burst.
    let mut expected = b"\r\n".to_vec();
    expected.extend_from_slice(&through_pty(&data));
    let file = write_input(dir.path(), "burst", &data)?;
    let script = format!("read x; exec cat '{}'", file.display());
    let (gw, _) = Gateway::start(&[])?;
    let tty = Ttyd::start(&["sh", "-c", &script])?;
    if tty.is_none() {
        report.note(ttyd::ABSENT);
    }
    let mut ours = [Runs::default(), Runs::default()];
    let mut theirs = Runs::default();
    for run in 0..plan.runs {
        for step in 0..3 {
            let which = (run + step) % 3;
            let (got, close) = match which {
                0 | 1 => {
                    let (sid, wids) =
                        gw.session(&[vec!["sh".into(), "-c".into(), script.clone()]], 200, 50).await?;
                    let query = if which == 0 { "?delivery=lossless" } else { "" };
                    let mut c = gw.attach_query(&sid, &wids[0], true, query).await?;
                    c.input("\n").await?;
                    let t0 = Instant::now();
                    let got = c.read_paced(RATE).await?;
                    let elapsed = t0.elapsed();
                    gw.http("DELETE", &format!("/api/sessions/{sid}"), None).await?;
                    ours[which].seconds.push(elapsed.as_secs_f64());
                    got
                }
                _ => {
                    let Some(tty) = &tty else { continue };
                    let mut c = tty.connect(200, 50).await?;
                    c.input(b"\n").await?;
                    let t0 = Instant::now();
                    let ended = c.read_until_close(Some(RATE)).await?;
                    theirs.seconds.push(t0.elapsed().as_secs_f64());
                    (ended.bytes, ended.code.filter(|c| *c != 1000))
                }
            };
            let runs = if which < 2 { &mut ours[which] } else { &mut theirs };
            runs.delivered.push(got.len() as f64 / 1e6);
            runs.exact += usize::from(got == expected);
            runs.closes.extend(close);
        }
    }
    let name = |who: &str| format!("slow reader (4 MB/s) during a 16 MB burst: {who}");
    let [lossless, default] = &ours;
    report.row(
        Row::samples(&name("controlroom, ?delivery=lossless"), &lossless.delivered, "MB", None)
            .with_note(lossless.note(expected.len(), "last byte")),
    );
    report.row(
        Row::samples(&name("controlroom, default delivery"), &default.delivered, "MB", None)
            .with_note(default.note(expected.len(), "ended")),
    );
    if tty.is_some() {
        let missing: Vec<f64> =
            theirs.delivered.iter().map(|d| expected.len() as f64 / 1e3 - d * 1e3).collect();
        let m = summarize(&missing);
        report.row(Row::samples(&name("ttyd 1.7.7"), &theirs.delivered, "MB", None).with_note(format!(
            "{}; missing {:.1} KB (median, {:.1}–{:.1}): its known loss of a burst's tail at exit",
            theirs.note(expected.len(), "closed"),
            m.median,
            m.min,
            m.max
        )));
    }
    Ok(())
}
