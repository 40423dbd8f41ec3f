//! The worker's process: the running child, its exit, and a stop in progress (who waits for it,
//! and when SIGKILL follows the SIGHUP).

use crate::worker::ExitInfo;
use crate::worker::process::Running;
use crate::worker::pty::{GroupSignal, PtyControl};
use tokio::sync::oneshot;
use tracing::{debug, info};

/// The process side of a worker: running (`process`) or exited (`exit`), or neither while
/// restoring.
#[derive(Default)]
pub(super) struct ProcessState {
    pub(super) process: Option<Running>,
    pub(super) exit: Option<ExitInfo>,
    /// Answered once the process has exited.
    stop_waiters: Vec<oneshot::Sender<()>>,
    /// When a stop escalates to SIGKILL.
    pub(super) kill_at: Option<tokio::time::Instant>,
    /// Stream offset where the running process's output starts: answers to queries before it
    /// were owed to a process that has exited.
    pub(super) process_start: u64,
    /// The control of an exited process whose holder waits for the exit to be acknowledged
    /// (after the store committed it); kept so the holder connection stays open until then.
    pub(super) unacked: Option<Box<dyn PtyControl>>,
}

impl ProcessState {
    /// Nothing running yet; a process started now has its output from stream offset `offset`.
    pub(super) fn new(offset: u64) -> Self {
        Self { process_start: offset, ..Self::default() }
    }

    /// Stops the process: SIGHUP to its group now, SIGKILL after `grace`; `reply` is answered
    /// once it has exited (at once when it is not running).
    pub(super) fn stop(&mut self, reply: oneshot::Sender<()>, grace: std::time::Duration) {
        let Some(p) = &mut self.process else {
            let _ = reply.send(());
            return;
        };
        self.stop_waiters.push(reply);
        if self.kill_at.is_none() {
            if let Err(e) = p.control_mut().signal_group(GroupSignal::Hangup) {
                debug!(error = %e, "SIGHUP to the worker's process group failed");
            }
            self.kill_at = Some(tokio::time::Instant::now() + grace);
        }
    }

    /// Whether a stop was asked for and the process has not ended since.
    pub(super) fn stop_requested(&self) -> bool {
        !self.stop_waiters.is_empty()
    }

    /// The grace after SIGHUP ran out: SIGKILL to the process group.
    pub(super) fn kill_now(&mut self) {
        self.kill_at = None;
        if let Some(p) = &mut self.process {
            info!(pid = ?p.control().pid(), "worker did not exit after SIGHUP; sending SIGKILL");
            if let Err(e) = p.control_mut().signal_group(GroupSignal::Kill) {
                debug!(error = %e, "SIGKILL to the worker's process group failed");
            }
        }
    }

    /// The process has exited: takes it (returning its pid) and cancels a pending SIGKILL. A
    /// holder's control is kept until the exit is acknowledged ([`Self::ack_exit`]).
    pub(super) fn take_process(&mut self) -> Option<u32> {
        self.kill_at = None;
        let running = self.process.take()?;
        let pid = running.control().pid();
        let control: Box<dyn PtyControl> = match running {
            Running::Threads { control, .. } => control,
            Running::Link(link) => link,
        };
        if control.outlives_gateway() {
            self.unacked = Some(control);
        }
        pid
    }

    /// Tells a holder waiting with an exit that it is recorded; returns whether one waited.
    pub(super) fn ack_exit(&mut self) -> bool {
        let Some(mut control) = self.unacked.take() else { return false };
        if let Err(e) = control.ack_exit() {
            // The holder is gone or its queue full: the next gateway hears the exit again.
            debug!(error = %e, "could not acknowledge the exit to the holder");
        }
        true
    }

    /// Answers everyone waiting for the process to stop.
    pub(super) fn release_stop_waiters(&mut self) {
        for waiter in self.stop_waiters.drain(..) {
            let _ = waiter.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stopping_what_is_not_running_answers_at_once() {
        let mut p = ProcessState::default();
        let (reply, mut rx) = oneshot::channel();
        p.stop(reply, Duration::from_secs(1));
        assert_eq!(rx.try_recv(), Ok(()));
        assert!(p.kill_at.is_none(), "nothing to kill");
    }

    #[test]
    fn kill_now_without_a_process_only_clears_the_deadline() {
        let mut p = ProcessState { kill_at: Some(tokio::time::Instant::now()), ..ProcessState::default() };
        p.kill_now();
        assert!(p.kill_at.is_none());
        assert_eq!(p.take_process(), None);
    }

    #[test]
    fn waiters_are_released_once() {
        let mut p = ProcessState::default();
        let (reply, mut rx) = oneshot::channel();
        p.stop_waiters.push(reply);
        p.release_stop_waiters();
        assert_eq!(rx.try_recv(), Ok(()));
        assert!(p.stop_waiters.is_empty());
    }
}
