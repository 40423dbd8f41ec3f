//! The worker actor's one activity timer, set to its tracker's next deadline
//! (`ActivityTracker::next_due`): nothing polls, a worker printing without a pause is looked at
//! once per `idle-after`, an idle one never.

use std::time::Instant;

/// The actor's one activity timer: set to the tracker's next deadline, made once and reset
/// (not a timer per output chunk: a later deadline waits for the set one to pass).
#[derive(Default)]
pub(super) struct ActivityDue {
    at: Option<Instant>,
    timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl ActivityDue {
    /// Sets the timer to `next` unless it is set to an earlier time already.
    pub(super) fn arm(&mut self, next: Option<Instant>) {
        let Some(next) = next else { return };
        if self.at.is_some_and(|at| at <= next) {
            return;
        }
        self.at = Some(next);
        let deadline = tokio::time::Instant::from_std(next);
        match &mut self.timer {
            Some(timer) => timer.as_mut().reset(deadline),
            None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
    }

    /// Whether a time is set.
    pub(super) fn is_armed(&self) -> bool {
        self.at.is_some()
    }

    pub(super) fn disarm(&mut self) {
        self.at = None;
    }

    /// Resolves when the set time has come (never while unset).
    pub(super) async fn wait(&mut self) {
        match (&self.at, &mut self.timer) {
            (Some(_), Some(timer)) => timer.as_mut().await,
            _ => std::future::pending().await,
        }
        self.at = None;
    }
}
