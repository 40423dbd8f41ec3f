//! Client message parsing and validation, pure (no I/O), shared by the socket handlers and the
//! fuzz targets: every way a message can be refused is decided here; and the env check of a
//! worker spec, shared by `POST /api/sessions`, `POST …/workers` and `/ws/new`.

use crate::api::error::ApiErrorResponse;
use crate::auth::scoped::Grant;
use base64::Engine as _;
use controlroom_protocol::{AppClientMsg, IMAGE_MIME_TYPES, MAX_IMAGE_BYTES, WorkerClientMsg, error_code};

/// A client message that was refused; it becomes `{"type":"error", code, message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    /// Machine-readable code.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Whether it counts toward the malformed-message limit.
    pub malformed: bool,
}

impl ClientError {
    /// A message that did not parse.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self { code: error_code::BAD_MESSAGE, message: message.into(), malformed: true }
    }

    /// A well-formed message that could not be carried out.
    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), malformed: false }
    }
}

/// Parses a `/ws/app` client message.
pub fn parse_app_msg(text: &str) -> Result<AppClientMsg, ClientError> {
    serde_json::from_str(text).map_err(|e| ClientError::malformed(format!("not a client message: {e}")))
}

/// Parses a worker-socket client message and checks its values: a resize's cols and rows must
/// be within 1..=`max_size` (`--max-terminal-size`), else a `bad-message` error that does not
/// count toward the malformed-message limit.
pub fn parse_worker_msg(text: &str, max_size: u16) -> Result<WorkerClientMsg, ClientError> {
    let msg: WorkerClientMsg = serde_json::from_str(text)
        .map_err(|e| ClientError::malformed(format!("not a client message: {e}")))?;
    if let WorkerClientMsg::Resize { cols, rows } = &msg
        && !crate::worker::size::fits(*cols, *rows, max_size)
    {
        // A `bad-message` error, but not counted toward the malformed-message limit: a
        // well-formed resize from a terminal larger than the limit must not close its connection.
        return Err(ClientError::refused(
            error_code::BAD_MESSAGE,
            format!("resize out of range: cols and rows must be within 1..={max_size} (got {cols}x{rows})"),
        ));
    }
    Ok(msg)
}

/// A pasted image that passed every check: its file extension and bytes.
#[derive(Debug)]
pub struct CheckedImage {
    /// `png`, `jpg`, `gif` or `webp`.
    pub ext: &'static str,
    /// The decoded bytes (at most `MAX_IMAGE_BYTES`, starting with the type's magic bytes).
    pub bytes: Vec<u8>,
}

/// Checks an `image` message: a known type, base64, at most 10 MiB, the type's magic bytes.
pub fn decode_image(data: &str, mime_type: &str) -> Result<CheckedImage, ClientError> {
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
    Ok(CheckedImage { ext, bytes })
}

/// Refuses a worker spec's malformed env (400) and, from any credential but the owner token,
/// dynamic-loader variables (403): `LD_PRELOAD` and the like run code in every program the worker
/// starts, which a session-scoped writer should not be able to slip under the owner's tools.
pub(crate) fn check_worker_env(
    spec: &controlroom_protocol::WorkerSpec,
    grant: &Grant,
) -> Result<(), ApiErrorResponse> {
    use crate::worker::env::{EnvRefusal, check_spec_env};
    let Some(env) = &spec.env else { return Ok(()) };
    check_spec_env(env, grant.owner).map_err(|refusal| match refusal {
        EnvRefusal::Malformed(why) => {
            ApiErrorResponse::new(http::StatusCode::BAD_REQUEST, error_code::INVALID, why)
        }
        EnvRefusal::Loader(why) => {
            ApiErrorResponse::new(http::StatusCode::FORBIDDEN, error_code::FORBIDDEN, why)
        }
    })
}
