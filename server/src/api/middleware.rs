//! The request guards: token check (owner or scoped, with the failed-authentication limit) on
//! every route but `/healthz` and `/api/config`, Origin and Host checks on all.

use crate::api::error::ApiErrorResponse;
use crate::auth::owner::OwnerKeeper;
use crate::auth::ratelimit::AuthFailures;
use crate::auth::scoped::{Grant, ScopedError, SecretKeeper};
use crate::config::ServeConfig;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use controlroom_protocol::{BEARER_SUBPROTOCOL_PREFIX, error_code};
use http::{HeaderMap, StatusCode, header};
use std::net::SocketAddr;
use std::sync::Arc;

/// Why an offered credential was refused (answered with 401 and this text).
#[derive(Debug, thiserror::Error)]
enum Rejected {
    /// No credential was offered.
    #[error("missing token")]
    MissingToken,
    /// Neither the owner token nor shaped like a scoped token.
    #[error("wrong token")]
    WrongToken,
    /// A scoped token that did not verify.
    #[error(transparent)]
    Scoped(#[from] ScopedError),
}

/// What the guards compare against.
#[derive(Clone)]
pub struct AuthState {
    owner: OwnerKeeper,
    keeper: SecretKeeper,
    failures: AuthFailures,
    allowed_hosts: Arc<Vec<String>>,
    allowed_origins: Arc<Vec<String>>,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthState").field("token", &"<redacted>").finish()
    }
}

impl AuthState {
    /// Loopback names and the bound address are always allowed as Host, and their `http://`
    /// (with TLS, `https://`) origins as Origin; `--allow-host` and `--allow-origin` add to that.
    pub fn new(owner: OwnerKeeper, keeper: SecretKeeper, bound: SocketAddr, config: &ServeConfig) -> Self {
        let port = bound.port();
        let bound_host = match bound.ip() {
            std::net::IpAddr::V4(ip) => ip.to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        };
        let names = ["127.0.0.1".to_string(), "localhost".into(), "[::1]".into(), bound_host];
        let mut hosts: Vec<String> = names.iter().flat_map(|h| [h.clone(), format!("{h}:{port}")]).collect();
        for h in &config.allow_hosts {
            let h = h.trim().to_ascii_lowercase();
            let has_port =
                h.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) && !h.ends_with(']');
            if !has_port {
                hosts.push(format!("{h}:{port}"));
            }
            hosts.push(h);
        }
        let scheme = if config.tls.is_some() { "https" } else { "http" };
        let mut origins: Vec<String> = names.iter().map(|h| format!("{scheme}://{h}:{port}")).collect();
        origins.extend(
            config
                .allow_origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                // `null` (sandboxed frames, file: pages) is never an allowed origin.
                .filter(|o| o != "null"),
        );
        Self {
            owner,
            keeper,
            failures: AuthFailures::new(config.max_auth_failures, config.auth_failure_window),
            allowed_hosts: Arc::new(hosts),
            allowed_origins: Arc::new(origins),
        }
    }

    /// The grant of an offered credential: the owner token, or a valid scoped token.
    async fn grant_for(&self, offered: &str) -> Result<Grant, Rejected> {
        if let Some(generation) = self.owner.check(offered).await {
            return Ok(Grant::owner(Some(generation)));
        }
        if offered.bytes().filter(|b| *b == b'.').count() == 2 {
            return Ok(self.keeper.verify(offered).await?);
        }
        Err(Rejected::WrongToken)
    }
}

/// The token a request offers: `Authorization: Bearer`, or a `bearer.<token>` subprotocol.
fn offered_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return Some(t.trim());
    }
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|p| p.strip_prefix(BEARER_SUBPROTOCOL_PREFIX))
}

fn has_token_query(req: &Request) -> bool {
    req.uri().query().is_some_and(|q| {
        q.split('&').any(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            key.eq_ignore_ascii_case("token") || key.eq_ignore_ascii_case("access_token")
        })
    })
}

/// Host and Origin checks (DNS rebinding, cross-site WebSocket hijacking), on every route.
pub async fn check_host_origin(State(auth): State<AuthState>, req: Request, next: Next) -> Response {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_ascii_lowercase);
    match host {
        Some(h) if auth.allowed_hosts.contains(&h) => {}
        _ => {
            tracing::warn!(host = ?host, "refused request for an unexpected Host");
            return ApiErrorResponse::new(
                StatusCode::MISDIRECTED_REQUEST,
                error_code::FORBIDDEN,
                "unexpected Host header",
            )
            .into_response();
        }
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null").trim_end_matches('/').to_ascii_lowercase();
        if !auth.allowed_origins.contains(&origin) {
            tracing::warn!(origin = %origin, "refused request from a foreign Origin");
            return ApiErrorResponse::new(StatusCode::FORBIDDEN, error_code::FORBIDDEN, "Origin not allowed")
                .into_response();
        }
    }
    next.run(req).await
}

fn unauthorized(message: impl Into<String>) -> Response {
    ApiErrorResponse::new(StatusCode::UNAUTHORIZED, error_code::UNAUTHORIZED, message).into_response()
}

/// Token check for every route it wraps. A `?token=` query is refused even when right: tokens in
/// URLs end up in logs and browser history. Puts the credential's [`Grant`] in the request's
/// extensions and refuses (403) what the grant does not allow.
pub async fn require_token(State(auth): State<AuthState>, mut req: Request, next: Next) -> Response {
    if has_token_query(&req) {
        return unauthorized(
            "tokens in the URL are refused; send Authorization: Bearer or the bearer.<token> subprotocol",
        );
    }
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let blocked = peer.and_then(|ip| auth.failures.blocked(ip).map(|wait| (ip, wait)));
    let offered = offered_token(req.headers());
    if offered.is_none() && blocked.is_none() {
        return unauthorized("missing token");
    }
    let checked = match offered {
        Some(t) => auth.grant_for(t).await,
        None => Err(Rejected::MissingToken),
    };
    let grant = match (checked, blocked) {
        // A blocked source's right token gets in once per window that ended blocked, so a
        // guesser sharing loopback with the owner cannot lock the owner out for good.
        (Ok(g), Some((ip, _))) if auth.failures.admit_blocked(ip) => g,
        (_, Some((ip, wait))) => {
            let secs = wait.as_secs() + 1;
            tracing::warn!(peer = %ip, reason = "auth_rate_limit", "refused a request from a blocked address");
            let mut resp = ApiErrorResponse::new(
                StatusCode::TOO_MANY_REQUESTS,
                error_code::LIMIT,
                format!("too many failed authentications from this address; try again in {secs} s"),
            )
            .into_response();
            resp.headers_mut().insert(header::RETRY_AFTER, secs.into());
            return resp;
        }
        (Ok(g), None) => g,
        (Err(why), None) => {
            tracing::warn!(path = %req.uri().path(), peer = ?peer, reason = %why, "refused a token");
            if let Some(ip) = peer {
                auth.failures.record(ip);
            }
            return unauthorized(why.to_string());
        }
    };
    if let Err(why) = grant.permits(req.method(), req.uri().path()) {
        tracing::info!(path = %req.uri().path(), method = %req.method(), reason = %why, "refused by token scope");
        return ApiErrorResponse::new(StatusCode::FORBIDDEN, error_code::FORBIDDEN, why.to_string())
            .into_response();
    }
    req.extensions_mut().insert(grant);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offered_token_reads_bearer_header_and_subprotocol() {
        let mut h = HeaderMap::new();
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, "controlroom.v1, bearer.abc".parse().expect("header"));
        assert_eq!(offered_token(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Bearer xyz".parse().expect("header"));
        assert_eq!(offered_token(&h), Some("xyz"));
    }
}
