//! What every handler and connection task shares: the hub handle, the configuration, shutdown
//! and the connection slots; and the WebSocket upgrade that holds a slot.

use crate::api::error::ApiErrorResponse;
use crate::api::inflight::InflightBudget;
use crate::api::upgrade::{WebSocket, WebSocketUpgrade};
use crate::hub::HubHandle;
use axum::response::{IntoResponse, Response};
use controlroom_protocol::error_code;
use http::StatusCode;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Everything a handler or connection task needs.
#[derive(Clone)]
pub struct AppState {
    /// The session hub.
    pub hub: HubHandle,
    /// Limits and intervals.
    pub config: Arc<crate::config::ServeConfig>,
    /// Cancelled when the gateway stops; connection tasks close with 1001.
    pub shutdown: CancellationToken,
    /// Every connection task, so shutdown can wait for them.
    pub tracker: TaskTracker,
    /// Open `/ws/app` connections.
    pub app_clients: Arc<AtomicUsize>,
    /// Open worker connections.
    pub worker_clients: Arc<AtomicUsize>,
    /// One permit per open WebSocket (`--max-connections`).
    pub connections: Arc<Semaphore>,
    /// Bytes of unfinished client messages across every socket (`--max-inflight-messages`).
    pub inflight: InflightBudget,
}

impl AppState {
    /// Upgrades to a WebSocket with this gateway's settings (subprotocol, buffer sizes,
    /// `max_message` for frames and messages), holding a connection slot (503 when none is free)
    /// and tracked for shutdown; `run` serves the socket.
    pub fn upgrade<F, Fut>(self, ws: WebSocketUpgrade, max_message: usize, run: F) -> Response
    where
        F: FnOnce(WebSocket, AppState) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let permit = match self.connection_permit() {
            Ok(p) => p,
            Err(refusal) => return refusal.into_response(),
        };
        let protocols = [controlroom_protocol::SUBPROTOCOL];
        self.upgrade_permitted(permit, ws, &protocols, max_message, move |socket, state, _| {
            run(socket, state)
        })
    }

    /// Upgrades with the connection's permit already taken (a route that does work before
    /// upgrading takes it first, so a refused upgrade has changed nothing), offering the
    /// subprotocols this endpoint speaks, most preferred first: the first one the client offered
    /// is selected and handed to `run` (`None` when the client offered none of them).
    pub fn upgrade_permitted<F, Fut>(
        self,
        permit: OwnedSemaphorePermit,
        ws: WebSocketUpgrade,
        protocols: &[&'static str],
        max_message: usize,
        run: F,
    ) -> Response
    where
        F: FnOnce(WebSocket, AppState, Option<&'static str>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let selected = ws.select(protocols);
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(max_message))
            .max_frame_size(Some(max_message))
            .read_buffer_size(self.config.ws_read_buffer)
            .write_buffer_size(self.config.ws_write_buffer);
        let budget = self.inflight.clone();
        ws.on_upgrade(selected, config, budget, move |socket| {
            let tracker = self.tracker.clone();
            tracker.track_future(async move {
                run(socket, self, selected).await;
                drop(permit);
            })
        })
    }

    /// A WebSocket slot, or the 503 that refuses the upgrade.
    pub fn connection_permit(&self) -> Result<OwnedSemaphorePermit, ApiErrorResponse> {
        self.connections.clone().try_acquire_owned().map_err(|_| {
            tracing::warn!(
                reason = "max_connections",
                max = self.config.max_connections,
                "refused an upgrade"
            );
            ApiErrorResponse::new(
                StatusCode::SERVICE_UNAVAILABLE,
                error_code::LIMIT,
                format!(
                    "the gateway has {} open connections (--max-connections)",
                    self.config.max_connections
                ),
            )
        })
    }
}
