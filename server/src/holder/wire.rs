//! The holder protocol: versioned, length-prefixed binary frames between a worker's holder
//! process and the gateway that adopted it, over the holder's Unix socket.
//!
//! A frame is a 4-byte big-endian length (of what follows), a 1-byte type and its fields, all
//! integers big-endian. The holder speaks first (`Hello`); the gateway answers `Attach` with the
//! stream offset it wants output from. Bump [`VERSION`] on any change. A gateway adopts holders
//! of every version from [`MIN_VERSION`] to its own and speaks each one's version (its `Attach`
//! names it; a frame newer than that is never sent to it), so an upgraded gateway adopts the
//! holders its predecessor started; a holder of any other version is reported, never killed.
//!
//! Versions: 1 — the first; 2 — `Saved` (the gateway's committed screen save covers the stream
//! up to an offset: the holder may drop its log before it), a new holder's log starts at the
//! worker's stream offset (its spec's `offset`), so holder and gateway count bytes alike, and
//! spare holders: a spare (started ahead, no program yet) says `Hello` with pid 0; the gateway
//! that takes it sends `Spawn`, and the spare answers with the `Hello` of the worker it now holds
//! (then `Attach` as on any connection) or `SpawnFailed` (and ends); 3 — the holder passes its
//! PTY master with the bytes of its `Hello` (`SCM_RIGHTS`, `fdpass.rs`) when no input of an
//! earlier gateway is still queued in it: the gateway then writes input and resizes on that
//! descriptor itself and sends no `Input` or `Resize` (the holder is not woken per keystroke);
//! without one (an older holder, or input still queued) input and resizes go as frames, as before.

use std::io::{Read, Write};

/// The newest protocol version, the one a holder of this build speaks.
pub const VERSION: u16 = 3;

/// The oldest holder protocol version this gateway still speaks (to adopt holders that an
/// older gateway started; version 1 lacks only `Saved`, never sent to it, and the spare frames,
/// sent to spares alone, which are never adopted).
pub const MIN_VERSION: u16 = 1;

/// The first version whose holders can be spares.
pub const SPARE_VERSION: u16 = 2;

/// The first version with [`Frame::Saved`].
pub const SAVED_SINCE: u16 = 2;

/// The first version whose holders pass their PTY master with `Hello` (see the module
/// comment); a descriptor from an older holder is not used.
pub const DIRECT_INPUT_SINCE: u16 = 3;

/// Whether a gateway of this build can speak to a peer of protocol `version`.
pub fn speaks(version: u16) -> bool {
    (MIN_VERSION..=VERSION).contains(&version)
}

/// Largest frame accepted (a 64 KiB output chunk plus headers fits with room to spare).
pub const MAX_FRAME: usize = 1024 * 1024;

/// Bytes of output per `Output` frame at most.
pub const OUTPUT_CHUNK: usize = 64 * 1024;

/// How a program ended, as the holder saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal number.
    Signal(i32),
}

/// Every frame of the protocol, in both directions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Holder → gateway, first on every connection.
    Hello {
        /// The holder's protocol version.
        version: u16,
        /// The program's pid (its process group and session id).
        pid: u32,
        /// Oldest stream offset still in the holder's log.
        log_start: u64,
        /// Stream offset one past the newest byte read from the PTY.
        log_end: u64,
        /// The PTY's size.
        cols: u16,
        /// The PTY's size.
        rows: u16,
    },
    /// Holder → gateway: program output at an absolute stream offset.
    Output {
        /// Stream offset of the first byte.
        offset: u64,
        /// The bytes, as read from the PTY.
        data: Vec<u8>,
    },
    /// Holder → gateway: the program ended (after its last output).
    Exited {
        /// How.
        exit: Exit,
    },
    /// Holder → gateway: another gateway is connected; this connection is refused.
    Busy,
    /// Gateway → holder, answering `Hello`.
    Attach {
        /// The gateway's protocol version.
        version: u16,
        /// Send output from this stream offset (clamped to the log).
        from: u64,
    },
    /// Gateway → holder: bytes to type.
    Input {
        /// The bytes.
        data: Vec<u8>,
    },
    /// Gateway → holder: new PTY size.
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// Gateway → holder: signal the program's process group (SIGHUP or SIGKILL only).
    Signal {
        /// Signal number.
        signal: i32,
    },
    /// Gateway → holder: the exit is recorded; the holder removes its socket and ends.
    AckExit,
    /// Gateway → spare holder: start this program (`HolderSpec` as JSON, with the worker's
    /// `key`); the spare renames its socket and log to the worker's and answers `Hello`.
    Spawn {
        /// The spec, JSON.
        spec: Vec<u8>,
    },
    /// Spare holder → gateway: the program could not start (why, UTF-8); the spare then ends.
    SpawnFailed {
        /// Why.
        message: String,
    },
    /// Gateway → holder (version 2 on): a committed screen save covers the stream up to
    /// `offset`; a next gateway resumes from there, so the log before it may go.
    Saved {
        /// Stream offset the saved screen reflects.
        offset: u64,
    },
}

const HELLO: u8 = 1;
/// The type byte of `Output` frames (read specially: straight into the caller's buffer).
pub const OUTPUT_TYPE: u8 = 2;
const OUTPUT: u8 = OUTPUT_TYPE;
const EXITED: u8 = 3;
const BUSY: u8 = 4;
const ATTACH: u8 = 11;
const INPUT: u8 = 12;
const RESIZE: u8 = 13;
const SIGNAL: u8 = 14;
const ACK_EXIT: u8 = 15;
const SPAWN: u8 = 30;
const SPAWN_FAILED: u8 = 31;
const SAVED: u8 = 16;

/// A frame that could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The peer sent something this version does not know.
    #[error("bad holder frame: {0}")]
    Bad(String),
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Appends the encoding of an `Output` frame header (length, type, offset) for `len` bytes of
/// data; the caller appends the data itself, so output is copied once.
pub fn output_header(out: &mut Vec<u8>, offset: u64, len: usize) {
    let body = 1 + 8 + len;
    out.extend_from_slice(&u32::try_from(body).unwrap_or(u32::MAX).to_be_bytes());
    out.push(OUTPUT);
    out.extend_from_slice(&offset.to_be_bytes());
}

/// Appends the encoding of an `Input` frame header (length, type) for `len` bytes of data; the
/// caller appends the data itself, so input is copied once.
pub fn input_header(out: &mut Vec<u8>, len: usize) {
    let body = 1 + len;
    out.extend_from_slice(&u32::try_from(body).unwrap_or(u32::MAX).to_be_bytes());
    out.push(INPUT);
}

impl Frame {
    /// Appends the frame's encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        match self {
            Frame::Hello { version, pid, log_start, log_end, cols, rows } => {
                out.push(HELLO);
                out.extend_from_slice(&version.to_be_bytes());
                out.extend_from_slice(&pid.to_be_bytes());
                out.extend_from_slice(&log_start.to_be_bytes());
                out.extend_from_slice(&log_end.to_be_bytes());
                out.extend_from_slice(&cols.to_be_bytes());
                out.extend_from_slice(&rows.to_be_bytes());
            }
            Frame::Output { offset, data } => {
                out.push(OUTPUT);
                out.extend_from_slice(&offset.to_be_bytes());
                out.extend_from_slice(data);
            }
            Frame::Exited { exit } => {
                out.push(EXITED);
                let (kind, value) = match exit {
                    Exit::Code(c) => (0u8, *c),
                    Exit::Signal(s) => (1u8, *s),
                };
                out.push(kind);
                out.extend_from_slice(&value.to_be_bytes());
            }
            Frame::Busy => out.push(BUSY),
            Frame::Attach { version, from } => {
                out.push(ATTACH);
                out.extend_from_slice(&version.to_be_bytes());
                out.extend_from_slice(&from.to_be_bytes());
            }
            Frame::Input { data } => {
                out.push(INPUT);
                out.extend_from_slice(data);
            }
            Frame::Resize { cols, rows } => {
                out.push(RESIZE);
                out.extend_from_slice(&cols.to_be_bytes());
                out.extend_from_slice(&rows.to_be_bytes());
            }
            Frame::Signal { signal } => {
                out.push(SIGNAL);
                out.extend_from_slice(&signal.to_be_bytes());
            }
            Frame::AckExit => out.push(ACK_EXIT),
            Frame::Spawn { spec } => {
                out.push(SPAWN);
                out.extend_from_slice(spec);
            }
            Frame::SpawnFailed { message } => {
                out.push(SPAWN_FAILED);
                out.extend_from_slice(message.as_bytes());
            }
            Frame::Saved { offset } => {
                out.push(SAVED);
                out.extend_from_slice(&offset.to_be_bytes());
            }
        }
        let len = u32::try_from(out.len() - start - 4).unwrap_or(u32::MAX);
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// The frame's encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes one frame body (type byte and fields, without the length prefix).
    pub fn decode(body: &[u8]) -> Result<Frame, WireError> {
        let (&kind, rest) = body.split_first().ok_or_else(|| WireError::Bad("empty frame".into()))?;
        let mut f = Fields(rest);
        let frame = match kind {
            HELLO => Frame::Hello {
                version: f.u16()?,
                pid: f.u32()?,
                log_start: f.u64()?,
                log_end: f.u64()?,
                cols: f.u16()?,
                rows: f.u16()?,
            },
            OUTPUT => Frame::Output { offset: f.u64()?, data: f.0.to_vec() },
            EXITED => {
                let kind = f.u8()?;
                let value = f.i32()?;
                Frame::Exited { exit: if kind == 0 { Exit::Code(value) } else { Exit::Signal(value) } }
            }
            BUSY => Frame::Busy,
            ATTACH => Frame::Attach { version: f.u16()?, from: f.u64()? },
            INPUT => Frame::Input { data: f.0.to_vec() },
            RESIZE => Frame::Resize { cols: f.u16()?, rows: f.u16()? },
            SIGNAL => Frame::Signal { signal: f.i32()? },
            ACK_EXIT => Frame::AckExit,
            SPAWN => Frame::Spawn { spec: f.0.to_vec() },
            SPAWN_FAILED => Frame::SpawnFailed { message: String::from_utf8_lossy(f.0).into_owned() },
            SAVED => Frame::Saved { offset: f.u64()? },
            other => return Err(WireError::Bad(format!("unknown frame type {other}"))),
        };
        Ok(frame)
    }

    /// Reads one whole frame from a blocking reader; `Ok(None)` at a clean end of stream.
    pub fn read_from(r: &mut impl Read) -> Result<Option<Frame>, WireError> {
        let mut len = [0u8; 4];
        match r.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 || len > MAX_FRAME {
            return Err(WireError::Bad(format!("frame length {len}")));
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body)?;
        Frame::decode(&body).map(Some)
    }

    /// Writes the frame to a blocking writer.
    pub fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(&self.to_bytes())
    }
}

/// Splits whole frames off the front of a buffer filled by non-blocking reads: the length of
/// the first complete frame (prefix included) and its body, or `None` when more bytes are needed.
pub fn split_frame(buf: &[u8]) -> Result<Option<(usize, &[u8])>, WireError> {
    let Some(prefix) = buf.get(..4) else { return Ok(None) };
    let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
    if len == 0 || len > MAX_FRAME {
        return Err(WireError::Bad(format!("frame length {len}")));
    }
    Ok(buf.get(4..4 + len).map(|body| (4 + len, body)))
}

struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let (head, rest) = self.0.split_at_checked(N).ok_or_else(|| WireError::Bad("short frame".into()))?;
        self.0 = rest;
        let mut out = [0u8; N];
        out.copy_from_slice(head);
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, WireError> {
        self.take().map(u16::from_be_bytes)
    }
    fn u32(&mut self) -> Result<u32, WireError> {
        self.take().map(u32::from_be_bytes)
    }
    fn i32(&mut self) -> Result<i32, WireError> {
        self.take().map(i32::from_be_bytes)
    }
    fn u64(&mut self) -> Result<u64, WireError> {
        self.take().map(u64::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_round_trips() {
        let frames = [
            Frame::Hello { version: VERSION, pid: 42, log_start: 7, log_end: 99, cols: 80, rows: 24 },
            Frame::Output { offset: 1 << 40, data: b"hello\x1b[m".to_vec() },
            Frame::Exited { exit: Exit::Code(3) },
            Frame::Exited { exit: Exit::Signal(9) },
            Frame::Busy,
            Frame::Attach { version: VERSION, from: 12345 },
            Frame::Input { data: b"ls\r".to_vec() },
            Frame::Resize { cols: 120, rows: 40 },
            Frame::Signal { signal: 1 },
            Frame::AckExit,
            Frame::Spawn { spec: br#"{"command":["sh"]}"#.to_vec() },
            Frame::SpawnFailed { message: "no such program".into() },
            Frame::Saved { offset: 1 << 33 },
        ];
        let mut stream = Vec::new();
        for f in &frames {
            f.encode(&mut stream);
        }
        let mut r = std::io::Cursor::new(stream.clone());
        for f in &frames {
            assert_eq!(Frame::read_from(&mut r).expect("read").as_ref(), Some(f));
        }
        assert!(Frame::read_from(&mut r).expect("eof").is_none());
        // The non-blocking splitter agrees.
        let (used, body) = split_frame(&stream).expect("ok").expect("whole");
        assert_eq!(Frame::decode(body).expect("decode"), frames[0]);
        assert!(split_frame(&stream[..used - 1]).expect("ok").is_none());
    }

    #[test]
    fn output_header_matches_encode() {
        let mut a = Vec::new();
        output_header(&mut a, 77, 3);
        a.extend_from_slice(b"abc");
        assert_eq!(a, Frame::Output { offset: 77, data: b"abc".to_vec() }.to_bytes());
        let mut b = Vec::new();
        input_header(&mut b, 2);
        b.extend_from_slice(b"ls");
        assert_eq!(b, Frame::Input { data: b"ls".to_vec() }.to_bytes());
    }

    #[test]
    fn this_gateway_speaks_the_versions_of_older_holders() {
        assert!(speaks(VERSION) && speaks(1), "version 1 holders are still adopted");
        assert!(!speaks(0) && !speaks(VERSION + 1));
        const { assert!(SAVED_SINCE > 1 && SAVED_SINCE <= VERSION) };
        const { assert!(DIRECT_INPUT_SINCE > SAVED_SINCE && DIRECT_INPUT_SINCE <= VERSION) };
    }

    #[test]
    fn garbage_is_refused() {
        assert!(Frame::decode(&[99]).is_err());
        assert!(Frame::decode(&[HELLO, 0]).is_err());
        assert!(split_frame(&[0, 0, 0, 0]).is_err());
        assert!(split_frame(&u32::MAX.to_be_bytes()).is_err());
    }
}
