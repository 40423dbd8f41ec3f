//! The PTY master a holder passed (holder protocol version 3): the worker actor writes the
//! program's input and resizes the PTY on it itself, so a keystroke wakes the holder only for
//! its echo (the output stays relayed through the holder's log).
//!
//! Writes are non-blocking (the descriptor shares the holder's open file, which is): what the
//! PTY does not take waits here, flushed by the actor as the program reads, each chunk holding
//! its share of the worker's input budget until its last byte is written, as through the
//! socket. The descriptor is registered with the reactor only while bytes wait for room, on a
//! duplicate (as `sock.rs` does): a PTY master signals its writer each time the program reads
//! its input, and registered all the time it would wake the actor's thread for every key.

use rustix::termios::Winsize;
use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::task::{Context, Poll, ready};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::OwnedSemaphorePermit;
use tracing::debug;

/// A write buffer that grew past this (a paste) is given back once drained.
const KEEP_BUF: usize = 1024;

/// Input for the program, written on the PTY master by the actor.
pub(super) struct DirectPty {
    fd: OwnedFd,
    /// `buf[pos..]` is not written yet.
    buf: Vec<u8>,
    pos: usize,
    /// Bytes written so far.
    written: u64,
    /// Input shares, each released once `written` reaches its end position.
    shares: VecDeque<(u64, OwnedSemaphorePermit)>,
    /// The writability registration, only while bytes wait for room.
    waiter: Option<AsyncFd<OwnedFd>>,
}

impl DirectPty {
    /// Input over `fd`, a non-blocking PTY master.
    pub(super) fn new(fd: OwnedFd) -> Self {
        Self { fd, buf: Vec::new(), pos: 0, written: 0, shares: VecDeque::new(), waiter: None }
    }

    /// Queues `bytes` (holding `share` until written) and writes what the PTY takes now.
    pub(super) fn queue(&mut self, bytes: &[u8], share: Option<OwnedSemaphorePermit>) {
        self.buf.extend_from_slice(bytes);
        if let Some(share) = share {
            let end = self.written + (self.buf.len() - self.pos) as u64;
            self.shares.push_back((end, share));
        }
        self.write_now();
    }

    /// Sets the PTY's size (the kernel sends the program SIGWINCH).
    pub(super) fn resize(&self, cols: u16, rows: u16) -> std::io::Result<()> {
        let size = Winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        Ok(rustix::termios::tcsetwinsize(&self.fd, size)?)
    }

    /// Whether queued bytes wait for the program to read.
    pub(super) fn wants_flush(&self) -> bool {
        self.pos < self.buf.len()
    }

    /// Writes queued bytes while the PTY takes them; `Ready` once none wait.
    pub(super) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while self.wants_flush() {
            match ready!(self.poll_writable(cx)) {
                Ok(Room::Some) => self.write_now(),
                // Every descriptor of the program's side is closed: it ended (its holder says
                // how). A full terminal then stays full (writes say "try again" forever, and the
                // hang-up never clears), so its input goes now, as the holder's own queue would.
                Ok(Room::Closed) => {
                    debug!("the program's terminal is closed; its queued input is dropped");
                    self.drop_queued();
                }
                Err(e) => {
                    debug!(error = %e, "the PTY master cannot be polled; its queued input is dropped");
                    self.drop_queued();
                }
            }
        }
        Poll::Ready(())
    }

    /// Writes what the PTY takes now; releases the shares of written input.
    fn write_now(&mut self) {
        while self.pos < self.buf.len() {
            match rustix::io::write(&self.fd, &self.buf[self.pos..]) {
                Ok(n) => {
                    self.pos += n;
                    self.written += n as u64;
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => break,
                // EIO: the program's side is closed (it ended; its holder says how). Its input
                // goes with it, as the holder's own queue would.
                Err(e) => {
                    debug!(error = %e, "writing to the PTY failed; its queued input is dropped");
                    self.drop_queued();
                    break;
                }
            }
        }
        while self.shares.front().is_some_and(|(end, _)| *end <= self.written) {
            self.shares.pop_front();
        }
        if self.pos == self.buf.len() {
            self.pos = 0;
            if self.buf.capacity() > KEEP_BUF {
                self.buf = Vec::new();
            } else {
                self.buf.clear();
            }
            // Nothing waits for room: no wake-ups from the PTY.
            self.waiter = None;
        } else if self.pos > self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }

    /// Nothing queued will be written: the bytes and their room go.
    fn drop_queued(&mut self) {
        self.written += (self.buf.len() - self.pos) as u64;
        self.buf = Vec::new();
        self.pos = 0;
        self.shares.clear();
        self.waiter = None;
    }

    /// Ready once the PTY may take more, or its other side is closed; registers for writability
    /// until nothing waits.
    fn poll_writable(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<Room>> {
        let waiter = match &mut self.waiter {
            Some(w) => w,
            // Registering reports the PTY writable at once if it already is: no edge is lost.
            None => self.waiter.insert(register_writable(self.fd.try_clone()?)?),
        };
        let mut guard = ready!(waiter.poll_write_ready(cx))?;
        if guard.ready().is_write_closed() {
            return Poll::Ready(Ok(Room::Closed));
        }
        // Cleared before the caller writes: an edge after this sets it again.
        guard.clear_ready();
        Poll::Ready(Ok(Room::Some))
    }
}

/// What a wait for room in the PTY found.
enum Room {
    /// It may take more.
    Some,
    /// The program's side is closed (`EPOLLHUP`): nothing more will be read.
    Closed,
}

/// Registers `fd` with the current runtime's reactor for writability alone.
#[allow(unsafe_code)]
fn register_writable(fd: OwnedFd) -> std::io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an `OwnedFd` owns its descriptor: it stays open, and `as_raw_fd` returns that same
    // descriptor, until the `AsyncFd` is dropped (which deregisters first).
    Ok(unsafe { AsyncFd::register_with_interest(fd, Interest::WRITABLE) }?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::sync::Semaphore;

    use crate::holder::fdpass::test_pty as pty;

    #[tokio::test]
    async fn input_reaches_the_program_in_order_holding_its_share_until_written() {
        let (master, mut slave) = pty();
        let mut direct = DirectPty::new(master);
        let budget = Arc::new(Semaphore::new(1 << 22));
        // More than the terminal holds while the program reads nothing.
        let big: Vec<u8> = (0..1 << 20).map(|i| b'a' + (i % 26) as u8).collect();
        let share = budget.clone().try_acquire_many_owned(big.len() as u32).expect("room");
        direct.queue(&big, Some(share));
        assert!(direct.wants_flush(), "a full terminal leaves bytes queued");
        assert!(budget.available_permits() < 1 << 22, "the share is held while bytes wait");
        direct.queue(b"END", None);
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.ends_with(b"END") {
                let n = slave.read(&mut buf).expect("read");
                got.extend_from_slice(&buf[..n]);
            }
            got
        });
        let flushed = std::future::poll_fn(|cx| direct.poll_flush(cx));
        tokio::time::timeout(Duration::from_secs(20), flushed).await.expect("flushed in time");
        assert!(!direct.wants_flush());
        assert!(direct.waiter.is_none(), "no registration once nothing waits");
        assert_eq!(budget.available_permits(), 1 << 22, "the whole share is back once written");
        let got = reader.join().expect("reader");
        assert_eq!(got.len(), big.len() + 3);
        assert!(got[..big.len()] == big[..], "every byte, in order");
    }

    #[tokio::test]
    async fn resizes_reach_the_terminal_and_input_to_a_closed_one_is_dropped() {
        let (master, slave) = pty();
        let mut direct = DirectPty::new(master);
        direct.resize(132, 43).expect("resize");
        let size = rustix::termios::tcgetwinsize(&slave).expect("size");
        assert_eq!((size.ws_col, size.ws_row), (132, 43));
        drop(slave);
        let budget = Arc::new(Semaphore::new(16));
        let share = budget.clone().try_acquire_many_owned(3).expect("room");
        direct.queue(b"abc", Some(share));
        assert!(!direct.wants_flush(), "nothing waits for a program that is gone");
        assert_eq!(budget.available_permits(), 16, "its room is back");
    }

    #[tokio::test]
    async fn input_waiting_for_a_program_that_ends_is_dropped_not_retried_forever() {
        let (master, slave) = pty();
        let mut direct = DirectPty::new(master);
        // The program never reads: the terminal fills and the rest waits.
        direct.queue(&vec![b'x'; 1 << 20], None);
        assert!(direct.wants_flush());
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(direct.poll_flush(&mut cx).is_pending(), "waits for room");
        // It ends: the full terminal never drains, and the wait ends with the hang-up.
        drop(slave);
        let flushed = std::future::poll_fn(|cx| direct.poll_flush(cx));
        tokio::time::timeout(Duration::from_secs(20), flushed).await.expect("the wait ended");
        assert!(!direct.wants_flush(), "its input went with it");
    }
}
