//! The holder's single-threaded loop: one `poll` over the listening socket, the PTY master and
//! the gateway's connection. Idle, it sleeps in `poll` with no timeout (no wake-ups); output is
//! read straight into the log and framed from there (one copy out, nothing per byte), and the
//! log is cut whenever the gateway says a committed screen save covers its front (`Saved`).

use super::log::{self, Log};
use super::peer;
use super::wire::{self, Exit, Frame};
use portable_pty::MasterPty;
use rustix::event::{PollFd, PollFlags};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Input bytes queued for the PTY before the holder stops reading its gateway (backpressure:
/// the gateway's writer then waits, and its bounded queue refuses more input).
const INPUT_HIGH: usize = 1024 * 1024;
/// Framed output queued for the gateway before more is framed.
const OUT_BATCH: usize = 256 * 1024;
/// Buffers larger than this are given back once empty: a flood's buffers do not stay in an
/// idle holder (whose own memory is meant to stay near 256 KiB; ARCHITECTURE.md).
const IDLE_KEEP: usize = 16 * 1024;
/// Bytes read from the gateway's socket at once, into a buffer on the stack. The gateway sends
/// keystrokes, resizes and acks: one page holds them, and every page this read touches stays
/// resident in every idle holder (16 KiB here was 4 of the idle holder's stack pages); a paste
/// arrives in a few reads more.
const CONN_READ_CHUNK: usize = 4 * 1024;
/// Most PTY bytes read per wake-up, so a flood costs one poll per batch and the gateway's
/// socket is served in between.
const READ_BUDGET: usize = OUT_BATCH;

/// A PTY read shorter than this (an echoed key, a prompt) is sent on at once (see
/// `Holder::on_pty`); a flood's reads (a page or more each) keep reading and batching.
const SMALL_READ: usize = 256;
/// A `Saved` that frees at least this much of the log also gives the heap's free pages back to
/// the kernel (freed chunks otherwise stay in the allocator, counted in the holder's memory).
const TRIM_AFTER: usize = 4 * log::CHUNK;

/// A gateway connection.
struct Conn {
    stream: UnixStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    /// Set once the gateway answered `Hello` with `Attach`.
    attached: bool,
    /// The protocol version the gateway's `Attach` chose (never above ours).
    version: u16,
    /// Next log offset to frame.
    sent: u64,
    exit_sent: bool,
    /// The PTY master goes with the next bytes written (the `Hello`'s; `fdpass.rs`).
    pass_pty: bool,
}

/// The holder's state.
pub(super) struct Holder {
    listener: UnixListener,
    socket: PathBuf,
    master: Box<dyn MasterPty + Send>,
    /// The PTY master, duplicated from `master` so reads, writes and polls need no unsafe.
    pty: OwnedFd,
    /// The program, our child: reaped with waitpid.
    pid: u32,
    size: (u16, u16),
    log: Log,
    /// The most output left unsent to an attached gateway before the PTY is read again: with
    /// one read ([`log::CHUNK`] at most) it stays under the log's bound, so an attached gateway
    /// never misses a byte.
    high_water: u64,
    pty_open: bool,
    exit: Option<Exit>,
    input: VecDeque<u8>,
    conn: Option<Conn>,
    uid: u32,
    done: bool,
    /// The binary's pages are to be let go at this deadline ([`SHED_WAIT`] after it was set).
    shed_due: Option<std::time::Instant>,
}

impl Holder {
    pub(super) fn new(
        listener: UnixListener,
        socket: PathBuf,
        master: Box<dyn MasterPty + Send>,
        pid: u32,
        size: (u16, u16),
        log_bytes: usize,
        offset: u64,
    ) -> Result<Self, String> {
        let raw = master.as_raw_fd().ok_or("the PTY has no descriptor")?;
        #[allow(unsafe_code)]
        // SAFETY: `raw` is the open PTY master owned by `master`, which is alive for this call
        // (and for the holder's life); it is only borrowed to duplicate it.
        let pty =
            unsafe { BorrowedFd::borrow_raw(raw) }.try_clone_to_owned().map_err(|e| format!("PTY: {e}"))?;
        rustix::io::ioctl_fionbio(&pty, true).map_err(|e| format!("PTY: {e}"))?;
        Ok(Self {
            listener,
            socket,
            master,
            pty,
            pid,
            size,
            log: Log::new(log_bytes, offset),
            high_water: (log_bytes / 2) as u64,
            pty_open: true,
            exit: None,
            input: VecDeque::new(),
            conn: None,
            uid: peer::own_uid(),
            done: false,
            shed_due: None,
        })
    }

    pub(super) fn pid(&self) -> u32 {
        self.pid
    }

    /// Serves until a gateway has acknowledged the program's exit; then removes the socket.
    pub(super) fn run(mut self) {
        while !self.done {
            if let Some(c) = &mut self.conn {
                fill(c, &self.log, self.exit, self.pty_open);
            }
            let mut pty_events = PollFlags::empty();
            if self.pty_open && self.unsent() < self.high_water {
                pty_events |= PollFlags::IN;
            }
            if self.pty_open && !self.input.is_empty() {
                pty_events |= PollFlags::OUT;
            }
            let conn_events = self.conn.as_ref().map(|c| {
                let mut ev = PollFlags::empty();
                if self.input.len() < INPUT_HIGH {
                    ev |= PollFlags::IN;
                }
                if c.out_pos < c.out.len() {
                    ev |= PollFlags::OUT;
                }
                ev
            });
            let (listener_ready, pty_ready, conn_ready) = {
                let mut fds = Vec::with_capacity(3);
                fds.push(PollFd::new(&self.listener, PollFlags::IN));
                // Once closed the PTY would report POLLHUP forever: it is left out, or an exited
                // program's holder would spin while it waits for a gateway.
                let pty_at = self.pty_open.then(|| {
                    fds.push(PollFd::new(&self.pty, pty_events));
                    fds.len() - 1
                });
                let conn_at = match (&self.conn, conn_events) {
                    (Some(c), Some(ev)) => {
                        fds.push(PollFd::new(&c.stream, ev));
                        Some(fds.len() - 1)
                    }
                    _ => None,
                };
                let timeout = self.shed_due.map(|at| timespec(at.saturating_duration_since(Instant::now())));
                if let Err(e) = poll(&mut fds, timeout.as_ref()) {
                    holder_log!("controlroom holder: poll failed: {e}");
                    return;
                }
                let ready = |at: Option<usize>| at.map_or(PollFlags::empty(), |i| fds[i].revents());
                (fds[0].revents(), ready(pty_at), ready(conn_at))
            };
            if !pty_ready.is_empty() {
                let read = self.on_pty(pty_ready);
                if (1..SMALL_READ).contains(&read) {
                    self.send_now();
                }
            }
            if !conn_ready.is_empty() {
                self.on_conn(conn_ready);
            }
            if !listener_ready.is_empty() {
                self.accept();
            }
            if self.shed_due.is_some_and(|at| Instant::now() >= at) {
                self.shed();
            }
        }
        let _ = std::fs::remove_file(&self.socket);
        holder_log!("controlroom holder {}: exit acknowledged; done", std::process::id());
    }

    /// Lets go of the binary's pages start-up mapped [`SHED_WAIT`] from now.
    pub(super) fn shed_soon(&mut self) {
        self.shed_due = Some(Instant::now() + SHED_WAIT);
    }

    /// Lets go of the binary's pages start-up or an adoption mapped (`shed.rs`), once.
    fn shed(&mut self) {
        if self.shed_due.take().is_some() {
            super::shed::shed_executable_pages();
            // And the heap start-up (or an adoption's replay) freed, so an idle holder keeps
            // only its loop's.
            super::shed::trim_heap();
        }
    }

    /// Output read but not yet framed for an attached gateway.
    fn unsent(&self) -> u64 {
        self.conn.as_ref().filter(|c| c.attached).map_or(0, |c| self.log.end() - c.sent)
    }

    /// Reads what the program wrote; returns how many bytes. A read shorter than [`SMALL_READ`]
    /// ends it: the PTY had no more (an echoed key, a prompt), and another `read` would only
    /// say so. A flood's reads are longer, so it goes on reading up to its budget as before.
    fn on_pty(&mut self, revents: PollFlags) -> usize {
        if revents.contains(PollFlags::OUT) {
            self.write_input();
        }
        if !revents.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) || !self.pty_open {
            return 0;
        }
        let mut read = 0;
        while read < READ_BUDGET && self.unsent() < self.high_water {
            match self.log.read_from(&self.pty) {
                Ok(0) => {
                    self.pty_closed();
                    return read;
                }
                Ok(n) => {
                    read += n;
                    if n < SMALL_READ {
                        return read;
                    }
                }
                Err(rustix::io::Errno::AGAIN) => return read,
                Err(rustix::io::Errno::INTR) => {}
                // EIO once every slave descriptor is closed (Linux): the program is gone.
                Err(_) => {
                    self.pty_closed();
                    return read;
                }
            }
        }
        read
    }

    /// Frames what was just read and writes it now, without waiting for `poll` to say the
    /// socket has room (it almost always has: an echo is a few bytes); what does not fit waits
    /// for `POLLOUT` as usual. Only after a small read: a flood keeps its batching.
    fn send_now(&mut self) {
        let Some(c) = &mut self.conn else { return };
        fill(c, &self.log, self.exit, self.pty_open);
        if self.write_out() {
            self.disconnected();
        }
    }

    /// The gateway's committed screen save covers the stream up to `offset`: the log before it
    /// goes (never past what the gateway was sent), and with it the memory it took.
    fn saved(&mut self, offset: u64, sent: u64) {
        let before = self.log.allocated();
        self.log.discard_before(offset.min(sent));
        let freed = before - self.log.allocated();
        if freed >= TRIM_AFTER || (freed > 0 && self.log.allocated() == 0) {
            super::shed::trim_heap();
        }
    }

    fn pty_closed(&mut self) {
        self.pty_open = false;
        self.input.clear();
        let status = i32::try_from(self.pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .and_then(|p| crate::worker::pty::waitpid(p).ok());
        use std::os::unix::process::ExitStatusExt as _;
        let exit = match status.map(std::process::ExitStatus::from_raw) {
            Some(s) => match (s.code(), s.signal()) {
                (Some(code), _) => Exit::Code(code),
                (None, Some(sig)) => Exit::Signal(sig),
                (None, None) => Exit::Code(-1),
            },
            None => Exit::Code(-1),
        };
        holder_log!("controlroom holder {}: program {} ended: {exit:?}", std::process::id(), self.pid);
        self.exit = Some(exit);
    }

    fn write_input(&mut self) {
        self.write_queued_input();
        if self.input.is_empty() && self.input.capacity() > IDLE_KEEP {
            self.input = VecDeque::new();
        }
    }

    fn write_queued_input(&mut self) {
        while !self.input.is_empty() {
            let (front, _) = self.input.as_slices();
            match rustix::io::write(&self.pty, front).map_err(std::io::Error::from) {
                Ok(n) => {
                    self.input.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                // The program is gone; its input with it.
                Err(_) => {
                    self.input.clear();
                    return;
                }
            }
        }
    }

    fn accept(&mut self) {
        loop {
            let stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            let uid = peer::peer_uid(&stream);
            if let Err(why) = uid.map_err(|e| e.to_string()).and_then(|u| peer::check_peer_uid(u, self.uid)) {
                holder_log!("controlroom holder {}: connection refused: {why}", std::process::id());
                continue;
            }
            if self.conn.is_some() {
                // One gateway at a time: a second one (two gateways on one data dir) is told so.
                let _ = (&stream).write_all(&Frame::Busy.to_bytes());
                holder_log!("controlroom holder {}: refused a second gateway", std::process::id());
                continue;
            }
            if self.greet(stream).is_err() {
                continue;
            }
        }
    }

    /// Takes `stream` as the gateway's connection and queues the `Hello` it is owed: a spare's
    /// gateway is already connected when the program starts.
    pub(super) fn greet(&mut self, stream: UnixStream) -> std::io::Result<()> {
        stream.set_nonblocking(true)?;
        // The gateway resizes the PTY itself once it has the master: the size is the PTY's.
        if self.pty_open
            && let Ok(size) = self.master.get_size()
        {
            self.size = (size.cols, size.rows);
        }
        let hello = Frame::Hello {
            version: wire::VERSION,
            pid: self.pid,
            log_start: self.log.start(),
            log_end: self.log.end(),
            cols: self.size.0,
            rows: self.size.1,
        };
        self.conn = Some(Conn {
            stream,
            inbuf: Vec::new(),
            out: hello.to_bytes(),
            out_pos: 0,
            attached: false,
            version: wire::VERSION,
            sent: 0,
            exit_sent: false,
            // Input an earlier gateway queued here still waits for the program: the new one's
            // input goes behind it, through this queue (as frames), on this connection. With an
            // empty queue the gateway's writes to the master come after every byte written here.
            pass_pty: self.pty_open && self.input.is_empty(),
        });
        Ok(())
    }

    /// Writes the connection's framed bytes while the socket takes them (the PTY master goes
    /// with the first, when it is to be passed); `true` if the connection failed.
    fn write_out(&mut self) -> bool {
        let Some(c) = &mut self.conn else { return false };
        while c.out_pos < c.out.len() {
            let rest = &c.out[c.out_pos..];
            let wrote = if c.pass_pty && self.pty_open {
                super::fdpass::send_with_fd(&c.stream, rest, self.pty.as_fd())
            } else {
                (&c.stream).write(rest)
            };
            match wrote {
                Ok(n) => {
                    // The descriptor went with these bytes.
                    c.pass_pty = false;
                    c.out_pos += n;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
        false
    }

    fn disconnected(&mut self) {
        holder_log!("controlroom holder {}: gateway disconnected", std::process::id());
        self.conn = None;
    }

    fn on_conn(&mut self, revents: PollFlags) {
        let mut closed =
            revents.intersects(PollFlags::HUP | PollFlags::ERR) && !revents.contains(PollFlags::IN);
        if revents.contains(PollFlags::OUT) && self.write_out() {
            closed = true;
        }
        let Some(c) = &mut self.conn else { return };
        if revents.contains(PollFlags::IN) {
            let mut chunk = [0u8; CONN_READ_CHUNK];
            match (&c.stream).read(&mut chunk) {
                Ok(0) => closed = true,
                Ok(n) => c.inbuf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => closed = true,
            }
        }
        if !closed {
            closed = self.handle_frames().is_err();
        }
        if closed {
            self.disconnected();
        }
    }

    /// Handles every whole frame the gateway sent; an error drops the connection.
    fn handle_frames(&mut self) -> Result<(), wire::WireError> {
        loop {
            let Some(c) = &mut self.conn else { return Ok(()) };
            let Some((used, body)) = wire::split_frame(&c.inbuf)? else { return Ok(()) };
            let frame = Frame::decode(body);
            c.inbuf.drain(..used);
            if c.inbuf.is_empty() && c.inbuf.capacity() > IDLE_KEEP {
                c.inbuf = Vec::new();
            }
            match frame? {
                Frame::Attach { version, from } => {
                    if !(wire::MIN_VERSION..=wire::VERSION).contains(&version) {
                        return Err(wire::WireError::Bad(format!(
                            "gateway speaks holder protocol {version}"
                        )));
                    }
                    c.attached = true;
                    c.version = version;
                    // A gateway whose saved screen is newer than this log goes on from its own
                    // offset: the log's numbering follows (nothing is sent twice or skipped).
                    self.log.continue_at(from);
                    c.sent = from.clamp(self.log.start(), self.log.end());
                    // The attach path was the last of start-up (and of an adoption): the binary's
                    // pages it mapped go soon after.
                    self.shed_soon();
                }
                Frame::Input { data } => {
                    if self.pty_open {
                        self.input.extend(data);
                        self.write_input();
                    }
                }
                Frame::Resize { cols, rows } => {
                    let size = portable_pty::PtySize { rows, cols, pixel_width: 0, pixel_height: 0 };
                    if self.pty_open && self.master.resize(size).is_ok() {
                        self.size = (cols, rows);
                    }
                }
                Frame::Signal { signal } => {
                    use rustix::process::Signal;
                    // Only these: a gateway may stop its program, nothing else.
                    let signal = [Signal::HUP, Signal::INT, Signal::TERM, Signal::KILL]
                        .into_iter()
                        .find(|s| s.as_raw() == signal);
                    if let Some(signal) = signal.filter(|_| self.pty_open) {
                        let _ = crate::worker::pty::killpg(self.pid, signal);
                    }
                }
                Frame::AckExit => {
                    if c.exit_sent {
                        self.done = true;
                    }
                }
                Frame::Saved { offset } if c.attached && c.version >= wire::SAVED_SINCE => {
                    let sent = c.sent;
                    self.saved(offset, sent);
                }
                other => return Err(wire::WireError::Bad(format!("unexpected frame {other:?}"))),
            }
        }
    }
}

/// Frames log output (and, after the last of it, the exit) into an attached connection's
/// outgoing buffer once the previous batch is written.
fn fill(c: &mut Conn, log: &Log, exit: Option<Exit>, pty_open: bool) {
    if !c.attached || c.out_pos < c.out.len() {
        return;
    }
    c.out.clear();
    c.out_pos = 0;
    if c.out.capacity() > IDLE_KEEP && c.sent >= log.end() {
        c.out = Vec::new();
    }
    // Cannot happen while attached (reads stop at the high-water mark); never send a stale offset.
    c.sent = c.sent.max(log.start());
    while c.out.len() < OUT_BATCH && c.sent < log.end() {
        let want = usize::try_from(log.end() - c.sent).unwrap_or(usize::MAX).min(wire::OUTPUT_CHUNK);
        let header_at = c.out.len();
        wire::output_header(&mut c.out, c.sent, want);
        let got = log.copy_into(c.sent, want, &mut c.out);
        if got != want {
            // The log moved under us (it cannot while we hold it); drop the partial frame.
            c.out.truncate(header_at);
            break;
        }
        c.sent += got as u64;
    }
    if c.sent == log.end()
        && !pty_open
        && !c.exit_sent
        && let Some(exit) = exit
    {
        Frame::Exited { exit }.encode(&mut c.out);
        c.exit_sent = true;
    }
}

/// How long after start-up or an attach the holder lets go of the binary's pages: not at once
/// (the shed is some 40 syscalls, and on a small machine a new worker's first output and the
/// gateway's answer would share the CPU with it; it once ran as soon as the first output went
/// out, BENCHMARKS.md issue 17), and soon enough that a holder's memory is its own.
const SHED_WAIT: Duration = Duration::from_millis(50);

/// `d` as `poll` takes it.
pub(super) fn timespec(d: Duration) -> rustix::event::Timespec {
    rustix::event::Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

/// Polls `fds` until one is ready or `timeout` passed.
fn poll(fds: &mut [PollFd<'_>], timeout: Option<&rustix::event::Timespec>) -> std::io::Result<()> {
    loop {
        // No timeout but the one after an attach: an idle holder sleeps here until something
        // happens (no wake-ups).
        match rustix::event::poll(fds, timeout) {
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}
