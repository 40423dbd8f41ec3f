//! A driver for instruction counts (`valgrind --tool=callgrind`): feeds a generated input through
//! the gateway's screen model exactly as the worker does (64 KiB reads, 200×50, 4 MiB compact
//! scrollback), so before/after counts compare the same work.
//!
//! `cargo run --release -p controlroom-bench --example feed_screen -- ansi|base64 [MB]`

use controlroom_bench::{ansi_log, base64_text, through_pty};
use controlroom_server::bench_api::Screen;

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "ansi".into());
    let mb: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(2);
    let raw = if which == "base64" { base64_text(mb * 1_000_000) } else { ansi_log(mb * 1_000_000) };
    let data = through_pty(&raw);
    let mut s = Screen::new(200, 50, 4 * 1024 * 1024);
    for chunk in data.chunks(64 * 1024) {
        s.feed(chunk);
    }
    println!("{which}: {} bytes, {} lines on screen", data.len(), s.lines().len());
}
