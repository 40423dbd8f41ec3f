//! Answering a worker without attaching: `POST …/workers/{wid}/reply` types an answer the way the
//! prompt on screen takes it (a menu's digit alone, `y` and Enter for `[y/N]`) or a line and
//! Enter, and says which prompt it answered; `POST …/workers/{wid}/auto-answer` switches the
//! preset's auto-answer on or off.
//!
//! The prompt is read from the worker's published status — what every client sees in
//! `Worker.prompt` — so the answer sent and the question reported are the ones clients were shown.

use crate::api::error::{ApiErrorResponse, ApiJson};
use crate::api::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use controlroom_protocol::{
    ActivityState, AutoAnswerRequest, ReplyRequest, ReplyResponse, SessionId, WorkerId, WorkerPrompt,
    error_code,
};
use http::StatusCode;

/// `POST /api/sessions/{id}/workers/{wid}/reply`.
pub(crate) async fn reply(
    State(s): State<AppState>,
    Path((id, wid)): Path<(String, String)>,
    ApiJson(req): ApiJson<ReplyRequest>,
) -> Result<Json<ReplyResponse>, ApiErrorResponse> {
    let worker = s.hub.worker(SessionId::new(id), WorkerId::new(wid)).await?;
    let status = worker.status().borrow().clone();
    let prompt = status.prompt.filter(|_| status.activity == ActivityState::Asking);
    let bytes = reply_bytes(&req, prompt.as_ref())
        .map_err(|why| ApiErrorResponse::new(StatusCode::BAD_REQUEST, error_code::INVALID, why))?;
    let sent = String::from_utf8_lossy(&bytes).into_owned();
    worker.input(None, bytes).await?;
    Ok(Json(ReplyResponse { question: prompt.map(|p| p.question), sent, activity_state: status.activity }))
}

/// What to type for `req` to a worker asking with `prompt`: one of its answers as the prompt
/// takes it, else the text and Enter. A menu (answered by a key alone) refuses other text unless
/// `literal`: typed with Enter it would pick whatever the cursor is on.
fn reply_bytes(req: &ReplyRequest, prompt: Option<&WorkerPrompt>) -> Result<Vec<u8>, String> {
    let line = || [req.text.as_bytes(), b"\r"].concat();
    let Some(p) = prompt.filter(|_| !req.literal) else { return Ok(line()) };
    if p.answers.contains(&req.text) {
        let mut bytes = req.text.as_bytes().to_vec();
        if p.enter {
            bytes.push(b'\r');
        }
        return Ok(bytes);
    }
    if !p.enter && !p.answers.is_empty() {
        return Err(format!(
            "the prompt {:?} takes {} (a key alone); send other text literally (\"literal\": true, \
             `controlroom reply --literal`)",
            p.question,
            p.answers.join(", ")
        ));
    }
    Ok(line())
}

/// `POST /api/sessions/{id}/workers/{wid}/auto-answer`.
pub(crate) async fn auto_answer(
    State(s): State<AppState>,
    Path((id, wid)): Path<(String, String)>,
    ApiJson(req): ApiJson<AutoAnswerRequest>,
) -> Result<StatusCode, ApiErrorResponse> {
    let worker = s.hub.worker(SessionId::new(id), WorkerId::new(wid)).await?;
    worker.set_auto_answer(req.enabled).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str, literal: bool) -> ReplyRequest {
        ReplyRequest { text: text.into(), literal }
    }

    fn prompt(answers: &[&str], enter: bool) -> WorkerPrompt {
        WorkerPrompt {
            question: "Proceed?".into(),
            answers: answers.iter().map(|a| (*a).to_owned()).collect(),
            enter,
            auto_answer: None,
        }
    }

    #[test]
    fn answers_are_typed_as_their_prompt_takes_them() {
        let menu = prompt(&["1", "2"], false);
        assert_eq!(reply_bytes(&req("1", false), Some(&menu)).expect("menu"), b"1");
        let err = reply_bytes(&req("yes", false), Some(&menu)).expect_err("not a choice");
        assert!(err.contains("takes 1, 2 (a key alone)"), "{err}");
        assert_eq!(reply_bytes(&req("yes", true), Some(&menu)).expect("literal"), b"yes\r");
        let yn = prompt(&["y", "n"], true);
        assert_eq!(reply_bytes(&req("y", false), Some(&yn)).expect("y"), b"y\r");
        assert_eq!(reply_bytes(&req("maybe", false), Some(&yn)).expect("text"), b"maybe\r");
        assert_eq!(reply_bytes(&req("", false), None).expect("enter"), b"\r");
        assert_eq!(reply_bytes(&req("ls -l", false), None).expect("line"), b"ls -l\r");
    }
}
