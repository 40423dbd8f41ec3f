//! A minimal outgoing HTTP/1.1 client (hyper, one connection per request) for the webhook notifier
//! and `kind = "http"` session sources. `https://` goes through rustls with the ring provider,
//! trusting the web PKI roots plus the CA files given (`--outbound-ca`, `ca-file`); host names are
//! always verified. Redirects are never followed; the caller bounds the time.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, CertificateError, RootCertStore};

/// A parsed `http://` or `https://` URL, with what connecting to it needs.
#[derive(Clone)]
pub struct Target {
    host: String,
    port: u16,
    path: String,
    authority: String,
    /// `https://`: the TLS client and the name the certificate must carry.
    tls: Option<(TlsConnector, ServerName<'static>)>,
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

impl Target {
    /// Parses `url` (`http://` or `https://`); an `https://` target trusts the web PKI roots only.
    pub fn parse(url: &str) -> Result<Self, String> {
        Self::new(url, &[])
    }

    /// Parses `url`; an `https://` target trusts the web PKI roots plus the certificates in
    /// `ca_files` (PEM), read now.
    pub fn new(url: &str, ca_files: &[PathBuf]) -> Result<Self, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("URL `{url}`: {e}"))?;
        let (tls, default_port) = match uri.scheme_str() {
            Some("http") => (false, 80),
            Some("https") => (true, 443),
            _ => return Err(format!("URL `{url}` must start with http:// or https://")),
        };
        let host = uri.host().ok_or_else(|| format!("URL `{url}` has no host"))?;
        let port = uri.port_u16().unwrap_or(default_port);
        let path = uri.path_and_query().map_or("/".to_owned(), ToString::to_string);
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let authority = uri.authority().map_or_else(|| host.clone(), ToString::to_string);
        let tls = if tls {
            let name = ServerName::try_from(host.clone()).map_err(|e| format!("URL `{url}`: {e}"))?;
            Some((TlsConnector::from(client_config(ca_files)?), name))
        } else {
            None
        };
        Ok(Self { host, port, path, authority, tls })
    }

    /// The host, port and path.
    #[cfg(test)]
    pub fn parts(&self) -> (&str, u16, &str) {
        (&self.host, self.port, &self.path)
    }
}

/// The rustls client configuration: web PKI roots plus `ca_files`.
fn client_config(ca_files: &[PathBuf]) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for path in ca_files {
        for cert in read_certs(path)? {
            roots.add(cert).map_err(|e| format!("CA file {}: {e}", path.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bad = |m: String| format!("CA file {}: {m}", path.display());
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not PEM ({e})")))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// One line for a failed TLS handshake.
fn handshake_error(e: &std::io::Error, authority: &str) -> String {
    let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) else {
        return format!("TLS with {authority}: {e}");
    };
    match tls {
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!("TLS with {authority}: the certificate is not valid for this host name"),
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => format!("TLS with {authority}: the certificate expired"),
        rustls::Error::InvalidCertificate(_) => format!(
            "TLS with {authority}: certificate not trusted — add its CA with --outbound-ca FILE or `ca-file`"
        ),
        other => format!("TLS with {authority}: {other}"),
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
    let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("connect to {}: {e}", target.authority))?;
    match &target.tls {
        None => exchange(tcp, target, method, headers, body, max_body).await,
        Some((connector, name)) => {
            let tls = connector
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| handshake_error(&e, &target.authority))?;
            exchange(tls, target, method, headers, body, max_body).await
        }
    }
}

async fn exchange<S>(
    stream: S,
    target: &Target,
    method: http::Method,
    headers: &[(String, String)],
    body: Bytes,
    max_body: usize,
) -> Result<(http::StatusCode, Bytes), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_ca_files() {
        let t = Target::parse("https://hooks.example/x?y=1").expect("https");
        assert_eq!(t.parts(), ("hooks.example", 443, "/x?y=1"));
        assert!(t.tls.is_some());
        assert!(Target::parse("http://h:1/").expect("http").tls.is_none());
        assert!(Target::parse("ftp://h/").expect_err("ftp").contains("http:// or https://"));
        let dir = std::env::temp_dir().join(format!("cr-outbound-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "nope").expect("write");
        let e = Target::new("https://h/", &[junk]).expect_err("junk CA");
        assert!(e.contains("junk.pem") && e.contains("no PEM certificate"), "{e}");
        let e = Target::new("https://h/", &[dir.join("none.pem")]).expect_err("missing CA");
        assert!(e.contains("none.pem"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn certificate_failures_are_one_line() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        let line = handshake_error(&io, "h:1");
        assert!(line.contains("certificate not trusted") && line.contains("--outbound-ca"), "{line}");
    }
}
