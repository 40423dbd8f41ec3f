//! Talking to a gateway: the HTTP API, WebSocket connections, and the reconnecting socket tasks.
//!
//! Only HTTP and WebSocket: the front end never links the gateway, so an embedded gateway and a
//! remote one are reached the same way.

pub mod backoff;
pub mod events;
pub mod http;
pub mod tasks;
pub mod tls;
pub mod watch;
pub mod ws;

use crate::error::{Error, Result};
use std::path::Path;

/// `DATA_DIR/gateway.json`, written by a running gateway.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct GatewayFile {
    /// Base URL, `http://HOST:PORT`.
    pub url: String,
    /// The gateway's process id.
    #[serde(default)]
    pub pid: Option<u32>,
    /// The gateway's version.
    #[serde(default)]
    pub version: Option<String>,
    /// With TLS on: the certificate the gateway serves, so local clients trust it.
    #[serde(default, rename = "tlsCert")]
    pub tls_cert: Option<std::path::PathBuf>,
}

impl GatewayFile {
    /// Reads and parses the file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// A gateway base URL split into what connections need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http://HOST:PORT` (or `https://`) without a trailing slash.
    pub base: String,
    /// `https://`: connections are TLS.
    pub tls: bool,
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl Endpoint {
    /// Parses `http://HOST[:PORT][/]` or `https://HOST[:PORT][/]`.
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |message: &str| Error::Url { url: url.to_owned(), message: message.to_owned() };
        let uri: ::http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
        let (scheme, tls, default_port) = match uri.scheme_str() {
            Some("http") => ("http", false, 80),
            Some("https") => ("https", true, 443),
            _ => return Err(bad("expected http://HOST:PORT or https://HOST:PORT")),
        };
        // `[::1]` in a URL; connecting and TLS server names want `::1`.
        let host = uri.host().ok_or_else(|| bad("no host"))?.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(default_port);
        let host_part = if host.contains(':') { format!("[{host}]") } else { host.to_owned() };
        Ok(Self { base: format!("{scheme}://{host_part}:{port}"), tls, host: host.to_owned(), port })
    }

    /// `HOST:PORT` as sent in the `Host` header.
    pub fn authority(&self) -> &str {
        self.base.split_once("://").map_or(self.base.as_str(), |(_, a)| a)
    }

    /// The WebSocket URL of `path` on this gateway.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws{}{path}", self.base.trim_start_matches("http"))
    }
}

/// The worker socket's path for a session and worker.
pub fn worker_path(session: &str, worker: &str) -> String {
    controlroom_protocol::WS_WORKER_PATH.replace("{sessionId}", session).replace("{workerId}", worker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        let e = Endpoint::parse("http://127.0.0.1:7420/").expect("parses");
        assert_eq!(e.base, "http://127.0.0.1:7420");
        assert_eq!(e.ws_url("/ws/app"), "ws://127.0.0.1:7420/ws/app");
        assert_eq!(Endpoint::parse("http://localhost").expect("parses").port, 80);
        let s = Endpoint::parse("https://gw.example:8443").expect("https parses");
        assert!(s.tls);
        assert_eq!(s.ws_url("/ws/app"), "wss://gw.example:8443/ws/app");
        assert_eq!(s.authority(), "gw.example:8443");
        assert_eq!(Endpoint::parse("https://gw.example").expect("parses").port, 443);
        let v6 = Endpoint::parse("https://[::1]:9").expect("v6");
        assert_eq!((v6.host.as_str(), v6.authority()), ("::1", "[::1]:9"));
        assert!(!e.tls);
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("127.0.0.1:80").is_err());
        assert_eq!(worker_path("s1", "w1"), "/ws/session/s1/worker/w1");
    }
}
