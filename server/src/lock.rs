//! One gateway per data dir: an exclusive `flock` on `DATA_DIR/gateway.lock`, taken before the
//! store is opened and before any worker is adopted, held until the process ends (the kernel
//! drops it on exit, however the gateway ends). The file names the holder of the lock, so a
//! second gateway can say which one runs.

use std::io::{Read as _, Seek as _, Write as _};
use std::path::Path;

/// The lock file inside the data dir.
pub const LOCK_FILE: &str = "gateway.lock";

/// The held lock; dropping it releases the data dir.
#[derive(Debug)]
pub struct DataDirLock {
    _file: std::fs::File,
}

/// Why the data dir could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another gateway holds it.
    #[error("another gateway already serves {dir} ({owner}); stop it first, or pass another --data-dir")]
    Held {
        /// The data dir.
        dir: String,
        /// What the lock file says about the running one.
        owner: String,
    },
    /// The lock file could not be opened or locked.
    #[error("locking {path}: {source}")]
    Io {
        /// The lock file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Takes the data dir's lock and records `url` and this pid in it.
pub fn lock(data_dir: &Path, url: &str) -> Result<DataDirLock, LockError> {
    let path = data_dir.join(LOCK_FILE);
    let io = |source: std::io::Error| LockError::Io { path: path.display().to_string(), source };
    // Not truncated on open: a refused gateway must not wipe what the running one wrote.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(rustix::io::Errno::WOULDBLOCK) => {
            let mut owner = String::new();
            let _ = file.read_to_string(&mut owner);
            let owner = owner.trim();
            let owner = if owner.is_empty() { "pid unknown".to_owned() } else { owner.to_owned() };
            return Err(LockError::Held { dir: data_dir.display().to_string(), owner });
        }
        Err(e) => return Err(io(e.into())),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "pid {}, {url}", std::process::id()).map_err(io)?;
    Ok(DataDirLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = lock(dir.path(), "http://127.0.0.1:1").expect("first");
        let err = lock(dir.path(), "http://127.0.0.1:2").expect_err("second");
        let text = err.to_string();
        assert!(text.contains("http://127.0.0.1:1"), "{text}");
        assert!(text.contains(&format!("pid {}", std::process::id())), "{text}");
        drop(first);
        lock(dir.path(), "http://127.0.0.1:3").expect("free again");
    }
}
