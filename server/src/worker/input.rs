//! A worker's input queue: the bytes waiting for its PTY writer thread, bounded in bytes.
//!
//! Input is never refused for want of room: a caller waits for room ([`InputBudget::reserve`])
//! before its bytes are queued, so a WebSocket connection stops reading its socket while the
//! program is slow to read (TCP pushes back on the client) and a REST `input` answers once its
//! bytes are queued. Each queued chunk carries its share of the budget until the writer thread
//! has written it, so the queue never holds more than the budget, however many clients type
//! and whatever they send; a chunk dropped unwritten (the process exited, the worker was
//! deleted) gives its share back with its bytes.
//!
//! The screen model's answers to the program's queries have a small budget of their own: they
//! are owed by the gateway, must not wait behind a paste that filled the typed budget (a
//! program that asks for the cursor position while a paste is queued would wait forever), and
//! are dropped rather than queued past it (a program that floods queries and never reads).

use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Largest piece a message is queued in: a big paste waits for room a piece at a time, so it
/// never needs the whole budget free at once, and the writer starts on it at once.
pub(super) const INPUT_CHUNK_BYTES: usize = 64 * 1024;

/// Bytes of answers to queries that may wait for the writer thread.
pub(super) const MAX_QUEUED_REPLY_BYTES: usize = 64 * 1024;

/// Bytes for the writer thread, holding their share of the budget until written.
#[derive(Debug)]
pub(super) struct InputChunk {
    /// What to write.
    pub(super) bytes: Vec<u8>,
    /// Given back when the chunk is dropped: after the write, or unwritten.
    share: OwnedSemaphorePermit,
}

impl InputChunk {
    /// `bytes` with the share of the budget reserved for them.
    pub(super) fn new(bytes: Vec<u8>, share: OwnedSemaphorePermit) -> Self {
        Self { bytes, share }
    }

    /// The bytes and their share, for a queue that keeps the share itself until written.
    pub(super) fn into_parts(self) -> (Vec<u8>, OwnedSemaphorePermit) {
        (self.bytes, self.share)
    }
}

/// The byte budgets of one worker's input queue (shared by every process it runs: a process's
/// queued chunks go with it).
#[derive(Debug, Clone)]
pub(crate) struct InputBudget {
    typed: Arc<Semaphore>,
    replies: Arc<Semaphore>,
    chunk: usize,
}

impl InputBudget {
    /// A queue that holds at most `bytes` of typed input (at least 1).
    pub(crate) fn new(bytes: usize) -> Self {
        let bytes = bytes.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            typed: Arc::new(Semaphore::new(bytes)),
            replies: Arc::new(Semaphore::new(MAX_QUEUED_REPLY_BYTES)),
            chunk: INPUT_CHUNK_BYTES.min(bytes),
        }
    }

    /// The largest chunk [`InputBudget::reserve`] takes: never more than the whole budget.
    pub(crate) fn chunk(&self) -> usize {
        self.chunk
    }

    /// Waits until `len` (at most [`InputBudget::chunk`]) bytes of typed input fit, and takes
    /// their share. Waiters are served first come, first served. `None` only if the budget
    /// was closed, which nothing does.
    pub(crate) async fn reserve(&self, len: usize) -> Option<OwnedSemaphorePermit> {
        let n = u32::try_from(len.min(self.chunk)).unwrap_or(u32::MAX);
        self.typed.clone().acquire_many_owned(n).await.ok()
    }

    /// The share for `len` bytes of answers, if they fit now.
    pub(super) fn try_reserve_reply(&self, len: usize) -> Option<OwnedSemaphorePermit> {
        let n = u32::try_from(len).ok()?;
        self.replies.clone().try_acquire_many_owned(n).ok()
    }
}
