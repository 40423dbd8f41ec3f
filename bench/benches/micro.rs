//! Micro benchmarks (divan): screen models on the generated inputs — vt100 0.18 as the worker
//! used it (with the scrollback capture callback), alacritty_terminal 0.26, the bare `vte` parser
//! (the floor) and our lean model — plus the UTF-8 splitter and the output-message encoder, and
//! the front end's model (vt100 0.18 as the TUI used it against `controlroom-term`, both keeping
//! the TUI's default 5,000 lines of scrollback).
//!
//! `cargo bench -p controlroom-bench --bench micro`; CONTROLROOM_BENCH_MB sets the input size
//! (default 8 MB per input). Throughput is what divan prints as bytes/s.

use controlroom_bench::{ansi_log, base64_text, through_pty};
use controlroom_server::bench_api::{Screen, Splitter, encode_output};
use divan::Bencher;
use divan::counter::BytesCount;
use std::num::NonZeroU16;
use std::sync::OnceLock;

const COLS: u16 = 200;
const ROWS: u16 = 50;
/// Output arrives in 64 KiB reads from the PTY.
const CHUNK: usize = 64 * 1024;
/// The worker's default scrollback cap.
const SCROLLBACK_BYTES: usize = 4 * 1024 * 1024;

fn main() {
    divan::main();
}

fn input_mb() -> usize {
    std::env::var("CONTROLROOM_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(8)
}

fn input(name: &str) -> &'static [u8] {
    static ANSI: OnceLock<Vec<u8>> = OnceLock::new();
    static BASE64: OnceLock<Vec<u8>> = OnceLock::new();
    let size = input_mb() * 1_000_000;
    match name {
        "ansi" => ANSI.get_or_init(|| through_pty(&ansi_log(size))),
        _ => BASE64.get_or_init(|| through_pty(&base64_text(size))),
    }
}

const INPUTS: [&str; 2] = ["ansi", "base64"];

/// The scrollback capture the worker used with vt100 (formatted rows, as before the lean model).
#[derive(Default)]
struct Vt100Capture {
    lines: Vec<(String, bool)>,
}

struct Probe(bool);
impl std::fmt::Write for Probe {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 = s.starts_with('\n');
        Err(std::fmt::Error)
    }
}

impl vt100::Callbacks for Vt100Capture {
    fn on_scroll(&mut self, contents: vt100::capture::RowContents<'_>, alternate: bool) {
        if alternate {
            return;
        }
        let mut text = String::new();
        let mut state = vt100::capture::BasicFormattedCaptureState::new();
        let _ = contents.write_formatted_basic(&mut text, &mut state);
        let mut probe = Probe(false);
        let _ = contents.write_formatted_basic(&mut probe, &mut state);
        if self.lines.len() > 20_000 {
            self.lines.clear();
        }
        self.lines.push((text, !probe.0));
    }
}

fn nz(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}

/// vt100 0.18 as the worker used it: no in-parser scrollback, rows captured on scroll.
#[divan::bench(args = INPUTS, sample_count = 5, sample_size = 1)]
fn screen_vt100_0_18(bencher: Bencher, name: &str) {
    let data = input(name);
    bencher.counter(BytesCount::new(data.len())).bench_local(|| {
        let mut p = vt100::Parser::new_with_callbacks(nz(ROWS), nz(COLS), 0, Vt100Capture::default());
        for chunk in data.chunks(CHUNK) {
            p.process(chunk);
        }
        divan::black_box(p.screen().cursor_position())
    });
}

mod alacritty {
    use alacritty_terminal::event::VoidListener;
    use alacritty_terminal::grid::Dimensions;
    use alacritty_terminal::term::{Config, Term};
    use alacritty_terminal::vte::ansi::Processor;

    struct Size;
    impl Dimensions for Size {
        fn total_lines(&self) -> usize {
            usize::from(super::ROWS)
        }
        fn screen_lines(&self) -> usize {
            usize::from(super::ROWS)
        }
        fn columns(&self) -> usize {
            usize::from(super::COLS)
        }
    }

    pub(super) fn run(data: &[u8], history: usize) -> usize {
        let config = Config { scrolling_history: history, ..Config::default() };
        let mut term = Term::new(config, &Size, VoidListener);
        let mut parser: Processor = Processor::new();
        for chunk in data.chunks(super::CHUNK) {
            parser.advance(&mut term, chunk);
        }
        term.grid().cursor.point.column.0
    }
}

/// alacritty_terminal 0.26 with 10,000 lines of in-parser scrollback (its natural use).
#[divan::bench(args = INPUTS, sample_count = 5, sample_size = 1)]
fn screen_alacritty_0_26(bencher: Bencher, name: &str) {
    let data = input(name);
    bencher
        .counter(BytesCount::new(data.len()))
        .bench_local(|| divan::black_box(alacritty::run(data, 10_000)));
}

/// The bare `vte` parser with a do-nothing performer: the floor for any model built on it.
#[divan::bench(args = INPUTS, sample_count = 5, sample_size = 1)]
fn screen_vte_floor(bencher: Bencher, name: &str) {
    struct Count(usize);
    impl vte::Perform for Count {
        fn print(&mut self, _c: char) {
            self.0 += 1;
        }
    }
    let data = input(name);
    bencher.counter(BytesCount::new(data.len())).bench_local(|| {
        let mut p = vte::Parser::new();
        let mut n = Count(0);
        for chunk in data.chunks(CHUNK) {
            p.advance(&mut n, chunk);
        }
        divan::black_box(n.0)
    });
}

/// Ours: the lean model with the worker's compact scrollback (4 MiB), as shipped.
#[divan::bench(args = INPUTS, sample_count = 5, sample_size = 1)]
fn screen_lean_controlroom(bencher: Bencher, name: &str) {
    let data = input(name);
    bencher.counter(BytesCount::new(data.len())).bench_local(|| {
        let mut s = Screen::new(COLS, ROWS, SCROLLBACK_BYTES);
        for chunk in data.chunks(CHUNK) {
            s.feed(chunk);
        }
        divan::black_box(s.lines().len())
    });
}

/// The TUI's default `scrollback-lines`.
const FRONT_END_SCROLLBACK_LINES: usize = 5_000;

/// vt100 0.18 as the TUI used it: `Parser::new(rows, cols, 5_000)`, rows kept in its scrollback.
#[divan::bench(args = INPUTS, sample_count = 5, sample_size = 1)]
fn front_end_vt100_0_18(bencher: Bencher, name: &str) {
    let data = input(name);
    bencher.counter(BytesCount::new(data.len())).bench_local(|| {
        let mut p = vt100::Parser::new(nz(ROWS), nz(COLS), FRONT_END_SCROLLBACK_LINES);
        for chunk in data.chunks(CHUNK) {
            p.process(chunk);
        }
        divan::black_box(p.screen().scrollback_len())
    });
}

/// The front end's model now: `controlroom-term` with the same scrollback (rows kept trimmed, in
/// reused allocations), and with none (what keeping the scrollback costs).
#[divan::bench(consts = [FRONT_END_SCROLLBACK_LINES, 0], args = INPUTS, sample_count = 5, sample_size = 1)]
fn front_end_lean_controlroom<const LINES: usize>(bencher: Bencher, name: &str) {
    let data = input(name);
    bencher.counter(BytesCount::new(data.len())).bench_local(|| {
        let mut p = controlroom_term::Parser::with_scrollback(ROWS, COLS, LINES, ());
        for chunk in data.chunks(CHUNK) {
            p.process(chunk);
        }
        divan::black_box(p.term().scrollback_len())
    });
}

/// A `history` snapshot of a full scrollback (what a client attaching waits for).
#[divan::bench(sample_count = 20)]
fn snapshot_full_scrollback(bencher: Bencher) {
    let mut s = Screen::new(COLS, ROWS, SCROLLBACK_BYTES);
    for chunk in input("ansi").chunks(CHUNK) {
        s.feed(chunk);
    }
    bencher.bench_local(|| divan::black_box(s.snapshot_len()));
}

/// The same snapshot once the scrollback's cold rows are packed (what an attach after a burst
/// waits for: the rows are unpacked one buffer at a time).
#[divan::bench(sample_count = 20)]
fn snapshot_full_scrollback_packed(bencher: Bencher) {
    let mut s = Screen::new(COLS, ROWS, SCROLLBACK_BYTES);
    for chunk in input("ansi").chunks(CHUNK) {
        s.feed(chunk);
    }
    s.pack_scrollback();
    bencher.bench_local(|| divan::black_box(s.snapshot_len()));
}

/// Packing a full scrollback's cold rows, once (what the screen thread does after a burst).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn pack_full_scrollback(bencher: Bencher) {
    bencher
        .with_inputs(|| {
            let mut s = Screen::new(COLS, ROWS, SCROLLBACK_BYTES);
            for chunk in input("ansi").chunks(CHUNK) {
                s.feed(chunk);
            }
            s
        })
        .bench_local_values(|mut s| divan::black_box(s.pack_scrollback()));
}

/// The UTF-8 boundary splitter on 64 KiB reads.
#[divan::bench(sample_count = 20)]
fn utf8_split_64k(bencher: Bencher) {
    let data = &input("ansi")[..CHUNK * 16];
    let mut s = Splitter::default();
    bencher.counter(BytesCount::new(data.len())).bench_local(|| {
        let mut n = 0;
        for chunk in data.chunks(CHUNK) {
            n += s.split(chunk).len();
        }
        divan::black_box(n)
    });
}

/// Encoding one 64 KiB `output` message (done once per batch, shared by every client).
#[divan::bench(args = INPUTS, sample_count = 20)]
fn encode_output_64k(bencher: Bencher, name: &str) {
    let data = &input(name)[..CHUNK];
    bencher
        .counter(BytesCount::new(data.len()))
        .bench_local(|| divan::black_box(encode_output(data, 1234).len()));
}
