//! The HTTP API: the routes and the router that puts the auth guards in front of everything but
//! `/healthz` and `/api/config`.

use crate::api::error::{ApiErrorResponse, ApiJson};
use crate::api::middleware::{self as auth, AuthState};
use crate::api::state::AppState;
use crate::api::validate::check_worker_env;
use crate::api::ws::{app as ws_app, create as ws_create, worker as ws_worker};
use crate::auth::scoped::Grant;
use crate::hub::HubError;
use crate::worktree::WorktreeError;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router, middleware};
use controlroom_protocol::{
    ActivityReport, AppConfig, CreateSession, DiffResponse, Evidence, InputRequest, PROTOCOL_VERSION,
    PresetsResponse, SessionId, UpdateSession, UpdateWorker, WS_APP_PATH, WS_NEW_PATH, WS_WORKER_PATH,
    WorkerId, WorkerSpec, error_code,
};
use http::StatusCode;
use serde::Deserialize;

type ApiResult<T> = Result<T, ApiErrorResponse>;

/// Builds the router: open routes, then everything else behind the token check, all behind the
/// Host/Origin check.
pub fn router(state: AppState, auth: AuthState) -> Router {
    let protected = Router::new()
        .route("/api/sessions", get(list_sessions).post(create_session))
        .route("/api/sessions/{id}", get(get_session).patch(rename_session).delete(delete_session))
        .route("/api/sessions/{id}/diff", get(session_diff))
        .route("/api/sessions/{id}/workers", post(add_worker))
        .route("/api/sessions/{id}/workers/{wid}", axum::routing::delete(remove_worker).patch(rename_worker))
        .route("/api/sessions/{id}/workers/{wid}/restart", post(restart_worker))
        .route("/api/sessions/{id}/workers/{wid}/stop", post(stop_worker))
        .route("/api/sessions/{id}/workers/{wid}/input", post(send_input))
        .route("/api/sessions/{id}/workers/{wid}/screen", get(screen))
        .route("/api/sessions/{id}/workers/{wid}/activity", get(activity))
        .route("/api/sessions/{id}/workers/{wid}/reply", post(crate::api::reply::reply))
        .route("/api/sessions/{id}/workers/{wid}/auto-answer", post(crate::api::reply::auto_answer))
        .route("/api/presets", get(presets))
        .route("/metrics", get(metrics))
        .route("/api/deltas", get(deltas))
        .route(WS_APP_PATH, get(ws_app::upgrade))
        .route("/ws/session/{id}/worker/{wid}", get(ws_worker::upgrade))
        .route(WS_NEW_PATH, get(ws_create::upgrade))
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
        ws_new: Some(WS_NEW_PATH.into()),
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
    Extension(grant): Extension<Grant>,
    ApiJson(req): ApiJson<CreateSession>,
) -> ApiResult<Response> {
    for spec in req.workers.iter().flatten() {
        check_worker_env(spec, &grant)?;
    }
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

/// `DELETE /api/sessions/{id}`'s query: `removeWorktree=true` removes the session's worktree and
/// branch too (refused with 409 while that would lose uncommitted changes or unmerged commits,
/// unless `force=true`).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DeleteQuery {
    #[serde(default)]
    remove_worktree: bool,
    #[serde(default)]
    force: bool,
}

async fn delete_session(
    State(s): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<DeleteQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<StatusCode> {
    let Query(q) = query.map_err(|e| {
        ApiErrorResponse::new(StatusCode::BAD_REQUEST, error_code::BAD_MESSAGE, e.body_text())
    })?;
    let id = SessionId::new(id);
    if !q.remove_worktree {
        s.hub.delete(id).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let (_, meta) = s.hub.worktree_of(id.clone()).await?;
    let meta = meta.ok_or(HubError::Worktree(WorktreeError::NoWorktree))?;
    let config = s.hub.worktree_config();
    // Checked before the session goes: a refusal leaves everything as it was.
    if !q.force {
        crate::worktree::check_removable(config, &meta).await.map_err(HubError::from)?;
    }
    s.hub.delete(id).await?;
    crate::worktree::remove(config, &meta, true).await.map_err(HubError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/sessions/{id}/diff`: the session's changes against its base, cut at
/// `--max-diff-bytes`.
async fn session_diff(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<impl IntoResponse> {
    let (session, meta) = s.hub.worktree_of(SessionId::new(id)).await?;
    if session.branch.is_none() {
        return Err(HubError::Invalid(format!("{} is not in a git repository", session.cwd)).into());
    }
    let base = meta.map(|m| m.base);
    let config = s.hub.worktree_config();
    let (diff, truncated) = crate::worktree::stats::diff(config, &session.cwd, base.as_deref())
        .await
        .map_err(|e| HubError::Worktree(WorktreeError::Git(e)))?;
    Ok(Json(DiffResponse { base: base.unwrap_or_else(|| "HEAD".into()), diff, truncated }))
}

async fn add_worker(
    State(s): State<AppState>,
    Extension(grant): Extension<Grant>,
    Path(id): Path<String>,
    ApiJson(spec): ApiJson<WorkerSpec>,
) -> ApiResult<Response> {
    check_worker_env(&spec, &grant)?;
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

async fn rename_worker(
    State(s): State<AppState>,
    Path((id, wid)): Path<(String, String)>,
    ApiJson(req): ApiJson<UpdateWorker>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.hub.rename_worker(SessionId::new(id), WorkerId::new(wid), req.name).await?))
}

async fn restart_worker(
    State(s): State<AppState>,
    Path((id, wid)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.hub.restart_worker(SessionId::new(id), WorkerId::new(wid)).await?))
}

async fn stop_worker(
    State(s): State<AppState>,
    Path((id, wid)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.hub.stop_worker(SessionId::new(id), WorkerId::new(wid)).await?))
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
