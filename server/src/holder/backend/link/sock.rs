//! The holder socket as the worker actor polls it: registered with the runtime's reactor for
//! readability only, and for writability only while written bytes wait for room.
//!
//! A Unix stream socket signals its writer (`EPOLLOUT`) each time its peer reads anything. The
//! holder reads a keystroke's `input` frame moments after the actor wrote it, when the runtime
//! thread has usually gone back to sleep in `epoll_wait`: registered for writability, the socket
//! woke that thread for nothing, one wake-up (a voluntary context switch) per key beside the two
//! an echo needs (the client's frame in, the echo out). So the socket is registered for
//! readability alone, and a second registration, for writability, on a duplicate of its
//! descriptor (epoll keeps one registration per descriptor, each with its own events), exists
//! only while the socket is full (a paste larger than its buffer, a holder that stopped
//! reading); it is dropped once the queued bytes are out.

use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::task::{Context, Poll, ready};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tracing::warn;

/// The socket: registered with the runtime's reactor on first use (adoption connects off the
/// runtime).
pub(super) enum Sock {
    /// Not registered yet.
    Std(UnixStream),
    /// Registered for readability; `write` is the writability registration while bytes wait.
    Registered { read: AsyncFd<UnixStream>, write: Option<AsyncFd<UnixStream>> },
    /// Could not be registered, or handed on: nothing more is read or written.
    Gone,
}

/// Registers `stream` with the current runtime's reactor for `interest` alone.
#[allow(unsafe_code)]
fn register(stream: UnixStream, interest: Interest) -> std::io::Result<AsyncFd<UnixStream>> {
    // SAFETY: a `UnixStream` owns its descriptor: it stays open, and `as_raw_fd` returns that
    // same descriptor, until the `AsyncFd` is dropped or hands the stream back (`into_inner`).
    Ok(unsafe { AsyncFd::register_with_interest(stream, interest) }?)
}

fn gone() -> std::io::Error {
    std::io::Error::new(ErrorKind::NotConnected, "the holder socket is gone")
}

impl Sock {
    /// Registers the socket with the runtime's reactor the first time it is used (on the
    /// actor's task); `false` if it is not registered (and never will be).
    pub(super) fn ensure_registered(&mut self) -> bool {
        if matches!(self, Sock::Std(_))
            && let Sock::Std(std) = std::mem::replace(self, Sock::Gone)
        {
            match register(std, Interest::READABLE) {
                Ok(read) => *self = Sock::Registered { read, write: None },
                Err(e) => warn!(error = %e, "could not register a holder socket with the runtime"),
            }
        }
        matches!(self, Sock::Registered { .. })
    }

    /// Reads into `buf` once the socket is readable; `Pending` (with `cx` woken on the next
    /// readiness) while it has nothing. `Ok(0)` is the end of the stream.
    pub(super) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<std::io::Result<usize>> {
        let Sock::Registered { read, .. } = self else { return Poll::Ready(Err(gone())) };
        loop {
            let mut guard = ready!(read.poll_read_ready(cx))?;
            // A `WouldBlock` clears the readiness, so the next poll waits for a new edge.
            if let Ok(result) = guard.try_io(|fd| fd.get_ref().read(buf)) {
                if result.as_ref().is_ok_and(|n| *n > 0 && *n < buf.len()) {
                    // A short read emptied the socket: readiness is cleared now (as tokio's own
                    // sockets do), so the next poll waits for the next frame instead of reading
                    // once more only to get `WouldBlock` (a syscall per echoed key). Bytes that
                    // arrived since set it again: the guard clears only the readiness it saw.
                    guard.clear_ready();
                }
                return Poll::Ready(result);
            }
        }
    }

    /// Writes what the socket takes now, without waiting: `WouldBlock` when it is full.
    pub(super) fn write(&self, bytes: &[u8]) -> std::io::Result<usize> {
        let Sock::Registered { read, .. } = self else { return Err(gone()) };
        // The descriptor is non-blocking (the link's contract), so this never waits.
        read.get_ref().write(bytes)
    }

    /// Ready once the socket may take more bytes; registers for writability until
    /// [`Sock::writable_done`].
    pub(super) fn poll_writable(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let Sock::Registered { read, write } = self else { return Poll::Ready(Err(gone())) };
        let waiter = match write {
            Some(w) => w,
            // Registering reports the socket writable at once if it already is: no edge is lost.
            None => write.insert(register(read.get_ref().try_clone()?, Interest::WRITABLE)?),
        };
        let mut guard = ready!(waiter.poll_write_ready(cx))?;
        // Cleared before the caller writes: an edge after this sets it again, so a write that
        // then finds the socket full still has a wake-up coming.
        guard.clear_ready();
        Poll::Ready(Ok(()))
    }

    /// Nothing waits to be written: drops the writability registration (and its descriptor).
    pub(super) fn writable_done(&mut self) {
        if let Sock::Registered { write, .. } = self {
            *write = None;
        }
    }

    /// The registered socket as a tokio stream, for a last write on a task of its own (on the
    /// runtime it is registered with); leaves `Gone`. `None` if it was never registered.
    pub(super) fn take_stream(&mut self) -> Option<tokio::net::UnixStream> {
        let Sock::Registered { read, write } = std::mem::replace(self, Sock::Gone) else { return None };
        drop(write);
        // Deregistered first: the stream registers the descriptor again, for both directions.
        tokio::net::UnixStream::from_std(read.into_inner()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd as _;
    use std::time::Duration;

    const EPOLLIN: u32 = 0x1;
    const EPOLLOUT: u32 = 0x4;

    /// The events descriptor `fd` of this process is registered for in any epoll instance
    /// (`/proc/self/fdinfo` of each one lists its descriptors); `None` if it is in none. A
    /// descriptor number belongs to one open file at a time, and tokio deregisters before it
    /// closes, so tests running beside this one cannot be mistaken for it.
    fn epoll_events(fd: i32) -> Option<u32> {
        for entry in std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").flatten() {
            let is_epoll = std::fs::read_link(entry.path())
                .is_ok_and(|target| target.to_string_lossy() == "anon_inode:[eventpoll]");
            if !is_epoll {
                continue;
            }
            let info =
                std::fs::read_to_string(format!("/proc/self/fdinfo/{}", entry.file_name().to_string_lossy()))
                    .unwrap_or_default();
            for line in info.lines() {
                let mut words = line.split_whitespace();
                if words.next() != Some("tfd:") || words.next().and_then(|n| n.parse().ok()) != Some(fd) {
                    continue;
                }
                if words.next() == Some("events:") {
                    return words.next().and_then(|e| u32::from_str_radix(e, 16).ok());
                }
            }
        }
        None
    }

    fn pair() -> (Sock, UnixStream) {
        let (ours, theirs) = UnixStream::pair().expect("socket pair");
        ours.set_nonblocking(true).expect("non-blocking");
        let mut sock = Sock::Std(ours);
        assert!(sock.ensure_registered(), "registered on a runtime");
        (sock, theirs)
    }

    fn fds(sock: &Sock) -> (i32, Option<i32>) {
        let Sock::Registered { read, write } = sock else { panic!("not registered") };
        (read.as_raw_fd(), write.as_ref().map(|w| w.as_raw_fd()))
    }

    #[tokio::test]
    async fn registered_for_reading_only_so_the_peer_reading_wakes_nobody() {
        let (sock, mut holder) = pair();
        let (fd, dup) = fds(&sock);
        assert_eq!(dup, None);
        let events = epoll_events(fd).expect("the socket is registered");
        assert_eq!(events & (EPOLLIN | EPOLLOUT), EPOLLIN, "readable only: {events:#x}");
        // Input out, echo in, through the one registration.
        assert_eq!(sock.write(b"key").expect("write"), 3);
        let mut got = [0u8; 3];
        holder.read_exact(&mut got).expect("the holder reads the input");
        holder.write_all(b"key").expect("echo");
        let mut buf = [0u8; 16];
        let read = std::future::poll_fn(|cx| sock.poll_read(cx, &mut buf));
        let n =
            tokio::time::timeout(Duration::from_secs(10), read).await.expect("echo in time").expect("read");
        assert_eq!(&buf[..n], b"key");
    }

    #[tokio::test]
    async fn a_full_socket_waits_for_room_on_a_second_descriptor_only_while_it_is_full() {
        let (mut sock, mut holder) = pair();
        let chunk = vec![b'p'; 1 << 16];
        let mut written = 0usize;
        loop {
            match sock.write(&chunk) {
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("write: {e}"),
            }
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        // Registering finds the socket full: no room is reported (the holder reads nothing yet).
        assert!(sock.poll_writable(&mut cx).is_pending(), "a full socket is not writable");
        let (fd, dup) = fds(&sock);
        let dup = dup.expect("a second descriptor while full");
        assert_ne!(dup, fd);
        let events = epoll_events(dup).expect("the duplicate is registered");
        assert_eq!(events & (EPOLLIN | EPOLLOUT), EPOLLOUT, "writable only: {events:#x}");
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            let mut got = 0usize;
            while got < written {
                got += holder.read(&mut buf).expect("read");
            }
            // Kept open: the write below needs a reader at the other end.
            (got, holder)
        });
        let room = std::future::poll_fn(|cx| sock.poll_writable(cx));
        tokio::time::timeout(Duration::from_secs(10), room).await.expect("room in time").expect("writable");
        let more = sock.write(b"more");
        assert!(more.is_ok(), "room once the holder read: {more:?}");
        // Dropping the duplicate deregisters it (tokio deregisters before it closes).
        sock.writable_done();
        assert_eq!(fds(&sock).1, None, "no second descriptor once nothing waits");
        let (got, _holder) = reader.join().expect("reader");
        assert!(got >= written);
    }
}
