//! Defaults shared by the layers of the front end (the state's settings, the runtime's frame
//! pacing, the worker socket's message cap). Imports nothing of the crate, so every layer can use
//! it without depending on another.

use std::time::Duration;

/// Time between frames while the screen keeps changing. 60 frames per second is 16.7 ms between
/// frames; a frame is drawn 1–3 ms after it is due (tokio's timer rounds a sleep up to the next
/// millisecond, and a flood keeps both cores busy), so frames are due every 13 ms to keep 99 % of
/// the gaps under 16.7 ms (measured: p99 17.7–18.1 ms at 15 ms, 14.8–15.3 ms at 13 ms).
/// The default of the `frame-interval-ms` config key.
pub const FRAME: Duration = Duration::from_millis(13);

/// Default of the `max-message-mib` config key: the largest message accepted on a worker socket.
/// A worker's attach-time `history` is its whole scrollback as JSON (the gateway's `--scrollback`,
/// 4 MiB of formatted lines by default, grows to about 11 MiB when every line is coloured), so
/// this leaves room for a `--scrollback` several times the default.
pub const WORKER_MAX_MESSAGE: usize = 64 << 20;

/// Default of the `chord-timeout-ms` config key: how long the first key of a two-key chord
/// (copy mode's `ctrl-\ [`) waits for the second before it does what it does alone (the detach
/// key detaches). Short, as a detach should still feel immediate; a second key typed within it
/// goes at once.
pub const CHORD_TIMEOUT: Duration = Duration::from_millis(300);

/// Default of the `clipboard-max-kib` config key: the most text one copy sends to the outer
/// terminal's clipboard (OSC 52, base64: a third more on the wire). Terminals cap what they take
/// (xterm about 1 MiB of base64); a larger selection is refused with a notice, not cut short.
pub const CLIPBOARD_MAX: usize = 512 << 10;

/// Most bytes a worker socket reads from the gateway in one read (`ws-read-buffer-kib`). The
/// WebSocket library zeroes this much before every read, so its 128 KiB default cost a keystroke's
/// echo two 128 KiB fills (the read and the one that finds nothing more); a flood is still read
/// in a few reads per 64 KiB frame.
pub const WS_READ_BUFFER: usize = 16 << 10;

/// How many messages the front end's socket queues hold; the defaults of the
/// `worker-report-queue`, `worker-send-queue` and `app-send-queue` config keys. Every queue
/// between a socket task and the loop is bounded by one of these, so none grows without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Reports one worker socket may have waiting for the loop (`worker-report-queue`); past it
    /// the socket's task stops reading its socket until the loop takes some. An `output` report
    /// is at most one gateway batch (`--output-batch`, 64 KiB), so the default holds a few MiB
    /// of a flood at most.
    pub worker_reports: usize,
    /// Messages (keys, pastes, resizes) waiting to be sent on the watched worker's socket
    /// (`worker-send-queue`); past it what is typed is refused with a notice rather than queued
    /// without bound.
    pub worker_sends: usize,
    /// Requests waiting to be sent on the app socket (`request-sync`, `app-send-queue`); past
    /// it one is dropped with a warning (the next reconnect resyncs anyway).
    pub app_sends: usize,
    /// Reports from the sockets and the requests' answers waiting for the front end's loop
    /// (`event-queue`); past it the tasks sending them wait.
    pub events: usize,
}

/// Default of `worker-report-queue`.
pub const WORKER_REPORT_QUEUE: usize = 64;
/// Default of `worker-send-queue`.
pub const WORKER_SEND_QUEUE: usize = 4096;
/// Default of `app-send-queue`.
pub const APP_SEND_QUEUE: usize = 64;
/// Default of `event-queue`.
pub const EVENT_QUEUE: usize = 1024;

impl Default for QueueLimits {
    fn default() -> Self {
        Self {
            worker_reports: WORKER_REPORT_QUEUE,
            worker_sends: WORKER_SEND_QUEUE,
            app_sends: APP_SEND_QUEUE,
            events: EVENT_QUEUE,
        }
    }
}
