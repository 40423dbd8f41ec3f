//! A minimal HTTP/1.1 client: hyper over one connection per request, the answer's body read up to
//! a limit. Redirects are never followed (a 3xx is returned like any status); the caller bounds
//! the time (`tokio::time::timeout`).

use crate::{Address, DialError, HandshakeError, TlsClient, Trust, TrustError, UrlError};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls::pki_types::InvalidDnsNameError;

/// A parsed `http://` or `https://` URL with what connecting to it needs; for `https://` the TLS
/// configuration is built once, when the target is.
#[derive(Clone)]
pub struct Target {
    address: Address,
    path: String,
    authority: String,
    tls: Option<TlsClient>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("authority", &self.authority)
            .field("path", &self.path)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// Why a URL cannot become a [`Target`].
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The URL is not an `http://` or `https://` URL with a host.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The host cannot be a TLS server name.
    #[error("URL `{url}`: {source}")]
    Name {
        /// The URL as given.
        url: String,
        /// rustls's complaint.
        source: InvalidDnsNameError,
    },
    /// A CA file could not be used.
    #[error(transparent)]
    Trust(#[from] TrustError),
}

/// Why a request got no answer. The messages name the peer's authority.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// TCP failed.
    #[error("connect to {authority}: {source}")]
    Connect {
        /// `HOST[:PORT]` as in the URL.
        authority: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS handshake failed.
    #[error("TLS with {authority}: {source}")]
    Tls {
        /// `HOST[:PORT]` as in the URL.
        authority: String,
        /// Why; a refused certificate says what is wrong with it.
        source: HandshakeError,
    },
    /// The HTTP/1.1 handshake failed.
    #[error("handshake with {authority}: {source}")]
    Handshake {
        /// `HOST[:PORT]` as in the URL.
        authority: String,
        /// hyper's complaint.
        source: hyper::Error,
    },
    /// The request could not be built (a header name or value that HTTP does not allow).
    #[error("request: {0}")]
    Request(#[source] http::Error),
    /// Sending the request or reading the answer's head failed.
    #[error("send: {0}")]
    Send(#[source] hyper::Error),
    /// Reading the body failed or it passed the limit.
    #[error("reading the answer: {0}")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl HttpError {
    /// The underlying failure without the words around it (for a caller with its own).
    pub fn cause(&self) -> &(dyn std::error::Error + 'static) {
        match self {
            Self::Connect { source, .. } => source,
            Self::Tls { source, .. } => source,
            Self::Handshake { source, .. } | Self::Send(source) => source,
            Self::Request(source) => source,
            Self::Body(source) => source.as_ref(),
        }
    }
}

impl Target {
    /// Parses `url`; an `https://` target trusts the web PKI roots only.
    pub fn parse(url: &str) -> Result<Self, TargetError> {
        Self::new(url, &Trust::default())
    }

    /// Parses `url`; an `https://` target trusts `trust`, whose CA files are read now.
    pub fn new(url: &str, trust: &Trust) -> Result<Self, TargetError> {
        let (address, uri) = Address::parse(url)?;
        let path = uri.path_and_query().map_or("/".to_owned(), ToString::to_string);
        let authority = uri.authority().map_or_else(|| address.host.clone(), ToString::to_string);
        let tls = if address.tls {
            let config = trust.client_config()?;
            let client = TlsClient::new(config, &address.host)
                .map_err(|source| TargetError::Name { url: url.to_owned(), source })?;
            Some(client)
        } else {
            None
        };
        Ok(Self { address, path, authority, tls })
    }

    /// Where it connects.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The path and query sent in the request line.
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// Sends one request to `target` and reads at most `max_body` bytes of the answer.
pub async fn send(
    target: &Target,
    method: http::Method,
    headers: &[(String, String)],
    body: Bytes,
    max_body: usize,
) -> Result<(http::StatusCode, Bytes), HttpError> {
    let Address { host, port, .. } = &target.address;
    let authority = || target.authority.clone();
    match crate::dial(host, *port, target.tls.as_ref()).await {
        Ok(stream) => {
            let request = Request { method, path: &target.path, headers, body, max_body };
            exchange(stream, &target.authority, request).await
        }
        Err(DialError::Connect(source)) => Err(HttpError::Connect { authority: authority(), source }),
        Err(DialError::Handshake(source)) => Err(HttpError::Tls { authority: authority(), source }),
    }
}

/// One request, as [`exchange`] sends it.
#[derive(Debug)]
pub struct Request<'a> {
    /// The method.
    pub method: http::Method,
    /// Path and query, sent in the request line.
    pub path: &'a str,
    /// Extra headers (`Host` and `User-Agent` are set already).
    pub headers: &'a [(String, String)],
    /// The body (empty for none).
    pub body: Bytes,
    /// How many bytes of the answer's body to read at the most; more is an error.
    pub max_body: usize,
}

/// Sends `request` over `stream` (already connected to `authority`, the `Host` header's value)
/// and reads the answer; the connection is closed afterwards.
pub async fn exchange<S>(
    stream: S,
    authority: &str,
    request: Request<'_>,
) -> Result<(http::StatusCode, Bytes), HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|source| HttpError::Handshake { authority: authority.to_owned(), source })?;
    let conn = tokio::spawn(conn);
    let mut req = http::Request::builder()
        .method(request.method)
        .uri(request.path)
        .header(http::header::HOST, authority)
        .header(http::header::USER_AGENT, concat!("controlroom/", env!("CARGO_PKG_VERSION")));
    for (k, v) in request.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let result = async {
        let req = req.body(Full::new(request.body)).map_err(HttpError::Request)?;
        let resp = sender.send_request(req).await.map_err(HttpError::Send)?;
        let status = resp.status();
        let bytes = http_body_util::Limited::new(resp.into_body(), request.max_body)
            .collect()
            .await
            .map_err(HttpError::Body)?
            .to_bytes();
        Ok((status, bytes))
    }
    .await;
    // One request per connection: nothing else will use it.
    conn.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[test]
    fn targets_parse_and_read_their_ca_files() {
        let t = Target::parse("https://hooks.example/x?y=1").expect("https");
        assert_eq!((t.address().host.as_str(), t.address().port, t.path()), ("hooks.example", 443, "/x?y=1"));
        assert!(t.tls.is_some());
        assert!(Target::parse("http://h:1/").expect("http").tls.is_none());
        let e = Target::parse("ftp://h/").expect_err("ftp").to_string();
        assert!(e.contains("http:// or https://"), "{e}");
        let dir = std::env::temp_dir().join(format!("cr-net-http-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "nope").expect("write");
        let e = Target::new("https://h/", &Trust::new([junk.clone()])).expect_err("junk CA").to_string();
        assert!(e.contains("junk.pem") && e.contains("no PEM certificate"), "{e}");
        // Plain HTTP reads no CA file.
        assert!(Target::new("http://h/", &Trust::new([junk])).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A one-shot server on loopback that answers `answer` to the first request and hands back
    /// what it read.
    async fn one_shot(answer: &'static str) -> (u16, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let served = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.expect("accept");
            let mut read = Vec::new();
            let mut buf = [0u8; 1024];
            while !read.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = sock.read(&mut buf).await.expect("read");
                assert!(n > 0, "the request ended early");
                read.extend_from_slice(&buf[..n]);
            }
            sock.write_all(answer.as_bytes()).await.expect("write");
            String::from_utf8_lossy(&read).into_owned()
        });
        (port, served)
    }

    #[tokio::test]
    async fn one_request_with_host_and_agent_and_no_redirects() {
        let (port, served) =
            one_shot("HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 2\r\n\r\nno").await;
        let target = Target::parse(&format!("http://127.0.0.1:{port}/hook?x=1")).expect("target");
        let headers = [("X-Test".to_owned(), "yes".to_owned())];
        let (status, body) =
            send(&target, http::Method::GET, &headers, Bytes::new(), 16).await.expect("answer");
        assert_eq!(
            (status.as_u16(), body.as_ref()),
            (302, b"no".as_slice()),
            "a redirect is returned, not followed"
        );
        let request = served.await.expect("served");
        assert!(request.starts_with("GET /hook?x=1 HTTP/1.1\r\n"), "{request}");
        let lower = request.to_ascii_lowercase();
        assert!(lower.contains(&format!("host: 127.0.0.1:{port}\r\n")), "{request}");
        assert!(lower.contains("user-agent: controlroom/") && lower.contains("x-test: yes"), "{request}");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_an_error() {
        let (port, served) = one_shot("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789").await;
        let target = Target::parse(&format!("http://127.0.0.1:{port}/")).expect("target");
        let e = send(&target, http::Method::GET, &[], Bytes::new(), 4).await.expect_err("too long");
        assert!(matches!(e, HttpError::Body(_)) && e.to_string().starts_with("reading the answer: "), "{e}");
        served.await.expect("served");
    }
}
