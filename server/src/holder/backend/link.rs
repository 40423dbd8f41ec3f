//! The gateway's end of an attached holder connection: a [`PtyLink`] the worker actor polls
//! from its own task, so a holder-backed worker costs the gateway no thread, and a keystroke
//! and its echo cross no thread hand-off (the actor writes the `input` frame to the socket
//! itself, and reads the `output` frame the runtime's reactor woke it for).
//!
//! Reads go through one scratch buffer per runtime thread (none per worker) and are parsed as
//! a stream: an `Output` frame's bytes are copied once, into the batch the actor takes, however
//! the frames fall across reads. Writes go out at once while the socket takes them; what it does
//! not take waits in a buffer the actor flushes as the socket drains. Typed input holds its room
//! in the worker's byte-bounded input budget until the socket has taken its last byte, so the
//! budget bounds this buffer too; control frames (resize, signals) have a small bound of their
//! own. The socket wakes the actor's thread only for what it reads, or while written bytes wait
//! for room (see `sock.rs`). With the PTY master a holder passed (`direct.rs`), input and resizes
//! skip the socket and the holder: the actor writes them on the master itself.

use super::exit_info;
use crate::holder::wire::{self, Exit, Frame, WireError};
use crate::worker::ExitInfo;
use crate::worker::pty::{GroupSignal, LinkOutput, PtyControl, PtyLink};
use direct::DirectPty;
use sock::Sock;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::ErrorKind;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tracing::{debug, warn};

mod direct;
mod sock;

/// Most bytes one read takes from the socket (into the runtime thread's scratch buffer).
const READ_BUF: usize = 64 * 1024;

/// The header of an `Output` frame: length, type, stream offset.
const OUTPUT_HEAD: usize = 4 + 1 + 8;

/// The start of any frame: length and type.
const FRAME_HEAD: usize = 4 + 1;

/// Most input bytes per `Input` frame (a paste can be megabytes; frames stay far under
/// [`wire::MAX_FRAME`]).
const INPUT_FRAME: usize = 64 * 1024;

/// Most bytes of control frames (resize, signals) waiting for the socket before another one is
/// refused: the holder is not reading (wedged), and they would pile up without bound.
const MAX_QUEUED_CONTROL: usize = 4 * 1024;

/// A write buffer that grew past this (a paste) is given back once drained, so an idle worker
/// keeps none.
const KEEP_WRITE_BUF: usize = 1024;

/// How long the exit's acknowledgement may still take to reach the holder after the worker let
/// go of the link (the socket was full when the exit was taken: almost never).
const ACK_DEADLINE: Duration = Duration::from_secs(5);

thread_local! {
    /// Scratch space for socket reads, one per runtime thread: workers keep no read buffer.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Where the parser is in the stream of frames.
enum Parse {
    /// Reading a frame's start (an `Output` frame's whole header).
    Head { buf: [u8; OUTPUT_HEAD], have: usize },
    /// Inside an `Output` frame: this many bytes of data left.
    Output { left: usize },
    /// Inside another frame (its type byte first in `body`): this many bytes left.
    Other { body: Vec<u8>, left: usize },
}

impl Parse {
    fn head() -> Self {
        Parse::Head { buf: [0; OUTPUT_HEAD], have: 0 }
    }
}

/// An attached holder connection, owned and polled by the worker actor.
pub(super) struct HolderLink {
    pid: u32,
    /// The holder's protocol version (frames newer than it are not sent).
    version: u16,
    sock: Sock,
    parse: Parse,
    /// Output read and not yet taken (handed over whole as the next batch).
    pending: Vec<u8>,
    /// The holder's `Exited`, not yet taken.
    exit: Option<Exit>,
    /// The stream ended (end of file, an error, or a frame this gateway cannot read).
    ended: bool,
    /// The end was handed to the actor: nothing more will come.
    finished: bool,
    /// Frames for the holder; `wbuf[wpos..]` is not written yet.
    wbuf: Vec<u8>,
    wpos: usize,
    /// Bytes written to the socket so far.
    written: u64,
    /// Input shares, each released once `written` reaches its end position.
    shares: VecDeque<(u64, OwnedSemaphorePermit)>,
    /// Control bytes queued since the write buffer was last empty.
    control_queued: usize,
    /// A write failed: nothing more can be sent.
    broken: bool,
    /// The exit's acknowledgement is queued (delivered even if the link is dropped first).
    ack_queued: bool,
    /// The PTY master the holder passed: input and resizes go there, not to the socket.
    direct: Option<DirectPty>,
}

impl HolderLink {
    /// A link over `stream` (non-blocking, attached) to the holder of program `pid`, which
    /// speaks holder protocol `version`; input and resizes go to `pty` (the PTY master it
    /// passed, non-blocking) when there is one.
    pub(super) fn new(
        pid: u32,
        version: u16,
        stream: std::os::unix::net::UnixStream,
        pty: Option<std::os::fd::OwnedFd>,
    ) -> Self {
        Self {
            pid,
            version,
            sock: Sock::Std(stream),
            parse: Parse::head(),
            pending: Vec::new(),
            exit: None,
            ended: false,
            finished: false,
            wbuf: Vec::new(),
            wpos: 0,
            written: 0,
            shares: VecDeque::new(),
            control_queued: 0,
            broken: false,
            ack_queued: false,
            direct: pty.map(DirectPty::new),
        }
    }

    /// Registers the socket with the runtime's reactor the first time it is used (on the
    /// actor's task); `false` if it cannot be (the link then ends).
    fn ensure_registered(&mut self) -> bool {
        if self.sock.ensure_registered() {
            return true;
        }
        self.ended = true;
        self.broken = true;
        false
    }

    /// Parses `bytes` read from the socket: output goes to `pending`, the exit to `exit`.
    fn parse(&mut self, mut bytes: &[u8], max: usize) -> Result<(), WireError> {
        while !bytes.is_empty() {
            match &mut self.parse {
                Parse::Output { left } => {
                    let n = (*left).min(bytes.len());
                    if self.pending.capacity() == 0 && n < bytes.len().min(max) {
                        // More follows in this read: room for the whole batch at once.
                        self.pending.reserve(max);
                    }
                    self.pending.extend_from_slice(&bytes[..n]);
                    *left -= n;
                    bytes = &bytes[n..];
                    if *left == 0 {
                        self.parse = Parse::head();
                    }
                }
                Parse::Other { body, left } => {
                    let n = (*left).min(bytes.len());
                    body.extend_from_slice(&bytes[..n]);
                    *left -= n;
                    bytes = &bytes[n..];
                    if *left == 0 {
                        let body = std::mem::take(body);
                        self.parse = Parse::head();
                        self.on_frame(&body)?;
                    }
                }
                Parse::Head { buf, have } => {
                    let need = if *have < FRAME_HEAD { FRAME_HEAD } else { OUTPUT_HEAD };
                    let n = (need - *have).min(bytes.len());
                    buf[*have..*have + n].copy_from_slice(&bytes[..n]);
                    *have += n;
                    bytes = &bytes[n..];
                    if *have < FRAME_HEAD {
                        continue;
                    }
                    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                    if len == 0 || len > wire::MAX_FRAME {
                        return Err(WireError::Bad(format!("frame length {len}")));
                    }
                    let kind = buf[4];
                    if kind == wire::OUTPUT_TYPE {
                        if len < OUTPUT_HEAD - 4 {
                            return Err(WireError::Bad(format!("output frame of {len} bytes")));
                        }
                        if *have == OUTPUT_HEAD {
                            let left = len - (OUTPUT_HEAD - 4);
                            self.parse = if left == 0 { Parse::head() } else { Parse::Output { left } };
                        }
                    } else if len == 1 {
                        self.parse = Parse::head();
                        self.on_frame(&[kind])?;
                    } else {
                        let mut body = Vec::with_capacity(len);
                        body.push(kind);
                        self.parse = Parse::Other { body, left: len - 1 };
                    }
                }
            }
        }
        Ok(())
    }

    /// A whole frame other than `Output`: only `Exited` may come from an attached holder.
    fn on_frame(&mut self, body: &[u8]) -> Result<(), WireError> {
        match Frame::decode(body)? {
            Frame::Exited { exit } => {
                self.exit = Some(exit);
                Ok(())
            }
            other => Err(WireError::Bad(format!("unexpected frame {other:?}"))),
        }
    }

    /// Writes what is queued while the socket takes it; releases the shares of written input.
    fn write_now(&mut self) {
        while self.wpos < self.wbuf.len() && !self.broken {
            if !self.ensure_registered() {
                break;
            }
            match self.sock.write(&self.wbuf[self.wpos..]) {
                Ok(n) => {
                    self.wpos += n;
                    self.written += n as u64;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    debug!(error = %e, "writing to the holder failed");
                    self.broken = true;
                }
            }
        }
        while self.shares.front().is_some_and(|(end, _)| *end <= self.written) {
            self.shares.pop_front();
        }
        if self.broken {
            // Nothing queued will ever be written: give the room back.
            self.wbuf = Vec::new();
            self.wpos = 0;
            self.shares.clear();
        } else if self.wpos == self.wbuf.len() {
            self.wpos = 0;
            self.control_queued = 0;
            if self.wbuf.capacity() > KEEP_WRITE_BUF {
                self.wbuf = Vec::new();
            } else {
                self.wbuf.clear();
            }
        } else if self.wpos > self.wbuf.len() / 2 {
            self.wbuf.drain(..self.wpos);
            self.wpos = 0;
        }
        if !self.socket_wants_flush() {
            // Nothing waits for room: the socket's reads are the only wake-ups again.
            self.sock.writable_done();
        }
    }

    /// Queues a control frame, unless too many already wait for the socket.
    fn control(&mut self, frame: &Frame) -> std::io::Result<()> {
        if self.broken {
            return Err(std::io::Error::new(ErrorKind::BrokenPipe, "holder gone"));
        }
        let before = self.wbuf.len();
        frame.encode(&mut self.wbuf);
        let len = self.wbuf.len() - before;
        if self.control_queued + len > MAX_QUEUED_CONTROL {
            self.wbuf.truncate(before);
            return Err(std::io::Error::other("the holder's queue is full"));
        }
        self.control_queued += len;
        self.write_now();
        Ok(())
    }
}

impl PtyControl for HolderLink {
    fn pid(&self) -> Option<u32> {
        Some(self.pid)
    }

    fn resize(&mut self, cols: u16, rows: u16) -> std::io::Result<()> {
        match &self.direct {
            Some(pty) => pty.resize(cols, rows),
            None => self.control(&Frame::Resize { cols, rows }),
        }
    }

    fn signal_group(&mut self, signal: GroupSignal) -> std::io::Result<()> {
        let signal = match signal {
            GroupSignal::Hangup => libc::SIGHUP,
            GroupSignal::Kill => libc::SIGKILL,
        };
        self.control(&Frame::Signal { signal })
    }

    fn outlives_gateway(&self) -> bool {
        true
    }

    fn saved(&mut self, offset: u64) -> std::io::Result<()> {
        if self.version < wire::SAVED_SINCE {
            // An older holder keeps its whole bound instead.
            return Ok(());
        }
        self.control(&Frame::Saved { offset })
    }

    fn ack_exit(&mut self) -> std::io::Result<()> {
        // Recorded: the holder may remove its socket and end. Written now if the socket takes
        // it, else by the link's drop (a task with a deadline).
        let mut ack = Vec::new();
        Frame::AckExit.encode(&mut ack);
        self.wbuf.extend_from_slice(&ack);
        self.ack_queued = true;
        self.write_now();
        Ok(())
    }
}

impl PtyLink for HolderLink {
    fn poll_fill(&mut self, cx: &mut Context<'_>, want: usize, max: usize) -> Poll<()> {
        if self.finished {
            return Poll::Pending;
        }
        loop {
            if self.pending.len() >= want.max(1) || self.ended || self.exit.is_some() {
                return Poll::Ready(());
            }
            if !self.ensure_registered() {
                continue;
            }
            let room = max.saturating_sub(self.pending.len()).clamp(OUTPUT_HEAD, READ_BUF);
            // Taken out and put back: two moves, and `self` stays free to parse into.
            let mut scratch = SCRATCH.take();
            if scratch.len() < READ_BUF {
                scratch.resize(READ_BUF, 0);
            }
            let read = match self.sock.poll_read(cx, &mut scratch[..room]) {
                Poll::Pending => {
                    SCRATCH.set(scratch);
                    return Poll::Pending;
                }
                Poll::Ready(read) => read,
            };
            let parsed = match read {
                Ok(n) if n > 0 => Some(self.parse(&scratch[..n], max)),
                _ => None,
            };
            SCRATCH.set(scratch);
            let read = read.map(|n| (n, parsed));
            match read {
                Ok((0, _)) => self.ended = true,
                Ok((_, Some(Err(e)))) => {
                    warn!(error = %e, "the holder sent what this gateway cannot read; treating it as lost");
                    self.ended = true;
                }
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(e) => {
                    debug!(error = %e, "reading from the holder failed");
                    self.ended = true;
                }
            }
        }
    }

    fn buffered(&self) -> usize {
        self.pending.len()
    }

    fn take(&mut self, max: usize) -> Option<LinkOutput> {
        if !self.pending.is_empty() {
            if self.pending.len() <= max {
                return Some(LinkOutput::Data(std::mem::take(&mut self.pending)));
            }
            let rest = self.pending.split_off(max.max(1));
            return Some(LinkOutput::Data(std::mem::replace(&mut self.pending, rest)));
        }
        if let Some(exit) = self.exit.take() {
            // Not acknowledged here: the hub does, through `ack_exit`, once its store has
            // committed the exit, so a crash in between loses nothing.
            self.finished = true;
            // No more input: the PTY is let go (the holder keeps its own until it ends).
            self.direct = None;
            return Some(LinkOutput::Exit(exit_info(exit)));
        }
        if self.ended && !self.finished {
            self.finished = true;
            self.direct = None;
            return Some(LinkOutput::Exit(ExitInfo {
                exit_code: None,
                signal: Some(controlroom_protocol::WORKER_LOST.into()),
            }));
        }
        None
    }

    fn at_exit(&self) -> bool {
        self.pending.is_empty() && (self.exit.is_some() || (self.ended && !self.finished))
    }

    fn queue_input(&mut self, bytes: &[u8], share: Option<OwnedSemaphorePermit>) -> std::io::Result<()> {
        if self.broken {
            return Err(std::io::Error::new(ErrorKind::BrokenPipe, "holder gone"));
        }
        if let Some(pty) = &mut self.direct {
            pty.queue(bytes, share);
            return Ok(());
        }
        for chunk in bytes.chunks(INPUT_FRAME) {
            wire::input_header(&mut self.wbuf, chunk.len());
            self.wbuf.extend_from_slice(chunk);
        }
        if let Some(share) = share {
            let end = self.written + (self.wbuf.len() - self.wpos) as u64;
            self.shares.push_back((end, share));
        }
        self.write_now();
        if self.broken {
            return Err(std::io::Error::new(ErrorKind::BrokenPipe, "holder gone"));
        }
        Ok(())
    }

    fn wants_flush(&self) -> bool {
        self.socket_wants_flush() || self.direct.as_ref().is_some_and(DirectPty::wants_flush)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let pty = match &mut self.direct {
            Some(pty) => pty.poll_flush(cx),
            None => Poll::Ready(()),
        };
        let socket = self.poll_flush_socket(cx);
        if pty.is_ready() && socket.is_ready() { Poll::Ready(()) } else { Poll::Pending }
    }
}

impl HolderLink {
    /// Whether frames wait for room in the socket.
    fn socket_wants_flush(&self) -> bool {
        !self.broken && self.wpos < self.wbuf.len()
    }

    /// Writes queued frames while the socket takes them; `Ready` once none wait (or it broke).
    fn poll_flush_socket(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while self.socket_wants_flush() {
            if !self.ensure_registered() {
                break;
            }
            match self.sock.poll_writable(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => {
                    debug!(error = %e, "the holder's socket failed");
                    self.broken = true;
                    // Gives the room of what will never be written back.
                    self.write_now();
                }
                Poll::Ready(Ok(())) => self.write_now(),
            }
        }
        Poll::Ready(())
    }
}

impl Drop for HolderLink {
    fn drop(&mut self) {
        // The exit's acknowledgement still waiting for room: deliver it on a task of its own
        // (bounded by a deadline), or the holder would wait for a gateway that already recorded
        // the exit.
        if !self.ack_queued || !self.socket_wants_flush() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let Some(mut stream) = self.sock.take_stream() else { return };
        let rest = self.wbuf.split_off(self.wpos);
        runtime.spawn(async move {
            use tokio::io::AsyncWriteExt as _;
            let _ = tokio::time::timeout(ACK_DEADLINE, stream.write_all(&rest)).await;
        });
    }
}

#[cfg(test)]
mod tests;
