//! Opening a connection: TCP (no Nagle delay), then for `https://` a rustls handshake that always
//! verifies the host name. A refused handshake is classified, so each side can say in one line
//! what is wrong with the certificate.

use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::{InvalidDnsNameError, ServerName};
use tokio_rustls::rustls::{self, CertificateError};
use tokio_rustls::{TlsConnector, client::TlsStream};
use tokio_util::either::Either;

/// An open connection: plain TCP, or TLS over it.
pub type Stream = Either<TcpStream, TlsStream<TcpStream>>;

/// A TLS client for one host: the configuration and the name its certificate must carry.
#[derive(Clone)]
pub struct TlsClient {
    connector: TlsConnector,
    name: ServerName<'static>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// TCP failed (refused, unreachable, no such host).
    #[error("{0}")]
    Connect(#[source] std::io::Error),
    /// The TLS handshake failed.
    #[error("{0}")]
    Handshake(#[source] HandshakeError),
}

/// Why a TLS handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The peer's certificate was refused; retrying will not help.
    #[error("{0}")]
    Certificate(CertificateProblem),
    /// rustls failed otherwise (the peer sent an alert, no protocol in common, ...).
    #[error("{0}")]
    Tls(#[source] rustls::Error),
    /// The connection failed mid-handshake.
    #[error("{0}")]
    Io(#[source] std::io::Error),
}

/// What is wrong with a refused certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CertificateProblem {
    /// It does not list the host name dialled.
    #[error("the certificate is not valid for this host name")]
    NotValidForName,
    /// It expired.
    #[error("the certificate expired")]
    Expired,
    /// It is not valid yet (a clock is off).
    #[error("the certificate is not valid yet")]
    NotValidYet,
    /// It was revoked.
    #[error("the certificate was revoked")]
    Revoked,
    /// It is a CA certificate (basicConstraints CA:TRUE) served as a server's own: webpki refuses
    /// that even when it is trusted (openssl's default for `req -x509`).
    #[error("the certificate is a CA certificate (basicConstraints CA:TRUE)")]
    CaUsedAsEndEntity,
    /// It chains to no trusted root (or is refused for another reason).
    #[error("certificate not trusted")]
    NotTrusted,
}

impl From<&CertificateError> for CertificateProblem {
    fn from(e: &CertificateError) -> Self {
        match e {
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                Self::NotValidForName
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => Self::Expired,
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => Self::NotValidYet,
            CertificateError::Revoked => Self::Revoked,
            // webpki's own error type is not exported through rustls; its name is the one stable part.
            CertificateError::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => {
                Self::CaUsedAsEndEntity
            }
            _ => Self::NotTrusted,
        }
    }
}

impl From<std::io::Error> for HandshakeError {
    /// tokio-rustls reports a refused handshake as an I/O error wrapping the rustls error.
    fn from(e: std::io::Error) -> Self {
        match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::InvalidCertificate(cert)) => Self::Certificate(cert.into()),
            Some(other) => Self::Tls(other.clone()),
            None => Self::Io(e),
        }
    }
}

impl TlsClient {
    /// A client for `host` with `config` (see [`crate::Trust::client_config`]).
    pub fn new(config: Arc<rustls::ClientConfig>, host: &str) -> Result<Self, InvalidDnsNameError> {
        let name = ServerName::try_from(host.to_owned())?;
        Ok(Self { connector: TlsConnector::from(config), name })
    }

    /// Runs the handshake over `tcp`.
    pub async fn handshake(&self, tcp: TcpStream) -> Result<TlsStream<TcpStream>, HandshakeError> {
        Ok(self.connector.connect(self.name.clone(), tcp).await?)
    }
}

/// Connects to `host:port` over TCP with Nagle's delay off (requests and keys are small).
pub async fn connect_tcp(host: &str, port: u16) -> std::io::Result<TcpStream> {
    let tcp = TcpStream::connect((host, port)).await?;
    // Only a latency hint: a socket that refuses it still works.
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// Connects to `host:port`, then runs the handshake of `tls` when given.
pub async fn dial(host: &str, port: u16, tls: Option<&TlsClient>) -> Result<Stream, DialError> {
    let tcp = connect_tcp(host, port).await.map_err(DialError::Connect)?;
    match tls {
        None => Ok(Either::Left(tcp)),
        Some(tls) => Ok(Either::Right(tls.handshake(tcp).await.map_err(DialError::Handshake)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(cert: CertificateError) -> HandshakeError {
        std::io::Error::new(std::io::ErrorKind::InvalidData, rustls::Error::InvalidCertificate(cert)).into()
    }

    #[test]
    fn handshake_failures_are_classified() {
        let problem = |cert| match refused(cert) {
            HandshakeError::Certificate(p) => p,
            other => panic!("not a certificate problem: {other:?}"),
        };
        assert_eq!(problem(CertificateError::UnknownIssuer), CertificateProblem::NotTrusted);
        assert_eq!(problem(CertificateError::BadSignature), CertificateProblem::NotTrusted);
        assert_eq!(problem(CertificateError::NotValidForName), CertificateProblem::NotValidForName);
        assert_eq!(problem(CertificateError::Expired), CertificateProblem::Expired);
        assert_eq!(problem(CertificateError::NotValidYet), CertificateProblem::NotValidYet);
        assert_eq!(problem(CertificateError::Revoked), CertificateProblem::Revoked);
        let alert = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
        );
        assert!(matches!(HandshakeError::from(alert), HandshakeError::Tls(rustls::Error::AlertReceived(_))));
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let e = HandshakeError::from(reset);
        assert!(matches!(e, HandshakeError::Io(_)) && e.to_string() == "reset", "{e}");
        assert!(
            TlsClient::new(crate::Trust::default().client_config().expect("config"), "bad name!").is_err()
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connect_error() {
        // Bind, note the port, close: nothing listens there now.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let e = dial("127.0.0.1", port, None).await.expect_err("nothing listens");
        assert!(
            matches!(&e, DialError::Connect(io) if io.kind() == std::io::ErrorKind::ConnectionRefused),
            "{e}"
        );
    }
}
