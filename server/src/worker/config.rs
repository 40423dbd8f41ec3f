//! The limits and timings every worker runs with (`WorkerConfig`): each a `serve` flag, its
//! variable and its default written once, here.

use super::detect::ActivityRules;
use super::size;
use crate::flag_values;
use controlroom_term::{Palette, ReplyConfig, Rgb};
use std::sync::Arc;
use std::time::Duration;

/// Limits and timings of every worker; each has a `serve` flag (`controlroom serve` flattens this
/// struct, so the flag, its variable and its default are written here once).
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerConfig {
    /// Formatted scrollback kept per worker.
    #[arg(
        long = "scrollback",
        env = "CONTROLROOM_SCROLLBACK",
        value_name = "SCROLLBACK",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(Self::DEFAULT_SCROLLBACK_BYTES)
    )]
    pub scrollback_bytes: usize,
    /// Most raw output kept per worker for an attaching client's catch-up after its snapshot
    /// (kept only while a snapshot is pending; at most a screen backlog is ever needed).
    // It also bounds the backlog of output not yet applied to the screen model.
    #[arg(
        long = "output-ring",
        env = "CONTROLROOM_OUTPUT_RING",
        value_name = "OUTPUT_RING",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(Self::DEFAULT_OUTPUT_RING_BYTES)
    )]
    pub output_ring_bytes: usize,
    /// Input queued for each worker's program; past it, input waits for the program to read (a
    /// client's socket is not read meanwhile), never refused.
    #[arg(
        long = "max-input-queue",
        env = "CONTROLROOM_MAX_INPUT_QUEUE",
        value_name = "MAX_INPUT_QUEUE",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(Self::DEFAULT_INPUT_QUEUE_BYTES)
    )]
    pub input_queue_bytes: usize,
    /// Largest output message; output read together is batched up to this size.
    #[arg(
        long = "output-batch",
        env = "CONTROLROOM_OUTPUT_BATCH",
        value_name = "OUTPUT_BATCH",
        value_parser = flag_values::size,
        default_value = flag_values::show_size(Self::DEFAULT_BATCH_BYTES)
    )]
    pub batch_bytes: usize,
    /// While a worker's output floods, how long PTY reads pile up into one batch.
    // Fewer wake-ups per batch; zero (only settable in code) takes every read at once.
    #[arg(
        long = "output-coalesce",
        env = "CONTROLROOM_OUTPUT_COALESCE",
        value_name = "OUTPUT_COALESCE",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(Self::DEFAULT_FLOOD_COALESCE)
    )]
    pub flood_coalesce: Duration,
    /// Niceness of the threads that apply workers' screen models, 0..=19 (0, the default, leaves
    /// them alone): higher lets the work that only serves snapshots yield the CPU to live output.
    // The screen model only serves snapshots, never the live path (no measurable effect on two
    // cores, see BENCHMARKS.md).
    #[arg(
        long,
        env = "CONTROLROOM_SCREEN_NICE",
        value_parser = clap::value_parser!(i32).range(0..=i64::from(Self::MAX_SCREEN_NICE)),
        default_value_t = Self::DEFAULT_SCREEN_NICE
    )]
    pub screen_nice: i32,
    /// How long a small output batch (an echoed keystroke) waits for a busy screen model (an idle
    /// one takes it at once on the worker's task), so the echo reaches clients first (default
    /// 1ms; 0 feeds at once).
    // A batch smaller than 256 bytes; the echo goes out without a blocking-pool thread waking
    // beside it.
    #[arg(
        long,
        env = "CONTROLROOM_SCREEN_DEFER",
        value_parser = flag_values::duration_or_zero,
        default_value = flag_values::show_duration(Self::DEFAULT_SCREEN_DEFER)
    )]
    pub screen_defer: Duration,
    /// How long rows scrolled off a worker's screen stay cold before they are packed (LZ4, a
    /// fraction of their text's memory), once the screen model has caught up with the output
    /// (default 250ms; 0 never packs).
    #[arg(
        long,
        env = "CONTROLROOM_SCROLLBACK_PACK_AFTER",
        value_parser = flag_values::duration_or_zero,
        default_value = flag_values::show_duration(Self::DEFAULT_SCROLLBACK_PACK_AFTER)
    )]
    pub scrollback_pack_after: Duration,
    /// Time between SIGHUP and SIGKILL when stopping a worker.
    #[arg(
        long,
        env = "CONTROLROOM_STOP_GRACE",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(Self::DEFAULT_STOP_GRACE)
    )]
    pub stop_grace: Duration,
    /// How long a lossless client (`?delivery=lossless`) may hold its worker's output back while
    /// reading nothing before it is closed with 4009 and the worker runs on without it.
    #[arg(
        long,
        env = "CONTROLROOM_LOSSLESS_STALL_TIMEOUT",
        value_parser = flag_values::duration,
        default_value = flag_values::show_duration(Self::DEFAULT_LOSSLESS_STALL_TIMEOUT)
    )]
    pub lossless_stall_timeout: Duration,
    /// Activity detection for workers without a preset of their own (`[activity]`).
    #[arg(skip = Arc::new(ActivityRules::defaults(WorkerConfig::DEFAULT_IDLE_AFTER)))]
    pub activity: Arc<ActivityRules>,
    /// Default foreground colour that programs in workers read with OSC 10, `#rrggbb`.
    #[arg(
        long,
        env = "CONTROLROOM_TERMINAL_FOREGROUND",
        value_parser = flag_values::colour,
        default_value = flag_values::show_colour(Palette::DEFAULT_FOREGROUND)
    )]
    pub terminal_foreground: Rgb,
    /// Default background colour that programs in workers read with OSC 11, `#rrggbb` (dark, so
    /// programs choosing a theme from it pick their dark one).
    #[arg(
        long,
        env = "CONTROLROOM_TERMINAL_BACKGROUND",
        value_parser = flag_values::colour,
        default_value = flag_values::show_colour(Palette::DEFAULT_BACKGROUND)
    )]
    pub terminal_background: Rgb,
    /// Cursor colour that programs in workers read with OSC 12, `#rrggbb` (default: the
    /// foreground colour).
    #[arg(long, env = "CONTROLROOM_TERMINAL_CURSOR", value_parser = flag_values::colour)]
    pub terminal_cursor: Option<Rgb>,
    /// Nominal cell size in pixels, WIDTHxHEIGHT, for the pixel sizes programs in workers read
    /// with `CSI 14 t` and `CSI 16 t` (the gateway has no font; the PTY carries no pixel size).
    #[arg(
        long,
        env = "CONTROLROOM_CELL_PIXELS",
        value_name = "WIDTHxHEIGHT",
        value_parser = flag_values::cell_pixels,
        default_value = flag_values::show_cell_pixels(ReplyConfig::DEFAULT_CELL_PIXELS)
    )]
    pub cell_pixels: (u16, u16),
    /// Largest terminal width or height a worker spec, a restart or a `resize` may ask for
    /// (each of cols and rows within 1 and this).
    #[arg(
        long,
        env = "CONTROLROOM_MAX_TERMINAL_SIZE",
        default_value_t = size::DEFAULT_MAX_TERMINAL_SIZE,
        value_parser = clap::value_parser!(u16).range(1..=i64::from(size::MAX_TERMINAL_SIZE_LIMIT))
    )]
    pub max_terminal_size: u16,
}

impl WorkerConfig {
    /// Default of [`WorkerConfig::scrollback_bytes`]: 4 MiB of formatted lines.
    pub const DEFAULT_SCROLLBACK_BYTES: usize = 4 * 1024 * 1024;
    /// Default of [`WorkerConfig::output_ring_bytes`]: 2 MiB of raw output.
    pub const DEFAULT_OUTPUT_RING_BYTES: usize = 2 * 1024 * 1024;
    /// Default of [`WorkerConfig::input_queue_bytes`]: 1 MiB.
    pub const DEFAULT_INPUT_QUEUE_BYTES: usize = 1024 * 1024;
    /// Default of [`WorkerConfig::batch_bytes`]: 64 KiB.
    pub const DEFAULT_BATCH_BYTES: usize = 64 * 1024;
    /// Default of [`WorkerConfig::flood_coalesce`]: 1 ms.
    pub const DEFAULT_FLOOD_COALESCE: Duration = Duration::from_millis(1);
    /// Default of [`WorkerConfig::screen_defer`]: 1 ms.
    pub const DEFAULT_SCREEN_DEFER: Duration = Duration::from_millis(1);
    /// Default of [`WorkerConfig::scrollback_pack_after`]: 250 ms, so a flood's rows are packed
    /// soon after it ends (while it lasts, the screen model's job is busy and packs nothing).
    pub const DEFAULT_SCROLLBACK_PACK_AFTER: Duration = Duration::from_millis(250);
    /// Default of [`WorkerConfig::screen_nice`].
    pub const DEFAULT_SCREEN_NICE: i32 = 0;
    /// Largest [`WorkerConfig::screen_nice`] (the lowest priority Linux has).
    pub const MAX_SCREEN_NICE: i32 = 19;
    /// Default of [`WorkerConfig::stop_grace`]: 3 s.
    pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(3);
    /// Default of [`WorkerConfig::lossless_stall_timeout`]: 30 s, so a lossless client that died
    /// without closing its connection holds an agent back no longer than a heartbeat would.
    pub const DEFAULT_LOSSLESS_STALL_TIMEOUT: Duration = Duration::from_secs(30);
    /// The XTVERSION answer (`CSI > q`): `controlroom` and the gateway's version.
    pub const TERMINAL_VERSION: &'static str = concat!("controlroom ", env!("CARGO_PKG_VERSION"));
    /// Default silence before `idle`: 2 s.
    pub const DEFAULT_IDLE_AFTER: Duration = Duration::from_secs(2);
}

impl WorkerConfig {
    /// What each worker's screen model answers the program's queries with beyond its own state:
    /// the XTVERSION name, the colours for OSC 10/11/12, the nominal cell size.
    pub fn replies(&self) -> ReplyConfig {
        let palette = Palette {
            foreground: self.terminal_foreground,
            background: self.terminal_background,
            cursor: self.terminal_cursor.unwrap_or(self.terminal_foreground),
        };
        ReplyConfig { palette, cell_pixels: self.cell_pixels, ..ReplyConfig::new(Self::TERMINAL_VERSION) }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            scrollback_bytes: Self::DEFAULT_SCROLLBACK_BYTES,
            output_ring_bytes: Self::DEFAULT_OUTPUT_RING_BYTES,
            input_queue_bytes: Self::DEFAULT_INPUT_QUEUE_BYTES,
            batch_bytes: Self::DEFAULT_BATCH_BYTES,
            stop_grace: Self::DEFAULT_STOP_GRACE,
            lossless_stall_timeout: Self::DEFAULT_LOSSLESS_STALL_TIMEOUT,
            flood_coalesce: Self::DEFAULT_FLOOD_COALESCE,
            screen_nice: Self::DEFAULT_SCREEN_NICE,
            screen_defer: Self::DEFAULT_SCREEN_DEFER,
            scrollback_pack_after: Self::DEFAULT_SCROLLBACK_PACK_AFTER,
            activity: Arc::new(ActivityRules::defaults(Self::DEFAULT_IDLE_AFTER)),
            terminal_foreground: Palette::DEFAULT_FOREGROUND,
            terminal_background: Palette::DEFAULT_BACKGROUND,
            terminal_cursor: None,
            cell_pixels: ReplyConfig::DEFAULT_CELL_PIXELS,
            max_terminal_size: size::DEFAULT_MAX_TERMINAL_SIZE,
        }
    }
}
