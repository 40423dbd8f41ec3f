//! `/ws/new?session=…`: creates a session and attaches to its first worker in one exchange, so
//! a client sees the new worker's first output without a `POST` and then a second connection.
//! The session is created (and stored) before the 101, exactly as `POST /api/sessions` creates
//! it, and refused the same way (an HTTP error instead of the upgrade); then the socket is the
//! worker socket, opening with `created` before `history`.

use crate::api::error::ApiErrorResponse;
use crate::api::state::AppState;
use crate::api::upgrade::WebSocketUpgrade;
use crate::api::validate::check_worker_env;
use crate::api::ws::worker::{Attached, attach_upgrade, delivery_value, history_value};
use crate::auth::scoped::Grant;
use crate::worker::OutputFormat;
use axum::Extension;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use controlroom_protocol::{CreateSession, WorkerSpec, error_code};
use serde::Deserialize;
use std::net::SocketAddr;

/// The query of `/ws/new`: the session (the JSON `POST /api/sessions` takes) and the worker
/// socket's own options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewQuery {
    /// `protocol`'s `SESSION_PARAM`.
    session: String,
    /// `protocol`'s `DELIVERY_PARAM`.
    delivery: Option<String>,
    /// `protocol`'s `HISTORY_PARAM`.
    history: Option<String>,
}

fn bad_message(message: String) -> ApiErrorResponse {
    ApiErrorResponse::new(StatusCode::BAD_REQUEST, error_code::BAD_MESSAGE, message)
}

/// The session asked for, checked as `POST /api/sessions` checks it; a session without
/// `workers` gets one with the default spec (the gateway's shell), one with an empty list is
/// refused (there would be nothing to attach to).
fn requested(query: &NewQuery, grant: &Grant) -> Result<CreateSession, ApiErrorResponse> {
    let mut req: CreateSession = serde_json::from_str(&query.session)
        .map_err(|e| bad_message(format!("the `session` parameter is not a session: {e}")))?;
    let workers = req.workers.get_or_insert_with(|| vec![WorkerSpec::default()]);
    if workers.is_empty() {
        return Err(ApiErrorResponse::new(
            StatusCode::BAD_REQUEST,
            error_code::INVALID,
            "a session made on /ws/new needs a worker to attach to (leave `workers` out for the default one)",
        ));
    }
    for spec in workers.iter() {
        check_worker_env(spec, grant)?;
    }
    Ok(req)
}

/// Checks the query, takes a connection permit (so a refused upgrade creates nothing), creates
/// the session, then upgrades to its first worker's socket. The token guard already refused
/// read-only and session-restricted tokens (403), as for `POST /api/sessions`.
pub async fn upgrade(
    State(state): State<AppState>,
    Extension(grant): Extension<Grant>,
    query: Result<Query<NewQuery>, axum::extract::rejection::QueryRejection>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    let prepared = (|| {
        let Query(query) = query.map_err(|e| bad_message(e.body_text()))?;
        let delivery = delivery_value(query.delivery.as_deref(), &grant)?;
        let history = history_value(query.history.as_deref())?;
        let req = requested(&query, &grant)?;
        let permit = state.connection_permit()?;
        Ok::<_, ApiErrorResponse>((delivery, history, req, permit))
    })();
    let (delivery, history, req, permit) = match prepared {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let (session, worker) = match state.hub.create_attached(req).await {
        Ok(created) => (created.session, created.first),
        Err(e) => return ApiErrorResponse::from(e).into_response(),
    };
    let sid = session.id.clone();
    // `requested` made sure of a worker, and a create starts every worker or none.
    let (Some(worker), Some(wid)) = (worker, session.workers.first().map(|w| w.id.clone())) else {
        return ApiErrorResponse::new(StatusCode::INTERNAL_SERVER_ERROR, error_code::INTERNAL, "no worker")
            .into_response();
    };
    tracing::info!(session_id = %sid, worker_id = %wid, "session created on /ws/new");
    let who = Attached {
        sid,
        wid,
        grant,
        format: OutputFormat::Json,
        delivery,
        history,
        created: Some(Box::new(session)),
    };
    attach_upgrade(state, permit, ws, worker, peer, "new", who)
}
