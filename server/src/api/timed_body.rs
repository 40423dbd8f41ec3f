//! A request body with a deadline (`--body-timeout`): a client that sends its headers in time but
//! then trickles, or never finishes, its body is answered `408` instead of holding a connection
//! slot and a handler for as long as it likes (slowloris on the body).

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Why reading a request body failed.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The whole body did not arrive within the deadline.
    #[error("the request body did not arrive within {}s (--body-timeout)", .0.as_secs_f64())]
    TimedOut(Duration),
    /// The connection failed while the body was read.
    #[error(transparent)]
    Read(#[from] hyper::Error),
}

/// Wraps a body so that reading it fails with [`BodyError::TimedOut`] once `timeout` has passed
/// since the request arrived. The timer is only armed if the body is actually read.
pub struct TimedBody<B> {
    inner: B,
    timeout: Duration,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<B> TimedBody<B> {
    /// Starts the clock now (call it when the request's headers have arrived).
    pub fn new(inner: B, timeout: Duration) -> Self {
        Self { inner, timeout, deadline: Instant::now() + timeout, sleep: None }
    }
}

impl<B> Body for TimedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    BodyError: From<B::Error>,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|r| r.map_err(BodyError::from)));
        }
        let deadline = this.deadline;
        let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        ready!(sleep.as_mut().poll(cx));
        Poll::Ready(Some(Err(BodyError::TimedOut(this.timeout))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use futures_util::Stream;
    use http_body_util::{BodyExt as _, StreamBody};
    use tokio::sync::mpsc;

    /// Body frames that arrive when the test sends them.
    struct Chunks(mpsc::Receiver<Bytes>);

    impl Stream for Chunks {
        type Item = Result<Frame<Bytes>, BodyError>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.0.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
        }
    }

    fn channel_body() -> (mpsc::Sender<Bytes>, StreamBody<Chunks>) {
        let (tx, rx) = mpsc::channel(4);
        (tx, StreamBody::new(Chunks(rx)))
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_finishes_in_time_is_read_whole() {
        let (tx, body) = channel_body();
        let timed = TimedBody::new(body, Duration::from_secs(5));
        let writer = tokio::spawn(async move {
            tx.send(Bytes::from_static(b"hel")).await.expect("send");
            tokio::time::sleep(Duration::from_secs(4)).await;
            tx.send(Bytes::from_static(b"lo")).await.expect("send");
        });
        let got = timed.collect().await.expect("in time").to_bytes();
        assert_eq!(&got[..], b"hello");
        writer.await.expect("writer");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_still_arriving_at_the_deadline_fails_with_timed_out() {
        let (tx, body) = channel_body();
        let timed = TimedBody::new(body, Duration::from_secs(5));
        // Bytes keep trickling in, but the whole body is not there by the deadline.
        let writer = tokio::spawn(async move {
            for _ in 0..10 {
                if tx.send(Bytes::from_static(b"x")).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        let started = Instant::now();
        let err = timed.collect().await.expect_err("timed out");
        assert!(matches!(err, BodyError::TimedOut(d) if d == Duration::from_secs(5)), "{err}");
        assert_eq!(started.elapsed(), Duration::from_secs(5), "the deadline counts from the start");
        writer.abort();
    }
}
