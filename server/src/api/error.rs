//! Error responses with the protocol's `{error: {code, message}}` body, the mapping from hub and
//! worker errors to status codes, and `ApiJson`, whose rejections use that body.

use crate::api::timed_body::BodyError;
use crate::hub::HubError;
use crate::worker::WorkerError;
use crate::worktree::WorktreeError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use controlroom_protocol::{ApiError, ApiErrorBody, error_code};
use http::StatusCode;
use serde::de::DeserializeOwned;

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
            HubError::Worker(WorkerError::Spawn { .. }) => (StatusCode::BAD_REQUEST, error_code::INVALID),
            HubError::Worker(WorkerError::Gone) => (StatusCode::NOT_FOUND, error_code::NOT_FOUND),
            HubError::Stopped => (StatusCode::SERVICE_UNAVAILABLE, error_code::INTERNAL),
            HubError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, error_code::INTERNAL),
            HubError::Worktree(WorktreeError::WouldLose { .. }) => {
                (StatusCode::CONFLICT, error_code::CONFLICT)
            }
            HubError::Worktree(WorktreeError::Io { .. }) => {
                (StatusCode::INTERNAL_SERVER_ERROR, error_code::INTERNAL)
            }
            HubError::Worktree(_) => (StatusCode::BAD_REQUEST, error_code::INVALID),
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
