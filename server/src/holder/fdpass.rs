//! Passing the PTY master over the holder's socket (`SCM_RIGHTS`): the holder sends it with its
//! `Hello` (holder protocol version 3 on), so the attached gateway writes the program's input
//! and resizes the PTY itself and the holder is not woken for every keystroke. Output stays
//! relayed through the holder (its log is what makes a gateway restart lossless).
//!
//! A descriptor sent with `sendmsg` travels with the bytes of that call: the receiver gets it
//! with the first `recvmsg` that reads any of them (a `read` would drop it), so the holder sends
//! it with the first bytes of its `Hello` and the gateway reads that frame with `recvmsg`.

use super::wire::{self, Frame, WireError};
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage,
    SendFlags,
};
use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

/// Writes what of `bytes` the socket takes now with `fd` attached (non-blocking sockets return
/// `WouldBlock` as `write` does); the descriptor went out if any byte did.
pub(super) fn send_with_fd(stream: &UnixStream, bytes: &[u8], fd: BorrowedFd<'_>) -> std::io::Result<usize> {
    let fds = [fd];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    // Room for exactly one descriptor was made above.
    let pushed = control.push(SendAncillaryMessage::ScmRights(&fds));
    debug_assert!(pushed, "room for one descriptor");
    Ok(rustix::net::sendmsg(stream, &[IoSlice::new(bytes)], &mut control, SendFlags::NOSIGNAL)?)
}

/// Reads into `buf` with `recvmsg`, keeping the first descriptor that arrives (close-on-exec:
/// no program this process starts inherits it) in `fd`; any others are closed.
fn recv_with_fd(stream: &UnixStream, buf: &mut [u8], fd: &mut Option<OwnedFd>) -> std::io::Result<usize> {
    // Room for a few: a peer sending more than one gets them closed, never leaked.
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let got = loop {
        match rustix::net::recvmsg(stream, &mut [IoSliceMut::new(buf)], &mut control, RecvFlags::CMSG_CLOEXEC)
        {
            Ok(got) => break got,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    };
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = msg {
            for received in fds {
                if fd.is_none() {
                    *fd = Some(received);
                }
            }
        }
    }
    Ok(got.bytes)
}

/// Reads one whole frame from a blocking socket (its read timeout applies), with the descriptor
/// sent along with it, if any; `Ok((None, _))` at a clean end of stream.
pub(crate) fn read_frame_with_fd(stream: &UnixStream) -> Result<(Option<Frame>, Option<OwnedFd>), WireError> {
    let mut fd = None;
    let mut len = [0u8; 4];
    if !fill(stream, &mut len, &mut fd)? {
        return Ok((None, fd));
    }
    let len = u32::from_be_bytes(len) as usize;
    if len == 0 || len > wire::MAX_FRAME {
        return Err(WireError::Bad(format!("frame length {len}")));
    }
    let mut body = vec![0u8; len];
    if !fill(stream, &mut body, &mut fd)? {
        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
    }
    Frame::decode(&body).map(|f| (Some(f), fd))
}

/// Reads one whole frame, with the descriptor sent along with it, from a non-blocking socket on
/// the runtime's reactor; `Ok((None, _))` at a clean end of stream. Never reads past the frame
/// (the bytes after it are the caller's).
pub(crate) async fn read_frame_with_fd_async(
    stream: &tokio::io::unix::AsyncFd<UnixStream>,
) -> Result<(Option<Frame>, Option<OwnedFd>), WireError> {
    let mut fd = None;
    let mut frame = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        // The length first, then exactly the rest of the frame.
        let want = match frame.get(..4) {
            None => 4,
            Some(len) => {
                let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
                if len == 0 || len > wire::MAX_FRAME {
                    return Err(WireError::Bad(format!("frame length {len}")));
                }
                4 + len
            }
        };
        if frame.len() == want && want > 4 {
            return Frame::decode(&frame[4..]).map(|f| (Some(f), fd));
        }
        let room = (want - frame.len()).min(chunk.len());
        let mut ready = stream.readable().await?;
        match ready.try_io(|s| recv_with_fd(s.get_ref(), &mut chunk[..room], &mut fd)) {
            Ok(Ok(0)) if frame.is_empty() => return Ok((None, fd)),
            Ok(Ok(0)) => return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into()),
            Ok(Ok(n)) => frame.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => return Err(e.into()),
            // Not readable after all: wait again.
            Err(_would_block) => {}
        }
    }
}

/// Fills `buf` exactly; `false` at an end of stream before the first byte.
fn fill(stream: &UnixStream, buf: &mut [u8], fd: &mut Option<OwnedFd>) -> Result<bool, WireError> {
    let mut have = 0;
    while have < buf.len() {
        match recv_with_fd(stream, &mut buf[have..], fd)? {
            0 if have == 0 => return Ok(false),
            0 => return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into()),
            n => have += n,
        }
    }
    Ok(true)
}

/// Whether `fd` is a terminal (the gateway checks a passed descriptor before writing to it).
pub(crate) fn is_terminal(fd: impl AsFd) -> bool {
    rustix::termios::isatty(fd)
}

/// A PTY pair for tests: the master (non-blocking, as a holder's) and the slave, in raw mode
/// (bytes pass as written, no echo).
#[cfg(test)]
pub(crate) fn test_pty() -> (OwnedFd, std::fs::File) {
    use rustix::pty::OpenptFlags;
    use std::os::unix::ffi::OsStrExt as _;
    let master =
        rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).expect("openpt");
    rustix::pty::grantpt(&master).expect("grantpt");
    rustix::pty::unlockpt(&master).expect("unlockpt");
    let name = rustix::pty::ptsname(&master, Vec::new()).expect("ptsname");
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(std::path::Path::new(std::ffi::OsStr::from_bytes(name.as_bytes())))
        .expect("open the slave");
    let mut t = rustix::termios::tcgetattr(&slave).expect("tcgetattr");
    t.make_raw();
    rustix::termios::tcsetattr(&slave, rustix::termios::OptionalActions::Now, &t).expect("tcsetattr");
    rustix::io::ioctl_fionbio(&master, true).expect("non-blocking");
    (master, slave)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};

    #[test]
    fn a_descriptor_travels_with_the_frame_and_the_bytes_after_it_stay_in_the_stream() {
        let (holder, gateway) = UnixStream::pair().expect("pair");
        let (pipe_read, pipe_write) = std::io::pipe().expect("pipe");
        let mut hello =
            Frame::Hello { version: wire::VERSION, pid: 7, log_start: 0, log_end: 0, cols: 80, rows: 24 }
                .to_bytes();
        Frame::Output { offset: 0, data: b"after".to_vec() }.encode(&mut hello);
        let sent = send_with_fd(&holder, &hello, pipe_write.as_fd()).expect("sendmsg");
        assert_eq!(sent, hello.len());
        drop(pipe_write);
        let (frame, fd) = read_frame_with_fd(&gateway).expect("read");
        assert!(matches!(frame, Some(Frame::Hello { pid: 7, cols: 80, rows: 24, .. })), "{frame:?}");
        let fd = fd.expect("the descriptor came with the hello");
        // It is the pipe's write end: what is written on it comes out of the read end.
        let mut passed = std::fs::File::from(fd);
        passed.write_all(b"through").expect("write");
        drop(passed);
        let mut got = String::new();
        let mut pipe_read = pipe_read;
        pipe_read.read_to_string(&mut got).expect("read");
        assert_eq!(got, "through");
        // The next frame is read as always.
        let next = Frame::read_from(&mut &gateway).expect("next frame");
        assert_eq!(next, Some(Frame::Output { offset: 0, data: b"after".to_vec() }));
        assert!(!is_terminal(&gateway), "a socket is no terminal");
    }

    #[tokio::test]
    async fn on_the_runtime_a_frame_split_in_pieces_arrives_whole_with_its_descriptor_and_no_more() {
        let (holder, gateway) = UnixStream::pair().expect("pair");
        gateway.set_nonblocking(true).expect("non-blocking");
        // SAFETY: the stream owns its descriptor until the `AsyncFd` is dropped.
        #[allow(unsafe_code)]
        let gateway = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(gateway, tokio::io::Interest::READABLE)
        }
        .expect("register");
        let (_pipe_read, pipe_write) = std::io::pipe().expect("pipe");
        let mut bytes =
            Frame::Hello { version: wire::VERSION, pid: 9, log_start: 0, log_end: 0, cols: 80, rows: 24 }
                .to_bytes();
        Frame::Busy.encode(&mut bytes);
        // Two bytes of the length (with the descriptor), then the rest later: the reader waits.
        assert_eq!(send_with_fd(&holder, &bytes[..2], pipe_write.as_fd()).expect("sendmsg"), 2);
        let writer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            (&holder).write_all(&bytes[2..]).expect("rest");
            holder
        });
        let (frame, fd) = read_frame_with_fd_async(&gateway).await.expect("read");
        assert!(matches!(frame, Some(Frame::Hello { pid: 9, .. })), "{frame:?}");
        assert!(fd.is_some(), "the descriptor came with the first bytes");
        let holder = writer.join().expect("writer");
        let (next, fd) = read_frame_with_fd_async(&gateway).await.expect("next");
        assert_eq!((next, fd.is_none()), (Some(Frame::Busy), true), "the next frame was left in the stream");
        drop(holder);
        assert!(matches!(read_frame_with_fd_async(&gateway).await, Ok((None, None))), "a clean end");
    }

    #[test]
    fn a_frame_without_a_descriptor_reads_as_before() {
        let (mut holder, gateway) = UnixStream::pair().expect("pair");
        Frame::Busy.write_to(&mut holder).expect("write");
        drop(holder);
        let (frame, fd) = read_frame_with_fd(&gateway).expect("read");
        assert_eq!(frame, Some(Frame::Busy));
        assert!(fd.is_none());
        assert!(matches!(read_frame_with_fd(&gateway), Ok((None, None))), "a clean end");
    }
}
