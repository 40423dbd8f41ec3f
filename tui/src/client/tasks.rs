//! The socket tasks: one for `/ws/app`, one for the watched worker. Each owns its socket, retries
//! with backoff, and reports into the UI loop as [`ClientEvent`]s (the loop's message type only
//! has to be made from one); the UI never waits on a socket.

use super::Trust;
use super::backoff::Backoff;
use super::credential::Credential;
use super::events::{AppReport, ClientEvent, WorkerReport, WorkerSend};
use super::ws::{
    ConnectError, Offer, Opened, Socket, close_is_final, close_reason, connect, connect_offering,
};
use super::{Endpoint, GatewayFile, worker_path};
use controlroom_protocol::{
    AppClientMsg, AppServerMsg, HISTORY_PARAM, HistoryScope, SessionId, WS_APP_PATH, WorkerClientMsg,
    WorkerId, WorkerServerMsg,
};
use futures_util::{SinkExt, StreamExt};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::{self, Message};

/// How often the client pings to measure round-trip time and notice a dead connection.
const PING_EVERY: Duration = Duration::from_secs(5);

/// Where the gateway is and how to find it again.
#[derive(Debug, Clone)]
pub struct Target {
    /// Current base URL, published to the worker task too.
    pub url: watch::Sender<String>,
    /// The token, re-read from its file once when refused.
    pub credential: Credential,
    /// Certificates accepted for `https://` gateways.
    pub trust: Trust,
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
    /// Closed for falling behind live output (4008): a reconnect resyncs from a fresh `history`.
    FellBehind(String),
    /// Gone for good (the worker was deleted).
    Gone(String),
    /// The token was refused (401, or closed with 4001): a token rotated since is re-read.
    AuthRefused(String),
    /// Refused for good (a certificate, a message over the cap); retrying cannot help.
    Refused(String),
}

/// Runs `/ws/app` until the UI goes away or the token is refused.
pub async fn app_task<M: From<ClientEvent>>(
    target: Target,
    ui: mpsc::Sender<M>,
    mut out: mpsc::Receiver<AppClientMsg>,
) {
    let app = |report| M::from(ClientEvent::App(report));
    let mut backoff = Backoff::default();
    let mut fresh = false;
    loop {
        let url = target.refresh();
        let token = target.credential.token();
        let result = match Endpoint::parse(&url) {
            Ok(e) => connect(&e, WS_APP_PATH, &token, &target.trust).await,
            Err(e) => Err(ConnectError::Other(e.to_string())),
        };
        let reason = match result {
            Ok(socket) => {
                backoff.reset();
                fresh = false;
                tracing::info!(%url, "app socket connected");
                if ui.send(app(AppReport::Connected { url: url.clone() })).await.is_err() {
                    return;
                }
                match app_session(socket, &ui, &mut out).await {
                    Ended::Stop => return,
                    Ended::AuthRefused(_) if target.credential.retry_fresh(&token, &mut fresh) => {
                        continue;
                    }
                    Ended::Refused(reason) | Ended::AuthRefused(reason) => {
                        tracing::warn!(%url, %reason, "app socket closed for good");
                        let _ = ui.send(app(AppReport::AuthFailed(reason))).await;
                        return;
                    }
                    Ended::Lost(r) | Ended::FellBehind(r) | Ended::Gone(r) => r,
                }
            }
            Err(ConnectError::Unauthorized) if target.credential.retry_fresh(&token, &mut fresh) => {
                continue;
            }
            // A refused token or an untrusted certificate needs the user; retrying cannot help.
            Err(e @ (ConnectError::Unauthorized | ConnectError::Certificate(_))) => {
                tracing::warn!(%url, reason = %e.describe(), "app socket refused for good");
                let _ = ui.send(app(AppReport::AuthFailed(e.describe()))).await;
                return;
            }
            Err(e) => e.describe(),
        };
        let delay = backoff.next_delay(&mut rand::rng());
        tracing::info!(%reason, attempt = backoff.attempt(), delay_ms = delay.as_millis() as u64, "app socket lost");
        let event =
            AppReport::Disconnected { reason, attempt: backoff.attempt(), retry_at: Instant::now() + delay };
        if ui.send(app(event)).await.is_err() {
            return;
        }
        if !wait_to_retry(delay, &ui, &mut out).await {
            return;
        }
    }
}

async fn app_session<M: From<ClientEvent>>(
    socket: Socket,
    ui: &mpsc::Sender<M>,
    out: &mut mpsc::Receiver<AppClientMsg>,
) -> Ended {
    let app = |report| M::from(ClientEvent::App(report));
    let (mut sink, mut stream) = socket.split();
    let mut ping = Pinger::default();
    let mut tick = tokio::time::interval(PING_EVERY);
    loop {
        tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<AppServerMsg>(&text) {
                    Ok(m) => {
                        if ui.send(app(AppReport::Message(Box::new(m)))).await.is_err() {
                            return Ended::Stop;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "unparsable app message"),
                },
                Some(Ok(Message::Pong(payload))) => {
                    if let Some(rtt) = ping.pong(&payload) {
                        let _ = ui.send(app(AppReport::Rtt(rtt))).await;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let reason = close_reason(frame.as_ref());
                    return if close_is_final(frame.as_ref()) { Ended::AuthRefused(reason) } else { Ended::Lost(reason) };
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Ended::Lost(format!("connection lost: {e}")),
                None => return Ended::Lost("connection lost".into()),
            },
            req = out.recv() => {
                let Some(req) = req else { return Ended::Stop };
                if let Err(ended) = send_json(&mut sink, &req).await {
                    return ended;
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

/// How the watched worker's socket is opened.
#[derive(Debug, Clone)]
pub struct WorkerDial {
    /// Current base URL of the gateway.
    pub url: watch::Receiver<String>,
    /// The token, re-read from its file once when refused.
    pub credential: Credential,
    /// Certificates accepted for `https://` gateways.
    pub trust: Trust,
    /// Largest message accepted (`max-message-mib`): the attach-time `history` must fit.
    pub max_message: usize,
    /// How much the opening `history` redraws: a wall tile asks for the screen only
    /// (`?history=screen`), the watched view for all of the scrollback.
    pub history: HistoryScope,
    /// Most bytes read from the socket at once (`ws-read-buffer-kib`).
    pub read_buffer: usize,
}

/// Runs one worker's socket, retrying, until the UI drops `out` or the worker is gone.
pub async fn worker_task<M: From<ClientEvent>>(
    dial: WorkerDial,
    session: SessionId,
    worker: WorkerId,
    ui: mpsc::Sender<M>,
    mut out: mpsc::Receiver<WorkerSend>,
) {
    let mut backoff = Backoff::default();
    let report =
        |report| M::from(ClientEvent::Worker { session: session.clone(), worker: worker.clone(), report });
    let WorkerDial { url, credential, trust, max_message, history, read_buffer } = dial;
    let mut fresh = false;
    loop {
        let base = url.borrow().clone();
        let token = credential.token();
        let result = match Endpoint::parse(&base) {
            Ok(e) => {
                let mut path = worker_path(session.as_str(), worker.as_str());
                if history != HistoryScope::Full {
                    path = format!("{path}?{HISTORY_PARAM}={}", history.as_str());
                }
                connect_offering(&e, &path, &token, &trust, Offer::Binary, max_message, read_buffer).await
            }
            Err(e) => Err(ConnectError::Other(e.to_string())),
        };
        // Past failures are forgotten once a `history` arrives, not on connect: a gateway that
        // accepts and then closes at once is retried ever more slowly.
        let mut live = false;
        let ended = match result {
            Ok(opened) => worker_session(opened, &ui, &mut out, &report, &mut live, max_message).await,
            Err(ConnectError::NotFound) => Ended::Gone("worker not found".into()),
            Err(e @ ConnectError::Unauthorized) => Ended::AuthRefused(e.describe()),
            Err(e @ ConnectError::Certificate(_)) => Ended::Refused(e.describe()),
            Err(e) => Ended::Lost(e.describe()),
        };
        if live {
            fresh = false;
        }
        match ended {
            Ended::Stop => return,
            Ended::AuthRefused(_) if credential.retry_fresh(&token, &mut fresh) => continue,
            Ended::Refused(reason) | Ended::AuthRefused(reason) => {
                // The app socket reports the same refusal in the status bar; stop retrying.
                let _ = ui.send(report(WorkerReport::Lost(reason))).await;
                return;
            }
            Ended::Gone(reason) => {
                let _ = ui.send(report(WorkerReport::Gone(reason))).await;
                return;
            }
            Ended::FellBehind(reason) if live => {
                // The gateway is fine and a fresh `history` catches up: reconnect at once (tmux
                // never leaves a screen stale). Each round needs a whole snapshot, so no storm.
                if ui.send(report(WorkerReport::Lost(reason))).await.is_err() {
                    return;
                }
                backoff.reset();
                continue;
            }
            Ended::Lost(reason) | Ended::FellBehind(reason) => {
                if ui.send(report(WorkerReport::Lost(reason))).await.is_err() {
                    return;
                }
            }
        }
        if live {
            backoff.reset();
        }
        let delay = backoff.next_delay(&mut rand::rng());
        if !wait_to_retry(delay, &ui, &mut out).await {
            return;
        }
    }
}

/// Waits out a backoff delay; `false` when the UI has gone (stop). Requests queued while
/// disconnected are dropped: a reconnect resyncs anyway.
async fn wait_to_retry<M, T>(delay: Duration, ui: &mpsc::Sender<M>, out: &mut mpsc::Receiver<T>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = ui.closed() => return false,
    }
    while out.try_recv().is_ok() {}
    true
}

/// What the status bar says when a worker message is over `max-message-mib`; the advice comes
/// first, since a narrow status line cuts the end.
fn too_big(e: &tungstenite::error::CapacityError, max_message: usize) -> String {
    let limit = max_message >> 20;
    match e {
        tungstenite::error::CapacityError::MessageTooLong { size, .. } => format!(
            "a {:.1} MiB message is over max-message-mib ({limit} MiB): raise it in config.toml or \
             lower the gateway's --scrollback",
            *size as f64 / f64::from(1 << 20)
        ),
        other => format!("over max-message-mib ({limit} MiB): {other}"),
    }
}

async fn worker_session<M>(
    opened: Opened,
    ui: &mpsc::Sender<M>,
    out: &mut mpsc::Receiver<WorkerSend>,
    report: &impl Fn(WorkerReport) -> M,
    live: &mut bool,
    max_message: usize,
) -> Ended {
    let Opened { socket, binary } = opened;
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<WorkerServerMsg>(&text) {
                    Ok(m) => {
                        *live |= matches!(m, WorkerServerMsg::History { .. });
                        if ui.send(report(WorkerReport::Message(m))).await.is_err() {
                            return Ended::Stop;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "unparsable worker message"),
                },
                Some(Ok(Message::Binary(frame))) => match controlroom_protocol::decode_output(&frame) {
                    Ok((offset, _)) => {
                        let bytes = frame.slice(controlroom_protocol::OUTPUT_HEADER_LEN..);
                        if ui.send(report(WorkerReport::Output { offset, bytes })).await.is_err() {
                            return Ended::Stop;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "unparsable binary worker frame"),
                },
                Some(Ok(Message::Close(frame))) => {
                    let reason = close_reason(frame.as_ref());
                    return if frame.as_ref().is_some_and(|f| u16::from(f.code) == controlroom_protocol::close_code::DELETED) {
                        Ended::Gone("the worker was deleted".into())
                    } else if close_is_final(frame.as_ref()) {
                        Ended::AuthRefused(reason)
                    } else if frame.as_ref().is_some_and(|f| u16::from(f.code) == controlroom_protocol::close_code::SLOW_CONSUMER) {
                        Ended::FellBehind(reason)
                    } else {
                        Ended::Lost(reason)
                    };
                }
                Some(Ok(_)) => {}
                // The same `history` would be too big again on every retry.
                Some(Err(tungstenite::Error::Capacity(e))) => return Ended::Refused(too_big(&e, max_message)),
                Some(Err(e)) => return Ended::Lost(format!("connection lost: {e}")),
                None => return Ended::Lost("connection lost".into()),
            },
            req = out.recv() => {
                let Some(req) = req else { return Ended::Stop };
                let sent = match req {
                    WorkerSend::Message(msg) => send_json(&mut sink, &msg).await,
                    // The exact bytes: a mouse report past column 95 is not UTF-8.
                    WorkerSend::Input { bytes } if binary => sink
                        .send(Message::Binary(bytes.into()))
                        .await
                        .map_err(|e| Ended::Lost(format!("connection lost: {e}"))),
                    // A gateway without binary frames takes text only.
                    WorkerSend::Input { bytes } => {
                        let data = String::from_utf8_lossy(&bytes).into_owned();
                        send_json(&mut sink, &WorkerClientMsg::Input { data }).await
                    }
                };
                if let Err(ended) = sent {
                    return ended;
                }
            }
        }
    }
}

/// Encodes one client message and sends it; `Err` says the connection is lost.
async fn send_json<S>(sink: &mut S, msg: &impl serde::Serialize) -> Result<(), Ended>
where
    S: futures_util::Sink<Message> + Unpin,
    S::Error: std::fmt::Display,
{
    match serde_json::to_string(msg) {
        Ok(text) => {
            sink.send(Message::text(text)).await.map_err(|e| Ended::Lost(format!("connection lost: {e}")))
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot encode a client message");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    /// A gateway stand-in that accepts `/ws/app` connections and closes each with `code`;
    /// returns its URL and a counter of accepted connections.
    async fn closing_gateway(code: u16) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    #[allow(clippy::result_large_err)] // tungstenite's callback signature
                    let pick = |_: &Request, mut resp: Response| {
                        let proto = controlroom_protocol::SUBPROTOCOL.parse().expect("header");
                        resp.headers_mut().insert("Sec-WebSocket-Protocol", proto);
                        Ok(resp)
                    };
                    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, pick).await else { return };
                    let frame = CloseFrame { code: CloseCode::from(code), reason: "token expired".into() };
                    let _ = ws.close(Some(frame)).await;
                    while ws.next().await.is_some() {}
                });
            }
        });
        (url, accepted)
    }

    #[tokio::test]
    async fn close_4001_reports_token_expired_and_stops_retrying() {
        let (url, accepted) = closing_gateway(controlroom_protocol::close_code::TOKEN_EXPIRED).await;
        let (tx, mut rx) = mpsc::channel(16);
        let (_out_tx, out_rx) = mpsc::channel(16);
        let target = Target {
            url: watch::channel(url.clone()).0,
            credential: Credential::new("t".into(), None),
            trust: Trust::default(),
            gateway_json: None,
        };
        let task = tokio::spawn(app_task(target, tx, out_rx));
        let deadline = Duration::from_secs(10);
        let first: ClientEvent =
            tokio::time::timeout(deadline, rx.recv()).await.expect("in time").expect("a message");
        assert!(matches!(first, ClientEvent::App(AppReport::Connected { .. })), "{first:?}");
        let second = tokio::time::timeout(deadline, rx.recv()).await.expect("in time").expect("a message");
        assert_eq!(second, ClientEvent::App(AppReport::AuthFailed(crate::client::ws::TOKEN_EXPIRED.into())));
        // The task ends instead of reconnecting.
        tokio::time::timeout(deadline, task).await.expect("the task ended").expect("no panic");
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn close_4001_rereads_a_rotated_token_once_then_reports_it() {
        // Every connection is closed with 4001: the first with the token as started, the second
        // with the one the file holds by then; the third is never made.
        let (url, accepted) = closing_gateway(controlroom_protocol::close_code::TOKEN_EXPIRED).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("token");
        std::fs::write(&file, "rotated\n").expect("token file");
        let (tx, mut rx) = mpsc::channel(16);
        let (_out_tx, out_rx) = mpsc::channel(4);
        let credential = Credential::new("before".into(), Some(file));
        let target = Target {
            url: watch::channel(url).0,
            credential: credential.clone(),
            trust: Trust::default(),
            gateway_json: None,
        };
        let task = tokio::spawn(app_task(target, tx, out_rx));
        let deadline = Duration::from_secs(10);
        let mut reports = Vec::new();
        while let Some(report) = tokio::time::timeout(deadline, rx.recv()).await.expect("in time") {
            reports.push(report);
        }
        let connected = |r: &ClientEvent| matches!(r, ClientEvent::App(AppReport::Connected { .. }));
        assert!(reports.len() == 3 && connected(&reports[0]) && connected(&reports[1]), "{reports:?}");
        assert_eq!(
            reports[2],
            ClientEvent::App(AppReport::AuthFailed(crate::client::ws::TOKEN_EXPIRED.into()))
        );
        tokio::time::timeout(deadline, task).await.expect("the task ended").expect("no panic");
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(credential.token(), "rotated");
    }

    #[tokio::test]
    async fn other_close_codes_are_retried() {
        let (url, _) = closing_gateway(controlroom_protocol::close_code::SLOW_CONSUMER).await;
        let (tx, mut rx) = mpsc::channel(16);
        let (_out_tx, out_rx) = mpsc::channel(16);
        let target = Target {
            url: watch::channel(url).0,
            credential: Credential::new("t".into(), None),
            trust: Trust::default(),
            gateway_json: None,
        };
        let task = tokio::spawn(app_task(target, tx, out_rx));
        let deadline = Duration::from_secs(10);
        let _connected: Option<ClientEvent> =
            tokio::time::timeout(deadline, rx.recv()).await.expect("in time");
        let lost = tokio::time::timeout(deadline, rx.recv()).await.expect("in time").expect("a message");
        assert!(
            matches!(&lost, ClientEvent::App(AppReport::Disconnected { reason, .. }) if reason == "fell behind, resyncing"),
            "{lost:?}"
        );
        task.abort();
    }

    /// A worker socket stand-in that selects `protocol` and hands back the first frame a client
    /// sends.
    async fn recording_worker(protocol: &'static str) -> (String, tokio::sync::oneshot::Receiver<Message>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let Ok((tcp, _)) = listener.accept().await else { return };
            #[allow(clippy::result_large_err)] // tungstenite's callback signature
            let pick = move |_: &Request, mut resp: Response| {
                resp.headers_mut().insert("Sec-WebSocket-Protocol", protocol.parse().expect("header"));
                Ok(resp)
            };
            let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, pick).await else { return };
            if let Some(Ok(first)) = ws.next().await {
                let _ = tx.send(first);
            }
            while ws.next().await.is_some() {}
        });
        (url, rx)
    }

    async fn first_input_frame(protocol: &'static str, bytes: &[u8]) -> Message {
        let (url, first) = recording_worker(protocol).await;
        let (ui, _reports) = mpsc::channel::<ClientEvent>(16);
        let (out, out_rx) = mpsc::channel(16);
        let dial = WorkerDial {
            url: watch::channel(url).1,
            credential: Credential::new("t".into(), None),
            trust: Trust::default(),
            max_message: 1 << 20,
            history: HistoryScope::Full,
            read_buffer: crate::defaults::WS_READ_BUFFER,
        };
        let task = tokio::spawn(worker_task(dial, SessionId::new("s"), WorkerId::new("w"), ui, out_rx));
        // Queued before the socket opens: the task sends it once connected.
        out.try_send(WorkerSend::Input { bytes: bytes.to_vec() }).expect("queued");
        let frame =
            tokio::time::timeout(Duration::from_secs(10), first).await.expect("in time").expect("a frame");
        task.abort();
        frame
    }

    #[tokio::test]
    async fn input_goes_as_a_binary_frame_of_the_exact_bytes() {
        // An X10 mouse report past column 95: 0xE9 alone is not UTF-8.
        let report = b"\x1b[M \xe9#";
        let frame = first_input_frame(controlroom_protocol::BINARY_SUBPROTOCOL, report).await;
        assert_eq!(frame, Message::Binary(report.to_vec().into()));
    }

    #[tokio::test]
    async fn a_gateway_without_binary_frames_gets_json_input() {
        let frame = first_input_frame(controlroom_protocol::SUBPROTOCOL, b"ls\r").await;
        assert_eq!(frame, Message::text(r#"{"type":"input","data":"ls\r"}"#));
    }
}
