//! The front end: time to its first frame, and its frame cadence while attached to a worker that
//! floods (read from the PTY it draws on, as a user's terminal would see it).

use crate::gateway::Gateway;
use crate::peers::RawPty;
use crate::report::{Report, Row};
use crate::scenarios::Plan;
use std::time::{Duration, Instant};

/// Output chunks closer than this belong to one frame.
const FRAME_GAP: Duration = Duration::from_millis(2);

/// Extra `config.toml` text for the front end in the `tui` scenario (for A/B runs of settings).
pub const TUI_CONFIG_ENV: &str = "CONTROLROOM_BENCH_TUI_CONFIG";

/// The environment that points a front end at `gw`, with its data and config under `dir`.
pub fn client_env(gw: &Gateway, dir: &std::path::Path) -> Vec<(String, String)> {
    vec![
        ("CONTROLROOM_URL".into(), format!("http://{}", gw.addr)),
        ("CONTROLROOM_TOKEN".into(), gw.token.clone()),
        ("CONTROLROOM_DATA_DIR".into(), dir.join("data").display().to_string()),
        ("CONTROLROOM_CONFIG_DIR".into(), dir.join("config").display().to_string()),
    ]
}

/// First frame of `controlroom` (dashboard with the session listed) and frame cadence of
/// `controlroom attach` on a flooding worker.
pub async fn tui(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let bin = crate::gateway::binary()?;
    let bin = bin.to_string_lossy().into_owned();
    let (gw, _) = Gateway::start(&[])?;
    let (sid, wids) = gw.session(&[vec!["sh".into()]], 80, 24).await?;
    let dir = tempfile::tempdir()?;
    if let Some(config) = std::env::var_os(TUI_CONFIG_ENV) {
        // A/B runs of the front end's settings (e.g. `frame-interval-ms = 13`).
        std::fs::create_dir_all(dir.path().join("config"))?;
        std::fs::write(dir.path().join("config/config.toml"), config.to_string_lossy().as_bytes())?;
    }
    let env = client_env(&gw, dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    let mut first = Vec::new();
    for _ in 0..plan.runs.max(3) {
        let t0 = Instant::now();
        let mut pty = tokio::task::block_in_place(|| RawPty::spawn_env(&[&bin], &env, 120, 40))?;
        // The dashboard lists the session by its title once the first sync has been drawn.
        tokio::task::block_in_place(|| pty.wait_for(b"bench"))?;
        first.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    report.row(Row::latency("front end: exec → first frame listing the session", &first, None));

    // Attached to a worker printing as fast as it can: when do frames reach the terminal?
    let flood = "while :; do seq -f 'flood-line %g' 1 1000000; done";
    let (fsid, fwids) = gw.session(&[vec!["sh".into(), "-c".into(), flood.into()]], 120, 38).await?;
    let target = format!("{fsid}/{}", fwids[0]);
    let mut pty =
        tokio::task::block_in_place(|| RawPty::spawn_env(&[&bin, "attach", &target], &env, 120, 40))?;
    tokio::task::block_in_place(|| pty.wait_for(b"flood-line"))?;
    let chunks = tokio::task::block_in_place(|| pty.collect(plan.idle_window.min(Duration::from_secs(10))));
    let mut starts = Vec::new();
    let mut last: Option<Instant> = None;
    for (t, _) in &chunks {
        if last.is_none_or(|l| t.duration_since(l) > FRAME_GAP) {
            starts.push(*t);
        }
        last = Some(*t);
    }
    let intervals: Vec<f64> =
        starts.windows(2).map(|w| w[1].duration_since(w[0]).as_secs_f64() * 1e3).collect();
    let bytes: usize = chunks.iter().map(|(_, n)| n).sum();
    report.row(
        Row::latency("front end attached to a flooding worker: time between frames", &intervals, None)
            .with_note(format!(
                "{} frames, {:.0} KB drawn; frames are output bursts ≥ 2 ms apart on the front end's PTY",
                starts.len(),
                bytes as f64 / 1e3
            )),
    );
    let _ = (sid, wids);
    Ok(())
}
