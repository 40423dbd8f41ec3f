//! Noticing that a credential file in the data dir (`token`, `token-secret`) was replaced or
//! changed, without a timer: an inotify watch on its directory, read without blocking, so an
//! idle gateway never wakes for it and the first request after a rotation already sees it.
//!
//! The kernel queues an event before the `rename` (or `write`, `chmod`, `unlink`) that caused it
//! returns, so a caller that drains the queue ([`FileWatch::changes`]) right after a rotation
//! counts it: no window where the old file is still believed. Where inotify cannot be had (no
//! runtime yet, the per-user instance limit reached) the keepers fall back to comparing the
//! file's metadata on every authentication and every `--secret-poll-interval`.

use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use std::ffi::OsString;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::unix::AsyncFd;

/// Bytes read from the inotify queue at once: an event is 16 bytes plus its name, padded.
const EVENT_BUFFER: usize = 1024;

/// What changes a credential file: written in place, renamed over, created, removed, or its
/// mode changed (a file made readable by others is refused).
fn watched_events() -> WatchFlags {
    WatchFlags::CLOSE_WRITE
        | WatchFlags::MOVED_TO
        | WatchFlags::MOVED_FROM
        | WatchFlags::CREATE
        | WatchFlags::DELETE
        | WatchFlags::ATTRIB
}

/// An inotify watch on one file's directory, counting the events that name the file.
#[derive(Debug)]
pub struct FileWatch {
    /// The file's name inside the watched directory.
    name: OsString,
    /// The inotify instance (non-blocking), registered with the runtime's reactor.
    fd: AsyncFd<OwnedFd>,
    /// Events seen that name the file (or a queue overflow, which may hide one).
    changes: AtomicU64,
}

impl FileWatch {
    /// Watches `path`'s directory for changes to `path`; `None` (logged) when inotify or the
    /// runtime's reactor is not available, and the caller polls instead.
    pub fn new(path: &Path) -> Option<Self> {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return None };
        // AsyncFd needs the runtime's reactor; a keeper made outside one polls.
        tokio::runtime::Handle::try_current().ok()?;
        let made = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)
            .and_then(|fd| inotify::add_watch(&fd, dir, watched_events()).map(|_| fd));
        let fd = match made.map_err(std::io::Error::from).and_then(register) {
            Ok(fd) => fd,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "no inotify watch; polling the file instead");
                return None;
            }
        };
        Some(Self { name: name.to_owned(), fd, changes: AtomicU64::new(0) })
    }

    /// How many changes to the file have been seen, counting the events queued by now (read
    /// without waiting: one `read` that finds the queue empty when nothing happened).
    pub fn changes(&self) -> u64 {
        self.drain();
        self.changes.load(Ordering::Acquire)
    }

    /// Waits until a change to the file is seen; wakes only for events in its directory.
    pub async fn changed(&self) {
        let before = self.changes.load(Ordering::Acquire);
        loop {
            let Ok(mut guard) = self.fd.readable().await else {
                // The reactor is gone (runtime shutting down): nothing more will be seen.
                return std::future::pending().await;
            };
            // `try_io` clears the readiness only when the read found the queue empty.
            let _ = guard.try_io(|_| {
                self.drain();
                Err::<(), _>(std::io::ErrorKind::WouldBlock.into())
            });
            if self.changes.load(Ordering::Acquire) != before {
                return;
            }
        }
    }

    /// Reads every queued event; counts those naming the file.
    fn drain(&self) {
        let mut buf = [MaybeUninit::<u8>::uninit(); EVENT_BUFFER];
        let mut events = inotify::Reader::new(self.fd.get_ref(), &mut buf);
        let mut seen = 0;
        loop {
            match events.next() {
                Ok(event) => {
                    let named = event.file_name().is_some_and(|n| n.to_bytes() == self.name.as_bytes());
                    if named || event.events().contains(ReadFlags::QUEUE_OVERFLOW) {
                        seen += 1;
                    }
                }
                Err(rustix::io::Errno::INTR) => {}
                // WOULDBLOCK: the queue is empty. Anything else: counted as a change, so the
                // caller rereads the file rather than trusting a watch that failed.
                Err(e) => {
                    if e != rustix::io::Errno::WOULDBLOCK {
                        tracing::warn!(error = %e, "reading the inotify queue");
                        seen += 1;
                    }
                    break;
                }
            }
        }
        if seen > 0 {
            self.changes.fetch_add(seen, Ordering::AcqRel);
        }
    }
}

/// Identifies one version of a credential file (a rotation renames a new file into place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileStamp {
    dev: u64,
    ino: u64,
    mtime_ns: i128,
    len: u64,
}

impl FileStamp {
    pub(super) fn of(m: &std::fs::Metadata) -> Self {
        Self {
            dev: m.dev(),
            ino: m.ino(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            len: m.len(),
        }
    }
}

/// What a keeper polling its file (no watch) makes of the file being gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WhenMissing {
    /// Nothing to read: keep what was read before (the owner token).
    KeepOld,
    /// Read again: reading makes a new file (the token secret).
    Reread,
}

/// A keeper's record of the file version it holds: the watch's change count it read after, and
/// the file's stamp then.
#[derive(Debug, Clone, Copy)]
pub(super) struct Held {
    pub(super) seen: u64,
    pub(super) stamp: Option<FileStamp>,
}

/// Whether `path` changed since `held`: `Some(count)` with the watch's change count to record once
/// it is reread (0 without a watch), `None` when it is unchanged. With a watch this costs one
/// non-blocking read; without one, the file's metadata, compared.
pub(super) async fn changed_since(
    watch: Option<&FileWatch>,
    path: &Path,
    held: Held,
    missing: WhenMissing,
) -> Option<u64> {
    if let Some(watch) = watch {
        let seen = watch.changes();
        return (seen != held.seen).then_some(seen);
    }
    let stamp = tokio::fs::metadata(path).await.ok().map(|m| FileStamp::of(&m));
    let unchanged = match stamp {
        None => missing == WhenMissing::KeepOld,
        Some(_) => stamp == held.stamp,
    };
    (!unchanged).then_some(0)
}

/// Reads `path` again on the blocking pool: `read` gets the file's directory (the keepers' readers
/// take the data dir); returns what it read and the stamp of the file after it, or `None` when
/// the blocking task could not run (the runtime is shutting down).
pub(super) async fn reread<T: Send + 'static>(
    path: &Path,
    read: impl FnOnce(&Path) -> T + Send + 'static,
) -> Option<(T, Option<FileStamp>)> {
    let path: PathBuf = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        (read(&dir), std::fs::metadata(&path).ok().map(|m| FileStamp::of(&m)))
    })
    .await
    .ok()
}

/// Registers the inotify instance with the current runtime's reactor for readability.
#[allow(unsafe_code)]
fn register(fd: OwnedFd) -> std::io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an `OwnedFd` owns its descriptor: it stays open, and `as_raw_fd` returns that same
    // descriptor, until the `AsyncFd` is dropped or hands it back (`into_inner`).
    Ok(unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_rename_over_the_file_is_counted_at_once_and_other_files_are_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "one").expect("write");
        let watch = FileWatch::new(&path).expect("inotify");
        assert_eq!(watch.changes(), 0);
        std::fs::write(dir.path().join("gateway.json"), "{}").expect("another file");
        assert_eq!(watch.changes(), 0, "another file in the directory is not the file");
        std::fs::write(dir.path().join("token.new"), "two").expect("write");
        std::fs::rename(dir.path().join("token.new"), &path).expect("rename");
        assert!(watch.changes() >= 1, "seen as soon as the rename returned, no waiting");
        let seen = watch.changes();
        // A change made while a task waits wakes it.
        let waiting =
            async { tokio::time::timeout(Duration::from_secs(10), watch.changed()).await.expect("woken") };
        let change = async {
            tokio::task::yield_now().await;
            std::fs::remove_file(&path).expect("remove");
        };
        tokio::join!(waiting, change);
        assert!(watch.changes() > seen);
    }

    #[tokio::test]
    async fn without_a_watch_a_missing_file_is_a_change_only_for_a_keeper_that_rereads_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "one").expect("write");
        let (read, stamp) = reread(&path, |d| std::fs::read_to_string(d.join("token")))
            .await
            .expect("the blocking pool runs");
        assert_eq!(read.expect("read"), "one");
        let held = Held { seen: 0, stamp };
        for missing in [WhenMissing::KeepOld, WhenMissing::Reread] {
            assert_eq!(changed_since(None, &path, held, missing).await, None, "unchanged");
        }
        std::fs::write(dir.path().join("token.new"), "two").expect("write");
        std::fs::rename(dir.path().join("token.new"), &path).expect("rename");
        assert_eq!(changed_since(None, &path, held, WhenMissing::KeepOld).await, Some(0), "replaced");
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(changed_since(None, &path, held, WhenMissing::KeepOld).await, None, "gone: keep the old");
        assert_eq!(changed_since(None, &path, held, WhenMissing::Reread).await, Some(0), "gone: make anew");
    }
}
