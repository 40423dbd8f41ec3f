//! Holders outlive the gateway that started them (issue 13), so ending the gateway is not enough
//! to leave nothing behind: a [`DataDir`] kills every holder serving a socket in it when it is
//! dropped, on every way out of a section — an error returned with `?`, a panic unwinding, a
//! gateway that did not stop in time and was killed, or a `kill -9` whose successor never
//! started. Holders are found by their command line (`controlroom __holder --socket DIR/…`).

use std::path::Path;
use std::process::{Command, Stdio};

/// A temporary data dir whose holders are killed, with their programs, when it is dropped.
#[derive(Debug)]
pub struct DataDir(tempfile::TempDir);

impl DataDir {
    /// A fresh temporary directory.
    pub fn new() -> anyhow::Result<DataDir> {
        Ok(DataDir(tempfile::tempdir()?))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        kill_holders(self.path());
    }
}

/// Pids of the holder processes (`__holder`) serving a socket under `dir`.
pub fn holder_pids(dir: &Path) -> Vec<u32> {
    // With the separator, so `/tmp/.tmpAB` does not match `/tmp/.tmpABC`.
    let needle = format!("{}/", dir.display());
    let Ok(procs) = std::fs::read_dir("/proc") else { return Vec::new() };
    procs
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let args: Vec<&[u8]> = c.split(|b| *b == 0).collect();
                args.contains(&b"__holder".as_slice())
                    && args.iter().any(|a| a.starts_with(needle.as_bytes()))
            })
        })
        .collect()
}

/// SIGKILLs every holder under `dir` and its program's process group (the program runs in a
/// session of its own).
fn kill_holders(dir: &Path) {
    for holder in holder_pids(dir) {
        let children = std::fs::read_to_string(format!("/proc/{holder}/task/{holder}/children"));
        if let Some(program) = children.ok().and_then(|c| c.split_whitespace().next().map(str::to_owned)) {
            // `-s KILL --`: procps kill reads a bare `-9 -PGID` otherwise.
            signal(&format!("-{program}"));
        }
        signal(&holder.to_string());
    }
}

/// `kill -s KILL -- TARGET` (a pid, or `-PGID`), quietly: the process may be gone already.
fn signal(target: &str) {
    let _ = Command::new("kill").args(["-s", "KILL", "--", target]).stderr(Stdio::null()).status();
}
