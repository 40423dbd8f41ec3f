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
//! for room (see `sock.rs`).

use super::exit_info;
use crate::holder::wire::{self, Exit, Frame, WireError};
use crate::worker::ExitInfo;
use crate::worker::pty::{GroupSignal, LinkOutput, PtyControl, PtyLink};
use sock::Sock;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::ErrorKind;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tracing::{debug, warn};

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
}

impl HolderLink {
    /// A link over `stream` (non-blocking, attached) to the holder of program `pid`, which
    /// speaks holder protocol `version`.
    pub(super) fn new(pid: u32, version: u16, stream: std::os::unix::net::UnixStream) -> Self {
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
        if !self.wants_flush() {
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
        self.control(&Frame::Resize { cols, rows })
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
            return Some(LinkOutput::Exit(exit_info(exit)));
        }
        if self.ended && !self.finished {
            self.finished = true;
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
        !self.broken && self.wpos < self.wbuf.len()
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while self.wants_flush() {
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
        if !self.ack_queued || !self.wants_flush() {
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
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};
    use std::os::unix::net::UnixStream;
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    fn pair() -> (HolderLink, UnixStream) {
        let (ours, theirs) = UnixStream::pair().expect("socket pair");
        ours.set_nonblocking(true).expect("non-blocking");
        (HolderLink::new(42, wire::VERSION, ours), theirs)
    }

    async fn next(link: &mut HolderLink, want: usize, max: usize) -> LinkOutput {
        let fill = std::future::poll_fn(|cx| link.poll_fill(cx, want, max));
        tokio::time::timeout(Duration::from_secs(10), fill).await.expect("output in time");
        link.take(max).expect("something to take")
    }

    #[tokio::test]
    async fn output_split_anywhere_across_reads_comes_out_whole_then_the_exit() {
        let (mut link, mut holder) = pair();
        let mut stream = Vec::new();
        Frame::Output { offset: 0, data: b"hello ".to_vec() }.encode(&mut stream);
        Frame::Output { offset: 6, data: Vec::new() }.encode(&mut stream);
        Frame::Output { offset: 6, data: b"world".to_vec() }.encode(&mut stream);
        Frame::Exited { exit: Exit::Code(3) }.encode(&mut stream);
        // One byte at a time: every header, body and frame boundary falls between two reads.
        let writer = std::thread::spawn(move || {
            for b in stream {
                holder.write_all(&[b]).expect("write");
                std::thread::sleep(Duration::from_micros(50));
            }
            holder
        });
        let mut got = Vec::new();
        let exit = loop {
            match next(&mut link, 1, 64).await {
                LinkOutput::Data(d) => got.extend(d),
                LinkOutput::Exit(e) => break e,
            }
        };
        assert_eq!(got, b"hello world");
        assert_eq!(exit, ExitInfo { exit_code: Some(3), signal: None });
        // Taking the exit does not acknowledge it: the hub does once its store committed it.
        let mut holder = writer.join().expect("writer");
        holder.set_nonblocking(true).expect("non-blocking");
        let mut early = [0u8; 1];
        assert!(holder.read(&mut early).is_err(), "nothing is sent before the commit");
        holder.set_nonblocking(false).expect("blocking");
        link.ack_exit().expect("ack");
        let mut ack = [0u8; 5];
        holder.read_exact(&mut ack).expect("ack");
        assert_eq!(Frame::decode(&ack[4..]).expect("decode"), Frame::AckExit);
    }

    #[tokio::test]
    async fn a_dropped_connection_is_lost_after_the_last_byte_and_batches_respect_max() {
        let (mut link, mut holder) = pair();
        let mut stream = Vec::new();
        Frame::Output { offset: 0, data: vec![b'x'; 10_000] }.encode(&mut stream);
        holder.write_all(&stream).expect("write");
        drop(holder);
        let mut total = 0;
        let exit = loop {
            match next(&mut link, 1, 4096).await {
                LinkOutput::Data(d) => {
                    assert!(d.len() <= 4096, "a batch of {} bytes", d.len());
                    total += d.len();
                }
                LinkOutput::Exit(e) => break e,
            }
        };
        assert_eq!(total, 10_000, "every byte before the end");
        assert_eq!(exit.signal.as_deref(), Some(controlroom_protocol::WORKER_LOST));
    }

    #[tokio::test]
    async fn garbage_from_the_holder_ends_the_stream_as_lost() {
        let (mut link, mut holder) = pair();
        holder.write_all(&[0, 0, 0, 0, 9]).expect("write");
        let LinkOutput::Exit(exit) = next(&mut link, 1, 64).await else { panic!("no data expected") };
        assert_eq!(exit.signal.as_deref(), Some(controlroom_protocol::WORKER_LOST));
    }

    #[tokio::test]
    async fn input_holds_its_share_until_the_socket_took_it_and_control_is_bounded() {
        let (mut link, mut holder) = pair();
        let budget = Arc::new(Semaphore::new(1 << 22));
        // Nobody reads the holder's end: the socket fills and the rest waits in the link.
        let big = vec![b'p'; 1 << 21];
        let share = budget.clone().try_acquire_many_owned(big.len() as u32).expect("room");
        link.queue_input(&big, Some(share)).expect("queued");
        assert!(link.wants_flush(), "a full socket leaves bytes queued");
        assert!(budget.available_permits() < 1 << 22, "the share is held while bytes wait");
        let mut refused = false;
        for _ in 0..1000 {
            if link.resize(80, 24).is_err() {
                refused = true;
                break;
            }
        }
        assert!(refused, "control frames stop queueing at their bound");
        // The holder reads everything: the link flushes, the share comes back.
        let reader = std::thread::spawn(move || {
            let mut got = 0usize;
            let mut buf = vec![0u8; 1 << 16];
            holder.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
            while let Ok(n) = holder.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got += n;
            }
            got
        });
        let flushed = std::future::poll_fn(|cx| link.poll_flush(cx));
        tokio::time::timeout(Duration::from_secs(10), flushed).await.expect("flushed");
        assert!(!link.wants_flush());
        assert_eq!(budget.available_permits(), 1 << 22, "the whole share is back once written");
        let frames = big.len().div_ceil(INPUT_FRAME);
        let got = reader.join().expect("reader");
        assert!(got >= big.len() + frames * FRAME_HEAD, "every input byte reached the holder ({got})");
    }
}
