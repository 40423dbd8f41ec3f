//! `/ws/session/{sessionId}/worker/{workerId}`: one worker's terminal — `history`, then `output`
//! as it arrives; `input`, `resize` and `image` from the client. A client that offers
//! `controlroom.v1.binary` gets `output` as binary frames and may type with binary frames. A
//! write-scoped client that asks for `?delivery=lossless` gets every byte: the worker waits for
//! it instead of closing it with 4008 (see `worker::actor::lossless`). A client that asks for
//! `?history=screen` gets a `history` of the screen only, without the scrollback.

use crate::api::error::ApiErrorResponse;
use crate::api::state::AppState;
use crate::api::upgrade::{WebSocket, WebSocketUpgrade};
use crate::api::validate::{CheckedImage, decode_image, parse_worker_msg};
use crate::api::ws::conn::{ClientError, ConnSpec, MessageHandler, serve_socket};
use crate::auth::scoped::Grant;
use crate::outbox::{outbox, outbox_lossless};
use crate::worker::{ClientId, OutputFormat, WorkerError, WorkerHandle};
use axum::Extension;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use controlroom_protocol::{
    BINARY_SUBPROTOCOL, DELIVERY_PARAM, Delivery, HISTORY_PARAM, HistoryScope, SUBPROTOCOL, Session,
    SessionId, WorkerClientMsg, WorkerId, WorkerServerMsg, error_code,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument as _;

/// Folder under the data dir where pasted images are saved.
pub const IMAGES_DIR: &str = "images";

/// The `delivery` query parameter: absent means the default; an unknown value is a 400 and a
/// read-only token asking for lossless delivery a 403 (a watcher must not be able to stall an
/// agent), both before the upgrade.
fn delivery(query: Option<&str>, grant: &Grant) -> Result<Delivery, ApiErrorResponse> {
    delivery_value(query_value(query, DELIVERY_PARAM), grant)
}

/// [`delivery`] of the parameter's value (`None` when absent).
pub(super) fn delivery_value(value: Option<&str>, grant: &Grant) -> Result<Delivery, ApiErrorResponse> {
    let Some(value) = value else { return Ok(Delivery::Default) };
    let mode = Delivery::parse(value).ok_or_else(|| {
        ApiErrorResponse::new(
            StatusCode::BAD_REQUEST,
            error_code::INVALID,
            format!("unknown delivery {value:?}: expected \"lossless\" or \"default\""),
        )
    })?;
    if mode == Delivery::Lossless && !grant.can_write() {
        return Err(ApiErrorResponse::new(
            StatusCode::FORBIDDEN,
            error_code::FORBIDDEN,
            "lossless delivery needs a write-scoped token: it can hold the worker back",
        ));
    }
    Ok(mode)
}

/// The `history` query parameter: absent means the full history; an unknown value is a 400,
/// before the upgrade.
fn history_scope(query: Option<&str>) -> Result<HistoryScope, ApiErrorResponse> {
    history_value(query_value(query, HISTORY_PARAM))
}

/// [`history_scope`] of the parameter's value (`None` when absent).
pub(super) fn history_value(value: Option<&str>) -> Result<HistoryScope, ApiErrorResponse> {
    let Some(value) = value else { return Ok(HistoryScope::Full) };
    HistoryScope::parse(value).ok_or_else(|| {
        ApiErrorResponse::new(
            StatusCode::BAD_REQUEST,
            error_code::INVALID,
            format!("unknown history {value:?}: expected \"screen\" or \"full\""),
        )
    })
}

/// The value of the query parameter `name`; the last one counts, as in most query parsers.
fn query_value<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .next_back()
}

/// Checks the `delivery` and `history` queries, looks the worker up (404 before upgrading when unknown), then
/// upgrades. (The token guard already refused, with 403, a token restricted to another session.)
pub async fn upgrade(
    State(state): State<AppState>,
    Extension(grant): Extension<Grant>,
    Path((id, wid)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    let delivery = match delivery(query.as_deref(), &grant) {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let history = match history_scope(query.as_deref()) {
        Ok(h) => h,
        Err(e) => return e.into_response(),
    };
    let (sid, wid) = (SessionId::new(id), WorkerId::new(wid));
    let worker = match state.hub.worker(sid.clone(), wid.clone()).await {
        Ok(w) => w,
        Err(e) => return ApiErrorResponse::from(e).into_response(),
    };
    let permit = match state.connection_permit() {
        Ok(p) => p,
        Err(refusal) => return refusal.into_response(),
    };
    let who = Attached { sid, wid, grant, format: OutputFormat::Json, delivery, history, created: None };
    attach_upgrade(state, permit, ws, worker, peer, "worker", who)
}

/// Answers 101 and runs the worker socket of `who` on the upgraded connection: output as binary
/// frames when the client offers `controlroom.v1.binary` (chosen over JSON), as JSON otherwise.
pub(super) fn attach_upgrade(
    state: AppState,
    permit: OwnedSemaphorePermit,
    ws: WebSocketUpgrade,
    worker: WorkerHandle,
    peer: SocketAddr,
    route: &'static str,
    mut who: Attached,
) -> Response {
    let max = state.config.max_worker_message;
    // Binary first: a client that offers both gets binary frames.
    let protocols = [BINARY_SUBPROTOCOL, SUBPROTOCOL];
    state.upgrade_permitted(permit, ws, &protocols, max, move |socket, state, selected| {
        who.format =
            if selected == Some(BINARY_SUBPROTOCOL) { OutputFormat::Binary } else { OutputFormat::Json };
        // One span per connection, so every log line of it says whose it is (never the token).
        let span = tracing::info_span!("ws", %peer, route, session = %who.sid, worker = %who.wid);
        run(socket, state, worker, who).instrument(span)
    })
}

/// Who is attached to what.
pub(super) struct Attached {
    pub(super) sid: SessionId,
    pub(super) wid: WorkerId,
    pub(super) grant: Grant,
    /// How `output` is framed, from the negotiated subprotocol.
    pub(super) format: OutputFormat,
    /// Whether the worker waits for this client (`?delivery=lossless`).
    pub(super) delivery: Delivery,
    /// How much the opening `history` redraws (`?history=screen`: no scrollback).
    pub(super) history: HistoryScope,
    /// The session this socket created (`/ws/new`): sent as `created` before `history`.
    pub(super) created: Option<Box<Session>>,
}

struct WorkerSocket {
    worker: WorkerHandle,
    client: ClientId,
    images_dir: PathBuf,
    /// False for read-only tokens: input, resize and image get `forbidden`.
    can_write: bool,
    /// Binary frames from the client are input (only with `controlroom.v1.binary`).
    binary_input: bool,
    /// Largest cols or rows a `resize` may ask for (`--max-terminal-size`).
    max_terminal_size: u16,
}

fn read_only() -> ClientError {
    ClientError::refused(error_code::FORBIDDEN, "this token is read-only")
}

fn worker_error(e: WorkerError) -> ClientError {
    match e {
        WorkerError::Exited => ClientError::refused(error_code::WORKER_EXITED, "the worker has exited"),
        WorkerError::Invalid(m) => ClientError::refused(error_code::INVALID, m),
        other => ClientError::refused(error_code::INTERNAL, other.to_string()),
    }
}

impl MessageHandler for WorkerSocket {
    async fn on_text(&mut self, text: &str) -> Result<(), ClientError> {
        let msg = parse_worker_msg(text, self.max_terminal_size)?;
        if !self.can_write {
            return Err(read_only());
        }
        match msg {
            WorkerClientMsg::Input { data } => {
                self.worker.type_keys(self.client, data.into_bytes()).await.map_err(worker_error)
            }
            WorkerClientMsg::Resize { cols, rows } => {
                self.worker.resize(Some(self.client), cols, rows).await.map_err(worker_error)
            }
            WorkerClientMsg::Image { data, mime_type } => {
                // Nothing is saved for a worker that cannot take the path.
                if self.worker.status().borrow().exit.is_some() {
                    return Err(worker_error(WorkerError::Exited));
                }
                let path = save_image(&self.images_dir, &data, &mime_type).await?;
                self.worker.input(Some(self.client), path.into_bytes()).await.map_err(worker_error)
            }
        }
    }

    async fn on_binary(&mut self, data: bytes::Bytes) -> Result<(), ClientError> {
        if !self.binary_input {
            return Err(ClientError::malformed("binary frames are not accepted; send JSON text"));
        }
        if !self.can_write {
            return Err(read_only());
        }
        self.worker.type_keys(self.client, data.into()).await.map_err(worker_error)
    }
}

/// Validates and saves a pasted image; returns the path to type into the worker.
async fn save_image(dir: &std::path::Path, data: &str, mime_type: &str) -> Result<String, ClientError> {
    let CheckedImage { ext, bytes } = decode_image(data, mime_type)?;
    let name = format!("{}-{:08x}.{ext}", jiff::Timestamp::now().as_millisecond(), rand::random::<u32>());
    let path = dir.join(name);
    // Private like the rest of the data dir: a pasted screenshot can show anything.
    let write = async {
        tokio::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).await?;
        let mut file =
            tokio::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).await?;
        tokio::io::AsyncWriteExt::write_all(&mut file, &bytes).await?;
        tokio::io::AsyncWriteExt::flush(&mut file).await
    };
    write
        .await
        .map_err(|e| ClientError::refused(error_code::INTERNAL, format!("could not save image: {e}")))?;
    Ok(path.display().to_string())
}

async fn run(socket: WebSocket, state: AppState, worker: WorkerHandle, who: Attached) {
    let Attached { sid, wid, grant, format, delivery, history, created } = who;
    let (tx, rx) = match delivery {
        Delivery::Default => outbox(state.config.max_client_buffer),
        Delivery::Lossless => outbox_lossless(state.config.max_client_buffer),
    };
    if let Some(session) = created {
        // Queued before the attach, so it goes out ahead of `history`.
        let msg = WorkerServerMsg::Created { session, worker_id: wid.clone() };
        match serde_json::to_string(&msg) {
            Ok(text) => {
                // A fresh outbox is open and empty: the push cannot be refused.
                let _ = tx.push_text(text.into());
            }
            Err(e) => tracing::warn!(error = %e, "could not encode `created`"),
        }
    }
    let client = match worker.attach_with(tx.clone(), format, history).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(session_id = %sid, worker_id = %wid, error = %e, "attach failed");
            return;
        }
    };
    let count = state.worker_clients.fetch_add(1, Ordering::AcqRel) + 1;
    metrics::counter!(crate::metrics::CONNECTIONS, "endpoint" => "worker").increment(1);
    metrics::gauge!(crate::metrics::CONNECTIONS_OPEN, "endpoint" => "worker").set(count as f64);
    tracing::info!(endpoint = "worker", sessionId = %sid, workerId = %wid, clientCount = count, format = ?format, delivery = delivery.as_str(), history = history.as_str(), "client attached");
    let spec = ConnSpec {
        endpoint: "worker",
        heartbeat: state.config.heartbeat,
        max_bad_messages: state.config.max_bad_messages,
        grant: grant.clone(),
    };
    let mut handler = WorkerSocket {
        worker: worker.clone(),
        client,
        images_dir: state.config.data_dir.join(IMAGES_DIR),
        can_write: grant.can_write(),
        binary_input: format == OutputFormat::Binary,
        max_terminal_size: state.config.worker.max_terminal_size,
    };
    serve_socket(socket, tx, rx, &mut handler, spec, state.shutdown.clone()).await;
    worker.detach(client).await;
    let count = state.worker_clients.fetch_sub(1, Ordering::AcqRel) - 1;
    metrics::gauge!(crate::metrics::CONNECTIONS_OPEN, "endpoint" => "worker").set(count as f64);
    tracing::info!(endpoint = "worker", sessionId = %sid, workerId = %wid, clientCount = count, "client detached");
}
