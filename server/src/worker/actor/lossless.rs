//! Lossless delivery: a client that asked for every byte (`?delivery=lossless`) holds its
//! worker's output back while its queue is full, as ttyd does. The actor then stops taking
//! output — the pipe from the reader fills, the reader (or the holder) stops reading the PTY and
//! the program blocks on write — until that client has read its queue down to half, or until it
//! has read nothing for `--lossless-stall-timeout`: then it is closed with 4009, dropped, and
//! the worker runs on. Clients in the default mode are never held: they keep their cap and
//! their 4008, and fall behind no further than the lossless client's pace lets the worker go.
//!
//! The hook is two pieces of the actor loop: [`Actor::update_hold`] before each `select!`
//! (the output arm is guarded by "no hold"), and [`wait`], the arm that ends a hold.

use super::{Actor, ClientId};
use crate::outbox::OutboxSender;
use tokio::time::Instant;
use tracing::{debug, warn};

/// The actor waits on one full lossless client.
pub(super) struct Hold {
    client: ClientId,
    outbox: OutboxSender,
    /// Bytes the client had taken from its queue when its progress was last seen.
    taken: u64,
    /// When the client is given up on unless it has read something by then.
    deadline: Instant,
}

/// Why a hold's wait ended.
pub(super) enum HoldEnd {
    /// The client drained to half its cap, or disconnected.
    Drained,
    /// The stall deadline passed: see whether the client read anything meanwhile.
    Deadline,
}

/// Waits for the hold to end; never resolves without one. Cancel-safe.
pub(super) async fn wait(hold: Option<&Hold>) -> HoldEnd {
    let Some(hold) = hold else { return std::future::pending().await };
    tokio::select! {
        () = hold.outbox.drained() => HoldEnd::Drained,
        () = tokio::time::sleep_until(hold.deadline) => HoldEnd::Deadline,
    }
}

impl Actor {
    /// Whether output must wait: keeps the current hold while its client is still full, else
    /// holds on any attached lossless client that is full (its stall clock starting now).
    pub(super) fn update_hold(&mut self) -> bool {
        let full = |c: &super::Client| c.attached && c.outbox.is_full();
        if let Some(hold) = &self.hold
            && self.clients.by_id.get(&hold.client).is_some_and(full)
        {
            return true;
        }
        self.hold = self.clients.by_id.iter().find(|(_, c)| full(c)).map(|(id, c)| {
            debug!(client = id.0, "output held for a lossless client");
            Hold {
                client: *id,
                outbox: c.outbox.clone(),
                taken: c.outbox.taken(),
                deadline: Instant::now() + self.ctx.config.lossless_stall_timeout,
            }
        });
        self.hold.is_some()
    }

    /// Ends a hold's wait: a drained client lets output go (the next loop turn checks again);
    /// at the deadline a client that read something gets another period, and one that read
    /// nothing is closed with 4009 and dropped, releasing the worker.
    pub(super) fn on_hold_end(&mut self, end: HoldEnd) {
        let HoldEnd::Deadline = end else { return };
        let Some(mut hold) = self.hold.take() else { return };
        let taken = hold.outbox.taken();
        if taken != hold.taken {
            hold.taken = taken;
            hold.deadline = Instant::now() + self.ctx.config.lossless_stall_timeout;
            self.hold = Some(hold);
            return;
        }
        warn!(
            client = hold.client.0,
            reason = "lossless_stalled",
            timeout = ?self.ctx.config.lossless_stall_timeout,
            "closing a lossless client that stopped reading"
        );
        metrics::counter!(crate::metrics::TERMINATIONS, "reason" => "lossless_stalled").increment(1);
        hold.outbox.close_stalled();
        self.clients.by_id.remove(&hold.client);
    }
}
