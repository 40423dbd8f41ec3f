//! `/ws/session/{sessionId}/worker/{workerId}`: one worker's terminal — `history`, then `output`
//! as it arrives; `input`, `resize` and `image` from the client.

use crate::conn::{ClientError, ConnSpec, MessageHandler, serve_socket};
use crate::http::{ApiErrorResponse, AppState};
use crate::outbox::outbox;
use crate::worker::{ClientId, WorkerError, WorkerHandle};
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use controlroom_protocol::{
    IMAGE_MIME_TYPES, MAX_IMAGE_BYTES, SUBPROTOCOL, SessionId, TERMINAL_DIM_RANGE, WorkerClientMsg, WorkerId,
    error_code,
};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// Folder under the data dir where pasted images are saved.
pub const IMAGES_DIR: &str = "images";

/// Looks the worker up (404 before upgrading when unknown), then upgrades.
pub async fn upgrade(
    State(state): State<AppState>,
    Path((id, wid)): Path<(String, String)>,
    ws: WebSocketUpgrade,
) -> Response {
    let (sid, wid) = (SessionId::new(id), WorkerId::new(wid));
    let worker = match state.hub.worker(sid.clone(), wid.clone()).await {
        Ok(w) => w,
        Err(e) => return ApiErrorResponse::from(e).into_response(),
    };
    let max = state.config.max_worker_message;
    ws.protocols([SUBPROTOCOL]).max_message_size(max).max_frame_size(max).on_upgrade(move |socket| {
        let tracker = state.tracker.clone();
        tracker.track_future(run(socket, state, worker, sid, wid))
    })
}

struct WorkerSocket {
    worker: WorkerHandle,
    client: ClientId,
    images_dir: PathBuf,
}

fn worker_error(e: WorkerError) -> ClientError {
    match e {
        WorkerError::Exited => ClientError::refused(error_code::WORKER_EXITED, "the worker has exited"),
        WorkerError::Invalid(m) => ClientError::refused(error_code::INVALID, m),
        WorkerError::InputFull => ClientError::refused(error_code::LIMIT, e.to_string()),
        other => ClientError::refused(error_code::INTERNAL, other.to_string()),
    }
}

impl MessageHandler for WorkerSocket {
    async fn on_text(&mut self, text: &str) -> Result<(), ClientError> {
        let msg: WorkerClientMsg = serde_json::from_str(text)
            .map_err(|e| ClientError::malformed(format!("not a client message: {e}")))?;
        match msg {
            WorkerClientMsg::Input { data } => {
                self.worker.input(Some(self.client), data.into_bytes()).await.map_err(worker_error)
            }
            WorkerClientMsg::Resize { cols, rows } => {
                if !TERMINAL_DIM_RANGE.contains(&cols) || !TERMINAL_DIM_RANGE.contains(&rows) {
                    return Err(ClientError::malformed(format!(
                        "resize out of range: cols and rows must be within 1..=1000 (got {cols}x{rows})"
                    )));
                }
                self.worker.resize(Some(self.client), cols, rows).await.map_err(worker_error)
            }
            WorkerClientMsg::Image { data, mime_type } => {
                let path = save_image(&self.images_dir, &data, &mime_type).await?;
                self.worker.input(Some(self.client), path.into_bytes()).await.map_err(worker_error)
            }
        }
    }
}

/// Validates and saves a pasted image; returns the path to type into the worker.
async fn save_image(dir: &std::path::Path, data: &str, mime_type: &str) -> Result<String, ClientError> {
    let Some(ext) =
        IMAGE_MIME_TYPES.iter().position(|m| *m == mime_type).map(|i| ["png", "jpg", "gif", "webp"][i])
    else {
        return Err(ClientError::refused(
            error_code::INVALID,
            format!("unsupported image type {mime_type:?}"),
        ));
    };
    // base64 grows data by 4/3; refuse before decoding what cannot fit.
    if data.len() / 4 * 3 > MAX_IMAGE_BYTES + 3 {
        return Err(ClientError::refused(error_code::LIMIT, "image larger than 10 MiB"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| ClientError::refused(error_code::INVALID, format!("image data is not base64: {e}")))?;
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ClientError::refused(error_code::LIMIT, "image larger than 10 MiB"));
    }
    let magic_ok = match ext {
        "png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "jpg" => bytes.starts_with(b"\xff\xd8\xff"),
        "gif" => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
        _ => bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
    };
    if !magic_ok {
        return Err(ClientError::refused(error_code::INVALID, format!("data is not a {mime_type} image")));
    }
    let name = format!("{}-{:08x}.{ext}", jiff::Timestamp::now().as_millisecond(), rand::random::<u32>());
    let path = dir.join(name);
    let write = async {
        tokio::fs::create_dir_all(dir).await?;
        tokio::fs::write(&path, &bytes).await
    };
    write
        .await
        .map_err(|e| ClientError::refused(error_code::INTERNAL, format!("could not save image: {e}")))?;
    Ok(path.display().to_string())
}

async fn run(socket: WebSocket, state: AppState, worker: WorkerHandle, sid: SessionId, wid: WorkerId) {
    let (tx, rx) = outbox(state.config.max_client_buffer);
    let client = match worker.attach(tx.clone()).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(session_id = %sid, worker_id = %wid, error = %e, "attach failed");
            return;
        }
    };
    let count = state.worker_clients.fetch_add(1, Ordering::AcqRel) + 1;
    metrics::counter!(crate::metrics::CONNECTIONS, "endpoint" => "worker").increment(1);
    metrics::gauge!(crate::metrics::CONNECTIONS_OPEN, "endpoint" => "worker").set(count as f64);
    tracing::info!(endpoint = "worker", sessionId = %sid, workerId = %wid, clientCount = count, "client attached");
    let spec = ConnSpec {
        endpoint: "worker",
        heartbeat: state.config.heartbeat,
        max_bad_messages: state.config.max_bad_messages,
    };
    let mut handler =
        WorkerSocket { worker: worker.clone(), client, images_dir: state.config.data_dir.join(IMAGES_DIR) };
    serve_socket(socket, tx, rx, &mut handler, spec, state.shutdown.clone()).await;
    worker.detach(client).await;
    let count = state.worker_clients.fetch_sub(1, Ordering::AcqRel) - 1;
    metrics::gauge!(crate::metrics::CONNECTIONS_OPEN, "endpoint" => "worker").set(count as f64);
    tracing::info!(endpoint = "worker", sessionId = %sid, workerId = %wid, clientCount = count, "client detached");
}
