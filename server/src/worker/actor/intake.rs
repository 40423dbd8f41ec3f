//! The actor's intake of a process's output: the next batch (or the exit), taken from the
//! reader thread's pipe or read from a holder's socket by the actor's own task, once the screen
//! backlog has room and, while output floods, once the coalescing delay is over or a whole
//! batch waits.
//!
//! A holder's socket is also where input goes: the same future writes queued input while it
//! waits for output, so one task serves both directions of a holder-backed worker.

use crate::worker::pipe::{PipeReader, Taken};
use crate::worker::process::Running;
use crate::worker::pty::{LinkOutput, PtyLink};
use std::future::Future as _;
use std::sync::Arc;
use std::task::Poll;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The next batch of at most `max` bytes (everything read since the last take, up to `max`) or
/// the exit, with a permit of the screen backlog (`None` if the backlog was closed). Reads only
/// while `reading` (the actor's pause switch); a holder's queued input is written either way.
/// Never resolves without a process. Cancel-safe: nothing is taken before it resolves.
pub(super) async fn next_output(
    backlog: &Arc<Semaphore>,
    process: Option<&mut Running>,
    reading: bool,
    max: usize,
    coalesce_until: Option<tokio::time::Instant>,
) -> (Option<OwnedSemaphorePermit>, Taken) {
    match process {
        Some(Running::Threads { output, .. }) if reading => {
            next_piped(backlog, output, max, coalesce_until).await
        }
        Some(Running::Link(link)) => next_linked(backlog, link.as_mut(), reading, max, coalesce_until).await,
        _ => std::future::pending().await,
    }
}

/// From a reader thread's pipe: waits for room in the backlog (and, while flooding, until
/// `coalesce_until` unless a whole batch is waiting), then takes the next batch.
async fn next_piped(
    backlog: &Arc<Semaphore>,
    pipe: &PipeReader,
    max: usize,
    coalesce_until: Option<tokio::time::Instant>,
) -> (Option<OwnedSemaphorePermit>, Taken) {
    let permit = backlog.clone().acquire_owned().await.ok();
    if let Some(until) = coalesce_until {
        // Until the timer, or until a whole batch is waiting, whichever is first.
        let whole_batch = async {
            while pipe.buffered() < max {
                pipe.ready().await;
            }
        };
        tokio::select! {
            () = tokio::time::sleep_until(until) => {}
            () = whole_batch => {}
        }
    }
    loop {
        if let Some(taken) = pipe.try_take(max) {
            return (permit, taken);
        }
        pipe.ready().await;
    }
}

/// From a holder's socket, polled by this task: writes queued input whenever the socket takes
/// it; reads once the backlog has room — while flooding, reads pile up until a whole batch
/// waits or `coalesce_until` passes (reading is cheap; the batch's fan-out is what coalescing
/// saves), otherwise the first bytes are taken at once (an echo waits for nothing).
async fn next_linked(
    backlog: &Arc<Semaphore>,
    link: &mut dyn PtyLink,
    reading: bool,
    max: usize,
    coalesce_until: Option<tokio::time::Instant>,
) -> (Option<OwnedSemaphorePermit>, Taken) {
    let mut acquire = std::pin::pin!(backlog.clone().acquire_owned());
    let mut permit: Option<Option<OwnedSemaphorePermit>> = None;
    let mut coalescing = coalesce_until.is_some();
    let mut settled = std::pin::pin!(async move {
        if let Some(until) = coalesce_until {
            tokio::time::sleep_until(until).await;
        }
    });
    std::future::poll_fn(|cx| {
        if link.wants_flush() {
            // Ready means written or broken; a broken socket shows up as the output's end.
            let _ = link.poll_flush(cx);
        }
        if !reading {
            return Poll::Pending;
        }
        if permit.is_none() {
            match acquire.as_mut().poll(cx) {
                Poll::Ready(p) => permit = Some(p.ok()),
                Poll::Pending => return Poll::Pending,
            }
        }
        if coalescing && settled.as_mut().poll(cx).is_ready() {
            coalescing = false;
        }
        let want = if coalescing { max } else { 1 };
        if link.poll_fill(cx, want, max).is_pending() {
            return Poll::Pending;
        }
        match link.take(max) {
            Some(LinkOutput::Data(d)) => Poll::Ready((permit.take().flatten(), Taken::Data(d))),
            Some(LinkOutput::Exit(e)) => Poll::Ready((permit.take().flatten(), Taken::Exit(e))),
            // `poll_fill` is ready only with bytes or the end waiting, so a take always has
            // something; should a link break that promise, ask to be polled again rather than
            // hang.
            None => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    })
    .await
}
