//! The real terminal's keys, mouse, paste and resize events as a stream, woken by the runtime's
//! own poller.
//!
//! crossterm's `EventStream` waits for input on a thread of its own and wakes the runtime from
//! there: every keystroke crossed a thread (a futex wake and two context switches) before the
//! front end saw it. Here the runtime watches the terminal (the fd crossterm reads: stdin, which
//! the front end requires to be a terminal) and SIGWINCH itself; once either is ready, crossterm's
//! own reader parses what is there without waiting (`poll(0)`), so keys, escape sequences,
//! bracketed paste and resizes come out exactly as crossterm parses them.

use crossterm::event::Event;
use futures_util::Stream;
use std::io;
use std::time::Duration;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// What the stream waits on between events.
struct Watch {
    /// The terminal's input side, watched for readiness only (crossterm reads it).
    tty: AsyncFd<io::Stdin>,
    /// Resizes: crossterm's own SIGWINCH handler queues the event; this wakes us to take it.
    winch: Signal,
}

impl Watch {
    /// The next event: what crossterm holds already, else the next one once the terminal has
    /// input or was resized.
    async fn next(&mut self) -> io::Result<Event> {
        loop {
            // A read may have brought several events (a paste, a burst of keys): take each
            // before waiting again.
            if crossterm::event::poll(Duration::ZERO)? {
                return crossterm::event::read();
            }
            tokio::select! {
                ready = self.tty.readable() => {
                    // Cleared before crossterm reads: input arriving after its read marks the
                    // terminal ready again, so nothing waits unseen.
                    ready?.clear_ready();
                }
                _ = self.winch.recv() => {}
            }
        }
    }
}

/// The terminal's events, read on the runtime's thread (see the file comment). Must be created
/// inside a runtime with I/O and signals enabled, with stdin a terminal.
pub fn terminal_events() -> io::Result<impl Stream<Item = io::Result<Event>> + Unpin> {
    // SAFETY: `register_with_interest` needs the fd to stay open while registered: this is fd 0,
    // which nothing in the process closes, and the registration ends with the stream.
    #[allow(unsafe_code)]
    let tty = unsafe { AsyncFd::register_with_interest(io::stdin(), Interest::READABLE)? };
    let winch = signal(SignalKind::window_change())?;
    let stream = futures_util::stream::unfold(Watch { tty, winch }, |mut watch| async move {
        let event = watch.next().await;
        Some((event, watch))
    });
    Ok(Box::pin(stream))
}
