//! The actor's side of a preset's auto-answer: typing the answer whose countdown ran out (the
//! tracker decides and logs it), and switching it on or off for a client.

use super::super::input::InputChunk;
use super::Actor;
use std::time::Instant;
use tracing::{debug, info};

impl Actor {
    /// Types the auto-answer if its countdown has run out. The answer is the gateway's own, like
    /// the answers to the program's queries, so it takes that small budget and never waits
    /// behind a paste; it is dropped (and logged) when even that is full.
    pub(super) fn auto_answer(&mut self) {
        let Some(bytes) = self.activity.take_auto_answer(Instant::now()) else { return };
        self.publish_activity();
        let Some(p) = &mut self.proc.process else { return };
        let len = bytes.len();
        let Some(share) = self.input.try_reserve_reply(len) else {
            debug!(bytes = len, "auto-answer dropped: the program has not read its input");
            return;
        };
        if p.send_input(InputChunk::new(bytes, share)).is_ok() {
            info!(bytes = len, "auto-answered the prompt on screen");
            crate::metrics::pty_bytes_in(len as u64);
        }
    }

    /// `POST …/auto-answer`.
    pub(super) fn set_auto_answer(&mut self, enabled: bool) {
        if self.activity.set_auto_answer(enabled, Instant::now()) {
            self.publish_activity();
        }
        self.arm_activity_due();
    }
}
