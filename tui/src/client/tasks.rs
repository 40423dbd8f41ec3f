//! The socket tasks: one for `/ws/app`, one for the watched worker. Each owns its socket, retries
//! with backoff, and reports into the UI loop as [`Msg`]s; the UI never waits on a socket.

use super::backoff::Backoff;
use super::ws::{ConnectError, Socket, close_reason, connect};
use super::{Endpoint, GatewayFile, worker_path};
use crate::state::{AppEvent, Msg, WorkerEvent};
use controlroom_protocol::{
    AppClientMsg, AppServerMsg, SessionId, WS_APP_PATH, WorkerClientMsg, WorkerId, WorkerServerMsg,
};
use futures_util::{SinkExt, StreamExt};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

/// How often the client pings to measure round-trip time and notice a dead connection.
const PING_EVERY: Duration = Duration::from_secs(5);

/// Where the gateway is and how to find it again.
#[derive(Debug, Clone)]
pub struct Target {
    /// Current base URL, published to the worker task too.
    pub url: watch::Sender<String>,
    /// The owner token.
    pub token: String,
    /// When set, re-read before every attempt (a restarted gateway may be on another port).
    pub gateway_json: Option<PathBuf>,
}

impl Target {
    fn refresh(&self) -> String {
        if let Some(path) = &self.gateway_json
            && let Ok(file) = GatewayFile::read(path)
            && *self.url.borrow() != file.url
        {
            tracing::info!(url = %file.url, "gateway address changed");
            self.url.send_replace(file.url);
        }
        self.url.borrow().clone()
    }
}

/// How one connected stretch of a socket ended.
enum Ended {
    /// The UI is gone or asked to stop.
    Stop,
    /// Lost; retry.
    Lost(String),
    /// Gone for good (the worker was deleted).
    Gone(String),
}

/// Runs `/ws/app` until the UI goes away or the token is refused.
pub async fn app_task(target: Target, ui: mpsc::Sender<Msg>, mut out: mpsc::UnboundedReceiver<AppClientMsg>) {
    let mut backoff = Backoff::default();
    loop {
        let url = target.refresh();
        let result = match Endpoint::parse(&url) {
            Ok(e) => connect(&e.ws_url(WS_APP_PATH), &target.token).await,
            Err(e) => Err(ConnectError::Other(e.to_string())),
        };
        let reason = match result {
            Ok(socket) => {
                backoff.reset();
                tracing::info!(%url, "app socket connected");
                if ui.send(Msg::App(AppEvent::Connected { url: url.clone() })).await.is_err() {
                    return;
                }
                match app_session(socket, &ui, &mut out).await {
                    Ended::Stop => return,
                    Ended::Lost(r) | Ended::Gone(r) => r,
                }
            }
            Err(ConnectError::Unauthorized) => {
                tracing::warn!(%url, "app socket: token rejected");
                let _ = ui.send(Msg::App(AppEvent::AuthFailed(ConnectError::Unauthorized.describe()))).await;
                return;
            }
            Err(e) => e.describe(),
        };
        let delay = backoff.next_delay(&mut rand::rng());
        tracing::info!(%reason, attempt = backoff.attempt(), delay_ms = delay.as_millis() as u64, "app socket lost");
        let event =
            AppEvent::Disconnected { reason, attempt: backoff.attempt(), retry_at: Instant::now() + delay };
        if ui.send(Msg::App(event)).await.is_err() {
            return;
        }
        // Drop requests queued while disconnected: a reconnect resyncs anyway.
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = ui.closed() => return,
        }
        while out.try_recv().is_ok() {}
    }
}

async fn app_session(
    socket: Socket,
    ui: &mpsc::Sender<Msg>,
    out: &mut mpsc::UnboundedReceiver<AppClientMsg>,
) -> Ended {
    let (mut sink, mut stream) = socket.split();
    let mut ping = Pinger::default();
    let mut tick = tokio::time::interval(PING_EVERY);
    loop {
        tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<AppServerMsg>(&text) {
                    Ok(m) => {
                        if ui.send(Msg::App(AppEvent::Message(Box::new(m)))).await.is_err() {
                            return Ended::Stop;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "unparsable app message"),
                },
                Some(Ok(Message::Pong(payload))) => {
                    if let Some(rtt) = ping.pong(&payload) {
                        let _ = ui.send(Msg::App(AppEvent::Rtt(rtt))).await;
                    }
                }
                Some(Ok(Message::Close(frame))) => return Ended::Lost(close_reason(frame.as_ref())),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Ended::Lost(format!("connection lost: {e}")),
                None => return Ended::Lost("connection lost".into()),
            },
            req = out.recv() => {
                let Some(req) = req else { return Ended::Stop };
                match serde_json::to_string(&req) {
                    Ok(text) => {
                        if let Err(e) = sink.send(Message::text(text)).await {
                            return Ended::Lost(format!("connection lost: {e}"));
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "cannot encode app message"),
                }
            }
            _ = tick.tick() => {
                if ping.overdue() {
                    return Ended::Lost("heartbeat timed out".into());
                }
                if let Err(e) = sink.send(Message::Ping(ping.ping())).await {
                    return Ended::Lost(format!("connection lost: {e}"));
                }
            }
            _ = ui.closed() => return Ended::Stop,
        }
    }
}

/// Tracks client pings: round-trip time and unanswered pings.
#[derive(Debug, Default)]
struct Pinger {
    counter: u64,
    outstanding: Option<(u64, Instant)>,
    missed: u32,
}

impl Pinger {
    fn ping(&mut self) -> bytes::Bytes {
        if self.outstanding.is_some() {
            self.missed += 1;
        }
        self.counter += 1;
        self.outstanding = Some((self.counter, Instant::now()));
        bytes::Bytes::copy_from_slice(&self.counter.to_be_bytes())
    }

    fn pong(&mut self, payload: &[u8]) -> Option<Duration> {
        let n = u64::from_be_bytes(payload.try_into().ok()?);
        match self.outstanding {
            Some((c, sent)) if c == n => {
                self.outstanding = None;
                self.missed = 0;
                Some(sent.elapsed())
            }
            _ => None,
        }
    }

    /// Two pings in a row went unanswered.
    fn overdue(&self) -> bool {
        self.missed >= 2
    }
}

/// Runs one worker's socket, retrying, until the UI drops `out` or the worker is gone.
pub async fn worker_task(
    url: watch::Receiver<String>,
    token: String,
    session: SessionId,
    worker: WorkerId,
    ui: mpsc::Sender<Msg>,
    mut out: mpsc::UnboundedReceiver<WorkerClientMsg>,
) {
    let mut backoff = Backoff::default();
    let report = |event| Msg::Worker { session: session.clone(), worker: worker.clone(), event };
    loop {
        let base = url.borrow().clone();
        let result = match Endpoint::parse(&base) {
            Ok(e) => connect(&e.ws_url(&worker_path(session.as_str(), worker.as_str())), &token).await,
            Err(e) => Err(ConnectError::Other(e.to_string())),
        };
        let ended = match result {
            Ok(socket) => {
                backoff.reset();
                worker_session(socket, &ui, &mut out, &report).await
            }
            Err(ConnectError::NotFound) => Ended::Gone("worker not found".into()),
            Err(e) => Ended::Lost(e.describe()),
        };
        match ended {
            Ended::Stop => return,
            Ended::Gone(reason) => {
                let _ = ui.send(report(WorkerEvent::Gone(reason))).await;
                return;
            }
            Ended::Lost(reason) => {
                if ui.send(report(WorkerEvent::Lost(reason))).await.is_err() {
                    return;
                }
            }
        }
        let delay = backoff.next_delay(&mut rand::rng());
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = ui.closed() => return,
        }
        while out.try_recv().is_ok() {}
    }
}

async fn worker_session(
    socket: Socket,
    ui: &mpsc::Sender<Msg>,
    out: &mut mpsc::UnboundedReceiver<WorkerClientMsg>,
    report: &impl Fn(WorkerEvent) -> Msg,
) -> Ended {
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<WorkerServerMsg>(&text) {
                    Ok(m) => {
                        if ui.send(report(WorkerEvent::Message(m))).await.is_err() {
                            return Ended::Stop;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "unparsable worker message"),
                },
                Some(Ok(Message::Close(frame))) => {
                    let reason = close_reason(frame.as_ref());
                    return if frame.is_some_and(|f| u16::from(f.code) == controlroom_protocol::close_code::DELETED) {
                        Ended::Gone("the worker was deleted".into())
                    } else {
                        Ended::Lost(reason)
                    };
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Ended::Lost(format!("connection lost: {e}")),
                None => return Ended::Lost("connection lost".into()),
            },
            req = out.recv() => {
                let Some(req) = req else { return Ended::Stop };
                match serde_json::to_string(&req) {
                    Ok(text) => {
                        if let Err(e) = sink.send(Message::text(text)).await {
                            return Ended::Lost(format!("connection lost: {e}"));
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "cannot encode worker message"),
                }
            }
        }
    }
}
