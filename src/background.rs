//! The gateway the front end starts when none answers: `controlroom serve` on `127.0.0.1:0` in
//! the background, in its own process group (a Ctrl-C or a closed terminal never reaches it),
//! logging to `DATA_DIR/gateway.log`. It keeps running after the front end quits, as tmux's
//! server does, so `controlroom ls` shows the workers running and `controlroom` finds them again.

use anyhow::Context as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The background gateway's log inside the data dir.
pub const LOG_FILE: &str = "gateway.log";

/// Starts `controlroom serve` for `data_dir` in the background, reading `CONFIG_DIR/config.toml`
/// when that exists.
pub fn spawn(data_dir: &Path, config_dir: Option<&Path>) -> anyhow::Result<Child> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let log_path = data_dir.join(LOG_FILE);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let mut cmd = Command::new(crate::holder_exe()?);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(data_dir);
    if let Some(dir) = config_dir {
        // Its config.toml, if there is one (the same file the front end reads).
        cmd.arg("--config-dir").arg(dir);
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).process_group(0);
    cmd.spawn().context("starting the background gateway")
}

/// The last lines of the background gateway's log, for an error message.
pub fn log_tail(data_dir: &Path) -> String {
    let text = std::fs::read_to_string(data_dir.join(LOG_FILE)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}
