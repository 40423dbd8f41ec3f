//! Talking to a gateway: the HTTP API, WebSocket connections, and the reconnecting socket tasks.
//!
//! Only HTTP and WebSocket: the front end never links the gateway, so an embedded gateway and a
//! remote one are reached the same way.

pub mod backoff;
pub mod credential;
pub mod dial;
pub mod events;
pub mod http;
pub mod tasks;
pub mod token;
pub mod watch;
pub mod ws;

/// Which certificates a connection to an `https://` gateway accepts: the web PKI roots plus CA files.
pub use controlroom_net::Trust;

use crate::error::{Error, Result};
use controlroom_net::{Address, UrlError};
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
        let (Address { host, port, tls }, _) = Address::parse(url).map_err(|e| Error::Url {
            url: url.to_owned(),
            message: match e {
                UrlError::Invalid { .. } => "not a URL",
                UrlError::Scheme { .. } => "expected http://HOST:PORT or https://HOST:PORT",
                UrlError::NoHost { .. } => "no host",
            }
            .to_owned(),
        })?;
        let scheme = if tls { "https" } else { "http" };
        let host_part = if host.contains(':') { format!("[{host}]") } else { host.clone() };
        Ok(Self { base: format!("{scheme}://{host_part}:{port}"), tls, host, port })
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
