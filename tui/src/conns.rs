//! The open worker sockets: the watched worker's (preview or attach, which input goes to) and
//! the wall's tiles', one socket per worker however many views show it, so a worker's stream
//! reaches the state once and in order.
//!
//! Each socket reports on a queue of its own, bounded (`worker-report-queue`,
//! [`QueueLimits::worker_reports`]): a socket whose queue
//! is full stops being read (its task waits), so a flooding worker backs up into its own socket
//! and the gateway applies its slow-client policy to it (4008, then a fresh `history`), while
//! the loop takes the queues in turn ([`WorkerConns::next_report`]): one flooding tile never
//! holds another tile's update behind its backlog.

use crate::client::events::{ClientEvent, WorkerSend};
use crate::client::tasks::{WorkerDial, worker_task};
use crate::defaults::QueueLimits;
use controlroom_protocol::{HistoryScope, SessionId, WorkerId};
use std::task::{Context, Poll};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One worker: its session and id.
pub type ConnKey = (SessionId, WorkerId);

/// One worker socket's task and its two queues.
struct WorkerConn {
    task: JoinHandle<()>,
    out: mpsc::Sender<WorkerSend>,
    reports: mpsc::Receiver<ClientEvent>,
    /// What its `history` carries: tiles ask for the screen only.
    history: HistoryScope,
    /// The task ended and its queue is empty: nothing more will come.
    ended: bool,
}

impl Drop for WorkerConn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Why something typed did not go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// `worker-send-queue` messages ([`QueueLimits::worker_sends`]) already wait for the socket.
    Full,
}

/// The open worker sockets, in the order they were opened (the order the loop takes their
/// reports in turn).
pub struct WorkerConns {
    dial: WorkerDial,
    /// Bounds of each socket's two queues.
    queues: QueueLimits,
    open: Vec<(ConnKey, WorkerConn)>,
    watched: Option<ConnKey>,
    tiles: Vec<ConnKey>,
    /// Where the next look for a report starts: just after the socket that gave the last one.
    cursor: usize,
}

impl WorkerConns {
    /// No sockets yet; each one opened dials as `dial` says (its `history` set per socket), its
    /// queues bounded by `queues`.
    pub fn new(dial: WorkerDial, queues: QueueLimits) -> Self {
        Self { dial, queues, open: Vec::new(), watched: None, tiles: Vec::new(), cursor: 0 }
    }

    fn get(&self, key: &ConnKey) -> Option<&WorkerConn> {
        self.open.iter().find(|(k, _)| k == key).map(|(_, c)| c)
    }

    /// Opens `key`'s socket, replacing (closing) any it had.
    fn open(&mut self, key: ConnKey, history: HistoryScope) {
        let conn = self.start(key.clone(), history);
        match self.open.iter_mut().find(|(k, _)| *k == key) {
            Some((_, old)) => *old = conn,
            None => self.open.push((key, conn)),
        }
    }

    /// [`crate::state::Effect::Watch`]: the watched view needs the whole scrollback, so it
    /// gets a socket with the full `history`: a tile's own (screen only) is replaced, and the
    /// same worker again opens a fresh socket (a restart must show the new process from its
    /// `history`); a worker a tile watches on a full socket keeps it.
    pub fn watch(&mut self, target: Option<ConnKey>) {
        let old = self.watched.take();
        if let Some(key) = &target {
            let shared = old.as_ref() != Some(key)
                && self.get(key).is_some_and(|c| c.history == HistoryScope::Full && !c.ended);
            if !shared {
                self.open(key.clone(), HistoryScope::Full);
            }
        }
        self.watched = target;
        if let Some(old) = old
            && self.watched.as_ref() != Some(&old)
            && !self.tiles.contains(&old)
        {
            self.open.retain(|(k, _)| *k != old);
        }
    }

    /// [`crate::state::Effect::WatchTiles`]: opens the new tiles' sockets (screen-only
    /// `history`), closes the ones no view needs.
    pub fn tiles(&mut self, tiles: Vec<ConnKey>) {
        for key in &tiles {
            if self.get(key).is_none() {
                self.open(key.clone(), HistoryScope::Screen);
            }
        }
        let watched = &self.watched;
        self.open.retain(|(key, _)| tiles.contains(key) || watched.as_ref() == Some(key));
        self.tiles = tiles;
    }

    /// Queues something for the watched worker's socket; never waits.
    pub fn send(&self, msg: WorkerSend) -> Result<(), SendError> {
        let Some(conn) = self.watched.as_ref().and_then(|key| self.get(key)) else { return Ok(()) };
        match conn.out.try_send(msg) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => Err(SendError::Full),
            // The task has ended (the worker is gone): the state already says so.
            Err(mpsc::error::TrySendError::Closed(_)) => Ok(()),
        }
    }

    /// The next report of any socket, taking the sockets in turn: after a report from one,
    /// every other socket with a report waiting gives one before it gives another.
    pub async fn next_report(&mut self) -> ClientEvent {
        std::future::poll_fn(|cx| self.poll_report(cx)).await
    }

    fn poll_report(&mut self, cx: &mut Context<'_>) -> Poll<ClientEvent> {
        let n = self.open.len();
        for i in 0..n {
            let at = (self.cursor + i) % n;
            let conn = &mut self.open[at].1;
            if conn.ended {
                continue;
            }
            match conn.reports.poll_recv(cx) {
                Poll::Ready(Some(event)) => {
                    self.cursor = at + 1;
                    return Poll::Ready(event);
                }
                Poll::Ready(None) => conn.ended = true,
                Poll::Pending => {}
            }
        }
        Poll::Pending
    }

    /// A report already waiting, taking the sockets in turn as [`WorkerConns::next_report`]
    /// does; `None` when no socket has one.
    pub fn try_report(&mut self) -> Option<ClientEvent> {
        let n = self.open.len();
        for i in 0..n {
            let at = (self.cursor + i) % n;
            if let Ok(event) = self.open[at].1.reports.try_recv() {
                self.cursor = at + 1;
                return Some(event);
            }
        }
        None
    }

    /// Starts the socket task of one worker.
    fn start(&self, (session, wid): ConnKey, history: HistoryScope) -> WorkerConn {
        let (out, out_rx) = mpsc::channel(self.queues.worker_sends);
        let (reports_tx, reports) = mpsc::channel(self.queues.worker_reports);
        let dial = WorkerDial { history, ..self.dial.clone() };
        let task = tokio::spawn(worker_task(dial, session, wid, reports_tx, out_rx));
        WorkerConn { task, out, reports, history, ended: false }
    }

    /// A socket stand-in with no task behind it: the test sends its reports.
    #[cfg(test)]
    fn insert_fake(&mut self, key: ConnKey) -> mpsc::Sender<ClientEvent> {
        let (out, out_rx) = mpsc::channel(self.queues.worker_sends);
        let (reports_tx, reports) = mpsc::channel(self.queues.worker_reports);
        // Holds the sending queue open, reading nothing from it.
        let task = tokio::spawn(async move {
            let _queue: mpsc::Receiver<WorkerSend> = out_rx;
            std::future::pending::<()>().await;
        });
        let conn = WorkerConn { task, out, reports, history: HistoryScope::Screen, ended: false };
        self.open.push((key, conn));
        reports_tx
    }

    /// The `history` each open socket asked for, in opening order (for tests).
    #[cfg(test)]
    fn scopes(&self) -> Vec<(ConnKey, HistoryScope)> {
        self.open.iter().map(|(k, c)| (k.clone(), c.history)).collect()
    }
}

#[cfg(test)]
#[path = "conns_tests.rs"]
mod tests;
