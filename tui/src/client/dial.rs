//! Dialling the gateway, in the front end's words: TCP, and for `https://` a TLS handshake
//! (`controlroom-net`: rustls with the ring provider, host names always verified) trusting the web
//! PKI roots plus the CA files the user names (`--tls-ca`, or the certificate `gateway.json`
//! points at), read afresh for every connection.

use super::Endpoint;
use controlroom_net::rustls;
use controlroom_net::{CertificateProblem, HandshakeError, Stream, TlsClient, Trust};
use tokio_util::either::Either;

/// The one-line message for a certificate that chains to no trusted root.
pub const NOT_TRUSTED: &str = "certificate not trusted — pass --tls-ca FILE";

/// Why a connection to the gateway could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    /// Nothing listens there.
    #[error("gateway not running")]
    Refused,
    /// TCP failed otherwise.
    #[error("gateway unreachable: {0}")]
    Unreachable(String),
    /// The gateway's certificate was refused; retrying will not help. One line.
    #[error("{0}")]
    Certificate(String),
    /// A CA file could not be used, or TLS failed for another reason.
    #[error("{0}")]
    Tls(String),
}

/// Opens a connection to `endpoint`: TCP, then TLS checked against `trust` when the URL is
/// `https://` (a broken CA file is reported only once the gateway answers TCP).
pub async fn dial(trust: &Trust, endpoint: &Endpoint) -> Result<Stream, DialError> {
    let tcp =
        controlroom_net::connect_tcp(&endpoint.host, endpoint.port).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => DialError::Refused,
            _ => DialError::Unreachable(e.to_string()),
        })?;
    if !endpoint.tls {
        return Ok(Either::Left(tcp));
    }
    let config = trust.client_config_async().await.map_err(|e| DialError::Tls(e.to_string()))?;
    let client = TlsClient::new(config, &endpoint.host)
        .map_err(|e| DialError::Tls(format!("{}: {e}", endpoint.host)))?;
    let tls = client.handshake(tcp).await.map_err(|e| handshake_error(e, &endpoint.host))?;
    Ok(Either::Right(tls))
}

/// One line for a failed handshake instead of rustls's debug output.
fn handshake_error(e: HandshakeError, host: &str) -> DialError {
    match e {
        HandshakeError::Certificate(problem) => DialError::Certificate(describe_certificate(problem, host)),
        HandshakeError::Tls(rustls::Error::AlertReceived(alert)) => {
            DialError::Tls(format!("the gateway refused TLS ({alert:?})"))
        }
        HandshakeError::Tls(e) => DialError::Tls(format!("TLS handshake failed: {e}")),
        HandshakeError::Io(e) => DialError::Tls(format!("TLS handshake failed: {e}")),
    }
}

fn describe_certificate(problem: CertificateProblem, host: &str) -> String {
    match problem {
        CertificateProblem::NotValidForName => {
            format!("certificate is not valid for {host} (connect with a name the certificate lists)")
        }
        CertificateProblem::Expired => "certificate expired".into(),
        CertificateProblem::NotValidYet => "certificate not valid yet (check the clocks)".into(),
        CertificateProblem::Revoked => "certificate revoked".into(),
        CertificateProblem::CaUsedAsEndEntity => {
            "the gateway's certificate is a CA certificate (basicConstraints CA:TRUE); serve one made with CA:FALSE".into()
        }
        CertificateProblem::NotTrusted => NOT_TRUSTED.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::CertificateError;

    fn refused(cert: CertificateError) -> HandshakeError {
        std::io::Error::new(std::io::ErrorKind::InvalidData, rustls::Error::InvalidCertificate(cert)).into()
    }

    #[test]
    fn certificate_failures_are_one_line() {
        let describe = |cert| match refused(cert) {
            HandshakeError::Certificate(p) => describe_certificate(p, "h"),
            other => panic!("not a certificate problem: {other:?}"),
        };
        assert_eq!(describe(CertificateError::UnknownIssuer), NOT_TRUSTED);
        assert_eq!(describe(CertificateError::BadSignature), NOT_TRUSTED);
        let name = describe_certificate(CertificateProblem::NotValidForName, "gw.example");
        assert!(name.contains("gw.example") && !name.contains('\n'), "{name}");
        assert_eq!(
            handshake_error(refused(CertificateError::UnknownIssuer), "h"),
            DialError::Certificate(NOT_TRUSTED.into())
        );
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
