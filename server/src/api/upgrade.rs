//! The WebSocket upgrade (RFC 6455 §4.2), done here instead of by axum's `WebSocketUpgrade` so
//! the upgraded stream can be read through [`MeteredIo`] (the gateway-wide budget for unfinished
//! messages, `api/inflight.rs`): axum builds its socket on the bare stream and hides it. The
//! checks and refusals are axum's (405 for a method other than GET, 400 for a missing or wrong
//! `Connection`, `Upgrade`, `Sec-WebSocket-Version` or `Sec-WebSocket-Key`, 426 when the
//! connection cannot be upgraded); `permessage-deflate` is never negotiated.

use crate::api::inflight::{InflightBudget, MeteredIo};
use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

/// An upgraded WebSocket, read through the in-flight meter.
pub type WebSocket = WebSocketStream<MeteredIo<TokioIo<hyper::upgrade::Upgraded>>>;

/// A request that asks to become a WebSocket.
pub struct WebSocketUpgrade {
    key: HeaderValue,
    on_upgrade: hyper::upgrade::OnUpgrade,
    /// The subprotocols the client offered, in its order.
    offered: Vec<String>,
}

impl std::fmt::Debug for WebSocketUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketUpgrade").field("offered", &self.offered.len()).finish_non_exhaustive()
    }
}

fn refuse(status: StatusCode, why: &'static str) -> Response {
    (status, why).into_response()
}

fn header_has(headers: &HeaderMap, name: header::HeaderName, word: &str) -> bool {
    headers.get(&name).and_then(|v| v.to_str().ok()).is_some_and(|v| v.to_ascii_lowercase().contains(word))
}

fn header_is(headers: &HeaderMap, name: header::HeaderName, value: &str) -> bool {
    headers.get(&name).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if parts.method != Method::GET {
            return Err(refuse(StatusCode::METHOD_NOT_ALLOWED, "Request method must be `GET`"));
        }
        if !header_has(&parts.headers, header::CONNECTION, "upgrade") {
            return Err(refuse(StatusCode::BAD_REQUEST, "Connection header did not include 'upgrade'"));
        }
        if !header_is(&parts.headers, header::UPGRADE, "websocket") {
            return Err(refuse(StatusCode::BAD_REQUEST, "`Upgrade` header did not include 'websocket'"));
        }
        let key = parts
            .headers
            .get(header::SEC_WEBSOCKET_KEY)
            .cloned()
            .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "`Sec-WebSocket-Key` header missing"))?;
        if !header_is(&parts.headers, header::SEC_WEBSOCKET_VERSION, "13") {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "`Sec-WebSocket-Version` header did not include '13'",
            ));
        }
        let on_upgrade = parts.extensions.remove::<hyper::upgrade::OnUpgrade>().ok_or_else(|| {
            refuse(
                StatusCode::UPGRADE_REQUIRED,
                "WebSocket request couldn't be upgraded since no upgrade state was present",
            )
        })?;
        let offered = parts
            .headers
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|p| p.trim().to_string())
            .collect();
        Ok(Self { key, on_upgrade, offered })
    }
}

impl WebSocketUpgrade {
    /// The first of `protocols` (the server's preference) that the client offered.
    pub fn select(&self, protocols: &[&'static str]) -> Option<&'static str> {
        protocols.iter().copied().find(|p| self.offered.iter().any(|o| o == p))
    }

    /// Answers 101 (naming `selected`) and, once the connection is handed over, runs `run` on
    /// the socket, read through a meter counting against `budget`.
    pub fn on_upgrade<F, Fut>(
        self,
        selected: Option<&'static str>,
        config: WebSocketConfig,
        budget: InflightBudget,
        run: F,
    ) -> Response
    where
        F: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(u) => u,
                Err(e) => {
                    tracing::debug!(error = %e, "the WebSocket upgrade did not complete");
                    return;
                }
            };
            let io = MeteredIo::new(TokioIo::new(upgraded), budget);
            let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
            run(socket).await;
        });
        let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(self.key.as_bytes());
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(v) = HeaderValue::from_str(&accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, v);
        }
        if let Some(p) = selected {
            headers.insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(p));
        }
        response
    }
}
