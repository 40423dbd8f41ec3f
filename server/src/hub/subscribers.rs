//! The `/ws/app` subscribers and what each one follows: every session, or (after
//! `{"type":"subscribe","sessionIds":[..]}`) only some. A delta is encoded once and the same bytes
//! go to every subscriber that follows its session; deltas about no one session go to all.

use crate::metrics as m;
use crate::outbox::{OutboxSender, PushError};
use axum::extract::ws::Utf8Bytes;
use controlroom_protocol::{Delta, SessionId};
use std::collections::BTreeSet;

/// Identifies a subscriber for later `subscribe` messages.
pub type SubscriberId = u64;

struct Subscriber {
    id: SubscriberId,
    outbox: OutboxSender,
    /// `None`: every session.
    filter: Option<BTreeSet<SessionId>>,
}

/// Every `/ws/app` subscriber.
#[derive(Default)]
pub(crate) struct Subscribers {
    list: Vec<Subscriber>,
    next_id: SubscriberId,
}

impl Subscribers {
    /// Adds a subscriber following every session.
    pub(crate) fn add(&mut self, outbox: OutboxSender) -> SubscriberId {
        self.next_id += 1;
        self.list.push(Subscriber { id: self.next_id, outbox, filter: None });
        self.next_id
    }

    /// Changes what subscriber `id` follows; false if it is gone.
    pub(crate) fn set_filter(&mut self, id: SubscriberId, filter: Option<BTreeSet<SessionId>>) -> bool {
        match self.list.iter_mut().find(|s| s.id == id) {
            Some(s) => {
                s.filter = filter;
                true
            }
            None => false,
        }
    }

    /// What subscriber `id` follows (`None`: everything, or no such subscriber).
    pub(crate) fn filter(&self, id: SubscriberId) -> Option<&BTreeSet<SessionId>> {
        self.list.iter().find(|s| s.id == id).and_then(|s| s.filter.as_ref())
    }

    /// Queues `frame` (the encoded `delta`) to every subscriber following its session; drops
    /// subscribers that are closed or over their cap. Returns how many got it.
    pub(crate) fn send(&mut self, delta: &Delta, frame: &Utf8Bytes) -> usize {
        let session = delta.event.session_id();
        let mut sent = 0usize;
        self.list.retain(|s| {
            if let (Some(filter), Some(sid)) = (&s.filter, session)
                && !filter.contains(sid)
            {
                return true;
            }
            match s.outbox.push_text(frame.clone()) {
                Ok(()) => {
                    sent += 1;
                    true
                }
                Err(PushError::Overflow) => {
                    // The connection's writer closes it with 4008 and counts the termination.
                    tracing::warn!(
                        reason = "backpressure_limit",
                        endpoint = "app",
                        "closing slow app client"
                    );
                    false
                }
                Err(PushError::Closed) => false,
            }
        });
        metrics::counter!(m::BROADCAST_BYTES).increment((frame.len() * sent) as u64);
        sent
    }

    /// Subscribers now.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }
}
