//! Outgoing HTTP for the webhook notifier and `kind = "http"` session sources: the shared client
//! of `controlroom-net` (hyper, one connection per request, rustls for `https://` trusting the web
//! PKI roots plus `--outbound-ca` / `ca-file`; redirects never followed; the caller bounds the
//! time), with the gateway's words for a refused certificate.

use bytes::Bytes;
use controlroom_net::http::{self as net_http, HttpError, TargetError};
use controlroom_net::{CertificateProblem, HandshakeError, Trust};
use std::path::PathBuf;

/// A parsed `http://` or `https://` URL, with what connecting to it needs.
#[derive(Clone, Debug)]
pub struct Target(net_http::Target);

impl Target {
    /// Parses `url` (`http://` or `https://`); an `https://` target trusts the web PKI roots only.
    pub fn parse(url: &str) -> Result<Self, TargetError> {
        Self::new(url, &[])
    }

    /// Parses `url`; an `https://` target trusts the web PKI roots plus the certificates in
    /// `ca_files` (PEM), read now.
    pub fn new(url: &str, ca_files: &[PathBuf]) -> Result<Self, TargetError> {
        let trust = Trust::new(ca_files.iter().cloned());
        net_http::Target::new(url, &trust).map(Self)
    }

    /// The host, port and path.
    #[cfg(test)]
    pub fn parts(&self) -> (&str, u16, &str) {
        let address = self.0.address();
        (&address.host, address.port, self.0.path())
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
    net_http::send(&target.0, method, headers, body, max_body).await.map_err(|e| describe(&e))
}

/// One line for a failed request; a certificate that is merely untrusted names the flags that fix it.
fn describe(e: &HttpError) -> String {
    match e {
        HttpError::Tls { authority, source: HandshakeError::Certificate(problem) }
            if !matches!(problem, CertificateProblem::NotValidForName | CertificateProblem::Expired) =>
        {
            format!(
                "TLS with {authority}: certificate not trusted — add its CA with --outbound-ca FILE or `ca-file`"
            )
        }
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_ca_files() {
        let t = Target::parse("https://hooks.example/x?y=1").expect("https");
        assert_eq!(t.parts(), ("hooks.example", 443, "/x?y=1"));
        assert!(Target::parse("http://h:1/").is_ok());
        assert!(Target::parse("ftp://h/").expect_err("ftp").to_string().contains("http:// or https://"));
        let dir = std::env::temp_dir().join(format!("cr-outbound-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "nope").expect("write");
        let e = Target::new("https://h/", &[junk]).expect_err("junk CA").to_string();
        assert!(e.contains("junk.pem") && e.contains("no PEM certificate"), "{e}");
        let e = Target::new("https://h/", &[dir.join("none.pem")]).expect_err("missing CA").to_string();
        assert!(e.contains("none.pem"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn certificate_failures_are_one_line() {
        let refused = |cert| HttpError::Tls {
            authority: "h:1".into(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                tokio_rustls::rustls::Error::InvalidCertificate(cert),
            )
            .into(),
        };
        use tokio_rustls::rustls::CertificateError;
        let line = describe(&refused(CertificateError::UnknownIssuer));
        assert!(line.contains("certificate not trusted") && line.contains("--outbound-ca"), "{line}");
        let line = describe(&refused(CertificateError::Expired));
        assert_eq!(line, "TLS with h:1: the certificate expired");
        let line = describe(&refused(CertificateError::NotValidForName));
        assert_eq!(line, "TLS with h:1: the certificate is not valid for this host name");
    }
}
