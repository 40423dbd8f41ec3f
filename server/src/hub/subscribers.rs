//! The `/ws/app` subscribers and what each one follows: every session, or (after
//! `{"type":"subscribe","sessionIds":[..]}`) only some. A delta is encoded once and the same bytes
//! go to every subscriber that follows its session; deltas about no one session go to all but
//! session-restricted tokens, which see their one session only.

use crate::metrics as m;
use crate::outbox::TextFrame;
use crate::outbox::{OutboxSender, PushError};
use controlroom_protocol::{Delta, SessionId};
use std::collections::BTreeSet;

/// Identifies a subscriber for later `subscribe` messages.
pub type SubscriberId = u64;

struct Subscriber {
    id: SubscriberId,
    outbox: OutboxSender,
    /// `None`: every session.
    filter: Option<BTreeSet<SessionId>>,
    /// The one session its token may see (fixed for the connection); `None`: any.
    only: Option<SessionId>,
}

/// Whether a client restricted to `only` may see a delta about `session` (`None`: about no one
/// session, which a session-restricted client does not see).
pub(crate) fn visible(only: Option<&SessionId>, session: Option<&SessionId>) -> bool {
    match (only, session) {
        (None, _) => true,
        (Some(o), Some(s)) => o == s,
        (Some(_), None) => false,
    }
}

/// Every `/ws/app` subscriber.
#[derive(Default)]
pub(crate) struct Subscribers {
    list: Vec<Subscriber>,
    next_id: SubscriberId,
}

impl Subscribers {
    /// Adds a subscriber following every session it may see.
    pub(crate) fn add(&mut self, outbox: OutboxSender, only: Option<SessionId>) -> SubscriberId {
        self.next_id += 1;
        self.list.push(Subscriber { id: self.next_id, outbox, filter: None, only });
        self.next_id
    }

    /// The session subscriber `id`'s token is restricted to, if any.
    pub(crate) fn only(&self, id: SubscriberId) -> Option<&SessionId> {
        self.list.iter().find(|s| s.id == id).and_then(|s| s.only.as_ref())
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
    pub(crate) fn send(&mut self, delta: &Delta, frame: &TextFrame) -> usize {
        let session = delta.event.session_id();
        let mut sent = 0usize;
        self.list.retain(|s| {
            if let (Some(filter), Some(sid)) = (&s.filter, session)
                && !filter.contains(sid)
            {
                return true;
            }
            if !visible(s.only.as_ref(), session) {
                return !s.outbox.is_closed();
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
