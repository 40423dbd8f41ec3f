//! Opening an authenticated WebSocket to the gateway (`ws://`, or `wss://` over our own rustls
//! handshake — tokio-tungstenite's TLS features stay off) and naming why a socket closed.

use super::Endpoint;
use super::Trust;
use super::dial::{DialError, dial};
use controlroom_net::Stream;
use controlroom_protocol::{BINARY_SUBPROTOCOL, SUBPROTOCOL, close_code};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::{WebSocketStream, tungstenite};

/// An open socket.
pub type Socket = WebSocketStream<Stream>;

/// What the status bar says when the gateway closes a socket with 4001.
pub const TOKEN_EXPIRED: &str = "token expired — mint a new one with `controlroom token --ttl ...`";

/// Largest message accepted on `/ws/app` (deltas and session lists are small).
const APP_MAX_MESSAGE: usize = 16 << 20;

pub use crate::defaults::WORKER_MAX_MESSAGE;

/// Why a connection attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// 401: the token was refused. Retrying will not help.
    Unauthorized,
    /// 404: the session or worker does not exist.
    NotFound,
    /// The gateway's certificate was refused (one line). Retrying will not help.
    Certificate(String),
    /// Anything else; worth retrying.
    Other(String),
}

impl ConnectError {
    /// A short message for the status bar.
    pub fn describe(&self) -> String {
        match self {
            ConnectError::Unauthorized => crate::error::Error::Unauthorized.to_string(),
            ConnectError::NotFound => "no such session or worker".into(),
            ConnectError::Certificate(m) | ConnectError::Other(m) => m.clone(),
        }
    }
}

/// What a client offers as `Sec-WebSocket-Protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// `controlroom.v1`: JSON only.
    Json,
    /// A worker socket: `controlroom.v1.binary` preferred (output as binary frames), with
    /// `controlroom.v1` for a gateway that predates it (which then sends JSON).
    Binary,
}

/// A worker socket as opened by [`connect_offering`].
#[derive(Debug)]
pub struct Opened {
    /// The socket.
    pub socket: Socket,
    /// The gateway selected `controlroom.v1.binary`: output comes, and input may go, as binary frames.
    pub binary: bool,
}

/// Opens `path` on the gateway at `endpoint` (`ws://`, or `wss://` checked against `trust`),
/// offering the `controlroom.v1` subprotocol and sending the token as `Authorization: Bearer`
/// (never in the URL).
pub async fn connect(
    endpoint: &Endpoint,
    path: &str,
    token: &str,
    trust: &Trust,
) -> Result<Socket, ConnectError> {
    connect_offering(
        endpoint,
        path,
        token,
        trust,
        Offer::Json,
        APP_MAX_MESSAGE,
        crate::defaults::WS_READ_BUFFER,
    )
    .await
    .map(|o| o.socket)
}

/// [`connect`] offering the subprotocols of `offer`, accepting messages up to `max_message` bytes,
/// reading at most `read_buffer` bytes at once.
pub async fn connect_offering(
    endpoint: &Endpoint,
    path: &str,
    token: &str,
    trust: &Trust,
    offer: Offer,
    max_message: usize,
    read_buffer: usize,
) -> Result<Opened, ConnectError> {
    let mut req =
        endpoint.ws_url(path).into_client_request().map_err(|e| ConnectError::Other(e.to_string()))?;
    let headers = req.headers_mut();
    let protocols = match offer {
        Offer::Json => HeaderValue::from_static(SUBPROTOCOL),
        Offer::Binary => HeaderValue::from_str(&format!("{BINARY_SUBPROTOCOL}, {SUBPROTOCOL}"))
            .map_err(|e| ConnectError::Other(e.to_string()))?,
    };
    headers.insert("Sec-WebSocket-Protocol", protocols);
    let auth = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| ConnectError::Other("the token contains characters not allowed in a header".into()))?;
    headers.insert("Authorization", auth);
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message))
        .read_buffer_size(read_buffer);
    let stream = dial(trust, endpoint).await.map_err(|e| match e {
        DialError::Certificate(m) => ConnectError::Certificate(m),
        e => ConnectError::Other(e.to_string()),
    })?;
    match tokio_tungstenite::client_async_with_config(req, stream, Some(config)).await {
        Ok((socket, resp)) => {
            let selected = resp.headers().get("Sec-WebSocket-Protocol").and_then(|v| v.to_str().ok());
            Ok(Opened { socket, binary: selected == Some(BINARY_SUBPROTOCOL) })
        }
        Err(tungstenite::Error::Http(resp)) => Err(match resp.status().as_u16() {
            401 => ConnectError::Unauthorized,
            404 => ConnectError::NotFound,
            s => ConnectError::Other(format!("gateway answered HTTP {s}")),
        }),
        Err(tungstenite::Error::Io(e)) => Err(ConnectError::Other(match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "gateway not running".into(),
            _ => format!("gateway unreachable: {e}"),
        })),
        Err(e) => Err(ConnectError::Other(e.to_string())),
    }
}

/// Whether a close frame means retrying cannot help (the token expired or its secret was
/// rotated: a new connection with the same token would be refused).
pub fn close_is_final(frame: Option<&CloseFrame>) -> bool {
    frame.is_some_and(|f| u16::from(f.code) == close_code::TOKEN_EXPIRED)
}

/// A short message for a close frame.
pub fn close_reason(frame: Option<&CloseFrame>) -> String {
    let Some(frame) = frame else { return "connection lost".into() };
    match u16::from(frame.code) {
        close_code::GOING_AWAY => "gateway stopped".into(),
        close_code::TOKEN_EXPIRED => TOKEN_EXPIRED.into(),
        close_code::SLOW_CONSUMER => "fell behind, resyncing".into(),
        close_code::DELETED => "deleted".into(),
        close_code::POLICY_VIOLATION => "protocol error".into(),
        close_code::MESSAGE_TOO_BIG => "message too big".into(),
        code if frame.reason.is_empty() => format!("closed ({code})"),
        code => format!("closed ({code}: {})", frame.reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::protocol::frame::coding::CloseCode;

    #[test]
    fn close_codes_have_short_messages() {
        let frame = |code: u16| CloseFrame { code: CloseCode::from(code), reason: "".into() };
        assert_eq!(close_reason(Some(&frame(4008))), "fell behind, resyncing");
        assert_eq!(close_reason(Some(&frame(1001))), "gateway stopped");
        assert_eq!(close_reason(Some(&frame(4004))), "deleted");
        assert_eq!(close_reason(None), "connection lost");
        assert_eq!(close_reason(Some(&frame(4999))), "closed (4999)");
        assert_eq!(
            close_reason(Some(&frame(4001))),
            "token expired — mint a new one with `controlroom token --ttl ...`"
        );
        assert!(close_is_final(Some(&frame(4001))));
        assert!(!close_is_final(Some(&frame(4008))) && !close_is_final(Some(&frame(1001))));
        assert!(!close_is_final(None));
    }
}
