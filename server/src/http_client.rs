//! A minimal outgoing HTTP/1.1 client (hyper, one connection per request, `http://` only) for the
//! webhook notifier and `kind = "http"` session sources. Redirects are never followed.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;

/// A parsed `http://` URL.
#[derive(Debug, Clone)]
pub struct Target {
    host: String,
    port: u16,
    path: String,
    authority: String,
}

impl Target {
    /// Parses `url`; only `http://` is accepted.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("URL `{url}`: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("URL `{url}` must start with http:// (https is not supported)"));
        }
        let host = uri.host().ok_or_else(|| format!("URL `{url}` has no host"))?;
        let port = uri.port_u16().unwrap_or(80);
        let path = uri.path_and_query().map_or("/".to_owned(), ToString::to_string);
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let authority = uri.authority().map_or_else(|| host.clone(), ToString::to_string);
        Ok(Self { host, port, path, authority })
    }

    /// The host, port and path.
    #[cfg(test)]
    pub fn parts(&self) -> (&str, u16, &str) {
        (&self.host, self.port, &self.path)
    }
}

/// Sends one request and reads at most `max_body` bytes of the answer. The caller bounds the
/// time (`tokio::time::timeout`).
pub async fn send(
    target: &Target,
    method: http::Method,
    headers: &[(String, String)],
    body: Bytes,
    max_body: usize,
) -> Result<(http::StatusCode, Bytes), String> {
    let stream = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("connect to {}: {e}", target.authority))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake with {}: {e}", target.authority))?;
    let conn = tokio::spawn(conn);
    let mut req = http::Request::builder()
        .method(method)
        .uri(target.path.as_str())
        .header(http::header::HOST, target.authority.as_str())
        .header(http::header::USER_AGENT, concat!("controlroom/", env!("CARGO_PKG_VERSION")));
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req.body(Full::new(body)).map_err(|e| format!("request: {e}"))?;
    let result = async {
        let resp = sender.send_request(req).await.map_err(|e| format!("send: {e}"))?;
        let status = resp.status();
        let bytes = http_body_util::Limited::new(resp.into_body(), max_body)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        Ok((status, bytes))
    }
    .await;
    conn.abort();
    result
}
