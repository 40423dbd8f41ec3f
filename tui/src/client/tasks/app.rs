//! The `/ws/app` task: connects, reports the session state's messages and round-trip times,
//! sends the loop's requests (`request-sync`), and reconnects with backoff, re-reading
//! `gateway.json` before each attempt when the gateway was found through it.

use super::{Ended, send_json, wait_to_retry};
use crate::client::Trust;
use crate::client::backoff::Backoff;
use crate::client::credential::Credential;
use crate::client::events::{AppReport, ClientEvent};
use crate::client::ws::{ConnectError, Socket, close_is_final, close_reason, connect};
use crate::client::{Endpoint, GatewayFile};
use controlroom_protocol::{AppClientMsg, AppServerMsg, WS_APP_PATH};
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
}
