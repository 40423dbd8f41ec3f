//! Dialling the gateway: TCP, and for `https://` a TLS handshake (rustls with the ring provider,
//! no process-wide default) that trusts the web PKI roots plus the CA files the user names
//! (`--tls-ca`, or the certificate `gateway.json` points at). Host names are always verified.

use super::Endpoint;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, CertificateError, RootCertStore};
use tokio_rustls::{TlsConnector, client::TlsStream};
use tokio_util::either::Either;

/// A connection to the gateway: plain TCP or TLS over it.
pub type Stream = Either<TcpStream, TlsStream<TcpStream>>;

/// The one-line message for a certificate that chains to no trusted root.
pub const NOT_TRUSTED: &str = "certificate not trusted — pass --tls-ca FILE";

/// Which certificates a client accepts: the web PKI roots plus these CA files (PEM).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    ca_files: Vec<PathBuf>,
}

/// Why a connection could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialError {
    /// Nothing listens there.
    Refused,
    /// TCP failed otherwise.
    Unreachable(String),
    /// The gateway's certificate was refused; retrying will not help. One line.
    Certificate(String),
    /// A CA file could not be used, or TLS failed for another reason.
    Tls(String),
}

impl std::fmt::Display for DialError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DialError::Refused => f.write_str("gateway not running"),
            DialError::Unreachable(m) => write!(f, "gateway unreachable: {m}"),
            DialError::Certificate(m) | DialError::Tls(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for DialError {}

impl Trust {
    /// Trusts the web PKI roots and `ca_files`.
    pub fn new(ca_files: impl IntoIterator<Item = PathBuf>) -> Self {
        Self { ca_files: ca_files.into_iter().collect() }
    }

    /// Also trusts `path`.
    #[must_use]
    pub fn with(mut self, path: PathBuf) -> Self {
        if !self.ca_files.contains(&path) {
            self.ca_files.push(path);
        }
        self
    }

    /// The extra CA files.
    pub fn ca_files(&self) -> &[PathBuf] {
        &self.ca_files
    }

    /// Reads every CA file now, so a missing or broken one is reported before connecting.
    pub fn check(&self) -> Result<(), DialError> {
        self.ca_files.iter().try_for_each(|p| read_certs(p, std::fs::read(p)).map(drop))
    }

    /// The rustls configuration, with the CA files read afresh (a regenerated certificate at the
    /// same path is picked up by the next connection).
    async fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, DialError> {
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        for path in &self.ca_files {
            for cert in read_certs(path, tokio::fs::read(path).await)? {
                roots.add(cert).map_err(|e| DialError::Tls(format!("{}: {e}", path.display())))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| DialError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Opens a connection to `endpoint`: TCP, then TLS when the URL is `https://`.
    pub async fn dial(&self, endpoint: &Endpoint) -> Result<Stream, DialError> {
        let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port)).await.map_err(|e| {
            match e.kind() {
                std::io::ErrorKind::ConnectionRefused => DialError::Refused,
                _ => DialError::Unreachable(e.to_string()),
            }
        })?;
        let _ = tcp.set_nodelay(true);
        if !endpoint.tls {
            return Ok(Either::Left(tcp));
        }
        let name = ServerName::try_from(endpoint.host.clone())
            .map_err(|e| DialError::Tls(format!("{}: {e}", endpoint.host)))?;
        let connector = TlsConnector::from(self.client_config().await?);
        let tls = connector.connect(name, tcp).await.map_err(|e| handshake_error(&e, &endpoint.host))?;
        Ok(Either::Right(tls))
    }
}

fn read_certs(
    path: &Path,
    bytes: std::io::Result<Vec<u8>>,
) -> Result<Vec<CertificateDer<'static>>, DialError> {
    let bad = |m: String| DialError::Tls(format!("CA file {}: {m}", path.display()));
    let bytes = bytes.map_err(|e| bad(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not PEM ({e})")))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// One line for a failed handshake instead of rustls's debug output.
fn handshake_error(e: &std::io::Error, host: &str) -> DialError {
    let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) else {
        return DialError::Tls(format!("TLS handshake failed: {e}"));
    };
    match tls {
        rustls::Error::InvalidCertificate(cert) => DialError::Certificate(describe_certificate(cert, host)),
        rustls::Error::AlertReceived(alert) => DialError::Tls(format!("the gateway refused TLS ({alert:?})")),
        other => DialError::Tls(format!("TLS handshake failed: {other}")),
    }
}

fn describe_certificate(e: &CertificateError, host: &str) -> String {
    match e {
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("certificate is not valid for {host} (connect with a name the certificate lists)")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "certificate expired".into(),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "certificate not valid yet (check the clocks)".into()
        }
        CertificateError::Revoked => "certificate revoked".into(),
        // webpki refuses a self-signed certificate marked CA:TRUE (openssl's default for
        // `req -x509`) as a server certificate, even when it is trusted.
        CertificateError::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => {
            "the gateway's certificate is a CA certificate (basicConstraints CA:TRUE); serve one made with CA:FALSE".into()
        }
        _ => NOT_TRUSTED.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_failures_are_one_line() {
        assert_eq!(describe_certificate(&CertificateError::UnknownIssuer, "h"), NOT_TRUSTED);
        assert_eq!(describe_certificate(&CertificateError::BadSignature, "h"), NOT_TRUSTED);
        let name = describe_certificate(&CertificateError::NotValidForName, "gw.example");
        assert!(name.contains("gw.example") && !name.contains('\n'), "{name}");
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        assert_eq!(handshake_error(&io, "h"), DialError::Certificate(NOT_TRUSTED.into()));
    }

    #[test]
    fn bad_ca_files_name_the_file() {
        let dir = std::env::temp_dir().join(format!("cr-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").expect("write");
        let e = Trust::new([junk.clone()]).check().expect_err("junk").to_string();
        assert!(e.contains("junk.pem") && e.contains("no PEM certificate"), "{e}");
        let e = Trust::new([dir.join("missing.pem")]).check().expect_err("missing").to_string();
        assert!(e.contains("missing.pem"), "{e}");
        assert!(Trust::default().check().is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
