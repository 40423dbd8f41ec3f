//! The gateway's JSON API, authenticated with the owner token: one request per connection through
//! `controlroom-net`'s HTTP/1.1 client, over TCP or TLS (see [`super::dial`]).

use super::dial::{DialError, dial};
use super::{Endpoint, Trust};
use crate::error::{Error, Result};
use bytes::Bytes;
use controlroom_net::http::{HttpError, Request, exchange};
use controlroom_protocol::{
    ActivityReport, ApiErrorBody, CreateSession, DiffResponse, InputRequest, PresetsResponse, ScreenResponse,
    Session, SessionsResponse, UpdateSession, UpdateWorker, Worker, WorkerSpec,
};
use http::{Method, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(15);
/// How long creating a session with a worktree may take: the gateway runs the setup command
/// (up to its `--worktree-setup-timeout`, 5 minutes by default) before it answers.
pub const WORKTREE_CREATE_TIMEOUT: Duration = Duration::from_secs(330);

/// The gateway's HTTP API, authenticated with the owner token.
#[derive(Clone)]
pub struct Gateway {
    endpoint: Endpoint,
    token: String,
    trust: Trust,
}

impl std::fmt::Debug for Gateway {
    // The token stays out of every log line and error.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

impl Gateway {
    /// A client for the gateway at `url`; `https://` certificates are checked against `trust`.
    pub fn new(url: &str, token: impl Into<String>, trust: Trust) -> Result<Self> {
        Ok(Self { endpoint: Endpoint::parse(url)?, token: token.into(), trust })
    }

    /// The gateway's base URL.
    pub fn url(&self) -> &str {
        &self.endpoint.base
    }

    async fn send_within(
        &self,
        timeout: Duration,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes)> {
        let fut = async {
            let connect_err = |e: &dyn std::fmt::Display| Error::Connect {
                url: self.endpoint.base.clone(),
                message: e.to_string(),
            };
            let stream = dial(&self.trust, &self.endpoint).await.map_err(|e| match e {
                DialError::Certificate(message) => {
                    Error::Certificate { url: self.endpoint.base.clone(), message }
                }
                e => connect_err(&e),
            })?;
            let mut headers = vec![(header::AUTHORIZATION.to_string(), format!("Bearer {}", self.token))];
            if body.is_some() {
                headers.push((header::CONTENT_TYPE.to_string(), "application/json".to_owned()));
            }
            let request = Request {
                method,
                path,
                headers: &headers,
                body: Bytes::from(body.unwrap_or_default()),
                // The gateway's answers are its own JSON; the timeout bounds them.
                max_body: usize::MAX,
            };
            exchange(stream, self.endpoint.authority(), request).await.map_err(|e| match e {
                HttpError::Request(e) => Error::Url { url: path.to_owned(), message: e.to_string() },
                e => connect_err(e.cause()),
            })
        };
        tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| Error::Connect { url: self.endpoint.base.clone(), message: "timed out".into() })?
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        let bytes = self.call_raw(method, path, body).await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    async fn call_raw(&self, method: Method, path: &str, body: Option<&impl Serialize>) -> Result<Bytes> {
        self.call_raw_within(TIMEOUT, method, path, body).await
    }

    async fn call_raw_within(
        &self,
        timeout: Duration,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<Bytes> {
        let body = body.map(serde_json::to_vec).transpose()?;
        let (status, bytes) = self.send_within(timeout, method, path, body).await?;
        if status == StatusCode::UNAUTHORIZED {
            return Err(Error::Unauthorized);
        }
        if !status.is_success() {
            let message = serde_json::from_slice::<ApiErrorBody>(&bytes)
                .map(|b| b.error.message)
                .unwrap_or_else(|_| status.canonical_reason().unwrap_or("error").to_owned());
            return Err(Error::Http { status: status.as_u16(), message });
        }
        Ok(bytes)
    }

    /// `GET /healthz`: whether a gateway answers here.
    pub async fn healthz(&self) -> Result<()> {
        self.call_raw(Method::GET, "/healthz", None::<&()>).await.map(|_| ())
    }

    /// `GET /api/sessions`.
    pub async fn sessions(&self) -> Result<SessionsResponse> {
        self.call(Method::GET, "/api/sessions", None::<&()>).await
    }

    /// `POST /api/sessions` (waiting longer for one with a worktree: its setup runs first).
    pub async fn create_session(&self, req: &CreateSession) -> Result<Session> {
        let timeout = if req.worktree.is_some() { WORKTREE_CREATE_TIMEOUT } else { TIMEOUT };
        let bytes = self.call_raw_within(timeout, Method::POST, "/api/sessions", Some(req)).await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// `GET /api/sessions/{id}/diff`.
    pub async fn session_diff(&self, id: &str) -> Result<DiffResponse> {
        self.call(Method::GET, &format!("/api/sessions/{id}/diff"), None::<&()>).await
    }

    /// `DELETE /api/sessions/{id}?removeWorktree=true` (with `&force=true` when `force`).
    pub async fn delete_session_and_worktree(&self, id: &str, force: bool) -> Result<()> {
        let force = if force { "&force=true" } else { "" };
        let path = format!("/api/sessions/{id}?removeWorktree=true{force}");
        self.call_raw(Method::DELETE, &path, None::<&()>).await.map(|_| ())
    }

    /// `PATCH /api/sessions/{id}`.
    pub async fn rename_session(&self, id: &str, title: &str) -> Result<Session> {
        let body = UpdateSession { title: title.to_owned() };
        self.call(Method::PATCH, &format!("/api/sessions/{id}"), Some(&body)).await
    }

    /// `DELETE /api/sessions/{id}`.
    pub async fn delete_session(&self, id: &str) -> Result<()> {
        self.call_raw(Method::DELETE, &format!("/api/sessions/{id}"), None::<&()>).await.map(|_| ())
    }

    /// `POST /api/sessions/{id}/workers`.
    pub async fn create_worker(&self, id: &str, spec: &WorkerSpec) -> Result<Worker> {
        self.call(Method::POST, &format!("/api/sessions/{id}/workers"), Some(spec)).await
    }

    /// `PATCH /api/sessions/{id}/workers/{wid}`: renames the worker.
    pub async fn rename_worker(&self, id: &str, wid: &str, name: &str) -> Result<Worker> {
        let body = UpdateWorker { name: name.to_owned() };
        self.call(Method::PATCH, &format!("/api/sessions/{id}/workers/{wid}"), Some(&body)).await
    }

    /// `POST /api/sessions/{id}/workers/{wid}/stop`: stops the worker, which stays (exited) and
    /// can be restarted.
    pub async fn stop_worker(&self, id: &str, wid: &str) -> Result<()> {
        self.call_raw(Method::POST, &format!("/api/sessions/{id}/workers/{wid}/stop"), None::<&()>)
            .await
            .map(|_| ())
    }

    /// `DELETE /api/sessions/{id}/workers/{wid}`: stops the worker if it runs and removes it.
    pub async fn delete_worker(&self, id: &str, wid: &str) -> Result<()> {
        self.call_raw(Method::DELETE, &format!("/api/sessions/{id}/workers/{wid}"), None::<&()>)
            .await
            .map(|_| ())
    }

    /// `POST /api/sessions/{id}/workers/{wid}/stop`: stops the process, keeps the worker.
    pub async fn stop_process(&self, id: &str, wid: &str) -> Result<Worker> {
        self.call(Method::POST, &format!("/api/sessions/{id}/workers/{wid}/stop"), None::<&()>).await
    }

    /// `POST /api/sessions/{id}/workers/{wid}/restart`.
    pub async fn restart_worker(&self, id: &str, wid: &str) -> Result<Worker> {
        self.call(Method::POST, &format!("/api/sessions/{id}/workers/{wid}/restart"), None::<&()>).await
    }

    /// `POST /api/sessions/{id}/workers/{wid}/input`.
    pub async fn input(&self, id: &str, wid: &str, data: &str) -> Result<()> {
        let body = InputRequest { data: data.to_owned() };
        self.call_raw(Method::POST, &format!("/api/sessions/{id}/workers/{wid}/input"), Some(&body))
            .await
            .map(|_| ())
    }

    /// `GET /api/sessions/{id}/workers/{wid}/screen`.
    pub async fn screen(&self, id: &str, wid: &str) -> Result<ScreenResponse> {
        self.call(Method::GET, &format!("/api/sessions/{id}/workers/{wid}/screen"), None::<&()>).await
    }

    /// `GET /api/sessions/{id}/workers/{wid}/activity`: the state and the evidence behind it.
    pub async fn activity(&self, id: &str, wid: &str) -> Result<ActivityReport> {
        self.call(Method::GET, &format!("/api/sessions/{id}/workers/{wid}/activity"), None::<&()>).await
    }

    /// `GET /api/presets`.
    pub async fn presets(&self) -> Result<PresetsResponse> {
        self.call(Method::GET, "/api/presets", None::<&()>).await
    }

    /// `POST /api/sessions/{id}/workers/{wid}/reply`: answers the prompt (or types the line and
    /// Enter) and says which prompt it answered.
    pub async fn reply(
        &self,
        id: &str,
        wid: &str,
        req: &controlroom_protocol::ReplyRequest,
    ) -> Result<controlroom_protocol::ReplyResponse> {
        self.call(Method::POST, &format!("/api/sessions/{id}/workers/{wid}/reply"), Some(req)).await
    }

    /// `POST /api/sessions/{id}/workers/{wid}/auto-answer`: switches the preset's auto-answer.
    pub async fn set_auto_answer(&self, id: &str, wid: &str, enabled: bool) -> Result<()> {
        let body = controlroom_protocol::AutoAnswerRequest { enabled };
        self.call_raw(Method::POST, &format!("/api/sessions/{id}/workers/{wid}/auto-answer"), Some(&body))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Answers one request with `200 {}` and returns its request line.
    async fn one_request(listener: tokio::net::TcpListener) -> String {
        let (mut sock, _) = listener.accept().await.expect("a connection");
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut buf).await.expect("reads");
            assert!(n > 0, "the request ended early");
            head.extend_from_slice(&buf[..n]);
        }
        sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}")
            .await
            .expect("answers");
        String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_owned()
    }

    #[tokio::test]
    async fn stop_keeps_the_worker_and_delete_removes_it() {
        for (stop, want) in [
            (true, "POST /api/sessions/s1/workers/w1/stop HTTP/1.1"),
            (false, "DELETE /api/sessions/s1/workers/w1 HTTP/1.1"),
        ] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
            let url = format!("http://{}", listener.local_addr().expect("an address"));
            let server = tokio::spawn(one_request(listener));
            let g = Gateway::new(&url, "t", Trust::default()).expect("a client");
            let done = if stop { g.stop_worker("s1", "w1").await } else { g.delete_worker("s1", "w1").await };
            done.expect("the request succeeds");
            assert_eq!(server.await.expect("the server task"), want);
        }
    }
}
