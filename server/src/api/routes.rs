//! The HTTP API: routes, JSON bodies with `{error: {code, message}}` errors, and the router that
//! puts the auth guards in front of everything but `/healthz` and `/api/config`.

use crate::api::timed_body::BodyError;
use crate::api::ws::{app as ws_app, worker as ws_worker};
use crate::auth::scoped::Grant;
use crate::auth::{self, AuthState};
use crate::hub::{HubError, HubHandle};
use crate::worker::WorkerError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router, middleware};
use controlroom_protocol::{
    ActivityReport, ApiError, ApiErrorBody, AppConfig, CreateSession, Evidence, InputRequest,
    PROTOCOL_VERSION, PresetsResponse, SessionId, UpdateSession, WS_APP_PATH, WS_WORKER_PATH, WorkerId,
    WorkerSpec, error_code,
};
use http::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
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
}

impl AppState {
    /// Upgrades to a WebSocket with this gateway's settings (subprotocol, buffer sizes,
    /// `max_message` for frames and messages), holding a connection slot (503 when none is free)
    /// and tracked for shutdown; `run` serves the socket.
    pub fn upgrade<F, Fut>(
        self,
        ws: axum::extract::ws::WebSocketUpgrade,
        max_message: usize,
        run: F,
    ) -> Response
    where
        F: FnOnce(axum::extract::ws::WebSocket, AppState) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let protocols = [controlroom_protocol::SUBPROTOCOL];
        self.upgrade_offering(ws, &protocols, max_message, move |socket, state, _| run(socket, state))
    }

    /// [`AppState::upgrade`] with the subprotocols this endpoint speaks, most preferred first:
    /// the first one the client offered is selected and handed to `run` (`None` when the client
    /// offered none of them).
    pub fn upgrade_offering<F, Fut>(
        self,
        ws: axum::extract::ws::WebSocketUpgrade,
        protocols: &[&'static str],
        max_message: usize,
        run: F,
    ) -> Response
    where
        F: FnOnce(axum::extract::ws::WebSocket, AppState, Option<&'static str>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let permit = match self.connection_permit() {
            Ok(p) => p,
            Err(refusal) => return refusal.into_response(),
        };
        let ws = ws.protocols(protocols.iter().copied());
        let selected = ws.selected_protocol().and_then(|p| protocols.iter().copied().find(|name| p == *name));
        ws.max_message_size(max_message)
            .max_frame_size(max_message)
            .read_buffer_size(self.config.ws_read_buffer)
            .write_buffer_size(self.config.ws_write_buffer)
            .on_upgrade(move |socket| {
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

/// An error response with the protocol's body shape.
#[derive(Debug)]
pub struct ApiErrorResponse {
    status: StatusCode,
    body: ApiErrorBody,
}

impl ApiErrorResponse {
    /// Builds an error response.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self { status, body: ApiErrorBody { error: ApiError { code: code.into(), message: message.into() } } }
    }
}

impl IntoResponse for ApiErrorResponse {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<HubError> for ApiErrorResponse {
    fn from(e: HubError) -> Self {
        let (status, code) = match &e {
            HubError::NotFound(_) => (StatusCode::NOT_FOUND, error_code::NOT_FOUND),
            HubError::Invalid(_) => (StatusCode::BAD_REQUEST, error_code::INVALID),
            HubError::Limit(_) => (StatusCode::CONFLICT, error_code::LIMIT),
            HubError::ReadOnly(_) => (StatusCode::FORBIDDEN, error_code::READ_ONLY),
            HubError::Gone { .. } => (StatusCode::GONE, error_code::GONE),
            HubError::Worker(WorkerError::Exited) => (StatusCode::CONFLICT, error_code::WORKER_EXITED),
            HubError::Worker(WorkerError::Invalid(_)) => (StatusCode::BAD_REQUEST, error_code::INVALID),
            HubError::Worker(WorkerError::InputFull) => (StatusCode::SERVICE_UNAVAILABLE, error_code::LIMIT),
            HubError::Worker(WorkerError::Spawn { .. }) => (StatusCode::BAD_REQUEST, error_code::INVALID),
            HubError::Worker(WorkerError::Gone) => (StatusCode::NOT_FOUND, error_code::NOT_FOUND),
            HubError::Stopped => (StatusCode::SERVICE_UNAVAILABLE, error_code::INTERNAL),
            HubError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, error_code::INTERNAL),
        };
        Self::new(status, code, e.to_string())
    }
}

impl From<WorkerError> for ApiErrorResponse {
    fn from(e: WorkerError) -> Self {
        HubError::Worker(e).into()
    }
}

/// `Json` whose rejections use the protocol's error body.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiErrorResponse;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(rejection) => {
                if let Some(timed_out) = body_timed_out(&rejection) {
                    return Err(ApiErrorResponse::new(
                        StatusCode::REQUEST_TIMEOUT,
                        error_code::LIMIT,
                        timed_out.to_string(),
                    ));
                }
                let status = match &rejection {
                    JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    JsonRejection::BytesRejection(_) => StatusCode::PAYLOAD_TOO_LARGE,
                    _ => StatusCode::BAD_REQUEST,
                };
                Err(ApiErrorResponse::new(status, error_code::BAD_MESSAGE, rejection.body_text()))
            }
        }
    }
}

/// The body deadline's error, when that is why the body could not be read.
fn body_timed_out(rejection: &JsonRejection) -> Option<&BodyError> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(e) = source {
        if let Some(timed_out @ BodyError::TimedOut(_)) = e.downcast_ref::<BodyError>() {
            return Some(timed_out);
        }
        source = e.source();
    }
    None
}

type ApiResult<T> = Result<T, ApiErrorResponse>;

/// Builds the router: open routes, then everything else behind the token check, all behind the
/// Host/Origin check.
pub fn router(state: AppState, auth: AuthState) -> Router {
    let protected = Router::new()
        .route("/api/sessions", get(list_sessions).post(create_session))
        .route("/api/sessions/{id}", get(get_session).patch(rename_session).delete(delete_session))
        .route("/api/sessions/{id}/workers", post(add_worker))
        .route("/api/sessions/{id}/workers/{wid}", axum::routing::delete(remove_worker))
        .route("/api/sessions/{id}/workers/{wid}/restart", post(restart_worker))
        .route("/api/sessions/{id}/workers/{wid}/input", post(send_input))
        .route("/api/sessions/{id}/workers/{wid}/screen", get(screen))
        .route("/api/sessions/{id}/workers/{wid}/activity", get(activity))
        .route("/api/presets", get(presets))
        .route("/metrics", get(metrics))
        .route("/api/deltas", get(deltas))
        .route(WS_APP_PATH, get(ws_app::upgrade))
        .route("/ws/session/{id}/worker/{wid}", get(ws_worker::upgrade))
        .route_layer(middleware::from_fn_with_state(auth.clone(), auth::require_token));
    debug_assert_eq!(WS_WORKER_PATH, "/ws/session/{sessionId}/worker/{workerId}");
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/config", get(config))
        .merge(protected)
        .fallback(|| async {
            ApiErrorResponse::new(StatusCode::NOT_FOUND, error_code::NOT_FOUND, "no such route")
        })
        .layer(DefaultBodyLimit::max(state.config.max_http_body))
        .layer(middleware::from_fn_with_state(auth, auth::check_host_origin))
        .with_state(state)
}

async fn config(State(s): State<AppState>) -> Json<AppConfig> {
    Json(AppConfig {
        version: env!("CARGO_PKG_VERSION").into(),
        protocol: PROTOCOL_VERSION,
        epoch: s.hub.epoch().to_string(),
        ws_app: WS_APP_PATH.into(),
        ws_worker: WS_WORKER_PATH.into(),
        poll_interval_ms: u64::try_from(s.config.poll_interval.as_millis()).unwrap_or(u64::MAX),
        heartbeat_ms: u64::try_from(s.config.heartbeat.as_millis()).unwrap_or(u64::MAX),
    })
}

async fn list_sessions(
    State(s): State<AppState>,
    Extension(grant): Extension<Grant>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.hub.list(grant.session).await?))
}

async fn create_session(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<CreateSession>,
) -> ApiResult<Response> {
    let session = s.hub.create(req).await?;
    Ok((StatusCode::CREATED, Json(session)).into_response())
}

async fn get_session(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.hub.get(SessionId::new(id)).await?))
}

async fn rename_session(
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateSession>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.hub.rename(SessionId::new(id), req.title).await?))
}

async fn delete_session(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.hub.delete(SessionId::new(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn add_worker(
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiJson(spec): ApiJson<WorkerSpec>,
) -> ApiResult<Response> {
    let worker = s.hub.add_worker(SessionId::new(id), spec).await?;
    Ok((StatusCode::CREATED, Json(worker)).into_response())
}

async fn remove_worker(
    State(s): State<AppState>,
    Path((id, wid)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.hub.remove_worker(SessionId::new(id), WorkerId::new(wid)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn restart_worker(
    State(s): State<AppState>,
    Path((id, wid)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.hub.restart_worker(SessionId::new(id), WorkerId::new(wid)).await?))
}

async fn send_input(
    State(s): State<AppState>,
    Path((id, wid)): Path<(String, String)>,
    ApiJson(req): ApiJson<InputRequest>,
) -> ApiResult<StatusCode> {
    let worker = s.hub.worker(SessionId::new(id), WorkerId::new(wid)).await?;
    worker.input(None, req.data.into_bytes()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn screen(
    State(s): State<AppState>,
    Path((id, wid)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let worker = s.hub.worker(SessionId::new(id), WorkerId::new(wid)).await?;
    Ok(Json(worker.screen().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeltasQuery {
    since: u64,
}

async fn deltas(
    State(s): State<AppState>,
    Extension(grant): Extension<Grant>,
    query: Result<Query<DeltasQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let Query(q) = query.map_err(|e| {
        ApiErrorResponse::new(StatusCode::BAD_REQUEST, error_code::BAD_MESSAGE, e.body_text())
    })?;
    Ok(Json(s.hub.deltas(q.since, grant.session).await?))
}

async fn activity(
    State(s): State<AppState>,
    Path((id, wid)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let (session_id, worker_id) = (SessionId::new(id), WorkerId::new(wid));
    let worker = s.hub.worker(session_id.clone(), worker_id.clone()).await?;
    let info = worker.activity().await?;
    let preset = s
        .hub
        .get(session_id.clone())
        .await?
        .workers
        .into_iter()
        .find(|w| w.id == worker_id)
        .and_then(|w| w.preset);
    Ok(Json(ActivityReport {
        session_id,
        worker_id,
        state: info.state,
        since: info.since,
        evidence: info
            .evidence
            .into_iter()
            .map(|e| Evidence { kind: e.kind.into(), detail: e.detail, at: e.at })
            .collect(),
        preset,
        screen_tail: info.tail,
        title: info.title,
    }))
}

async fn presets(State(s): State<AppState>) -> Json<PresetsResponse> {
    let path = std::env::var("PATH").ok();
    Json(PresetsResponse { presets: s.config.presets.available(path.as_deref()) })
}

async fn metrics() -> impl IntoResponse {
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        crate::metrics::handle().render(),
    )
}
