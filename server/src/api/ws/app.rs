//! `/ws/app`: a `sessions-sync` on open, then every delta; answers `request-sync`.

use crate::api::state::AppState;
use crate::api::upgrade::{WebSocket, WebSocketUpgrade};
use crate::api::ws::conn::{ClientError, ConnSpec, MessageHandler, serve_socket};
use crate::auth::scoped::Grant;
use crate::hub::{HubHandle, SubscriberId};
use crate::outbox::{OutboxSender, outbox};
use axum::Extension;
use axum::extract::ConnectInfo;
use axum::extract::State;
use axum::response::Response;
use controlroom_protocol::{AppClientMsg, SessionId};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use tracing::Instrument as _;

/// Upgrades an authenticated request to the session-state socket (503 over `--max-connections`).
pub async fn upgrade(
    State(state): State<AppState>,
    Extension(grant): Extension<Grant>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    let max = state.config.max_app_message;
    // One span per connection, so every log line of it says whose it is (never the token).
    let span = tracing::info_span!("ws", %peer, route = "app");
    state.upgrade(ws, max, move |socket, state| run(socket, state, grant).instrument(span))
}

struct AppHandler {
    hub: HubHandle,
    outbox: OutboxSender,
    id: SubscriberId,
    only: Option<SessionId>,
}

impl MessageHandler for AppHandler {
    async fn on_text(&mut self, text: &str) -> Result<(), ClientError> {
        let msg = crate::api::validate::parse_app_msg(text)?;
        match msg {
            AppClientMsg::RequestSync { since } => {
                self.hub.request_sync(self.outbox.clone(), since, self.only.clone()).await.map_err(|e| {
                    ClientError::refused(controlroom_protocol::error_code::INTERNAL, e.to_string())
                })
            }
            AppClientMsg::Subscribe { session_ids } => {
                self.hub.set_filter(self.id, self.outbox.clone(), session_ids).await.map_err(|e| {
                    ClientError::refused(controlroom_protocol::error_code::INTERNAL, e.to_string())
                })
            }
        }
    }
}

async fn run(socket: WebSocket, state: AppState, grant: Grant) {
    let (tx, rx) = outbox(state.config.max_client_buffer);
    let Ok(id) = state.hub.subscribe(tx.clone(), grant.session.clone()).await else { return };
    let count = state.app_clients.fetch_add(1, Ordering::AcqRel) + 1;
    metrics::counter!(crate::metrics::CONNECTIONS, "endpoint" => "app").increment(1);
    metrics::gauge!(crate::metrics::CONNECTIONS_OPEN, "endpoint" => "app").set(count as f64);
    tracing::info!(endpoint = "app", clientCount = count, "client connected");
    let spec = ConnSpec {
        endpoint: "app",
        heartbeat: state.config.heartbeat,
        max_bad_messages: state.config.max_bad_messages,
        grant: grant.clone(),
    };
    let mut handler = AppHandler { hub: state.hub.clone(), outbox: tx.clone(), id, only: grant.session };
    serve_socket(socket, tx, rx, &mut handler, spec, state.shutdown.clone()).await;
    let count = state.app_clients.fetch_sub(1, Ordering::AcqRel) - 1;
    metrics::gauge!(crate::metrics::CONNECTIONS_OPEN, "endpoint" => "app").set(count as f64);
    tracing::info!(endpoint = "app", clientCount = count, "client disconnected");
}
