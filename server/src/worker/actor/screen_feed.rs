//! The actor's hand-off to its screen model, which is applied by a job on the blocking pool while
//! it has work (see `screen/runner.rs`).
//!
//! An echoed keystroke is a batch of a few bytes. Sent as a job, it would wake a thread in the
//! same moment the connection task sends the echo to the client: on two cores one more context
//! switch on the critical path of every keystroke. So a small batch is applied right here, on
//! the actor's thread, when the model is idle (a few µs of parsing, after the echo is queued for
//! clients). When a job is busy (output flooding) a small batch waits here up to
//! `--screen-defer` (or until more output makes it worth a wake-up) and goes behind it. Every
//! other message sends what is held first, so the model always sees the stream in order, and a
//! snapshot or a screen read always includes every byte emitted before it.
//!
//! The prompt scan (and the packing of cold scrollback) an inline apply owes is not done in that
//! step either: it would come before the connection task writes the echo (on the actor's thread,
//! every keystroke typed slower than `scan_interval`). The feed keeps when it is owed, and the
//! actor asks for it ([`ScreenFeed::owed_work`]) once that is due and the turn of its thread that
//! wrote the echo is over ([`ScreenFeed::owed_wait`]).

use crate::worker::screen::ScreenMsg;
use crate::worker::screen::runner::{Inline, ScreenSender};
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

/// Batches below this many bytes are held back; one this size or larger goes at once, after
/// whatever is held. Bounds what is held without a backlog permit (see [`ScreenFeed::output`]).
pub(super) const SMALL_BATCH: usize = 256;

/// The sending side of a worker's screen thread.
pub(super) struct ScreenFeed {
    tx: ScreenSender,
    /// Output held back, in stream order; always less than [`SMALL_BATCH`] bytes.
    held: Vec<u8>,
    /// When the held output must go (set when the first byte is held).
    due: Option<Instant>,
    /// How long a small batch may wait; zero sends every batch at once.
    defer: Duration,
    /// From when the scan (or packing) an inline apply left is owed.
    owed: Option<Instant>,
    /// Set to `owed` while that is in the future; made once, on first use (not per turn of the
    /// actor's loop, which would register a timer per keystroke).
    owed_timer: Option<Pin<Box<Sleep>>>,
    /// `owed` is in the future and the timer is not yet set to it: it is set by
    /// [`ScreenFeed::owed_wait`] after the turn that noted the debt (see there).
    owed_unarmed: bool,
}

impl ScreenFeed {
    /// Feeds `tx`, holding small batches back for up to `defer`.
    pub(super) fn new(tx: impl Into<ScreenSender>, defer: Duration) -> Self {
        Self {
            tx: tx.into(),
            held: Vec::new(),
            due: None,
            defer,
            owed: None,
            owed_timer: None,
            owed_unarmed: false,
        }
    }

    /// Feeds output bytes (aligned to UTF-8 characters), in stream order.
    ///
    /// A batch that is held gives its backlog permit back at once: what is held is bounded by
    /// [`SMALL_BATCH`], and a permit kept here could leave the actor waiting for a permit that
    /// only the deferral timer would free.
    pub(super) fn output(&mut self, bytes: Vec<u8>, permit: Option<OwnedSemaphorePermit>) {
        if bytes.is_empty() {
            return;
        }
        if self.held.is_empty()
            && bytes.len() < SMALL_BATCH
            && let Inline::Applied { owed } = self.tx.try_apply_inline(&bytes)
        {
            // An idle model took it on this thread, after the echo was queued for clients.
            self.set_owed(owed.map(Instant::from_std));
            return;
        }
        if self.defer.is_zero() || (self.held.is_empty() && bytes.len() >= SMALL_BATCH) {
            self.send_now(ScreenMsg::Output { bytes, permit });
            return;
        }
        drop(permit);
        self.held.extend_from_slice(&bytes);
        if self.held.len() >= SMALL_BATCH {
            self.flush();
        } else if self.due.is_none() {
            self.due = Some(Instant::now() + self.defer);
        }
    }

    /// A snapshot taken at once on this thread, when nothing is held or queued and the model is
    /// small (see `ScreenSender::try_snapshot_inline`); `None`: send `ScreenMsg::Snapshot`.
    pub(super) fn snapshot_inline(
        &mut self,
        scope: controlroom_protocol::HistoryScope,
    ) -> Option<crate::worker::HistorySnapshot> {
        if !self.held.is_empty() {
            return None;
        }
        self.tx.try_snapshot_inline(scope)
    }

    /// Sends any other message, after what is held.
    pub(super) fn send(&mut self, msg: ScreenMsg) {
        self.flush();
        self.send_now(msg);
    }

    /// When the held output must be sent (`None` when nothing is held).
    pub(super) fn due(&self) -> Option<Instant> {
        self.due
    }

    /// Whether an inline apply left work owed (see [`ScreenFeed::owed_wait`]).
    pub(super) fn owes(&self) -> bool {
        self.owed.is_some()
    }

    /// Resolves once the owed work is due and the current turn of this thread is over: a timer
    /// while it is in the future, then `yield_now`, so the connection task the same step woke
    /// writes the echo first. The timer itself is set only after a first `yield_now`: a timer
    /// earlier than the reactor's deadline wakes the reactor (an `eventfd` write, and the other
    /// runtime thread woken, on two cores the front end's), which set in the step that noted the
    /// debt came before the echo's write on most keys typed at a person's pace. Polled only
    /// while [`ScreenFeed::owes`]; cancelled at any await, it picks up where it was.
    pub(super) async fn owed_wait(&mut self) {
        let Some(at) = self.owed else { return std::future::pending().await };
        if self.owed_unarmed {
            tokio::task::yield_now().await;
            self.owed_unarmed = false;
            if at > Instant::now() {
                match &mut self.owed_timer {
                    Some(timer) => timer.as_mut().reset(at),
                    None => self.owed_timer = Some(Box::pin(tokio::time::sleep_until(at))),
                }
            }
        }
        if at > Instant::now()
            && let Some(timer) = &mut self.owed_timer
        {
            timer.as_mut().await;
        }
        tokio::task::yield_now().await;
    }

    /// Asks for the owed work (the scan on this thread; packing in a job).
    pub(super) fn owed_work(&mut self) {
        self.owed = None;
        self.tx.owed_work();
    }

    /// Notes work owed from `at`. What is owed already keeps its time (the work done then
    /// notes anything still owed after it), so the timer is set once per scan, not per key.
    fn set_owed(&mut self, at: Option<Instant>) {
        let Some(at) = at else { return };
        if self.owed.is_some() {
            return;
        }
        self.owed = Some(at);
        self.owed_unarmed = at > Instant::now();
    }

    /// Sends what is held.
    pub(super) fn flush(&mut self) {
        self.due = None;
        if !self.held.is_empty() {
            let bytes = std::mem::take(&mut self.held);
            self.send_now(ScreenMsg::Output { bytes, permit: None });
        }
    }

    fn send_now(&self, msg: ScreenMsg) {
        self.tx.send(msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{Receiver, channel};

    /// Output bytes received so far, each message as one entry; other messages as a marker.
    fn received(rx: &Receiver<ScreenMsg>) -> Vec<String> {
        rx.try_iter()
            .map(|m| match m {
                ScreenMsg::Output { bytes, .. } => String::from_utf8_lossy(&bytes).into_owned(),
                ScreenMsg::Resize { cols, rows } => format!("<resize {cols}x{rows}>"),
                ScreenMsg::Snapshot { .. } | ScreenMsg::Plain { .. } => "<other>".into(),
            })
            .collect()
    }

    #[test]
    fn small_batches_are_held_until_due_then_sent_as_one() {
        let (tx, rx) = channel();
        let defer = Duration::from_millis(1);
        let mut feed = ScreenFeed::new(tx, defer);
        let before = Instant::now();
        feed.output(b"a".to_vec(), None);
        let after = Instant::now();
        feed.output(b"b".to_vec(), None);
        assert!(received(&rx).is_empty(), "a keystroke's echo does not wake the screen thread");
        let due = feed.due().expect("held output has a deadline");
        assert!(before + defer <= due && due <= after + defer, "the first held byte sets it");
        feed.flush();
        assert_eq!(received(&rx), ["ab"]);
        assert_eq!(feed.due(), None);
    }

    #[test]
    fn a_big_batch_goes_at_once_after_what_is_held() {
        let (tx, rx) = channel();
        let mut feed = ScreenFeed::new(tx, Duration::from_millis(1));
        let big = "x".repeat(SMALL_BATCH);
        feed.output(big.clone().into_bytes(), None);
        assert_eq!(received(&rx), std::slice::from_ref(&big), "nothing held: a big batch is not delayed");
        feed.output(b"a".to_vec(), None);
        feed.output(big.clone().into_bytes(), None);
        assert_eq!(received(&rx), [format!("a{big}")], "held bytes go first, in one message");
        assert_eq!(feed.due(), None);
    }

    #[test]
    fn every_other_message_sends_what_is_held_first() {
        let (tx, rx) = channel();
        let mut feed = ScreenFeed::new(tx, Duration::from_millis(1));
        feed.output(b"before".to_vec(), None);
        feed.send(ScreenMsg::Resize { cols: 100, rows: 30 });
        feed.output(b"after".to_vec(), None);
        let (reply, _) = tokio::sync::oneshot::channel();
        feed.send(ScreenMsg::Plain { reply });
        assert_eq!(received(&rx), ["before", "<resize 100x30>", "after", "<other>"]);
    }

    #[test]
    fn zero_defer_sends_every_batch_at_once() {
        let (tx, rx) = channel();
        let mut feed = ScreenFeed::new(tx, Duration::ZERO);
        feed.output(b"a".to_vec(), None);
        feed.output(b"b".to_vec(), None);
        assert_eq!(received(&rx), ["a", "b"]);
        assert_eq!(feed.due(), None);
    }

    #[tokio::test]
    async fn a_held_batch_gives_its_backlog_permit_back() {
        let (tx, _rx) = channel();
        let backlog = std::sync::Arc::new(tokio::sync::Semaphore::new(1));
        let mut feed = ScreenFeed::new(tx, Duration::from_millis(1));
        let permit = backlog.clone().acquire_owned().await.expect("permit");
        feed.output(b"a".to_vec(), Some(permit));
        assert_eq!(backlog.available_permits(), 1, "the actor can take the next batch at once");
    }
}
