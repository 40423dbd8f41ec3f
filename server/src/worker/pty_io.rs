//! Reading and writing a PTY master that never hangs a thread for good.
//!
//! A write to a master blocks while the program does not read its input, and on Linux a write
//! blocked there is not woken when the program's side closes: a worker deleted with input queued
//! kept its writer thread, the master descriptor and the queued bytes forever. So the master is
//! switched to non-blocking mode and both threads wait in `poll`: the writer wakes when the
//! terminal has room, when the other side is gone (`POLLHUP`), and at least every
//! [`STOP_CHECK`] to see whether it was told to stop; the reader wakes when there is output or
//! the other side is gone.

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;
use std::io::{self, Read};
use std::os::fd::OwnedFd;

/// How often a writer waiting for room checks whether it should stop.
const STOP_CHECK: Timespec = Timespec { tv_sec: 0, tv_nsec: 100_000_000 };

/// Switches `master` (and with it every descriptor sharing its open file) to non-blocking mode.
pub(super) fn set_nonblocking(master: &OwnedFd) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(master)?;
    rustix::fs::fcntl_setfl(master, flags | rustix::fs::OFlags::NONBLOCK)?;
    Ok(())
}

/// Reads a non-blocking master as a blocking reader: waits in `poll` while there is nothing to
/// read. Ends (EOF or EIO) once every descriptor of the program's side is closed.
pub(super) struct MasterReader {
    fd: OwnedFd,
}

impl MasterReader {
    pub(super) fn new(fd: OwnedFd) -> Self {
        Self { fd }
    }
}

impl Read for MasterReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match rustix::io::read(&self.fd, &mut *buf) {
                Ok(n) => return Ok(n),
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => {
                    let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
                    match poll(&mut fds, None) {
                        Ok(_) | Err(Errno::INTR) => {}
                        Err(e) => return Err(e.into()),
                    }
                    let seen = fds[0].revents();
                    if seen.intersects(PollFlags::HUP | PollFlags::ERR) && !seen.contains(PollFlags::IN) {
                        // The other side is gone and nothing is left to read.
                        return Ok(0);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Writes to a non-blocking master.
pub(super) struct MasterWriter {
    fd: OwnedFd,
}

impl MasterWriter {
    pub(super) fn new(fd: OwnedFd) -> Self {
        Self { fd }
    }
}

impl MasterWriter {
    /// Writes all of `bytes`, waiting in `poll` while the terminal is full; gives up when the
    /// program's side is closed or `stop` (asked at least every [`STOP_CHECK`]) says so.
    pub(super) fn write_all_unless(&mut self, mut bytes: &[u8], stop: &dyn Fn() -> bool) -> io::Result<()> {
        while !bytes.is_empty() {
            match rustix::io::write(&self.fd, bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => {
                    if stop() {
                        return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the worker is gone"));
                    }
                    let mut fds = [PollFd::new(&self.fd, PollFlags::OUT)];
                    match poll(&mut fds, Some(&STOP_CHECK)) {
                        Ok(_) | Err(Errno::INTR) => {}
                        Err(e) => return Err(e.into()),
                    }
                    if fds[0].revents().intersects(PollFlags::HUP | PollFlags::ERR) {
                        return Err(io::Error::new(
                            io::ErrorKind::BrokenPipe,
                            "the program's terminal closed",
                        ));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
