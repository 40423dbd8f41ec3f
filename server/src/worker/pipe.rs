//! The hand-off from a PTY reader thread to its worker actor: one byte buffer the reader appends
//! every read to and the actor takes whole batches from.
//!
//! PTYs return at most a few KiB per read. Sending each read through a channel cost an
//! allocation and, often, an actor wake-up per read; here the reader wakes the actor only when
//! the buffer goes from empty to non-empty, and while the actor is busy further reads pile up
//! into the next batch with no wake-up at all. The buffer is bounded in bytes: past `cap` the
//! reader waits (on a condvar, off the runtime) until the actor takes some.
//!
//! Shared state, on purpose: a `Mutex` held only to append or take bytes (never across a read
//! or an await) is the cheapest hand-off between a blocking thread and a task.

use super::ExitInfo;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use tokio::sync::Notify;

/// What the actor takes from the pipe.
pub(super) enum Taken {
    /// Output bytes, at most the batch size asked for.
    Data(Vec<u8>),
    /// The reader is done and every byte before it was taken: the process has exited.
    Exit(ExitInfo),
}

#[derive(Default)]
struct State {
    buf: Vec<u8>,
    /// Set by the reader after EOF and reaping.
    exit: Option<ExitInfo>,
    /// The reader thread ended (normally after setting `exit`).
    reader_gone: bool,
    /// The actor side was dropped: the reader drains the PTY and discards.
    actor_gone: bool,
    /// The reader is waiting for room.
    reader_waiting: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Signals the reader that there is room again (or that the actor is gone).
    room: Condvar,
    /// Wakes the actor when bytes or the exit arrive, and again when a whole batch is buffered.
    ready: Notify,
    /// Bytes buffered before the reader waits.
    cap: usize,
    /// A whole batch: reaching it wakes an actor that is letting reads pile up.
    batch: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain bytes behind; keep using them.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A pipe holding at most `cap` bytes (plus one read) between the reader and the actor, which
/// takes batches of `batch` bytes.
pub(super) fn pipe(cap: usize, batch: usize) -> (PipeWriter, PipeReader) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        room: Condvar::new(),
        ready: Notify::new(),
        cap: cap.max(1),
        batch: batch.max(1),
    });
    (PipeWriter { shared: shared.clone() }, PipeReader { shared })
}

/// The reader thread's side.
pub(super) struct PipeWriter {
    shared: Arc<Shared>,
}

impl PipeWriter {
    /// Appends one read, first waiting while the buffer is full. Returns `false` once the actor
    /// is gone (the caller keeps draining the PTY so the child never blocks).
    pub(super) fn write(&self, bytes: &[u8]) -> bool {
        let mut state = self.shared.lock();
        while state.buf.len() >= self.shared.cap && !state.actor_gone {
            state.reader_waiting = true;
            state = self.shared.room.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        state.reader_waiting = false;
        if state.actor_gone {
            return false;
        }
        let before = state.buf.len();
        state.buf.extend_from_slice(bytes);
        let after = state.buf.len();
        drop(state);
        // Wake on the first byte, and when a whole batch is ready: an actor coalescing a flood
        // takes it then instead of waiting out its timer (which would cap throughput at one
        // batch per timer tick).
        let batch = self.shared.batch;
        if before == 0 || (before < batch && after >= batch) {
            self.shared.ready.notify_one();
        }
        true
    }

    /// Reports the exit, after the last byte.
    pub(super) fn exit(&self, exit: ExitInfo) {
        self.shared.lock().exit = Some(exit);
        self.shared.ready.notify_one();
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.shared.lock().reader_gone = true;
        self.shared.ready.notify_one();
    }
}

/// The actor's side.
pub(super) struct PipeReader {
    shared: Arc<Shared>,
}

impl PipeReader {
    /// Takes up to `max` bytes, or the exit once every byte was taken; `None` when there is
    /// nothing yet.
    pub(super) fn try_take(&self, max: usize) -> Option<Taken> {
        let mut state = self.shared.lock();
        if state.buf.is_empty() {
            if let Some(exit) = state.exit.take() {
                return Some(Taken::Exit(exit));
            }
            if state.reader_gone {
                state.reader_gone = false;
                return Some(Taken::Exit(ExitInfo { exit_code: None, signal: Some("lost".into()) }));
            }
            return None;
        }
        // An exact-size copy: the buffer keeps its capacity for the next reads, so a one-byte echo
        // costs a one-byte allocation rather than a fresh batch-sized buffer.
        let n = state.buf.len().min(max);
        let data = state.buf[..n].to_vec();
        state.buf.drain(..n);
        if state.buf.is_empty() && state.buf.capacity() > self.shared.batch {
            // What a flood grew is given back once it is drained (idle workers stay small).
            state.buf.shrink_to(self.shared.batch);
        }
        if state.reader_waiting {
            self.shared.room.notify_one();
        }
        Some(Taken::Data(data))
    }

    /// Waits until [`PipeReader::try_take`] may have something. Cancel-safe.
    pub(super) async fn ready(&self) {
        self.shared.ready.notified().await;
    }

    /// Bytes waiting to be taken.
    pub(super) fn buffered(&self) -> usize {
        self.shared.lock().buf.len()
    }

    /// Whether the next [`PipeReader::try_take`] returns the exit (no bytes left behind it).
    pub(super) fn at_exit(&self) -> bool {
        let state = self.shared.lock();
        state.buf.is_empty() && (state.exit.is_some() || state.reader_gone)
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.actor_gone = true;
        state.buf = Vec::new();
        drop(state);
        self.shared.room.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_taken_whole_up_to_max_then_the_exit() {
        let (w, r) = pipe(1024, 512);
        assert!(r.try_take(8).is_none());
        assert!(w.write(b"hello ") && w.write(b"world"));
        let Some(Taken::Data(a)) = r.try_take(8) else { panic!("data") };
        assert_eq!(a, b"hello wo");
        w.exit(ExitInfo { exit_code: Some(0), signal: None });
        assert!(!r.at_exit(), "bytes before the exit come first");
        let Some(Taken::Data(b)) = r.try_take(8) else { panic!("data") };
        assert_eq!(b, b"rld");
        assert!(r.at_exit());
        assert!(matches!(r.try_take(8), Some(Taken::Exit(ExitInfo { exit_code: Some(0), .. }))));
    }

    #[test]
    fn a_take_is_exact_size_and_a_drained_flood_gives_its_room_back() {
        let (w, r) = pipe(1 << 20, 64);
        assert!(w.write(b"k"));
        let Some(Taken::Data(echo)) = r.try_take(64) else { panic!("data") };
        assert_eq!((echo.as_slice(), echo.capacity()), (&b"k"[..], 1), "a keystroke costs a byte");
        assert!(w.write(&[b'x'; 100_000]));
        let mut taken = 0;
        while let Some(Taken::Data(d)) = r.try_take(64) {
            assert!(d.len() <= 64 && d.capacity() == d.len());
            taken += d.len();
        }
        assert_eq!(taken, 100_000);
        assert!(r.shared.lock().buf.capacity() <= 64, "the flood's buffer is given back once drained");
    }

    #[test]
    fn a_full_pipe_holds_the_reader_until_the_actor_takes() {
        let (w, r) = pipe(4, 2);
        assert!(w.write(b"abcd"));
        let writer = std::thread::spawn(move || {
            let ok = w.write(b"efgh");
            drop(w);
            ok
        });
        // The reader waits: nothing beyond the cap arrives until a take.
        let mut got = Vec::new();
        while got.len() < 8 {
            match r.try_take(64) {
                Some(Taken::Data(d)) => got.extend(d),
                Some(Taken::Exit(e)) => panic!("early exit {e:?}"),
                None => std::thread::yield_now(),
            }
        }
        assert_eq!(got, b"abcdefgh");
        assert!(writer.join().expect("writer thread"));
        assert!(matches!(r.try_take(64), Some(Taken::Exit(ExitInfo { signal: Some(_), .. }))), "lost");
    }

    #[test]
    fn a_dropped_actor_side_releases_a_waiting_reader() {
        let (w, r) = pipe(2, 1);
        assert!(w.write(b"ab"));
        let writer = std::thread::spawn(move || w.write(b"cd"));
        drop(r);
        assert!(!writer.join().expect("writer thread"), "the write reports the actor gone");
    }

    #[tokio::test]
    async fn the_actor_is_woken_when_bytes_arrive() {
        let (w, r) = pipe(64, 32);
        let waiter = tokio::spawn(async move {
            loop {
                if let Some(Taken::Data(d)) = r.try_take(64) {
                    return d;
                }
                r.ready().await;
            }
        });
        std::thread::spawn(move || w.write(b"x")).join().expect("writer");
        let got = tokio::time::timeout(std::time::Duration::from_secs(10), waiter).await;
        assert_eq!(got.expect("woken").expect("task"), b"x");
    }

    #[tokio::test]
    async fn a_whole_batch_wakes_an_actor_that_lets_reads_pile_up() {
        let (w, r) = pipe(64, 32);
        assert!(w.write(&[b'a'; 8]));
        // The first byte's wake-up, taken by the actor before it starts to coalesce.
        r.ready().await;
        let waiter = tokio::spawn(async move {
            // What the actor does while coalescing a flood (without the timer).
            while r.buffered() < 32 {
                r.ready().await;
            }
            r.buffered()
        });
        let w = std::thread::spawn(move || {
            assert!(w.write(&[b'b'; 8]), "below a batch: no wake-up needed");
            assert!(w.write(&[b'c'; 16]), "this one completes a batch");
            w
        })
        .join()
        .expect("writer");
        let got = tokio::time::timeout(std::time::Duration::from_secs(10), waiter).await;
        assert_eq!(got.expect("woken at a whole batch").expect("task"), 32);
        drop(w);
    }
}
