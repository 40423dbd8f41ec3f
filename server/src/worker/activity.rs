//! Activity detection (`active` / `idle` / `exited`) and the one shared ticker that drives it.
//!
//! There are no per-worker timers: one process-wide thread ticks a `watch` channel every
//! [`TICK`], and only while at least one worker is listening. A worker subscribes while it is
//! `active` (it needs the tick to notice silence) and drops its receiver once idle or exited.
//! The ticker is a plain thread, not a tokio task, so it serves every runtime (each test has its
//! own) and parks when nobody listens.

use controlroom_protocol::ActivityState;
use std::sync::OnceLock;
use std::thread::Thread;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Resolution of idle detection.
pub(crate) const TICK: Duration = Duration::from_millis(100);

struct Ticker {
    tx: watch::Sender<u64>,
    thread: Thread,
}

static TICKER: OnceLock<Option<Ticker>> = OnceLock::new();

fn start_ticker() -> Option<Ticker> {
    let (tx, _) = watch::channel(0u64);
    let thread_tx = tx.clone();
    let handle = std::thread::Builder::new().name("cr-activity-tick".into()).spawn(move || {
        loop {
            if thread_tx.receiver_count() == 0 {
                // Woken by `subscribe`; spurious wake-ups just re-check.
                std::thread::park();
            } else {
                std::thread::sleep(TICK);
                thread_tx.send_modify(|n| *n = n.wrapping_add(1));
            }
        }
    });
    match handle {
        Ok(handle) => Some(Ticker { tx, thread: handle.thread().clone() }),
        Err(e) => {
            tracing::error!(error = %e, "could not start the activity ticker; idle detection is off");
            None
        }
    }
}

/// Subscribes to the shared tick (starting it on first use). `None` if the thread could not start.
pub(crate) fn subscribe_tick() -> Option<watch::Receiver<u64>> {
    let ticker = TICKER.get_or_init(start_ticker).as_ref()?;
    let rx = ticker.tx.subscribe();
    ticker.thread.unpark();
    Some(rx)
}

/// Turns output/input/exit/tick events into an [`ActivityState`]. A later detector (e.g. a
/// prompt matcher for `asking`) plugs in here.
#[derive(Debug)]
pub(crate) struct ActivityTracker {
    state: ActivityState,
    last_output: Option<Instant>,
    idle_after: Duration,
}

impl ActivityTracker {
    /// A tracker in `state` (`Unknown` for a new process, `Exited` for a restored worker).
    pub(crate) fn new(idle_after: Duration, state: ActivityState) -> Self {
        Self { state, last_output: None, idle_after }
    }

    /// Current state.
    pub(crate) fn state(&self) -> ActivityState {
        self.state
    }

    /// Whether the tracker needs ticks (it is waiting for silence).
    pub(crate) fn wants_tick(&self) -> bool {
        self.state == ActivityState::Active
    }

    /// Output arrived.
    pub(crate) fn on_output(&mut self, now: Instant) -> bool {
        self.last_output = Some(now);
        self.set(ActivityState::Active)
    }

    /// The user typed. Not a state change today; a prompt detector would clear `asking` here.
    pub(crate) fn on_input(&mut self, _now: Instant) -> bool {
        false
    }

    /// Time passed.
    pub(crate) fn on_tick(&mut self, now: Instant) -> bool {
        match (self.state, self.last_output) {
            (ActivityState::Active, Some(last)) if now.duration_since(last) >= self.idle_after => {
                self.set(ActivityState::Idle)
            }
            _ => false,
        }
    }

    /// The process exited.
    pub(crate) fn on_exit(&mut self) -> bool {
        self.set(ActivityState::Exited)
    }

    /// A new process started (restart).
    pub(crate) fn on_start(&mut self) -> bool {
        self.last_output = None;
        self.set(ActivityState::Unknown)
    }

    fn set(&mut self, state: ActivityState) -> bool {
        let changed = self.state != state;
        self.state = state;
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_makes_active_and_silence_makes_idle() {
        let t0 = Instant::now();
        let mut a = ActivityTracker::new(Duration::from_secs(2), ActivityState::Unknown);
        assert!(!a.wants_tick());
        assert!(a.on_output(t0));
        assert_eq!(a.state(), ActivityState::Active);
        assert!(a.wants_tick());
        assert!(!a.on_output(t0 + Duration::from_secs(1)));
        assert!(!a.on_tick(t0 + Duration::from_millis(2500)));
        assert!(a.on_tick(t0 + Duration::from_millis(3000)));
        assert_eq!(a.state(), ActivityState::Idle);
        assert!(!a.wants_tick());
        assert!(a.on_exit());
        assert_eq!(a.state(), ActivityState::Exited);
        assert!(a.on_start());
        assert_eq!(a.state(), ActivityState::Unknown);
    }

    #[tokio::test]
    async fn the_shared_ticker_ticks_for_subscribers() {
        let mut rx = subscribe_tick().expect("ticker thread");
        tokio::time::timeout(Duration::from_secs(5), rx.changed())
            .await
            .expect("a tick within the deadline")
            .expect("ticker alive");
    }
}
