//! Answers to the queries a program sends its terminal (cursor position, device attributes,
//! modes, colours, size), built from the screen's own state into a small bounded buffer that
//! the caller drains after each feed ([`crate::Parser::take_replies`]) and writes back to the
//! program. Off unless [`crate::Parser::answer_queries`] turned it on: the gateway, which is
//! every worker's terminal, answers; a front end's copy of the same screen must not (the program
//! would get two answers).
//!
//! Byte order and terminators follow xterm (and tmux where the two differ in ways programs
//! notice): an OSC colour answer ends with the terminator its query used (BEL or ST).

use super::{MODE_ALT_SCREEN, MouseEncoding, MouseMode, Term, TermSink};
use std::io::Write as _;

/// Most reply bytes held between two drains. A program that floods queries without reading the
/// answers loses the ones past this (a whole reply is kept or dropped, never cut), so the buffer
/// stays small whatever it sends; one feed is at most a batch of output, and real programs send
/// a handful of queries at start-up.
pub const MAX_PENDING_REPLY_BYTES: usize = 16 * 1024;

/// An sRGB colour, 8 bits a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
}

impl Rgb {
    /// Parses `#rrggbb` (the `#` optional, hex digits in either case).
    pub fn from_hex(text: &str) -> Option<Rgb> {
        let hex = text.strip_prefix('#').unwrap_or(text);
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Rgb { r: channel(0)?, g: channel(2)?, b: channel(4)? })
    }
}

/// The colours a program reads with OSC 10, 11 and 12.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Palette {
    /// Default foreground (OSC 10).
    pub foreground: Rgb,
    /// Default background (OSC 11).
    pub background: Rgb,
    /// Cursor colour (OSC 12).
    pub cursor: Rgb,
}

impl Palette {
    /// Default foreground `#d0d0d0`: light grey, as on a dark terminal.
    pub const DEFAULT_FOREGROUND: Rgb = Rgb { r: 0xd0, g: 0xd0, b: 0xd0 };
    /// Default background `#1c1c1c`: near black, so programs that pick a theme from it choose
    /// their dark one (most front ends run on a dark terminal).
    pub const DEFAULT_BACKGROUND: Rgb = Rgb { r: 0x1c, g: 0x1c, b: 0x1c };
}

impl Default for Palette {
    /// The documented defaults; the cursor takes the foreground colour.
    fn default() -> Self {
        Palette {
            foreground: Palette::DEFAULT_FOREGROUND,
            background: Palette::DEFAULT_BACKGROUND,
            cursor: Palette::DEFAULT_FOREGROUND,
        }
    }
}

/// What the screen answers with beyond its own state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyConfig {
    /// Name and version for XTVERSION (`CSI > q`), e.g. `controlroom 0.1.0`.
    pub version: String,
    /// Colours for OSC 10/11/12 queries.
    pub palette: Palette,
    /// Nominal size of a cell in pixels, (width, height), for the pixel size reports
    /// (`CSI 14 t`, `CSI 16 t`): the gateway has no font, and the PTY carries no pixel size.
    pub cell_pixels: (u16, u16),
}

impl ReplyConfig {
    /// Default of [`ReplyConfig::cell_pixels`]: 8 × 16, a common console cell.
    pub const DEFAULT_CELL_PIXELS: (u16, u16) = (8, 16);

    /// Defaults with `version` as the XTVERSION answer.
    pub fn new(version: impl Into<String>) -> Self {
        ReplyConfig {
            version: version.into(),
            palette: Palette::default(),
            cell_pixels: Self::DEFAULT_CELL_PIXELS,
        }
    }
}

/// The answering side of a screen: its configuration and the replies not yet drained.
#[derive(Debug)]
pub(crate) struct Replies {
    config: ReplyConfig,
    out: Vec<u8>,
}

impl Replies {
    pub(crate) fn new(config: ReplyConfig) -> Self {
        Replies { config, out: Vec::new() }
    }

    /// The replies gathered since the last call, if any.
    pub(crate) fn take(&mut self) -> Option<Vec<u8>> {
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }
}

/// What a DECRQM answer says about a mode.
#[derive(Clone, Copy)]
enum ModeState {
    NotRecognized = 0,
    Set = 1,
    Reset = 2,
    PermanentlyReset = 4,
}

impl ModeState {
    fn of(on: bool) -> Self {
        if on { ModeState::Set } else { ModeState::Reset }
    }
}

impl<S: TermSink> Term<S> {
    /// Appends one reply built by `write` (whole, or not at all past the cap). Writing into a
    /// `Vec` cannot fail, so its results are ignored.
    fn reply(&mut self, write: impl FnOnce(&mut Vec<u8>, &ReplyConfig)) {
        let Some(replies) = self.replies.as_deref_mut() else { return };
        let before = replies.out.len();
        write(&mut replies.out, &replies.config);
        if replies.out.len() > MAX_PENDING_REPLY_BYTES {
            replies.out.truncate(before);
        }
    }

    /// Whether queries are answered at all (checked before any work on a query).
    #[inline]
    pub(crate) fn answers(&self) -> bool {
        self.replies.is_some()
    }

    /// The cursor as a report gives it: 1-based, the row relative to the scroll region in
    /// origin mode, and the column of a cursor parked past the last column (pending wrap) as
    /// the last one, as xterm reports it.
    fn reported_cursor(&self) -> (u16, u16) {
        let g = self.grid();
        let row = g.origin_relative_row();
        let col = g.pos.col.min(g.cols.saturating_sub(1));
        (row + 1, col + 1)
    }

    /// DSR (`CSI 5 n`, `CSI 6 n`).
    pub(crate) fn device_status(&mut self, param: u16) {
        match param {
            5 => self.reply(|out, _| out.extend_from_slice(b"\x1b[0n")),
            6 => {
                let (row, col) = self.reported_cursor();
                self.reply(|out, _| {
                    let _ = write!(out, "\x1b[{row};{col}R");
                });
            }
            _ => {}
        }
    }

    /// DEC-private DSR: DECXCPR (`CSI ? 6 n`) answers with the page, always 1.
    pub(crate) fn dec_device_status(&mut self, param: u16) {
        if param == 6 {
            let (row, col) = self.reported_cursor();
            self.reply(|out, _| {
                let _ = write!(out, "\x1b[?{row};{col};1R");
            });
        }
    }

    /// Primary DA (`CSI c`, `CSI 0 c`): a VT100 with advanced video, as tmux answers.
    pub(crate) fn primary_attributes(&mut self, param: u16) {
        if param == 0 {
            self.reply(|out, _| out.extend_from_slice(b"\x1b[?1;2c"));
        }
    }

    /// Secondary DA (`CSI > c`): terminal type 1 (VT220), version 0, no ROM cartridge. Not
    /// xterm's 41 or tmux's 84, which programs read as "that terminal, that version" and use
    /// features (or passthrough) of it.
    pub(crate) fn secondary_attributes(&mut self, param: u16) {
        if param == 0 {
            self.reply(|out, _| out.extend_from_slice(b"\x1b[>1;0;0c"));
        }
    }

    /// Tertiary DA (`CSI = c`): DECRPTUI with a zero unit id, as xterm answers.
    pub(crate) fn tertiary_attributes(&mut self, param: u16) {
        if param == 0 {
            self.reply(|out, _| out.extend_from_slice(b"\x1bP!|00000000\x1b\\"));
        }
    }

    /// XTVERSION (`CSI > q`, `CSI > 0 q`): `DCS > | name version ST`.
    pub(crate) fn terminal_version(&mut self, param: u16) {
        if param == 0 {
            self.reply(|out, config| {
                out.extend_from_slice(b"\x1bP>|");
                out.extend_from_slice(config.version.as_bytes());
                out.extend_from_slice(b"\x1b\\");
            });
        }
    }

    /// XTWINOPS reports (`CSI 14/16/18/19 t`); the window operations themselves are ignored.
    pub(crate) fn window_report(&mut self, param: u16) {
        let (rows, cols) = self.size();
        match param {
            14 => self.reply(|out, c| {
                let (w, h) = c.cell_pixels;
                let (height, width) = (u32::from(rows) * u32::from(h), u32::from(cols) * u32::from(w));
                let _ = write!(out, "\x1b[4;{height};{width}t");
            }),
            16 => self.reply(|out, c| {
                let (w, h) = c.cell_pixels;
                let _ = write!(out, "\x1b[6;{h};{w}t");
            }),
            18 => self.reply(|out, _| {
                let _ = write!(out, "\x1b[8;{rows};{cols}t");
            }),
            19 => self.reply(|out, _| {
                let _ = write!(out, "\x1b[9;{rows};{cols}t");
            }),
            _ => {}
        }
    }

    /// DECRQM for a DEC private mode (`CSI ? Ps $ p`): `CSI ? Ps ; Pm $ y`.
    pub(crate) fn report_dec_mode(&mut self, mode: u16) {
        let state = match mode {
            1 => ModeState::of(self.application_cursor()),
            6 => ModeState::of(self.grid().origin_mode()),
            7 => ModeState::of(self.autowrap()),
            9 => ModeState::of(self.mouse_mode() == MouseMode::Press),
            25 => ModeState::of(!self.hide_cursor()),
            47 | 1049 => ModeState::of(self.state.modes & MODE_ALT_SCREEN != 0),
            1000 => ModeState::of(self.mouse_mode() == MouseMode::PressRelease),
            1002 => ModeState::of(self.mouse_mode() == MouseMode::ButtonMotion),
            1003 => ModeState::of(self.mouse_mode() == MouseMode::AnyMotion),
            1005 => ModeState::of(self.mouse_encoding() == MouseEncoding::Utf8),
            1006 => ModeState::of(self.mouse_encoding() == MouseEncoding::Sgr),
            2004 => ModeState::of(self.bracketed_paste()),
            2026 => ModeState::of(self.synchronized_output()),
            // Not modes the model follows (1047, 1004, …): a program that asks learns it cannot
            // rely on them.
            _ => ModeState::NotRecognized,
        };
        self.reply(|out, _| {
            let _ = write!(out, "\x1b[?{mode};{}$y", state as u8);
        });
    }

    /// DECRQM for an ANSI mode (`CSI Ps $ p`): insert (4) and newline (20) modes are not
    /// implemented, so permanently reset; anything else is not recognised.
    pub(crate) fn report_ansi_mode(&mut self, mode: u16) {
        let state = match mode {
            4 if self.insert_mode() => ModeState::Set,
            4 => ModeState::Reset,
            20 => ModeState::PermanentlyReset,
            _ => ModeState::NotRecognized,
        };
        self.reply(|out, _| {
            let _ = write!(out, "\x1b[{mode};{}$y", state as u8);
        });
    }

    /// OSC 10/11/12 with `?` in place of a colour: answered from the palette, one reply per
    /// `?` (a query may ask for the next colours too, `OSC 10;?;? ST`), ending with the
    /// query's own terminator. Returns false when `params` is not such a query.
    pub(crate) fn colour_query(&mut self, params: &[&[u8]], bell_terminated: bool) -> bool {
        let first = match params.first().copied() {
            Some(b"10") => 10u8,
            Some(b"11") => 11,
            Some(b"12") => 12,
            _ => return false,
        };
        if !params[1..].iter().any(|p| *p == b"?") {
            return false;
        }
        let end: &[u8] = if bell_terminated { b"\x07" } else { b"\x1b\\" };
        for (code, param) in (first..=12).zip(&params[1..]) {
            if *param != b"?" {
                continue;
            }
            self.reply(|out, config| {
                let p = &config.palette;
                let Rgb { r, g, b } = match code {
                    10 => p.foreground,
                    11 => p.background,
                    _ => p.cursor,
                };
                // 16 bits a channel, each byte doubled, as xterm answers.
                let _ = write!(out, "\x1b]{code};rgb:{r:02x}{r:02x}/{g:02x}{g:02x}/{b:02x}{b:02x}");
                out.extend_from_slice(end);
            });
        }
        true
    }
}
