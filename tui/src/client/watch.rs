//! `controlroom watch`: follow `/ws/app` and hand every delta to a callback, reconnecting with
//! backoff and resuming from the last seq so nothing is missed or printed twice.

use super::Endpoint;
use super::Trust;
use super::backoff::Backoff;
use super::ws::{ConnectError, close_is_final, close_reason, connect};
use crate::error::{Error, Result};
use controlroom_protocol::{AppClientMsg, AppServerMsg, Delta, WS_APP_PATH};
use futures_util::{SinkExt, StreamExt};
use std::ops::ControlFlow;
use tokio_tungstenite::tungstenite::Message;

/// Where a watch stands between connections.
#[derive(Debug, Default)]
struct Cursor {
    /// The gateway's epoch and the last seq handed out.
    last: Option<(String, u64)>,
}

impl Cursor {
    /// Hands out `delta` unless it was already seen.
    fn offer(
        &mut self,
        delta: &Delta,
        on_delta: &mut impl FnMut(&Delta) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if let Some((_, seq)) = &mut self.last {
            if delta.seq <= *seq {
                return ControlFlow::Continue(());
            }
            *seq = delta.seq;
        }
        on_delta(delta)
    }
}

/// Calls `on_delta` for each live delta until interrupted or it breaks. Lost connections are
/// retried with jittered backoff (`on_status` hears why); a refused or expired token and a refused
/// certificate end with an error.
pub async fn watch_deltas(
    url: &str,
    token: &str,
    trust: &Trust,
    mut on_delta: impl FnMut(&Delta) -> ControlFlow<()>,
    mut on_status: impl FnMut(&str),
) -> Result<()> {
    let endpoint = Endpoint::parse(url)?;
    let mut cursor = Cursor::default();
    let mut backoff = Backoff::default();
    loop {
        let why = match connect(&endpoint, WS_APP_PATH, token, trust).await {
            Err(ConnectError::Unauthorized) => return Err(Error::Unauthorized),
            Err(ConnectError::Certificate(message)) => {
                return Err(Error::Certificate { url: endpoint.base.clone(), message });
            }
            Err(e) => e.describe(),
            Ok(socket) => {
                backoff.reset();
                match follow(socket, &mut cursor, &mut on_delta).await {
                    ControlFlow::Continue(Lost::Retry(why)) => why,
                    ControlFlow::Continue(Lost::Final(why)) => return Err(Error::Refused(why)),
                    ControlFlow::Break(()) => return Ok(()),
                }
            }
        };
        let delay = backoff.next_delay(&mut rand::rng());
        on_status(&format!(
            "{why}; reconnecting in {}s (attempt {})",
            delay.as_secs().max(1),
            backoff.attempt()
        ));
        tokio::time::sleep(delay).await;
    }
}

/// How a followed connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lost {
    /// Worth another attempt; says why it was lost.
    Retry(String),
    /// Retrying cannot help (the token expired); says why.
    Final(String),
}

/// Follows one connection; returns why it ended, or `Break` when `on_delta` asked to stop.
async fn follow(
    mut socket: super::ws::Socket,
    cursor: &mut Cursor,
    on_delta: &mut impl FnMut(&Delta) -> ControlFlow<()>,
) -> ControlFlow<(), Lost> {
    // Live deltas that arrive between asking for a replay and getting it wait here, so the
    // replay's older deltas are handed out first.
    let mut held: Option<Vec<Delta>> = None;
    let mut first_sync = true;
    while let Some(msg) = socket.next().await {
        let text = match msg {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(frame)) => {
                let why = close_reason(frame.as_ref());
                return ControlFlow::Continue(if close_is_final(frame.as_ref()) {
                    Lost::Final(why)
                } else {
                    Lost::Retry(why)
                });
            }
            Ok(_) => continue,
            Err(e) => return ControlFlow::Continue(Lost::Retry(e.to_string())),
        };
        let Ok(msg) = serde_json::from_str::<AppServerMsg>(&text) else { continue };
        match msg {
            AppServerMsg::SessionsSync(sync) => match &cursor.last {
                // Same gateway data: ask for exactly what was missed while away.
                Some((epoch, seq)) if first_sync && *epoch == sync.epoch && *seq < sync.seq => {
                    first_sync = false;
                    let ask = AppClientMsg::RequestSync { since: Some(*seq) };
                    let Ok(ask) = serde_json::to_string(&ask) else { continue };
                    if let Err(e) = socket.send(Message::Text(ask.into())).await {
                        return ControlFlow::Continue(Lost::Retry(e.to_string()));
                    }
                    held = Some(Vec::new());
                }
                // First connection, another data dir, or a log that no longer reaches back:
                // start from this state.
                _ => {
                    first_sync = false;
                    if cursor.last.as_ref().is_none_or(|(epoch, seq)| *epoch != sync.epoch || *seq < sync.seq)
                    {
                        cursor.last = Some((sync.epoch, sync.seq));
                    }
                    for d in held.take().unwrap_or_default() {
                        cursor.offer(&d, on_delta)?;
                    }
                }
            },
            AppServerMsg::Delta(d) => match &mut held {
                Some(waiting) => waiting.push(d),
                None => cursor.offer(&d, on_delta)?,
            },
            AppServerMsg::Replay(r) => {
                for d in r.deltas.iter().chain(held.take().unwrap_or_default().iter()) {
                    cursor.offer(d, on_delta)?;
                }
            }
            AppServerMsg::Error { .. } => {}
        }
    }
    ControlFlow::Continue(Lost::Retry("connection lost".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use controlroom_protocol::{ActivityState, DeltaEvent, SessionId, WorkerId};

    fn delta(seq: u64) -> Delta {
        Delta {
            seq,
            timestamp: "t".into(),
            event: DeltaEvent::WorkerActivity {
                session_id: SessionId::new("s"),
                worker_id: WorkerId::new("w"),
                activity_state: ActivityState::Idle,
            },
        }
    }

    #[test]
    fn seen_deltas_are_not_handed_out_twice() {
        let mut cursor = Cursor { last: Some(("e".into(), 5)) };
        let mut seen = Vec::new();
        for s in [4, 5, 6, 6, 7] {
            let _ = cursor.offer(&delta(s), &mut |d| {
                seen.push(d.seq);
                ControlFlow::Continue(())
            });
        }
        assert_eq!(seen, vec![6, 7]);
    }
}
