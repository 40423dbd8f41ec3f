//! `controlroom watch`: follow `/ws/app` and hand every delta to a callback.

use super::Endpoint;
use super::ws::{close_reason, connect};
use crate::error::{Error, Result};
use controlroom_protocol::{AppServerMsg, Delta, WS_APP_PATH};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

/// Calls `on_delta` for each live delta (and each replayed one) until the socket closes, which is
/// returned as an error naming why.
pub async fn watch_deltas(url: &str, token: &str, mut on_delta: impl FnMut(&Delta)) -> Result<()> {
    let endpoint = Endpoint::parse(url)?;
    let mut socket = connect(&endpoint.ws_url(WS_APP_PATH), token).await.map_err(|e| match e {
        super::ws::ConnectError::Unauthorized => Error::Unauthorized,
        other => Error::WebSocket(other.describe()),
    })?;
    while let Some(msg) = socket.next().await {
        match msg.map_err(|e| Error::WebSocket(e.to_string()))? {
            Message::Text(text) => match serde_json::from_str::<AppServerMsg>(&text)? {
                AppServerMsg::Delta(d) => on_delta(&d),
                AppServerMsg::Replay(r) => r.deltas.iter().for_each(&mut on_delta),
                AppServerMsg::SessionsSync(_) | AppServerMsg::Error { .. } => {}
            },
            Message::Close(frame) => return Err(Error::WebSocket(close_reason(frame.as_ref()))),
            _ => {}
        }
    }
    Err(Error::WebSocket("connection lost".into()))
}
