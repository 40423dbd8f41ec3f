//! A per-connection outbound queue bounded in bytes, shared by the app and worker sockets.
//!
//! Producers (the hub's broadcaster, a worker actor) never wait on a client: `push` either queues
//! the frame or, past the byte cap, marks the outbox overflowed so the connection task closes the
//! socket with 4008. Frames are `bytes::Bytes` (text frames as a `TextFrame`, UTF-8 by
//! construction), so one encoded message is shared by every client of its format; no WebSocket
//! library type appears here: only the connection task turns a frame into a message.
//!
//! The cap is for a client that stops reading *live* traffic. Frames whose size is bounded
//! elsewhere and that a client must get whole — a worker's attach-time `history` snapshot and
//! ring catch-up, bounded by `--scrollback` and `--output-ring` — are queued with
//! [`OutboxSender::push_uncapped`]: they are not counted against the cap, so the cap measures
//! only what was queued after them.
//!
//! A *lossless* outbox ([`outbox_lossless`], a worker client that asked for
//! `?delivery=lossless`) never overflows: past the cap it reports itself full
//! ([`OutboxSender::is_full`]) and its producer, the worker actor, stops taking output until
//! [`OutboxSender::drained`] says the client has read it down to half the cap. The actor checks
//! before it takes each batch, so such a queue passes the cap by at most one batch.

use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use tokio::sync::{Notify, mpsc};

/// An encoded text message: UTF-8 by construction (made only from a `String` or a `&'static str`),
/// cheap to clone (one buffer shared by every client).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextFrame(Bytes);

impl TextFrame {
    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The shared buffer, for the connection task.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The text (tests and logs; the buffer was made from a `str`, so this never falls back).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl From<String> for TextFrame {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl From<&'static str> for TextFrame {
    fn from(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }
}

/// What a connection task is asked to write.
#[derive(Debug, Clone)]
pub enum OutFrame {
    /// A text message, already encoded.
    Text(TextFrame),
    /// A binary message, already encoded (binary `output` frames).
    Binary(bytes::Bytes),
    /// A heartbeat ping.
    Ping,
    /// Close the socket with this code and reason, then stop.
    Close {
        /// WebSocket close code.
        code: u16,
        /// Short human reason.
        reason: &'static str,
    },
}

impl OutFrame {
    fn cost(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Binary(b) => b.len(),
            Self::Ping | Self::Close { .. } => 0,
        }
    }
}

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The queue passed its byte cap; the connection will be closed with 4008.
    #[error("client outbound queue is over its byte cap")]
    Overflow,
    /// The connection is gone.
    #[error("client connection is closed")]
    Closed,
}

/// A frame in the queue with the bytes it counts against the cap (0 when pushed uncapped), so
/// taking it frees exactly what pushing it charged.
struct Queued {
    frame: OutFrame,
    charged: usize,
}

struct Shared {
    queued_bytes: AtomicUsize,
    overflowed: AtomicBool,
    cap: usize,
    /// Set for a lossless outbox: it holds its producer back instead of overflowing.
    lossless: bool,
    /// Lossless only: woken when the queue drains to half the cap.
    drained: Notify,
    /// Lossless only: capped bytes the connection task has taken so far, so a producer held
    /// back can tell a slow reader from one that stopped.
    taken: AtomicU64,
    /// Set when the producer gave up on a lossless client that stopped reading: the
    /// connection task closes with 4009 instead of writing what is left.
    stalled: AtomicBool,
}

/// The producer side; cheap to clone.
#[derive(Clone)]
pub struct OutboxSender {
    // Unbounded in count on purpose: the bound is `cap` bytes, enforced in `push`, which is
    // what actually limits memory (a count bound would either be too loose for big frames or
    // too tight for many small ones).
    tx: mpsc::UnboundedSender<Queued>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for OutboxSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxSender").field("queued_bytes", &self.queued_bytes()).finish()
    }
}

/// The consumer side, owned by the connection task.
pub struct OutboxReceiver {
    rx: mpsc::UnboundedReceiver<Queued>,
    shared: Arc<Shared>,
    /// Whether the frame `recv` returned last was pushed uncapped.
    last_uncapped: bool,
}

/// Creates an outbox that holds at most `cap` bytes of queued text.
pub fn outbox(cap: usize) -> (OutboxSender, OutboxReceiver) {
    with_mode(cap, false)
}

/// Creates a lossless outbox: past `cap` bytes it is full (its producer waits for
/// [`OutboxSender::drained`]) instead of overflowing; it never closes with 4008.
pub fn outbox_lossless(cap: usize) -> (OutboxSender, OutboxReceiver) {
    with_mode(cap, true)
}

fn with_mode(cap: usize, lossless: bool) -> (OutboxSender, OutboxReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        queued_bytes: AtomicUsize::new(0),
        overflowed: AtomicBool::new(false),
        cap,
        lossless,
        drained: Notify::new(),
        taken: AtomicU64::new(0),
        stalled: AtomicBool::new(false),
    });
    (OutboxSender { tx, shared: shared.clone() }, OutboxReceiver { rx, shared, last_uncapped: false })
}

impl Shared {
    /// Where a full lossless queue counts as drained again: half the cap, so the producer
    /// resumes with room for many batches rather than waking for each one.
    fn resume_at(&self) -> usize {
        self.cap / 2
    }
}

impl OutboxSender {
    /// Queues a frame without waiting. Past the cap the outbox is marked overflowed, a close
    /// with 4008 is queued, and every later push fails.
    pub fn push(&self, frame: OutFrame) -> Result<(), PushError> {
        if self.shared.overflowed.load(Ordering::Acquire) {
            return Err(PushError::Overflow);
        }
        let cost = frame.cost();
        let queued = self.shared.queued_bytes.fetch_add(cost, Ordering::AcqRel) + cost;
        // A lossless queue is not refused here: its producer stops taking output while it is full.
        if queued > self.shared.cap && !self.shared.lossless {
            self.shared.queued_bytes.fetch_sub(cost, Ordering::AcqRel);
            self.shared.overflowed.store(true, Ordering::Release);
            // The close frame costs nothing, so it always gets through to the connection task.
            let close = OutFrame::Close {
                code: controlroom_protocol::close_code::SLOW_CONSUMER,
                reason: "slow consumer",
            };
            let _ = self.tx.send(Queued { frame: close, charged: 0 });
            return Err(PushError::Overflow);
        }
        self.tx.send(Queued { frame, charged: cost }).map_err(|_| {
            self.shared.queued_bytes.fetch_sub(cost, Ordering::AcqRel);
            PushError::Closed
        })
    }

    /// Queues a frame without counting it against the cap, for frames bounded elsewhere that
    /// the client must get whole (a worker's attach-time snapshot and catch-up). Fails only if
    /// the outbox already overflowed or the connection is gone. Frames pushed later are capped
    /// as usual, so a client that stops reading after it is still closed with 4008.
    pub fn push_uncapped(&self, frame: OutFrame) -> Result<(), PushError> {
        if self.shared.overflowed.load(Ordering::Acquire) {
            return Err(PushError::Overflow);
        }
        self.tx.send(Queued { frame, charged: 0 }).map_err(|_| PushError::Closed)
    }

    /// Queues an encoded text frame.
    pub fn push_text(&self, text: TextFrame) -> Result<(), PushError> {
        self.push(OutFrame::Text(text))
    }

    /// Queues an encoded binary frame.
    pub fn push_binary(&self, frame: bytes::Bytes) -> Result<(), PushError> {
        self.push(OutFrame::Binary(frame))
    }

    /// Capped bytes queued and not yet taken by the connection task (uncapped frames are not
    /// counted).
    pub fn queued_bytes(&self) -> usize {
        self.shared.queued_bytes.load(Ordering::Acquire)
    }

    /// Whether the connection task has gone away.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Whether this is a lossless outbox (see [`outbox_lossless`]).
    pub fn is_lossless(&self) -> bool {
        self.shared.lossless
    }

    /// Whether this lossless outbox holds at least its cap: its producer must stop taking output
    /// until [`Self::drained`]. Always false for an ordinary outbox (it overflows instead) and
    /// for one whose connection is gone.
    pub fn is_full(&self) -> bool {
        self.shared.lossless
            && self.shared.queued_bytes.load(Ordering::Acquire) >= self.shared.cap
            && !self.tx.is_closed()
    }

    /// Resolves once this lossless outbox is drained to half its cap, or its connection is
    /// gone (a client that disconnects releases its producer at once). Cancel-safe.
    pub async fn drained(&self) {
        loop {
            // Registered before the check, so a drain between the check and the wait still wakes
            // us (`notify_one` keeps a permit when nobody waits yet).
            let notified = self.shared.drained.notified();
            if self.shared.queued_bytes.load(Ordering::Acquire) <= self.shared.resume_at() {
                return;
            }
            tokio::select! {
                () = notified => {}
                () = self.tx.closed() => return,
            }
        }
    }

    /// Capped bytes the connection task has taken from this lossless outbox so far (0 for an
    /// ordinary outbox): unchanged over a while means the client stopped reading.
    pub fn taken(&self) -> u64 {
        self.shared.taken.load(Ordering::Acquire)
    }

    /// Gives up on a lossless client that stopped reading: its connection task closes it with
    /// 4009 at its next frame, dropping what it had not read.
    pub fn close_stalled(&self) {
        self.shared.stalled.store(true, Ordering::Release);
        // Costs nothing, so it reaches a connection task that has nothing else queued.
        let _ = self.tx.send(Queued { frame: stalled_close(), charged: 0 });
    }

    /// Whether two senders feed the same connection.
    pub fn same_outbox(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl OutboxReceiver {
    /// The next frame, or `None` when every sender is gone.
    pub async fn recv(&mut self) -> Option<OutFrame> {
        let Queued { frame, charged } = self.rx.recv().await?;
        let before = self.shared.queued_bytes.fetch_sub(charged, Ordering::AcqRel);
        if self.shared.lossless && charged > 0 {
            self.shared.taken.fetch_add(charged as u64, Ordering::AcqRel);
            let resume = self.shared.resume_at();
            // Only the step across the resume mark wakes the producer: one wake-up per pause.
            if before > resume && before - charged <= resume {
                self.shared.drained.notify_one();
            }
        }
        self.last_uncapped = charged == 0 && frame.cost() > 0;
        Some(frame)
    }

    /// The close the connection task must send instead of the frames still queued: 4009 when
    /// the producer gave up on this stalled lossless client, 4008 when the cap was passed (an
    /// attach-time snapshot being written is finished first, see [`Self::last_was_uncapped`]).
    pub fn close_instead(&self, next: &OutFrame) -> Option<OutFrame> {
        if matches!(next, OutFrame::Close { .. }) {
            return None;
        }
        if self.shared.stalled.load(Ordering::Acquire) {
            return Some(stalled_close());
        }
        if self.overflowed() && !self.last_was_uncapped() {
            return Some(OutFrame::Close {
                code: controlroom_protocol::close_code::SLOW_CONSUMER,
                reason: "slow consumer",
            });
        }
        None
    }

    /// Whether the frame `recv` returned last was pushed with
    /// [`OutboxSender::push_uncapped`]: such a frame is still written after an overflow, so a
    /// client closed with 4008 right after attaching has its whole snapshot to resync from.
    pub fn last_was_uncapped(&self) -> bool {
        self.last_uncapped
    }

    /// Whether the byte cap was passed (a 4008 close is then queued).
    pub fn overflowed(&self) -> bool {
        self.shared.overflowed.load(Ordering::Acquire)
    }
}

/// The close for a lossless client that stopped reading.
fn stalled_close() -> OutFrame {
    OutFrame::Close {
        code: controlroom_protocol::close_code::LOSSLESS_STALLED,
        reason: "lossless client stalled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_pass_in_order_and_free_their_bytes() {
        let (tx, mut rx) = outbox(10);
        tx.push_text("abc".into()).expect("fits");
        tx.push_text("defg".into()).expect("fits");
        assert_eq!(tx.queued_bytes(), 7);
        let Some(OutFrame::Text(t)) = rx.recv().await else { panic!("text expected") };
        assert_eq!(t.as_str(), "abc");
        assert_eq!(tx.queued_bytes(), 4);
    }

    #[tokio::test]
    async fn overflow_queues_a_4008_close_and_refuses_more() {
        let (tx, mut rx) = outbox(5);
        tx.push_text("abcd".into()).expect("fits");
        assert_eq!(tx.push_text("ef".into()), Err(PushError::Overflow));
        assert_eq!(tx.push_text("g".into()), Err(PushError::Overflow));
        assert!(rx.overflowed());
        assert!(matches!(rx.recv().await, Some(OutFrame::Text(_))));
        assert!(matches!(rx.recv().await, Some(OutFrame::Close { code: 4008, .. })));
    }

    #[tokio::test]
    async fn binary_frames_count_against_the_same_cap() {
        let (tx, mut rx) = outbox(5);
        tx.push_binary(bytes::Bytes::from_static(b"\0\xff\x01")).expect("fits");
        tx.push_text("ab".into()).expect("fits");
        assert_eq!(tx.push_binary(bytes::Bytes::from_static(b"x")), Err(PushError::Overflow));
        let Some(OutFrame::Binary(b)) = rx.recv().await else { panic!("binary expected") };
        assert_eq!(&b[..], b"\0\xff\x01");
    }

    #[tokio::test]
    async fn exactly_the_cap_fits_and_one_byte_more_overflows() {
        let (tx, _rx) = outbox(5);
        tx.push_text("abcde".into()).expect("exactly the cap fits");
        assert_eq!(tx.push_text("f".into()), Err(PushError::Overflow));
    }

    #[tokio::test]
    async fn uncapped_frames_pass_whole_and_the_cap_counts_only_later_frames() {
        let (tx, mut rx) = outbox(5);
        tx.push_uncapped(OutFrame::Text("a snapshot far over the cap".into())).expect("uncapped");
        assert_eq!(tx.queued_bytes(), 0);
        tx.push_text("abcde".into()).expect("the cap is still free for live frames");
        assert_eq!(tx.push_text("f".into()), Err(PushError::Overflow));
        assert_eq!(tx.push_uncapped(OutFrame::Text("x".into())), Err(PushError::Overflow));
        let Some(OutFrame::Text(t)) = rx.recv().await else { panic!("text expected") };
        assert_eq!(t.as_str(), "a snapshot far over the cap");
        assert!(rx.last_was_uncapped());
        assert_eq!(tx.queued_bytes(), 5, "taking an uncapped frame frees nothing it was not charged");
        assert!(matches!(rx.recv().await, Some(OutFrame::Text(_))));
        assert!(!rx.last_was_uncapped());
        assert_eq!(tx.queued_bytes(), 0);
        assert!(matches!(rx.recv().await, Some(OutFrame::Close { code: 4008, .. })));
    }

    #[tokio::test]
    async fn a_lossless_outbox_is_full_past_its_cap_and_never_overflows() {
        let (tx, mut rx) = outbox_lossless(8);
        assert!(tx.is_lossless());
        tx.push_text("abcdef".into()).expect("fits");
        assert!(!tx.is_full());
        tx.push_text("ghij".into()).expect("a lossless queue takes what its producer sends");
        assert!(tx.is_full(), "10 of 8 bytes queued");
        assert!(!rx.overflowed());
        let Some(frame) = rx.recv().await else { panic!("a frame") };
        assert!(rx.close_instead(&frame).is_none(), "no 4008 for a lossless client");
        assert_eq!(tx.taken(), 6);
        assert!(!tx.is_full(), "4 of 8 bytes left");
    }

    #[tokio::test]
    async fn drained_waits_for_half_the_cap_then_wakes_once_the_client_reads() {
        let (tx, mut rx) = outbox_lossless(8);
        for chunk in ["abc", "def", "ghi"] {
            tx.push_text(chunk.into()).expect("queued");
        }
        let waiter = tokio::spawn({
            let tx = tx.clone();
            async move { tx.drained().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "9 bytes queued: above half of 8");
        rx.recv().await.expect("frame");
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "6 bytes queued: still above half");
        rx.recv().await.expect("frame");
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("3 bytes queued: drained")
            .expect("task");
    }

    #[tokio::test]
    async fn a_client_that_goes_away_releases_its_producer_at_once() {
        let (tx, rx) = outbox_lossless(4);
        tx.push_text("abcdef".into()).expect("queued");
        assert!(tx.is_full());
        drop(rx);
        assert!(!tx.is_full(), "a gone client holds nothing back");
        tokio::time::timeout(std::time::Duration::from_secs(5), tx.drained()).await.expect("released");
    }

    #[tokio::test]
    async fn a_stalled_lossless_client_is_closed_with_4009_instead_of_its_queue() {
        let (tx, mut rx) = outbox_lossless(4);
        tx.push_text("abcdef".into()).expect("queued");
        tx.close_stalled();
        let Some(frame) = rx.recv().await else { panic!("a frame") };
        assert!(matches!(rx.close_instead(&frame), Some(OutFrame::Close { code: 4009, .. })));
    }

    #[tokio::test]
    async fn push_after_receiver_drop_is_closed() {
        let (tx, rx) = outbox(5);
        drop(rx);
        assert_eq!(tx.push_text("a".into()), Err(PushError::Closed));
        assert!(tx.is_closed());
    }
}
