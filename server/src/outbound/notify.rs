//! The webhook notifier: POSTs matching deltas to `--notify-webhook`, signed with
//! `X-Controlroom-Signature: sha256=<HMAC-SHA256 of the body>` (key: `DATA_DIR/webhook-secret`).
//!
//! The hub never waits on it: it hands each matching delta over with `try_send` on a bounded
//! queue, and a full queue drops the delivery (counted, logged). One task delivers in order, with
//! a timeout per attempt, retries with backoff, and no redirects (a 3xx is a failure). An
//! `https://` webhook is verified against the web PKI roots, `--outbound-ca` and `[notify] ca-file`.

use crate::metrics as m;
use crate::outbound::http_client::{self, Target};
use bytes::Bytes;
use controlroom_protocol::{ActivityState, Delta, DeltaEvent, WorkerState};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Default `[notify] timeout-ms`: one delivery attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `[notify] attempts`.
pub const DEFAULT_ATTEMPTS: u32 = 4;
/// Default `[notify] queue`: deliveries waiting before new ones are dropped.
pub const DEFAULT_QUEUE: usize = 256;
/// First retry delay; doubles per attempt.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Longest retry delay.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Largest response body read (and then discarded).
const MAX_RESPONSE: usize = 64 * 1024;

/// Which deltas go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NotifyEvent {
    /// `session-created`.
    Created,
    /// `session-updated`.
    Updated,
    /// `session-deleted`.
    Deleted,
    /// `worker-activity` to `asking`.
    Asking,
    /// `session-updated` in which a worker went from running to exited.
    Exited,
    /// Every `worker-activity`.
    Activity,
}

impl NotifyEvent {
    /// The name used in `--notify-on` and the `X-Controlroom-Event` header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
            Self::Asking => "asking",
            Self::Exited => "exited",
            Self::Activity => "activity",
        }
    }

    fn parse(s: &str) -> Result<Self, NotifyError> {
        Ok(match s.trim() {
            "created" => Self::Created,
            "updated" => Self::Updated,
            "deleted" => Self::Deleted,
            "asking" => Self::Asking,
            "exited" => Self::Exited,
            "activity" => Self::Activity,
            other => {
                return Err(NotifyError::UnknownEvent(other.to_owned()));
            }
        })
    }

    /// The events `delta` is, among those wanted (most specific first).
    fn of(delta: &Delta, wanted: &BTreeSet<NotifyEvent>) -> Option<NotifyEvent> {
        let hit = |e: NotifyEvent| wanted.contains(&e).then_some(e);
        match &delta.event {
            DeltaEvent::SessionCreated { .. } => hit(Self::Created),
            DeltaEvent::SessionDeleted { .. } => hit(Self::Deleted),
            DeltaEvent::SessionUpdated { session, before, .. } => {
                let exited = session.workers.iter().any(|w| {
                    w.state == WorkerState::Exited
                        && before.workers.iter().any(|b| b.id == w.id && b.state == WorkerState::Running)
                });
                exited.then(|| hit(Self::Exited)).flatten().or_else(|| hit(Self::Updated))
            }
            DeltaEvent::WorkerActivity { activity_state, .. } => {
                let asking = *activity_state == ActivityState::Asking;
                asking.then(|| hit(Self::Asking)).flatten().or_else(|| hit(Self::Activity))
            }
            DeltaEvent::SourceUpdated { .. } => None,
        }
    }
}

/// Why a webhook setting was refused or a delivery attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// An event name that is not one of ours.
    #[error("unknown notify event `{0}` (use created, updated, deleted, asking, exited, activity)")]
    UnknownEvent(String),
    /// The webhook URL or its CA files were refused (the HTTP client's message).
    #[error(transparent)]
    Target(#[from] controlroom_net::http::TargetError),
    /// `[notify]`'s `on` list named an event that is not one of ours.
    #[error("[notify] on: {0}")]
    On(Box<NotifyError>),
    /// The request failed (the HTTP client's message).
    #[error("{0}")]
    Http(String),
    /// No answer within the per-attempt timeout.
    #[error("timed out")]
    TimedOut,
    /// A redirect, which is never followed.
    #[error("answered {0}; redirects are not followed")]
    Redirect(http::StatusCode),
    /// Any other status but success.
    #[error("answered {0}")]
    Status(http::StatusCode),
}

/// Parses a comma-separated `--notify-on` list.
pub fn parse_events(list: &str) -> Result<BTreeSet<NotifyEvent>, NotifyError> {
    list.split(',').filter(|s| !s.trim().is_empty()).map(NotifyEvent::parse).collect()
}

/// Webhook settings (`[notify]`, `--notify-webhook`, `--notify-on`).
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// `http://` or `https://` URL; `None` turns the notifier off.
    pub webhook: Option<String>,
    /// CA files trusted for an `https://` webhook beside the web PKI roots (`--outbound-ca`,
    /// `[notify] ca-file`).
    pub ca_files: Vec<PathBuf>,
    /// Events sent.
    pub on: BTreeSet<NotifyEvent>,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Attempts per delivery.
    pub attempts: u32,
    /// Queue length.
    pub queue: usize,
    /// First retry delay (doubles per attempt).
    pub backoff: Duration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            webhook: None,
            ca_files: Vec::new(),
            on: [NotifyEvent::Created, NotifyEvent::Deleted, NotifyEvent::Asking, NotifyEvent::Exited].into(),
            timeout: DEFAULT_TIMEOUT,
            attempts: DEFAULT_ATTEMPTS,
            queue: DEFAULT_QUEUE,
            backoff: FIRST_BACKOFF,
        }
    }
}

impl NotifyConfig {
    /// Applies `[notify]`.
    pub fn apply_section(&mut self, s: &crate::file_config::NotifySection) -> Result<(), NotifyError> {
        if let Some(url) = &s.webhook {
            self.set_webhook(url)?;
        }
        if let Some(ca) = &s.ca_file {
            self.ca_files.push(ca.clone());
        }
        if let Some(on) = &s.on {
            self.on = parse_events(&on.join(",")).map_err(|e| NotifyError::On(Box::new(e)))?;
        }
        if let Some(v) = s.timeout_ms {
            self.timeout = Duration::from_millis(v.max(1));
        }
        if let Some(v) = s.attempts {
            self.attempts = v.max(1);
        }
        if let Some(v) = s.queue {
            self.queue = v.max(1);
        }
        Ok(())
    }

    /// Sets the URL after checking it is an `http://` or `https://` URL.
    pub fn set_webhook(&mut self, url: &str) -> Result<(), NotifyError> {
        Target::parse(url)?;
        self.webhook = Some(url.to_owned());
        Ok(())
    }
}

/// One queued delivery: the delta's JSON, as broadcast.
struct Delivery {
    event: NotifyEvent,
    seq: u64,
    body: Bytes,
}

/// The hub's end of the notifier.
#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::Sender<Delivery>,
    on: BTreeSet<NotifyEvent>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").field("on", &self.on).finish_non_exhaustive()
    }
}

impl Notifier {
    /// Starts the delivery task, or returns `None` when no webhook is configured.
    pub fn start(
        config: &NotifyConfig,
        secret: String,
        stop: CancellationToken,
    ) -> Result<Option<Self>, NotifyError> {
        let Some(url) = &config.webhook else { return Ok(None) };
        let target = Target::new(url, &config.ca_files)?;
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let worker = DeliveryTask { target, secret, config: config.clone(), stop };
        tokio::spawn(worker.run(rx));
        tracing::info!(url = %url, events = ?config.on, "webhook notifier on");
        Ok(Some(Self { tx, on: config.on.clone() }))
    }

    /// Queues `delta` (already encoded as `frame`) if it is a wanted event; never waits.
    pub fn offer(&self, delta: &Delta, frame: &str) {
        let Some(event) = NotifyEvent::of(delta, &self.on) else { return };
        let delivery = Delivery { event, seq: delta.seq, body: Bytes::copy_from_slice(frame.as_bytes()) };
        if self.tx.try_send(delivery).is_err() {
            metrics::counter!(m::WEBHOOK_DROPS).increment(1);
            tracing::warn!(seq = delta.seq, event = event.as_str(), "webhook queue full; delivery dropped");
        }
    }
}

/// The HMAC-SHA256 of `body` under `secret`, as `sha256=<hex>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

struct DeliveryTask {
    target: Target,
    secret: String,
    config: NotifyConfig,
    stop: CancellationToken,
}

impl DeliveryTask {
    async fn run(self, mut rx: mpsc::Receiver<Delivery>) {
        loop {
            let delivery = tokio::select! {
                () = self.stop.cancelled() => break,
                d = rx.recv() => match d { Some(d) => d, None => break },
            };
            self.deliver(&delivery).await;
        }
    }

    async fn deliver(&self, d: &Delivery) {
        let signature = signature(&self.secret, &d.body);
        let mut backoff = self.config.backoff;
        for attempt in 1..=self.config.attempts {
            let result = tokio::select! {
                () = self.stop.cancelled() => return,
                r = tokio::time::timeout(self.config.timeout, self.post(d, &signature)) => {
                    r.unwrap_or(Err(NotifyError::TimedOut))
                }
            };
            match result {
                Ok(()) => {
                    metrics::counter!(m::WEBHOOK_DELIVERIES).increment(1);
                    tracing::debug!(seq = d.seq, event = d.event.as_str(), attempt, "webhook delivered");
                    return;
                }
                Err(e) => {
                    metrics::counter!(m::WEBHOOK_FAILURES).increment(1);
                    tracing::warn!(seq = d.seq, event = d.event.as_str(), attempt, error = %e, "webhook attempt failed");
                }
            }
            if attempt < self.config.attempts {
                tokio::select! {
                    () = self.stop.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        metrics::counter!(m::WEBHOOK_DROPS).increment(1);
        tracing::warn!(seq = d.seq, event = d.event.as_str(), "webhook delivery given up");
    }

    async fn post(&self, d: &Delivery, signature: &str) -> Result<(), NotifyError> {
        let headers = [
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("X-Controlroom-Signature".to_owned(), signature.to_owned()),
            ("X-Controlroom-Event".to_owned(), d.event.as_str().to_owned()),
            ("X-Controlroom-Delivery".to_owned(), d.seq.to_string()),
        ];
        let (status, _) =
            http_client::send(&self.target, http::Method::POST, &headers, d.body.clone(), MAX_RESPONSE)
                .await
                .map_err(NotifyError::Http)?;
        if status.is_success() {
            Ok(())
        } else if status.is_redirection() {
            Err(NotifyError::Redirect(status))
        } else {
            Err(NotifyError::Status(status))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn events_and_urls_are_checked() {
        assert_eq!(
            parse_events("created, asking").expect("valid"),
            [NotifyEvent::Created, NotifyEvent::Asking].into()
        );
        assert!(parse_events("created,nope").expect_err("invalid").to_string().contains("nope"));
        let mut c = NotifyConfig::default();
        c.set_webhook("https://example.com/x").expect("https");
        assert!(c.set_webhook("ftp://x").is_err());
        c.set_webhook("http://127.0.0.1:9/hook?x=1").expect("http");
        let t = Target::parse("http://127.0.0.1:9/hook?x=1").expect("target");
        assert_eq!(t.parts(), ("127.0.0.1", 9, "/hook?x=1"));
    }
}
